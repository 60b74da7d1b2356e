"""A panic inside the engine is a typed exception (KafkaException, code _FATAL, fatal()), never
PyO3's PanicException (a BaseException that `except Exception` lets through), and the
interpreter lives on: it can still produce. polykafka only (confluent-kafka has no engine
that panics)."""

import pytest

import polykafka
from polykafka import _native


def test_panic_is_a_kafka_exception_and_the_process_lives_on(bootstrap, topic):
    with pytest.raises(polykafka.KafkaException) as e:
        _native._panic_for_tests()
    err = e.value.args[0]
    assert err.code() == polykafka.KafkaError._FATAL
    assert err.fatal()
    assert "panicked on purpose" in err.str()
    # Caught by the `except Exception` a program has.
    try:
        _native._panic_for_tests()
    except Exception as ex:  # noqa: BLE001
        assert isinstance(ex, polykafka.KafkaException)
    # A panic inside a future a blocking call waits for (as flush, commit, close do).
    with pytest.raises(polykafka.KafkaException) as e:
        _native._panic_for_tests(in_runtime=True)
    assert e.value.args[0].code() == polykafka.KafkaError._FATAL
    p = polykafka.Producer({"bootstrap.servers": bootstrap})
    reports = []
    p.produce(topic, b"after the panic", on_delivery=lambda err, msg: reports.append(err))
    assert p.flush(30) == 0
    assert reports == [None]
