"""The first lesson with a real client: a confluent-kafka (librdkafka) producer sends a
numbered record every 20 ms to partition 0 for SECONDS of wall time, with the given acks,
while `scenarios/gateway/leader-cut-off.toml` cuts the leader off and kills it. Then every
record of the partition is read back. Prints one JSON line: how many records the
producer's own delivery reports acknowledged, how many failed, and how many acknowledged
ones are not in the log (lost). Exit 77 when confluent-kafka is not installed.

Usage: acks_lesson_confluent.py BOOTSTRAP TOPIC ACKS SECONDS
"""
import json
import sys
import time

try:
    from confluent_kafka import Consumer, Producer, TopicPartition, OFFSET_BEGINNING
except ImportError:
    print("confluent-kafka is not installed", file=sys.stderr)
    sys.exit(77)


def main():
    bootstrap, topic, acks, seconds = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "acks": acks,
            "enable.idempotence": False,
            "compression.type": "none",
            "linger.ms": 0,
            "message.timeout.ms": 60000,
        }
    )
    acked, failed = set(), set()

    def on_delivery(err, msg):
        (failed if err else acked).add(msg.value().decode())

    i = 0
    end = time.time() + seconds
    while time.time() < end:
        producer.produce(topic, value=str(i).encode(), partition=0, on_delivery=on_delivery)
        producer.poll(0)
        i += 1
        time.sleep(0.02)
    producer.flush(90)

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "acks-lesson-reader",
            "enable.auto.commit": False,
        }
    )
    consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    _, high = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=20)
    seen = set()
    deadline = time.time() + 30
    last = -1
    while last + 1 < high and time.time() < deadline:
        m = consumer.poll(1.0)
        if m is None or m.error():
            continue
        seen.add(m.value().decode())
        last = m.offset()
    consumer.close()
    lost = sorted(acked - seen, key=int)
    print(json.dumps({
        "acks": acks,
        "sent": i,
        "acked": len(acked),
        "failed": len(failed),
        "in_log": len(seen),
        "high_watermark": high,
        "lost": len(lost),
        "lost_first": lost[:5],
    }))


if __name__ == "__main__":
    main()
