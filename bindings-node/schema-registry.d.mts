// Types of the ESM entry of polykafka/schema-registry: the same as the CommonJS entry's.
export * from './schema-registry.js'
