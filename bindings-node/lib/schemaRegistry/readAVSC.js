'use strict'
// readAVSC / readAVSCAsync: an .avsc file as a raw Avro schema, checked as the library checks
// it (a top-level record with name, type and fields).
const fs = require('fs')
const { ConfluentSchemaRegistryInvalidSchemaError } = require('./errors')

function validated(path, raw) {
  const ok = raw && typeof raw === 'object' && 'name' in raw && 'type' in raw && raw.type === 'record' && 'fields' in raw
  if (!ok) {
    throw new ConfluentSchemaRegistryInvalidSchemaError(
      `${path} is not recognized as a valid AVSC file (expecting valid top-level name, type and fields attributes)`
    )
  }
  return raw
}

function readAVSC(path) {
  return validated(path, JSON.parse(fs.readFileSync(path, 'utf-8')))
}

async function readAVSCAsync(path) {
  return validated(path, JSON.parse(await fs.promises.readFile(path, 'utf-8')))
}

module.exports = { readAVSC, readAVSCAsync }
