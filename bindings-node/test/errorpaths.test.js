'use strict'
// Error paths: the SAME body against kafkajs and polykafka. Broker errors (class, type, code,
// and kafkajs's text leading the message), unreachable and silent brokers, use after
// disconnect, and the argument checks kafkajs makes before sending anything.
const test = require('node:test')
const assert = require('node:assert/strict')
const net = require('net')
const { brokers, uniqueTopic, createTopics } = require('./helpers')

const implementations = { kafkajs: require('kafkajs'), polykafka: require('..') }

const UNKNOWN_TOPIC_TEXT = 'This server does not host this topic-partition'
const NOT_RUNNING = 'Consumer group was not initialized, consumer#run must be called first'

async function rejection(promise) {
  try {
    await promise
  } catch (e) {
    return e
  }
  assert.fail('expected a rejection')
}

function thrown(fn) {
  try {
    fn()
  } catch (e) {
    return e
  }
  assert.fail('expected a throw')
}

/** A TCP server that accepts connections and never answers. */
async function silentServer() {
  const sockets = new Set()
  const server = net.createServer(s => {
    sockets.add(s)
    s.on('error', () => {})
    s.on('close', () => sockets.delete(s))
  })
  await new Promise(r => server.listen(0, '127.0.0.1', r))
  return {
    address: `127.0.0.1:${server.address().port}`,
    close: () => {
      for (const s of sockets) s.destroy()
      return new Promise(r => server.close(r))
    },
  }
}

for (const [name, lib] of Object.entries(implementations)) {
  test(`error paths[${name}]`, { timeout: 180000 }, async t => {
    const {
      Kafka,
      logLevel,
      KafkaJSError,
      KafkaJSNonRetriableError,
      KafkaJSProtocolError,
      KafkaJSNumberOfRetriesExceeded,
      KafkaJSConnectionError,
      KafkaJSRequestTimeoutError,
    } = lib
    const kafka = new Kafka({ clientId: `errors-${name}`, brokers, logLevel: logLevel.NOTHING, retry: { retries: 2, initialRetryTime: 100 } })
    const topic = uniqueTopic(`errors-${name}`)
    await createTopics([topic], 2)

    await t.test('send to a missing topic (allowAutoTopicCreation false): kafkajs text, retries exceeded', async () => {
      const p = kafka.producer({ allowAutoTopicCreation: false })
      await p.connect()
      try {
        const e = await rejection(p.send({ topic: uniqueTopic('missing'), messages: [{ value: 'x' }] }))
        assert.ok(e instanceof KafkaJSNumberOfRetriesExceeded, `${e.name}: ${e.message}`)
        assert.ok(e.message.startsWith(UNKNOWN_TOPIC_TEXT), e.message)
        assert.ok(e.cause instanceof KafkaJSProtocolError, `${e.cause && e.cause.name}`)
        assert.equal(e.cause.type, 'UNKNOWN_TOPIC_OR_PARTITION')
        assert.equal(e.cause.code, 3)
        assert.ok(e.cause.message.startsWith(UNKNOWN_TOPIC_TEXT), e.cause.message)
      } finally {
        await p.disconnect()
      }
    })

    await t.test('send to an invalid topic name: KafkaJSNonRetriableError caused by INVALID_TOPIC_EXCEPTION', async () => {
      const p = kafka.producer()
      await p.connect()
      try {
        const e = await rejection(p.send({ topic: 'not a valid name!', messages: [{ value: 'x' }] }))
        assert.ok(e instanceof KafkaJSNonRetriableError, `${e.name}: ${e.message}`)
        assert.ok(e.cause instanceof KafkaJSProtocolError, `${e.cause && e.cause.name}`)
        assert.equal(e.cause.type, 'INVALID_TOPIC_EXCEPTION')
        assert.ok(e.message.startsWith('The request attempted to perform an operation on an invalid topic'), e.message)
      } finally {
        await p.disconnect()
      }
    })

    await t.test('subscribe to a missing topic (allowAutoTopicCreation false): KafkaJSProtocolError', async () => {
      const c = kafka.consumer({ groupId: uniqueTopic('errors-g'), allowAutoTopicCreation: false })
      await c.connect()
      try {
        const e = await rejection(c.subscribe({ topics: [uniqueTopic('missing')] }))
        assert.ok(e instanceof KafkaJSProtocolError, `${e.name}: ${e.message}`)
        assert.equal(e.type, 'UNKNOWN_TOPIC_OR_PARTITION')
        assert.equal(e.code, 3)
        assert.ok(e.message.startsWith(UNKNOWN_TOPIC_TEXT), e.message)
        // An existing topic subscribes.
        await c.subscribe({ topics: [topic] })
      } finally {
        await c.disconnect()
      }
    })

    await t.test('unreachable bootstrap: every client rejects connect with retries exceeded, caused by a connection error', async () => {
      const dead = new Kafka({ clientId: 'dead', brokers: ['127.0.0.1:1'], logLevel: logLevel.NOTHING, retry: { retries: 1, initialRetryTime: 50 } })
      for (const client of [dead.producer(), dead.consumer({ groupId: 'dead' }), dead.admin()]) {
        const started = Date.now()
        const e = await rejection(client.connect())
        assert.ok(e instanceof KafkaJSNumberOfRetriesExceeded, `${e.name}: ${e.message}`)
        assert.equal(e.retriable, false)
        assert.ok(e.cause instanceof KafkaJSConnectionError, `${e.cause && e.cause.name}`)
        // Node's words for a refused connection lead the message, as in kafkajs.
        assert.ok(e.message.startsWith('Connection error: connect ECONNREFUSED 127.0.0.1:1'), e.message)
        assert.equal(e.cause.code, 'ECONNREFUSED')
        assert.ok(Date.now() - started < 20000, 'gave up long before 20 s')
      }
    })

    await t.test('a broker that never answers: retries exceeded, caused by a request timeout', async () => {
      const server = await silentServer()
      try {
        const silent = new Kafka({ clientId: 'silent', brokers: [server.address], logLevel: logLevel.NOTHING, requestTimeout: 1000, retry: { retries: 0 } })
        const started = Date.now()
        const e = await rejection(silent.producer().connect())
        assert.ok(e instanceof KafkaJSNumberOfRetriesExceeded, `${e.name}: ${e.message}`)
        assert.ok(e.cause instanceof KafkaJSRequestTimeoutError, `${e.cause && e.cause.name}: ${e.cause && e.cause.message}`)
        assert.ok(Date.now() - started < 20000, 'timed out long before 20 s')
      } finally {
        await server.close()
      }
    })

    await t.test('send before connect and after disconnect: KafkaJSError "The producer is disconnected"', async () => {
      const p = kafka.producer()
      let e = await rejection(p.send({ topic, messages: [{ value: 'x' }] }))
      assert.ok(e instanceof KafkaJSError && !(e instanceof KafkaJSNonRetriableError), e.name)
      assert.equal(e.message, 'The producer is disconnected')
      await p.connect()
      await p.disconnect()
      e = await rejection(p.send({ topic, messages: [{ value: 'x' }] }))
      assert.equal(e.message, 'The producer is disconnected')
      assert.equal(e.retriable, true)
    })

    await t.test('send: argument checks before any request', async () => {
      const p = kafka.producer()
      await p.connect()
      try {
        let e = await rejection(p.send({ topic: '', messages: [{ value: 'x' }] }))
        assert.ok(e instanceof KafkaJSNonRetriableError)
        assert.equal(e.message, 'Invalid topic')
        e = await rejection(p.send({ topic }))
        assert.equal(e.message, `Invalid messages array [undefined] for topic "${topic}"`)
        e = await rejection(p.send({ topic, messages: [{ key: 'k' }] }))
        assert.equal(e.message, `Invalid message without value for topic "${topic}": {"key":"k"}`)
        // Keys, values and header values must be strings or bytes: others are not stringified.
        for (const message of [{ value: 5 }, { key: 5, value: 'x' }, { value: { a: 1 } }, { value: 'x', headers: { h: 5 } }]) {
          e = await rejection(p.send({ topic, messages: [message] }))
          assert.ok(e instanceof TypeError, `${JSON.stringify(message)}: ${e.name}`)
          assert.equal(e.code, 'ERR_INVALID_ARG_TYPE')
        }
        // acks other than -1, 0, 1: the broker's INVALID_REQUIRED_ACKS.
        e = await rejection(p.send({ topic, acks: 2, messages: [{ value: 'x' }] }))
        assert.ok(e instanceof KafkaJSProtocolError, `${e.name}: ${e.message}`)
        assert.equal(e.type, 'INVALID_REQUIRED_ACKS')
        assert.equal(e.message, 'Produce request specified an invalid value for required acks')
        // Strings, Buffers and null are fine. (kafkajs 2.2.4 writes a plain Uint8Array key so
        // that the broker refuses the record, INVALID_RECORD; polykafka sends its bytes.)
        const sent = await p.send({
          topic,
          messages: [{ key: Buffer.from([1, 2]), value: Buffer.from('b'), headers: { h: 'v' } }, { value: null }],
        })
        assert.ok(Array.isArray(sent) && sent.length >= 1)
      } finally {
        await p.disconnect()
      }
    })

    await t.test('consumer: commitOffsets, seek, pause and resume check their arguments, then need run()', async () => {
      const c = kafka.consumer({ groupId: uniqueTopic('errors-g') })
      await c.connect()
      try {
        const commitChecks = [
          [{ topic, partition: 0, offset: '-5' }, 'Offset must not be a negative number'],
          [{ topic, partition: 0, offset: -1 }, 'Offset must not be a negative number'],
          [{ topic, partition: 0, offset: 'abc' }, 'Invalid offset, expected a long received abc'],
          [{ topic, partition: 0 }, 'Invalid offset, expected a long received undefined'],
          [{ topic, partition: 'x', offset: '1' }, 'Invalid partition, expected a number received x'],
          [{ partition: 0, offset: '1' }, 'Invalid topic undefined'],
          [{ topic, partition: 0, offset: '1', metadata: 5 }, 'Invalid offset metadata, expected string or null, received 5'],
        ]
        // Checked before anything else: the same errors before and after run().
        for (const [offset, message] of commitChecks) {
          const e = await rejection(c.commitOffsets([offset]))
          assert.ok(e instanceof KafkaJSNonRetriableError, `${JSON.stringify(offset)}: ${e.name}`)
          assert.equal(e.message, message)
        }
        let e = await rejection(c.commitOffsets([{ topic, partition: 0, offset: '1' }]))
        assert.equal(e.message, NOT_RUNNING)
        const seekChecks = [
          [{ topic, partition: 0, offset: '-5' }, 'Offset must not be a negative number'],
          [{ topic, partition: 0, offset: 'abc' }, 'Invalid offset, expected a long received abc'],
          [{ topic, partition: 'x', offset: '1' }, 'Invalid partition, expected a number received x'],
          [{ partition: 0, offset: '1' }, 'Invalid topic undefined'],
          [{ topic, partition: 0, offset: '1' }, NOT_RUNNING],
          [{ topic, partition: 0, offset: '-2' }, NOT_RUNNING], // earliest: a valid offset
        ]
        for (const [offset, message] of seekChecks) {
          e = thrown(() => c.seek(offset))
          assert.ok(e instanceof KafkaJSNonRetriableError, `${JSON.stringify(offset)}: ${e.name}`)
          assert.equal(e.message, message)
        }
        for (const [method, what] of [['pause', 'pause'], ['resume', 'resume']]) {
          e = thrown(() => c[method]([{ topic, partitions: ['x'] }]))
          assert.equal(e.message, `Array of valid partitions required to ${what} specific partitions instead of x`)
          e = thrown(() => c[method]([{ partitions: [0] }]))
          assert.equal(e.message, 'Invalid topic [object Object]')
          e = thrown(() => c[method]([{ topic }]))
          assert.equal(e.message, NOT_RUNNING)
        }
        assert.deepEqual(c.paused(), [])

        // After run() (which resolves once the group is joined) the same checks, and valid calls work.
        await c.subscribe({ topics: [topic], fromBeginning: true })
        await c.run({ eachMessage: async () => {} })
        for (const [offset, message] of commitChecks) {
          e = await rejection(c.commitOffsets([offset]))
          assert.equal(e.message, message)
        }
        await c.commitOffsets([{ topic, partition: 0, offset: '0' }])
        c.seek({ topic, partition: 1, offset: '0' })
        // A partition this member does not own: kept for later, as kafkajs does.
        c.seek({ topic: uniqueTopic('not-mine'), partition: 0, offset: '0' })
        e = thrown(() => c.seek({ topic, partition: 0, offset: '-5' }))
        assert.equal(e.message, 'Offset must not be a negative number')
        c.pause([{ topic, partitions: [0] }])
        assert.deepEqual(c.paused(), [{ topic, partitions: [0] }])
        c.resume([{ topic, partitions: [0] }])
        assert.deepEqual(c.paused(), [])
      } finally {
        await c.disconnect()
      }
    })

    await t.test('subscribe: argument checks', async () => {
      const c = kafka.consumer({ groupId: uniqueTopic('errors-g') })
      let e = await rejection(c.subscribe({}))
      assert.equal(e.message, 'Missing required argument "topics"')
      e = await rejection(c.subscribe({ topics: topic }))
      assert.equal(e.message, 'Argument "topics" must be an array')
      e = await rejection(c.subscribe({ topics: [5] }))
      assert.equal(e.message, 'Invalid topic 5 (number), the topic name has to be a String or a RegExp')
      assert.ok(e instanceof KafkaJSNonRetriableError)
      await c.subscribe({ topics: [] }) // nothing to subscribe to is not an error
      await c.disconnect()
    })

    await t.test('admin: argument checks before any request; broker errors with kafkajs text', async () => {
      const admin = kafka.admin()
      await admin.connect()
      try {
        const checks = [
          [() => admin.createPartitions({ topicPartitions: [] }), 'Empty topic partitions array'],
          [
            () => admin.createPartitions({ topicPartitions: [{ topic, count: 3 }, { topic, count: 4 }] }),
            'Invalid topic partitions array, it cannot have multiple entries for the same topic',
          ],
          [() => admin.describeConfigs({ resources: [] }), 'Resources array cannot be empty'],
          [() => admin.describeConfigs({ resources: [{ type: 99, name: topic }] }), `Invalid resource type 99: {"type":99,"name":"${topic}"}`],
          [() => admin.describeConfigs({ resources: [{ type: 2, name: '' }] }), 'Invalid resource name : {"type":2,"name":""}'],
          [() => admin.alterConfigs({ resources: [] }), 'Resources array cannot be empty'],
          [
            () => admin.alterConfigs({ resources: [{ type: 2, name: topic }] }),
            `Invalid resource configEntries undefined: {"type":2,"name":"${topic}"}`,
          ],
          [
            () => admin.alterConfigs({ resources: [{ type: 2, name: topic, configEntries: [{ name: 'retention.ms', value: 5 }] }] }),
            `Invalid resource config value: {"type":2,"name":"${topic}","configEntries":[{"name":"retention.ms","value":5}]}`,
          ],
          [() => admin.deleteGroups([5]), 'Invalid groupId name: true'],
          [() => admin.fetchTopicMetadata({ topics: [5] }), 'Invalid topic 5'],
        ]
        for (const [call, message] of checks) {
          const e = await rejection(call())
          assert.ok(e instanceof KafkaJSNonRetriableError, `${message}: ${e.name}: ${e.message}`)
          assert.equal(e.message, message)
        }
        // Metadata of a missing topic: the protocol error as it is.
        let e = await rejection(admin.fetchTopicMetadata({ topics: [uniqueTopic('missing')] }))
        assert.ok(e instanceof KafkaJSProtocolError, `${e.name}: ${e.message}`)
        assert.equal(e.type, 'UNKNOWN_TOPIC_OR_PARTITION')
        assert.ok(e.message.startsWith(UNKNOWN_TOPIC_TEXT), e.message)
        // Deleting a missing topic: retried, then retries exceeded.
        e = await rejection(admin.deleteTopics({ topics: [uniqueTopic('missing')] }))
        assert.ok(e instanceof KafkaJSNumberOfRetriesExceeded, `${e.name}: ${e.message}`)
        assert.equal(e.cause.type, 'UNKNOWN_TOPIC_OR_PARTITION')
        assert.ok(e.message.startsWith(UNKNOWN_TOPIC_TEXT), e.message)
        // Fewer partitions than the topic has: the broker's INVALID_PARTITIONS with its text.
        e = await rejection(admin.createPartitions({ topicPartitions: [{ topic, count: 1 }] }))
        assert.ok(e instanceof KafkaJSProtocolError, `${e.name}: ${e.message}`)
        assert.equal(e.type, 'INVALID_PARTITIONS')
        assert.ok(e.message.startsWith('Number of partitions is invalid'), e.message)
        e = await rejection(admin.describeGroups('not-an-array'))
        assert.ok(e instanceof TypeError, e.name)
      } finally {
        await admin.disconnect()
      }
    })
  })
}

// polykafka only (kafkajs has no native engine): a panic inside the engine, from a synchronous
// and from an asynchronous native entry point, is a typed error and the process lives on.
test('a panic inside the engine is a KafkaJSNonRetriableError; the process keeps producing', { timeout: 60000 }, async () => {
  const { Kafka, logLevel, KafkaJSNonRetriableError } = require('..')
  const native = require('../lib/native')
  const topic = uniqueTopic('panic')
  await createTopics([topic], 1)
  const producer = new Kafka({ clientId: 'panic', brokers, logLevel: logLevel.NOTHING }).producer()
  await producer.connect()
  try {
    let sync = null
    try {
      native.testPanicSync()
    } catch (e) {
      sync = e
    }
    assert.ok(sync instanceof KafkaJSNonRetriableError, `${sync && sync.name}: ${sync && sync.message}`)
    assert.match(sync.message, /panicked on purpose for a test: node/)
    assert.equal(sync.retriable, false)
    const async = await native.testPanicAsync().then(
      () => null,
      e => e
    )
    assert.ok(async instanceof KafkaJSNonRetriableError, `${async && async.name}: ${async && async.message}`)
    assert.match(async.message, /panicked on purpose for a test: node/)
    // Still alive, and the engine still works.
    const [r] = await producer.send({ topic, messages: [{ value: 'after the panics' }] })
    assert.equal(r.errorCode, 0)
    assert.equal(r.baseOffset, '0')
  } finally {
    await producer.disconnect()
  }
})
