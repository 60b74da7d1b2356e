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
    CHECK(strcmp(pk_version(), "0.1.0") == 0, "version %s", pk_version());
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

int main(void) {
    bootstrap = getenv("KAFKA_BOOTSTRAP");
    if (!bootstrap || !*bootstrap) bootstrap = "127.0.0.1:9092";
    snprintf(topic, sizeof topic, "polykafka-c-%ld-%d", (long)time(NULL), (int)getpid());

    test_version_and_null_frees();
    test_null_handles();
    test_config_errors();
    test_produce_one();
    test_produce_many();
    test_delivery_callback();
    test_send_batch();
    test_partition_count_and_closed();
    test_unknown_topic();
    test_too_large();
    test_unreachable();
    test_admin();

    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
