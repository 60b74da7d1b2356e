'use strict'
// OpenTelemetry through @opentelemetry/api (an optional peer dependency): the Kafka option
// `openTelemetry` (or `instrument(kafka, options)`) turns it on for that Kafka's producers and
// consumers. Without the package installed nothing is recorded and nothing breaks.
//
// Metrics: the engine's table (native.otelInstruments()). The counters (sent / consumed
// messages) and the lag are observable: one batch callback reads the statistics snapshot of each
// live client when the SDK collects, and the core maps it to points (native.otelPoints()), so
// nothing is counted per message here. The durations are recorded per call: a send()/sendBatch()
// (messaging.client.operation.duration, `send`) and an eachMessage/eachBatch handler call
// (messaging.process.duration).
//
// Tracing (`tracing: true`): a span `send <topic>` (kind PRODUCER) per message, its context
// injected into the message's headers (W3C traceparent with the default propagator), ended when
// the send completes; a span `process <topic>` (kind CONSUMER) per eachMessage call whose parent
// is the context extracted from the message's headers (the handler runs in it), and per eachBatch
// call one linked to every message's context. Tracing off: no work per message.
const native = require('./native')

let api = null
try {
  api = require('@opentelemetry/api')
} catch (_) {
  api = null
}

const SCOPE = 'polykafka'
const VERSION = require('../package.json').version

const headerGetter = {
  keys: carrier => Object.keys(carrier || {}),
  get: (carrier, key) => {
    const v = carrier && carrier[key]
    if (v === undefined || v === null) return undefined
    const one = Array.isArray(v) ? v[0] : v
    return Buffer.isBuffer(one) ? one.toString('utf8') : String(one)
  },
}

// One set of instruments per meter provider, observing the native clients registered with it.
const meters = new Map()

class Meter {
  constructor(meterProvider) {
    const meter = (meterProvider || api.metrics.getMeterProvider()).getMeter(SCOPE, VERSION)
    this.clients = new Set()
    this.histograms = {}
    const observables = {}
    for (const ins of JSON.parse(native.otelInstruments())) {
      const opts = { unit: ins.unit, description: ins.description }
      if (ins.kind === 'histogram') {
        this.histograms[ins.name] = meter.createHistogram(ins.name, { ...opts, advice: { explicitBucketBoundaries: ins.buckets } })
      } else if (ins.kind === 'counter') {
        observables[ins.name] = meter.createObservableCounter(ins.name, opts)
      } else {
        observables[ins.name] = meter.createObservableGauge(ins.name, opts)
      }
    }
    meter.addBatchObservableCallback(result => {
      const snapshots = []
      for (const client of this.clients) {
        try {
          const text = client.stats()
          if (text) snapshots.push(text)
        } catch (_) {
          // closed meanwhile
        }
      }
      for (const p of JSON.parse(native.otelPoints(snapshots))) {
        const o = observables[p.name]
        if (o) result.observe(o, p.value, p.attributes)
      }
    }, Object.values(observables))
  }
}

function attributes(topic, operation, error) {
  const a = { 'messaging.system': 'kafka', 'messaging.operation.name': operation }
  if (topic != null) a['messaging.destination.name'] = topic
  if (error != null) a['error.type'] = error
  return a
}

const errorType = e => (e && (e.type || e.name || (e.constructor && e.constructor.name))) || 'Error'

/** What a producer or consumer records with; null when OpenTelemetry is off or not installed. */
class Telemetry {
  constructor({ tracing = false, tracerProvider, meterProvider, metrics = true } = {}) {
    this.tracer = tracing ? (tracerProvider || api.trace.getTracerProvider()).getTracer(SCOPE, VERSION) : null
    this.meter = null
    if (metrics) {
      const key = meterProvider || null
      this.meter = meters.get(key)
      if (!this.meter) meters.set(key, (this.meter = new Meter(meterProvider)))
    }
  }

  /** Observes `client` (a native producer or consumer: its stats()) until `forget`. */
  observe(client) {
    if (this.meter) this.meter.clients.add(client)
  }

  forget(client) {
    if (this.meter) this.meter.clients.delete(client)
  }

  /** A send of `topicMessages` ({topic, messages}: kafkajs's messages, not mutated): returns
   * {topicMessages, done(error)}; with tracing, copies of the messages whose headers carry each
   * one's span context. */
  startSend(topicMessages) {
    const start = performance.now()
    let spans = null
    if (this.tracer) {
      spans = []
      const active = api.context.active()
      topicMessages = topicMessages.map(({ topic, messages }) => ({
        topic,
        messages: (messages || []).map(m => {
          const span = this.tracer.startSpan(
            `send ${topic}`,
            {
              kind: api.SpanKind.PRODUCER,
              attributes: { 'messaging.system': 'kafka', 'messaging.destination.name': String(topic), 'messaging.operation.name': 'send', 'messaging.operation.type': 'send' },
            },
            active
          )
          spans.push(span)
          const headers = { ...(m.headers || {}) }
          api.propagation.inject(api.trace.setSpan(active, span), headers)
          return { ...m, headers }
        }),
      }))
    }
    const done = (error, results) => {
      const seconds = (performance.now() - start) / 1000
      const type = error ? errorType(error) : undefined
      if (this.meter) {
        const h = this.meter.histograms['messaging.client.operation.duration']
        for (const topic of new Set(topicMessages.map(t => String(t.topic)))) h.record(seconds, attributes(topic, 'send', type))
      }
      if (spans) {
        for (const span of spans) {
          if (error) {
            span.setAttribute('error.type', type)
            span.setStatus({ code: api.SpanStatusCode.ERROR, message: error.message })
          }
          span.end()
        }
      }
      return results
    }
    return { topicMessages, done }
  }

  /** Runs `call` (an eachMessage call for `messages[0]` when `single`, else an eachBatch call
   * for `messages`) in a process span and records its duration. eachMessage: the span's parent
   * is the context in the message's headers; eachBatch: the span links to each message's. */
  async process(topic, partition, messages, single, call) {
    const start = performance.now()
    if (!this.tracer) return this._process(topic, null, start, call)
    const attributes = {
      'messaging.system': 'kafka',
      'messaging.destination.name': topic,
      'messaging.destination.partition.id': String(partition),
      'messaging.operation.name': 'process',
      'messaging.operation.type': 'process',
    }
    const contexts = messages.map(m => api.propagation.extract(api.ROOT_CONTEXT, m.headers || {}, headerGetter))
    let parent = api.context.active()
    let links = []
    if (single) {
      parent = contexts[0]
      attributes['messaging.kafka.offset'] = Number(messages[0].offset)
    } else {
      attributes['messaging.batch.message_count'] = messages.length
      links = contexts.map(c => api.trace.getSpanContext(c)).filter(sc => sc && api.isSpanContextValid(sc)).map(context => ({ context }))
    }
    const span = this.tracer.startSpan(`process ${topic}`, { kind: api.SpanKind.CONSUMER, links, attributes }, parent)
    const ctx = api.trace.setSpan(parent, span)
    return this._process(topic, span, start, () => api.context.with(ctx, call))
  }

  async _process(topic, span, start, call) {
    let error = null
    try {
      return await call()
    } catch (e) {
      error = e
      throw e
    } finally {
      const type = error ? errorType(error) : undefined
      if (this.meter) this.meter.histograms['messaging.process.duration'].record((performance.now() - start) / 1000, attributes(topic, 'process', type))
      if (span) {
        if (error) {
          span.setAttribute('error.type', type)
          span.setStatus({ code: api.SpanStatusCode.ERROR, message: error && error.message })
        }
        span.end()
      }
    }
  }
}

/** The Telemetry for a Kafka's `openTelemetry` option: `true` (metrics), an object
 * ({ tracing, tracerProvider, meterProvider, metrics }), or nothing (off); null when off or
 * when @opentelemetry/api is not installed. */
function telemetryOf(option) {
  if (!option || !api) return null
  return new Telemetry(option === true ? {} : option)
}

/** Turns OpenTelemetry on for the producers and consumers `kafka` makes from now on. */
function instrument(kafka, options = {}) {
  kafka._telemetry = telemetryOf(options === false ? null : options)
  return kafka
}

module.exports = { instrument, telemetryOf, available: () => api !== null, headerGetter }
