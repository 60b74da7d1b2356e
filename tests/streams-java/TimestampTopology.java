// A windowed count over event time taken from the record's value by a timestamp extractor, with
// Kafka Streams itself, for the conformance test of polykafka.streams' timestamp extractors
// (bindings-python/tests/test_streams_timestamps.py builds the same topology). Runs until SIGTERM.
//
// Args: bootstrap application.id events counts
//
// Every event's value is its event time in milliseconds, or "p": the partition time (the largest
// time extracted from the partition so far). A negative time drops the record. Events (String
// keys) are counted per key in tumbling windows of 1 minute with 30 seconds of grace into the
// store "event-time-counts"; every update goes to counts with Kafka Streams' time-windowed key.

import java.time.Duration;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.kstream.WindowedSerdes;
import org.apache.kafka.streams.processor.TimestampExtractor;
import org.apache.kafka.streams.state.WindowStore;

public class TimestampTopology {
    static final class FromValue implements TimestampExtractor {
        @Override
        public long extract(ConsumerRecord<Object, Object> record, long partitionTime) {
            String v = (String) record.value();
            return v.equals("p") ? partitionTime : Long.parseLong(v);
        }
    }

    public static void main(String[] args) throws Exception {
        String bootstrap = args[0], app = args[1], eventsT = args[2], countsT = args[3];
        StreamsBuilder b = new StreamsBuilder();
        b.stream(eventsT, Consumed.with(Serdes.String(), Serdes.String()).withTimestampExtractor(new FromValue()))
            .groupByKey(Grouped.with(Serdes.String(), Serdes.String()))
            .windowedBy(TimeWindows.ofSizeAndGrace(Duration.ofMinutes(1), Duration.ofSeconds(30)))
            .count(Materialized.<String, Long, WindowStore<Bytes, byte[]>>as("event-time-counts")
                .withKeySerde(Serdes.String()).withValueSerde(Serdes.Long()))
            .toStream()
            .to(countsT, Produced.with(WindowedSerdes.timeWindowedSerdeFrom(String.class, 60_000L), Serdes.Long()));
        RunTopology.untilTerminated(b.build(), bootstrap, app, new java.util.Properties());
    }
}
