//! Incremental fetch sessions (KIP-227), the fetcher's side: Kafka's `FetchMetadata` and
//! `FetchSessionHandler`, shared by follower replicas and consumers.
//!
//! A follower fetching 3,000 partitions from one leader used to name all 3,000 in every
//! Fetch, news or not, and the leader looked at every one of them. With a session, the first
//! Fetch is **full** (session id 0, epoch 0: "open a session"); the leader answers with a
//! session id and remembers the partitions and their fetch offsets in its session cache.
//! Each later Fetch is **incremental**: it carries the session id, the next epoch (1, 2, …),
//! only the partitions whose fetch data changed (a new fetch offset after an append, a new
//! leader epoch, a partition added) and the ones to forget; the leader answers with only the
//! partitions that have news (records, a new high watermark or log start offset, an error).
//!
//! The epoch guards against lost or duplicated requests: the leader expects exactly the
//! session's next epoch and answers INVALID_FETCH_SESSION_EPOCH otherwise; a session the
//! leader no longer has (it restarted, or evicted the session from its cache) gets
//! FETCH_SESSION_ID_NOT_FOUND. Either way — and after a lost request — the fetcher falls back
//! to a full fetch, which opens a new session (closing the old one when it still has its id).
//! A leader whose cache is full answers a full fetch with session id 0: the fetcher stays
//! sessionless and keeps sending full fetches.

use crate::kafka::errors::ErrorCode;
use crate::kafka::protocol::{
    next_epoch, FetchMetadata, FetchPartition, FetchResponse, INITIAL_EPOCH, INVALID_SESSION_ID,
};

/// One fetcher's session with one leader (`FetchSessionHandler`).
#[derive(Clone, Debug, Default)]
pub struct FetchSessionHandler {
    session_id: i32,
    /// The epoch of the next request; `INITIAL_EPOCH`: the next request is full.
    next_epoch: i32,
    /// What the leader's session holds for us, as of the last request built (in partition
    /// order).
    sent: Vec<FetchPartition>,
    /// Whether the request in flight is full.
    in_flight_full: bool,
}

impl FetchSessionHandler {
    pub fn session_id(&self) -> i32 {
        self.session_id
    }

    /// The next request for `wanted` (every partition to fetch): all of them in a full
    /// fetch, or only the changed ones and the forgotten in an incremental one. One merge
    /// walk over `wanted` and the session's partitions, both in partition order.
    pub fn build(
        &mut self,
        mut wanted: Vec<FetchPartition>,
    ) -> (FetchMetadata, Vec<FetchPartition>) {
        if !wanted.is_sorted_by(|a, b| a.tp < b.tp) {
            wanted.sort_by(|a, b| a.tp.cmp(&b.tp));
            wanted.dedup_by(|a, b| a.tp == b.tp);
        }
        let full = self.next_epoch == INITIAL_EPOCH;
        self.in_flight_full = full;
        let (mut changed, mut forgotten) = (Vec::new(), Vec::new());
        if full {
            changed.clone_from(&wanted);
        } else {
            let mut old = self.sent.iter().peekable();
            for p in &wanted {
                while let Some(o) = old.next_if(|o| o.tp < p.tp) {
                    forgotten.push(o.tp.clone());
                }
                if old.next_if(|o| o.tp == p.tp).as_ref() != Some(&p) {
                    changed.push(p.clone());
                }
            }
            forgotten.extend(old.map(|o| o.tp.clone()));
        }
        self.sent = wanted;
        let meta = FetchMetadata {
            session_id: self.session_id,
            epoch: self.next_epoch,
            forgotten,
        };
        (meta, changed)
    }

    /// Reads the session outcome of the response to the last request built. `false`: a
    /// session error — the response carries no partitions and the next fetch is full.
    pub fn handle_response(&mut self, resp: &FetchResponse) -> bool {
        match resp.error {
            ErrorCode::FetchSessionIdNotFound => {
                self.session_id = INVALID_SESSION_ID;
                self.next_epoch = INITIAL_EPOCH;
                return false;
            }
            ErrorCode::InvalidFetchSessionEpoch => {
                self.next_epoch = INITIAL_EPOCH; // close the session, open a new one
                return false;
            }
            _ => {}
        }
        if self.in_flight_full {
            self.session_id = resp.session_id;
            self.next_epoch = if resp.session_id == INVALID_SESSION_ID {
                INITIAL_EPOCH // the leader had no slot: stay sessionless
            } else {
                next_epoch(INITIAL_EPOCH)
            };
        } else {
            self.next_epoch = next_epoch(self.next_epoch);
        }
        true
    }

    /// The request was lost (timeout, closed connection): the next fetch is full and closes
    /// the old session (`FetchSessionHandler.handleError`).
    pub fn handle_error(&mut self) {
        self.next_epoch = INITIAL_EPOCH;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::types::{LeaderEpoch, Offset, TopicPartition};

    fn fp(p: u32, offset: i64) -> FetchPartition {
        FetchPartition {
            tp: TopicPartition::new("t", p),
            current_leader_epoch: LeaderEpoch(0),
            fetch_offset: Offset(offset),
            last_fetched_epoch: LeaderEpoch::NONE,
            log_start_offset: Offset(0),
            partition_max_bytes: 1_000,
        }
    }

    fn resp(error: ErrorCode, session_id: i32) -> FetchResponse {
        FetchResponse {
            correlation_id: 0,
            error,
            session_id,
            partitions: Vec::new(),
        }
    }

    #[test]
    fn full_then_incremental_with_only_changes_and_forgotten() {
        // Proves the first fetch is full (id 0, epoch 0), the session id from the answer is
        // used with epochs 1, 2, and an incremental fetch names only changed partitions and
        // the forgotten ones.
        let mut h = FetchSessionHandler::default();
        let (meta, parts) = h.build(vec![fp(0, 5), fp(1, 7), fp(2, 9)]);
        assert_eq!((meta.session_id, meta.epoch, parts.len()), (0, 0, 3));
        assert!(h.handle_response(&resp(ErrorCode::None, 42)));
        let (meta, parts) = h.build(vec![fp(0, 5), fp(1, 8)]);
        assert_eq!((meta.session_id, meta.epoch), (42, 1));
        assert_eq!(
            parts.iter().map(|p| p.tp.partition).collect::<Vec<_>>(),
            [1]
        );
        assert_eq!(meta.forgotten, vec![TopicPartition::new("t", 2)]);
        assert!(h.handle_response(&resp(ErrorCode::None, 42)));
        let (meta, parts) = h.build(vec![fp(0, 5), fp(1, 8)]);
        assert_eq!((meta.epoch, parts.len(), meta.forgotten.len()), (2, 0, 0));
    }

    #[test]
    fn session_errors_and_lost_requests_fall_back_to_a_full_fetch() {
        // Proves FETCH_SESSION_ID_NOT_FOUND forgets the id, INVALID_FETCH_SESSION_EPOCH and a
        // lost request keep it (to close it) with epoch 0, and a full answer with id 0 leaves
        // the fetcher sessionless.
        let mut h = FetchSessionHandler::default();
        h.build(vec![fp(0, 1)]);
        h.handle_response(&resp(ErrorCode::None, 7));
        h.build(vec![fp(0, 1)]);
        assert!(!h.handle_response(&resp(ErrorCode::InvalidFetchSessionEpoch, 0)));
        let (meta, parts) = h.build(vec![fp(0, 1)]);
        assert_eq!((meta.session_id, meta.epoch, parts.len()), (7, 0, 1));
        h.handle_response(&resp(ErrorCode::None, 8));
        h.build(vec![fp(0, 1)]);
        h.handle_error();
        assert_eq!(h.build(vec![fp(0, 1)]).0.epoch, 0, "lost: full again");
        assert!(!h.handle_response(&resp(ErrorCode::FetchSessionIdNotFound, 0)));
        let (meta, _) = h.build(vec![fp(0, 1)]);
        assert_eq!((meta.session_id, meta.epoch), (0, 0));
        h.handle_response(&resp(ErrorCode::None, 0));
        assert_eq!(h.build(vec![fp(0, 1)]).0.epoch, 0, "no slot: sessionless");
        assert_eq!(next_epoch(i32::MAX), 1);
    }
}
