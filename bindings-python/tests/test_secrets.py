"""Secrets never leak (#22), the same bodies against confluent-kafka and polykafka: the SASL password
(right and wrong), an OAUTHBEARER token (confluent-kafka: oauth_cb's result; polykafka:
sasl.oauthbearer.token, as it does not call oauth_cb), ssl.key.password and a PEM private key
(ssl.key.pem) appear in no repr()/str() of a client or its attributes, no exception or KafkaError of a
failed connection or authentication, no log record at DEBUG (the conf's `logger` with `debug`), and
no stats_cb JSON. Every text the test saw is grepped for every secret."""

import importlib
import json
import logging
import time

import pytest

from conftest import unique

WRONG_PASSWORD = "wrong-pw-0c3e7d19"
TOKEN = "eyJhbGciOiJub25lIn0.c2VjcmV0LXRva2VuLTc3YjQ."  # alg none, payload "secret-token-77b4"
KEY_PASSWORD = "key-pw-51a8e2d4"
KEY_BODY = "U0VDUkVULUtFWS1CT0RZLTZkMmY"
KEY_PEM = "-----BEGIN PRIVATE KEY-----\n%s\n-----END PRIVATE KEY-----\n" % KEY_BODY


@pytest.fixture(params=["confluent_kafka", "polykafka"])
def ck(request):
    return importlib.import_module(request.param)


class Seen:
    """Every text a test saw: log records, errors, stats, reprs."""

    def __init__(self):
        self.texts = []

    def add(self, what, text):
        self.texts.append((what, str(text)))

    def error(self, what, err):
        self.add(what, "%s %r" % (err, err))
        args = getattr(err, "args", ())
        for a in args:
            self.add(what + " arg", "%s %r" % (a, a))
            if hasattr(a, "str"):
                self.add(what + " KafkaError.str()", a.str())

    def client(self, what, obj):
        self.add("repr(%s)" % what, repr(obj))
        self.add("str(%s)" % what, str(obj))
        self.add("dir(%s)" % what, " ".join(dir(obj)))
        for name, value in getattr(obj, "__dict__", {}).items():
            self.add("%s.%s" % (what, name), repr(value))

    def assert_clean(self, secrets):
        leaks = ["%s shows %r: %s" % (what, s, text[:300]) for what, text in self.texts for s in secrets if s in text]
        assert not leaks, "\n".join(leaks)


class Collect(logging.Handler):
    def __init__(self, seen):
        super().__init__(logging.DEBUG)
        self.seen = seen
        self.count = 0

    def emit(self, record):
        self.count += 1
        self.seen.add("log record", record.getMessage())


def logger_into(seen):
    handler = Collect(seen)
    logger = logging.getLogger(unique("secrets"))
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    logger.addHandler(handler)
    return logger, handler


def debug_contexts(ck):
    # librdkafka's "all" also prints the configuration (its secrets redacted); polykafka takes debug as a
    # flag: any context turns its DEBUG records on.
    return "all" if ck.__name__ == "confluent_kafka" else "broker,security,protocol"


def sasl_conf(ck, cluster_env, seen, password, mechanism="SCRAM-SHA-256"):
    if not cluster_env.get("KAFKA_SASL_BOOTSTRAP"):
        pytest.skip("no SASL listener known (cluster env)")
    logger, handler = logger_into(seen)
    conf = {"bootstrap.servers": cluster_env["KAFKA_SASL_BOOTSTRAP"], "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanisms": mechanism, "sasl.username": cluster_env["KAFKA_SASL_USER"], "sasl.password": password,
            "logger": logger, "debug": debug_contexts(ck), "statistics.interval.ms": 200, "stats_cb": lambda s: seen.add("stats_cb", s),
            "error_cb": lambda e: seen.error("error_cb", e)}
    if ck.__name__ == "confluent_kafka":  # polykafka has no encrypted keys: test_key_password_refused
        conf["ssl.key.password"] = KEY_PASSWORD
    return conf, handler


def test_sasl_password_and_key_password(ck, cluster_env):
    """A run that authenticates and writes: repr of every client, logs, statistics."""
    seen = Seen()
    password = cluster_env.get("KAFKA_SASL_PASSWORD", "")
    conf, handler = sasl_conf(ck, cluster_env, seen, password)
    adm = importlib.import_module(ck.__name__ + ".admin")
    p = ck.Producer(dict(conf))
    c = ck.Consumer(dict(conf, **{"group.id": unique("g")}))
    a = adm.AdminClient({k: v for k, v in conf.items() if k not in ("statistics.interval.ms", "stats_cb")})
    for what, obj in [("Producer", p), ("Consumer", c), ("AdminClient", a)]:
        seen.client(what, obj)
    topic = unique("secrets")
    a.create_topics([adm.NewTopic(topic, 1, 1)])[topic].result(30)
    reports = []
    p.produce(topic, b"v", on_delivery=lambda err, msg: reports.append(err))
    assert p.flush(30) == 0 and reports == [None]
    stats = [t for w, t in seen.texts if w == "stats_cb"]
    deadline = time.monotonic() + 10
    while not [t for w, t in seen.texts if w == "stats_cb"] and time.monotonic() < deadline:
        p.poll(0.3)
    stats = [t for w, t in seen.texts if w == "stats_cb"]
    assert stats and json.loads(stats[-1])  # statistics were captured, and are JSON
    c.subscribe([topic])
    c.poll(1)
    c.close()
    p.poll(0)
    assert handler.count > 0, "no log record was captured"
    seen.assert_clean([password, KEY_PASSWORD])


def test_wrong_password(ck, cluster_env):
    """A failed authentication: its errors (error_cb, delivery report, a call's exception) and logs."""
    seen = Seen()
    conf, handler = sasl_conf(ck, cluster_env, seen, WRONG_PASSWORD, mechanism="PLAIN")
    adm = importlib.import_module(ck.__name__ + ".admin")
    p = ck.Producer(dict(conf, **{"message.timeout.ms": 3000}))
    p.produce(unique("secrets"), b"v", on_delivery=lambda err, msg: seen.error("delivery report", err))
    p.flush(10)
    a = adm.AdminClient({k: v for k, v in conf.items() if k not in ("statistics.interval.ms", "stats_cb")})
    try:
        a.list_topics(timeout=3)
    except Exception as e:  # noqa: BLE001 - its text is what is checked
        seen.error("list_topics", e)
    seen.client("Producer", p)
    seen.client("AdminClient", a)
    auth = [t for w, t in seen.texts if w.startswith(("error_cb", "delivery report", "list_topics"))]
    assert any("uthentication" in t for t in auth), auth  # the failure was seen
    assert handler.count > 0
    seen.assert_clean([WRONG_PASSWORD, cluster_env["KAFKA_SASL_PASSWORD"]])


def test_oauthbearer_token(ck, cluster_env):
    """The token is handed over (oauth_cb or sasl.oauthbearer.token); the broker refuses it (its
    payload is not a JSON claim set): the errors and logs do not show it."""
    seen = Seen()
    conf, handler = sasl_conf(ck, cluster_env, seen, "unused", mechanism="OAUTHBEARER")
    del conf["sasl.username"], conf["sasl.password"]
    if ck.__name__ == "confluent_kafka":
        conf["oauth_cb"] = lambda config: (TOKEN, time.time() + 3600)
    else:
        conf["sasl.oauthbearer.token"] = TOKEN
    p = ck.Producer(dict(conf, **{"message.timeout.ms": 3000}))
    seen.client("Producer", p)
    p.produce(unique("secrets"), b"v", on_delivery=lambda err, msg: seen.error("delivery report", err))
    p.flush(10)
    assert [w for w, _ in seen.texts if w.startswith(("error_cb", "delivery report"))], "no error was reported"
    assert handler.count > 0
    seen.assert_clean([TOKEN, TOKEN.split(".")[1]])


def test_private_key_pem(ck, cluster_env):
    """A PEM private key that is not a key, with its password: the error of the client (raised at
    construction, or reported when it connects) and the logs do not show the key."""
    if not cluster_env.get("KAFKA_MTLS_BOOTSTRAP"):
        pytest.skip("no mTLS listener known (cluster env)")
    seen = Seen()
    logger, handler = logger_into(seen)
    conf = {"bootstrap.servers": cluster_env["KAFKA_MTLS_BOOTSTRAP"], "security.protocol": "SSL",
            "ssl.ca.location": cluster_env["KAFKA_CA_PEM"],
            "ssl.certificate.location": cluster_env["KAFKA_CLIENT_CERT_PEM"],
            "ssl.key.pem": KEY_PEM, "logger": logger, "debug": debug_contexts(ck),
            "error_cb": lambda e: seen.error("error_cb", e), "message.timeout.ms": 3000}
    if ck.__name__ == "confluent_kafka":
        conf["ssl.key.password"] = KEY_PASSWORD
    try:
        p = ck.Producer(conf)
    except Exception as e:  # noqa: BLE001 - confluent-kafka refuses the key here
        seen.error("Producer()", e)
    else:
        seen.client("Producer", p)
        p.produce(unique("secrets"), b"v", on_delivery=lambda err, msg: seen.error("delivery report", err))
        p.flush(10)
    assert [w for w, _ in seen.texts if w.startswith(("Producer()", "error_cb", "delivery report"))], \
        "the bad key was not reported"
    seen.assert_clean([KEY_BODY, KEY_PASSWORD])


def test_key_password_refused():
    """polykafka reads no encrypted private key: ssl.key.password is an unknown key, refused with
    confluent-kafka's error for one (KafkaException _INVALID_ARG) whose text names the key, not the value."""
    import polykafka
    with pytest.raises(polykafka.KafkaException) as e:
        polykafka.Producer({"bootstrap.servers": "127.0.0.1:9", "ssl.key.password": KEY_PASSWORD})
    err = e.value.args[0]
    assert err.code() == polykafka.KafkaError._INVALID_ARG and "ssl.key.password" in err.str()
    seen = Seen()
    seen.error("Producer()", e.value)
    seen.assert_clean([KEY_PASSWORD])


def test_schema_registry_credentials(ck, dead_bootstrap):
    """The registry's password (basic.auth.user.info, or in the URL) and bearer token: not in repr() of
    the client nor in the error of a registry that cannot be reached. config() returns the conf given, secrets
    included, in both (confluent-kafka's API)."""
    sr = importlib.import_module(ck.__name__ + ".schema_registry")
    url, password = "http://" + dead_bootstrap, "sr-pw-77e1"
    confs = {
        "basic.auth.user.info": {"url": url, "basic.auth.user.info": "alice:" + password},
        "user info in the URL": {"url": url.replace("//", "//alice:%s@" % password)},
        "bearer token": {"url": url, "bearer.auth.credentials.source": "STATIC_TOKEN", "bearer.auth.token": TOKEN},
    }
    if ck.__name__ == "confluent_kafka":  # it needs these with a bearer token; polykafka does not take them
        confs["bearer token"].update({"bearer.auth.logical.cluster": "lsrc-1", "bearer.auth.identity.pool.id": "pool-1"})
    for name, conf in confs.items():
        seen = Seen()
        client = sr.SchemaRegistryClient(dict(conf, **{"timeout": 2, "max.retries": 0}))
        seen.add("repr(%s)" % name, repr(client))
        with pytest.raises(Exception) as e:
            client.get_subjects()
        seen.error("get_subjects (%s)" % name, e.value)
        assert password in str(client.config()) or TOKEN in str(client.config())
        seen.assert_clean([password, TOKEN])
