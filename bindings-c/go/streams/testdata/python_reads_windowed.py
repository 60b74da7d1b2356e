"""Python's side of the Go streams interop test: a polykafka streams topology reads TOPIC, whose
keys are Kafka Streams' time-windowed keys (String inner keys, WINDOW_MS windows) and values Longs
(a windowed count a Go topology wrote), and keeps the latest count per window. Once WINDOWS windows
with counts adding up to TOTAL are in its store (or after 120 s), it prints them, one JSON
[key, start, end, count] per line, sorted, and exits.

usage: python_reads_windowed.py BOOTSTRAP TOPIC APPLICATION_ID WINDOW_MS WINDOWS TOTAL"""

import json
import sys
import time

from polykafka.streams import KafkaStreams, Serdes, StreamsBuilder, TimeWindowedSerde

bootstrap, topic, app = sys.argv[1:4]
window_ms, windows, total = (int(a) for a in sys.argv[4:7])
b = StreamsBuilder()
b.stream(topic, key_serde=TimeWindowedSerde(Serdes.String(), window_ms), value_serde=Serdes.Long()) \
    .group_by(lambda w, count: json.dumps([w.key, w.start, w.end]), key_serde=Serdes.String()) \
    .reduce(max, materialized="latest")
s = KafkaStreams(b.build(), {"application.id": app, "bootstrap.servers": bootstrap, "commit.interval.ms": 200})
s.start()
store = s.store("latest")
deadline = time.time() + 120
while time.time() < deadline:
    latest = dict(store.all())
    if len(latest) == windows and sum(latest.values()) == total:
        break
    time.sleep(0.2)
s.close(30)
for k in sorted(latest):
    print(json.dumps(json.loads(k) + [latest[k]]))
