"""Produces N records with each of Kafka's compression codecs (gzip, snappy, lz4, zstd) with
confluent-kafka (librdkafka) to a `kafkasim serve` cluster, then reads the topic back from
the beginning and checks that every value came back intact; prints one JSON line. Exit 0
when every codec's records came back, 1 otherwise, 77 when confluent-kafka is not
installed (the Rust test reports a skip).

Usage: compressed_confluent.py BOOTSTRAP TOPIC N
"""
import json
import sys
import time

try:
    from confluent_kafka import Consumer, Producer
except ImportError:
    print("confluent-kafka is not installed", file=sys.stderr)
    sys.exit(77)

CODECS = ["gzip", "snappy", "lz4", "zstd"]


def value(codec, i):
    # Repetitive, so every codec shrinks it: the broker must decompress to read it.
    return f"zip-{codec}-{i}-".encode() + b"abcdefgh" * 64


def produce(bootstrap, topic, n, codec):
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "acks": "all",
            "compression.type": codec,
            "linger.ms": 20,
        }
    )
    reports = {"ok": 0, "failed": 0, "errors": []}

    def on_delivery(err, msg):
        if err:
            reports["failed"] += 1
            reports["errors"].append(str(err))
        else:
            reports["ok"] += 1

    for i in range(n):
        producer.produce(topic, key=f"k{i}".encode(), value=value(codec, i), on_delivery=on_delivery)
        producer.poll(0)
    producer.flush(60)
    reports["errors"] = reports["errors"][:3]
    return reports


def main():
    bootstrap, topic, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    produced = {c: produce(bootstrap, topic, n, c) for c in CODECS}
    expected = {value(c, i) for c in CODECS for i in range(n)}
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "compressed-confluent",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    got = set()
    deadline = time.time() + 60
    while len(got & expected) < len(expected) and time.time() < deadline:
        m = consumer.poll(1.0)
        if m is None or m.error():
            continue
        if m.value() is not None and m.value().startswith(b"zip-"):
            got.add(m.value())
    consumer.close()
    result = {
        "acked": {c: produced[c]["ok"] for c in CODECS},
        "failed": {c: produced[c]["failed"] for c in CODECS},
        "errors": {c: produced[c]["errors"] for c in CODECS if produced[c]["errors"]},
        "consumed": len(got),
        "values_match": got == expected,
    }
    print(json.dumps(result))
    sys.exit(0 if result["values_match"] else 1)


if __name__ == "__main__":
    main()
