"""Produces N records with kafka-python to a `kafkasim serve` cluster and consumes them back
in a consumer group; prints one JSON line with what happened. Exit 0 when every value came
back, 1 otherwise, 77 when kafka-python is not installed (the Rust test reports a skip).

Usage: roundtrip_kafka_python.py BOOTSTRAP TOPIC N
"""
import json
import sys
import time

try:
    from kafka import KafkaConsumer, KafkaProducer
except ImportError:
    print("kafka-python is not installed", file=sys.stderr)
    sys.exit(77)


def main():
    bootstrap, topic, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    producer = KafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        compression_type=None,
        request_timeout_ms=20000,
        max_block_ms=30000,
    )
    sent = [f"value-{i}".encode() for i in range(n)]
    futures = [
        producer.send(topic, key=f"k{i}".encode(), value=v, headers=[("h", b"%d" % i)])
        for i, v in enumerate(sent)
    ]
    acked = 0
    for f in futures:
        f.get(timeout=60)
        acked += 1
    producer.flush()
    producer.close()

    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id="roundtrip",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=1000,
    )
    got = []
    headers_ok = 0
    deadline = time.time() + 60
    while len(got) < n and time.time() < deadline:
        batch = consumer.poll(timeout_ms=1000)
        for records in batch.values():
            for r in records:
                got.append(r.value)
                if r.headers and r.headers[0][0] == "h" and r.key is not None:
                    headers_ok += 1
    consumer.commit()
    committed = sum(
        (consumer.committed(tp) or 0) for tp in consumer.assignment()
    )
    consumer.close()
    result = {
        "sent": n,
        "acked": acked,
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
