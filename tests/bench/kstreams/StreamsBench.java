// The streams cases (K1, K2) of tests/bench/README.md with Kafka Streams itself.
//
//   java -cp <build/streams-java classpath>:<classes> StreamsBench --workload K1|K2 --bootstrap H:P
//        --topic T --records N --size B [--keys K]
//
// The same topology, settings and measured window as the other streams adapters: reads T, writes
// T-out, application.id bench-T, commit.interval.ms 1000, other settings Kafka Streams' defaults
// (its record cache included). Prints one JSON line.
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.time.Duration;

import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;

public class StreamsBench {
    static volatile long firstNanos = 0;
    static volatile long firstCpu = 0;

    static long cpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    static synchronized void firstSeen() {
        if (firstNanos == 0) {
            firstCpu = cpuNanos();
            firstNanos = System.nanoTime();
        }
    }

    static long indexOf(byte[] v) {
        return ByteBuffer.wrap(v, 0, 8).getLong();
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> a = new HashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) a.put(args[i], args[i + 1]);
        String workload = a.get("--workload"), topic = a.get("--topic"), out = topic + "-out";
        long n = Long.parseLong(a.get("--records"));
        long size = Long.parseLong(a.getOrDefault("--size", "100"));
        long keys = Long.parseLong(a.getOrDefault("--keys", "10000"));
        AtomicBoolean done = new AtomicBoolean(false);

        StreamsBuilder b = new StreamsBuilder();
        KStream<byte[], byte[]> src = b.stream(topic, Consumed.with(Serdes.ByteArray(), Serdes.ByteArray()));
        if (workload.equals("K1")) {
            long want = 0;
            for (long i = 0; i < n; i++) if (i % 4 != 0) want++;
            final long expected = want;
            AtomicLong seen = new AtomicLong();
            src.filter((k, v) -> { firstSeen(); return indexOf(v) % 4 != 0; })
               .mapValues(v -> {
                   if (seen.incrementAndGet() == expected) done.set(true);
                   byte[] r = new byte[v.length];
                   System.arraycopy(v, 8, r, 0, v.length - 8);
                   System.arraycopy(v, 0, r, v.length - 8, 8);
                   return r;
               })
               .to(out, Produced.with(Serdes.ByteArray(), Serdes.ByteArray()));
        } else if (workload.equals("K2")) {
            Map<String, Long> last = new HashMap<>();
            long[] total = {0};
            src.groupBy((k, v) -> { firstSeen(); return "k" + (indexOf(v) % keys); }, Grouped.with(Serdes.String(), Serdes.ByteArray()))
               .count(Materialized.as("counts"))
               .toStream()
               .peek((k, c) -> {
                   Long before = last.put(k, c);
                   total[0] += c - (before == null ? 0 : before);
                   if (total[0] == n) done.set(true);
               })
               .to(out, Produced.with(Serdes.String(), Serdes.Long()));
        } else {
            System.err.println("error: unknown workload " + workload);
            System.exit(2);
        }
        Properties p = new Properties();
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, "bench-" + topic);
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, a.get("--bootstrap"));
        p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 1000);
        p.put(StreamsConfig.STATE_DIR_CONFIG, a.getOrDefault("--state-dir", System.getProperty("java.io.tmpdir") + "/kstreams-bench"));
        p.put("consumer.auto.offset.reset", "earliest");
        KafkaStreams streams = new KafkaStreams(b.build(), p);
        AtomicBoolean failed = new AtomicBoolean(false);
        streams.setUncaughtExceptionHandler(e -> {
            System.err.println("error: " + e);
            failed.set(true);
            return org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
        });
        long started = System.nanoTime();
        streams.start();
        long deadline = started + 900_000_000_000L;
        while (!done.get()) {
            if (failed.get() || System.nanoTime() > deadline) {
                System.err.println("error: " + (failed.get() ? "the application failed" : "not done after 900 s"));
                System.exit(1);
            }
            Thread.sleep(5);
        }
        if (!streams.close(Duration.ofSeconds(60))) {
            System.err.println("error: close() did not finish within 60 s");
            System.exit(1);
        }
        streams.cleanUp();
        double seconds = (System.nanoTime() - firstNanos) / 1e9;
        double cpu = (cpuNanos() - firstCpu) / 1e9;
        System.out.printf("{\"client\":\"kafka-streams\",\"workload\":\"%s\",\"records\":%d,\"bytes\":%d,\"seconds\":%.6f,\"cpu_s\":%.4f,"
                + "\"rss_kb\":null,\"checksum\":null,\"latency_ms\":null,\"startup_s\":%.3f}%n",
                workload, n, n * size, seconds, cpu, (firstNanos - started) / 1e9);
        System.exit(0);
    }
}
