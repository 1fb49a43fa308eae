#!/usr/bin/env python3
"""Does a broker show a live consumer every record that several producers write at once?

Triage's workers write to shared topics from several processes (the bench producer and the
router both append to triage.incident-events), and every worker relies on its consumer seeing
each stored record, in offset order, with no offset skipped. This qualifies a broker for that:
N producers write to every partition of TOPIC at a fixed rate while one consumer (manually
assigned, no group) reads along; afterwards the log is read again from where the run began.

It reports how many records the producers had acknowledged, how many the live consumer saw,
the offsets it was handed out of order or skipped, and how many acknowledged records the
re-read found. Exit 0 when the live consumer saw every acknowledged record with no offset
skipped, 1 otherwise, 2 on a usage error.

Needs confluent-kafka (make test-deps installs it). Create the topic first, e.g.
  triage topics create visibility.check:8 --replication-factor 1 --bootstrap 127.0.0.1:9092
then
  scripts/broker-visibility-check.py --bootstrap 127.0.0.1:9092 --topic visibility.check
  scripts/broker-visibility-check.py --bootstrap 127.0.0.1:9092 --topic visibility.check \\
      --producers 1 --rate 5000 --seconds 10
(Measured on 2026-12-06: librdkafka's mock broker passes with 2 producers; tansu 0.6.0 with its
memory storage passes with 1 producer and fails with 2: its high watermark falls behind the
records it stores, and live consumers skip offsets and stop short.)
"""

import argparse
import sys
import threading
import time
import uuid

try:
    from confluent_kafka import Consumer, Producer, TopicPartition
except ImportError:
    sys.exit("confluent-kafka is missing: python3 -m pip install confluent-kafka (make test-deps does)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bootstrap", required=True, help="host:port of the broker")
    parser.add_argument("--topic", required=True, help="an existing topic (every partition is written)")
    parser.add_argument("--producers", type=int, default=2, help="producers writing at once (default 2)")
    parser.add_argument("--rate", type=int, default=2500, help="records per second per producer (default 2500)")
    parser.add_argument("--seconds", type=int, default=20, help="how long they write (default 20)")
    parser.add_argument("--fetch-wait-ms", type=int, default=5, help="the consumer's fetch.wait.max.ms (default 5)")
    args = parser.parse_args()
    if args.producers < 1 or args.rate < 1 or args.seconds < 1:
        parser.error("--producers, --rate and --seconds must be at least 1")

    base = {"bootstrap.servers": args.bootstrap}
    probe = Consumer({**base, "group.id": "visibility-check", "enable.auto.commit": False})
    metadata = probe.list_topics(args.topic, timeout=15)
    topic = metadata.topics.get(args.topic)
    if topic is None or topic.error is not None or not topic.partitions:
        print(f"no topic {args.topic} on {args.bootstrap}: create it first (see --help)", file=sys.stderr)
        return 2
    partitions = sorted(topic.partitions)
    start = {p: probe.get_watermark_offsets(TopicPartition(args.topic, p), timeout=15)[1] for p in partitions}
    probe.close()

    run = uuid.uuid4().hex[:8]
    acknowledged: set[bytes] = set()
    acknowledged_lock = threading.Lock()
    seen: set[bytes] = set()
    jumps: list[str] = []
    done = threading.Event()

    def consume() -> None:
        consumer = Consumer({**base, "group.id": "visibility-check", "enable.auto.commit": False,
                             "fetch.wait.max.ms": args.fetch_wait_ms})
        consumer.assign([TopicPartition(args.topic, p, start[p]) for p in partitions])
        expected: dict[int, int] = {}
        quiet_since = None
        while True:
            messages = consumer.consume(1000, timeout=0.2)
            if not messages:
                if done.is_set():
                    quiet_since = quiet_since or time.monotonic()
                    with acknowledged_lock:
                        complete = acknowledged <= seen
                    if complete or time.monotonic() - quiet_since > 10:
                        break
                continue
            quiet_since = None
            for message in messages:
                if message.error():
                    print(f"consumer error: {message.error()}", file=sys.stderr)
                    continue
                partition, offset = message.partition(), message.offset()
                if partition in expected and offset != expected[partition]:
                    jumps.append(f"partition {partition}: expected offset {expected[partition]}, got {offset}")
                expected[partition] = offset + 1
                if message.key() and message.key().startswith(run.encode()):
                    seen.add(message.key())
        consumer.close()

    def produce(index: int) -> None:
        producer = Producer({**base, "linger.ms": 1})

        def delivered(error, message) -> None:
            if error is None:
                with acknowledged_lock:
                    acknowledged.add(message.key())

        began = time.monotonic()
        sent = 0
        while time.monotonic() - began < args.seconds:
            due = int((time.monotonic() - began) * args.rate)
            while sent < due:
                key = f"{run}-{index}-{sent}".encode()
                producer.produce(args.topic, key=key, value=b"x" * 64, partition=partitions[sent % len(partitions)],
                                 on_delivery=delivered)
                sent += 1
                producer.poll(0)
            time.sleep(0.001)
        producer.flush(30)

    reader = threading.Thread(target=consume)
    reader.start()
    time.sleep(2)  # the consumer's first fetches are out before anything is written
    print(f"{args.producers} producer(s) × {args.rate}/s for {args.seconds} s into {args.topic} "
          f"({len(partitions)} partitions) on {args.bootstrap} ...", flush=True)
    writers = [threading.Thread(target=produce, args=(index,)) for index in range(args.producers)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    done.set()
    reader.join()

    # The log read again from where the run began: what the broker stored.
    stored: set[bytes] = set()
    again = Consumer({**base, "group.id": "visibility-check", "enable.auto.commit": False})
    again.assign([TopicPartition(args.topic, p, start[p]) for p in partitions])
    while True:
        messages = again.consume(1000, timeout=3)
        if not messages:
            break
        stored.update(m.key() for m in messages if not m.error() and m.key() and m.key().startswith(run.encode()))
    again.close()

    missed = acknowledged - seen
    print(f"acknowledged {len(acknowledged)}; seen live {len(acknowledged & seen)}; "
          f"stored (read again) {len(acknowledged & stored)}; offsets skipped or out of order {len(jumps)}")
    for jump in jumps[:5]:
        print(f"  {jump}")
    if missed or jumps:
        print(f"FAILED: the live consumer missed {len(missed)} acknowledged records "
              f"({len(missed & stored)} of them are in the log)")
        return 1
    print("ok: the live consumer saw every acknowledged record, no offset skipped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
