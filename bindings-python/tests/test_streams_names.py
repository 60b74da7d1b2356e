"""Kafka Streams' default names, both ways: the same topologies built with Kafka Streams 4.4.0
(tests/streams-java/NamesTopology.java, printing what Topology.describe() lists) and with
polykafka.streams give the same store and repartition-topic names. Those names are the
application's changelog and repartition topics, so a topology that does not name its stores
finds the same internal topics whichever client runs it. No broker needed."""

import pathlib
import subprocess
from datetime import timedelta

import pytest

from polykafka.streams import BufferConfig, JoinWindows, Serdes, SessionWindows, StreamsBuilder, Suppressed, TimeWindows

REPO = pathlib.Path(__file__).resolve().parents[2]
MINUTE = timedelta(minutes=1)


def _names(b):
    return sorted("%s %s" % kv for kv in b._native.internal_names())


def filter_count():
    b = StreamsBuilder()
    b.stream("t").filter(lambda k, v: True).group_by_key().count()
    return b


def groupby_count():
    b = StreamsBuilder()
    b.stream("t").group_by(lambda k, v: v).count()
    return b


def mixed():
    b = StreamsBuilder()
    s = b.stream("t")
    u = b.stream("u")
    by_value = s.map_values(lambda v: v).group_by(lambda k, v: v).count()
    by_value.to_stream().to("counts")
    u.group_by_key().windowed_by(TimeWindows.of_size_with_no_grace(MINUTE)).count() \
        .suppress(Suppressed.until_window_closes(BufferConfig.unbounded())).to_stream().foreach(lambda k, v: None)
    s.join(u, lambda a, c: a, JoinWindows.of_time_difference_with_no_grace(MINUTE)).to("inner")
    s.left_join(u, lambda a, c: a, JoinWindows.of_time_difference_with_no_grace(MINUTE)).to("left")
    s.outer_join(u, lambda a, c: a, JoinWindows.of_time_difference_with_no_grace(MINUTE)).to("outer")
    merged = s.merge(u).filter_not(lambda k, v: False)
    merged.group_by_key().reduce(lambda a, c: a)
    s.left_join(by_value, lambda a, c: a).group_by_key().windowed_by(TimeWindows.of_size_with_no_grace(MINUTE)).count()
    return b


def named():
    b = StreamsBuilder()
    s = b.stream("t")
    s.group_by(lambda k, v: v, name="by-value").count()
    s.group_by_key().windowed_by(TimeWindows.of_size_with_no_grace(MINUTE)).count() \
        .suppress(Suppressed.until_window_closes(BufferConfig.unbounded()).with_name("final")).to_stream().foreach(lambda k, v: None)
    s.group_by_key().count()
    return b


def split():
    b = StreamsBuilder()
    s = b.stream("t")
    branches = s.split("sp-").branch(lambda k, v: len(v) == 0, name="empty").branch(lambda k, v: len(v) > 3).default_branch()
    branches["sp-empty"].group_by_key().count()
    s.group_by_key().count()
    return b


def split_unnamed():
    b = StreamsBuilder()
    s = b.stream("t")
    s.split().branch(lambda k, v: True).default_branch()
    s.group_by_key().count()
    return b


def serdes():
    b = StreamsBuilder()
    s = b.stream("t")
    s.to("o", key_serde=Serdes.String(), value_serde=Serdes.String())
    s.group_by_key(key_serde=Serdes.String(), value_serde=Serdes.String()).count()
    return b


def rekeyed():
    b = StreamsBuilder()
    s = b.stream("t")
    u = b.stream("u")
    s.select_key(lambda k, v: v).filter(lambda k, v: True).group_by_key().count()
    s.map(lambda k, v: (v, k)).merge(u).group_by_key().reduce(lambda a, c: a)
    s.map_values(lambda v: v).group_by_key().count()
    return b


def repartition():
    b = StreamsBuilder()
    s = b.stream("t")
    s.select_key(lambda k, v: v).repartition().group_by_key().count()
    s.repartition(name="by-hand").group_by_key().count()
    s.select_key(lambda k, v: v).repartition().join(s.group_by_key().count(), lambda v, n: v).to("o")
    return b


def session():
    b = StreamsBuilder()
    s = b.stream("t")
    s.group_by_key().windowed_by(SessionWindows.of_inactivity_gap_with_no_grace(MINUTE)).count() \
        .suppress(Suppressed.until_window_closes(BufferConfig.unbounded())).to_stream().foreach(lambda k, v: None)
    s.group_by_key().windowed_by(SessionWindows.of_inactivity_gap_and_grace(MINUTE, MINUTE)).reduce(lambda a, c: a)
    s.select_key(lambda k, v: v).group_by_key().windowed_by(SessionWindows.of_inactivity_gap_with_no_grace(MINUTE)) \
        .aggregate(lambda: "", lambda k, v, a: a, lambda k, a1, a2: a1)
    s.group_by_key().count()
    return b


def table():
    b = StreamsBuilder()
    users = b.table("users")
    orders = b.stream("orders")
    orders.join(users, lambda o, u: o).group_by_key().count()
    users.filter(lambda k, v: True).map_values(lambda v: v).to_stream().to("derived")
    b.table("other").to_stream().group_by_key().count()
    return b


CASES = {"table": table, "session": session, "repartition": repartition, "rekeyed": rekeyed, "filter-count": filter_count, "groupby-count": groupby_count, "mixed": mixed, "named": named,
         "split": split, "split-unnamed": split_unnamed, "serdes": serdes}


@pytest.fixture(scope="module")
def kafka_streams_names():
    classpath = subprocess.run([str(REPO / "tests/streams-java/build.sh")], check=True, capture_output=True, text=True).stdout.strip()
    out = subprocess.run(["java", "-cp", classpath, "NamesTopology"], check=True, capture_output=True, text=True, timeout=120).stdout
    names = {}
    for line in out.splitlines():
        case, kind, name = line.split(" ", 2)
        names.setdefault(case, []).append("%s %s" % (kind, name))
    return names


@pytest.mark.parametrize("case", sorted(CASES))
def test_default_names_are_kafka_streams_names(kafka_streams_names, case):
    expected = sorted(kafka_streams_names[case])
    assert expected, "Kafka Streams printed nothing for %s" % case
    assert _names(CASES[case]()) == expected
