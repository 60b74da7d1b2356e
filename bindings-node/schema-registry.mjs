// ESM entry of polykafka/schema-registry: the same objects as the CommonJS entry.
import { createRequire } from 'module'

const require = createRequire(import.meta.url)
const sr = require('./schema-registry.js')

export default sr
export const {
  SchemaRegistry,
  SchemaType,
  COMPATIBILITY,
  readAVSC,
  readAVSCAsync,
  ConfluentSchemaRegistryError,
  ConfluentSchemaRegistryArgumentError,
  ConfluentSchemaRegistryCompatibilityError,
  ConfluentSchemaRegistryInvalidSchemaError,
  ConfluentSchemaRegistryValidationError,
  ResponseError,
} = sr
