'use strict'
// kafkajs's retry policy (exponential backoff, `retries` attempts after the first), as the
// budget of time given to the core, which does the retrying itself (connect, metadata,
// delivery).

const DEFAULTS = { maxRetryTime: 30000, initialRetryTime: 300, factor: 0.2, multiplier: 2, retries: 5 }

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

module.exports = { retryBudget, DEFAULTS }
