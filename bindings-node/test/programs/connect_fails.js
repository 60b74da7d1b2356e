'use strict'
// A client whose connect() fails and that is never disconnected, then nothing else: the process
// must end by itself, as with kafkajs. Args: library path, client kind, broker, [sasl password,
// ['good-first': a producer with the right password connects, sends and disconnects before]].
const [libPath, kind, broker, password, goodFirst] = process.argv.slice(2)
const { Kafka, logLevel } = require(libPath)

const options = {
  clientId: 'connect-fails',
  brokers: [broker],
  logLevel: logLevel.DEBUG,
  logCreator: () => () => {},
  connectionTimeout: 300,
  requestTimeout: 1000,
  retry: { retries: 1, initialRetryTime: 50 },
  sasl: password ? { mechanism: 'scram-sha-256', username: process.env.KAFKA_SASL_USER, password } : undefined,
}
const kafka = new Kafka(options)
const client = kind === 'producer' ? kafka.producer() : kind === 'admin' ? kafka.admin() : kafka.consumer({ groupId: 'connect-fails' })
async function good() {
  if (!goodFirst) return
  const p = new Kafka({ ...options, sasl: { ...options.sasl, password: process.env.KAFKA_SASL_PASSWORD } }).producer()
  await p.connect()
  await p.send({ topic: 'connect-fails', messages: [{ value: 'v' }] })
  await p.disconnect()
}
good().then(() => client.connect()).then(
  () => console.log('connected'),
  e => console.log(`rejected: ${e.name}`)
)
