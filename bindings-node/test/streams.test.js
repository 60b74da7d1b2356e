'use strict'
// Streams (issue #17) against the real broker: the seed topology on the input of
// bindings-python/tests/streams_seed.py with the results computed there, independently of the
// runtime (run with python3, read as JSON); a throwing user function; bad configuration; states.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const path = require('path')
const { execFileSync } = require('child_process')
const { brokers, uniqueTopic, createTopics, committed, waitFor } = require('./helpers')
const { seedData, seedTopology, send, readAll, config, collectFailures } = require('./streams_seed')
const polykafka = require('..')
const { StreamsBuilder, KafkaStreams, TimeWindows, JoinWindows, SessionWindows, SessionWindowedSerde, Suppressed, Serdes, State } = polykafka
const { StreamsException, KafkaJSNonRetriableError, KafkaJSError } = polykafka

test('the seed topology gives the results computed independently (streams_seed.py)', { timeout: 300000 }, async () => {
  const d = seedData(3000, 120, 30, 400, 3)
  const exp = d.expected
  assert.ok(exp.late > 10, 'the input has late records')
  const t = {}
  for (const k of ['events', 'orders', 'notifications', 'countryCounts', 'windowedCounts', 'enriched']) t[k] = uniqueTopic(`st-${k}`)
  await createTopics(Object.values(t), 3)
  const app = uniqueTopic('seed-app')

  const streams = new KafkaStreams(seedTopology(t, d), config(app))
  const states = []
  streams.on('stateChange', (n, o) => states.push([o, n]))
  assert.equal(streams.state(), State.CREATED)
  streams.start()
  try {
    await send(t.events, d.events)
    const counts = streams.store('user-counts-by-country')
    await waitFor(() => d.countries.every(c => counts.get(c) === (exp.byCountry[c] === undefined ? null : exp.byCountry[c])), 180000, 'country counts')
    assert.equal(streams.state(), State.RUNNING)
    assert.deepEqual(Object.fromEntries(counts.all()), exp.byCountry)
    // Orders after the counts are complete: each joins the final count of its country.
    await send(t.orders, d.orders.map(([c, o]) => [c, o, null]))
    await waitFor(() => streams.metrics().processed >= d.events.length * 2 + d.orders.length, 120000, 'orders processed')
    await waitFor(() => streams.metrics().lateDropped === exp.late, 60000, 'late records counted')

    const notes = new Map()
    for (const m of await readAll(t.notifications)) {
      const v = JSON.parse(m.value.toString())
      assert.deepEqual(Object.keys(v), ['userId'])
      notes.set(v.userId, (notes.get(v.userId) || 0) + 1)
    }
    assert.deepEqual(notes, new Map(exp.notifications.map(([v, n]) => [v.userId, n])))

    const last = {}
    for (const m of await readAll(t.countryCounts)) last[m.key.toString()] = Serdes.Long().deserialize(m.value)
    assert.deepEqual(last, exp.byCountry)

    const windowed = new Map()
    for (const m of await readAll(t.windowedCounts)) {
      // Kafka Streams' windowed key: the key's bytes, then the window start (8 bytes BE).
      const user = m.key.subarray(0, m.key.length - 8).toString()
      const start = Number(m.key.readBigInt64BE(m.key.length - 8))
      windowed.set(`${user}@${start}`, Serdes.Long().deserialize(m.value))
    }
    const expWindowed = new Map(exp.windowed.map(([u, s, n]) => [`${u}@${s}`, n]))
    assert.deepEqual(windowed, expWindowed)
    // The window store answers the same.
    const wstore = streams.store('windowed-counts')
    const [u0, s0, n0] = exp.windowed[0]
    assert.deepEqual(wstore.fetch(u0, s0, s0), [[s0, n0]])
    const all = new Map(wstore.all().map(([w, n]) => {
      assert.equal(w.end - w.start, d.windowMs)
      return [`${w.key}@${w.start}`, n]
    }))
    assert.deepEqual(all, expWindowed)

    const enriched = {}
    for (const m of await readAll(t.enriched)) {
      const v = JSON.parse(m.value.toString())
      enriched[v.orderId] = v
    }
    assert.deepEqual(enriched, exp.enriched)
    assert.ok(Object.values(enriched).some(v => v.userCount === null))
  } finally {
    assert.equal(await streams.close({ timeout: 30000 }), true)
  }
  assert.equal(streams.state(), State.NOT_RUNNING)
  await waitFor(() => states.length && states[states.length - 1][1] === State.NOT_RUNNING, 5000, 'the last state change')
  // A chain of transitions (a rebalance may come in between) from CREATED to NOT_RUNNING.
  assert.deepEqual(states.slice(0, 2), [
    ['CREATED', 'REBALANCING'],
    ['REBALANCING', 'RUNNING'],
  ])
  assert.deepEqual(states.slice(-2), [
    ['RUNNING', 'PENDING_SHUTDOWN'],
    ['PENDING_SHUTDOWN', 'NOT_RUNNING'],
  ])
  for (let i = 1; i < states.length; i++) assert.equal(states[i][0], states[i - 1][1], JSON.stringify(states))
})

test('a throwing user function reaches the uncaught exception handler; nothing is committed past it', { timeout: 120000 }, async () => {
  const src = uniqueTopic('st-src')
  const out = uniqueTopic('st-out')
  await createTopics([src, out], 1)
  const app = uniqueTopic('fail-app')
  const b = new StreamsBuilder()
  b.stream(src, { keySerde: Serdes.String(), valueSerde: Serdes.Json() })
    .mapValues(v => {
      if (v.n === 2) throw new RangeError('two is not allowed')
      return { n: v.n * 10 }
    })
    .to(out)
  const streams = new KafkaStreams(b.build(), config(app))
  const failures = collectFailures(streams)
  streams.start()
  try {
    await send(src, [['a', { n: 1 }, null], ['b', { n: 2 }, null], ['c', { n: 3 }, null]])
    await waitFor(() => failures.length > 0, 60000, 'the handler')
    const e = failures[0]
    assert.ok(e instanceof StreamsException && e instanceof KafkaJSNonRetriableError)
    assert.equal(e.kind, 'user')
    assert.equal(e.topic, src)
    assert.equal(e.partition, 0)
    assert.equal(e.offset, 1)
    assert.match(e.message, /RangeError: two is not allowed/)
    assert.ok(e.cause instanceof RangeError)
    await waitFor(() => streams.state() === State.ERROR, 30000, 'state ERROR')
    assert.equal(streams.exception().offset, 1)
  } finally {
    await streams.close({ timeout: 30000 })
  }
  const offsets = await committed(polykafka, app, src)
  assert.ok(Number(offsets[0]) <= 1, `committed ${offsets[0]}, past the failed record at 1`)
  const got = (await readAll(out, 2000, 5000)).map(m => JSON.parse(m.value.toString()))
  assert.ok(got.every(v => v.n === 10), `only the record before the failure: ${JSON.stringify(got)}`)
})

test('bad configuration and bad arguments are clear errors', () => {
  const topology = () => {
    const b = new StreamsBuilder()
    b.stream('x').to('y')
    return b.build()
  }
  assert.throws(() => new KafkaStreams(topology(), { 'bootstrap.servers': brokers[0] }), e => e instanceof KafkaJSError && /application\.id/.test(e.message))
  assert.throws(
    () => new KafkaStreams(topology(), config('a', { 'no.such.setting': 1 })),
    e => e instanceof KafkaJSNonRetriableError && /unknown configuration key 'no\.such\.setting'/.test(e.message)
  )
  assert.throws(() => new KafkaStreams(topology(), config('a', { 'group.id': 'g' })), e => e instanceof KafkaJSNonRetriableError && /group\.id/.test(e.message))
  assert.throws(() => new KafkaStreams(topology(), 'nope'), KafkaJSNonRetriableError)
  assert.throws(() => new StreamsBuilder().stream('x').filter(42), TypeError)
  assert.throws(() => TimeWindows.ofSizeWithNoGrace(0), RangeError)
  assert.throws(() => TimeWindows.ofSizeWithNoGrace(1000).advanceBy(2000), RangeError)
  assert.throws(() => Serdes.Long().serialize(1.5), polykafka.SerializationError)
  assert.throws(() => Serdes.Long().deserialize(Buffer.alloc(3)), /not 8 but 3/)
  assert.throws(() => Serdes.String().deserialize(Buffer.from([0xff, 0xfe])), /not UTF-8/)
  assert.equal(Serdes.Long().deserialize(Serdes.Long().serialize(-5)), -5)
  assert.equal(Serdes.BigLong().deserialize(Serdes.Long().serialize(1n << 62n)), 1n << 62n)
  assert.throws(() => Serdes.Long().deserialize(Serdes.BigLong().serialize(1n << 62n)), /BigLong/)
  const used = topology()
  const s = new KafkaStreams(used, config('a'))
  assert.throws(() => new KafkaStreams(used, config('a')), /already used/)
  assert.throws(() => s.store('nope'), /no store named 'nope'/)
})

test('merge, flatMapValues, aggregate, reduce, stream-stream join and suppress give their exact results', { timeout: 180000 }, async () => {
  const t = {}
  for (const k of ['text', 'more', 'lefts', 'rights', 'ticks', 'words', 'lens', 'joined', 'final']) t[k] = uniqueTopic(`st-${k}`)
  await createTopics(Object.values(t), 1)
  const b = new StreamsBuilder()
  const str = { keySerde: Serdes.String(), valueSerde: Serdes.String() }
  const text = b.stream(t.text, str).merge(b.stream(t.more, str))
  const words = text.flatMapValues(v => v.split(' ')).filterNot((k, w) => w === '')
  words
    .groupBy((k, w) => w)
    .aggregate(() => 0, (k, w, n) => n + 1, { materialized: 'word-counts', valueSerde: Serdes.Long() })
    .toStream()
    .to(t.words)
  text
    .mapValues(v => v.length, { valueSerde: Serdes.Long() })
    .groupByKey()
    .reduce((a, n) => a + n, { materialized: 'lengths' })
    .toStream()
    .to(t.lens)
  const lefts = b.stream(t.lefts, str)
  // (A join of a stream whose keys were changed is refused until it is repartitioned.)
  const rights = b.stream(t.rights, str).peek(() => {}).mapValues(v => v)
  // A grace of a minute: the result does not depend on which topic's records come first (with no
  // grace, l1 at 1000 would be late once r2 at 9000 moved stream time past its window).
  lefts.join(rights, (l, r) => `${l}+${r}`, JoinWindows.ofTimeDifferenceAndGrace(5000, 60000), { name: 'lr' }).to(t.joined)
  b.stream(t.ticks, str)
    .groupByKey()
    .windowedBy(TimeWindows.ofSizeWithNoGrace(10000))
    .count({ materialized: 'tick-counts' })
    .suppress(Suppressed.untilWindowCloses(Suppressed.BufferConfig.unbounded()).withName('final-ticks'))
    .toStream()
    .to(t.final)
  const app = uniqueTopic('ops-app')
  const topology = b.build()
  let crossings = 0
  const chain = b._runner.chain.bind(b._runner)
  b._runner.chain = (...args) => {
    crossings++
    return chain(...args)
  }
  const streams = new KafkaStreams(topology, config(app))
  streams.start()
  try {
    const lines = []
    for (let i = 0; i < 300; i++) lines.push(['s', i % 2 ? 'a b' : 'b c', null])
    await send(t.text, lines)
    await send(t.more, [['s', 'c', null]])
    await send(t.lefts, [['k', 'l1', 1000], ['z', 'l2', 1000]])
    await send(t.rights, [['k', 'r1', 4000], ['k', 'r2', 9000], ['y', 'r3', 4000]])
    await send(t.ticks, [['k', 'x', 1000], ['k', 'x', 2000], ['k', 'x', 15000], ['k', 'x', 30000]])
    const counts = streams.store('word-counts')
    await waitFor(() => counts.get('c') === 151 && counts.get('a') === 150 && counts.get('b') === 300, 60000, 'word counts').catch(e => {
      throw new Error(`${e.message}: ${JSON.stringify([counts.all(), streams.state(), streams.exception() && streams.exception().message, streams.metrics()])}`)
    })
    await waitFor(() => streams.store('lengths').get('s') === 300 * 3 + 1, 30000, 'lengths')
    assert.ok(crossings < 300, `${crossings} runner calls for 300 records: one per batch and chain`)

    const last = {}
    for (const m of await readAll(t.words)) last[m.key.toString()] = Serdes.Long().deserialize(m.value)
    assert.deepEqual(last, { a: 150, b: 300, c: 151 })
    const joined = (await readAll(t.joined)).map(m => [m.key.toString(), m.value.toString(), Number(m.timestamp)])
    assert.deepEqual(joined, [['k', 'l1+r1', 4000]])
    const finals = (await readAll(t.final)).map(m => [m.key.subarray(0, m.key.length - 8).toString(), Number(m.key.readBigInt64BE(m.key.length - 8)), Serdes.Long().deserialize(m.value)])
    assert.deepEqual(finals, [['k', 0, 2], ['k', 10000, 1]])
    assert.deepEqual(streams.store('tick-counts').fetch('k', 0, 30000), [[0, 2], [10000, 1], [30000, 1]])
  } finally {
    assert.equal(await streams.close({ timeout: 30000 }), true)
  }
})

test('session windows: count, aggregate with a merger, reduce, suppress, store queries; bad arguments', { timeout: 180000 }, async () => {
  assert.throws(() => SessionWindows.ofInactivityGapWithNoGrace(0), e => e instanceof RangeError && /inactivity gap must be positive, got 0 ms/.test(e.message))
  assert.throws(() => SessionWindows.ofInactivityGapWithNoGrace(-5), RangeError)
  assert.throws(() => SessionWindows.ofInactivityGapAndGrace(1000, -1), e => e instanceof RangeError && /grace period must not be negative/.test(e.message))
  assert.throws(() => SessionWindows.ofInactivityGapWithNoGrace(1.5), TypeError)
  const grouped = new StreamsBuilder().stream('x').groupByKey().windowedBy(SessionWindows.ofInactivityGapWithNoGrace(1000))
  assert.throws(() => grouped.aggregate(() => 0, (k, v, a) => a), e => e instanceof TypeError && /merger/.test(e.message))
  const ws = new SessionWindowedSerde(Serdes.String())
  assert.deepEqual(ws.deserialize(ws.serialize({ key: 'k', start: 5, end: 300000 })), { key: 'k', start: 5, end: 300000 })
  assert.equal(ws.serialize({ key: 'k', start: 5, end: 300000 }).subarray(1, 9).readBigInt64BE(), 300000n, 'the end first (SessionKeySchema)')

  const t = {}
  for (const k of ['clicks', 'counts', 'finals', 'lists']) t[k] = uniqueTopic(`ss-${k}`)
  await createTopics(Object.values(t), 1)
  const b = new StreamsBuilder()
  const clicks = b.stream(t.clicks, { keySerde: Serdes.String(), valueSerde: Serdes.String() })
  const counts = clicks.groupByKey().windowedBy(SessionWindows.ofInactivityGapAndGrace(10000, 30000)).count({ materialized: 'click-sessions' })
  counts.toStream().to(t.counts)
  counts.suppress(Suppressed.untilWindowCloses(Suppressed.BufferConfig.unbounded())).toStream().to(t.finals)
  clicks
    .groupByKey()
    .windowedBy(SessionWindows.ofInactivityGapAndGrace(10000, 30000))
    .aggregate(() => [], (k, v, a) => [...a, v], (k, a, c) => [...a, ...c], { materialized: 'click-lists' })
    .toStream()
    .to(t.lists)
  clicks.groupByKey().windowedBy(SessionWindows.ofInactivityGapAndGrace(10000, 30000)).reduce((a, v) => a + v, { materialized: 'click-concat' })
  const streams = new KafkaStreams(b.build(), config(uniqueTopic('session-app')))
  streams.start()
  try {
    // k@10500 bridges k's sessions [1000] and [20000] (gap 10 s, grace 30 s); k@60000 closes them;
    // j@15500 is late then (its session would end before 60000 - 40000; j's [15000] is expired).
    await send(t.clicks, [['k', 'a', 1000], ['k', 'b', 20000], ['j', 'x', 15000], ['k', 'c', 10500], ['k', 'd', 60000], ['j', 'y', 15500]])
    const store = streams.store('click-sessions')
    const want = [[{ key: 'k', start: 1000, end: 20000 }, 3], [{ key: 'k', start: 60000, end: 60000 }, 1]]
    await waitFor(() => streams.metrics().lateDropped === 3 && JSON.stringify(store.fetch('k')) === JSON.stringify(want), 60000, 'sessions').catch(e => {
      throw new Error(`${e.message}: ${JSON.stringify([store.all(), streams.metrics(), streams.exception() && streams.exception().message])}`)
    })
    assert.deepEqual(store.findSessions('k', 20000, 20000), [want[0]])
    assert.deepEqual(store.fetch('j'), [[{ key: 'j', start: 15000, end: 15000 }, 1]])
    assert.deepEqual(streams.store('click-lists').fetch('k').map(([w, v]) => [w.start, v]), [[1000, ['a', 'b', 'c']], [60000, ['d']]])
    assert.deepEqual(streams.store('click-concat').fetch('k').map(([w, v]) => [w.start, v]), [[1000, 'abc'], [60000, 'd']])

    const table = new Map()
    const removed = []
    for (const m of await readAll(t.counts)) {
      const w = ws.deserialize(m.key)
      const id = `${w.key}@${w.start}-${w.end}`
      if (m.value === null) {
        removed.push(id)
        table.delete(id)
      } else table.set(id, Serdes.Long().deserialize(m.value))
    }
    assert.ok(removed.includes('k@1000-1000') && removed.includes('k@20000-20000'), `the merged sessions' removals: ${removed}`)
    assert.deepEqual(Object.fromEntries(table), { 'k@1000-20000': 3, 'j@15000-15000': 1, 'k@60000-60000': 1 })
    const finals = (await readAll(t.finals)).map(m => [ws.deserialize(m.key), Serdes.Long().deserialize(m.value)])
    assert.deepEqual(finals, [[{ key: 'j', start: 15000, end: 15000 }, 1], [{ key: 'k', start: 1000, end: 20000 }, 3]], 'one final count per closed session')
  } finally {
    assert.equal(await streams.close({ timeout: 30000 }), true)
  }
})

// Python's polykafka (POLYKAFKA_PYTHON, else python3), if that interpreter has it.
function pythonWithPolykafka() {
  const py = process.env.POLYKAFKA_PYTHON || 'python3'
  try {
    execFileSync(py, ['-c', 'import polykafka.streams'], { stdio: 'ignore' })
    return py
  } catch (_) {
    return null
  }
}

const python = pythonWithPolykafka()

test('a Node topology reads the windowed keys a Python topology wrote', { timeout: 240000, skip: python ? false : 'no python with polykafka (set POLYKAFKA_PYTHON)' }, async () => {
  const src = uniqueTopic('st-pysrc')
  const mid = uniqueTopic('st-pywin')
  await createTopics([src, mid], 2)
  const base = 1767225600000
  const records = []
  const expected = {}
  for (let i = 0; i < 60; i++) {
    const user = `u${i % 5}`
    const ts = base + i * 500
    records.push([user, `e${i}`, ts])
    const start = ts - (ts % 10000)
    const id = `${user}@${start}-${start + 10000}`
    expected[id] = (expected[id] || 0) + 1
  }
  await send(src, records)
  execFileSync(python, [path.join(__dirname, 'programs', 'streams_python_windowed.py'), brokers.join(','), src, mid, uniqueTopic('py-app'), '60'], {
    stdio: ['ignore', 'inherit', 'inherit'],
    timeout: 200000,
  })

  const b = new StreamsBuilder()
  b.stream(mid, { keySerde: new polykafka.TimeWindowedSerde(Serdes.String(), 10000), valueSerde: Serdes.Long() })
    .selectKey(w => `${w.key}@${w.start}-${w.end}`, { keySerde: Serdes.String() })
    .groupByKey()
    .reduce((older, newer) => Math.max(older, newer), { materialized: 'latest' })
  const streams = new KafkaStreams(b.build(), config(uniqueTopic('node-app')))
  streams.start()
  try {
    const store = streams.store('latest')
    await waitFor(() => Object.keys(expected).every(k => store.get(k) === expected[k]), 90000, 'the windowed counts')
    assert.deepEqual(Object.fromEntries(store.all()), expected)
  } finally {
    assert.equal(await streams.close({ timeout: 30000 }), true)
  }
})

test('close() while user functions run, and from inside one, does not deadlock; a restart goes on from the commits', { timeout: 240000 }, async () => {
  const src = uniqueTopic('st-busy')
  const out = uniqueTopic('st-busyout')
  await createTopics([src, out], 2)
  const n = 2000
  await send(src, Array.from({ length: n }, (_, i) => [`k${i % 17}`, `${i}`, null]))
  const app = uniqueTopic('busy-app')
  const topology = onRecord => {
    const b = new StreamsBuilder()
    b.stream(src, { keySerde: Serdes.String(), valueSerde: Serdes.String() })
      .mapValues(v => {
        const until = Date.now() + 1
        while (Date.now() < until) {} // a slow user function: ~1 ms per record
        onRecord(v)
        return v
      })
      .to(out)
    return b.build()
  }
  // 1: closed from outside while records are being processed.
  let seen = 0
  const s1 = new KafkaStreams(topology(() => seen++), config(app))
  s1.start()
  await waitFor(() => seen >= 200, 60000, 'some records processed')
  assert.equal(await s1.close({ timeout: 30000 }), true)
  assert.equal(s1.state(), State.NOT_RUNNING)
  assert.ok(seen < n, `closed before the end (${seen} of ${n})`)
  // 2: closed from inside a user function (on the JS thread, while the stream thread waits for it).
  let closing = null
  let seen2 = 0
  const s2 = new KafkaStreams(
    topology(() => {
      if (++seen2 === 100) closing = s2.close({ timeout: 30000 })
    }),
    config(app)
  )
  s2.start()
  await waitFor(() => closing !== null, 60000, 'close called inside a user function')
  assert.equal(await closing, true)
  assert.equal(s2.state(), State.NOT_RUNNING)
  // 3: the rest; every input record reaches the output at least once.
  const s3 = new KafkaStreams(topology(() => {}), config(app))
  s3.start()
  try {
    const got = new Set()
    await waitFor(async () => {
      for (const m of await readAll(out, 1500, 3000)) got.add(m.value.toString())
      return got.size === n
    }, 150000, 'every record in the output')
  } finally {
    assert.equal(await s3.close({ timeout: 30000 }), true)
  }
})

for (const handler of ['log_and_fail', 'log_and_continue']) {
  test(`a record that cannot be deserialized, with ${handler}`, { timeout: 120000 }, async () => {
    const src = uniqueTopic('st-bad')
    const out = uniqueTopic('st-badout')
    await createTopics([src, out], 1)
    const b = new StreamsBuilder()
    b.stream(src, { keySerde: Serdes.String(), valueSerde: Serdes.Json() })
      .mapValues(v => ({ n: v.n * 2 }))
      .to(out)
    const streams = new KafkaStreams(b.build(), config(uniqueTopic('bad-app'), { 'default.deserialization.exception.handler': handler }))
    const failures = []
    streams.setUncaughtExceptionHandler(e => {
      failures.push(e)
    })
    streams.start()
    try {
      await send(src, [['a', { n: 1 }, null], ['b', Buffer.from('{not json'), null], ['c', { n: 3 }, null]])
      if (handler === 'log_and_fail') {
        await waitFor(() => failures.length === 1, 60000, 'the handler')
        assert.equal(failures[0].kind, 'deserialization')
        assert.equal(failures[0].offset, 1)
        assert.match(failures[0].message, /Serdes\.Json\(\): not JSON/)
        await waitFor(() => streams.state() === State.ERROR, 30000, 'state ERROR')
      } else {
        await waitFor(() => streams.metrics().processed >= 2 && streams.metrics().deserializationSkipped === 1, 60000, 'the skip')
        const got = (await readAll(out, 2000, 10000)).map(m => JSON.parse(m.value.toString()).n)
        assert.deepEqual(got, [2, 6])
        assert.equal(failures.length, 0)
      }
    } finally {
      await streams.close({ timeout: 30000 })
    }
  })
}

test('a mapper returning the wrong shape stops processing with a clear user failure', { timeout: 120000 }, async () => {
  const src = uniqueTopic('st-shape')
  await createTopics([src], 1)
  const b = new StreamsBuilder()
  b.stream(src, { keySerde: Serdes.String(), valueSerde: Serdes.String() })
    .map((k, v) => ({ k, v })) // not [key, value]
    .to(uniqueTopic('st-never'))
  const streams = new KafkaStreams(b.build(), config(uniqueTopic('shape-app')))
  const failures = []
  streams.setUncaughtExceptionHandler(e => {
    failures.push(e)
  })
  streams.start()
  try {
    await send(src, [['a', 'x', null]])
    await waitFor(() => failures.length === 1, 60000, 'the handler')
    assert.equal(failures[0].kind, 'user')
    assert.equal(failures[0].offset, 0)
    assert.match(failures[0].message, /map\(\) returns \[key, value\]/)
  } finally {
    await streams.close({ timeout: 30000 })
  }
})

test('split() sends each record to the first branch whose predicate holds', { timeout: 120000 }, async () => {
  const src = uniqueTopic('st-split')
  const outs = { small: uniqueTopic('st-small'), big: uniqueTopic('st-big'), rest: uniqueTopic('st-rest') }
  await createTopics([src, ...Object.values(outs)], 1)
  const b = new StreamsBuilder()
  const branches = b
    .stream(src, { keySerde: Serdes.String(), valueSerde: Serdes.Json() })
    .split('n-')
    .branch((k, v) => v.n < 10, 'small')
    .branch((k, v) => v.n < 100, 'big')
    .defaultBranch('rest')
  assert.deepEqual(Object.keys(branches), ['n-small', 'n-big', 'n-rest'])
  branches['n-small'].to(outs.small)
  branches['n-big'].mapValues(v => ({ n: -v.n })).to(outs.big)
  branches['n-rest'].to(outs.rest)
  const streams = new KafkaStreams(b.build(), config(uniqueTopic('split-app')))
  streams.start()
  try {
    await send(src, [1, 50, 500, 5, 99, 100].map((n, i) => [`k${i}`, { n }, null]))
    const read = async topic => (await readAll(topic, 2000, 15000)).map(m => JSON.parse(m.value.toString()).n)
    assert.deepEqual(await read(outs.small), [1, 5])
    assert.deepEqual(await read(outs.big), [-50, -99])
    assert.deepEqual(await read(outs.rest), [500, 100])
  } finally {
    assert.equal(await streams.close({ timeout: 30000 }), true)
  }
})

test('to() with a function sends each record to the topic it names; a null name stops processing', { timeout: 120000 }, async () => {
  const src = uniqueTopic('st-tpr')
  const even = uniqueTopic('st-even')
  const odd = uniqueTopic('st-odd')
  await createTopics([src, even, odd], 1)
  const b = new StreamsBuilder()
  b.stream(src, { keySerde: Serdes.String(), valueSerde: Serdes.Json() }).to((k, v) => (v.n === 10 ? null : v.n % 2 === 0 ? even : odd))
  const streams = new KafkaStreams(b.build(), config(uniqueTopic('tpr-app')))
  const failures = collectFailures(streams)
  streams.start()
  try {
    await send(src, [...Array(10).keys()].map(n => [`k${n}`, { n }, null]))
    const read = async topic => (await readAll(topic, 2000, 15000)).map(m => JSON.parse(m.value.toString()).n).sort((a, c) => a - c)
    assert.deepEqual(await read(even), [0, 2, 4, 6, 8])
    assert.deepEqual(await read(odd), [1, 3, 5, 7, 9])
    await send(src, [['k10', { n: 10 }, null]])
    await waitFor(() => failures.length > 0, 60000, 'the handler')
    assert.equal(failures[0].kind, 'user')
    assert.equal(failures[0].offset, 10)
    assert.match(failures[0].message, /returned no topic name/)
  } finally {
    await streams.close({ timeout: 30000 })
  }
  assert.throws(() => new StreamsBuilder().stream(src).to(42), TypeError)
})
