#ifndef TRIAGE_CRDKAFKA_SHIM_H
#define TRIAGE_CRDKAFKA_SHIM_H
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
// librdkafka's client API and its built-in mock cluster (the embedded broker).
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

/// Names the calling OS thread (Linux keeps 15 characters), so profilers and `top -H` show our
/// dedicated client threads by name.
static inline void triage_set_current_thread_name(const char *name) {
#if defined(__linux__)
    pthread_setname_np(pthread_self(), name);
#endif
}
#endif
