#!/usr/bin/env node
'use strict'
// Builds the native module from source with cargo and copies it to polykafka.node.
// No prebuilt download: `npm install` needs a Rust toolchain (cargo) on the machine.
const { spawnSync } = require('child_process')
const fs = require('fs')
const path = require('path')

const here = path.resolve(__dirname, '..')
// `--debug` or POLYKAFKA_NODE_PROFILE=debug: a debug build (fast when `cargo build --workspace`
// already ran, as in the test suite); otherwise an optimised release build.
const debug = process.argv.includes('--debug') || process.env.POLYKAFKA_NODE_PROFILE === 'debug'
const cargo = process.env.CARGO || 'cargo'

const args = ['build', '-p', 'polykafka-node', '--message-format=json-render-diagnostics']
if (!debug) args.push('--release')
const r = spawnSync(cargo, args, { cwd: here, stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 28 })
if (r.error) {
  console.error(`polykafka: cannot run ${cargo} (${r.error.message}); install a Rust toolchain (https://rustup.rs)`)
  process.exit(1)
}
if (r.status !== 0) process.exit(r.status || 1)

// cargo tells where it put the library.
let lib = null
for (const line of r.stdout.toString().split('\n')) {
  if (!line.startsWith('{')) continue
  let msg
  try {
    msg = JSON.parse(line)
  } catch (_) {
    continue
  }
  if (msg.reason === 'compiler-artifact' && msg.target && msg.target.name === 'polykafka_node') {
    lib = (msg.filenames || []).find(f => /\.(so|dylib|dll)$/.test(f)) || lib
  }
}
if (!lib) {
  console.error('polykafka: cargo did not report the polykafka_node library')
  process.exit(1)
}
const dest = path.join(here, 'polykafka.node')
// Replace rather than overwrite: a running process may have the old file mapped.
const tmp = `${dest}.tmp-${process.pid}`
fs.copyFileSync(lib, tmp)
fs.renameSync(tmp, dest)
console.error(`polykafka: built ${path.relative(here, dest)} from ${lib}`)
