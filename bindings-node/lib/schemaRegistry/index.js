'use strict'
// polykafka/schema-registry: the API of @kafkajs/confluent-schema-registry. Change
// `require('@kafkajs/confluent-schema-registry')` to `require('polykafka/schema-registry')`.
// Not provided: avdlToAVSC/avdlToAVSCAsync (they need avsc's IDL parser).
const { SchemaRegistry } = require('./SchemaRegistry')
const { SchemaType, COMPATIBILITY } = require('./constants')
const { readAVSC, readAVSCAsync } = require('./readAVSC')
const { fromNative, ...errors } = require('./errors')

module.exports = { SchemaRegistry, SchemaType, COMPATIBILITY, readAVSC, readAVSCAsync, ...errors }
