#!/usr/bin/env node
// Node clients behind the adapter contract of tests/bench/README.md:
//   node adapter.mjs --lib polykafka|kafkajs|platformatic|confluent --workload P1 --bootstrap H:P --topic T ...
// polykafka (bindings-node, the kafkajs API) and kafkajs run the same calls. Produce: send() calls of
// CHUNK records, WINDOW of them in flight (kafkajs-style clients have no linger: a send is a request);
// T1: one send of 1,000 records per transaction. Consume: a fresh group subscribed from the beginning
// (these APIs have no assign), eachBatch; the window opens at the first record (the group join stays
// outside). P4: the records keyed k<i % 10000>, each library's default partitioner for keyed records
// (murmur2, as Java's) except confluent's (librdkafka: told murmur2_random). M1: a producer that sent one
// record to each of --topics topics, or a consumer subscribed to all of them in a fresh group, idle for
// --idle s between the lines 'M1 idle start' and 'M1 idle end' (the harness samples /proc then).
// Prints one JSON line.
import { createRequire } from 'node:module'
import path from 'node:path'
import zlib from 'node:zlib'
import { fileURLToPath } from 'node:url'

const require = createRequire(import.meta.url)
const here = path.dirname(fileURLToPath(import.meta.url))
const root = path.resolve(here, '../../..')
const CHUNK = 1000
const WINDOW = 8

const a = { compression: 'none', records: 1000000, size: 100, partitions: 1, txnSize: 1000, rate: 1000, duration: 30, topics: 1, idle: 30, role: 'producer' }
{
  const argv = process.argv.slice(2)
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i].replace(/^--?/, '').replace(/-([a-z])/g, (_, c) => c.toUpperCase())
    const v = argv[i + 1]
    a[k] = ['records', 'size', 'partitions', 'txnSize', 'topics'].includes(k) ? parseInt(v, 10) : ['rate', 'duration', 'idle'].includes(k) ? parseFloat(v) : v
  }
}
const NAMES = { polykafka: 'polykafka-node', kafkajs: 'kafkajs', platformatic: '@platformatic/kafka', confluent: '@confluentinc/kafka-javascript' }
const die = (msg) => { console.error(msg); process.exit(1) }
if (!NAMES[a.lib]) die(`unknown --lib ${a.lib}`)

const payload = (size) => { const b = Buffer.alloc(size); for (let i = 0; i < size; i++) b[i] = 97 + ((i * 31 + 7) % 26); return b }
const crc = (v) => zlib.crc32(v)
const M64 = (1n << 64n)
const settings = {
  acksAll: ['P2', 'T1', 'P4', 'M1'].includes(a.workload),
  idempotent: ['P2', 'T1', 'P4', 'M1'].includes(a.workload),
  compression: a.workload === 'S1' ? a.compression : 'none',
  linger: a.workload === 'L1' ? 0 : 5,
}

let t0, c0
const start = () => { t0 = process.hrtime.bigint(); c0 = process.cpuUsage() }
function report(records, bytes, checksum, extra = {}) {
  const secs = Number(process.hrtime.bigint() - t0) / 1e9
  const cu = process.cpuUsage(c0)
  const out = { client: NAMES[a.lib], workload: a.workload, records, bytes, seconds: secs,
    cpu_s: (cu.user + cu.system) / 1e6, rss_kb: process.resourceUsage().maxRSS,
    checksum: (BigInt(checksum) % M64).toString(), latency_ms: null, ...extra }
  // checksum as a JSON number (it may pass 2^53): written by hand
  const line = JSON.stringify(out).replace(/"checksum":"(\d+)"/, '"checksum":$1')
  process.stdout.write(line + '\n')
}
// P4: the key of record i is KEYS[i % 10000]; M1: the topic names.
const KEYS = a.workload === 'P4' ? Array.from({ length: 10000 }, (_, j) => Buffer.from(`k${j}`)) : null
const M1_TOPICS = Array.from({ length: a.topics }, (_, j) => `${a.topic}-${j}`)
const sleep = (ms) => new Promise((res) => setTimeout(res, ms))

// M1 over any client: send(topic, key, value) -> promise (producer role) or subscribe(onValues) -> the
// consumer (consumer role); stop(producer or consumer). Idle between the two lines, as an app that waits.
async function m1(makeProducer, send, subscribe, stop) {
  const v = payload(a.size)
  let n = 0, sum = 0n, client
  if (a.role === 'producer') {
    client = await makeProducer()
    await Promise.all(M1_TOPICS.map((t) => send(client, t, Buffer.from('k0'), v)))
    n = M1_TOPICS.length
    sum = BigInt(n) * BigInt(crc(v))
  } else {
    let readyRes
    const ready = new Promise((res) => { readyRes = res })
    if (a.records === 0) readyRes()
    client = await subscribe((values) => {
      for (const x of values) { n++; sum += BigInt(crc(x)) }
      if (n >= a.records) readyRes()
    })
    await Promise.race([ready, new Promise((_, rej) => setTimeout(() => rej(new Error(`M1: ${n} records of ${a.records} after 300 s`)), 300000))])
  }
  process.stdout.write('M1 idle start\n')
  await sleep(a.idle * 1000)
  process.stdout.write('M1 idle end\n')
  await sleep(500)
  start()
  report(n, n * a.size, sum)
  await stop(client)
}

function pct(lat) {
  lat.sort((x, y) => x - y)
  const at = (q) => lat.length ? lat[Math.min(lat.length, Math.max(1, Math.ceil(lat.length * q))) - 1] : 0
  return { p50: at(0.5), p99: at(0.99), p999: at(0.999) }
}

// Sends `total` records with `sendChunk(k)` (a promise per call of k records), `window` calls at a time.
async function pipeline(total, chunk, window, sendChunk) {
  let sent = 0
  const inflight = new Set()
  while (sent < total) {
    const k = Math.min(chunk, total - sent)
    sent += k
    const p = sendChunk(k).then(() => inflight.delete(p))
    inflight.add(p)
    if (inflight.size >= window) await Promise.race(inflight)
  }
  await Promise.all(inflight)
}

// ------------------------------------------------------------------------ kafkajs API (polykafka, kafkajs)
async function kafkajsApi(lib) {
  const { Kafka, CompressionTypes, logLevel } = lib === 'polykafka' ? require(path.join(root, 'bindings-node')) : require('kafkajs')
  const kafka = new Kafka({ clientId: `bench-${a.lib}`, brokers: [a.bootstrap], logLevel: logLevel.ERROR,
    logCreator: () => ({ namespace, log }) => console.error(namespace, JSON.stringify(log)) })
  const acks = settings.acksAll ? -1 : 1
  const compression = { none: CompressionTypes.None, snappy: CompressionTypes.Snappy, zstd: CompressionTypes.ZSTD }[settings.compression]
  const v = payload(a.size)
  const vcrc = BigInt(crc(v))
  const consumerOf = async (onBatch) => {
    const c = kafka.consumer({ groupId: `bench-${a.topic}-${process.pid}`, readUncommitted: false, maxBytes: 10485760, maxWaitTimeInMs: 100 })
    await c.connect()
    await c.subscribe({ topic: a.topic, fromBeginning: true })
    await c.run({ autoCommit: false, eachBatch: async ({ batch }) => onBatch(batch.messages) })
    return c
  }
  if (a.workload === 'M1') {
    return m1(async () => { const p = kafka.producer({ idempotent: true, ...(lib === 'kafkajs' ? { maxInFlightRequests: 1 } : {}) }); await p.connect(); return p },
      (p, topic, key, value) => p.send({ topic, acks: -1, messages: [{ key, value }] }),
      async (onValues) => {
        const c = kafka.consumer({ groupId: `bench-${a.topic}-${process.pid}`, readUncommitted: false, maxBytes: 10485760 })
        await c.connect()
        await c.subscribe({ topics: M1_TOPICS, fromBeginning: true })
        await c.run({ autoCommit: false, eachBatch: async ({ batch }) => onValues(batch.messages.map((m) => m.value)) })
        return c
      },
      (c) => c.disconnect())
  }
  if (['P1', 'P2', 'P3', 'P4', 'S1', 'T1'].includes(a.workload)) {
    const t1 = a.workload === 'T1'
    const producer = kafka.producer(t1
      ? { transactionalId: `bench-${a.topic}`, idempotent: true, maxInFlightRequests: 1 }
      : { idempotent: settings.idempotent, ...(settings.idempotent && lib === 'kafkajs' ? { maxInFlightRequests: 1 } : {}) })
    await producer.connect()
    let next = 0
    const msgs = (k) => { const m = new Array(k); for (let i = 0; i < k; i++) m[i] = KEYS ? { key: KEYS[next++ % 10000], value: v } : { value: v }; return m }
    let ok = 0
    start()
    if (t1) {
      for (let sent = 0; sent < a.records;) {
        const k = Math.min(a.txnSize, a.records - sent)
        const txn = await producer.transaction()
        for (let j = 0; j < k; j += CHUNK) await txn.send({ topic: a.topic, acks: -1, messages: msgs(Math.min(CHUNK, k - j)) })
        await txn.commit()
        ok += k
        sent += k
      }
    } else {
      await pipeline(a.records, Math.max(1, Math.min(CHUNK, Math.floor(1048576 / (a.size + 8)))), WINDOW, async (k) => {
        await producer.send({ topic: a.topic, acks, compression, messages: msgs(k) })
        ok += k
      })
    }
    report(ok, ok * a.size, BigInt(ok) * vcrc, { chunk: CHUNK, window: t1 ? 1 : WINDOW })
    await producer.disconnect()
  } else if (a.workload === 'C1') {
    let n = 0, nbytes = 0, sum = 0n
    let done
    const finished = new Promise((res) => { done = res })
    const c = await consumerOf(async (messages) => {
      if (n === 0) start()
      for (const m of messages) { n++; nbytes += m.value.length; sum += BigInt(crc(m.value)) }
      if (n >= a.records) done()
    })
    const timer = setInterval(() => {}, 1000)
    await Promise.race([finished, new Promise((_, rej) => setTimeout(() => rej(new Error(`C1: ${n} records after 600 s`)), 600000))])
    clearInterval(timer)
    report(n, nbytes, sum)
    await c.disconnect()
  } else if (a.workload === 'L1') {
    const producer = kafka.producer({ idempotent: false })
    await producer.connect()
    await l1(
      (onValues) => consumerOf(async (messages) => onValues(messages.map((m) => m.value))),
      (v) => producer.send({ topic: a.topic, acks: 1, messages: [{ value: v }] }),
      async (c) => { await producer.disconnect(); await c.disconnect() })
  } else die(`no workload ${a.workload}`)
}

// L1 over any client: makeConsumer(onValues) -> consumer; send(v) -> promise; stop(consumer).
async function l1(makeConsumer, send, stop) {
  const total = Math.round(a.rate * a.duration)
  const periodNs = 1e9 / a.rate
  let warm, startNs = null
  const warmed = new Promise((res) => { warm = res })
  const lat = []
  const earlyNs = new Float64Array(total) // how early record i left (ns), when it did
  let nbytes = 0, sum = 0n, doneRes
  const done = new Promise((res) => { doneRes = res })
  const c = await makeConsumer((values) => {
    const now = process.hrtime.bigint()
    for (const v of values) {
      if (v.length < 8) { warm(); continue }
      if (startNs === null) continue
      const i = Number(v.readBigUInt64BE(0))
      lat.push((Number(now - startNs - BigInt(Math.round(i * periodNs))) + earlyNs[i]) / 1e6)
      nbytes += v.length
      sum += BigInt(crc(v))
    }
    if (lat.length >= total) doneRes()
  })
  await send(Buffer.from('w'))
  await Promise.race([warmed, new Promise((_, rej) => setTimeout(() => rej(new Error('L1: warm-up record not seen in 60 s')), 60000))])
  start()
  startNs = process.hrtime.bigint()
  const base = payload(Math.max(a.size, 8))
  const errors = []
  for (let i = 0; i < total; i++) {
    const due = startNs + BigInt(Math.round(i * periodNs))
    // libuv timers run on a millisecond clock cached per loop turn, so they may fire up to ~1 ms
    // early. Spinning until the due time would starve the consumer on this one thread; instead a
    // record sent early is measured from its actual send time (what it would have taken if sent on time).
    const wait = Number(due - process.hrtime.bigint()) / 1e6
    if (wait > 1) await new Promise((res) => setTimeout(res, wait))
    else if (wait > 0) await new Promise((res) => setImmediate(res))
    const early = Number(due - process.hrtime.bigint())
    if (early > 0) earlyNs[i] = early
    const v = Buffer.from(base)
    v.writeBigUInt64BE(BigInt(i), 0)
    send(v).catch((e) => errors.push(e))
  }
  let idleTimer
  await Promise.race([done, new Promise((res) => { idleTimer = setTimeout(res, 10000 + a.duration * 1000) })])
  clearTimeout(idleTimer)
  if (errors.length) die(`L1: ${errors.length} sends failed: ${errors[0]}`)
  report(lat.length, nbytes, sum, { latency_ms: pct(lat), rate: a.rate })
  await stop(c)
}

// ------------------------------------------------------------------------------- @platformatic/kafka
async function platformatic() {
  const { Producer, Consumer, MessagesStreamModes } = await import('@platformatic/kafka')
  const base = { clientId: `bench-platformatic-${process.pid}`, bootstrapBrokers: [a.bootstrap] }
  const acks = settings.acksAll ? -1 : 1
  const compression = settings.compression === 'none' ? undefined : settings.compression
  const v = payload(a.size)
  const vcrc = BigInt(crc(v))
  const consumerOf = async (onMessage) => {
    const c = new Consumer({ ...base, groupId: `bench-${a.topic}-${process.pid}`, isolationLevel: 1, maxWaitTime: 100, maxBytes: 10485760 })
    const stream = await c.consume({ topics: [a.topic], mode: MessagesStreamModes.EARLIEST, autocommit: false })
    stream.on('data', onMessage)
    stream.on('error', (e) => die(`consume: ${e}`))
    return { c, stream }
  }
  if (a.workload === 'M1') {
    return m1(async () => new Producer({ ...base, acks, idempotent: true }),
      (p, topic, key, value) => p.send({ messages: [{ topic, key, value }] }),
      async (onValues) => {
        const c = new Consumer({ ...base, groupId: `bench-${a.topic}-${process.pid}`, isolationLevel: 1, maxBytes: 10485760 })
        const stream = await c.consume({ topics: M1_TOPICS, mode: MessagesStreamModes.EARLIEST, autocommit: false })
        stream.on('data', (m) => onValues([m.value]))
        stream.on('error', (e) => die(`consume: ${e}`))
        return { c, stream }
      },
      async (x) => { if (x.stream) { await x.stream.close(); await x.c.close(true) } else await x.close() })
  }
  if (['P1', 'P2', 'P3', 'P4', 'S1', 'T1'].includes(a.workload)) {
    const t1 = a.workload === 'T1'
    const producer = new Producer({ ...base, acks, idempotent: settings.idempotent, compression,
      ...(t1 ? { transactionalId: `bench-${a.topic}` } : {}) })
    await producer.metadata({ topics: [a.topic] })
    let next = 0
    const msgs = (k) => {
      const m = new Array(k)
      for (let i = 0; i < k; i++) m[i] = KEYS ? { topic: a.topic, key: KEYS[next++ % 10000], value: v } : { topic: a.topic, value: v, partition: 0 }
      return m
    }
    let ok = 0
    start()
    if (t1) {
      for (let sent = 0; sent < a.records;) {
        const k = Math.min(a.txnSize, a.records - sent)
        const txn = await producer.beginTransaction()
        for (let j = 0; j < k; j += CHUNK) await txn.send({ messages: msgs(Math.min(CHUNK, k - j)) })
        await txn.commit()
        ok += k
        sent += k
      }
    } else {
      await pipeline(a.records, Math.max(1, Math.min(CHUNK, Math.floor(1048576 / (a.size + 8)))), settings.idempotent ? 1 : WINDOW, async (k) => {
        await producer.send({ messages: msgs(k) })
        ok += k
      })
    }
    report(ok, ok * a.size, BigInt(ok) * vcrc, { chunk: CHUNK, window: t1 || settings.idempotent ? 1 : WINDOW })
    await producer.close()
  } else if (a.workload === 'C1') {
    let n = 0, nbytes = 0, sum = 0n, doneRes
    const done = new Promise((res) => { doneRes = res })
    const { c, stream } = await consumerOf((m) => {
      if (n === 0) start()
      n++; nbytes += m.value.length; sum += BigInt(crc(m.value))
      if (n >= a.records) doneRes()
    })
    await Promise.race([done, new Promise((_, rej) => setTimeout(() => rej(new Error(`C1: ${n} records after 600 s`)), 600000))])
    report(n, nbytes, sum)
    await stream.close()
    await c.close(true)
  } else if (a.workload === 'L1') {
    const producer = new Producer({ ...base, acks: 1 })
    await l1(
      (onValues) => consumerOf((m) => onValues([m.value])),
      (val) => producer.send({ messages: [{ topic: a.topic, value: val, partition: 0 }] }),
      async ({ c, stream }) => { await producer.close(); await stream.close(); await c.close(true) })
  } else die(`no workload ${a.workload}`)
}

// --------------------------------------------------------------------- @confluentinc/kafka-javascript
async function confluent() {
  // Its KafkaJS-compatible API; installed under ./confluent (its own package.json).
  const { Kafka, CompressionTypes } = require(path.join(here, 'confluent', 'node_modules', '@confluentinc', 'kafka-javascript')).KafkaJS
  const kafka = new Kafka({ kafkaJS: { brokers: [a.bootstrap], clientId: `bench-confluent-${process.pid}` } })
  const v = payload(a.size)
  const vcrc = BigInt(crc(v))
  if (['P1', 'P2', 'P3', 'P4', 'S1', 'T1'].includes(a.workload)) {
    const t1 = a.workload === 'T1'
    const producer = kafka.producer({ ...(KEYS ? { partitioner: 'murmur2_random' } : {}), kafkaJS: { acks: settings.acksAll ? -1 : 1, idempotent: settings.idempotent,
      compression: { none: CompressionTypes.None, snappy: CompressionTypes.Snappy, zstd: CompressionTypes.ZSTD }[settings.compression],
      ...(t1 ? { transactionalId: `bench-${a.topic}` } : {}) },
    'linger.ms': settings.linger, 'batch.size': 1048576, 'queue.buffering.max.messages': 1000000 })
    await producer.connect()
    let next = 0
    const msgs = (k) => { const m = new Array(k); for (let i = 0; i < k; i++) m[i] = KEYS ? { key: KEYS[next++ % 10000], value: v } : { value: v }; return m }
    let ok = 0
    start()
    if (t1) {
      for (let sent = 0; sent < a.records;) {
        const k = Math.min(a.txnSize, a.records - sent)
        const txn = await producer.transaction()
        await txn.send({ topic: a.topic, messages: msgs(k) })
        await txn.commit()
        ok += k
        sent += k
      }
    } else {
      await pipeline(a.records, CHUNK, WINDOW, async (k) => { await producer.send({ topic: a.topic, messages: msgs(k) }); ok += k })
    }
    report(ok, ok * a.size, BigInt(ok) * vcrc, { chunk: CHUNK, window: t1 ? 1 : WINDOW })
    await producer.disconnect()
  } else if (a.workload === 'C1') {
    const c = kafka.consumer({ kafkaJS: { groupId: `bench-${a.topic}-${process.pid}`, fromBeginning: true, autoCommit: false } })
    await c.connect()
    await c.subscribe({ topics: [a.topic] })
    let n = 0, nbytes = 0, sum = 0n, doneRes
    const done = new Promise((res) => { doneRes = res })
    await c.run({ eachBatch: async ({ batch }) => {
      if (n === 0) start()
      for (const m of batch.messages) { n++; nbytes += m.value.length; sum += BigInt(crc(m.value)) }
      if (n >= a.records) doneRes()
    } })
    await done
    report(n, nbytes, sum)
    await c.disconnect()
  } else die(`no workload ${a.workload}`)
}

const main = { polykafka: () => kafkajsApi('polykafka'), kafkajs: () => kafkajsApi('kafkajs'), platformatic, confluent }[a.lib]
main().then(() => process.exit(0), (e) => die(`${a.lib} ${a.workload}: ${e && e.stack ? e.stack : e}`))
