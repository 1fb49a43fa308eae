#ifndef TRIAGE_BASELINE_H
#define TRIAGE_BASELINE_H
#include <stdint.h>

/// Produces `count` records of `size` bytes to `topic` with the C API and waits for every
/// delivery report. Returns elapsed seconds, or a negative value on error.
double baseline_produce(const char *bootstrap, const char *topic, int64_t count, int32_t size);

/// Consumes `count` records from `topic` in group `group` with a plain rd_kafka_consumer_poll loop
/// (automatic offset store, background commit). Returns seconds from the first record to the last,
/// or a negative value on error.
double baseline_consume(const char *bootstrap, const char *topic, const char *group, int64_t count);
#endif
