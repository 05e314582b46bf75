"""Two kafka-python consumers in one group share a 3-partition topic of a `kafkasim serve`
cluster: N records are produced, then both consumers poll (in two threads) until the
group has read N. Prints one JSON line: each member's partitions and record count, the
total, and whether every value was read exactly once. Exit 77 when kafka-python is missing.

Usage: group_of_two_kafka_python.py BOOTSTRAP TOPIC N
"""
import json
import sys
import threading
import time

try:
    from kafka import KafkaConsumer, KafkaProducer
except ImportError:
    print("kafka-python is not installed", file=sys.stderr)
    sys.exit(77)


def main():
    bootstrap, topic, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    sent = [f"g-{i}".encode() for i in range(n)]
    for i, v in enumerate(sent):
        producer.send(topic, key=f"k{i}".encode(), value=v)
    producer.flush(60)
    producer.close()

    lock = threading.Lock()
    got = []
    members = [{"partitions": [], "records": 0} for _ in range(2)]
    done = threading.Event()

    def consume(me):
        c = KafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            group_id="pair",
            auto_offset_reset="earliest",
            enable_auto_commit=True,
            auto_commit_interval_ms=500,
        )
        deadline = time.time() + 60
        while not done.is_set() and time.time() < deadline:
            for records in c.poll(timeout_ms=500).values():
                with lock:
                    for r in records:
                        got.append(r.value)
                        members[me]["records"] += 1
                    if len(got) >= n:
                        done.set()
        members[me]["partitions"] = sorted(tp.partition for tp in c.assignment())
        c.close()

    threads = [threading.Thread(target=consume, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
        time.sleep(0.2)
    for t in threads:
        t.join()
    print(json.dumps({
        "members": members,
        "total": len(got),
        "exactly_once": sorted(got) == sorted(sent),
    }))


if __name__ == "__main__":
    main()
