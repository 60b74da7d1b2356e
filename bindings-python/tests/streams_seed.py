"""The seed's streams application (its Java example, in Python) and a generated input for it,
with the expected results computed here, independently of the runtime."""

import json
import random
from collections import Counter, defaultdict
from datetime import timedelta

from polykafka.streams import Serdes, StreamsBuilder, TimeWindowedSerde, TimeWindows

COUNTRIES = ["DE", "FR", "US", "BR", "JP", "IN", "NG"]
TYPES = ["USER_CREATED", "PAGE_VIEW", "PAGE_VIEW", "CLICK", "LOGOUT"]
WINDOW = timedelta(minutes=5)
GRACE = timedelta(minutes=1)
BASE_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z, a multiple of five minutes


def murmur2(data: bytes) -> int:
    """Kafka's murmur2 (the Java producer's partitioner), to know each key's partition."""
    seed, m, r = 0x9747B28C, 0x5BD1E995, 24
    length = len(data)
    h = (seed ^ length) & 0xFFFFFFFF
    for i in range(0, length - length % 4, 4):
        k = int.from_bytes(data[i:i + 4], "little")
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> r
        k = (k * m) & 0xFFFFFFFF
        h = (h * m) & 0xFFFFFFFF
        h ^= k
    rest = length % 4
    tail = data[length - rest:]
    if rest == 3:
        h ^= tail[2] << 16
    if rest >= 2:
        h ^= tail[1] << 8
    if rest >= 1:
        h ^= tail[0]
        h = (h * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    h ^= h >> 15
    return h


def partition_of(key: str, partitions: int) -> int:
    return (murmur2(key.encode()) & 0x7FFFFFFF) % partitions


def generate(n_events, n_users, minutes, seed=16, late_every=97):
    """Events over ``minutes`` of event time, out of order by up to 50 s (within the grace),
    and every ``late_every``-th one late by 7 to 12 minutes (past the grace)."""
    rnd = random.Random(seed)
    span = minutes * 60_000
    events = []
    home = {}
    for i in range(n_events):
        user = "user-%d" % rnd.randrange(n_users)
        country = home.setdefault(user, rnd.choice(COUNTRIES))
        ts = BASE_MS + (i * span) // n_events - rnd.randrange(50_000)
        if late_every and i % late_every == late_every - 1:
            ts -= rnd.randrange(7 * 60_000, 12 * 60_000)
        ev = {"userId": user, "eventType": rnd.choice(TYPES), "country": country, "seq": i}
        events.append((user, ev, max(ts, BASE_MS - 20 * 60_000)))
    return events


def orders_for(n_orders, seed=17):
    rnd = random.Random(seed)
    out = []
    for i in range(n_orders):
        country = rnd.choice(COUNTRIES + ["ZZ"])  # ZZ: no user there, the left join gives None
        out.append((country, {"orderId": "o-%d" % i, "country": country, "amount": rnd.randrange(1, 500)}))
    return out


def expected(events, orders, partitions):
    """The results Kafka Streams' semantics give, computed record by record."""
    notifications = Counter(json.dumps({"userId": ev["userId"]}, sort_keys=True) for _, ev, _ts in events if ev["eventType"] == "USER_CREATED")
    by_country = Counter(ev["country"] for _, ev, _ts in events)
    size, grace = int(WINDOW.total_seconds() * 1000), int(GRACE.total_seconds() * 1000)
    stream_time = defaultdict(lambda: -(2**63))
    windowed = Counter()
    late = 0
    for user, ev, ts in events:  # produced in this order, so each partition sees them in order
        p = partition_of(user, partitions)
        stream_time[p] = max(stream_time[p], ts)
        start = ts - ts % size  # tumbling: one window
        if start + size > stream_time[p] - grace:
            windowed[(user, start)] += 1
        else:
            late += 1
    enriched = {o["orderId"]: {**o, "userCount": by_country.get(country)} for country, o in orders}
    return {"notifications": notifications, "by_country": dict(by_country), "windowed": dict(windowed), "late": late, "enriched": enriched}


def build(topics):
    """The seed's topology. ``topics``: names for events, orders, notifications,
    country-counts, windowed-counts, enriched-orders."""
    builder = StreamsBuilder()
    events = builder.stream(topics["events"], key_serde=Serdes.String(), value_serde=Serdes.Json())
    events.filter(lambda k, e: e["eventType"] == "USER_CREATED") \
          .map_values(lambda e: {"userId": e["userId"]}) \
          .to(topics["notifications"], value_serde=Serdes.Json())
    user_counts = events.group_by(lambda k, e: e["country"]).count(materialized="user-counts-by-country")
    user_counts.to_stream().to(topics["country_counts"], value_serde=Serdes.Long())
    windowed = events.group_by_key().windowed_by(TimeWindows.of_size_and_grace(WINDOW, GRACE)).count(materialized="windowed-counts")
    windowed.to_stream().to(topics["windowed_counts"], key_serde=TimeWindowedSerde(Serdes.String(), int(WINDOW.total_seconds() * 1000)))
    orders = builder.stream(topics["orders"], key_serde=Serdes.String(), value_serde=Serdes.Json())
    enriched = orders.left_join(user_counts, lambda order, count: {**order, "userCount": count})
    enriched.to(topics["enriched"], value_serde=Serdes.Json())
    return builder.build()
