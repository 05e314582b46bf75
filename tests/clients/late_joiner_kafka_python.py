"""A consumer group that starts with auto.offset.reset=latest misses what was written before
it first joined — and then commits past it. kafka-python writes N "early" records to
TOPIC partition 0, a new group `late-joiner` (auto_offset_reset="latest") joins and resolves
its position, N "late" records follow; the consumer reads them and commits. Prints one JSON
line: how many early and late records the consumer got. Exit 77 when kafka-python is not
installed (the Rust test reports a skip).

Usage: late_joiner_kafka_python.py BOOTSTRAP TOPIC N
"""
import json
import sys
import time

try:
    from kafka import KafkaConsumer, KafkaProducer
except ImportError:
    print("kafka-python is not installed", file=sys.stderr)
    sys.exit(77)


def send(producer, topic, prefix, n):
    futures = [producer.send(topic, value=f"{prefix}-{i}".encode(), partition=0) for i in range(n)]
    for f in futures:
        f.get(timeout=60)


def main():
    bootstrap, topic, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", request_timeout_ms=20000)
    send(producer, topic, "early", n)
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id="late-joiner",
        auto_offset_reset="latest",
        enable_auto_commit=False,
    )
    deadline = time.time() + 40
    while not consumer.assignment() and time.time() < deadline:
        consumer.poll(timeout_ms=200)
    for tp in consumer.assignment():
        consumer.position(tp)  # resolves "latest" now, before the late records
    send(producer, topic, "late", n)
    producer.close()
    got = []
    while len(got) < n and time.time() < deadline:
        for records in consumer.poll(timeout_ms=500).values():
            got.extend(r.value.decode() for r in records)
    consumer.commit()
    consumer.close()
    print(
        json.dumps(
            {
                "early_read": sum(1 for v in got if v.startswith("early")),
                "late_read": sum(1 for v in got if v.startswith("late")),
            }
        )
    )


if __name__ == "__main__":
    main()
