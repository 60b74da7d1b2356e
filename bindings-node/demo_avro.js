#!/usr/bin/env node
'use strict'
// The seed's schema-registry usage (@kafkajs/confluent-schema-registry's API) on polykafka: reads
// the UserEvents bindings-python/demo_avro.py wrote, decodes them, then encodes one more with
// getLatestSchemaId + encode, as the seed does. Usage: demo_avro.js TOPIC
const { Kafka, logLevel } = require('.')
const { SchemaRegistry } = require('./schema-registry')

const brokers = (process.env.KAFKA_BOOTSTRAP || '127.0.0.1:9092').split(',')
const host = process.env.SCHEMA_REGISTRY_URL || 'http://127.0.0.1:8081'
const topic = process.argv[2] || 'polykafka-user-events'

async function main() {
  const kafka = new Kafka({ clientId: 'avro-demo', brokers, logLevel: logLevel.WARN })
  const registry = new SchemaRegistry({ host })

  const consumer = kafka.consumer({ groupId: `avro-demo-${process.pid}` })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  let seen = 0
  const done = new Promise((resolve, reject) => {
    consumer.run({
      eachMessage: async ({ partition, message }) => {
        const decoded = await registry.decode(message.value)
        console.log(`node read  ${topic} [${partition}] @ ${message.offset}: ${JSON.stringify(decoded)}`)
        if (++seen === 3) resolve()
      },
    }).catch(reject)
  })
  const timer = setTimeout(() => { throw new Error(`read ${seen} of 3 records in 60 s`) }, 60000)
  await done
  clearTimeout(timer)
  await consumer.disconnect()

  const id = await registry.getLatestSchemaId(`${topic}-value`)
  const encoded = await registry.encode(id, {
    userId: '789',
    eventType: 'USER_CREATED',
    timestamp: Date.now(),
  })
  const producer = kafka.producer()
  await producer.connect()
  const [r] = await producer.send({ topic, messages: [{ key: '789', value: encoded }] })
  console.log(`node wrote ${topic} [${r.partition}] @ ${r.baseOffset} with schema id ${id}`)
  await producer.disconnect()
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
