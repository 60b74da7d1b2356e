// A session-windowed count with Kafka Streams itself, for the conformance test of
// polykafka.streams' session windows (bindings-python/tests/test_streams_session_conformance.py
// builds the same topology). Runs until SIGTERM.
//
// Args: bootstrap application.id events session_counts
//
// events (String keys) counted per key and session (inactivity gap 1 minute, grace 30 seconds)
// into the store "session-counts"; every update (a merged session's removal as a null value) goes
// to session_counts with Kafka Streams' session-windowed key format. The record cache is off
// (statestore.cache.max.bytes 0): a cached session is found to merge with even once the store
// has expired it (ended before the store's time minus gap + grace), so with the cache the results
// would depend on when the cache happens to be flushed.

import java.time.Duration;
import java.util.Properties;

import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.SessionWindows;
import org.apache.kafka.streams.kstream.WindowedSerdes;
import org.apache.kafka.streams.state.SessionStore;

public class SessionTopology {
    public static void main(String[] args) throws Exception {
        String bootstrap = args[0], app = args[1], eventsT = args[2], countsT = args[3];
        StreamsBuilder b = new StreamsBuilder();
        b.stream(eventsT, Consumed.with(Serdes.String(), Serdes.String()))
            .groupByKey(Grouped.with(Serdes.String(), Serdes.String()))
            .windowedBy(SessionWindows.ofInactivityGapAndGrace(Duration.ofMinutes(1), Duration.ofSeconds(30)))
            .count(Materialized.<String, Long, SessionStore<Bytes, byte[]>>as("session-counts")
                .withKeySerde(Serdes.String()).withValueSerde(Serdes.Long()))
            .toStream()
            .to(countsT, Produced.with(WindowedSerdes.sessionWindowedSerdeFrom(String.class), Serdes.Long()));
        Properties extra = new Properties();
        extra.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, 0);
        RunTopology.untilTerminated(b.build(), bootstrap, app, extra);
    }
}
