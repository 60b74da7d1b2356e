'use strict'
// Kafka Streams for Node.js (issue #17): the DSL with Kafka Streams' names in camelCase, whose
// runtime is the Rust core (tasks, stores, changelogs, windows, joins, commits). User functions
// run here: the core calls `run` (below) once per batch of records and fused chain of
// operations, on the JS thread, and blocks its stream thread until `run`'s reply is there: at
// once, or when the Promise `run` returns settles (a user function returned a thenable).
//
//   const builder = new StreamsBuilder()
//   const events = builder.stream('user-events', { keySerde: Serdes.String(), valueSerde: Serdes.Json() })
//   events.filter((k, e) => e.eventType === 'USER_CREATED').mapValues(e => ({ userId: e.userId })).to('notifications')
//   const streams = new KafkaStreams(builder.build(), { 'application.id': 'app', 'bootstrap.servers': 'host:9092' })
//   streams.start()
const { EventEmitter } = require('events')
const native = require('./native')
const keepalive = require('./keepalive')
const { fromNative, KafkaJSNonRetriableError } = require('./errors')

// ---------------------------------------------------------------------------------- serdes

class SerializationError extends KafkaJSNonRetriableError {
  constructor(message) {
    super(message)
    this.name = 'SerializationError'
  }
}

const toBuffer = data => (Buffer.isBuffer(data) ? data : Buffer.from(data))

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

// Built-in serdes carry `builtin` (their name): two of the same name are the same serde.
const STRING = {
  builtin: 'String',
  serialize(obj) {
    if (obj === null || obj === undefined) return null
    if (typeof obj !== 'string') throw new SerializationError(`Serdes.String() serializes strings, got ${typeof obj}`)
    return Buffer.from(obj, 'utf8')
  },
  deserialize(data) {
    if (data === null) return null
    let s
    try {
      s = UTF8.decode(data)
    } catch (e) {
      throw new SerializationError(`Serdes.String(): not UTF-8: ${e.message}`)
    }
    return s
  },
}

function longBytes(obj, what) {
  let n
  if (typeof obj === 'bigint') n = obj
  else if (typeof obj === 'number' && Number.isSafeInteger(obj)) n = BigInt(obj)
  else throw new SerializationError(`${what} serializes integers (a safe-integer number or a BigInt), got ${typeof obj === 'number' ? obj : typeof obj}`)
  if (n < -(1n << 63n) || n >= 1n << 63n) throw new SerializationError(`${what}: ${n} does not fit in 64 bits`)
  const b = Buffer.alloc(8)
  b.writeBigInt64BE(n)
  return b
}

function readLong(data, what) {
  if (data.length !== 8) throw new SerializationError(`${what}: size of data received is not 8 but ${data.length}`)
  return toBuffer(data).readBigInt64BE(0)
}

// 8 bytes, big-endian, signed (Kafka's LongSerializer). Values are numbers; one beyond
// Number.MAX_SAFE_INTEGER cannot be read exactly and fails (use Serdes.BigLong()).
const LONG = {
  builtin: 'Long',
  serialize(obj) {
    return obj === null || obj === undefined ? null : longBytes(obj, 'Serdes.Long()')
  },
  deserialize(data) {
    if (data === null) return null
    const n = readLong(data, 'Serdes.Long()')
    if (n > BigInt(Number.MAX_SAFE_INTEGER) || n < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw new SerializationError(`Serdes.Long(): ${n} is not a safe integer as a number; use Serdes.BigLong()`)
    }
    return Number(n)
  },
}

// The same bytes as Serdes.Long(); values are BigInts.
const BIG_LONG = {
  builtin: 'BigLong',
  serialize(obj) {
    return obj === null || obj === undefined ? null : longBytes(obj, 'Serdes.BigLong()')
  },
  deserialize(data) {
    return data === null ? null : readLong(data, 'Serdes.BigLong()')
  },
}

// UTF-8 JSON, compact.
const JSON_SERDE = {
  builtin: 'Json',
  serialize(obj) {
    if (obj === null || obj === undefined) return null
    let s
    try {
      s = JSON.stringify(obj)
    } catch (e) {
      throw new SerializationError(`Serdes.Json(): ${e.message}`)
    }
    if (s === undefined) throw new SerializationError(`Serdes.Json(): ${typeof obj} is not JSON`)
    return Buffer.from(s, 'utf8')
  },
  deserialize(data) {
    if (data === null) return null
    try {
      return JSON.parse(toBuffer(data).toString('utf8'))
    } catch (e) {
      throw new SerializationError(`Serdes.Json(): not JSON: ${e.message}`)
    }
  },
}

const BYTES = {
  builtin: 'Bytes',
  serialize(obj) {
    if (obj === null || obj === undefined) return null
    if (Buffer.isBuffer(obj)) return obj
    if (obj instanceof Uint8Array) return Buffer.from(obj.buffer, obj.byteOffset, obj.byteLength)
    throw new SerializationError(`Serdes.Bytes() serializes Buffers, got ${typeof obj}`)
  },
  deserialize(data) {
    return data
  },
}

const Serdes = {
  String: () => STRING,
  Long: () => LONG,
  BigLong: () => BIG_LONG,
  Json: () => JSON_SERDE,
  Bytes: () => BYTES,
}

// Kafka Streams' time-windowed key: the inner key's bytes, then the window start as 8 bytes
// big-endian. Objects are { key, start, end } (ms).
class TimeWindowedSerde {
  constructor(inner, windowSizeMs) {
    this.inner = inner
    this.windowSizeMs = windowSizeMs
    this.builtin = `TimeWindowed(${inner.builtin || '?'},${windowSizeMs})`
  }

  serialize(obj) {
    if (obj === null || obj === undefined) return null
    if (typeof obj !== 'object' || typeof obj.start !== 'number') throw new SerializationError('TimeWindowedSerde serializes { key, start } objects')
    const start = Buffer.alloc(8)
    start.writeBigInt64BE(BigInt(obj.start))
    return Buffer.concat([this.inner.serialize(obj.key) || Buffer.alloc(0), start])
  }

  deserialize(data) {
    if (data === null) return null
    if (data.length < 8) throw new SerializationError(`a windowed key has at least 8 bytes, got ${data.length}`)
    const b = toBuffer(data)
    const start = Number(b.readBigInt64BE(b.length - 8))
    return { key: this.inner.deserialize(b.subarray(0, b.length - 8)), start, end: start + this.windowSizeMs }
  }
}

// Kafka Streams' session-windowed key: the inner key's bytes, then the session's end and start
// as 8 bytes big-endian each. Objects are { key, start, end } (ms, both inclusive).
class SessionWindowedSerde {
  constructor(inner) {
    this.inner = inner
    this.builtin = `SessionWindowed(${inner.builtin || '?'})`
  }

  serialize(obj) {
    if (obj === null || obj === undefined) return null
    if (typeof obj !== 'object' || typeof obj.start !== 'number' || typeof obj.end !== 'number') {
      throw new SerializationError('SessionWindowedSerde serializes { key, start, end } objects')
    }
    const times = Buffer.alloc(16)
    times.writeBigInt64BE(BigInt(obj.end), 0)
    times.writeBigInt64BE(BigInt(obj.start), 8)
    return Buffer.concat([this.inner.serialize(obj.key) || Buffer.alloc(0), times])
  }

  deserialize(data) {
    if (data === null) return null
    if (data.length < 16) throw new SerializationError(`a session-windowed key has at least 16 bytes, got ${data.length}`)
    const b = toBuffer(data)
    const end = Number(b.readBigInt64BE(b.length - 16))
    const start = Number(b.readBigInt64BE(b.length - 8))
    return { key: this.inner.deserialize(b.subarray(0, b.length - 16)), start, end }
  }
}

function checkSerde(s, what) {
  if (s === undefined || s === null) return null
  if (typeof s !== 'object' || typeof s.serialize !== 'function' || typeof s.deserialize !== 'function') {
    throw new TypeError(`${what} must be a serde (Serdes.String(), ... or { serialize, deserialize })`)
  }
  return s
}

const sameSerde = (a, b) => a === b || (a.builtin !== undefined && a.builtin === b.builtin)

// ---------------------------------------------------------------------------------- windows

function ms(d, what) {
  if (typeof d !== 'number' || !Number.isInteger(d)) throw new TypeError(`${what} is an integer number of milliseconds, got ${d}`)
  return d
}

class TimeWindows {
  constructor(sizeMs, advanceMs, graceMs) {
    if (sizeMs <= 0) throw new RangeError(`window size must be positive, got ${sizeMs} ms`)
    if (graceMs < 0) throw new RangeError(`grace period must not be negative, got ${graceMs} ms`)
    if (advanceMs <= 0 || advanceMs > sizeMs) throw new RangeError(`window advance must be positive and at most the size (${sizeMs} ms), got ${advanceMs} ms`)
    this.sizeMs = sizeMs
    this.advanceMs = advanceMs
    this.graceMs = graceMs
  }

  static ofSizeWithNoGrace(size) {
    const s = ms(size, 'size')
    return new TimeWindows(s, s, 0)
  }

  static ofSizeAndGrace(size, grace) {
    const s = ms(size, 'size')
    return new TimeWindows(s, s, ms(grace, 'grace'))
  }

  advanceBy(advance) {
    return new TimeWindows(this.sizeMs, ms(advance, 'advance'), this.graceMs)
  }
}

// Session windows: a key's records less than the inactivity gap apart form one session
// [first, last]; a record bridging two sessions merges them. Checked by the core.
class SessionWindows {
  constructor(gapMs, graceMs) {
    const error = native.sessionWindowsError(gapMs, graceMs)
    if (error) throw new RangeError(error)
    this.gapMs = gapMs
    this.graceMs = graceMs
  }

  static ofInactivityGapWithNoGrace(inactivityGap) {
    return new SessionWindows(ms(inactivityGap, 'inactivityGap'), 0)
  }

  static ofInactivityGapAndGrace(inactivityGap, grace) {
    return new SessionWindows(ms(inactivityGap, 'inactivityGap'), ms(grace, 'grace'))
  }
}

class JoinWindows {
  constructor(beforeMs, afterMs, graceMs) {
    if (graceMs < 0) throw new RangeError(`grace period must not be negative, got ${graceMs} ms`)
    if (beforeMs + afterMs < 0) throw new RangeError(`join window interval (before + after) must not be negative, got ${beforeMs} + ${afterMs} ms`)
    this.beforeMs = beforeMs
    this.afterMs = afterMs
    this.graceMs = graceMs
  }

  static ofTimeDifferenceAndGrace(timeDifference, grace) {
    const d = ms(timeDifference, 'timeDifference')
    if (d < 0) throw new RangeError(`join time difference must not be negative, got ${d} ms`)
    return new JoinWindows(d, d, ms(grace, 'grace'))
  }

  static ofTimeDifferenceWithNoGrace(timeDifference) {
    return JoinWindows.ofTimeDifferenceAndGrace(timeDifference, 0)
  }

  before(timeDifference) {
    return new JoinWindows(ms(timeDifference, 'before'), this.afterMs, this.graceMs)
  }

  after(timeDifference) {
    return new JoinWindows(this.beforeMs, ms(timeDifference, 'after'), this.graceMs)
  }
}

function positive(n, what) {
  if (!Number.isSafeInteger(n) || n <= 0) throw new RangeError(`${what} must be a positive integer, got ${n}`)
  return n
}

// Suppressed.BufferConfig: unbounded(), or maxRecords/maxBytes(...).shutDownWhenFull() (strict: the
// application stops with an error at the bound). Emitting early is not allowed for final results.
class BufferConfig {
  constructor(maxRecords, maxBytes, strict) {
    this.maxRecords = maxRecords
    this.maxBytes = maxBytes
    this.strict = strict
  }

  static unbounded() {
    return new BufferConfig(null, null, true)
  }

  static maxRecords(records) {
    return new BufferConfig(positive(records, 'maxRecords'), null, false)
  }

  static maxBytes(bytes) {
    return new BufferConfig(null, positive(bytes, 'maxBytes'), false)
  }

  withMaxRecords(records) {
    return new BufferConfig(positive(records, 'maxRecords'), this.maxBytes, this.strict)
  }

  withMaxBytes(bytes) {
    return new BufferConfig(this.maxRecords, positive(bytes, 'maxBytes'), this.strict)
  }

  withNoBound() {
    return new BufferConfig(null, null, true)
  }

  shutDownWhenFull() {
    return new BufferConfig(this.maxRecords, this.maxBytes, true)
  }

  emitEarlyWhenFull() {
    return new BufferConfig(this.maxRecords, this.maxBytes, false)
  }
}

class Suppressed {
  constructor(bufferConfig, name) {
    this.bufferConfig = bufferConfig
    this.name = name
  }

  static untilWindowCloses(bufferConfig) {
    if (!(bufferConfig instanceof BufferConfig) || !bufferConfig.strict) {
      throw new TypeError(
        'untilWindowCloses() takes a strict buffer config: BufferConfig.unbounded(), or a bound with .shutDownWhenFull() (emitting early would not give final results)'
      )
    }
    return new Suppressed(bufferConfig, null)
  }

  // The buffer store is then `<name>-store`.
  withName(name) {
    if (typeof name !== 'string' || !name) throw new TypeError('the name of a suppression is a non-empty string')
    return new Suppressed(this.bufferConfig, name)
  }
}
Suppressed.BufferConfig = BufferConfig

// ---------------------------------------------------------------------------------- timestamps

// Kafka Streams' built-in timestamp extractors (run by the core; extract() is the same rule in JS).
// `timestampExtractor` takes the class or an instance.
class FailOnInvalidTimestamp {
  extract(record) {
    if (record.timestamp < 0) throw new RangeError(`the record has an invalid (negative) timestamp ${record.timestamp}`)
    return record.timestamp
  }
}

class LogAndSkipOnInvalidTimestamp {
  // A negative time drops the record.
  extract(record) {
    return record.timestamp
  }
}

class UsePartitionTimeOnInvalidTimestamp {
  extract(record, partitionTime) {
    if (record.timestamp >= 0) return record.timestamp
    if (partitionTime < 0) throw new RangeError(`the record has an invalid (negative) timestamp ${record.timestamp} and the partition's time is not known yet`)
    return partitionTime
  }
}

class WallclockTimestampExtractor {
  extract() {
    return Date.now()
  }
}

const BUILTIN_EXTRACTORS = [FailOnInvalidTimestamp, LogAndSkipOnInvalidTimestamp, UsePartitionTimeOnInvalidTimestamp, WallclockTimestampExtractor]

// [the core's name, the JS function or null] of a `timestampExtractor` option.
function timestampExtractor(x) {
  for (const c of BUILTIN_EXTRACTORS) {
    if (x === c || (x instanceof c && x.extract === c.prototype.extract)) return [c.name, null]
  }
  if (typeof x === 'function') return ['User', x]
  if (x !== null && typeof x === 'object' && typeof x.extract === 'function') return ['User', (record, partitionTime) => x.extract(record, partitionTime)]
  throw new TypeError(
    'timestampExtractor is a function (record, partitionTime) => ms, an object with extract(record, partitionTime), or one of WallclockTimestampExtractor, FailOnInvalidTimestamp, LogAndSkipOnInvalidTimestamp, UsePartitionTimeOnInvalidTimestamp'
  )
}

// ---------------------------------------------------------------------------------- runner

const FILTER = 1
const FILTER_NOT = 2
const MAP = 3
const MAP_VALUES = 4
const FLAT_MAP = 5
const FLAT_MAP_VALUES = 6
const SELECT_KEY = 7
const PEEK = 8
const FOREACH = 9
const SPLIT = 10
const SERDE = 11 // no function: the serdes change (re-encoding for a sink or a repartition)
const REDUCE = 20
const AGGREGATE = 21
const JOIN = 22
const TOPIC = 23 // to() with a TopicNameExtractor: fn(key, value) -> the record's topic name
const SESSION_AGGREGATE = 24 // fn: { initializer, aggregator, merger }
const EXTRACT = 25 // a source's timestamp extractor: fn({ key, value, timestamp }, partitionTime) -> ms

// A user function may return a thenable (a Promise): only then is the rest of its record, and of
// the batch, settled asynchronously, one record after the other (synchronous results cost no
// Promise). A value with a `then` method counts as a thenable, as for `await`.
const isThenable = x => x !== null && (typeof x === 'object' || typeof x === 'function') && typeof x.then === 'function'

// f(x), or f of what x settles to: undefined/the result, or a Promise of it.
const after = (x, f) => (isThenable(x) ? Promise.resolve(x).then(f) : f(x))

// Runs steps[pos..] on one (key, value), pushing port, key, value to out; returns undefined, or a
// Promise settled when the record has gone through every step (rejected as the function was).
// The usual steps are handled in the loop (the synchronous path); the others, and a step whose
// function returned a thenable (once settled), by next().
function apply(steps, pos, key, value, out) {
  for (; pos < steps.length; pos++) {
    const { kind, fn } = steps[pos]
    if (kind === SERDE) continue
    const r = kind === MAP_VALUES || kind === FLAT_MAP_VALUES ? fn(value) : fn(key, value)
    if (isThenable(r)) return settle(steps, pos, key, value, r, out)
    if (kind === MAP_VALUES) value = r
    else if (kind === FILTER) {
      if (!r) return undefined
    } else if (kind === FILTER_NOT) {
      if (r) return undefined
    } else if (kind !== PEEK) return next(steps, pos, key, value, r, out)
  }
  out.push(0, key, value)
  return undefined
}

// Step pos once its function's thenable r has settled. (Apart from apply: a closure there would
// move apply's variables off the stack, slowing the synchronous path.)
function settle(steps, pos, key, value, r, out) {
  return Promise.resolve(r).then(v => next(steps, pos, key, value, v, out))
}

// What step pos does with its function's (settled) result r, then the steps after it.
function next(steps, pos, key, value, r, out) {
  switch (steps[pos].kind) {
    case MAP_VALUES:
      return apply(steps, pos + 1, key, r, out)
    case FILTER:
      return r ? apply(steps, pos + 1, key, value, out) : undefined
    case FILTER_NOT:
      return r ? undefined : apply(steps, pos + 1, key, value, out)
    case MAP:
      if (!Array.isArray(r) || r.length !== 2) throw new TypeError('map() returns [key, value]')
      return apply(steps, pos + 1, r[0], r[1], out)
    case SELECT_KEY:
      return apply(steps, pos + 1, r, value, out)
    case PEEK:
      return apply(steps, pos + 1, key, value, out)
    case FOREACH:
      return undefined
    case FLAT_MAP:
    case FLAT_MAP_VALUES:
      if (r === null || r === undefined || typeof r[Symbol.iterator] !== 'function') {
        throw new TypeError(`${steps[pos].kind === FLAT_MAP ? 'flatMap' : 'flatMapValues'}() returns an iterable`)
      }
      return each(steps, pos, key, r[Symbol.iterator](), out)
    case SPLIT:
      if (r !== null) out.push(r, key, value)
      return undefined
    default:
      throw new Error(`unknown step kind ${steps[pos].kind}`)
  }
}

// The rest of a flatMap's results through the steps after pos, in order.
function each(steps, pos, key, it, out) {
  for (let e = it.next(); !e.done; e = it.next()) {
    let p
    if (steps[pos].kind === FLAT_MAP) {
      const kv = e.value
      if (!Array.isArray(kv) || kv.length !== 2) throw new TypeError('flatMap() returns an iterable of [key, value]')
      p = apply(steps, pos + 1, kv[0], kv[1], out)
    } else {
      p = apply(steps, pos + 1, key, e.value, out)
    }
    if (p !== undefined) return p.then(() => each(steps, pos, key, it, out))
  }
  return undefined
}

// Runs record(i) for i from `from` to n - 1, in order: record returns true to stop the batch,
// else undefined, or a Promise of either (never rejected). Returns undefined when all ran
// synchronously, else a Promise settled when the batch is done.
function drive(from, n, record) {
  for (let i = from; i < n; i++) {
    const r = record(i)
    if (r === true) return undefined
    if (r !== undefined) return r.then(stop => (stop ? undefined : drive(i + 1, n, record)))
  }
  return undefined
}

const message = e => (e instanceof Error ? `${e.name}: ${e.message}` : String(e))

const runnerFailed = e => ({ value: [], index: [], port: [], key: [], timestamp: [], failureIndex: 0, failureKind: 'user', failureMessage: `streams runner: ${message(e)}` })

class Runner {
  constructor() {
    this.ops = new Map()
    this.chains = new Map()
    // The exception of the last failed user function (the cause of the handler's exception).
    this.lastException = null
    this.run = this.run.bind(this)
  }

  add(node, op) {
    this.ops.set(node, op)
  }

  compile(nodes) {
    const id = nodes.join(',')
    let c = this.chains.get(id)
    if (!c) {
      const ops = nodes.map(n => this.ops.get(n))
      if (ops.some(o => !o)) throw new Error(`no function for a node of chain ${id}`)
      const first = ops[0]
      const last = ops[ops.length - 1]
      c = { steps: ops.map(o => ({ kind: o.kind, fn: o.fn })), first, last }
      this.chains.set(id, c)
    }
    return c
  }

  // Records the failure of record i in the reply; true (the batch stops there).
  fail(reply, i, kind, e) {
    this.lastException = e
    reply.failureIndex = i
    reply.failureKind = kind
    reply.failureMessage = message(e)
    return true
  }

  // Called by the core; must not throw (the reply carries every failure). Returns the reply, or
  // a Promise of it (never rejected) when a user function returned a thenable.
  run(nodes, keys, values, timestamps, operands, merge, partitionTime) {
    const extract = partitionTime !== null && partitionTime !== undefined
    const reply = extract ? { value: [], timestamp: [] } : operands === null ? { index: [], port: [], key: [], value: [], timestamp: [] } : { value: [] }
    try {
      if (operands === null && !extract) {
        const out = this.chain(nodes, keys, values, timestamps, reply)
        return out === reply ? reply : out.then(undefined, runnerFailed)
      }
      let record
      if (extract) record = this.extract(nodes[0], keys, values, timestamps, partitionTime, reply)
      else if (merge) record = this.merge(nodes[0], keys, values, operands, reply)
      else record = this.combine(nodes[0], keys, values, operands, reply)
      const p = drive(0, keys.length, record)
      return p === undefined ? reply : p.then(() => reply, runnerFailed)
    } catch (e) {
      return runnerFailed(e)
    }
  }

  // A batch through the fused chain `nodes`: the reply, or a Promise of it (see chainFrom).
  chain(nodes, keys, values, timestamps, reply) {
    const { steps, first, last } = this.compile(nodes)
    return this.chainFrom(0, steps, first, last, keys, values, timestamps, reply, [])
  }

  // Records from..n-1 of a chain, in a loop while their functions are synchronous: the reply, or
  // a Promise of it (never rejected) from the first record whose functions returned a thenable;
  // the records after that one go on once it has settled.
  chainFrom(from, steps, first, last, keys, values, timestamps, reply, produced) {
    for (let i = from; i < keys.length; i++) {
      let key, value
      try {
        key = first.keyIn.deserialize(keys[i])
        value = first.valueIn.deserialize(values[i])
      } catch (e) {
        this.fail(reply, i, 'deserialization', e)
        return reply
      }
      produced.length = 0
      let p
      try {
        p = apply(steps, 0, key, value, produced)
      } catch (e) {
        this.fail(reply, i, 'user', e)
        return reply
      }
      if (p !== undefined) return this.chainAfter(p, i, steps, first, last, keys, values, timestamps, reply, produced)
      if (this.emit(reply, i, produced, last, timestamps[i])) return reply
    }
    return reply
  }

  // Record i's outputs once its promise p has settled, then the records after it. (Apart from
  // chainFrom for the same reason as settle.)
  chainAfter(p, i, steps, first, last, keys, values, timestamps, reply, produced) {
    const rest = () => (this.emit(reply, i, produced, last, timestamps[i]) ? reply : this.chainFrom(i + 1, steps, first, last, keys, values, timestamps, reply, produced))
    return p.then(rest, e => this.fail(reply, i, 'user', e) && reply)
  }

  // Appends record i's outputs (port, key, value triples in produced) to the reply; true when one
  // cannot be serialized (the failure is recorded, none of the record's outputs kept).
  emit(reply, i, produced, last, timestamp) {
    const mark = reply.index.length
    try {
      for (let j = 0; j < produced.length; j += 3) {
        reply.index.push(i)
        reply.port.push(produced[j])
        reply.key.push(last.keyOut.serialize(produced[j + 1]))
        reply.value.push(last.valueOut.serialize(produced[j + 2]))
        reply.timestamp.push(timestamp)
      }
    } catch (e) {
      for (const a of [reply.index, reply.port, reply.key, reply.value, reply.timestamp]) a.length = mark
      return this.fail(reply, i, 'user', e)
    }
    return false
  }

  // record(i) of a combining node (see drive): result(key, value, operand) gives the record's
  // result (maybe a thenable), push(result) appends it to the reply.
  each(keys, values, operands, reply, decode, result, push) {
    return i => {
      let k, v, other
      try {
        ;[k, v, other] = decode(keys[i], values[i], operands[i])
      } catch (e) {
        return this.fail(reply, i, 'deserialization', e)
      }
      const failed = e => this.fail(reply, i, 'user', e)
      try {
        const r = after(result(k, v, other), x => {
          push(x)
          return undefined
        })
        return r === undefined ? undefined : r.then(undefined, failed)
      } catch (e) {
        return failed(e)
      }
    }
  }

  combine(node, keys, values, operands, reply) {
    const op = this.ops.get(node)
    if (!op) throw new Error(`no function for node ${node}`)
    const decode = (k, v, o) => [op.keyIn.deserialize(k), op.valueIn.deserialize(v), o === null ? null : op.extra.deserialize(o)]
    let result
    let push = x => reply.value.push(op.valueOut.serialize(x === undefined ? null : x))
    if (op.kind === TOPIC) {
      result = (key, value) => op.fn(key, value)
      push = topic => {
        if (topic != null && typeof topic !== 'string') throw new TypeError(`the topic name extractor of to() must return a string, got ${typeof topic}`)
        reply.value.push(topic ? Buffer.from(topic) : null)
      }
    } else if (op.kind === REDUCE) {
      result = (key, value, other) => (other === null ? value : op.fn(other, value))
    } else if (op.kind === AGGREGATE || op.kind === SESSION_AGGREGATE) {
      const { initializer, aggregator } = op.fn
      result = (key, value, other) => after(other === null ? initializer() : other, agg => aggregator(key, value, agg))
    } else {
      result = (key, value, other) => op.fn(value, other)
    }
    return this.each(keys, values, operands, reply, decode, result, push)
  }

  // Session merging: each value is a merged session's aggregate, its operand the aggregate merged
  // so far (null: the initializer's value first, as Kafka Streams); a reduce merges with its
  // reducer.
  merge(node, keys, values, operands, reply) {
    const op = this.ops.get(node)
    if (!op) throw new Error(`no function for node ${node}`)
    const decode = (k, v, o) => [op.keyIn.deserialize(k), op.extra.deserialize(v), o === null ? null : op.extra.deserialize(o)]
    const result =
      op.kind === REDUCE
        ? (key, other, soFar) => (soFar === null ? other : op.fn(soFar, other))
        : (key, other, soFar) => after(soFar === null ? op.fn.initializer() : soFar, agg => op.fn.merger(key, agg, other))
    const push = x => reply.value.push(op.valueOut.serialize(x === undefined ? null : x))
    return this.each(keys, values, operands, reply, decode, result, push)
  }

  // A source's timestamp extractor: record i is given the partition time before it (the largest
  // of partitionTime and the times returned for the records before it, negative ones left out).
  extract(node, keys, values, timestamps, partitionTime, reply) {
    const op = this.ops.get(node)
    if (!op) throw new Error(`no timestamp extractor for source node ${node}`)
    let time = partitionTime
    const decode = (k, v, timestamp) => [op.keyIn.deserialize(k), op.valueIn.deserialize(v), timestamp]
    const result = (key, value, timestamp) => op.fn({ key, value, timestamp }, time)
    const push = t => {
      if (!Number.isSafeInteger(t)) throw new TypeError(`the timestamp extractor returns an integer number of milliseconds, got ${typeof t === 'number' ? t : typeof t}`)
      reply.timestamp.push(t)
      if (t > time) time = t
    }
    return this.each(keys, values, timestamps, reply, decode, result, push)
  }
}

// ---------------------------------------------------------------------------------- DSL

function callNative(f) {
  try {
    return f()
  } catch (e) {
    throw fromNative(e, { wrapRetriable: false })
  }
}

function fn(f, what) {
  if (typeof f !== 'function') throw new TypeError(`${what} must be a function`)
  return f
}

const opts = (o, what) => {
  if (o === undefined || o === null) return {}
  if (typeof o !== 'object') throw new TypeError(`${what}: options are an object`)
  return o
}

class StreamsBuilder {
  constructor() {
    this._native = new native.NativeTopologyBuilder()
    this._runner = new Runner()
    this._stores = new Map()
    this._built = false
  }

  _user(parent, kind, f, keyIn, valueIn, keyOut, valueOut, ports = 0) {
    // A SERDE node (re-encoding) is not one of Kafka Streams' nodes: it takes no name index.
    const node = callNative(() =>
      ports ? this._native.split(parent, ports) : kind === SERDE ? this._native.serde(parent) : this._native.user(parent)
    )
    this._runner.add(node, { kind, fn: f, keyIn, valueIn, keyOut, valueOut })
    // An aggregation after a key change repartitions (the core decides; joins refuse it).
    if (kind === MAP || kind === FLAT_MAP || kind === SELECT_KEY) callNative(() => this._native.markKeyChanging(node))
    return node
  }

  stream(topics, options) {
    const o = opts(options, 'stream()')
    const names = typeof topics === 'string' ? [topics] : Array.from(topics)
    const keySerde = checkSerde(o.keySerde, 'keySerde') || BYTES
    const valueSerde = checkSerde(o.valueSerde, 'valueSerde') || BYTES
    const extractor = o.timestampExtractor === undefined || o.timestampExtractor === null ? null : timestampExtractor(o.timestampExtractor)
    const node = callNative(() => this._native.source(names))
    this._extractor(node, extractor, keySerde, valueSerde)
    return new KStream(this, node, keySerde, valueSerde)
  }

  _extractor(source, extractor, keySerde, valueSerde) {
    if (!extractor) return
    const [name, f] = extractor
    callNative(() => this._native.timestampExtractor(source, name))
    if (f) this._runner.add(source, { kind: EXTRACT, fn: f, keyIn: keySerde, valueIn: valueSerde })
  }

  build() {
    if (this._built) throw new Error('this StreamsBuilder was already built')
    this._built = true
    return new Topology(this)
  }

  // Kafka Streams' builder.table(topic, Consumed, Materialized): the latest value per key (a
  // null value deletes the key) in the store `materialized` (default `<topic>-STATE-STORE-<n>`),
  // with its own changelog; unnamed and never joined it is not materialized, as in Kafka Streams.
  table(topic, options) {
    const o = opts(options, 'table()')
    if (typeof topic !== 'string') throw new TypeError('table() reads one topic (a string)')
    const keySerde = checkSerde(o.keySerde, 'keySerde') || BYTES
    const valueSerde = checkSerde(o.valueSerde, 'valueSerde') || BYTES
    const extractor = o.timestampExtractor === undefined || o.timestampExtractor === null ? null : timestampExtractor(o.timestampExtractor)
    const { source, table: node, store } = callNative(() => this._native.table(topic, o.materialized == null ? null : String(o.materialized)))
    this._extractor(source, extractor, keySerde, valueSerde)
    this._stores.set(store, { name: store, keySerde, valueSerde, windows: null })
    return new KTable(this, node, keySerde, valueSerde, store, null)
  }
}

class Topology {
  constructor(builder) {
    this._builder = builder
    this._used = false
  }
}

class KStream {
  constructor(builder, node, keySerde, valueSerde) {
    this._b = builder
    this._node = node
    this.keySerde = keySerde
    this.valueSerde = valueSerde
  }

  _op(kind, f, keySerde, valueSerde) {
    const ks = keySerde || this.keySerde
    const vs = valueSerde || this.valueSerde
    const node = this._b._user(this._node, kind, f, this.keySerde, this.valueSerde, ks, vs)
    return new KStream(this._b, node, ks, vs)
  }

  filter(predicate) {
    return this._op(FILTER, fn(predicate, 'filter()'))
  }

  filterNot(predicate) {
    return this._op(FILTER_NOT, fn(predicate, 'filterNot()'))
  }

  // mapper(key, value) -> [key, value]; options: the new { keySerde, valueSerde }.
  map(mapper, options) {
    const o = opts(options, 'map()')
    return this._op(MAP, fn(mapper, 'map()'), checkSerde(o.keySerde, 'keySerde'), checkSerde(o.valueSerde, 'valueSerde'))
  }

  mapValues(mapper, options) {
    const o = opts(options, 'mapValues()')
    return this._op(MAP_VALUES, fn(mapper, 'mapValues()'), null, checkSerde(o.valueSerde, 'valueSerde'))
  }

  flatMap(mapper, options) {
    const o = opts(options, 'flatMap()')
    return this._op(FLAT_MAP, fn(mapper, 'flatMap()'), checkSerde(o.keySerde, 'keySerde'), checkSerde(o.valueSerde, 'valueSerde'))
  }

  flatMapValues(mapper, options) {
    const o = opts(options, 'flatMapValues()')
    return this._op(FLAT_MAP_VALUES, fn(mapper, 'flatMapValues()'), null, checkSerde(o.valueSerde, 'valueSerde'))
  }

  selectKey(mapper, options) {
    const o = opts(options, 'selectKey()')
    return this._op(SELECT_KEY, fn(mapper, 'selectKey()'), checkSerde(o.keySerde, 'keySerde'))
  }

  peek(action) {
    return this._op(PEEK, fn(action, 'peek()'))
  }

  foreach(action) {
    this._op(FOREACH, fn(action, 'foreach()'))
  }

  merge(other) {
    if (!(other instanceof KStream) || other._b !== this._b) throw new TypeError('merge() takes a KStream of the same StreamsBuilder')
    const node = callNative(() => this._b._native.merge(this._node, other._node))
    return new KStream(this._b, node, this.keySerde, this.valueSerde)
  }

  // Branches: split(prefix).branch(predicate, name)....defaultBranch(name) | noDefaultBranch()
  // give { [prefix + name]: KStream }; each record goes to the first branch whose predicate holds.
  split(prefix = '') {
    if (typeof prefix !== 'string') throw new TypeError("split()'s prefix is a string")
    return new BranchedKStream(this, prefix)
  }

  // This stream re-encoded with other serdes (itself when they are the same).
  _withSerdes(keySerde, valueSerde) {
    const ks = checkSerde(keySerde, 'keySerde') || this.keySerde
    const vs = checkSerde(valueSerde, 'valueSerde') || this.valueSerde
    if (sameSerde(ks, this.keySerde) && sameSerde(vs, this.valueSerde)) return this
    return this._op(SERDE, null, ks, vs)
  }

  // Writes the records to `topic`, or to the topic `topic(key, value)` names for each record
  // (Kafka Streams' TopicNameExtractor; the topics must exist, a null or empty name stops the
  // application as a throwing function does).
  to(topic, options) {
    if (typeof topic !== 'string' && typeof topic !== 'function') throw new TypeError('to() takes a topic name or a function (key, value) => topic name')
    const o = opts(options, 'to()')
    const s = this._withSerdes(o.keySerde, o.valueSerde)
    if (typeof topic === 'function') {
      const node = callNative(() => this._b._native.sinkPerRecord(s._node))
      this._b._runner.add(node, { kind: TOPIC, fn: topic, keyIn: s.keySerde, valueIn: s.valueSerde, keyOut: s.keySerde, valueOut: s.valueSerde, extra: null })
      return
    }
    callNative(() => this._b._native.sink(s._node, topic))
  }

  // The records through `<application.id>-<name>-repartition` (default name Kafka Streams'
  // KSTREAM-REPARTITION-<n>), partitioned by their key: after a key change, before a join.
  repartition(options) {
    const o = opts(options, 'repartition()')
    if (o.name !== undefined && typeof o.name !== 'string') throw new TypeError("repartition()'s name is a string")
    const s = this._withSerdes(o.keySerde, o.valueSerde)
    const node = callNative(() => this._b._native.repartitionStream(s._node, o.name))
    return new KStream(this._b, node, s.keySerde, s.valueSerde)
  }

  groupByKey(options) {
    const o = opts(options, 'groupByKey()')
    return new KGroupedStream(this._withSerdes(o.keySerde, o.valueSerde), null)
  }

  // Groups by a new key through the repartition topic `<application.id>-<name>-repartition`
  // (name: options.name, else the store's).
  groupBy(selector, options) {
    const o = opts(options, 'groupBy()')
    fn(selector, 'groupBy()')
    const ks = checkSerde(o.keySerde, 'keySerde') || this.keySerde
    const vs = checkSerde(o.valueSerde, 'valueSerde') || this.valueSerde
    // The key selection is made now, as Kafka Streams' groupBy does (its name index).
    return new KGroupedStream(this._op(SELECT_KEY, selector, ks, vs), o.name || null)
  }

  // With a KTable: each record joined with the table's value of its key. With a KStream and
  // JoinWindows: each pair of records of the same key within the windows, at the later timestamp.
  join(other, joiner, windows, options) {
    if (other instanceof KStream) return this._streamJoin(other, joiner, windows, 'inner', options)
    return this._tableJoin(other, joiner, false, windows, options)
  }

  leftJoin(other, joiner, windows, options) {
    if (other instanceof KStream) return this._streamJoin(other, joiner, windows, 'left', options)
    return this._tableJoin(other, joiner, true, windows, options)
  }

  outerJoin(other, joiner, windows, options) {
    if (!(other instanceof KStream)) throw new TypeError('outerJoin() takes a KStream')
    return this._streamJoin(other, joiner, windows, 'outer', options)
  }

  _streamJoin(other, joiner, windows, kind, options) {
    if (other._b !== this._b) throw new TypeError('join() takes a KStream of the same StreamsBuilder')
    if (!(windows instanceof JoinWindows)) throw new TypeError('a stream-stream join takes JoinWindows (JoinWindows.ofTimeDifferenceAndGrace(...))')
    fn(joiner, 'the joiner')
    const o = opts(options, 'join()')
    if (o.name !== undefined && typeof o.name !== 'string') throw new TypeError("the join's name is a string")
    const b = this._b
    const out = checkSerde(o.valueSerde, 'valueSerde') || this.valueSerde
    const [thisNode, thatNode, joined] = callNative(() =>
      b._native.streamJoin(this._node, other._node, windows.beforeMs, windows.afterMs, windows.graceMs, kind, o.name || null)
    )
    b._runner.add(thisNode, { kind: JOIN, fn: joiner, keyIn: this.keySerde, valueIn: this.valueSerde, keyOut: this.keySerde, valueOut: out, extra: other.valueSerde })
    // The other side's node gets (its value, this side's value): swapped back for the joiner.
    b._runner.add(thatNode, {
      kind: JOIN,
      fn: (v, o2) => joiner(o2, v),
      keyIn: other.keySerde,
      valueIn: other.valueSerde,
      keyOut: this.keySerde,
      valueOut: out,
      extra: this.valueSerde,
    })
    return new KStream(b, joined, this.keySerde, out)
  }

  _tableJoin(table, joiner, left, windows, options) {
    if (!(table instanceof KTable) || table._b !== this._b) throw new TypeError('join() takes a KTable or KStream of the same StreamsBuilder')
    if (windows !== undefined || options !== undefined) throw new TypeError('a stream-table join takes no windows or options')
    if (table._windows) throw new TypeError('a stream-table join needs a table that is not windowed')
    fn(joiner, 'the joiner')
    const node = callNative(() => this._b._native.joinTable(this._node, table._node, left))
    this._b._runner.add(node, {
      kind: JOIN,
      fn: joiner,
      keyIn: this.keySerde,
      valueIn: this.valueSerde,
      keyOut: this.keySerde,
      valueOut: this.valueSerde,
      extra: table.valueSerde,
    })
    return new KStream(this._b, node, this.keySerde, this.valueSerde)
  }
}

class BranchedKStream {
  constructor(stream, prefix) {
    this._stream = stream
    this._prefix = prefix
    this._branches = []
    this._done = false
  }

  branch(predicate, name) {
    if (this._done) throw new Error('this split is finished')
    fn(predicate, 'branch()')
    if (name !== undefined && typeof name !== 'string') throw new TypeError("a branch's name is a string")
    this._branches.push([this._prefix + (name || String(this._branches.length + 1)), predicate])
    return this
  }

  defaultBranch(name) {
    return this._finish(this._prefix + (name || '0'))
  }

  noDefaultBranch() {
    return this._finish(null)
  }

  _finish(defaultName) {
    if (this._done) throw new Error('this split is finished')
    this._done = true
    const preds = this._branches.map(([, p]) => p)
    const n = preds.length
    // The first branch whose predicate holds; a predicate returning a thenable is waited for.
    const choose = (k, v, from = 0) => {
      for (let i = from; i < n; i++) {
        const r = preds[i](k, v)
        if (isThenable(r)) return Promise.resolve(r).then(t => (t ? i : choose(k, v, i + 1)))
        if (r) return i
      }
      return defaultName === null ? null : n
    }
    const s = this._stream
    const b = s._b
    const ports = n + (defaultName === null ? 0 : 1)
    const split = b._user(s._node, SPLIT, choose, s.keySerde, s.valueSerde, s.keySerde, s.valueSerde, Math.max(ports, 1))
    const names = this._branches.map(([name]) => name).concat(defaultName === null ? [] : [defaultName])
    const out = {}
    names.forEach((name, port) => {
      const node = callNative(() => b._native.branch(split, port))
      out[name] = new KStream(b, node, s.keySerde, s.valueSerde)
    })
    return out
  }
}

function storeName(b, materialized, reduce) {
  if (materialized !== undefined && materialized !== null && typeof materialized !== 'string') {
    throw new TypeError("materialized is the store's name (a string)")
  }
  return callNative(() => b._native.aggregateStoreName(materialized ?? null, reduce))
}

class KGroupedStream {
  // name: of the repartition topic, when the keys changed upstream (groupBy's key selection, or a
  // map/selectKey/flatMap before groupByKey).
  constructor(stream, name, windows = null) {
    this._stream = stream
    this._name = name
    this._windows = windows
  }

  windowedBy(windows) {
    if (this._windows) throw new TypeError('this stream is already windowed')
    if (windows instanceof SessionWindows) return new SessionWindowedKStream(this, windows)
    if (!(windows instanceof TimeWindows)) throw new TypeError('windowedBy() takes TimeWindows or SessionWindows')
    return new TimeWindowedKStream(this._stream, this._name, windows)
  }

  _grouped(store) {
    const s = this._stream
    const node = callNative(() => s._b._native.grouped(s._node, this._name || store))
    return node === s._node ? s : new KStream(s._b, node, s.keySerde, s.valueSerde)
  }

  _aggregate(kind, f, materialized, valueSerde) {
    const b = this._stream._b
    const store = storeName(b, materialized, kind === REDUCE)
    const g = this._grouped(store)
    const w = this._windows
    const node = callNative(() => b._native.aggregate(g._node, store, kind === null ? 'count' : 'combine', w ? [w.sizeMs, w.advanceMs, w.graceMs] : null))
    if (kind !== null) {
      b._runner.add(node, { kind, fn: f, keyIn: g.keySerde, valueIn: g.valueSerde, keyOut: g.keySerde, valueOut: valueSerde, extra: valueSerde })
    }
    const keySerde = w ? new TimeWindowedSerde(g.keySerde, w.sizeMs) : g.keySerde
    b._stores.set(store, { name: store, keySerde: g.keySerde, valueSerde, windows: w })
    return new KTable(b, node, keySerde, valueSerde, store, w)
  }

  // Counts per key into the store options.materialized (values: Serdes.Long(), numbers).
  count(options) {
    return this._aggregate(null, null, opts(options, 'count()').materialized, LONG)
  }

  reduce(reducer, options) {
    fn(reducer, 'reduce()')
    return this._aggregate(REDUCE, reducer, opts(options, 'reduce()').materialized, this._stream.valueSerde)
  }

  // aggregator(key, value, aggregate) -> aggregate; the store's values use options.valueSerde
  // (default JSON).
  aggregate(initializer, aggregator, options) {
    fn(initializer, 'the initializer')
    fn(aggregator, 'the aggregator')
    const o = opts(options, 'aggregate()')
    return this._aggregate(AGGREGATE, { initializer, aggregator }, o.materialized, checkSerde(o.valueSerde, 'valueSerde') || JSON_SERDE)
  }
}

// A grouped stream aggregated per time window; keys of the result are { key, start, end }.
class TimeWindowedKStream extends KGroupedStream {}

// A grouped stream aggregated per session; keys of the result are { key, start, end } (both
// inclusive), in Kafka Streams' session-windowed format (SessionWindowedSerde).
class SessionWindowedKStream {
  constructor(grouped, windows) {
    this._grouped = grouped
    this._sessionWindows = windows
  }

  _aggregate(kind, f, materialized, valueSerde) {
    const b = this._grouped._stream._b
    const store = storeName(b, materialized, kind === REDUCE)
    const g = this._grouped._grouped(store)
    const w = this._sessionWindows
    const node = callNative(() => b._native.sessionAggregate(g._node, store, kind === null ? 'count' : 'combine', w.gapMs, w.graceMs))
    if (kind !== null) {
      b._runner.add(node, { kind, fn: f, keyIn: g.keySerde, valueIn: g.valueSerde, keyOut: g.keySerde, valueOut: valueSerde, extra: valueSerde })
    }
    b._stores.set(store, { name: store, keySerde: g.keySerde, valueSerde, windows: w, session: true })
    return new KTable(b, node, new SessionWindowedSerde(g.keySerde), valueSerde, store, w)
  }

  count(options) {
    return this._aggregate(null, null, opts(options, 'count()').materialized, LONG)
  }

  // reducer(aggregate, value); two sessions merge with reducer(aggregate, other).
  reduce(reducer, options) {
    fn(reducer, 'reduce()')
    return this._aggregate(REDUCE, reducer, opts(options, 'reduce()').materialized, this._grouped._stream.valueSerde)
  }

  // aggregator(key, value, aggregate) -> aggregate; merger(key, aggregate1, aggregate2) ->
  // aggregate combines two sessions a record bridges (Kafka Streams' Merger).
  aggregate(initializer, aggregator, merger, options) {
    fn(initializer, 'the initializer')
    fn(aggregator, 'the aggregator')
    if (typeof merger !== 'function') throw new TypeError('aggregate() over session windows takes a merger (key, aggregate1, aggregate2) => aggregate')
    const o = opts(options, 'aggregate()')
    const serde = checkSerde(o.valueSerde, 'valueSerde') || JSON_SERDE
    return this._aggregate(SESSION_AGGREGATE, { initializer, aggregator, merger }, o.materialized, serde)
  }
}

// A changelog stream: the latest value per key, kept in a store.
class KTable {
  constructor(builder, node, keySerde, valueSerde, store, windows) {
    this._b = builder
    this._node = node
    this.keySerde = keySerde
    this.valueSerde = valueSerde
    this.storeName = store
    this._windows = windows
  }

  toStream() {
    const node = callNative(() => this._b._native.toStream(this._node))
    return new KStream(this._b, node, this.keySerde, this.valueSerde)
  }

  // Derived tables with Kafka Streams' semantics over a materialized table (the core's): an
  // update the filter drops is a tombstone when the key was in the derived table, nothing when
  // it was not; a removal never reaches the function. The derived table has no store.
  _tableOp(kind, f, valueSerde) {
    const vs = checkSerde(valueSerde, 'valueSerde') || this.valueSerde
    const node = callNative(() => this._b._native.tableUser(this._node, kind !== MAP_VALUES))
    this._b._runner.add(node, { kind, fn: f, keyIn: this.keySerde, valueIn: this.valueSerde, keyOut: this.keySerde, valueOut: vs })
    return new KTable(this._b, node, this.keySerde, vs, null, this._windows)
  }

  filter(predicate) {
    return this._tableOp(FILTER, fn(predicate, 'filter()'))
  }

  filterNot(predicate) {
    return this._tableOp(FILTER_NOT, fn(predicate, 'filterNot()'))
  }

  // mapValues(mapper, { valueSerde }): valueSerde of the new values (default: this table's).
  mapValues(mapper, options) {
    return this._tableOp(MAP_VALUES, fn(mapper, 'mapValues()'), opts(options, 'mapValues()').valueSerde)
  }

  // Only the final result of each window (Suppressed.untilWindowCloses): the buffer is a store
  // with a changelog (`<name>-store`, default KTABLE-SUPPRESS-STATE-STORE-<n>).
  suppress(suppressed) {
    if (!(suppressed instanceof Suppressed)) throw new TypeError('suppress() takes Suppressed.untilWindowCloses(...)')
    if (!this._windows) throw new TypeError('untilWindowCloses() suppresses a windowed table (windowedBy(...) before the aggregation)')
    const b = this._b
    const c = suppressed.bufferConfig
    const node = callNative(() => b._native.suppress(this._node, suppressed.name || null, c.maxRecords, c.maxBytes))
    return new KTable(b, node, this.keySerde, this.valueSerde, null, this._windows)
  }
}

// ---------------------------------------------------------------------------------- KafkaStreams

const State = {
  CREATED: 'CREATED',
  REBALANCING: 'REBALANCING',
  RUNNING: 'RUNNING',
  PENDING_SHUTDOWN: 'PENDING_SHUTDOWN',
  NOT_RUNNING: 'NOT_RUNNING',
  PENDING_ERROR: 'PENDING_ERROR',
  ERROR: 'ERROR',
}

// Only SHUTDOWN_CLIENT is implemented: the instance stops (state ERROR).
const StreamThreadExceptionResponse = { SHUTDOWN_CLIENT: 'SHUTDOWN_CLIENT' }

// What stopped processing: kind "user" (a user function threw; its exception is `cause`),
// "deserialization" or "kafka"; topic, partition, offset name the source record (null/-1 for "kafka").
class StreamsException extends KafkaJSNonRetriableError {
  constructor(f, cause) {
    super(f.message, { cause })
    this.name = 'StreamsException'
    this.kind = f.kind
    this.topic = f.topic === undefined ? null : f.topic
    this.partition = f.partition
    this.offset = f.offset
  }
}

function configEntries(config) {
  if (config === null || typeof config !== 'object' || Array.isArray(config)) {
    throw new KafkaJSNonRetriableError('the configuration is an object of Kafka Streams properties ({ "application.id": ..., "bootstrap.servers": ... })')
  }
  return Object.entries(config).map(([k, v]) => {
    if (Array.isArray(v)) v = v.join(',')
    if (v === null || v === undefined || (typeof v === 'object' && !(v instanceof String))) {
      throw new KafkaJSNonRetriableError(`configuration ${k}: expected a string, number or boolean, got ${v === null ? 'null' : typeof v}`)
    }
    return [k, String(v)]
  })
}

class KafkaStreams extends EventEmitter {
  constructor(topology, config) {
    super()
    if (!(topology instanceof Topology)) throw new TypeError('KafkaStreams takes the Topology of StreamsBuilder.build()')
    if (topology._used) throw new Error('this Topology is already used by a KafkaStreams')
    const b = topology._builder
    this._runner = b._runner
    this._stores = new Map(b._stores)
    const entries = configEntries(config)
    this._native = callNative(() => new native.NativeKafkaStreams(b._native, this._runner.run, entries))
    topology._used = true
    this._handler = null
    this._exception = null
    this._alive = false
    callNative(() => this._native.setStateListener((n, o) => this._onState(n, o)))
    callNative(() => this._native.setUncaughtExceptionHandler(f => this._onFailure(f)))
  }

  _onState(newState, oldState) {
    if (newState === State.NOT_RUNNING || newState === State.ERROR) this._release()
    try {
      this.emit('stateChange', newState, oldState)
    } catch (e) {
      process.emitWarning(`polykafka streams: a stateChange listener threw: ${message(e)}`)
    }
  }

  _onFailure(f) {
    const e = this._makeException(f)
    if (!this._handler) {
      process.emitWarning(`polykafka streams: processing stopped (no uncaught exception handler): ${e.message}`)
      return
    }
    try {
      const answer = this._handler(e)
      if (answer !== undefined && answer !== null && answer !== StreamThreadExceptionResponse.SHUTDOWN_CLIENT) {
        process.emitWarning(`polykafka streams: the uncaught exception handler answered ${answer}: only SHUTDOWN_CLIENT is implemented; shutting down the client`)
      }
    } catch (err) {
      process.emitWarning(`polykafka streams: the uncaught exception handler threw: ${message(err)}`)
    }
  }

  _makeException(f) {
    const cause = f.kind !== 'kafka' ? this._runner.lastException : null
    this._exception = new StreamsException(f, cause || undefined)
    return this._exception
  }

  _release() {
    if (this._alive) {
      this._alive = false
      keepalive.release()
    }
  }

  describe() {
    return callNative(() => this._native.describe())
  }

  start() {
    callNative(() => this._native.start())
    this._alive = true
    keepalive.acquire()
  }

  // Stops, committing what was processed; resolves true when done within timeoutMs (default: no limit).
  async close({ timeout } = {}) {
    if (timeout !== undefined && (typeof timeout !== 'number' || !(timeout >= 0))) {
      throw new KafkaJSNonRetriableError(`timeout is a non-negative number of milliseconds, got ${timeout}`)
    }
    let done
    try {
      done = await this._native.close(timeout === undefined ? null : timeout)
    } catch (e) {
      throw fromNative(e, { wrapRetriable: false })
    }
    if (done) this._release()
    return done
  }

  state() {
    return this._native.state()
  }

  // handler(StreamsException), on the JS thread when processing stopped on an error; the
  // instance then shuts down (state ERROR).
  setUncaughtExceptionHandler(handler) {
    this._handler = fn(handler, 'the uncaught exception handler')
  }

  // What stopped the instance, if something did.
  exception() {
    const f = this._native.failure()
    if (!f) return null
    return this._exception || this._makeException(f)
  }

  // Counters: processed, lateDropped, timestampDropped, dropped, deserializationSkipped, deadLettered, restored, restoreMs, commits.
  metrics() {
    return this._native.metrics()
  }

  // Interactive queries on the store `name` over this instance's tasks.
  store(name) {
    const s = this._stores.get(name)
    if (!s) throw new KafkaJSNonRetriableError(`the topology has no store named '${name}'`)
    if (s.session) return new ReadOnlySessionStore(this._native, s)
    return s.windows ? new ReadOnlyWindowStore(this._native, s) : new ReadOnlyKeyValueStore(this._native, s)
  }
}

class ReadOnlyKeyValueStore {
  constructor(n, store) {
    this._n = n
    this._s = store
  }

  get(key) {
    const raw = callNative(() => this._n.storeGet(this._s.name, this._s.keySerde.serialize(key)))
    return raw === null || raw === undefined ? null : this._s.valueSerde.deserialize(raw)
  }

  // [key, value] of keys from start to end (both included; null: unbounded), in byte order.
  range(start = null, end = null) {
    const { keySerde: ks, valueSerde: vs } = this._s
    const lo = start === null ? null : ks.serialize(start)
    const hi = end === null ? null : ks.serialize(end)
    return callNative(() => this._n.storeRange(this._s.name, lo, hi)).map(([k, v]) => [ks.deserialize(k), vs.deserialize(v)])
  }

  all() {
    return this.range()
  }
}

class ReadOnlyWindowStore {
  constructor(n, store) {
    this._n = n
    this._s = store
  }

  // [window start ms, value] of key's windows starting in [timeFrom, timeTo] (ms or Date).
  fetch(key, timeFrom, timeTo) {
    const t = x => (x instanceof Date ? x.getTime() : x)
    return callNative(() => this._n.storeFetch(this._s.name, this._s.keySerde.serialize(key), t(timeFrom), t(timeTo))).map(w => [
      w.start,
      this._s.valueSerde.deserialize(w.value),
    ])
  }

  // [{ key, start, end }, value] of every window.
  all() {
    const ws = new TimeWindowedSerde(this._s.keySerde, this._s.windows.sizeMs)
    return callNative(() => this._n.storeAll(this._s.name)).map(([k, v]) => [ws.deserialize(k), this._s.valueSerde.deserialize(v)])
  }
}

class ReadOnlySessionStore {
  constructor(n, store) {
    this._n = n
    this._s = store
  }

  // [{ key, start, end }, value] of key's sessions ending at earliestSessionEnd or later and
  // starting at latestSessionStart or earlier (ms or Date), by end (Kafka Streams' findSessions).
  findSessions(key, earliestSessionEnd, latestSessionStart) {
    const t = x => (x instanceof Date ? x.getTime() : x)
    const raw = callNative(() => this._n.storeFindSessions(this._s.name, this._s.keySerde.serialize(key), t(earliestSessionEnd), t(latestSessionStart)))
    return raw.map(s => [{ key, start: s.start, end: s.end }, this._s.valueSerde.deserialize(s.value)])
  }

  // Every session of key, by end.
  fetch(key) {
    return this.findSessions(key, 0, Number.MAX_SAFE_INTEGER)
  }

  all() {
    const ws = new SessionWindowedSerde(this._s.keySerde)
    return callNative(() => this._n.storeAll(this._s.name)).map(([k, v]) => [ws.deserialize(k), this._s.valueSerde.deserialize(v)])
  }
}

module.exports = {
  StreamsBuilder,
  Topology,
  KStream,
  BranchedKStream,
  KGroupedStream,
  TimeWindowedKStream,
  SessionWindowedKStream,
  KTable,
  KafkaStreams,
  State,
  StreamThreadExceptionResponse,
  StreamsException,
  TimeWindows,
  JoinWindows,
  SessionWindows,
  Suppressed,
  BufferConfig,
  Serdes,
  SerializationError,
  TimeWindowedSerde,
  SessionWindowedSerde,
  ReadOnlyKeyValueStore,
  ReadOnlyWindowStore,
  ReadOnlySessionStore,
  FailOnInvalidTimestamp,
  LogAndSkipOnInvalidTimestamp,
  UsePartitionTimeOnInvalidTimestamp,
  WallclockTimestampExtractor,
}
