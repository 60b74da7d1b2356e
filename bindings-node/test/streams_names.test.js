'use strict'
// Kafka Streams' default names, both ways: the topologies of tests/streams-java/NamesTopology.java
// (Kafka Streams 4.4.0 prints what Topology.describe() lists) built with polykafka's Node DSL give
// the same store and repartition-topic names (the application's internal topics). The Python
// suite checks the same cases (bindings-python/tests/test_streams_names.py). No broker needed.

const { test, before } = require('node:test')
const assert = require('node:assert/strict')
const path = require('path')
const { execFileSync } = require('child_process')
const { StreamsBuilder, TimeWindows, JoinWindows, SessionWindows, Suppressed, Serdes } = require('..')

const MINUTE = 60_000
const repo = path.join(__dirname, '..', '..')

function names(b) {
  return b._native.internalNames().map(([kind, name]) => `${kind} ${name}`).sort()
}

const cases = {
  table: () => {
    const b = new StreamsBuilder()
    const users = b.table('users')
    const orders = b.stream('orders')
    orders.join(users, (o) => o).groupByKey().count()
    users.filter(() => true).mapValues((v) => v).toStream().to('derived')
    b.table('other').toStream().groupByKey().count()
    return b
  },
  session: () => {
    const b = new StreamsBuilder()
    const s = b.stream('t')
    s.groupByKey().windowedBy(SessionWindows.ofInactivityGapWithNoGrace(MINUTE)).count()
      .suppress(Suppressed.untilWindowCloses(Suppressed.BufferConfig.unbounded())).toStream().foreach(() => {})
    s.groupByKey().windowedBy(SessionWindows.ofInactivityGapAndGrace(MINUTE, MINUTE)).reduce((a) => a)
    s.selectKey((k, v) => v).groupByKey().windowedBy(SessionWindows.ofInactivityGapWithNoGrace(MINUTE))
      .aggregate(() => '', (k, v, a) => a, (k, a1) => a1)
    s.groupByKey().count()
    return b
  },
  repartition: () => {
    const b = new StreamsBuilder()
    const s = b.stream('t')
    s.selectKey((k, v) => v).repartition().groupByKey().count()
    s.repartition({ name: 'by-hand' }).groupByKey().count()
    s.selectKey((k, v) => v).repartition().join(s.groupByKey().count(), (v) => v).to('o')
    return b
  },
  rekeyed: () => {
    const b = new StreamsBuilder()
    const s = b.stream('t')
    const u = b.stream('u')
    s.selectKey((k, v) => v).filter(() => true).groupByKey().count()
    s.map((k, v) => [v, k]).merge(u).groupByKey().reduce((a) => a)
    s.mapValues((v) => v).groupByKey().count()
    return b
  },
  'filter-count': () => {
    const b = new StreamsBuilder()
    b.stream('t').filter(() => true).groupByKey().count()
    return b
  },
  'groupby-count': () => {
    const b = new StreamsBuilder()
    b.stream('t').groupBy((k, v) => v).count()
    return b
  },
  mixed: () => {
    const b = new StreamsBuilder()
    const s = b.stream('t')
    const u = b.stream('u')
    const byValue = s.mapValues((v) => v).groupBy((k, v) => v).count()
    byValue.toStream().to('counts')
    u.groupByKey().windowedBy(TimeWindows.ofSizeWithNoGrace(MINUTE)).count()
      .suppress(Suppressed.untilWindowCloses(Suppressed.BufferConfig.unbounded())).toStream().foreach(() => {})
    s.join(u, (a) => a, JoinWindows.ofTimeDifferenceWithNoGrace(MINUTE)).to('inner')
    s.leftJoin(u, (a) => a, JoinWindows.ofTimeDifferenceWithNoGrace(MINUTE)).to('left')
    s.outerJoin(u, (a) => a, JoinWindows.ofTimeDifferenceWithNoGrace(MINUTE)).to('outer')
    const merged = s.merge(u).filterNot(() => false)
    merged.groupByKey().reduce((a) => a)
    s.leftJoin(byValue, (a) => a).groupByKey().windowedBy(TimeWindows.ofSizeWithNoGrace(MINUTE)).count()
    return b
  },
  named: () => {
    const b = new StreamsBuilder()
    const s = b.stream('t')
    s.groupBy((k, v) => v, { name: 'by-value' }).count()
    s.groupByKey().windowedBy(TimeWindows.ofSizeWithNoGrace(MINUTE)).count()
      .suppress(Suppressed.untilWindowCloses(Suppressed.BufferConfig.unbounded()).withName('final')).toStream().foreach(() => {})
    s.groupByKey().count()
    return b
  },
  split: () => {
    const b = new StreamsBuilder()
    const s = b.stream('t')
    const branches = s.split('sp-').branch((k, v) => v.length === 0, 'empty').branch((k, v) => v.length > 3).defaultBranch()
    branches['sp-empty'].groupByKey().count()
    s.groupByKey().count()
    return b
  },
  'split-unnamed': () => {
    const b = new StreamsBuilder()
    const s = b.stream('t')
    s.split().branch(() => true).defaultBranch()
    s.groupByKey().count()
    return b
  },
  serdes: () => {
    const b = new StreamsBuilder()
    const s = b.stream('t')
    s.to('o', { keySerde: Serdes.String(), valueSerde: Serdes.String() })
    s.groupByKey({ keySerde: Serdes.String(), valueSerde: Serdes.String() }).count()
    return b
  },
}

let kafkaStreams
before(() => {
  const classpath = execFileSync(path.join(repo, 'tests', 'streams-java', 'build.sh'), { encoding: 'utf8' }).trim()
  const out = execFileSync('java', ['-cp', classpath, 'NamesTopology'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 120000 })
  kafkaStreams = {}
  for (const line of out.split('\n').filter(Boolean)) {
    const [name, kind, value] = line.split(' ')
    ;(kafkaStreams[name] = kafkaStreams[name] || []).push(`${kind} ${value}`)
  }
})

for (const [name, build] of Object.entries(cases)) {
  test(`default names of "${name}" are Kafka Streams' names`, () => {
    const expected = (kafkaStreams[name] || []).sort()
    assert.ok(expected.length > 0, `Kafka Streams printed nothing for ${name}`)
    assert.deepEqual(names(build()), expected)
  })
}
