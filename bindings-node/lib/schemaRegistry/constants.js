'use strict'
// The library's enums, same names and values.
const SchemaType = Object.freeze({ AVRO: 'AVRO', JSON: 'JSON', PROTOBUF: 'PROTOBUF', UNKNOWN: 'UNKNOWN' })
const COMPATIBILITY = Object.freeze({
  NONE: 'NONE',
  FULL: 'FULL',
  BACKWARD: 'BACKWARD',
  FORWARD: 'FORWARD',
  BACKWARD_TRANSITIVE: 'BACKWARD_TRANSITIVE',
  FORWARD_TRANSITIVE: 'FORWARD_TRANSITIVE',
  FULL_TRANSITIVE: 'FULL_TRANSITIVE',
})
const DEFAULT_SEPARATOR = '.'
const DEFAULT_API_CLIENT_ID = 'Confluent_Schema_Registry'
module.exports = { SchemaType, COMPATIBILITY, DEFAULT_SEPARATOR, DEFAULT_API_CLIENT_ID }
