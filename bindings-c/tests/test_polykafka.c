/* C tests of the polykafka ABI against a real broker (KAFKA_BOOTSTRAP, default 127.0.0.1:9092).
 * Prints one line per failed check and "N passed, N failed" last; exits 1 on any failure. */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "polykafka.h"

static int passed, failed;
static const char *bootstrap;
static char topic[128];

#define CHECK(cond, ...)                                                        \
    do {                                                                        \
        if (cond) {                                                             \
            passed++;                                                           \
        } else {                                                                \
            failed++;                                                           \
            printf("FAIL %s:%d: %s: ", __func__, __LINE__, #cond);              \
            printf(__VA_ARGS__);                                                \
            printf("\n");                                                       \
        }                                                                       \
    } while (0)

/* Checks that `err` is an error of `kind`, prints it, frees it. */
static void expect_error(pk_error *err, pk_error_kind kind, const char *what) {
    CHECK(err != NULL, "%s: expected an error", what);
    if (err) {
        CHECK(pk_error_get_kind(err) == kind, "%s: kind %d, expected %d (%s)", what,
              (int)pk_error_get_kind(err), (int)kind, pk_error_message(err));
        CHECK(strlen(pk_error_name(err)) > 0, "%s: error has no name", what);
        pk_error_free(err);
    }
}

static void expect_ok(pk_error *err, const char *what) {
    CHECK(err == NULL, "%s: %s", what, err ? pk_error_message(err) : "");
    pk_error_free(err);
}

static pk_config *config(const char *k1, const char *v1, const char *k2, const char *v2) {
    pk_config *c = NULL;
    expect_ok(pk_config_new(&c), "pk_config_new");
    expect_ok(pk_config_set(c, "bootstrap.servers", bootstrap), "set bootstrap");
    expect_ok(pk_config_set(c, "linger.ms", "1"), "set linger");
    if (k1) expect_ok(pk_config_set(c, k1, v1), k1);
    if (k2) expect_ok(pk_config_set(c, k2, v2), k2);
    return c;
}

static pk_producer *producer(const char *k1, const char *v1, const char *k2, const char *v2) {
    pk_config *c = config(k1, v1, k2, v2);
    pk_producer *p = NULL;
    expect_ok(pk_producer_new(c, &p), "pk_producer_new");
    pk_config_free(c);
    return p;
}

static pk_record record(const char *t, const char *key, const char *value, uint64_t opaque) {
    pk_record r;
    memset(&r, 0, sizeof r);
    r.topic = t;
    r.partition = PK_PARTITION_ANY;
    r.key = (const uint8_t *)key;
    r.key_len = key ? strlen(key) : 0;
    r.value = (const uint8_t *)value;
    r.value_len = value ? strlen(value) : 0;
    r.opaque = opaque;
    return r;
}

/* Polls until `want` reports arrived or 30 s passed; returns how many, checks each. */
static size_t collect(pk_producer *p, size_t want, int64_t *offsets, int *errors) {
    pk_delivery_report reports[64];
    size_t got = 0;
    time_t start = time(NULL);
    while (got < want && time(NULL) - start < 30) {
        size_t n = 0;
        pk_error *err = pk_producer_poll_reports(p, reports, 64, 500, &n);
        expect_ok(err, "poll_reports");
        if (err) break;
        for (size_t i = 0; i < n; i++) {
            if (reports[i].opaque < want && offsets) offsets[reports[i].opaque] = reports[i].offset;
            if (reports[i].error) (*errors)++;
        }
        pk_delivery_reports_clear(reports, n);
        got += n;
    }
    return got;
}

static void test_version_and_null_frees(void) {
    CHECK(strcmp(pk_version(), PK_EXPECTED_VERSION) == 0, "version %s, want %s", pk_version(), PK_EXPECTED_VERSION);
    pk_error_free(NULL);
    pk_config_free(NULL);
    pk_producer_free(NULL);
    pk_batch_free(NULL);
    pk_admin_free(NULL);
    pk_string_list_free(NULL);
    pk_delivery_reports_clear(NULL, 3);
    CHECK(pk_error_code(NULL) == 0, "code of NULL");
    CHECK(strcmp(pk_error_message(NULL), "") == 0, "message of NULL");
    CHECK(pk_error_get_kind(NULL) == PK_ERROR_KIND_INVALID_ARGUMENT, "kind of NULL");
}

/* A panic inside the engine becomes a {code, message} error; the process lives on. */
static void test_panic(void) {
    pk_error *err = pk_panic_for_tests();
    CHECK(err != NULL, "the panic gave no error");
    if (err) {
        CHECK(pk_error_get_kind(err) == PK_ERROR_KIND_FATAL, "kind %d", (int)pk_error_get_kind(err));
        CHECK(pk_error_code(err) == 0, "code %d", (int)pk_error_code(err));
        CHECK(strcmp(pk_error_name(err), "_FATAL") == 0, "name %s", pk_error_name(err));
        CHECK(strstr(pk_error_message(err), "caught panic") && strstr(pk_error_message(err), "on purpose"),
              "message %s", pk_error_message(err));
        pk_error_free(err);
    }
    /* still alive: a second panic and an ordinary call work */
    pk_error_free(pk_panic_for_tests());
    pk_config *c = NULL;
    expect_ok(pk_config_new(&c), "pk_config_new after a panic");
    pk_config_free(c);
}

static void test_null_handles(void) {
    pk_record r = record(topic, "k", "v", 0);
    size_t n = 0;
    int32_t count = 0;
    pk_producer *p = NULL;
    expect_error(pk_producer_produce(NULL, &r), PK_ERROR_KIND_INVALID_ARGUMENT, "produce NULL");
    expect_error(pk_producer_produce_batch(NULL, &r, 1, &n), PK_ERROR_KIND_INVALID_ARGUMENT, "batch NULL");
    expect_error(pk_producer_flush(NULL, 10), PK_ERROR_KIND_INVALID_ARGUMENT, "flush NULL");
    expect_error(pk_producer_close(NULL, 10), PK_ERROR_KIND_INVALID_ARGUMENT, "close NULL");
    expect_error(pk_producer_poll_reports(NULL, NULL, 0, 0, &n), PK_ERROR_KIND_INVALID_ARGUMENT, "poll NULL");
    expect_error(pk_producer_partition_count(NULL, topic, &count), PK_ERROR_KIND_INVALID_ARGUMENT, "count NULL");
    expect_error(pk_producer_new(NULL, &p), PK_ERROR_KIND_INVALID_ARGUMENT, "new NULL config");
    expect_error(pk_config_set(NULL, "a", "b"), PK_ERROR_KIND_INVALID_ARGUMENT, "set NULL config");
    expect_error(pk_config_new(NULL), PK_ERROR_KIND_INVALID_ARGUMENT, "config_new NULL out");
    expect_error(pk_batch_wait(NULL, 0, NULL, 0, &n), PK_ERROR_KIND_INVALID_ARGUMENT, "batch_wait NULL");
    expect_error(pk_admin_list_topics(NULL, false, NULL), PK_ERROR_KIND_INVALID_ARGUMENT, "admin NULL");

    pk_config *c = config(NULL, NULL, NULL, NULL);
    expect_error(pk_config_set(c, NULL, "x"), PK_ERROR_KIND_INVALID_ARGUMENT, "NULL key");
    expect_error(pk_producer_new(c, NULL), PK_ERROR_KIND_INVALID_ARGUMENT, "new NULL out");
    pk_config_free(c);

    p = producer(NULL, NULL, NULL, NULL);
    expect_error(pk_producer_produce(p, NULL), PK_ERROR_KIND_INVALID_ARGUMENT, "NULL record");
    expect_error(pk_producer_produce_batch(p, NULL, 2, &n), PK_ERROR_KIND_INVALID_ARGUMENT, "NULL records");
    pk_record bad = record(topic, "k", NULL, 0);
    bad.value_len = 5; /* NULL value with a length */
    expect_error(pk_producer_produce(p, &bad), PK_ERROR_KIND_INVALID_ARGUMENT, "NULL value with length");
    pk_record bad_utf8 = record("\xff\xfe", "k", "v", 0);
    expect_error(pk_producer_produce(p, &bad_utf8), PK_ERROR_KIND_INVALID_ARGUMENT, "topic not UTF-8");
    expect_error(pk_producer_poll_reports(p, NULL, 4, 0, &n), PK_ERROR_KIND_INVALID_ARGUMENT, "NULL report array");
    pk_producer_free(p);
}

static void test_config_errors(void) {
    pk_producer *p = NULL;
    pk_config *c = config("no.such.key", "1", NULL, NULL);
    pk_error *err = pk_producer_new(c, &p);
    CHECK(err && strstr(pk_error_message(err), "no.such.key"), "message names the key: %s", pk_error_message(err));
    expect_error(err, PK_ERROR_KIND_CONFIG, "unknown key");
    CHECK(p == NULL, "no producer on error");
    pk_config_free(c);

    c = config("acks", "banana", NULL, NULL);
    err = pk_producer_new(c, &p);
    CHECK(err && strstr(pk_error_message(err), "acks"), "message names acks: %s", pk_error_message(err));
    expect_error(err, PK_ERROR_KIND_CONFIG, "bad value");
    pk_config_free(c);

    c = config("group.id", "g", NULL, NULL); /* a consumer key */
    expect_error(pk_producer_new(c, &p), PK_ERROR_KIND_CONFIG, "consumer key on a producer");
    pk_config_free(c);

    expect_ok(pk_config_new(&c), "config");
    expect_error(pk_producer_new(c, &p), PK_ERROR_KIND_CONFIG, "no bootstrap.servers");
    pk_config_free(c);
}

static void test_produce_one(void) {
    pk_producer *p = producer(NULL, NULL, NULL, NULL);
    pk_header h = {"correlation-id", 0, (const uint8_t *)"456", 3};
    pk_record r = record(topic, "user-123", "{\"type\":\"USER_CREATED\"}", 7);
    r.headers = &h;
    r.headers_len = 1;
    expect_ok(pk_producer_produce(p, &r), "produce");
    pk_delivery_report rep[4];
    size_t n = 0;
    expect_ok(pk_producer_poll_reports(p, rep, 4, 30000, &n), "poll");
    CHECK(n == 1, "one report, got %zu", n);
    if (n == 1) {
        CHECK(rep[0].opaque == 7, "opaque %" PRIu64, rep[0].opaque);
        CHECK(rep[0].error == NULL, "error: %s", pk_error_message(rep[0].error));
        CHECK(rep[0].offset >= 0, "offset %" PRId64, rep[0].offset);
        CHECK(rep[0].partition == 0, "partition %d", rep[0].partition);
        CHECK(rep[0].timestamp_ms > 1700000000000LL, "timestamp %" PRId64, rep[0].timestamp_ms);
    }
    pk_delivery_reports_clear(rep, n);
    expect_ok(pk_producer_poll_reports(p, rep, 4, 0, &n), "poll empty");
    CHECK(n == 0, "no more reports, got %zu", n);
    expect_ok(pk_producer_close(p, 10000), "close");
    pk_producer_free(p);
}

static void test_produce_many(void) {
    enum { N = 200 };
    pk_producer *p = producer("compression.type", "zstd", NULL, NULL);
    static pk_record recs[N];
    static char keys[N][16], values[N][32];
    pk_header hs[2] = {{"a", 0, (const uint8_t *)"1", 1}, {"b", 1, NULL, 0}};
    for (int i = 0; i < N; i++) {
        snprintf(keys[i], sizeof keys[i], "key-%d", i);
        snprintf(values[i], sizeof values[i], "value-%d", i);
        recs[i] = record(topic, keys[i], values[i], (uint64_t)i);
        recs[i].headers = hs;
        recs[i].headers_len = 2;
        recs[i].timestamp_ms = 1700000000000LL + i;
    }
    size_t queued = 0;
    expect_ok(pk_producer_produce_batch(p, recs, N, &queued), "produce_batch");
    CHECK(queued == N, "queued %zu", queued);
    expect_ok(pk_producer_flush(p, 30000), "flush");
    size_t in_flight = 99;
    expect_ok(pk_producer_in_flight(p, &in_flight), "in_flight");
    CHECK(in_flight == 0, "in flight after flush: %zu", in_flight);
    static int64_t offsets[N];
    int errors = 0;
    size_t got = collect(p, N, offsets, &errors);
    CHECK(got == N, "reports %zu", got);
    CHECK(errors == 0, "%d errors", errors);
    int ordered = 1;
    for (int i = 1; i < N; i++)
        if (offsets[i] != offsets[i - 1] + 1) ordered = 0;
    CHECK(ordered, "offsets consecutive in order (first %" PRId64 ", last %" PRId64 ")", offsets[0], offsets[N - 1]);
    expect_ok(pk_producer_flush(p, 0), "flush with nothing queued");
    pk_producer_free(p); /* without close: nothing left, closes without waiting */
}

struct counter {
    pthread_mutex_t lock;
    int ok, failed, wrong_user;
    int64_t last_offset;
};

static void on_delivery(const pk_delivery_report *report, void *user) {
    struct counter *c = user;
    pthread_mutex_lock(&c->lock);
    if (report->error) c->failed++;
    else c->ok++;
    if (report->opaque != 42) c->wrong_user++;
    c->last_offset = report->offset;
    pthread_mutex_unlock(&c->lock);
}

static void test_delivery_callback(void) {
    struct counter c = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0, -1};
    pk_config *cfg = config(NULL, NULL, NULL, NULL);
    expect_ok(pk_config_set_delivery_callback(cfg, on_delivery, &c), "set callback");
    pk_producer *p = NULL;
    expect_ok(pk_producer_new(cfg, &p), "new");
    pk_config_free(cfg);
    pk_record recs[10];
    for (int i = 0; i < 10; i++) recs[i] = record(topic, NULL, "cb", 42);
    expect_ok(pk_producer_produce_batch(p, recs, 10, NULL), "batch");
    expect_ok(pk_producer_flush(p, 30000), "flush");
    pthread_mutex_lock(&c.lock);
    CHECK(c.ok == 10 && c.failed == 0, "callback ok=%d failed=%d", c.ok, c.failed);
    CHECK(c.wrong_user == 0, "opaque passed through");
    CHECK(c.last_offset >= 0, "offset %" PRId64, c.last_offset);
    pthread_mutex_unlock(&c.lock);
    size_t n = 9;
    expect_ok(pk_producer_poll_reports(p, NULL, 0, 0, &n), "poll with a callback");
    CHECK(n == 0, "no queued reports with a callback");
    expect_ok(pk_producer_close(p, 10000), "close");
    pk_producer_free(p);
}

static void test_send_batch(void) {
    pk_producer *p = producer("acks", "1", NULL, NULL);
    pk_record recs[3] = {record(topic, "a", "1", 100), record(topic, "b", "2", 101), record(topic, NULL, NULL, 102)};
    recs[2].partition = 7; /* does not exist */
    pk_batch *b = NULL;
    expect_ok(pk_producer_send_batch(p, recs, 3, &b), "send_batch");
    size_t len = 0;
    expect_ok(pk_batch_len(b, &len), "batch_len");
    CHECK(len == 3, "len %zu", len);
    pk_delivery_report rep[3];
    size_t n = 0;
    expect_ok(pk_batch_wait(b, 30000, rep, 3, &n), "batch_wait");
    CHECK(n == 3, "n %zu", n);
    if (n == 3) {
        CHECK(rep[0].opaque == 100 && rep[1].opaque == 101 && rep[2].opaque == 102, "order");
        CHECK(rep[0].error == NULL && rep[1].error == NULL, "first two written");
        CHECK(rep[1].offset == rep[0].offset + 1, "consecutive %" PRId64 " %" PRId64, rep[0].offset, rep[1].offset);
        CHECK(rep[2].error && pk_error_code(rep[2].error) == 3, "partition 7: UNKNOWN_TOPIC_OR_PARTITION, got %s",
              pk_error_message(rep[2].error));
    }
    pk_delivery_reports_clear(rep, n);
    expect_ok(pk_batch_wait(b, 0, rep, 1, &n), "wait again");
    CHECK(n == 1, "capped at the capacity: %zu", n);
    pk_delivery_reports_clear(rep, n);
    pk_batch_free(b);
    pk_producer_free(p);
}

static void test_partition_count_and_closed(void) {
    pk_producer *p = producer(NULL, NULL, NULL, NULL);
    int32_t count = 0;
    expect_ok(pk_producer_partition_count(p, topic, &count), "partition_count");
    CHECK(count >= 1, "count %d", count);
    expect_ok(pk_producer_close(p, 1000), "close");
    expect_ok(pk_producer_close(p, 1000), "close again");
    pk_record r = record(topic, "k", "v", 0);
    expect_error(pk_producer_produce(p, &r), PK_ERROR_KIND_CLOSED, "produce after close");
    expect_error(pk_producer_flush(p, 10), PK_ERROR_KIND_CLOSED, "flush after close");
    expect_error(pk_producer_partition_count(p, topic, &count), PK_ERROR_KIND_CLOSED, "count after close");
    pk_producer_free(p);
}

static void test_unknown_topic(void) {
    pk_producer *p = producer("allow.auto.create.topics", "false", "max.block.ms", "2000");
    char missing[160];
    snprintf(missing, sizeof missing, "%s-missing", topic);
    int32_t count = 0;
    pk_error *err = pk_producer_partition_count(p, missing, &count);
    CHECK(err && pk_error_code(err) == 3, "UNKNOWN_TOPIC_OR_PARTITION: %s", pk_error_message(err));
    CHECK(err && strcmp(pk_error_name(err), "UNKNOWN_TOPIC_OR_PARTITION") == 0, "name %s", pk_error_name(err));
    expect_error(err, PK_ERROR_KIND_BROKER, "count of a missing topic");
    pk_record r = record(missing, "k", "v", 0);
    err = pk_producer_produce(p, &r);
    CHECK(err && pk_error_code(err) == 3, "produce: %s", pk_error_message(err));
    CHECK(err && !pk_error_retriable(err), "not retriable once the wait is over");
    pk_error_free(err);
    pk_producer_free(p);
    /* fail_fast: an unknown topic without auto-create fails at once, not after max.block.ms */
    p = producer("allow.auto.create.topics", "false", "max.block.ms", "60000");
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    err = pk_producer_partition_count_fail_fast(p, missing, &count);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    CHECK(err && pk_error_code(err) == 3 && !pk_error_retriable(err), "fail_fast on a missing topic: %s", pk_error_message(err));
    CHECK(t1.tv_sec - t0.tv_sec < 30, "fail_fast waited %ld s", (long)(t1.tv_sec - t0.tv_sec));
    pk_error_free(err);
    pk_producer_free(p);
}

static void test_too_large(void) {
    pk_producer *p = producer("max.request.size", "1000", NULL, NULL);
    static char big[4000];
    memset(big, 'x', sizeof big - 1);
    pk_record r = record(topic, "k", big, 1);
    expect_error(pk_producer_produce(p, &r), PK_ERROR_KIND_MESSAGE_TOO_LARGE, "too large");
    /* In a batch the record gets its report, the others go. */
    pk_record recs[2] = {record(topic, "k", big, 0), record(topic, "k", "small", 1)};
    size_t queued = 0;
    expect_ok(pk_producer_produce_batch(p, recs, 2, &queued), "batch with a large record");
    CHECK(queued == 1, "queued %zu", queued);
    int64_t offsets[2] = {-1, -1};
    int errors = 0;
    size_t got = collect(p, 2, offsets, &errors);
    CHECK(got == 2 && errors == 1, "got %zu reports, %d errors", got, errors);
    CHECK(offsets[1] >= 0, "small one written");
    /* After close the batch call itself fails: nothing queued, no report. */
    expect_ok(pk_producer_close(p, 5000), "close");
    queued = 7;
    expect_error(pk_producer_produce_batch(p, recs, 2, &queued), PK_ERROR_KIND_CLOSED, "batch after close");
    CHECK(queued == 7, "out_queued untouched by a failed call: %zu", queued);
    pk_producer_free(p);
}

static void test_unreachable(void) {
    pk_config *c = NULL;
    expect_ok(pk_config_new(&c), "config");
    expect_ok(pk_config_set(c, "bootstrap.servers", "127.0.0.1:1"), "bootstrap");
    expect_ok(pk_config_set(c, "max.block.ms", "1000"), "max.block.ms");
    expect_ok(pk_config_set(c, "socket.connection.setup.timeout.ms", "500"), "setup timeout");
    pk_producer *p = NULL;
    expect_ok(pk_producer_new(c, &p), "new (no connection yet)");
    pk_config_free(c);
    pk_record r = record("t", "k", "v", 0);
    pk_error *err = pk_producer_produce(p, &r);
    CHECK(err != NULL, "produce to an unreachable broker fails");
    CHECK(err && (pk_error_get_kind(err) == PK_ERROR_KIND_CONNECTION || pk_error_get_kind(err) == PK_ERROR_KIND_TIMEOUT),
          "kind %d: %s", (int)pk_error_get_kind(err), pk_error_message(err));
    pk_error_free(err);
    pk_producer_free(p);
}

/* Engine logs: a wake callback on a library thread, then a drain on this one. */
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t log_cv = PTHREAD_COND_INITIALIZER;
static int log_woken;

static void on_log_wake(void *user) {
    (void)user;
    pthread_mutex_lock(&log_mu);
    log_woken = 1;
    pthread_cond_signal(&log_cv);
    pthread_mutex_unlock(&log_mu);
}

struct log_seen {
    int records, connection_failed;
};

static void on_log_record(const pk_log_record *r, void *user) {
    struct log_seen *seen = user;
    seen->records++;
    if (r->level == PK_LOG_LEVEL_WARN && strcmp(r->message, "connection failed") == 0 && strstr(r->text, "127.0.0.1:1") &&
        strncmp(r->target, "polykafka", 9) == 0 && r->timestamp_ms > 1600000000000LL)
        seen->connection_failed++;
}

static void test_logs(void) {
    expect_error(pk_logs_set_level(9), PK_ERROR_KIND_INVALID_ARGUMENT, "level 9");
    expect_error(pk_logs_drain(NULL, NULL, NULL), PK_ERROR_KIND_INVALID_ARGUMENT, "drain without a callback");
    expect_ok(pk_logs_set_level(PK_LOG_LEVEL_WARN), "set level");
    expect_ok(pk_logs_set_wake(on_log_wake, NULL), "set wake");
    struct log_seen seen = {0, 0};
    uint64_t dropped = 99;
    expect_ok(pk_logs_drain(on_log_record, &seen, &dropped), "drain what came before");
    test_unreachable();
    /* the wake callback was called (at most a second later: the record is pushed before the
     * produce call returns) */
    pthread_mutex_lock(&log_mu);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    while (!log_woken && pthread_cond_timedwait(&log_cv, &log_mu, &until) == 0) {}
    int woken = log_woken;
    log_woken = 0;
    pthread_mutex_unlock(&log_mu);
    CHECK(woken, "the wake callback was not called");
    seen.records = seen.connection_failed = 0;
    expect_ok(pk_logs_drain(on_log_record, &seen, &dropped), "drain");
    CHECK(seen.connection_failed >= 1, "no 'connection failed' record among %d", seen.records);
    CHECK(dropped == 0, "dropped %llu", (unsigned long long)dropped);
    expect_ok(pk_logs_set_wake(NULL, NULL), "remove wake");
    expect_ok(pk_logs_set_level(PK_LOG_LEVEL_OFF), "level off");
    test_unreachable();
    seen.records = 0;
    expect_ok(pk_logs_drain(on_log_record, &seen, NULL), "drain with level off");
    CHECK(seen.records == 0, "%d records captured with the level off", seen.records);
}

/* pk_cancel: a token bound to a thread ends its blocking calls; the *_connect_once and
 * partition_count_fail_fast calls fail at once when nothing listens. */
struct trigger_later {
    pk_cancel *token;
    int delay_ms;
};

static void *trigger_after(void *arg) {
    struct trigger_later *t = arg;
    struct timespec ts = {t->delay_ms / 1000, (long)(t->delay_ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    pk_cancel_trigger(t->token);
    return NULL;
}

static pk_config *dead_config(void) {
    pk_config *c = NULL;
    expect_ok(pk_config_new(&c), "config");
    expect_ok(pk_config_set(c, "bootstrap.servers", "127.0.0.1:1"), "bootstrap");
    return c;
}

static void expect_cancelled(pk_error *err, const char *what) {
    CHECK(err != NULL, "%s: expected an error", what);
    if (!err) return;
    CHECK(pk_error_get_kind(err) == PK_ERROR_KIND_TIMEOUT && strstr(pk_error_message(err), "cancelled") != NULL,
          "%s: kind %d: %s", what, (int)pk_error_get_kind(err), pk_error_message(err));
    CHECK(!pk_error_retriable(err), "%s: a cancelled call is not retriable", what);
    pk_error_free(err);
}

static void test_cancel(void) {
    pk_cancel_trigger(NULL);
    pk_cancel_free(NULL);
    pk_cancel_scope_leave();
    CHECK(!pk_cancel_is_triggered(NULL), "NULL is not triggered");
    expect_error(pk_cancel_scope_enter(NULL), PK_ERROR_KIND_INVALID_ARGUMENT, "scope_enter(NULL)");
    expect_error(pk_cancel_new(NULL), PK_ERROR_KIND_INVALID_ARGUMENT, "cancel_new(NULL)");

    pk_config *c = dead_config();
    expect_ok(pk_config_set(c, "max.block.ms", "60000"), "max.block.ms");
    pk_producer *p = NULL;
    expect_ok(pk_producer_new(c, &p), "producer");
    pk_config_free(c);
    int32_t n = -1;
    time_t start = time(NULL);
    expect_error(pk_producer_partition_count_fail_fast(p, "t", &n), PK_ERROR_KIND_CONNECTION, "partition_count_fail_fast");
    CHECK(time(NULL) - start < 10, "fail_fast took %ld s", (long)(time(NULL) - start));

    /* Triggered from another thread while the call waits (max.block.ms is 60 s). */
    pk_cancel *token = NULL;
    expect_ok(pk_cancel_new(&token), "cancel_new");
    CHECK(!pk_cancel_is_triggered(token), "a new token is not triggered");
    expect_ok(pk_cancel_scope_enter(token), "scope_enter");
    struct trigger_later later = {token, 300};
    pthread_t th;
    pthread_create(&th, NULL, trigger_after, &later);
    start = time(NULL);
    expect_cancelled(pk_producer_partition_count(p, "t", &n), "partition_count cancelled");
    CHECK(time(NULL) - start < 10, "cancelled call took %ld s", (long)(time(NULL) - start));
    pthread_join(th, NULL);
    CHECK(pk_cancel_is_triggered(token), "triggered");
    /* Already triggered: the next call in scope ends at once; the token may be freed while bound. */
    pk_cancel_free(token);
    expect_cancelled(pk_producer_flush(p, 60000), "flush in a triggered scope");
    pk_cancel_scope_leave();
    expect_ok(pk_producer_flush(p, 1000), "flush out of scope");
    pk_producer_free(p);

    c = dead_config();
    pk_admin *a = NULL;
    expect_ok(pk_admin_new(c, &a), "admin");
    pk_consumer *k = NULL;
    expect_ok(pk_config_set(c, "group.id", "g"), "group.id");
    expect_ok(pk_consumer_new(c, &k), "consumer");
    pk_config_free(c);
    expect_error(pk_admin_connect_once(a), PK_ERROR_KIND_CONNECTION, "admin_connect_once");
    expect_error(pk_consumer_connect_once(k), PK_ERROR_KIND_CONNECTION, "consumer_connect_once");
    pk_consumer_free(k);
    pk_admin_free(a);
}

static void test_admin(void) {
    pk_config *c = NULL;
    expect_ok(pk_config_new(&c), "config");
    expect_ok(pk_config_set(c, "bootstrap.servers", bootstrap), "bootstrap");
    pk_admin *a = NULL;
    pk_config *bad_config = config(NULL, NULL, NULL, NULL); /* has linger.ms, a producer key */
    expect_error(pk_admin_new(bad_config, &a), PK_ERROR_KIND_CONFIG, "producer key on an admin client");
    pk_config_free(bad_config);
    pk_error *err = pk_admin_new(c, &a);
    expect_ok(err, "admin_new");
    pk_config_free(c);
    if (!a) return;
    char name[160];
    snprintf(name, sizeof name, "%s-admin", topic);
    const char *keys[] = {"retention.ms"}, *values[] = {"3600000"};
    pk_new_topic t = {name, 3, 1, keys, values, 1};
    pk_error *results[2] = {NULL, NULL};
    expect_ok(pk_admin_create_topics(a, &t, 1, true, results), "validate only");
    CHECK(results[0] == NULL, "validated: %s", pk_error_message(results[0]));
    pk_error_free(results[0]);
    expect_ok(pk_admin_create_topics(a, &t, 1, false, results), "create_topics");
    CHECK(results[0] == NULL, "created: %s", pk_error_message(results[0]));
    pk_error_free(results[0]);
    expect_ok(pk_admin_create_topics(a, &t, 1, false, results), "create again");
    CHECK(results[0] && pk_error_code(results[0]) == 36, "TOPIC_ALREADY_EXISTS: %s", pk_error_message(results[0]));
    pk_error_free(results[0]);

    pk_string_list *list = NULL;
    expect_ok(pk_admin_list_topics(a, false, &list), "list_topics");
    int found = 0;
    for (size_t i = 0; i < pk_string_list_len(list); i++)
        if (strcmp(pk_string_list_get(list, i), name) == 0) found = 1;
    CHECK(found, "created topic listed among %zu", pk_string_list_len(list));
    CHECK(pk_string_list_get(list, 1u << 30) == NULL, "out of range gives NULL");
    pk_string_list_free(list);

    int32_t partitions = 0;
    expect_ok(pk_admin_partition_count(a, name, &partitions), "partition_count");
    CHECK(partitions == 3, "3 partitions, got %d", partitions);

    const char *names[] = {name, "polykafka-c-never-created"};
    expect_ok(pk_admin_delete_topics(a, names, 2, results), "delete_topics");
    CHECK(results[0] == NULL, "deleted: %s", pk_error_message(results[0]));
    CHECK(results[1] && pk_error_code(results[1]) == 3, "missing one: %s", pk_error_message(results[1]));
    pk_error_free(results[0]);
    pk_error_free(results[1]);

    pk_new_topic bad = {"", 1, 1, NULL, NULL, 0};
    expect_ok(pk_admin_create_topics(a, &bad, 1, false, results), "create with an empty name");
    CHECK(results[0] != NULL, "empty name refused");
    pk_error_free(results[0]);

    expect_ok(pk_admin_close(a), "admin close");
    expect_error(pk_admin_list_topics(a, false, &list), PK_ERROR_KIND_CLOSED, "list after close");
    pk_admin_free(a);
}

/* ---- consumer ---- */

static pk_admin *admin_client(void) {
    pk_config *c = NULL;
    pk_admin *a = NULL;
    expect_ok(pk_config_new(&c), "config");
    expect_ok(pk_config_set(c, "bootstrap.servers", bootstrap), "bootstrap");
    expect_ok(pk_admin_new(c, &a), "admin_new");
    pk_config_free(c);
    return a;
}

static void create_topic(const char *name, int partitions) {
    pk_admin *a = admin_client();
    pk_new_topic t = {name, partitions, 1, NULL, NULL, 0};
    pk_error *res = NULL;
    expect_ok(pk_admin_create_topics(a, &t, 1, false, &res), "create topic");
    CHECK(res == NULL, "created %s: %s", name, pk_error_message(res));
    pk_error_free(res);
    pk_admin_free(a);
}

/* Produces n records "value-i" with key "key-i" and a header to partition `partition`. */
static void produce_n(const char *t, int partition, int n, const char *prefix) {
    pk_producer *p = producer(NULL, NULL, NULL, NULL);
    pk_header h = {"h", 0, (const uint8_t *)"hv", 2};
    char keys[64][24], values[64][48];
    pk_record recs[64];
    for (int i = 0; i < n && i < 64; i++) {
        snprintf(keys[i], sizeof keys[i], "key-%d", i);
        snprintf(values[i], sizeof values[i], "%s-%d", prefix, i);
        recs[i] = record(t, keys[i], values[i], (uint64_t)i);
        recs[i].partition = partition;
        recs[i].headers = &h;
        recs[i].headers_len = 1;
    }
    expect_ok(pk_producer_produce_batch(p, recs, (size_t)n, NULL), "produce_batch");
    expect_ok(pk_producer_flush(p, 30000), "flush");
    int errors = 0;
    collect(p, (size_t)n, NULL, &errors);
    CHECK(errors == 0, "%d produce errors", errors);
    pk_producer_free(p);
}

static pk_consumer *consumer(const char *group, const char *k1, const char *v1, const char *k2, const char *v2) {
    pk_config *c = NULL;
    pk_consumer *cons = NULL;
    expect_ok(pk_config_new(&c), "config");
    expect_ok(pk_config_set(c, "bootstrap.servers", bootstrap), "bootstrap");
    if (group) expect_ok(pk_config_set(c, "group.id", group), "group.id");
    expect_ok(pk_config_set(c, "fetch.max.wait.ms", "200"), "fetch.max.wait.ms");
    if (k1) expect_ok(pk_config_set(c, k1, v1), k1);
    if (k2) expect_ok(pk_config_set(c, k2, v2), k2);
    expect_ok(pk_consumer_new(c, &cons), "consumer_new");
    pk_config_free(c);
    return cons;
}

/* Polls batches until `want` records arrived or 30 s passed; stores value strings' suffix
 * numbers in `seen` (by offset) when non-NULL. Returns the number of records. */
static int consume(pk_consumer *c, int want, int64_t *offsets, char values[][48]) {
    int got = 0;
    time_t start = time(NULL);
    while (got < want && time(NULL) - start < 30) {
        pk_message_batch *b = NULL;
        pk_error *err = pk_consumer_poll_batch(c, (size_t)(want - got), 500, &b);
        expect_ok(err, "poll_batch");
        if (err) break;
        for (size_t i = 0; i < b->len; i++) {
            const pk_consumer_record *r = &b->records[i];
            if (offsets) offsets[got] = r->offset;
            if (values) snprintf(values[got], 48, "%.*s", (int)r->value_len, (const char *)r->value);
            got++;
        }
        pk_message_batch_free(b);
    }
    return got;
}

static void test_consume_assign(void) {
    char t[160];
    snprintf(t, sizeof t, "%s-consume", topic);
    create_topic(t, 1);
    produce_n(t, 0, 20, "value");
    pk_consumer *c = consumer(NULL, NULL, NULL, NULL, NULL);
    pk_topic_partition tp = {t, 0, 0, PK_OFFSET_BEGINNING};
    expect_ok(pk_consumer_assign(c, &tp, 1), "assign");
    pk_message_batch *b = NULL;
    expect_ok(pk_consumer_poll(c, 30000, &b), "poll one");
    CHECK(b && b->len == 1, "one record, got %zu", b ? b->len : 0);
    if (b && b->len == 1) {
        const pk_consumer_record *r = &b->records[0];
        CHECK(r->offset == 0 && r->partition == 0, "offset %" PRId64 " partition %d", r->offset, r->partition);
        CHECK(strcmp(r->topic, t) == 0 && r->topic_len == strlen(t), "topic %s", r->topic);
        CHECK(r->key_len == 5 && memcmp(r->key, "key-0", 5) == 0, "key");
        CHECK(r->value_len == 7 && memcmp(r->value, "value-0", 7) == 0, "value");
        CHECK(r->headers_len == 1 && strcmp(r->headers[0].key, "h") == 0 && r->headers[0].value_len == 2 &&
                  memcmp(r->headers[0].value, "hv", 2) == 0, "header");
        CHECK(r->high_watermark == 20, "high watermark %" PRId64, r->high_watermark);
        CHECK(r->timestamp_ms > 1700000000000LL && r->timestamp_type == 0, "timestamp");
    }
    pk_message_batch *keep = b; /* still valid after later polls */
    int64_t offsets[32];
    int got = consume(c, 19, offsets, NULL);
    CHECK(got == 19 && offsets[0] == 1 && offsets[18] == 19, "the rest in order: %d, %" PRId64 "..%" PRId64, got, offsets[0], offsets[got ? got - 1 : 0]);
    CHECK(keep->records[0].offset == 0 && memcmp(keep->records[0].value, "value-0", 7) == 0, "first batch still valid");
    pk_message_batch_free(keep);
    int64_t pos = -5, lag = -5, lo = -5, hi = -5;
    expect_ok(pk_consumer_position(c, t, 0, &pos), "position");
    CHECK(pos == 20, "position %" PRId64, pos);
    expect_ok(pk_consumer_lag(c, t, 0, &lag), "lag");
    CHECK(lag == 0, "lag %" PRId64, lag);
    expect_ok(pk_consumer_watermarks(c, t, 0, 10000, &lo, &hi), "watermarks");
    CHECK(lo == 0 && hi == 20, "watermarks %" PRId64 " %" PRId64, lo, hi);
    expect_ok(pk_consumer_poll_batch(c, 10, 300, &b), "poll at the end");
    CHECK(b && b->len == 0, "nothing more");
    pk_message_batch_free(b);
    expect_ok(pk_consumer_seek(c, t, 0, 5), "seek");
    expect_ok(pk_consumer_poll(c, 30000, &b), "poll after seek");
    CHECK(b && b->len == 1 && b->records[0].offset == 5, "offset 5 after seek");
    pk_message_batch_free(b);
    expect_ok(pk_consumer_pause(c, &tp, 1), "pause");
    expect_ok(pk_consumer_poll_batch(c, 10, 500, &b), "poll paused");
    CHECK(b && b->len == 0, "paused: nothing, got %zu", b ? b->len : 0);
    pk_message_batch_free(b);
    expect_ok(pk_consumer_resume(c, &tp, 1), "resume");
    got = consume(c, 14, offsets, NULL);
    CHECK(got == 14 && offsets[0] == 6, "resumed at 6: %d %" PRId64, got, offsets[0]);
    expect_ok(pk_consumer_seek(c, t, 0, PK_OFFSET_END), "seek to end");
    expect_ok(pk_consumer_poll_batch(c, 10, 500, &b), "poll at end");
    CHECK(b && b->len == 0, "end: nothing");
    pk_message_batch_free(b);
    expect_error(pk_consumer_commit(c, NULL, 0), PK_ERROR_KIND_INVALID_ARGUMENT, "commit without group.id");
    expect_error(pk_consumer_seek(c, t, 9, 0), PK_ERROR_KIND_INVALID_ARGUMENT, "seek unassigned");
    expect_ok(pk_consumer_close(c), "close");
    expect_ok(pk_consumer_close(c), "close again");
    expect_error(pk_consumer_poll(c, 10, &b), PK_ERROR_KIND_CLOSED, "poll after close");
    expect_error(pk_consumer_assign(c, &tp, 1), PK_ERROR_KIND_CLOSED, "assign after close");
    pk_consumer_free(c);
}

static void test_group_commit_restart(void) {
    char t[160], group[160];
    snprintf(t, sizeof t, "%s-group", topic);
    snprintf(group, sizeof group, "%s-g", topic);
    create_topic(t, 2);
    produce_n(t, 0, 10, "p0");
    produce_n(t, 1, 10, "p1");
    const char *topics[] = {t};
    pk_consumer *c = consumer(group, "auto.offset.reset", "earliest", "enable.auto.commit", "false");
    expect_ok(pk_consumer_subscribe(c, topics, 1), "subscribe");
    int got = consume(c, 20, NULL, NULL);
    CHECK(got == 20, "all 20 read, got %d", got);
    pk_group_metadata *m = NULL;
    expect_ok(pk_consumer_group_metadata(c, &m), "group_metadata");
    CHECK(pk_group_metadata_generation(m) >= 1, "generation %d", pk_group_metadata_generation(m));
    CHECK(strlen(pk_group_metadata_member_id(m)) > 0, "member id");
    CHECK(strcmp(pk_group_metadata_group_id(m), group) == 0, "group id");
    pk_group_metadata_free(m);
    /* Explicit offsets: partition 0 at 4, partition 1 at its position (all delivered). */
    pk_topic_partition commit[2] = {{t, 0, 0, 4}, {t, 0, 1, 10}};
    expect_ok(pk_consumer_commit(c, commit, 2), "commit explicit");
    pk_topic_partition q[2] = {{t, 0, 0, -7}, {t, 0, 1, -7}};
    expect_ok(pk_consumer_committed(c, q, 2, 10000), "committed");
    CHECK(q[0].offset == 4 && q[1].offset == 10, "committed %" PRId64 " %" PRId64, q[0].offset, q[1].offset);
    pk_topic_partition neg = {t, 0, 0, -1};
    expect_error(pk_consumer_commit(c, &neg, 1), PK_ERROR_KIND_INVALID_ARGUMENT, "negative commit offset");
    expect_ok(pk_consumer_close(c), "close");
    pk_consumer_free(c);

    /* Restart: resumes at the committed offsets (6 records of partition 0 left). */
    c = consumer(group, "auto.offset.reset", "earliest", "enable.auto.commit", "false");
    expect_ok(pk_consumer_subscribe(c, topics, 1), "subscribe again");
    int64_t offsets[16];
    char values[16][48];
    got = consume(c, 6, offsets, values);
    CHECK(got == 6 && offsets[0] == 4 && strcmp(values[0], "p0-4") == 0, "resumed at 4: %d %" PRId64 " %s", got, offsets[0], values[0]);
    pk_message_batch *b = NULL;
    expect_ok(pk_consumer_poll_batch(c, 10, 1000, &b), "nothing more");
    CHECK(b && b->len == 0, "only 6 left");
    pk_message_batch_free(b);
    expect_ok(pk_consumer_commit(c, NULL, 0), "commit positions");
    q[0].offset = q[1].offset = -7;
    expect_ok(pk_consumer_committed(c, q, 2, 10000), "committed after");
    CHECK(q[0].offset == 10 && q[1].offset == 10, "positions committed %" PRId64 " %" PRId64, q[0].offset, q[1].offset);
    expect_ok(pk_consumer_close(c), "close");
    pk_consumer_free(c);

    /* Admin: the group, its offsets and lag. */
    produce_n(t, 1, 3, "more");
    pk_admin *a = admin_client();
    pk_group_list *list = NULL;
    expect_ok(pk_admin_list_groups(a, &list), "list_groups");
    int found = 0;
    for (size_t i = 0; list && i < list->len; i++)
        if (strcmp(list->items[i].group_id, group) == 0) found = strcmp(list->items[i].protocol_type, "consumer") == 0 ? 1 : 2;
    CHECK(found == 1, "group listed as a consumer group (%d)", found);
    pk_group_list_free(list);
    const char *names[] = {group, "polykafka-c-no-such-group"};
    pk_group_descriptions *d = NULL;
    expect_ok(pk_admin_describe_groups(a, names, 1, &d), "describe_groups");
    CHECK(d && d->len == 1, "one description");
    if (d && d->len == 1) {
        CHECK(strcmp(d->items[0].group_id, group) == 0 && strcmp(d->items[0].state, "Empty") == 0 && d->items[0].members_len == 0,
              "%s state %s members %zu", d->items[0].group_id, d->items[0].state, d->items[0].members_len);
    }
    pk_group_descriptions_free(d);
    d = NULL;
    pk_error *derr = pk_admin_describe_groups(a, names + 1, 1, &d);
    CHECK((derr && pk_error_code(derr) == 69) || (d && d->len == 1 && strcmp(d->items[0].state, "Dead") == 0),
          "missing group: GROUP_ID_NOT_FOUND or Dead: %s", pk_error_message(derr));
    pk_error_free(derr);
    pk_group_descriptions_free(d);
    pk_partition_offsets *o = NULL;
    expect_ok(pk_admin_list_group_offsets(a, group, NULL, 0, &o), "list_group_offsets");
    CHECK(o && o->len == 2 && o->items[0].committed == 10 && o->items[1].committed == 10, "group offsets");
    pk_partition_offsets_free(o);
    expect_ok(pk_admin_group_lag(a, group, &o), "group_lag");
    int64_t total = 0;
    for (size_t i = 0; o && i < o->len; i++) total += o->items[i].lag;
    CHECK(o && o->len == 2 && total == 3, "lag 3, got %" PRId64, total);
    pk_partition_offsets_free(o);
    pk_error *res[2] = {NULL, NULL};
    expect_ok(pk_admin_delete_groups(a, names, 2, res), "delete_groups");
    CHECK(res[0] == NULL, "deleted: %s", pk_error_message(res[0]));
    CHECK(res[1] != NULL, "missing group: an error");
    pk_error_free(res[0]);
    pk_error_free(res[1]);
    pk_admin_free(a);
}

static void test_transactions(void) {
    char t[160], out_t[160], txid[160], group[160];
    snprintf(t, sizeof t, "%s-txn", topic);
    snprintf(out_t, sizeof out_t, "%s-txn-out", topic);
    snprintf(txid, sizeof txid, "%s-tx", topic);
    snprintf(group, sizeof group, "%s-txg", topic);
    create_topic(t, 1);
    create_topic(out_t, 1);
    pk_producer *p = producer("transactional.id", txid, NULL, NULL);
    expect_error(pk_producer_commit_transaction(p, 1000), PK_ERROR_KIND_INVALID_ARGUMENT, "commit before init");
    expect_ok(pk_producer_init_transactions(p, 30000), "init_transactions");
    expect_ok(pk_producer_begin_transaction(p), "begin");
    pk_record r = record(t, "k", "aborted", 0);
    for (int i = 0; i < 3; i++) expect_ok(pk_producer_produce(p, &r), "produce aborted");
    expect_ok(pk_producer_flush(p, 30000), "flush in txn");
    expect_ok(pk_producer_abort_transaction(p, 30000), "abort");
    expect_ok(pk_producer_begin_transaction(p), "begin 2");
    r = record(t, "k", "committed", 0);
    for (int i = 0; i < 3; i++) expect_ok(pk_producer_produce(p, &r), "produce committed");
    expect_ok(pk_producer_commit_transaction(p, 30000), "commit");
    int errors = 0;
    collect(p, 6, NULL, &errors);
    /* The aborted records were flushed before the abort: written (then marked aborted). */
    CHECK(errors == 0, "%d errors", errors);

    /* read_committed sees only the committed ones; read_uncommitted sees all six. */
    pk_consumer *c = consumer(NULL, "isolation.level", "read_committed", NULL, NULL);
    pk_topic_partition tp = {t, 0, 0, PK_OFFSET_BEGINNING};
    expect_ok(pk_consumer_assign(c, &tp, 1), "assign rc");
    char values[16][48];
    int got = consume(c, 3, NULL, values);
    CHECK(got == 3 && strcmp(values[0], "committed") == 0 && strcmp(values[2], "committed") == 0, "read_committed: %d %s", got, values[0]);
    pk_message_batch *b = NULL;
    expect_ok(pk_consumer_poll_batch(c, 10, 1000, &b), "nothing more");
    CHECK(b && b->len == 0, "no aborted record visible, got %zu", b ? b->len : 0);
    pk_message_batch_free(b);
    pk_consumer_free(c);

    /* Consume-transform-produce: offsets committed with the transaction. */
    c = consumer(group, "auto.offset.reset", "earliest", "isolation.level", "read_committed");
    const char *topics[] = {t};
    expect_ok(pk_consumer_subscribe(c, topics, 1), "subscribe");
    int64_t offsets[8];
    got = consume(c, 3, offsets, values);
    CHECK(got == 3, "read input %d", got);
    pk_group_metadata *m = NULL;
    expect_ok(pk_consumer_group_metadata(c, &m), "metadata");
    expect_ok(pk_producer_begin_transaction(p), "begin 3");
    pk_record o = record(out_t, "k", "transformed", 0);
    expect_ok(pk_producer_produce(p, &o), "produce output");
    pk_topic_partition next = {t, 0, 0, offsets[got > 0 ? got - 1 : 0] + 1};
    expect_ok(pk_producer_send_offsets_to_transaction(p, &next, 1, m, 30000), "send_offsets");
    expect_error(pk_producer_send_offsets_to_transaction(p, &next, 1, NULL, 1000), PK_ERROR_KIND_INVALID_ARGUMENT, "NULL metadata");
    expect_ok(pk_producer_commit_transaction(p, 30000), "commit 3");
    pk_topic_partition q = {t, 0, 0, -7};
    expect_ok(pk_consumer_committed(c, &q, 1, 10000), "committed");
    CHECK(q.offset == next.offset, "offset committed by the transaction: %" PRId64 " want %" PRId64, q.offset, next.offset);
    pk_group_metadata_free(m);
    pk_consumer_free(c);
    collect(p, 1, NULL, &errors);
    expect_ok(pk_producer_close(p, 10000), "close producer");
    pk_producer_free(p);
}

static void test_consumer_errors(void) {
    pk_consumer *c = NULL;
    pk_message_batch *b = NULL;
    expect_error(pk_consumer_poll(NULL, 10, &b), PK_ERROR_KIND_INVALID_ARGUMENT, "poll NULL");
    expect_error(pk_consumer_commit(NULL, NULL, 0), PK_ERROR_KIND_INVALID_ARGUMENT, "commit NULL");
    expect_error(pk_consumer_close(NULL), PK_ERROR_KIND_INVALID_ARGUMENT, "close NULL");
    expect_error(pk_consumer_group_metadata(NULL, NULL), PK_ERROR_KIND_INVALID_ARGUMENT, "metadata NULL");
    pk_consumer_free(NULL);
    pk_message_batch_free(NULL);
    pk_group_metadata_free(NULL);
    pk_group_list_free(NULL);
    pk_group_descriptions_free(NULL);
    pk_partition_offsets_free(NULL);
    CHECK(pk_group_metadata_generation(NULL) == -1, "generation of NULL");

    pk_config *cfg = config(NULL, NULL, NULL, NULL); /* linger.ms: a producer key */
    expect_error(pk_consumer_new(cfg, &c), PK_ERROR_KIND_CONFIG, "producer key on a consumer");
    pk_config_free(cfg);
    expect_ok(pk_config_new(&cfg), "config");
    expect_ok(pk_config_set(cfg, "bootstrap.servers", bootstrap), "bootstrap");
    expect_ok(pk_config_set(cfg, "group.id", "g"), "group");
    expect_ok(pk_config_set(cfg, "session.timeout.ms", "1000"), "session");
    expect_ok(pk_config_set(cfg, "heartbeat.interval.ms", "3000"), "heartbeat");
    pk_error *err = pk_consumer_new(cfg, &c);
    CHECK(err && strstr(pk_error_message(err), "heartbeat.interval.ms"), "names the key: %s", pk_error_message(err));
    expect_error(err, PK_ERROR_KIND_CONFIG, "heartbeat >= session");
    expect_ok(pk_config_set(cfg, "heartbeat.interval.ms", "100"), "heartbeat");
    expect_ok(pk_config_set(cfg, "auto.offset.reset", "sometimes"), "reset");
    expect_error(pk_consumer_new(cfg, &c), PK_ERROR_KIND_CONFIG, "bad auto.offset.reset");
    CHECK(c == NULL, "no consumer on error");
    pk_config_free(cfg);

    c = consumer(NULL, NULL, NULL, NULL, NULL);
    const char *topics[] = {topic};
    expect_error(pk_consumer_subscribe(c, topics, 1), PK_ERROR_KIND_INVALID_ARGUMENT, "subscribe without group.id");
    expect_error(pk_consumer_group_metadata(c, NULL), PK_ERROR_KIND_INVALID_ARGUMENT, "metadata NULL out");
    pk_group_metadata *m = NULL;
    expect_error(pk_consumer_group_metadata(c, &m), PK_ERROR_KIND_INVALID_ARGUMENT, "metadata without group.id");
    expect_error(pk_consumer_poll_batch(c, 0, 10, &b), PK_ERROR_KIND_INVALID_ARGUMENT, "max_records 0");
    pk_topic_partition bad = {topic, 0, -3, 0};
    expect_error(pk_consumer_assign(c, &bad, 1), PK_ERROR_KIND_INVALID_ARGUMENT, "negative partition");
    pk_consumer_free(c); /* without close */

    /* auto.offset.reset=none and no committed offset: poll fails naming the partition. */
    char group[160];
    snprintf(group, sizeof group, "%s-none", topic);
    c = consumer(group, "auto.offset.reset", "none", NULL, NULL);
    pk_topic_partition tp = {topic, 0, 0, PK_OFFSET_DEFAULT};
    expect_ok(pk_consumer_assign(c, &tp, 1), "assign");
    err = NULL;
    for (int i = 0; i < 20 && !err; i++) {
        err = pk_consumer_poll(c, 500, &b);
        if (!err) pk_message_batch_free(b);
    }
    CHECK(err && pk_error_code(err) == 1 && strstr(pk_error_message(err), topic), "OFFSET_OUT_OF_RANGE naming the partition: %s",
          pk_error_message(err));
    pk_error_free(err);
    pk_consumer_free(c);

    pk_group_metadata *gm = NULL;
    expect_ok(pk_group_metadata_new("some-group", &gm), "metadata_new");
    CHECK(strcmp(pk_group_metadata_group_id(gm), "some-group") == 0 && pk_group_metadata_generation(gm) == -1, "metadata for a group id");
    pk_group_metadata_free(gm);
}

/* Schema registry: a client from properties, register / latest / by id / lookup, an Avro
 * serializer and deserializer with JSON text values, schema evolution, and the error paths
 * (registry 409 and 40403 with their codes, no magic byte, a value not matching naming the
 * field, an unreachable registry as a retriable connection error, cancellation). */
static const char *USER_V1 =
    "{\"type\":\"record\",\"name\":\"UserEvent\",\"namespace\":\"com.example.events\",\"fields\":["
    "{\"name\":\"userId\",\"type\":\"string\"},{\"name\":\"eventType\",\"type\":\"string\"},"
    "{\"name\":\"timestamp\",\"type\":\"long\"},"
    "{\"name\":\"metadata\",\"type\":[\"null\",\"string\"],\"default\":null}]}";
static const char *USER_V2 =
    "{\"type\":\"record\",\"name\":\"UserEvent\",\"namespace\":\"com.example.events\",\"fields\":["
    "{\"name\":\"userId\",\"type\":\"string\"},{\"name\":\"eventType\",\"type\":\"string\"},"
    "{\"name\":\"timestamp\",\"type\":\"long\"},"
    "{\"name\":\"metadata\",\"type\":[\"null\",\"string\"],\"default\":null},"
    "{\"name\":\"country\",\"type\":\"string\",\"default\":\"NZ\"}]}";
static const char *USER_BAD =
    "{\"type\":\"record\",\"name\":\"UserEvent\",\"namespace\":\"com.example.events\",\"fields\":["
    "{\"name\":\"userId\",\"type\":\"int\"}]}";

static pk_schema_registry *registry_at(const char *url) {
    pk_config *c = NULL;
    expect_ok(pk_config_new(&c), "pk_config_new");
    expect_ok(pk_config_set(c, "url", url), "set url");
    expect_ok(pk_config_set(c, "max.retries", "1"), "set max.retries");
    expect_ok(pk_config_set(c, "retries.wait.ms", "10"), "set retries.wait.ms");
    pk_schema_registry *r = NULL;
    expect_ok(pk_schema_registry_new(c, &r), "pk_schema_registry_new");
    pk_config_free(c);
    return r;
}

static void test_schema_registry(void) {
    const char *url = getenv("SCHEMA_REGISTRY_URL");
    if (!url || !*url) {
        printf("SKIP test_schema_registry: SCHEMA_REGISTRY_URL is not set\n");
        return;
    }
    char subject[200], srtopic[180];
    snprintf(srtopic, sizeof srtopic, "%s-sr", topic);
    snprintf(subject, sizeof subject, "%s-value", srtopic);

    /* bad configuration names the key */
    pk_config *bad = NULL;
    expect_ok(pk_config_new(&bad), "pk_config_new");
    expect_ok(pk_config_set(bad, "url", url), "set url");
    expect_ok(pk_config_set(bad, "no.such.setting", "1"), "set unknown");
    pk_schema_registry *none = NULL;
    pk_error *err = pk_schema_registry_new(bad, &none);
    CHECK(err && pk_error_get_kind(err) == PK_ERROR_KIND_CONFIG && strstr(pk_error_message(err), "no.such.setting"),
          "unknown registry key: %s", err ? pk_error_message(err) : "no error");
    pk_error_free(err);
    pk_config_free(bad);

    pk_schema_registry *r = registry_at(url);
    pk_schema v1 = {USER_V1, "AVRO", NULL}, v2 = {USER_V2, NULL, NULL}, vbad = {USER_BAD, "AVRO", NULL};
    int32_t id1 = -1, id2 = -1;
    expect_ok(pk_schema_registry_register(r, subject, &v1, false, &id1), "register v1");
    CHECK(id1 > 0, "id1 %d", id1);

    pk_registered_schema *rs = NULL;
    expect_ok(pk_schema_registry_get_latest(r, subject, &rs), "latest");
    CHECK(pk_registered_schema_id(rs) == id1 && pk_registered_schema_version(rs) >= 1, "latest id %d", pk_registered_schema_id(rs));
    CHECK(strcmp(pk_registered_schema_subject(rs), subject) == 0, "subject %s", pk_registered_schema_subject(rs));
    CHECK(strcmp(pk_registered_schema_type(rs), "AVRO") == 0, "type %s", pk_registered_schema_type(rs));
    pk_registered_schema_free(rs);
    rs = NULL;
    expect_ok(pk_schema_registry_get_by_id(r, id1, &rs), "by id");
    CHECK(strstr(pk_registered_schema_text(rs), "UserEvent") != NULL, "text %s", pk_registered_schema_text(rs));
    pk_registered_schema_free(rs);
    rs = NULL;
    expect_ok(pk_schema_registry_lookup(r, subject, &v1, false, &rs), "lookup");
    CHECK(pk_registered_schema_id(rs) == id1, "lookup id %d", pk_registered_schema_id(rs));
    pk_registered_schema_free(rs);
    rs = NULL;

    /* unknown id: the registry's 404 / 40403 */
    err = pk_schema_registry_get_by_id(r, 987654321, &rs);
    CHECK(err && pk_error_get_kind(err) == PK_ERROR_KIND_SCHEMA_REGISTRY && pk_error_registry_status(err) == 404 &&
              pk_error_registry_code(err) == 40403 && strcmp(pk_error_name(err), "_SCHEMA_REGISTRY") == 0,
          "unknown id: status %d code %d %s", err ? pk_error_registry_status(err) : 0, err ? pk_error_registry_code(err) : 0,
          err ? pk_error_message(err) : "no error");
    CHECK(rs == NULL, "no schema on error");
    pk_error_free(err);

    /* an incompatible change is refused with the registry's 409 */
    expect_ok(pk_schema_registry_set_compatibility(r, subject, "BACKWARD"), "set compatibility");
    pk_bytes *level = NULL;
    expect_ok(pk_schema_registry_get_compatibility(r, subject, &level), "get compatibility");
    CHECK(level && strcmp((const char *)pk_bytes_data(level), "BACKWARD") == 0, "level %s", level ? (const char *)pk_bytes_data(level) : "");
    pk_bytes_free(level);
    bool compatible = true;
    expect_ok(pk_schema_registry_test_compatibility(r, subject, &vbad, -1, &compatible), "test compatibility");
    CHECK(!compatible, "the bad schema was called compatible");
    int32_t idbad = -1;
    err = pk_schema_registry_register(r, subject, &vbad, false, &idbad);
    CHECK(err && pk_error_get_kind(err) == PK_ERROR_KIND_SCHEMA_REGISTRY && pk_error_registry_status(err) == 409,
          "incompatible: status %d %s", err ? pk_error_registry_status(err) : 0, err ? pk_error_message(err) : "no error");
    pk_error_free(err);

    /* serialize v1 (the first with a value as JSON text), evolve to v2, read v1 bytes as v2 */
    pk_schema_serializer *ser = NULL;
    expect_ok(pk_schema_serializer_new(r, "AVRO", &v1, NULL, &ser), "serializer");
    const char *rec = "{\"userId\":\"123\",\"eventType\":\"USER_CREATED\",\"timestamp\":1700000000000}";
    pk_bytes *b = NULL;
    expect_ok(pk_schema_serializer_serialize(ser, srtopic, false, rec, 0, &b), "serialize");
    const uint8_t *d = pk_bytes_data(b);
    CHECK(b && pk_bytes_len(b) > 5 && d[0] == 0 && ((d[1] << 24) | (d[2] << 16) | (d[3] << 8) | d[4]) == id1,
          "framing: %zu bytes", pk_bytes_len(b));
    expect_ok(pk_schema_registry_register(r, subject, &v2, false, &id2), "register v2");
    CHECK(id2 > 0 && id2 != id1, "id2 %d", id2);

    pk_schema_deserializer *de = NULL;
    expect_ok(pk_schema_deserializer_new(r, "AVRO", NULL, NULL, &de), "deserializer");
    pk_bytes *json = NULL;
    expect_ok(pk_schema_deserializer_deserialize(de, srtopic, false, pk_bytes_data(b), pk_bytes_len(b), NULL, 0, &json), "deserialize");
    CHECK(json && strcmp((const char *)pk_bytes_data(json),
                         "{\"userId\":\"123\",\"eventType\":\"USER_CREATED\",\"timestamp\":1700000000000,\"metadata\":null}") == 0,
          "decoded %s", json ? (const char *)pk_bytes_data(json) : "");
    pk_bytes_free(json);
    json = NULL;
    pk_schema_deserializer *de2 = NULL;
    expect_ok(pk_schema_deserializer_new(r, "AVRO", &v2, NULL, &de2), "deserializer v2");
    expect_ok(pk_schema_deserializer_deserialize(de2, srtopic, false, pk_bytes_data(b), pk_bytes_len(b), NULL, 0, &json), "deserialize as v2");
    CHECK(json && strstr((const char *)pk_bytes_data(json), "\"country\":\"NZ\""), "v2 %s", json ? (const char *)pk_bytes_data(json) : "");
    pk_bytes_free(json);
    json = NULL;

    /* no magic byte; unknown id in the framing */
    const uint8_t plain[] = "hello";
    err = pk_schema_deserializer_deserialize(de, srtopic, false, plain, 5, NULL, 0, &json);
    CHECK(err && pk_error_get_kind(err) == PK_ERROR_KIND_SERIALIZATION && strstr(pk_error_message(err), "magic byte"),
          "no magic byte: %s", err ? pk_error_message(err) : "no error");
    pk_error_free(err);
    const uint8_t unknown[] = {0, 0x3a, 0xde, 0x68, 0xb1, 2};
    err = pk_schema_deserializer_deserialize(de, srtopic, false, unknown, sizeof unknown, NULL, 0, &json);
    CHECK(err && pk_error_registry_code(err) == 40403, "unknown id in bytes: %s", err ? pk_error_message(err) : "no error");
    pk_error_free(err);

    /* a value not matching names the field; a batch fails that one alone */
    pk_bytes *nb = NULL;
    err = pk_schema_serializer_serialize(ser, srtopic, false, "{\"userId\":5,\"eventType\":\"x\",\"timestamp\":1}", 0, &nb);
    CHECK(err && pk_error_get_kind(err) == PK_ERROR_KIND_SERIALIZATION && strstr(pk_error_message(err), "userId"),
          "bad value: %s", err ? pk_error_message(err) : "no error");
    CHECK(nb == NULL, "no bytes for a bad value");
    pk_error_free(err);
    const char *batch[3] = {rec, "{\"userId\":\"1\"}", "not json"};
    size_t lens[3] = {0, 0, 0};
    pk_bytes *outs[3];
    pk_error *errs[3];
    expect_ok(pk_schema_serializer_serialize_batch(ser, srtopic, false, batch, lens, 3, outs, errs), "batch");
    CHECK(outs[0] && !errs[0] && pk_bytes_len(outs[0]) == pk_bytes_len(b) && memcmp(pk_bytes_data(outs[0]), pk_bytes_data(b), pk_bytes_len(b)) == 0,
          "batch[0] same bytes");
    CHECK(!outs[1] && errs[1] && strstr(pk_error_message(errs[1]), "eventType"), "batch[1]: %s", errs[1] ? pk_error_message(errs[1]) : "");
    CHECK(!outs[2] && errs[2] && pk_error_get_kind(errs[2]) == PK_ERROR_KIND_SERIALIZATION, "batch[2] not JSON");
    for (int i = 0; i < 3; i++) {
        pk_bytes_free(outs[i]);
        pk_error_free(errs[i]);
    }

    /* cancellation ends a call at once */
    pk_cancel *cancel = NULL;
    expect_ok(pk_cancel_new(&cancel), "cancel");
    pk_cancel_trigger(cancel);
    expect_ok(pk_cancel_scope_enter(cancel), "scope");
    err = pk_schema_registry_get_latest(r, "never-fetched-subject", &rs);
    pk_cancel_scope_leave();
    CHECK(err && pk_error_get_kind(err) == PK_ERROR_KIND_TIMEOUT && strstr(pk_error_message(err), "cancelled"),
          "cancelled: %s", err ? pk_error_message(err) : "no error");
    pk_error_free(err);
    pk_cancel_free(cancel);

    size_t nversions = 0;
    int32_t versions[8];
    expect_ok(pk_schema_registry_get_versions(r, subject, versions, 8, &nversions), "versions");
    CHECK(nversions == 2, "versions %zu", nversions);

    pk_bytes_free(b);
    pk_schema_deserializer_free(de);
    pk_schema_deserializer_free(de2);
    pk_schema_serializer_free(ser);
    pk_schema_registry_free(r);

    /* an unreachable registry is a retriable connection error */
    pk_schema_registry *dead = registry_at("http://127.0.0.1:1");
    err = pk_schema_registry_get_latest(dead, subject, &rs);
    CHECK(err && pk_error_get_kind(err) == PK_ERROR_KIND_CONNECTION && pk_error_retriable(err) && pk_error_registry_status(err) == 0,
          "unreachable: kind %d %s", err ? (int)pk_error_get_kind(err) : 0, err ? pk_error_message(err) : "no error");
    pk_error_free(err);
    pk_schema_registry_free(dead);
}

/* Protobuf encoded by the caller: framing written with an index path, read back with the
   message's full name from the writer schema. */
static void test_protobuf_encoded(void) {
    const char *url = getenv("SCHEMA_REGISTRY_URL");
    if (!url || !*url) {
        printf("SKIP test_protobuf_encoded: SCHEMA_REGISTRY_URL is not set\n");
        return;
    }
    char pbtopic[180];
    snprintf(pbtopic, sizeof pbtopic, "%s-pb", topic);
    pk_schema_registry *r = registry_at(url);
    pk_schema s = {"syntax = \"proto3\";\npackage t.pb;\nmessage A { string x = 1; }\n"
                   "message B { message Inner { int32 n = 1; } Inner inner = 1; }\n",
                   "PROTOBUF", NULL};
    pk_schema_serializer *ser = NULL;
    expect_ok(pk_schema_serializer_new(r, "PROTOBUF", &s, NULL, &ser), "protobuf serializer");
    const int32_t path[2] = {1, 0};
    const uint8_t payload[2] = {0x08, 0x07}; /* Inner{n: 7} */
    pk_bytes *b = NULL;
    expect_ok(pk_schema_serializer_serialize_encoded(ser, pbtopic, false, NULL, path, 2, payload, 2, &b), "serialize_encoded");
    pk_schema_deserializer *de = NULL;
    expect_ok(pk_schema_deserializer_new(r, "PROTOBUF", NULL, NULL, &de), "protobuf deserializer");
    pk_encoded_record *rec = NULL;
    expect_ok(pk_schema_deserializer_deserialize_encoded(de, pk_bytes_data(b), pk_bytes_len(b), NULL, 0, &rec), "deserialize_encoded");
    size_t n = 0, pn = 0;
    const int32_t *idx = pk_encoded_record_indexes(rec, &n);
    const uint8_t *p = pk_encoded_record_payload(rec, &pn);
    CHECK(rec && pk_encoded_record_schema_id(rec) > 0 && n == 2 && idx[0] == 1 && idx[1] == 0, "indexes (%zu)", n);
    CHECK(pn == 2 && memcmp(p, payload, 2) == 0, "payload (%zu bytes)", pn);
    CHECK(strcmp(pk_encoded_record_message_name(rec), "t.pb.B.Inner") == 0, "message name %s", pk_encoded_record_message_name(rec));
    CHECK(pk_encoded_record_message_name(NULL) == NULL, "NULL record has no name");
    pk_encoded_record_free(rec);

    /* an index path with no message in the schema names the path */
    const int32_t far[1] = {5};
    pk_bytes *b2 = NULL;
    expect_ok(pk_schema_serializer_serialize_encoded(ser, pbtopic, false, NULL, far, 1, payload, 2, &b2), "serialize_encoded [5]");
    rec = NULL;
    pk_error *err = pk_schema_deserializer_deserialize_encoded(de, pk_bytes_data(b2), pk_bytes_len(b2), NULL, 0, &rec);
    CHECK(err && rec == NULL && pk_error_get_kind(err) == PK_ERROR_KIND_SERIALIZATION && strstr(pk_error_message(err), "index path [5]"),
          "index path [5]: %s", err ? pk_error_message(err) : "no error");
    pk_error_free(err);
    pk_bytes_free(b);
    pk_bytes_free(b2);
    pk_schema_deserializer_free(de);
    pk_schema_serializer_free(ser);
    pk_schema_registry_free(r);
}

/* Statistics snapshots: JSON text in librdkafka's layout with the counts of what was done. */
static void test_stats(void) {
    char t[160], want[200];
    snprintf(t, sizeof t, "%s-stats", topic);
    create_topic(t, 1);
    pk_producer *p = producer(NULL, NULL, NULL, NULL);
    for (int i = 0; i < 6; i++) {
        pk_record r = record(t, "k", "stats-value", (uint64_t)i);
        expect_ok(pk_producer_produce(p, &r), "produce");
    }
    expect_ok(pk_producer_flush(p, 30000), "flush");
    char *json = NULL;
    expect_ok(pk_producer_stats_json(p, &json), "producer stats");
    CHECK(json && strstr(json, "\"type\":\"producer\"") && strstr(json, "\"txmsgs\":6,"), "producer stats: %s", json ? json : "NULL");
    snprintf(want, sizeof want, "\"topic\":\"%s\"", t);
    CHECK(json && strstr(json, want) && strstr(json, "\"partitions\":{\"0\":{") && strstr(json, "\"rtt\":{"),
          "topic, partition and rtt in %s", json ? json : "NULL");
    pk_string_free(json);
    expect_error(pk_producer_stats_json(p, NULL), PK_ERROR_KIND_INVALID_ARGUMENT, "stats without out_json");
    expect_ok(pk_producer_close(p, 10000), "close");
    pk_producer_free(p);
    expect_error(pk_producer_stats_json(NULL, &json), PK_ERROR_KIND_INVALID_ARGUMENT, "stats of NULL producer");

    pk_consumer *c = consumer(NULL, NULL, NULL, NULL, NULL);
    pk_topic_partition tp = {t, 0, 0, PK_OFFSET_BEGINNING};
    expect_ok(pk_consumer_assign(c, &tp, 1), "assign");
    int64_t offsets[8];
    int got = consume(c, 6, offsets, NULL);
    CHECK(got == 6, "consumed %d", got);
    json = NULL;
    expect_ok(pk_consumer_stats_json(c, &json), "consumer stats");
    CHECK(json && strstr(json, "\"type\":\"consumer\"") && strstr(json, "\"rxmsgs\":6,") && strstr(json, "\"hi_offset\":6,") &&
              strstr(json, "\"app_offset\":6,"), "consumer stats: %s", json ? json : "NULL");
    pk_string_free(json);
    pk_string_free(NULL);
    expect_ok(pk_consumer_close(c), "close");
    pk_consumer_free(c);
}

/* The header `key` of `r` as a string in `out` ("" when absent). */
static void header_of(const pk_consumer_record *r, const char *key, char *out, size_t size) {
    out[0] = 0;
    for (size_t i = 0; i < r->headers_len; i++)
        if (strcmp(r->headers[i].key, key) == 0)
            snprintf(out, size, "%.*s", (int)r->headers[i].value_len, (const char *)r->headers[i].value);
}

/* The retry and dead-letter path: record 1 fails 3 times (2 retries in place, its partition
 * paused and moved back), is dead-lettered with its headers and the dead-letter ones, and the
 * group's offset is committed past it; record 2 follows. Bad settings are config errors. */
static void test_dead_letter(void) {
    char t[160], dlq[160], group[160];
    snprintf(t, sizeof t, "%s-dl", topic);
    snprintf(dlq, sizeof dlq, "%s-dl-dlq", topic);
    snprintf(group, sizeof group, "%s-dl-g", topic);
    create_topic(t, 1);
    create_topic(dlq, 1);
    produce_n(t, 0, 3, "dl");
    const char *topics[] = {t};
    pk_consumer *c = consumer(group, "auto.offset.reset", "earliest", "enable.auto.commit", "false");
    expect_ok(pk_consumer_subscribe(c, topics, 1), "subscribe");

    pk_dead_letter_queue *q = NULL;
    pk_config *s = NULL;
    expect_ok(pk_config_new(&s), "settings");
    expect_ok(pk_config_set(s, "dlq.backoff.multiplier", "0.5"), "multiplier");
    expect_error(pk_dead_letter_queue_new(c, s, &q), PK_ERROR_KIND_CONFIG, "multiplier 0.5");
    expect_ok(pk_config_set(s, "dlq.backoff.multiplier", "2"), "multiplier");
    expect_ok(pk_config_set(s, "dlq.max.retries", "two"), "max.retries");
    expect_error(pk_dead_letter_queue_new(c, s, &q), PK_ERROR_KIND_CONFIG, "max.retries two");
    expect_ok(pk_config_set(s, "dlq.max.retries", "2"), "max.retries");
    expect_ok(pk_config_set(s, "no.such.producer.key", "1"), "unknown key");
    expect_error(pk_dead_letter_queue_new(c, s, &q), PK_ERROR_KIND_CONFIG, "unknown producer key");
    pk_config_free(s);
    expect_error(pk_dead_letter_queue_new(NULL, NULL, &q), PK_ERROR_KIND_INVALID_ARGUMENT, "NULL consumer");
    expect_error(pk_dead_letter_queue_new(c, NULL, NULL), PK_ERROR_KIND_INVALID_ARGUMENT, "NULL out");
    CHECK(q == NULL, "no queue made");
    s = NULL;
    expect_ok(pk_config_new(&s), "settings");
    expect_ok(pk_config_set(s, "dlq.topic", dlq), "dlq.topic");
    expect_ok(pk_config_set(s, "dlq.max.retries", "2"), "max.retries");
    expect_ok(pk_config_set(s, "dlq.backoff.ms", "100"), "backoff");
    expect_ok(pk_config_set(s, "acks", "all"), "acks");
    expect_ok(pk_dead_letter_queue_new(c, s, &q), "dead_letter_queue_new");
    pk_config_free(s);

    int attempts = 0, done = 0, skipped = 0, order_ok = 1, handled = 0;
    pk_dead_letter_outcome last;
    memset(&last, 0, sizeof last);
    time_t start = time(NULL);
    while (!done && time(NULL) - start < 30) {
        int64_t next = 0;
        expect_ok(pk_dead_letter_queue_resume_due(q, &next), "resume_due");
        pk_message_batch *b = NULL;
        pk_error *err = pk_consumer_poll_batch(c, 10, next >= 0 && next < 500 ? (int32_t)next : 500, &b);
        expect_ok(err, "poll_batch");
        if (err) break;
        for (size_t i = 0; i < b->len; i++) {
            const pk_consumer_record *r = &b->records[i];
            int skip = -1;
            expect_ok(pk_dead_letter_queue_skip(q, r, &skip), "skip");
            if (skip) {
                skipped++;
                continue;
            }
            /* The handler: record 1 always fails; the others succeed, in order. */
            if (r->offset != handled) order_ok = 0;
            if (r->offset == 1) {
                attempts++;
                expect_ok(pk_dead_letter_queue_failed(q, r, "boom", "test_error", &last), "failed");
                if (last.action == PK_DEAD_LETTER_DEAD_LETTERED) handled++;
                continue;
            }
            expect_ok(pk_dead_letter_queue_succeeded(q, r->topic, r->partition, r->offset), "succeeded");
            pk_topic_partition past = {r->topic, 0, r->partition, r->offset + 1};
            expect_ok(pk_consumer_commit(c, &past, 1), "commit");
            handled++;
            if (r->offset == 2) done = 1;
        }
        pk_message_batch_free(b);
    }
    CHECK(done && order_ok, "records handled in order to the end (done %d, order %d)", done, order_ok);
    CHECK(attempts == 3, "record 1 tried %d times, want 3", attempts);
    CHECK(last.action == PK_DEAD_LETTER_DEAD_LETTERED && last.copy_partition == 0 && last.copy_offset == 0,
          "dead-lettered: action %d copy %d@%" PRId64, (int)last.action, last.copy_partition, last.copy_offset);
    pk_topic_partition cq = {t, 0, 0, -7};
    expect_ok(pk_consumer_committed(c, &cq, 1, 10000), "committed");
    CHECK(cq.offset == 3, "committed %" PRId64 ", want 3", cq.offset);

    /* NULL arguments and a closed queue: typed errors. */
    int skip = 0;
    int64_t next = 0;
    expect_error(pk_dead_letter_queue_failed(NULL, NULL, "e", NULL, NULL), PK_ERROR_KIND_INVALID_ARGUMENT, "failed NULL queue");
    expect_error(pk_dead_letter_queue_failed(q, NULL, "e", NULL, NULL), PK_ERROR_KIND_INVALID_ARGUMENT, "failed NULL record");
    expect_error(pk_dead_letter_queue_undecodable(q, NULL, "e", NULL), PK_ERROR_KIND_INVALID_ARGUMENT, "undecodable NULL record");
    expect_error(pk_dead_letter_queue_succeeded(q, NULL, 0, 0), PK_ERROR_KIND_INVALID_ARGUMENT, "succeeded NULL topic");
    expect_error(pk_dead_letter_queue_skip(q, NULL, &skip), PK_ERROR_KIND_INVALID_ARGUMENT, "skip NULL record");
    expect_error(pk_dead_letter_queue_resume_due(q, NULL), PK_ERROR_KIND_INVALID_ARGUMENT, "resume_due NULL out");
    expect_ok(pk_dead_letter_queue_close(q, 10000), "close");
    expect_ok(pk_dead_letter_queue_close(q, 10000), "close again");
    expect_error(pk_dead_letter_queue_resume_due(q, &next), PK_ERROR_KIND_CLOSED, "resume_due after close");
    pk_dead_letter_queue_free(q);
    pk_dead_letter_queue_free(NULL);
    expect_ok(pk_consumer_close(c), "close consumer");
    pk_consumer_free(c);

    /* The copy: key, value, the seed's header, then the dead-letter headers. */
    pk_consumer *r = consumer(NULL, NULL, NULL, NULL, NULL);
    pk_topic_partition at = {dlq, 0, 0, PK_OFFSET_BEGINNING};
    expect_ok(pk_consumer_assign(r, &at, 1), "assign dlq");
    pk_message_batch *b = NULL;
    for (time_t st = time(NULL); time(NULL) - st < 30;) {
        pk_message_batch_free(b);
        b = NULL;
        pk_error *err = pk_consumer_poll_batch(r, 10, 500, &b);
        expect_ok(err, "poll dlq");
        if (err || b->len > 0) break;
    }
    CHECK(b && b->len == 1, "one copy, got %zu", b ? b->len : 0);
    if (b && b->len == 1) {
        const pk_consumer_record *copy = &b->records[0];
        char h[5][64];
        header_of(copy, "h", h[0], sizeof h[0]);
        header_of(copy, "retry-count", h[1], sizeof h[1]);
        header_of(copy, "original-offset", h[2], sizeof h[2]);
        header_of(copy, "error", h[3], sizeof h[3]);
        header_of(copy, "error-type", h[4], sizeof h[4]);
        CHECK(copy->value_len == 4 && memcmp(copy->value, "dl-1", 4) == 0 && copy->key_len == 5 && memcmp(copy->key, "key-1", 5) == 0,
              "copy %.*s", (int)copy->value_len, (const char *)copy->value);
        CHECK(strcmp(h[0], "hv") == 0 && strcmp(h[1], "2") == 0 && strcmp(h[2], "1") == 0 && strcmp(h[3], "boom") == 0 &&
                  strcmp(h[4], "test_error") == 0,
              "headers h=%s retry-count=%s original-offset=%s error=%s error-type=%s", h[0], h[1], h[2], h[3], h[4]);
    }
    pk_message_batch_free(b);
    expect_ok(pk_consumer_close(r), "close reader");
    pk_consumer_free(r);
}


static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Streams: what the batch callbacks of one instance saw. */
typedef struct {
    uint32_t filter_node, key_node;
    int calls, records, max_batch, fail_at;
    int states_running, failures, failure_kind;
    int64_t failure_offset;
    char failure_topic[128];
} streams_ctx;

static int value_number(const pk_stream_record *r) {
    char buf[32];
    size_t n = r->value_len < sizeof buf - 1 ? r->value_len : sizeof buf - 1;
    memcpy(buf, r->value, n);
    buf[n] = 0;
    const char *dash = strrchr(buf, '-');
    return dash ? atoi(dash + 1) : -1;
}

/* The chain: filter (even numbers), then the key becomes "k<number % 3>". One call per batch. */
static void chain_cb(void *user, const uint32_t *chain, size_t chain_len, const pk_stream_record *records, size_t n, pk_chain_output *out) {
    streams_ctx *ctx = user;
    __atomic_add_fetch(&ctx->calls, 1, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&ctx->records, (int)n, __ATOMIC_SEQ_CST);
    if ((int)n > __atomic_load_n(&ctx->max_batch, __ATOMIC_SEQ_CST)) __atomic_store_n(&ctx->max_batch, (int)n, __ATOMIC_SEQ_CST);
    for (size_t i = 0; i < n; i++) {
        int num = value_number(&records[i]);
        if (num == ctx->fail_at) {
            pk_error_free(pk_chain_output_fail(out, i, PK_FAILURE_USER, "the number is not allowed"));
            return;
        }
        const uint8_t *key = records[i].key;
        size_t key_len = records[i].key_len;
        char newkey[8];
        int keep = 1;
        for (size_t c = 0; c < chain_len && keep; c++) {
            if (chain[c] == ctx->filter_node) keep = num % 2 == 0;
            else if (chain[c] == ctx->key_node) {
                key_len = (size_t)snprintf(newkey, sizeof newkey, "k%d", num % 3);
                key = (const uint8_t *)newkey;
            }
        }
        if (keep) pk_error_free(pk_chain_output_push(out, i, 0, key, key_len, records[i].value, records[i].value_len, records[i].timestamp));
    }
}

static void state_cb(void *user, pk_streams_state new_state, pk_streams_state old_state) {
    streams_ctx *ctx = user;
    (void)old_state;
    if (new_state == PK_STREAMS_RUNNING) __atomic_add_fetch(&ctx->states_running, 1, __ATOMIC_SEQ_CST);
}

static void failure_cb(void *user, const pk_streams_failure *f) {
    streams_ctx *ctx = user;
    ctx->failure_kind = f->kind;
    ctx->failure_offset = f->offset;
    snprintf(ctx->failure_topic, sizeof ctx->failure_topic, "%s", f->topic ? f->topic : "");
    __atomic_add_fetch(&ctx->failures, 1, __ATOMIC_SEQ_CST);
}

/* A streams configuration for the test broker, committing often. */
static pk_config *streams_config(const char *app) {
    pk_config *c = NULL;
    expect_ok(pk_config_new(&c), "config");
    expect_ok(pk_config_set(c, "bootstrap.servers", bootstrap), "bootstrap");
    expect_ok(pk_config_set(c, "application.id", app), "application.id");
    expect_ok(pk_config_set(c, "commit.interval.ms", "200"), "commit.interval.ms");
    expect_ok(pk_config_set(c, "consumer.fetch.max.wait.ms", "100"), "fetch.max.wait.ms");
    return c;
}

/* source -> [filter, key] (one fused chain) -> repartition -> count -> to_stream -> sink. */
static pk_kafka_streams *count_app(const char *in, const char *out, const char *app, streams_ctx *ctx) {
    pk_topology_builder *b = NULL;
    expect_ok(pk_topology_builder_new(&b), "builder_new");
    uint32_t src = 0, rep = 0, count = 0, ts = 0, sink = 0;
    const char *topics[] = {in};
    expect_ok(pk_topology_builder_source(b, topics, 1, &src), "source");
    expect_ok(pk_topology_builder_user(b, src, &ctx->filter_node), "user filter");
    expect_ok(pk_topology_builder_user(b, ctx->filter_node, &ctx->key_node), "user key");
    expect_ok(pk_topology_builder_repartition(b, ctx->key_node, "c-grouped", &rep), "repartition");
    expect_ok(pk_topology_builder_aggregate(b, rep, "c-counts", PK_AGGREGATE_COUNT, NULL, &count), "count");
    expect_ok(pk_topology_builder_to_stream(b, count, &ts), "to_stream");
    expect_ok(pk_topology_builder_sink(b, ts, out, &sink), "sink");
    char *names = NULL;
    expect_ok(pk_topology_builder_internal_names(b, &names), "internal_names");
    CHECK(names && strcmp(names, "repartition c-grouped\nstore c-counts\n") == 0, "names %s", names ? names : "(null)");
    pk_string_free(names);
    pk_config *c = streams_config(app);
    pk_kafka_streams *s = NULL;
    expect_ok(pk_kafka_streams_new(b, c, chain_cb, NULL, ctx, &s), "streams_new");
    /* The builder was used: */
    expect_error(pk_topology_builder_user(b, src, &sink), PK_ERROR_KIND_INVALID_ARGUMENT, "builder after new");
    expect_error(pk_kafka_streams_new(b, c, chain_cb, NULL, ctx, &s), PK_ERROR_KIND_INVALID_ARGUMENT, "builder used twice");
    pk_topology_builder_free(b);
    pk_config_free(c);
    if (s) {
        expect_ok(pk_kafka_streams_set_state_listener(s, state_cb, ctx), "state listener");
        expect_ok(pk_kafka_streams_set_failure_handler(s, failure_cb, ctx), "failure handler");
    }
    return s;
}

static int64_t store_count(pk_kafka_streams *s, const char *key) {
    pk_store_entries *e = NULL;
    pk_error *err = pk_kafka_streams_store_get(s, "c-counts", (const uint8_t *)key, strlen(key), &e);
    int64_t v = -1;
    if (err == NULL && e->len == 1 && e->entries[0].value_len == 8) {
        v = 0;
        for (int i = 0; i < 8; i++) v = (v << 8) | e->entries[0].value[i];
    } else if (err == NULL && e->len == 0) {
        v = 0;
    }
    pk_error_free(err);
    pk_store_entries_free(e);
    return v;
}

static void test_streams(void) {
    char in[160], out[160], app[160];
    snprintf(in, sizeof in, "%s-streams-in", topic);
    snprintf(out, sizeof out, "%s-streams-out", topic);
    snprintf(app, sizeof app, "%s-streams-app", topic);
    create_topic(in, 1);
    create_topic(out, 1);
    produce_n(in, 0, 40, "value");
    streams_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.fail_at = -1;
    pk_kafka_streams *s = count_app(in, out, app, &ctx);
    if (!s) return;
    pk_streams_state st;
    expect_ok(pk_kafka_streams_state(s, &st), "state");
    CHECK(st == PK_STREAMS_CREATED, "state %d", (int)st);
    expect_ok(pk_kafka_streams_start(s), "start");
    expect_error(pk_kafka_streams_start(s), PK_ERROR_KIND_INVALID_ARGUMENT, "start twice");
    /* Even numbers of 0..39 by number % 3: k0 7, k1 6, k2 7. */
    time_t start = time(NULL);
    while (time(NULL) - start < 90 && !(store_count(s, "k0") == 7 && store_count(s, "k1") == 6 && store_count(s, "k2") == 7)) sleep_ms(200);
    CHECK(store_count(s, "k0") == 7 && store_count(s, "k1") == 6 && store_count(s, "k2") == 7, "counts %" PRId64 " %" PRId64 " %" PRId64,
          store_count(s, "k0"), store_count(s, "k1"), store_count(s, "k2"));
    int calls = __atomic_load_n(&ctx.calls, __ATOMIC_SEQ_CST), records = __atomic_load_n(&ctx.records, __ATOMIC_SEQ_CST);
    CHECK(records == 40 && calls < records && ctx.max_batch > 1, "%d records in %d calls (largest batch %d): one call per batch", records, calls, ctx.max_batch);
    pk_store_entries *all = NULL;
    expect_ok(pk_kafka_streams_store_all(s, "c-counts", &all), "store_all");
    CHECK(all && all->len == 3 && all->entries[0].key_len == 2 && memcmp(all->entries[0].key, "k0", 2) == 0, "all: %zu entries", all ? all->len : 0);
    pk_store_entries_free(all);
    pk_store_entries *r = NULL;
    expect_ok(pk_kafka_streams_store_range(s, "c-counts", (const uint8_t *)"k1", 2, NULL, 0, &r), "store_range");
    CHECK(r && r->len == 2, "range from k1: %zu entries", r ? r->len : 0);
    pk_store_entries_free(r);
    expect_error(pk_kafka_streams_store_all(s, "nope", &r), PK_ERROR_KIND_INVALID_ARGUMENT, "unknown store");
    expect_error(pk_kafka_streams_store_fetch(s, "c-counts", (const uint8_t *)"k1", 2, 0, 1, &r), PK_ERROR_KIND_INVALID_ARGUMENT, "fetch of a key-value store");
    pk_streams_metrics m;
    expect_ok(pk_kafka_streams_metrics(s, &m), "metrics");
    CHECK(m.processed >= 40, "processed %" PRIu64, m.processed);
    bool finished = false;
    expect_ok(pk_kafka_streams_close(s, 30000, &finished), "close");
    CHECK(finished, "closed in time");
    expect_ok(pk_kafka_streams_state(s, &st), "state");
    CHECK(st == PK_STREAMS_NOT_RUNNING, "state after close %d", (int)st);
    CHECK(__atomic_load_n(&ctx.states_running, __ATOMIC_SEQ_CST) >= 1, "the listener saw RUNNING");
    pk_kafka_streams_free(s);

    /* A failing callback: the failure handler gets the record, the state becomes ERROR. */
    char app2[170];
    snprintf(app2, sizeof app2, "%s-fail", app);
    streams_ctx ctx2;
    memset(&ctx2, 0, sizeof ctx2);
    ctx2.fail_at = 5;
    s = count_app(in, out, app2, &ctx2);
    if (!s) return;
    expect_ok(pk_kafka_streams_start(s), "start");
    start = time(NULL);
    while (time(NULL) - start < 60 && __atomic_load_n(&ctx2.failures, __ATOMIC_SEQ_CST) == 0) sleep_ms(100);
    CHECK(ctx2.failures == 1 && ctx2.failure_kind == PK_FAILURE_USER && ctx2.failure_offset == 5 && strcmp(ctx2.failure_topic, in) == 0,
          "failure %d kind %d offset %" PRId64 " topic %s", ctx2.failures, ctx2.failure_kind, ctx2.failure_offset, ctx2.failure_topic);
    start = time(NULL);
    do {
        expect_ok(pk_kafka_streams_state(s, &st), "state");
        if (st != PK_STREAMS_ERROR) sleep_ms(100);
    } while (st != PK_STREAMS_ERROR && time(NULL) - start < 30);
    CHECK(st == PK_STREAMS_ERROR, "state %d", (int)st);
    pk_kafka_streams_free(s); /* closes */
}

/* to() with a topic per record: the combine callback names each record's topic (even or odd
 * number), or fails at ctx.base.fail_at. */
typedef struct {
    streams_ctx base;
    char even[170], odd[170];
    uint32_t sink;
    int calls, wrong_node;
} per_record_ctx;

static void topic_cb(void *user, uint32_t node, const pk_stream_record *records, const pk_operand *operands, size_t n, pk_combine_output *out) {
    per_record_ctx *ctx = user;
    __atomic_add_fetch(&ctx->calls, 1, __ATOMIC_SEQ_CST);
    if (node != ctx->sink) __atomic_add_fetch(&ctx->wrong_node, 1, __ATOMIC_SEQ_CST);
    for (size_t i = 0; i < n; i++) {
        if (operands[i].data != NULL) __atomic_add_fetch(&ctx->wrong_node, 1, __ATOMIC_SEQ_CST);
        int num = value_number(&records[i]);
        if (num == ctx->base.fail_at) {
            pk_error_free(pk_combine_output_fail(out, i, PK_FAILURE_USER, "no topic for this number"));
            return;
        }
        const char *t = num % 2 == 0 ? ctx->even : ctx->odd;
        pk_error_free(pk_combine_output_push(out, (const uint8_t *)t, strlen(t)));
    }
}

static pk_kafka_streams *per_record_app(const char *in, const char *app, per_record_ctx *ctx) {
    pk_topology_builder *b = NULL;
    expect_ok(pk_topology_builder_new(&b), "builder_new");
    uint32_t src = 0;
    const char *topics[] = {in};
    expect_ok(pk_topology_builder_source(b, topics, 1, &src), "source");
    expect_ok(pk_topology_builder_sink_per_record(b, src, &ctx->sink), "sink_per_record");
    pk_config *c = streams_config(app);
    pk_kafka_streams *s = NULL;
    expect_ok(pk_kafka_streams_new(b, c, chain_cb, topic_cb, ctx, &s), "streams_new");
    pk_topology_builder_free(b);
    pk_config_free(c);
    if (s) expect_ok(pk_kafka_streams_set_failure_handler(s, failure_cb, &ctx->base), "failure handler");
    return s;
}

/* Reads the values of partition 0 of `t` from the beginning (up to `want`). */
static int read_values(const char *t, int want, char values[][48]) {
    pk_consumer *c = consumer(NULL, NULL, NULL, NULL, NULL);
    pk_topic_partition at = {t, 0, 0, PK_OFFSET_BEGINNING};
    expect_ok(pk_consumer_assign(c, &at, 1), "assign");
    int got = consume(c, want, NULL, values);
    expect_ok(pk_consumer_close(c), "close");
    pk_consumer_free(c);
    return got;
}

static void test_streams_per_record(void) {
    char in[160], app[170];
    snprintf(in, sizeof in, "%s-per-record-in", topic);
    create_topic(in, 1);
    produce_n(in, 0, 20, "value");
    for (int run = 0; run < 2; run++) {
        per_record_ctx ctx;
        memset(&ctx, 0, sizeof ctx);
        ctx.base.fail_at = run == 0 ? -1 : 9;
        snprintf(ctx.even, sizeof ctx.even, "%s-per-record-even-%d", topic, run);
        snprintf(ctx.odd, sizeof ctx.odd, "%s-per-record-odd-%d", topic, run);
        snprintf(app, sizeof app, "%s-per-record-app-%d", topic, run);
        create_topic(ctx.even, 1);
        create_topic(ctx.odd, 1);
        pk_kafka_streams *s = per_record_app(in, app, &ctx);
        if (!s) return;
        expect_ok(pk_kafka_streams_start(s), "start");
        char values[24][48];
        if (run == 0) {
            /* value-0..19: the 10 even numbers in one topic, the 10 odd ones in the other. */
            for (int odd = 0; odd < 2; odd++) {
                int got = read_values(odd ? ctx.odd : ctx.even, 10, values);
                int right = 0;
                for (int i = 0; i < got; i++) right += atoi(strchr(values[i], '-') + 1) % 2 == odd;
                CHECK(got == 10 && right == 10, "%s topic: %d records, %d of the right parity", odd ? "odd" : "even", got, right);
            }
            CHECK(ctx.calls >= 1 && ctx.wrong_node == 0, "%d calls, %d with a wrong node or an operand", ctx.calls, ctx.wrong_node);
        } else {
            time_t start = time(NULL);
            while (time(NULL) - start < 60 && __atomic_load_n(&ctx.base.failures, __ATOMIC_SEQ_CST) == 0) sleep_ms(100);
            CHECK(ctx.base.failures == 1 && ctx.base.failure_kind == PK_FAILURE_USER && ctx.base.failure_offset == 9 && strcmp(ctx.base.failure_topic, in) == 0,
                  "failure %d kind %d offset %" PRId64 " topic %s", ctx.base.failures, ctx.base.failure_kind, ctx.base.failure_offset, ctx.base.failure_topic);
            pk_streams_state st;
            do {
                expect_ok(pk_kafka_streams_state(s, &st), "state");
                if (st != PK_STREAMS_ERROR) sleep_ms(100);
            } while (st != PK_STREAMS_ERROR && time(NULL) - start < 60);
            CHECK(st == PK_STREAMS_ERROR, "state %d", (int)st);
        }
        pk_kafka_streams_free(s);
    }
    uint32_t node = 0;
    expect_error(pk_topology_builder_sink_per_record(NULL, 0, &node), PK_ERROR_KIND_INVALID_ARGUMENT, "sink_per_record NULL builder");
    pk_topology_builder *b = NULL;
    expect_ok(pk_topology_builder_new(&b), "builder_new");
    expect_error(pk_topology_builder_sink_per_record(b, 3, &node), PK_ERROR_KIND_INVALID_ARGUMENT, "sink_per_record of no node");
    const char *topics[] = {"t"};
    uint32_t src = 0;
    expect_ok(pk_topology_builder_source(b, topics, 1, &src), "source");
    expect_error(pk_topology_builder_sink_per_record(b, src, NULL), PK_ERROR_KIND_INVALID_ARGUMENT, "sink_per_record NULL out");
    pk_topology_builder_free(b);
}

static void test_streams_errors(void) {
    uint32_t node = 0, a = 0, j = 0;
    pk_topology_builder *b = NULL;
    expect_error(pk_topology_builder_new(NULL), PK_ERROR_KIND_INVALID_ARGUMENT, "builder_new NULL");
    expect_error(pk_topology_builder_user(NULL, 0, &node), PK_ERROR_KIND_INVALID_ARGUMENT, "user NULL builder");
    expect_ok(pk_topology_builder_new(&b), "builder_new");
    expect_error(pk_topology_builder_source(b, NULL, 1, &node), PK_ERROR_KIND_INVALID_ARGUMENT, "source NULL topics");
    const char *none[] = {NULL};
    expect_error(pk_topology_builder_source(b, none, 1, &node), PK_ERROR_KIND_INVALID_ARGUMENT, "source NULL topic");
    expect_error(pk_topology_builder_source(b, none, 0, &node), PK_ERROR_KIND_INVALID_ARGUMENT, "source no topic");
    const char *topics[] = {"t"};
    expect_error(pk_topology_builder_source(b, topics, 1, NULL), PK_ERROR_KIND_INVALID_ARGUMENT, "source NULL out");
    expect_ok(pk_topology_builder_source(b, topics, 1, &node), "source");
    expect_error(pk_topology_builder_user(b, 99, &a), PK_ERROR_KIND_INVALID_ARGUMENT, "user of no node");
    expect_error(pk_topology_builder_sink(b, node, "", &a), PK_ERROR_KIND_INVALID_ARGUMENT, "sink empty topic");
    expect_error(pk_topology_builder_sink(b, node, NULL, &a), PK_ERROR_KIND_INVALID_ARGUMENT, "sink NULL topic");
    expect_error(pk_topology_builder_repartition(b, node, "bad name", &a), PK_ERROR_KIND_INVALID_ARGUMENT, "repartition bad name");
    expect_error(pk_topology_builder_aggregate(b, node, "s", 7, NULL, &a), PK_ERROR_KIND_INVALID_ARGUMENT, "aggregate bad kind");
    pk_time_windows w = {0, 0, 0};
    expect_error(pk_topology_builder_aggregate(b, node, "s", PK_AGGREGATE_COUNT, &w, &a), PK_ERROR_KIND_INVALID_ARGUMENT, "zero window");
    expect_error(pk_time_windows_check(&w), PK_ERROR_KIND_INVALID_ARGUMENT, "windows_check");
    expect_error(pk_time_windows_check(NULL), PK_ERROR_KIND_INVALID_ARGUMENT, "windows_check NULL");
    pk_time_windows hop = {60000, 30000, 1000};
    expect_ok(pk_time_windows_check(&hop), "hopping windows");
    expect_ok(pk_topology_builder_aggregate(b, node, "s", PK_AGGREGATE_COUNT, &hop, &a), "windowed count");
    expect_error(pk_topology_builder_join_table(b, node, a, true, &j), PK_ERROR_KIND_INVALID_ARGUMENT, "join with a windowed table");
    pk_join_windows jw = {-5, 1, 0};
    expect_error(pk_join_windows_check(&jw), PK_ERROR_KIND_INVALID_ARGUMENT, "join windows");
    uint32_t t1 = 0, t2 = 0, t3 = 0;
    expect_error(pk_topology_builder_stream_join(b, node, node, &jw, PK_JOIN_INNER, NULL, &t1, &t2, &t3), PK_ERROR_KIND_INVALID_ARGUMENT, "stream join bad windows");
    expect_error(pk_topology_builder_suppress(b, node, NULL, 0, 0, &t1, NULL), PK_ERROR_KIND_INVALID_ARGUMENT, "suppress of a stream");
    char *store = NULL;
    expect_ok(pk_topology_builder_suppress(b, a, NULL, 0, 0, &t1, &store), "suppress");
    CHECK(store && strncmp(store, "KTABLE-SUPPRESS-STATE-STORE-", 28) == 0, "suppress store %s", store ? store : "(null)");
    pk_string_free(store);
    char *name = NULL;
    expect_ok(pk_topology_builder_aggregate_store_name(b, NULL, true, &name), "store name");
    CHECK(name && strncmp(name, "KSTREAM-REDUCE-STATE-STORE-", 27) == 0, "store name %s", name ? name : "(null)");
    pk_string_free(name);
    pk_config *c = NULL;
    pk_kafka_streams *s = NULL;
    expect_ok(pk_config_new(&c), "config");
    expect_error(pk_kafka_streams_new(b, c, NULL, NULL, NULL, &s), PK_ERROR_KIND_INVALID_ARGUMENT, "new without run_chain");
    expect_error(pk_kafka_streams_new(b, c, chain_cb, NULL, NULL, &s), PK_ERROR_KIND_CONFIG, "new without application.id");
    expect_error(pk_kafka_streams_new(b, NULL, chain_cb, NULL, NULL, &s), PK_ERROR_KIND_INVALID_ARGUMENT, "new without config");
    pk_config_free(c);
    pk_topology_builder_free(b);

    pk_streams_state st;
    expect_error(pk_kafka_streams_state(NULL, &st), PK_ERROR_KIND_INVALID_ARGUMENT, "state NULL");
    expect_error(pk_kafka_streams_start(NULL), PK_ERROR_KIND_INVALID_ARGUMENT, "start NULL");
    expect_error(pk_kafka_streams_close(NULL, 0, NULL), PK_ERROR_KIND_INVALID_ARGUMENT, "close NULL");
    pk_store_entries *e = NULL;
    expect_error(pk_kafka_streams_store_get(NULL, "s", NULL, 0, &e), PK_ERROR_KIND_INVALID_ARGUMENT, "store_get NULL");
    expect_error(pk_chain_output_push(NULL, 0, 0, NULL, 0, NULL, 0, 0), PK_ERROR_KIND_INVALID_ARGUMENT, "push NULL output");
    expect_error(pk_combine_output_push(NULL, NULL, 0), PK_ERROR_KIND_INVALID_ARGUMENT, "combine push NULL output");
    pk_kafka_streams_free(NULL);
    pk_topology_builder_free(NULL);
    pk_store_entries_free(NULL);

    /* Windowed keys: Kafka Streams' time-windowed format, through the core. */
    uint8_t buf[16];
    size_t len = 0, key_len = 0;
    int64_t start_ms = 0;
    expect_ok(pk_windowed_key_encode((const uint8_t *)"abc", 3, 1767225600000LL, buf, sizeof buf, &len), "windowed encode");
    CHECK(len == 11 && memcmp(buf, "abc", 3) == 0 && buf[3] == 0 && buf[10] == 0x00 && buf[9] == 0xa8, "encoded %zu bytes", len);
    expect_ok(pk_windowed_key_decode(buf, len, &key_len, &start_ms), "windowed decode");
    CHECK(key_len == 3 && start_ms == 1767225600000LL, "decoded %zu %" PRId64, key_len, start_ms);
    expect_error(pk_windowed_key_decode(buf, 5, &key_len, &start_ms), PK_ERROR_KIND_SERIALIZATION, "short windowed key");
    expect_error(pk_windowed_key_encode((const uint8_t *)"abc", 3, 0, buf, 4, &len), PK_ERROR_KIND_INVALID_ARGUMENT, "small buffer");
    CHECK(strcmp(pk_error_kind_name(PK_ERROR_KIND_INVALID_ARGUMENT), "invalid_argument") == 0 && strcmp(pk_error_kind_name(999), "fatal") == 0, "kind names");
}

/* Session windows: a count and an aggregate (with the merger callback) per session of gap 10 s,
 * grace 20 s. a@0, a@18 (two sessions), a@9 (bridges them: [0, 18]), b@5, a@100, b@30 (late: its
 * session ends before stream time 100 - 20 - 10). */
typedef struct {
    uint32_t agg;
    int combine_calls, merge_calls, wrong_node;
} session_ctx;

static void session_chain_cb(void *user, const uint32_t *chain, size_t chain_len, const pk_stream_record *records, size_t n, pk_chain_output *out) {
    (void)user, (void)chain, (void)chain_len, (void)records, (void)n;
    pk_error_free(pk_chain_output_fail(out, 0, PK_FAILURE_USER, "no chain in this topology"));
}

/* aggregate: the values joined with '+'; merger: the aggregates joined with '|'. */
static void session_join(void *user, uint32_t node, const pk_stream_record *records, const pk_operand *operands, size_t n, pk_combine_output *out, char sep, bool merge) {
    session_ctx *ctx = user;
    __atomic_add_fetch(merge ? &ctx->merge_calls : &ctx->combine_calls, 1, __ATOMIC_SEQ_CST);
    if (node != ctx->agg) __atomic_add_fetch(&ctx->wrong_node, 1, __ATOMIC_SEQ_CST);
    for (size_t i = 0; i < n; i++) {
        char buf[256];
        int len;
        if (operands[i].data == NULL) len = snprintf(buf, sizeof buf, "%.*s", (int)records[i].value_len, (const char *)records[i].value);
        else len = snprintf(buf, sizeof buf, "%.*s%c%.*s", (int)operands[i].len, (const char *)operands[i].data, sep, (int)records[i].value_len, (const char *)records[i].value);
        pk_error_free(pk_combine_output_push(out, (const uint8_t *)buf, (size_t)len));
    }
}

static void session_combine_cb(void *user, uint32_t node, const pk_stream_record *records, const pk_operand *operands, size_t n, pk_combine_output *out) {
    session_join(user, node, records, operands, n, out, '+', false);
}

static void session_merge_cb(void *user, uint32_t node, const pk_stream_record *records, const pk_operand *operands, size_t n, pk_combine_output *out) {
    session_join(user, node, records, operands, n, out, '|', true);
}

/* The sessions of `key` in `store` as "start-end=value;" (start and end relative to t0, in s). */
static void sessions_of(pk_kafka_streams *s, const char *store, const char *key, int64_t t0, bool count, char *buf, size_t size) {
    buf[0] = 0;
    pk_store_entries *e = NULL;
    pk_error *err = pk_kafka_streams_store_find_sessions(s, store, (const uint8_t *)key, strlen(key), 0, INT64_MAX, &e);
    if (err) {
        snprintf(buf, size, "error: %s", pk_error_message(err));
        pk_error_free(err);
        return;
    }
    size_t used = 0;
    for (size_t i = 0; i < e->len && used < size; i++) {
        const pk_store_entry *en = &e->entries[i];
        if (count) {
            int64_t v = 0;
            for (size_t j = 0; j < en->value_len; j++) v = (v << 8) | en->value[j];
            used += (size_t)snprintf(buf + used, size - used, "%" PRId64 "-%" PRId64 "=%" PRId64 ";", (en->window_start - t0) / 1000, (en->window_end - t0) / 1000, v);
        } else {
            used += (size_t)snprintf(buf + used, size - used, "%" PRId64 "-%" PRId64 "=%.*s;", (en->window_start - t0) / 1000, (en->window_end - t0) / 1000,
                                     (int)en->value_len, (const char *)en->value);
        }
    }
    pk_store_entries_free(e);
}

static void test_streams_session(void) {
    char in[160], out[160], app[160];
    snprintf(in, sizeof in, "%s-session-in", topic);
    snprintf(out, sizeof out, "%s-session-out", topic);
    snprintf(app, sizeof app, "%s-session-app", topic);
    create_topic(in, 1);
    create_topic(out, 1);
    int64_t t0 = ((int64_t)time(NULL) - 6 * 3600) * 1000;
    const char *keys[] = {"a", "a", "a", "b", "a", "b"};
    const char *values[] = {"x0", "x18", "x9", "b5", "x100", "b30"};
    const int secs[] = {0, 18, 9, 5, 100, 30};
    pk_record recs[6];
    for (int i = 0; i < 6; i++) {
        recs[i] = record(in, keys[i], values[i], (uint64_t)i);
        recs[i].partition = 0;
        recs[i].timestamp_ms = t0 + secs[i] * 1000LL;
    }
    pk_producer *p = producer(NULL, NULL, NULL, NULL);
    expect_ok(pk_producer_produce_batch(p, recs, 6, NULL), "produce_batch");
    expect_ok(pk_producer_flush(p, 30000), "flush");
    int errors = 0;
    collect(p, 6, NULL, &errors);
    CHECK(errors == 0, "%d produce errors", errors);
    pk_producer_free(p);

    pk_session_windows bad = {0, 0}, negative = {1000, -1}, w = {10000, 20000};
    expect_error(pk_session_windows_check(&bad), PK_ERROR_KIND_INVALID_ARGUMENT, "zero gap");
    expect_error(pk_session_windows_check(&negative), PK_ERROR_KIND_INVALID_ARGUMENT, "negative grace");
    expect_ok(pk_session_windows_check(&w), "session windows");
    pk_topology_builder *b = NULL;
    expect_ok(pk_topology_builder_new(&b), "builder_new");
    uint32_t src = 0, count = 0, ts = 0, sink = 0, x = 0;
    session_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    const char *topics[] = {in};
    expect_ok(pk_topology_builder_source(b, topics, 1, &src), "source");
    expect_error(pk_topology_builder_session_aggregate(b, src, "s", PK_AGGREGATE_COUNT, &bad, &x), PK_ERROR_KIND_INVALID_ARGUMENT, "session count, zero gap");
    expect_error(pk_topology_builder_session_aggregate(b, src, "s", PK_AGGREGATE_COUNT, NULL, &x), PK_ERROR_KIND_INVALID_ARGUMENT, "session count, no windows");
    expect_ok(pk_topology_builder_session_aggregate(b, src, "c-sessions", PK_AGGREGATE_COUNT, &w, &count), "session count");
    expect_ok(pk_topology_builder_to_stream(b, count, &ts), "to_stream");
    expect_ok(pk_topology_builder_sink(b, ts, out, &sink), "sink");
    expect_ok(pk_topology_builder_session_aggregate(b, src, "c-session-agg", PK_AGGREGATE_COMBINE, &w, &ctx.agg), "session aggregate");
    expect_error(pk_topology_builder_join_table(b, src, count, false, &x), PK_ERROR_KIND_INVALID_ARGUMENT, "join with a session table");
    pk_config *c = streams_config(app);
    pk_kafka_streams *s = NULL;
    expect_ok(pk_kafka_streams_new(b, c, session_chain_cb, session_combine_cb, &ctx, &s), "streams_new");
    pk_topology_builder_free(b);
    pk_config_free(c);
    if (!s) return;
    expect_error(pk_kafka_streams_set_merger(s, NULL), PK_ERROR_KIND_INVALID_ARGUMENT, "NULL merger");
    expect_ok(pk_kafka_streams_set_merger(s, session_merge_cb), "merger");
    expect_error(pk_kafka_streams_set_merger(s, session_merge_cb), PK_ERROR_KIND_INVALID_ARGUMENT, "merger twice");
    expect_ok(pk_kafka_streams_start(s), "start");
    char a[256], bb[256], agg[256];
    time_t start = time(NULL);
    do {
        sleep_ms(200);
        sessions_of(s, "c-sessions", "a", t0, true, a, sizeof a);
        sessions_of(s, "c-sessions", "b", t0, true, bb, sizeof bb);
        sessions_of(s, "c-session-agg", "a", t0, false, agg, sizeof agg);
    } while (time(NULL) - start < 90 && !(strcmp(a, "0-18=3;100-100=1;") == 0 && strcmp(agg, "0-18=x0|x18+x9;100-100=x100;") == 0));
    CHECK(strcmp(a, "0-18=3;100-100=1;") == 0, "sessions of a: %s", a);
    CHECK(strcmp(bb, "5-5=1;") == 0, "sessions of b: %s", bb);
    CHECK(strcmp(agg, "0-18=x0|x18+x9;100-100=x100;") == 0, "aggregates of a: %s", agg);
    CHECK(ctx.merge_calls >= 1 && ctx.combine_calls >= 1 && ctx.wrong_node == 0, "merge calls %d, combine calls %d, wrong node %d", ctx.merge_calls,
          ctx.combine_calls, ctx.wrong_node);
    expect_error(pk_kafka_streams_set_merger(s, session_merge_cb), PK_ERROR_KIND_INVALID_ARGUMENT, "merger after start");
    bool session = false;
    expect_ok(pk_kafka_streams_store_is_session(s, "c-sessions", &session), "is_session");
    CHECK(session, "c-sessions is a session store");
    pk_store_entries *e = NULL;
    expect_error(pk_kafka_streams_store_get(s, "c-sessions", (const uint8_t *)"a", 1, &e), PK_ERROR_KIND_INVALID_ARGUMENT, "get of a session store");
    /* findSessions(a, earliest end 50 s, latest start 200 s): [100, 100] only. */
    expect_ok(pk_kafka_streams_store_find_sessions(s, "c-sessions", (const uint8_t *)"a", 1, t0 + 50000, t0 + 200000, &e), "find_sessions");
    CHECK(e && e->len == 1 && e->entries[0].window_start == t0 + 100000 && e->entries[0].window_end == t0 + 100000, "find_sessions: %zu", e ? e->len : 0);
    pk_store_entries_free(e);
    e = NULL;
    expect_ok(pk_kafka_streams_store_all(s, "c-sessions", &e), "store_all");
    CHECK(e && e->len == 3, "all: %zu sessions", e ? e->len : 0);
    if (e && e->len > 0) { /* all(): session-windowed keys */
        size_t key_len = 0;
        int64_t s0 = 0, e0 = 0;
        expect_ok(pk_session_key_decode(e->entries[0].key, e->entries[0].key_len, &key_len, &s0, &e0), "session key decode");
        CHECK(key_len == 1 && e->entries[0].key[0] == 'a' && s0 == t0 && e0 == t0 + 18000, "first session: %zu %" PRId64 " %" PRId64, key_len, s0, e0);
    }
    pk_store_entries_free(e);
    pk_streams_metrics m;
    expect_ok(pk_kafka_streams_metrics(s, &m), "metrics");
    CHECK(m.late_dropped == 2, "late records dropped %" PRIu64 " (b@30 by both aggregations)", m.late_dropped);
    pk_kafka_streams_free(s);

    /* Session keys: Kafka Streams' format, key then end then start (8 bytes big-endian each). */
    uint8_t buf[32];
    size_t len = 0, key_len = 0;
    int64_t st = 0, en = 0;
    expect_ok(pk_session_key_encode((const uint8_t *)"k", 1, 5, 300000, buf, sizeof buf, &len), "session encode");
    CHECK(len == 17 && buf[0] == 'k' && buf[6] == 0x04 && buf[8] == 0xe0 && buf[16] == 5, "session key of %zu bytes", len);
    expect_ok(pk_session_key_decode(buf, len, &key_len, &st, &en), "session decode");
    CHECK(key_len == 1 && st == 5 && en == 300000, "decoded %zu %" PRId64 " %" PRId64, key_len, st, en);
    expect_error(pk_session_key_decode(buf, 15, &key_len, &st, &en), PK_ERROR_KIND_SERIALIZATION, "short session key");
    expect_error(pk_session_key_encode((const uint8_t *)"k", 1, 0, 0, buf, 16, &len), PK_ERROR_KIND_INVALID_ARGUMENT, "small session buffer");
}

/* Timestamp extractors: the C callback gives record "value-n" the time t0 + n s, -1 (dropped) for
 * n == 3, and fails at n == fail_at. */
typedef struct {
    streams_ctx base;
    int64_t t0, first_partition_time;
    int fail_at, calls;
} ts_ctx;

static void extract_cb(void *user, uint32_t source, const pk_stream_record *records, size_t n, int64_t partition_time, pk_timestamp_output *out) {
    ts_ctx *ctx = user;
    (void)source;
    if (__atomic_fetch_add(&ctx->calls, 1, __ATOMIC_SEQ_CST) == 0) ctx->first_partition_time = partition_time;
    int64_t times[64];
    size_t k = 0;
    for (size_t i = 0; i < n && k < 64; i++) {
        int num = value_number(&records[i]);
        if (num == ctx->fail_at) {
            pk_error_free(pk_timestamp_output_push_many(out, times, k));
            pk_error_free(pk_timestamp_output_fail(out, i, PK_FAILURE_USER, "no time in this record"));
            return;
        }
        times[k++] = num == 3 ? -1 : ctx->t0 + num * 1000LL;
    }
    pk_error_free(pk_timestamp_output_push_many(out, times, k));
}

static pk_kafka_streams *timestamps_app(const char *in, const char *app, ts_ctx *ctx) {
    pk_topology_builder *b = NULL;
    expect_ok(pk_topology_builder_new(&b), "builder_new");
    uint32_t src = 0, count = 0;
    const char *topics[] = {in};
    expect_ok(pk_topology_builder_source(b, topics, 1, &src), "source");
    expect_ok(pk_topology_builder_aggregate(b, src, "t-counts", PK_AGGREGATE_COUNT, NULL, &count), "count");
    expect_error(pk_topology_builder_timestamp_extractor(b, count, PK_TIMESTAMP_WALLCLOCK), PK_ERROR_KIND_INVALID_ARGUMENT, "extractor of a non-source");
    expect_error(pk_topology_builder_timestamp_extractor(b, src, 9), PK_ERROR_KIND_INVALID_ARGUMENT, "unknown extractor");
    expect_ok(pk_topology_builder_timestamp_extractor(b, src, PK_TIMESTAMP_EXTRACTOR_USER), "user extractor");
    pk_config *c = streams_config(app);
    pk_kafka_streams *s = NULL;
    expect_ok(pk_kafka_streams_new(b, c, session_chain_cb, NULL, ctx, &s), "streams_new");
    pk_topology_builder_free(b);
    pk_config_free(c);
    if (!s) return NULL;
    expect_error(pk_kafka_streams_set_timestamp_extractor(s, NULL), PK_ERROR_KIND_INVALID_ARGUMENT, "NULL extractor");
    expect_ok(pk_kafka_streams_set_timestamp_extractor(s, extract_cb), "extractor");
    expect_ok(pk_kafka_streams_set_failure_handler(s, failure_cb, &ctx->base), "failure handler");
    return s;
}

static void test_streams_timestamps(void) {
    char in[160], app[160];
    snprintf(in, sizeof in, "%s-ts-in", topic);
    snprintf(app, sizeof app, "%s-ts-app", topic);
    create_topic(in, 1);
    produce_n(in, 0, 6, "value");
    ts_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.t0 = ((int64_t)time(NULL) - 3600) * 1000;
    ctx.fail_at = -1;
    pk_kafka_streams *s = timestamps_app(in, app, &ctx);
    if (!s) return;
    expect_ok(pk_kafka_streams_start(s), "start");
    pk_streams_metrics m;
    memset(&m, 0, sizeof m);
    time_t start = time(NULL);
    do {
        sleep_ms(200);
        expect_ok(pk_kafka_streams_metrics(s, &m), "metrics");
    } while (time(NULL) - start < 60 && m.processed + m.timestamp_dropped < 6);
    CHECK(m.timestamp_dropped == 1 && m.processed == 5, "processed %" PRIu64 ", timestamp dropped %" PRIu64, m.processed, m.timestamp_dropped);
    CHECK(ctx.first_partition_time == -1, "first partition time %" PRId64, ctx.first_partition_time);
    pk_store_entries *e = NULL;
    expect_ok(pk_kafka_streams_store_get(s, "t-counts", (const uint8_t *)"key-3", 5, &e), "get key-3");
    CHECK(e && e->len == 0, "key-3 (dropped) counted: %zu", e ? e->len : 0);
    pk_store_entries_free(e);
    e = NULL;
    expect_ok(pk_kafka_streams_store_get(s, "t-counts", (const uint8_t *)"key-5", 5, &e), "get key-5");
    CHECK(e && e->len == 1, "key-5 not counted");
    pk_store_entries_free(e);
    expect_error(pk_kafka_streams_set_timestamp_extractor(s, extract_cb), PK_ERROR_KIND_INVALID_ARGUMENT, "extractor after start");
    pk_kafka_streams_free(s);

    /* The extractor fails at value-2: the failure handler gets the record, the state becomes ERROR. */
    char app2[170];
    snprintf(app2, sizeof app2, "%s-fail", app);
    ts_ctx ctx2;
    memset(&ctx2, 0, sizeof ctx2);
    ctx2.t0 = ctx.t0;
    ctx2.fail_at = 2;
    s = timestamps_app(in, app2, &ctx2);
    if (!s) return;
    expect_ok(pk_kafka_streams_start(s), "start");
    start = time(NULL);
    while (time(NULL) - start < 60 && __atomic_load_n(&ctx2.base.failures, __ATOMIC_SEQ_CST) == 0) sleep_ms(100);
    CHECK(ctx2.base.failures == 1 && ctx2.base.failure_kind == PK_FAILURE_USER && ctx2.base.failure_offset == 2 && strcmp(ctx2.base.failure_topic, in) == 0,
          "extractor failure %d kind %d offset %" PRId64 " topic %s", ctx2.base.failures, ctx2.base.failure_kind, ctx2.base.failure_offset, ctx2.base.failure_topic);
    pk_kafka_streams_free(s);
}

/* One row of the NULL-argument tables: `err` must be an INVALID_ARGUMENT error; with `param`, its
 * message names that parameter (the one passed NULL). */
static void expect_null_arg(pk_error *err, const char *call, const char *param) {
    CHECK(err != NULL, "%s: no error", call);
    if (!err) return;
    CHECK(pk_error_get_kind(err) == PK_ERROR_KIND_INVALID_ARGUMENT, "%s: %s: %s", call, pk_error_name(err),
          pk_error_message(err));
    CHECK(!param || strstr(pk_error_message(err), param), "%s: the message does not name %s: %s", call, param,
          pk_error_message(err));
    pk_error_free(err);
}
#define NULL_ROW(call) expect_null_arg(call, #call, NULL)
#define ARG_ROW(call, param) expect_null_arg(call, #call, param)
#define NULL_ALLOWED(call) expect_ok(call, #call)

/* NULL for every pointer argument of every function of polykafka.h that returns a pk_error*
 * (rows generated from the header, then reviewed; run-c.sh checks that every such function has a
 * row). First table: every pointer NULL and every number 0 at once. Second table: live producer,
 * consumer, admin and configuration handles (on the test's broker), one pointer argument NULL at a
 * time, the others valid: the error names the argument. Handles of the other types (schema
 * registry, dead letter queue, streams) get the first table only; their own tests pass NULL for
 * their other arguments. */
static void test_null_args(void) {
    NULL_ROW(pk_admin_new(NULL, NULL));
    NULL_ROW(pk_admin_create_topics(NULL, NULL, 0, false, NULL));
    NULL_ROW(pk_admin_delete_topics(NULL, NULL, 0, NULL));
    NULL_ROW(pk_admin_connect_once(NULL));
    NULL_ROW(pk_admin_list_topics(NULL, false, NULL));
    NULL_ROW(pk_admin_partition_count(NULL, NULL, NULL));
    NULL_ROW(pk_admin_close(NULL));
    NULL_ROW(pk_cancel_new(NULL));
    NULL_ROW(pk_cancel_scope_enter(NULL));
    NULL_ROW(pk_config_new(NULL));
    NULL_ROW(pk_config_set(NULL, NULL, NULL));
    NULL_ROW(pk_config_set_delivery_callback(NULL, NULL, NULL));
    NULL_ROW(pk_consumer_new(NULL, NULL));
    NULL_ROW(pk_consumer_connect_once(NULL));
    NULL_ROW(pk_consumer_subscribe(NULL, NULL, 0));
    NULL_ROW(pk_consumer_assign(NULL, NULL, 0));
    NULL_ROW(pk_consumer_poll(NULL, 0, NULL));
    NULL_ROW(pk_consumer_poll_batch(NULL, 0, 0, NULL));
    NULL_ROW(pk_consumer_commit(NULL, NULL, 0));
    NULL_ROW(pk_consumer_store_offsets(NULL, NULL, 0));
    NULL_ROW(pk_consumer_committed(NULL, NULL, 0, 0));
    NULL_ROW(pk_consumer_position(NULL, NULL, 0, NULL));
    NULL_ROW(pk_consumer_stats_json(NULL, NULL));
    NULL_ROW(pk_consumer_stats_windows_json(NULL, NULL));
    NULL_ROW(pk_consumer_seek(NULL, NULL, 0, 0));
    NULL_ROW(pk_consumer_pause(NULL, NULL, 0));
    NULL_ROW(pk_consumer_resume(NULL, NULL, 0));
    NULL_ROW(pk_consumer_watermarks(NULL, NULL, 0, 0, NULL, NULL));
    NULL_ROW(pk_consumer_lag(NULL, NULL, 0, NULL));
    NULL_ROW(pk_consumer_group_metadata(NULL, NULL));
    NULL_ROW(pk_consumer_close(NULL));
    NULL_ROW(pk_group_metadata_new(NULL, NULL));
    NULL_ROW(pk_dead_letter_queue_new(NULL, NULL, NULL));
    NULL_ROW(pk_dead_letter_queue_failed(NULL, NULL, NULL, NULL, NULL));
    NULL_ROW(pk_dead_letter_queue_undecodable(NULL, NULL, NULL, NULL));
    NULL_ROW(pk_dead_letter_queue_succeeded(NULL, NULL, 0, 0));
    NULL_ROW(pk_dead_letter_queue_skip(NULL, NULL, NULL));
    NULL_ROW(pk_dead_letter_queue_resume_due(NULL, NULL));
    NULL_ROW(pk_dead_letter_queue_close(NULL, 0));
    NULL_ROW(pk_admin_list_groups(NULL, NULL));
    NULL_ROW(pk_admin_describe_groups(NULL, NULL, 0, NULL));
    NULL_ROW(pk_admin_delete_groups(NULL, NULL, 0, NULL));
    NULL_ROW(pk_admin_list_group_offsets(NULL, NULL, NULL, 0, NULL));
    NULL_ROW(pk_admin_group_lag(NULL, NULL, NULL));
    NULL_ALLOWED(pk_logs_set_wake(NULL, NULL)); /* removes the wake function */
    NULL_ROW(pk_logs_drain(NULL, NULL, NULL));
    NULL_ROW(pk_producer_new(NULL, NULL));
    NULL_ROW(pk_producer_produce(NULL, NULL));
    NULL_ROW(pk_producer_produce_batch(NULL, NULL, 0, NULL));
    NULL_ROW(pk_producer_poll_reports(NULL, NULL, 0, 0, NULL));
    NULL_ROW(pk_producer_send_now(NULL));
    NULL_ROW(pk_producer_flush(NULL, 0));
    NULL_ROW(pk_producer_stats_json(NULL, NULL));
    NULL_ROW(pk_producer_stats_windows_json(NULL, NULL));
    NULL_ROW(pk_producer_in_flight(NULL, NULL));
    NULL_ROW(pk_producer_partition_count(NULL, NULL, NULL));
    NULL_ROW(pk_producer_partition_count_fail_fast(NULL, NULL, NULL));
    NULL_ROW(pk_producer_close(NULL, 0));
    NULL_ROW(pk_producer_send_batch(NULL, NULL, 0, NULL));
    NULL_ROW(pk_batch_len(NULL, NULL));
    NULL_ROW(pk_batch_wait(NULL, 0, NULL, 0, NULL));
    NULL_ROW(pk_producer_init_transactions(NULL, 0));
    NULL_ROW(pk_producer_begin_transaction(NULL));
    NULL_ROW(pk_producer_send_offsets_to_transaction(NULL, NULL, 0, NULL, 0));
    NULL_ROW(pk_producer_commit_transaction(NULL, 0));
    NULL_ROW(pk_producer_abort_transaction(NULL, 0));
    NULL_ROW(pk_schema_registry_new(NULL, NULL));
    NULL_ROW(pk_schema_registry_register(NULL, NULL, NULL, false, NULL));
    NULL_ROW(pk_schema_registry_lookup(NULL, NULL, NULL, false, NULL));
    NULL_ROW(pk_schema_registry_get_by_id(NULL, 0, NULL));
    NULL_ROW(pk_schema_registry_get_latest(NULL, NULL, NULL));
    NULL_ROW(pk_schema_registry_get_version(NULL, NULL, 0, NULL));
    NULL_ROW(pk_schema_registry_get_versions(NULL, NULL, NULL, 0, NULL));
    NULL_ROW(pk_schema_registry_delete_subject(NULL, NULL, false, NULL, 0, NULL));
    NULL_ROW(pk_schema_registry_get_subjects(NULL, NULL));
    NULL_ROW(pk_schema_registry_test_compatibility(NULL, NULL, NULL, 0, NULL));
    NULL_ROW(pk_schema_registry_set_compatibility(NULL, NULL, NULL));
    NULL_ROW(pk_schema_registry_get_compatibility(NULL, NULL, NULL));
    NULL_ROW(pk_schema_serializer_new(NULL, NULL, NULL, NULL, NULL));
    NULL_ROW(pk_schema_serializer_serialize(NULL, NULL, false, NULL, 0, NULL));
    NULL_ROW(pk_schema_serializer_serialize_batch(NULL, NULL, false, NULL, NULL, 0, NULL, NULL));
    NULL_ROW(pk_schema_serializer_serialize_encoded(NULL, NULL, false, NULL, NULL, 0, NULL, 0, NULL));
    NULL_ROW(pk_schema_deserializer_new(NULL, NULL, NULL, NULL, NULL));
    NULL_ROW(pk_schema_deserializer_deserialize(NULL, NULL, false, NULL, 0, NULL, 0, NULL));
    NULL_ROW(pk_schema_deserializer_deserialize_encoded(NULL, NULL, 0, NULL, 0, NULL));
    NULL_ROW(pk_otel_instruments(NULL));
    NULL_ROW(pk_otel_points(NULL, 0, NULL));
    NULL_ROW(pk_time_windows_check(NULL));
    NULL_ROW(pk_join_windows_check(NULL));
    NULL_ROW(pk_session_windows_check(NULL));
    NULL_ROW(pk_session_key_encode(NULL, 0, 0, 0, NULL, 0, NULL));
    NULL_ROW(pk_session_key_decode(NULL, 0, NULL, NULL, NULL));
    NULL_ROW(pk_windowed_key_encode(NULL, 0, 0, NULL, 0, NULL));
    NULL_ROW(pk_windowed_key_decode(NULL, 0, NULL, NULL));
    NULL_ROW(pk_topology_builder_new(NULL));
    NULL_ROW(pk_topology_builder_source(NULL, NULL, 0, NULL));
    NULL_ROW(pk_topology_builder_user(NULL, 0, NULL));
    NULL_ROW(pk_topology_builder_serde(NULL, 0, NULL));
    NULL_ROW(pk_topology_builder_split(NULL, 0, 0, NULL));
    NULL_ROW(pk_topology_builder_branch(NULL, 0, 0, NULL));
    NULL_ROW(pk_topology_builder_merge(NULL, 0, 0, NULL));
    NULL_ROW(pk_topology_builder_sink(NULL, 0, NULL, NULL));
    NULL_ROW(pk_topology_builder_sink_per_record(NULL, 0, NULL));
    NULL_ROW(pk_topology_builder_repartition(NULL, 0, NULL, NULL));
    NULL_ROW(pk_topology_builder_repartition_stream(NULL, 0, NULL, NULL));
    NULL_ROW(pk_topology_builder_mark_key_changing(NULL, 0));
    NULL_ROW(pk_topology_builder_grouped(NULL, 0, NULL, NULL));
    NULL_ROW(pk_topology_builder_aggregate_store_name(NULL, NULL, false, NULL));
    NULL_ROW(pk_topology_builder_internal_names(NULL, NULL));
    NULL_ROW(pk_topology_builder_aggregate(NULL, 0, NULL, 0, NULL, NULL));
    NULL_ROW(pk_topology_builder_session_aggregate(NULL, 0, NULL, 0, NULL, NULL));
    NULL_ROW(pk_topology_builder_timestamp_extractor(NULL, 0, 0));
    NULL_ROW(pk_topology_builder_to_stream(NULL, 0, NULL));
    NULL_ROW(pk_topology_builder_table_user(NULL, 0, false, NULL));
    NULL_ROW(pk_topology_builder_table(NULL, NULL, NULL, NULL, NULL, NULL));
    NULL_ROW(pk_topology_builder_join_table(NULL, 0, 0, false, NULL));
    NULL_ROW(pk_topology_builder_stream_join(NULL, 0, 0, NULL, 0, NULL, NULL, NULL, NULL));
    NULL_ROW(pk_topology_builder_suppress(NULL, 0, NULL, 0, 0, NULL, NULL));
    NULL_ROW(pk_timestamp_output_push_many(NULL, NULL, 0));
    NULL_ROW(pk_timestamp_output_push(NULL, 0));
    NULL_ROW(pk_timestamp_output_fail(NULL, 0, 0, NULL));
    NULL_ROW(pk_chain_output_push(NULL, 0, 0, NULL, 0, NULL, 0, 0));
    NULL_ROW(pk_chain_output_push_packed(NULL, NULL, 0, NULL, 0));
    NULL_ROW(pk_chain_output_fail(NULL, 0, 0, NULL));
    NULL_ROW(pk_combine_output_push(NULL, NULL, 0));
    NULL_ROW(pk_combine_output_push_packed(NULL, NULL, 0, NULL, 0));
    NULL_ROW(pk_combine_output_fail(NULL, 0, 0, NULL));
    NULL_ROW(pk_kafka_streams_new(NULL, NULL, NULL, NULL, NULL, NULL));
    NULL_ROW(pk_kafka_streams_set_state_listener(NULL, NULL, NULL));
    NULL_ROW(pk_kafka_streams_set_failure_handler(NULL, NULL, NULL));
    NULL_ROW(pk_kafka_streams_set_merger(NULL, NULL));
    NULL_ROW(pk_kafka_streams_set_timestamp_extractor(NULL, NULL));
    NULL_ROW(pk_kafka_streams_start(NULL));
    NULL_ROW(pk_kafka_streams_close(NULL, 0, NULL));
    NULL_ROW(pk_kafka_streams_state(NULL, NULL));
    NULL_ROW(pk_kafka_streams_store_get(NULL, NULL, NULL, 0, NULL));
    NULL_ROW(pk_kafka_streams_store_range(NULL, NULL, NULL, 0, NULL, 0, NULL));
    NULL_ROW(pk_kafka_streams_store_all(NULL, NULL, NULL));
    NULL_ROW(pk_kafka_streams_store_find_sessions(NULL, NULL, NULL, 0, 0, 0, NULL));
    NULL_ROW(pk_kafka_streams_store_is_session(NULL, NULL, NULL));
    NULL_ROW(pk_kafka_streams_store_fetch(NULL, NULL, NULL, 0, 0, 0, NULL));
    NULL_ROW(pk_kafka_streams_store_is_windowed(NULL, NULL, NULL));
    NULL_ROW(pk_kafka_streams_metrics(NULL, NULL));

    pk_config *cfg = NULL;
    expect_ok(pk_config_new(&cfg), "config");
    expect_ok(pk_config_set(cfg, "bootstrap.servers", bootstrap), "bootstrap");
    expect_ok(pk_config_set(cfg, "group.id", "null-args"), "group.id");
    pk_producer *p = producer("max.block.ms", "2000", NULL, NULL);
    pk_consumer *c = consumer("null-args", NULL, NULL, NULL, NULL);
    pk_admin *a = admin_client();
    const char *names[] = {topic};
    pk_topic_partition tp = {topic, 0, 0, 0}, tp_out = {topic, 0, 0, 0};
    pk_record rec = record(topic, "k", "v", 0);
    pk_new_topic nt = {topic, 1, 1, NULL, NULL, 0};
    pk_delivery_report reports[4];
    pk_error *results[4] = {NULL, NULL, NULL, NULL};
    size_t n = 0;
    int32_t i32 = 0;
    int64_t i64 = 0;
    uint64_t u64 = 0;
    char *json = NULL;
    pk_string_list *list = NULL;
    pk_message_batch *batch = NULL;
    pk_group_metadata *gm = NULL, *gmeta = NULL;
    pk_partition_offsets *offsets = NULL;
    pk_group_list *groups = NULL;
    pk_group_descriptions *descs = NULL;
    pk_batch *pbatch = NULL;
    pk_producer *p2 = NULL;
    pk_consumer *c2 = NULL;
    pk_admin *a2 = NULL;
    pk_config *cfg2 = NULL;
    expect_ok(pk_group_metadata_new("null-args", &gmeta), "group metadata");
    ARG_ROW(pk_admin_new(NULL, &a2), "config");
    ARG_ROW(pk_admin_new(cfg, NULL), "out_admin");
    ARG_ROW(pk_admin_create_topics(NULL, &nt, 1, false, results), "admin");
    ARG_ROW(pk_admin_create_topics(a, NULL, 1, false, results), "topics");
    ARG_ROW(pk_admin_create_topics(a, &nt, 1, false, NULL), "out_results");
    ARG_ROW(pk_admin_delete_topics(NULL, names, 1, results), "admin");
    ARG_ROW(pk_admin_delete_topics(a, NULL, 1, results), "names");
    ARG_ROW(pk_admin_delete_topics(a, names, 1, NULL), "out_results");
    ARG_ROW(pk_admin_connect_once(NULL), "admin");
    ARG_ROW(pk_admin_list_topics(NULL, false, &list), "admin");
    ARG_ROW(pk_admin_list_topics(a, false, NULL), "out_list");
    ARG_ROW(pk_admin_partition_count(NULL, topic, &i32), "admin");
    ARG_ROW(pk_admin_partition_count(a, NULL, &i32), "name");
    ARG_ROW(pk_admin_partition_count(a, topic, NULL), "out_count");
    ARG_ROW(pk_admin_close(NULL), "admin");
    ARG_ROW(pk_config_set(NULL, topic, topic), "config");
    ARG_ROW(pk_config_set(cfg, NULL, topic), "key");
    ARG_ROW(pk_config_set(cfg, topic, NULL), "value");
    ARG_ROW(pk_config_set_delivery_callback(NULL, NULL, NULL), "config");
    ARG_ROW(pk_consumer_new(NULL, &c2), "config");
    ARG_ROW(pk_consumer_new(cfg, NULL), "out_consumer");
    ARG_ROW(pk_consumer_connect_once(NULL), "consumer");
    ARG_ROW(pk_consumer_subscribe(NULL, names, 1), "consumer");
    ARG_ROW(pk_consumer_subscribe(c, NULL, 1), "topics");
    ARG_ROW(pk_consumer_assign(NULL, &tp, 1), "consumer");
    ARG_ROW(pk_consumer_assign(c, NULL, 1), "partitions");
    ARG_ROW(pk_consumer_poll(NULL, 0, &batch), "consumer");
    ARG_ROW(pk_consumer_poll(c, 0, NULL), "out_batch");
    ARG_ROW(pk_consumer_poll_batch(NULL, 1, 0, &batch), "consumer");
    ARG_ROW(pk_consumer_poll_batch(c, 1, 0, NULL), "out_batch");
    ARG_ROW(pk_consumer_commit(NULL, &tp, 1), "consumer");
    ARG_ROW(pk_consumer_commit(c, NULL, 1), "offsets");
    ARG_ROW(pk_consumer_store_offsets(NULL, &tp, 1), "consumer");
    ARG_ROW(pk_consumer_store_offsets(c, NULL, 1), "offsets");
    ARG_ROW(pk_consumer_committed(NULL, &tp_out, 1, 0), "consumer");
    ARG_ROW(pk_consumer_committed(c, NULL, 1, 0), "partitions");
    ARG_ROW(pk_consumer_position(NULL, topic, 0, &i64), "consumer");
    ARG_ROW(pk_consumer_position(c, NULL, 0, &i64), "topic");
    ARG_ROW(pk_consumer_position(c, topic, 0, NULL), "out_offset");
    ARG_ROW(pk_consumer_stats_json(NULL, &json), "consumer");
    ARG_ROW(pk_consumer_stats_json(c, NULL), "out_json");
    ARG_ROW(pk_consumer_stats_windows_json(NULL, &json), "consumer");
    ARG_ROW(pk_consumer_stats_windows_json(c, NULL), "out_json");
    ARG_ROW(pk_consumer_seek(NULL, topic, 0, 0), "consumer");
    ARG_ROW(pk_consumer_seek(c, NULL, 0, 0), "topic");
    ARG_ROW(pk_consumer_pause(NULL, &tp, 1), "consumer");
    ARG_ROW(pk_consumer_pause(c, NULL, 1), "partitions");
    ARG_ROW(pk_consumer_resume(NULL, &tp, 1), "consumer");
    ARG_ROW(pk_consumer_resume(c, NULL, 1), "partitions");
    ARG_ROW(pk_consumer_watermarks(NULL, topic, 0, 0, &i64, &i64), "consumer");
    ARG_ROW(pk_consumer_watermarks(c, NULL, 0, 0, &i64, &i64), "topic");
    ARG_ROW(pk_consumer_watermarks(c, topic, 0, 0, NULL, &i64), "out_low");
    ARG_ROW(pk_consumer_watermarks(c, topic, 0, 0, &i64, NULL), "out_high");
    ARG_ROW(pk_consumer_lag(NULL, topic, 0, &i64), "consumer");
    ARG_ROW(pk_consumer_lag(c, NULL, 0, &i64), "topic");
    ARG_ROW(pk_consumer_lag(c, topic, 0, NULL), "out_lag");
    ARG_ROW(pk_consumer_group_metadata(NULL, &gm), "consumer");
    ARG_ROW(pk_consumer_group_metadata(c, NULL), "out_metadata");
    ARG_ROW(pk_consumer_close(NULL), "consumer");
    ARG_ROW(pk_dead_letter_queue_new(c, cfg, NULL), "out_queue");
    ARG_ROW(pk_admin_list_groups(NULL, &groups), "admin");
    ARG_ROW(pk_admin_list_groups(a, NULL), "out_list");
    ARG_ROW(pk_admin_describe_groups(NULL, names, 1, &descs), "admin");
    ARG_ROW(pk_admin_describe_groups(a, NULL, 1, &descs), "names");
    ARG_ROW(pk_admin_describe_groups(a, names, 1, NULL), "out_groups");
    ARG_ROW(pk_admin_delete_groups(NULL, names, 1, results), "admin");
    ARG_ROW(pk_admin_delete_groups(a, NULL, 1, results), "names");
    ARG_ROW(pk_admin_delete_groups(a, names, 1, NULL), "out_results");
    ARG_ROW(pk_admin_list_group_offsets(NULL, topic, &tp, 1, &offsets), "admin");
    ARG_ROW(pk_admin_list_group_offsets(a, NULL, &tp, 1, &offsets), "group");
    ARG_ROW(pk_admin_list_group_offsets(a, topic, NULL, 1, &offsets), "partitions");
    ARG_ROW(pk_admin_list_group_offsets(a, topic, &tp, 1, NULL), "out_offsets");
    ARG_ROW(pk_admin_group_lag(NULL, topic, &offsets), "admin");
    ARG_ROW(pk_admin_group_lag(a, NULL, &offsets), "group");
    ARG_ROW(pk_admin_group_lag(a, topic, NULL), "out_offsets");
    ARG_ROW(pk_producer_new(NULL, &p2), "config");
    ARG_ROW(pk_producer_new(cfg, NULL), "out_producer");
    ARG_ROW(pk_producer_produce(NULL, &rec), "producer");
    ARG_ROW(pk_producer_produce(p, NULL), "record");
    ARG_ROW(pk_producer_produce_batch(NULL, &rec, 1, &n), "producer");
    ARG_ROW(pk_producer_produce_batch(p, NULL, 1, &n), "records");
    NULL_ALLOWED(pk_producer_produce_batch(p, &rec, 1, NULL)); /* out_queued may be NULL */
    ARG_ROW(pk_producer_poll_reports(NULL, reports, 1, 0, &n), "producer");
    ARG_ROW(pk_producer_poll_reports(p, NULL, 1, 0, &n), "out_reports");
    ARG_ROW(pk_producer_poll_reports(p, reports, 1, 0, NULL), "out_count");
    ARG_ROW(pk_producer_send_now(NULL), "producer");
    ARG_ROW(pk_producer_flush(NULL, 0), "producer");
    ARG_ROW(pk_producer_stats_json(NULL, &json), "producer");
    ARG_ROW(pk_producer_stats_json(p, NULL), "out_json");
    ARG_ROW(pk_producer_stats_windows_json(NULL, &json), "producer");
    ARG_ROW(pk_producer_stats_windows_json(p, NULL), "out_json");
    ARG_ROW(pk_producer_in_flight(NULL, &n), "producer");
    ARG_ROW(pk_producer_in_flight(p, NULL), "out_count");
    ARG_ROW(pk_producer_partition_count(NULL, topic, &i32), "producer");
    ARG_ROW(pk_producer_partition_count(p, NULL, &i32), "topic");
    ARG_ROW(pk_producer_partition_count(p, topic, NULL), "out_count");
    ARG_ROW(pk_producer_partition_count_fail_fast(NULL, topic, &i32), "producer");
    ARG_ROW(pk_producer_partition_count_fail_fast(p, NULL, &i32), "topic");
    ARG_ROW(pk_producer_partition_count_fail_fast(p, topic, NULL), "out_count");
    ARG_ROW(pk_producer_close(NULL, 0), "producer");
    ARG_ROW(pk_producer_send_batch(NULL, &rec, 1, &pbatch), "producer");
    ARG_ROW(pk_producer_send_batch(p, NULL, 1, &pbatch), "records");
    ARG_ROW(pk_producer_send_batch(p, &rec, 1, NULL), "out_batch");
    ARG_ROW(pk_producer_init_transactions(NULL, 0), "producer");
    ARG_ROW(pk_producer_begin_transaction(NULL), "producer");
    ARG_ROW(pk_producer_send_offsets_to_transaction(NULL, &tp, 1, gmeta, 0), "producer");
    ARG_ROW(pk_producer_send_offsets_to_transaction(p, NULL, 1, gmeta, 0), "offsets");
    ARG_ROW(pk_producer_send_offsets_to_transaction(p, &tp, 1, NULL, 0), "metadata");
    ARG_ROW(pk_producer_commit_transaction(NULL, 0), "producer");
    ARG_ROW(pk_producer_abort_transaction(NULL, 0), "producer");
    ARG_ROW(pk_schema_registry_new(cfg, NULL), "out_registry");
    (void)u64;
    (void)cfg2;
    CHECK(!json && !list && !batch && !gm && !offsets && !groups && !descs && !pbatch && !p2 && !c2 && !a2,
          "an out-parameter was written by a call that failed");
    pk_group_metadata_free(gmeta);
    pk_admin_free(a);
    pk_consumer_free(c);
    pk_producer_free(p);
    pk_config_free(cfg);
}

/* Checks an error's kind and that its message contains `fragment`, then frees it. */
static void expect_error_text(pk_error *err, pk_error_kind kind, const char *fragment, const char *what) {
    CHECK(err && strstr(pk_error_message(err), fragment), "%s: message %s, want it to contain \"%s\"", what,
          err ? pk_error_message(err) : "(no error)", fragment);
    expect_error(err, kind, what);
}

/* Bad values (#22), one table per surface: configuration, records, consumer arguments; then use
 * after close and close twice. What the ABI cannot detect is undefined (its header says so): a
 * pointer to freed memory (use after pk_*_free, freeing twice), a length longer than its buffer. */
static void test_bad_values(void) {
    static const struct {
        const char *key, *value;
        pk_error_kind kind;
        const char *fragment; /* in the message of pk_config_set, or else of pk_producer_new */
        const char *key2, *value2; /* set first when not NULL */
    } configs[] = {
        {"\xff\xfe", "1", PK_ERROR_KIND_INVALID_ARGUMENT, "UTF-8", NULL, NULL},
        {"linger.ms", "\xc3\x28", PK_ERROR_KIND_INVALID_ARGUMENT, "UTF-8", NULL, NULL},
        {"", "1", PK_ERROR_KIND_CONFIG, "empty", NULL, NULL},
        {"   ", "1", PK_ERROR_KIND_CONFIG, "empty", NULL, NULL},
        {"no.such.key", "1", PK_ERROR_KIND_CONFIG, "no.such.key", NULL, NULL},
        {"linger.ms", "-5", PK_ERROR_KIND_CONFIG, "linger.ms", NULL, NULL},
        {"linger.ms", "99999999999999999999", PK_ERROR_KIND_CONFIG, "linger.ms", NULL, NULL},
        {"batch.size", "abc", PK_ERROR_KIND_CONFIG, "batch.size", NULL, NULL},
        {"compression.type", "zip", PK_ERROR_KIND_CONFIG, "compression.type", NULL, NULL},
        {"enable.idempotence", "maybe", PK_ERROR_KIND_CONFIG, "enable.idempotence", NULL, NULL},
        {"acks", "3", PK_ERROR_KIND_CONFIG, "acks", NULL, NULL},
        {"bootstrap.servers", "", PK_ERROR_KIND_CONFIG, "bootstrap.servers", NULL, NULL},
        {"bootstrap.servers", "host-without-port", PK_ERROR_KIND_CONFIG, "bootstrap.servers", NULL, NULL},
        {"message.max.bytes", "0", PK_ERROR_KIND_CONFIG, "message.max.bytes", NULL, NULL},
        {"security.protocol", "CARRIER_PIGEON", PK_ERROR_KIND_CONFIG, "security.protocol", NULL, NULL},
        /* sasl.mechanism is read with a SASL security.protocol only (ignored otherwise, as Java does). */
        {"sasl.mechanism", "ROT13", PK_ERROR_KIND_CONFIG, "sasl.mechanism", "security.protocol", "SASL_PLAINTEXT"},
    };
    for (size_t i = 0; i < sizeof configs / sizeof configs[0]; i++) {
        char what[160];
        snprintf(what, sizeof what, "config %s=%s", configs[i].key, configs[i].value);
        pk_config *c = config(configs[i].key2, configs[i].value2, NULL, NULL);
        pk_error *err = pk_config_set(c, configs[i].key, configs[i].value);
        pk_producer *p = NULL;
        if (!err) err = pk_producer_new(c, &p);
        expect_error_text(err, configs[i].kind, configs[i].fragment, what);
        CHECK(p == NULL, "%s: a producer was created", what);
        pk_producer_free(p);
        pk_config_free(c);
    }

    pk_producer *p = producer("max.block.ms", "3000", NULL, NULL);
    char long_topic[251]; /* the broker's limit is 249 */
    memset(long_topic, 't', 250);
    long_topic[250] = 0;
    pk_header bad_header = {"\xff", 0, (const uint8_t *)"v", 1};
    pk_header null_header_key = {NULL, 3, NULL, 0};
    struct {
        const char *what, *topic;
        size_t topic_len;
        const char *key;
        size_t key_len;
        const pk_header *headers;
        size_t headers_len;
        pk_error_kind kind;
        const char *fragment;
        /* 0: a bad argument, both calls fail; 1: the broker refuses the topic, pk_producer_produce
         * fails with it and pk_producer_produce_batch reports it; 2: the record is queued and its
         * report carries the error. */
        int refused_by;
    } records[] = {
        {"empty topic", "", 0, "k", 1, NULL, 0, PK_ERROR_KIND_INVALID_ARGUMENT, "topic", 1},
        {"topic not UTF-8 (with its length)", "ab\xc3", 3, "k", 1, NULL, 0, PK_ERROR_KIND_INVALID_ARGUMENT, "UTF-8", 0},
        {"topic NULL, length 0", NULL, 0, "k", 1, NULL, 0, PK_ERROR_KIND_INVALID_ARGUMENT, "NULL", 0},
        {"topic NULL with a length", NULL, 5, "k", 1, NULL, 0, PK_ERROR_KIND_INVALID_ARGUMENT, "NULL", 0},
        {"key NULL with a huge length", topic, 0, NULL, SIZE_MAX, NULL, 0, PK_ERROR_KIND_INVALID_ARGUMENT, "key", 0},
        {"headers NULL with a length", topic, 0, "k", 1, NULL, 2, PK_ERROR_KIND_INVALID_ARGUMENT, "headers", 0},
        {"header key not UTF-8", topic, 0, "k", 1, &bad_header, 1, PK_ERROR_KIND_INVALID_ARGUMENT, "UTF-8", 0},
        {"header key NULL with a length", topic, 0, "k", 1, &null_header_key, 1, PK_ERROR_KIND_INVALID_ARGUMENT, "key", 0},
        {"invalid topic name", "bad topic!", 0, "k", 1, NULL, 0, PK_ERROR_KIND_BROKER, "INVALID_TOPIC", 1},
        {"topic name of 250 characters", long_topic, 0, "k", 1, NULL, 0, PK_ERROR_KIND_BROKER, "INVALID_TOPIC", 1},
    };
    for (size_t i = 0; i < sizeof records / sizeof records[0]; i++) {
        pk_record r = record(records[i].topic, records[i].key, "v", i);
        r.topic_len = records[i].topic_len;
        r.key_len = records[i].key_len;
        r.headers = records[i].headers;
        r.headers_len = records[i].headers_len;
        size_t queued = 9, got = 0;
        pk_delivery_report rep[2];
        if (records[i].refused_by == 0) {
            expect_error_text(pk_producer_produce(p, &r), records[i].kind, records[i].fragment, records[i].what);
            expect_error_text(pk_producer_produce_batch(p, &r, 1, &queued), records[i].kind, records[i].fragment,
                              records[i].what);
            CHECK(queued == 9, "%s: out_queued written on error", records[i].what);
            continue;
        }
        if (records[i].refused_by == 1) {
            expect_error_text(pk_producer_produce(p, &r), records[i].kind, records[i].fragment, records[i].what);
        } else {
            expect_ok(pk_producer_produce(p, &r), records[i].what);
        }
        /* In a batch the call succeeds and the record's report carries the error. */
        expect_ok(pk_producer_produce_batch(p, &r, 1, &queued), records[i].what);
        expect_ok(pk_producer_poll_reports(p, rep, 2, 30000, &got), "poll");
        CHECK(got >= 1 && rep[0].opaque == i && rep[0].error && strstr(pk_error_message(rep[0].error), records[i].fragment),
              "%s: %zu reports, %s", records[i].what, got, got && rep[0].error ? pk_error_message(rep[0].error) : "no error");
        if (records[i].refused_by == 2 && got < 2) {
            pk_delivery_reports_clear(rep, got);
            expect_ok(pk_producer_poll_reports(p, rep, 2, 30000, &got), "poll");
        }
        pk_delivery_reports_clear(rep, got);
    }
    expect_ok(pk_producer_close(p, 1000), "close");
    expect_ok(pk_producer_close(p, 1000), "close twice");
    pk_producer_free(p);

    /* Consumer arguments, then use after close. */
    pk_consumer *c = consumer("bad-values", NULL, NULL, NULL, NULL);
    const char *bad_topics[] = {topic, "\xff"};
    const char *null_topic[] = {NULL};
    const char *empty_topic[] = {""};
    pk_topic_partition bad_tp = {"\xfe", 0, 0, 0};
    expect_error_text(pk_consumer_subscribe(c, bad_topics, 2), PK_ERROR_KIND_INVALID_ARGUMENT, "UTF-8", "subscribe, not UTF-8");
    expect_error_text(pk_consumer_subscribe(c, null_topic, 1), PK_ERROR_KIND_INVALID_ARGUMENT, "NULL", "subscribe, NULL name");
    expect_error_text(pk_consumer_subscribe(c, empty_topic, 1), PK_ERROR_KIND_INVALID_ARGUMENT, "topic", "subscribe, empty name");
    expect_error_text(pk_consumer_subscribe(c, NULL, 3), PK_ERROR_KIND_INVALID_ARGUMENT, "NULL", "subscribe, NULL array");
    expect_error_text(pk_consumer_assign(c, &bad_tp, 1), PK_ERROR_KIND_INVALID_ARGUMENT, "UTF-8", "assign, not UTF-8");
    expect_error_text(pk_consumer_seek(c, "\xff", 0, 0), PK_ERROR_KIND_INVALID_ARGUMENT, "UTF-8", "seek, not UTF-8");
    pk_group_metadata *gm = NULL;
    expect_error_text(pk_group_metadata_new("\xff", &gm), PK_ERROR_KIND_INVALID_ARGUMENT, "UTF-8", "group id not UTF-8");
    CHECK(gm == NULL, "group metadata written on error");
    expect_ok(pk_consumer_close(c), "consumer close");
    expect_ok(pk_consumer_close(c), "consumer close twice");
    pk_message_batch *b = NULL;
    expect_error(pk_consumer_poll(c, 0, &b), PK_ERROR_KIND_CLOSED, "poll after close");
    expect_error(pk_consumer_subscribe(c, bad_topics, 1), PK_ERROR_KIND_CLOSED, "subscribe after close");
    expect_error(pk_consumer_seek(c, topic, 0, 0), PK_ERROR_KIND_CLOSED, "seek after close");
    pk_consumer_free(c);

    pk_admin *a = admin_client();
    pk_string_list *list = NULL;
    pk_new_topic bad_new[] = {{"bad topic!", 1, 1, NULL, NULL, 0}, {"\xff", 1, 1, NULL, NULL, 0}};
    pk_error *results[2] = {NULL, NULL};
    pk_error *err = pk_admin_create_topics(a, bad_new, 1, false, results);
    if (err) {
        expect_error_text(err, PK_ERROR_KIND_INVALID_ARGUMENT, "topic", "create an invalid topic name");
    } else {
        CHECK(results[0] && pk_error_code(results[0]) == 17, "create an invalid topic name: %s",
              results[0] ? pk_error_message(results[0]) : "no error");
        pk_error_free(results[0]);
    }
    expect_error_text(pk_admin_create_topics(a, bad_new + 1, 1, false, results), PK_ERROR_KIND_INVALID_ARGUMENT, "UTF-8",
                      "create a topic not UTF-8");
    expect_ok(pk_admin_close(a), "admin close");
    expect_ok(pk_admin_close(a), "admin close twice");
    expect_error(pk_admin_list_topics(a, false, &list), PK_ERROR_KIND_CLOSED, "list after close");
    pk_admin_free(a);
}

int main(void) {
    bootstrap = getenv("KAFKA_BOOTSTRAP");
    if (!bootstrap || !*bootstrap) bootstrap = "127.0.0.1:9092";
    snprintf(topic, sizeof topic, "polykafka-c-%ld-%d", (long)time(NULL), (int)getpid());

    test_version_and_null_frees();
    test_panic();
    test_null_handles();
    test_null_args();
    test_bad_values();
    test_config_errors();
    test_produce_one();
    test_produce_many();
    test_delivery_callback();
    test_send_batch();
    test_partition_count_and_closed();
    test_unknown_topic();
    test_too_large();
    test_unreachable();
    test_logs();
    test_cancel();
    test_admin();
    test_consumer_errors();
    test_consume_assign();
    test_group_commit_restart();
    test_transactions();
    test_dead_letter();
    test_stats();
    test_schema_registry();
    test_protobuf_encoded();
    test_streams_errors();
    test_streams();
    test_streams_per_record();
    test_streams_session();
    test_streams_timestamps();

    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
