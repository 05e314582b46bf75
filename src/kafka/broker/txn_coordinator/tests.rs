//! Unit tests of the transaction coordinator state machine: every state write is
//! "replicated" at once by feeding `on_append_complete` back, so each test reads as the
//! sequence of requests and what the coordinator answered.

use super::*;
use crate::sim::NodeId;

const ID: &str = "checkout";

fn peer() -> Peer {
    Peer {
        node: NodeId(9),
        conn: 1,
    }
}

fn coordinator() -> TxnCoordinator {
    let mut c = TxnCoordinator::new(TxnCoordinatorConfig::default());
    c.on_become_leader(txn_partition_for(ID, 50), &[]);
    c
}

/// Runs `actions`, completing every state write: returns the responses, the marker jobs
/// and the records written.
fn settle(
    c: &mut TxnCoordinator,
    mut actions: Vec<TxnAction>,
) -> (Vec<Msg>, Vec<TxnAction>, Vec<Record>) {
    let (mut msgs, mut markers, mut records) = (Vec::new(), Vec::new(), Vec::new());
    while let Some(a) = actions.pop() {
        match a {
            TxnAction::Respond { msg, .. } => msgs.push(msg),
            TxnAction::Append { write, record, .. } => {
                records.push(record);
                actions.extend(c.on_append_complete(write, ErrorCode::None));
            }
            m @ TxnAction::WriteMarkers { .. } => markers.push(m),
            _ => {}
        }
    }
    (msgs, markers, records)
}

fn init(c: &mut TxnCoordinator, cid: u32) -> Vec<Msg> {
    let req = InitProducerIdRequest {
        correlation_id: cid,
        transactional_id: Some(Arc::from(ID)),
        transaction_timeout_ms: 60_000,
    };
    let a = c
        .on_request(
            Time::ZERO,
            peer(),
            Msg::InitProducerIdRequest(req),
            &mut || ProducerId(7),
        )
        .unwrap();
    settle(c, a).0
}

fn add(c: &mut TxnCoordinator, epoch: i16, now: Time) -> Vec<Msg> {
    let req = AddPartitionsToTxnRequest {
        correlation_id: 2,
        transactional_id: Arc::from(ID),
        producer_id: ProducerId(7),
        producer_epoch: ProducerEpoch(epoch),
        partitions: vec![
            TopicPartition::new("orders", 0),
            TopicPartition::new("orders", 1),
        ],
        verify_only: false,
    };
    let a = c
        .on_request(
            now,
            peer(),
            Msg::AddPartitionsToTxnRequest(req),
            &mut || unreachable!(),
        )
        .unwrap();
    settle(c, a).0
}

fn error_of(m: &Msg) -> ErrorCode {
    match m {
        Msg::InitProducerIdResponse(r) => r.error,
        Msg::AddPartitionsToTxnResponse(r) => r.error,
        Msg::EndTxnResponse(r) => r.error,
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn commit_writes_prepare_then_markers_then_complete() {
    // Proves the commit path: Empty → Ongoing → PrepareCommit (answered) → markers to
    // both partitions → CompleteCommit, each written to __transaction_state first.
    let mut c = coordinator();
    let r = init(&mut c, 1);
    let Msg::InitProducerIdResponse(r) = &r[0] else {
        panic!()
    };
    assert_eq!(
        (r.producer_id, r.producer_epoch),
        (ProducerId(7), ProducerEpoch(0))
    );
    assert_eq!(error_of(&add(&mut c, 0, Time::ZERO)[0]), ErrorCode::None);
    let end = EndTxnRequest {
        correlation_id: 3,
        transactional_id: Arc::from(ID),
        producer_id: ProducerId(7),
        producer_epoch: ProducerEpoch(0),
        committed: true,
        transaction_version: TransactionVersion::TV_1,
    };
    let a = c.on_request(
        Time::ZERO,
        peer(),
        Msg::EndTxnRequest(end),
        &mut || unreachable!(),
    );
    let (msgs, markers, records) = settle(&mut c, a.unwrap());
    assert_eq!(error_of(&msgs[0]), ErrorCode::None);
    let TxnAction::WriteMarkers {
        committed,
        partitions,
        ..
    } = &markers[0]
    else {
        panic!()
    };
    assert!(*committed);
    assert_eq!(partitions.len(), 2);
    assert_eq!(
        decode_state(&records[0]).unwrap().1.state,
        TxnState::PrepareCommit
    );
    let a = c.on_markers_written(ID);
    let (_, _, records) = settle(&mut c, a);
    assert_eq!(
        decode_state(&records[0]).unwrap().1.state,
        TxnState::CompleteCommit
    );
}

#[test]
fn a_new_incarnation_aborts_the_open_transaction_and_fences_the_old_epoch() {
    // Proves: InitProducerId over an Ongoing transaction answers CONCURRENT_TRANSACTIONS,
    // aborts it under epoch 1, and once complete the retry gets epoch 2; the old epoch 0
    // then gets PRODUCER_FENCED.
    let mut c = coordinator();
    init(&mut c, 1);
    add(&mut c, 0, Time::ZERO);
    let req = InitProducerIdRequest {
        correlation_id: 4,
        transactional_id: Some(Arc::from(ID)),
        transaction_timeout_ms: 60_000,
    };
    let a = c.on_request(
        Time::ZERO,
        peer(),
        Msg::InitProducerIdRequest(req.clone()),
        &mut || unreachable!(),
    );
    let (msgs, markers, _) = settle(&mut c, a.unwrap());
    assert_eq!(error_of(&msgs[0]), ErrorCode::ConcurrentTransactions);
    let TxnAction::WriteMarkers {
        committed,
        producer_epoch,
        ..
    } = &markers[0]
    else {
        panic!()
    };
    assert_eq!((*committed, *producer_epoch), (false, ProducerEpoch(1)));
    let a = c.on_markers_written(ID);
    settle(&mut c, a);
    let a = c.on_request(
        Time::ZERO,
        peer(),
        Msg::InitProducerIdRequest(req),
        &mut || unreachable!(),
    );
    let (msgs, _, _) = settle(&mut c, a.unwrap());
    let Msg::InitProducerIdResponse(r) = &msgs[0] else {
        panic!()
    };
    assert_eq!(
        (r.error, r.producer_epoch),
        (ErrorCode::None, ProducerEpoch(2))
    );
    assert_eq!(
        error_of(&add(&mut c, 0, Time::ZERO)[0]),
        ErrorCode::ProducerFenced
    );
}

#[test]
fn a_transaction_past_its_timeout_is_fenced_and_aborted() {
    // Proves the cleanup tick: an Ongoing transaction older than transaction.timeout.ms
    // (60 s) is aborted with a bumped epoch; a younger one is left alone.
    let mut c = coordinator();
    init(&mut c, 1);
    add(&mut c, 0, Time::ZERO);
    let (early, _) = c.on_timer(Time(59_000_000));
    assert!(early.iter().all(|a| !matches!(a, TxnAction::Append { .. })));
    let (late, _) = c.on_timer(Time(60_000_000));
    let (_, markers, records) = settle(&mut c, late);
    assert_eq!(
        decode_state(&records[0]).unwrap().1.state,
        TxnState::PrepareAbort
    );
    let TxnAction::WriteMarkers {
        committed,
        producer_epoch,
        ..
    } = &markers[0]
    else {
        panic!()
    };
    assert_eq!((*committed, *producer_epoch), (false, ProducerEpoch(1)));
}

#[test]
fn a_new_coordinator_resumes_a_prepared_commit_from_the_log() {
    // Proves failover: a coordinator that loads a log ending in PrepareCommit sends the
    // COMMIT markers again (it does not forget a decided commit).
    let mut c = coordinator();
    init(&mut c, 1);
    add(&mut c, 0, Time::ZERO);
    let m = c.txns.get(ID).unwrap().clone();
    let prepared = TxnMeta {
        state: TxnState::PrepareCommit,
        ..m
    };
    let log = vec![encode_state(ID, &prepared)];
    let mut fresh = TxnCoordinator::new(TxnCoordinatorConfig::default());
    let actions = fresh.on_become_leader(txn_partition_for(ID, 50), &log);
    let (_, markers, _) = settle(&mut fresh, actions);
    let TxnAction::WriteMarkers {
        committed,
        partitions,
        ..
    } = &markers[0]
    else {
        panic!()
    };
    assert!(*committed);
    assert_eq!(partitions.len(), 2);
}

#[test]
fn a_timeout_above_transaction_max_timeout_ms_is_refused() {
    // Proves transaction.max.timeout.ms: a producer asking for more gets
    // INVALID_TRANSACTION_TIMEOUT (fatal for it), the broker setting flowing through
    // `host::coordinator_for`.
    let config = crate::kafka::config::BrokerConfig::default()
        .with("transaction.max.timeout.ms", 30_000i64)
        .with("transaction.state.log.num.partitions", 50i64);
    let mut c = host::coordinator_for(&config);
    c.on_become_leader(txn_partition_for(ID, 50), &[]);
    let req = InitProducerIdRequest {
        correlation_id: 1,
        transactional_id: Some(Arc::from(ID)),
        transaction_timeout_ms: 60_000,
    };
    let a = c.on_request(
        Time::ZERO,
        peer(),
        Msg::InitProducerIdRequest(req),
        &mut || ProducerId(7),
    );
    let (msgs, _, _) = settle(&mut c, a.unwrap());
    assert_eq!(error_of(&msgs[0]), ErrorCode::InvalidTransactionTimeout);
}

fn end(c: &mut TxnCoordinator, epoch: i16, committed: bool, tv: TransactionVersion) -> Settled {
    let req = EndTxnRequest {
        correlation_id: 4,
        transactional_id: Arc::from(ID),
        producer_id: ProducerId(7),
        producer_epoch: ProducerEpoch(epoch),
        committed,
        transaction_version: tv,
    };
    let a = c.on_request(Time::ZERO, peer(), Msg::EndTxnRequest(req), &mut || {
        ProducerId(8)
    });
    settle(c, a.unwrap())
}

type Settled = (Vec<Msg>, Vec<TxnAction>, Vec<Record>);

fn end_response(m: &Msg) -> (ErrorCode, ProducerId, ProducerEpoch) {
    let Msg::EndTxnResponse(r) = m else {
        panic!("unexpected {m:?}")
    };
    (r.error, r.producer_id, r.producer_epoch)
}

fn marker_epoch(a: &TxnAction) -> ProducerEpoch {
    let TxnAction::WriteMarkers { producer_epoch, .. } = a else {
        panic!()
    };
    *producer_epoch
}

#[test]
fn end_txn_v5_bumps_the_epoch_and_the_markers_carry_it() {
    // Proves KIP-890 part 2: a TV2 EndTxn answers epoch 1 (was 0), the COMMIT markers
    // carry epoch 1, a retry with epoch 0 after CompleteCommit gets NONE with epoch 1,
    // and the old epoch is fenced from then on.
    let mut c = coordinator();
    init(&mut c, 1);
    add(&mut c, 0, Time::ZERO);
    let (msgs, markers, _) = end(&mut c, 0, true, TransactionVersion::TV_2);
    assert_eq!(
        end_response(&msgs[0]),
        (ErrorCode::None, ProducerId(7), ProducerEpoch(1))
    );
    assert_eq!(marker_epoch(&markers[0]), ProducerEpoch(1));
    // A retry while the markers are out: CONCURRENT_TRANSACTIONS, not fenced.
    let (msgs, _, _) = end(&mut c, 0, true, TransactionVersion::TV_2);
    assert_eq!(end_response(&msgs[0]).0, ErrorCode::ConcurrentTransactions);
    let a = c.on_markers_written(ID);
    settle(&mut c, a);
    let (msgs, _, _) = end(&mut c, 0, true, TransactionVersion::TV_2);
    assert_eq!(
        end_response(&msgs[0]),
        (ErrorCode::None, ProducerId(7), ProducerEpoch(1))
    );
    assert_eq!(
        error_of(&add(&mut c, 0, Time::ZERO)[0]),
        ErrorCode::ProducerFenced
    );
    assert_eq!(error_of(&add(&mut c, 1, Time::ZERO)[0]), ErrorCode::None);
}

#[test]
fn end_txn_v4_keeps_the_epoch() {
    // Proves a TV1 EndTxn works the old way: markers and the next transaction keep epoch
    // 0, and the response names no producer id.
    let mut c = coordinator();
    init(&mut c, 1);
    add(&mut c, 0, Time::ZERO);
    let (msgs, markers, _) = end(&mut c, 0, false, TransactionVersion::TV_1);
    assert_eq!(
        end_response(&msgs[0]),
        (ErrorCode::None, ProducerId::NONE, ProducerEpoch::NONE)
    );
    assert_eq!(marker_epoch(&markers[0]), ProducerEpoch(0));
    let a = c.on_markers_written(ID);
    settle(&mut c, a);
    assert_eq!(error_of(&add(&mut c, 0, Time::ZERO)[0]), ErrorCode::None);
}

#[test]
fn an_epoch_about_to_overflow_gets_a_new_producer_id() {
    // Proves the overflow rule: at epoch i16::MAX - 1 a TV2 EndTxn answers a new producer
    // id (8) at epoch 0; the markers still carry the old id at the bumped epoch, and the
    // coordinator switches to the new id once they are written.
    let mut c = coordinator();
    init(&mut c, 1);
    c.txns.get_mut(ID).unwrap().producer_epoch = ProducerEpoch(i16::MAX - 1);
    add(&mut c, i16::MAX - 1, Time::ZERO);
    let (msgs, markers, _) = end(&mut c, i16::MAX - 1, true, TransactionVersion::TV_2);
    assert_eq!(
        end_response(&msgs[0]),
        (ErrorCode::None, ProducerId(8), ProducerEpoch(0))
    );
    let TxnAction::WriteMarkers {
        producer_id,
        producer_epoch,
        ..
    } = &markers[0]
    else {
        panic!()
    };
    assert_eq!(
        (*producer_id, *producer_epoch),
        (ProducerId(7), ProducerEpoch(i16::MAX))
    );
    let a = c.on_markers_written(ID);
    settle(&mut c, a);
    let m = c.txns.get(ID).unwrap();
    assert_eq!(
        (m.producer_id, m.producer_epoch),
        (ProducerId(8), ProducerEpoch(0))
    );
}

#[test]
fn verify_only_answers_per_partition_and_adds_nothing() {
    // Proves KIP-890 part 1's coordinator side: a partition of the ongoing transaction is
    // NONE, another TRANSACTION_ABORTABLE; after the commit both are; an old epoch is
    // PRODUCER_FENCED. Nothing is written.
    let mut c = coordinator();
    init(&mut c, 1);
    add(&mut c, 0, Time::ZERO);
    let verify = |c: &mut TxnCoordinator, epoch: i16| {
        let req = AddPartitionsToTxnRequest {
            correlation_id: 5,
            transactional_id: Arc::from(ID),
            producer_id: ProducerId(7),
            producer_epoch: ProducerEpoch(epoch),
            partitions: vec![
                TopicPartition::new("orders", 0),
                TopicPartition::new("other", 0),
            ],
            verify_only: true,
        };
        let a = c.on_request(
            Time::ZERO,
            peer(),
            Msg::AddPartitionsToTxnRequest(req),
            &mut || unreachable!(),
        );
        let (msgs, _, records) = settle(c, a.unwrap());
        assert!(records.is_empty());
        let Msg::AddPartitionsToTxnResponse(r) = &msgs[0] else {
            panic!()
        };
        r.partition_errors.iter().map(|p| p.1).collect::<Vec<_>>()
    };
    assert_eq!(
        verify(&mut c, 0),
        vec![ErrorCode::None, ErrorCode::TransactionAbortable]
    );
    end(&mut c, 0, true, TransactionVersion::TV_2);
    let a = c.on_markers_written(ID);
    settle(&mut c, a);
    assert_eq!(
        verify(&mut c, 1),
        vec![
            ErrorCode::TransactionAbortable,
            ErrorCode::TransactionAbortable
        ]
    );
    assert_eq!(
        verify(&mut c, 0),
        vec![ErrorCode::ProducerFenced, ErrorCode::ProducerFenced]
    );
}
