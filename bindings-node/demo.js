#!/usr/bin/env node
'use strict'
// The seed's producer usage on polykafka: keyed messages with headers and JSON values, then a
// GZIP sendBatch, printing where each write landed. Bootstrap from KAFKA_BOOTSTRAP.
const { Kafka, CompressionTypes, logLevel } = require('.')

const brokers = (process.env.KAFKA_BOOTSTRAP || '127.0.0.1:9092').split(',')
const suffix = Date.now().toString(36)

async function main() {
  const kafka = new Kafka({
    clientId: 'my-app',
    brokers,
    retry: { initialRetryTime: 100, retries: 8 },
    logLevel: logLevel.WARN,
  })
  const producer = kafka.producer({ allowAutoTopicCreation: true, transactionTimeout: 30000 })
  await producer.connect()

  const events = await producer.send({
    topic: `demo-user-events-${suffix}`,
    messages: [
      {
        key: 'user-123',
        value: JSON.stringify({ type: 'USER_CREATED', userId: '123' }),
        headers: { 'correlation-id': '456' },
      },
      {
        key: 'user-456',
        value: JSON.stringify({ type: 'USER_UPDATED', userId: '456' }),
        headers: { 'correlation-id': '789', tags: ['a', 'b'] },
      },
    ],
  })
  for (const r of events) console.log(`send      -> ${r.topicName}[${r.partition}] baseOffset ${r.baseOffset}`)

  const orders = Array.from({ length: 5 }, (_, i) => ({ id: `order-${i}`, amount: 10 * (i + 1) }))
  const batch = await producer.sendBatch({
    topicMessages: [
      {
        topic: `demo-orders-${suffix}`,
        messages: orders.map(order => ({
          key: order.id,
          value: JSON.stringify(order),
          timestamp: Date.now().toString(),
        })),
      },
    ],
    compression: CompressionTypes.GZIP,
  })
  for (const r of batch) console.log(`sendBatch -> ${r.topicName}[${r.partition}] baseOffset ${r.baseOffset} (gzip)`)

  await producer.disconnect()
  console.log('disconnected')
}

main().catch(e => {
  console.error(`${e.name}: ${e.message}`)
  process.exit(1)
})
