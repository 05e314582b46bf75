//! Consumers against a miniature broker that hosts the real [`GroupCoordinator`] and an
//! in-memory log per partition, with zero-latency delivery: the group protocol end to end.

use super::*;
use crate::kafka::config::{AssignmentStrategy, ConsumerConfig};
use crate::kafka::protocol::*;
use crate::kafka::testing::{FakeCx, MiniBroker, BROKER, TOPIC};

type Cx = FakeCx<Msg, ConsumerTimer, KafkaEvent>;

struct Member {
    consumer: Consumer,
    cx: Cx,
    alive: bool,
    /// Polls only when true (false = the application stalled).
    polling: bool,
    /// Stop polling after the next poll that returns records (a stuck record handler).
    stall_on_records: bool,
    consumed: Vec<(TopicPartition, Offset, u64)>,
}

struct Harness {
    now: Time,
    broker: MiniBroker,
    members: Vec<Member>,
}

impl Harness {
    fn new(partitions: u32) -> Self {
        Harness {
            now: Time::ZERO,
            broker: MiniBroker::new(partitions),
            members: Vec::new(),
        }
    }

    fn add(&mut self, config: ConsumerConfig) -> usize {
        let i = self.members.len();
        let mut cx = Cx::new(i as u64);
        cx.me = NodeId(100 + i as u32);
        cx.now = self.now;
        let mut consumer = Consumer::new(config.effective().unwrap(), vec![BROKER]);
        consumer.subscribe(&mut cx, &[TOPIC]);
        self.members.push(Member {
            consumer,
            cx,
            alive: true,
            polling: true,
            stall_on_records: false,
            consumed: Vec::new(),
        });
        self.settle();
        i
    }

    /// Delivers messages and lets applications poll until nothing moves.
    fn settle(&mut self) {
        for _ in 0..10_000 {
            let mut out = Vec::new();
            for m in self.members.iter_mut().filter(|m| m.alive) {
                for (_, msg) in m.cx.take_sent() {
                    let from = Peer {
                        node: m.cx.me,
                        conn: 1,
                    };
                    self.broker.handle(self.now, from, msg, &mut out);
                }
            }
            self.broker.answer_fetches(self.now, &mut out);
            let mut moved = !out.is_empty();
            for (to, msg) in out {
                let m = &mut self.members[(to.node.0 - 100) as usize];
                if m.alive {
                    m.consumer.on_message(
                        &mut m.cx,
                        Peer {
                            node: BROKER,
                            conn: 1,
                        },
                        &msg,
                    );
                }
            }
            for m in self.members.iter_mut().filter(|m| m.alive && m.polling) {
                let records = m.consumer.poll(&mut m.cx);
                moved |= !records.is_empty() || !m.cx.sent.is_empty();
                if m.stall_on_records && !records.is_empty() {
                    m.polling = false;
                }
                m.consumed
                    .extend(records.into_iter().map(|r| (r.tp, r.offset, r.value)));
            }
            if !moved {
                return;
            }
        }
        panic!("no quiescence");
    }

    /// Runs until `end`, jumping from deadline to deadline.
    fn run_until(&mut self, end: Time) {
        loop {
            self.settle();
            let mut next: Vec<Time> = self.broker.timers.iter().map(|t| t.0).collect();
            next.extend(self.broker.fetches.iter().map(|f| f.0));
            next.extend(
                self.members
                    .iter()
                    .filter(|m| m.alive)
                    .filter_map(|m| m.cx.next_timer()),
            );
            let Some(at) = next.into_iter().filter(|&t| t <= end).min() else {
                self.now = end;
                self.sync_clocks();
                return;
            };
            self.now = self.now.max(at);
            self.sync_clocks();
            let (due, later): (Vec<_>, Vec<_>) =
                self.broker.timers.drain(..).partition(|t| t.0 <= self.now);
            self.broker.timers = later;
            let mut out = Vec::new();
            for (_, t) in due {
                let actions = self.broker.coord.on_timer(self.now, t);
                self.broker.actions(self.now, actions, &mut out);
            }
            for (to, msg) in out {
                let m = &mut self.members[(to.node.0 - 100) as usize];
                if m.alive {
                    m.consumer.on_message(
                        &mut m.cx,
                        Peer {
                            node: BROKER,
                            conn: 1,
                        },
                        &msg,
                    );
                }
            }
            for m in self.members.iter_mut().filter(|m| m.alive) {
                for t in m.cx.due() {
                    m.consumer.on_timer(&mut m.cx, t);
                }
            }
        }
    }

    fn sync_clocks(&mut self) {
        for m in &mut self.members {
            m.cx.now = self.now;
        }
    }

    fn assignment(&self, i: usize) -> Vec<u32> {
        self.members[i]
            .consumer
            .assignment()
            .iter()
            .map(|tp| tp.partition)
            .collect()
    }
}

fn config(strategy: AssignmentStrategy) -> ConsumerConfig {
    ConsumerConfig::default()
        .with("group.id", "billing")
        .with("partition.assignment.strategy", strategy.name())
        .with("auto.offset.reset", "earliest")
}

#[test]
fn three_members_share_six_partitions() {
    // Proves three consumers joining together form generation 1 after the initial rebalance
    // delay, with 2 partitions each (range).
    let mut h = Harness::new(6);
    for _ in 0..3 {
        h.add(config(AssignmentStrategy::Range));
    }
    h.run_until(Time(4_000_000));
    assert_eq!(h.assignment(0), [0, 1]);
    assert_eq!(h.assignment(1), [2, 3]);
    assert_eq!(h.assignment(2), [4, 5]);
    assert_eq!(h.members[0].consumer.generation(), Generation(1));
}

#[test]
fn killed_member_is_replaced_after_session_timeout() {
    // Proves a consumer that dies silently keeps its partitions until session.timeout.ms
    // (45 s), then the survivors rebalance and take them over.
    let mut h = Harness::new(6);
    for _ in 0..3 {
        h.add(config(AssignmentStrategy::Range));
    }
    h.run_until(Time(4_000_000));
    h.members[2].alive = false;
    h.run_until(Time(40_000_000));
    assert_eq!(
        h.assignment(0).len() + h.assignment(1).len(),
        4,
        "not yet expired"
    );
    h.run_until(Time(60_000_000));
    assert_eq!(h.assignment(0), [0, 1, 2]);
    assert_eq!(h.assignment(1), [3, 4, 5]);
    assert_eq!(h.members[0].consumer.generation(), Generation(2));
}

#[test]
fn consumes_from_earliest_and_commits() {
    // Proves a new group starts at the log start with auto.offset.reset=earliest, reads every
    // record once, and a synchronous commit lands in the coordinator.
    let mut h = Harness::new(1);
    h.broker
        .logs
        .insert(TopicPartition::new(TOPIC, 0), (0..10).collect());
    let i = h.add(config(AssignmentStrategy::Range).with("enable.auto.commit", false));
    h.run_until(Time(4_000_000));
    let values: Vec<u64> = h.members[i].consumed.iter().map(|r| r.2).collect();
    assert_eq!(values, (0..10).collect::<Vec<_>>());
    let m = &mut h.members[i];
    let id = m.consumer.commit_sync(&mut m.cx);
    h.settle();
    let tp = TopicPartition::new(TOPIC, 0);
    assert_eq!(h.broker.coord.committed("billing", &tp), Some(Offset(10)));
    let events = h.members[i].consumer.take_events();
    assert!(events.iter().any(
        |e| matches!(e, ConsumerEvent::CommitCompleted { id: x, result: Ok(()), .. } if *x == id)
    ));
}

#[test]
fn cooperative_sticky_moves_only_what_it_must() {
    // Proves with cooperative-sticky a joining member gets partitions through two rebalances
    // while the others keep (and never stop consuming) the partitions they retain.
    let mut h = Harness::new(6);
    h.add(config(AssignmentStrategy::CooperativeSticky));
    h.add(config(AssignmentStrategy::CooperativeSticky));
    h.run_until(Time(4_000_000));
    let before = (h.assignment(0), h.assignment(1));
    assert_eq!(before.0.len() + before.1.len(), 6);
    h.add(config(AssignmentStrategy::CooperativeSticky));
    h.run_until(Time(15_000_000));
    assert_eq!(h.assignment(2).len(), 2, "the newcomer got its share");
    assert!(
        h.assignment(0).iter().all(|p| before.0.contains(p)),
        "survivor 0 kept its own"
    );
    assert!(
        h.assignment(1).iter().all(|p| before.1.contains(p)),
        "survivor 1 kept its own"
    );
    assert!(
        h.members[0].consumer.generation().0 >= 3,
        "two rebalances after the first"
    );
    let revoked_everything = h.members[0]
        .consumer
        .take_events()
        .iter()
        .any(|e| matches!(e, ConsumerEvent::Revoked { partitions } if partitions.len() == before.0.len()));
    assert!(!revoked_everything, "no stop-the-world revocation");
}

#[test]
fn stalled_member_leaves_after_max_poll_interval() {
    // Proves a member whose application stops polling leaves the group (LeaveGroup from the
    // heartbeat thread) after max.poll.interval.ms, and the other member takes over.
    let cfg = config(AssignmentStrategy::Range).with("max.poll.interval.ms", 20_000);
    let mut h = Harness::new(2);
    h.broker.logs.insert(TopicPartition::new(TOPIC, 0), vec![1]);
    h.broker.logs.insert(TopicPartition::new(TOPIC, 1), vec![2]);
    h.add(cfg.clone());
    h.add(cfg);
    // Member 0 gets a record and "processes" it forever: it never polls again.
    h.members[0].stall_on_records = true;
    h.run_until(Time(4_000_000));
    assert_eq!(h.assignment(0), [0]);
    assert!(!h.members[0].polling);
    h.run_until(Time(30_000_000));
    assert_eq!(h.assignment(1), [0, 1]);
    assert!(
        h.members[1].consumed.iter().any(|r| r.2 == 1),
        "record 1 delivered again to member 1"
    );
    // As Kafka: the kicked-out member keeps its assignment until its next poll().
    assert_eq!(h.assignment(0), [0]);
}

#[test]
fn kicked_out_member_commit_fails_then_poll_declares_partitions_lost() {
    // Proves a member removed after max.poll.interval.ms gets CommitFailedException from
    // commitSync (refused without sending: not part of an active group), nothing reaches
    // the coordinator, and its next poll() calls onPartitionsLost and rejoins.
    let cfg = config(AssignmentStrategy::Range)
        .with("max.poll.interval.ms", 20_000)
        .with("enable.auto.commit", false);
    let mut h = Harness::new(1);
    let tp = TopicPartition::new(TOPIC, 0);
    h.broker.logs.insert(tp.clone(), vec![1, 2]);
    h.add(cfg);
    h.members[0].stall_on_records = true;
    h.run_until(Time(30_000_000));
    assert_eq!(h.assignment(0), [0], "kept until the next poll()");
    let m = &mut h.members[0];
    m.consumer.take_events();
    let id = m.consumer.commit_sync(&mut m.cx);
    let failed = CommitError {
        exception: CommitException::CommitFailed,
        error: None,
    };
    let events = m.consumer.take_events();
    assert!(
        events.iter().any(|e| matches!(e,
            ConsumerEvent::CommitCompleted { id: x, result: Err(err), .. } if *x == id && *err == failed)),
        "{events:?}"
    );
    assert_eq!(
        failed.to_string(),
        "CommitFailedException (not part of an active group)"
    );
    h.settle();
    assert_eq!(h.broker.coord.committed("billing", &tp), None);
    h.members[0].polling = true;
    h.members[0].stall_on_records = false;
    h.run_until(Time(40_000_000));
    let events = h.members[0].consumer.take_events();
    assert!(
        events.iter().any(
            |e| matches!(e, ConsumerEvent::Lost { partitions } if partitions == std::slice::from_ref(&tp))
        ),
        "{events:?}"
    );
    assert_eq!(h.assignment(0), [0], "rejoined and got it back");
}

#[test]
fn rejected_commit_maps_to_kafka_exceptions() {
    // Proves the OffsetCommit errors become Kafka's exceptions: ILLEGAL_GENERATION and
    // UNKNOWN_MEMBER_ID a CommitFailedException (the generation is reset), REBALANCE_IN_PROGRESS
    // a RebalanceInProgressException (the member only rejoins).
    for (code, exception) in [
        (ErrorCode::IllegalGeneration, CommitException::CommitFailed),
        (ErrorCode::UnknownMemberId, CommitException::CommitFailed),
        (
            ErrorCode::RebalanceInProgress,
            CommitException::RebalanceInProgress,
        ),
    ] {
        let mut h = Harness::new(1);
        let tp = TopicPartition::new(TOPIC, 0);
        h.broker.logs.insert(tp.clone(), vec![1]);
        h.add(config(AssignmentStrategy::Range).with("enable.auto.commit", false));
        h.run_until(Time(4_000_000));
        let m = &mut h.members[0];
        m.consumer.take_events();
        let generation = m.consumer.generation();
        let id = m.consumer.commit_sync(&mut m.cx);
        let reply = |cid| {
            Msg::OffsetCommitResponse(OffsetCommitResponse {
                correlation_id: cid,
                partitions: vec![(tp.clone(), code)],
            })
        };
        let (_, sent) = m.cx.take_sent().pop().expect("commit sent");
        let Msg::OffsetCommitRequest(req) = sent else {
            panic!("{sent:?}")
        };
        m.consumer.receive(&mut m.cx, &reply(req.correlation_id));
        let events = m.consumer.take_events();
        let want = CommitError {
            exception,
            error: Some(code),
        };
        assert!(
            events.iter().any(|e| matches!(e,
                ConsumerEvent::CommitCompleted { id: x, result: Err(err), .. } if *x == id && *err == want)),
            "{code}: {events:?}"
        );
        let reset = m.consumer.generation() != generation;
        assert_eq!(reset, exception == CommitException::CommitFailed, "{code}");
        assert_eq!(
            m.consumer.assignment(),
            std::slice::from_ref(&tp),
            "kept until poll()"
        );
    }
}

#[test]
fn out_of_range_resets_and_fenced_epoch_refreshes_metadata() {
    // Proves OFFSET_OUT_OF_RANGE sends the consumer back through auto.offset.reset (here
    // earliest: it re-reads from 0), and FENCED_LEADER_EPOCH makes it refresh its metadata.
    let tp = TopicPartition::new(TOPIC, 0);
    let mut h = Harness::new(1);
    h.broker.logs.insert(tp.clone(), vec![7, 8]);
    h.add(config(AssignmentStrategy::Range).with("enable.auto.commit", false));
    h.run_until(Time(4_000_000));
    assert_eq!(h.members[0].consumed.len(), 2);
    h.broker.logs.get_mut(&tp).unwrap().push(9);
    h.broker
        .fetch_errors
        .insert(tp.clone(), ErrorCode::OffsetOutOfRange);
    h.run_until(Time(5_000_000));
    let values: Vec<u64> = h.members[0].consumed.iter().map(|r| r.2).collect();
    assert_eq!(
        values,
        [7, 8, 7, 8, 9],
        "reset to the log start and read again"
    );
    let metadata_before = h
        .broker
        .received
        .iter()
        .filter(|l| **l == "Metadata")
        .count();
    h.broker
        .fetch_errors
        .insert(tp.clone(), ErrorCode::FencedLeaderEpoch);
    h.run_until(Time(6_000_000));
    let metadata_after = h
        .broker
        .received
        .iter()
        .filter(|l| **l == "Metadata")
        .count();
    assert!(
        metadata_after > metadata_before,
        "metadata refreshed after FENCED_LEADER_EPOCH"
    );
}

#[test]
fn auto_commit_happens_inside_poll_after_the_interval() {
    // Proves enable.auto.commit commits the consumed positions from within poll() once
    // auto.commit.interval.ms (5 s) has passed.
    let tp = TopicPartition::new(TOPIC, 0);
    let mut h = Harness::new(1);
    h.broker.logs.insert(tp.clone(), (0..4).collect());
    h.add(config(AssignmentStrategy::Range));
    h.run_until(Time(4_000_000));
    assert_eq!(
        h.broker.coord.committed("billing", &tp),
        None,
        "interval not yet elapsed"
    );
    h.run_until(Time(6_000_000));
    assert_eq!(h.broker.coord.committed("billing", &tp), Some(Offset(4)));
}

#[test]
fn rebalance_listener_commits_in_on_partitions_revoked() {
    // Proves the onPartitionsRevoked commit: with auto-commit off, a member that consumed
    // records and is asked to rebalance (a second member joins, eager range) commits its
    // positions before giving the partitions up — without the listener nothing is committed.
    for listener in [false, true] {
        let tp = TopicPartition::new(TOPIC, 0);
        let mut h = Harness::new(2);
        h.broker.logs.insert(tp.clone(), vec![1, 2, 3]);
        h.add(config(AssignmentStrategy::Range).with("enable.auto.commit", false));
        let m = &mut h.members[0];
        m.consumer.commit_on_revoke(listener);
        h.run_until(Time(4_000_000));
        assert_eq!(h.members[0].consumed.len(), 3);
        assert_eq!(h.broker.coord.committed("billing", &tp), None);
        h.add(config(AssignmentStrategy::Range).with("enable.auto.commit", false));
        h.run_until(Time(10_000_000));
        assert_eq!(h.assignment(1).len(), 1, "the newcomer got a partition");
        let committed = h.broker.coord.committed("billing", &tp);
        let want = listener.then_some(Offset(3));
        assert_eq!(committed, want, "listener = {listener}");
    }
}
