// Types of polykafka/schema-registry: the declarations of @kafkajs/confluent-schema-registry
// (4.x) for what polykafka provides. `getSchema` gives a `Schema` (codec methods on the core),
// not avsc's `Type`; the per-format options take only what the core can honour.
/// <reference types="node" />

export declare enum SchemaType {
  AVRO = 'AVRO',
  JSON = 'JSON',
  PROTOBUF = 'PROTOBUF',
  UNKNOWN = 'UNKNOWN',
}

export declare enum COMPATIBILITY {
  NONE = 'NONE',
  FULL = 'FULL',
  BACKWARD = 'BACKWARD',
  FORWARD = 'FORWARD',
  BACKWARD_TRANSITIVE = 'BACKWARD_TRANSITIVE',
  FORWARD_TRANSITIVE = 'FORWARD_TRANSITIVE',
  FULL_TRANSITIVE = 'FULL_TRANSITIVE',
}

export interface SchemaRegistryAPIClientArgs {
  host: string
  auth?: { username: string; password: string }
  clientId?: string
  retry?: Partial<{
    maxRetryTimeInSecs: number
    initialRetryTimeInSecs: number
    /** only the default 0.2 */
    factor: number
    /** only the default 2 */
    multiplier: number
    retries: number
  }>
}

export interface JsonOptions {
  detailedErrorPaths?: boolean
}
export interface ProtoOptions {
  messageName?: string
}
export interface ProtocolOptions {
  [SchemaType.JSON]?: JsonOptions
  [SchemaType.PROTOBUF]?: ProtoOptions
}
export type SchemaRegistryAPIClientOptions = ProtocolOptions

export type SchemaReference = { name: string; subject: string; version: number }

export interface RawAvroSchema {
  name: string
  namespace?: string
  type: 'record'
  fields: any[]
}
export interface AvroConfluentSchema {
  type: SchemaType.AVRO
  schema: string | RawAvroSchema
  references?: SchemaReference[]
}
export interface JsonConfluentSchema {
  type: SchemaType.JSON
  schema: string
  references?: SchemaReference[]
}
export interface ProtoConfluentSchema {
  type: SchemaType.PROTOBUF
  schema: string
  references?: SchemaReference[]
}
export type ConfluentSchema = AvroConfluentSchema | ProtoConfluentSchema | JsonConfluentSchema

export interface Schema {
  toBuffer(payload: object): Buffer
  fromBuffer(buffer: Buffer): any
  isValid(payload: object, opts?: { errorHook: (path: Array<string>, value: any, type?: any) => void }): boolean
}
export interface AvroSchema extends Schema, RawAvroSchema {}

export interface RegisteredSchema {
  id: number
}

interface Opts {
  compatibility?: COMPATIBILITY
  separator?: string
  subject: string
  updateConfig?: boolean
}

export interface DecodeOptions {
  [SchemaType.AVRO]?: { readerSchema?: RawAvroSchema | AvroSchema | Schema | string }
}

export declare class SchemaRegistry {
  constructor(args: SchemaRegistryAPIClientArgs, options?: SchemaRegistryAPIClientOptions)
  register(schema: Exclude<ConfluentSchema, AvroConfluentSchema>, userOpts: Opts): Promise<RegisteredSchema>
  register(
    schema: RawAvroSchema | AvroConfluentSchema,
    userOpts?: Omit<Opts, 'subject'> & { subject?: string }
  ): Promise<RegisteredSchema>
  register(schema: RawAvroSchema | ConfluentSchema, userOpts: Opts): Promise<RegisteredSchema>
  getSchema(registryId: number): Promise<Schema | AvroSchema>
  encode(registryId: number, payload: any): Promise<Buffer>
  decode(buffer: Buffer, options?: DecodeOptions): Promise<any>
  getRegistryId(subject: string, version: number | string): Promise<number>
  getRegistryIdBySchema(subject: string, schema: AvroSchema | RawAvroSchema | ConfluentSchema): Promise<number>
  getLatestSchemaId(subject: string): Promise<number>
}

export declare function readAVSC(path: string): RawAvroSchema
export declare function readAVSCAsync(path: string): Promise<RawAvroSchema>

export declare class ConfluentSchemaRegistryError extends Error {
  constructor(error: any)
}
export declare class ConfluentSchemaRegistryArgumentError extends ConfluentSchemaRegistryError {}
export declare class ConfluentSchemaRegistryCompatibilityError extends ConfluentSchemaRegistryError {}
export declare class ConfluentSchemaRegistryInvalidSchemaError extends ConfluentSchemaRegistryError {}
export declare class ConfluentSchemaRegistryValidationError extends ConfluentSchemaRegistryError {
  paths: any[]
  constructor(error: any, paths: any[])
}
/** What a registry error (or an unreachable registry, status 400) rejects with. */
export declare class ResponseError extends Error {
  status: number
  unauthorized: boolean
  url: string | undefined
  /** polykafka: the registry's error code (-1 when none) */
  errorCode: number
  /** polykafka: true when the registry was unreachable or answered 5xx */
  retriable: boolean
}
