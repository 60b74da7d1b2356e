'use strict'
// kafkajs's partitioners. DefaultPartitioner (= JavaCompatiblePartitioner) is Java's murmur2;
// the producer recognises it and lets the core partition natively (no JS call per message).
// LegacyPartitioner reproduces kafkajs 1.x's murmur2, computed in JS doubles (not Java's
// partitions), and runs here in JS, as does any custom createPartitioner.
const crypto = require('crypto')

const toPositive = x => x & 0x7fffffff
const keyBytes = key => (Buffer.isBuffer(key) ? key : Buffer.from(String(key)))

/** Java's Utils.murmur2, in 32-bit integer arithmetic. */
function javaMurmur2(key) {
  const data = keyBytes(key)
  const m = 0x5bd1e995
  const len = data.length
  let h = (0x9747b28c ^ len) | 0
  const end = len - (len % 4)
  for (let i = 0; i < end; i += 4) {
    let k = data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24)
    k = Math.imul(k, m)
    k ^= k >>> 24
    k = Math.imul(k, m)
    h = Math.imul(h, m) ^ k
  }
  switch (len % 4) {
    case 3:
      h ^= data[end + 2] << 16
    // falls through
    case 2:
      h ^= data[end + 1] << 8
    // falls through
    case 1:
      h ^= data[end]
      h = Math.imul(h, m)
  }
  h ^= h >>> 13
  h = Math.imul(h, m)
  h ^= h >>> 15
  return h | 0
}

/** kafkajs 1.x's murmur2: the same steps in JS numbers (doubles), so not Java's values. */
function legacyMurmur2(key) {
  const data = keyBytes(key)
  const M = 0x5bd1e995
  const len = data.length
  let h = 0x9747b28c ^ len
  for (let i = 0; i < len / 4; i++) {
    const j = i * 4
    let k = (data[j] & 0xff) + ((data[j + 1] & 0xff) << 8) + ((data[j + 2] & 0xff) << 16) + ((data[j + 3] & 0xff) << 24)
    k *= M
    k ^= k >>> 24
    k *= M
    h *= M
    h ^= k
  }
  const tail = len & ~3
  switch (len % 4) {
    case 3:
      h ^= (data[tail + 2] & 0xff) << 16
    // falls through
    case 2:
      h ^= (data[tail + 1] & 0xff) << 8
    // falls through
    case 1:
      h ^= data[tail] & 0xff
      h *= M
  }
  h ^= h >>> 13
  h *= M
  h ^= h >>> 15
  return h
}

const partitionerWith = hash => () => {
  const counters = {}
  return ({ topic, partitionMetadata, message }) => {
    if (!(topic in counters)) counters[topic] = crypto.randomBytes(4).readUInt32BE(0)
    const n = partitionMetadata.length
    if (message.partition !== null && message.partition !== undefined) return message.partition
    if (message.key !== null && message.key !== undefined) return toPositive(hash(message.key)) % n
    const available = partitionMetadata.filter(p => p.leader >= 0)
    const c = counters[topic]++
    if (available.length > 0) return available[toPositive(c) % available.length].partitionId
    return toPositive(c) % n
  }
}

const DefaultPartitioner = partitionerWith(javaMurmur2)
const LegacyPartitioner = partitionerWith(legacyMurmur2)
const NATIVE = Symbol.for('polykafka.nativePartitioner')
DefaultPartitioner[NATIVE] = true

module.exports = {
  Partitioners: { DefaultPartitioner, LegacyPartitioner, JavaCompatiblePartitioner: DefaultPartitioner },
  NATIVE,
  javaMurmur2,
  legacyMurmur2,
}
