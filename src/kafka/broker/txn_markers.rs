//! The partition leader's side of WriteTxnMarkers (Kafka's `ReplicaManager` handling of
//! `WriteTxnMarkersRequest`). For each partition the leader appends a **control batch**:
//! one COMMIT or ABORT control record, carrying the producer id and epoch, flagged
//! transactional and control. It takes the next offset like any record, is replicated like
//! any batch (acks=all), and ends the producer's transaction in this partition
//! (`txn_index.rs`: the LSO moves past it; an ABORT enters the aborted-transactions index).
//! A marker with an epoch older than the partition's is refused with INVALID_PRODUCER_EPOCH;
//! one with a newer epoch fences the producer here, so its late batches are refused too.
//! A marker from an older *coordinator* epoch (the leader epoch of the coordinator's
//! `__transaction_state` partition) than the producer's last marker here comes from a
//! coordinator that has been replaced: TRANSACTION_COORDINATOR_FENCED, nothing written.
//!
//! The coordinator is answered once every marker of the request is replicated or failed.
//! A marker on a `__consumer_offsets` partition also completes the offsets committed in
//! the transaction (`group_coordinator/txn_offsets.rs`).

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{AppendToken, Broker, BrokerCx};
use crate::kafka::controller::CONSUMER_OFFSETS;
use crate::kafka::errors::ErrorCode;
use crate::kafka::event::KafkaEvent;
use crate::kafka::protocol::*;
use crate::kafka::record::RecordBatch;
use crate::kafka::types::{ProducerId, TopicPartition};
use crate::sim::{Duration, Peer};

/// How long a marker may wait for replication (the coordinator's request timeout).
const MARKER_APPEND_TIMEOUT: Duration = Duration::from_ms(30_000);

#[derive(Clone, Debug)]
struct MarkerReply {
    peer: Peer,
    correlation_id: CorrelationId,
    producer_id: ProducerId,
    committed: bool,
    results: Vec<(TopicPartition, Option<ErrorCode>)>,
}

/// WriteTxnMarkers requests waiting for their appends.
#[derive(Clone, Debug, Default)]
pub struct MarkerReplies {
    next: u64,
    replies: BTreeMap<u64, MarkerReply>,
    waits: BTreeMap<AppendToken, (u64, usize)>,
}

impl Broker {
    pub(crate) fn on_write_txn_markers(
        &mut self,
        cx: &mut BrokerCx<'_>,
        from: Peer,
        r: WriteTxnMarkersRequest,
    ) {
        let replies = &mut self.txn.marker_replies;
        replies.next += 1;
        let id = replies.next;
        let mut results = Vec::with_capacity(r.partitions.len());
        let mut tokens = Vec::new();
        for (i, tp) in r.partitions.iter().enumerate() {
            self.txn_verifications.on_marker(tp, r.producer_id);
            let now = cx.now().as_us();
            let b = RecordBatch::control(r.producer_id, r.producer_epoch, r.committed, now)
                .with_coordinator_epoch(r.coordinator_epoch);
            let part = self.partitions.get(tp);
            let base = part.map(|p| p.log.log_end_offset());
            if part.is_some_and(|p| p.log.marker_is_fenced(r.producer_id, r.coordinator_epoch)) {
                results.push((tp.clone(), Some(ErrorCode::TransactionCoordinatorFenced)));
                continue;
            }
            match self.append_internal_batch(cx, tp, Arc::new(b), MARKER_APPEND_TIMEOUT) {
                Ok(token) => {
                    cx.emit(KafkaEvent::TxnMarkerAppended {
                        tp: tp.clone(),
                        producer_id: r.producer_id,
                        committed: r.committed,
                        offset: base.unwrap_or_default(),
                    });
                    tokens.push((token, i));
                    results.push((tp.clone(), None));
                }
                Err(e) => results.push((tp.clone(), Some(e))),
            }
        }
        let replies = &mut self.txn.marker_replies;
        for (token, i) in tokens {
            replies.waits.insert(token, (id, i));
        }
        replies.replies.insert(
            id,
            MarkerReply {
                peer: from,
                correlation_id: r.correlation_id,
                producer_id: r.producer_id,
                committed: r.committed,
                results,
            },
        );
        self.maybe_answer_markers(cx, id);
    }

    /// A marker append settled (see `txn_coordinator/host.rs`).
    pub(crate) fn on_marker_append_done(
        &mut self,
        cx: &mut BrokerCx<'_>,
        token: AppendToken,
        error: ErrorCode,
    ) {
        let Some((id, i)) = self.txn.marker_replies.waits.remove(&token) else {
            return;
        };
        let Some(reply) = self.txn.marker_replies.replies.get_mut(&id) else {
            return;
        };
        reply.results[i].1 = Some(error);
        let (tp, pid, committed) = (
            reply.results[i].0.clone(),
            reply.producer_id,
            reply.committed,
        );
        if error.is_ok() && &*tp.topic == CONSUMER_OFFSETS {
            let actions = self.groups.on_txn_marker(tp.partition, pid, committed);
            self.apply_group_actions(cx, actions);
        }
        self.maybe_answer_markers(cx, id);
    }

    fn maybe_answer_markers(&mut self, cx: &mut BrokerCx<'_>, id: u64) {
        let replies = &mut self.txn.marker_replies;
        let done = replies
            .replies
            .get(&id)
            .is_some_and(|r| r.results.iter().all(|(_, e)| e.is_some()));
        if !done {
            return;
        }
        let r = replies.replies.remove(&id).expect("checked");
        let resp = WriteTxnMarkersResponse {
            correlation_id: r.correlation_id,
            producer_id: r.producer_id,
            partitions: r
                .results
                .into_iter()
                .map(|(tp, e)| (tp, e.expect("settled")))
                .collect(),
        };
        cx.reply(r.peer, Msg::WriteTxnMarkersResponse(resp));
    }
}
