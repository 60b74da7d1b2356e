'use strict'
// polykafka for Node.js: the kafkajs API on the polykafka core. Change
// `require('kafkajs')` to `require('polykafka')`.
const { Kafka } = require('./lib/kafka')
const { instrument } = require('./lib/otel')
const { Partitioners } = require('./lib/partitioners')
const { LEVELS } = require('./lib/logger')
const constants = require('./lib/constants')
const streams = require('./lib/streams')
const native = require('./lib/native')
const { fromNative, fromPanic, nativeInfo, isRebalancing, isKafkaJSError, ...errors } = require('./lib/errors')

// kafkajs's AssignerProtocol is for custom assigners; named for compatibility.
const AssignerProtocol = { MemberMetadata: {}, MemberAssignment: {} }

module.exports = {
  Kafka,
  // The engine's version (the one version of every polykafka package).
  version: native.version,
  instrument,
  PartitionAssigners: constants.PartitionAssigners,
  AssignerProtocol,
  Partitioners,
  logLevel: LEVELS,
  CompressionTypes: constants.CompressionTypes,
  CompressionCodecs: constants.CompressionCodecs,
  ConfigResourceTypes: constants.ConfigResourceTypes,
  AclResourceTypes: constants.AclResourceTypes,
  AclOperationTypes: constants.AclOperationTypes,
  AclPermissionTypes: constants.AclPermissionTypes,
  ResourcePatternTypes: constants.ResourcePatternTypes,
  ConfigSource: constants.ConfigSource,
  ...errors,
  // Streams (Kafka Streams' DSL, issue #17).
  ...streams,
}
