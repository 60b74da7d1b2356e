'use strict'
// The demo's pipeline (tests/demo-pipeline, what `make demo` shows) against the test cluster, so
// it cannot rot unnoticed: Python writes user events and orders (Avro, schema registry), the Node
// streams application (demo_streams.js) counts sign-ups per country and minute and enriches the
// orders, the Go program prints them. Asserts every enriched order Go printed.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('fs')
const path = require('path')
const { execFileSync } = require('child_process')
const { brokers } = require('./helpers')

const root = path.resolve(__dirname, '..', '..')
const python = process.env.POLYKAFKA_PYTHON || path.join(root, 'build', 'venv-python', 'bin', 'python')
const works = (cmd, args) => {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' })
    return true
  } catch (_) {
    return false
  }
}
const missing = [
  !process.env.SCHEMA_REGISTRY_URL && 'SCHEMA_REGISTRY_URL',
  !works(python, ['-c', 'import polykafka.schema_registry.avro']) && 'a Python with polykafka (POLYKAFKA_PYTHON)',
  !works('go', ['version']) && 'go',
  !fs.existsSync(path.join(root, 'target', 'release', 'libpolykafka.a')) && 'target/release/libpolykafka.a',
  !fs.existsSync(path.join(root, 'target', 'debug', 'polykafka')) && 'target/debug/polykafka',
].filter(Boolean)

test('the demo pipeline: Python -> Node streams -> Go', { timeout: 400000, skip: missing.length ? `needs ${missing.join(', ')}` : false }, () => {
  const out = execFileSync(path.join(root, 'tests', 'demo-pipeline'), [], {
    env: { ...process.env, KAFKA_BOOTSTRAP: brokers.join(','), POLYKAFKA_PYTHON: python },
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 380000,
    encoding: 'utf8',
  })
  const printed = out.split('\n').filter(l => l.startsWith('go read @')).map(l => l.replace(/ at \d\d:\d\d:\d\d:/, ':'))
  // demo_pipeline.py's data: sign-ups per country and minute DE 2, FR 1 | DE 1, US 1 | FR 2, US 1.
  assert.deepEqual(printed, [
    'go read @0: order o-1 (ana, DE, 49.90): 2 sign-ups in DE that minute',
    'go read @1: order o-2 (ben, FR, 12.50): 1 sign-up in FR that minute',
    'go read @2: order o-3 (zoe, US, 3.00): 0 sign-ups in US that minute',
    'go read @3: order o-4 (dora, DE, 120.00): 1 sign-up in DE that minute',
    'go read @4: order o-5 (finn, FR, 8.99): 2 sign-ups in FR that minute',
    'go read @5: order o-6 (kai, JP, 25.00): 0 sign-ups in JP that minute',
  ])
  assert.match(out, /node counted 8 sign-ups among 12 user events/)
  assert.match(out, /node enriched 6 orders; closed\n/)
})
