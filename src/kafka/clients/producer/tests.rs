//! Sender behaviour driven by hand-fed responses through a fake context.

use std::sync::Arc;

use super::*;
use crate::kafka::config::ProducerConfig;
use crate::kafka::protocol::*;
use crate::kafka::testing::FakeCx;
use crate::kafka::types::{BrokerId, LeaderEpoch};
use crate::sim::Duration;

type Cx = FakeCx<Msg, ProducerTimer, KafkaEvent>;

const B1: NodeId = NodeId(1);

fn peer() -> Peer {
    Peer { node: B1, conn: 1 }
}

fn metadata(cid: CorrelationId, partitions: u32) -> Msg {
    Msg::MetadataResponse(MetadataResponse {
        correlation_id: cid,
        brokers: vec![(BrokerId(1), B1)],
        controller_id: None,
        topics: vec![TopicMetadata {
            name: Arc::from("orders"),
            error: ErrorCode::None,
            partitions: (0..partitions)
                .map(|p| PartitionMetadata {
                    partition: p,
                    error: ErrorCode::None,
                    leader: Some(BrokerId(1)),
                    leader_epoch: LeaderEpoch(0),
                    replicas: vec![BrokerId(1)],
                    isr: vec![BrokerId(1)],
                    offline_replicas: vec![],
                })
                .collect(),
        }],
    })
}

/// Builds a producer and answers its bootstrap requests (metadata, producer id).
fn started(config: ProducerConfig, partitions: u32) -> (Producer, Cx) {
    let mut cx = Cx::new(7);
    let mut p = Producer::new(&config.effective().unwrap(), vec![B1]);
    p.send(&mut cx, "orders", Some(Arc::from("k")), 1, 100);
    for (_, m) in cx.take_sent() {
        let reply = match m {
            Msg::MetadataRequest(r) => metadata(r.correlation_id, partitions),
            Msg::InitProducerIdRequest(r) => Msg::InitProducerIdResponse(InitProducerIdResponse {
                correlation_id: r.correlation_id,
                error: ErrorCode::None,
                producer_id: ProducerId(42),
                producer_epoch: ProducerEpoch(0),
            }),
            m => panic!("unexpected {m:?}"),
        };
        p.on_message(&mut cx, peer(), &reply);
    }
    (p, cx)
}

fn produces(cx: &mut Cx) -> Vec<ProduceRequest> {
    cx.take_sent()
        .into_iter()
        .filter_map(|(_, m)| match m {
            Msg::ProduceRequest(r) => Some(r),
            _ => None,
        })
        .collect()
}

fn answer(p: &mut Producer, cx: &mut Cx, req: &ProduceRequest, error: ErrorCode, base: Offset) {
    let partitions = req
        .partitions
        .iter()
        .map(|(tp, _)| PartitionProduceResponse {
            tp: tp.clone(),
            error,
            base_offset: if error.is_ok() { base } else { Offset::UNKNOWN },
            log_start_offset: Offset::ZERO,
            current_leader: None,
        })
        .collect();
    let r = ProduceResponse {
        correlation_id: req.correlation_id,
        partitions,
    };
    p.on_message(cx, peer(), &Msg::ProduceResponse(r));
}

/// Moves time to the next armed timer and fires what is due.
fn tick(p: &mut Producer, cx: &mut Cx) {
    let at = cx.next_timer().expect("a timer is armed");
    cx.now = at;
    for t in cx.due() {
        p.on_timer(cx, t);
    }
}

fn no_linger_no_idempotence() -> ProducerConfig {
    ProducerConfig::default()
        .with("linger.ms", 0)
        .with("enable.idempotence", false)
}

#[test]
fn records_linger_then_go_in_one_batch() {
    // Proves records sent within linger.ms share one batch and one Produce request, and each
    // record's completion carries its own offset.
    let (mut p, mut cx) = started(ProducerConfig::default(), 1);
    p.send(&mut cx, "orders", Some(Arc::from("k")), 2, 100);
    p.send(&mut cx, "orders", Some(Arc::from("k")), 3, 100);
    assert!(produces(&mut cx).is_empty(), "still lingering");
    tick(&mut p, &mut cx);
    assert_eq!(cx.now, Time(5_000), "linger.ms = 5");
    let reqs = produces(&mut cx);
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].partitions[0].1.records.len(), 3);
    assert_eq!(reqs[0].partitions[0].1.producer_id, ProducerId(42));
    answer(&mut p, &mut cx, &reqs[0], ErrorCode::None, Offset(10));
    let done = p.take_completions();
    let offsets: Vec<_> = done.iter().map(|c| c.result.clone().unwrap().1).collect();
    assert_eq!(offsets, [Offset(10), Offset(11), Offset(12)]);
    assert_eq!(p.outstanding(), 0);
}

#[test]
fn retriable_error_backs_off_exponentially_and_refreshes_metadata() {
    // Proves NOT_LEADER_OR_FOLLOWER triggers a metadata refresh and retries after
    // retry.backoff.ms, then twice that (±20 % jitter).
    let (mut p, mut cx) = started(no_linger_no_idempotence(), 1);
    let r1 = produces(&mut cx).remove(0);
    answer(
        &mut p,
        &mut cx,
        &r1,
        ErrorCode::NotLeaderOrFollower,
        Offset::ZERO,
    );
    let t0 = cx.now;
    let mut refreshed = false;
    let r2 = loop {
        tick(&mut p, &mut cx);
        let mut produce = None;
        for (_, m) in cx.take_sent() {
            match m {
                Msg::MetadataRequest(m) => {
                    refreshed = true;
                    p.on_message(&mut cx, peer(), &metadata(m.correlation_id, 1));
                }
                Msg::ProduceRequest(r) => produce = Some(r),
                _ => {}
            }
        }
        if let Some(r) = produce.or_else(|| produces(&mut cx).pop()) {
            break r;
        }
    };
    assert!(refreshed, "NOT_LEADER_OR_FOLLOWER refreshes metadata first");
    let first = cx.now - t0;
    assert!((80_000..=120_000).contains(&first.as_us()), "{first}");
    answer(
        &mut p,
        &mut cx,
        &r2,
        ErrorCode::NotEnoughReplicas,
        Offset::ZERO,
    );
    let t1 = cx.now;
    tick(&mut p, &mut cx);
    let second = cx.now - t1;
    assert!((160_000..=240_000).contains(&second.as_us()), "{second}");
    let r3 = produces(&mut cx).remove(0);
    answer(&mut p, &mut cx, &r3, ErrorCode::None, Offset::ZERO);
    assert_eq!(
        p.take_completions()[0].result,
        Ok((TopicPartition::new("orders", 0), Offset(0)))
    );
}

#[test]
fn request_timeout_closes_connection_and_resends() {
    // Proves an unanswered request is abandoned after request.timeout.ms: the connection is
    // closed, the batch sent again (a duplicate if the first had landed), and a late answer
    // to the first request is ignored.
    let (mut p, mut cx) = started(no_linger_no_idempotence(), 1);
    let r1 = produces(&mut cx).remove(0);
    tick(&mut p, &mut cx);
    assert_eq!(cx.now, Time(30_000_000));
    assert_eq!(cx.closed, [B1]);
    while produces(&mut cx).is_empty() {
        // metadata refresh first (the connection loss invalidates it), then the retry
        let sent = std::mem::take(&mut cx.sent);
        for (_, m) in sent {
            match m {
                Msg::MetadataRequest(m) => {
                    p.on_message(&mut cx, peer(), &metadata(m.correlation_id, 1));
                }
                Msg::ProduceRequest(r) => cx.sent.push((B1, Msg::ProduceRequest(r))),
                _ => {}
            }
        }
        if cx.sent.is_empty() {
            tick(&mut p, &mut cx);
        }
    }
    answer(&mut p, &mut cx, &r1, ErrorCode::None, Offset::ZERO);
    assert!(
        p.take_completions().is_empty(),
        "late answer on a closed connection is ignored"
    );
}

#[test]
fn delivery_timeout_fails_with_unknown_outcome() {
    // Proves a batch still unacknowledged after delivery.timeout.ms fails with a timeout and
    // is flagged as possibly persisted (its request was sent).
    let cfg = no_linger_no_idempotence().with("delivery.timeout.ms", 40_000);
    let (mut p, mut cx) = started(cfg, 1);
    produces(&mut cx);
    for _ in 0..20 {
        if !p.take_completions().is_empty() || cx.next_timer().is_none() {
            break;
        }
        tick(&mut p, &mut cx);
        let sent = cx.take_sent();
        for (_, m) in sent {
            if let Msg::MetadataRequest(m) = m {
                p.on_message(&mut cx, peer(), &metadata(m.correlation_id, 1));
            }
        }
        let done = p.take_completions();
        if let Some(c) = done.first() {
            assert_eq!(c.result, Err(ErrorCode::RequestTimedOut));
            assert!(c.maybe_persisted);
            assert_eq!(cx.now, Time(40_000_000));
            return;
        }
    }
    panic!("never expired");
}

#[test]
fn idempotent_retries_keep_order() {
    // Proves with idempotence a failed first batch is resent alone and the second, rejected
    // as OUT_OF_ORDER_SEQUENCE_NUMBER, only after the first is acknowledged.
    let cfg = ProducerConfig::default().with("linger.ms", 0);
    let (mut p, mut cx) = started(cfg, 1);
    let b1 = produces(&mut cx).remove(0);
    p.send(&mut cx, "orders", Some(Arc::from("k")), 2, 100);
    let b2 = produces(&mut cx).remove(0);
    assert_eq!(b1.partitions[0].1.base_sequence, Sequence(0));
    assert_eq!(b2.partitions[0].1.base_sequence, Sequence(1));
    answer(
        &mut p,
        &mut cx,
        &b1,
        ErrorCode::NotLeaderOrFollower,
        Offset::ZERO,
    );
    answer(
        &mut p,
        &mut cx,
        &b2,
        ErrorCode::OutOfOrderSequenceNumber,
        Offset::ZERO,
    );
    let mut resent = Vec::new();
    while resent.len() < 2 {
        tick(&mut p, &mut cx);
        for (_, m) in cx.take_sent() {
            match m {
                Msg::MetadataRequest(m) => {
                    p.on_message(&mut cx, peer(), &metadata(m.correlation_id, 1));
                }
                Msg::ProduceRequest(r) => {
                    let seq = r.partitions[0].1.base_sequence;
                    resent.push(seq);
                    answer(&mut p, &mut cx, &r, ErrorCode::None, Offset(seq.0 as i64));
                    let more = produces(&mut cx);
                    for r in more {
                        resent.push(r.partitions[0].1.base_sequence);
                        answer(&mut p, &mut cx, &r, ErrorCode::None, Offset(1));
                    }
                }
                _ => {}
            }
        }
    }
    assert_eq!(
        resent,
        [Sequence(0), Sequence(1)],
        "retried in sequence order"
    );
    let values: Vec<u64> = p.take_completions().iter().map(|c| c.value).collect();
    assert_eq!(values, [1, 2]);
}

#[test]
fn acks_zero_completes_on_send() {
    // Proves acks=0 reports success with offset -1 as soon as the request is written.
    let cfg = no_linger_no_idempotence().with("acks", "0");
    let (mut p, mut cx) = started(cfg, 1);
    assert_eq!(produces(&mut cx)[0].acks, 0);
    let c = p.take_completions();
    assert_eq!(
        c[0].result,
        Ok((TopicPartition::new("orders", 0), Offset::UNKNOWN))
    );
    assert!(c[0].maybe_persisted);
}

#[test]
fn max_in_flight_limits_requests_per_connection() {
    // Proves at most max.in.flight.requests.per.connection requests are unanswered at once.
    let cfg = no_linger_no_idempotence().with("max.in.flight.requests.per.connection", 2);
    let (mut p, mut cx) = started(cfg, 1);
    let mut reqs = produces(&mut cx);
    for v in 2..6 {
        cx.advance(Duration::from_ms(1));
        p.send(&mut cx, "orders", Some(Arc::from("k")), v, 100);
        reqs.extend(produces(&mut cx));
    }
    assert_eq!(reqs.len(), 2);
    answer(&mut p, &mut cx, &reqs[0], ErrorCode::None, Offset::ZERO);
    let next = produces(&mut cx);
    assert_eq!(next.len(), 1, "one slot freed, one request");
    assert_eq!(
        next[0].partitions[0].1.records.len(),
        3,
        "the waiting records went together"
    );
}

/// Times out the first request and returns the batch header of the resend.
fn resend_after_timeout(p: &mut Producer, cx: &mut Cx) -> (ProducerId, i32) {
    produces(cx);
    for _ in 0..10 {
        tick(p, cx);
        for (_, m) in cx.take_sent() {
            match m {
                Msg::MetadataRequest(m) => {
                    p.on_message(cx, peer(), &metadata(m.correlation_id, 1));
                }
                Msg::ProduceRequest(r) => {
                    return (
                        r.partitions[0].1.producer_id,
                        r.partitions[0].1.base_sequence.0,
                    )
                }
                _ => {}
            }
        }
        let again = produces(cx);
        if let Some(r) = again.first() {
            return (
                r.partitions[0].1.producer_id,
                r.partitions[0].1.base_sequence.0,
            );
        }
    }
    panic!("no resend");
}

#[test]
fn idempotent_resend_reuses_producer_id_and_sequence() {
    // Proves a batch resent after a request timeout carries the same producer id and sequence,
    // which is what lets the leader recognise and drop the duplicate (D1); without
    // idempotence it carries none, so a duplicate is appended again.
    let (mut p, mut cx) = started(ProducerConfig::default().with("linger.ms", 0), 1);
    assert_eq!(resend_after_timeout(&mut p, &mut cx), (ProducerId(42), 0));
    let (mut p, mut cx) = started(no_linger_no_idempotence(), 1);
    assert_eq!(
        resend_after_timeout(&mut p, &mut cx),
        (ProducerId::NONE, -1)
    );
}

#[test]
fn out_of_order_for_the_next_expected_batch_is_a_real_gap() {
    // Proves OUT_OF_ORDER_SEQUENCE_NUMBER on the batch the broker should have accepted next
    // is a gap (it was not appended): as Kafka's idempotent producer, the epoch is bumped
    // locally (no InitProducerId) and the batch is retried as sequence 0 of the new epoch,
    // not failed to the application (TransactionManager.canRetry, KIP-360).
    let (mut p, mut cx) = started(ProducerConfig::default().with("linger.ms", 0), 1);
    let b1 = produces(&mut cx).remove(0);
    answer(
        &mut p,
        &mut cx,
        &b1,
        ErrorCode::OutOfOrderSequenceNumber,
        Offset::ZERO,
    );
    assert!(p.take_completions().is_empty(), "retried, not failed");
    let resent = run_to(&mut p, &mut cx, Time(2_000_000));
    let rb = &resent[0].partitions[0].1;
    assert_eq!(
        (rb.producer_id, rb.producer_epoch),
        (ProducerId(42), ProducerEpoch(1))
    );
    assert_eq!(rb.base_sequence, Sequence(0));
}

/// Ticks to `until`, answering metadata, and returns the Produce requests sent meanwhile;
/// any other request (an InitProducerId: a new producer id) fails the test.
fn run_to(p: &mut Producer, cx: &mut Cx, until: Time) -> Vec<ProduceRequest> {
    let mut out = Vec::new();
    loop {
        for (_, m) in cx.take_sent() {
            match m {
                Msg::MetadataRequest(m) => p.on_message(cx, peer(), &metadata(m.correlation_id, 1)),
                Msg::ProduceRequest(r) => {
                    out.push(r);
                    true
                }
                m => panic!("only metadata and produce requests expected: {m:?}"),
            };
        }
        if cx.next_timer().is_none_or(|t| t > until) {
            break;
        }
        tick(p, cx);
    }
    cx.now = until;
    out
}

fn idempotent_short_delivery() -> ProducerConfig {
    ProducerConfig::default()
        .with("linger.ms", 0)
        .with("request.timeout.ms", 30_000)
        .with("delivery.timeout.ms", 35_000)
}

#[test]
fn an_expired_sent_batch_fails_and_later_batches_keep_their_numbers() {
    // Proves Kafka's delivery-timeout path for an idempotent producer: the expired batch
    // fails (maybe persisted), the batch sent after it is retried under the SAME producer
    // id, epoch and sequence (never renumbered: the broker may already have it), no new batch
    // is numbered while the sequence is unresolved, and once the later batch is acknowledged
    // the sequence is resolved without an epoch bump.
    let (mut p, mut cx) = started(idempotent_short_delivery(), 1);
    let b1 = produces(&mut cx).remove(0);
    cx.now = Time(1_000_000);
    p.send(&mut cx, "orders", Some(Arc::from("k")), 2, 100);
    let b2 = produces(&mut cx).remove(0);
    assert_eq!(b2.partitions[0].1.base_sequence, Sequence(1));
    for b in [&b1, &b2] {
        answer(&mut p, &mut cx, b, ErrorCode::RequestTimedOut, Offset::ZERO);
    }
    // b1 is retried (and times out on the wire); at 35 s it expires.
    let mut sent = run_to(&mut p, &mut cx, Time(35_000_000));
    let c = p.take_completions();
    assert_eq!(c.len(), 1);
    assert_eq!(
        (c[0].value, c[0].result.clone()),
        (1, Err(ErrorCode::RequestTimedOut))
    );
    assert!(c[0].maybe_persisted);
    p.send(&mut cx, "orders", Some(Arc::from("k")), 3, 100); // must wait: unresolved
    sent.extend(run_to(&mut p, &mut cx, Time(35_500_000)));
    let last = sent.last().expect("b2 resent").clone();
    let rb = &last.partitions[0].1;
    assert_eq!(rb.records[0].value, 2);
    let numbers = (rb.producer_id, rb.producer_epoch, rb.base_sequence);
    assert_eq!(numbers, (ProducerId(42), ProducerEpoch(0), Sequence(1)));
    assert!(sent.iter().all(|r| r.partitions[0].1.records[0].value != 3));
    answer(&mut p, &mut cx, &last, ErrorCode::None, Offset(1));
    let b3 = run_to(&mut p, &mut cx, Time(36_000_000));
    let rb = &b3.last().expect("b3 sent once resolved").partitions[0].1;
    assert_eq!(rb.records[0].value, 3);
    assert_eq!(
        (rb.producer_epoch, rb.base_sequence),
        (ProducerEpoch(0), Sequence(2))
    );
    assert_eq!(p.idempotence.as_ref().unwrap().epoch_bumps, 0);
}

#[test]
fn an_unresolved_sequence_bumps_the_epoch_once_nothing_is_in_flight() {
    // Proves: a sent batch that expires with nothing acknowledged after it leaves the
    // sequence unresolved; with nothing in flight the producer bumps its epoch locally
    // (Kafka's bumpIdempotentEpochAndResetIdIfNeeded, no InitProducerId) and the next batch
    // starts at sequence 0 of epoch 1.
    let (mut p, mut cx) = started(idempotent_short_delivery(), 1);
    let b1 = produces(&mut cx).remove(0);
    answer(
        &mut p,
        &mut cx,
        &b1,
        ErrorCode::RequestTimedOut,
        Offset::ZERO,
    );
    run_to(&mut p, &mut cx, Time(35_000_000));
    assert_eq!(p.take_completions().len(), 1);
    p.send(&mut cx, "orders", Some(Arc::from("k")), 2, 100);
    let sent = run_to(&mut p, &mut cx, Time(36_000_000));
    let rb = &sent.last().expect("sent after the bump").partitions[0].1;
    assert_eq!(rb.records[0].value, 2);
    let numbers = (rb.producer_id, rb.producer_epoch, rb.base_sequence);
    assert_eq!(numbers, (ProducerId(42), ProducerEpoch(1), Sequence(0)));
}

#[test]
fn full_buffer_blocks_send_then_times_out_after_max_block_ms() {
    // Proves buffer.memory back-pressure: with no room for a new batch, send() "blocks"
    // (is_blocked) and fails with a timeout after max.block.ms if no memory frees up.
    let cfg = no_linger_no_idempotence()
        .with("buffer.memory", 20_000)
        .with("max.block.ms", 1_000);
    let (mut p, mut cx) = started(cfg, 2);
    produces(&mut cx); // the first batch holds 16 KiB of the 20 KB pool, unanswered
    p.send(&mut cx, "orders", Some(Arc::from("k")), 2, 100);
    assert!(p.is_blocked(), "no room for a second 16 KiB batch");
    for _ in 0..5 {
        tick(&mut p, &mut cx);
        if !p.take_completions().is_empty() {
            assert_eq!(cx.now, Time(1_000_000));
            assert!(!p.is_blocked());
            return;
        }
    }
    panic!("blocked send never failed");
}
