'use strict'
// The native module's loader (lib/native.js) without a broker nor a native build: a copy of lib/
// in a temp dir (so no polykafka.node next to it), loaded in a child process whose platform, arch
// and process report are faked. It picks the platform package (gnu or musl as the report says) and,
// when none fits, its error names the platform, the platforms that exist and how to build.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawnSync } = require('node:child_process')

const lib = path.join(__dirname, '..', 'lib')

function sandbox(t, fakePackages = []) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'polykafka-loader-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  fs.cpSync(lib, path.join(dir, 'lib'), { recursive: true })
  for (const name of fakePackages) {
    const pkg = path.join(dir, 'node_modules', name)
    fs.mkdirSync(pkg, { recursive: true })
    fs.writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name, version: '0.0.0', main: 'index.js' }))
    fs.writeFileSync(path.join(pkg, 'index.js'), `exports.loadedFrom = () => ${JSON.stringify(name)}\n`)
  }
  return dir
}

// Runs the loader as if on `platform`/`arch`, glibc when `glibc` is a version string, else musl.
function load(dir, { platform, arch, glibc }) {
  const script = `
    Object.defineProperty(process, 'platform', { value: ${JSON.stringify(platform)} })
    Object.defineProperty(process, 'arch', { value: ${JSON.stringify(arch)} })
    const header = ${JSON.stringify(glibc ? { glibcVersionRuntime: glibc } : {})}
    process.report.getReport = () => ({ header })
    try {
      const native = require(${JSON.stringify(path.join(dir, 'lib', 'native.js'))})
      console.log('loaded ' + native.loadedFrom())
    } catch (e) {
      console.log('error ' + e.message)
    }`
  const env = { ...process.env }
  delete env.POLYKAFKA_NODE_LIBRARY
  const r = spawnSync(process.execPath, ['-e', script], { cwd: dir, env, encoding: 'utf8' })
  assert.equal(r.status, 0, r.stderr)
  return r.stdout.trim()
}

test('loads the platform package: gnu or musl from the process report', t => {
  const dir = sandbox(t, ['polykafka-linux-arm64-gnu', 'polykafka-linux-x64-musl', 'polykafka-linux-x64-gnu'])
  assert.equal(load(dir, { platform: 'linux', arch: 'arm64', glibc: '2.36' }), 'loaded polykafka-linux-arm64-gnu')
  assert.equal(load(dir, { platform: 'linux', arch: 'x64', glibc: '2.17' }), 'loaded polykafka-linux-x64-gnu')
  assert.equal(load(dir, { platform: 'linux', arch: 'x64' }), 'loaded polykafka-linux-x64-musl')
})

test('no package for this platform: the error names it, the ones that exist and how to build', t => {
  const dir = sandbox(t, ['polykafka-linux-x64-gnu'])
  const out = load(dir, { platform: 'freebsd', arch: 'riscv64' })
  assert.match(out, /^error polykafka: no native module for this platform \(freebsd-riscv64\)/)
  assert.match(out, /Prebuilt packages exist for linux-x64-gnu, linux-arm64-gnu, linux-x64-musl\./)
  assert.match(out, /To build from source \(Rust toolchain needed/)
  assert.match(out, /`npm install` in bindings-node\//)
  assert.match(out, /polykafka-freebsd-riscv64: not installed/)
})

test('a supported platform whose package is missing: says it is an optional dependency', t => {
  const dir = sandbox(t, ['polykafka-linux-x64-gnu'])
  const out = load(dir, { platform: 'linux', arch: 'arm64', glibc: '2.31' })
  assert.match(out, /^error polykafka: no native module for this platform \(linux-arm64-gnu\)/)
  assert.match(out, /polykafka-linux-arm64-gnu is an optional dependency of polykafka/)
  assert.match(out, /polykafka-linux-arm64-gnu: not installed/)
})
