"""Python's side of the Node streams interop test: a windowed count (10 s tumbling windows) of
the string records of SRC, written to OUT with Kafka Streams' time-windowed keys. Exits 0 once
N records were processed and the instance closed.

usage: streams_python_windowed.py BOOTSTRAP SRC OUT APPLICATION_ID N"""

import sys
import time

from polykafka.streams import KafkaStreams, Serdes, StreamsBuilder, TimeWindowedSerde, TimeWindows

bootstrap, src, out, app, n = sys.argv[1:6]
b = StreamsBuilder()
b.stream(src, key_serde=Serdes.String(), value_serde=Serdes.String()) \
    .group_by_key() \
    .windowed_by(TimeWindows.of_size_with_no_grace(10_000)) \
    .count(materialized="py-counts") \
    .to_stream() \
    .to(out, key_serde=TimeWindowedSerde(Serdes.String(), 10_000))
s = KafkaStreams(b.build(), {"application.id": app, "bootstrap.servers": bootstrap, "commit.interval.ms": 200})
s.start()
deadline = time.time() + 120
while s.metrics()["processed"] < int(n) and time.time() < deadline:
    time.sleep(0.1)
done = s.metrics()["processed"] >= int(n)
s.close(30)
print("processed", s.metrics()["processed"], file=sys.stderr)
sys.exit(0 if done else 1)
