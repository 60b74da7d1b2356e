'use strict'
// The SAME test body runs against the real kafkajs package and against polykafka: what it
// checks is kafkajs's actual behaviour, and ours has to match it.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('fs')
const { brokers, uniqueTopic, createTopics, readBack } = require('./helpers')

const implementations = {
  kafkajs: require('kafkajs'),
  polykafka: require('..'),
}

// Java's murmur2 partition of each key among 6 partitions (from Kafka's own
// Utils.toPositive(Utils.murmur2(key)) % 6; kafkajs's DefaultPartitioner agrees).
const KEYS = ['user-123', 'order-42', 'a', 'bb', 'ccc', 'dddd', '', 'key-with-ünïcode', 'payment-7', '0']

async function expectReject(promise) {
  try {
    await promise
  } catch (e) {
    return e
  }
  assert.fail('expected a rejection')
}

for (const [name, lib] of Object.entries(implementations)) {
  test(`compat[${name}]: producer behaves like kafkajs`, { timeout: 120000 }, async t => {
    const { Kafka, logLevel, CompressionTypes, KafkaJSError, KafkaJSNonRetriableError, KafkaJSProtocolError } = lib
    const kafka = new Kafka({ clientId: `compat-${name}`, brokers, logLevel: logLevel.NOTHING, retry: { retries: 2, initialRetryTime: 100 } })
    const topic = uniqueTopic(`compat-${name}`)
    await createTopics([topic], 6)

    const producer = kafka.producer()
    assert.equal(producer.events.CONNECT, 'producer.connect')
    assert.equal(producer.events.REQUEST_TIMEOUT, 'producer.network.request_timeout')
    assert.throws(() => producer.on('nope', () => {}), KafkaJSNonRetriableError)

    await t.test('send before connect rejects', async () => {
      const e = await expectReject(producer.send({ topic, messages: [{ value: 'x' }] }))
      assert.ok(e instanceof KafkaJSError)
      assert.equal(e.name, 'KafkaJSError')
      assert.match(e.message, /disconnected/)
    })

    const events = []
    const remove = producer.on(producer.events.CONNECT, e => events.push(e))
    await producer.connect()
    remove()
    assert.equal(events.length, 1)
    assert.equal(events[0].type, 'producer.connect')
    assert.equal(typeof events[0].id, 'number')
    assert.equal(typeof events[0].timestamp, 'number')

    await t.test('keys go to the Java murmur2 partition; metadata has kafkajs fields', async () => {
      const expected = new Map()
      const { Partitioners } = require('kafkajs')
      const partitioner = Partitioners.DefaultPartitioner()
      const partitionMetadata = [0, 1, 2, 3, 4, 5].map(partitionId => ({ partitionId, leader: 1 }))
      for (const key of KEYS) expected.set(key, partitioner({ topic, partitionMetadata, message: { key } }))
      for (const key of KEYS) {
        const res = await producer.send({ topic, messages: [{ key, value: `v-${key}` }] })
        assert.equal(res.length, 1)
        const [m] = res
        assert.equal(m.topicName, topic)
        assert.equal(m.partition, expected.get(key), `key ${JSON.stringify(key)}`)
        assert.equal(m.errorCode, 0)
        assert.equal(typeof m.baseOffset, 'string')
        assert.match(m.baseOffset, /^\d+$/)
        assert.equal(typeof m.logAppendTime, 'string')
        assert.equal(typeof m.logStartOffset, 'string')
      }
    })

    await t.test('sendBatch: one entry per topic-partition, offsets as strings', async () => {
      const other = uniqueTopic(`compat-${name}-b`)
      await createTopics([other], 1)
      const res = await producer.sendBatch({
        compression: CompressionTypes.GZIP,
        topicMessages: [
          { topic: other, messages: [{ value: 'one' }, { value: 'two' }, { value: 'three' }] },
          { topic, messages: [{ key: 'a', value: '1' }, { key: 'a', value: '2' }] },
        ],
      })
      assert.equal(res.length, 2)
      const first = res.find(r => r.topicName === other)
      assert.deepEqual([first.partition, first.baseOffset, first.errorCode], [0, '0', 0])
      const keyed = res.find(r => r.topicName === topic)
      const { Partitioners } = require('kafkajs')
      const partitionMetadata = [0, 1, 2, 3, 4, 5].map(partitionId => ({ partitionId, leader: 1 }))
      assert.equal(keyed.partition, Partitioners.DefaultPartitioner()({ topic, partitionMetadata, message: { key: 'a' } }))
      assert.match(keyed.baseOffset, /^\d+$/)
      const got = await readBack(other, 3)
      assert.deepEqual(got.map(m => m.value.toString()), ['one', 'two', 'three'])
      assert.deepEqual(got.map(m => m.offset), ['0', '1', '2'])
    })

    await t.test('keys, values and headers arrive intact', async () => {
      const t2 = uniqueTopic(`compat-${name}-h`)
      await createTopics([t2], 1)
      await producer.send({
        topic: t2,
        messages: [
          { key: 'k1', value: 'string value', headers: { a: 'x', many: ['1', Buffer.from('2')] } },
          { key: Buffer.from([0, 1, 2]), value: Buffer.from([255, 254]), timestamp: '1700000000000' },
          { key: null, value: null },
        ],
      })
      const got = await readBack(t2, 3)
      assert.equal(got[0].key.toString(), 'k1')
      assert.equal(got[0].value.toString(), 'string value')
      assert.equal(got[0].headers.a.toString(), 'x')
      assert.deepEqual(got[0].headers.many.map(String), ['1', '2'])
      assert.deepEqual([...got[1].key], [0, 1, 2])
      assert.deepEqual([...got[1].value], [255, 254])
      assert.equal(got[1].timestamp, '1700000000000')
      assert.equal(got[2].key, null)
      assert.equal(got[2].value, null)
    })

    await t.test('a message without value is refused', async () => {
      const e = await expectReject(producer.send({ topic, messages: [{ key: 'k' }] }))
      assert.ok(e instanceof KafkaJSNonRetriableError)
      assert.match(e.message, /Invalid message without value/)
    })

    await t.test('too large a message: KafkaJSProtocolError MESSAGE_TOO_LARGE', async () => {
      const e = await expectReject(producer.send({ topic, messages: [{ value: Buffer.alloc(2 * 1024 * 1024, 1) }] }))
      assert.ok(e instanceof KafkaJSProtocolError, `${e.name}: ${e.message}`)
      assert.equal(e.type, 'MESSAGE_TOO_LARGE')
      assert.equal(e.code, 10)
      assert.equal(e.retriable, false)
    })

    await t.test('transaction() without transactionalId', async () => {
      const e = await expectReject(producer.transaction())
      assert.ok(e instanceof KafkaJSNonRetriableError)
      assert.match(e.message, /Must provide transactional id/)
    })

    const disconnects = []
    producer.on(producer.events.DISCONNECT, e => disconnects.push(e))
    await producer.disconnect()
    assert.equal(disconnects.length, 1)
    assert.equal(disconnects[0].type, 'producer.disconnect')

    await t.test('unknown topic with allowAutoTopicCreation false', async () => {
      const p = kafka.producer({ allowAutoTopicCreation: false })
      await p.connect()
      try {
        const e = await expectReject(p.send({ topic: uniqueTopic('missing'), messages: [{ value: 'x' }] }))
        const inner = e.cause || e
        assert.ok(e instanceof KafkaJSError, `${e.name}`)
        assert.equal(e.name, 'KafkaJSNumberOfRetriesExceeded')
        assert.ok(inner instanceof KafkaJSProtocolError, `${inner.name}: ${inner.message}`)
        assert.equal(inner.type, 'UNKNOWN_TOPIC_OR_PARTITION')
        assert.equal(inner.code, 3)
        assert.equal(inner.retriable, true)
      } finally {
        await p.disconnect()
      }
    })

    await t.test('unreachable broker: NumberOfRetriesExceeded caused by a connection error', async () => {
      const dead = new Kafka({ clientId: 'dead', brokers: ['127.0.0.1:1'], logLevel: logLevel.NOTHING, retry: { retries: 1, initialRetryTime: 50 } })
      const p = dead.producer()
      const e = await expectReject(p.connect())
      assert.equal(e.name, 'KafkaJSNumberOfRetriesExceeded', `${e.name}: ${e.message}`)
      assert.ok(e instanceof lib.KafkaJSNumberOfRetriesExceeded)
      assert.ok(e instanceof KafkaJSNonRetriableError)
      assert.equal(e.retriable, false)
      assert.ok(e.cause instanceof lib.KafkaJSConnectionError, `${e.cause && e.cause.name}`)
      assert.match(e.cause.message, /Connection error/)
    })
  })
}

/** The inodes of this process's established TCP connections (Linux /proc). */
function tcpConnections() {
  const inodes = new Set()
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/self/fd/${fd}`))
      if (m) inodes.add(m[1])
    } catch (_) {
      // closed meanwhile
    }
  }
  const out = new Set()
  for (const file of ['/proc/self/net/tcp', '/proc/self/net/tcp6']) {
    let text = ''
    try {
      text = fs.readFileSync(file, 'utf8')
    } catch (_) {
      continue
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/)
      // st 01 = ESTABLISHED; column 9 is the socket's inode.
      if (cols.length > 9 && cols[3] === '01' && inodes.has(cols[9])) out.add(cols[9])
    }
  }
  return out
}

for (const [name, lib] of Object.entries(implementations)) {
  test(`compat[${name}]: one producer's sends with other acks and compression use the connections it has`, { timeout: 60000 }, async () => {
    const { Kafka, logLevel, CompressionTypes } = lib
    const topic = uniqueTopic(`conns-${name}`)
    await createTopics([topic], 2)
    const kafka = new Kafka({ clientId: `conns-${name}`, brokers, logLevel: logLevel.NOTHING })
    const producer = kafka.producer()
    const before = tcpConnections()
    await producer.connect()
    try {
      await producer.send({ topic, acks: -1, messages: [{ value: 'first' }] })
      const opened = new Set([...tcpConnections()].filter(s => !before.has(s)))
      assert.ok(opened.size >= 1, 'the producer holds a connection')
      await producer.send({ topic, acks: 1, messages: [{ value: 'acks 1' }] })
      await producer.send({ topic, acks: 0, messages: [{ value: 'acks 0' }] })
      await producer.send({ topic, acks: -1, compression: CompressionTypes.GZIP, messages: [{ value: 'gzip' }] })
      await producer.send({ topic, acks: 1, compression: CompressionTypes.GZIP, messages: [{ value: 'gzip acks 1' }] })
      const later = [...tcpConnections()].filter(s => !before.has(s) && !opened.has(s))
      assert.deepEqual(later, [], 'no connection opened after the first send')
    } finally {
      await producer.disconnect()
    }
    const values = (await readBack(topic, 5)).map(m => String(m.value)).sort()
    assert.deepEqual(values, ['acks 0', 'acks 1', 'first', 'gzip', 'gzip acks 1'])
  })
}
