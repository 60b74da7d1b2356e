// The seed's topology with Kafka Streams itself, for the conformance test of polykafka.streams
// (bindings-python/tests/test_streams_conformance.py, which builds the same topology from
// bindings-python/tests/streams_seed.py). Runs until SIGTERM.
//
// Args: bootstrap application.id events orders notifications country_counts windowed_counts enriched

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
import org.apache.kafka.streams.kstream.Joined;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.KTable;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.kstream.WindowedSerdes;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.WindowStore;

public class SeedTopology {
    public static void main(String[] args) throws Exception {
        String bootstrap = args[0], app = args[1], eventsT = args[2], ordersT = args[3], notifT = args[4],
            countsT = args[5], windowedT = args[6], enrichedT = args[7];
        ObjectMapper mapper = new ObjectMapper();
        Serde<JsonNode> json = Serdes.serdeFrom(new JsonSerializer(), new JsonDeserializer());
        StreamsBuilder b = new StreamsBuilder();
        KStream<String, JsonNode> events = b.stream(eventsT, Consumed.with(Serdes.String(), json));
        events.filter((k, e) -> "USER_CREATED".equals(e.get("eventType").asText()))
            .mapValues(e -> {
                ObjectNode n = mapper.createObjectNode();
                n.put("userId", e.get("userId").asText());
                return (JsonNode) n;
            })
            .to(notifT, Produced.with(Serdes.String(), json));
        KTable<String, Long> counts = events
            .groupBy((k, e) -> e.get("country").asText(), Grouped.with(Serdes.String(), json))
            .count(Materialized.<String, Long, KeyValueStore<Bytes, byte[]>>as("user-counts-by-country")
                .withKeySerde(Serdes.String()).withValueSerde(Serdes.Long()));
        counts.toStream().to(countsT, Produced.with(Serdes.String(), Serdes.Long()));
        events.groupByKey(Grouped.with(Serdes.String(), json))
            .windowedBy(TimeWindows.ofSizeAndGrace(Duration.ofMinutes(5), Duration.ofMinutes(1)))
            .count(Materialized.<String, Long, WindowStore<Bytes, byte[]>>as("windowed-counts")
                .withKeySerde(Serdes.String()).withValueSerde(Serdes.Long()))
            .toStream()
            .to(windowedT, Produced.with(WindowedSerdes.timeWindowedSerdeFrom(String.class, 300_000L), Serdes.Long()));
        KStream<String, JsonNode> orders = b.stream(ordersT, Consumed.with(Serdes.String(), json));
        orders.leftJoin(counts, (o, c) -> {
                ObjectNode n = ((ObjectNode) o).deepCopy();
                if (c == null) n.putNull("userCount"); else n.put("userCount", c);
                return (JsonNode) n;
            }, Joined.with(Serdes.String(), json, Serdes.Long()))
            .to(enrichedT, Produced.with(Serdes.String(), json));
        RunTopology.untilTerminated(b.build(), bootstrap, app);
    }
}
