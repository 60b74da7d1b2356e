'use strict'
// Test helpers: cluster facts from build/cluster/cluster.env, unique topic names, and the
// real kafkajs package for setup and for reading messages back.
const fs = require('fs')
const path = require('path')
const crypto = require('crypto')

function findEnv() {
  if (process.env.KAFKA_CLUSTER_ENV) return process.env.KAFKA_CLUSTER_ENV
  let dir = path.resolve(__dirname, '..')
  for (let i = 0; i < 6; i++) {
    const f = path.join(dir, 'build', 'cluster', 'cluster.env')
    if (fs.existsSync(f)) return f
    dir = path.dirname(dir)
  }
  return null
}

function clusterEnv() {
  const env = {}
  const file = findEnv()
  if (file) {
    for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
      const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim())
      if (m) env[m[1]] = m[2]
    }
  }
  for (const k of Object.keys(process.env)) if (k.startsWith('KAFKA_')) env[k] = process.env[k]
  if (!env.KAFKA_BOOTSTRAP) throw new Error('no Kafka cluster: run tests/cluster/kafka up (or set KAFKA_BOOTSTRAP)')
  return env
}

const env = clusterEnv()
const brokers = env.KAFKA_BOOTSTRAP.split(',')
const uniqueTopic = prefix => `${prefix || 'node'}-${Date.now()}-${crypto.randomBytes(4).toString('hex')}`

const kafkajs = require('kafkajs')
const quiet = { logLevel: kafkajs.logLevel.NOTHING }

/** Creates topics with kafkajs's admin (independent of the code under test). retention.ms -1:
 * some tests write records with generated event times months old, which the broker's default
 * 7-day retention would delete at its next retention check, in the middle of the test. */
async function createTopics(topics, numPartitions = 1) {
  const kafka = new kafkajs.Kafka({ clientId: 'setup', brokers, ...quiet })
  const admin = kafka.admin()
  await admin.connect()
  try {
    const configEntries = [{ name: 'retention.ms', value: '-1' }]
    await admin.createTopics({ topics: topics.map(topic => ({ topic, numPartitions, configEntries })), waitForLeaders: true })
  } finally {
    await admin.disconnect()
  }
}

/** Reads `count` messages of `topic` from the beginning with kafkajs's consumer. */
async function readBack(topic, count, timeoutMs = 20000) {
  const kafka = new kafkajs.Kafka({ clientId: 'reader', brokers, ...quiet })
  const consumer = kafka.consumer({ groupId: `reader-${crypto.randomBytes(6).toString('hex')}` })
  await consumer.connect()
  await consumer.subscribe({ topics: [topic], fromBeginning: true })
  const got = []
  try {
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`read ${got.length} of ${count} messages of ${topic}`)), timeoutMs)
      consumer
        .run({
          eachMessage: async ({ partition, message }) => {
            got.push({ partition, ...message })
            if (got.length >= count) {
              clearTimeout(timer)
              resolve()
            }
          },
        })
        .catch(reject)
    })
  } finally {
    await consumer.disconnect()
  }
  return got
}

/** Sends `messages` to `topic` with `lib` (kafkajs or polykafka). */
async function produce(lib, topic, messages) {
  const kafka = new lib.Kafka({ clientId: 'feeder', brokers, logLevel: lib.logLevel.NOTHING })
  const p = kafka.producer()
  await p.connect()
  await p.send({ topic, messages })
  await p.disconnect()
}

/** The group's committed offsets of `topic`, by partition, asked with `lib`. */
async function committed(lib, groupId, topic) {
  const kafka = new lib.Kafka({ clientId: 'check', brokers, logLevel: lib.logLevel.NOTHING })
  const admin = kafka.admin()
  await admin.connect()
  try {
    const [t] = await admin.fetchOffsets({ groupId, topics: [topic] })
    return Object.fromEntries(t.partitions.map(p => [p.partition, p.offset]))
  } finally {
    await admin.disconnect()
  }
}

/** Waits until `cond()` (which may return a promise) is true; fails after `ms`. */
async function waitFor(cond, ms, what) {
  const end = Date.now() + ms
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise(r => setTimeout(r, 50))
  }
}

module.exports = { env, brokers, uniqueTopic, createTopics, readBack, kafkajs, produce, committed, waitFor }

/** Reads `count` messages with Kafka's own Java console consumer: it decodes every codec,
 * where kafkajs's consumer knows only GZIP. Resolves to [{key, value}] as strings. */
function readWithJava(topic, count) {
  const { execFileSync } = require('child_process')
  // The launcher of the repository whose build/ holds the cluster (it knows the jars): the
  // env file is build/cluster/cluster.env, or build/cluster/kafka-NAME/cluster.env.
  const envFile = findEnv()
  let tool = path.resolve(__dirname, '..', '..', 'tests', 'cluster', 'kafka')
  for (let dir = envFile && path.dirname(envFile); dir && dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const t = path.join(dir, 'tests', 'cluster', 'kafka')
    if (fs.existsSync(t)) {
      tool = t
      break
    }
  }
  const out = execFileSync(
    tool,
    [
      'tool', 'console-consumer',
      '--bootstrap-server', brokers[0],
      '--topic', topic,
      '--from-beginning',
      '--max-messages', String(count),
      '--timeout-ms', '20000',
      '--property', 'print.key=true',
      '--property', 'key.separator=|',
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60000 }
  )
  return out
    .split('\n')
    .filter(l => l.includes('|'))
    .map(l => {
      const i = l.indexOf('|')
      return { key: l.slice(0, i), value: l.slice(i + 1) }
    })
}

module.exports.readWithJava = readWithJava
