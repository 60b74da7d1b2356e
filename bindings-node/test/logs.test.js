'use strict'
// INFO logs of a client's life cycle: the SAME body against kafkajs and polykafka, then the two
// sequences of entries compared (namespace, message, field names; not the volatile values).
const test = require('node:test')
const assert = require('node:assert/strict')
const { brokers, uniqueTopic, createTopics } = require('./helpers')

const implementations = { kafkajs: require('kafkajs'), polykafka: require('..') }

const PARTITIONER_WARNING =
  'KafkaJS v2.0.0 switched default partitioner. To retain the same partitioning behavior as in previous versions, create the producer with the option "createPartitioner: Partitioners.LegacyPartitioner". See the migration guide at https://kafka.js.org/docs/migration-guide-v2.0.0#producer-new-default-partitioner for details. Silence this warning by setting the environment variable "KAFKAJS_NO_PARTITIONER_WARNING=1"'

/** An entry without its volatile values: [level, namespace, message, sorted field names]. */
const shape = ({ label, namespace, log }) => {
  const { timestamp, logger, message, ...fields } = log
  return [label, namespace || '', message, Object.keys(fields).sort()]
}

const seen = {}

for (const [name, lib] of Object.entries(implementations)) {
  test(`life-cycle logs[${name}]: producer and consumer at INFO`, { timeout: 120000 }, async () => {
    const { Kafka, logLevel } = lib
    const topic = uniqueTopic(`logs-${name}`)
    const groupId = uniqueTopic(`logs-group-${name}`)
    await createTopics([topic], 2)
    const entries = []
    const kafka = new Kafka({
      clientId: `logs-${name}`,
      brokers,
      logLevel: logLevel.INFO,
      logCreator: () => entry => entries.push(entry),
    })
    const producer = kafka.producer()
    await producer.connect()
    await producer.send({ topic, messages: [{ value: 'hello' }] })
    const consumer = kafka.consumer({ groupId })
    await consumer.connect()
    await consumer.subscribe({ topics: [topic], fromBeginning: true })
    await new Promise((resolve, reject) => {
      consumer.run({ eachMessage: async () => resolve() }).catch(reject)
    })
    consumer.pause([{ topic }])
    consumer.resume([{ topic }])
    await consumer.disconnect()
    await producer.disconnect()
    // Entries of the core arrive in batches: give the last one a moment.
    await new Promise(r => setTimeout(r, 300))

    const info = entries.filter(e => e.level === logLevel.INFO)
    assert.deepEqual(info.map(shape), [
      ['INFO', 'Consumer', 'Starting', ['groupId']],
      [
        'INFO',
        'ConsumerGroup',
        'Consumer has joined the group',
        ['duration', 'groupId', 'groupProtocol', 'isLeader', 'leaderId', 'memberAssignment', 'memberId'],
      ],
      ['INFO', 'ConsumerGroup', 'Pausing fetching from 1 topics', ['topicPartitions']],
      ['INFO', 'ConsumerGroup', 'Resuming fetching from 1 topics', ['topicPartitions']],
      ['INFO', 'Runner', 'consumer not running, exiting', ['groupId', 'memberId']],
      ['INFO', 'Consumer', 'Stopped', ['groupId']],
    ])
    const joined = info[1].log
    assert.equal(joined.groupId, groupId)
    assert.ok(joined.memberId.startsWith(`logs-${name}-`), joined.memberId)
    assert.equal(joined.leaderId, joined.memberId) // the only member leads
    assert.equal(joined.isLeader, true)
    assert.deepEqual(joined.memberAssignment, { [topic]: [0, 1] })
    assert.equal(joined.groupProtocol, 'RoundRobinAssigner')
    assert.equal(typeof joined.duration, 'number')
    assert.ok(joined.duration >= 0)
    assert.deepEqual(info[2].log.topicPartitions, [{ topic }])
    assert.deepEqual([info[0].log.groupId, info[4].log.groupId, info[4].log.memberId, info[5].log.groupId], [
      groupId,
      groupId,
      joined.memberId,
      groupId,
    ])

    // WARN and ERROR: only kafkajs's once-per-process partitioner warning. kafkajs also logs
    // each failed response in its 'Connection' namespace (a coordinator still loading on a fresh
    // cluster); the engine retries those inside the core without logging them.
    const bad = entries.filter(e => e.level <= logLevel.WARN && !(name === 'kafkajs' && e.namespace === 'Connection'))
    const expectedWarnings = process.env.KAFKAJS_NO_PARTITIONER_WARNING == null ? [['WARN', '', PARTITIONER_WARNING, []]] : []
    assert.deepEqual(bad.map(shape), expectedWarnings)
    seen[name] = info.map(shape)
  })
}

test('life-cycle logs: polykafka logs the INFO entries kafkajs logs', () => {
  assert.ok(seen.kafkajs && seen.polykafka, 'both life cycles ran')
  assert.deepEqual(seen.polykafka, seen.kafkajs)
})

// polykafka only: the engine's log queue is bounded; what did not fit is reported as one WARN
// entry, nothing is dropped silently.
test('logs: records beyond the bounded queue are reported as one WARN entry', { timeout: 30000 }, async () => {
  const { Kafka, logLevel } = require('..')
  const native = require('../lib/native')
  const entries = []
  const kafka = new Kafka({ clientId: 'logs-drop', brokers, logLevel: logLevel.WARN, logCreator: () => e => entries.push(e) })
  const producer = kafka.producer()
  await producer.connect()
  try {
    // 5000 records while the JS thread is busy: the queue (4096) overflows.
    native.testEmitLogs(5000)
    await new Promise(r => setTimeout(r, 500))
  } finally {
    await producer.disconnect()
  }
  const records = entries.filter(e => e.namespace === 'Test' && e.log.message === 'test record')
  const reports = entries.filter(e => /engine log records were dropped/.test(e.log.message))
  assert.equal(reports.length, 1, JSON.stringify(reports.map(e => e.log.message)))
  const [report] = reports
  assert.equal(report.level, logLevel.WARN)
  const dropped = Number(/^(\d+) /.exec(report.log.message)[1])
  assert.equal(report.log.dropped, dropped)
  assert.ok(dropped > 0 && records.length < 5000, `${records.length} delivered, ${dropped} dropped`)
  assert.equal(records.length + dropped, 5000)
  // Fields keep their types.
  assert.equal(typeof records[0].log.n, 'number')
})
