'use strict'
// OpenTelemetry (not in kafkajs; lib/otel.js) on the real broker with the real SDKs: in-memory
// span exporter and a metric reader. Counts of sent and consumed messages and the lag, the
// durations, a traceparent in sent messages continued by the eachMessage span, both ways with
// kafkajs instrumented by @opentelemetry/instrumentation-kafkajs, a trace started in Python
// (polykafka.opentelemetry) continued here, and nothing recorded without the option.
const api = require('@opentelemetry/api')
const { W3CTraceContextPropagator } = require('@opentelemetry/core')
const { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } = require('@opentelemetry/sdk-trace-base')
const { MeterProvider, MetricReader } = require('@opentelemetry/sdk-metrics')
const { KafkaJsInstrumentation } = require('@opentelemetry/instrumentation-kafkajs')

// kafkajs is patched when it is loaded (helpers load it): the instrumentation first.
const theirSpans = new InMemorySpanExporter()
const theirTracer = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(theirSpans)] })
const kafkajsInstrumentation = new KafkaJsInstrumentation({})
kafkajsInstrumentation.setTracerProvider(theirTracer)
kafkajsInstrumentation.enable()
// The propagator an application's SDK setup (NodeSDK) registers: W3C trace context.
api.propagation.setGlobalPropagator(new W3CTraceContextPropagator())

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('fs')
const path = require('path')
const { execFileSync } = require('child_process')
const { brokers, uniqueTopic, createTopics, readBack, kafkajs, waitFor } = require('./helpers')
const { Kafka, logLevel, instrument } = require('..')

class TestReader extends MetricReader {
  async onForceFlush() {}
  async onShutdown() {}
}

function sdk() {
  const spans = new InMemorySpanExporter()
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] })
  const reader = new TestReader()
  const meterProvider = new MeterProvider({ readers: [reader] })
  return { spans, tracerProvider, reader, meterProvider }
}

/** [{name, attributes, point}] of one collection. */
async function collect(reader) {
  const { resourceMetrics } = await reader.collect()
  const out = []
  for (const sm of resourceMetrics.scopeMetrics) {
    for (const m of sm.metrics) for (const p of m.dataPoints) out.push({ name: m.descriptor.name, attributes: p.attributes, point: p })
  }
  return out
}

const sum = (points, name, attrs) =>
  points.filter(p => p.name === name && Object.entries(attrs).every(([k, v]) => p.attributes[k] === v)).reduce((n, p) => n + p.point.value, 0)

/** Runs `consumer` with eachMessage until `count` messages came; returns them. */
async function consume(consumer, count) {
  const got = []
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`consumed ${got.length} of ${count}`)), 30000)
    consumer
      .run({
        eachMessage: async payload => {
          got.push(payload)
          if (got.length === count) {
            clearTimeout(timer)
            resolve()
          }
        },
      })
      .catch(reject)
  })
  return got
}

const traceparentOf = headers => {
  const v = headers && headers.traceparent
  if (!v) return null
  const [, traceId, spanId] = String(v).split('-')
  return { traceId, spanId }
}

test('sent and consumed counts, lag and durations match what was sent and consumed', { timeout: 120000 }, async () => {
  const { reader, meterProvider, spans } = sdk()
  const topic = uniqueTopic('otel')
  await createTopics([topic], 3)
  const kafka = new Kafka({ clientId: 'otel-node', brokers, logLevel: logLevel.NOTHING, openTelemetry: { meterProvider } })
  const producer = kafka.producer()
  await producer.connect()
  await producer.send({ topic, messages: Array.from({ length: 10 }, (_, i) => ({ value: `v${i}`, partition: 0 })) })
  await producer.sendBatch({ topicMessages: [{ topic, messages: Array.from({ length: 5 }, (_, i) => ({ value: `w${i}`, partition: 1 })) }] })
  let points = await collect(reader)
  assert.equal(sum(points, 'messaging.client.sent.messages', { 'messaging.destination.name': topic }), 15)
  assert.equal(sum(points, 'messaging.client.sent.messages', { 'messaging.destination.partition.id': '0' }), 10)
  const sent = points.find(p => p.name === 'messaging.client.sent.messages').attributes
  assert.equal(sent['messaging.system'], 'kafka')
  assert.equal(sent['messaging.operation.name'], 'send')
  assert.equal(sent['messaging.client.id'], 'otel-node')
  const sends = points.filter(p => p.name === 'messaging.client.operation.duration' && p.attributes['messaging.destination.name'] === topic)
  assert.equal(sends.reduce((n, p) => n + p.point.value.count, 0), 2, 'one duration per send() call')
  assert.equal(sends[0].attributes['messaging.operation.name'], 'send')
  assert.ok(sends[0].point.value.sum > 0 && sends[0].point.value.sum < 30)

  const consumer = kafka.consumer({ groupId: uniqueTopic('otel-group') })
  await consumer.connect()
  await consumer.subscribe({ topics: [topic], fromBeginning: true })
  await consume(consumer, 15)
  // The lag is the end offset minus the committed one: partitions 0 and 1 once committed; the
  // empty partition 2 has no committed offset, so no lag point (librdkafka's consumer_lag -1).
  let lag = []
  await waitFor(async () => {
    points = await collect(reader)
    lag = points.filter(p => p.name === 'messaging.kafka.consumer.lag' && p.attributes['messaging.destination.name'] === topic)
    return lag.length === 2
  }, 20000, 'the lag of partitions 0 and 1 once the consumer committed')
  assert.deepEqual(lag.map(p => [p.attributes['messaging.destination.partition.id'], p.point.value]).sort(), [['0', 0], ['1', 0]])
  assert.equal(sum(points, 'messaging.client.consumed.messages', { 'messaging.destination.name': topic }), 15)
  assert.equal(sum(points, 'messaging.client.consumed.messages', { 'messaging.destination.partition.id': '1' }), 5)
  const processed = points.filter(p => p.name === 'messaging.process.duration' && p.attributes['messaging.destination.name'] === topic)
  assert.equal(processed.reduce((n, p) => n + p.point.value.count, 0), 15, 'one duration per eachMessage call')
  assert.equal(spans.getFinishedSpans().length, 0, 'tracing is off')
  await consumer.disconnect()
  await producer.disconnect()
})

test('a traceparent goes in each sent message and the eachMessage span continues it', { timeout: 120000 }, async () => {
  const { spans, tracerProvider, meterProvider } = sdk()
  const topic = uniqueTopic('otel-trace')
  await createTopics([topic], 2)
  const kafka = instrument(new Kafka({ clientId: 'otel-trace', brokers, logLevel: logLevel.NOTHING }), { tracing: true, tracerProvider, meterProvider })
  const producer = kafka.producer()
  await producer.connect()
  const messages = [{ value: 'a', partition: 0, headers: { app: 'x' } }, { value: 'b', partition: 1 }]
  await producer.send({ topic, messages })
  assert.deepEqual(messages[0].headers, { app: 'x' }, "the caller's messages are not changed")
  const sent = spans.getFinishedSpans().filter(s => s.kind === api.SpanKind.PRODUCER)
  assert.deepEqual(sent.map(s => s.name), [`send ${topic}`, `send ${topic}`])
  assert.equal(sent[0].attributes['messaging.system'], 'kafka')
  const back = (await readBack(topic, 2)).sort((a, b) => a.partition - b.partition)
  assert.equal(String(back[0].headers.app), 'x')
  back.forEach((m, i) => assert.deepEqual(traceparentOf(m.headers), { traceId: sent[i].spanContext().traceId, spanId: sent[i].spanContext().spanId }))

  const consumer = kafka.consumer({ groupId: uniqueTopic('otel-group') })
  await consumer.connect()
  await consumer.subscribe({ topics: [topic], fromBeginning: true })
  await consume(consumer, 2)
  await consumer.disconnect()
  const processed = spans.getFinishedSpans().filter(s => s.kind === api.SpanKind.CONSUMER)
  assert.equal(processed.length, 2)
  for (const s of processed) {
    const parent = sent.find(p => p.spanContext().traceId === s.spanContext().traceId)
    assert.ok(parent, 'same trace as a producer span')
    assert.equal(s.name, `process ${topic}`)
    assert.equal(s.parentSpanContext.spanId, parent.spanContext().spanId)
  }

  // eachBatch: one span per call, linked to every message's producer span.
  spans.reset()
  const batchConsumer = kafka.consumer({ groupId: uniqueTopic('otel-group') })
  await batchConsumer.connect()
  await batchConsumer.subscribe({ topics: [topic], fromBeginning: true })
  let seen = 0
  await new Promise((resolve, reject) => {
    batchConsumer.run({ eachBatch: async ({ batch }) => { seen += batch.messages.length; if (seen === 2) resolve() } }).catch(reject)
  })
  await batchConsumer.disconnect()
  const batches = spans.getFinishedSpans().filter(s => s.kind === api.SpanKind.CONSUMER && s.attributes['messaging.batch.message_count'] > 0)
  const linked = batches.flatMap(s => s.links.map(l => l.context.spanId)).sort()
  assert.deepEqual(linked, sent.map(s => s.spanContext().spanId).sort())
  await producer.disconnect()
})

test('without the option nothing is recorded and no header is added', { timeout: 60000 }, async () => {
  const topic = uniqueTopic('otel-off')
  await createTopics([topic], 1)
  const kafka = new Kafka({ clientId: 'otel-off', brokers, logLevel: logLevel.NOTHING })
  assert.equal(kafka._telemetry, null)
  const producer = kafka.producer()
  await producer.connect()
  await producer.send({ topic, messages: [{ value: 'plain' }] })
  await producer.disconnect()
  const [m] = await readBack(topic, 1)
  assert.equal(String(m.value), 'plain')
  assert.deepEqual(m.headers, {})
})

test('without @opentelemetry/api installed the option does nothing and clients work', { timeout: 60000 }, async () => {
  const topic = uniqueTopic('otel-noapi')
  await createTopics([topic], 1)
  const script = `
    const Module = require('module')
    const resolve = Module._resolveFilename
    Module._resolveFilename = function (request, ...rest) {
      if (request.startsWith('@opentelemetry/')) throw Object.assign(new Error('not installed'), { code: 'MODULE_NOT_FOUND' })
      return resolve.call(this, request, ...rest)
    }
    const { Kafka, instrument, logLevel } = require(${JSON.stringify(path.resolve(__dirname, '..'))})
    ;(async () => {
      const kafka = new Kafka({ brokers: ${JSON.stringify(brokers)}, logLevel: logLevel.NOTHING, openTelemetry: { tracing: true } })
      if (kafka._telemetry !== null || instrument(kafka, { tracing: true })._telemetry !== null) throw new Error('telemetry without the API')
      const p = kafka.producer()
      await p.connect()
      await p.send({ topic: ${JSON.stringify(topic)}, messages: [{ value: 'no-api' }] })
      await p.disconnect()
      const c = kafka.consumer({ groupId: ${JSON.stringify(topic)} })
      await c.connect()
      await c.subscribe({ topics: [${JSON.stringify(topic)}], fromBeginning: true })
      await new Promise((resolve, reject) => c.run({ eachMessage: async ({ message }) => {
        if (String(message.value) !== 'no-api' || Object.keys(message.headers).length) reject(new Error('unexpected message'))
        resolve()
      } }).catch(reject))
      await c.disconnect()
      console.log('ok')
    })().catch(e => { console.error(e); process.exit(1) })
  `
  assert.equal(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }).trim(), 'ok')
})

test('traces cross with kafkajs instrumented by @opentelemetry/instrumentation-kafkajs, both ways', { timeout: 120000 }, async () => {
  const { spans, tracerProvider, meterProvider } = sdk()
  const topic = uniqueTopic('otel-kafkajs')
  await createTopics([topic], 2)
  theirSpans.reset()
  // Theirs -> ours.
  const theirs = new kafkajs.Kafka({ clientId: 'theirs', brokers, logLevel: kafkajs.logLevel.NOTHING })
  const tp = theirs.producer()
  await tp.connect()
  await tp.send({ topic, messages: [{ value: 'from-kafkajs', partition: 0 }] })
  await tp.disconnect()
  const [theirSend] = theirSpans.getFinishedSpans().filter(s => s.kind === api.SpanKind.PRODUCER)
  assert.ok(theirSend, 'kafkajs instrumentation made a producer span')
  const ours = new Kafka({ clientId: 'ours', brokers, logLevel: logLevel.NOTHING, openTelemetry: { tracing: true, tracerProvider, meterProvider } })
  const c = ours.consumer({ groupId: uniqueTopic('otel-group') })
  await c.connect()
  await c.subscribe({ topics: [topic], fromBeginning: true })
  await consume(c, 1)
  await c.disconnect()
  const [ourProcess] = spans.getFinishedSpans().filter(s => s.kind === api.SpanKind.CONSUMER)
  assert.equal(ourProcess.spanContext().traceId, theirSend.spanContext().traceId)
  assert.equal(ourProcess.parentSpanContext.spanId, theirSend.spanContext().spanId)

  // Ours -> theirs.
  const p = ours.producer()
  await p.connect()
  await p.send({ topic, messages: [{ value: 'from-polykafka', partition: 1 }] })
  await p.disconnect()
  const [ourSend] = spans.getFinishedSpans().filter(s => s.kind === api.SpanKind.PRODUCER)
  theirSpans.reset()
  const tc = theirs.consumer({ groupId: uniqueTopic('otel-group') })
  await tc.connect()
  await tc.subscribe({ topics: [topic], fromBeginning: true })
  await consume(tc, 2)
  await tc.disconnect()
  const theirProcess = theirSpans.getFinishedSpans().filter(s => s.kind === api.SpanKind.CONSUMER && s.spanContext().traceId === ourSend.spanContext().traceId)
  assert.equal(theirProcess.length, 1, 'their eachMessage span is in our trace')
  assert.equal(theirProcess[0].parentSpanContext.spanId, ourSend.spanContext().spanId)
})

test('a trace started in Python (polykafka.opentelemetry) is continued here', { timeout: 120000 }, async t => {
  const python = process.env.POLYKAFKA_PYTHON || path.resolve(__dirname, '..', '..', 'build', 'venv-python', 'bin', 'python')
  const probe = fs.existsSync(python) && (() => {
    try {
      execFileSync(python, ['-c', 'import polykafka.opentelemetry, opentelemetry.sdk'], { stdio: 'ignore' })
      return true
    } catch (_) {
      return false
    }
  })()
  if (!probe) return t.skip('no build/venv-python with polykafka and opentelemetry-sdk (bindings-python/test.sh makes it)')
  const topic = uniqueTopic('otel-py')
  await createTopics([topic], 1)
  const script = [
    'import sys, polykafka',
    'from opentelemetry.sdk.trace import TracerProvider',
    'from polykafka.opentelemetry import instrument_producer',
    'tp = TracerProvider()',
    'span = tp.get_tracer("app").start_span("app work")',
    'from opentelemetry import trace, context',
    'token = context.attach(trace.set_span_in_context(span))',
    'p = instrument_producer(polykafka.Producer({"bootstrap.servers": sys.argv[1]}), tp)',
    'p.produce(sys.argv[2], value=b"from-python")',
    'assert p.flush(30) == 0',
    'print("%032x" % span.get_span_context().trace_id)',
  ].join('\n')
  const pythonTrace = execFileSync(python, ['-c', script, brokers[0], topic], { encoding: 'utf8' }).trim()
  const { spans, tracerProvider, meterProvider } = sdk()
  const kafka = new Kafka({ clientId: 'otel-py', brokers, logLevel: logLevel.NOTHING, openTelemetry: { tracing: true, tracerProvider, meterProvider } })
  const c = kafka.consumer({ groupId: uniqueTopic('otel-group') })
  await c.connect()
  await c.subscribe({ topics: [topic], fromBeginning: true })
  const [m] = await consume(c, 1)
  await c.disconnect()
  assert.equal(String(m.message.value), 'from-python')
  const [processed] = spans.getFinishedSpans().filter(s => s.kind === api.SpanKind.CONSUMER)
  assert.equal(processed.spanContext().traceId, pythonTrace, 'one trace from Python to Node')
})
