'use strict'
// Whole programs in child processes: the seed's producer section, and exit after disconnect.
const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('path')
const { spawn } = require('child_process')
const { brokers, uniqueTopic, createTopics, readBack } = require('./helpers')

function run(script, args, { onLine, timeoutMs = 30000 } = {}) {
  return new Promise((resolve, reject) => {
    const started = Date.now()
    const child = spawn(process.execPath, [path.join(__dirname, 'programs', script), ...args], {
      env: { ...process.env, KAFKA_BOOTSTRAP: brokers.join(',') },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`${script} did not exit within ${timeoutMs} ms; stdout: ${out}; stderr: ${err}`))
    }, timeoutMs)
    child.stdout.on('data', d => {
      out += d
      if (onLine) for (const line of String(d).split('\n')) if (line) onLine(line, child)
    })
    child.stderr.on('data', d => (err += d))
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, out, err, ms: Date.now() - started })
    })
  })
}

for (const withLogs of [false, true]) {
  test(`the process exits by itself after disconnect (logCreator: ${withLogs})`, { timeout: 60000 }, async () => {
    const topic = uniqueTopic('exit')
    await createTopics([topic], 1)
    const r = await run('exit_after_disconnect.js', withLogs ? [topic, 'logs'] : [topic], { timeoutMs: 15000 })
    assert.equal(r.code, 0, r.err)
    assert.match(r.out, /sent at 0; disconnected/)
  })
}

test('the seed producer program runs; SIGTERM disconnects and the process ends', { timeout: 90000 }, async () => {
  const prefix = uniqueTopic('seed')
  const r = await run('seed_producer.mjs', [prefix], {
    timeoutMs: 60000,
    onLine: (line, child) => {
      if (line.startsWith('READY')) child.kill('SIGTERM')
    },
  })
  assert.equal(r.code, 0, `signal ${r.signal}: ${r.err}\n${r.out}`)
  assert.match(r.out, /READY transactions=committed/)
  const events = await readBack(`${prefix}-user-events`, 1)
  assert.equal(events[0].key.toString(), 'user-123')
  assert.deepEqual(JSON.parse(events[0].value), { type: 'USER_CREATED', userId: '123' })
  assert.equal(events[0].headers['correlation-id'].toString(), '456')
  const payments = await readBack(`${prefix}-payments`, 1)
  assert.equal(payments[0].key.toString(), 'pay-1')
  const notifications = await readBack(`${prefix}-notifications`, 1)
  assert.equal(notifications[0].key.toString(), 'notif-1')
  const orders = await readBack(`${prefix}-orders`, 3)
  assert.deepEqual(orders.map(m => JSON.parse(m.value).id).sort(), ['order-1', 'order-2', 'order-3'])
})

test('the seed consumer program runs: manual commits after processing', { timeout: 90000 }, async () => {
  const prefix = uniqueTopic('seedc')
  await createTopics([`${prefix}-user-events`, `${prefix}-order-events`], 1)
  const r = await run('seed_consumer.mjs', [prefix], { timeoutMs: 60000 })
  assert.equal(r.code, 0, `signal ${r.signal}: ${r.err}\n${r.out}`)
  // The program's own lines; kafkajs's console logger writes JSON lines too (INFO: "Starting", ...).
  const lines = r.out
    .split('\n')
    .filter(l => l.startsWith('{'))
    .map(l => JSON.parse(l))
    .filter(l => l.logger !== 'kafkajs')
  assert.deepEqual(lines.map(l => [l.topic, l.offset, l.key]).sort(), [
    [`${prefix}-order-events`, '0', 'order-1'],
    [`${prefix}-user-events`, '0', 'user-1'],
  ])
  assert.match(r.out, /DONE/)
  const { Kafka, logLevel } = require('..')
  const admin = new Kafka({ brokers, logLevel: logLevel.NOTHING }).admin()
  await admin.connect()
  const offsets = await admin.fetchOffsets({ groupId: `${prefix}-user-service`, topics: [`${prefix}-user-events`, `${prefix}-order-events`] })
  await admin.disconnect()
  assert.deepEqual(offsets.map(t => t.partitions[0].offset), ['1', '1'])
})
