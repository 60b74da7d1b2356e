'use strict'
// Loads the native module built by `npm install` (scripts/build.js).
const path = require('path')

const file = process.env.POLYKAFKA_NODE_LIBRARY || path.join(__dirname, '..', 'polykafka.node')
let native
try {
  native = require(file)
} catch (e) {
  throw new Error(
    `polykafka: cannot load the native module ${file} (${e.message}); run \`npm install\` (or \`npm run build\`) in bindings-node/`
  )
}
module.exports = native
