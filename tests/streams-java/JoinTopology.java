// A stream-stream join topology and a suppressed windowed count with Kafka Streams itself, for
// the conformance test of polykafka.streams' joins and suppression
// (bindings-python/tests/test_streams_conformance.py builds the same topology from
// bindings-python/tests/streams_join_seed.py). Runs until SIGTERM.
//
// Args: bootstrap application.id orders events left_joined outer_joined final_counts
//
// orders LEFT JOIN events and orders OUTER JOIN events (same user key, within 5 minutes, grace
// 1 minute): the joined value is {"orderId": ..., "eventId": ...} with null for a missing side.
// events counted per user in 5-minute windows (grace 1 minute), suppressed until the window
// closes: one final count per window.

import java.time.Duration;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.connect.json.JsonDeserializer;
import org.apache.kafka.connect.json.JsonSerializer;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.JoinWindows;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.StreamJoined;
import org.apache.kafka.streams.kstream.Suppressed;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.kstream.ValueJoiner;
import org.apache.kafka.streams.kstream.WindowedSerdes;
import org.apache.kafka.streams.state.WindowStore;

public class JoinTopology {
    public static void main(String[] args) throws Exception {
        String bootstrap = args[0], app = args[1], ordersT = args[2], eventsT = args[3], leftT = args[4], outerT = args[5],
            finalsT = args[6];
        ObjectMapper mapper = new ObjectMapper();
        Serde<JsonNode> json = Serdes.serdeFrom(new JsonSerializer(), new JsonDeserializer());
        StreamsBuilder b = new StreamsBuilder();
        KStream<String, JsonNode> orders = b.stream(ordersT, Consumed.with(Serdes.String(), json));
        KStream<String, JsonNode> events = b.stream(eventsT, Consumed.with(Serdes.String(), json));
        ValueJoiner<JsonNode, JsonNode, JsonNode> joiner = (o, e) -> {
            ObjectNode n = mapper.createObjectNode();
            if (o == null) n.putNull("orderId"); else n.put("orderId", o.get("orderId").asText());
            if (e == null) n.putNull("eventId"); else n.put("eventId", e.get("eventId").asText());
            return n;
        };
        JoinWindows windows = JoinWindows.ofTimeDifferenceAndGrace(Duration.ofMinutes(5), Duration.ofMinutes(1));
        orders.leftJoin(events, joiner, windows, StreamJoined.with(Serdes.String(), json, json).withStoreName("orders-events-left"))
            .to(leftT, Produced.with(Serdes.String(), json));
        orders.outerJoin(events, joiner, windows, StreamJoined.with(Serdes.String(), json, json).withStoreName("orders-events-outer"))
            .to(outerT, Produced.with(Serdes.String(), json));
        events.groupByKey(Grouped.with(Serdes.String(), json))
            .windowedBy(TimeWindows.ofSizeAndGrace(Duration.ofMinutes(5), Duration.ofMinutes(1)))
            .count(Materialized.<String, Long, WindowStore<Bytes, byte[]>>as("event-counts")
                .withKeySerde(Serdes.String()).withValueSerde(Serdes.Long()))
            .suppress(Suppressed.untilWindowCloses(Suppressed.BufferConfig.unbounded()).withName("event-counts-final"))
            .toStream()
            .to(finalsT, Produced.with(WindowedSerdes.timeWindowedSerdeFrom(String.class, 300_000L), Serdes.Long()));
        RunTopology.untilTerminated(b.build(), bootstrap, app);
    }
}
