'use strict'
// Loads the native module and wraps every native function and method so that a panic inside the
// engine (caught at the boundary, src/error.rs) throws or rejects with a KafkaJSNonRetriableError
// instead of a bare Error.
//
// Where the module comes from, first found wins (the napi-rs convention):
//   1. POLYKAFKA_NODE_LIBRARY, a path to a .node file;
//   2. polykafka.node next to package.json: a build from source (`npm install` / `npm run build`
//      in bindings-node, scripts/build.js), so a developer's build always wins;
//   3. the prebuilt package of this platform, an optional dependency of the published package:
//      polykafka-<platform>-<arch>-<abi>, abi `gnu` or `musl` told apart as napi-rs does (the
//      process report's glibcVersionRuntime is there on glibc only).
const fs = require('fs')
const path = require('path')
const { fromPanic } = require('./errors')

/** The platform packages that are built and published (packaging/node.sh). */
const PLATFORMS = ['linux-x64-gnu', 'linux-arm64-gnu', 'linux-x64-musl']

function isMusl() {
  if (process.platform !== 'linux') return false
  const report = process.report && typeof process.report.getReport === 'function' ? process.report.getReport() : null
  if (report) {
    const header = typeof report === 'string' ? JSON.parse(report).header : report.header
    return !header.glibcVersionRuntime
  }
  // No process report: glibc's ldd names glibc, musl's names musl.
  try {
    return fs.readFileSync('/usr/bin/ldd', 'utf8').includes('musl')
  } catch (_) {
    return false
  }
}

/** This process's platform as the package names spell it, e.g. `linux-x64-gnu`. */
function platformName() {
  const base = `${process.platform}-${process.arch}`
  if (process.platform !== 'linux') return base
  return `${base}-${isMusl() ? 'musl' : 'gnu'}`
}

function load() {
  if (process.env.POLYKAFKA_NODE_LIBRARY) {
    const file = process.env.POLYKAFKA_NODE_LIBRARY
    try {
      return require(file)
    } catch (e) {
      throw new Error(`polykafka: cannot load the native module ${file} (POLYKAFKA_NODE_LIBRARY): ${e.message}`)
    }
  }
  const tried = []
  const local = path.join(__dirname, '..', 'polykafka.node')
  if (fs.existsSync(local)) {
    try {
      return require(local)
    } catch (e) {
      tried.push(`${local}: ${e.message}`)
    }
  }
  const platform = platformName()
  const pkg = `polykafka-${platform}`
  try {
    return require(pkg)
  } catch (e) {
    tried.push(e.code === 'MODULE_NOT_FOUND' && e.message.includes(`'${pkg}'`) ? `${pkg}: not installed` : `${pkg}: ${e.message}`)
  }
  const supported = PLATFORMS.includes(platform)
  throw new Error(
    `polykafka: no native module for this platform (${platform}). ` +
      `Prebuilt packages exist for ${PLATFORMS.join(', ')}` +
      (supported
        ? `; ${pkg} is an optional dependency of polykafka: reinstall without --omit=optional / --no-optional. `
        : '. ') +
      'To build from source (Rust toolchain needed, https://rustup.rs): clone the polykafka repository and run ' +
      '`npm install` in bindings-node/, then install that directory (`npm install <path>/bindings-node`) ' +
      `or set POLYKAFKA_NODE_LIBRARY to the polykafka.node it builds. Tried: ${tried.join('; ')}`
  )
}

const native = load()

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
