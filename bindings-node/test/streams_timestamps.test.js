'use strict'
// Timestamp extractors in Node streams (issue #17) against the real broker: event time taken from
// the value drives windowed counts and lateness, a negative time drops the record, the extractor
// sees the partition time; a throwing extractor reaches the uncaught exception handler naming the
// record; the built-in WallclockTimestampExtractor; bad options.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const { uniqueTopic, createTopics, committed, waitFor } = require('./helpers')
const { send, config, assertUserFailure } = require('./streams_seed')
const polykafka = require('..')
const { StreamsBuilder, KafkaStreams, Serdes, State, TimeWindows, WallclockTimestampExtractor, FailOnInvalidTimestamp } = polykafka

const WINDOW = 10000

// stream(src, options) -> windowedBy(tumbling 10 s, no grace) -> count('counts').
function counting(src, options) {
  const b = new StreamsBuilder()
  b.stream(src, { keySerde: Serdes.String(), ...options })
    .groupByKey()
    .windowedBy(TimeWindows.ofSizeWithNoGrace(WINDOW))
    .count({ materialized: 'counts' })
  return b.build()
}

test('event time from the value drives windowed counts; a negative time drops the record', { timeout: 60000 }, async () => {
  const src = uniqueTopic('ts-src')
  await createTopics([src], 1)
  // Every record is written at 1,000,000 ms; the event time is in the value. 4000 comes after
  // stream time 15000 passed its window's end (10000, no grace): late. -7 is dropped.
  await send(src, [3000, 12000, -7, 15000, 4000].map(at => ['k', { at }, 1000000]))
  const seen = []
  const extractor = (record, partitionTime) => {
    seen.push([record.value.at, partitionTime, record.timestamp, record.key])
    return record.value.at
  }
  const streams = new KafkaStreams(counting(src, { valueSerde: Serdes.Json(), timestampExtractor: extractor }), config(uniqueTopic('ts-app')))
  const failures = []
  streams.setUncaughtExceptionHandler(e => failures.push(e))
  streams.start()
  try {
    const counts = () => streams.store('counts').fetch('k', 0, Number.MAX_SAFE_INTEGER)
    await waitFor(() => failures.length > 0 || streams.metrics().processed === 4, 30000, 'four records processed')
    assert.deepEqual(failures, [])
    await waitFor(() => JSON.stringify(counts()) === JSON.stringify([[0, 1], [10000, 2]]), 10000, `counts by event time (${JSON.stringify(counts())})`)
    const m = streams.metrics()
    assert.equal(m.timestampDropped, 1)
    assert.equal(m.lateDropped, 1)
    assert.deepEqual(seen, [
      [3000, -1, 1000000, 'k'],
      [12000, 3000, 1000000, 'k'],
      [-7, 12000, 1000000, 'k'],
      [15000, 12000, 1000000, 'k'],
      [4000, 15000, 1000000, 'k'],
    ], '(event time, partition time given, record timestamp, key)')
  } finally {
    assert.equal(await streams.close({ timeout: 30000 }), true)
  }
})

test('a throwing extractor reaches the uncaught exception handler naming topic, partition and offset', { timeout: 60000 }, async () => {
  const src = uniqueTopic('ts-bad')
  await createTopics([src], 1)
  await send(src, ['1000', '2000', 'boom', '3000'].map(v => ['k', v, 1]))
  const app = uniqueTopic('ts-bad-app')
  // An object with extract(), as Kafka Streams' interface.
  const extractor = {
    extract(record) {
      const t = Number(record.value)
      if (!Number.isInteger(t)) throw new SyntaxError(`no event time in '${record.value}'`)
      return t
    },
  }
  const streams = new KafkaStreams(counting(src, { valueSerde: Serdes.String(), timestampExtractor: extractor }), config(app))
  const failures = []
  streams.setUncaughtExceptionHandler(e => failures.push(e))
  streams.start()
  try {
    await waitFor(() => failures.length > 0, 30000, 'the handler')
    assertUserFailure(failures[0], src, 2, /no event time in 'boom'/, SyntaxError)
    await waitFor(() => streams.state() === State.ERROR, 30000, 'state ERROR')
  } finally {
    await streams.close({ timeout: 30000 })
  }
  const offsets = await committed(polykafka, app, src)
  assert.ok(Number(offsets[0]) <= 2, `committed ${offsets[0]}, past the failed record at 2`)
})

test('WallclockTimestampExtractor counts records at the time they are read; bad extractors are refused', { timeout: 60000 }, async () => {
  const src = uniqueTopic('ts-wall')
  await createTopics([src], 1)
  await send(src, ['a', 'b', 'c'].map(v => ['k', v, 1000]))
  const before = Date.now()
  const streams = new KafkaStreams(counting(src, { valueSerde: Serdes.String(), timestampExtractor: new WallclockTimestampExtractor() }), config(uniqueTopic('ts-wall-app')))
  streams.start()
  try {
    await waitFor(() => streams.metrics().processed === 3, 30000, 'three records processed')
    const got = streams.store('counts').fetch('k', 0, Number.MAX_SAFE_INTEGER)
    assert.equal(got.reduce((n, [, c]) => n + c, 0), 3)
    assert.ok(got.every(([start]) => start >= before - WINDOW), `windows of the time read, not of 1000 ms: ${JSON.stringify(got)}`)
  } finally {
    assert.equal(await streams.close({ timeout: 30000 }), true)
  }
  for (const bad of [42, 'WallclockTimestampExtractor', { extract: 1 }]) {
    assert.throws(() => new StreamsBuilder().stream(src, { timestampExtractor: bad }), TypeError)
  }
  // The built-ins' rule in JS too.
  assert.throws(() => new FailOnInvalidTimestamp().extract({ key: null, value: null, timestamp: -1 }, 5), /invalid \(negative\) timestamp -1/)
})
