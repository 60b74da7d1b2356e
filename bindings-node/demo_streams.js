#!/usr/bin/env node
'use strict'
// The demo's pipeline, Node's part: a Kafka Streams application (the streams DSL of polykafka)
// over what bindings-python/demo_pipeline.py wrote, Avro through the schema registry:
//   user events -> filter USER_CREATED -> groupBy country -> 1-minute windows -> count
//   orders -> re-keyed to "country@minute" -> leftJoin the counts -> PREFIX-enriched-orders (JSON)
// Once it has counted the N_EVENTS user events it prints the counts and creates READY_FILE (the
// demo then writes the orders); it closes on SIGTERM or SIGINT.
// Usage: demo_streams.js PREFIX N_EVENTS READY_FILE
const fs = require('fs')
const { StreamsBuilder, KafkaStreams, Serdes, TimeWindows } = require('.')
const { SchemaRegistry } = require('./schema-registry')

const brokers = process.env.KAFKA_BOOTSTRAP || '127.0.0.1:9092'
const host = process.env.SCHEMA_REGISTRY_URL || 'http://127.0.0.1:8081'
const [prefix, nEvents, readyFile] = process.argv.slice(2)
const MINUTE = 60_000

// A serde of the Confluent wire format (magic 0, schema id, Avro body) for the latest schema of
// `subject`, fetched once: the streams DSL calls serdes synchronously, and the registry's
// Schema encodes and decodes synchronously once loaded.
async function avroSerde(registry, subject) {
  const id = await registry.getLatestSchemaId(subject)
  const schema = await registry.getSchema(id)
  return {
    serialize(value) {
      const header = Buffer.alloc(5)
      header.writeInt32BE(id, 1)
      return Buffer.concat([header, schema.toBuffer(value)])
    },
    deserialize(data) {
      if (data === null) return null
      if (data.length < 5 || data[0] !== 0) throw new Error(`not the Confluent wire format (${data.length} bytes)`)
      if (data.readInt32BE(1) !== id) throw new Error(`schema id ${data.readInt32BE(1)}; this serde reads ${subject}'s ${id}`)
      return schema.fromBuffer(data.subarray(5))
    },
  }
}

const hhmm = ms => new Date(ms).toISOString().slice(11, 16)

async function main() {
  const registry = new SchemaRegistry({ host })
  const eventSerde = await avroSerde(registry, `${prefix}-user-events-value`)
  const orderSerde = await avroSerde(registry, `${prefix}-orders-value`)

  let seen = 0
  let created = 0
  let enriched = 0
  const b = new StreamsBuilder()
  const signups = b
    .stream(`${prefix}-user-events`, { keySerde: Serdes.String(), valueSerde: eventSerde })
    .peek(() => seen++)
    .filter((user, event) => event.eventType === 'USER_CREATED')
    .peek(() => created++)
  const perMinute = signups
    .groupBy((user, event) => event.country, { keySerde: Serdes.String() })
    .windowedBy(TimeWindows.ofSizeWithNoGrace(MINUTE))
    .count({ materialized: 'signups-per-minute' })
  // The latest count of each window as a table keyed "country@minute start", for the join.
  const counts = perMinute
    .toStream()
    .selectKey(w => `${w.key}@${w.start}`, { keySerde: Serdes.String() })
    .groupByKey()
    .reduce((older, newer) => newer, { materialized: 'signups-by-country-minute' })
  b.stream(`${prefix}-orders`, { keySerde: Serdes.String(), valueSerde: orderSerde })
    .selectKey((id, order) => `${order.country}@${Number(order.timestamp) - (Number(order.timestamp) % MINUTE)}`)
    .repartition({ name: 'orders-by-country-minute', valueSerde: Serdes.Json() })
    .leftJoin(counts, (order, count) => ({ ...order, timestamp: Number(order.timestamp), signupsThatMinute: count ?? 0 }))
    .selectKey((key, order) => order.orderId)
    .peek(() => enriched++)
    .to(`${prefix}-enriched-orders`)

  const app = `${prefix}-node-app`
  const streams = new KafkaStreams(b.build(), { 'application.id': app, 'bootstrap.servers': brokers, 'commit.interval.ms': 200 })
  let failed = null
  streams.setUncaughtExceptionHandler(e => {
    failed = e
  })
  streams.start()
  console.log(`node started streams application ${app}: user events -> filter -> count per country and minute -> left join with orders`)

  // Counted: every event seen, and the table of counts agreeing with the windowed store.
  const windowed = streams.store('signups-per-minute')
  const table = streams.store('signups-by-country-minute')
  const deadline = Date.now() + 90_000
  for (;;) {
    if (failed) throw failed
    const ws = windowed.all()
    const total = ws.reduce((n, [, c]) => n + c, 0)
    if (seen >= Number(nEvents) && total === created && ws.every(([w, c]) => table.get(`${w.key}@${w.start}`) === c)) {
      console.log(`node counted ${created} sign-ups among ${seen} user events:`)
      const sorted = ws.sort(([a], [c]) => a.start - c.start || a.key.localeCompare(c.key))
      for (const [w, c] of sorted) console.log(`  ${w.key} ${hhmm(w.start)}-${hhmm(w.end)}: ${c}`)
      break
    }
    if (Date.now() > deadline) throw new Error(`counted ${created} sign-ups of ${seen} events in 90 s (state ${streams.state()})`)
    await new Promise(r => setTimeout(r, 200))
  }
  fs.writeFileSync(readyFile, 'ready\n')

  await new Promise(resolve => {
    process.once('SIGTERM', resolve)
    process.once('SIGINT', resolve)
  })
  if (failed) throw failed
  const done = await streams.close({ timeout: 30000 })
  console.log(`node enriched ${enriched} orders; closed${done ? '' : ' (timed out)'}`)
}

main().catch(e => {
  console.error(e)
  process.exit(1)
})
