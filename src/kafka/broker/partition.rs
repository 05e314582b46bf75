//! A partition replica on one broker: its log plus what this broker knows about the
//! partition's leadership (leader epoch, replicas, ISR) and, when it leads, its followers.
//!
//! The leader tracks each follower's LEO from the `fetch_offset` of the follower's fetches,
//! and when the follower was last *caught up* (its fetch reached the leader's LEO). From that:
//!
//! * **high watermark** = min LEO over the leader and the (maximal) ISR; it never moves
//!   backwards, and since Kafka 3.7 it does not move at all while the ISR is smaller than
//!   min(`min.insync.replicas`, replication factor) — acknowledged writes are then never
//!   exposed on a single copy;
//! * **ISR shrink**: a follower not caught up for `replica.lag.time.max.ms` is dropped;
//! * **ISR expand**: a follower whose LEO reached the HW and the start of the leader's
//!   current epoch is added back.
//!
//! ISR changes are only *proposed* here: the controller decides (AlterPartition), and the
//! partition epoch it returns fences stale proposals.

use crate::kafka::broker::log::PartitionLog;
use crate::kafka::broker::segment::RollConfig;
use crate::kafka::config::EffectiveTopicConfig;
use crate::kafka::types::NO_PARTITION_EPOCH;
use crate::kafka::types::{BrokerId, LeaderEpoch, Offset, TopicPartition};
use crate::sim::{Duration, Time};

/// What the leader knows of one follower.
#[derive(Clone, Debug)]
pub struct FollowerState {
    pub broker: BrokerId,
    /// The follower's LEO, as of its last fetch (-1 = unknown).
    pub leo: Offset,
    pub last_caught_up: Time,
    last_fetch_time: Time,
    last_fetch_leader_leo: Offset,
}

/// An AlterPartition request in flight.
#[derive(Clone, Debug)]
pub struct PendingIsr {
    pub new_isr: Vec<BrokerId>,
    pub sent: Time,
}

/// State only the leader has.
#[derive(Clone, Debug)]
pub struct LeaderState {
    pub followers: Vec<FollowerState>,
    pub pending_isr: Option<PendingIsr>,
    /// First offset of this leader's epoch (its LEO at election).
    pub epoch_start_offset: Offset,
}

#[derive(Clone, Debug)]
pub enum Role {
    /// Not (yet) told what to do with this partition.
    None,
    Leader(LeaderState),
    Follower {
        leader: Option<BrokerId>,
    },
}

/// One broker's replica of a partition.
#[derive(Clone, Debug)]
pub struct Partition {
    pub tp: TopicPartition,
    pub log: PartitionLog,
    pub config: EffectiveTopicConfig,
    pub role: Role,
    pub leader_epoch: LeaderEpoch,
    pub partition_epoch: i32,
    pub replicas: Vec<BrokerId>,
    pub isr: Vec<BrokerId>,
}

impl Partition {
    pub fn new(log: PartitionLog, config: EffectiveTopicConfig) -> Self {
        let mut log = log;
        log.roll = roll_config(&config);
        Partition {
            tp: log.tp.clone(),
            log,
            config,
            role: Role::None,
            leader_epoch: LeaderEpoch::NONE,
            partition_epoch: NO_PARTITION_EPOCH,
            replicas: Vec::new(),
            isr: Vec::new(),
        }
    }

    /// Applies the topic's (new) settings, the log's roll settings included.
    pub fn set_config(&mut self, config: EffectiveTopicConfig) {
        self.log.roll = roll_config(&config);
        self.config = config;
    }

    pub fn is_leader(&self) -> bool {
        matches!(self.role, Role::Leader(_))
    }

    pub fn leader_state(&self) -> Option<&LeaderState> {
        match &self.role {
            Role::Leader(s) => Some(s),
            _ => None,
        }
    }

    /// min(`min.insync.replicas`, replication factor): the ISR size acks=all needs.
    pub fn effective_min_isr(&self) -> usize {
        (self.config.min_insync_replicas as usize).min(self.replicas.len().max(1))
    }

    /// Becomes leader: remembers where its epoch starts and forgets what it knew of
    /// followers (they prove themselves again with their next fetch).
    pub fn become_leader(&mut self, me: BrokerId, now: Time) {
        let followers = self
            .replicas
            .iter()
            .filter(|&&b| b != me)
            .map(|&broker| FollowerState {
                broker,
                leo: Offset::UNKNOWN,
                // An ISR member gets a full lag window to show up before being dropped.
                last_caught_up: now,
                last_fetch_time: now,
                last_fetch_leader_leo: Offset::UNKNOWN,
            })
            .collect();
        self.role = Role::Leader(LeaderState {
            followers,
            pending_isr: None,
            epoch_start_offset: self.log.log_end_offset(),
        });
    }

    /// Records a follower fetch at `fetch_offset` (Kafka's `updateFollowerFetchState`).
    pub fn record_follower_fetch(&mut self, follower: BrokerId, fetch_offset: Offset, now: Time) {
        let leo = self.log.log_end_offset();
        assert!(
            fetch_offset <= leo,
            "{}: a follower cannot have fetched past the leader's LEO",
            self.log.tp
        );
        let Role::Leader(state) = &mut self.role else {
            return;
        };
        let Some(f) = state.followers.iter_mut().find(|f| f.broker == follower) else {
            return;
        };
        if fetch_offset >= leo {
            f.last_caught_up = now;
        } else if fetch_offset >= f.last_fetch_leader_leo && f.last_fetch_leader_leo >= Offset::ZERO
        {
            f.last_caught_up = f.last_caught_up.max(f.last_fetch_time);
        }
        f.leo = fetch_offset;
        f.last_fetch_time = now;
        f.last_fetch_leader_leo = leo;
    }

    /// Recomputes the leader's HW: the smallest LEO of the ISR (the committed ISR plus any
    /// member being added). Returns the new HW if it advanced.
    pub fn maybe_increment_hw(&mut self, me: BrokerId) -> Option<Offset> {
        let state = self.leader_state()?;
        if self.isr.len() < self.effective_min_isr() {
            return None; // KAFKA-15583: HW frozen under min ISR
        }
        let mut hw = self.log.log_end_offset();
        // The maximal ISR (ISR plus a pending expansion), without building it.
        let pending: &[BrokerId] = state
            .pending_isr
            .as_ref()
            .map_or(&[], |p| p.new_isr.as_slice());
        let extra = pending.iter().filter(|b| !self.isr.contains(b));
        for &b in self.isr.iter().chain(extra) {
            if b == me {
                continue;
            }
            let leo = state
                .followers
                .iter()
                .find(|f| f.broker == b)
                .map_or(Offset::UNKNOWN, |f| f.leo);
            hw = hw.min(leo);
        }
        if hw > self.log.high_watermark() {
            self.log.set_high_watermark(hw);
            Some(hw)
        } else {
            None
        }
    }

    /// Followers to drop from the ISR: not caught up within `lag` (never the leader).
    pub fn out_of_sync(&self, me: BrokerId, now: Time, lag: Duration) -> Vec<BrokerId> {
        let Some(state) = self.leader_state() else {
            return Vec::new();
        };
        // Kafka's `isCaughtUp`: at the leader's LEO, or caught up within the lag. A follower
        // at the LEO of a quiet partition stays in sync without naming it in every fetch
        // (an incremental fetch session leaves it out while its fetch offset stays put).
        let leo = self.log.log_end_offset();
        self.isr
            .iter()
            .copied()
            .filter(|&b| b != me)
            .filter(|&b| {
                state
                    .followers
                    .iter()
                    .find(|f| f.broker == b)
                    .is_none_or(|f| f.leo != leo && now.since(f.last_caught_up) > lag)
            })
            .collect()
    }

    /// Whether a follower outside the ISR may join it (Kafka's `isFollowerInSync`).
    pub fn can_join_isr(&self, follower: BrokerId) -> bool {
        let Some(state) = self.leader_state() else {
            return false;
        };
        if self.isr.contains(&follower) {
            return false;
        }
        state.followers.iter().any(|f| {
            f.broker == follower
                && f.leo >= self.log.high_watermark()
                && f.leo >= state.epoch_start_offset
        })
    }
}

fn roll_config(config: &EffectiveTopicConfig) -> RollConfig {
    RollConfig {
        segment_bytes: config.segment_bytes,
        segment_ms: config.segment_ms,
    }
}
