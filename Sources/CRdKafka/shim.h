#ifndef TRIAGE_CRDKAFKA_SHIM_H
#define TRIAGE_CRDKAFKA_SHIM_H
// librdkafka's client API and its built-in mock cluster (the embedded broker).
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#if defined(__linux__)
#include <pthread.h>
// glibc declares this only under _GNU_SOURCE, which must not be defined here: it would change
// system structs relative to Swift's Glibc module.
extern int pthread_setname_np(pthread_t thread, const char *name);
#endif

/// Names the calling OS thread (Linux keeps 15 characters), so profilers and `top -H` show our
/// dedicated client threads by name.
static inline void triage_set_current_thread_name(const char *name) {
#if defined(__linux__)
    pthread_setname_np(pthread_self(), name);
#endif
}
#endif
