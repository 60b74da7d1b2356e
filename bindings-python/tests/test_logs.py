"""Quiet logs: what the client retries on its own (a leader or a group coordinator not ready yet,
the first rebalance) is logged below WARNING. The same body runs against confluent-kafka
(librdkafka's logs through the conf's ``logger``) and polykafka."""

import importlib
import logging
import time

import pytest

from conftest import unique


@pytest.fixture(params=["confluent_kafka", "polykafka"])
def ck(request):
    return importlib.import_module(request.param)


class Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records = []

    def emit(self, record):
        self.records.append(record)


def test_fresh_topic_and_group_log_nothing_at_warning(ck, bootstrap):
    collect = Collect()
    logger = logging.getLogger(unique("quiet-logs"))
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    logger.addHandler(collect)
    common = {"bootstrap.servers": bootstrap, "logger": logger, "debug": "cgrp"}

    # A topic created this instant: its leaders are not elected when the first requests go out.
    topic = unique("quiet")
    adm = importlib.import_module(ck.__name__ + ".admin")
    admin = adm.AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([adm.NewTopic(topic, 3, 1)])[topic].result(30)
    p = ck.Producer(dict(common, **{"enable.idempotence": True, "linger.ms": 0}))
    for i in range(30):
        p.produce(topic, value=b"v%d" % i, key=b"k%d" % i)
    assert p.flush(30) == 0

    # A group never seen: its coordinator is looked up, joined and synced for the first time.
    c = ck.Consumer(dict(common, **{"group.id": unique("quiet-group"), "auto.offset.reset": "earliest",
                                    "enable.auto.commit": False}))
    try:
        c.subscribe([topic])
        got, deadline = 0, time.monotonic() + 30
        while got < 30 and time.monotonic() < deadline:
            got += sum(1 for m in c.consume(30, 0.5) if m.error() is None)
        assert got == 30
        c.commit(asynchronous=False)
    finally:
        c.close()
    p.poll(0)

    # The capture works (the group's debug records arrived), and nothing was a warning.
    assert any(r.levelno == logging.DEBUG for r in collect.records), len(collect.records)
    loud = [(r.levelname, r.getMessage()) for r in collect.records if r.levelno >= logging.WARNING]
    assert loud == [], loud
