'use strict'
// The module from worker_threads (#22), the SAME body against kafkajs and polykafka: two workers and
// the main thread at once, each producing to its own topic and consuming it back; then a worker
// terminated while its producer and consumer are connected: the process lives on and the main
// thread's client keeps working. polykafka's native module is loaded once per thread (a
// context-aware Node-API module); its engine runtime and log capture are shared by the process.
const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('path')
const { Worker } = require('worker_threads')
const { brokers, uniqueTopic, createTopics, waitFor } = require('./helpers')

const LIBS = { kafkajs: require.resolve('kafkajs'), polykafka: path.resolve(__dirname, '..') }
const COUNT = 50

// Runs in a worker and in the main thread: produce COUNT records to `topic`, read them back
// with a consumer of its own group, return the values read. `hold` (worker only): stay connected
// after that and tell the parent, until terminated.
const roundTrip = `
async function roundTrip(lib, { brokers, topic, count, name, hold }, notify) {
  const { Kafka, logLevel } = lib
  const logs = hold ? { logLevel: logLevel.DEBUG, logCreator: () => () => {} } : { logLevel: logLevel.NOTHING }
  const kafka = new Kafka({ clientId: name, brokers, ...logs })
  const producer = kafka.producer()
  await producer.connect()
  const values = Array.from({ length: count }, (_, i) => name + '-' + i)
  await producer.send({ topic, messages: values.map(value => ({ value })) })
  const consumer = kafka.consumer({ groupId: name + '-' + Date.now() })
  await consumer.connect()
  await consumer.subscribe({ topics: [topic], fromBeginning: true })
  const seen = []
  await new Promise((resolve, reject) => {
    consumer.run({
      eachMessage: async ({ message }) => {
        seen.push(message.value.toString())
        if (seen.length === count) resolve()
      },
    }).catch(reject)
  })
  if (hold) {
    notify({ connected: true, seen })
    return new Promise(() => {}) // until terminated, producer and consumer connected
  }
  await consumer.disconnect()
  await producer.disconnect()
  return seen
}
`
// eslint-disable-next-line no-eval
const mainRoundTrip = eval(`(${roundTrip.trim().replace(/^async function roundTrip/, 'async function')})`)

function inWorker(libPath, data) {
  const code = `
    const { parentPort, workerData } = require('worker_threads')
    ${roundTrip}
    roundTrip(require(workerData.libPath), workerData, m => parentPort.postMessage(m))
      .then(seen => parentPort.postMessage({ done: true, seen }), e => parentPort.postMessage({ error: e.name + ': ' + e.message }))
  `
  const worker = new Worker(code, { eval: true, workerData: { libPath, ...data } })
  const messages = []
  const first = new Promise((resolve, reject) => {
    worker.on('message', m => {
      messages.push(m)
      if (m.error) reject(new Error(`worker ${data.name}: ${m.error}`))
      else resolve(m)
    })
    worker.on('error', reject)
    worker.on('exit', code => reject(new Error(`worker ${data.name} exited (${code}) before reporting`)))
  })
  const exited = new Promise(resolve => worker.once('exit', resolve))
  return { worker, first, exited }
}

for (const [name, libPath] of Object.entries(LIBS)) {
  test(`worker threads[${name}]: two workers and the main thread produce and consume at once`, { timeout: 120000 }, async () => {
    const topics = [uniqueTopic(`w1-${name}`), uniqueTopic(`w2-${name}`), uniqueTopic(`wm-${name}`)]
    await createTopics(topics, 1)
    const expect = who => Array.from({ length: COUNT }, (_, i) => `${who}-${i}`)
    const a = inWorker(libPath, { brokers, topic: topics[0], count: COUNT, name: 'w1' })
    const b = inWorker(libPath, { brokers, topic: topics[1], count: COUNT, name: 'w2' })
    const main = mainRoundTrip(require(libPath), { brokers, topic: topics[2], count: COUNT, name: 'main' })
    const [ra, rb, rm] = await Promise.all([a.first, b.first, main])
    assert.deepEqual(ra.seen, expect('w1'))
    assert.deepEqual(rb.seen, expect('w2'))
    assert.deepEqual(rm, expect('main'))
    // Both workers end by themselves once their clients are disconnected.
    assert.deepEqual(await Promise.all([a.exited, b.exited]), [0, 0])
  })

  test(`worker threads[${name}]: a worker terminated with its clients connected; the main thread goes on`, { timeout: 120000 }, async () => {
    const lib = require(libPath)
    const topic = uniqueTopic(`wt-${name}`)
    await createTopics([topic], 1)
    // The main thread logs too: the engine's logs keep reaching it after the worker (which logs at
    // DEBUG as well) is gone. Before the fix, the worker's log sink replaced the main thread's.
    const entries = []
    const kafka = new lib.Kafka({ clientId: 'main', brokers, logLevel: lib.logLevel.INFO, logCreator: () => e => entries.push(e) })
    const producer = kafka.producer()
    await producer.connect()
    try {
      await producer.send({ topic, messages: [{ value: 'before' }] })
      const heldTopic = uniqueTopic(`wt-held-${name}`)
      await createTopics([heldTopic], 1)
      const w = inWorker(libPath, { brokers, topic: heldTopic, count: 5, name: 'held', hold: true })
      const m = await w.first
      assert.equal(m.connected, true)
      assert.equal(m.seen.length, 5)
      const code = await w.worker.terminate()
      assert.equal(code, 1) // terminated, not crashed or exited by itself
      // The main thread's producer still sends, and a new client of the main thread works.
      const [r] = await producer.send({ topic, messages: [{ value: 'after' }] })
      assert.equal(r.errorCode, 0)
      assert.equal(r.baseOffset, '1')
      const againTopic = uniqueTopic(`wt-again-${name}`)
      await createTopics([againTopic], 1)
      const again = await mainRoundTrip(lib, { brokers, topic: againTopic, count: 3, name: 'again' })
      assert.deepEqual(again, ['again-0', 'again-1', 'again-2'])
      // polykafka: records of the engine (emitted on purpose, WARN) reach the main thread's logCreator.
      if (name === 'polykafka') {
        require('../lib/native').testEmitLogs(3)
        const engine = () => entries.filter(e => e.log.message === 'test record').length
        await waitFor(() => engine() === 3, 10000, 'engine logs in the main thread after the worker ended')
      }
    } finally {
      await producer.disconnect()
    }
  })
}

for (const [name, libPath] of Object.entries(LIBS)) {
  test(`worker threads[${name}]: workers terminated in the middle of sends, five times; the process lives`, { timeout: 120000 }, async () => {
    const topic = uniqueTopic(`wsend-${name}`)
    await createTopics([topic], 2)
    const code = `
      const { parentPort, workerData } = require('worker_threads')
      const { Kafka, logLevel } = require(workerData.libPath)
      const producer = new Kafka({ clientId: 'sender', brokers: workerData.brokers, logLevel: logLevel.NOTHING }).producer()
      producer.connect().then(() => {
        // Sends always in flight: 20 at a time, forever.
        const more = () => producer.send({ topic: workerData.topic, messages: [{ value: 'v' }] }).then(more, more)
        for (let i = 0; i < 20; i++) more()
        parentPort.postMessage('sending')
      })
    `
    for (let round = 0; round < 5; round++) {
      const worker = new Worker(code, { eval: true, workerData: { libPath, brokers, topic } })
      await new Promise((resolve, reject) => {
        worker.once('message', resolve)
        worker.once('error', reject)
      })
      assert.equal(await worker.terminate(), 1)
    }
    // Still alive, and a client of the main thread still sends.
    const lib = require(libPath)
    const producer = new lib.Kafka({ clientId: 'main', brokers, logLevel: lib.logLevel.NOTHING }).producer()
    await producer.connect()
    const [r] = await producer.send({ topic, messages: [{ value: 'after', partition: 0 }] })
    assert.equal(r.errorCode, 0)
    await producer.disconnect()
  })
}
