/* A short C example: produce a few records and print where they were written.
 * Build: cc -I bindings-c/include examples/produce.c target/release/libpolykafka.a -lpthread -ldl -lm -lrt
 * Run:   KAFKA_BOOTSTRAP=127.0.0.1:9092 ./produce [topic] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "polykafka.h"

static int fail(pk_error *err) {
    fprintf(stderr, "error %s: %s\n", pk_error_name(err), pk_error_message(err));
    pk_error_free(err);
    return 1;
}

int main(int argc, char **argv) {
    const char *bootstrap = getenv("KAFKA_BOOTSTRAP") ? getenv("KAFKA_BOOTSTRAP") : "127.0.0.1:9092";
    const char *topic = argc > 1 ? argv[1] : "polykafka-demo";
    pk_config *config = NULL;
    pk_producer *producer = NULL;
    pk_error *err;

    if ((err = pk_config_new(&config))) return fail(err);
    if ((err = pk_config_set(config, "bootstrap.servers", bootstrap))) return fail(err);
    if ((err = pk_config_set(config, "linger.ms", "5"))) return fail(err);
    err = pk_producer_new(config, &producer);
    pk_config_free(config); /* the producer copied what it needs */
    if (err) return fail(err);

    pk_record records[3];
    const char *values[3] = {"hello", "from", "C"};
    for (int i = 0; i < 3; i++) {
        memset(&records[i], 0, sizeof records[i]);
        records[i].topic = topic; /* topic_len 0: NUL-terminated */
        records[i].partition = PK_PARTITION_ANY;
        records[i].key = (const uint8_t *)"demo";
        records[i].key_len = 4;
        records[i].value = (const uint8_t *)values[i];
        records[i].value_len = strlen(values[i]);
        records[i].opaque = (uint64_t)i;
    }
    if ((err = pk_producer_produce_batch(producer, records, 3, NULL))) return fail(err);
    if ((err = pk_producer_flush(producer, 10000))) return fail(err);

    pk_delivery_report reports[3];
    size_t n = 0;
    if ((err = pk_producer_poll_reports(producer, reports, 3, 1000, &n))) return fail(err);
    for (size_t i = 0; i < n; i++) {
        if (reports[i].error)
            printf("record %llu failed: %s\n", (unsigned long long)reports[i].opaque, pk_error_message(reports[i].error));
        else
            printf("record %llu written to %s-%d at offset %lld\n", (unsigned long long)reports[i].opaque, topic,
                   reports[i].partition, (long long)reports[i].offset);
    }
    pk_delivery_reports_clear(reports, n); /* frees the reports' errors */
    if ((err = pk_producer_close(producer, 10000))) return fail(err);
    pk_producer_free(producer);
    return 0;
}
