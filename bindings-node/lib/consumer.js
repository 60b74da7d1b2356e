'use strict'
// kafkajs's Consumer over NativeConsumer. The run loop lives here: one native poll brings a
// batch of records per partition (or the pending rebalance events); handlers run on the JS
// thread, one partition's messages in order, `partitionsConsumedConcurrently` partitions at
// once. Offsets are kafkajs's: a message is resolved when its handler returns, commits carry
// resolved offsets (+1), and a throwing handler leaves its message to be delivered again.
// A resolved offset is stored in the core (enable.auto.offset.store=false), which commits the
// stored offsets every autoCommitInterval, on revocation and on close; kafkajs's commit after
// each batch and its autoCommitThreshold call the core's commit of the stored offsets.
const native = require('./native')
const config = require('./config')
const { DEFAULTS: RETRY_DEFAULTS } = require('./retry')
const { InstrumentationEmitter } = require('./events')
const { hub } = require('./logger')
const keepalive = require('./keepalive')
const { KafkaJSNonRetriableError, KafkaJSError, fromNative } = require('./errors')

const consumerEvents = {
  HEARTBEAT: 'consumer.heartbeat',
  COMMIT_OFFSETS: 'consumer.commit_offsets',
  GROUP_JOIN: 'consumer.group_join',
  FETCH_START: 'consumer.fetch_start',
  FETCH: 'consumer.fetch',
  START_BATCH_PROCESS: 'consumer.start_batch_process',
  END_BATCH_PROCESS: 'consumer.end_batch_process',
  CONNECT: 'consumer.connect',
  DISCONNECT: 'consumer.disconnect',
  STOP: 'consumer.stop',
  CRASH: 'consumer.crash',
  REBALANCING: 'consumer.rebalancing',
  RECEIVED_UNSUBSCRIBED_TOPICS: 'consumer.received_unsubscribed_topics',
  REQUEST: 'consumer.network.request',
  REQUEST_TIMEOUT: 'consumer.network.request_timeout',
  REQUEST_QUEUE_SIZE: 'consumer.network.request_queue_size',
}

// The assigner names kafkajs reports (groupProtocol) for the core's protocol names.
const ASSIGNER_NAMES = { roundrobin: 'RoundRobinAssigner', range: 'RangeAssigner' }

const NOT_RUNNING = 'Consumer group was not initialized, consumer#run must be called first'

/** An offset as kafkajs reads one (its Long.fromValue): a BigInt, or a throw for what is not one. */
function toLong(v) {
  if (typeof v === 'number') return Number.isNaN(v) ? 0n : BigInt(v)
  if (typeof v === 'string') {
    if (v.length === 0) throw new Error('empty string')
    if (v === 'NaN' || v === 'Infinity' || v === '+Infinity' || v === '-Infinity') return 0n
    return BigInt(v)
  }
  if (typeof v === 'bigint') return v
  return BigInt(v)
}

/** kafkajs's checks of an offset given by the application (commitOffsets, seek). */
function checkOffset({ topic, partition, offset }, allowed = []) {
  if (!topic) throw new KafkaJSNonRetriableError(`Invalid topic ${topic}`)
  if (isNaN(partition)) throw new KafkaJSNonRetriableError(`Invalid partition, expected a number received ${partition}`)
  let o
  try {
    o = toLong(offset)
  } catch (_) {
    throw new KafkaJSNonRetriableError(`Invalid offset, expected a long received ${offset}`)
  }
  if (o < 0n && !allowed.includes(o)) throw new KafkaJSNonRetriableError('Offset must not be a negative number')
  return o
}

/** kafkajs's checks of pause/resume arguments. */
function checkTopicPartitions(topicPartitions, what) {
  for (const tp of topicPartitions) {
    if (!tp || !tp.topic) throw new KafkaJSNonRetriableError(`Invalid topic ${(tp && tp.topic) || tp}`)
    if (typeof tp.partitions !== 'undefined' && (!Array.isArray(tp.partitions) || tp.partitions.some(isNaN))) {
      throw new KafkaJSNonRetriableError(
        `Array of valid partitions required to ${what} specific partitions instead of ${tp.partitions}`
      )
    }
  }
}

const key = (topic, partition) => `${topic}\u0000${partition}`
const call = async (fn, opts) => {
  try {
    return await fn()
  } catch (e) {
    throw fromNative(e, opts)
  }
}

/** run({ deadLetter }) in the native layer's words (src/dlq.rs NativeDeadLetterOptions). */
function deadLetterOptions(d) {
  const out = {}
  for (const k of ['topic', 'retries', 'initialRetryTime', 'multiplier', 'maxRetryTime', 'retryTopic']) {
    if (d[k] != null) out[k] = d[k]
  }
  if (d.producer) out.producer = Object.fromEntries(Object.entries(d.producer).map(([k, v]) => [k, String(v)]))
  return out
}

/** A message as the native dead-letter calls take it: headers flattened in order (a repeated
 * key's values one after another). */
function deadLetterRecord(topic, partition, message) {
  const headers = []
  // undefined, not null: the native layer takes a missing buffer as absent.
  const bytes = v => (v == null ? undefined : Buffer.isBuffer(v) ? v : Buffer.from(String(v)))
  for (const [k, v] of Object.entries(message.headers || {})) {
    for (const one of Array.isArray(v) ? v : [v]) headers.push({ key: k, value: bytes(one) })
  }
  return {
    topic,
    partition,
    offset: message.offset,
    timestamp: message.timestamp,
    key: bytes(message.key),
    value: bytes(message.value),
    headers,
  }
}

function toHeaders(list) {
  const headers = {}
  for (const h of list) {
    const v = h.value == null ? null : h.value
    if (h.key in headers) {
      const prev = headers[h.key]
      headers[h.key] = Array.isArray(prev) ? [...prev, v] : [prev, v]
    } else headers[h.key] = v
  }
  return headers
}

// A native batch comes packed (src/consumer.rs NativeBatch): keys and values back to back in one
// Buffer, four numbers per message in `meta`. Each message's key and value are views of it.
function unpack(b) {
  const { data, meta } = b
  const n = meta.length / 4
  const messages = new Array(n)
  let pos = 0
  let h = 0
  for (let i = 0; i < n; i++) {
    const kl = meta[4 * i + 2]
    const vl = meta[4 * i + 3]
    let key = null
    let value = null
    if (kl >= 0) {
      key = data.subarray(pos, pos + kl)
      pos += kl
    }
    if (vl >= 0) {
      value = data.subarray(pos, pos + vl)
      pos += vl
    }
    let headers = {}
    if (h < b.headers.length && b.headers[h].index === i) headers = toHeaders(b.headers[h++].headers)
    messages[i] = {
      magicByte: 2,
      attributes: 0,
      timestamp: String(meta[4 * i + 1]),
      offset: String(meta[4 * i]),
      key,
      value,
      headers,
      isControlRecord: false,
      batchContext: {},
    }
  }
  return messages
}

class Consumer {
  constructor(kafka, opts = {}) {
    const {
      groupId,
      sessionTimeout = 30000,
      rebalanceTimeout = 60000,
      heartbeatInterval = 3000,
      minBytes = 1,
      maxBytes = 10485760,
      maxBytesPerPartition = 1048576,
      maxWaitTimeInMs = 5000,
      readUncommitted = false,
      allowAutoTopicCreation = true,
      rackId,
      retry,
      partitionAssigners,
    } = opts
    if (!groupId || typeof groupId !== 'string') {
      throw new KafkaJSNonRetriableError('Consumer groupId must be a non-empty string.')
    }
    if (heartbeatInterval >= sessionTimeout) {
      throw new KafkaJSNonRetriableError(
        `Consumer heartbeatInterval (${heartbeatInterval}) must be lower than sessionTimeout (${sessionTimeout}). It is recommended to set heartbeatInterval to approximately a third of the sessionTimeout.`
      )
    }
    this._kafka = kafka
    this._groupId = groupId
    this._settings = {
      'group.id': groupId,
      'session.timeout.ms': String(sessionTimeout),
      'rebalance.timeout.ms': String(rebalanceTimeout),
      'heartbeat.interval.ms': String(heartbeatInterval),
      'max.poll.interval.ms': String(Math.max(rebalanceTimeout, 300000)),
      'fetch.min.bytes': String(minBytes),
      'fetch.max.bytes': String(maxBytes),
      'max.partition.fetch.bytes': String(maxBytesPerPartition),
      'fetch.max.wait.ms': String(maxWaitTimeInMs),
      'isolation.level': readUncommitted ? 'read_uncommitted' : 'read_committed',
      'allow.auto.create.topics': String(allowAutoTopicCreation),
      'partition.assignment.strategy': (partitionAssigners || []).some(a => a && a.assignerName === 'roundrobin') || !partitionAssigners
        ? 'roundrobin'
        : 'range',
    }
    if (rackId) this._settings['client.rack'] = String(rackId)
    this._retry = Object.assign({}, RETRY_DEFAULTS, kafka._config.retry, retry)
    this._logger = kafka._logger.namespace('Consumer')
    // kafkajs logs a consumer's life cycle under these namespaces too.
    this._groupLogger = kafka._logger.namespace('ConsumerGroup')
    this._runnerLogger = kafka._logger.namespace('Runner')
    this._emitter = new InstrumentationEmitter(consumerEvents, this._logger)
    this.events = consumerEvents
    this._topics = new Set()
    this._patterns = []
    this._fromBeginning = false
    this._native = null
    this._connected = false
    this._running = false
    this._loop = null
    this._resolved = new Map() // tp key -> {topic, partition, offset (next, string)}
    this._committed = new Map() // tp key -> offset committed (string)
    this._unstored = new Map() // tp key -> resolved offset the core refused to store (revoking)
    this._paused = new Set()
    this._deadLetter = null // run({ deadLetter })
    this._pendingSeeks = new Map() // tp key -> seek waiting for its partition to be assigned
    this._stale = new Set()
  }

  on(eventName, listener) {
    return this._emitter.on(eventName, listener)
  }

  /** Not in kafkajs: the engine's statistics (librdkafka's statistics layout) once run() started. */
  stats() {
    if (!this._native) throw new KafkaJSError('The consumer is not running; call run() first')
    return JSON.parse(this._native.stats())
  }

  logger() {
    return this._logger
  }

  async connect() {
    if (this._connected) return
    hub.register(this._kafka._logger)
    try {
      const kafka = this._kafka._config
      const brokers = await config.resolveBrokers(kafka.brokers)
      const token = await config.oauthToken(kafka)
      this._props = Object.assign(config.clientProperties(kafka, brokers, { token }), this._settings)
      // Check the cluster is reachable now, as kafkajs does; the consumer itself starts in run().
      this._adminProps = config.adminProperties(kafka, brokers, { token })
      const probe = new native.NativeAdmin(this._adminProps)
      try {
        await call(() => probe.connect(config.connectTimeout(kafka, this._retry)))
      } finally {
        await probe.close()
      }
    } catch (e) {
      hub.unregisterSoon(this._kafka._logger)
      throw e
    }
    this._connected = true
    keepalive.acquire()
    this._emitter.emit(consumerEvents.CONNECT)
  }

  async subscribe({ topic, topics: list, fromBeginning = false } = {}) {
    if (this._running) {
      throw new KafkaJSNonRetriableError('Cannot subscribe to topic while consumer is running')
    }
    if (!topic && !list) {
      throw new KafkaJSNonRetriableError('Missing required argument "topics"')
    }
    if (list != null && !Array.isArray(list)) {
      throw new KafkaJSNonRetriableError('Argument "topics" must be an array')
    }
    const topics = list || [topic]
    for (const t of topics) {
      if (typeof t !== 'string' && !(t instanceof RegExp)) {
        throw new KafkaJSNonRetriableError(`Invalid topic ${t} (${typeof t}), the topic name has to be a String or a RegExp`)
      }
    }
    const names = []
    for (const t of topics) {
      if (t instanceof RegExp) this._patterns.push(t.source)
      else {
        this._topics.add(t)
        names.push(t)
      }
    }
    if (fromBeginning) this._fromBeginning = true
    // As kafkajs: the topics' metadata is fetched now (creating them when allowAutoTopicCreation
    // and the broker allow it); a topic that does not exist rejects with the broker's error.
    // Like kafkajs, the topics stay in the subscription even then.
    if (names.length) await this._checkTopics(names)
  }

  async _checkTopics(names) {
    let props = this._adminProps
    if (!props) {
      const kafka = this._kafka._config
      const brokers = await config.resolveBrokers(kafka.brokers)
      props = config.adminProperties(kafka, brokers, { token: await config.oauthToken(kafka) })
    }
    const admin = new native.NativeAdmin(
      Object.assign({}, props, { 'allow.auto.create.topics': this._settings['allow.auto.create.topics'] })
    )
    try {
      await call(() => admin.checkTopics(names), { wrapRetriable: false })
    } finally {
      await admin.close()
    }
  }

  async run({
    autoCommit = true,
    autoCommitInterval = null,
    autoCommitThreshold = null,
    eachBatchAutoResolve = true,
    partitionsConsumedConcurrently = 1,
    eachBatch = null,
    eachMessage = null,
    deadLetter = null,
  } = {}) {
    if (!this._connected) throw new KafkaJSError('The consumer is not connected; call connect() first')
    if (this._running) {
      this._logger.warn('consumer#run was called, but the consumer is already running', { groupId: this._groupId })
      return
    }
    if (this._topics.size === 0 && this._patterns.length === 0) {
      throw new KafkaJSNonRetriableError('The consumer has not subscribed to any topic; call subscribe() first')
    }
    if (deadLetter && !eachMessage) {
      throw new KafkaJSNonRetriableError('deadLetter works with eachMessage (not eachBatch)')
    }
    this._logger.info('Starting', { groupId: this._groupId })
    const props = Object.assign({}, this._props, {
      'auto.offset.reset': this._fromBeginning ? 'earliest' : 'latest',
      // The core commits the offsets stored here (resolved ones), not the positions delivered.
      'enable.auto.commit': String(Boolean(autoCommit)),
      'enable.auto.offset.store': 'false',
    })
    // Without autoCommitInterval kafkajs commits only after batches (and by threshold): the
    // core's timer is then set beyond reach.
    props['auto.commit.interval.ms'] = String(autoCommitInterval != null ? autoCommitInterval : 2147483647)
    let nativeConsumer
    try {
      nativeConsumer = new native.NativeConsumer(props, this._emitter.nativeCallback())
    } catch (e) {
      throw fromNative(e, { wrapRetriable: false })
    }
    this._emitter.attach(nativeConsumer)
    await call(() => nativeConsumer.start([...this._topics], this._patterns), { wrapRetriable: false })
    if (deadLetter) await call(() => nativeConsumer.deadLetterStart(deadLetterOptions(deadLetter)), { wrapRetriable: false })
    // Tests only (test/dlq.test.js, the kill test): a wait between a copy's ack and its commit.
    if (deadLetter && deadLetter._delayCommitsForTests) nativeConsumer.deadLetterDelayCommitsForTests(deadLetter._delayCommitsForTests)
    this._deadLetter = deadLetter
    this._native = nativeConsumer
    this._telemetry = this._kafka._telemetry || null
    if (this._telemetry) this._telemetry.observe(nativeConsumer)
    this._runConfig = { autoCommit, autoCommitThreshold, eachBatchAutoResolve, eachBatch, eachMessage }
    this._concurrency = Math.max(1, partitionsConsumedConcurrently | 0)
    this._uncommittedCount = 0
    this._running = true
    // As kafkajs, run() resolves once the consumer has joined the group (or stopped trying).
    const joined = new Promise(resolve => {
      this._onJoined = resolve
    })
    this._loop = this._runLoop().finally(() => this._onJoined && this._onJoined())
    await joined
    this._onJoined = null
  }

  async _runLoop() {
    let failures = 0
    while (this._running) {
      let res
      try {
        const started = Date.now()
        this._emitter.emit(consumerEvents.FETCH_START, { nodeId: -1 })
        // Partitions waiting for a retry resume when due; the poll waits no longer than that.
        const due = this._deadLetter ? this._native.deadLetterResumeDue() : null
        res = await this._native.poll(10000, due == null ? 1000 : Math.max(1, Math.min(1000, due)))
        for (const b of res.batches) b.messages = unpack(b)
        this._emitter.emit(consumerEvents.FETCH, { numberOfBatches: res.batches.length, duration: Date.now() - started, nodeId: -1 })
        failures = 0
      } catch (e) {
        if (!this._running) break
        const error = fromNative(e, { wrapRetriable: false })
        failures++
        const restart = error.retriable !== false && failures <= (this._retry.retries ?? 5)
        this._logger.error(`Crash: ${error.name}: ${error.message}`, { groupId: this._groupId, retryCount: failures })
        this._emitter.emit(consumerEvents.CRASH, { error, groupId: this._groupId, restart })
        if (!restart) {
          this._running = false
          break
        }
        await new Promise(r => setTimeout(r, this._retry.initialRetryTime * failures))
        continue
      }
      try {
        for (const ev of res.events) await this._onRebalance(ev)
        if (res.batches.length) await this._process(res.batches)
        // kafkajs commits the resolved offsets after every batch.
        if (res.batches.length) await this._autoCommit(true)
      } catch (e) {
        this._logger.error(`Error in the consumer loop: ${e.message}`, { groupId: this._groupId })
      }
    }
  }

  async _onRebalance(ev) {
    const info = this._native.groupInfo()
    if (ev.kind === 'revoked' || ev.kind === 'lost') {
      this._rebalancing = true
      this._runnerLogger.warn('The group is rebalancing, re-joining', {
        groupId: this._groupId,
        memberId: info.memberId,
        error: 'The group is rebalancing, so a rejoin is needed',
      })
      this._emitter.emit(consumerEvents.REBALANCING, { groupId: this._groupId, memberId: info.memberId })
      // The core commits the stored offsets of revoked partitions; offsets resolved after the
      // revocation began (the core refuses to store those) are committed here, as kafkajs does.
      if (ev.kind === 'revoked' && this._runConfig.autoCommit) await this._commitUnstored(ev.partitions)
      for (const { topic, partition } of ev.partitions) {
        const k = key(topic, partition)
        this._unstored.delete(k)
        this._resolved.delete(k)
        this._committed.delete(k)
        this._stale.add(k)
      }
      return
    }
    if (ev.kind === 'assigned') {
      // The core reports the outcome of a join, not its start: a join without a revocation
      // before it (the first one) still announces the rebalance, as kafkajs does.
      if (!this._rebalancing) this._emitter.emit(consumerEvents.REBALANCING, { groupId: this._groupId, memberId: info.memberId })
      this._rebalancing = false
      // kafkajs resolves where each partition starts (committed offset, else fromBeginning)
      // before GROUP_JOIN: a program that produces on GROUP_JOIN with fromBeginning:false must
      // see those messages. Wait for the core to know (woken by its fetcher; bounded, and in
      // slices so that stop() is not held up).
      const until = Date.now() + 30000
      while (this._running && Date.now() < until && !(await this._native.waitPositionsKnown(500).catch(() => true)));
      const memberAssignment = {}
      for (const { topic, partition } of this._native.assignment()) {
        ;(memberAssignment[topic] = memberAssignment[topic] || []).push(partition)
        this._stale.delete(key(topic, partition))
      }
      for (const t of Object.keys(memberAssignment)) memberAssignment[t].sort((a, b) => a - b)
      // Seeks made while their partition was not this member's apply now it is.
      for (const [k, seek] of [...this._pendingSeeks]) {
        if ((memberAssignment[seek.topic] || []).includes(seek.partition)) {
          try {
            this._applySeek(seek)
          } catch (e) {
            this._pendingSeeks.delete(k)
            this._logger.error(`Seek failed: ${e.message}`, { topic: seek.topic, partition: seek.partition, offset: seek.offset })
          }
        }
      }
      // The group task's view after the join (the info read above may predate it).
      const joined = this._native.groupInfo()
      const payload = {
        groupId: this._groupId,
        memberId: joined.memberId,
        leaderId: joined.leaderId,
        isLeader: joined.isLeader,
        memberAssignment,
        groupProtocol: ASSIGNER_NAMES[joined.protocol] || joined.protocol,
        duration: joined.joinDurationMs,
      }
      this._emitter.emit(consumerEvents.GROUP_JOIN, payload)
      this._groupLogger.info('Consumer has joined the group', payload)
      if (this._onJoined) this._onJoined()
    }
  }

  async _process(batches) {
    const queue = batches.slice()
    const worker = async () => {
      while (queue.length && this._running) {
        const b = queue.shift()
        const started = Date.now()
        const info = this._batchInfo(b)
        this._emitter.emit(consumerEvents.START_BATCH_PROCESS, info)
        await this._processBatch(b)
        this._emitter.emit(consumerEvents.END_BATCH_PROCESS, Object.assign({}, info, { duration: Date.now() - started }))
      }
    }
    await Promise.all(Array.from({ length: Math.min(this._concurrency, batches.length) }, worker))
  }

  _batchInfo(b) {
    const first = b.messages.length ? b.messages[0].offset : null
    const last = b.messages.length ? b.messages[b.messages.length - 1].offset : b.highWatermark
    const lag = o => {
      if (o === null || BigInt(b.highWatermark) < 0n) return '0'
      const l = BigInt(b.highWatermark) - 1n - BigInt(o)
      return (l < 0n ? 0n : l).toString()
    }
    return {
      topic: b.topic,
      partition: b.partition,
      highWatermark: b.highWatermark,
      offsetLag: lag(last),
      offsetLagLow: lag(first),
      batchSize: b.messages.length,
      firstOffset: first,
      lastOffset: last,
    }
  }

  _resolve(topic, partition, offset) {
    const next = (BigInt(offset) + 1n).toString()
    const k = key(topic, partition)
    this._resolved.set(k, { topic, partition, offset: next })
    this._uncommittedCount++
    if (this._store(topic, partition, next)) this._unstored.delete(k)
    else this._unstored.set(k, { topic, partition, offset: next })
  }

  /** Stores the offset in the core, for its auto-commit; false when the partition is not
   * assigned (any more) or is being revoked. */
  _store(topic, partition, offset) {
    if (!this._native) return false
    try {
      this._native.storeOffsets([{ topic, partition, offset }])
      return true
    } catch (e) {
      this._logger.debug(`Offset not stored: ${fromNative(e, { wrapRetriable: false }).message}`, { topic, partition, offset })
      return false
    }
  }

  _skip(k) {
    return !this._running || this._paused.has(k) || this._stale.has(k)
  }

  async _processBatch(b) {
    const { topic, partition } = b
    const k = key(topic, partition)
    this._stale.delete(k)
    const { eachMessage, eachBatch, eachBatchAutoResolve } = this._runConfig
    const messages = b.messages
    const pause = () => {
      this.pause([{ topic, partitions: [partition] }])
      return () => this.resume([{ topic, partitions: [partition] }])
    }
    const heartbeat = async () => {}
    if (eachMessage && this._deadLetter) return this._eachMessageDeadLetter(b, eachMessage, heartbeat, pause)
    if (eachMessage) {
      for (const message of messages) {
        if (this._skip(k)) return
        try {
          const payload = { topic, partition, message, heartbeat, pause }
          if (this._telemetry) await this._telemetry.process(topic, partition, [message], true, () => eachMessage(payload))
          else await eachMessage(payload)
        } catch (e) {
          await this._onHandlerError(e, topic, partition, message.offset)
          return
        }
        this._resolve(topic, partition, message.offset)
        await this._autoCommit(false)
      }
      return
    }
    const first = messages.length ? messages[0].offset : null
    const last = messages.length ? messages[messages.length - 1].offset : b.highWatermark
    const batch = {
      topic,
      partition,
      highWatermark: b.highWatermark,
      messages,
      isEmpty: () => messages.length === 0,
      firstOffset: () => first,
      lastOffset: () => last,
      offsetLag: () => {
        const lag = BigInt(b.highWatermark) - 1n - BigInt(last)
        return (lag < 0n ? 0n : lag).toString()
      },
      offsetLagLow: () => {
        if (first === null) return '0'
        const lag = BigInt(b.highWatermark) - 1n - BigInt(first)
        return (lag < 0n ? 0n : lag).toString()
      },
    }
    try {
      const call = () => eachBatch({
        batch,
        resolveOffset: offset => this._resolve(topic, partition, offset),
        heartbeat,
        pause,
        commitOffsetsIfNecessary: async offsets => {
          if (offsets) return this.commitOffsets(offsets.topics.flatMap(t => t.partitions.map(p => ({ topic: t.topic, ...p }))))
          return this._autoCommit(false, true)
        },
        uncommittedOffsets: () => this._uncommitted(),
        isRunning: () => this._running,
        isStale: () => this._stale.has(k),
      })
      if (this._telemetry) await this._telemetry.process(topic, partition, messages, false, call)
      else await call()
    } catch (e) {
      const r = this._resolved.get(k)
      const from = r && first !== null && BigInt(r.offset) > BigInt(first) ? r.offset : first
      await this._onHandlerError(e, topic, partition, from)
      return
    }
    if (eachBatchAutoResolve && messages.length && !this._stale.has(k)) this._resolve(topic, partition, last)
  }

  /** eachMessage with `deadLetter`: a message whose handler throws is retried (its partition
   * paused and moved back to it: the rest of the batch comes again), re-published to the retry
   * topic, or written to the dead-letter topic and committed by the core; then the next one. */
  async _eachMessageDeadLetter(b, eachMessage, heartbeat, pause) {
    const { topic, partition } = b
    const k = key(topic, partition)
    const n = this._native
    if (n.deadLetterIsWaiting(topic, partition)) return
    for (const message of b.messages) {
      if (this._skip(k)) return
      const record = () => deadLetterRecord(topic, partition, message)
      if (topic === this._deadLetter.retryTopic && n.deadLetterNotYetDue(record()) != null) return
      try {
        const payload = { topic, partition, message, heartbeat, pause }
        if (this._telemetry) await this._telemetry.process(topic, partition, [message], true, () => eachMessage(payload))
        else await eachMessage(payload)
      } catch (e) {
        const error = e instanceof Error ? e : new Error(String(e))
        const undecodable = typeof this._deadLetter.isUndecodable === 'function' && this._deadLetter.isUndecodable(error)
        const type = error.name || (error.constructor && error.constructor.name) || 'Error'
        let outcome
        try {
          if (undecodable) {
            await n.deadLetterUndecodable(record(), String(error.message), type)
            outcome = { kind: 'deadLetter' }
          } else {
            outcome = await n.deadLetterFailed(record(), String(error.message), type)
          }
        } catch (err) {
          // The copy or its commit failed: the message is delivered again (nothing is lost).
          await this._onHandlerError(fromNative(err, { wrapRetriable: false }), topic, partition, message.offset)
          return
        }
        // A retry is routine; a dead-lettered message is for someone to look at.
        const log = outcome.kind === 'deadLetter' ? 'warn' : 'debug'
        this._logger[log](`eachMessage failed (${outcome.kind})`, { topic, partition, offset: message.offset, error: error.message })
        if (outcome.kind === 'retry') return
        this._resolve(topic, partition, message.offset)
        continue
      }
      n.deadLetterSucceeded(topic, partition, message.offset)
      this._resolve(topic, partition, message.offset)
      await this._autoCommit(false)
    }
  }

  async _onHandlerError(e, topic, partition, offset) {
    this._logger.error(`Error when calling ${this._runConfig.eachMessage ? 'eachMessage' : 'eachBatch'}`, {
      topic,
      partition,
      offset,
      stack: e && e.stack,
      error: e && e.message,
    })
    // The failed message (and what follows it) is delivered again; what was resolved is kept.
    if (offset != null && this._native) {
      try {
        this._native.seek(topic, partition, String(offset))
      } catch (err) {
        // The partition may have been revoked meanwhile.
        this._logger.debug(`seek after a failed handler: ${err.message}`)
      }
    }
    if (this._runConfig.autoCommit) await this._autoCommit(true)
    await new Promise(r => setTimeout(r, this._retry.initialRetryTime))
  }

  _uncommitted() {
    const topics = new Map()
    for (const [k, r] of this._resolved) {
      if (this._committed.get(k) === r.offset) continue
      if (!topics.has(r.topic)) topics.set(r.topic, [])
      topics.get(r.topic).push({ partition: r.partition, offset: r.offset })
    }
    return { topics: [...topics.entries()].map(([topic, partitions]) => ({ topic, partitions })) }
  }

  /** kafkajs's commits of resolved offsets: after a batch or a failed handler (`force`), when
   * `autoCommitThreshold` offsets are resolved, or asked for (`explicit`:
   * commitOffsetsIfNecessary). The core commits what was stored; autoCommitInterval is its. */
  async _autoCommit(force, explicit = false) {
    const { autoCommit, autoCommitThreshold } = this._runConfig || {}
    if (!autoCommit && !explicit) return
    const byCount = autoCommitThreshold != null && this._uncommittedCount >= autoCommitThreshold
    if (!force && !explicit && !byCount) return
    const offsets = []
    for (const [k, r] of this._resolved) {
      if (this._committed.get(k) !== r.offset && !this._unstored.has(k)) offsets.push(r)
    }
    if (offsets.length === 0 || !this._native) return
    await call(() => this._native.commitStored(), { wrapRetriable: false })
    this._committedNow(offsets)
  }

  /** Commits the resolved offsets of `partitions` that the core did not store. */
  async _commitUnstored(partitions) {
    const offsets = []
    for (const { topic, partition } of partitions) {
      const u = this._unstored.get(key(topic, partition))
      if (u && this._committed.get(key(topic, partition)) !== u.offset) offsets.push(u)
    }
    if (offsets.length && this._native) await this._commit(offsets)
  }

  /** Commits `offsets`; `explicit` ones (commitOffsets) are reported as kafkajs reports them:
   * numeric partitions and each offset's metadata. */
  async _commit(offsets, { explicit = false } = {}) {
    await call(() => this._native.commit(offsets), { wrapRetriable: false })
    this._committedNow(offsets, explicit)
  }

  /** Bookkeeping and the COMMIT_OFFSETS event of a commit that succeeded. */
  _committedNow(offsets, explicit = false) {
    for (const o of offsets) this._committed.set(key(o.topic, o.partition), o.offset)
    this._uncommittedCount = 0
    const info = this._native.groupInfo()
    const topics = new Map()
    for (const o of offsets) {
      if (!topics.has(o.topic)) topics.set(o.topic, [])
      topics
        .get(o.topic)
        .push(explicit ? { partition: o.partition, offset: o.offset, metadata: o.metadata ?? null } : { partition: String(o.partition), offset: o.offset })
    }
    this._emitter.emit(consumerEvents.COMMIT_OFFSETS, {
      groupId: this._groupId,
      memberId: info.memberId,
      groupGenerationId: info.generationId,
      topics: [...topics.entries()].map(([topic, partitions]) => ({ topic, partitions })),
    })
  }

  /** Commits exactly the offsets given (each the next offset to read). */
  async commitOffsets(topicPartitions = []) {
    const offsets = topicPartitions.map(({ topic, partition, offset, metadata = null }) => {
      const o = checkOffset({ topic, partition, offset })
      if (metadata !== null && typeof metadata !== 'string') {
        throw new KafkaJSNonRetriableError(`Invalid offset metadata, expected string or null, received ${metadata}`)
      }
      const entry = { topic, partition: Number(partition), offset: o.toString() }
      if (metadata !== null) entry.metadata = metadata
      return entry
    })
    if (!this._native) throw new KafkaJSNonRetriableError(NOT_RUNNING)
    await this._commit(offsets, { explicit: true })
    for (const o of offsets) {
      const k = key(o.topic, o.partition)
      const r = this._resolved.get(k)
      if (!r || BigInt(r.offset) < BigInt(o.offset)) {
        this._resolved.set(k, { topic: o.topic, partition: o.partition, offset: o.offset })
        // So that the core's auto-commit does not go back to an older stored offset.
        this._store(o.topic, o.partition, o.offset)
      }
    }
  }

  seek({ topic, partition, offset } = {}) {
    const o = checkOffset({ topic, partition, offset }, [-1n, -2n])
    if (!this._native) throw new KafkaJSNonRetriableError(NOT_RUNNING)
    this._applySeek({ topic, partition: Number(partition), offset: o.toString() })
  }

  /** Seeks now if the partition is assigned; else (as kafkajs) the seek waits for the partition
   * to be assigned to this member. */
  _applySeek({ topic, partition, offset }) {
    const k = key(topic, partition)
    if (!this._native.assignment().some(a => a.topic === topic && a.partition === partition)) {
      this._pendingSeeks.set(k, { topic, partition, offset })
      return
    }
    this._pendingSeeks.delete(k)
    this._stale.add(k)
    try {
      this._native.seek(topic, partition, offset)
    } catch (e) {
      throw fromNative(e, { wrapRetriable: false })
    }
    if (BigInt(offset) >= 0n) {
      this._resolved.set(k, { topic, partition, offset })
      this._store(topic, partition, offset)
    }
  }

  pause(topicPartitions = []) {
    checkTopicPartitions(topicPartitions, 'pause')
    if (!this._native) throw new KafkaJSNonRetriableError(NOT_RUNNING)
    this._groupLogger.info(`Pausing fetching from ${topicPartitions.length} topics`, { topicPartitions })
    const list = this._expand(topicPartitions)
    for (const { topic, partition } of list) this._paused.add(key(topic, partition))
    if (list.length) {
      try {
        this._native.pause(list)
      } catch (_) {
        // Not assigned (yet): the JS-side flag is enough until then.
      }
    }
  }

  resume(topicPartitions = []) {
    checkTopicPartitions(topicPartitions, 'resume')
    if (!this._native) throw new KafkaJSNonRetriableError(NOT_RUNNING)
    this._groupLogger.info(`Resuming fetching from ${topicPartitions.length} topics`, { topicPartitions })
    const list = this._expand(topicPartitions)
    for (const { topic, partition } of list) this._paused.delete(key(topic, partition))
    if (list.length) {
      try {
        this._native.resume(list)
      } catch (_) {
        // see pause
      }
    }
  }

  paused() {
    const byTopic = new Map()
    for (const k of this._paused) {
      const [topic, p] = k.split('\u0000')
      if (!byTopic.has(topic)) byTopic.set(topic, [])
      byTopic.get(topic).push(Number(p))
    }
    return [...byTopic.entries()].map(([topic, partitions]) => ({ topic, partitions: partitions.sort((a, b) => a - b) }))
  }

  _expand(topicPartitions) {
    const assigned = this._native ? this._native.assignment() : []
    const out = []
    for (const { topic, partitions } of topicPartitions) {
      if (!topic) throw new KafkaJSNonRetriableError(`Invalid topic ${topic}`)
      const ps = partitions || assigned.filter(a => a.topic === topic).map(a => a.partition)
      for (const partition of ps) out.push({ topic, partition })
    }
    return out
  }

  async describeGroup() {
    if (!this._adminProps) throw new KafkaJSError('The consumer is not connected; call connect() first')
    const admin = new native.NativeAdmin(this._adminProps)
    try {
      const [g] = await call(() => admin.describeGroups([this._groupId]))
      return {
        errorCode: 0,
        groupId: g.groupId,
        state: g.state,
        protocol: g.protocol,
        protocolType: g.protocolType,
        members: g.members.map(m => ({ ...m, memberMetadata: Buffer.alloc(0), memberAssignment: Buffer.alloc(0) })),
      }
    } finally {
      await admin.close()
    }
  }

  _memberId() {
    try {
      return this._native ? this._native.groupInfo().memberId : ''
    } catch (_) {
      return ''
    }
  }

  async stop() {
    if (!this._running && !this._native) {
      this._logger.info('Stopped', { groupId: this._groupId })
      return
    }
    this._running = false
    if (this._loop) await this._loop
    this._loop = null
    this._runnerLogger.info('consumer not running, exiting', {
      groupId: this._groupId,
      memberId: this._memberId(),
    })
    // Leave the group (the core commits the stored offsets first when autoCommit): a later
    // run() joins again with a fresh member.
    const n = this._native
    this._native = null
    if (n && this._telemetry) this._telemetry.forget(n)
    this._resolved.clear()
    this._unstored.clear()
    this._committed.clear()
    this._stale.clear()
    this._pendingSeeks.clear()
    if (n && this._deadLetter) await n.deadLetterClose().catch(e => this._logger.error(`Error while closing the dead-letter producer: ${e.message}`))
    if (n) await n.close().catch(e => this._logger.error(`Error while leaving the group: ${e.message}`))
    this._emitter.detach()
    this._emitter.emit(consumerEvents.STOP)
    this._logger.info('Stopped', { groupId: this._groupId })
  }

  async disconnect() {
    await this.stop()
    if (this._connected) {
      this._connected = false
      keepalive.release()
      hub.unregisterSoon(this._kafka._logger)
      this._emitter.emit(consumerEvents.DISCONNECT)
    }
  }
}

module.exports = { Consumer, consumerEvents }
