// Type declarations of polykafka for Node.js: the kafkajs 2.x API. Every name kafkajs's own
// declarations export is declared here, with the same or a wider shape, so TypeScript written
// for kafkajs compiles with only the import changed. Hand-written; checked by
// `npm run typecheck` (test/types), which compiles one program against kafkajs's declarations
// and against these.

/// <reference types="node" />
import * as tls from 'tls'
import * as net from 'net'

// Streams (Kafka Streams' DSL, issue #17).
export * from './streams'

type Never<T, U> = { [K in Exclude<keyof T, keyof U>]?: never }
/** Exactly one of two shapes. */
type OneOf<T, U> = T | U extends object ? (Never<T, U> & U) | (Never<U, T> & T) : T | U
type ValueOf<T> = T[keyof T]

// ---- enums -------------------------------------------------------------------------------

export enum logLevel {
  NOTHING = 0,
  ERROR = 1,
  WARN = 2,
  INFO = 4,
  DEBUG = 5,
}

/** All four codecs are built in (kafkajs itself ships only GZIP). */
export enum CompressionTypes {
  None = 0,
  GZIP = 1,
  Snappy = 2,
  LZ4 = 3,
  ZSTD = 4,
}

/** Accepted for compatibility; registering a codec changes nothing, every codec is native. */
export var CompressionCodecs: {
  [CompressionTypes.GZIP]: () => any
  [CompressionTypes.Snappy]: () => any
  [CompressionTypes.LZ4]: () => any
  [CompressionTypes.ZSTD]: () => any
}

export enum ConfigResourceTypes {
  UNKNOWN = 0,
  TOPIC = 2,
  BROKER = 4,
  BROKER_LOGGER = 8,
}

export enum ConfigSource {
  UNKNOWN = 0,
  TOPIC_CONFIG = 1,
  DYNAMIC_BROKER_CONFIG = 2,
  DYNAMIC_DEFAULT_BROKER_CONFIG = 3,
  STATIC_BROKER_CONFIG = 4,
  DEFAULT_CONFIG = 5,
  DYNAMIC_BROKER_LOGGER_CONFIG = 6,
}

export enum AclResourceTypes {
  UNKNOWN = 0,
  ANY = 1,
  TOPIC = 2,
  GROUP = 3,
  CLUSTER = 4,
  TRANSACTIONAL_ID = 5,
  DELEGATION_TOKEN = 6,
}

export enum AclOperationTypes {
  UNKNOWN = 0,
  ANY = 1,
  ALL = 2,
  READ = 3,
  WRITE = 4,
  CREATE = 5,
  DELETE = 6,
  ALTER = 7,
  DESCRIBE = 8,
  CLUSTER_ACTION = 9,
  DESCRIBE_CONFIGS = 10,
  ALTER_CONFIGS = 11,
  IDEMPOTENT_WRITE = 12,
}

export enum AclPermissionTypes {
  UNKNOWN = 0,
  ANY = 1,
  DENY = 2,
  ALLOW = 3,
}

export enum ResourcePatternTypes {
  UNKNOWN = 0,
  ANY = 1,
  MATCH = 2,
  LITERAL = 3,
  PREFIXED = 4,
}

// ---- client configuration ----------------------------------------------------------------

export class Kafka {
  constructor(config: KafkaConfig)
  producer(config?: ProducerConfig): Producer
  consumer(config: ConsumerConfig): Consumer
  admin(config?: AdminConfig): Admin
  logger(): Logger
}

export type BrokersFunction = () => string[] | Promise<string[]>

export interface RetryOptions {
  maxRetryTime?: number
  initialRetryTime?: number
  factor?: number
  multiplier?: number
  retries?: number
  restartOnFailure?: (e: Error) => Promise<boolean>
}

export interface KafkaConfig {
  brokers: string[] | BrokersFunction
  /** `true`, or TLS options: `ca`, `cert`, `key` (PEM) are used; `rejectUnauthorized: false`
   * turns off the hostname check only. */
  ssl?: tls.ConnectionOptions | boolean
  sasl?: SASLOptions | Mechanism
  clientId?: string
  connectionTimeout?: number
  /** Accepted; not used. */
  authenticationTimeout?: number
  /** Accepted; not used. */
  reauthenticationThreshold?: number
  requestTimeout?: number
  /** Accepted; requests always time out after requestTimeout. */
  enforceRequestTimeout?: boolean
  retry?: RetryOptions
  /** Accepted; not used (connections are made by the native core). */
  socketFactory?: ISocketFactory
  logLevel?: logLevel
  logCreator?: logCreator
  /** Not in kafkajs: OpenTelemetry through @opentelemetry/api (README "OpenTelemetry"). `true`:
   * metrics with the global meter provider. */
  openTelemetry?: boolean | OpenTelemetryOptions
}

export interface OpenTelemetryOptions {
  /** Observable counters, lag gauge and duration histograms (default true). */
  metrics?: boolean
  /** A span per sent message (traceparent in its headers) and per eachMessage/eachBatch call (default false). */
  tracing?: boolean
  /** A TracerProvider of @opentelemetry/api; default: the global one. */
  tracerProvider?: any
  /** A MeterProvider of @opentelemetry/api; default: the global one. */
  meterProvider?: any
}

/** Not in kafkajs: turns OpenTelemetry on for the producers and consumers `kafka` makes from now
 * on (as the `openTelemetry` option); nothing happens without @opentelemetry/api installed. */
/** The engine's version, the same for every polykafka package (e.g. `'0.1.0'`). */
export function version(): string

export function instrument(kafka: Kafka, options?: OpenTelemetryOptions | false): Kafka

export interface ISocketFactoryArgs {
  host: string
  port: number
  ssl: tls.ConnectionOptions
  onConnect: () => void
}
export type ISocketFactory = (args: ISocketFactoryArgs) => net.Socket

export interface OauthbearerProviderResponse {
  value: string
}

interface UserPassword {
  username: string
  password: string
}
interface SaslOptionsByMechanism {
  plain: UserPassword
  'scram-sha-256': UserPassword
  'scram-sha-512': UserPassword
  /** Declared for compatibility; not supported by the core (connect fails with a clear error). */
  aws: { authorizationIdentity: string; accessKeyId: string; secretAccessKey: string; sessionToken?: string }
  /** The provider is called at each connect. */
  oauthbearer: { oauthBearerProvider: () => Promise<OauthbearerProviderResponse> }
}
export type SASLMechanism = keyof SaslOptionsByMechanism
type SaslFor<M> = M extends SASLMechanism ? { mechanism: M } & SaslOptionsByMechanism[M] : never
export type SASLOptions = SaslFor<SASLMechanism>

/** Custom SASL mechanisms (kafkajs plug-ins): declared for compatibility, not supported. */
export type Mechanism = {
  mechanism: string
  authenticationProvider: (args: AuthenticationProviderArgs) => Authenticator
}
export type Authenticator = { authenticate: () => Promise<void> }
export type SaslAuthenticateArgs<ParseResult> = {
  request: { encode: () => Buffer | Promise<Buffer> }
  response?: {
    decode: (rawResponse: Buffer) => Buffer | Promise<Buffer>
    parse: (data: Buffer) => ParseResult
  }
}
export type AuthenticationProviderArgs = {
  host: string
  port: number
  logger: Logger
  saslAuthenticate: <ParseResult>(args: SaslAuthenticateArgs<ParseResult>) => Promise<ParseResult | void>
}

// ---- logging -----------------------------------------------------------------------------

export interface LoggerEntryContent {
  readonly timestamp: string
  readonly message: string
  [key: string]: any
}
export interface LogEntry {
  namespace: string
  level: logLevel
  label: string
  log: LoggerEntryContent
}
/** Receives kafkajs-style entries, including the native core's logs (delivered in batches). */
export type logCreator = (logLevel: logLevel) => (entry: LogEntry) => void
export type Logger = {
  info: (message: string, extra?: object) => void
  error: (message: string, extra?: object) => void
  warn: (message: string, extra?: object) => void
  debug: (message: string, extra?: object) => void
  namespace: (namespace: string, logLevel?: logLevel) => Logger
  setLogLevel: (logLevel: logLevel) => void
}

// ---- instrumentation events --------------------------------------------------------------

export interface InstrumentationEvent<T> {
  id: string
  type: string
  timestamp: number
  payload: T
}
export type RemoveInstrumentationEventListener<T> = () => void
export type ConnectEvent = InstrumentationEvent<null>
export type DisconnectEvent = InstrumentationEvent<null>
interface RequestTiming {
  apiKey: number
  apiName: string
  apiVersion: number
  broker: string
  clientId: string
  correlationId: number
  createdAt: number
  pendingDuration: number
  sentAt: number
}
export type RequestEvent = InstrumentationEvent<RequestTiming & { duration: number; size: number }>
export type RequestTimeoutEvent = InstrumentationEvent<RequestTiming>
export type RequestQueueSizeEvent = InstrumentationEvent<{ broker: string; clientId: string; queueSize: number }>

type NetworkEventMap<P extends string> = {
  [K in `${P}.network.request`]: RequestEvent
} & { [K in `${P}.network.request_timeout`]: RequestTimeoutEvent } & {
  [K in `${P}.network.request_queue_size`]: RequestQueueSizeEvent
}
type Listen<Map> = {
  on<K extends keyof Map>(eventName: K, listener: (event: Map[K]) => void): RemoveInstrumentationEventListener<K>
}

// ---- messages and metadata ---------------------------------------------------------------

export interface IHeaders {
  [key: string]: Buffer | string | (Buffer | string)[] | undefined
}

export interface Message {
  key?: Buffer | string | null
  value: Buffer | string | null
  partition?: number
  headers?: IHeaders
  /** Epoch milliseconds as a string (a number is accepted too). */
  timestamp?: string
}

export type PartitionMetadata = {
  partitionErrorCode: number
  partitionId: number
  leader: number
  replicas: number[]
  isr: number[]
  offlineReplicas?: number[]
}

export interface PartitionerArgs {
  topic: string
  partitionMetadata: PartitionMetadata[]
  message: Message
}
export type ICustomPartitioner = () => (args: PartitionerArgs) => number
export type DefaultPartitioner = ICustomPartitioner
export type LegacyPartitioner = ICustomPartitioner
export const Partitioners: {
  /** Java's murmur2 (native: no JS call per message). */
  DefaultPartitioner: DefaultPartitioner
  /** kafkajs 1.x's partitioner (runs in JS). */
  LegacyPartitioner: LegacyPartitioner
  /** @deprecated the same as DefaultPartitioner */
  JavaCompatiblePartitioner: DefaultPartitioner
}

interface FetchedRecord {
  key: Buffer | null
  value: Buffer | null
  timestamp: string
  attributes: number
  offset: string
}
export type KafkaMessage =
  | (FetchedRecord & { size: number; headers?: never })
  | (FetchedRecord & { headers: IHeaders; size?: never })

export interface ProducerRecord {
  topic: string
  messages: Message[]
  acks?: number
  /** Accepted; the core uses requestTimeout. */
  timeout?: number
  compression?: CompressionTypes
}

export type RecordMetadata = {
  topicName: string
  partition: number
  errorCode: number
  offset?: string
  timestamp?: string
  baseOffset?: string
  logAppendTime?: string
  logStartOffset?: string
}

export interface TopicMessages {
  topic: string
  messages: Message[]
}

export interface ProducerBatch {
  acks?: number
  timeout?: number
  compression?: CompressionTypes
  topicMessages?: TopicMessages[]
}

export interface PartitionOffset {
  partition: number
  offset: string
}
export interface TopicOffsets {
  topic: string
  partitions: PartitionOffset[]
}
export interface Offsets {
  topics: TopicOffsets[]
}
export type TopicPartitions = { topic: string; partitions: number[] }
export type TopicPartition = { topic: string; partition: number }
export type TopicPartitionOffset = TopicPartition & { offset: string }
export type TopicPartitionOffsetAndMetadata = TopicPartitionOffset & { metadata?: string | null }
export interface OffsetsByTopicPartition {
  topics: TopicOffsets[]
}

// ---- producer ----------------------------------------------------------------------------

export interface ProducerConfig {
  createPartitioner?: ICustomPartitioner
  retry?: RetryOptions
  metadataMaxAge?: number
  allowAutoTopicCreation?: boolean
  idempotent?: boolean
  transactionalId?: string
  transactionTimeout?: number
  maxInFlightRequests?: number
}

type Sender = {
  /** One native call for all the messages. */
  send(record: ProducerRecord): Promise<RecordMetadata[]>
  sendBatch(batch: ProducerBatch): Promise<RecordMetadata[]>
}

export type ProducerEvents = {
  CONNECT: 'producer.connect'
  DISCONNECT: 'producer.disconnect'
  REQUEST: 'producer.network.request'
  REQUEST_TIMEOUT: 'producer.network.request_timeout'
  REQUEST_QUEUE_SIZE: 'producer.network.request_queue_size'
}
type ProducerEventMap = { 'producer.connect': ConnectEvent; 'producer.disconnect': DisconnectEvent } & NetworkEventMap<'producer'>

export type Producer = Sender &
  Listen<ProducerEventMap> & {
    connect(): Promise<void>
    disconnect(): Promise<void>
    isIdempotent(): boolean
    /** Not in kafkajs: the engine's statistics in librdkafka's statistics layout (see the README). */
    stats(): Record<string, any>
    readonly events: ProducerEvents
    on(eventName: ValueOf<ProducerEvents>, listener: (event: InstrumentationEvent<any>) => void): RemoveInstrumentationEventListener<typeof eventName>
    transaction(): Promise<Transaction>
    logger(): Logger
  }

export type Transaction = Sender & {
  sendOffsets(offsets: Offsets & { consumerGroupId: string }): Promise<void>
  commit(): Promise<void>
  abort(): Promise<void>
  isActive(): boolean
}

// ---- consumer ----------------------------------------------------------------------------

export type Cluster = {
  getNodeIds(): number[]
  metadata(): Promise<BrokerMetadata>
  removeBroker(options: { host: string; port: number }): void
  addMultipleTargetTopics(topics: string[]): Promise<void>
  isConnected(): boolean
  connect(): Promise<void>
  disconnect(): Promise<void>
  refreshMetadata(): Promise<void>
  refreshMetadataIfNecessary(): Promise<void>
  addTargetTopic(topic: string): Promise<void>
  findBroker(node: { nodeId: string }): Promise<Broker>
  findControllerBroker(): Promise<Broker>
  findTopicPartitionMetadata(topic: string): PartitionMetadata[]
  findLeaderForPartitions(topic: string, partitions: number[]): { [leader: string]: number[] }
  findGroupCoordinator(group: { groupId: string }): Promise<Broker>
  findGroupCoordinatorMetadata(group: { groupId: string }): Promise<CoordinatorMetadata>
  defaultOffset(config: { fromBeginning: boolean }): number
  fetchTopicsOffset(
    topics: Array<{ topic: string; partitions: Array<{ partition: number }> } & OneOf<{ fromBeginning: boolean }, { fromTimestamp: number }>>
  ): Promise<TopicOffsets[]>
}

export interface CoordinatorMetadata {
  errorCode: number
  coordinator: { nodeId: number; host: string; port: number }
}

export type Assignment = { [topic: string]: number[] }
export type GroupMember = { memberId: string; memberMetadata: Buffer }
export type GroupMemberAssignment = { memberId: string; memberAssignment: Buffer }
export type GroupState = { name: string; metadata: Buffer }
export type Assigner = {
  name: string
  version: number
  assign(group: { members: GroupMember[]; topics: string[] }): Promise<GroupMemberAssignment[]>
  protocol(subscription: { topics: string[] }): GroupState
}
export type PartitionAssigner = (config: { cluster: Cluster; groupId: string; logger: Logger }) => Assigner
export const PartitionAssigners: { roundRobin: PartitionAssigner }

export interface ISerializer<T> {
  encode(value: T): Buffer
  decode(buffer: Buffer): T | null
}
export type MemberMetadata = { version: number; topics: string[]; userData: Buffer }
export type MemberAssignment = { version: number; assignment: Assignment; userData: Buffer }
export const AssignerProtocol: {
  MemberMetadata: ISerializer<MemberMetadata>
  MemberAssignment: ISerializer<MemberAssignment>
}

export interface ConsumerConfig {
  groupId: string
  partitionAssigners?: PartitionAssigner[]
  metadataMaxAge?: number
  sessionTimeout?: number
  rebalanceTimeout?: number
  heartbeatInterval?: number
  maxBytesPerPartition?: number
  minBytes?: number
  maxBytes?: number
  maxWaitTimeInMs?: number
  retry?: RetryOptions & { restartOnFailure?: (err: Error) => Promise<boolean> }
  allowAutoTopicCreation?: boolean
  maxInFlightRequests?: number
  readUncommitted?: boolean
  rackId?: string
}

export type Batch = {
  topic: string
  partition: number
  highWatermark: string
  messages: KafkaMessage[]
  isEmpty(): boolean
  firstOffset(): string | null
  lastOffset(): string
  offsetLag(): string
  offsetLagLow(): string
}

export interface EachMessagePayload {
  topic: string
  partition: number
  message: KafkaMessage
  heartbeat(): Promise<void>
  pause(): () => void
}
export interface EachBatchPayload {
  batch: Batch
  resolveOffset(offset: string): void
  heartbeat(): Promise<void>
  pause(): () => void
  commitOffsetsIfNecessary(offsets?: Offsets): Promise<void>
  uncommittedOffsets(): OffsetsByTopicPartition
  isRunning(): boolean
  isStale(): boolean
}
export type ConsumerEachMessagePayload = EachMessagePayload
export type ConsumerEachBatchPayload = EachBatchPayload
export type EachBatchHandler = (payload: EachBatchPayload) => Promise<void>
export type EachMessageHandler = (payload: EachMessagePayload) => Promise<void>

export type ConsumerRunConfig = {
  autoCommit?: boolean
  autoCommitInterval?: number | null
  autoCommitThreshold?: number | null
  eachBatchAutoResolve?: boolean
  partitionsConsumedConcurrently?: number
  eachBatch?: EachBatchHandler
  eachMessage?: EachMessageHandler
  /** polykafka, beyond kafkajs: retries and a dead-letter topic for eachMessage. */
  deadLetter?: DeadLetterConfig
}
/** `consumer.run({ deadLetter })`: a message whose eachMessage throws is retried `retries` times
 * (waits from `initialRetryTime` ms, times `multiplier`, at most `maxRetryTime` ms; its partition
 * paused meanwhile), then written to `topic` (default `<topic>-dlq`) with its key, value, headers
 * and `retry-count`, `original-topic`, `original-partition`, `original-offset`, `error`,
 * `error-type`; its offset is committed once the copy is acknowledged. */
export type DeadLetterConfig = {
  topic?: string
  retries?: number
  initialRetryTime?: number
  multiplier?: number
  maxRetryTime?: number
  /** Non-blocking retries through this topic (subscribe to it too). */
  retryTopic?: string
  /** Errors meaning the message cannot be decoded: dead-lettered at once, bytes untouched. */
  isUndecodable?: (error: Error) => boolean
  /** Properties of the producer of the copies (engine names, e.g. `acks`, `transactional.id`). */
  producer?: Record<string, string | number | boolean>
}
export type ConsumerSubscribeTopic = { topic: string | RegExp; fromBeginning?: boolean }
export type ConsumerSubscribeTopics = { topics: (string | RegExp)[]; fromBeginning?: boolean }

export type ConsumerEvents = {
  HEARTBEAT: 'consumer.heartbeat'
  COMMIT_OFFSETS: 'consumer.commit_offsets'
  GROUP_JOIN: 'consumer.group_join'
  FETCH_START: 'consumer.fetch_start'
  FETCH: 'consumer.fetch'
  START_BATCH_PROCESS: 'consumer.start_batch_process'
  END_BATCH_PROCESS: 'consumer.end_batch_process'
  CONNECT: 'consumer.connect'
  DISCONNECT: 'consumer.disconnect'
  STOP: 'consumer.stop'
  CRASH: 'consumer.crash'
  REBALANCING: 'consumer.rebalancing'
  RECEIVED_UNSUBSCRIBED_TOPICS: 'consumer.received_unsubscribed_topics'
  REQUEST: 'consumer.network.request'
  REQUEST_TIMEOUT: 'consumer.network.request_timeout'
  REQUEST_QUEUE_SIZE: 'consumer.network.request_queue_size'
}

interface GroupMemberIds {
  groupId: string
  memberId: string
}
export type ConsumerHeartbeatEvent = InstrumentationEvent<GroupMemberIds & { groupGenerationId: number }>
export type ConsumerCommitOffsetsEvent = InstrumentationEvent<GroupMemberIds & { groupGenerationId: number; topics: TopicOffsets[] }>
export interface IMemberAssignment {
  [key: string]: number[]
}
export type ConsumerGroupJoinEvent = InstrumentationEvent<
  GroupMemberIds & { duration: number; isLeader: boolean; leaderId: string; groupProtocol: string; memberAssignment: IMemberAssignment }
>
export type ConsumerFetchStartEvent = InstrumentationEvent<{ nodeId: number }>
export type ConsumerFetchEvent = InstrumentationEvent<{ numberOfBatches: number; duration: number; nodeId: number }>
interface BatchProcessPayload {
  topic: string
  partition: number
  highWatermark: string
  offsetLag: string
  offsetLagLow: string
  batchSize: number
  firstOffset: string
  lastOffset: string
}
export type ConsumerStartBatchProcessEvent = InstrumentationEvent<BatchProcessPayload>
export type ConsumerEndBatchProcessEvent = InstrumentationEvent<BatchProcessPayload & { duration: number }>
export type ConsumerCrashEvent = InstrumentationEvent<{ error: Error; groupId: string; restart: boolean }>
export type ConsumerRebalancingEvent = InstrumentationEvent<GroupMemberIds>
export type ConsumerReceivedUnsubcribedTopicsEvent = InstrumentationEvent<
  GroupMemberIds & { generationId: number; assignedTopics: string[]; topicsSubscribed: string[]; topicsNotSubscribed: string[] }
>

type ConsumerEventMap = {
  'consumer.heartbeat': ConsumerHeartbeatEvent
  'consumer.commit_offsets': ConsumerCommitOffsetsEvent
  'consumer.group_join': ConsumerGroupJoinEvent
  'consumer.fetch_start': ConsumerFetchStartEvent
  'consumer.fetch': ConsumerFetchEvent
  'consumer.start_batch_process': ConsumerStartBatchProcessEvent
  'consumer.end_batch_process': ConsumerEndBatchProcessEvent
  'consumer.connect': ConnectEvent
  'consumer.disconnect': DisconnectEvent
  'consumer.stop': InstrumentationEvent<null>
  'consumer.crash': ConsumerCrashEvent
  'consumer.rebalancing': ConsumerRebalancingEvent
  'consumer.received_unsubscribed_topics': ConsumerReceivedUnsubcribedTopicsEvent
} & NetworkEventMap<'consumer'>

export type Consumer = Listen<ConsumerEventMap> & {
  connect(): Promise<void>
  disconnect(): Promise<void>
  subscribe(subscription: ConsumerSubscribeTopics | ConsumerSubscribeTopic): Promise<void>
  stop(): Promise<void>
  run(config?: ConsumerRunConfig): Promise<void>
  commitOffsets(topicPartitions: Array<TopicPartitionOffsetAndMetadata>): Promise<void>
  seek(topicPartitionOffset: TopicPartitionOffset): void
  describeGroup(): Promise<GroupDescription>
  pause(topics: Array<{ topic: string; partitions?: number[] }>): void
  paused(): TopicPartitions[]
  /** Not in kafkajs: the engine's statistics in librdkafka's statistics layout, once run() started. */
  stats(): Record<string, any>
  resume(topics: Array<{ topic: string; partitions?: number[] }>): void
  on(eventName: ValueOf<ConsumerEvents>, listener: (event: InstrumentationEvent<any>) => void): RemoveInstrumentationEventListener<typeof eventName>
  logger(): Logger
  readonly events: ConsumerEvents
}

// ---- admin -------------------------------------------------------------------------------

export interface AdminConfig {
  retry?: RetryOptions
}

export interface IResourceConfigEntry {
  name: string
  value: string
}
export interface IResourceConfig {
  type: ConfigResourceTypes
  name: string
  configEntries: IResourceConfigEntry[]
}
export interface ReplicaAssignment {
  partition: number
  replicas: Array<number>
}
export interface ITopicConfig {
  topic: string
  numPartitions?: number
  replicationFactor?: number
  replicaAssignment?: ReplicaAssignment[]
  configEntries?: IResourceConfigEntry[]
}
export interface ITopicPartitionConfig {
  topic: string
  count: number
  assignments?: Array<Array<number>>
}
export interface ITopicMetadata {
  name: string
  partitions: PartitionMetadata[]
}
export interface PartitionReassignment {
  topic: string
  partitionAssignment: Array<ReplicaAssignment>
}
export interface ResourceConfigQuery {
  type: ConfigResourceTypes
  name: string
  configNames?: string[]
}
export interface ConfigSynonyms {
  configName: string
  configValue: string
  configSource: ConfigSource
}
export interface ConfigEntries {
  configName: string
  configValue: string
  isDefault: boolean
  configSource: ConfigSource
  isSensitive: boolean
  readOnly: boolean
  configSynonyms: ConfigSynonyms[]
}
export interface DescribeConfigResponse {
  resources: {
    configEntries: ConfigEntries[]
    errorCode: number
    errorMessage: string
    resourceName: string
    resourceType: ConfigResourceTypes
  }[]
  throttleTime: number
}

export type SeekEntry = PartitionOffset
export type FetchOffsetsPartition = PartitionOffset & { metadata: string | null }

export interface Acl {
  principal: string
  host: string
  operation: AclOperationTypes
  permissionType: AclPermissionTypes
}
export interface AclResource {
  resourceType: AclResourceTypes
  resourceName: string
  resourcePatternType: ResourcePatternTypes
}
export type AclEntry = Acl & AclResource
export type DescribeAclResource = AclResource & { acls: Acl[] }
export interface DescribeAclResponse {
  throttleTime: number
  errorCode: number
  errorMessage?: string
  resources: DescribeAclResource[]
}
export interface AclFilter {
  resourceType: AclResourceTypes
  resourceName?: string
  resourcePatternType: ResourcePatternTypes
  principal?: string
  host?: string
  operation: AclOperationTypes
  permissionType: AclPermissionTypes
}
export interface MatchingAcl extends AclResource, Acl {
  errorCode: number
  errorMessage?: string
}
export interface DeleteAclFilterResponses {
  errorCode: number
  errorMessage?: string
  matchingAcls: MatchingAcl[]
}
export interface DeleteAclResponse {
  throttleTime: number
  filterResponses: DeleteAclFilterResponses[]
}
export interface OngoingPartitionReassignment {
  partitionIndex: number
  replicas: number[]
  addingReplicas?: number[]
  removingReplicas?: number[]
}
export interface OngoingTopicReassignment {
  topic: string
  partitions: OngoingPartitionReassignment[]
}
export interface ListPartitionReassignmentsResponse {
  topics: OngoingTopicReassignment[]
}

export type MemberDescription = {
  clientHost: string
  clientId: string
  memberId: string
  memberAssignment: Buffer
  memberMetadata: Buffer
}
export type ConsumerGroupState = 'Unknown' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead' | 'Empty'
export type GroupDescription = {
  groupId: string
  members: MemberDescription[]
  protocol: string
  protocolType: string
  state: ConsumerGroupState
}
export type GroupDescriptions = { groups: GroupDescription[] }
export type GroupOverview = { groupId: string; protocolType: string }
export type DeleteGroupsResult = { groupId: string; errorCode?: number; error?: KafkaJSProtocolError }
export type ConsumerGroup = { groupId: string; generationId: number; memberId: string; coordinator: Broker }

export type AdminEvents = {
  CONNECT: 'admin.connect'
  DISCONNECT: 'admin.disconnect'
  REQUEST: 'admin.network.request'
  REQUEST_TIMEOUT: 'admin.network.request_timeout'
  REQUEST_QUEUE_SIZE: 'admin.network.request_queue_size'
}
type AdminEventMap = { 'admin.connect': ConnectEvent; 'admin.disconnect': DisconnectEvent } & NetworkEventMap<'admin'>

export type Admin = Listen<AdminEventMap> & {
  connect(): Promise<void>
  disconnect(): Promise<void>
  listTopics(): Promise<string[]>
  createTopics(options: { validateOnly?: boolean; waitForLeaders?: boolean; timeout?: number; topics: ITopicConfig[] }): Promise<boolean>
  deleteTopics(options: { topics: string[]; timeout?: number }): Promise<void>
  createPartitions(options: { validateOnly?: boolean; timeout?: number; topicPartitions: ITopicPartitionConfig[] }): Promise<boolean>
  fetchTopicMetadata(options?: { topics: string[] }): Promise<{ topics: Array<ITopicMetadata> }>
  /** kafkajs 2.x form. */
  fetchOffsets(options: {
    groupId: string
    topics?: string[]
    resolveOffsets?: boolean
  }): Promise<Array<{ topic: string; partitions: FetchOffsetsPartition[] }>>
  /** kafkajs 1.x form (`topic`): resolves to the partitions of that one topic. */
  fetchOffsets(options: { groupId: string; topic: string; resolveOffsets?: boolean }): Promise<FetchOffsetsPartition[]>
  fetchTopicOffsets(topic: string): Promise<Array<SeekEntry & { high: string; low: string }>>
  fetchTopicOffsetsByTimestamp(topic: string, timestamp?: number): Promise<Array<SeekEntry>>
  describeCluster(): Promise<{ brokers: Array<{ nodeId: number; host: string; port: number }>; controller: number | null; clusterId: string }>
  setOffsets(options: { groupId: string; topic: string; partitions: SeekEntry[] }): Promise<void>
  resetOffsets(options: { groupId: string; topic: string; earliest: boolean }): Promise<void>
  describeConfigs(configs: { resources: ResourceConfigQuery[]; includeSynonyms: boolean }): Promise<DescribeConfigResponse>
  alterConfigs(configs: { validateOnly: boolean; resources: IResourceConfig[] }): Promise<any>
  listGroups(): Promise<{ groups: GroupOverview[] }>
  deleteGroups(groupIds: string[]): Promise<DeleteGroupsResult[]>
  describeGroups(groupIds: string[]): Promise<GroupDescriptions>
  describeAcls(options: AclFilter): Promise<DescribeAclResponse>
  deleteAcls(options: { filters: AclFilter[] }): Promise<DeleteAclResponse>
  createAcls(options: { acl: AclEntry[] }): Promise<boolean>
  deleteTopicRecords(options: { topic: string; partitions: SeekEntry[] }): Promise<void>
  alterPartitionReassignments(request: { topics: PartitionReassignment[]; timeout?: number }): Promise<void>
  listPartitionReassignments(request: { topics?: TopicPartitions[]; timeout?: number }): Promise<ListPartitionReassignmentsResponse>
  logger(): Logger
  on(eventName: ValueOf<AdminEvents>, listener: (event: InstrumentationEvent<any>) => void): RemoveInstrumentationEventListener<typeof eventName>
  readonly events: AdminEvents
}

// ---- low-level shapes kafkajs exports (declared for compatibility) -------------------------

export interface BrokerMetadata {
  brokers: Array<{ nodeId: number; host: string; port: number; rack?: string }>
  topicMetadata: Array<{ topicErrorCode: number; topic: string; partitionMetadata: PartitionMetadata[] }>
}
export interface ApiVersions {
  [apiKey: number]: { minVersion: number; maxVersion: number }
}
export type Broker = {
  isConnected(): boolean
  connect(): Promise<void>
  disconnect(): Promise<void>
  apiVersions(): Promise<ApiVersions>
  metadata(topics: string[]): Promise<BrokerMetadata>
  describeGroups: (options: { groupIds: string[] }) => Promise<any>
  offsetCommit(request: { groupId: string; groupGenerationId: number; memberId: string; retentionTime?: number; topics: TopicOffsets[] }): Promise<any>
  offsetFetch(request: { groupId: string; topics: TopicOffsets[] }): Promise<{ responses: TopicOffsets[] }>
  fetch(request: {
    replicaId?: number
    isolationLevel?: number
    maxWaitTime?: number
    minBytes?: number
    maxBytes?: number
    topics: Array<{ topic: string; partitions: Array<{ partition: number; fetchOffset: string; maxBytes: number }> }>
    rackId?: string
  }): Promise<any>
  produce(request: {
    topicData: Array<{ topic: string; partitions: Array<{ partition: number; firstSequence?: number; messages: Message[] }> }>
    transactionalId?: string
    producerId?: number
    producerEpoch?: number
    acks?: number
    timeout?: number
    compression?: CompressionTypes
  }): Promise<any>
  alterPartitionReassignments(request: { topics: PartitionReassignment[]; timeout?: number }): Promise<any>
  listPartitionReassignments(request: { topics?: TopicPartitions[]; timeout?: number }): Promise<ListPartitionReassignmentsResponse>
}

// ---- errors ------------------------------------------------------------------------------

export interface KafkaJSErrorMetadata {
  retriable?: boolean
  topic?: string
  partitionId?: number
  metadata?: PartitionMetadata
  cause?: Error
}
export interface KafkaJSOffsetOutOfRangeMetadata {
  topic: string
  partition: number
}
export interface KafkaJSNumberOfRetriesExceededMetadata {
  retryCount: number
  retryTime: number
}
export interface KafkaJSConnectionErrorMetadata {
  broker?: string
  code?: string
}
export interface KafkaJSRequestTimeoutErrorMetadata {
  broker: string
  clientId: string
  correlationId: number
  createdAt: number
  sentAt: number
  pendingDuration: number
}
export interface KafkaJSTopicMetadataNotLoadedMetadata {
  topic: string
}
export interface KafkaJSStaleTopicMetadataAssignmentMetadata {
  topic: string
  unknownPartitions: PartitionMetadata[]
}
export interface KafkaJSServerDoesNotSupportApiKeyMetadata {
  apiKey: number
  apiName: string
}
export interface KafkaJSDeleteGroupsErrorGroups {
  groupId: string
  errorCode: number
  error: KafkaJSError
}
export interface KafkaJSDeleteTopicRecordsErrorPartition {
  partition: number
  offset: string
  error: KafkaJSError
}
export interface KafkaJSDeleteTopicRecordsErrorTopic {
  topic: string
  partitions: KafkaJSDeleteTopicRecordsErrorPartition[]
}

export class KafkaJSError extends Error {
  readonly message: Error['message']
  readonly name: string
  readonly retriable: boolean
  readonly helpUrl?: string
  readonly cause?: Error
  /** polykafka: the core says the client cannot go on (a fenced producer, for instance). */
  readonly fatal?: boolean
  /** polykafka: the running transaction must be aborted. */
  readonly txnRequiresAbort?: boolean
  constructor(e: Error | string, metadata?: KafkaJSErrorMetadata)
}
export class KafkaJSNonRetriableError extends KafkaJSError {
  constructor(e: Error | string, metadata?: { cause?: Error })
}
export class KafkaJSProtocolError extends KafkaJSError {
  /** The Kafka error code. */
  readonly code: number
  /** The Kafka error name, e.g. 'UNKNOWN_TOPIC_OR_PARTITION'. */
  readonly type: string
  constructor(e: Error | string | { message: string; type: string; code: number; retriable?: boolean })
}
export class KafkaJSAggregateError extends Error {
  readonly errors: (Error | string)[]
  constructor(message: Error | string, errors: (Error | string)[])
}
export class KafkaJSOffsetOutOfRange extends KafkaJSProtocolError {
  readonly topic: string
  readonly partition: number
  constructor(e: Error | string, metadata?: KafkaJSOffsetOutOfRangeMetadata)
}
export class KafkaJSMemberIdRequired extends KafkaJSProtocolError {
  readonly memberId: string
  constructor(e: Error | string, metadata?: { memberId: string })
}
export class KafkaJSAlterPartitionReassignmentsError extends KafkaJSProtocolError {
  readonly topic?: string
  readonly partition?: number
  constructor(e: Error | string, topic?: string, partition?: number)
}
export class KafkaJSCreateTopicError extends KafkaJSProtocolError {
  readonly topic: string
  constructor(e: Error | string, topicName: string)
}
export class KafkaJSNumberOfRetriesExceeded extends KafkaJSNonRetriableError {
  readonly stack: string
  readonly retryCount: number
  readonly retryTime: number
  constructor(e: Error | string, metadata?: KafkaJSNumberOfRetriesExceededMetadata)
}
export class KafkaJSConnectionError extends KafkaJSError {
  readonly broker: string
  constructor(e: Error | string, metadata?: KafkaJSConnectionErrorMetadata)
}
export class KafkaJSConnectionClosedError extends KafkaJSConnectionError {
  readonly host: string
  readonly port: number
  constructor(e: Error | string, metadata?: { host: string; port: number })
}
export class KafkaJSRequestTimeoutError extends KafkaJSError {
  readonly broker: string
  readonly correlationId: number
  readonly createdAt: number
  readonly sentAt: number
  readonly pendingDuration: number
  constructor(e: Error | string, metadata?: KafkaJSRequestTimeoutErrorMetadata)
}
export class KafkaJSMetadataNotLoaded extends KafkaJSError {
  constructor(e?: Error | string, metadata?: KafkaJSErrorMetadata)
}
export class KafkaJSTopicMetadataNotLoaded extends KafkaJSMetadataNotLoaded {
  readonly topic: string
  constructor(e: Error | string, metadata?: KafkaJSTopicMetadataNotLoadedMetadata)
}
export class KafkaJSStaleTopicMetadataAssignment extends KafkaJSError {
  readonly topic: string
  readonly unknownPartitions: number
  constructor(e: Error | string, metadata?: KafkaJSStaleTopicMetadataAssignmentMetadata)
}
export class KafkaJSServerDoesNotSupportApiKey extends KafkaJSNonRetriableError {
  readonly apiKey: number
  readonly apiName: string
  constructor(e: Error | string, metadata?: KafkaJSServerDoesNotSupportApiKeyMetadata)
}
export class KafkaJSBrokerNotFound extends KafkaJSError {
  constructor(e?: Error | string, metadata?: KafkaJSErrorMetadata)
}
export class KafkaJSPartialMessageError extends KafkaJSNonRetriableError {
  constructor(e?: Error | string)
}
export class KafkaJSSASLAuthenticationError extends KafkaJSNonRetriableError {
  constructor(e?: Error | string)
}
export class KafkaJSGroupCoordinatorNotFound extends KafkaJSNonRetriableError {
  constructor(e?: Error | string)
}
export class KafkaJSNotImplemented extends KafkaJSNonRetriableError {
  constructor(e?: Error | string)
}
export class KafkaJSTimeout extends KafkaJSNonRetriableError {
  constructor(e?: Error | string)
}
export class KafkaJSLockTimeout extends KafkaJSTimeout {
  constructor(e?: Error | string)
}
export class KafkaJSUnsupportedMagicByteInMessageSet extends KafkaJSNonRetriableError {
  constructor(e?: Error | string)
}
export class KafkaJSInvariantViolation extends KafkaJSNonRetriableError {
  constructor(e: Error | string)
}
export class KafkaJSInvalidVarIntError extends KafkaJSNonRetriableError {
  constructor(e?: Error | string)
}
export class KafkaJSInvalidLongError extends KafkaJSNonRetriableError {
  constructor(e?: Error | string)
}
export class KafkaJSDeleteGroupsError extends KafkaJSError {
  readonly groups: DeleteGroupsResult[]
  constructor(e: Error | string, groups?: KafkaJSDeleteGroupsErrorGroups[])
}
export class KafkaJSDeleteTopicRecordsError extends KafkaJSError {
  readonly partitions: KafkaJSDeleteTopicRecordsErrorPartition[]
  constructor(metadata: KafkaJSDeleteTopicRecordsErrorTopic)
}
export class KafkaJSNoBrokerAvailableError extends KafkaJSError {
  constructor()
}
export class KafkaJSFetcherRebalanceError extends Error {}
