//! The consumer's fetcher (`Fetcher`, `OffsetFetcher`): where to start, and reading.
//!
//! A newly assigned partition has no position. The consumer asks the group coordinator for
//! the committed offset (OffsetFetch); if there is none — or a later Fetch says the position
//! is OFFSET_OUT_OF_RANGE, e.g. after retention deleted it or an unclean election truncated
//! the log — `auto.offset.reset` decides: `earliest` (log start), `latest` (the high
//! watermark: only records produced from now on), or `none` (an error for the application).
//! Those offsets come from the partition leader with ListOffsets.
//!
//! Fetch is a long poll: the leader holds it up to `fetch.max.wait.ms` until it can return
//! `fetch.min.bytes`. Each partition carries the leader epoch the consumer believes current
//! (KIP-320), so a deposed leader answers FENCED_LEADER_EPOCH instead of serving a stale
//! log; the consumer then refreshes its metadata. One fetch per broker is in flight at a
//! time, and a partition is fetched again only once poll() has drained what came back.

use std::collections::BTreeMap;

use super::{Consumer, ConsumerEvent, ConsumerRecord, ConsumerTimer, Pending};
use crate::kafka::config::{AutoOffsetReset, IsolationLevel};
use crate::kafka::errors::ErrorCode;
use crate::kafka::event::KafkaEvent;
use crate::kafka::protocol::*;
use crate::kafka::types::NO_BROKER_EPOCH;
use crate::kafka::types::{LeaderEpoch, Offset, TopicPartition};
use crate::sim::{Context, Duration, NodeId, Time};

impl Consumer {
    /// Starts OffsetFetch / ListOffsets for partitions without a position.
    pub(super) fn resolve_positions<C>(&mut self, cx: &mut C, now: Time)
    where
        C: Context<Msg = Msg, Timer = ConsumerTimer, Event = KafkaEvent>,
    {
        // Every partition had a position at the last leader pass and none vanished since.
        if self.leaders_checked.is_some() && self.all_positioned {
            return;
        }
        let todo: Vec<(TopicPartition, bool)> = self
            .partitions
            .iter()
            .filter(|(_, p)| {
                p.position.is_none() && !p.resolving && !p.failed && now >= p.backoff_until
            })
            .map(|(tp, p)| (tp.clone(), p.reset || self.group.group_id.is_none()))
            .collect();
        let (resets, committed): (Vec<_>, Vec<_>) = todo.into_iter().partition(|(_, reset)| *reset);
        let committed: Vec<TopicPartition> = committed.into_iter().map(|(tp, _)| tp).collect();
        if !committed.is_empty() {
            self.fetch_committed(cx, committed);
        }
        let resets: Vec<TopicPartition> = resets.into_iter().map(|(tp, _)| tp).collect();
        if !resets.is_empty() {
            self.reset_positions(cx, resets);
        }
    }

    fn fetch_committed<C>(&mut self, cx: &mut C, partitions: Vec<TopicPartition>)
    where
        C: Context<Msg = Msg, Timer = ConsumerTimer, Event = KafkaEvent>,
    {
        let (Some(coordinator), Some(group_id)) =
            (self.group.coordinator, self.group.group_id.clone())
        else {
            return;
        };
        for tp in &partitions {
            self.partitions.get_mut(tp).expect("assigned").resolving = true;
        }
        let timeout = Duration::from_ms(self.config.request_timeout_ms);
        let tps = partitions.clone();
        self.request(
            cx,
            coordinator,
            timeout,
            Pending::OffsetFetch(tps),
            |correlation_id| {
                Msg::OffsetFetchRequest(OffsetFetchRequest {
                    correlation_id,
                    group_id,
                    partitions,
                    // `ConsumerCoordinator.sendOffsetFetchRequest` always asks for stable
                    // offsets (KIP-447): a pending transactional commit is waited for.
                    require_stable: true,
                })
            },
        );
    }

    /// `auto.offset.reset`: ListOffsets to each leader, or an error with `none`.
    fn reset_positions<C>(&mut self, cx: &mut C, partitions: Vec<TopicPartition>)
    where
        C: Context<Msg = Msg, Timer = ConsumerTimer, Event = KafkaEvent>,
    {
        let spec = match self.config.auto_offset_reset {
            AutoOffsetReset::Earliest => OffsetSpec::Earliest,
            AutoOffsetReset::Latest => OffsetSpec::Latest,
            AutoOffsetReset::None => {
                for tp in partitions {
                    self.partitions.get_mut(&tp).expect("assigned").failed = true;
                    self.events.push(ConsumerEvent::NoOffsetForPartition { tp });
                }
                return;
            }
        };
        let mut by_leader: BTreeMap<NodeId, Vec<(TopicPartition, LeaderEpoch, OffsetSpec)>> =
            BTreeMap::new();
        for tp in partitions {
            match self.metadata.leader(&tp) {
                Some((node, epoch)) => by_leader.entry(node).or_default().push((tp, epoch, spec)),
                None => self.metadata.request_update(),
            }
        }
        let isolation_level = self.config.isolation_level;
        let timeout = Duration::from_ms(self.config.request_timeout_ms);
        for (node, partitions) in by_leader {
            let tps: Vec<TopicPartition> = partitions.iter().map(|p| p.0.clone()).collect();
            for tp in &tps {
                self.partitions.get_mut(tp).expect("assigned").resolving = true;
            }
            self.request(
                cx,
                node,
                timeout,
                Pending::ListOffsets(tps),
                |correlation_id| {
                    Msg::ListOffsetsRequest(ListOffsetsRequest {
                        correlation_id,
                        isolation_level,
                        partitions,
                    })
                },
            );
        }
    }

    pub(super) fn on_offset_fetch_response<C>(
        &mut self,
        cx: &mut C,
        tps: Vec<TopicPartition>,
        r: &OffsetFetchResponse,
    ) where
        C: Context<Msg = Msg, Timer = ConsumerTimer, Event = KafkaEvent>,
    {
        let now = cx.now();
        let backoff = now + Duration::from_ms(self.config.retry_backoff_ms);
        self.leaders_checked = None; // positions may appear
        if !r.error.is_ok() {
            if matches!(
                r.error,
                ErrorCode::NotCoordinator | ErrorCode::CoordinatorNotAvailable
            ) {
                self.group.coordinator_lost(now);
            }
            for tp in tps {
                if let Some(p) = self.partitions.get_mut(&tp) {
                    p.resolving = false;
                    p.backoff_until = backoff;
                    self.backoff_max = self.backoff_max.max(backoff);
                }
            }
            return;
        }
        for (tp, offset, epoch) in &r.offsets {
            let Some(p) = self.partitions.get_mut(tp) else {
                continue;
            };
            p.resolving = false;
            if *offset >= Offset::ZERO {
                p.position = Some(*offset);
                p.last_epoch = (epoch.0 >= 0).then_some(*epoch);
            } else {
                p.reset = true; // no committed offset: auto.offset.reset decides
            }
        }
    }

    pub(super) fn on_list_offsets_response<C>(&mut self, cx: &mut C, r: &ListOffsetsResponse)
    where
        C: Context<Msg = Msg, Timer = ConsumerTimer, Event = KafkaEvent>,
    {
        let now = cx.now();
        self.leaders_checked = None; // positions may appear, current leaders are reset
        for lp in &r.partitions {
            let Some(p) = self.partitions.get_mut(&lp.tp) else {
                continue;
            };
            p.resolving = false;
            if lp.error.is_ok() {
                p.position = Some(lp.offset);
                // A new position: its epoch (KIP-320) is the leader's, not the old one's.
                p.last_epoch = (lp.leader_epoch.0 >= 0).then_some(lp.leader_epoch);
                p.current_leader = None;
                p.reset = false;
                let reason = p.reset_reason.take().unwrap_or(ErrorCode::None);
                cx.emit(KafkaEvent::OffsetReset {
                    tp: lp.tp.clone(),
                    offset: lp.offset,
                    reason,
                });
            } else {
                p.backoff_until = now + Duration::from_ms(self.config.retry_backoff_ms);
                self.backoff_max = self.backoff_max.max(p.backoff_until);
                if lp.error.needs_metadata_refresh() {
                    self.metadata.request_update();
                }
            }
        }
    }

    /// This consumer's partitions grouped by their leader's node (the cached plan if the
    /// metadata has not changed since it was made), taken out of `self` for the pass.
    fn fetch_plan(&mut self) -> super::FetchPlan {
        let version = self.metadata.version();
        if let Some((v, plan)) = self.fetch_plan.take() {
            if v == version {
                return plan;
            }
        }
        let mut plan: super::FetchPlan = Vec::new();
        for tp in self.partitions.keys() {
            let Some((node, _)) = self.metadata.leader(tp) else {
                continue;
            };
            match plan.binary_search_by_key(&node, |(n, _)| *n) {
                Ok(i) => plan[i].1.push(tp.clone()),
                Err(i) => plan.insert(i, (node, vec![tp.clone()])),
            }
        }
        plan
    }

    /// One Fetch per leader without a fetch in flight, for partitions with a position and
    /// nothing buffered.
    pub(super) fn send_fetches<C>(&mut self, cx: &mut C, now: Time)
    where
        C: Context<Msg = Msg, Timer = ConsumerTimer, Event = KafkaEvent>,
    {
        let busy = |node: NodeId| self.net.any_to(node, |p| matches!(p, Pending::Fetch(_)));
        // Every leader is a known broker: when each has a fetch in flight (the usual case
        // between two responses) no partition can be fetched, so none is looked at.
        if self.metadata.broker_nodes().all(busy) {
            return;
        }
        // One request per leader without a fetch in flight, leaders in id order; only the
        // partitions those leaders lead are looked at (the plan groups them by leader).
        let plan = self.fetch_plan();
        let busy = |node: NodeId| self.net.any_to(node, |p| matches!(p, Pending::Fetch(_)));
        let mut by_leader: Vec<(NodeId, Vec<FetchPartition>)> = Vec::new();
        for (node, tps) in plan.iter().filter(|(n, _)| !busy(*n)) {
            let mut wanted = Vec::with_capacity(tps.len());
            for tp in tps {
                let Some(p) = self.partitions.get(tp) else {
                    continue;
                };
                let Some(position) = p.position else {
                    continue;
                };
                if !p.buffered.is_empty() || now < p.backoff_until || p.awaiting_validation {
                    continue;
                }
                let Some((_, epoch)) = self.metadata.leader(tp) else {
                    continue;
                };
                wanted.push(FetchPartition {
                    tp: tp.clone(),
                    current_leader_epoch: epoch,
                    fetch_offset: position,
                    last_fetched_epoch: LeaderEpoch::NONE,
                    log_start_offset: Offset::UNKNOWN,
                    partition_max_bytes: self.config.max_partition_fetch_bytes,
                });
            }
            if !wanted.is_empty() {
                by_leader.push((*node, wanted));
            }
        }
        self.fetch_plan = Some((self.metadata.version(), plan));
        let timeout =
            Duration::from_ms(self.config.request_timeout_ms + self.config.fetch_max_wait_ms);
        for (node, wanted) in by_leader {
            let tps = wanted.iter().map(|p| p.tp.clone()).collect();
            let (session, partitions) = self.fetch_sessions.entry(node).or_default().build(wanted);
            let req = FetchRequest {
                correlation_id: 0,
                replica_id: None,
                replica_epoch: NO_BROKER_EPOCH, // a consumer is no replica
                max_wait_ms: self.config.fetch_max_wait_ms,
                min_bytes: self.config.fetch_min_bytes,
                max_bytes: self.config.fetch_max_bytes,
                isolation_level: self.config.isolation_level,
                session,
                partitions,
            };
            self.request(cx, node, timeout, Pending::Fetch(tps), |correlation_id| {
                Msg::fetch(FetchRequest {
                    correlation_id,
                    ..req
                })
            });
        }
    }

    pub(super) fn on_fetch_response<C>(&mut self, cx: &mut C, node: NodeId, r: &FetchResponse)
    where
        C: Context<Msg = Msg, Timer = ConsumerTimer, Event = KafkaEvent>,
    {
        if let Some(h) = self.fetch_sessions.get_mut(&node) {
            h.handle_response(r); // a session error carries no partitions: full next time
        }
        let backoff = cx.now() + Duration::from_ms(self.config.retry_backoff_ms);
        if r.partitions
            .iter()
            .any(|p| p.error == ErrorCode::OffsetOutOfRange)
        {
            self.leaders_checked = None; // positions may vanish
        }
        for fp in &r.partitions {
            let Some(p) = self.partitions.get_mut(&fp.tp) else {
                continue; // revoked while the fetch was in flight
            };
            let error = if r.error.is_ok() { fp.error } else { r.error };
            match error {
                ErrorCode::None => {
                    p.high_watermark = fp.high_watermark;
                    let Some(position) = p.position else {
                        continue;
                    };
                    let committed = self.config.isolation_level == IsolationLevel::ReadCommitted;
                    let aborted = &fp.aborted_transactions;
                    for b in super::isolation::visible_batches(&fp.batches, aborted, committed) {
                        for (i, rec) in b.records.iter().enumerate() {
                            let offset = b.base_offset + i as i64;
                            if offset >= position {
                                p.buffered.push_back(ConsumerRecord {
                                    tp: fp.tp.clone(),
                                    offset,
                                    key: rec.key.clone(),
                                    value: rec.value,
                                    leader_epoch: b.partition_leader_epoch,
                                });
                            }
                        }
                    }
                    if !p.buffered.is_empty() {
                        if let Err(i) = self.buffered_hint.binary_search(&fp.tp) {
                            self.buffered_hint.insert(i, fp.tp.clone());
                        }
                    }
                    // Only markers or aborted records: move past them (`nextFetchOffset`).
                    let end = fp.batches.last().map(|b| b.next_offset());
                    if let Some(end) = end.filter(|&e| p.buffered.is_empty() && e > position) {
                        p.position = Some(end);
                    }
                }
                ErrorCode::OffsetOutOfRange => {
                    if let Some(position) = p.position.filter(|&o| o < fp.log_start_offset) {
                        // Below the log start: retention deleted these records unread.
                        cx.emit(KafkaEvent::FetchPositionOutOfRange {
                            tp: fp.tp.clone(),
                            position,
                            log_start_offset: fp.log_start_offset,
                            auto_offset_reset: self.config.auto_offset_reset.to_string(),
                        });
                    }
                    p.position = None;
                    p.reset = true;
                    p.reset_reason = Some(ErrorCode::OffsetOutOfRange);
                }
                e => {
                    p.backoff_until = backoff;
                    self.backoff_max = self.backoff_max.max(backoff);
                    if e.needs_metadata_refresh() || e == ErrorCode::UnknownLeaderEpoch {
                        self.metadata.request_update();
                    }
                }
            }
        }
    }
}
