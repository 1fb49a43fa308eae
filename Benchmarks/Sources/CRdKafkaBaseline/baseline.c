// Minimal librdkafka C-API loops: the baseline the Swift binding is measured against.
#include "baseline.h"
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int set(rd_kafka_conf_t *conf, const char *key, const char *value) {
    char errstr[512];
    if (rd_kafka_conf_set(conf, key, value, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "baseline: %s: %s\n", key, errstr);
        return -1;
    }
    return 0;
}

static int64_t delivered;
static int64_t failed;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *message, void *opaque) {
    (void)rk;
    (void)opaque;
    if (message->err) failed++; else delivered++;
}

double baseline_produce(const char *bootstrap, const char *topic, int64_t count, int32_t size) {
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char errstr[512];
    // The same settings the Swift producer uses by default (idempotent, acks=all, linger 5 ms).
    if (set(conf, "bootstrap.servers", bootstrap) || set(conf, "enable.idempotence", "true") ||
        set(conf, "acks", "all") || set(conf, "linger.ms", "5") ||
        set(conf, "queue.buffering.max.messages", "100000") || set(conf, "log_level", "3")) {
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!rk) {
        fprintf(stderr, "baseline: %s\n", errstr);
        return -1;
    }
    char *payload = malloc((size_t)size);
    memset(payload, 'x', (size_t)size);
    delivered = failed = 0;
    double started = now_seconds();
    for (int64_t i = 0; i < count; i++) {
        for (;;) {
            rd_kafka_resp_err_t err = rd_kafka_producev(
                rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                RD_KAFKA_V_VALUE(payload, (size_t)size), RD_KAFKA_V_END);
            if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
            if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                fprintf(stderr, "baseline: produce: %s\n", rd_kafka_err2str(err));
                free(payload);
                rd_kafka_destroy(rk);
                return -1;
            }
            rd_kafka_poll(rk, 10);  // queue full: serve delivery reports, then retry
        }
        rd_kafka_poll(rk, 0);
    }
    rd_kafka_flush(rk, 60000);
    double elapsed = now_seconds() - started;
    free(payload);
    rd_kafka_destroy(rk);
    if (delivered != count) {
        fprintf(stderr, "baseline: delivered %lld of %lld (%lld failed)\n", (long long)delivered, (long long)count, (long long)failed);
        return -1;
    }
    return elapsed;
}

double baseline_consume(const char *bootstrap, const char *topic, const char *group, int64_t count) {
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char errstr[512];
    if (set(conf, "bootstrap.servers", bootstrap) || set(conf, "group.id", group) ||
        set(conf, "auto.offset.reset", "earliest") || set(conf, "enable.partition.eof", "false") ||
        set(conf, "partition.assignment.strategy", "cooperative-sticky") ||
        set(conf, "fetch.wait.max.ms", "10") || set(conf, "log_level", "3")) {
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    if (!rk) {
        fprintf(stderr, "baseline: %s\n", errstr);
        return -1;
    }
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(rk, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    int64_t received = 0;
    int64_t bytes = 0;
    double started = 0;
    double deadline = now_seconds() + 120;
    while (received < count && now_seconds() < deadline) {
        rd_kafka_message_t *message = rd_kafka_consumer_poll(rk, 100);
        if (!message) continue;
        if (!message->err) {
            if (received == 0) started = now_seconds();
            received++;
            bytes += (int64_t)message->len;
        }
        rd_kafka_message_destroy(message);
    }
    double elapsed = now_seconds() - started;
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    if (received != count) {
        fprintf(stderr, "baseline: consumed %lld of %lld\n", (long long)received, (long long)count);
        return -1;
    }
    return bytes > 0 ? elapsed : -1;
}
