'use strict'
// kafkajs's Admin over NativeAdmin.
const native = require('./native')
const config = require('./config')
const { InstrumentationEmitter, adminEvents } = require('./events')
const { hub } = require('./logger')
const keepalive = require('./keepalive')
const {
  KafkaJSNonRetriableError,
  KafkaJSNotImplemented,
  KafkaJSAggregateError,
  KafkaJSCreateTopicError,
  KafkaJSDeleteGroupsError,
  KafkaJSDeleteTopicRecordsError,
  KafkaJSError,
  fromNative,
  nativeInfo,
} = require('./errors')

const MARKER = 'polykafka-error:'
/** The kafkajs error of a per-item JSON error description from native code. */
const itemError = json => fromNative({ message: MARKER + json }, { wrapRetriable: false })
const { ConfigResourceTypes } = require('./constants')

/** kafkajs's checks of describeConfigs/alterConfigs resources, before any request. */
function checkResources(resources) {
  if (!resources || !Array.isArray(resources)) throw new KafkaJSNonRetriableError(`Invalid resources array ${resources}`)
  if (resources.length === 0) throw new KafkaJSNonRetriableError('Resources array cannot be empty')
  const validTypes = Object.values(ConfigResourceTypes)
  const invalidType = resources.find(r => !validTypes.includes(r.type))
  if (invalidType) {
    throw new KafkaJSNonRetriableError(`Invalid resource type ${invalidType.type}: ${JSON.stringify(invalidType)}`)
  }
  const invalidName = resources.find(r => !r.name || typeof r.name !== 'string')
  if (invalidName) {
    throw new KafkaJSNonRetriableError(`Invalid resource name ${invalidName.name}: ${JSON.stringify(invalidName)}`)
  }
}

class Admin {
  constructor(kafka, opts = {}) {
    this._kafka = kafka
    this._retry = opts.retry
    this._logger = kafka._logger.namespace('Admin')
    this._emitter = new InstrumentationEmitter(adminEvents, this._logger)
    this._native = null
    this.events = adminEvents
  }

  on(eventName, listener) {
    return this._emitter.on(eventName, listener)
  }

  logger() {
    return this._logger
  }

  async connect() {
    if (this._native) return
    hub.register(this._kafka._logger)
    try {
      const kafka = this._kafka._config
      const brokers = await config.resolveBrokers(kafka.brokers)
      const token = await config.oauthToken(kafka)
      let nativeAdmin
      try {
        nativeAdmin = new native.NativeAdmin(config.adminProperties(kafka, brokers, { token }), this._emitter.nativeCallback())
      } catch (e) {
        throw fromNative(e, { wrapRetriable: false })
      }
      this._emitter.attach(nativeAdmin)
      try {
        await nativeAdmin.connect(config.connectTimeout(kafka, this._retry))
      } catch (e) {
        const err = fromNative(e)
        this._logger.error(err.message)
        throw err
      }
      this._native = nativeAdmin
    } catch (e) {
      this._emitter.detach()
      hub.unregisterSoon(this._kafka._logger)
      throw e
    }
    keepalive.acquire()
    this._emitter.emit(adminEvents.CONNECT)
  }

  async disconnect() {
    const n = this._native
    if (!n) return
    this._native = null
    try {
      await n.close()
    } finally {
      this._emitter.detach()
      keepalive.release()
      hub.unregisterSoon(this._kafka._logger)
      this._emitter.emit(adminEvents.DISCONNECT)
    }
  }

  /** Runs a native call; its error becomes the kafkajs class. */
  /** Calls the native admin; a last argument `{ wrapRetriable }` is passed to fromNative. */
  async _call(name, ...args) {
    if (!this._native) throw new KafkaJSError('The admin client is not connected; call connect() first')
    let opts
    const last = args[args.length - 1]
    if (last && typeof last === 'object' && !Array.isArray(last) && 'wrapRetriable' in last) opts = args.pop()
    try {
      return await this._native[name](...args)
    } catch (e) {
      throw fromNative(e, opts)
    }
  }

  async listTopics() {
    return this._call('listTopics')
  }

  async createTopics({ topics, validateOnly = false, timeout, waitForLeaders = true } = {}) {
    if (!topics || !Array.isArray(topics)) throw new KafkaJSNonRetriableError(`Invalid topics array ${topics}`)
    if (topics.some(({ topic }) => typeof topic !== 'string')) {
      throw new KafkaJSNonRetriableError('Invalid topics array, the topic names have to be a valid string')
    }
    if (new Set(topics.map(t => t.topic)).size < topics.length) {
      throw new KafkaJSNonRetriableError('Invalid topics array, it cannot have multiple entries for the same topic')
    }
    for (const { topic, configEntries } of topics) {
      if (configEntries == null) continue
      if (!Array.isArray(configEntries)) {
        throw new KafkaJSNonRetriableError(`Invalid configEntries for topic "${topic}", must be an array`)
      }
      configEntries.forEach((entry, index) => {
        for (const prop of ['name', 'value']) {
          if (!entry || typeof entry[prop] !== 'string') {
            throw new KafkaJSNonRetriableError(`Invalid configEntries for topic "${topic}". Entry ${index} must have a valid "${prop}" property`)
          }
        }
      })
    }
    if (topics.some(t => t.replicaAssignment && t.replicaAssignment.length)) {
      throw new KafkaJSNotImplemented('polykafka: replicaAssignment is not supported yet')
    }
    // The core waits for leaders of created topics itself (waitForLeaders is always honoured).
    void waitForLeaders
    void timeout
    const results = await this._call(
      'createTopics',
      topics.map(t => ({
        topic: t.topic,
        numPartitions: t.numPartitions,
        replicationFactor: t.replicationFactor,
        configEntries: t.configEntries,
      })),
      !!validateOnly
    )
    const errors = results.filter(r => r.error).map(r => new KafkaJSCreateTopicError(itemError(r.error), r.name))
    if (errors.length === 0) return true
    if (errors.every(e => e.type === 'TOPIC_ALREADY_EXISTS')) return false
    throw new KafkaJSAggregateError('Topic creation errors', errors)
  }

  async deleteTopics({ topics, timeout } = {}) {
    if (!topics || !Array.isArray(topics)) throw new KafkaJSNonRetriableError(`Invalid topics array ${topics}`)
    if (topics.some(t => typeof t !== 'string')) {
      throw new KafkaJSNonRetriableError('Invalid topics array, the names must be a valid string')
    }
    void timeout
    const results = await this._call('deleteTopics', topics)
    const failed = results.find(r => r.error)
    // kafkajs retries a retriable failure (UNKNOWN_TOPIC_OR_PARTITION) and then gives up with
    // KafkaJSNumberOfRetriesExceeded.
    if (failed) throw fromNative({ message: MARKER + failed.error })
  }

  async createPartitions({ topicPartitions, validateOnly = false, timeout } = {}) {
    if (!topicPartitions || !Array.isArray(topicPartitions)) {
      throw new KafkaJSNonRetriableError(`Invalid topic partitions array ${topicPartitions}`)
    }
    if (topicPartitions.length === 0) throw new KafkaJSNonRetriableError('Empty topic partitions array')
    if (topicPartitions.some(({ topic }) => typeof topic !== 'string')) {
      throw new KafkaJSNonRetriableError('Invalid topic partitions array, the topic names have to be a valid string')
    }
    if (new Set(topicPartitions.map(({ topic }) => topic)).size < topicPartitions.length) {
      throw new KafkaJSNonRetriableError('Invalid topic partitions array, it cannot have multiple entries for the same topic')
    }
    if (validateOnly) throw new KafkaJSNotImplemented('polykafka: createPartitions with validateOnly is not supported yet')
    void timeout
    const results = await this._call('createPartitions', topicPartitions.map(t => t.topic), topicPartitions.map(t => t.count))
    const errors = results.filter(r => r.error).map(r => itemError(r.error))
    if (errors.length === 1) throw errors[0]
    if (errors.length > 1) throw new KafkaJSAggregateError('Partition creation errors', errors)
    return true
  }

  async fetchTopicMetadata({ topics } = {}) {
    if (topics != null && !Array.isArray(topics)) throw new KafkaJSNonRetriableError(`Invalid topics array ${topics}`)
    for (const topic of topics || []) {
      if (!topic || typeof topic !== 'string') throw new KafkaJSNonRetriableError(`Invalid topic ${topic}`)
    }
    // kafkajs surfaces a topic's error (UNKNOWN_TOPIC_OR_PARTITION) as it is, not wrapped.
    const described = await this._call('describeTopics', topics && topics.length ? topics : undefined, { wrapRetriable: false })
    return { topics: described.map(t => ({ name: t.name, partitions: t.partitions })) }
  }

  async fetchTopicOffsets(topic) {
    if (!topic || typeof topic !== 'string') throw new KafkaJSNonRetriableError(`Invalid topic ${topic}`)
    const offsets = await this._call('topicOffsets', topic)
    return offsets.map(({ partition, offset, high, low }) => ({ partition, offset, high, low }))
  }

  async fetchTopicOffsetsByTimestamp(topic, timestamp) {
    if (!topic || typeof topic !== 'string') throw new KafkaJSNonRetriableError(`Invalid topic ${topic}`)
    const offsets = await this._call('topicOffsets', topic, timestamp == null ? undefined : Number(timestamp))
    return offsets.map(({ partition, offset }) => ({ partition, offset }))
  }

  /**
   * kafkajs 2.x: `{groupId, topics?}` resolves to `[{topic, partitions}]`; kafkajs 1.x:
   * `{groupId, topic}` resolves to that topic's `[{partition, offset, metadata}]`.
   */
  async fetchOffsets({ groupId, topics, topic, resolveOffsets = false } = {}) {
    if (!groupId) throw new KafkaJSNonRetriableError(`Invalid groupId ${groupId}`)
    const legacy = typeof topic === 'string' && topics == null
    const wanted = legacy ? [topic] : topics
    if (wanted != null && !Array.isArray(wanted)) throw new KafkaJSNonRetriableError('Expected topics array to be set')
    const committed = await this._call('fetchOffsets', groupId, wanted && wanted.length ? wanted : undefined)
    let low = null
    if (resolveOffsets) {
      // kafkajs resolves "no committed offset" to where a consumer would start: the latest.
      low = new Map()
      for (const t of new Set(committed.filter(c => c.offset === '-1').map(c => c.topic))) {
        for (const o of await this.fetchTopicOffsets(t)) low.set(`${t}:${o.partition}`, o.high)
      }
    }
    const byTopic = new Map()
    for (const t of wanted || []) byTopic.set(t, [])
    for (const c of committed) {
      if (!byTopic.has(c.topic)) byTopic.set(c.topic, [])
      const offset = low && c.offset === '-1' ? low.get(`${c.topic}:${c.partition}`) || c.offset : c.offset
      byTopic.get(c.topic).push({ partition: c.partition, offset, metadata: c.metadata == null ? null : c.metadata })
    }
    if (legacy) return byTopic.get(topic) || []
    return [...byTopic.entries()].map(([t, partitions]) => ({ topic: t, partitions }))
  }

  async setOffsets({ groupId, topic, partitions } = {}) {
    if (!groupId) throw new KafkaJSNonRetriableError(`Invalid groupId ${groupId}`)
    if (!topic) throw new KafkaJSNonRetriableError(`Invalid topic ${topic}`)
    if (!Array.isArray(partitions) || partitions.length === 0) {
      throw new KafkaJSNonRetriableError('Invalid partitions')
    }
    await this._call('setOffsets', groupId, topic, partitions.map(p => ({ partition: p.partition, offset: String(p.offset) })))
  }

  async resetOffsets({ groupId, topic, earliest = false } = {}) {
    if (!groupId) throw new KafkaJSNonRetriableError(`Invalid groupId ${groupId}`)
    if (!topic) throw new KafkaJSNonRetriableError(`Invalid topic ${topic}`)
    await this._call('resetOffsets', groupId, topic, !!earliest)
  }

  async describeCluster() {
    const d = await this._call('describeCluster')
    return { brokers: d.brokers, controller: d.controller == null ? null : d.controller, clusterId: d.clusterId }
  }

  async describeConfigs({ resources, includeSynonyms = false } = {}) {
    checkResources(resources)
    const invalidConfigs = resources.find(r => !Array.isArray(r.configNames) && r.configNames != null)
    if (invalidConfigs) {
      throw new KafkaJSNonRetriableError(
        `Invalid resource configNames ${invalidConfigs.configNames}: ${JSON.stringify(invalidConfigs)}`
      )
    }
    void includeSynonyms
    const described = await this._call(
      'describeConfigs',
      resources.map(r => ({ type: r.type, name: String(r.name), configNames: r.configNames || undefined }))
    )
    return {
      throttleTime: 0,
      resources: described.map(r => ({
        errorCode: 0,
        errorMessage: null,
        resourceType: r.resourceType,
        resourceName: r.resourceName,
        configEntries: r.configEntries.map(e => ({
          configName: e.configName,
          configValue: e.configValue == null ? null : e.configValue,
          readOnly: e.readOnly,
          isDefault: e.isDefault,
          configSource: e.configSource,
          isSensitive: e.isSensitive,
          configSynonyms: [],
        })),
      })),
    }
  }

  /** Sets the given configs; unlike kafkajs's (non-incremental) AlterConfigs, configs not
   * named keep their values. */
  async alterConfigs({ resources, validateOnly = false } = {}) {
    checkResources(resources)
    const invalidConfigs = resources.find(r => !Array.isArray(r.configEntries))
    if (invalidConfigs) {
      throw new KafkaJSNonRetriableError(
        `Invalid resource configEntries ${invalidConfigs.configEntries}: ${JSON.stringify(invalidConfigs)}`
      )
    }
    const invalidValue = resources.find(r => r.configEntries.some(e => typeof e.name !== 'string' || typeof e.value !== 'string'))
    if (invalidValue) throw new KafkaJSNonRetriableError(`Invalid resource config value: ${JSON.stringify(invalidValue)}`)
    if (validateOnly) throw new KafkaJSNotImplemented('polykafka: alterConfigs with validateOnly is not supported yet')
    await this._call(
      'alterConfigs',
      resources.map(r => ({
        type: r.type,
        name: String(r.name),
        configEntries: (r.configEntries || []).map(e => ({ name: e.name, value: String(e.value) })),
      }))
    )
    return {
      throttleTime: 0,
      resources: resources.map(r => ({ errorCode: 0, errorMessage: null, resourceType: r.type, resourceName: String(r.name) })),
    }
  }

  async deleteTopicRecords({ topic, partitions } = {}) {
    if (!topic || typeof topic !== 'string') throw new KafkaJSNonRetriableError(`Invalid topic "${topic}"`)
    if (!partitions || partitions.length === 0) throw new KafkaJSNonRetriableError('Invalid partitions')
    try {
      await this._native.deleteRecords(topic, partitions.map(p => ({ partition: p.partition, offset: String(p.offset) })))
    } catch (e) {
      if (!nativeInfo(e)) throw e
      const error = fromNative(e, { wrapRetriable: false })
      throw new KafkaJSDeleteTopicRecordsError({
        topic,
        partitions: partitions.map(p => ({ partition: p.partition, offset: String(p.offset), error })),
      })
    }
  }

  async listGroups() {
    const groups = await this._call('listGroups')
    return { groups: groups.map(g => ({ groupId: g.groupId, protocolType: g.protocolType })) }
  }

  async describeGroups(groupIds) {
    // kafkajs maps over the ids first: a non-array fails with the same TypeError.
    const groups = await this._call('describeGroups', groupIds.map(g => g))
    return {
      groups: groups.map(g => ({
        errorCode: 0,
        groupId: g.groupId,
        state: g.state,
        protocol: g.protocol,
        protocolType: g.protocolType,
        members: g.members.map(m => ({
          memberId: m.memberId,
          clientId: m.clientId,
          clientHost: m.clientHost,
          memberMetadata: Buffer.alloc(0),
          memberAssignment: Buffer.alloc(0),
        })),
      })),
    }
  }

  async deleteGroups(groupIds) {
    if (!groupIds || !Array.isArray(groupIds)) throw new KafkaJSNonRetriableError(`Invalid groupIds array ${groupIds}`)
    // kafkajs's own message (it prints whether some id is invalid: "true").
    const invalidGroupId = groupIds.some(g => typeof g !== 'string')
    if (invalidGroupId) throw new KafkaJSNonRetriableError(`Invalid groupId name: ${JSON.stringify(invalidGroupId)}`)
    const results = await this._call('deleteGroups', groupIds)
    const out = results.map(r => {
      if (!r.error) return { groupId: r.name, errorCode: 0 }
      const error = itemError(r.error)
      return { groupId: r.name, errorCode: error.code, error }
    })
    const failed = out.filter(r => r.error)
    if (failed.length) throw new KafkaJSDeleteGroupsError('Error in DeleteGroups', failed)
    return out
  }

  async describeAcls() {
    throw new KafkaJSNotImplemented('polykafka: ACLs are not supported yet')
  }
  async createAcls() {
    throw new KafkaJSNotImplemented('polykafka: ACLs are not supported yet')
  }
  async deleteAcls() {
    throw new KafkaJSNotImplemented('polykafka: ACLs are not supported yet')
  }
  async alterPartitionReassignments() {
    throw new KafkaJSNotImplemented('polykafka: partition reassignments are not supported yet')
  }
  async listPartitionReassignments() {
    throw new KafkaJSNotImplemented('polykafka: partition reassignments are not supported yet')
  }
}

module.exports = { Admin }
