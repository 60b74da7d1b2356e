'use strict'
// Secrets never leak, the SAME body against kafkajs and polykafka: the SASL password appears in no
// util.inspect or JSON.stringify of the client, its producer, consumer and admin, in no error (message,
// inspect) of a failed authentication, and in no log entry (logCreator at DEBUG) of a run that
// authenticates, fails to authenticate and produces.
const test = require('node:test')
const assert = require('node:assert/strict')
const util = require('util')
const { env, uniqueTopic, createTopics } = require('./helpers')

const implementations = { kafkajs: require('kafkajs'), polykafka: require('..') }
const WRONG = 'wrong-pw-8d2f61aa'

function assertClean(what, text, secrets) {
  for (const s of secrets) assert.ok(!text.includes(s), `${what} shows the secret ${s}:\n${text}`)
}

for (const [name, lib] of Object.entries(implementations)) {
  test(`${name}: no secret in inspect, JSON, errors or logs`, { timeout: 60000 }, async () => {
    const secrets = [env.KAFKA_SASL_PASSWORD, WRONG]
    const entries = []
    const logCreator = () => entry => entries.push(JSON.stringify(entry))
    const topic = uniqueTopic(`secrets-${name}`)
    await createTopics([topic], 1)
    const sasl = { mechanism: 'scram-sha-256', username: env.KAFKA_SASL_USER, password: env.KAFKA_SASL_PASSWORD }
    const options = { clientId: 'secrets', brokers: [env.KAFKA_SASL_BOOTSTRAP], sasl, logLevel: lib.logLevel.DEBUG, logCreator, retry: { retries: 1, initialRetryTime: 100 } }
    const kafka = new lib.Kafka(options)
    const producer = kafka.producer()
    const consumer = kafka.consumer({ groupId: uniqueTopic('secrets-group') })
    const admin = kafka.admin()
    for (const [what, obj] of Object.entries({ kafka, producer, consumer, admin })) {
      assertClean(`inspect(${what})`, util.inspect(obj, { depth: 6, showHidden: false }), secrets)
      assertClean(`JSON(${what})`, JSON.stringify(obj) ?? '', secrets)
    }
    await producer.connect()
    await producer.send({ topic, messages: [{ value: 'v' }] })
    await producer.disconnect()

    const bad = new lib.Kafka({ ...options, sasl: { ...sasl, password: WRONG } })
    const badProducer = bad.producer()
    const e = await badProducer.connect().then(() => badProducer.send({ topic, messages: [{ value: 'v' }] })).then(() => null, e => e)
    // kafkajs 2.2.4 here connects and sends with the wrong SCRAM password (seen, not explained): its error
    // side is checked on polykafka only.
    if (name === 'polykafka') assert.ok(e instanceof lib.KafkaJSSASLAuthenticationError, `a wrong password fails: ${e && e.name}: ${e && e.message}`)
    if (e) assertClean('the authentication error', `${e.message} ${util.inspect(e, { depth: 6 })}`, secrets)
    // Whatever the outcome, close it: a producer left connected (or retrying) keeps the test process alive.
    await badProducer.disconnect().catch(() => {})
    assert.ok(entries.length > 0, 'the logs were captured')
    assertClean('the logs', entries.join('\n'), secrets)
  })
}
