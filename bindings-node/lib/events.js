'use strict'
// Instrumentation events: {id, type, timestamp, payload}; on() returns a remover.
// Core events (requests, request timeouts, queued requests, heartbeats) come from the native
// client in batches, and only the kinds that have listeners are recorded at all.
const { EventEmitter } = require('events')
const { KafkaJSNonRetriableError } = require('./errors')

let nextId = 0

// The core's event kinds (bits of the mask given to the native setEvents), by event key.
const NATIVE_KINDS = { REQUEST: 1, REQUEST_TIMEOUT: 2, REQUEST_QUEUE_SIZE: 4, HEARTBEAT: 8 }

class InstrumentationEmitter {
  constructor(events, logger = null) {
    this.events = events
    this.names = Object.values(events)
    this.emitter = new EventEmitter()
    this.emitter.setMaxListeners(0)
    this.logger = logger
    this.native = null // WeakRef: the native client must not be kept alive through its own callback
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
    this._syncNative()
    return () => {
      this.emitter.removeListener(eventName, wrapped)
      this._syncNative()
    }
  }

  emit(eventName, payload) {
    if (this.emitter.listenerCount(eventName) === 0) return
    if (nextId === Number.MAX_SAFE_INTEGER) nextId = 0
    this.emitter.emit(eventName, { id: nextId++, type: eventName, timestamp: Date.now(), payload })
  }

  /** The callback a native client reports its core events to: `(json, dropped)`. */
  nativeCallback() {
    return (json, dropped) => this._deliver(json, dropped)
  }

  /** Follows `nativeClient`: it records the kinds of core events that have listeners. */
  attach(nativeClient) {
    this.native = new WeakRef(nativeClient)
    this._syncNative()
  }

  detach() {
    this.native = null
  }

  _syncNative() {
    const client = this.native && this.native.deref()
    if (!client) return
    let mask = 0
    for (const [key, bit] of Object.entries(NATIVE_KINDS)) {
      if (this.events[key] && this.emitter.listenerCount(this.events[key]) > 0) mask |= bit
    }
    client.setEvents(mask)
  }

  /** A batch of core events, each a positional array, its kind first (see src/events.rs). */
  _deliver(json, dropped) {
    if (dropped > 0 && this.logger) {
      this.logger.warn(`${dropped} instrumentation events dropped: the listeners did not keep up`)
    }
    const { REQUEST, REQUEST_TIMEOUT, REQUEST_QUEUE_SIZE, HEARTBEAT } = this.events
    for (const e of JSON.parse(json)) {
      const [kind, a, b, c, d, createdAt, sentAt, pendingDuration, duration, apiName, apiKey, apiVersion] = e
      if (kind === 'request') {
        this.emit(REQUEST, {
          broker: a,
          clientId: b,
          correlationId: c,
          size: d,
          createdAt,
          sentAt,
          pendingDuration,
          duration,
          apiName,
          apiKey,
          apiVersion,
        })
      } else if (kind === 'request_timeout') {
        this.emit(REQUEST_TIMEOUT, { broker: a, clientId: b, correlationId: c, createdAt, sentAt, pendingDuration, apiName, apiKey, apiVersion })
      } else if (kind === 'request_queue_size') {
        this.emit(REQUEST_QUEUE_SIZE, { broker: a, clientId: b, queueSize: c })
      } else if (kind === 'heartbeat' && HEARTBEAT) {
        this.emit(HEARTBEAT, { groupId: a, memberId: b, groupGenerationId: c })
      }
    }
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
