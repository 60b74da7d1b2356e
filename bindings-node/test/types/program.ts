// A TypeScript program written for kafkajs (the seed's Node sections and more). It imports
// from 'kafka-client', which tsconfig.kafkajs.json maps to kafkajs's own declarations and
// tsconfig.json to polykafka's: it must compile against both.
import {
  Kafka,
  Producer,
  Consumer,
  Admin,
  CompressionTypes,
  EachMessagePayload,
  EachBatchPayload,
  logLevel,
  logCreator,
  LogEntry,
  Partitioners,
  RecordMetadata,
  Message,
  KafkaJSError,
  KafkaJSProtocolError,
  KafkaJSNumberOfRetriesExceeded,
  ConfigResourceTypes,
  ITopicConfig,
  SASLOptions,
  KafkaConfig,
  ProducerConfig,
  IHeaders,
  KafkaMessage,
} from 'kafka-client'

declare function processEvent(value: unknown): Promise<void>
declare function processMessage(message: KafkaMessage): Promise<void>
declare const metrics: { increment(name: string, tags?: object): void; gauge(name: string, v: number, tags?: object): void }

const orders = [{ id: 'o1' }]
const payment = { id: 'p1' }
const notification = { id: 'n1' }

export async function producerSection(): Promise<RecordMetadata[]> {
  const kafka = new Kafka({
    clientId: 'my-app',
    brokers: ['localhost:9092', 'localhost:9093'],
    retry: { initialRetryTime: 100, retries: 8 },
  })

  const producer: Producer = kafka.producer({
    allowAutoTopicCreation: true,
    transactionTimeout: 30000,
  })

  await producer.connect()

  await producer.send({
    topic: 'user-events',
    messages: [
      {
        key: 'user-123',
        value: JSON.stringify({ type: 'USER_CREATED', userId: '123' }),
        headers: { 'correlation-id': '456' },
      },
    ],
  })

  const res = await producer.sendBatch({
    topicMessages: [
      {
        topic: 'orders',
        messages: orders.map(order => ({
          key: order.id,
          value: JSON.stringify(order),
          timestamp: Date.now().toString(),
        })),
      },
    ],
    compression: CompressionTypes.GZIP,
  })

  const transaction = await producer.transaction()
  try {
    await transaction.send({ topic: 'payments', messages: [{ key: 'pay-1', value: JSON.stringify(payment) }] })
    await transaction.send({ topic: 'notifications', messages: [{ key: 'notif-1', value: JSON.stringify(notification) }] })
    await transaction.sendOffsets({ consumerGroupId: 'g', topics: [{ topic: 't', partitions: [{ partition: 0, offset: '1' }] }] })
    await transaction.commit()
  } catch (error) {
    await transaction.abort()
    throw error
  }

  process.on('SIGTERM', async () => {
    await producer.disconnect()
  })

  producer.on(producer.events.REQUEST_TIMEOUT, ({ payload }) => {
    metrics.increment('kafka.producer.timeout', { broker: payload.broker })
  })
  producer.on(producer.events.REQUEST, ({ payload }) => {
    metrics.increment(`kafka.request.${payload.apiName}`, { size: payload.size, duration: payload.duration })
  })
  const remove = producer.on(producer.events.CONNECT, e => console.log(e.type, e.timestamp))
  remove()
  return res
}

export async function consumerSection(kafka: Kafka): Promise<void> {
  const consumer: Consumer = kafka.consumer({ groupId: 'user-service', sessionTimeout: 30000, heartbeatInterval: 3000 })
  await consumer.connect()
  await consumer.subscribe({ topics: ['user-events', 'order-events'], fromBeginning: false })
  await consumer.subscribe({ topic: /events$/ })
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ topic, partition, message }: EachMessagePayload) => {
      const key = message.key?.toString()
      const value = JSON.parse(message.value?.toString() || '{}')
      console.log({ topic, partition, offset: message.offset, key, value })
      try {
        await processEvent(value)
        await consumer.commitOffsets([{ topic, partition, offset: (parseInt(message.offset) + 1).toString() }])
      } catch (error) {
        console.error('Processing failed:', error)
      }
    },
  })
  await consumer.run({
    eachBatch: async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary }: EachBatchPayload) => {
      for (const message of batch.messages) {
        await processMessage(message)
        resolveOffset(message.offset)
        await heartbeat()
      }
      await commitOffsetsIfNecessary()
    },
  })
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => console.log(payload.memberAssignment, payload.isLeader))
  consumer.on(consumer.events.REBALANCING, () => console.log('rebalancing'))
  consumer.on(consumer.events.CRASH, ({ payload }) => console.log(payload.error, payload.restart))
  consumer.on(consumer.events.HEARTBEAT, ({ payload }) => console.log(payload.groupId, payload.memberId, payload.groupGenerationId))

  const producer = kafka.producer()
  await consumer.run({
    eachMessage: async ({ topic, message }) => {
      const retryCount = parseInt(message.headers?.['retry-count']?.toString() || '0')
      const retry: Message = { ...message, headers: { ...message.headers, 'retry-count': (retryCount + 1).toString() } }
      await producer.send({ topic, messages: [retry] })
    },
  })
}

export async function monitoringSection(): Promise<void> {
  const creator: logCreator = () => ({ namespace, level, label, log }: LogEntry) => {
    const { message, ...extra } = log
    console.log(`[${namespace}] ${level} ${label} ${message}`, extra)
    metrics.increment('kafka.log', { namespace, level })
  }
  const kafka = new Kafka({ clientId: 'my-app', brokers: ['localhost:9092'], logLevel: logLevel.INFO, logCreator: creator })
  const admin: Admin = kafka.admin()
  await admin.connect()
  const offsets = await admin.fetchOffsets({ groupId: 'user-service', topics: ['user-events'] })
  offsets.forEach(({ topic, partitions }) =>
    partitions.forEach(({ partition, offset }) => metrics.gauge('kafka.consumer.offset', parseInt(offset), { topic, partition: partition.toString() }))
  )
  const topics: ITopicConfig[] = [{ topic: 't', numPartitions: 3, replicationFactor: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }]
  const created: boolean = await admin.createTopics({ topics, waitForLeaders: true })
  console.log(created, await admin.listTopics(), await admin.fetchTopicOffsets('t'))
  const meta = await admin.fetchTopicMetadata({ topics: ['t'] })
  console.log(meta.topics[0].partitions[0].leader)
  const configs = await admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: 't' }], includeSynonyms: false })
  console.log(configs.resources[0].configEntries[0].configValue)
  await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: 't', configEntries: [{ name: 'retention.ms', value: '1000' }] }] })
  await admin.createPartitions({ topicPartitions: [{ topic: 't', count: 6 }] })
  await admin.deleteTopicRecords({ topic: 't', partitions: [{ partition: 0, offset: '1' }] })
  const cluster = await admin.describeCluster()
  console.log(cluster.brokers[0].nodeId, cluster.controller, cluster.clusterId)
  await admin.deleteTopics({ topics: ['t'] })
  await admin.disconnect()
}

export function configs(): KafkaConfig[] {
  const sasl: SASLOptions = { mechanism: 'scram-sha-512', username: 'alice', password: 'secret' }
  const oauth: SASLOptions = { mechanism: 'oauthbearer', oauthBearerProvider: async () => ({ value: 'token' }) }
  const producerConfig: ProducerConfig = { idempotent: true, maxInFlightRequests: 1, transactionalId: 'tx', createPartitioner: Partitioners.LegacyPartitioner }
  console.log(producerConfig)
  return [
    { brokers: async () => ['a:9092'], ssl: true, sasl },
    { brokers: ['a:9092'], ssl: { ca: ['pem'], cert: 'c', key: 'k', rejectUnauthorized: false }, sasl: oauth, connectionTimeout: 3000, requestTimeout: 25000, enforceRequestTimeout: false },
  ]
}

export function errors(e: unknown): string {
  const headers: IHeaders = { a: 'x', b: Buffer.from('y'), c: ['1', Buffer.from('2')] }
  console.log(headers)
  if (e instanceof KafkaJSNumberOfRetriesExceeded) return `${e.retryCount} ${e.cause?.message}`
  if (e instanceof KafkaJSProtocolError) return `${e.type} ${e.code} ${e.retriable}`
  if (e instanceof KafkaJSError) return `${e.name} ${e.retriable}`
  return String(e)
}
