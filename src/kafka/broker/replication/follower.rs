//! The follower side of replication: one fetcher per leader broker, fetching every partition
//! this broker follows on that leader in a single long-polling Fetch request (the leader
//! holds it up to `replica.fetch.wait.max.ms` when there is nothing new).
//!
//! A follower always fetches from its own LEO; that offset is what tells the leader how far
//! the follower got. Each response carries the leader's high watermark, and the follower
//! sets its own HW to min(leader HW, own LEO): a follower's HW lags the leader's by at least
//! one fetch round trip.
//!
//! **Truncation.** A follower's log may end with records the new leader never had (they were
//! appended by an old leader and never replicated). With leader epochs (Kafka ≥ 0.11,
//! KIP-101/KIP-279) the fetch carries the epoch of the follower's last record; if the leader
//! sees the follower's log diverges from its own, it answers with the end of the largest
//! epoch it shares (`DivergingEpoch`), and the follower cuts its log there. With the
//! teaching switch `replication.truncation = "high-watermark"` the follower instead cuts its
//! log to its own HW when it starts following — the pre-0.11 rule whose flaws KIP-101
//! describes (a stale HW after restart loses committed data; replicas can diverge).

use crate::kafka::broker::partition::Role;
use crate::kafka::broker::{Broker, BrokerCx, BrokerTimer};
use crate::kafka::config::TruncationMode;
use crate::kafka::config::{CleanupPolicy, IsolationLevel};
use crate::kafka::errors::ErrorCode;
use crate::kafka::event::{KafkaEvent, TruncationReason};
use crate::kafka::fetch_session::FetchSessionHandler;
use crate::kafka::protocol::*;
use crate::kafka::types::{BrokerId, LeaderEpoch, Offset, TopicPartition};
use crate::sim::{Duration, NodeId, Peer, Time, TimerId, VecMap};

/// The fetch loop towards one leader broker.
#[derive(Clone, Debug)]
pub struct ReplicaFetcher {
    pub leader: BrokerId,
    pub node: NodeId,
    /// Partitions fetched from this leader, each with the time before which it is not
    /// fetched (back-off after an error).
    pub partitions: VecMap<TopicPartition, Time>,
    /// The fetch in flight: (correlation id, timeout timer).
    in_flight: Option<(CorrelationId, TimerId)>,
    backoff: Option<TimerId>,
    /// The incremental fetch session with this leader (KIP-227).
    session: FetchSessionHandler,
}

impl Broker {
    /// Starts following `tp` on `leader`.
    pub(crate) fn start_fetching(
        &mut self,
        cx: &mut BrokerCx<'_>,
        tp: &TopicPartition,
        leader: BrokerId,
    ) {
        let Some(node) = self.metadata.node_of(leader) else {
            return;
        };
        let f = self
            .fetchers
            .entry(leader)
            .or_insert_with(|| ReplicaFetcher {
                leader,
                node,
                partitions: VecMap::new(),
                in_flight: None,
                backoff: None,
                session: FetchSessionHandler::default(),
            });
        f.node = node;
        f.partitions.insert(tp.clone(), Time::ZERO);
        if f.in_flight.is_none() && f.backoff.is_none() {
            self.send_fetch(cx, leader);
        }
    }

    /// Stops following `tp` (it has a new leader, or we lead it now).
    pub(crate) fn stop_fetching(&mut self, tp: &TopicPartition) {
        for f in self.fetchers.values_mut() {
            f.partitions.remove(tp);
        }
        // A fetcher with nothing to fetch is dropped; its late response is ignored.
        self.fetchers.retain(|_, f| !f.partitions.is_empty());
    }

    fn send_fetch(&mut self, cx: &mut BrokerCx<'_>, leader: BrokerId) {
        let now = cx.now();
        let correlation_id = self.correlation();
        let Some(f) = self.fetchers.get(&leader) else {
            return;
        };
        let by_epoch = self.config.replication_truncation == TruncationMode::LeaderEpoch;
        // Sized for every followed partition at once (collecting a filtered iterator grew
        // the vector four or five times per fetch).
        let mut partitions: Vec<FetchPartition> = Vec::with_capacity(f.partitions.len());
        let ready = f.partitions.iter().filter(|(_, until)| **until <= now);
        partitions.extend(
            ready
                .filter_map(|(tp, _)| self.partitions.get(tp))
                .map(|p| FetchPartition {
                    tp: p.tp.clone(),
                    current_leader_epoch: p.leader_epoch,
                    fetch_offset: p.log.log_end_offset(),
                    last_fetched_epoch: if by_epoch {
                        p.log.latest_epoch()
                    } else {
                        LeaderEpoch::NONE
                    },
                    log_start_offset: p.log.log_start_offset(),
                    partition_max_bytes: self.config.replica_fetch_max_bytes,
                }),
        );
        if partitions.is_empty() {
            self.schedule_backoff(cx, leader);
            return;
        }
        let f = self.fetchers.get_mut(&leader).expect("exists");
        let (session, partitions) = f.session.build(partitions);
        let req = FetchRequest {
            correlation_id,
            replica_id: Some(self.id),
            replica_epoch: self.broker_epoch,
            max_wait_ms: self.config.replica_fetch_wait_max_ms,
            min_bytes: self.config.replica_fetch_min_bytes,
            max_bytes: self.config.replica_fetch_max_bytes.saturating_mul(10),
            isolation_level: IsolationLevel::ReadUncommitted,
            session,
            partitions,
        };
        let wait = Duration::from_ms(
            self.config.replica_fetch_wait_max_ms + self.config.replica_socket_timeout_ms,
        );
        let timer = cx.set_timer(
            wait,
            BrokerTimer::FetchTimeout {
                leader,
                correlation_id,
            },
        );
        let f = self.fetchers.get_mut(&leader).expect("exists");
        f.in_flight = Some((correlation_id, timer));
        cx.send(f.node, Msg::fetch(req));
    }

    /// Waits until the earliest partition back-off is over (at least `replica.fetch.backoff.ms`
    /// when every partition is backing off).
    fn schedule_backoff(&mut self, cx: &mut BrokerCx<'_>, leader: BrokerId) {
        let now = cx.now();
        let Some(f) = self.fetchers.get_mut(&leader) else {
            return;
        };
        if f.backoff.is_some() {
            return;
        }
        let earliest = f.partitions.values().copied().min().unwrap_or(now);
        let after = earliest.since(now).max(Duration::from_ms(1));
        f.backoff = Some(cx.set_timer(after, BrokerTimer::FetchBackoff { leader }));
    }

    pub(crate) fn on_fetch_backoff_timeout(&mut self, cx: &mut BrokerCx<'_>, leader: BrokerId) {
        let Some(f) = self.fetchers.get_mut(&leader) else {
            return;
        };
        f.backoff = None;
        if f.in_flight.is_none() {
            self.send_fetch(cx, leader);
        }
    }

    /// The connection to `node` broke (its process died, or it broke during a network
    /// partition): an outstanding fetch to it will never be answered; back off and refetch
    /// rather than waiting for `replica.socket.timeout.ms`.
    pub fn on_disconnect(&mut self, cx: &mut BrokerCx<'_>, node: NodeId) {
        self.on_txn_disconnect(cx, node);
        let lost: Vec<(BrokerId, CorrelationId, TimerId)> = self
            .fetchers
            .values()
            .filter(|f| f.node == node)
            .filter_map(|f| f.in_flight.map(|(c, t)| (f.leader, c, t)))
            .collect();
        for (leader, correlation_id, timer) in lost {
            cx.cancel_timer(timer);
            self.fetch_lost(cx, leader, correlation_id, false);
        }
    }

    pub(crate) fn on_fetch_timeout(
        &mut self,
        cx: &mut BrokerCx<'_>,
        leader: BrokerId,
        correlation_id: CorrelationId,
    ) {
        self.fetch_lost(cx, leader, correlation_id, true);
    }

    /// The fetch `correlation_id` to `leader` will not be answered: back off and fetch
    /// again. After a timeout we close the connection ourselves (a late response must not be
    /// mistaken for a new one); when we were told it closed, it already is.
    fn fetch_lost(
        &mut self,
        cx: &mut BrokerCx<'_>,
        leader: BrokerId,
        correlation_id: CorrelationId,
        close: bool,
    ) {
        let backoff = Duration::from_ms(self.config.replica_fetch_backoff_ms);
        let now = cx.now();
        let Some(f) = self.fetchers.get_mut(&leader) else {
            return;
        };
        if f.in_flight.map(|(c, _)| c) != Some(correlation_id) {
            return;
        }
        f.in_flight = None;
        f.session.handle_error();
        if close {
            cx.close_connection(f.node);
        }
        for until in f.partitions.values_mut() {
            *until = now + backoff;
        }
        self.schedule_backoff(cx, leader);
    }

    pub(crate) fn on_fetch_response(
        &mut self,
        cx: &mut BrokerCx<'_>,
        from: Peer,
        resp: FetchResponse,
    ) {
        let Some(leader) = self
            .fetchers
            .iter()
            .find(|(_, f)| {
                f.in_flight.map(|(c, _)| c) == Some(resp.correlation_id) && f.node == from.node
            })
            .map(|(l, _)| *l)
        else {
            return; // a response to a fetcher since dropped or timed out
        };
        let f = self.fetchers.get_mut(&leader).expect("found");
        if let Some((_, timer)) = f.in_flight.take() {
            cx.cancel_timer(timer);
        }
        // A session error carries no partitions; the next fetch is full.
        f.session.handle_response(&resp);
        for pr in resp.partitions {
            self.on_fetch_partition_response(cx, leader, pr);
        }
        if self.fetchers.contains_key(&leader) {
            self.send_fetch(cx, leader);
        }
    }

    fn on_fetch_partition_response(
        &mut self,
        cx: &mut BrokerCx<'_>,
        leader: BrokerId,
        pr: FetchPartitionResponse,
    ) {
        let still_following = self
            .partitions
            .get(&pr.tp)
            .is_some_and(|p| matches!(p.role, Role::Follower { leader: Some(l) } if l == leader));
        let fetched_here = self
            .fetchers
            .get(&leader)
            .is_some_and(|f| f.partitions.contains_key(&pr.tp));
        if !still_following || !fetched_here {
            return;
        }
        match pr.error {
            ErrorCode::None => match pr.diverging_epoch {
                Some(d) => self.truncate_diverging(cx, &pr.tp, d),
                None => self.append_fetched(cx, pr),
            },
            ErrorCode::OffsetOutOfRange => {
                let leo = self.partitions.get(&pr.tp).map(|p| p.log.log_end_offset());
                if leo.is_some_and(|leo| leo < pr.log_start_offset) {
                    // Our log ends below the leader's log start (retention deleted what we
                    // would fetch): `truncateFullyAndStartAt(leaderLogStartOffset)`.
                    self.truncate_fully(cx, &pr.tp, pr.log_start_offset);
                } else if let Some(d) = pr.diverging_epoch {
                    // Our log is longer than the leader's: cut it to where the leader's ends.
                    self.truncate(cx, &pr.tp, d.end_offset, TruncationReason::OutOfRange);
                }
            }
            _ => {
                // Stale leadership on one side: wait for metadata, fetch again later.
                let until = cx.now() + Duration::from_ms(self.config.replica_fetch_backoff_ms);
                if let Some(t) = self
                    .fetchers
                    .get_mut(&leader)
                    .and_then(|f| f.partitions.get_mut(&pr.tp))
                {
                    *t = until;
                }
            }
        }
    }

    /// KIP-279: the leader says our log diverges after `d.end_offset` of epoch `d.epoch`.
    fn truncate_diverging(
        &mut self,
        cx: &mut BrokerCx<'_>,
        tp: &TopicPartition,
        d: EpochEndOffset,
    ) {
        let part = self.partitions.get(tp).expect("following");
        let leo = part.log.log_end_offset();
        let target = if d.epoch == LeaderEpoch::NONE {
            part.log.high_watermark()
        } else {
            let (own_epoch, own_end) = part.log.end_offset_for_epoch(d.epoch);
            if own_epoch == d.epoch {
                d.end_offset.min(own_end)
            } else if own_epoch == LeaderEpoch::NONE {
                part.log.high_watermark()
            } else {
                // We never had the leader's epoch: cut to the end of ours below it and ask
                // again with the next fetch (multi-round).
                own_end
            }
        };
        self.truncate(cx, tp, target.min(leo), TruncationReason::LeaderEpoch);
    }

    fn append_fetched(&mut self, cx: &mut BrokerCx<'_>, pr: FetchPartitionResponse) {
        let now = cx.now();
        let tracing = cx.tracing();
        let part = self.partitions.get_mut(&pr.tp).expect("following");
        for b in pr.batches {
            // A batch of a compacted topic starting past our LEO continues the log across
            // an offset gap the leader's log cleaner left (compaction keeps offsets); any
            // other batch not at our LEO answers an older fetch offset.
            let leo = part.log.log_end_offset();
            let gap_ok = part.config.cleanup_policy != CleanupPolicy::Delete;
            if b.base_offset < leo || (b.base_offset > leo && !gap_ok) {
                break;
            }
            part.log.assert_appendable(&b, part.leader_epoch);
            if tracing {
                cx.emit(KafkaEvent::Replicated {
                    tp: pr.tp.clone(),
                    base_offset: b.base_offset,
                    records: b.len() as u32,
                });
            }
            part.log.append(cx.disk(), b, now);
        }
        part.log.maybe_flush(
            cx.disk(),
            now,
            part.config.flush_messages,
            part.config.flush_ms,
        );
        let hw = pr.high_watermark.min(part.log.log_end_offset());
        if hw > part.log.high_watermark() && part.log.set_high_watermark(hw) && tracing {
            cx.emit(KafkaEvent::HighWatermark {
                tp: pr.tp.clone(),
                hw,
            });
        }
        // Kafka's `maybeIncrementLogStartOffset(leaderLogStartOffset)`: the segments below
        // go at this broker's next retention check.
        if part
            .log
            .increment_log_start_offset(cx.disk(), pr.log_start_offset)
            && tracing
        {
            cx.emit(KafkaEvent::LogStartOffsetIncremented {
                tp: pr.tp.clone(),
                log_start_offset: part.log.log_start_offset(),
            });
        }
    }

    /// Deletes the whole log of `tp` and restarts it at the leader's log start `offset`.
    fn truncate_fully(&mut self, cx: &mut BrokerCx<'_>, tp: &TopicPartition, offset: Offset) {
        let part = self.partitions.get_mut(tp).expect("following");
        let from_leo = part.log.log_end_offset();
        let removed = part.log.truncate_fully_and_start_at(cx.disk(), offset);
        cx.emit(KafkaEvent::Truncated {
            tp: tp.clone(),
            from_leo,
            to: offset,
            removed,
            reason: TruncationReason::BelowLogStart,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::broker::log::PartitionLog;
    use crate::kafka::broker::partition::Partition;
    use crate::kafka::config::{BrokerConfig, EffectiveTopicConfig, TopicConfig};
    use crate::kafka::testing::FakeCx;
    use crate::sim::Disk;

    #[test]
    fn follower_fetch_uses_the_replica_fetch_settings() {
        // Proves replica.fetch.min.bytes, replica.fetch.wait.max.ms and
        // replica.fetch.max.bytes go into the follower's Fetch, and the follower waits
        // replica.fetch.wait.max.ms + replica.socket.timeout.ms for the answer.
        let config = BrokerConfig::default()
            .with("replica.fetch.min.bytes", 7)
            .with("replica.fetch.wait.max.ms", 300)
            .with("replica.socket.timeout.ms", 1_234)
            .with("replica.fetch.max.bytes", 999);
        let mut b = Broker::new(BrokerId(2), NodeId(0), config.clone());
        let tp = TopicPartition::new("orders", 0);
        let log = PartitionLog::open(tp.clone(), &Disk::new(), None);
        let topic = EffectiveTopicConfig::resolve(&TopicConfig::default(), &config);
        b.partitions.insert(tp.clone(), Partition::new(log, topic));
        let mut partitions = VecMap::new();
        partitions.insert(tp, Time::ZERO);
        let fetcher = ReplicaFetcher {
            leader: BrokerId(1),
            node: NodeId(1),
            partitions,
            in_flight: None,
            backoff: None,
            session: FetchSessionHandler::default(),
        };
        b.fetchers.insert(BrokerId(1), fetcher);
        let mut cx: FakeCx<Msg, BrokerTimer, KafkaEvent> = FakeCx::new(1);
        b.send_fetch(&mut cx, BrokerId(1));
        let sent = cx.take_sent();
        let [(to, Msg::FetchRequest(req))] = &sent[..] else {
            panic!("one fetch expected, got {sent:?}");
        };
        assert_eq!(*to, NodeId(1));
        assert_eq!((req.min_bytes, req.max_wait_ms), (7, 300));
        assert_eq!(req.partitions[0].partition_max_bytes, 999);
        assert_eq!(cx.next_timer(), Some(Time(1_534_000)));
    }
}
