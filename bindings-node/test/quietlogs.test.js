'use strict'
// Quiet logs: what the client retries on its own (a leader or a group coordinator not ready yet,
// the first rebalance) is not logged at WARN or ERROR. tests/cluster/freshlogs runs this file on a
// brand-new cluster too (QUIETLOGS_LIBS=polykafka, or kafkajs for comparison).
const test = require('node:test')
const assert = require('node:assert/strict')
const { brokers, uniqueTopic, createTopics } = require('./helpers')

const all = { kafkajs: () => require('kafkajs'), polykafka: () => require('..') }
const wanted = (process.env.QUIETLOGS_LIBS || 'kafkajs,polykafka').split(',')

for (const name of wanted) {
  test(`a new topic and a new group log nothing at WARN[${name}]`, { timeout: 120000 }, async () => {
    const { Kafka, logLevel, Partitioners } = all[name]()
    const topic = uniqueTopic(`quiet-${name}`)
    const groupId = uniqueTopic(`quiet-group-${name}`)
    const entries = []
    const kafka = new Kafka({
      clientId: `quiet-${name}`,
      brokers,
      logLevel: logLevel.DEBUG,
      logCreator: () => entry => entries.push(entry),
    })
    // Created this instant: its leaders are not elected when the first requests go out.
    await createTopics([topic], 3)
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner })
    await producer.connect()
    await producer.send({ topic, messages: Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })) })
    const consumer = kafka.consumer({ groupId })
    await consumer.connect()
    await consumer.subscribe({ topics: [topic], fromBeginning: true })
    let got = 0
    await new Promise((resolve, reject) => {
      consumer
        .run({
          eachMessage: async () => {
            if (++got === 30) resolve()
          },
        })
        .catch(reject)
    })
    await consumer.disconnect()
    await producer.disconnect()
    await new Promise(r => setTimeout(r, 300)) // the core's last batch of entries

    assert.equal(got, 30)
    // The capture works (debug entries arrived), and nothing was a warning or an error.
    assert.ok(entries.some(e => e.level === logLevel.DEBUG), `${entries.length} entries`)
    const loud = entries
      .filter(e => e.level === logLevel.WARN || e.level === logLevel.ERROR)
      .map(e => `${e.label} ${e.namespace}: ${e.log.message} ${e.log.error || ''}`)
    assert.deepEqual(loud, [])
  })
}
