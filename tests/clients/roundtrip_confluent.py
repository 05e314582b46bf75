"""Produces N records with confluent-kafka (librdkafka) to a `kafkasim serve` cluster —
idempotent, acks=all — and consumes them back in a consumer group; prints one JSON line
with what happened. Exit 0 when every value came back, 1 otherwise, 77 when
confluent-kafka is not installed (the Rust test reports a skip).

Usage: roundtrip_confluent.py BOOTSTRAP TOPIC N
"""
import json
import sys
import time

try:
    from confluent_kafka import Consumer, Producer
except ImportError:
    print("confluent-kafka is not installed", file=sys.stderr)
    sys.exit(77)


def main():
    bootstrap, topic, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "enable.idempotence": True,
            "acks": "all",
            "compression.type": "none",
            "linger.ms": 5,
        }
    )
    reports = {"ok": 0, "failed": 0}

    def on_delivery(err, msg):
        reports["failed" if err else "ok"] += 1

    sent = [f"value-{i}".encode() for i in range(n)]
    for i, v in enumerate(sent):
        producer.produce(topic, key=f"k{i}".encode(), value=v, headers={"h": str(i)}, on_delivery=on_delivery)
        producer.poll(0)
    left = producer.flush(60)

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "roundtrip-confluent",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    got = []
    headers_ok = 0
    deadline = time.time() + 60
    while len(got) < n and time.time() < deadline:
        m = consumer.poll(1.0)
        if m is None or m.error():
            continue
        got.append(m.value())
        if m.headers() and m.headers()[0][0] == "h" and m.key() is not None:
            headers_ok += 1
    committed = 0
    if got:
        consumer.commit(asynchronous=False)
        committed = sum(max(tp.offset, 0) for tp in consumer.committed(consumer.assignment(), timeout=10))
    consumer.close()
    result = {
        "sent": n,
        "acked": reports["ok"],
        "failed": reports["failed"],
        "unflushed": left,
        "consumed": len(got),
        "distinct": len(set(got)),
        "values_match": sorted(got) == sorted(sent),
        "headers_ok": headers_ok,
        "committed": committed,
    }
    print(json.dumps(result))
    sys.exit(0 if result["values_match"] else 1)


if __name__ == "__main__":
    main()
