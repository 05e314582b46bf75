"""A transactional confluent-kafka (librdkafka) producer against `kafkasim serve`: three
transactions of N records each to TOPIC — the first committed, the second aborted, the
third committed — then a read_committed consumer and a read_uncommitted one read the
topic from the beginning. With `pipeline` as the 4th argument it then runs a
consume-transform-produce step: a read_committed consumer in group `txn-pipeline` reads
TOPIC, a transactional producer writes each value upper-cased to OUT_TOPIC and commits the
consumer's offsets in the same transaction (send_offsets_to_transaction). Prints one JSON
line. Exit 77 when confluent-kafka is not installed (the Rust test reports a skip).

Usage: txn_confluent.py BOOTSTRAP TOPIC N [pipeline OUT_TOPIC]
"""
import json
import sys
import time

try:
    from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
except ImportError:
    print("confluent-kafka is not installed", file=sys.stderr)
    sys.exit(77)


def producer(bootstrap, txn_id):
    p = Producer(
        {
            "bootstrap.servers": bootstrap,
            "transactional.id": txn_id,
            "compression.type": "none",
            "linger.ms": 5,
        }
    )
    p.init_transactions(30)
    return p


def read_all(bootstrap, topic, isolation, expect, group):
    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "isolation.level": isolation,
        }
    )
    c.subscribe([topic])
    got = []
    deadline = time.time() + 40
    idle_after = None
    while time.time() < deadline:
        m = c.poll(0.5)
        if m is None or m.error():
            # Once the expected count is in, wait a little for anything extra.
            if len(got) >= expect:
                idle_after = idle_after or time.time()
                if time.time() - idle_after > 2:
                    break
            continue
        got.append(m.value().decode())
    c.close()
    return got


def committed_offsets(c):
    # The last transaction's offsets stay pending until its COMMIT marker reaches
    # __consumer_offsets, shortly after commit_transaction() returns: meanwhile the
    # coordinator answers UNSTABLE_OFFSET_COMMIT (KIP-447), which librdkafka's committed()
    # raises. An application asks again, as this does.
    deadline = time.time() + 10
    while True:
        try:
            return c.committed(c.assignment(), timeout=10)
        except KafkaException as e:
            unstable = e.args and e.args[0].code() == KafkaError.UNSTABLE_OFFSET_COMMIT
            if not unstable or time.time() > deadline:
                raise
            time.sleep(0.1)


def main():
    bootstrap, topic, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    p = producer(bootstrap, "real-txn-1")
    sent = {"committed": [], "aborted": []}
    for t, fate in enumerate(["committed", "aborted", "committed"]):
        p.begin_transaction()
        for i in range(n):
            v = f"txn{t}-{i}"
            p.produce(topic, key=f"k{i}".encode(), value=v.encode())
            sent[fate].append(v)
        if fate == "committed":
            p.commit_transaction(30)
        else:
            p.flush(30)
            p.abort_transaction(30)
    rc = read_all(bootstrap, topic, "read_committed", len(sent["committed"]), "txn-rc")
    ru = read_all(bootstrap, topic, "read_uncommitted", 3 * n, "txn-ru")
    aborted = set(sent["aborted"])
    result = {
        "committed_sent": len(sent["committed"]),
        "aborted_sent": len(sent["aborted"]),
        "rc_consumed": len(rc),
        "rc_committed_match": sorted(rc) == sorted(sent["committed"]),
        "rc_aborted_seen": sum(1 for v in rc if v in aborted),
        "ru_consumed": len(ru),
        "ru_aborted_seen": sum(1 for v in ru if v in aborted),
    }
    if len(sys.argv) > 5 and sys.argv[4] == "pipeline":
        result.update(pipeline(bootstrap, topic, sys.argv[5], len(sent["committed"])))
    print(json.dumps(result))


def pipeline(bootstrap, topic, out_topic, expect):
    """Consume-transform-produce: every input read_committed, every output and the
    consumer's offsets in one transaction per batch."""
    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "txn-pipeline",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
        }
    )
    c.subscribe([topic])
    p = producer(bootstrap, "real-pipeline-1")
    done = 0
    txns = 0
    deadline = time.time() + 40
    while done < expect and time.time() < deadline:
        msgs = c.consume(num_messages=50, timeout=1.0)
        msgs = [m for m in msgs if not m.error()]
        if not msgs:
            continue
        p.begin_transaction()
        for m in msgs:
            p.produce(out_topic, key=m.key(), value=m.value().upper())
        p.send_offsets_to_transaction(c.position(c.assignment()), c.consumer_group_metadata(), 30)
        p.commit_transaction(30)
        done += len(msgs)
        txns += 1
    committed = committed_offsets(c)
    c.close()
    out = read_all(bootstrap, out_topic, "read_committed", done, "txn-out")
    return {
        "pipeline_in": done,
        "pipeline_txns": txns,
        "pipeline_out": len(out),
        "pipeline_committed_offsets": sum(max(tp.offset, 0) for tp in committed),
    }


if __name__ == "__main__":
    main()
