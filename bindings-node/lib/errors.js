'use strict'
// kafkajs's error classes (same names, hierarchy and fields), and the one table that maps a
// native (core) error onto them.

class KafkaJSError extends Error {
  constructor(e, { retriable = true, cause } = {}) {
    super(e && e.message !== undefined ? e.message : e, cause ? { cause } : undefined)
    Error.captureStackTrace(this, this.constructor)
    this.message = (e && e.message) || e
    this.name = 'KafkaJSError'
    this.retriable = retriable
    this.helpUrl = e && e.helpUrl
    this.cause = cause
  }
}

class KafkaJSNonRetriableError extends KafkaJSError {
  constructor(e, { cause } = {}) {
    super(e, { retriable: false, cause })
    this.name = 'KafkaJSNonRetriableError'
  }
}

class KafkaJSProtocolError extends KafkaJSError {
  constructor(e, { retriable = e.retriable } = {}) {
    super(e, { retriable })
    this.type = e.type
    this.code = e.code
    this.name = 'KafkaJSProtocolError'
  }
}

class KafkaJSOffsetOutOfRange extends KafkaJSProtocolError {
  constructor(e, { topic, partition } = {}) {
    super(e)
    this.topic = topic
    this.partition = partition
    this.name = 'KafkaJSOffsetOutOfRange'
  }
}

class KafkaJSMemberIdRequired extends KafkaJSProtocolError {
  constructor(e, { memberId } = {}) {
    super(e)
    this.memberId = memberId
    this.name = 'KafkaJSMemberIdRequired'
  }
}

class KafkaJSNumberOfRetriesExceeded extends KafkaJSNonRetriableError {
  constructor(e, { retryCount, retryTime } = {}) {
    super(e, { cause: e })
    this.stack = `${this.name}\n  Caused by: ${e && e.stack}`
    this.retryCount = retryCount
    this.retryTime = retryTime
    this.name = 'KafkaJSNumberOfRetriesExceeded'
  }
}

class KafkaJSConnectionError extends KafkaJSError {
  constructor(e, { broker, code } = {}) {
    super(e)
    this.broker = broker
    this.code = code
    this.name = 'KafkaJSConnectionError'
  }
}

class KafkaJSConnectionClosedError extends KafkaJSConnectionError {
  constructor(e, { host, port } = {}) {
    super(e, { broker: `${host}:${port}` })
    this.host = host
    this.port = port
    this.name = 'KafkaJSConnectionClosedError'
  }
}

class KafkaJSRequestTimeoutError extends KafkaJSError {
  constructor(e, { broker, correlationId, createdAt, sentAt, pendingDuration } = {}) {
    super(e)
    this.broker = broker
    this.correlationId = correlationId
    this.createdAt = createdAt
    this.sentAt = sentAt
    this.pendingDuration = pendingDuration
    this.name = 'KafkaJSRequestTimeoutError'
  }
}

class KafkaJSMetadataNotLoaded extends KafkaJSError {
  constructor(...args) {
    super(...args)
    this.name = 'KafkaJSMetadataNotLoaded'
  }
}

class KafkaJSTopicMetadataNotLoaded extends KafkaJSMetadataNotLoaded {
  constructor(e, { topic } = {}) {
    super(e)
    this.topic = topic
    this.name = 'KafkaJSTopicMetadataNotLoaded'
  }
}

class KafkaJSStaleTopicMetadataAssignment extends KafkaJSError {
  constructor(e, { topic, unknownPartitions } = {}) {
    super(e)
    this.topic = topic
    this.unknownPartitions = unknownPartitions
    this.name = 'KafkaJSStaleTopicMetadataAssignment'
  }
}

class KafkaJSDeleteGroupsError extends KafkaJSError {
  constructor(e, groups = []) {
    super(e)
    this.groups = groups
    this.name = 'KafkaJSDeleteGroupsError'
  }
}

class KafkaJSServerDoesNotSupportApiKey extends KafkaJSNonRetriableError {
  constructor(e, { apiKey, apiName } = {}) {
    super(e)
    this.apiKey = apiKey
    this.apiName = apiName
    this.name = 'KafkaJSServerDoesNotSupportApiKey'
  }
}

const simple = (Base, name) => {
  const C = class extends Base {
    constructor(...args) {
      super(...args)
      this.name = name
    }
  }
  Object.defineProperty(C, 'name', { value: name })
  return C
}

const KafkaJSBrokerNotFound = simple(KafkaJSError, 'KafkaJSBrokerNotFound')
const KafkaJSPartialMessageError = simple(KafkaJSNonRetriableError, 'KafkaJSPartialMessageError')
const KafkaJSSASLAuthenticationError = simple(KafkaJSNonRetriableError, 'KafkaJSSASLAuthenticationError')
const KafkaJSGroupCoordinatorNotFound = simple(KafkaJSNonRetriableError, 'KafkaJSGroupCoordinatorNotFound')
const KafkaJSNotImplemented = simple(KafkaJSNonRetriableError, 'KafkaJSNotImplemented')
const KafkaJSTimeout = simple(KafkaJSNonRetriableError, 'KafkaJSTimeout')
const KafkaJSLockTimeout = simple(KafkaJSTimeout, 'KafkaJSLockTimeout')
const KafkaJSUnsupportedMagicByteInMessageSet = simple(KafkaJSNonRetriableError, 'KafkaJSUnsupportedMagicByteInMessageSet')
// kafkajs names these two 'KafkaJSNonRetriableError'; so do we.
const KafkaJSInvalidVarIntError = simple(KafkaJSNonRetriableError, 'KafkaJSNonRetriableError')
const KafkaJSInvalidLongError = simple(KafkaJSNonRetriableError, 'KafkaJSNonRetriableError')

class KafkaJSDeleteTopicRecordsError extends KafkaJSError {
  constructor({ partitions }) {
    const retriable = partitions.filter(({ error }) => error != null).every(({ error }) => error.retriable === true)
    super('Error while deleting records', { retriable })
    this.name = 'KafkaJSDeleteTopicRecordsError'
    this.partitions = partitions
  }
}

class KafkaJSInvariantViolation extends KafkaJSNonRetriableError {
  constructor(e) {
    const message = (e && e.message) || e
    super(`Invariant violated: ${message}. This is likely a bug and should be reported.`)
    this.name = 'KafkaJSInvariantViolation'
  }
}

class KafkaJSCreateTopicError extends KafkaJSProtocolError {
  constructor(e, topicName) {
    super(e)
    this.topic = topicName
    this.name = 'KafkaJSCreateTopicError'
  }
}

class KafkaJSAlterPartitionReassignmentsError extends KafkaJSProtocolError {
  constructor(e, topicName, partition) {
    super(e)
    this.topic = topicName
    this.partition = partition
    this.name = 'KafkaJSAlterPartitionReassignmentsError'
  }
}

class KafkaJSAggregateError extends Error {
  constructor(message, errors) {
    super(message)
    this.errors = errors
    this.name = 'KafkaJSAggregateError'
  }
}

class KafkaJSFetcherRebalanceError extends Error {}

class KafkaJSNoBrokerAvailableError extends KafkaJSError {
  constructor() {
    super('No broker available')
    this.name = 'KafkaJSNoBrokerAvailableError'
  }
}

const isRebalancing = e =>
  e.type === 'REBALANCE_IN_PROGRESS' || e.type === 'NOT_COORDINATOR_FOR_GROUP' || e.type === 'ILLEGAL_GENERATION'
const isKafkaJSError = e => e instanceof KafkaJSError

const { protocolErrorText } = require('./protocolErrors')

// ---- native errors ----------------------------------------------------------------------

const MARKER = 'polykafka-error:'

/** The core's description of a native error, or null for any other error. */
function nativeInfo(err) {
  const msg = err && typeof err.message === 'string' ? err.message : ''
  const at = msg.indexOf(MARKER)
  if (at < 0) return null
  try {
    return JSON.parse(msg.slice(at + MARKER.length))
  } catch (_) {
    return null
  }
}

// The one mapping table: core error kind -> kafkajs class. Kinds with a Kafka code become
// KafkaJSProtocolError (type = the Kafka name, code = the number) unless listed otherwise.
const KIND_TO_CLASS = {
  config: info => new KafkaJSNonRetriableError(info.message),
  invalid_argument: info => new KafkaJSNonRetriableError(info.message),
  connection: connectionError,
  tls: info => new KafkaJSConnectionError(`Connection error: ${info.message}`),
  timeout: info => new KafkaJSRequestTimeoutError(`Request timed out: ${info.message}`),
  authentication: info => new KafkaJSSASLAuthenticationError(`SASL authentication failed: ${info.message}`),
  authorization: protocolError,
  broker: protocolError,
  message_too_large: protocolError,
  protocol: info => new KafkaJSNonRetriableError(info.message),
  closed: info => new KafkaJSNonRetriableError(info.message),
  serialization: info => new KafkaJSNonRetriableError(info.message),
  queue_full: info => new KafkaJSError(info.message, { retriable: true }),
  fatal: info => (info.code ? protocolError(info) : new KafkaJSNonRetriableError(info.message)),
}

/**
 * A broker error as kafkajs surfaces it: kafkajs's type and message for the code (its error
 * table), then the core's context in parentheses ("This server does not host this
 * topic-partition (topic 'x' does not exist ...)"), so matchers of kafkajs's text still match.
 */
/**
 * A connection error. A refused connection leads with Node's words, as kafkajs's does
 * ("Connection error: connect ECONNREFUSED 127.0.0.1:9092", code ECONNREFUSED), then the
 * engine's account in parentheses.
 */
function connectionError(info) {
  const refused = /connecting to (\S+?): Connection refused/.exec(info.message)
  if (refused) {
    return new KafkaJSConnectionError(`Connection error: connect ECONNREFUSED ${refused[1]} (${info.message})`, {
      code: 'ECONNREFUSED',
    })
  }
  return new KafkaJSConnectionError(`Connection error: ${info.message}`)
}

function protocolError(info) {
  if (!info.code) return new KafkaJSNonRetriableError(info.message)
  const text = protocolErrorText(info.code)
  const e = {
    message: text ? withContext(text.message, info.message) : info.message,
    type: text ? text.type : info.name,
    code: info.code,
    retriable: info.codeRetriable,
    helpUrl: text && text.helpUrl,
  }
  if (e.type === 'OFFSET_OUT_OF_RANGE') return new KafkaJSOffsetOutOfRange(e)
  return new KafkaJSProtocolError(e)
}

const withContext = (text, context) => (!context || context === text ? text : `${text} (${context})`)

/**
 * A panic inside the native module (napi's catch_unwind, or a panicking future: a
 * `GenericFailure` without the marker; src/error.rs) as a non-retriable KafkaJSError. Other
 * errors pass through.
 */
// napi-rs's statuses for an argument it could not convert to the Rust type (a string where a
// number is expected, ...): Node's own TypeError, as kafkajs's encoder gives for wrong types.
const NAPI_ARG_STATUSES = new Set([
  'InvalidArg', 'ObjectExpected', 'StringExpected', 'NameExpected', 'FunctionExpected', 'NumberExpected',
  'BooleanExpected', 'ArrayExpected', 'BigintExpected', 'DateExpected', 'ArrayBufferExpected',
])

function fromPanic(err) {
  // The schema registry façade's errors travel as InvalidArg with their marker (src/schema.rs): not argument errors.
  const schemaError = err instanceof Error && String(err.message).startsWith('polykafka-schema-error:')
  if (err instanceof Error && !(err instanceof KafkaJSError) && !schemaError && NAPI_ARG_STATUSES.has(err.code)) {
    const e = new TypeError(`polykafka: ${err.message}`, { cause: err })
    e.code = 'ERR_INVALID_ARG_TYPE'
    return e
  }
  if (!(err instanceof Error) || err instanceof KafkaJSError || err.code !== 'GenericFailure' || nativeInfo(err)) return err
  return new KafkaJSNonRetriableError(`polykafka: the native engine panicked: ${err.message}`, { cause: err })
}

/**
 * Maps an error thrown by the native module to its kafkajs class. Errors the core still calls
 * retriable after its own retries are wrapped in KafkaJSNumberOfRetriesExceeded, as kafkajs's
 * retrier does; non-retriable ones are thrown as they are. Other errors pass through.
 */
function fromNative(err, { wrapRetriable = true } = {}) {
  const info = nativeInfo(err)
  if (!info) return fromPanic(err)
  const make = KIND_TO_CLASS[info.kind] || (i => new KafkaJSError(i.message))
  const e = make(info)
  e.fatal = info.fatal
  e.txnRequiresAbort = info.txnRequiresAbort
  const retriable = info.code ? info.codeRetriable : info.retriable
  if (wrapRetriable && retriable && e.retriable !== false) {
    return new KafkaJSNumberOfRetriesExceeded(e, { retryCount: 0, retryTime: 0 })
  }
  return e
}

module.exports = {
  fromPanic,
  KafkaJSError,
  KafkaJSNonRetriableError,
  KafkaJSPartialMessageError,
  KafkaJSBrokerNotFound,
  KafkaJSProtocolError,
  KafkaJSConnectionError,
  KafkaJSConnectionClosedError,
  KafkaJSRequestTimeoutError,
  KafkaJSSASLAuthenticationError,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSOffsetOutOfRange,
  KafkaJSMemberIdRequired,
  KafkaJSGroupCoordinatorNotFound,
  KafkaJSNotImplemented,
  KafkaJSMetadataNotLoaded,
  KafkaJSTopicMetadataNotLoaded,
  KafkaJSStaleTopicMetadataAssignment,
  KafkaJSDeleteGroupsError,
  KafkaJSTimeout,
  KafkaJSLockTimeout,
  KafkaJSServerDoesNotSupportApiKey,
  KafkaJSUnsupportedMagicByteInMessageSet,
  KafkaJSDeleteTopicRecordsError,
  KafkaJSInvariantViolation,
  KafkaJSInvalidVarIntError,
  KafkaJSInvalidLongError,
  KafkaJSCreateTopicError,
  KafkaJSAggregateError,
  KafkaJSFetcherRebalanceError,
  KafkaJSNoBrokerAvailableError,
  KafkaJSAlterPartitionReassignmentsError,
  isRebalancing,
  isKafkaJSError,
  fromNative,
  nativeInfo,
}
