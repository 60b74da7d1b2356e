'use strict'
// kafkajs's logger (levels, namespaces, logCreator) plus the hub that hands the core's logs,
// which arrive from native code in batches, to every Kafka instance with a live client.
const native = require('./native')

const LEVELS = { NOTHING: 0, ERROR: 1, WARN: 2, INFO: 4, DEBUG: 5 }
const LABELS = { 1: 'ERROR', 2: 'WARN', 4: 'INFO', 5: 'DEBUG' }

const envLevel = level => {
  const env = (process.env.KAFKAJS_LOG_LEVEL || '').toUpperCase()
  return LEVELS[env] == null ? level : LEVELS[env]
}

const consoleLogCreator = () => ({ namespace, level, label, log }) => {
  const prefix = namespace ? `[${namespace}] ` : ''
  const message = JSON.stringify(Object.assign({ level: label }, log, { message: `${prefix}${log.message}` }))
  switch (level) {
    case LEVELS.INFO:
      return console.info(message)
    case LEVELS.ERROR:
      return console.error(message)
    case LEVELS.WARN:
      return console.warn(message)
    case LEVELS.DEBUG:
      return console.log(message)
  }
}

function createLogger({ level = LEVELS.INFO, logCreator = consoleLogCreator } = {}) {
  let logLevel = envLevel(level)
  const logFunction = logCreator(logLevel)

  const make = (namespace, namespaceLevel = null) => {
    const current = () => (namespaceLevel == null ? logLevel : namespaceLevel)
    const at = (label, lvl) => (message, extra = {}) => {
      if (lvl > current()) return
      logFunction({
        namespace,
        level: lvl,
        label,
        log: Object.assign({ timestamp: new Date().toISOString(), logger: 'kafkajs', message }, extra),
      })
    }
    return {
      info: at('INFO', LEVELS.INFO),
      error: at('ERROR', LEVELS.ERROR),
      warn: at('WARN', LEVELS.WARN),
      debug: at('DEBUG', LEVELS.DEBUG),
      namespace: (ns, lvl = null) => make(ns, envLevel(lvl)),
      setLogLevel: newLevel => {
        logLevel = newLevel
        hub.update()
      },
      // Not kafkajs API: what the hub needs.
      _level: current,
      _raw: logFunction,
    }
  }
  return make()
}

// ---- native log hub ---------------------------------------------------------------------
// Core logs carry no client identity, so each batch goes to every logger that has a client
// connected right now, filtered by that logger's level.
const hub = {
  loggers: new Map(), // logger -> number of connected clients
  installed: false,
  level: 0,
  register(logger) {
    this.loggers.set(logger, (this.loggers.get(logger) || 0) + 1)
    this.update()
  },
  unregister(logger) {
    const n = (this.loggers.get(logger) || 0) - 1
    if (n <= 0) this.loggers.delete(logger)
    else this.loggers.set(logger, n)
    this.update()
  },
  /** Unregisters after the logs already on their way from native code have arrived. */
  unregisterSoon(logger) {
    setTimeout(() => this.unregister(logger), 200).unref()
  },
  update() {
    let level = 0
    for (const logger of this.loggers.keys()) level = Math.max(level, logger._level())
    if (!this.installed) {
      if (level === 0) return
      native.setLogSink(json => this.deliver(json), level)
      this.installed = true
    } else if (level !== this.level) {
      native.setLogLevel(level)
    }
    this.level = level
  },
  deliver(json) {
    let batch
    try {
      batch = JSON.parse(json)
    } catch (_) {
      return
    }
    for (const logger of this.loggers.keys()) {
      const max = logger._level()
      for (const e of batch) {
        if (e.level > max) continue
        try {
          logger._raw({
            namespace: e.namespace,
            level: e.level,
            label: LABELS[e.level],
            log: Object.assign(
              { timestamp: new Date(e.timestamp).toISOString(), logger: 'kafkajs', message: e.message },
              e.extra
            ),
          })
        } catch (_) {
          // A throwing logCreator must not break the others.
        }
      }
    }
  },
}

module.exports = { LEVELS, createLogger, hub }
