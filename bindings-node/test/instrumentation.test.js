'use strict'
// Network and heartbeat instrumentation events: the SAME bodies against kafkajs and polykafka,
// so what they check is kafkajs's real behaviour.
const test = require('node:test')
const assert = require('node:assert/strict')
const net = require('net')
const { brokers, uniqueTopic, createTopics } = require('./helpers')

const implementations = { kafkajs: require('kafkajs'), polykafka: require('..') }

const sleep = ms => new Promise(r => setTimeout(r, ms))
const waitFor = async (cond, ms, what) => {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(50)
  }
}

const REQUEST_FIELDS = ['broker', 'clientId', 'correlationId', 'size', 'createdAt', 'sentAt', 'pendingDuration', 'duration', 'apiName', 'apiKey', 'apiVersion']
const TIMEOUT_FIELDS = ['broker', 'clientId', 'correlationId', 'createdAt', 'sentAt', 'pendingDuration', 'apiName', 'apiKey', 'apiVersion']

function checkRequest(e, type, clientId, started) {
  assert.equal(e.type, type)
  assert.equal(typeof e.id, 'number')
  assert.equal(typeof e.timestamp, 'number')
  const p = e.payload
  assert.deepEqual(Object.keys(p).sort(), [...REQUEST_FIELDS].sort())
  assert.equal(p.clientId, clientId)
  assert.ok(brokers.includes(p.broker), p.broker)
  for (const k of ['correlationId', 'size', 'createdAt', 'sentAt', 'pendingDuration', 'duration', 'apiKey', 'apiVersion']) {
    assert.equal(typeof p[k], 'number', k)
  }
  assert.ok(p.createdAt >= started - 5 && p.createdAt <= p.sentAt && p.sentAt <= Date.now(), JSON.stringify(p))
  assert.ok(p.pendingDuration >= 0 && p.duration >= 0, JSON.stringify(p))
}

for (const [name, lib] of Object.entries(implementations)) {
  const quiet = { logLevel: lib.logLevel.NOTHING, retry: { retries: 2, initialRetryTime: 100 } }

  test(`events[${name}]: producer and admin REQUEST events; the remover stops them`, { timeout: 60000 }, async () => {
    const topic = uniqueTopic(`ev-${name}`)
    await createTopics([topic], 1)
    const clientId = `events-${name}`
    const kafka = new lib.Kafka({ clientId, brokers, ...quiet })
    const producer = kafka.producer()
    const seen = []
    const remove = producer.on(producer.events.REQUEST, e => seen.push(e))
    const started = Date.now()
    await producer.connect()
    await producer.send({ topic, messages: [{ value: 'x' }] })
    await waitFor(() => seen.some(e => e.payload.apiName === 'Produce'), 10000, 'a Produce request event')
    const produce = seen.filter(e => e.payload.apiName === 'Produce')
    assert.equal(produce.length, 1)
    checkRequest(produce[0], 'producer.network.request', clientId, started)
    assert.equal(produce[0].payload.apiKey, 0)
    assert.ok(produce[0].payload.size > 0)
    for (const e of seen) checkRequest(e, 'producer.network.request', clientId, started)
    const apis = new Set(seen.map(e => e.payload.apiName))
    assert.ok(apis.has('ApiVersions') && apis.has('Metadata'), [...apis].join(','))
    remove()
    const n = seen.length
    await producer.send({ topic, messages: [{ value: 'y' }] })
    await sleep(300)
    assert.equal(seen.length, n, 'no event after the remover ran')
    await producer.disconnect()

    const admin = kafka.admin()
    const adminSeen = []
    admin.on(admin.events.REQUEST, e => adminSeen.push(e))
    await admin.connect()
    await admin.listTopics()
    await waitFor(() => adminSeen.some(e => e.payload.apiName === 'Metadata'), 10000, 'an admin Metadata request event')
    for (const e of adminSeen) checkRequest(e, 'admin.network.request', clientId, started)
    await admin.disconnect()
  })

  test(`events[${name}]: consumer HEARTBEAT and REQUEST events`, { timeout: 90000 }, async () => {
    const topic = uniqueTopic(`evc-${name}`)
    await createTopics([topic], 1)
    const groupId = uniqueTopic(`evg-${name}`)
    const clientId = `events-consumer-${name}`
    const kafka = new lib.Kafka({ clientId, brokers, ...quiet })
    const consumer = kafka.consumer({ groupId, heartbeatInterval: 200, sessionTimeout: 6000, maxWaitTimeInMs: 100 })
    const beats = []
    const requests = []
    const removeBeats = consumer.on(consumer.events.HEARTBEAT, e => beats.push(e))
    consumer.on(consumer.events.REQUEST, e => requests.push(e))
    const started = Date.now()
    await consumer.connect()
    await consumer.subscribe({ topics: [topic] })
    await consumer.run({ eachMessage: async () => {} })
    try {
      await waitFor(() => beats.length >= 3, 30000, 'three heartbeats')
      for (const e of beats) {
        assert.equal(e.type, 'consumer.heartbeat')
        assert.deepEqual(Object.keys(e.payload).sort(), ['groupGenerationId', 'groupId', 'memberId'])
        assert.equal(e.payload.groupId, groupId)
        assert.ok(typeof e.payload.memberId === 'string' && e.payload.memberId.length > 0, e.payload.memberId)
        assert.ok(Number.isInteger(e.payload.groupGenerationId) && e.payload.groupGenerationId >= 1, JSON.stringify(e.payload))
      }
      assert.equal(new Set(beats.map(e => e.payload.memberId)).size, 1)
      const apis = new Set(requests.map(e => e.payload.apiName))
      for (const api of ['Fetch', 'Heartbeat', 'JoinGroup', 'SyncGroup']) assert.ok(apis.has(api), `${api} in ${[...apis]}`)
      for (const e of requests) checkRequest(e, 'consumer.network.request', clientId, started)
      removeBeats()
      const n = beats.length
      await sleep(1000)
      assert.equal(beats.length, n, 'no heartbeat event after the remover ran')
    } finally {
      await consumer.disconnect()
    }
  })

  test(`events[${name}]: REQUEST_TIMEOUT from a broker that never answers`, { timeout: 30000 }, async () => {
    // A listener that accepts connections and never writes: the first request (ApiVersions)
    // times out after requestTimeout, deterministically.
    const sockets = []
    const server = net.createServer(s => sockets.push(s))
    await new Promise(r => server.listen(0, '127.0.0.1', r))
    const broker = `127.0.0.1:${server.address().port}`
    try {
      const clientId = `timeouts-${name}`
      const kafka = new lib.Kafka({
        clientId,
        brokers: [broker],
        requestTimeout: 300,
        connectionTimeout: 5000,
        logLevel: lib.logLevel.NOTHING,
        retry: { retries: 0 },
      })
      const producer = kafka.producer()
      const timeouts = []
      producer.on(producer.events.REQUEST_TIMEOUT, e => timeouts.push(e))
      const started = Date.now()
      await assert.rejects(producer.connect())
      await waitFor(() => timeouts.length >= 1, 5000, 'a request timeout event')
      const e = timeouts[0]
      assert.equal(e.type, 'producer.network.request_timeout')
      assert.deepEqual(Object.keys(e.payload).sort(), [...TIMEOUT_FIELDS].sort())
      const p = e.payload
      assert.deepEqual([p.broker, p.clientId, p.apiName, p.apiKey], [broker, clientId, 'ApiVersions', 18])
      assert.ok(p.createdAt >= started - 5 && p.createdAt <= p.sentAt, JSON.stringify(p))
      assert.ok(Date.now() - p.sentAt >= 290, JSON.stringify(p))
    } finally {
      for (const s of sockets) s.destroy()
      await new Promise(r => server.close(r))
    }
  })
}

test('events[polykafka]: without listeners no event reaches JS', { timeout: 60000 }, async () => {
  const lib = implementations.polykafka
  const topic = uniqueTopic('ev-none')
  await createTopics([topic], 1)
  const kafka = new lib.Kafka({ clientId: 'events-none', brokers, logLevel: lib.logLevel.NOTHING })
  const producer = kafka.producer()
  let batches = 0
  const deliver = producer._emitter._deliver.bind(producer._emitter)
  producer._emitter._deliver = (...args) => {
    batches++
    return deliver(...args)
  }
  producer.on(producer.events.CONNECT, () => {})
  await producer.connect()
  for (let i = 0; i < 20; i++) await producer.send({ topic, messages: [{ value: `m${i}` }] })
  await sleep(200)
  assert.equal(batches, 0)
  // A listener turns them on; many requests come in few batches.
  const seen = []
  producer.on(producer.events.REQUEST, e => seen.push(e))
  await Promise.all(Array.from({ length: 50 }, (_, i) => producer.send({ topic, messages: [{ value: `n${i}` }] })))
  await waitFor(() => seen.filter(e => e.payload.apiName === 'Produce').length >= 1, 5000, 'produce events')
  assert.ok(batches >= 1 && batches <= seen.length, `${batches} batches for ${seen.length} events`)
  await producer.disconnect()
})
