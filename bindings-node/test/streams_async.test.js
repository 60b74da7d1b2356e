'use strict'
// Async user functions in streams (issue #17) against the real broker: functions returning
// Promises give the results of their synchronous versions, in order; a rejection is a user failure
// at its record (nothing committed past it, read again after a restart); close({ timeout })
// returns while a Promise never settles.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const { uniqueTopic, createTopics, committed, waitFor } = require('./helpers')
const { send, readAll, config, collectFailures, assertUserFailure } = require('./streams_seed')
const polykafka = require('..')
const { StreamsBuilder, KafkaStreams, Serdes, State } = polykafka

// A promise of `v` settled after a few ms (random, so that records would overtake each other if
// a batch's records ran concurrently), or `v` itself for some records (mixed batches).
const later = (v, sync = false) => (sync ? v : new Promise(r => setTimeout(() => r(v), Math.floor(Math.random() * 3))))

test('async filter, mapValues, flatMapValues, split, aggregate and reduce give the results of the sync versions, in order', { timeout: 60000 }, async () => {
  const n = 400
  const src = uniqueTopic('sa-src')
  const out = { sync: uniqueTopic('sa-out-sync'), async: uniqueTopic('sa-out-async') }
  const odd = { sync: uniqueTopic('sa-odd-sync'), async: uniqueTopic('sa-odd-async') }
  await createTopics([src, ...Object.values(out), ...Object.values(odd)], 1)
  const input = Array.from({ length: n }, (_, i) => [`k${i % 7}`, { n: i }, null])
  await send(src, input)

  // `wrap(f)`: f itself (sync) or f returning a Promise for most records (async).
  const topology = (mode, wrap) => {
    const b = new StreamsBuilder()
    const s = b.stream(src, { keySerde: Serdes.String(), valueSerde: Serdes.Json() })
    const kept = s
      .filter(wrap((k, v) => v.n % 3 !== 0, (k, v) => v.n))
      .mapValues(wrap(v => ({ n: v.n, twice: v.n * 2 }), v => v.n))
      .flatMapValues(wrap(v => (v.n % 5 === 0 ? [v, { ...v, copy: true }] : [v]), v => v.n))
    const branches = kept
      .split()
      .branch(wrap((k, v) => v.n % 2 === 0, (k, v) => v.n), 'even')
      .defaultBranch('odd')
    branches.even.to(out[mode])
    branches.odd.to(odd[mode])
    kept
      .groupByKey()
      .aggregate(
        wrap(() => [], () => 0),
        wrap((k, v, agg) => agg.concat([v.n]), (k, v) => v.n),
        { materialized: `seen-${mode}` }
      )
    s.mapValues(v => v.n, { valueSerde: Serdes.Long() })
      .groupByKey()
      .reduce(wrap((a, b) => (a * 31 + b) % 1000003, (a, b) => b), { materialized: `hash-${mode}` })
    return b.build()
  }
  // pick(...args) (the record's n) chooses the records whose result stays synchronous: one in four.
  const asyncWrap = (f, pick) => (...args) => {
    const r = f(...args)
    return later(r, pick(...args) % 4 === 1)
  }
  const apps = {
    sync: new KafkaStreams(topology('sync', f => f), config(uniqueTopic('sa-sync'))),
    async: new KafkaStreams(topology('async', asyncWrap), config(uniqueTopic('sa-async'))),
  }
  const failures = [...collectFailures(apps.sync), ...collectFailures(apps.async)]
  for (const a of Object.values(apps)) a.start()
  try {
    for (const a of Object.values(apps)) await waitFor(() => failures.length > 0 || a.metrics().processed >= n, 40000, 'all processed')
    assert.deepEqual(failures, [])
    const values = async t => (await readAll(t, 1000, 10000)).map(m => m.value.toString())
    const expectedEven = []
    const expectedOdd = []
    for (const [, v] of input) {
      if (v.n % 3 === 0) continue
      const e = { n: v.n, twice: v.n * 2 }
      const copies = v.n % 5 === 0 ? [e, { ...e, copy: true }] : [e]
      for (const c of copies) (v.n % 2 === 0 ? expectedEven : expectedOdd).push(JSON.stringify(c))
    }
    for (const mode of ['sync', 'async']) {
      assert.deepEqual(await values(out[mode]), expectedEven, `${mode}: even branch in input order`)
      assert.deepEqual(await values(odd[mode]), expectedOdd, `${mode}: odd branch in input order`)
    }
    const seen = mode => Object.fromEntries(apps[mode].store(`seen-${mode}`).all())
    const expectedSeen = {}
    for (const [k, v] of input) {
      if (v.n % 3 === 0) continue
      const times = v.n % 5 === 0 ? 2 : 1
      for (let i = 0; i < times; i++) (expectedSeen[k] = expectedSeen[k] || []).push(v.n)
    }
    assert.deepEqual(seen('sync'), expectedSeen)
    assert.deepEqual(seen('async'), expectedSeen, 'each aggregator call saw the aggregate of the call before')
    assert.deepEqual(Object.fromEntries(apps.async.store('hash-async').all()), Object.fromEntries(apps.sync.store('hash-sync').all()))
  } finally {
    for (const a of Object.values(apps)) assert.equal(await a.close({ timeout: 30000 }), true)
  }
})

test('a rejected Promise is a user failure at its record; after a restart the record is read again', { timeout: 60000 }, async () => {
  const src = uniqueTopic('sa-rej')
  const out = uniqueTopic('sa-rejout')
  await createTopics([src, out], 1)
  await send(src, Array.from({ length: 10 }, (_, i) => [`k${i}`, { n: i }, null]))
  const app = uniqueTopic('sa-rej-app')
  const topology = (reject, seen) => {
    const b = new StreamsBuilder()
    b.stream(src, { keySerde: Serdes.String(), valueSerde: Serdes.Json() })
      .mapValues(async v => {
        seen.push(v.n)
        await later(null)
        if (reject && v.n === 4) throw new RangeError('four is not allowed')
        return { n: v.n * 10 }
      })
      .to(out)
    return b.build()
  }
  const seen1 = []
  const s1 = new KafkaStreams(topology(true, seen1), config(app))
  const failures = collectFailures(s1)
  s1.start()
  try {
    await waitFor(() => failures.length > 0, 30000, 'the handler')
    assertUserFailure(failures[0], src, 4, /RangeError: four is not allowed/, RangeError)
    await waitFor(() => s1.state() === State.ERROR, 30000, 'state ERROR')
    assert.deepEqual(seen1, [0, 1, 2, 3, 4], 'the records after the rejected one were not processed')
  } finally {
    await s1.close({ timeout: 30000 })
  }
  const offsets = await committed(polykafka, app, src)
  assert.ok(Number(offsets[0]) <= 4, `committed ${offsets[0]}, past the rejected record at 4`)
  // Restarted from the commits with a function that accepts it: record 4 is read again.
  const seen2 = []
  const s2 = new KafkaStreams(topology(false, seen2), config(app))
  s2.start()
  try {
    await waitFor(() => seen2.includes(9), 30000, 'the rest after the restart')
    assert.ok(seen2.includes(4), `the rejected record is read again: ${seen2}`)
    const got = (await readAll(out, 1000, 10000)).map(m => JSON.parse(m.value.toString()).n)
    assert.deepEqual([...new Set(got)].sort((a, b) => a - b), [0, 10, 20, 30, 40, 50, 60, 70, 80, 90])
  } finally {
    assert.equal(await s2.close({ timeout: 30000 }), true)
  }
})

test('close({ timeout }) returns while a Promise never settles; the batch is abandoned, nothing committed past it', { timeout: 60000 }, async () => {
  const src = uniqueTopic('sa-hang')
  const out = uniqueTopic('sa-hangout')
  await createTopics([src, out], 1)
  await send(src, Array.from({ length: 5 }, (_, i) => [`k${i}`, `${i}`, null]))
  const app = uniqueTopic('sa-hang-app')
  let waiting = false
  const b = new StreamsBuilder()
  b.stream(src, { keySerde: Serdes.String(), valueSerde: Serdes.String() })
    .filter((k, v) => {
      if (v !== '2') return true
      waiting = true
      return new Promise(() => {})
    })
    .to(out)
  const streams = new KafkaStreams(b.build(), config(app))
  const failures = collectFailures(streams)
  const states = []
  streams.on('stateChange', s => states.push(s))
  streams.start()
  await waitFor(() => waiting, 30000, 'the never-settling promise')
  assert.equal(await streams.close({ timeout: 1000 }), false, 'close gives up on the waiting stream thread')
  // The stream thread then stops with a failure at the record's batch.
  await waitFor(() => states.includes(State.ERROR) || states.includes(State.NOT_RUNNING), 30000, 'the stream thread stops')
  await waitFor(() => failures.length > 0, 30000, 'the handler')
  assert.equal(failures[0].kind, 'user')
  assert.equal(failures[0].topic, src)
  assert.ok(failures[0].offset <= 2, `the failure is at the abandoned batch (offset ${failures[0].offset})`)
  assert.match(failures[0].message, /promise had not settled/)
  const offsets = await committed(polykafka, app, src)
  assert.ok(Number(offsets[0]) <= 2, `committed ${offsets[0]}, past the record whose promise never settled`)
  const got = (await readAll(out, 1000, 5000)).map(m => m.value.toString())
  assert.ok(got.every(v => v === '0' || v === '1'), `only records before the unsettled one: ${got}`)
})
