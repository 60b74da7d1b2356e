// Type declarations of polykafka's streams (Kafka Streams' DSL, issue #17), re-exported by
// index.d.ts. K and V are the key and value types the serdes give.

/// <reference types="node" />
import { EventEmitter } from 'events'
import { KafkaJSNonRetriableError } from './index'

export interface Serde<T> {
  serialize(obj: T | null | undefined): Buffer | Uint8Array | null
  deserialize(data: Buffer | null): T | null
}

export class SerializationError extends KafkaJSNonRetriableError {}

export const Serdes: {
  String(): Serde<string>
  /** 8 bytes big-endian (Kafka's LongSerializer); numbers (BigInt accepted when serializing). */
  Long(): Serde<number>
  /** The same bytes as Long, as BigInts. */
  BigLong(): Serde<bigint>
  Json<T = any>(): Serde<T>
  Bytes(): Serde<Buffer>
}

/** A key of a windowed table: the record key and its window [start, end) in ms (a session:
 * [start, end], both inclusive). */
export interface Windowed<K> {
  key: K
  start: number
  end: number
}

export class TimeWindowedSerde<K> implements Serde<Windowed<K>> {
  constructor(inner: Serde<K>, windowSizeMs: number)
  readonly inner: Serde<K>
  readonly windowSizeMs: number
  serialize(obj: Windowed<K> | null | undefined): Buffer | null
  deserialize(data: Buffer | null): Windowed<K> | null
}

/** Kafka Streams' session-windowed key format: key bytes, then end and start (8 bytes each). */
export class SessionWindowedSerde<K> implements Serde<Windowed<K>> {
  constructor(inner: Serde<K>)
  readonly inner: Serde<K>
  serialize(obj: Windowed<K> | null | undefined): Buffer | null
  deserialize(data: Buffer | null): Windowed<K> | null
}

/** Session windows: records of a key less than the inactivity gap apart form one session; a
 * gap of 0 or less, or a negative grace, throws a RangeError. */
export class SessionWindows {
  private constructor()
  readonly gapMs: number
  readonly graceMs: number
  static ofInactivityGapWithNoGrace(inactivityGapMs: number): SessionWindows
  static ofInactivityGapAndGrace(inactivityGapMs: number, graceMs: number): SessionWindows
}

export class TimeWindows {
  private constructor()
  readonly sizeMs: number
  readonly advanceMs: number
  readonly graceMs: number
  static ofSizeWithNoGrace(sizeMs: number): TimeWindows
  static ofSizeAndGrace(sizeMs: number, graceMs: number): TimeWindows
  advanceBy(advanceMs: number): TimeWindows
}

export class JoinWindows {
  private constructor()
  readonly beforeMs: number
  readonly afterMs: number
  readonly graceMs: number
  static ofTimeDifferenceAndGrace(timeDifferenceMs: number, graceMs: number): JoinWindows
  static ofTimeDifferenceWithNoGrace(timeDifferenceMs: number): JoinWindows
  before(timeDifferenceMs: number): JoinWindows
  after(timeDifferenceMs: number): JoinWindows
}

export class BufferConfig {
  private constructor()
  static unbounded(): BufferConfig
  static maxRecords(records: number): BufferConfig
  static maxBytes(bytes: number): BufferConfig
  withMaxRecords(records: number): BufferConfig
  withMaxBytes(bytes: number): BufferConfig
  withNoBound(): BufferConfig
  shutDownWhenFull(): BufferConfig
  emitEarlyWhenFull(): BufferConfig
}

export class Suppressed {
  private constructor()
  static BufferConfig: typeof BufferConfig
  /** Takes a strict config (unbounded(), or a bound with shutDownWhenFull()). */
  static untilWindowCloses(bufferConfig: BufferConfig): Suppressed
  withName(name: string): Suppressed
}

/** What a user function returns: its result, or a Promise (any thenable) of it. A batch's
 * records are processed one after the other, also when a function is async: record n + 1 goes
 * into the functions once record n has settled through them (as Kafka Streams processes a task's
 * records; an aggregator sees the aggregate its previous call made). Only a function that
 * returns a thenable makes the rest of its batch asynchronous. A rejection is a failure at that
 * record, as a thrown exception is (the uncaught exception handler; nothing committed past it).
 * The stream thread waits while a batch settles: a Promise that never settles holds it until
 * close({ timeout }) gives up (close() without a timeout waits for it). */
export type MaybePromise<T> = T | PromiseLike<T>

export interface SerdeOptions<K, V> {
  keySerde?: Serde<K>
  valueSerde?: Serde<V>
}

/** What a timestamp extractor is given: the record deserialized with the stream's serdes, and
 * its own timestamp (ms; negative when written without one). */
export interface ConsumedRecord<K, V> {
  key: K | null
  value: V | null
  timestamp: number
}

/** Kafka Streams' TimestampExtractor: the record's event time in ms (a negative time drops the
 * record). `partitionTime`: the largest time extracted from the record's partition so far, -1
 * when none. Throwing (or rejecting) stops the application with a `user` failure naming the
 * record's topic, partition and offset. */
export interface TimestampExtractor<K = any, V = any> {
  extract(record: ConsumedRecord<K, V>, partitionTime: number): MaybePromise<number>
}

/** The record's timestamp; a negative one stops the application (the default). */
export class FailOnInvalidTimestamp implements TimestampExtractor {
  extract(record: ConsumedRecord<any, any>, partitionTime: number): number
}
/** The record's timestamp; a record with a negative one is dropped. */
export class LogAndSkipOnInvalidTimestamp implements TimestampExtractor {
  extract(record: ConsumedRecord<any, any>, partitionTime: number): number
}
/** The record's timestamp; a negative one is replaced by the partition time (an error while that is not known). */
export class UsePartitionTimeOnInvalidTimestamp implements TimestampExtractor {
  extract(record: ConsumedRecord<any, any>, partitionTime: number): number
}
/** The wall-clock time when the record is read. */
export class WallclockTimestampExtractor implements TimestampExtractor {
  extract(record: ConsumedRecord<any, any>, partitionTime: number): number
}

export interface ConsumedOptions<K, V> extends SerdeOptions<K, V> {
  /** A function, an object with extract(), or a built-in extractor (the class or an instance; run by the core). */
  timestampExtractor?:
    | ((record: ConsumedRecord<K, V>, partitionTime: number) => MaybePromise<number>)
    | TimestampExtractor<K, V>
    | typeof FailOnInvalidTimestamp
    | typeof LogAndSkipOnInvalidTimestamp
    | typeof UsePartitionTimeOnInvalidTimestamp
    | typeof WallclockTimestampExtractor
}

export class StreamsBuilder {
  constructor()
  stream<K = Buffer, V = Buffer>(topics: string | string[], options?: ConsumedOptions<K, V>): KStream<K, V>
  /** The latest value per key of `topic` (a null value deletes the key), in the store `materialized`
   * (default `<topic>-STATE-STORE-<n>`); unnamed and never joined, it keeps no store (as Kafka Streams). */
  table<K = Buffer, V = Buffer>(topic: string, options?: ConsumedOptions<K, V> & { materialized?: string }): KTable<K, V>
  build(): Topology
}

export class Topology {
  private constructor()
}

export class KStream<K, V> {
  private constructor()
  readonly keySerde: Serde<K>
  readonly valueSerde: Serde<V>
  filter(predicate: (key: K, value: V) => MaybePromise<boolean>): KStream<K, V>
  filterNot(predicate: (key: K, value: V) => MaybePromise<boolean>): KStream<K, V>
  map<K2 = K, V2 = V>(mapper: (key: K, value: V) => MaybePromise<[K2, V2]>, options?: SerdeOptions<K2, V2>): KStream<K2, V2>
  mapValues<V2 = V>(mapper: (value: V) => MaybePromise<V2>, options?: { valueSerde?: Serde<V2> }): KStream<K, V2>
  flatMap<K2 = K, V2 = V>(mapper: (key: K, value: V) => MaybePromise<Iterable<[K2, V2]>>, options?: SerdeOptions<K2, V2>): KStream<K2, V2>
  flatMapValues<V2 = V>(mapper: (value: V) => MaybePromise<Iterable<V2>>, options?: { valueSerde?: Serde<V2> }): KStream<K, V2>
  selectKey<K2 = K>(mapper: (key: K, value: V) => MaybePromise<K2>, options?: { keySerde?: Serde<K2> }): KStream<K2, V>
  peek(action: (key: K, value: V) => MaybePromise<void>): KStream<K, V>
  foreach(action: (key: K, value: V) => MaybePromise<void>): void
  merge(other: KStream<K, V>): KStream<K, V>
  /** Branches named prefix + name; each record goes to the first branch whose predicate holds. */
  split(prefix?: string): BranchedKStream<K, V>
  /** To `topic`, or to the topic `topic(key, value)` names for each record (Kafka Streams' TopicNameExtractor; the topics must exist). */
  to(topic: string | ((key: K, value: V) => MaybePromise<string>), options?: SerdeOptions<any, any>): void
  /** Through `<application.id>-<name>-repartition`, partitioned by key (after a key change, before a join). */
  repartition<K2 = K, V2 = V>(options?: SerdeOptions<K2, V2> & { name?: string }): KStream<K2, V2>
  groupByKey<K2 = K, V2 = V>(options?: SerdeOptions<K2, V2>): KGroupedStream<K2, V2>
  /** Through the repartition topic `<application.id>-<name>-repartition` (name: options.name, else the store's). */
  groupBy<K2, V2 = V>(selector: (key: K, value: V) => MaybePromise<K2>, options?: SerdeOptions<K2, V2> & { name?: string }): KGroupedStream<K2, V2>
  join<VT, VR = V>(table: KTable<K, VT>, joiner: (value: V, tableValue: VT) => MaybePromise<VR>): KStream<K, VR>
  join<VO, VR = V>(other: KStream<K, VO>, joiner: (value: V, otherValue: VO) => MaybePromise<VR>, windows: JoinWindows, options?: JoinOptions<VR>): KStream<K, VR>
  leftJoin<VT, VR = V>(table: KTable<K, VT>, joiner: (value: V, tableValue: VT | null) => MaybePromise<VR>): KStream<K, VR>
  leftJoin<VO, VR = V>(other: KStream<K, VO>, joiner: (value: V, otherValue: VO | null) => MaybePromise<VR>, windows: JoinWindows, options?: JoinOptions<VR>): KStream<K, VR>
  outerJoin<VO, VR = V>(other: KStream<K, VO>, joiner: (value: V | null, otherValue: VO | null) => MaybePromise<VR>, windows: JoinWindows, options?: JoinOptions<VR>): KStream<K, VR>
}

export class BranchedKStream<K, V> {
  private constructor()
  /** Default name: the branch's number from 1. */
  branch(predicate: (key: K, value: V) => MaybePromise<boolean>, name?: string): BranchedKStream<K, V>
  /** Records of no branch go to the default branch (default name "0"). */
  defaultBranch(name?: string): Record<string, KStream<K, V>>
  noDefaultBranch(): Record<string, KStream<K, V>>
}

export interface JoinOptions<VR> {
  /** Base name of the join's stores. */
  name?: string
  /** Serde of the joined values (default: this stream's). */
  valueSerde?: Serde<VR>
}

export interface Materialized {
  /** The store's name (default: generated, KSTREAM-AGGREGATE-STATE-STORE-<n>). */
  materialized?: string
}

export class KGroupedStream<K, V> {
  private constructor()
  windowedBy(windows: TimeWindows): TimeWindowedKStream<K, V>
  windowedBy(windows: SessionWindows): SessionWindowedKStream<K, V>
  count(options?: Materialized): KTable<K, number>
  reduce(reducer: (aggregate: V, value: V) => MaybePromise<V>, options?: Materialized): KTable<K, V>
  aggregate<VA>(initializer: () => MaybePromise<VA>, aggregator: (key: K, value: V, aggregate: VA) => MaybePromise<VA>, options?: Materialized & { valueSerde?: Serde<VA> }): KTable<K, VA>
}

export class TimeWindowedKStream<K, V> {
  private constructor()
  count(options?: Materialized): KTable<Windowed<K>, number>
  reduce(reducer: (aggregate: V, value: V) => MaybePromise<V>, options?: Materialized): KTable<Windowed<K>, V>
  aggregate<VA>(initializer: () => MaybePromise<VA>, aggregator: (key: K, value: V, aggregate: VA) => MaybePromise<VA>, options?: Materialized & { valueSerde?: Serde<VA> }): KTable<Windowed<K>, VA>
}

export class SessionWindowedKStream<K, V> {
  private constructor()
  count(options?: Materialized): KTable<Windowed<K>, number>
  /** Two sessions a record bridges merge with reducer(aggregate, other). */
  reduce(reducer: (aggregate: V, value: V) => MaybePromise<V>, options?: Materialized): KTable<Windowed<K>, V>
  aggregate<VA>(
    initializer: () => MaybePromise<VA>,
    aggregator: (key: K, value: V, aggregate: VA) => MaybePromise<VA>,
    merger: (key: K, aggregate1: VA, aggregate2: VA) => MaybePromise<VA>,
    options?: Materialized & { valueSerde?: Serde<VA> },
  ): KTable<Windowed<K>, VA>
}

export class KTable<K, V> {
  private constructor()
  readonly keySerde: Serde<K>
  readonly valueSerde: Serde<V>
  readonly storeName: string | null
  toStream(): KStream<K, V>
  suppress(suppressed: Suppressed): KTable<K, V>
  /** Keys whose value passes: an update refused removes the key (a tombstone downstream). No store. */
  filter(predicate: (key: K, value: V) => MaybePromise<boolean>): KTable<K, V>
  filterNot(predicate: (key: K, value: V) => MaybePromise<boolean>): KTable<K, V>
  /** The mapper never sees a removal (it stays a removal). No store. */
  mapValues<VR = V>(mapper: (value: V) => MaybePromise<VR>, options?: { valueSerde?: Serde<VR> }): KTable<K, VR>
}

export enum State {
  CREATED = 'CREATED',
  REBALANCING = 'REBALANCING',
  RUNNING = 'RUNNING',
  PENDING_SHUTDOWN = 'PENDING_SHUTDOWN',
  NOT_RUNNING = 'NOT_RUNNING',
  PENDING_ERROR = 'PENDING_ERROR',
  ERROR = 'ERROR',
}

export enum StreamThreadExceptionResponse {
  SHUTDOWN_CLIENT = 'SHUTDOWN_CLIENT',
}

export class StreamsException extends KafkaJSNonRetriableError {
  /** "user": a user function threw (its exception is `cause`); "deserialization"; "kafka". */
  readonly kind: 'user' | 'deserialization' | 'kafka'
  readonly topic: string | null
  readonly partition: number
  readonly offset: number
}

export interface StreamsMetrics {
  processed: number
  lateDropped: number
  /** Records dropped because their extracted timestamp was negative. */
  timestampDropped: number
  dropped: number
  deserializationSkipped: number
  deadLettered: number
  restored: number
  restoreMs: number
  commits: number
}

/** Kafka Streams properties: application.id, bootstrap.servers, commit.interval.ms, ... and
 * consumer./producer./admin. prefixed client settings. */
export type StreamsConfig = { 'application.id': string; 'bootstrap.servers': string | string[] } & Record<string, string | number | boolean | string[]>

export class KafkaStreams extends EventEmitter {
  constructor(topology: Topology, config: StreamsConfig)
  describe(): string
  start(): void
  /** Resolves true when everything stopped within `timeout` ms (default: no limit). When it
   * resolves false, a batch still waiting for a Promise is abandoned: the instance then stops
   * with a failure at that batch's first record (nothing of it committed). */
  close(options?: { timeout?: number }): Promise<boolean>
  state(): `${State}`
  on(event: 'stateChange', listener: (newState: `${State}`, oldState: `${State}`) => void): this
  on(event: string | symbol, listener: (...args: any[]) => void): this
  setUncaughtExceptionHandler(handler: (exception: StreamsException) => `${StreamThreadExceptionResponse}` | void): void
  exception(): StreamsException | null
  metrics(): StreamsMetrics
  /** Interactive queries on a store of this instance's tasks: `store<ReadOnlyKeyValueStore<string, number>>('counts')`,
   * or a ReadOnlyWindowStore (ReadOnlySessionStore) for the store of a windowed (session-windowed) aggregation. */
  store<S extends ReadOnlyKeyValueStore<any, any> | ReadOnlyWindowStore<any, any> | ReadOnlySessionStore<any, any> = ReadOnlyKeyValueStore<any, any>>(
    name: string,
  ): S
}

export class ReadOnlyKeyValueStore<K, V> {
  private constructor()
  get(key: K): V | null
  /** Keys from start to end (both included; null: unbounded) in the order of their bytes. */
  range(start?: K | null, end?: K | null): Array<[K, V]>
  all(): Array<[K, V]>
}

export class ReadOnlyWindowStore<K, V> {
  private constructor()
  /** [window start ms, value] of key's windows starting in [timeFrom, timeTo]. */
  fetch(key: K, timeFrom: number | Date, timeTo: number | Date): Array<[number, V]>
  all(): Array<[Windowed<K>, V]>
}

export class ReadOnlySessionStore<K, V> {
  private constructor()
  /** Key's sessions ending at earliestSessionEnd or later and starting at latestSessionStart or
   * earlier, by end. */
  findSessions(key: K, earliestSessionEnd: number | Date, latestSessionStart: number | Date): Array<[Windowed<K>, V]>
  /** Every session of key, by end. */
  fetch(key: K): Array<[Windowed<K>, V]>
  all(): Array<[Windowed<K>, V]>
}
