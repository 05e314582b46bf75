//! Incremental fetch sessions (KIP-227), the leader's side: Kafka's `FetchSession`,
//! `FetchSessionCache` and the full/incremental `FetchContext`s of `FetchManager`.
//!
//! A full fetch (epoch 0) opens a session: the leader caches every partition it names with
//! its fetch data, in one of `max.incremental.fetch.session.cache.slots` slots (default
//! 1,000), and answers with the session id. An incremental fetch names only the partitions
//! whose fetch data changed (and those to forget); the leader answers with only the
//! partitions that have news: records, a high watermark or log start offset other than the
//! one last sent, an error or a divergence. FETCH_SESSION_ID_NOT_FOUND answers a session the
//! cache does not hold, INVALID_FETCH_SESSION_EPOCH an epoch other than the session's next;
//! the fetcher then falls back to a full fetch (`kafka/fetch_session.rs`).
//!
//! **Work proportional to news.** Kafka's leader still reads every session partition on
//! each fetch and drops the unchanged ones from the response. Here each session keeps the
//! set of its partitions that may have news (`dirty`): a partition changed since it was last
//! answered (an append, a high-watermark or log-start move, a leadership change marks it in
//! every session that holds it, through `watchers`), named by the request, or answered with
//! records or an error last time (the fetcher may not have taken them). An incremental fetch
//! looks at those only, so a follower of 3,000 quiet partitions pays for the few that moved.
//!
//! Simplifications, said in docs/replication.md: session ids are drawn from a counter, not at
//! random; a full cache evicts the least recently used session idle for at least
//! `min.incremental.fetch.session.eviction.ms` (Kafka's fixed 120 s), or for a follower the
//! least recently used consumer session — Kafka also weighs session sizes.

use super::*;
use crate::kafka::errors::ErrorCode;
use crate::kafka::partition_map::PartitionMap;
use crate::kafka::protocol::*;
use crate::kafka::types::{BrokerId, Offset, TopicPartition};
use crate::sim::{Duration, Time, VecMap};

/// Kafka's `min.incremental.fetch.session.eviction.ms` (a fixed internal setting).
const MIN_EVICTION: Duration = Duration::from_ms(120_000);

/// One partition of a session: the fetch data last requested and what was last answered.
#[derive(Clone, Debug)]
struct CachedPartition {
    fetch: FetchPartition,
    last_hw: Offset,
    last_log_start: Offset,
}

/// A session's partitions that may have news, in partition order: a sorted vector (a
/// handful of entries, inserted and removed on every fetch, so no allocation per change).
#[derive(Clone, Debug, Default)]
struct Dirty(Vec<TopicPartition>);

impl Dirty {
    fn insert(&mut self, tp: TopicPartition) {
        if let Err(i) = self.0.binary_search(&tp) {
            self.0.insert(i, tp);
        }
    }

    fn remove(&mut self, tp: &TopicPartition) {
        if let Ok(i) = self.0.binary_search(tp) {
            self.0.remove(i);
        }
    }

    fn iter(&self) -> impl Iterator<Item = &TopicPartition> {
        self.0.iter()
    }
}

/// One fetcher's session (`FetchSession`).
#[derive(Clone, Debug)]
struct FetchSession {
    /// The epoch the next incremental fetch must carry.
    epoch: i32,
    /// A follower's session (Kafka's "privileged").
    replica: Option<BrokerId>,
    partitions: PartitionMap<CachedPartition>,
    /// Partitions that may have news (see the module documentation).
    dirty: Dirty,
    last_used: Time,
}

/// The broker's sessions (`FetchSessionCache`).
#[derive(Clone, Debug, Default)]
pub(crate) struct FetchSessionCache {
    next_id: i32,
    sessions: VecMap<i32, FetchSession>,
    /// Which sessions hold each partition.
    watchers: PartitionMap<Vec<i32>>,
}

impl FetchSessionCache {
    /// Where this process's session ids start. Kafka draws every id at random
    /// (`FetchSessionCache.newSessionId`) so that a fetcher still holding an id from the
    /// broker's previous process cannot land in someone else's new session; a counter from
    /// 1 in every process did exactly that (a restarted broker gave a consumer's old id to
    /// another consumer, whose partitions it then answered forever:
    /// `scenarios/regressions/fetch-session-ids-survive-a-restart.toml`). Ids here count up
    /// from a start drawn per process (the broker's random incarnation token).
    pub(crate) fn start_ids_at(&mut self, token: u64) {
        self.next_id = (token % (1 << 30)) as i32;
    }

    /// A change to `tp` that fetchers should hear about.
    pub(crate) fn touch(&mut self, tp: &TopicPartition) {
        let Some(ids) = self.watchers.get(tp) else {
            return;
        };
        for id in ids {
            if let Some(s) = self.sessions.get_mut(id) {
                s.dirty.insert(tp.clone());
            }
        }
    }

    /// The cached fetch data of `tp` in session `id`.
    pub(crate) fn cached(&self, id: i32, tp: &TopicPartition) -> Option<&FetchPartition> {
        let s = self.sessions.get(&id)?;
        s.partitions.get(tp).map(|c| &c.fetch)
    }

    pub(crate) fn len(&self) -> usize {
        self.sessions.len()
    }

    fn remove(&mut self, id: i32) {
        let Some(s) = self.sessions.remove(&id) else {
            return;
        };
        for tp in s.partitions.keys() {
            self.unwatch(tp, id);
        }
    }

    fn watch(&mut self, tp: &TopicPartition, id: i32) {
        match self.watchers.get_mut(tp) {
            Some(ids) if !ids.contains(&id) => ids.push(id),
            Some(_) => {}
            None => {
                self.watchers.insert(tp.clone(), vec![id]);
            }
        }
    }

    fn unwatch(&mut self, tp: &TopicPartition, id: i32) {
        if let Some(ids) = self.watchers.get_mut(tp) {
            ids.retain(|&i| i != id);
            if ids.is_empty() {
                self.watchers.remove(tp);
            }
        }
    }

    /// A slot for a new session, evicting one if the cache is full and one may go.
    fn free_slot(&mut self, slots: usize, replica: Option<BrokerId>, now: Time) -> bool {
        if self.sessions.len() < slots {
            return true;
        }
        let lru = |pred: &dyn Fn(&FetchSession) -> bool| {
            self.sessions
                .iter()
                .filter(|(_, s)| pred(s))
                .min_by_key(|(id, s)| (s.last_used, **id))
                .map(|(id, _)| *id)
        };
        let victim = lru(&|s| now.since(s.last_used) >= MIN_EVICTION)
            .or_else(|| lru(&|s| replica.is_some() && s.replica.is_none()));
        match victim {
            Some(id) => {
                self.remove(id);
                true
            }
            None => false,
        }
    }

    /// Opens a session for a full fetch's partitions: its id, or `None` without a slot.
    fn create(&mut self, slots: usize, req: &FetchRequest, now: Time) -> Option<i32> {
        if slots == 0 || !self.free_slot(slots, req.replica_id, now) {
            return None;
        }
        self.next_id = self.next_id.checked_add(1).filter(|&i| i > 0).unwrap_or(1);
        let id = self.next_id;
        let mut partitions = PartitionMap::new();
        for fp in &req.partitions {
            let cached = CachedPartition {
                fetch: fp.clone(),
                last_hw: Offset::UNKNOWN,
                last_log_start: Offset::UNKNOWN,
            };
            partitions.insert(fp.tp.clone(), cached);
            self.watch(&fp.tp, id);
        }
        let session = FetchSession {
            epoch: next_epoch(INITIAL_EPOCH),
            replica: req.replica_id,
            partitions,
            dirty: Dirty::default(),
            last_used: now,
        };
        self.sessions.insert(id, session);
        Some(id)
    }

    /// Applies an incremental fetch to its session and turns `req` into the fetch of the
    /// partitions that may have news, from the cached fetch data.
    fn update(&mut self, req: &mut FetchRequest, now: Time) -> Result<(), ErrorCode> {
        let id = req.session.session_id;
        let Some(s) = self.sessions.get_mut(&id) else {
            return Err(ErrorCode::FetchSessionIdNotFound);
        };
        if s.epoch != req.session.epoch {
            return Err(ErrorCode::InvalidFetchSessionEpoch);
        }
        s.epoch = next_epoch(s.epoch);
        s.last_used = now;
        let mut added = Vec::new();
        for fp in req.partitions.drain(..) {
            s.dirty.insert(fp.tp.clone());
            match s.partitions.get_mut(&fp.tp) {
                Some(c) => c.fetch = fp,
                None => {
                    added.push(fp.tp.clone());
                    let c = CachedPartition {
                        fetch: fp,
                        last_hw: Offset::UNKNOWN,
                        last_log_start: Offset::UNKNOWN,
                    };
                    s.partitions.insert(c.fetch.tp.clone(), c);
                }
            }
        }
        for tp in &req.session.forgotten {
            s.partitions.remove(tp);
            s.dirty.remove(tp);
        }
        let s = &*s;
        let looked_at = s.dirty.iter().filter_map(|tp| s.partitions.get(tp));
        req.partitions.extend(looked_at.map(|c| c.fetch.clone())); // drained above
        for tp in added {
            self.watch(&tp, id);
        }
        for tp in std::mem::take(&mut req.session.forgotten) {
            self.unwatch(&tp, id);
        }
        Ok(())
    }

    /// Records what the response to `req` carried, and for an incremental fetch drops the
    /// partitions without news from it.
    /// `keep_in_view`: whether a partition stays among those the next fetch looks at though
    /// its answer had no records and no error (records left to read, a follower outside
    /// the ISR).
    fn answered(
        &mut self,
        req: &FetchRequest,
        resp: &mut FetchResponse,
        keep_in_view: impl Fn(&FetchPartition) -> bool,
    ) {
        let id = req.session.session_id;
        resp.session_id = id;
        let Some(s) = self.sessions.get_mut(&id) else {
            return;
        };
        let incremental = !req.session.is_full();
        resp.partitions.retain(|r| {
            let Some(c) = s.partitions.get_mut(&r.tp) else {
                return true;
            };
            let unsettled =
                !r.batches.is_empty() || !r.error.is_ok() || r.diverging_epoch.is_some();
            let news = unsettled
                || r.high_watermark != c.last_hw
                || r.log_start_offset != c.last_log_start;
            c.last_hw = r.high_watermark;
            c.last_log_start = r.log_start_offset;
            if unsettled || keep_in_view(&c.fetch) {
                s.dirty.insert(r.tp.clone());
            } else {
                s.dirty.remove(&r.tp);
            }
            news || !incremental
        });
    }
}

impl Broker {
    /// Kafka's `FetchManager.newContext`: opens, closes or applies the session `req` names
    /// and leaves in `req` the partitions this fetch looks at. An error answers the whole
    /// fetch (no partitions).
    pub(super) fn open_fetch_context(
        &mut self,
        cx: &mut BrokerCx<'_>,
        req: &mut FetchRequest,
    ) -> Result<(), ErrorCode> {
        let now = cx.now();
        if !req.session.is_full() {
            let result = self.fetch_sessions.update(req, now);
            if let Err(error) = result {
                cx.emit(KafkaEvent::FetchSessionError {
                    session_id: req.session.session_id,
                    epoch: req.session.epoch,
                    error,
                });
            }
            return result;
        }
        if req.session.session_id != INVALID_SESSION_ID {
            self.fetch_sessions.remove(req.session.session_id);
        }
        if req.session.epoch == FINAL_EPOCH {
            req.session = FetchMetadata::default();
            return Ok(());
        }
        let slots = self.config.max_incremental_fetch_session_cache_slots as usize;
        let id = self.fetch_sessions.create(slots, req, now);
        cx.emit(KafkaEvent::FetchSessionOpened {
            session_id: id.unwrap_or(INVALID_SESSION_ID),
            partitions: req.partitions.len() as u32,
            replica: req.replica_id,
            sessions: self.fetch_sessions.len() as u32,
            slots: slots as u32,
        });
        req.session = FetchMetadata {
            session_id: id.unwrap_or(INVALID_SESSION_ID),
            epoch: INITIAL_EPOCH,
            forgotten: Vec::new(),
        };
        Ok(())
    }

    /// The session's side of answering `req` with `resp` (see `FetchSessionCache::answered`).
    pub(super) fn close_fetch_context(&mut self, req: &FetchRequest, resp: &mut FetchResponse) {
        if req.session.session_id == INVALID_SESSION_ID {
            resp.session_id = INVALID_SESSION_ID;
            return;
        }
        let partitions = &self.partitions;
        let keep_in_view = |fp: &FetchPartition| {
            let Some(p) = partitions.get(&fp.tp).filter(|p| p.is_leader()) else {
                return false;
            };
            // Records the budget (fetch.max.bytes) left unread, or a follower outside the
            // ISR, whose every fetch offset the leader must see to let it back in.
            let upto = match req.replica_id {
                Some(_) => p.log.log_end_offset(),
                None => p.log.high_watermark(),
            };
            upto > fp.fetch_offset || req.replica_id.is_some_and(|r| !p.isr.contains(&r))
        };
        self.fetch_sessions.answered(req, resp, keep_in_view);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::kafka::broker::log::{stamp, PartitionLog};
    use crate::kafka::broker::partition::Partition;
    use crate::kafka::config::IsolationLevel;
    use crate::kafka::config::{BrokerConfig, EffectiveTopicConfig, TopicConfig};
    use crate::kafka::record::{Record, RecordBatch};
    use crate::kafka::testing::FakeCx;
    use crate::kafka::types::LeaderEpoch;
    use crate::sim::{NodeId, Peer};

    type Cx = FakeCx<Msg, BrokerTimer, KafkaEvent>;

    /// Broker 1 leading `t-0` … `t-{n-1}` (replicas 1, 2, 3), empty logs.
    fn leader(n: u32, config: BrokerConfig) -> (Broker, Cx) {
        let mut b = Broker::new(BrokerId(1), NodeId(0), config.clone());
        let mut cx = Cx::new(1);
        let topic = EffectiveTopicConfig::resolve(&TopicConfig::default(), &config);
        for p in 0..n {
            let tp = TopicPartition::new("t", p);
            let mut part = Partition::new(
                PartitionLog::open(tp.clone(), cx.disk(), None),
                topic.clone(),
            );
            part.replicas = vec![BrokerId(1), BrokerId(2), BrokerId(3)];
            part.isr = part.replicas.clone();
            part.leader_epoch = LeaderEpoch(0);
            part.become_leader(BrokerId(1), Time::ZERO);
            b.partitions.insert(tp, part);
        }
        (b, cx)
    }

    fn append(b: &mut Broker, cx: &mut Cx, p: u32) {
        let tp = TopicPartition::new("t", p);
        let part = b.partitions.get_mut(&tp).unwrap();
        let r = Record {
            key: None,
            value: 1,
            value_bytes: 100,
            timestamp_us: 0,
            tombstone: false,
        };
        let batch = stamp(
            Arc::new(RecordBatch::new(vec![r])),
            part.log.log_end_offset(),
            LeaderEpoch(0),
        );
        part.log.append(cx.disk(), batch, Time::ZERO);
        b.wake_fetches(cx, &tp);
    }

    fn fetch(
        replica: Option<BrokerId>,
        session: FetchMetadata,
        parts: Vec<(u32, i64)>,
    ) -> FetchRequest {
        FetchRequest {
            correlation_id: 9,
            replica_id: replica,
            replica_epoch: 0,
            max_wait_ms: 0,
            min_bytes: 1,
            max_bytes: 1 << 20,
            isolation_level: IsolationLevel::ReadUncommitted,
            session,
            partitions: parts
                .into_iter()
                .map(|(p, offset)| FetchPartition {
                    tp: TopicPartition::new("t", p),
                    current_leader_epoch: LeaderEpoch(0),
                    fetch_offset: Offset(offset),
                    last_fetched_epoch: LeaderEpoch::NONE,
                    log_start_offset: Offset(0),
                    partition_max_bytes: 1 << 20,
                })
                .collect(),
        }
    }

    fn answer(b: &mut Broker, cx: &mut Cx, req: FetchRequest) -> FetchResponse {
        b.on_fetch(
            cx,
            Peer {
                node: NodeId(2),
                conn: 0,
            },
            req,
        );
        match cx.take_sent().pop() {
            Some((_, Msg::FetchResponse(r))) => r,
            other => panic!("a fetch response expected, got {other:?}"),
        }
    }

    fn meta(session_id: i32, epoch: i32, forgotten: &[u32]) -> FetchMetadata {
        let forgotten = forgotten
            .iter()
            .map(|&p| TopicPartition::new("t", p))
            .collect();
        FetchMetadata {
            session_id,
            epoch,
            forgotten,
        }
    }

    fn named(r: &FetchResponse) -> Vec<u32> {
        r.partitions.iter().map(|p| p.tp.partition).collect()
    }

    #[test]
    fn a_full_fetch_opens_a_session_and_incremental_ones_carry_only_news() {
        // Proves the full fetch gets a session id and every partition; an incremental fetch
        // naming nothing gets only the partition appended to since, then (at its new offset)
        // nothing; a forgotten partition's appends are no longer news.
        let (mut b, mut cx) = leader(50, BrokerConfig::default());
        let all: Vec<_> = (0..50).map(|p| (p, 0)).collect();
        let r = answer(
            &mut b,
            &mut cx,
            fetch(Some(BrokerId(2)), meta(0, 0, &[]), all),
        );
        assert_eq!((r.session_id, r.partitions.len()), (1, 50));
        append(&mut b, &mut cx, 17);
        let r = answer(
            &mut b,
            &mut cx,
            fetch(Some(BrokerId(2)), meta(1, 1, &[]), vec![]),
        );
        assert_eq!((r.session_id, named(&r)), (1, vec![17]));
        assert_eq!(r.partitions[0].batches.len(), 1);
        let r = answer(
            &mut b,
            &mut cx,
            fetch(Some(BrokerId(2)), meta(1, 2, &[]), vec![(17, 1)]),
        );
        assert_eq!(named(&r), Vec::<u32>::new(), "caught up: no news");
        append(&mut b, &mut cx, 3);
        let r = answer(
            &mut b,
            &mut cx,
            fetch(Some(BrokerId(2)), meta(1, 3, &[3]), vec![]),
        );
        assert_eq!(named(&r), Vec::<u32>::new(), "3 was forgotten");
        let opened = cx
            .events
            .iter()
            .filter(|e| matches!(e, KafkaEvent::FetchSessionOpened { .. }));
        assert_eq!(opened.count(), 1);
    }

    #[test]
    fn a_parked_incremental_fetch_wakes_on_news_of_a_partition_it_did_not_name() {
        // Proves a long-polling incremental fetch that named no partition is answered as soon
        // as one of its session's partitions gets records, with that partition only.
        let (mut b, mut cx) = leader(20, BrokerConfig::default());
        let all: Vec<_> = (0..20).map(|p| (p, 0)).collect();
        answer(
            &mut b,
            &mut cx,
            fetch(Some(BrokerId(2)), meta(0, 0, &[]), all),
        );
        let mut parked = fetch(Some(BrokerId(2)), meta(1, 1, &[]), vec![]);
        parked.max_wait_ms = 500;
        b.on_fetch(
            &mut cx,
            Peer {
                node: NodeId(2),
                conn: 0,
            },
            parked,
        );
        assert!(cx.take_sent().is_empty(), "nothing new: the fetch waits");
        append(&mut b, &mut cx, 12);
        let sent = cx.take_sent();
        let [(_, Msg::FetchResponse(r))] = &sent[..] else {
            panic!("one response expected, got {sent:?}");
        };
        assert_eq!((named(r), r.partitions[0].batches.len()), (vec![12], 1));
    }

    #[test]
    fn unknown_sessions_and_wrong_epochs_are_refused() {
        // Proves FETCH_SESSION_ID_NOT_FOUND for an id the cache lacks, INVALID_FETCH_SESSION_EPOCH
        // for a repeated epoch, and that a full fetch naming the old id closes it.
        let (mut b, mut cx) = leader(3, BrokerConfig::default());
        let r = answer(&mut b, &mut cx, fetch(None, meta(7, 1, &[]), vec![]));
        assert_eq!(
            (r.error, r.partitions.len()),
            (ErrorCode::FetchSessionIdNotFound, 0)
        );
        answer(&mut b, &mut cx, fetch(None, meta(0, 0, &[]), vec![(0, 0)]));
        answer(&mut b, &mut cx, fetch(None, meta(1, 1, &[]), vec![]));
        let r = answer(&mut b, &mut cx, fetch(None, meta(1, 1, &[]), vec![]));
        assert_eq!(r.error, ErrorCode::InvalidFetchSessionEpoch);
        let r = answer(&mut b, &mut cx, fetch(None, meta(1, 0, &[]), vec![(0, 0)]));
        assert_eq!(
            (r.error, r.session_id, b.fetch_sessions.len()),
            (ErrorCode::None, 2, 1)
        );
    }

    #[test]
    fn a_full_cache_answers_without_a_session_and_a_follower_evicts_a_consumer() {
        // Proves max.incremental.fetch.session.cache.slots bounds the sessions: with one slot
        // a second consumer gets session id 0 (full fetches from then on), while a follower
        // evicts the consumer's session for its own.
        let config = BrokerConfig::default().with("max.incremental.fetch.session.cache.slots", 1);
        let (mut b, mut cx) = leader(3, config);
        let r = answer(&mut b, &mut cx, fetch(None, meta(0, 0, &[]), vec![(0, 0)]));
        assert_eq!(r.session_id, 1);
        let r = answer(&mut b, &mut cx, fetch(None, meta(0, 0, &[]), vec![(1, 0)]));
        assert_eq!((r.session_id, r.partitions.len()), (0, 1), "no slot");
        let r = answer(
            &mut b,
            &mut cx,
            fetch(Some(BrokerId(2)), meta(0, 0, &[]), vec![(2, 0)]),
        );
        assert_eq!((r.session_id, b.fetch_sessions.len()), (2, 1));
        let r = answer(&mut b, &mut cx, fetch(None, meta(1, 1, &[]), vec![]));
        assert_eq!(r.error, ErrorCode::FetchSessionIdNotFound, "evicted");
    }
}
