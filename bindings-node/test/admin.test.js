'use strict'
// Admin: the SAME body against kafkajs and polykafka.
const test = require('node:test')
const assert = require('node:assert/strict')
const { brokers, uniqueTopic } = require('./helpers')

const implementations = { kafkajs: require('kafkajs'), polykafka: require('..') }

for (const [name, lib] of Object.entries(implementations)) {
  test(`admin[${name}]: behaves like kafkajs`, { timeout: 120000 }, async t => {
    const { Kafka, logLevel, ConfigResourceTypes } = lib
    const kafka = new Kafka({ clientId: `admin-${name}`, brokers, logLevel: logLevel.NOTHING, retry: { retries: 3, initialRetryTime: 100 } })
    const admin = kafka.admin()
    const connects = []
    admin.on(admin.events.CONNECT, e => connects.push(e.type))
    await admin.connect()
    assert.deepEqual(connects, ['admin.connect'])
    const topic = uniqueTopic(`admin-${name}`)
    const groupId = uniqueTopic(`admin-group-${name}`)

    await t.test('createTopics: true when created, false when it exists', async () => {
      const created = await admin.createTopics({
        topics: [{ topic, numPartitions: 3, replicationFactor: 1, configEntries: [{ name: 'retention.ms', value: '3600000' }] }],
        waitForLeaders: true,
      })
      assert.equal(created, true)
      assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] }), false)
      await assert.rejects(admin.createTopics({ topics: [{ topic }, { topic }] }), lib.KafkaJSNonRetriableError)
      const e = await admin.createTopics({ topics: [{ topic: uniqueTopic('bad'), numPartitions: 1, replicationFactor: 9 }] }).then(() => null, e => e)
      assert.ok(e instanceof lib.KafkaJSAggregateError, `${e && e.name}`)
      assert.ok(e.errors[0] instanceof lib.KafkaJSCreateTopicError)
      assert.equal(e.errors[0].type, 'INVALID_REPLICATION_FACTOR')
    })

    await t.test('listTopics and fetchTopicMetadata', async () => {
      assert.ok((await admin.listTopics()).includes(topic))
      const { topics } = await admin.fetchTopicMetadata({ topics: [topic] })
      assert.equal(topics.length, 1)
      assert.equal(topics[0].name, topic)
      const parts = topics[0].partitions.slice().sort((a, b) => a.partitionId - b.partitionId)
      assert.deepEqual(parts.map(p => p.partitionId), [0, 1, 2])
      for (const p of parts) {
        assert.equal(p.partitionErrorCode, 0)
        assert.ok(p.leader >= 0)
        assert.deepEqual(p.replicas, [p.leader])
        assert.deepEqual(p.isr, [p.leader])
      }
    })

    await t.test('fetchTopicOffsets after producing; deleteTopicRecords moves low', async () => {
      const producer = kafka.producer()
      await producer.connect()
      await producer.send({ topic, messages: [0, 1, 2, 3].map(i => ({ value: `v${i}`, partition: 1 })) })
      await producer.disconnect()
      const offsets = (await admin.fetchTopicOffsets(topic)).sort((a, b) => a.partition - b.partition)
      assert.deepEqual(offsets.map(o => [o.partition, o.offset, o.high, o.low]), [
        [0, '0', '0', '0'],
        [1, '4', '4', '0'],
        [2, '0', '0', '0'],
      ])
      await admin.deleteTopicRecords({ topic, partitions: [{ partition: 1, offset: '2' }] })
      const after = (await admin.fetchTopicOffsets(topic)).find(o => o.partition === 1)
      assert.deepEqual([after.low, after.high], ['2', '4'])
      const byTime = await admin.fetchTopicOffsetsByTimestamp(topic, Date.now() + 3600000)
      assert.equal(byTime.find(o => o.partition === 1).offset, '4')
    })

    await t.test('group offsets: setOffsets, fetchOffsets (2.x and 1.x forms), resetOffsets', async () => {
      await admin.setOffsets({ groupId, topic, partitions: [{ partition: 1, offset: '3' }] })
      const v2 = await admin.fetchOffsets({ groupId, topics: [topic] })
      assert.equal(v2.length, 1)
      assert.equal(v2[0].topic, topic)
      const p = v2[0].partitions.slice().sort((a, b) => a.partition - b.partition)
      assert.deepEqual(p.map(x => [x.partition, x.offset]), [[0, '-1'], [1, '3'], [2, '-1']])
      const v1 = await admin.fetchOffsets({ groupId, topic })
      assert.ok(Array.isArray(v1))
      // kafkajs 2.x ignores `topic` (kafkajs 1.x's form) and returns the 2.x shape; polykafka
      // answers the 1.x form with the 1.x shape, as both kafkajs generations' programs expect.
      if (name === 'polykafka') {
        assert.deepEqual(v1.map(x => [x.partition, x.offset]).sort(), [[0, '-1'], [1, '3'], [2, '-1']])
      }
      await admin.resetOffsets({ groupId, topic, earliest: true })
      const reset = (await admin.fetchOffsets({ groupId, topics: [topic] }))[0].partitions.find(x => x.partition === 1)
      // kafkajs commits the sentinel -2 ("earliest", resolved later by a kafkajs consumer);
      // polykafka commits the earliest offset itself (2 after the records deleted above), which
      // every client reads the same way.
      assert.equal(reset.offset, name === 'kafkajs' ? '-2' : '2')
      const { groups } = await admin.listGroups()
      assert.ok(groups.some(g => g.groupId === groupId))
      const described = await admin.describeGroups([groupId])
      assert.equal(described.groups[0].groupId, groupId)
      assert.equal(described.groups[0].state, 'Empty')
      const deleted = await admin.deleteGroups([groupId])
      assert.deepEqual(deleted.map(d => [d.groupId, d.errorCode]), [[groupId, 0]])
    })

    await t.test('configs: describeConfigs and alterConfigs', async () => {
      const query = { resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['retention.ms'] }], includeSynonyms: false }
      // The broker learns topic configs from the metadata log a moment after the controller
      // accepts them: right after createTopics / alterConfigs it may still answer with an
      // unknown topic or the old value, so both checks poll for up to 15 s.
      const retentionOf = async () => {
        const res = await admin.describeConfigs(query).catch(e => ({ error: e }))
        if (res.error) return { error: res.error }
        return { res, entry: res.resources[0].configEntries.find(e => e.configName === 'retention.ms') }
      }
      const until = async (want) => {
        let got
        for (let i = 0; i < 75; i++) {
          got = await retentionOf()
          if (got.entry && got.entry.configValue === want) return got
          await new Promise(r => setTimeout(r, 200))
        }
        return got
      }
      const before = await until('3600000')
      assert.ifError(before.error)
      assert.equal(before.res.resources.length, 1)
      assert.equal(before.entry.configValue, '3600000')
      assert.equal(before.entry.isDefault, false)
      assert.equal(before.entry.readOnly, false)
      assert.equal(before.res.resources[0].resourceName, topic)
      await admin.alterConfigs({
        validateOnly: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name: 'retention.ms', value: '7200000' }] }],
      })
      const after = await until('7200000')
      assert.ifError(after.error)
      assert.equal(after.entry.configValue, '7200000')
    })

    await t.test('describeCluster and createPartitions', async () => {
      const cluster = await admin.describeCluster()
      assert.ok(cluster.brokers.length >= 1)
      assert.equal(typeof cluster.brokers[0].nodeId, 'number')
      assert.equal(typeof cluster.brokers[0].host, 'string')
      assert.equal(typeof cluster.clusterId, 'string')
      await admin.createPartitions({ topicPartitions: [{ topic, count: 5 }] })
      // kafkajs may answer from stale metadata right after (NOT_LEADER_OR_FOLLOWER, or the old
      // partition count); retry a little.
      let offsets = null
      for (let i = 0; i < 20 && !(offsets && offsets.length === 5); i++) {
        offsets = await admin.fetchTopicOffsets(topic).catch(() => null)
        if (!(offsets && offsets.length === 5)) await new Promise(r => setTimeout(r, 250))
      }
      assert.equal(offsets.length, 5)
    })

    await t.test('deleteTopics', async () => {
      await admin.deleteTopics({ topics: [topic] })
      let topics = await admin.listTopics()
      for (let i = 0; i < 20 && topics.includes(topic); i++) {
        await new Promise(r => setTimeout(r, 200))
        topics = await admin.listTopics()
      }
      assert.ok(!topics.includes(topic))
    })

    await admin.disconnect()
  })
}
