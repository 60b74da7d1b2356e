// The seed document's Node producer section, as written there, with only the import changed
// (and a transactionalId, which kafkajs itself requires for transactions), completed with real
// topics and data. Argument: a topic prefix. Prints "READY" when done; SIGTERM disconnects.
import { Kafka, CompressionTypes } from '../../index.mjs'

const prefix = process.argv[2]
const brokerList = (process.env.KAFKA_BOOTSTRAP || '127.0.0.1:9092').split(',')
const orders = [
  { id: 'order-1', amount: 10 },
  { id: 'order-2', amount: 20 },
  { id: 'order-3', amount: 30 },
]
const payment = { id: 'pay-1', amount: 10 }
const notification = { id: 'notif-1', text: 'paid' }

const kafka = new Kafka({
  clientId: 'my-app',
  brokers: brokerList,
  retry: { initialRetryTime: 100, retries: 8 },
})

const producer = kafka.producer({
  allowAutoTopicCreation: true,
  transactionTimeout: 30000,
  transactionalId: `${prefix}-txn`,
})

await producer.connect()

// Simple message
await producer.send({
  topic: `${prefix}-user-events`,
  messages: [
    {
      key: 'user-123',
      value: JSON.stringify({ type: 'USER_CREATED', userId: '123' }),
      headers: { 'correlation-id': '456' },
    },
  ],
})

// Batch messages
await producer.sendBatch({
  topicMessages: [
    {
      topic: `${prefix}-orders`,
      messages: orders.map(order => ({
        key: order.id,
        value: JSON.stringify(order),
        timestamp: Date.now().toString(),
      })),
    },
  ],
  compression: CompressionTypes.GZIP,
})

// Transactions (exactly-once semantics)
let transactions = 'committed'
try {
  const transaction = await producer.transaction()

  try {
    await transaction.send({
      topic: `${prefix}-payments`,
      messages: [{ key: 'pay-1', value: JSON.stringify(payment) }],
    })

    await transaction.send({
      topic: `${prefix}-notifications`,
      messages: [{ key: 'notif-1', value: JSON.stringify(notification) }],
    })

    await transaction.commit()
  } catch (error) {
    await transaction.abort()
    throw error
  }
} catch (error) {
  transactions = `failed: ${error.name}: ${error.message}`
}

// Graceful shutdown
process.on('SIGTERM', async () => {
  await producer.disconnect()
})

console.log(`READY transactions=${transactions}`)
