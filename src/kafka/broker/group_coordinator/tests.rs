//! Unit tests of the group coordinator state machine.

use super::*;
use crate::kafka::errors::ErrorCode;
use crate::sim::NodeId;

const G: &str = "billing";

fn peer(n: u32) -> Peer {
    Peer {
        node: NodeId(n),
        conn: 1,
    }
}

fn coordinator() -> GroupCoordinator {
    let mut c = GroupCoordinator::new(GroupCoordinatorConfig::default());
    c.on_become_leader(offsets_partition_for(G, 50), &[]);
    c
}

fn join_req(member: &str, cid: u32) -> JoinGroupRequest {
    JoinGroupRequest {
        correlation_id: cid,
        group_id: Arc::from(G),
        session_timeout_ms: 45_000,
        rebalance_timeout_ms: 300_000,
        member_id: Arc::from(member),
        group_instance_id: None,
        protocols: vec![(
            Arc::from("range"),
            Subscription {
                topics: vec![Arc::from("orders")],
                owned_partitions: Vec::new(),
                generation: Generation::NONE,
            },
        )],
    }
}

fn responses(actions: &[GroupAction]) -> Vec<&Msg> {
    actions
        .iter()
        .filter_map(|a| match a {
            GroupAction::Respond { msg, .. } => Some(msg),
            _ => None,
        })
        .collect()
}

fn join_resp(a: &[GroupAction]) -> Vec<JoinGroupResponse> {
    responses(a)
        .into_iter()
        .filter_map(|m| match m {
            Msg::JoinGroupResponse(r) => Some((**r).clone()),
            _ => None,
        })
        .collect()
}

fn timers(a: &[GroupAction]) -> Vec<GroupTimer> {
    a.iter()
        .filter_map(|a| match a {
            GroupAction::SetTimer { timer, .. } => Some(timer.clone()),
            _ => None,
        })
        .collect()
}

/// Two members join an empty group; returns their ids and the timers armed for them.
fn form_group(c: &mut GroupCoordinator) -> (Arc<str>, Arc<str>, Vec<GroupTimer>) {
    let t0 = Time::ZERO;
    let id1 = join_resp(&c.on_join_group(t0, peer(1), join_req("", 1)))[0]
        .member_id
        .clone();
    let id2 = join_resp(&c.on_join_group(t0, peer(2), join_req("", 1)))[0]
        .member_id
        .clone();
    let a = c.on_join_group(t0, peer(1), join_req(&id1, 2));
    assert!(join_resp(&a).is_empty(), "waits for the initial delay");
    c.on_join_group(t0, peer(2), join_req(&id2, 2));
    let deadline = timers(&a)[0].clone();
    // The second joiner pushed the delay back; its timer carries the newest nonce.
    let nonce = c.groups[G].join_nonce;
    let done = c.on_timer(Time(3_000_000), GroupTimer { nonce, ..deadline });
    let joins = join_resp(&done);
    assert_eq!(joins.len(), 2);
    assert!(joins.iter().all(|j| j.generation_id == Generation(1)));
    (id1, id2, timers(&done))
}

fn sync(
    c: &mut GroupCoordinator,
    n: u32,
    id: &Arc<str>,
    gen: i32,
    a: Vec<(Arc<str>, Vec<TopicPartition>)>,
) -> Actions {
    c.on_sync_group(
        Time(3_000_000),
        peer(n),
        SyncGroupRequest {
            correlation_id: 3,
            group_id: Arc::from(G),
            generation_id: Generation(gen),
            member_id: id.clone(),
            assignments: a,
        },
    )
}

fn heartbeat(c: &mut GroupCoordinator, at: Time, id: &Arc<str>, gen: i32) -> ErrorCode {
    let a = c.on_heartbeat(
        at,
        peer(1),
        HeartbeatRequest {
            correlation_id: 9,
            group_id: Arc::from(G),
            generation_id: Generation(gen),
            member_id: id.clone(),
        },
    );
    match responses(&a)[0] {
        Msg::HeartbeatResponse(r) => r.error,
        m => panic!("{m:?}"),
    }
}

#[test]
fn java_hashcode_and_partition() {
    // Proves String.hashCode semantics ("abc" = 96354, "" = 0) and a non-negative partition.
    assert_eq!(java_string_hashcode("abc"), 96354);
    assert_eq!(java_string_hashcode(""), 0);
    assert_eq!(offsets_partition_for("abc", 50), 96354 % 50);
    assert!(offsets_partition_for("polygenelubricants", 50) < 50);
}

#[test]
fn join_requires_member_id_then_forms_generation_one() {
    // Proves KIP-394's MEMBER_ID_REQUIRED round trip, the initial delay, the leader being
    // the first joiner, and SyncGroup handing out the leader's assignment.
    let mut c = coordinator();
    let first = c.on_join_group(Time::ZERO, peer(1), join_req("", 1));
    assert_eq!(join_resp(&first)[0].error, ErrorCode::MemberIdRequired);
    let mut c = coordinator();
    let (id1, id2, _) = form_group(&mut c);
    assert_eq!(c.groups[G].leader.as_ref(), Some(&id1));
    let follower = sync(&mut c, 2, &id2, 1, Vec::new());
    assert!(
        responses(&follower).is_empty(),
        "followers wait for the leader"
    );
    let plan = vec![
        (id1.clone(), vec![TopicPartition::new("orders", 0)]),
        (id2.clone(), vec![TopicPartition::new("orders", 1)]),
    ];
    let leader = sync(&mut c, 1, &id1, 1, plan);
    let syncs: Vec<_> = responses(&leader)
        .into_iter()
        .filter_map(|m| match m {
            Msg::SyncGroupResponse(r) => Some(r.assignment.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(syncs.len(), 2);
    assert_eq!(c.group_state(G).unwrap().0, GroupState::Stable);
}

#[test]
fn session_expiry_triggers_rebalance() {
    // Proves a member that stops heartbeating is removed after session.timeout.ms and the
    // survivor is told REBALANCE_IN_PROGRESS, then rejoins into generation 2 alone.
    let mut c = coordinator();
    let (id1, id2, session_timers) = form_group(&mut c);
    sync(&mut c, 1, &id1, 1, vec![]);
    let t = Time(30_000_000);
    assert_eq!(heartbeat(&mut c, t, &id1, 1), ErrorCode::None);
    let expiry_of = |id: &Arc<str>| {
        session_timers
            .iter()
            .find(|x| matches!(&x.kind, GroupTimerKind::Session { member } if member == id))
            .unwrap()
            .clone()
    };
    // At 48 s member 2 (silent since 3 s) expires; member 1 heartbeated at 30 s and lives.
    let at = Time(48_000_000);
    let a1 = c.on_timer(at, expiry_of(&id1));
    assert_eq!(timers(&a1).len(), 1, "re-armed for the new deadline");
    c.on_timer(at, expiry_of(&id2));
    assert_eq!(
        c.group_state(G).unwrap(),
        (GroupState::PreparingRebalance, Generation(1), 1)
    );
    assert_eq!(
        heartbeat(&mut c, at, &id1, 1),
        ErrorCode::RebalanceInProgress
    );
    let a = c.on_join_group(at, peer(1), join_req(&id1, 5));
    let j = join_resp(&a);
    assert_eq!(j[0].generation_id, Generation(2));
    assert_eq!(j[0].members.len(), 1);
    assert_eq!(heartbeat(&mut c, at, &id1, 1), ErrorCode::IllegalGeneration);
    assert_eq!(heartbeat(&mut c, at, &id2, 2), ErrorCode::UnknownMemberId);
}

#[test]
fn commits_are_checked_and_persisted() {
    // Proves OffsetCommit checks generation and member, is answered only after the append,
    // and the offsets survive a coordinator move through their records.
    let mut c = coordinator();
    let (id1, _id2, _) = form_group(&mut c);
    let commit = |gen: i32, member: &Arc<str>| OffsetCommitRequest {
        correlation_id: 7,
        group_id: Arc::from(G),
        generation_id: Generation(gen),
        member_id: member.clone(),
        offsets: vec![(TopicPartition::new("orders", 0), Offset(42), LeaderEpoch(0))],
    };
    let during = c.on_offset_commit(Time(3_000_000), peer(1), commit(1, &id1));
    assert!(
        matches!(responses(&during)[0], Msg::OffsetCommitResponse(r) if r.partitions[0].1 == ErrorCode::RebalanceInProgress)
    );
    sync(&mut c, 1, &id1, 1, vec![]);
    let stale = c.on_offset_commit(Time(3_000_000), peer(1), commit(0, &id1));
    assert!(
        matches!(responses(&stale)[0], Msg::OffsetCommitResponse(r) if r.partitions[0].1 == ErrorCode::IllegalGeneration)
    );
    let ok = c.on_offset_commit(Time(3_000_000), peer(1), commit(1, &id1));
    let GroupAction::Append {
        records,
        commit: id,
        offsets_partition,
    } = &ok[0]
    else {
        panic!("{ok:?}")
    };
    assert_eq!(
        c.committed(G, &TopicPartition::new("orders", 0)),
        None,
        "not before the append"
    );
    let done = c.on_append_complete(*id, ErrorCode::None);
    assert!(responses(&done).len() == 1);
    assert_eq!(
        c.committed(G, &TopicPartition::new("orders", 0)),
        Some(Offset(42))
    );
    let mut moved = GroupCoordinator::new(GroupCoordinatorConfig::default());
    let mut log = vec![Record {
        key: Some(Arc::from(format!("group:{G}"))),
        value: 2,
        value_bytes: 8,
        timestamp_us: 0,
        tombstone: false,
    }];
    log.extend(records.iter().cloned());
    moved.on_become_leader(*offsets_partition, &log);
    assert_eq!(
        moved.committed(G, &TopicPartition::new("orders", 0)),
        Some(Offset(42))
    );
    let (_, generation, _) = moved.group_state(G).unwrap();
    assert_eq!(
        generation,
        Generation(1),
        "the generation survives the move"
    );
}

#[test]
fn static_member_restart_keeps_assignment_without_rebalance() {
    // Proves KIP-345: a static member rejoining with its group.instance.id (and no member
    // id) gets a new member id, the same generation and its old assignment, while the
    // group stays Stable.
    let mut c = coordinator();
    let static_join = |instance: &str| JoinGroupRequest {
        group_instance_id: Some(Arc::from(instance)),
        ..join_req("", 1)
    };
    let a = c.on_join_group(Time::ZERO, peer(1), static_join("a"));
    assert!(
        join_resp(&a).is_empty(),
        "no MEMBER_ID_REQUIRED round trip for static members"
    );
    c.on_join_group(Time::ZERO, peer(2), static_join("b"));
    let nonce = c.groups[G].join_nonce;
    let t = GroupTimer {
        group: Arc::from(G),
        kind: GroupTimerKind::JoinDeadline,
        nonce,
    };
    let joins = join_resp(&c.on_timer(Time(3_000_000), t));
    let leader = joins
        .iter()
        .find(|j| !j.members.is_empty())
        .unwrap()
        .member_id
        .clone();
    let other = joins
        .iter()
        .find(|j| j.members.is_empty())
        .unwrap()
        .member_id
        .clone();
    let plan = vec![
        (leader.clone(), vec![TopicPartition::new("orders", 0)]),
        (other.clone(), vec![TopicPartition::new("orders", 1)]),
    ];
    sync(&mut c, 1, &leader, 1, plan);
    // "b" restarts: same instance id, empty member id.
    let again = join_resp(&c.on_join_group(Time(5_000_000), peer(3), static_join("b")));
    assert_eq!(again[0].error, ErrorCode::None);
    assert_eq!(again[0].generation_id, Generation(1));
    assert_ne!(again[0].member_id, other);
    assert_eq!(c.group_state(G).unwrap().0, GroupState::Stable);
    let s = sync(&mut c, 3, &again[0].member_id, 1, vec![]);
    assert!(
        matches!(responses(&s)[0], Msg::SyncGroupResponse(r) if r.assignment == vec![TopicPartition::new("orders", 1)])
    );
    assert_eq!(
        heartbeat(&mut c, Time(5_000_000), &other, 1),
        ErrorCode::UnknownMemberId,
        "old incarnation is gone"
    );
}

#[test]
fn member_waiting_in_join_is_not_expired() {
    // Proves a member parked in JoinGroup (it cannot heartbeat) survives its session
    // timeout while the coordinator waits for the others, up to the rebalance timeout.
    let mut c = coordinator();
    let (id1, _id2, session_timers) = form_group(&mut c);
    sync(&mut c, 1, &id1, 1, vec![]);
    c.on_join_group(Time(5_000_000), peer(1), join_req(&id1, 9));
    let t1 = session_timers
        .iter()
        .find(|x| matches!(&x.kind, GroupTimerKind::Session { member } if *member == id1))
        .unwrap()
        .clone();
    let a = c.on_timer(Time(60_000_000), t1);
    assert_eq!(timers(&a).len(), 1, "re-armed, not expired");
    assert!(c.groups[G].members.contains_key(&id1));
}

#[test]
fn invalid_session_timeout_and_not_coordinator() {
    // Proves session timeouts outside the broker bounds and foreign groups are refused.
    let mut c = coordinator();
    let mut req = join_req("", 1);
    req.session_timeout_ms = 1_000;
    assert_eq!(
        join_resp(&c.on_join_group(Time::ZERO, peer(1), req))[0].error,
        ErrorCode::InvalidSessionTimeout
    );
    let mut other = GroupCoordinator::new(GroupCoordinatorConfig::default());
    assert_eq!(
        join_resp(&other.on_join_group(Time::ZERO, peer(1), join_req("", 1)))[0].error,
        ErrorCode::NotCoordinator
    );
}

#[test]
fn require_stable_waits_for_a_pending_transactional_commit() {
    // Proves KIP-447's UNSTABLE_OFFSET_COMMIT: after a TxnOffsetCommit is appended and
    // before its transaction's marker, OffsetFetch with require_stable answers
    // UNSTABLE_OFFSET_COMMIT (without it: no committed offset, -1); after the COMMIT
    // marker it answers the transaction's offset, 42.
    let mut c = coordinator();
    let (id1, _id2, _) = form_group(&mut c);
    sync(&mut c, 1, &id1, 1, vec![]);
    let tp = TopicPartition::new("orders", 0);
    let req = TxnOffsetCommitRequest {
        correlation_id: 8,
        transactional_id: Arc::from("pipeline"),
        group_id: Arc::from(G),
        producer_id: ProducerId(5),
        producer_epoch: ProducerEpoch(0),
        generation_id: Generation(1),
        member_id: id1.clone(),
        offsets: vec![(tp.clone(), Offset(42), LeaderEpoch(0))],
        transaction_version: TransactionVersion::TV_2,
    };
    let a = c.on_txn_offset_commit(Time(3_000_000), peer(1), req);
    let GroupAction::AppendTxn {
        commit,
        offsets_partition,
        ..
    } = &a[0]
    else {
        panic!("{a:?}")
    };
    let (commit, partition) = (*commit, *offsets_partition);
    c.on_txn_append_complete(commit, ProducerId(5), ErrorCode::None);
    let fetch = |c: &mut GroupCoordinator, stable: bool| {
        let r = OffsetFetchRequest {
            correlation_id: 9,
            group_id: Arc::from(G),
            partitions: vec![TopicPartition::new("orders", 0)],
            require_stable: stable,
        };
        let a = c.on_offset_fetch(Time(3_000_000), peer(1), r);
        let Msg::OffsetFetchResponse(r) = responses(&a)[0].clone() else {
            panic!()
        };
        (r.error, r.offsets.first().map(|o| o.1))
    };
    assert_eq!(fetch(&mut c, true), (ErrorCode::UnstableOffsetCommit, None));
    assert_eq!(
        fetch(&mut c, false),
        (ErrorCode::None, Some(Offset::UNKNOWN))
    );
    c.on_txn_marker(partition, ProducerId(5), true);
    assert_eq!(fetch(&mut c, true), (ErrorCode::None, Some(Offset(42))));
}
