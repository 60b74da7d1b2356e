#!/usr/bin/env node
// The streams cases (K1, K2) of tests/bench/README.md with polykafka's Node streams (bindings-node, Kafka Streams'
// DSL in camelCase; user functions called per batch across N-API):
//   node adapter.mjs --workload K1|K2 --bootstrap H:P --topic T --records N --size B [--keys K]
// Reads T (filled by the harness: null keys, the record index in the first 8 bytes of each value), writes T-out;
// application id bench-T; commit.interval.ms 1000, the runtime's defaults otherwise. The window runs from the first
// record a user function sees to the return of close() (its last commit); startup_s (start to that first record)
// is printed beside it. One JSON line on stdout.
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const require = createRequire(import.meta.url)
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..')
const { StreamsBuilder, KafkaStreams, Serdes } = require(path.join(root, 'bindings-node'))

const a = { size: 100, keys: 10000 }
{
  const argv = process.argv.slice(2)
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i].replace(/^--?/, '')
    a[k] = ['records', 'size', 'keys', 'partitions'].includes(k) ? parseInt(argv[i + 1], 10) : argv[i + 1]
  }
}
const die = (msg) => { console.error(`error: ${msg}`); process.exit(1) }
if (!['K1', 'K2'].includes(a.workload)) die(`unknown workload ${a.workload}`)
const N = a.records
let k1Want = 0
for (let i = 0; i < N; i++) if (i % 4) k1Want++

// The window's start (the first record a user function sees) and its end condition (every output produced).
let first = null
let seen = 0
let total = 0
const last = new Map()
let done = false
const begin = () => { if (!first) first = { t: process.hrtime.bigint(), cpu: process.cpuUsage() } }
const index = (v) => v.readBigUInt64BE(0)

const b = new StreamsBuilder()
const src = b.stream(a.topic, { keySerde: Serdes.Bytes(), valueSerde: Serdes.Bytes() })
if (a.workload === 'K1') {
  src
    .filter((k, v) => { begin(); return index(v) % 4n !== 0n })
    .mapValues((v) => {
      if (++seen === k1Want) done = true
      return Buffer.concat([v.subarray(8), v.subarray(0, 8)])
    })
    .to(`${a.topic}-out`)
} else {
  const keys = BigInt(a.keys)
  src
    .groupBy((k, v) => { begin(); return `k${index(v) % keys}` }, { keySerde: Serdes.String(), name: 'by-key' })
    .count({ materialized: 'counts' })
    .toStream()
    .peek((k, c) => {
      total += c - (last.get(k) || 0)
      last.set(k, c)
      if (total === N) done = true
    })
    .to(`${a.topic}-out`, { keySerde: Serdes.String(), valueSerde: Serdes.Long() })
}

const streams = new KafkaStreams(b.build(), { 'application.id': `bench-${a.topic}`, 'bootstrap.servers': a.bootstrap, 'commit.interval.ms': 1000 })
let failure = null
streams.setUncaughtExceptionHandler((e) => { failure = e; return 'SHUTDOWN_CLIENT' })
const started = process.hrtime.bigint()
streams.start()
const deadline = Date.now() + 900000
while (!done) {
  if (failure) die(`the application failed: ${failure.stack || failure}`)
  if (Date.now() > deadline) die('not done after 900 s')
  await new Promise((r) => setTimeout(r, 5))
}
if (!(await streams.close({ timeout: 60000 }))) die('close() did not finish within 60 s')
const end = process.hrtime.bigint()
const cu = process.cpuUsage(first.cpu)
process.stdout.write(JSON.stringify({
  client: 'polykafka-node-streams', workload: a.workload, records: N, bytes: N * a.size,
  seconds: Number(end - first.t) / 1e9, cpu_s: (cu.user + cu.system) / 1e6, rss_kb: process.resourceUsage().maxRSS,
  checksum: null, latency_ms: null, startup_s: Number(first.t - started) / 1e9,
}) + '\n')
