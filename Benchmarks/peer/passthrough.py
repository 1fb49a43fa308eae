#!/usr/bin/env python3
"""Peer reference for `make bench`: consume -> produce passthrough with confluent_kafka.

The same passthrough as triage-bench's Swift one (TriageKafka): read N records from the input
topic in a fresh group, produce each value to the output topic (idempotent, acks=all,
linger.ms=5), store the offsets of a batch after handing it to the producer, flush at the end.
Timed from the first record received to the last delivery report. Prints one JSON line.

    passthrough.py --bootstrap HOST:PORT --input A --output B --group G --count N
    passthrough.py --version     # prints the librdkafka version confluent_kafka runs on
"""
import argparse
import json
import sys
import time

try:
    import confluent_kafka
    from confluent_kafka import Consumer, Producer, TopicPartition
except ImportError as error:  # reported by the Swift side as "not measured"
    print(json.dumps({"error": f"confluent_kafka is not installed ({error}); apt-get install python3-confluent-kafka"}))
    sys.exit(2)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap")
    parser.add_argument("--input")
    parser.add_argument("--output")
    parser.add_argument("--group")
    parser.add_argument("--count", type=int)
    parser.add_argument("--version", action="store_true")
    args = parser.parse_args()
    libversion = confluent_kafka.libversion()[0]
    if args.version:
        print(json.dumps({"libversion": libversion, "client": confluent_kafka.version()[0]}))
        return 0

    consumer = Consumer({
        "bootstrap.servers": args.bootstrap, "group.id": args.group, "auto.offset.reset": "earliest",
        "enable.auto.offset.store": False, "enable.partition.eof": False,
        "partition.assignment.strategy": "cooperative-sticky", "fetch.wait.max.ms": 10, "log_level": 3,
    })
    producer = Producer({
        "bootstrap.servers": args.bootstrap, "enable.idempotence": True, "acks": "all", "linger.ms": 5,
        "queue.buffering.max.messages": 100000, "log_level": 3,
    })
    failed = 0

    def on_delivery(error, _message):
        nonlocal failed
        if error is not None:
            failed += 1

    consumer.subscribe([args.input])
    received = 0
    started = None
    deadline = time.monotonic() + 180
    while received < args.count and time.monotonic() < deadline:
        batch = consumer.consume(num_messages=10000, timeout=0.1)
        if not batch:
            continue
        if started is None:
            started = time.monotonic()
        last = {}
        for message in batch:
            if message.error():
                continue
            while True:
                try:
                    producer.produce(args.output, message.value(), message.key(), on_delivery=on_delivery)
                    break
                except BufferError:  # queue full: serve delivery reports, then retry
                    producer.poll(0.01)
            last[(message.topic(), message.partition())] = message.offset()
            received += 1
        producer.poll(0)
        consumer.store_offsets(offsets=[TopicPartition(t, p, o + 1) for (t, p), o in last.items()])
    remaining = producer.flush(60)
    elapsed = time.monotonic() - (started or time.monotonic())
    consumer.close()
    print(json.dumps({
        "libversion": libversion, "client": confluent_kafka.version()[0], "count": received, "seconds": elapsed,
        "failed": failed, "undelivered": remaining,
    }))
    return 0 if received == args.count and failed == 0 and remaining == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
