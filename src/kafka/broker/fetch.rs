//! The leader's side of Fetch, for followers and consumers alike. Each requested partition
//! is classified once ([`PartitionFetch`]): not the leader, diverging (the follower's last
//! fetched epoch ends earlier here: it must truncate), out of range, or readable up to the
//! log end (followers) or the high watermark (consumers). A fetch that finds less than
//! `min_bytes` waits in the fetch purgatory (long poll) until data arrives or `max_wait_ms`
//! passes. ListOffsets and OffsetsForLeaderEpoch answer from the same log.

use super::*;
use crate::kafka::errors::ErrorCode;
use crate::kafka::protocol::*;
use crate::kafka::types::{LeaderEpoch, Offset, TopicPartition};
use crate::sim::{Duration, Peer};

/// What a fetch of one partition finds at the leader (see `Broker::classify_fetch`).
enum PartitionFetch<'a> {
    /// Not the leader (or a fenced/unknown epoch): the error to answer with.
    NotLeader(ErrorCode),
    /// The follower's log diverges from ours after this epoch's end.
    Diverging(&'a PartitionLog, EpochEndOffset),
    /// The fetch offset is outside the log.
    OutOfRange(&'a PartitionLog),
    /// Records may be read from the fetch offset up to `upto` (LEO or HW).
    Read { log: &'a PartitionLog, upto: Offset },
}

impl Broker {
    pub(super) fn on_fetch(&mut self, cx: &mut BrokerCx<'_>, from: Peer, mut req: FetchRequest) {
        if let Err(error) = self.open_fetch_context(cx, &mut req) {
            let resp = FetchResponse {
                correlation_id: req.correlation_id,
                error,
                session_id: INVALID_SESSION_ID,
                partitions: Vec::new(),
            };
            cx.reply(from, Msg::FetchResponse(resp));
            return;
        }
        // The follower's fetch state, from the partitions this fetch looks at: for an
        // incremental fetch those whose fetch offset moved, had news, or whose follower is
        // outside the ISR (the session keeps those in view until it rejoins).
        if let Some(replica) = req.replica_id {
            for fp in &req.partitions {
                self.record_replica_fetch(cx, replica, fp);
            }
        }
        if req.max_wait_ms == 0 || self.fetch_answerable(&req) {
            let (resp, _, _) = self.build_fetch_response(&req);
            self.reply_fetch(cx, from, &req, resp);
        } else {
            let deadline = cx.now() + Duration::from_ms(req.max_wait_ms);
            self.delayed_fetches
                .push(DelayedFetch::new(from, req, deadline));
            self.arm_purgatory(cx);
        }
    }

    /// The response to `req` as of now: (response, bytes of records, must answer now).
    pub(super) fn build_fetch_response(&self, req: &FetchRequest) -> (FetchResponse, usize, bool) {
        let mut bytes = 0usize;
        let mut urgent = false;
        let mut partitions = Vec::with_capacity(req.partitions.len());
        for fp in &req.partitions {
            let budget = (req.max_bytes as usize)
                .saturating_sub(bytes)
                .min(fp.partition_max_bytes as usize) as u32;
            // KIP-74: until a partition returned data, one batch may exceed the limits.
            let r = self.fetch_partition(req, fp, budget, bytes == 0);
            urgent |= !r.error.is_ok() || r.diverging_epoch.is_some();
            bytes += r.batches.iter().map(|b| b.size_bytes()).sum::<usize>();
            partitions.push(r);
        }
        (
            FetchResponse {
                correlation_id: req.correlation_id,
                error: ErrorCode::None,
                session_id: INVALID_SESSION_ID,
                partitions,
            },
            bytes,
            urgent,
        )
    }

    /// Whether the response to `req` would be answered now (an error, a divergence, or at
    /// least `fetch.min.bytes`): what `build_fetch_response` decides, without building it.
    fn fetch_answerable(&self, req: &FetchRequest) -> bool {
        let mut bytes = 0usize;
        for fp in &req.partitions {
            let budget = (req.max_bytes as usize)
                .saturating_sub(bytes)
                .min(fp.partition_max_bytes as usize) as u32;
            match self.classify_fetch(req, fp) {
                PartitionFetch::Read { log, upto } => {
                    bytes += log.read_bytes(fp.fetch_offset, budget, upto, bytes == 0)
                }
                _ => return true, // an error or a divergence is answered at once
            }
        }
        bytes >= req.min_bytes as usize
    }

    /// What fetching `fp` finds, decided once for both building a response and deciding
    /// whether one can wait.
    fn classify_fetch<'a>(&'a self, req: &FetchRequest, fp: &FetchPartition) -> PartitionFetch<'a> {
        let part = match self.leader_partition(&fp.tp, fp.current_leader_epoch) {
            Ok(p) => p,
            Err(e) => return PartitionFetch::NotLeader(e),
        };
        let log = &part.log;
        // Kafka's `readRecords`: a fetch below the log start offset is out of range
        // "regardless of whether epochs are diverging" (retention deleted what it asks for).
        if fp.fetch_offset < log.log_start_offset() {
            return PartitionFetch::OutOfRange(log);
        }
        if req.replica_id.is_some() && fp.last_fetched_epoch != LeaderEpoch::NONE {
            let (epoch, end_offset) = log.end_offset_for_epoch(fp.last_fetched_epoch);
            if epoch < fp.last_fetched_epoch || end_offset < fp.fetch_offset {
                return PartitionFetch::Diverging(log, EpochEndOffset { epoch, end_offset });
            }
        }
        if fp.fetch_offset > log.log_end_offset() {
            return PartitionFetch::OutOfRange(log);
        }
        let upto = isolation::fetch_upper_bound(req, log);
        PartitionFetch::Read { log, upto }
    }

    fn fetch_partition(
        &self,
        req: &FetchRequest,
        fp: &FetchPartition,
        budget: u32,
        min_one: bool,
    ) -> FetchPartitionResponse {
        let mut r = FetchPartitionResponse {
            tp: fp.tp.clone(),
            error: ErrorCode::None,
            high_watermark: Offset::UNKNOWN,
            last_stable_offset: Offset::UNKNOWN,
            log_start_offset: Offset::UNKNOWN,
            diverging_epoch: None,
            current_leader: None,
            batches: Vec::new(),
            aborted_transactions: Vec::new(),
        };
        let with_log = |r: &mut FetchPartitionResponse, log: &PartitionLog| {
            r.high_watermark = log.high_watermark();
            r.last_stable_offset = log.last_stable_offset();
            r.log_start_offset = log.log_start_offset();
        };
        match self.classify_fetch(req, fp) {
            PartitionFetch::NotLeader(e) => {
                r.error = e;
                r.current_leader = self.leader_hint(&fp.tp);
            }
            PartitionFetch::Diverging(log, d) => {
                with_log(&mut r, log);
                r.diverging_epoch = Some(d);
            }
            PartitionFetch::OutOfRange(log) => {
                with_log(&mut r, log);
                r.error = ErrorCode::OffsetOutOfRange;
                if req.replica_id.is_some() {
                    // Stands for the follower's ListOffsets(latest) round trip: where our
                    // log ends.
                    r.diverging_epoch = Some(EpochEndOffset {
                        epoch: LeaderEpoch::NONE,
                        end_offset: log.log_end_offset(),
                    });
                }
            }
            PartitionFetch::Read { log, upto } => {
                with_log(&mut r, log);
                r.batches = log.read_limited(fp.fetch_offset, budget, upto, min_one);
                r.aborted_transactions =
                    isolation::aborted_for(req, log, fp.fetch_offset, &r.batches);
            }
        }
        r
    }

    /// Answers `req` with `resp`, through its fetch session (which may drop the partitions
    /// without news from an incremental response).
    pub(super) fn reply_fetch(
        &mut self,
        cx: &mut BrokerCx<'_>,
        peer: Peer,
        req: &FetchRequest,
        mut resp: FetchResponse,
    ) {
        self.close_fetch_context(req, &mut resp);
        cx.reply(peer, Msg::FetchResponse(resp));
    }

    /// New data (or a new HW) on `tp`: answer parked fetches that now have enough.
    pub(crate) fn wake_fetches(&mut self, cx: &mut BrokerCx<'_>, tp: &TopicPartition) {
        self.fetch_sessions.touch(tp);
        let mut i = 0;
        while i < self.delayed_fetches.len() {
            // A parked incremental fetch looks at its session's partitions with news only;
            // `tp` has some now.
            let d = &mut self.delayed_fetches[i];
            if let Some(fp) = self.fetch_sessions.cached(d.req.session.session_id, tp) {
                d.add_partition(fp);
            }
            let d = &self.delayed_fetches[i];
            if !self.may_answer_now(d, tp) {
                i += 1;
                continue;
            }
            let (resp, bytes, urgent) = self.build_fetch_response(&d.req);
            if urgent || bytes >= d.req.min_bytes as usize {
                let d = self.delayed_fetches.swap_remove(i);
                self.reply_fetch(cx, d.peer, &d.req, resp);
            } else {
                i += 1;
            }
        }
    }

    /// Whether a change to `tp` may let the parked fetch `d` answer: it asks for `tp`, and
    /// `tp` now has records for it (up to the LEO for a follower, the HW for a consumer) or
    /// is no longer in a state where waiting makes sense (leadership or epoch moved, offset
    /// out of range). A parked fetch had too little data when parked and is re-checked on
    /// every change of each of its partitions, so a `false` here never delays an answer.
    fn may_answer_now(&self, d: &DelayedFetch, tp: &TopicPartition) -> bool {
        let Some(fp) = d.find(tp) else {
            return false;
        };
        let Some(part) = self.partitions.get(tp) else {
            return true;
        };
        if !part.is_leader()
            || (fp.current_leader_epoch != LeaderEpoch::NONE
                && fp.current_leader_epoch != part.leader_epoch)
        {
            return true;
        }
        let log = &part.log;
        let upto = isolation::fetch_upper_bound(&d.req, log);
        upto > fp.fetch_offset
            || fp.fetch_offset > log.log_end_offset()
            || fp.fetch_offset < log.log_start_offset()
    }

    pub(super) fn on_list_offsets(
        &mut self,
        cx: &mut BrokerCx<'_>,
        from: Peer,
        req: ListOffsetsRequest,
    ) {
        let partitions = req
            .partitions
            .iter()
            .map(|(tp, epoch, spec)| {
                let mut r = ListOffsetsPartition {
                    tp: tp.clone(),
                    error: ErrorCode::None,
                    offset: Offset::UNKNOWN,
                    leader_epoch: LeaderEpoch::NONE,
                };
                match self.leader_partition(tp, *epoch) {
                    Err(e) => r.error = e,
                    Ok(p) => {
                        r.leader_epoch = p.leader_epoch;
                        let epoch_start = p
                            .leader_state()
                            .map_or(Offset::ZERO, |s| s.epoch_start_offset);
                        match spec {
                            OffsetSpec::Earliest => r.offset = p.log.log_start_offset(),
                            // KIP-207: a new leader whose HW has not reached its epoch start.
                            OffsetSpec::Latest if p.log.high_watermark() < epoch_start => {
                                r.error = ErrorCode::OffsetNotAvailable
                            }
                            OffsetSpec::Latest => {
                                r.offset =
                                    isolation::consumer_upper_bound(req.isolation_level, &p.log)
                            }
                        }
                    }
                }
                r
            })
            .collect();
        cx.reply(
            from,
            Msg::ListOffsetsResponse(ListOffsetsResponse {
                correlation_id: req.correlation_id,
                partitions,
            }),
        );
    }

    pub(super) fn on_offsets_for_leader_epoch(
        &mut self,
        cx: &mut BrokerCx<'_>,
        from: Peer,
        req: OffsetsForLeaderEpochRequest,
    ) {
        let partitions = req
            .partitions
            .iter()
            .map(
                |(tp, current, asked)| match self.leader_partition(tp, *current) {
                    Err(error) => OffsetForLeaderEpochResult {
                        tp: tp.clone(),
                        error,
                        leader_epoch: LeaderEpoch::NONE,
                        end_offset: Offset::UNKNOWN,
                    },
                    Ok(p) => {
                        let (leader_epoch, end_offset) = p.log.end_offset_for_epoch(*asked);
                        OffsetForLeaderEpochResult {
                            tp: tp.clone(),
                            error: ErrorCode::None,
                            leader_epoch,
                            end_offset,
                        }
                    }
                },
            )
            .collect();
        let resp = OffsetsForLeaderEpochResponse {
            correlation_id: req.correlation_id,
            partitions,
        };
        cx.reply(from, Msg::OffsetsForLeaderEpochResponse(resp));
    }
}
