/* The C tarball's check program (packaging/check-c.sh builds it against the unpacked tarball, once
 * linked with libpolykafka.so and once with libpolykafka.a): prints pk_version(), writes three
 * records to partition 0 of a topic and reads them back from the first offset written.
 * Usage: KAFKA_BOOTSTRAP=host:port check-c <topic> <label>; exits 1 on any difference. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "polykafka.h"

#define N 3

static int fail(const char *what, pk_error *err) {
    fprintf(stderr, "%s: %s: %s\n", what, pk_error_name(err), pk_error_message(err));
    pk_error_free(err);
    return 1;
}

static pk_error *config_with(pk_config **config, const char *bootstrap) {
    pk_error *err = pk_config_new(config);
    if (!err) err = pk_config_set(*config, "bootstrap.servers", bootstrap);
    return err;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s <topic> <label>\n", argv[0]);
        return 2;
    }
    const char *bootstrap = getenv("KAFKA_BOOTSTRAP") ? getenv("KAFKA_BOOTSTRAP") : "127.0.0.1:9092";
    const char *topic = argv[1], *label = argv[2];
    printf("pk_version() = %s\n", pk_version());

    char values[N][64];
    pk_record records[N];
    for (int i = 0; i < N; i++) {
        snprintf(values[i], sizeof values[i], "%s record %d", label, i);
        memset(&records[i], 0, sizeof records[i]);
        records[i].topic = topic;
        records[i].partition = 0;
        records[i].value = (const uint8_t *)values[i];
        records[i].value_len = strlen(values[i]);
        records[i].opaque = (uint64_t)i;
    }
    pk_config *config = NULL;
    pk_producer *producer = NULL;
    pk_error *err = config_with(&config, bootstrap);
    if (!err) err = pk_config_set(config, "acks", "all");
    if (!err) err = pk_producer_new(config, &producer);
    pk_config_free(config);
    if (err) return fail("producer", err);
    if ((err = pk_producer_produce_batch(producer, records, N, NULL))) return fail("produce", err);
    if ((err = pk_producer_flush(producer, 30000))) return fail("flush", err);
    pk_delivery_report reports[N];
    size_t n = 0;
    if ((err = pk_producer_poll_reports(producer, reports, N, 5000, &n))) return fail("reports", err);
    int64_t first = -1;
    for (size_t i = 0; i < n; i++) {
        if (reports[i].error) {
            fprintf(stderr, "record %zu failed: %s\n", i, pk_error_message(reports[i].error));
            return 1;
        }
        if (first < 0 || reports[i].offset < first) first = reports[i].offset;
    }
    pk_delivery_reports_clear(reports, n);
    if (n != N) {
        fprintf(stderr, "%zu delivery reports, want %d\n", n, N);
        return 1;
    }
    if ((err = pk_producer_close(producer, 10000))) return fail("close producer", err);
    pk_producer_free(producer);
    printf("wrote %d records to %s-0 from offset %lld\n", N, topic, (long long)first);

    pk_consumer *consumer = NULL;
    config = NULL;
    err = config_with(&config, bootstrap);
    if (!err) err = pk_consumer_new(config, &consumer);
    pk_config_free(config);
    if (err) return fail("consumer", err);
    pk_topic_partition tp;
    memset(&tp, 0, sizeof tp);
    tp.topic = topic;
    tp.partition = 0;
    tp.offset = first;
    if ((err = pk_consumer_assign(consumer, &tp, 1))) return fail("assign", err);
    int got = 0;
    for (int tries = 0; got < N && tries < 30; tries++) {
        pk_message_batch *batch = NULL;
        if ((err = pk_consumer_poll(consumer, 1000, &batch))) return fail("poll", err);
        for (size_t i = 0; i < batch->len; i++, got++) {
            const pk_consumer_record *r = &batch->records[i];
            if (got >= N || r->value_len != strlen(values[got]) || memcmp(r->value, values[got], r->value_len) != 0) {
                fprintf(stderr, "read '%.*s' at offset %lld, want '%s'\n", (int)r->value_len, (const char *)r->value,
                        (long long)r->offset, got < N ? values[got] : "nothing more");
                return 1;
            }
            printf("read back offset %lld: %.*s\n", (long long)r->offset, (int)r->value_len, (const char *)r->value);
        }
        pk_message_batch_free(batch);
    }
    if ((err = pk_consumer_close(consumer))) return fail("close consumer", err);
    pk_consumer_free(consumer);
    if (got != N) {
        fprintf(stderr, "read %d records back, want %d\n", got, N);
        return 1;
    }
    return 0;
}
