// Compiles a streams program against the declarations (not run).
import {
  StreamsBuilder, KafkaStreams, Serdes, TimeWindows, JoinWindows, Suppressed, State, ReadOnlyKeyValueStore, ReadOnlyWindowStore, Windowed, KStream, KTable,
  SessionWindows, ReadOnlySessionStore,
} from 'kafka-client'

interface Event { userId: string; eventType: string; country: string }

const builder = new StreamsBuilder()
const events: KStream<string, Event> = builder.stream('events', { keySerde: Serdes.String(), valueSerde: Serdes.Json<Event>() })
events.filter((k, e) => e.eventType === 'USER_CREATED').mapValues(e => ({ userId: e.userId })).to('notifications')
events.to((k, e) => `events-${e.eventType.toLowerCase()}`)
const counts: KTable<string, number> = events.groupBy((k, e) => e.country, { keySerde: Serdes.String() }).count({ materialized: 'by-country' })
counts.toStream().to('country-counts', { valueSerde: Serdes.Long() })
const windowed: KTable<Windowed<string>, number> = events.groupByKey().windowedBy(TimeWindows.ofSizeWithNoGrace(300000).advanceBy(60000)).count()
windowed.suppress(Suppressed.untilWindowCloses(Suppressed.BufferConfig.unbounded())).toStream().to('final')
const sessions: KTable<Windowed<string>, number> = events.groupByKey().windowedBy(SessionWindows.ofInactivityGapAndGrace(60000, 10000)).count()
sessions.suppress(Suppressed.untilWindowCloses(Suppressed.BufferConfig.unbounded())).toStream().to('session-finals')
const countries: KTable<Windowed<string>, string[]> = events.groupByKey().windowedBy(SessionWindows.ofInactivityGapWithNoGrace(60000))
  .aggregate(() => [] as string[], (k, e, a) => [...a, e.country], (k, a, b) => [...a, ...b])
countries.toStream().to('session-countries')
const orders = builder.stream('orders', { keySerde: Serdes.String(), valueSerde: Serdes.Json<{ amount: number }>() })
const enriched: KStream<string, { amount: number; n: number | null }> = orders.leftJoin(counts, (o, n) => ({ ...o, n }))
enriched.to('enriched')
orders.outerJoin(events, (o, e) => `${o ? o.amount : '-'}:${e ? e.userId : '-'}`, JoinWindows.ofTimeDifferenceAndGrace(1000, 0), { valueSerde: Serdes.String() })

async function main(): Promise<void> {
  const streams = new KafkaStreams(builder.build(), { 'application.id': 'app', 'bootstrap.servers': 'localhost:9092', 'commit.interval.ms': 100 })
  streams.on('stateChange', (n, o) => console.log(o, '->', n))
  streams.setUncaughtExceptionHandler(e => {
    console.log(e.topic, e.partition, e.offset, e.kind)
    return 'SHUTDOWN_CLIENT'
  })
  streams.start()
  if (streams.state() === State.RUNNING) {
    const n: number | null = streams.store<ReadOnlyKeyValueStore<string, number>>('by-country').get('DE')
    const w: Array<[number, number]> = streams.store<ReadOnlyWindowStore<string, number>>('w').fetch('u', 0, Date.now())
    const s: Array<[Windowed<string>, number]> = streams.store<ReadOnlySessionStore<string, number>>('s').fetch('u')
    console.log(n, w, s, streams.metrics().processed)
  }
  const done: boolean = await streams.close({ timeout: 1000 })
  console.log(done)
}
void main
const parts: Record<string, KStream<string, Event>> = events.split('e-').branch((k, e) => e.country === 'DE', 'de').defaultBranch()
parts['e-de'].to('de')

// Async user functions: each may return a Promise of its result (MaybePromise<T>).
const lookup = async (id: string): Promise<string> => id.toUpperCase()
const asyncNames: KStream<string, { name: string }> = events
  .filter(async (k, e) => e.eventType !== 'DELETED')
  .mapValues(async e => ({ name: await lookup(e.userId) }))
asyncNames.flatMapValues(async v => [v.name, v.name]).peek(async () => {}).to(async () => 'names')
const asyncTotals: KTable<string, number> = orders.groupByKey().aggregate(async () => 0, async (k, o, total) => total + o.amount)
asyncTotals.toStream().to('totals', { valueSerde: Serdes.Long() })
events.split().branch(async (k, e) => e.country === 'FR', 'fr').noDefaultBranch()
orders.leftJoin(counts, async (o, n) => ({ ...o, n: n ?? 0 }))
// @ts-expect-error: a Promise of the wrong type
events.mapValues<number>(async e => e.userId)

// Timestamp extractors: a function, an object with extract(), a built-in class or instance.
import { WallclockTimestampExtractor, LogAndSkipOnInvalidTimestamp, TimestampExtractor, ConsumedRecord } from 'kafka-client'
const b2 = new StreamsBuilder()
b2.stream('clicks', { keySerde: Serdes.String(), valueSerde: Serdes.Json<{ at: number }>(), timestampExtractor: (r, partitionTime) => (r.value ? r.value.at : partitionTime) })
b2.stream('views', { valueSerde: Serdes.Json<{ at: number }>(), timestampExtractor: { extract: async (r: ConsumedRecord<Buffer, { at: number }>) => r.timestamp } })
b2.stream('logs', { timestampExtractor: WallclockTimestampExtractor })
b2.stream('logs2', { timestampExtractor: new LogAndSkipOnInvalidTimestamp() })
const mine: TimestampExtractor = { extract: r => r.timestamp }
b2.stream('logs3', { timestampExtractor: mine })
// @ts-expect-error: an extractor returns a number
b2.stream('logs4', { timestampExtractor: (r: ConsumedRecord<Buffer, Buffer>) => 'now' })
