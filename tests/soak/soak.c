/* The C soak program (tests/soak/run): the C ABI of polykafka. Arguments: BOOTSTRAP TOPIC GROUP RECORDS CHUNK.
 * Produces CHUNK records (key, ~150-byte value, a `seq` header) with pk_producer_produce_batch, consumes them back
 * in its group (pk_consumer_poll_batch, pk_consumer_commit), repeats until RECORDS went both ways; prints
 * `progress N` after each chunk and `ok N` at the end, or `FAIL ...` (exit 2) when a record is missing, doubled,
 * out of order or damaged, or a call fails. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "polykafka.h"

#define SEND 1000
#define VALUE_LEN 143

static void check(struct pk_error *err, const char *what) {
    if (err) {
        printf("FAIL %s: %s\n", what, pk_error_message(err));
        fflush(stdout);
        exit(2);
    }
}

static void fail(const char *msg, long long a, long long b) {
    printf("FAIL %s (%lld, %lld)\n", msg, a, b);
    fflush(stdout);
    exit(2);
}

static struct pk_config *config(const char *const *kv) {
    struct pk_config *c = NULL;
    check(pk_config_new(&c), "pk_config_new");
    for (; kv[0]; kv += 2) check(pk_config_set(c, kv[0], kv[1]), kv[0]);
    return c;
}

int main(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: %s BOOTSTRAP TOPIC GROUP RECORDS CHUNK\n", argv[0]);
        return 64;
    }
    const char *boot = argv[1], *topic = argv[2], *group = argv[3];
    long long total = atoll(argv[4]), chunk = atoll(argv[5]);
    const char *pkv[] = {"bootstrap.servers", boot, "linger.ms", "5", NULL};
    const char *ckv[] = {"bootstrap.servers", boot, "group.id", group, "enable.auto.commit", "false",
                         "auto.offset.reset", "earliest", NULL};
    struct pk_config *pc = config(pkv), *cc = config(ckv);
    struct pk_producer *producer = NULL;
    struct pk_consumer *consumer = NULL;
    check(pk_producer_new(pc, &producer), "pk_producer_new");
    check(pk_consumer_new(cc, &consumer), "pk_consumer_new");
    pk_config_free(pc);
    pk_config_free(cc);

    static char keys[SEND][16], values[SEND][VALUE_LEN + 1], seqs[SEND][24];
    static struct pk_header headers[SEND];
    static struct pk_record records[SEND];
    static struct pk_delivery_report reports[SEND];
    long long expected = 0;
    while (expected < total) {
        long long end = expected + chunk < total ? expected + chunk : total;
        for (long long start = expected; start < end; start += SEND) {
            size_t n = (size_t)(end - start < SEND ? end - start : SEND);
            for (size_t i = 0; i < n; i++) {
                long long seq = start + (long long)i;
                snprintf(keys[i], sizeof keys[i], "key-%lld", seq % 100);
                snprintf(values[i], sizeof values[i], "%012lld|%0130d", seq, 0);
                snprintf(seqs[i], sizeof seqs[i], "%lld", seq);
                headers[i] = (struct pk_header){"seq", 3, (const uint8_t *)seqs[i], strlen(seqs[i])};
                records[i] = (struct pk_record){0};
                records[i].topic = topic;
                records[i].partition = PK_PARTITION_ANY;
                records[i].key = (const uint8_t *)keys[i];
                records[i].key_len = strlen(keys[i]);
                records[i].value = (const uint8_t *)values[i];
                records[i].value_len = VALUE_LEN;
                records[i].headers = &headers[i];
                records[i].headers_len = 1;
            }
            size_t queued = 0;
            check(pk_producer_produce_batch(producer, records, n, &queued), "pk_producer_produce_batch");
            if (queued != n) fail("records not queued", (long long)queued, (long long)n);
            /* Every report, one per record: none may carry an error. */
            for (size_t got = 0; got < n;) {
                size_t count = 0;
                check(pk_producer_poll_reports(producer, reports, SEND, 60000, &count), "pk_producer_poll_reports");
                if (count == 0) fail("no delivery report in 60 s", start, (long long)got);
                for (size_t i = 0; i < count; i++)
                    if (reports[i].error) check(reports[i].error, "delivery");
                got += count;
            }
        }
        /* Subscribed once the producer made the topic (auto-created), so the group assigns its partition at once. */
        if (expected == 0) check(pk_consumer_subscribe(consumer, &topic, 1), "pk_consumer_subscribe");
        int idle = 0;
        int64_t next_offset = -1;
        while (expected < end) {
            struct pk_message_batch *batch = NULL;
            check(pk_consumer_poll_batch(consumer, 1000, 1000, &batch), "pk_consumer_poll_batch");
            if (batch->len == 0 && ++idle > 60) fail("nothing consumed for 60 s", expected, end);
            for (size_t i = 0; i < batch->len; i++) {
                const struct pk_consumer_record *r = &batch->records[i];
                char head[13] = {0}, key[16];
                if (!r->value || r->value_len != VALUE_LEN) fail("bad value length", expected, (long long)r->value_len);
                memcpy(head, r->value, 12);
                long long seq = atoll(head);
                if (seq != expected) fail("read a sequence number out of order (read, expected)", seq, expected);
                snprintf(key, sizeof key, "key-%lld", seq % 100);
                char hv[24];
                snprintf(hv, sizeof hv, "%lld", seq);
                if (!r->key || r->key_len != strlen(key) || memcmp(r->key, key, r->key_len) != 0 || r->headers_len != 1 ||
                    strcmp(r->headers[0].key, "seq") != 0 || r->headers[0].value_len != strlen(hv) ||
                    memcmp(r->headers[0].value, hv, strlen(hv)) != 0)
                    fail("damaged record", seq, 0);
                expected++;
                next_offset = r->offset + 1;
            }
            if (batch->len) idle = 0;
            pk_message_batch_free(batch);
        }
        if (expected != end) fail("read past the chunk", expected, end);
        struct pk_topic_partition tp = {topic, 0, 0, next_offset};
        check(pk_consumer_commit(consumer, &tp, 1), "pk_consumer_commit");
        printf("progress %lld\n", expected);
        fflush(stdout);
    }
    check(pk_consumer_close(consumer), "pk_consumer_close");
    pk_consumer_free(consumer);
    check(pk_producer_flush(producer, 10000), "pk_producer_flush");
    pk_producer_free(producer);
    printf("ok %lld\n", expected);
    return 0;
}
