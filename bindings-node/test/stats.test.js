'use strict'
// stats() (not in kafkajs): the engine's statistics snapshot in librdkafka's layout, from the
// producer (every send, whatever its acks and compression) and from a running consumer.
const test = require('node:test')
const assert = require('node:assert/strict')
const { brokers, uniqueTopic, createTopics } = require('./helpers')
const { Kafka, logLevel, CompressionTypes, KafkaJSError } = require('..')

test('stats() counts what the producer and the consumer did', { timeout: 120000 }, async () => {
  const topic = uniqueTopic('stats')
  await createTopics([topic], 2)
  const kafka = new Kafka({ clientId: 'stats-node', brokers, logLevel: logLevel.NOTHING })
  const producer = kafka.producer()
  assert.throws(() => producer.stats(), KafkaJSError)
  await producer.connect()
  assert.equal(producer.stats().txmsgs, 0, 'connected, no send yet')
  await producer.send({ topic, messages: Array.from({ length: 10 }, (_, i) => ({ value: `v${i}`, partition: i % 2 })) })
  await producer.send({ topic, compression: CompressionTypes.GZIP, messages: [{ value: 'gz', partition: 0 }] })
  const s = producer.stats()
  assert.equal(s.type, 'producer')
  assert.equal(s.client_id, 'stats-node')
  assert.equal(s.txmsgs, 11, 'the plain and the gzip sends')
  assert.equal(s.topics[topic].partitions['0'].txmsgs, 6)
  assert.equal(s.topics[topic].partitions['1'].txmsgs, 5)
  await producer.disconnect()
  assert.throws(() => producer.stats(), KafkaJSError)

  const consumer = kafka.consumer({ groupId: uniqueTopic('stats-group') })
  await consumer.connect()
  assert.throws(() => consumer.stats(), KafkaJSError, 'not running yet')
  await consumer.subscribe({ topics: [topic], fromBeginning: true })
  let got = 0
  await new Promise((resolve, reject) => {
    consumer.run({ eachMessage: async () => { if (++got === 11) resolve() } }).catch(reject)
  })
  const c = consumer.stats()
  assert.equal(c.type, 'consumer')
  assert.equal(c.rxmsgs, 11)
  assert.equal(c.topics[topic].partitions['0'].hi_offset, 6)
  assert.equal(c.topics[topic].partitions['1'].hi_offset, 5)
  assert.ok(c.cgrp.rebalance_cnt >= 1, JSON.stringify(c.cgrp))
  await consumer.disconnect()
})
