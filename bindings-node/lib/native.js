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

// guarded wrapper -> the native method, for per-record hot paths that map errors themselves
// (they must pass what they catch through fromPanic, as the wrapper does)
const unguardedMethods = new Map()

for (const [name, value] of Object.entries(native)) {
  if (typeof value !== 'function') continue
  const methods = value.prototype ? Object.getOwnPropertyNames(value.prototype).filter(m => m !== 'constructor') : []
  if (/^[A-Z]/.test(name)) {
    for (const m of methods) {
      const d = Object.getOwnPropertyDescriptor(value.prototype, m)
      if (typeof d.value === 'function') {
        value.prototype[m] = guarded(d.value)
        unguardedMethods.set(value.prototype[m], d.value)
      }
    }
  } else {
    native[name] = guarded(value)
  }
}
// The native method behind a guarded one (`unguarded(Class.prototype.method)`): no rest
// arguments nor Promise check per call. Only for synchronous methods whose caller catches and
// passes the error through `fromPanic`.
Object.defineProperty(native, 'unguarded', { value: m => unguardedMethods.get(m) || m })
module.exports = native
