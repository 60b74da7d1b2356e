// The Node soak program (tests/soak/run): kafkajs's API on polykafka. Arguments: MODULE_DIR BOOTSTRAP TOPIC GROUP
// RECORDS CHUNK (MODULE_DIR: polykafka's, or kafkajs's for the mirrored library: tests/soak/run --mirrored). Produces CHUNK records (key, ~150-byte value, a `seq` header), consumes them back in its group
// (eachBatch, commitOffsets), repeats until RECORDS went both ways; prints `progress N` after each chunk and
// `ok N` at the end, or `FAIL ...` (exit 2) when a record is missing, doubled, out of order or damaged.
'use strict'
const [moduleDir, boot, topic, groupId, totalArg, chunkArg] = process.argv.slice(2)
const { Kafka, logLevel } = require(moduleDir)
const total = Number(totalArg)
const chunk = Number(chunkArg)
const PAD = 'x'.repeat(130)
const SEND = 1000

function fail (msg) {
  console.log(`FAIL ${msg}`)
  process.exit(2)
}

async function main () {
  // SOAK_LOG=1: the client's logs (INFO and up) on stderr.
  const kafka = new Kafka({ clientId: 'soak', brokers: boot.split(','), logLevel: process.env.SOAK_LOG ? logLevel.INFO : logLevel.NOTHING })
  const producer = kafka.producer()
  const consumer = kafka.consumer({ groupId })
  if (process.env.SOAK_LOG) {
    for (const e of ['GROUP_JOIN', 'REBALANCING', 'CRASH', 'STOP']) {
      consumer.on(consumer.events[e], ev => console.error(`${new Date().toISOString()} consumer ${e} ${JSON.stringify(ev.payload)}`))
    }
  }
  await producer.connect()
  await consumer.connect()
  let expected = 0
  let end = 0
  let chunkDone = null
  while (expected < total) {
    end = Math.min(expected + chunk, total)
    const consumed = new Promise(resolve => { chunkDone = resolve })
    for (let start = expected; start < end; start += SEND) {
      const messages = []
      for (let seq = start; seq < Math.min(start + SEND, end); seq++) {
        messages.push({ key: `key-${seq % 100}`, value: `${String(seq).padStart(12, '0')}|${PAD}`, headers: { seq: String(seq) } })
      }
      await producer.send({ topic, messages })
    }
    if (expected === 0) {
      // Subscribed once the producer made the topic (auto-created): kafkajs refuses a topic that does not exist.
      await consumer.subscribe({ topics: [topic], fromBeginning: true })
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          let last = null
          for (const m of batch.messages) {
            const seq = Number(m.value.subarray(0, 12).toString())
            if (seq !== expected) fail(`read ${seq}, expected ${expected}`)
            if (m.key.toString() !== `key-${seq % 100}` || m.value.length !== 143 || !m.headers.seq ||
                m.headers.seq.toString() !== String(seq)) {
              fail(`record ${seq} damaged: key ${m.key} value length ${m.value.length}`)
            }
            expected++
            last = m.offset
          }
          if (last !== null && expected === end) {
            await consumer.commitOffsets([{ topic, partition: batch.partition, offset: String(Number(last) + 1) }])
            chunkDone()
          } else if (expected > end) {
            fail(`read past the chunk: ${expected} > ${end}`)
          }
        }
      })
    }
    let timer
    const timeout = new Promise((resolve, reject) => { timer = setTimeout(() => reject(new Error('60 s')), 60000) })
    await Promise.race([consumed, timeout]).catch(e => fail(`chunk ending at ${end} not consumed in ${e.message} (read to ${expected})`))
    clearTimeout(timer)
    console.log(`progress ${expected}`)
  }
  await consumer.disconnect()
  await producer.disconnect()
  console.log(`ok ${expected}`)
}

main().catch(e => fail(`${e.name}: ${e.message}`))
