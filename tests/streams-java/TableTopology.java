// KTable filter and mapValues with Kafka Streams itself, for the conformance test of
// polykafka.streams' derived tables (bindings-python/tests/test_streams_table.py builds the same
// topology). Runs until SIGTERM.
//
// Args: bootstrap application.id events out
//
// events (String keys) counted per key; the counts not divisible by 3 are kept and multiplied by
// 10; the derived table's updates (a removed key as a null value) go to out.

import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.Produced;

public class TableTopology {
    public static void main(String[] args) throws Exception {
        String bootstrap = args[0], app = args[1], eventsT = args[2], outT = args[3];
        StreamsBuilder b = new StreamsBuilder();
        b.stream(eventsT, Consumed.with(Serdes.String(), Serdes.String()))
            .groupByKey(Grouped.with(Serdes.String(), Serdes.String()))
            .count()
            .filter((k, n) -> n % 3 != 0)
            .mapValues(n -> n * 10)
            .toStream()
            .to(outT, Produced.with(Serdes.String(), Serdes.Long()));
        RunTopology.untilTerminated(b.build(), bootstrap, app, new java.util.Properties());
    }
}
