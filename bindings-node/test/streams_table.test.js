'use strict'
// builder.table and KTable filter / filterNot / mapValues against the real broker. The table
// semantics (old values, tombstones, materialization) are the core's; Python runs the same
// topology against Kafka Streams itself (bindings-python/tests/test_streams_table.py).
const { test } = require('node:test')
const assert = require('node:assert/strict')
const { uniqueTopic, createTopics, waitFor } = require('./helpers')
const { send, readAll, config } = require('./streams_seed')
const { StreamsBuilder, KafkaStreams, Serdes } = require('..')

test('builder.table keeps the latest value per key, joins, deletes, and derived tables follow', async () => {
  const [users, orders, out, derived] = ['ntbl-users', 'ntbl-orders', 'ntbl-enriched', 'ntbl-derived'].map(uniqueTopic)
  await createTopics([users, orders, out, derived], 1)
  await send(users, [['u1', { name: 'Ann' }], ['u2', { name: 'Bob' }], ['u1', { name: 'Ann B' }], ['u3', { name: 'Cy' }], ['u3', null]])
  const b = new StreamsBuilder()
  const table = b.table(users, { keySerde: Serdes.String(), valueSerde: Serdes.Json(), materialized: 'users-table' })
  b.stream(orders, { keySerde: Serdes.String(), valueSerde: Serdes.Json() })
    .leftJoin(table, (o, u) => ({ ...o, user: u && u.name }))
    .to(out)
  table.mapValues(u => u.name.toUpperCase(), { valueSerde: Serdes.String() }).toStream().to(derived, { valueSerde: Serdes.String() })
  const streams = new KafkaStreams(b.build(), config(uniqueTopic('ntbl-app')))
  streams.start()
  let stored
  try {
    await waitFor(() => streams.metrics().processed === 5, 60000, 'the users read')
    await send(orders, [['u1', { o: 1 }], ['u2', { o: 2 }], ['u3', { o: 3 }], ['u9', { o: 4 }]])
    await waitFor(() => streams.metrics().processed === 9, 60000, 'the orders read')
    const store = streams.store('users-table')
    assert.deepEqual([store.get('u1'), store.get('u3')], [{ name: 'Ann B' }, null])
    stored = Object.fromEntries(store.all().map(([k, v]) => [k, v]))
  } finally {
    await streams.close({ timeout: 30000 })
  }
  assert.deepEqual(stored, { u1: { name: 'Ann B' }, u2: { name: 'Bob' } })
  const enriched = (await readAll(out, 1000, 5000)).map(m => JSON.parse(m.value.toString()))
  assert.deepEqual(enriched, [{ o: 1, user: 'Ann B' }, { o: 2, user: 'Bob' }, { o: 3, user: null }, { o: 4, user: null }])
  const last = {}
  for (const m of await readAll(derived, 1000, 5000)) last[m.key.toString()] = m.value && m.value.toString()
  assert.deepEqual(last, { u1: 'ANN B', u2: 'BOB', u3: null }, "u3's deletion reaches the derived table")
  assert.throws(() => new StreamsBuilder().table([users]), /one topic/)
  assert.throws(() => table.filter(42), /filter\(\) must be a function/)
})

test('KTable filter over a count: a tombstone only for a key that was in the derived table', async () => {
  const [src, evens] = ['ntbl-src', 'ntbl-evens'].map(uniqueTopic)
  await createTopics([src, evens], 1)
  const b = new StreamsBuilder()
  b.stream(src, { keySerde: Serdes.String() }).groupByKey().count()
    .filter((k, n) => n % 2 === 0).mapValues(n => n * 10).toStream().to(evens, { valueSerde: Serdes.Long() })
  const streams = new KafkaStreams(b.build(), config(uniqueTopic('ntbl-count-app')))
  streams.start()
  try {
    // Phases: each update's old value is the previous phase's.
    await send(src, [['x', 'v'], ['d', 'v'], ['d', 'v']])
    await waitFor(() => streams.metrics().processed === 3, 60000, 'phase 1')
    await send(src, [['d', 'v']])
    await waitFor(() => streams.metrics().processed === 4, 60000, 'phase 2')
    await send(src, [['x', 'v']])
    await waitFor(() => streams.metrics().processed === 5, 60000, 'phase 3')
  } finally {
    await streams.close({ timeout: 30000 })
  }
  const got = (await readAll(evens, 1000, 5000)).map(m => [m.key.toString(), m.value && Serdes.Long().deserialize(m.value)])
  assert.deepEqual(got, [['d', 20], ['d', null], ['x', 20]])
})
