'use strict'
// consumer.run({ eachMessage, deadLetter }) on the real broker: retries with the failing
// partition paused while the others flow, the dead-letter copy and its headers, the commit after
// it, undecodable messages, and the option's checks.
const test = require('node:test')
const { spawn } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const assert = require('node:assert/strict')
const { brokers, uniqueTopic, createTopics, readBack, kafkajs, produce: produceWith, committed: committedWith, waitFor } = require('./helpers')
const polykafka = require('..')

const quiet = { logLevel: polykafka.logLevel.NOTHING }

const produce = (topic, messages) => produceWith(kafkajs, topic, messages)
const committed = (groupId, topic) => committedWith(kafkajs, groupId, topic)
const text = h => (h == null ? h : Array.isArray(h) ? h.map(String) : String(h))

test('deadLetter: a failing message is retried with its partition paused, then dead-lettered and committed', async () => {
  const topic = uniqueTopic('node-dlq')
  await createTopics([topic], 2)
  await createTopics([`${topic}-dlq`], 1)
  await produce(topic, [
    { partition: 0, key: 'k-bad', value: 'bad', headers: { trace: ['t-1', 't-2'] } },
    { partition: 0, value: 'after-bad' },
    { partition: 1, value: 'p1-a' },
  ])
  const groupId = uniqueTopic('node-dlq-group')
  const consumer = new polykafka.Kafka({ clientId: 'dlq', brokers, ...quiet }).consumer({ groupId })
  await consumer.connect()
  await consumer.subscribe({ topics: [topic], fromBeginning: true })
  const seen = []
  try {
    await consumer.run({
      deadLetter: { retries: 2, initialRetryTime: 1000, maxRetryTime: 5000 },
      eachMessage: async ({ message }) => {
        const v = message.value.toString()
        seen.push(v)
        if (v === 'bad') {
          if (seen.filter(s => s === 'bad').length === 1) {
            // Messages arriving on the other partition while partition 0 waits for its retry.
            await produce(topic, [{ partition: 1, value: 'p1-b' }, { partition: 1, value: 'p1-c' }])
          }
          const e = new TypeError('cannot handle bad')
          throw e
        }
      },
    })
    await waitFor(() => seen.includes('after-bad') && seen.includes('p1-c'), 60000, `all messages (${seen})`)
  } finally {
    await consumer.disconnect()
  }
  assert.equal(seen.filter(s => s === 'bad').length, 3, String(seen))
  const lastBad = seen.lastIndexOf('bad')
  assert.ok(seen.indexOf('p1-b') < lastBad && seen.indexOf('p1-c') < lastBad, `partition 1 flowed while 0 waited: ${seen}`)
  assert.ok(seen.indexOf('after-bad') > lastBad, String(seen))

  const [copy] = await readBack(`${topic}-dlq`, 1)
  assert.equal(copy.key.toString(), 'k-bad')
  assert.equal(copy.value.toString(), 'bad')
  const h = Object.fromEntries(Object.entries(copy.headers).map(([k, v]) => [k, text(v)]))
  assert.deepEqual(h, {
    trace: ['t-1', 't-2'],
    'retry-count': '2',
    'original-topic': topic,
    'original-partition': '0',
    'original-offset': '0',
    error: 'cannot handle bad',
    'error-type': 'TypeError',
  })
  const offsets = await committed(groupId, topic)
  assert.ok(Number(offsets[0]) >= 1, JSON.stringify(offsets))
})

test('deadLetter: an undecodable message goes to the dead-letter topic at once, bytes untouched', async () => {
  const topic = uniqueTopic('node-dlq-undecodable')
  const dlq = uniqueTopic('node-dlq-named')
  await createTopics([topic, dlq], 1)
  const raw = Buffer.from([0, 0, 0, 0, 7, 0xff, 0xfe, 0x41])
  await produce(topic, [{ value: raw }, { value: '{"ok":1}' }])
  const groupId = uniqueTopic('node-dlq-group')
  const consumer = new polykafka.Kafka({ clientId: 'dlq', brokers, ...quiet }).consumer({ groupId })
  await consumer.connect()
  await consumer.subscribe({ topics: [topic], fromBeginning: true })
  const handled = []
  let calls = 0
  class DecodeError extends Error {
    constructor(m) {
      super(m)
      this.name = 'DecodeError'
    }
  }
  try {
    await consumer.run({
      deadLetter: { topic: dlq, retries: 5, isUndecodable: e => e instanceof DecodeError },
      eachMessage: async ({ message }) => {
        calls++
        if (message.value[0] !== 0x7b) throw new DecodeError('unknown magic byte')
        handled.push(JSON.parse(message.value.toString()))
      },
    })
    await waitFor(() => handled.length === 1, 60000, 'the decodable message')
  } finally {
    await consumer.disconnect()
  }
  assert.equal(calls, 2, 'no retry of an undecodable message')
  const [copy] = await readBack(dlq, 1)
  assert.deepEqual(copy.value, raw)
  assert.equal(String(copy.headers['retry-count']), '0')
  assert.equal(String(copy.headers['error-type']), 'DecodeError')
})

test('deadLetter: bad settings and eachBatch are refused', async () => {
  const topic = uniqueTopic('node-dlq-bad')
  await createTopics([topic], 1)
  const kafka = new polykafka.Kafka({ clientId: 'dlq', brokers, ...quiet })
  const consumer = kafka.consumer({ groupId: uniqueTopic('node-dlq-group') })
  await consumer.connect()
  await consumer.subscribe({ topics: [topic] })
  try {
    await assert.rejects(consumer.run({ deadLetter: {}, eachBatch: async () => {} }), /eachMessage/)
    await assert.rejects(consumer.run({ deadLetter: { multiplier: 0.5 }, eachMessage: async () => {} }), /multiplier/)
  } finally {
    await consumer.disconnect()
  }
})

// A child that dead-letters every message; `delay` ms between the copy's ack and the commit.
const CHILD = `
const polykafka = require(${JSON.stringify(path.resolve(__dirname, '..'))})
const [brokers, topic, groupId, delay] = process.argv.slice(2)
;(async () => {
  const consumer = new polykafka.Kafka({ clientId: 'kill', brokers: brokers.split(','), logLevel: polykafka.logLevel.NOTHING })
    .consumer({ groupId, sessionTimeout: 6000, heartbeatInterval: 1000 })
  await consumer.connect()
  await consumer.subscribe({ topics: [topic], fromBeginning: true })
  await consumer.run({
    deadLetter: { retries: 0, _delayCommitsForTests: Number(delay) },
    eachMessage: async () => { throw new Error('always fails') },
  })
})()
`

test('deadLetter: SIGKILL between the copy and the commit loses nothing', async () => {
  const topic = uniqueTopic('node-dlq-kill')
  await createTopics([topic, `${topic}-dlq`], 1)
  await produce(topic, [{ key: 'k', value: 'doomed' }])
  const groupId = uniqueTopic('node-dlq-kill-group')
  const script = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dlq-kill-')), 'child.js')
  fs.writeFileSync(script, CHILD)
  const run = delay => spawn(process.execPath, [script, brokers.join(','), topic, groupId, String(delay)], { stdio: 'ignore' })

  // The copy is written, then the child waits 30 s before committing: it is killed in between.
  let child = run(30000)
  try {
    await readBack(`${topic}-dlq`, 1, 60000)
  } finally {
    child.kill('SIGKILL')
  }
  assert.equal((await committed(groupId, topic))[0], '-1', 'nothing committed before the kill')

  // After the restart the message is delivered again: dead-lettered again, then committed.
  child = run(0)
  try {
    await waitFor(async () => (await committed(groupId, topic))[0] === '1', 60000, 'the commit after the restart')
  } finally {
    child.kill('SIGKILL')
  }
  const copies = await readBack(`${topic}-dlq`, 2)
  assert.deepEqual(copies.map(m => m.value.toString()), ['doomed', 'doomed'], 'at least once, never lost')
})
