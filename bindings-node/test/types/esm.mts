// The ESM entry's named exports, typed.
import { Kafka, CompressionTypes, logLevel, KafkaJSError } from '../../index.mjs'

const kafka = new Kafka({ brokers: ['localhost:9092'], logLevel: logLevel.WARN })
export const producer = kafka.producer()
export const codec: number = CompressionTypes.ZSTD
export const isError = (e: unknown): boolean => e instanceof KafkaJSError
