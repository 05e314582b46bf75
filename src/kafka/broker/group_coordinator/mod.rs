//! The group coordinator of the classic consumer-group protocol (`GroupCoordinator`,
//! `ClassicGroup`), as a pure state machine, independent of the broker that hosts it.
//!
//! Every group lives on one broker: the leader of partition
//! `abs(hashCode(group.id)) % offsets.topic.num.partitions` of `__consumer_offsets`. Members
//! find it with FindCoordinator, then:
//!
//! 1. **JoinGroup**. A new member first gets MEMBER_ID_REQUIRED and an id (KIP-394), and joins
//!    again with it. The group moves Empty/Stable → **PreparingRebalance** and waits until
//!    every known member has rejoined, or the rebalance timeout (`max.poll.interval.ms`)
//!    drops the missing ones; an empty group waits `group.initial.rebalance.delay.ms` so a
//!    fleet starting together forms one generation, not ten. Then the **generation** is
//!    bumped, an assignor every member supports is chosen, and the **leader** (the first
//!    joiner) receives all subscriptions → **CompletingRebalance**.
//! 2. **SyncGroup**. The leader sends everyone's assignment; each member gets its own →
//!    **Stable**.
//! 3. **Heartbeat** every `heartbeat.interval.ms`: a member silent for `session.timeout.ms` is
//!    removed and the others rebalance. Replies REBALANCE_IN_PROGRESS tell a member to
//!    rejoin; ILLEGAL_GENERATION and UNKNOWN_MEMBER_ID that it has been left behind.
//! 4. **OffsetCommit / OffsetFetch**: commits are checked against the member and generation (a
//!    zombie from an old generation is refused) and persisted as records of the group's
//!    `__consumer_offsets` partition before they are acknowledged.
//!
//! Inputs: `(now, request)` from `on_*` handlers, timer ticks, and the outcome of appends.
//! Outputs: a list of [`GroupAction`]s for the hosting broker to carry out. Timers are never
//! cancelled: each carries a nonce and a stale one is ignored.
//!
//! Simplifications: only offsets and the generation are persisted (members rebuild the
//! group by rejoining after a coordinator move); no "pending sync" timeout; no offset
//! retention.

pub mod host;
mod join;
mod membership;
mod offsets;
pub mod txn_offsets;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::kafka::event::KafkaEvent;
use crate::kafka::protocol::*;
use crate::kafka::record::Record;
use crate::kafka::types::{
    Generation, LeaderEpoch, Offset, ProducerEpoch, ProducerId, TopicPartition,
};
use crate::sim::{Duration, Peer, Time};

/// Broker-side group settings (`GroupCoordinatorConfig.java`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupCoordinatorConfig {
    pub group_min_session_timeout_ms: u64,
    pub group_max_session_timeout_ms: u64,
    pub group_initial_rebalance_delay_ms: u64,
    pub offsets_topic_num_partitions: u32,
}

impl Default for GroupCoordinatorConfig {
    fn default() -> Self {
        GroupCoordinatorConfig {
            group_min_session_timeout_ms: 6_000,
            group_max_session_timeout_ms: 1_800_000,
            group_initial_rebalance_delay_ms: 3_000,
            offsets_topic_num_partitions: 50,
        }
    }
}

/// Java's `String.hashCode` (UTF-16 code units, wrapping 32-bit arithmetic).
pub fn java_string_hashcode(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(c as i32))
}

/// The `__consumer_offsets` partition that hosts `group` (Kafka's `Utils.abs` maps
/// `i32::MIN` to 0).
pub fn offsets_partition_for(group: &str, num_partitions: u32) -> u32 {
    let h = java_string_hashcode(group);
    let abs = if h == i32::MIN { 0 } else { h.abs() };
    abs as u32 % num_partitions.max(1)
}

/// The key of an offset record: `offset:{group}:{topic}-{partition}`.
pub fn offset_record_key(group: &str, tp: &TopicPartition) -> String {
    format!("offset:{group}:{tp}")
}

/// Identifies an offset commit waiting for its append.
pub type CommitId = u64;

/// What the hosting broker must do.
#[derive(Clone, Debug)]
pub enum GroupAction {
    /// Send this response on the connection the request came on.
    Respond { to: Peer, msg: Msg },
    /// Call `on_timer(timer)` after `after`.
    SetTimer { after: Duration, timer: GroupTimer },
    /// Append these records to partition `offsets_partition` of `__consumer_offsets` (acks=all)
    /// and then call `on_append_complete(commit, error)`.
    Append {
        offsets_partition: u32,
        records: Vec<Record>,
        commit: CommitId,
    },
    /// Like `Append`, as a transactional batch of the producer (TxnOffsetCommit).
    AppendTxn {
        offsets_partition: u32,
        records: Vec<Record>,
        producer_id: ProducerId,
        producer_epoch: ProducerEpoch,
        commit: CommitId,
    },
    /// Record a semantic event in the trace.
    Emit(KafkaEvent),
}

/// A coordinator timer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupTimer {
    pub group: Arc<str>,
    pub kind: GroupTimerKind,
    pub nonce: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupTimerKind {
    /// The join phase ends: initial delay of an empty group, or the rebalance timeout.
    JoinDeadline,
    /// Check whether this member's session expired.
    Session { member: Arc<str> },
}

/// Classic group states.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum GroupState {
    Empty,
    PreparingRebalance,
    CompletingRebalance,
    Stable,
}

#[derive(Clone, Debug)]
struct Member {
    id: Arc<str>,
    instance_id: Option<Arc<str>>,
    session_timeout_ms: u64,
    rebalance_timeout_ms: u64,
    protocols: Vec<(Arc<str>, Subscription)>,
    join_order: u64,
    awaiting_join: Option<(Peer, CorrelationId)>,
    awaiting_sync: Option<(Peer, CorrelationId)>,
    assignment: Vec<TopicPartition>,
    session_deadline: Time,
    /// Only the session timer carrying this nonce counts; older ones are stale.
    session_nonce: u64,
}

#[derive(Clone, Debug)]
struct Group {
    id: Arc<str>,
    state: GroupState,
    generation: Generation,
    protocol: Option<Arc<str>>,
    leader: Option<Arc<str>>,
    members: BTreeMap<Arc<str>, Member>,
    /// Ids handed out with MEMBER_ID_REQUIRED, not yet joined.
    pending: BTreeSet<Arc<str>>,
    offsets: BTreeMap<TopicPartition, (Offset, LeaderEpoch)>,
    join_nonce: u64,
    /// When an empty group's initial delay ends at the latest.
    initial_delay_cap: Option<Time>,
}

#[derive(Clone, Debug)]
struct PendingCommit {
    group: Arc<str>,
    to: Peer,
    correlation_id: CorrelationId,
    offsets: Vec<(TopicPartition, Offset, LeaderEpoch)>,
}

/// All groups hosted by one broker.
#[derive(Clone, Debug, Default)]
pub struct GroupCoordinator {
    pub config: GroupCoordinatorConfig,
    /// `__consumer_offsets` partitions this broker leads (and has loaded).
    owned: BTreeSet<u32>,
    groups: BTreeMap<Arc<str>, Group>,
    pending_commits: BTreeMap<CommitId, PendingCommit>,
    next_commit: CommitId,
    next_member: u64,
    next_nonce: u64,
    /// Commits that are TxnOffsetCommits, by producer.
    txn_commits: BTreeMap<CommitId, ProducerId>,
    /// Transactional offsets waiting for their transaction's marker, per producer.
    txn_offsets: BTreeMap<ProducerId, Vec<txn_offsets::PendingTxnOffset>>,
}

type Actions = Vec<GroupAction>;

impl GroupCoordinator {
    pub fn new(config: GroupCoordinatorConfig) -> Self {
        GroupCoordinator {
            config,
            ..Default::default()
        }
    }

    /// The state of a group, if this coordinator hosts it.
    pub fn group_state(&self, group: &str) -> Option<(GroupState, Generation, usize)> {
        let g = self.groups.get(group)?;
        Some((g.state, g.generation, g.members.len()))
    }

    /// The committed offset of `tp` in `group`.
    pub fn committed(&self, group: &str, tp: &TopicPartition) -> Option<Offset> {
        self.groups.get(group)?.offsets.get(tp).map(|o| o.0)
    }

    /// The broker became leader of an offsets partition: rebuild offsets from its records,
    /// later records winning (what compaction would keep).
    pub fn on_become_leader(&mut self, offsets_partition: u32, records: &[Record]) {
        self.owned.insert(offsets_partition);
        for r in records {
            if let Some(group) = r.key.as_deref().and_then(|k| k.strip_prefix("group:")) {
                // The group continues from its last generation: a zombie of an older one
                // cannot pass the generation checks on the new coordinator.
                let g = self.group_mut(group);
                g.generation = g.generation.max(Generation(r.value as i32 - 1));
                continue;
            }
            let Some((group, tp)) = r.key.as_deref().and_then(parse_offset_key) else {
                continue;
            };
            let g = self.group_mut(&group);
            g.offsets
                .insert(tp, (Offset(r.value as i64 - 1), LeaderEpoch::NONE));
        }
    }

    /// The broker lost leadership of an offsets partition: its groups move elsewhere and
    /// their members will get NOT_COORDINATOR and look the coordinator up again.
    pub fn on_resign(&mut self, offsets_partition: u32) {
        self.owned.remove(&offsets_partition);
        let n = self.config.offsets_topic_num_partitions;
        self.groups
            .retain(|id, _| offsets_partition_for(id, n) != offsets_partition);
        // Pending transactional offsets move with the partition (reloaded by its next
        // coordinator from the log).
        for pending in self.txn_offsets.values_mut() {
            pending.retain(|(g, _, _)| offsets_partition_for(g, n) != offsets_partition);
        }
        self.txn_offsets.retain(|_, p| !p.is_empty());
    }

    fn hosts(&self, group: &str) -> bool {
        let p = offsets_partition_for(group, self.config.offsets_topic_num_partitions);
        self.owned.contains(&p)
    }

    fn group_mut(&mut self, id: &str) -> &mut Group {
        self.groups.entry(Arc::from(id)).or_insert_with(|| Group {
            id: Arc::from(id),
            state: GroupState::Empty,
            generation: Generation(0),
            protocol: None,
            leader: None,
            members: BTreeMap::new(),
            pending: BTreeSet::new(),
            offsets: BTreeMap::new(),
            join_nonce: 0,
            initial_delay_cap: None,
        })
    }

    fn nonce(&mut self) -> u64 {
        self.next_nonce += 1;
        self.next_nonce
    }
}

fn parse_offset_key(key: &str) -> Option<(String, TopicPartition)> {
    let rest = key.strip_prefix("offset:")?;
    let (group, tp) = rest.split_once(':')?;
    Some((group.to_string(), TopicPartition::parse(tp)?))
}

#[cfg(test)]
mod tests;
