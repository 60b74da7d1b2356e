// The seed document's Node consumer section, as written there, with only the import changed,
// completed with real topics, a processEvent function, and a producer that writes once the
// consumer has joined (fromBeginning is false). Argument: a topic prefix. Prints one JSON line
// per processed message, then DONE, and disconnects.
import { Kafka } from '../../index.mjs'

const prefix = process.argv[2]
const kafka = new Kafka({ clientId: 'my-app', brokers: (process.env.KAFKA_BOOTSTRAP || '127.0.0.1:9092').split(',') })
const processed = []
async function processEvent(value) {
  processed.push(value)
}

const consumer = kafka.consumer({
  groupId: `${prefix}-user-service`,
  sessionTimeout: 30000,
  heartbeatInterval: 3000,
})

await consumer.connect()

await consumer.subscribe({
  topics: [`${prefix}-user-events`, `${prefix}-order-events`],
  fromBeginning: false,
})

const joined = new Promise(resolve => consumer.on(consumer.events.GROUP_JOIN, resolve))

await consumer.run({
  autoCommit: false,
  eachMessage: async ({ topic, partition, message }) => {
    const key = message.key?.toString()
    const value = JSON.parse(message.value?.toString() || '{}')

    console.log(JSON.stringify({
      topic,
      partition,
      offset: message.offset,
      key,
      value,
    }))

    try {
      // Process message
      await processEvent(value)

      // Manual commit after processing
      await consumer.commitOffsets([
        {
          topic,
          partition,
          offset: (parseInt(message.offset) + 1).toString(),
        },
      ])
    } catch (error) {
      console.error('Processing failed:', error)
    }
  },
})

await joined
const producer = kafka.producer()
await producer.connect()
await producer.send({ topic: `${prefix}-user-events`, messages: [{ key: 'user-1', value: JSON.stringify({ type: 'USER_CREATED' }) }] })
await producer.send({ topic: `${prefix}-order-events`, messages: [{ key: 'order-1', value: JSON.stringify({ type: 'ORDER_PLACED' }) }] })
await producer.disconnect()
while (processed.length < 2) await new Promise(r => setTimeout(r, 50))
await consumer.disconnect()
console.log('DONE')
