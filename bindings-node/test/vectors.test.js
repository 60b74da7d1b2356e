'use strict'
// The partitioner vectors shared by every binding (tests/vectors/partitioners.json): our JS copy
// of Java's murmur2 and kafkajs's DefaultPartitioner both give Java's partitions.
const { test } = require('node:test')
const assert = require('node:assert')
const vectors = require('../../tests/vectors/partitioners.json')
const { javaMurmur2 } = require('../lib/partitioners')
const { Partitioners } = require('..')

test('murmur2 matches the shared vectors', () => {
  assert.ok(vectors.murmur2.length >= 10)
  for (const v of vectors.murmur2) assert.equal(javaMurmur2(Buffer.from(v.key)), v.murmur2, v.key)
})

for (const [name, impl] of Object.entries({ kafkajs: require('kafkajs'), polykafka: { Partitioners } })) {
  test(`DefaultPartitioner[${name}] gives Java's partition for the shared vectors`, () => {
    const partitioner = impl.Partitioners.DefaultPartitioner()
    for (const v of vectors.murmur2) {
      if (v.key === '') continue // kafkajs sends an empty key like a null one: a sticky choice
      for (const n of [1, 3, 6, 17]) {
        const partitionMetadata = Array.from({ length: n }, (_, partitionId) => ({ partitionId, leader: 1 }))
        const got = partitioner({ topic: 't', partitionMetadata, message: { key: Buffer.from(v.key) } })
        assert.equal(got, (v.murmur2 & 0x7fffffff) % n, `${v.key} over ${n}`)
      }
    }
  })
}
