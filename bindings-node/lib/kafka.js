'use strict'
const { createLogger, LEVELS } = require('./logger')
const { Producer } = require('./producer')
const { Admin } = require('./admin')
const { Consumer } = require('./consumer')
const { KafkaJSNonRetriableError } = require('./errors')
const { telemetryOf } = require('./otel')

// kafkajs warns once per process, through the first Kafka that makes a producer without
// `createPartitioner`, unless KAFKAJS_NO_PARTITIONER_WARNING is set.
let warnedOfDefaultPartitioner = false
function warnOfDefaultPartitioner(logger) {
  if (warnedOfDefaultPartitioner) return
  warnedOfDefaultPartitioner = true
  if (process.env.KAFKAJS_NO_PARTITIONER_WARNING == null) {
    logger.warn(
      'KafkaJS v2.0.0 switched default partitioner. To retain the same partitioning behavior as in previous versions, create the producer with the option "createPartitioner: Partitioners.LegacyPartitioner". See the migration guide at https://kafka.js.org/docs/migration-guide-v2.0.0#producer-new-default-partitioner for details. Silence this warning by setting the environment variable "KAFKAJS_NO_PARTITIONER_WARNING=1"'
    )
  }
}

class Kafka {
  constructor(cfg = {}) {
    const { brokers, logLevel = LEVELS.INFO, logCreator } = cfg
    if (!brokers) throw new KafkaJSNonRetriableError('Failed to connect: expected brokers array and got nothing')
    // Not enumerable: util.inspect and JSON.stringify of a client (or of its producers, consumers and admins,
    // which hold it) never show the configuration's secrets (sasl.password, ssl.key), as kafkajs's closures hide them.
    Object.defineProperty(this, '_config', {
      value: Object.assign({ clientId: 'kafkajs', connectionTimeout: 1000, requestTimeout: 30000, enforceRequestTimeout: true }, cfg),
    })
    this._logger = createLogger({ level: logLevel, logCreator })
    // Not in kafkajs: OpenTelemetry metrics (and traces with { tracing: true }), lib/otel.js.
    this._telemetry = telemetryOf(cfg.openTelemetry)
  }

  producer(opts = {}) {
    if (opts.createPartitioner == null) warnOfDefaultPartitioner(this._logger)
    return new Producer(this, opts)
  }

  admin(opts = {}) {
    return new Admin(this, opts)
  }

  consumer(opts = {}) {
    return new Consumer(this, opts)
  }

  logger() {
    return this._logger
  }
}

module.exports = { Kafka }
