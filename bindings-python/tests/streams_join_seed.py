"""The join topology of the conformance test (tests/streams-java/JoinTopology.java builds the
same with Kafka Streams): orders left- and outer-joined with user events within 5 minutes (grace 1
minute), and the events counted per user in 5-minute windows suppressed until each window
closes; a generated input in phases, and the results computed independently.

The input comes in phases an hour apart; each phase's timestamps lie within 5 minutes (out of
order inside it), and a phase is produced only once the previous one was processed. Every phase
after the first also has late records, from two phases back: late in any order of processing.
So the results do not depend on how the records of the two topics interleave, which neither
Kafka Streams nor polykafka fixes. The last phase is an order and an event of each of 24 "flush"
keys (so every partition gets some) that close the windows of the phase before."""

import random

from polykafka.streams import JoinWindows, Serdes, StreamsBuilder, Suppressed, TimeWindows

MIN = 60_000
DIFF, GRACE, WINDOW = 5 * MIN, MIN, 5 * MIN
T0 = 1_700_000_400_000  # an hour boundary: windows of 5 minutes align with it
HOUR = 60 * MIN
FLUSH_KEYS = 24


def joiner(order, event):
    return {"orderId": None if order is None else order["orderId"], "eventId": None if event is None else event["eventId"]}


def build(t):
    """``t``: topic names (orders, events, left_joined, outer_joined, final_counts)."""
    b = StreamsBuilder()
    orders = b.stream(t["orders"], key_serde=Serdes.String(), value_serde=Serdes.Json())
    events = b.stream(t["events"], key_serde=Serdes.String(), value_serde=Serdes.Json())
    windows = JoinWindows.of_time_difference_and_grace(DIFF, GRACE)
    orders.left_join(events, joiner, windows, name="orders-events-left").to(t["left_joined"])
    orders.outer_join(events, joiner, windows, name="orders-events-outer").to(t["outer_joined"])
    (events.group_by_key()
        .windowed_by(TimeWindows.of_size_and_grace(WINDOW, GRACE))
        .count(materialized="event-counts")
        .suppress(Suppressed.until_window_closes(Suppressed.BufferConfig.unbounded()).with_name("event-counts-final"))
        .to_stream()
        .to(t["final_counts"], value_serde=Serdes.Long()))
    return b.build()


def generate(phases, users, orders_per_phase, events_per_phase, late_per_phase, seed=16):
    """Phases of (orders, events), each a list of (key, value, timestamp); values carry a
    ``late`` flag for the expected results (ignored by both topologies)."""
    rnd = random.Random(seed)
    out = []
    n = 0
    for p in range(phases):
        base = T0 + p * HOUR
        orders, events = [], []
        for _ in range(orders_per_phase):
            n += 1
            orders.append(("u%d" % rnd.randrange(users), {"orderId": "o%d" % n, "late": False}, base + rnd.randrange(DIFF + 1)))
        for _ in range(events_per_phase):
            n += 1
            events.append(("u%d" % rnd.randrange(users), {"eventId": "e%d" % n, "late": False}, base + rnd.randrange(DIFF + 1)))
        if p >= 1:
            late_base = base - 2 * HOUR
            for _ in range(late_per_phase):
                n += 1
                orders.insert(rnd.randrange(len(orders) + 1),
                              ("u%d" % rnd.randrange(users), {"orderId": "o%d" % n, "late": True}, late_base + rnd.randrange(DIFF + 1)))
                n += 1
                events.insert(rnd.randrange(len(events) + 1),
                              ("u%d" % rnd.randrange(users), {"eventId": "e%d" % n, "late": True}, late_base + rnd.randrange(DIFF + 1)))
        out.append((orders, events))
    # Stream time is per task (partition): flush keys enough to reach every partition.
    flush = T0 + phases * HOUR
    keys = ["flush-%d" % i for i in range(FLUSH_KEYS)]
    out.append(([(k, {"orderId": "o-" + k, "late": False}, flush) for k in keys], [(k, {"eventId": "e-" + k, "late": False}, flush) for k in keys]))
    return out


def expected(phases):
    """Multisets of (key, joined value, timestamp) of the left and outer joins, and the final
    count per (user, window start), computed from the definitions."""
    from collections import Counter

    left, outer, counts = Counter(), Counter(), Counter()

    def j(k, o, e, ts):
        v = joiner(o, e)
        return (k, (v["orderId"], v["eventId"]), ts)

    for orders, events in phases:
        ontime_o = [r for r in orders if not r[1]["late"]]
        ontime_e = [r for r in events if not r[1]["late"]]
        matched_e = set()
        for ko, o, to in ontime_o:
            partners = [(i, e, te) for i, (ke, e, te) in enumerate(ontime_e) if ke == ko and abs(te - to) <= DIFF]
            for i, e, te in partners:
                matched_e.add(i)
                left[j(ko, o, e, max(to, te))] += 1
                outer[j(ko, o, e, max(to, te))] += 1
            if not partners:
                left[j(ko, o, None, to)] += 1
                outer[j(ko, o, None, to)] += 1
        for i, (ke, e, te) in enumerate(ontime_e):
            if i not in matched_e:
                outer[j(ke, None, e, te)] += 1
        # Late records find no partner (their partners' phase left the stores); a late order is
        # emitted with null at once (its window is closed), a late event by the outer join.
        for ko, o, to in orders:
            if o["late"]:
                left[j(ko, o, None, to)] += 1
                outer[j(ko, o, None, to)] += 1
        for ke, e, te in events:
            if e["late"]:
                outer[j(ke, None, e, te)] += 1
    # The flush phase's records join each other, and nothing closes their windows: the join
    # results are there, the flush windows' counts are not.
    for ke, e, te in [r for _, evs in phases[:-1] for r in evs if not r[1]["late"]]:
        counts[(ke, te - te % WINDOW)] += 1
    return left, outer, dict(counts)
