'use strict'
// The `SchemaRegistry` of @kafkajs/confluent-schema-registry on the polykafka core: the
// registry client (HTTP, retries, caches) and the Avro / JSON Schema / Protobuf codecs are the
// core's (src/schema.rs); this file checks arguments as the library does and maps errors.
const { NativeSchemaRegistry, unguarded } = require('../native')
const { fromPanic } = require('../errors')

// encode/decode run per record: the native methods without the guard's wrapper (the catch
// blocks below pass errors through fromPanic as it does)
const nativeEncode = unguarded(NativeSchemaRegistry.prototype.encode)
const nativeDecode = unguarded(NativeSchemaRegistry.prototype.decode)
const { SchemaType, COMPATIBILITY, DEFAULT_SEPARATOR, DEFAULT_API_CLIENT_ID } = require('./constants')
const {
  ConfluentSchemaRegistryError,
  ConfluentSchemaRegistryArgumentError,
  ConfluentSchemaRegistryCompatibilityError,
  ConfluentSchemaRegistryValidationError,
  fromNative,
} = require('./errors')

const DEFAULT_RETRY = { maxRetryTimeInSecs: 5, initialRetryTimeInSecs: 0.1, factor: 0.2, multiplier: 2, retries: 3 }
const DEFAULT_OPTS = { compatibility: COMPATIBILITY.BACKWARD, separator: DEFAULT_SEPARATOR, updateConfig: true }

const argError = m => new ConfluentSchemaRegistryArgumentError(m)

function retrySettings(retry) {
  if (retry === undefined || retry === null) retry = {}
  if (typeof retry !== 'object') throw argError(`retry must be an object, got ${JSON.stringify(retry)}`)
  for (const k of Object.keys(retry)) {
    if (!(k in DEFAULT_RETRY)) throw argError(`unknown retry option '${k}' (known: ${Object.keys(DEFAULT_RETRY).join(', ')})`)
  }
  const r = { ...DEFAULT_RETRY, ...retry }
  for (const k of Object.keys(DEFAULT_RETRY)) {
    if (typeof r[k] !== 'number' || !(r[k] >= 0)) throw argError(`retry.${k} must be a number >= 0, got ${JSON.stringify(r[k])}`)
  }
  // the core's backoff doubles each time with its own jitter
  if (r.multiplier !== 2) throw argError(`retry.multiplier ${r.multiplier} is not supported by polykafka (the backoff doubles: 2)`)
  if (r.factor !== 0.2) throw argError(`retry.factor ${r.factor} is not supported by polykafka (its jitter is fixed; leave the default 0.2)`)
  if (!Number.isInteger(r.retries)) throw argError(`retry.retries must be an integer, got ${r.retries}`)
  return {
    retries: r.retries,
    initialRetryMs: Math.round(r.initialRetryTimeInSecs * 1000),
    maxRetryMs: Math.round(r.maxRetryTimeInSecs * 1000),
  }
}

// The constructor's second argument: per-format options. avsc's and Ajv's own options cannot
// apply to the core's codecs, so they are refused rather than ignored.
function formatOptions(options) {
  const out = { detailedErrorPaths: false, messageName: undefined }
  if (options === undefined || options === null) return out
  if (typeof options !== 'object') throw argError('options must be an object')
  for (const [k, v] of Object.entries(options)) {
    if (v === undefined) continue
    if (k === SchemaType.JSON) {
      for (const [jk, jv] of Object.entries(v || {})) {
        if (jk === 'detailedErrorPaths') out.detailedErrorPaths = !!jv
        else if (jv !== undefined) throw argError(`options.JSON.${jk} is not supported by polykafka (JSON Schema is validated by the core; only detailedErrorPaths is taken)`)
      }
    } else if (k === SchemaType.PROTOBUF) {
      for (const [pk, pv] of Object.entries(v || {})) {
        if (pk === 'messageName') out.messageName = pv
        else if (pv !== undefined) throw argError(`options.PROTOBUF.${pk} is not supported by polykafka`)
      }
    } else if (k === SchemaType.AVRO || k === 'forSchemaOptions') {
      if (v && Object.keys(v).some(x => v[x] !== undefined)) {
        throw argError(`options.${k} (avsc's forSchema options) are not supported by polykafka: Avro is encoded by the core as avsc does without options`)
      }
    } else {
      throw argError(`unknown option '${k}'`)
    }
  }
  return out
}

function confluentSchemaOf(schema) {
  if (!schema || typeof schema !== 'object') throw argError(`Invalid schema: ${JSON.stringify(schema)}`)
  // the old API: a raw Avro schema
  if (schema.schema == null) return { type: SchemaType.AVRO, schema: JSON.stringify(schema) }
  return schema
}

function schemaText(confluentSchema) {
  const s = confluentSchema.schema
  return typeof s === 'string' ? s : JSON.stringify(s)
}

function typeOf(confluentSchema) {
  const t = confluentSchema.type
  if (t !== SchemaType.AVRO && t !== SchemaType.JSON && t !== SchemaType.PROTOBUF) throw argError('invalid schemaType')
  return t
}

function referencesOf(confluentSchema) {
  const r = confluentSchema.references
  return r && r.length ? JSON.stringify(r) : undefined
}

// What `getSchema` gives: the library gives avsc's Type / its JsonSchema / ProtoSchema; this
// has their codec methods (toBuffer, fromBuffer, isValid) on the core, and for Avro the raw
// schema's name, namespace, type and fields.
class Schema {
  constructor(registry, id, type, text) {
    Object.defineProperty(this, '_registry', { value: registry })
    Object.defineProperty(this, '_id', { value: id })
    Object.defineProperty(this, '_text', { value: text })
    this.schemaType = type
    if (type === SchemaType.AVRO) {
      const raw = JSON.parse(text)
      if (raw && typeof raw === 'object' && !Array.isArray(raw)) {
        const { name, namespace, type: t, fields, symbols } = raw
        Object.assign(this, { name: namespace && name && !name.includes('.') ? `${namespace}.${name}` : name, namespace, type: t })
        if (fields) this.fields = fields
        if (symbols) this.symbols = symbols
      }
    }
  }
  toBuffer(payload) {
    const r = this._registry
    try {
      return r._native.encode(this._id, payload, false, r._format.messageName)
    } catch (e) {
      throw r._error(e)
    }
  }
  fromBuffer(buffer) {
    const r = this._registry
    try {
      return r._native.decode(buffer, this._id, undefined)
    } catch (e) {
      throw r._error(e)
    }
  }
  isValid(payload, opts) {
    try {
      this.toBuffer(payload)
      return true
    } catch (e) {
      if (!(e instanceof ConfluentSchemaRegistryValidationError)) throw e
      if (opts && typeof opts.errorHook === 'function') for (const p of e.paths) opts.errorHook(p, payload)
      return false
    }
  }
  // the raw schema (for a reader schema given back to `decode`)
  toJSON() {
    return this.schemaType === SchemaType.AVRO ? JSON.parse(this._text) : this._text
  }
}

class SchemaRegistry {
  constructor({ auth, clientId, host, retry, agent, middlewares } = {}, options) {
    if (typeof host !== 'string' || host === '') throw argError(`Invalid host: ${JSON.stringify(host)}`)
    if (agent !== undefined) throw argError('agent is not supported by polykafka (the core makes its own HTTP connections)')
    if (middlewares !== undefined && middlewares.length) throw argError('middlewares (mappersmith) are not supported by polykafka')
    if (auth !== undefined && (auth === null || typeof auth !== 'object' || typeof auth.username !== 'string')) {
      throw argError('auth must be { username, password }')
    }
    this._clientId = clientId || DEFAULT_API_CLIENT_ID
    this._host = host.replace(/\/+$/, '')
    this._format = formatOptions(options)
    this._native = new NativeSchemaRegistry({
      host,
      username: auth ? auth.username : undefined,
      password: auth ? String(auth.password ?? '') : undefined,
      ...retrySettings(retry),
    })
    this._loading = new Map()
    // ids whose codec the core has compiled (it keeps them for the registry's lifetime): a
    // Set lookup per record instead of a native `loaded()` call
    this._ready = new Set()
    this._schemas = new Map()
    this._readers = new WeakMap()
  }

  _error(e, what) {
    const m = fromNative(e, this._clientId, what && what.replace(' /', ` ${this._host}/`))
    if (m instanceof ConfluentSchemaRegistryValidationError && this._format.detailedErrorPaths) {
      m.paths = m.paths.map(p => ({ path: p, message: m.message }))
    }
    return m
  }

  async _call(what, fn) {
    try {
      return await fn()
    } catch (e) {
      throw this._error(e, what)
    }
  }

  // Loads schema `id` into the core's codec cache once (concurrent calls share the request).
  _load(id) {
    let p = this._loading.get(id)
    if (!p) {
      p = this._call(`get /schemas/ids/${id}`, () => this._native.load(id))
      this._loading.set(id, p)
      p.then(() => this._ready.add(id), () => {})
      p.catch(() => this._loading.delete(id))
    }
    return p
  }

  async register(schema, userOpts) {
    const { compatibility, separator, updateConfig } = { ...DEFAULT_OPTS, ...userOpts }
    const confluentSchema = confluentSchemaOf(schema)
    const type = typeOf(confluentSchema)
    const text = schemaText(confluentSchema)
    const references = referencesOf(confluentSchema)
    if (!references) {
      let name
      try {
        name = this._native.check(type, text)
      } catch (e) {
        throw this._error(e)
      }
      if (type === SchemaType.AVRO && !name) throw argError(`Invalid name: ${name || undefined}`)
    }
    let subject
    if (userOpts && userOpts.subject) {
      subject = userOpts.subject
    } else if (type === SchemaType.AVRO) {
      const raw = JSON.parse(text)
      if (!raw.namespace) throw argError(`Invalid namespace: ${raw.namespace}`)
      subject = [raw.namespace, raw.name].join(separator)
    } else {
      throw new ConfluentSchemaRegistryError('not implemented yet')
    }
    let firstTime = false
    try {
      const level = await this._call(`get /config/${subject}`, () => this._native.getCompatibility(subject))
      if (level.toUpperCase() !== compatibility) {
        throw new ConfluentSchemaRegistryCompatibilityError(
          `Compatibility does not match the configuration (${compatibility} != ${level.toUpperCase()})`
        )
      }
    } catch (e) {
      if (!e || typeof e !== 'object' || !('status' in e) || e.status !== 404) throw e
      firstTime = true
    }
    const id = await this._call(`post /subjects/${subject}/versions`, () => this._native.register(subject, type, text, references))
    if (compatibility && firstTime && updateConfig) {
      await this._call(`put /config/${subject}`, () => this._native.setCompatibility(subject, compatibility))
    }
    return { id }
  }

  async getSchema(registryId) {
    const cached = this._schemas.get(registryId)
    if (cached) return cached
    const [type] = await this._load(registryId)
    const [text] = await this._call(`get /schemas/ids/${registryId}`, () => this._native.schemaText(registryId))
    const s = new Schema(this, registryId, type, text)
    this._schemas.set(registryId, s)
    return s
  }

  async encode(registryId, payload) {
    if (!registryId) throw argError(`Invalid registryId: ${JSON.stringify(registryId)}`)
    if (!this._ready.has(registryId)) await this._load(registryId)
    try {
      return nativeEncode.call(this._native, registryId, payload, true, this._format.messageName)
    } catch (e) {
      throw this._error(fromPanic(e))
    }
  }

  _readerText(readerSchema) {
    if (typeof readerSchema === 'string') return readerSchema
    let t = this._readers.get(readerSchema)
    if (t === undefined) {
      t = JSON.stringify(readerSchema)
      this._readers.set(readerSchema, t)
    }
    return t
  }

  async decode(buffer, options) {
    if (!Buffer.isBuffer(buffer)) throw argError('Invalid buffer')
    if (buffer.length === 0 || buffer[0] !== 0) {
      throw argError(
        `Message encoded with magic byte ${JSON.stringify(buffer.subarray(0, 1))}, expected ${JSON.stringify(Buffer.alloc(1))}`
      )
    }
    if (buffer.length >= 5) {
      const id = buffer.readInt32BE(1)
      if (!this._ready.has(id)) await this._load(id)
    }
    const reader = options && options[SchemaType.AVRO] && options[SchemaType.AVRO].readerSchema
    try {
      return nativeDecode.call(this._native, buffer, undefined, reader ? this._readerText(reader) : undefined)
    } catch (e) {
      throw this._error(fromPanic(e))
    }
  }

  async getRegistryId(subject, version) {
    let v
    if (version === 'latest') v = undefined
    else if (Number.isInteger(Number(version)) && version !== '' && version !== null) v = Number(version)
    else throw argError(`Invalid version: ${JSON.stringify(version)}`)
    return this._call(`get /subjects/${subject}/versions/${version}`, () => this._native.versionId(subject, v))
  }

  async getRegistryIdBySchema(subject, schema) {
    const confluentSchema = confluentSchemaOf(schema)
    try {
      return await this._call(`post /subjects/${subject}`, () =>
        this._native.lookup(subject, typeOf(confluentSchema), schemaText(confluentSchema), referencesOf(confluentSchema))
      )
    } catch (e) {
      if (e && typeof e === 'object' && 'status' in e && e.status === 404) throw new ConfluentSchemaRegistryError(e)
      throw e
    }
  }

  async getLatestSchemaId(subject) {
    return this._call(`get /subjects/${subject}/versions/latest`, () => this._native.versionId(subject, undefined))
  }
}

module.exports = { SchemaRegistry }
