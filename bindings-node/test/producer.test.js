'use strict'
// polykafka's producer against the real broker: codecs, partitioners, security, logs.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('fs')
const { env, brokers, uniqueTopic, createTopics, readBack, readWithJava } = require('./helpers')
const {
  Kafka,
  CompressionTypes,
  Partitioners,
  logLevel,
  KafkaJSError,
  KafkaJSNonRetriableError,
  KafkaJSSASLAuthenticationError,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSConnectionError,
} = require('..')

const quiet = { logLevel: logLevel.NOTHING, retry: { retries: 2, initialRetryTime: 100 } }

async function withProducer(kafkaConfig, producerConfig, fn) {
  const kafka = new Kafka({ clientId: 'producer-test', brokers, ...quiet, ...kafkaConfig })
  const producer = kafka.producer(producerConfig)
  await producer.connect()
  try {
    return await fn(producer, kafka)
  } finally {
    await producer.disconnect()
  }
}

test('enums have kafkajs values', () => {
  assert.deepEqual(CompressionTypes, { None: 0, GZIP: 1, Snappy: 2, LZ4: 3, ZSTD: 4 })
  assert.deepEqual(logLevel, { NOTHING: 0, ERROR: 1, WARN: 2, INFO: 4, DEBUG: 5 })
  assert.equal(Partitioners.JavaCompatiblePartitioner, Partitioners.DefaultPartitioner)
  assert.equal(typeof Partitioners.LegacyPartitioner, 'function')
})

test('error classes: hierarchy, names, instanceof', () => {
  const lib = require('..')
  const e = new lib.KafkaJSNumberOfRetriesExceeded(new lib.KafkaJSConnectionError('x'), { retryCount: 3, retryTime: 10 })
  assert.ok(e instanceof lib.KafkaJSNonRetriableError && e instanceof lib.KafkaJSError && e instanceof Error)
  assert.equal(e.name, 'KafkaJSNumberOfRetriesExceeded')
  assert.equal(e.retriable, false)
  assert.equal(e.retryCount, 3)
  assert.ok(e.cause instanceof lib.KafkaJSConnectionError)
  const p = new lib.KafkaJSProtocolError({ message: 'm', type: 'UNKNOWN_TOPIC_OR_PARTITION', code: 3, retriable: true })
  assert.deepEqual([p.type, p.code, p.retriable, p.name], ['UNKNOWN_TOPIC_OR_PARTITION', 3, true, 'KafkaJSProtocolError'])
  assert.ok(new lib.KafkaJSLockTimeout('t') instanceof lib.KafkaJSTimeout)
  assert.ok(new lib.KafkaJSTimeout('t') instanceof lib.KafkaJSNonRetriableError)
  assert.ok(new lib.KafkaJSSASLAuthenticationError('s') instanceof lib.KafkaJSNonRetriableError)
  assert.ok(new lib.KafkaJSConnectionClosedError('c', { host: 'h', port: 1 }) instanceof lib.KafkaJSConnectionError)
  assert.ok(new lib.KafkaJSTopicMetadataNotLoaded('t') instanceof lib.KafkaJSMetadataNotLoaded)
  // The same export names as kafkajs.
  const theirs = Object.keys(require('kafkajs')).sort()
  for (const k of theirs) assert.ok(k in lib, `missing export ${k}`)
})

test('JS murmur2 partitioners agree with kafkajs (Default and Legacy)', () => {
  const kafkajs = require('kafkajs')
  const partitionMetadata = Array.from({ length: 7 }, (_, partitionId) => ({ partitionId, leader: 1 }))
  const ours = { d: Partitioners.DefaultPartitioner(), l: Partitioners.LegacyPartitioner() }
  const theirs = { d: kafkajs.Partitioners.DefaultPartitioner(), l: kafkajs.Partitioners.LegacyPartitioner() }
  for (let i = 0; i < 500; i++) {
    const key = i % 3 === 0 ? Buffer.from([i & 255, (i * 7) & 255, (i * 13) & 255]) : `key-${i}-${'x'.repeat(i % 9)}`
    const message = { key }
    assert.equal(ours.d({ topic: 't', partitionMetadata, message }), theirs.d({ topic: 't', partitionMetadata, message }))
    assert.equal(ours.l({ topic: 't', partitionMetadata, message }), theirs.l({ topic: 't', partitionMetadata, message }))
  }
})

test('every codec, written natively, read back by the Java consumer', { timeout: 90000 }, async () => {
  const topic = uniqueTopic('codecs')
  await createTopics([topic], 1)
  await withProducer({}, {}, async producer => {
    for (const [name, codec] of Object.entries(CompressionTypes)) {
      const messages = Array.from({ length: 20 }, (_, i) => ({ key: `${name}-${i}`, value: `${name} value ${i} ${'abc'.repeat(20)}` }))
      const [res] = await producer.send({ topic, compression: codec, messages })
      assert.equal(res.errorCode, 0)
    }
  })
  const got = readWithJava(topic, 100)
  assert.equal(got.length, 100)
  for (const name of Object.keys(CompressionTypes)) {
    const mine = got.filter(m => m.key.startsWith(`${name}-`))
    assert.equal(mine.length, 20, name)
    assert.equal(mine[7].value, `${name} value 7 ${'abc'.repeat(20)}`)
  }
})

test('acks 0, 1 and -1 all deliver', { timeout: 60000 }, async () => {
  const topic = uniqueTopic('acks')
  await createTopics([topic], 1)
  await withProducer({}, {}, async producer => {
    for (const acks of [-1, 1, 0]) {
      const res = await producer.send({ topic, acks, messages: [{ value: `acks=${acks}` }] })
      assert.equal(res.length, 1)
    }
  })
  const got = await readBack(topic, 3)
  assert.deepEqual(got.map(m => m.value.toString()).sort(), ['acks=-1', 'acks=0', 'acks=1'])
})

test('LegacyPartitioner and custom partitioners run in JS', { timeout: 60000 }, async () => {
  const topic = uniqueTopic('custom')
  await createTopics([topic], 4)
  const seen = []
  const createPartitioner = () => ({ topic: t, partitionMetadata, message }) => {
    seen.push([t, partitionMetadata.length])
    return Number(message.key) % partitionMetadata.length
  }
  await withProducer({}, { createPartitioner }, async producer => {
    const res = await producer.send({ topic, messages: [{ key: '1', value: 'a' }, { key: '3', value: 'b' }] })
    assert.deepEqual(res.map(r => r.partition).sort(), [1, 3])
  })
  assert.deepEqual(seen, [[topic, 4], [topic, 4]])
  await withProducer({}, { createPartitioner: Partitioners.LegacyPartitioner }, async producer => {
    const legacy = Partitioners.LegacyPartitioner()
    const partitionMetadata = [0, 1, 2, 3].map(partitionId => ({ partitionId, leader: 1 }))
    for (const key of ['alpha', 'beta', 'gamma']) {
      const [r] = await producer.send({ topic, messages: [{ key, value: key }] })
      assert.equal(r.partition, legacy({ topic, partitionMetadata, message: { key } }))
    }
  })
})

test('explicit partition is honoured; a missing one is an error', { timeout: 60000 }, async () => {
  const topic = uniqueTopic('explicit')
  await createTopics([topic], 3)
  await withProducer({}, {}, async producer => {
    const [r] = await producer.send({ topic, messages: [{ key: 'any', value: 'v', partition: 2 }] })
    assert.equal(r.partition, 2)
    await assert.rejects(producer.send({ topic, messages: [{ value: 'v', partition: 9 }] }), e => e instanceof KafkaJSError)
  })
})

test('brokers may be an async function', { timeout: 30000 }, async () => {
  const topic = uniqueTopic('fnbrokers')
  await createTopics([topic], 1)
  const kafka = new Kafka({ clientId: 'fn', brokers: async () => brokers, ...quiet })
  const producer = kafka.producer()
  await producer.connect()
  const [r] = await producer.send({ topic, messages: [{ value: 'v' }] })
  assert.equal(r.baseOffset, '0')
  await producer.disconnect()
})

test('idempotent producer', { timeout: 30000 }, async () => {
  const topic = uniqueTopic('idem')
  await createTopics([topic], 1)
  await withProducer({}, { idempotent: true }, async producer => {
    assert.equal(producer.isIdempotent(), true)
    await assert.rejects(producer.send({ topic, acks: 1, messages: [{ value: 'v' }] }), KafkaJSNonRetriableError)
    const [r] = await producer.send({ topic, messages: [{ value: 'v1' }, { value: 'v2' }] })
    assert.equal(r.baseOffset, '0')
  })
})

test('transactions: committed records are read, aborted ones are not (read_committed)', { timeout: 60000 }, async () => {
  const topic = uniqueTopic('txn')
  await createTopics([topic], 1)
  await withProducer({}, { transactionalId: uniqueTopic('txn-id'), maxInFlightRequests: 1, idempotent: true }, async producer => {
    const t1 = await producer.transaction()
    await assert.rejects(producer.transaction(), /already an ongoing transaction/)
    await t1.send({ topic, messages: [{ key: 'k', value: 'committed-1' }] })
    await t1.commit()
    assert.equal(t1.isActive(), false)
    await assert.rejects(t1.send({ topic, messages: [{ value: 'late' }] }), /Cannot continue to use transaction once ended/)
    const t2 = await producer.transaction()
    await t2.sendBatch({ topicMessages: [{ topic, messages: [{ value: 'aborted-1' }, { value: 'aborted-2' }] }] })
    await t2.abort()
    const t3 = await producer.transaction()
    await t3.send({ topic, messages: [{ value: 'committed-2' }] })
    await t3.sendOffsets({ consumerGroupId: uniqueTopic('txn-group'), topics: [{ topic, partitions: [{ partition: 0, offset: '1' }] }] })
    await t3.commit()
  })
  // kafkajs's consumer reads read_committed by default.
  const got = await readBack(topic, 2)
  assert.deepEqual(got.map(m => m.value.toString()), ['committed-1', 'committed-2'])
})

for (const mechanism of ['plain', 'scram-sha-256', 'scram-sha-512']) {
  test(`SASL ${mechanism}: connects and sends; a wrong password is KafkaJSSASLAuthenticationError`, { timeout: 60000 }, async () => {
    const topic = uniqueTopic(`sasl-${mechanism}`)
    await createTopics([topic], 1)
    const sasl = { mechanism, username: env.KAFKA_SASL_USER, password: env.KAFKA_SASL_PASSWORD }
    const kafka = new Kafka({ clientId: 'sasl', brokers: [env.KAFKA_SASL_BOOTSTRAP], sasl, ...quiet })
    const producer = kafka.producer()
    await producer.connect()
    const [r] = await producer.send({ topic, messages: [{ value: mechanism }] })
    assert.equal(r.baseOffset, '0')
    await producer.disconnect()
    const bad = new Kafka({ clientId: 'sasl', brokers: [env.KAFKA_SASL_BOOTSTRAP], sasl: { ...sasl, password: 'wrong' }, ...quiet })
    const e = await bad.producer().connect().then(() => null, e => e)
    assert.ok(e instanceof KafkaJSSASLAuthenticationError, `${e && e.name}: ${e && e.message}`)
  })
}

test('TLS: ssl with the cluster CA; SASL_SSL; an unknown CA fails to connect', { timeout: 60000 }, async () => {
  const topic = uniqueTopic('tls')
  await createTopics([topic], 1)
  const ca = [fs.readFileSync(env.KAFKA_CA_PEM, 'utf8')]
  const kafka = new Kafka({ clientId: 'tls', brokers: [env.KAFKA_SSL_BOOTSTRAP], ssl: { ca, rejectUnauthorized: false }, ...quiet })
  const producer = kafka.producer()
  await producer.connect()
  const [r] = await producer.send({ topic, messages: [{ value: 'over tls' }] })
  assert.equal(r.baseOffset, '0')
  await producer.disconnect()

  const saslSsl = new Kafka({
    clientId: 'sasl-ssl',
    brokers: [env.KAFKA_SASL_SSL_BOOTSTRAP],
    ssl: { ca, rejectUnauthorized: false },
    sasl: { mechanism: 'scram-sha-512', username: env.KAFKA_SASL_USER, password: env.KAFKA_SASL_PASSWORD },
    ...quiet,
  })
  const p2 = saslSsl.producer()
  await p2.connect()
  await p2.send({ topic, messages: [{ value: 'over sasl_ssl' }] })
  await p2.disconnect()

  const untrusted = new Kafka({
    clientId: 'tls-bad',
    brokers: [env.KAFKA_SSL_BOOTSTRAP],
    ssl: { ca: [fs.readFileSync(env.KAFKA_OTHER_CA_PEM, 'utf8')] },
    ...quiet,
    retry: { retries: 0 },
  })
  const e = await untrusted.producer().connect().then(() => null, e => e)
  assert.ok(e instanceof KafkaJSError, `${e && e.name}`)
  assert.ok(e instanceof KafkaJSNumberOfRetriesExceeded || e instanceof KafkaJSConnectionError, `${e.name}: ${e.message}`)
  // Node's tls semantics: rejectUnauthorized:false accepts a certificate from an unknown CA;
  // servername is the name checked against the certificate.
  const anyCert = new Kafka({ clientId: 'tls-any', brokers: [env.KAFKA_SSL_BOOTSTRAP], ssl: { ca: [fs.readFileSync(env.KAFKA_OTHER_CA_PEM, 'utf8')], rejectUnauthorized: false }, ...quiet })
  const p3 = anyCert.producer()
  await p3.connect()
  await p3.disconnect()
  const wrongName = new Kafka({ clientId: 'tls-name', brokers: [env.KAFKA_SSL_BOOTSTRAP], ssl: { ca, servername: 'kafka.invalid' }, ...quiet, retry: { retries: 0 } })
  const e2 = await wrongName.producer().connect().then(() => null, e => e)
  assert.ok(e2 instanceof KafkaJSError, `a certificate not valid for the servername is refused: ${e2 && e2.name}`)
  const rightName = new Kafka({ clientId: 'tls-name-ok', brokers: [env.KAFKA_SSL_BOOTSTRAP], ssl: { ca, servername: 'localhost' }, ...quiet })
  const p4 = rightName.producer()
  await p4.connect()
  await p4.disconnect()
  const got = await readBack(topic, 2)
  assert.deepEqual(got.map(m => m.value.toString()), ['over tls', 'over sasl_ssl'])
})

test('logCreator receives core logs (batched), honouring logLevel', { timeout: 30000 }, async () => {
  const entries = []
  let creatorLevel = null
  const kafka = new Kafka({
    clientId: 'logs',
    brokers: ['127.0.0.1:1'],
    logLevel: logLevel.WARN,
    retry: { retries: 1, initialRetryTime: 50 },
    logCreator: level => {
      creatorLevel = level
      return entry => entries.push(entry)
    },
  })
  assert.equal(creatorLevel, logLevel.WARN)
  await assert.rejects(kafka.producer().connect())
  await new Promise(r => setTimeout(r, 150))
  const core = entries.filter(e => e.namespace === 'Cluster')
  assert.ok(core.length > 0, JSON.stringify(entries))
  for (const e of entries) {
    assert.ok(e.level <= logLevel.WARN)
    assert.ok(['ERROR', 'WARN'].includes(e.label))
    assert.equal(typeof e.log.message, 'string')
    assert.equal(typeof e.log.timestamp, 'string')
  }
  assert.ok(core.some(e => /connection failed/.test(e.log.message) && e.log.addr === '127.0.0.1:1'), JSON.stringify(core))
  // kafka.logger() is a kafkajs logger on the same logCreator.
  const n = entries.length
  kafka.logger().warn('hello', { extra: 1 })
  kafka.logger().debug('not at WARN')
  assert.equal(entries.length, n + 1)
  assert.deepEqual([entries[n].label, entries[n].log.message, entries[n].log.extra], ['WARN', 'hello', 1])
})
