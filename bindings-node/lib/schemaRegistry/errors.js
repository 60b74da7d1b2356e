'use strict'
// @kafkajs/confluent-schema-registry's error classes (same names, hierarchy and fields), the
// `ResponseError` its HTTP layer throws for a registry error, and the one table that maps a
// native error (src/schema.rs) onto them.

class ConfluentSchemaRegistryError extends Error {
  constructor(error) {
    super((error && error.message) || error)
    this.name = this.constructor.name
  }
}
class ConfluentSchemaRegistryArgumentError extends ConfluentSchemaRegistryError {}
class ConfluentSchemaRegistryCompatibilityError extends ConfluentSchemaRegistryError {}
class ConfluentSchemaRegistryInvalidSchemaError extends ConfluentSchemaRegistryError {}
class ConfluentSchemaRegistryValidationError extends ConfluentSchemaRegistryError {
  constructor(error, paths) {
    super(error)
    this.paths = paths
  }
}

// What the library's HTTP layer (mappersmith + its error middleware) rejects with: the
// registry's message after the client id, the HTTP status (400 when the registry could not be
// reached, as mappersmith reports it), `unauthorized` for 401. polykafka adds the registry's
// `errorCode` and `retriable` (true when unreachable or 5xx, after the client's retries).
class ResponseError extends Error {
  constructor(clientId, { status, message, errorCode, retriable, url }) {
    super(`${clientId} - ${message}`)
    this.name = 'ResponseError'
    this.status = status
    this.unauthorized = status === 401
    this.url = url
    this.errorCode = errorCode
    this.retriable = retriable
  }
}

const MARKER = 'polykafka-schema-error:'

// The native error as the library's class. `what` is the request, for `url`.
function fromNative(e, clientId, what) {
  if (!(e instanceof Error) || typeof e.message !== 'string' || !e.message.startsWith(MARKER)) return e
  let d
  try {
    d = JSON.parse(e.message.slice(MARKER.length))
  } catch (_) {
    return e
  }
  switch (d.kind) {
    case 'registry':
      return new ResponseError(clientId, { ...d, url: what })
    case 'unreachable':
      return new ResponseError(clientId, { ...d, status: 400, message: `Error, status 400: ${d.message}`, url: what })
    case 'validation':
      return new ConfluentSchemaRegistryValidationError(d.message, d.paths.length ? [d.paths] : [])
    case 'argument':
      return new ConfluentSchemaRegistryArgumentError(d.message)
    default:
      return new ConfluentSchemaRegistryError(d.message)
  }
}

module.exports = {
  ConfluentSchemaRegistryError,
  ConfluentSchemaRegistryArgumentError,
  ConfluentSchemaRegistryCompatibilityError,
  ConfluentSchemaRegistryInvalidSchemaError,
  ConfluentSchemaRegistryValidationError,
  ResponseError,
  fromNative,
}
