'use strict'
// Placeholder until the core admin client lands on main.
const { KafkaJSNotImplemented } = require('./errors')
const { InstrumentationEmitter, adminEvents } = require('./events')

class Admin {
  constructor(kafka) {
    this._kafka = kafka
    this.events = adminEvents
    this._emitter = new InstrumentationEmitter(adminEvents)
  }
  on(eventName, listener) {
    return this._emitter.on(eventName, listener)
  }
  logger() {
    return this._kafka._logger.namespace('Admin')
  }
  async connect() {
    throw new KafkaJSNotImplemented('polykafka: admin is not available yet')
  }
  async disconnect() {}
}

module.exports = { Admin }
