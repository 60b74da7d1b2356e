'use strict'
// kafkajs's retry policy: exponential backoff with jitter, `retries` attempts after the first,
// then KafkaJSNumberOfRetriesExceeded wrapping the last error; a non-retriable error is thrown
// at once.
const { KafkaJSNumberOfRetriesExceeded } = require('./errors')

const DEFAULTS = { maxRetryTime: 30000, initialRetryTime: 300, factor: 0.2, multiplier: 2, retries: 5 }

const jitter = (factor, t) => {
  const delta = factor * t
  return Math.ceil(Math.random() * 2 * delta + (t - delta))
}

const UNRECOVERABLE = ['RangeError', 'ReferenceError', 'SyntaxError', 'TypeError']
const isRetriable = e => e.retriable !== false && !UNRECOVERABLE.includes(e.name)

function createRetry(opts = {}) {
  const c = Object.assign({}, DEFAULTS, opts)
  return async fn => {
    let retryTime = jitter(c.factor, c.initialRetryTime)
    for (let retryCount = 0; ; retryCount++) {
      let bailed = null
      const bail = e => {
        bailed = e || new Error('Aborted')
        throw bailed
      }
      try {
        return await fn(bail, retryCount, retryTime)
      } catch (e) {
        if (bailed) throw bailed
        if (retryCount >= c.retries || !isRetriable(e)) {
          throw new KafkaJSNumberOfRetriesExceeded(e, { retryCount, retryTime })
        }
      }
      await new Promise(resolve => setTimeout(resolve, retryTime))
      retryTime = Math.min(jitter(c.factor, retryTime) * c.multiplier, c.maxRetryTime)
    }
  }
}

/** Total time the policy waits between attempts, capped at maxRetryTime: the budget given to
 * the core for the waits it does itself (metadata, delivery). */
function retryBudget(opts = {}) {
  const c = Object.assign({}, DEFAULTS, opts)
  let total = 0
  let t = c.initialRetryTime
  for (let i = 0; i < Math.min(c.retries, 64); i++) {
    total += t
    t = Math.min(t * c.multiplier, c.maxRetryTime)
  }
  return Math.min(total, c.maxRetryTime)
}

module.exports = { createRetry, retryBudget, DEFAULTS }
