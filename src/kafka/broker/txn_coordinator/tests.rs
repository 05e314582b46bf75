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
