'use strict'
// Connects, sends, disconnects and then does nothing: the process must end by itself.
const { Kafka, logLevel } = require('../..')

const [topic, withLogs] = process.argv.slice(2)
const kafka = new Kafka({
  clientId: 'exit-test',
  brokers: (process.env.KAFKA_BOOTSTRAP || '127.0.0.1:9092').split(','),
  logLevel: withLogs ? logLevel.DEBUG : logLevel.NOTHING,
  logCreator: withLogs ? () => () => {} : undefined,
})

;(async () => {
  const producer = kafka.producer()
  await producer.connect()
  const [r] = await producer.send({ topic, messages: [{ key: 'k', value: 'v' }] })
  await producer.disconnect()
  console.log(`sent at ${r.baseOffset}; disconnected`)
})().catch(e => {
  console.error(e)
  process.exit(1)
})
