'use strict'
// Consumer: the SAME bodies against kafkajs and polykafka.
const test = require('node:test')
const assert = require('node:assert/strict')
const { brokers, uniqueTopic, createTopics, produce, committed, waitFor } = require('./helpers')

const implementations = { kafkajs: require('kafkajs'), polykafka: require('..') }

for (const [name, lib] of Object.entries(implementations)) {
  const kafka = new lib.Kafka({ clientId: `consumer-${name}`, brokers, logLevel: lib.logLevel.NOTHING, retry: { retries: 5, initialRetryTime: 100 } })

  test(`consumer[${name}]: validation`, async () => {
    assert.throws(() => kafka.consumer({}), lib.KafkaJSNonRetriableError)
    assert.throws(() => kafka.consumer({ groupId: 'g', sessionTimeout: 3000, heartbeatInterval: 3000 }), lib.KafkaJSNonRetriableError)
    const c = kafka.consumer({ groupId: 'g' })
    assert.equal(c.events.GROUP_JOIN, 'consumer.group_join')
    assert.throws(() => c.on('nope', () => {}), lib.KafkaJSNonRetriableError)
    await assert.rejects(c.commitOffsets([{ topic: 't', partition: 0, offset: '1' }]), lib.KafkaJSNonRetriableError)
  })

  test(`consumer[${name}]: eachMessage delivers keys, values, headers; a throwing handler gets its message again`, { timeout: 90000 }, async () => {
    const topic = uniqueTopic(`cm-${name}`)
    await createTopics([topic], 1)
    await produce(lib, topic, [
      { key: 'k0', value: 'v0', headers: { one: 'a', many: ['x', 'y'] } },
      { key: 'k1', value: 'v1' },
      { key: 'k2', value: 'v2' },
      { key: null, value: null },
    ])
    const groupId = uniqueTopic(`cmg-${name}`)
    const consumer = kafka.consumer({ groupId })
    await consumer.connect()
    await consumer.subscribe({ topics: [topic], fromBeginning: true })
    await assert.rejects(async () => {
      await consumer.run({ eachMessage: async () => {} })
      await consumer.subscribe({ topics: ['other'] })
    }, /while consumer is running/)
    await consumer.stop()
    const seen = []
    let failures = 0
    await consumer.run({
      eachMessage: async ({ topic: t, partition, message }) => {
        assert.equal(t, topic)
        assert.equal(partition, 0)
        if (message.offset === '2' && failures === 0) {
          failures++
          throw new Error('handler failed once')
        }
        seen.push(message)
      },
    })
    await waitFor(() => seen.length >= 4, 30000, 'four messages')
    await consumer.disconnect()
    assert.deepEqual(seen.map(m => m.offset), ['0', '1', '2', '3'])
    assert.equal(failures, 1)
    const [m0, , m2, m3] = seen
    assert.ok(Buffer.isBuffer(m0.key) && Buffer.isBuffer(m0.value))
    assert.equal(m0.key.toString(), 'k0')
    assert.equal(m0.value.toString(), 'v0')
    assert.equal(m0.headers.one.toString(), 'a')
    assert.deepEqual(m0.headers.many.map(String), ['x', 'y'])
    assert.equal(typeof m0.timestamp, 'string')
    assert.equal(m2.value.toString(), 'v2')
    assert.equal(m3.key, null)
    assert.equal(m3.value, null)
    assert.deepEqual(await committed(lib, groupId, topic), { 0: '4' })
  })

  test(`consumer[${name}]: eachBatch with manual resolve commits what was resolved`, { timeout: 90000 }, async () => {
    const topic = uniqueTopic(`cb-${name}`)
    await createTopics([topic], 1)
    await produce(lib, topic, Array.from({ length: 6 }, (_, i) => ({ value: `m${i}` })))
    const groupId = uniqueTopic(`cbg-${name}`)
    const consumer = kafka.consumer({ groupId })
    await consumer.connect()
    await consumer.subscribe({ topics: [topic], fromBeginning: true })
    const got = []
    let batches = 0
    await consumer.run({
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale }) => {
        batches++
        assert.equal(batch.topic, topic)
        assert.equal(typeof batch.highWatermark, 'string')
        for (const message of batch.messages) {
          if (!isRunning() || isStale()) break
          got.push(message.offset)
          if (Number(message.offset) < 3) resolveOffset(message.offset)
          await heartbeat()
        }
        await commitOffsetsIfNecessary()
      },
    })
    await waitFor(() => got.includes('5'), 30000, 'the batch')
    await consumer.disconnect()
    assert.ok(batches >= 1)
    assert.deepEqual(await committed(lib, groupId, topic), { 0: '3' })
  })

  test(`consumer[${name}]: three members share a topic; GROUP_JOIN and REBALANCING events`, { timeout: 120000 }, async () => {
    const topic = uniqueTopic(`cg-${name}`)
    await createTopics([topic], 6)
    const groupId = uniqueTopic(`cgg-${name}`)
    const consumers = []
    const joins = []
    const rebalancing = []
    const received = new Set()
    for (let i = 0; i < 3; i++) {
      const consumer = kafka.consumer({ groupId, sessionTimeout: 30000 })
      consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => joins.push({ i, payload }))
      consumer.on(consumer.events.REBALANCING, ({ payload }) => rebalancing.push({ i, payload }))
      await consumer.connect()
      await consumer.subscribe({ topics: [topic] })
      await consumer.run({
        eachMessage: async ({ message }) => {
          received.add(message.value.toString())
        },
      })
      consumers.push(consumer)
    }
    // Settled: the last join of each member gives the final assignment.
    const final = () => {
      const last = new Map()
      for (const j of joins) last.set(j.i, j.payload)
      return last
    }
    await waitFor(() => {
      const f = final()
      if (f.size < 3) return false
      const parts = [...f.values()].flatMap(p => p.memberAssignment[topic] || [])
      return parts.length === 6 && new Set(parts).size === 6 && [...f.values()].every(p => (p.memberAssignment[topic] || []).length === 2)
    }, 60000, 'three members with two partitions each')
    for (const { payload } of joins) {
      assert.equal(payload.groupId, groupId)
      assert.equal(typeof payload.memberId, 'string')
      assert.equal(typeof payload.isLeader, 'boolean')
    }
    // One leader in the final generation, named by every member.
    const last = [...final().values()]
    assert.equal(last.filter(p => p.isLeader).length, 1, JSON.stringify(last))
    const leader = last.find(p => p.isLeader)
    for (const p of last) assert.equal(p.leaderId, leader.memberId)
    for (const p of last) assert.equal(typeof p.duration, 'number')
    assert.ok(rebalancing.length >= 1, 'REBALANCING seen')
    assert.equal(rebalancing[0].payload.groupId, groupId)
    await produce(lib, topic, Array.from({ length: 30 }, (_, i) => ({ key: `key-${i}`, value: `value-${i}` })))
    await waitFor(() => received.size === 30, 30000, 'thirty messages')
    await Promise.all(consumers.map(c => c.disconnect()))
  })

  test(`consumer[${name}]: commitOffsets stores each offset's metadata`, { timeout: 90000 }, async () => {
    const topic = uniqueTopic(`cmeta-${name}`)
    await createTopics([topic], 2)
    const groupId = uniqueTopic(`cmetag-${name}`)
    const consumer = kafka.consumer({ groupId })
    const commits = []
    consumer.on(consumer.events.COMMIT_OFFSETS, e => commits.push(e.payload))
    await consumer.connect()
    await consumer.subscribe({ topics: [topic] })
    await consumer.run({ autoCommit: false, eachMessage: async () => {} })
    // Read back with the same library's admin, while the member is in the group (kafkajs 2.2.4
    // resets partition 0 to -1 when this member leaves).
    const admin = kafka.admin()
    await admin.connect()
    try {
      await consumer.commitOffsets([
        { topic, partition: 0, offset: '3', metadata: 'event-id-3' },
        { topic, partition: 1, offset: '5' },
      ])
      const [t] = await admin.fetchOffsets({ groupId, topics: [topic] })
      const byPartition = Object.fromEntries(t.partitions.map(p => [p.partition, [p.offset, p.metadata]]))
      assert.deepEqual(byPartition[0], ['3', 'event-id-3'])
      assert.equal(byPartition[1][0], '5')
      assert.ok(byPartition[1][1] === '' || byPartition[1][1] === null, `no metadata: ${byPartition[1][1]}`)
      assert.equal(commits.length, 1)
      // (kafkajs reports the offsets as its Long objects: compared as strings.)
      const reported = commits[0].topics.map(({ topic, partitions }) => ({
        topic,
        partitions: partitions.map(p => ({ partition: p.partition, offset: String(p.offset), metadata: p.metadata })),
      }))
      assert.deepEqual(reported, [
        { topic, partitions: [{ partition: 0, offset: '3', metadata: 'event-id-3' }, { partition: 1, offset: '5', metadata: null }] },
      ])
    } finally {
      await admin.disconnect()
      await consumer.disconnect()
    }
  })

  test(`consumer[${name}]: partitionsConsumedConcurrently runs partitions in parallel, each in order`, { timeout: 90000 }, async () => {
    const topic = uniqueTopic(`cc-${name}`)
    await createTopics([topic], 3)
    const messages = []
    for (let p = 0; p < 3; p++) for (let i = 0; i < 10; i++) messages.push({ partition: p, value: `${p}-${i}` })
    await produce(lib, topic, messages)
    for (const concurrency of [1, 3]) {
      const consumer = kafka.consumer({ groupId: uniqueTopic(`ccg-${name}-${concurrency}`) })
      await consumer.connect()
      await consumer.subscribe({ topics: [topic], fromBeginning: true })
      let active = 0
      let maxActive = 0
      const seen = { 0: [], 1: [], 2: [] }
      await consumer.run({
        partitionsConsumedConcurrently: concurrency,
        eachMessage: async ({ partition, message }) => {
          active++
          maxActive = Math.max(maxActive, active)
          await new Promise(r => setTimeout(r, 15))
          seen[partition].push(message.value.toString())
          active--
        },
      })
      await waitFor(() => seen[0].length + seen[1].length + seen[2].length === 30, 60000, `30 messages (concurrency ${concurrency})`)
      await consumer.disconnect()
      for (let p = 0; p < 3; p++) assert.deepEqual(seen[p], Array.from({ length: 10 }, (_, i) => `${p}-${i}`))
      if (concurrency === 1) assert.equal(maxActive, 1)
      else assert.ok(maxActive >= 2 && maxActive <= 3, `at most 3 and more than one at a time, saw ${maxActive}`)
    }
  })

  test(`consumer[${name}]: autoCommitInterval commits resolved offsets while a handler runs; without it, only after the batch`, { timeout: 120000 }, async () => {
    for (const autoCommitInterval of [200, null]) {
      const topic = uniqueTopic(`ci-${name}`)
      await createTopics([topic], 1)
      // One send: one record batch, delivered in one batch.
      await produce(lib, topic, ['m0', 'm1', 'm2'].map(value => ({ value })))
      const groupId = uniqueTopic(`cig-${name}`)
      const consumer = kafka.consumer({ groupId })
      await consumer.connect()
      await consumer.subscribe({ topics: [topic], fromBeginning: true })
      let release
      const released = new Promise(r => (release = r))
      const seen = []
      await consumer.run({
        autoCommitInterval,
        eachMessage: async ({ message }) => {
          seen.push(message.offset)
          // Longer than the interval: kafkajs checks it when message 0 is resolved.
          if (message.offset === '0') await new Promise(r => setTimeout(r, 400))
          if (message.offset === '1') await released
        },
      })
      try {
        await waitFor(() => seen.includes('1'), 30000, 'message 1')
        await new Promise(r => setTimeout(r, 1500))
        const during = await committed(lib, groupId, topic)
        assert.deepEqual(during, { 0: autoCommitInterval ? '1' : '-1' }, `autoCommitInterval ${autoCommitInterval}`)
        release()
        await waitFor(() => seen.includes('2'), 30000, 'message 2')
      } finally {
        release()
        await consumer.disconnect()
      }
      assert.deepEqual(await committed(lib, groupId, topic), { 0: '3' })
    }
  })
}
