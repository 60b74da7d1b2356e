'use strict'
// Loads the native module built by `npm install` (scripts/build.js). Every native function and
// method is wrapped so that a panic inside the engine (caught at the boundary, src/error.rs)
// throws or rejects with a KafkaJSNonRetriableError instead of a bare Error.
const path = require('path')
const { fromPanic } = require('./errors')

const file = process.env.POLYKAFKA_NODE_LIBRARY || path.join(__dirname, '..', 'polykafka.node')
let native
try {
  native = require(file)
} catch (e) {
  throw new Error(
    `polykafka: cannot load the native module ${file} (${e.message}); run \`npm install\` (or \`npm run build\`) in bindings-node/`
  )
}

const guarded = fn =>
  function (...args) {
    let result
    try {
      result = fn.apply(this, args)
    } catch (e) {
      throw fromPanic(e)
    }
    return result instanceof Promise ? result.catch(e => Promise.reject(fromPanic(e))) : result
  }

for (const [name, value] of Object.entries(native)) {
  if (typeof value !== 'function') continue
  const methods = value.prototype ? Object.getOwnPropertyNames(value.prototype).filter(m => m !== 'constructor') : []
  if (/^[A-Z]/.test(name)) {
    for (const m of methods) {
      const d = Object.getOwnPropertyDescriptor(value.prototype, m)
      if (typeof d.value === 'function') value.prototype[m] = guarded(d.value)
    }
  } else {
    native[name] = guarded(value)
  }
}
module.exports = native
