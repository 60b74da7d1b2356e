'use strict'
// The ESM entry lists its named exports by hand (ESM needs them static): it must name exactly
// what the CommonJS entry exports, the same objects, so `import { X } from 'polykafka'` works
// for every X that `require('polykafka').X` has.
const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { pathToFileURL } = require('node:url')

test('ESM entry exports exactly the CommonJS exports', async () => {
  const cjs = require('..')
  const esm = await import(pathToFileURL(path.join(__dirname, '..', 'index.mjs')).href)
  const named = Object.keys(esm).filter(k => k !== 'default').sort()
  assert.deepEqual(named, Object.keys(cjs).sort())
  for (const k of named) assert.equal(esm[k], cjs[k], k)
  assert.equal(esm.default, cjs)
})
