// Runs a Kafka Streams topology for the conformance tests until SIGTERM (then closes it and
// removes its local state), printing "STATE <state>" at every change.

import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;

import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;

final class RunTopology {
    private RunTopology() {}

    static void untilTerminated(Topology topology, String bootstrap, String app) throws InterruptedException {
        untilTerminated(topology, bootstrap, app, new Properties());
    }

    /** With `extra` properties over the defaults. */
    static void untilTerminated(Topology topology, String bootstrap, String app, Properties extra) throws InterruptedException {
        Properties p = new Properties();
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, app);
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 200);
        p.put(StreamsConfig.STATE_DIR_CONFIG, System.getProperty("java.io.tmpdir") + "/polykafka-streams-java-" + app);
        p.putAll(extra);
        KafkaStreams streams = new KafkaStreams(topology, p);
        CountDownLatch done = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            streams.close(Duration.ofSeconds(20));
            streams.cleanUp();
            done.countDown();
        }));
        streams.setStateListener((n, o) -> System.out.println("STATE " + n));
        streams.start();
        done.await();
    }
}
