// Kafka Streams' generated names, for the naming conformance test
// (bindings-python/tests/test_streams_names.py builds the same topologies with polykafka.streams
// and compares). Prints, for each case, its stores and repartition topics as
// "<case> store <name>" / "<case> repartition <name>" lines (sorted; without the
// application.id prefix). No broker: only Topology.describe().
//
// Args: none.

import java.time.Duration;
import java.util.TreeSet;

import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.TopologyDescription;
import org.apache.kafka.streams.kstream.Branched;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.JoinWindows;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.SessionWindows;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.KTable;
import org.apache.kafka.streams.kstream.Suppressed;
import org.apache.kafka.streams.kstream.TimeWindows;

public class NamesTopology {
    private static void print(String name, Topology t) {
        TreeSet<String> lines = new TreeSet<>();
        for (TopologyDescription.Subtopology st : t.describe().subtopologies()) {
            for (TopologyDescription.Node n : st.nodes()) {
                if (n instanceof TopologyDescription.Processor) {
                    for (String s : ((TopologyDescription.Processor) n).stores()) lines.add(name + " store " + s);
                } else if (n instanceof TopologyDescription.Sink) {
                    String topic = ((TopologyDescription.Sink) n).topic();
                    if (topic != null && topic.endsWith("-repartition")) {
                        lines.add(name + " repartition " + topic.substring(0, topic.length() - "-repartition".length()));
                    }
                }
            }
        }
        lines.forEach(System.out::println);
    }

    private static StreamsBuilder builder() {
        return new StreamsBuilder();
    }

    public static void main(String[] args) {
        Duration minute = Duration.ofMinutes(1);
        {
            // filter, then count by key
            StreamsBuilder b = builder();
            b.<String, String>stream("t").filter((k, v) -> true).groupByKey().count();
            print("filter-count", b.build());
        }
        {
            // groupBy (a new key, through a repartition topic), then count
            StreamsBuilder b = builder();
            b.<String, String>stream("t").groupBy((k, v) -> v).count();
            print("groupby-count", b.build());
        }
        {
            // Several operations, so the indexes after each kind of node show.
            StreamsBuilder b = builder();
            KStream<String, String> s = b.stream("t");
            KStream<String, String> u = b.stream("u");
            KTable<String, Long> byValue = s.mapValues(v -> v).groupBy((k, v) -> v).count();
            byValue.toStream().to("counts");
            u.groupByKey().windowedBy(TimeWindows.ofSizeWithNoGrace(minute)).count()
                .suppress(Suppressed.untilWindowCloses(Suppressed.BufferConfig.unbounded()))
                .toStream().foreach((k, v) -> { });
            s.join(u, (a, c) -> a, JoinWindows.ofTimeDifferenceWithNoGrace(minute)).to("inner");
            s.leftJoin(u, (a, c) -> a, JoinWindows.ofTimeDifferenceWithNoGrace(minute)).to("left");
            s.outerJoin(u, (a, c) -> a, JoinWindows.ofTimeDifferenceWithNoGrace(minute)).to("outer");
            KStream<String, String> merged = s.merge(u).filterNot((k, v) -> false);
            merged.groupByKey().reduce((a, c) -> a);
            s.leftJoin(byValue, (a, c) -> a).groupByKey().windowedBy(TimeWindows.ofSizeWithNoGrace(minute)).count();
            print("mixed", b.build());
        }
        {
            // Named operations take no index; the counts after them show it.
            StreamsBuilder b = builder();
            KStream<String, String> s = b.stream("t");
            s.groupBy((k, v) -> v, Grouped.as("by-value")).count();
            s.groupByKey().windowedBy(TimeWindows.ofSizeWithNoGrace(minute)).count()
                .suppress(Suppressed.untilWindowCloses(Suppressed.BufferConfig.unbounded()).withName("final"))
                .toStream().foreach((k, v) -> { });
            s.groupByKey().count();
            print("named", b.build());
        }
        {
            // split() with branches, then a count on one of them and one after.
            StreamsBuilder b = builder();
            KStream<String, String> s = b.stream("t");
            java.util.Map<String, KStream<String, String>> branches = s.split(Named.as("sp-"))
                .branch((k, v) -> v.isEmpty(), Branched.as("empty"))
                .branch((k, v) -> v.length() > 3)
                .defaultBranch();
            branches.get("sp-empty").groupByKey().count();
            s.groupByKey().count();
            StreamsBuilder b2 = builder();
            KStream<String, String> s2 = b2.stream("t");
            s2.split().branch((k, v) -> true).defaultBranch();
            s2.groupByKey().count();
            print("split", b.build());
            print("split-unnamed", b2.build());
        }
        {
            // to() and groupByKey() with serdes: no node of their own.
            StreamsBuilder b = builder();
            KStream<String, String> s = b.stream("t");
            s.to("o", org.apache.kafka.streams.kstream.Produced.with(Serdes.String(), Serdes.String()));
            s.groupByKey(Grouped.with(Serdes.String(), Serdes.String())).count();
            print("serdes", b.build());
        }
        {
            // groupByKey() after a key change (selectKey, map), through key-preserving filter and
            // merge: an automatic repartition named after the store.
            StreamsBuilder b = builder();
            KStream<String, String> s = b.stream("t");
            KStream<String, String> u = b.stream("u");
            s.selectKey((k, v) -> v).filter((k, v) -> true).groupByKey().count();
            s.map((k, v) -> org.apache.kafka.streams.KeyValue.pair(v, k)).merge(u).groupByKey().reduce((a, c) -> a);
            s.mapValues(v -> v).groupByKey().count();
            print("rekeyed", b.build());
        }
        {
            // repartition(): unnamed (its own generated name), named, and what follows them.
            StreamsBuilder b = builder();
            KStream<String, String> s = b.stream("t");
            s.selectKey((k, v) -> v).repartition().groupByKey().count();
            s.repartition(org.apache.kafka.streams.kstream.Repartitioned.as("by-hand")).groupByKey().count();
            s.selectKey((k, v) -> v).repartition().join(s.groupByKey().count(), (v, n) -> v).to("o");
            print("repartition", b.build());
        }
        {
            // Session windows: count (suppressed), reduce, aggregate after a key change (an
            // automatic repartition), then a count after them.
            StreamsBuilder b = builder();
            KStream<String, String> s = b.stream("t");
            s.groupByKey().windowedBy(SessionWindows.ofInactivityGapWithNoGrace(minute)).count()
                .suppress(Suppressed.untilWindowCloses(Suppressed.BufferConfig.unbounded()))
                .toStream().foreach((k, v) -> { });
            s.groupByKey().windowedBy(SessionWindows.ofInactivityGapAndGrace(minute, minute)).reduce((a, c) -> a);
            s.selectKey((k, v) -> v).groupByKey().windowedBy(SessionWindows.ofInactivityGapWithNoGrace(minute))
                .aggregate(() -> "", (k, v, a) -> a, (k, a1, a2) -> a1);
            s.groupByKey().count();
            print("session", b.build());
        }
        {
            // builder.table: a stream joined with it, a derived table, a count
            StreamsBuilder b = builder();
            KTable<String, String> users = b.table("users");
            KStream<String, String> orders = b.stream("orders");
            orders.join(users, (o, u) -> o).groupByKey().count();
            users.filter((k, v) -> true).mapValues(v -> v).toStream().to("derived");
            b.table("other").toStream().groupByKey().count();
            print("table", b.build());
        }
    }
}
