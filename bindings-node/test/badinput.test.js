'use strict'
// Bad input (#22): the SAME tables against kafkajs and polykafka. One table per API surface; each
// row is (what is called, with which bad argument, the error expected: kafkajs's class and a
// fragment of its message). Where kafkajs does something else (or something worse: a bare
// TypeError from deep inside, a hang, a crash), the row says what kafkajs does under `kafkajs:`.
// After each table the process is alive and the client still works; sends either resolve with
// their record's metadata or reject, and what resolved is read back.
const test = require('node:test')
const assert = require('node:assert/strict')
const { brokers, uniqueTopic, createTopics } = require('./helpers')

// BADINPUT_PROBE=1 prints every row's outcome instead of asserting (to write new rows);
// BADINPUT_LIBS=kafkajs (or polykafka) runs one side only.
const PROBE = !!process.env.BADINPUT_PROBE
const LIBS = (process.env.BADINPUT_LIBS || 'kafkajs,polykafka').split(',')
const implementations = Object.fromEntries(LIBS.map(n => [n, require(n === 'kafkajs' ? 'kafkajs' : '..')]))
// Over the broker's message.max.bytes (1 MiB + 12 by default): rejected, never half-sent.
const HUGE = Buffer.alloc(2 * 1024 * 1024, 'x')

/** What a call did: { ok, value } or { error } (a synchronous throw and a rejection alike). */
async function outcome(fn) {
  try {
    return { ok: true, value: await fn() }
  } catch (error) {
    return { ok: false, error }
  }
}

const show = o =>
  o.ok
    ? `resolved ${JSON.stringify(o.value === undefined ? null : o.value).slice(0, 80)}`
    : `${o.error && o.error.name} type=${o.error && o.error.type} retriable=${o.error && o.error.retriable}: ` +
      `${String(o.error && o.error.message).slice(0, 160)}`

/**
 * Runs a table: rows [label, call, expected] where expected is { error: class name, message:
 * fragment, type } or { ok: true }, or { kafkajs: ..., polykafka: ... } when they differ.
 */
async function runTable(t, name, lib, rows, ctx, perRow) {
  for (const [label, call, expected] of rows) {
    const want = expected[name] || expected
    // A row the library cannot run (kafkajs hangs there): the reason is the record.
    if (want.never) continue
    const fresh = perRow && (await perRow.open())
    const got = await outcome(() => call(fresh || ctx))
    if (fresh) await perRow.close(fresh)
    if (PROBE) {
      console.log(`PROBE ${name} | ${label} | ${show(got)}`)
      continue
    }
    if (got.ok && want.oneOf && want.oneOf.some(w => w.ok)) continue
    if (want.ok) {
      assert.ok(got.ok, `${label}: expected success, got ${show(got)}`)
      continue
    }
    assert.ok(!got.ok, `${label}: expected ${want.error}, got ${show(got)}`)
    if (want.oneOf) {
      const matches = w => !w.ok && (lib[w.error] || globalThis[w.error]) && got.error instanceof (lib[w.error] || globalThis[w.error]) &&
        String(got.error.message).includes(w.message)
      assert.ok(want.oneOf.some(matches), `${label}: ${show(got)}`)
      continue
    }
    const cls = lib[want.error] || globalThis[want.error]
    assert.ok(cls, `no class ${want.error}`)
    assert.ok(got.error instanceof cls, `${label}: expected ${want.error}, got ${show(got)}`)
    if (want.message) assert.ok(String(got.error.message).includes(want.message), `${label}: ${show(got)}`)
    if (want.type) assert.equal(got.error.type, want.type, `${label}: ${show(got)}`)
  }
}

/** The values of `wanted` not found on `topic` (read with kafkajs, read_committed) within 20 s. */
async function missingFrom(topic, wanted) {
  const { kafkajs } = require('./helpers')
  const left = new Set(wanted)
  const c = new kafkajs.Kafka({ clientId: 'reader', brokers, logLevel: kafkajs.logLevel.NOTHING }).consumer({ groupId: uniqueTopic('reader') })
  await c.connect()
  await c.subscribe({ topics: [topic], fromBeginning: true })
  try {
    await new Promise(resolve => {
      const timer = setTimeout(resolve, 20000)
      c.run({
        eachMessage: async ({ message }) => {
          left.delete(message.value.toString())
          if (left.size === 0) {
            clearTimeout(timer)
            resolve()
          }
        },
      })
    })
  } finally {
    await c.disconnect()
  }
  return [...left]
}

/** Connects a producer (from a Kafka or made already), runs `fn` with it, always disconnects. */
async function withProducer(kafkaOrProducer, fn) {
  const p = kafkaOrProducer.producer ? kafkaOrProducer.producer() : kafkaOrProducer
  await p.connect()
  try {
    return await fn(p)
  } finally {
    await p.disconnect()
  }
}

/** Connects `c`, subscribes to `topic` and runs it until joined; always disconnects. */
async function withConsumer(c, topic) {
  await c.connect()
  try {
    await c.subscribe({ topics: [topic] })
    await c.run({ eachMessage: async () => {} })
  } finally {
    await c.disconnect()
  }
}

const E = (error, message, extra = {}) => Object.assign({ error, message }, extra)
const OK = { ok: true }

for (const [name, lib] of Object.entries(implementations)) {
  test(`bad input[${name}]`, { timeout: 240000 }, async t => {
    const { logLevel } = lib
    // Every client the tables make, to close at the end whatever a row left open (kafkajs keeps some
    // half-open after a failed connect or send, and its open sockets would keep the test process alive).
    const made = []
    const track = c => (made.push(c), c)
    class Kafka extends lib.Kafka {
      producer(o) {
        return track(super.producer(o))
      }
      consumer(o) {
        return track(super.consumer(o))
      }
      admin(o) {
        return track(super.admin(o))
      }
    }
    t.after(() => Promise.allSettled(made.map(c => c.disconnect())))
    const base = { clientId: `bad-${name}`, brokers, logLevel: logLevel.NOTHING, retry: { retries: 1, initialRetryTime: 100 } }
    const kafka = new Kafka(base)
    const topic = uniqueTopic(`bad-${name}`)
    await createTopics([topic], 2)
    const delivered = [] // values whose send resolved: all must be read back at the end

    await t.test('Kafka() constructor and client options', async () => {
      const rows = [
        ['Kafka() without config', () => new Kafka(), {
          kafkajs: E('TypeError', 'Cannot destructure'),
          polykafka: E('KafkaJSNonRetriableError', 'expected brokers array and got nothing'),
        }],
        ['Kafka({}) without brokers', () => new Kafka({}) && undefined, {
          kafkajs: OK, // fails at connect()
          polykafka: E('KafkaJSNonRetriableError', 'expected brokers array and got nothing'),
        }],
        ['Kafka({brokers: []}).producer().connect()', () => new Kafka({ ...base, brokers: [] }).producer().connect(),
          E('KafkaJSNonRetriableError', 'Failed to connect')],
        // kafkajs: retries exceeded, "Port should be >= 0 and < 65536"; polykafka: not an array.
        ['Kafka({brokers: "host:port"}) string, not array', () => new Kafka({ ...base, brokers: brokers[0] }).admin().connect(),
          E('KafkaJSNonRetriableError', 'Failed to connect')],
        ['Kafka({brokers: () => []}).admin().connect()', () => new Kafka({ ...base, brokers: () => [] }).admin().connect(),
          E('KafkaJSNonRetriableError', 'Failed to connect')],
        ['Kafka({brokers: [5]}).admin().connect()', () => new Kafka({ ...base, brokers: [5] }).admin().connect(), {
          kafkajs: E('KafkaJSNonRetriableError', 'broker at index 0 is invalid'),
          polykafka: E('KafkaJSNonRetriableError', "invalid value '5' in 'bootstrap.servers'"),
        }],
        ['Kafka({unknownOption}) is ignored', () => new Kafka({ ...base, noSuchOption: 1 }) && undefined, OK],
        ['Kafka({sasl: {mechanism: "nope"}}).producer().connect()',
          () => new Kafka({ ...base, sasl: { mechanism: 'nope', username: 'u', password: 'p' } }).producer().connect(),
          {
            // kafkajs sends the mechanism and gets the broker's answer; polykafka refuses before connecting.
            kafkajs: E('KafkaJSProtocolError', 'not valid given the current SASL state', { type: 'ILLEGAL_SASL_STATE' }),
            polykafka: E('KafkaJSNonRetriableError', 'SASL NOPE mechanism is not supported'),
          }],
        ['consumer() without groupId', () => kafka.consumer(), E('KafkaJSNonRetriableError', 'Consumer groupId must be a non-empty string')],
        ['consumer({groupId: ""})', () => kafka.consumer({ groupId: '' }), E('KafkaJSNonRetriableError', 'Consumer groupId must be a non-empty string')],
        ['consumer({groupId: 5})', () => kafka.consumer({ groupId: 5 }) && undefined, {
          kafkajs: OK, // joins group "5"
          polykafka: E('KafkaJSNonRetriableError', 'Consumer groupId must be a non-empty string'),
        }],
        ['producer({idempotent: true, retry: {retries: 0}})', () => kafka.producer({ idempotent: true, retry: { retries: 0 } }),
          E('KafkaJSNonRetriableError', 'Idempotent producer must allow retries')],
        ['producer({noSuchOption}) is ignored', () => kafka.producer({ noSuchOption: 1 }) && undefined, OK],
        // Before the fix polykafka took ssl: 'yes' for no TLS and connected to the plaintext listener.
        ['Kafka({ssl: "yes"}) to a plaintext listener', () => new Kafka({ ...base, ssl: 'yes' }).producer().connect(),
          E('KafkaJSNumberOfRetriesExceeded', 'Connection error')],
        ['Kafka({requestTimeout: "x"})', () => withProducer(new Kafka({ ...base, requestTimeout: 'x' }), p => p.send({ topic, messages: [{ value: 'x' }] })), {
          kafkajs: E('TypeError', "'timeout' is not a number"),
          polykafka: E('KafkaJSNonRetriableError', "invalid value 'x' for configuration key 'request.timeout.ms'"),
        }],
        ['Kafka({connectionTimeout: -5})', () => withProducer(new Kafka({ ...base, connectionTimeout: -5 }), () => {}), {
          kafkajs: OK, // a negative timeout accepted
          polykafka: E('KafkaJSNonRetriableError', "invalid value '-5' for configuration key 'socket.connection.setup.timeout.ms'"),
        }],
        ['consumer({sessionTimeout: "abc"}).run()', () => withConsumer(kafka.consumer({ groupId: uniqueTopic('bad-g'), sessionTimeout: 'abc' }), topic), {
          kafkajs: OK, // joins the group with it
          polykafka: E('KafkaJSNonRetriableError', "invalid value 'abc' for configuration key 'session.timeout.ms'"),
        }],
        ['consumer({maxBytes: -1}).run()', () => withConsumer(kafka.consumer({ groupId: uniqueTopic('bad-g'), maxBytes: -1 }), topic), {
          kafkajs: OK, // runs with it
          polykafka: E('KafkaJSNonRetriableError', "invalid value '-1' for configuration key 'fetch.max.bytes'"),
        }],
        ['producer({transactionTimeout: "x"}).connect()', () => withProducer(kafka.producer({ transactionalId: uniqueTopic('bad-tx'), transactionTimeout: 'x', idempotent: true, maxInFlightRequests: 1 }), () => {}), {
          kafkajs: OK, // sends NaN; the broker takes it
          polykafka: E('KafkaJSNonRetriableError', "invalid value 'x' for configuration key 'transaction.timeout.ms'"),
        }],
      ]
      await runTable(t, name, lib, rows)
    })

    await t.test('producer.send and sendBatch (a new producer per row: a bad send breaks a kafkajs producer)', async () => {
      const perRow = {
        open: async () => {
          const p = kafka.producer()
          await p.connect()
          return { p }
        },
        close: ({ p }) => p.disconnect(),
      }
      const p = kafka.producer()
      await p.connect()
      try {
        const rows = [
          ['send() without arguments', c => c.p.send(), {
            kafkajs: E('TypeError', 'Cannot destructure'),
            polykafka: E('KafkaJSNonRetriableError', 'Invalid topic'),
          }],
          // Before the fix polykafka sent these to the topic named by String(topic): "5", the topic itself for
          // [topic] and Buffer.from(topic). kafkajs: a number is INVALID_TOPIC; an object fails in its encoder
          // ("value should be an instance of Encoder", retries exceeded) and leaves the producer broken: its
          // next valid send fails the same way (the row 'a producer after a bad topic' below).
          ['send({topic: 5})', c => c.p.send({ topic: 5, messages: [{ value: 'x' }] }), E('KafkaJSNonRetriableError', 'on an invalid topic')],
          ['send({topic: {}})', c => c.p.send({ topic: {}, messages: [{ value: 'x' }] }), {
            kafkajs: E('KafkaJSNumberOfRetriesExceeded', 'value should be an instance of Encoder'),
            polykafka: E('KafkaJSNonRetriableError', 'on an invalid topic (topic [object Object] is object, not a string)'),
          }],
          ['send({topic: [topic]})', c => c.p.send({ topic: [topic], messages: [{ value: 'x' }] }), {
            kafkajs: E('KafkaJSNumberOfRetriesExceeded', 'value should be an instance of Encoder'),
            polykafka: E('KafkaJSNonRetriableError', 'is object, not a string'),
          }],
          ['send({topic: Buffer})', c => c.p.send({ topic: Buffer.from(topic), messages: [{ value: 'x' }] }), {
            kafkajs: E('KafkaJSNumberOfRetriesExceeded', 'value should be an instance of Encoder'),
            polykafka: E('KafkaJSNonRetriableError', 'is object, not a string'),
          }],
          ['a producer after a bad topic', async c => {
            await c.p.send({ topic: {}, messages: [{ value: 'x' }] }).catch(() => {})
            return c.p.send({ topic, messages: [{ value: 'after-bad-topic' }] })
          }, {
            kafkajs: E('KafkaJSNumberOfRetriesExceeded', 'value should be an instance of Encoder'),
            polykafka: OK,
          }],
          ['send({topic: "a b"}) invalid name', c => c.p.send({ topic: 'a b', messages: [{ value: 'x' }] }),
            E('KafkaJSNonRetriableError', 'on an invalid topic')],
          ['send({topic: ".."}) invalid name', c => c.p.send({ topic: '..', messages: [{ value: 'x' }] }),
            E('KafkaJSNonRetriableError', 'on an invalid topic')],
          ['send({topic: 250 chars}) too long', c => c.p.send({ topic: 'x'.repeat(250), messages: [{ value: 'x' }] }),
            E('KafkaJSNonRetriableError', 'on an invalid topic')],
          ['send({messages: {}}) object, not array', c => c.p.send({ topic, messages: { value: 'x' } }), E('TypeError', 'messages.find is not a function')],
          ['send({messages: "x"}) string, not array', c => c.p.send({ topic, messages: 'x' }), E('TypeError', 'messages.find is not a function')],
          ['send({messages: [null]})', c => c.p.send({ topic, messages: [null] }), E('TypeError', "Cannot read properties of null (reading 'value')")],
          ['send({messages: ["x"]}) string message', c => c.p.send({ topic, messages: ['x'] }), E('KafkaJSNonRetriableError', 'Invalid message without value')],
          ['value undefined', c => c.p.send({ topic, messages: [{ key: 'k', value: undefined }] }), E('KafkaJSNonRetriableError', 'Invalid message without value')],
          ['value: 5 (number)', c => c.p.send({ topic, messages: [{ value: 5 }] }), E('TypeError', 'must be of type string or an instance of Buffer')],
          ['value: true', c => c.p.send({ topic, messages: [{ value: true }] }), E('TypeError', 'must be of type string or an instance of Buffer')],
          ['value: {a: 1} (object)', c => c.p.send({ topic, messages: [{ value: { a: 1 } }] }), E('TypeError', 'must be of type string or an instance of Buffer')],
          ['value: [1, 2] (array)', c => c.p.send({ topic, messages: [{ value: [1, 2] }] }), E('TypeError', 'must be of type string or an instance of Buffer')],
          ['key: 5 (number)', c => c.p.send({ topic, messages: [{ key: 5, value: 'x' }] }), E('TypeError', 'must be of type string or an instance of Buffer')],
          ['key: {} (object)', c => c.p.send({ topic, messages: [{ key: {}, value: 'x' }] }), E('TypeError', 'must be of type string or an instance of Buffer')],
          ['headers: {h: 5}', c => c.p.send({ topic, messages: [{ value: 'x', headers: { h: 5 } }] }), E('TypeError', 'must be of type string or an instance of Buffer')],
          ['headers: {h: {}}', c => c.p.send({ topic, messages: [{ value: 'x', headers: { h: {} } }] }), E('TypeError', 'must be of type string or an instance of Buffer')],
          // A string's characters become headers "0", "1", ... in both.
          ['headers: "h" (string)', c => c.p.send({ topic, messages: [{ value: 'x', headers: 'h' }] }), OK],
          // Before the fix polykafka rejected '0' with napi's bare Error ("Failed to convert napi value String").
          ['partition: "0" (string)', c => c.p.send({ topic, messages: [{ value: 'x', partition: '0' }] }), OK],
          // kafkajs resolves [] and writes nothing: the record is silently lost.
          ['partition: 99 (missing)', c => c.p.send({ topic, messages: [{ value: 'x', partition: 99 }] }), {
            kafkajs: { ok: true, lost: true },
            polykafka: E('KafkaJSNumberOfRetriesExceeded', 'partition 99 of topic'),
          }],
          ['partition: -5', c => c.p.send({ topic, messages: [{ value: 'x', partition: -5 }] }), {
            kafkajs: { ok: true, lost: true },
            polykafka: E('KafkaJSNumberOfRetriesExceeded', 'partition -5 of topic'),
          }],
          // Before the fix polykafka truncated 1.5 to 1 and wrapped 2**40 to partition 0 (sent there).
          ['partition: 1.5', c => c.p.send({ topic, messages: [{ value: 'x', partition: 1.5 }] }), {
            kafkajs: E('TypeError', "Cannot read properties of undefined (reading 'length')"),
            polykafka: E('KafkaJSNonRetriableError', 'Invalid partition 1.5 (number)'),
          }],
          ['partition: 2**40', c => c.p.send({ topic, messages: [{ value: 'x', partition: 2 ** 40 }] }), {
            kafkajs: { ok: true, lost: true },
            polykafka: E('KafkaJSNonRetriableError', 'Invalid partition 1099511627776'),
          }],
          ['partition: "x"', c => c.p.send({ topic, messages: [{ value: 'x', partition: 'x' }] }), {
            kafkajs: { ok: true, lost: true },
            polykafka: E('KafkaJSNonRetriableError', 'Invalid partition x (string)'),
          }],
          // Before the fix polykafka wrote the record with the current time.
          ['timestamp: "abc"', c => c.p.send({ topic, messages: [{ value: 'x', timestamp: 'abc' }] }), E('SyntaxError', 'Cannot convert abc to a BigInt')],
          ['value over message.max.bytes', c => c.p.send({ topic, messages: [{ value: HUGE }] }),
            E('KafkaJSProtocolError', 'larger than the max message size', { type: 'MESSAGE_TOO_LARGE' })],
          ['key over message.max.bytes', c => c.p.send({ topic, messages: [{ key: HUGE, value: 'v' }] }), {
            polykafka: E('KafkaJSProtocolError', 'larger than the max message size', { type: 'MESSAGE_TOO_LARGE' }),
            kafkajs: { never: 'kafkajs 2.2.4: the send never settles (60 s), where a value of the same size rejects' },
          }],
          ['acks: "all" (string)', c => c.p.send({ topic, acks: 'all', messages: [{ value: 'x' }] }), {
            kafkajs: E('KafkaJSNumberOfRetriesExceeded', 'timed out'), // after requestTimeout (30 s)
            polykafka: E('KafkaJSProtocolError', 'invalid value for required acks', { type: 'INVALID_REQUIRED_ACKS' }),
          }],
          ['compression: 9', c => c.p.send({ topic, compression: 9, messages: [{ value: 'x' }] }), {
            kafkajs: E('TypeError', "Cannot read properties of null (reading 'compress')"),
            polykafka: E('KafkaJSNonRetriableError', 'Unsupported compression codec 9'),
          }],
          ['sendBatch() without arguments', c => c.p.sendBatch(), {
            kafkajs: E('TypeError', "reading 'acks'"),
            polykafka: OK, // nothing to send
          }],
          ['sendBatch({topicMessages: {}})', c => c.p.sendBatch({ topicMessages: {} }), E('TypeError', 'topicMessages.some is not a function')],
          ['sendBatch({topicMessages: [null]})', c => c.p.sendBatch({ topicMessages: [null] }), E('TypeError', "Cannot destructure property 'topic'")],
          ['sendBatch({topicMessages: [{topic: 5}]})', c => c.p.sendBatch({ topicMessages: [{ topic: 5, messages: [{ value: 'x' }] }] }),
            E('KafkaJSNonRetriableError', 'on an invalid topic')],
          ['sendBatch({topicMessages: [{topic}]}) no messages', c => c.p.sendBatch({ topicMessages: [{ topic }] }),
            E('KafkaJSNonRetriableError', 'Invalid messages array')],
        ]
        await runTable(t, name, lib, rows, null, perRow)
        // Still alive and still sending.
        const [r] = await p.send({ topic, messages: [{ value: 'after-send-table' }] })
        assert.equal(r.errorCode, 0)
        delivered.push('after-send-table')
      } finally {
        await p.disconnect()
      }
    })

    await t.test('consumer subscribe, run, seek, commitOffsets, pause', async () => {
      const c = kafka.consumer({ groupId: uniqueTopic('bad-g') })
      await c.connect()
      try {
        const before = [
          ['subscribe() without arguments', c => c.c.subscribe(), {
            kafkajs: E('TypeError', 'Cannot destructure'),
            polykafka: E('KafkaJSNonRetriableError', 'Missing required argument "topics"'),
          }],
          ['subscribe({topics: "t"})', c => c.c.subscribe({ topics: topic }), E('KafkaJSNonRetriableError', 'must be an array')],
          ['subscribe({topics: [5]})', c => c.c.subscribe({ topics: [5] }), E('KafkaJSNonRetriableError', 'has to be a String or a RegExp')],
          ['subscribe({topics: [null]})', c => c.c.subscribe({ topics: [null] }), E('KafkaJSNonRetriableError', 'has to be a String or a RegExp')],
          ['subscribe({topics: [Buffer]})', c => c.c.subscribe({ topics: [Buffer.from(topic)] }), E('KafkaJSNonRetriableError', 'has to be a String or a RegExp')],
          ['subscribe({topic: {}})', c => c.c.subscribe({ topic: {} }), E('KafkaJSNonRetriableError', 'has to be a String or a RegExp')],
          ['subscribe({topics: ["a b"]}) invalid name', c => c.c.subscribe({ topics: ['a b'] }),
            E('KafkaJSProtocolError', '', { type: 'INVALID_TOPIC_EXCEPTION' })],
          ['seek() without arguments', c => c.c.seek(), {
            kafkajs: E('TypeError', 'Cannot destructure'),
            polykafka: E('KafkaJSNonRetriableError', 'Invalid topic undefined'),
          }],
          ['seek({topic: 5}) before run', c => c.c.seek({ topic: 5, partition: 0, offset: '0' }), E('KafkaJSNonRetriableError', 'Consumer group was not initialized')],
          ['seek({offset: {}})', c => c.c.seek({ topic, partition: 0, offset: {} }), E('KafkaJSNonRetriableError', 'Invalid offset')],
          ['commitOffsets() without arguments before run', c => c.c.commitOffsets(), E('KafkaJSNonRetriableError', 'Consumer group was not initialized')],
          ['commitOffsets({}) object, not array', c => c.c.commitOffsets({ topic, partition: 0, offset: '1' }), E('TypeError', 'is not a function')],
          ['commitOffsets([null])', c => c.c.commitOffsets([null]), E('TypeError', "Cannot destructure property 'topic'")],
          ['pause() without arguments before run', c => c.c.pause(), E('KafkaJSNonRetriableError', 'Consumer group was not initialized')],
          ['pause({topic}) object, not array', c => c.c.pause({ topic }), E('TypeError', 'topicPartitions is not iterable')],
          ['pause([{topic: 5}]) before run', c => c.c.pause([{ topic: 5 }]), E('KafkaJSNonRetriableError', 'Consumer group was not initialized')],
        ]
        await runTable(t, name, lib, before, { c })
      } finally {
        await c.disconnect()
      }
    })

    await t.test('admin methods', async () => {
      const admin = kafka.admin()
      await admin.connect()
      try {
        const rows = [
          ['createTopics() without arguments', c => c.a.createTopics(), {
            kafkajs: E('TypeError', 'Cannot destructure'),
            polykafka: E('KafkaJSNonRetriableError', 'Invalid topics array undefined'),
          }],
          ['createTopics({topics: "t"})', c => c.a.createTopics({ topics: 't' }), E('KafkaJSNonRetriableError', 'Invalid topics array')],
          ['createTopics({topics: [{topic: 5}]})', c => c.a.createTopics({ topics: [{ topic: 5 }] }), E('KafkaJSNonRetriableError', 'have to be a valid string')],
          ['createTopics({topics: [{topic: "a b"}]})', c => c.a.createTopics({ topics: [{ topic: 'a b' }] }),
            E('KafkaJSAggregateError', 'Topic creation errors')],
          // Before the fix polykafka threw napi's bare Error ("Failed to convert napi value String into rust type
          // `i32`"); now Node's TypeError. kafkajs encodes NaN and the broker refuses the topic.
          ['createTopics numPartitions "x"', c => c.a.createTopics({ topics: [{ topic: uniqueTopic('np'), numPartitions: 'x' }] }), {
            kafkajs: E('KafkaJSAggregateError', 'Topic creation errors'),
            polykafka: E('TypeError', 'NativeNewTopic.numPartitions'),
          }],
          ['createTopics configEntries {}', c => c.a.createTopics({ topics: [{ topic: uniqueTopic('ce'), configEntries: {} }] }),
            E('KafkaJSNonRetriableError', 'must be an array')],
          ['createTopics unknown config key', c => c.a.createTopics({ topics: [{ topic: uniqueTopic('ck'), configEntries: [{ name: 'no.such', value: '1' }] }] }),
            E('KafkaJSAggregateError', 'Topic creation errors')],
          ['deleteTopics({topics: [5]})', c => c.a.deleteTopics({ topics: [5] }), E('KafkaJSNonRetriableError', 'Invalid topics array')],
          ['deleteTopics({topics: "t"})', c => c.a.deleteTopics({ topics: 't' }), E('KafkaJSNonRetriableError', 'Invalid topics array')],
          ['createPartitions({topicPartitions: [{topic: 5}]})', c => c.a.createPartitions({ topicPartitions: [{ topic: 5, count: 3 }] }),
            E('KafkaJSNonRetriableError', 'have to be a valid string')],
          ['fetchTopicMetadata({topics: "t"})', c => c.a.fetchTopicMetadata({ topics: topic }), {
            kafkajs: E('TypeError', 'topics.forEach is not a function'),
            polykafka: E('KafkaJSNonRetriableError', 'Invalid topics array'),
          }],
          ['fetchTopicOffsets(5)', c => c.a.fetchTopicOffsets(5), E('KafkaJSNonRetriableError', 'Invalid topic 5')],
          ['fetchTopicOffsets()', c => c.a.fetchTopicOffsets(), E('KafkaJSNonRetriableError', 'Invalid topic undefined')],
          ['fetchOffsets({})', c => c.a.fetchOffsets({}), E('KafkaJSNonRetriableError', 'Invalid groupId undefined')],
          ['fetchOffsets({groupId, topics: "t"})', c => c.a.fetchOffsets({ groupId: 'g', topics: 't' }), E('KafkaJSNonRetriableError', 'Expected topics array')],
          ['setOffsets({groupId}) no topic', c => c.a.setOffsets({ groupId: 'g' }), E('KafkaJSNonRetriableError', 'Invalid topic undefined')],
          ['setOffsets partitions "x"', c => c.a.setOffsets({ groupId: 'g', topic, partitions: 'x' }), {
            kafkajs: E('KafkaJSNonRetriableError', 'Invalid partition, expected a number received undefined'),
            polykafka: E('KafkaJSNonRetriableError', 'Invalid partitions'),
          }],
          ['resetOffsets({}) no groupId', c => c.a.resetOffsets({}), E('KafkaJSNonRetriableError', 'Invalid groupId undefined')],
          ['describeConfigs({resources: "x"})', c => c.a.describeConfigs({ resources: 'x' }), E('KafkaJSNonRetriableError', 'Invalid resources array x')],
          ['deleteGroups("g") string, not array', c => c.a.deleteGroups('g'), E('KafkaJSNonRetriableError', 'Invalid groupIds array')],
          ['describeGroups(5)', c => c.a.describeGroups(5), E('TypeError', 'groupIds.map is not a function')],
          ['deleteTopicRecords({topic: 5})', c => c.a.deleteTopicRecords({ topic: 5, partitions: [] }), E('KafkaJSNonRetriableError', 'Invalid topic "5"')],
        ]
        await runTable(t, name, lib, rows, { a: admin })
        assert.ok((await admin.listTopics()).includes(topic))
      } finally {
        await admin.disconnect()
      }
    })

    await t.test('transactions', async () => {
      const plain = kafka.producer()
      await plain.connect()
      const txp = kafka.producer({ transactionalId: uniqueTopic('bad-tx'), idempotent: true, maxInFlightRequests: 1 })
      await txp.connect()
      try {
        const ended = await txp.transaction()
        await ended.send({ topic, messages: [{ value: 'tx-committed' }] })
        await ended.commit()
        delivered.push('tx-committed')
        const rows = [
          ['transaction() without transactionalId', () => plain.transaction(), E('KafkaJSNonRetriableError', 'Must provide transactional id')],
          ['send after commit', () => ended.send({ topic, messages: [{ value: 'x' }] }), E('KafkaJSNonRetriableError', 'Cannot continue to use transaction once ended')],
          ['commit twice', () => ended.commit(), E('KafkaJSNonRetriableError', 'Cannot continue to use transaction once ended')],
          ['idempotent send with acks 1', () => txp.send({ topic, acks: 1, messages: [{ value: 'x' }] }),
            E('KafkaJSNonRetriableError', "invalidates the idempotent producer's EoS guarantees")],
        ]
        await runTable(t, name, lib, rows)
        const tx = await txp.transaction()
        const inner = [
          ['second transaction() while one is open', () => txp.transaction(), E('KafkaJSNonRetriableError', 'There is already an ongoing transaction')],
          // Before the fix polykafka resolved: it committed nothing for group "undefined".
          ['sendOffsets() without arguments', () => tx.sendOffsets(), E('TypeError', "Cannot destructure property 'consumerGroupId'")],
          ['sendOffsets({topics: "t"})', () => tx.sendOffsets({ consumerGroupId: 'g', topics: 't' }), {
            // kafkajs asks the broker first: CONCURRENT_TRANSACTIONS while the last commit completes, else its TypeError.
            kafkajs: { error: 'one of', oneOf: [E('TypeError', 'topics.map is not a function'), E('KafkaJSProtocolError', 'concurrent operation')] },
            polykafka: E('TypeError', 'partitions is not iterable'),
          }],
          ['tx.send value 5', () => tx.send({ topic, messages: [{ value: 5 }] }), E('TypeError', 'must be of type string or an instance of Buffer')],
        ]
        await runTable(t, name, lib, inner)
        await tx.abort()
      } finally {
        await txp.disconnect()
        await plain.disconnect()
      }
    })

    await t.test('lifecycle: use after disconnect, disconnect twice, disconnect with sends in flight', async () => {
      const p = kafka.producer()
      await p.connect()
      // Sends in flight when disconnect() is called: each settles; those that resolved are on the topic.
      const values = Array.from({ length: 20 }, (_, i) => `inflight-${i}`)
      const sends = values.map(v => p.send({ topic, messages: [{ value: v }] }))
      const disconnected = p.disconnect()
      const settled = await Promise.allSettled(sends)
      await disconnected
      settled.forEach((s, i) => {
        if (s.status === 'fulfilled') delivered.push(values[i])
        else assert.ok(s.reason instanceof lib.KafkaJSError, `${s.reason && s.reason.name}: ${s.reason && s.reason.message}`)
      })
      if (PROBE) console.log(`PROBE ${name} | in-flight sends at disconnect | ${settled.filter(s => s.status === 'fulfilled').length} of 20 resolved`)
      const admin = kafka.admin()
      await admin.connect()
      await admin.disconnect()
      const c = kafka.consumer({ groupId: uniqueTopic('bad-g') })
      await c.connect()
      await c.disconnect()
      const rows = [
        ['producer.disconnect() twice', () => p.disconnect(), OK],
        ['producer.send after disconnect', () => p.send({ topic, messages: [{ value: 'x' }] }), E('KafkaJSError', 'The producer is disconnected')],
        ['producer.transaction after disconnect', () => p.transaction(), E('KafkaJSNonRetriableError', 'Must provide transactional id')],
        ['admin.disconnect() twice', () => admin.disconnect(), OK],
        ['admin.listTopics after disconnect', () => admin.listTopics(), {
          // kafkajs reconnects by itself, or fails on its closed socket ("write after end"), run to run.
          kafkajs: { error: 'one of', oneOf: [OK, E('KafkaJSConnectionError', 'write after end')] },
          polykafka: E('KafkaJSError', 'The admin client is not connected'),
        }],
        ['consumer.disconnect() twice', () => c.disconnect(), OK],
        ['consumer.run after disconnect', () => c.run({ eachMessage: async () => {} }), {
          kafkajs: OK, // resolves and consumes nothing (no subscription)
          polykafka: E('KafkaJSError', 'The consumer is not connected'),
        }],
        ['consumer.commitOffsets after disconnect', () => c.commitOffsets([{ topic, partition: 0, offset: '1' }]), {
          kafkajs: OK, // the run() of the row above made a group again; it commits through it
          polykafka: E('KafkaJSNonRetriableError', 'Consumer group was not initialized'),
        }],
      ]
      await runTable(t, name, lib, rows)
      // kafkajs's admin reconnected and its consumer runs again (the rows above): close them, else the
      // process would stay alive after the tests.
      await admin.disconnect()
      await c.disconnect()
    })

    await t.test('eachMessage that throws, then rejects: the message comes again, the process lives', async () => {
      const t2 = uniqueTopic(`bad-handler-${name}`)
      await createTopics([t2], 1)
      const p = kafka.producer()
      await p.connect()
      await p.send({ topic: t2, messages: [{ value: 'm0' }, { value: 'm1' }] })
      await p.disconnect()
      const c = kafka.consumer({ groupId: uniqueTopic('bad-g'), retry: { retries: 1, initialRetryTime: 100 } })
      await c.connect()
      await c.subscribe({ topics: [t2], fromBeginning: true })
      const seen = []
      let failures = 0
      await new Promise((resolve, reject) => {
        c.run({
          eachMessage: async ({ message }) => {
            const v = message.value.toString()
            seen.push(v)
            if (v === 'm0' && failures === 0) {
              failures++
              throw new Error('handler throws')
            }
            if (v === 'm1' && failures === 1) {
              failures++
              return Promise.reject(new Error('handler rejects'))
            }
            if (v === 'm1') resolve()
          },
        }).catch(reject)
      })
      await c.disconnect()
      assert.deepEqual(seen.filter(v => v === 'm0').length >= 2 && seen.filter(v => v === 'm1').length >= 2, true, seen.join(','))
    })

    await t.test('disconnect while eachMessage runs: disconnect waits for the handler, the process lives', async () => {
      const t3 = uniqueTopic(`bad-inrun-${name}`)
      await createTopics([t3], 1)
      const p = kafka.producer()
      await p.connect()
      await p.send({ topic: t3, messages: [{ value: 'r0' }, { value: 'r1' }] })
      await p.disconnect()
      const c = kafka.consumer({ groupId: uniqueTopic('bad-g') })
      await c.connect()
      await c.subscribe({ topics: [t3], fromBeginning: true })
      let open
      const gate = new Promise(r => (open = r))
      let finished = 0
      const entered = new Promise(resolve => {
        c.run({
          eachMessage: async () => {
            resolve()
            await gate
            finished++
          },
        })
      })
      await entered
      const disconnected = c.disconnect()
      open()
      await disconnected
      assert.ok(finished >= 1, 'the handler in progress ran to its end')
      // The same consumer object can connect again and the group still works.
      await c.connect()
      await c.disconnect()
    })

    await t.test('nothing silently lost: every resolved send is on the topic', async () => {
      const missing = await missingFrom(topic, delivered)
      assert.deepEqual(missing, [], `acknowledged but not on ${topic}`)
    })
  })
}

// A client whose connect() failed and that is never disconnected must not keep the process alive
// (kafkajs lets it exit). Each row runs a child process; the bound is the child's kill timeout.
test('a client whose connect() failed lets the process exit by itself', { timeout: 240000 }, async () => {
  const { spawn } = require('child_process')
  const path = require('path')
  const net = require('net')
  const { env } = require('./helpers')
  // A server that accepts and never answers: connect() fails by request timeout.
  const sockets = new Set()
  const silent = net.createServer(s => {
    sockets.add(s)
    s.on('error', () => {})
  })
  await new Promise(r => silent.listen(0, '127.0.0.1', r))
  // [what, broker, SASL password, libraries that do not run the row (what they do instead)]
  const targets = [
    ['refused', '127.0.0.1:1'],
    // kafkajs 2.2.4: connect() RESOLVES against a server that never answers (connectionTimeout 300,
    // requestTimeout 1000, producer, consumer and admin alike) and its socket keeps the process alive.
    ['silent broker', `127.0.0.1:${silent.address().port}`, undefined, ['kafkajs']],
    ['wrong SASL password', env.KAFKA_SASL_BOOTSTRAP, 'wrong-password'],
    // kafkajs 2.2.4: after a connection with the right password in the same process, connect() with the
    // wrong one RESOLVES and the connected client keeps the process alive (what kept secrets.test.js's
    // process alive before ac99e83 closed that producer; polykafka, debug and release modules, rejects
    // and exits in about 1 s).
    ['wrong SASL password after a right one', env.KAFKA_SASL_BOOTSTRAP, 'wrong-password', ['kafkajs'], true],
  ]
  const run = (libPath, kind, broker, password, goodFirst) =>
    new Promise(resolve => {
      const args = [path.join(__dirname, 'programs', 'connect_fails.js'), libPath, kind, broker]
      if (password) args.push(password)
      if (goodFirst) args.push('good-first')
      const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 30000, env: { ...process.env, ...env } })
      let out = ''
      child.stdout.on('data', d => (out += d))
      child.stderr.on('data', d => (out += d))
      child.on('exit', (code, signal) => resolve({ code, signal, out: out.trim() }))
    })
  try {
    for (const [name, libPath] of Object.entries({ kafkajs: require.resolve('kafkajs'), polykafka: path.resolve(__dirname, '..') })) {
      if (!LIBS.includes(name)) continue
      for (const kind of ['producer', 'consumer', 'admin']) {
        for (const [what, broker, password, not = [], goodFirst] of targets) {
          if (not.includes(name)) continue
          const r = await run(libPath, kind, broker, password, goodFirst)
          if (PROBE) console.log(`PROBE ${name} | ${kind} connect to ${what} | ${JSON.stringify(r)}`)
          else {
            assert.equal(r.signal, null, `${name} ${kind} (${what}) was killed: it did not exit by itself; ${r.out}`)
            assert.equal(r.code, 0, `${name} ${kind} (${what}): ${r.out}`)
            assert.match(r.out, /^rejected: KafkaJS/, `${name} ${kind} (${what})`)
          }
        }
      }
    }
  } finally {
    for (const s of sockets) s.destroy()
    await new Promise(r => silent.close(r))
  }
})

// kafkajs leaves one socket to the broker open after its tables (every client they made is disconnected
// at the end; which one keeps it is not found yet), and it would keep this process alive after the tests.
// When kafkajs ran, the process ends once the tests are done. polykafka alone (BADINPUT_LIBS=polykafka)
// ends by itself, and the child-process test above checks that for failed connects.
if (LIBS.includes('kafkajs')) test.after(() => setTimeout(() => process.exit(), 2000).unref())
