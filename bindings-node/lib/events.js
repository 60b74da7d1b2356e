'use strict'
// Instrumentation events: {id, type, timestamp, payload}; on() returns a remover.
const { EventEmitter } = require('events')
const { KafkaJSNonRetriableError } = require('./errors')

let nextId = 0

class InstrumentationEmitter {
  constructor(events) {
    this.events = events
    this.names = Object.values(events)
    this.emitter = new EventEmitter()
    this.emitter.setMaxListeners(0)
  }

  on(eventName, listener) {
    if (!this.names.includes(eventName)) {
      throw new KafkaJSNonRetriableError(`Event name should be one of ${Object.keys(this.events)}`)
    }
    const wrapped = async event => {
      try {
        await Promise.resolve(listener(event))
      } catch (_) {
        // kafkajs logs listener errors and goes on.
      }
    }
    this.emitter.addListener(eventName, wrapped)
    return () => this.emitter.removeListener(eventName, wrapped)
  }

  emit(eventName, payload) {
    if (this.emitter.listenerCount(eventName) === 0) return
    if (nextId === Number.MAX_SAFE_INTEGER) nextId = 0
    this.emitter.emit(eventName, { id: nextId++, type: eventName, timestamp: Date.now(), payload })
  }
}

const producerEvents = {
  CONNECT: 'producer.connect',
  DISCONNECT: 'producer.disconnect',
  REQUEST: 'producer.network.request',
  REQUEST_TIMEOUT: 'producer.network.request_timeout',
  REQUEST_QUEUE_SIZE: 'producer.network.request_queue_size',
}

const adminEvents = {
  CONNECT: 'admin.connect',
  DISCONNECT: 'admin.disconnect',
  REQUEST: 'admin.network.request',
  REQUEST_TIMEOUT: 'admin.network.request_timeout',
  REQUEST_QUEUE_SIZE: 'admin.network.request_queue_size',
}

module.exports = { InstrumentationEmitter, producerEvents, adminEvents }
