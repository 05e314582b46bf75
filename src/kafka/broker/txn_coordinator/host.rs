//! Hosting the transaction coordinator on a broker, as `group_coordinator/host.rs` hosts
//! the group coordinator:
//!
//! - FindCoordinator(TRANSACTION) names the leader of the id's `__transaction_state`
//!   partition (answered in `group_coordinator/host.rs`, from the metadata image);
//! - InitProducerId (with a `transactional.id`), AddPartitionsToTxn, AddOffsetsToTxn and
//!   EndTxn go to the [`TxnCoordinator`]; its state writes become internal appends to
//!   `__transaction_state` (acks=all), its marker jobs go to the [`MarkerChannel`];
//! - when this broker becomes leader of a `__transaction_state` partition the coordinator
//!   reads it back and resumes the commits and aborts in progress; when it resigns, those
//!   transactions move away with the partition.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::markers::MarkerChannel;
use super::TRANSACTION_STATE;
use super::{txn_partition_for, TxnAction, TxnCoordinator, TxnCoordinatorConfig, WriteId};
use crate::kafka::broker::{
    AppendToken, Broker, BrokerCx, BrokerTimer, LeadershipChange, ReadLimit,
};
use crate::kafka::config::BrokerConfig;
use crate::kafka::errors::ErrorCode;
use crate::kafka::protocol::*;
use crate::kafka::record::Record;
use crate::kafka::types::{LeaderEpoch, Offset, TopicPartition};
use crate::sim::{Duration, Peer};

/// How long a state write may wait for its append (`transaction.state.log` writes use
/// the request timeout in Kafka).
const STATE_WRITE_TIMEOUT: Duration = Duration::from_ms(5_000);
/// Back-off before markers that found no leader (or failed) are sent again.
const MARKER_RETRY: Duration = Duration::from_ms(100);

/// The broker-side state of the hosted coordinator beside the pure state machine.
#[derive(Clone, Debug, Default)]
pub struct TxnHostState {
    pub markers: MarkerChannel,
    /// State writes waiting for their append.
    pub(crate) appends: BTreeMap<AppendToken, WriteId>,
    retry_armed: bool,
    /// Leader-side: WriteTxnMarkers requests waiting for their marker appends.
    pub(crate) marker_replies: crate::kafka::broker::txn_markers::MarkerReplies,
}

/// The coordinator settings a broker configuration implies.
pub fn coordinator_for(config: &BrokerConfig) -> TxnCoordinator {
    TxnCoordinator::new(TxnCoordinatorConfig {
        num_partitions: config.transaction_state_log_num_partitions,
        max_timeout_ms: config.transaction_max_timeout_ms,
        abort_timed_out_interval_ms: config
            .transaction_abort_timed_out_transaction_cleanup_interval_ms,
        offsets_topic_num_partitions: config.offsets_topic_num_partitions,
    })
}

impl Broker {
    /// The `__transaction_state` partition of `transactional_id`.
    pub(crate) fn txn_state_partition(&self, transactional_id: &str) -> TopicPartition {
        let p = txn_partition_for(
            transactional_id,
            self.config.transaction_state_log_num_partitions,
        );
        TopicPartition::new(TRANSACTION_STATE, p)
    }

    /// InitProducerId (transactional), AddPartitionsToTxn, AddOffsetsToTxn, EndTxn.
    pub(crate) fn on_txn_request(&mut self, cx: &mut BrokerCx<'_>, from: Peer, msg: Msg) {
        let now = cx.now();
        let mut fresh: Option<crate::kafka::types::ProducerId> = None;
        let needs_pid = matches!(&msg, Msg::InitProducerIdRequest(r)
            if r.transactional_id.as_deref().is_some_and(|id| !self.txns.knows(id)));
        if needs_pid {
            fresh = Some(self.allocate_producer_id(cx));
        }
        let mut new_pid = || fresh.take().expect("a producer id was allocated");
        if let Some(actions) = self.txns.on_request(now, from, msg, &mut new_pid) {
            self.apply_txn_actions(cx, actions);
        }
    }

    /// The connection to `node` closed: markers in flight to it go again.
    pub(crate) fn on_txn_disconnect(&mut self, cx: &mut BrokerCx<'_>, node: crate::sim::NodeId) {
        self.txn.markers.on_disconnect(node);
        self.poll_txn_markers(cx);
        self.on_verification_disconnect(cx, node);
    }

    pub(crate) fn on_txn_cleanup_timeout(&mut self, cx: &mut BrokerCx<'_>) {
        self.poll_txn_markers(cx); // expires marker requests that got no answer
        let (actions, retry) = self.txns.on_timer(cx.now());
        self.apply_txn_actions(cx, actions);
        for id in retry {
            if !self.txn.markers.has_job(&id) {
                if let Some(a) = self.txns.pending_markers(&id) {
                    self.apply_txn_actions(cx, vec![a]);
                }
            }
        }
    }

    pub(crate) fn on_txn_marker_retry_timeout(&mut self, cx: &mut BrokerCx<'_>) {
        self.txn.retry_armed = false;
        self.poll_txn_markers(cx);
    }

    fn apply_txn_actions(&mut self, cx: &mut BrokerCx<'_>, actions: Vec<TxnAction>) {
        for a in actions {
            match a {
                TxnAction::Respond { to, msg } => cx.reply(to, msg),
                TxnAction::SetTimer { after } => {
                    cx.set_timer(after, BrokerTimer::TxnCleanup);
                }
                TxnAction::Emit(e) => cx.emit(e),
                TxnAction::Append {
                    partition,
                    record,
                    write,
                } => self.append_txn_state(cx, partition, record, write),
                TxnAction::WriteMarkers {
                    transactional_id,
                    producer_id,
                    producer_epoch,
                    committed,
                    partitions,
                } => {
                    let m = &mut self.txn.markers;
                    m.enqueue(
                        transactional_id,
                        producer_id,
                        producer_epoch,
                        committed,
                        partitions,
                    );
                    self.poll_txn_markers(cx);
                }
            }
        }
    }

    fn append_txn_state(&mut self, cx: &mut BrokerCx<'_>, partition: u32, r: Record, w: WriteId) {
        let tp = TopicPartition::new(TRANSACTION_STATE, partition);
        match self.append_internal(cx, &tp, vec![r], STATE_WRITE_TIMEOUT) {
            Ok(token) => {
                self.txn.appends.insert(token, w);
            }
            Err(e) => {
                let more = self.txns.on_append_complete(w, e);
                self.apply_txn_actions(cx, more);
            }
        }
    }

    /// An internal append that is not an offset commit settled: a state write of the
    /// coordinator, or a transaction marker this broker appended as a partition leader.
    pub(crate) fn on_txn_append_done(
        &mut self,
        cx: &mut BrokerCx<'_>,
        token: AppendToken,
        outcome: Result<Offset, ErrorCode>,
    ) {
        let error = outcome.err().unwrap_or(ErrorCode::None);
        if let Some(w) = self.txn.appends.remove(&token) {
            let actions = self.txns.on_append_complete(w, error);
            self.apply_txn_actions(cx, actions);
            return;
        }
        self.on_marker_append_done(cx, token, error);
    }

    /// Sends the markers that can go now; keeps a retry tick while some wait.
    pub(crate) fn poll_txn_markers(&mut self, cx: &mut BrokerCx<'_>) {
        for id in self.txn.markers.take_finished() {
            let actions = self.txns.on_markers_written(&id);
            self.apply_txn_actions(cx, actions);
        }
        let now = cx.now();
        let mut cid = self.next_correlation;
        let mut next = || {
            cid = cid.wrapping_add(1);
            cid
        };
        // Each transaction's markers carry the leader epoch of its `__transaction_state`
        // partition here: the coordinator epoch a partition leader checks.
        let (parts, n) = (
            &self.partitions,
            self.config.transaction_state_log_num_partitions,
        );
        let epoch_of = |id: &str| {
            let tp = TopicPartition::new(TRANSACTION_STATE, txn_partition_for(id, n));
            parts.get(&tp).map_or(LeaderEpoch::NONE, |p| p.leader_epoch)
        };
        let reqs = self
            .txn
            .markers
            .poll(now, &self.metadata, &epoch_of, &mut next);
        self.next_correlation = cid;
        for (node, req) in reqs {
            cx.send(node, Msg::WriteTxnMarkersRequest(req));
        }
        if self.txn.markers.needs_retry() && !self.txn.retry_armed {
            self.txn.retry_armed = true;
            cx.set_timer(MARKER_RETRY, BrokerTimer::TxnMarkerRetry);
        }
    }

    pub(crate) fn on_write_txn_markers_response(
        &mut self,
        cx: &mut BrokerCx<'_>,
        r: WriteTxnMarkersResponse,
    ) {
        if let Some(id) = self.txn.markers.on_response(&r) {
            let actions = self.txns.on_markers_written(&id);
            self.apply_txn_actions(cx, actions);
        }
        self.poll_txn_markers(cx);
    }

    /// Leadership of a `__transaction_state` partition moved.
    pub(crate) fn on_txn_leadership_change(&mut self, cx: &mut BrokerCx<'_>, c: &LeadershipChange) {
        match c {
            LeadershipChange::Became { tp, .. } if &*tp.topic == TRANSACTION_STATE => {
                let records: Vec<Record> = self
                    .read_log(tp, Offset::ZERO, u32::MAX, ReadLimit::LogEnd)
                    .unwrap_or_default()
                    .iter()
                    .flat_map(|b| b.records.iter().cloned())
                    .collect();
                let actions = self.txns.on_become_leader(tp.partition, &records);
                self.apply_txn_actions(cx, actions);
            }
            LeadershipChange::Resigned { tp } if &*tp.topic == TRANSACTION_STATE => {
                let gone: Vec<Arc<str>> = self.txns.on_resign(tp.partition);
                self.txn.markers.drop_jobs(&gone);
            }
            _ => {}
        }
    }
}
