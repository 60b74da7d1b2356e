#!/usr/bin/env node
// S2/S2C behind the adapter contract of tests/bench/README.md, with the kafkajs API and
// @kafkajs/confluent-schema-registry's: one code path for both (--lib polykafka | kafkajs).
//   S2:  registry.encode(id, value) per record (the schema is registered before the window), then
//        producer.send() of 1,000 records, 8 calls in flight, as the node adapter's P1.
//   S2C: the topic is filled first (same encoder, outside the window); then a fresh group
//        subscribed from the beginning, eachBatch, registry.decode(message.value) per record.
// checksum: S2C the sum of the decoded `timestamp` fields; S2 the sum of CRC-32 of the encoded
// values (informational: schema ids differ between registries). Prints one JSON line.
import { createRequire } from 'node:module'
import path from 'node:path'
import zlib from 'node:zlib'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
// The peers (kafkajs, @kafkajs/confluent-schema-registry) are installed in ../node (setup.sh peers).
const require = createRequire(path.join(here, '..', 'node', 'package.json'))
const root = path.resolve(here, '../../..')
const CHUNK = 1000
const WINDOW = 8

const a = {}
{
  const argv = process.argv.slice(2)
  for (let i = 0; i < argv.length; i += 2) a[argv[i].replace(/^--?/, '')] = argv[i + 1]
}
const NAMES = { polykafka: 'polykafka-node-sr', kafkajs: 'kafkajs-sr' }
const die = (msg) => { console.error(msg); process.exit(1) }
if (!NAMES[a.lib]) die(`unknown --lib ${a.lib}`)
for (const k of ['workload', 'bootstrap', 'topic', 'records', 'registry']) if (!a[k]) die(`--${k} is required`)
const records = parseInt(a.records, 10)

const USER_EVENT = JSON.stringify({
  type: 'record', name: 'UserEvent', namespace: 'com.example.events',
  fields: [{ name: 'userId', type: 'string' }, { name: 'eventType', type: 'string' },
    { name: 'timestamp', type: 'long' }, { name: 'metadata', type: ['null', 'string'], default: null }],
})
const BASE_TS = 1764921600000
const KINDS = ['USER_CREATED', 'USER_UPDATED', 'USER_DELETED']
const value = (i) => ({ userId: `user-${i % 10000}`, eventType: KINDS[i % 3], timestamp: BASE_TS + i, metadata: i % 2 ? null : `m${i}` })

const ours = a.lib === 'polykafka'
const { Kafka, logLevel } = ours ? require(path.join(root, 'bindings-node')) : require('kafkajs')
const { SchemaRegistry, SchemaType } = ours
  ? require(path.join(root, 'bindings-node', 'schema-registry'))
  : require('@kafkajs/confluent-schema-registry')

let t0, c0
const start = () => { t0 = process.hrtime.bigint(); c0 = process.cpuUsage() }
function report(n, bytes, checksum) {
  const cu = process.cpuUsage(c0)
  const out = { client: NAMES[a.lib], workload: a.workload, records: n, bytes, seconds: Number(process.hrtime.bigint() - t0) / 1e9,
    cpu_s: (cu.user + cu.system) / 1e6, rss_kb: process.resourceUsage().maxRSS, checksum: (BigInt(checksum) % (1n << 64n)).toString(), latency_ms: null }
  process.stdout.write(JSON.stringify(out).replace(/"checksum":"(\d+)"/, '"checksum":$1') + '\n')
}

async function produceAll(kafka, registry, id) {
  const producer = kafka.producer({ idempotent: false })
  await producer.connect()
  let next = 0, nbytes = 0, crcSum = 0n
  const inflight = new Set()
  while (next < records) {
    const messages = []
    for (const end = Math.min(records, next + CHUNK); next < end; next++) {
      const encoded = await registry.encode(id, value(next))
      nbytes += encoded.length
      crcSum += BigInt(zlib.crc32(encoded))
      messages.push({ value: encoded, partition: 0 })
    }
    const p = producer.send({ topic: a.topic, acks: 1, messages }).then(() => inflight.delete(p))
    inflight.add(p)
    if (inflight.size >= WINDOW) await Promise.race(inflight)
  }
  await Promise.all(inflight)
  await producer.disconnect()
  return { nbytes, crcSum }
}

async function main() {
  const kafka = new Kafka({ clientId: `bench-${a.lib}-sr`, brokers: [a.bootstrap], logLevel: logLevel.ERROR })
  const registry = new SchemaRegistry({ host: a.registry })
  const { id } = await registry.register({ type: SchemaType.AVRO, schema: USER_EVENT }, { subject: `${a.topic}-value` })
  if (a.workload === 'S2') {
    start()
    const { nbytes, crcSum } = await produceAll(kafka, registry, id)
    report(records, nbytes, crcSum)
  } else if (a.workload === 'S2C') {
    await produceAll(kafka, registry, id)
    let n = 0, nbytes = 0, sum = 0n, done
    const finished = new Promise((res) => { done = res })
    const c = kafka.consumer({ groupId: `bench-s2c-${a.topic}-${process.pid}`, maxBytes: 10485760, maxWaitTimeInMs: 100 })
    await c.connect()
    await c.subscribe({ topic: a.topic, fromBeginning: true })
    await c.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        if (n === 0) start()
        for (const m of batch.messages) {
          const v = await registry.decode(m.value)
          n++
          nbytes += m.value.length
          sum += BigInt(v.timestamp)
        }
        if (n >= records) done()
      },
    })
    let timer
    await Promise.race([finished, new Promise((_, rej) => { timer = setTimeout(() => rej(new Error(`S2C: ${n} records after 300 s`)), 300000) })])
    clearTimeout(timer)
    report(n, nbytes, sum)
    await c.disconnect()
  } else die(`no workload ${a.workload}`)
}

main().then(() => process.exit(0), (e) => die(e && e.stack ? e.stack : String(e)))
