'use strict'
const { createLogger, LEVELS } = require('./logger')
const { Producer } = require('./producer')
const { Admin } = require('./admin')
const { Consumer } = require('./consumer')
const { KafkaJSNonRetriableError } = require('./errors')

class Kafka {
  constructor(cfg = {}) {
    const { brokers, logLevel = LEVELS.INFO, logCreator } = cfg
    if (!brokers) throw new KafkaJSNonRetriableError('Failed to connect: expected brokers array and got nothing')
    this._config = Object.assign({ clientId: 'kafkajs', connectionTimeout: 1000, requestTimeout: 30000, enforceRequestTimeout: true }, cfg)
    this._logger = createLogger({ level: logLevel, logCreator })
  }

  producer(opts = {}) {
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
