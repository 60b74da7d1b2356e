'use strict'
// kafkajs's Producer over NativeProducer. One native call per send: the messages are
// normalised here and handed over as one array.
const native = require('./native')
const config = require('./config')
const { InstrumentationEmitter, producerEvents } = require('./events')
const { Partitioners, NATIVE } = require('./partitioners')
const { hub } = require('./logger')
const keepalive = require('./keepalive')
const {
  KafkaJSError,
  KafkaJSNonRetriableError,
  KafkaJSProtocolError,
  fromNative,
} = require('./errors')
const { protocolErrorText } = require('./protocolErrors')

const STATUS = { DISCONNECTED: 'disconnected', CONNECTING: 'connecting', CONNECTED: 'connected', DISCONNECTING: 'disconnecting' }

// A key, value or header value: what kafkajs encodes (strings, Buffers, typed arrays,
// ArrayBuffers). Anything else fails as it does in kafkajs, with Node's own TypeError
// (ERR_INVALID_ARG_TYPE), rather than being sent as its String() form.
const bytes = v => {
  if (v === null || v === undefined) return undefined
  if (Buffer.isBuffer(v) || typeof v === 'string') return v
  if (ArrayBuffer.isView(v)) return Buffer.from(v.buffer, v.byteOffset, v.byteLength)
  if (v instanceof ArrayBuffer) return Buffer.from(v)
  Buffer.byteLength(v) // throws kafkajs's TypeError for numbers, objects, booleans, ...
  throw new TypeError(`Invalid message payload ${typeof v}`)
}

function headerList(headers) {
  if (!headers) return undefined
  const out = []
  for (const key of Object.keys(headers)) {
    const v = headers[key]
    if (v === undefined) continue
    if (Array.isArray(v)) for (const item of v) out.push({ key, value: bytes(item) })
    else out.push({ key, value: bytes(v) })
  }
  return out.length ? out : undefined
}

function timestampOf(t) {
  if (t === undefined || t === null || t === '') return undefined
  // kafkajs converts a string with BigInt: 'abc' is its SyntaxError, not the current time.
  if (typeof t === 'string') BigInt(t)
  const n = Number(t)
  return Number.isFinite(n) ? n : undefined
}

const MAX_INT32 = 2 ** 31 - 1

/** A message's partition: an integer or a string of one (kafkajs takes '0'); anything else
 * would be truncated or wrapped on its way to the engine's i32 (1.5 -> 1, 2**40 -> 0). */
function partitionOf(p, topic) {
  if (p === null || p === undefined) return undefined
  const n = typeof p === 'string' && /^-?\d+$/.test(p.trim()) ? Number(p) : p
  if (!Number.isInteger(n) || n < -MAX_INT32 - 1 || n > MAX_INT32) {
    throw new KafkaJSNonRetriableError(`Invalid partition ${String(p)} (${typeof p}) for topic "${topic}": expected an integer`)
  }
  return n
}

/** A topic that is not a string: kafkajs's broker answer for a number (INVALID_TOPIC_EXCEPTION),
 * never the topic named after its String() form (5 -> "5", ['t'] -> "t", a Buffer -> its text). */
function invalidTopic(topic) {
  const text = protocolErrorText(17)
  const detail = `${text.message} (topic ${Array.isArray(topic) ? `[${topic}]` : String(topic)} is ${typeof topic}, not a string)`
  const cause = new KafkaJSProtocolError({ message: detail, type: text.type, code: 17, retriable: false })
  return new KafkaJSNonRetriableError(cause, { cause })
}

class Producer {
  constructor(kafka, opts = {}) {
    const { createPartitioner = Partitioners.DefaultPartitioner, retry, idempotent = false } = opts
    const retries = retry && retry.retries
    if (idempotent && retries !== undefined && retries < 1) {
      throw new KafkaJSNonRetriableError('Idempotent producer must allow retries to protect against transient errors')
    }
    this._kafka = kafka
    this._opts = opts
    this._idempotent = idempotent
    this._logger = kafka._logger.namespace('Producer')
    if (idempotent && retries !== undefined && retries < Number.MAX_SAFE_INTEGER) {
      this._logger.warn('Limiting retries for the idempotent producer may invalidate EoS guarantees')
    }
    this._nativePartitioning = !!createPartitioner[NATIVE]
    this._partitioner = this._nativePartitioning ? null : createPartitioner()
    this._retry = retry
    this._status = STATUS.DISCONNECTED
    this._native = null
    this._emitter = new InstrumentationEmitter(producerEvents, this._logger)
    this._transactionActive = false
    this._telemetry = kafka._telemetry || null
    this.events = producerEvents
  }

  logger() {
    return this._logger
  }

  isIdempotent() {
    return this._idempotent
  }

  /**
   * Not in kafkajs: the engine's statistics of this producer's sends (librdkafka's statistics
   * layout, the README's "Statistics").
   */
  stats() {
    const text = this._native && this._native.stats()
    if (!text) throw new KafkaJSError('The producer is disconnected')
    return JSON.parse(text)
  }

  on(eventName, listener) {
    return this._emitter.on(eventName, listener)
  }

  async connect() {
    if (this._status === STATUS.CONNECTED) return
    this._status = STATUS.CONNECTING
    // Core logs of the connection attempt go to this Kafka's logCreator too.
    hub.register(this._kafka._logger)
    try {
      const kafka = this._kafka._config
      const brokers = await config.resolveBrokers(kafka.brokers)
      const token = await config.oauthToken(kafka)
      const props = config.producerProperties(kafka, brokers, this._opts, { token })
      let nativeProducer
      try {
        nativeProducer = new native.NativeProducer(props, this._emitter.nativeCallback())
      } catch (e) {
        throw fromNative(e, { wrapRetriable: false })
      }
      this._emitter.attach(nativeProducer)
      const adminProps = config.adminProperties(kafka, brokers, { token })
      try {
        await nativeProducer.connect(adminProps, config.connectTimeout(kafka, this._retry))
      } catch (e) {
        const err = fromNative(e)
        this._logger.error(err.message)
        throw err
      }
      this._native = nativeProducer
      if (this._telemetry) this._telemetry.observe(nativeProducer)
    } catch (e) {
      this._status = STATUS.DISCONNECTED
      this._emitter.detach()
      hub.unregisterSoon(this._kafka._logger)
      throw e
    }
    this._status = STATUS.CONNECTED
    keepalive.acquire()
    this._emitter.emit(producerEvents.CONNECT)
  }

  async disconnect() {
    if (this._status === STATUS.DISCONNECTED || !this._native) {
      this._status = STATUS.DISCONNECTED
      return
    }
    this._status = STATUS.DISCONNECTING
    const nativeProducer = this._native
    try {
      await nativeProducer.close(this._kafka._config.requestTimeout ?? 30000)
    } catch (e) {
      this._logger.error(`Error while disconnecting: ${e.message}`)
    } finally {
      if (this._telemetry) this._telemetry.forget(nativeProducer)
      this._native = null
      this._emitter.detach()
      this._status = STATUS.DISCONNECTED
      keepalive.release()
      hub.unregisterSoon(this._kafka._logger)
      this._emitter.emit(producerEvents.DISCONNECT)
    }
  }

  async send({ acks, timeout, compression, topic, messages } = {}) {
    return this.sendBatch({ acks, timeout, compression, topicMessages: [{ topic, messages }] })
  }

  async sendBatch({ acks = -1, timeout, compression = 0, topicMessages = [] } = {}) {
    if (topicMessages.some(({ topic }) => !topic)) {
      throw new KafkaJSNonRetriableError(`Invalid topic`)
    }
    if (this._idempotent && acks !== -1) {
      throw new KafkaJSNonRetriableError(
        `Not requiring ack for all messages invalidates the idempotent producer's EoS guarantees`
      )
    }
    for (const { topic, messages } of topicMessages) {
      if (typeof topic !== 'string') throw invalidTopic(topic)
      if (!messages) {
        throw new KafkaJSNonRetriableError(`Invalid messages array [${messages}] for topic "${topic}"`)
      }
      const noValue = messages.find(m => m.value === undefined)
      if (noValue) {
        throw new KafkaJSNonRetriableError(
          `Invalid message without value for topic "${topic}": ${JSON.stringify(noValue)}`
        )
      }
    }
    if (this._status === STATUS.DISCONNECTING) {
      throw new KafkaJSNonRetriableError(
        `The producer is disconnecting; therefore, it can't safely accept messages anymore`
      )
    }
    if (this._status !== STATUS.CONNECTED || !this._native) {
      throw new KafkaJSError('The producer is disconnected')
    }
    if (![-1, 0, 1].includes(acks)) {
      // kafkajs sends it and the broker answers INVALID_REQUIRED_ACKS; the same error, locally.
      const text = protocolErrorText(21)
      throw new KafkaJSProtocolError({ message: text.message, type: text.type, code: 21, retriable: false })
    }
    if (![0, 1, 2, 3, 4].includes(compression)) {
      throw new KafkaJSNonRetriableError(`Unsupported compression codec ${compression}`)
    }
    // OpenTelemetry: the send's duration; with tracing, a span per message in its headers.
    const sent = this._telemetry && this._telemetry.startSend(topicMessages)
    if (sent) topicMessages = sent.topicMessages
    const batch = []
    for (const { topic, messages } of topicMessages) {
      const partitioner = await this._jsPartitioner(topic, messages)
      const out = new Array(messages.length)
      for (let i = 0; i < messages.length; i++) {
        const m = messages[i]
        const partition = partitioner ? partitioner(m) : m.partition
        out[i] = {
          key: bytes(m.key),
          value: bytes(m.value),
          partition: partitionOf(partition, topic),
          headers: headerList(m.headers),
          timestamp: timestampOf(m.timestamp),
        }
      }
      batch.push({ topic, messages: out })
    }
    try {
      const results = await this._native.send(batch, acks, compression)
      return sent ? sent.done(null, results) : results
    } catch (e) {
      let err = fromNative(e)
      if (sent) sent.done(err)
      // kafkajs meets an invalid topic name in the topic's metadata, inside its retrier, which
      // wraps a non-retriable error in KafkaJSNonRetriableError (errors of the produce request
      // itself come as they are).
      if (err.type === 'INVALID_TOPIC_EXCEPTION') err = new KafkaJSNonRetriableError(err, { cause: err })
      this._logger.error(err.message, { retryCount: 0, retryTime: 0 })
      throw err
    }
  }

  /** For a partitioner written in JS: a function giving each message its partition, made
   * with the topic's metadata fetched once for this send. */
  async _jsPartitioner(topic, messages) {
    if (this._nativePartitioning) return null
    if (messages.every(m => m.partition !== undefined && m.partition !== null)) return null
    let count
    try {
      count = await this._native.partitionCount(String(topic))
    } catch (e) {
      throw fromNative(e)
    }
    // The core gives the count; leaders are not known here (-1).
    const partitionMetadata = Array.from({ length: count }, (_, partitionId) => ({
      partitionErrorCode: 0,
      partitionId,
      leader: -1,
      replicas: [],
      isr: [],
      offlineReplicas: [],
    }))
    return message => this._partitioner({ topic, partitionMetadata, message })
  }

  async transaction() {
    if (!this._opts.transactionalId) {
      throw new KafkaJSNonRetriableError('Must provide transactional id for transactional producer')
    }
    if (this._transactionActive) {
      throw new KafkaJSNonRetriableError(
        'There is already an ongoing transaction for this producer. Please end the transaction before beginning another.'
      )
    }
    if (this._status !== STATUS.CONNECTED || !this._native) {
      throw new KafkaJSError('The producer is disconnected')
    }
    try {
      this._native.beginTransaction()
    } catch (e) {
      throw fromNative(e, { wrapRetriable: false })
    }
    this._transactionActive = true
    let ended = false
    const end = async commit => {
      try {
        await this._native.endTransaction(commit)
      } catch (e) {
        throw fromNative(e, { wrapRetriable: false })
      }
      ended = true
      this._transactionActive = false
    }
    const guard = fn => (...args) =>
      ended ? Promise.reject(new KafkaJSNonRetriableError('Cannot continue to use transaction once ended')) : fn(...args)
    return {
      send: guard(record => this.send(record)),
      sendBatch: guard(batch => this.sendBatch(batch)),
      // No default for the argument: without one, kafkajs's TypeError (not offsets of group "undefined").
      sendOffsets: guard(async ({ consumerGroupId, topics = [] }) => {
        const offsets = []
        for (const { topic, partitions } of topics) {
          for (const { partition, offset } of partitions) offsets.push({ topic, partition, offset: String(offset) })
        }
        try {
          await this._native.sendOffsets(String(consumerGroupId), offsets)
        } catch (e) {
          throw fromNative(e, { wrapRetriable: false })
        }
      }),
      commit: guard(() => end(true)),
      abort: guard(() => end(false)),
      isActive: () => !ended,
    }
  }
}

module.exports = { Producer }
