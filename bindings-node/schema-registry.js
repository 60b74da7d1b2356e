'use strict'
// require('polykafka/schema-registry'): the API of @kafkajs/confluent-schema-registry.
module.exports = require('./lib/schemaRegistry')
