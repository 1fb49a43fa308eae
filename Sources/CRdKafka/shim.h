#ifndef TRIAGE_CRDKAFKA_SHIM_H
#define TRIAGE_CRDKAFKA_SHIM_H
// librdkafka's client API and its built-in mock cluster (the embedded broker).
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#endif
