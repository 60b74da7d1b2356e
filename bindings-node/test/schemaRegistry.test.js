'use strict'
// polykafka/schema-registry against @kafkajs/confluent-schema-registry, through the real
// registry (SCHEMA_REGISTRY_URL, else build/cluster/registry.env): the SAME test bodies run with
// both libraries, and bytes written by each are read by the other.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const crypto = require('node:crypto')
const { brokers, uniqueTopic, createTopics } = require('./helpers')

function registryUrl() {
  if (process.env.SCHEMA_REGISTRY_URL) return process.env.SCHEMA_REGISTRY_URL
  let dir = path.resolve(__dirname, '..')
  for (let i = 0; i < 6; i++) {
    const f = path.join(dir, 'build', 'cluster', 'registry.env')
    if (fs.existsSync(f)) {
      const m = /^SCHEMA_REGISTRY_URL=(.*)$/m.exec(fs.readFileSync(f, 'utf8'))
      if (m) return m[1].trim()
    }
    dir = path.dirname(dir)
  }
  throw new Error('no schema registry: run tests/cluster/registry up (or set SCHEMA_REGISTRY_URL)')
}

const host = registryUrl()
const libs = { kafkajs: require('@kafkajs/confluent-schema-registry'), polykafka: require('polykafka/schema-registry') }
// the library exports its error classes only from dist/errors
const errs = { kafkajs: require('@kafkajs/confluent-schema-registry/dist/errors'), polykafka: libs.polykafka }
const subjectOf = what => `node-sr-${what}-${Date.now()}-${crypto.randomBytes(4).toString('hex')}`
// avsc decodes records to instances of generated classes; compare the data
const plain = v => JSON.parse(JSON.stringify(v))

// the seed's UserEvent (a unique name per run so each run registers new schemas)
const userEvent = (extraFields = []) => ({
  type: 'record',
  name: 'UserEvent',
  namespace: 'com.example.events',
  fields: [
    { name: 'userId', type: 'string' },
    { name: 'eventType', type: 'string' },
    { name: 'timestamp', type: 'long' },
    { name: 'metadata', type: ['null', 'string'], default: null },
    ...extraFields,
  ],
})
const rich = {
  type: 'record',
  name: 'Rich',
  namespace: 'com.example.events',
  fields: [
    { name: 'i', type: 'int' },
    { name: 'f', type: 'float' },
    { name: 'd', type: 'double' },
    { name: 'b', type: 'boolean' },
    { name: 'raw', type: 'bytes' },
    { name: 'tags', type: { type: 'array', items: 'string' } },
    { name: 'attrs', type: { type: 'map', values: 'long' } },
    { name: 'kind', type: { type: 'enum', name: 'Kind', symbols: ['A', 'B'] } },
    { name: 'at', type: { type: 'long', logicalType: 'timestamp-millis' } },
    { name: 'inner', type: ['null', { type: 'record', name: 'Inner', fields: [{ name: 'n', type: 'long' }] }], default: null },
  ],
}
const richValue = {
  i: -7,
  f: 1.5,
  d: 2.25,
  b: true,
  raw: Buffer.from([0, 1, 254, 255]),
  tags: ['x', 'y'],
  attrs: { a: 1, b: -2 },
  kind: 'B',
  at: 1700000000123,
  inner: { n: 42 },
}
const personJson = JSON.stringify({
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'Person',
  type: 'object',
  properties: { name: { type: 'string' }, age: { type: 'integer', minimum: 0 } },
  required: ['name', 'age'],
})

test('polykafka/schema-registry exports what the library exports (avdlToAVSC aside), in CJS and ESM', async () => {
  const ours = libs.polykafka
  for (const k of Object.keys(libs.kafkajs)) {
    if (k === 'avdlToAVSC' || k === 'avdlToAVSCAsync') continue
    assert.ok(k in ours, `missing export ${k}`)
  }
  assert.deepEqual({ ...ours.SchemaType }, { ...libs.kafkajs.SchemaType })
  assert.deepEqual({ ...ours.COMPATIBILITY }, { ...libs.kafkajs.COMPATIBILITY })
  const esm = await import('polykafka/schema-registry')
  for (const k of Object.keys(ours)) assert.equal(esm[k], ours[k], k)
})

test('Avro (the seed): identical bytes for the same id and record, each library reads the other', async () => {
  const subject = subjectOf('user-events-value')
  const theirs = new libs.kafkajs.SchemaRegistry({ host })
  const ours = new libs.polykafka.SchemaRegistry({ host })
  const { id } = await ours.register({ type: libs.polykafka.SchemaType.AVRO, schema: JSON.stringify(userEvent()) }, { subject })
  assert.equal(await theirs.getLatestSchemaId(subject), id)
  assert.equal(await ours.getLatestSchemaId(subject), id)
  assert.equal(await ours.getRegistryId(subject, 1), await theirs.getRegistryId(subject, 1))
  const bySchema = { type: 'AVRO', schema: JSON.stringify(userEvent()) }
  assert.equal(await ours.getRegistryIdBySchema(subject, bySchema), await theirs.getRegistryIdBySchema(subject, bySchema))
  const records = [
    { userId: '123', eventType: 'USER_CREATED', timestamp: Date.now() },
    { userId: 'ü-ñ', eventType: 'X', timestamp: -1, metadata: 'm' },
    { userId: '', eventType: '', timestamp: 2 ** 40, metadata: null },
  ]
  for (const r of records) {
    const a = await theirs.encode(id, r)
    const b = await ours.encode(id, r)
    assert.deepEqual(b, a, `bytes of ${JSON.stringify(r)}`)
    const expected = { metadata: null, ...r }
    assert.deepEqual(plain(await ours.decode(a)), expected)
    assert.deepEqual(plain(await theirs.decode(b)), expected)
  }
  // every Avro type avsc maps without options (a logical type is its underlying type)
  const rid = (await ours.register({ type: 'AVRO', schema: JSON.stringify(rich) }, { subject: subjectOf('rich') })).id
  const a = await theirs.encode(rid, richValue)
  assert.deepEqual(await ours.encode(rid, richValue), a)
  const back = await ours.decode(a)
  assert.deepEqual(plain(back), plain(await theirs.decode(a)))
  assert.ok(Buffer.isBuffer(back.raw))
  // long and non-ASCII strings and map keys, around the binding's 256-byte string buffer and
  // its 64-byte limit for cached property names
  const long = {
    ...richValue,
    tags: ['a'.repeat(253) + '€', 'a'.repeat(251) + 'é', 'é'.repeat(300), 'ü', ''],
    attrs: { ['k'.repeat(100)]: 5, ñ: 6, ['€'.repeat(90)]: 7 },
  }
  const la = await theirs.encode(rid, long)
  assert.deepEqual(await ours.encode(rid, long), la)
  assert.deepEqual(plain(await ours.decode(la)), plain(await theirs.decode(la)))
  assert.deepEqual(plain(await ours.decode(la)).tags, long.tags)
  // getSchema's codec methods
  const s = await ours.getSchema(id)
  assert.equal(s.name, 'com.example.events.UserEvent')
  assert.deepEqual(s.toBuffer(records[0]), (await theirs.getSchema(id)).toBuffer(records[0]))
  assert.equal(s.isValid({ userId: 1 }), false)
  const hooked = []
  s.isValid({ userId: 1, eventType: 'e', timestamp: 1 }, { errorHook: p => hooked.push(p) })
  assert.deepEqual(hooked, [['userId']])
})

test('JSON Schema: each library reads the other; a value not matching fails with the path in both', async () => {
  const subject = subjectOf('person-value')
  for (const [name, lib] of Object.entries(libs)) {
    const other = name === 'kafkajs' ? libs.polykafka : libs.kafkajs
    const r = new lib.SchemaRegistry({ host })
    const o = new other.SchemaRegistry({ host })
    const { id } = await r.register({ type: lib.SchemaType.JSON, schema: personJson }, { subject })
    const value = { name: 'Ada', age: 36, extra: [1, 'two', { three: null }] }
    const bytes = await r.encode(id, value)
    assert.deepEqual(bytes.subarray(0, 5), Buffer.from([0, 0, 0, 0, 0]).fill(0, 0, 1).map((_, i) => (i ? (id >>> (8 * (4 - i))) & 255 : 0)))
    assert.deepEqual(await o.decode(bytes), value, `${name} -> other`)
    assert.deepEqual(await r.decode(await o.encode(id, value)), value, `other -> ${name}`)
    const err = await r.encode(id, { name: 'Ada', age: 'old' }).catch(e => e)
    assert.ok(err instanceof errs[name].ConfluentSchemaRegistryValidationError, `${name}: ${err}`)
    assert.equal(err.name, 'ConfluentSchemaRegistryValidationError')
    assert.deepEqual(err.paths, [['/age']], name)
    // validated on read too
    const bad = Buffer.concat([bytes.subarray(0, 5), Buffer.from('{"name":"x","age":-1}')])
    const rerr = await r.decode(bad).catch(e => e)
    assert.ok(rerr instanceof errs[name].ConfluentSchemaRegistryValidationError, `${name}: ${rerr}`)
    assert.deepEqual(rerr.paths, [['/age']])
  }
})

test('schema evolution: v1 records read with a v2 reader schema (added field with a default), both libraries', async () => {
  const subject = subjectOf('evolve-value')
  const v2 = userEvent([{ name: 'source', type: 'string', default: 'unknown' }])
  const ours = new libs.polykafka.SchemaRegistry({ host })
  const { id: id1 } = await ours.register({ type: 'AVRO', schema: JSON.stringify(userEvent()) }, { subject })
  const { id: id2 } = await ours.register({ type: 'AVRO', schema: JSON.stringify(v2) }, { subject })
  assert.notEqual(id1, id2)
  const r1 = { userId: 'u', eventType: 'E', timestamp: 5, metadata: 'meta' }
  for (const [name, lib] of Object.entries(libs)) {
    const r = new lib.SchemaRegistry({ host })
    const v1bytes = await r.encode(id1, r1)
    for (const readerSchema of [v2, JSON.stringify(v2)]) {
      assert.deepEqual(plain(await r.decode(v1bytes, { [lib.SchemaType.AVRO]: { readerSchema } })), { ...r1, source: 'unknown' }, name)
    }
    assert.deepEqual(plain(await r.decode(v1bytes)), r1, name)
    // v2 bytes read as v1 (the field dropped)
    const v2bytes = await r.encode(id2, { ...r1, source: 'web' })
    assert.deepEqual(plain(await r.decode(v2bytes, { AVRO: { readerSchema: userEvent() } })), r1, name)
  }
})

test('incompatible schema: register refused with the registry error, the same in both libraries', async () => {
  const bad = { ...userEvent(), fields: [{ name: 'userId', type: 'int' }] }
  const seen = {}
  for (const [name, lib] of Object.entries(libs)) {
    const subject = subjectOf(`incompatible-${name}`)
    const r = new lib.SchemaRegistry({ host, clientId: 'sr-test' })
    await r.register({ type: lib.SchemaType.AVRO, schema: JSON.stringify(userEvent()) }, { subject })
    const err = await r.register({ type: lib.SchemaType.AVRO, schema: JSON.stringify(bad) }, { subject }).catch(e => e)
    assert.equal(err.name, 'ResponseError', `${name}: ${err}`)
    assert.equal(err.status, 409, name)
    assert.match(err.message, /^sr-test - .*[Ii]ncompatible/, name)
    seen[name] = err.message.replace(/incompatible-\w+-\d+-[0-9a-f]+/, 'S')
    // a subject whose compatibility differs from the one asked for
    const cerr = await r.register({ type: 'AVRO', schema: JSON.stringify(userEvent()) }, { subject, compatibility: 'FULL' }).catch(e => e)
    assert.ok(cerr instanceof errs[name].ConfluentSchemaRegistryCompatibilityError, `${name}: ${cerr}`)
    assert.equal(cerr.message, 'Compatibility does not match the configuration (FULL != BACKWARD)')
  }
  assert.equal(seen.polykafka, seen.kafkajs)
})

test('error paths of issue #15, the same in both libraries', async () => {
  const subject = subjectOf('errors-value')
  const id = (await new libs.polykafka.SchemaRegistry({ host }).register({ type: 'AVRO', schema: JSON.stringify(userEvent()) }, { subject })).id
  const results = {}
  for (const [name, lib] of Object.entries(libs)) {
    const r = new lib.SchemaRegistry({ host })
    const out = (results[name] = {})
    // no magic byte
    let e = await r.decode(Buffer.from('hello world')).catch(x => x)
    assert.ok(e instanceof errs[name].ConfluentSchemaRegistryArgumentError, `${name}: ${e}`)
    out.magic = e.message
    e = await r.decode('not a buffer').catch(x => x)
    assert.ok(e instanceof errs[name].ConfluentSchemaRegistryArgumentError, `${name}: ${e}`)
    out.notBuffer = e.message
    // unknown schema id
    e = await r.decode(Buffer.from([0, 0x7f, 0x00, 0x7f, 0x01, 2, 3])).catch(x => x)
    assert.equal(e.name, 'ResponseError', `${name}: ${e}`)
    assert.equal(e.status, 404)
    out.unknown = e.message
    e = await r.encode(0x7f007f02, {}).catch(x => x)
    assert.equal(e.status, 404, `${name}: ${e}`)
    e = await r.encode(0, {}).catch(x => x)
    assert.ok(e instanceof errs[name].ConfluentSchemaRegistryArgumentError, `${name}: ${e}`)
    out.zeroId = e.message
    // a value not matching the schema names the field; nothing is returned for it
    e = await r.encode(id, { userId: 'u', eventType: 7, timestamp: 1 }).catch(x => x)
    assert.ok(e instanceof errs[name].ConfluentSchemaRegistryValidationError, `${name}: ${e}`)
    assert.deepEqual(e.paths, [['eventType']])
    e = await r.encode(id, { userId: 'u', eventType: 'e' }).catch(x => x)
    assert.ok(e instanceof errs[name].ConfluentSchemaRegistryValidationError, `${name}: ${e}`)
    assert.deepEqual(e.paths, [['timestamp']])
    e = await r.encode(id, { userId: 'u', eventType: 'e', timestamp: 1.5 }).catch(x => x)
    assert.deepEqual(e.paths, [['timestamp']], name)
    // a truncated payload
    const good = await r.encode(id, { userId: 'u', eventType: 'e', timestamp: 1 })
    e = await r.decode(good.subarray(0, good.length - 2)).catch(x => x)
    assert.ok(e instanceof Error, name)
    // unknown subject
    e = await r.getLatestSchemaId(subjectOf('missing')).catch(x => x)
    assert.equal(e.status, 404, `${name}: ${e}`)
    e = await r.getRegistryIdBySchema(subjectOf('missing'), { type: 'AVRO', schema: JSON.stringify(userEvent()) }).catch(x => x)
    assert.ok(e instanceof errs[name].ConfluentSchemaRegistryError, `${name}: ${e}`)
    // register: a raw schema without namespace / a bad schema
    e = await r.register({ type: 'record', name: 'NoNs', fields: [] }).catch(x => x)
    assert.ok(e instanceof errs[name].ConfluentSchemaRegistryArgumentError, `${name}: ${e}`)
    out.noNamespace = e.message
    e = await r.register({ type: 'AVRO', schema: '{"type": "record", "name": "X", "fields": [{"name": "a", "type": "nope"}]}' }, { subject }).catch(x => x)
    assert.ok(e instanceof errs[name].ConfluentSchemaRegistryArgumentError, `${name}: ${e}`)
    // an unreachable registry
    const down = new lib.SchemaRegistry({ host: 'http://127.0.0.1:1', retry: { retries: 1, initialRetryTimeInSecs: 0.01 } })
    e = await down.getLatestSchemaId('x').catch(x => x)
    assert.equal(e.name, 'ResponseError', `${name}: ${e}`)
    assert.equal(e.status, 400)
    assert.match(e.message, /^Confluent_Schema_Registry - Error, status 400: .*(ECONNREFUSED|[Cc]onnection refused|failed)/)
    if (name === 'polykafka') assert.equal(e.retriable, true)
  }
  assert.deepEqual(results.polykafka, results.kafkajs)
})

test('polykafka refuses settings it cannot honour, and reads .avsc files as the library', async () => {
  const { SchemaRegistry, ConfluentSchemaRegistryArgumentError, ConfluentSchemaRegistryInvalidSchemaError, readAVSCAsync, readAVSC } = libs.polykafka
  assert.throws(() => new SchemaRegistry({}), ConfluentSchemaRegistryArgumentError)
  assert.throws(() => new SchemaRegistry({ host, retry: { retires: 2 } }), /unknown retry option 'retires'/)
  assert.throws(() => new SchemaRegistry({ host, retry: { multiplier: 3 } }), ConfluentSchemaRegistryArgumentError)
  assert.throws(() => new SchemaRegistry({ host }, { AVRO: { wrapUnions: true } }), ConfluentSchemaRegistryArgumentError)
  assert.throws(() => new SchemaRegistry({ host }, { JSON: { strict: false } }), ConfluentSchemaRegistryArgumentError)
  // a union avsc would wrap is refused clearly, not encoded differently
  const r = new SchemaRegistry({ host })
  const wrapped = { type: 'record', name: 'W', namespace: 'n', fields: [{ name: 'x', type: ['int', 'long'] }] }
  await assert.rejects(r.register({ type: 'AVRO', schema: JSON.stringify(wrapped) }, { subject: subjectOf('w') }), /two branches of one kind/)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'avsc-'))
  fs.writeFileSync(path.join(dir, 'u.avsc'), JSON.stringify(userEvent()))
  fs.writeFileSync(path.join(dir, 'bad.avsc'), '{"type": "string"}')
  assert.deepEqual(await readAVSCAsync(path.join(dir, 'u.avsc')), await libs.kafkajs.readAVSCAsync(path.join(dir, 'u.avsc')))
  assert.deepEqual(readAVSC(path.join(dir, 'u.avsc')), userEvent())
  await assert.rejects(readAVSCAsync(path.join(dir, 'bad.avsc')), ConfluentSchemaRegistryInvalidSchemaError)
  fs.rmSync(dir, { recursive: true })
})

test('the seed flow: polykafka producer -> topic -> polykafka consumer, encoded and decoded with SchemaRegistry', { timeout: 90000 }, async () => {
  const { Kafka, logLevel } = require('..')
  const { SchemaRegistry } = libs.polykafka
  const topic = uniqueTopic('sr-user-events')
  await createTopics([topic])
  const registry = new SchemaRegistry({ host })
  const subject = `${topic}-value`
  await registry.register({ type: 'AVRO', schema: JSON.stringify(userEvent()) }, { subject })
  const kafka = new Kafka({ clientId: 'my-app', brokers, logLevel: logLevel.NOTHING })
  const producer = kafka.producer()
  await producer.connect()
  const schema = await registry.getLatestSchemaId(subject)
  const sent = []
  for (let i = 0; i < 20; i++) sent.push({ userId: `u${i}`, eventType: 'USER_CREATED', timestamp: 1700000000000 + i, metadata: i % 2 ? null : `m${i}` })
  await producer.send({ topic, messages: await Promise.all(sent.map(async v => ({ value: await registry.encode(schema, v) }))) })
  await producer.disconnect()
  // the bytes are the library's too
  const theirs = new libs.kafkajs.SchemaRegistry({ host })
  const consumer = kafka.consumer({ groupId: `sr-${crypto.randomBytes(6).toString('hex')}` })
  await consumer.connect()
  await consumer.subscribe({ topics: [topic], fromBeginning: true })
  const got = []
  const theirsGot = []
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out with ${got.length} messages`)), 60000)
    consumer
      .run({
        eachMessage: async ({ message }) => {
          got.push(await registry.decode(message.value))
          theirsGot.push(plain(await theirs.decode(message.value)))
          if (got.length === sent.length) {
            clearTimeout(timer)
            resolve()
          }
        },
      })
      .catch(reject)
  })
  await consumer.disconnect()
  assert.deepEqual(got, sent)
  assert.deepEqual(theirsGot, sent)
})

test('Protobuf: ours round-trips and the library reads ours; the library\'s bytes (no message indexes) fail here with an error', async () => {
  const proto = 'syntax = "proto3";\npackage com.example;\nmessage UserEvent {\n  string user_id = 1;\n  int64 timestamp = 2;\n  repeated string tags = 3;\n}\nmessage Other { int32 x = 1; }\n'
  const ours = new libs.polykafka.SchemaRegistry({ host })
  const theirs = new libs.kafkajs.SchemaRegistry({ host })
  const { id } = await ours.register({ type: libs.polykafka.SchemaType.PROTOBUF, schema: proto }, { subject: subjectOf('proto-value') })
  const value = { user_id: 'u1', timestamp: 1700000000000, tags: ['a', 'b'] }
  const bytes = await ours.encode(id, value)
  assert.equal(bytes[5], 0, 'message index [0] as the single byte 0')
  assert.deepEqual(await ours.decode(bytes), value)
  // protobufjs camel-cases field names and gives int64 as Long
  const back = (await theirs.decode(bytes)).toJSON()
  assert.deepEqual(back, { userId: 'u1', timestamp: '1700000000000', tags: ['a', 'b'] })
  const err = await ours.decode(await theirs.encode(id, { userId: 'u1' })).catch(e => e)
  assert.ok(err instanceof libs.polykafka.ConfluentSchemaRegistryError, String(err))
  const bad = await ours.encode(id, { user_id: 5 }).catch(e => e)
  assert.ok(bad instanceof libs.polykafka.ConfluentSchemaRegistryValidationError, String(bad))
  assert.match(bad.message, /user_id/)
  // another message of the file, by name
  const other = new libs.polykafka.SchemaRegistry({ host }, { PROTOBUF: { messageName: 'Other' } })
  const ob = await other.encode(id, { x: 3 })
  assert.deepEqual(ob.subarray(5, 7), Buffer.from([2, 2]), 'message index [1]')
  assert.deepEqual(await other.decode(ob), { x: 3 })
})
