'use strict'
// The seed's streams application in Node (its Java example, tests/streams-java/SeedTopology.java)
// and its generated input with the expected results, shared by streams.test.js and
// streams_conformance.test.js; also sending records in order, reading a topic back with kafkajs,
// and the uncaught exception handler's failures.
const path = require('path')
const crypto = require('crypto')
const { execFileSync } = require('child_process')
const { brokers, kafkajs, waitFor } = require('./helpers')
const assert = require('node:assert/strict')
const { StreamsBuilder, TimeWindows, Serdes, StreamsException } = require('..')

const quiet = { logLevel: kafkajs.logLevel.NOTHING }

/** The input and the expected results of bindings-python/tests/streams_seed.py (its generator
 * and its independent record-by-record computation), run with POLYKAFKA_PYTHON or python3 (the
 * standard library is enough: programs/streams_seed_json.py stubs the DSL's imports). */
function seedData(nEvents, nUsers, minutes, nOrders, partitions) {
  const script = path.join(__dirname, 'programs', 'streams_seed_json.py')
  const python = process.env.POLYKAFKA_PYTHON || 'python3'
  const out = execFileSync(python, [script, ...[nEvents, nUsers, minutes, nOrders, partitions].map(String)], { maxBuffer: 1 << 28 })
  return JSON.parse(out)
}

/** A streams configuration committing often, for tests. */
const config = (app, extra = {}) => ({
  'application.id': app,
  'bootstrap.servers': brokers.join(','),
  'commit.interval.ms': 200,
  'consumer.fetch.max.wait.ms': 100,
  ...extra,
})

/** The seed's topology on the topics `t` (events, orders, notifications, countryCounts,
 * windowedCounts, enriched); `d` gives the window's size and grace. */
function seedTopology(t, d) {
  const builder = new StreamsBuilder()
  const events = builder.stream(t.events, { keySerde: Serdes.String(), valueSerde: Serdes.Json() })
  events
    .filter((k, e) => e.eventType === 'USER_CREATED')
    .mapValues(e => ({ userId: e.userId }))
    .to(t.notifications, { valueSerde: Serdes.Json() })
  const userCounts = events.groupBy((k, e) => e.country).count({ materialized: 'user-counts-by-country' })
  userCounts.toStream().to(t.countryCounts, { valueSerde: Serdes.Long() })
  events
    .groupByKey()
    .windowedBy(TimeWindows.ofSizeAndGrace(d.windowMs, d.graceMs))
    .count({ materialized: 'windowed-counts' })
    .toStream()
    .to(t.windowedCounts)
  const orders = builder.stream(t.orders, { keySerde: Serdes.String(), valueSerde: Serdes.Json() })
  orders.leftJoin(userCounts, (order, count) => ({ ...order, userCount: count })).to(t.enriched, { valueSerde: Serdes.Json() })
  return builder.build()
}

/** Sends [key, value (a string, a Buffer, else JSON), timestamp|null] in order with kafkajs (its default partitioner is
 * Java's murmur2, as the expected results assume). */
async function send(topic, records) {
  const kafka = new kafkajs.Kafka({ clientId: 'feeder', brokers, ...quiet })
  const p = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: kafkajs.Partitioners.DefaultPartitioner })
  await p.connect()
  try {
    await p.send({
      topic,
      messages: records.map(([key, value, ts]) => ({
        key,
        value: value === null || Buffer.isBuffer(value) || typeof value === 'string' ? value : JSON.stringify(value),
        ...(ts === null || ts === undefined ? {} : { timestamp: String(ts) }),
      })),
    })
  } finally {
    await p.disconnect()
  }
}

/** Every record of `topic` until none came for `idleMs` (longer before the first). */
async function readAll(topic, idleMs = 3000, firstMs = 15000) {
  const kafka = new kafkajs.Kafka({ clientId: 'reader', brokers, ...quiet })
  const consumer = kafka.consumer({ groupId: `reader-${crypto.randomBytes(6).toString('hex')}` })
  await consumer.connect()
  await consumer.subscribe({ topics: [topic], fromBeginning: true })
  const got = []
  let last = Date.now()
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      got.push({ partition, ...message })
      last = Date.now()
    },
  })
  const start = Date.now()
  await waitFor(() => Date.now() - last > (got.length ? idleMs : Math.max(idleMs, firstMs - (last - start))), 120000, 'idle')
  await consumer.disconnect()
  return got
}

/** A consumer of its own group reading `topics` from the beginning as long as it runs: `onMessage(topic, message)`
 * for each record. Resolves once it runs; `disconnect()` stops it. */
async function tail(topics, onMessage) {
  const kafka = new kafkajs.Kafka({ clientId: 'tail', brokers, ...quiet })
  const consumer = kafka.consumer({ groupId: `tail-${crypto.randomBytes(6).toString('hex')}`, maxWaitTimeInMs: 200 })
  await consumer.connect()
  await consumer.subscribe({ topics, fromBeginning: true })
  await consumer.run({ eachMessage: async ({ topic, message }) => onMessage(topic, message) })
  return consumer
}

/** The errors the instance's uncaught exception handler receives (answering SHUTDOWN_CLIENT). */
function collectFailures(streams) {
  const failures = []
  streams.setUncaughtExceptionHandler(e => {
    failures.push(e)
    return 'SHUTDOWN_CLIENT'
  })
  return failures
}

/** `e` is a user function's failure at (topic, partition 0, offset) whose message matches
 * `pattern`, its cause an instance of `causeClass`. */
function assertUserFailure(e, topic, offset, pattern, causeClass) {
  assert.ok(e instanceof StreamsException, `${e}`)
  assert.equal(e.kind, 'user')
  assert.equal(e.topic, topic)
  assert.equal(e.partition, 0)
  assert.equal(e.offset, offset)
  assert.match(e.message, pattern)
  assert.ok(e.cause instanceof causeClass, `cause: ${e.cause}`)
}

module.exports = { seedData, config, seedTopology, send, readAll, tail, collectFailures, assertUserFailure }
