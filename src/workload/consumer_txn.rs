//! The consume-transform-produce application (Kafka's exactly-once pattern, KIP-98 and
//! KIP-447): a [`ConsumerApp`] with `commit = "transaction"` and an `output` topic. It
//! embeds a transactional producer beside its consumer and loops
//!
//! ```text
//! initTransactions()
//! loop {
//!     records = poll()                       // isolation.level = read_committed
//!     beginTransaction()
//!     for r in records { send(output, transform(r)) }
//!     sendOffsetsToTransaction(next offsets, consumer.groupMetadata())
//!     commitTransaction()                    // outputs and offsets, atomically
//! }
//! ```
//!
//! On an abortable error it calls `abortTransaction()` and then rewinds to the group's
//! committed offsets (here: it rejoins the group with a fresh consumer, which fetches them —
//! the effect of Kafka's `seek` to the committed offsets). A fatal error (PRODUCER_FENCED:
//! a timeout abort fenced it while it stalled) closes the producer; the application then
//! starts a new one and rereads from the committed offsets, as a restarted instance would. A crash loses everything in memory; the restarted instance's
//! `initTransactions()` aborts what the old one left open.
//!
//! The transform is the identity with the top bit set: output value = input value | 2^63,
//! so the checker can pair every output with its input. Outputs are recorded as the sends
//! of a transaction (`TxnBegin` … `TxnEnd`), so `duplicate` and `lost-write` judge the
//! output topic as read_committed readers see it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::consumer_app::{ConsumerApp, ConsumerAppTimer};
use super::event::NodeEvent;
use super::history::HistoryOp;
use crate::kafka::clients::consumer::ConsumerRecord;
use crate::kafka::clients::producer::transaction::TxnClientState;
use crate::kafka::clients::producer::{Producer, ProducerTimer};
use crate::kafka::config::ProducerConfig;
use crate::kafka::types::{LeaderEpoch, Topic};
use crate::kafka::{KafkaEvent, Msg, Offset, TopicPartition};
use crate::sim::{Context, Mapped, NodeId};

/// The bit that marks an output value (the transform).
pub const OUTPUT_BIT: u64 = 1 << 63;

type ProducerCx<'a, C> = Mapped<'a, C, Msg, ProducerTimer, KafkaEvent>;

/// What the pipeline adds to a consumer application.
#[derive(Clone, Debug)]
pub struct PipelineConfig {
    pub output: Topic,
    pub producer: ProducerConfig,
}

/// The pipeline's running state.
#[derive(Clone, Debug)]
pub struct Pipeline {
    producer: Option<Producer>,
    /// Output values of the open transaction.
    values: Vec<u64>,
    /// Its input records (processed once the transaction commits).
    inputs: Vec<(TopicPartition, Offset, u64)>,
    /// Next offset to read per input partition, as of the records sent in the transaction.
    offsets: BTreeMap<TopicPartition, (Offset, LeaderEpoch)>,
    outstanding: BTreeSet<u64>,
    /// `commitTransaction()` / `abortTransaction()` called, not yet returned.
    pub(super) ending: bool,
    open: bool,
    closed: bool,
    /// Transactions committed (a test reads it).
    pub commits: u64,
}

impl Pipeline {
    pub fn new() -> Self {
        Pipeline {
            producer: None,
            values: Vec::new(),
            inputs: Vec::new(),
            offsets: BTreeMap::new(),
            outstanding: BTreeSet::new(),
            ending: false,
            open: false,
            closed: false,
            commits: 0,
        }
    }
}

impl Default for Pipeline {
    fn default() -> Self {
        Self::new()
    }
}

impl ConsumerApp {
    /// Starts the embedded transactional producer (`initTransactions()`).
    pub(super) fn pipeline_start<C>(&mut self, cx: &mut C)
    where
        C: Context<Msg = Msg, Timer = ConsumerAppTimer, Event = NodeEvent>,
    {
        let Some(pc) = self.config.pipeline.as_deref().cloned() else {
            return;
        };
        let Ok(config) = pc.producer.effective() else {
            return;
        };
        let mut p = Producer::new(&config, self.config.bootstrap.clone());
        p.start_correlations_at(1 << 30); // the consumer's ids count from 1
        let _ = p.init_transactions();
        p.run_sender(&mut ProducerCx::new(cx));
        self.pipeline = Some(Box::new(Pipeline {
            producer: Some(p),
            ..Pipeline::new()
        }));
    }

    /// Whether poll() may run: the producer is ready and no transaction is ending.
    pub(super) fn pipeline_may_poll(&self) -> bool {
        let Some(pl) = self.pipeline.as_ref() else {
            return true;
        };
        let ready = pl.producer.as_ref().and_then(|p| p.txn_state());
        !pl.closed && !pl.ending && !pl.open && ready == Some(TxnClientState::Ready)
    }

    /// A polled batch: `beginTransaction()` and one output per record.
    pub(super) fn pipeline_batch<C>(&mut self, cx: &mut C, records: &[ConsumerRecord])
    where
        C: Context<Msg = Msg, Timer = ConsumerAppTimer, Event = NodeEvent>,
    {
        let output = self.config.pipeline.as_ref().expect("pipeline").output;
        let pl = self.pipeline.as_mut().expect("pipeline");
        let p = pl.producer.as_mut().expect("started");
        if p.begin_transaction().is_err() {
            return;
        }
        pl.open = true;
        cx.emit(HistoryOp::TxnBegin.into());
        for r in records {
            let value = r.value | OUTPUT_BIT;
            cx.emit(
                HistoryOp::SendInvoke {
                    value,
                    topic: output,
                    key: r.key.clone(),
                    tombstone: crate::workload::history::NullValue(false),
                }
                .into(),
            );
            pl.values.push(value);
            pl.inputs.push((r.tp.clone(), r.offset, r.value));
            pl.outstanding.insert(value);
            pl.offsets
                .insert(r.tp.clone(), (r.offset + 1, r.leader_epoch));
            p.send(&mut ProducerCx::new(cx), output, r.key.clone(), value, 100);
        }
    }

    /// The batch is sent: `sendOffsetsToTransaction` and `commitTransaction()`.
    pub(super) fn pipeline_commit<C>(&mut self, cx: &mut C)
    where
        C: Context<Msg = Msg, Timer = ConsumerAppTimer, Event = NodeEvent>,
    {
        let group: Arc<str> = Arc::from(self.config.client.group_id.clone().unwrap_or_default());
        let (generation, member) = match self.consumer() {
            Some(c) => (c.generation(), c.member_id()),
            None => return,
        };
        let Some(pl) = self.pipeline.as_mut().filter(|pl| pl.open) else {
            return;
        };
        let p = pl.producer.as_mut().expect("started");
        let offsets = pl
            .offsets
            .iter()
            .map(|(tp, (o, e))| (tp.clone(), *o, *e))
            .collect();
        let _ = p.send_offsets_to_transaction(group, offsets, generation, member);
        if p.commit_transaction().is_err() {
            let _ = p.abort_transaction();
        }
        pl.ending = true;
        p.run_sender(&mut ProducerCx::new(cx));
        self.pipeline_results(cx);
    }

    /// Offers a message to the producer; true if it was the producer's.
    pub(super) fn pipeline_on_message<C>(&mut self, cx: &mut C, msg: &Msg) -> bool
    where
        C: Context<Msg = Msg, Timer = ConsumerAppTimer, Event = NodeEvent>,
    {
        let Some(p) = self.pipeline.as_mut().and_then(|pl| pl.producer.as_mut()) else {
            return false;
        };
        if !p.on_message(
            &mut ProducerCx::new(cx),
            crate::sim::Peer {
                node: NodeId(0),
                conn: 0,
            },
            msg,
        ) {
            return false;
        }
        self.pipeline_results(cx);
        true
    }

    pub(super) fn pipeline_on_timer<C>(&mut self, cx: &mut C, t: ProducerTimer)
    where
        C: Context<Msg = Msg, Timer = ConsumerAppTimer, Event = NodeEvent>,
    {
        if let Some(p) = self.pipeline.as_mut().and_then(|pl| pl.producer.as_mut()) {
            p.on_timer(&mut ProducerCx::new(cx), t);
        }
        self.pipeline_results(cx);
    }

    pub(super) fn pipeline_on_disconnect<C>(&mut self, cx: &mut C, peer: NodeId)
    where
        C: Context<Msg = Msg, Timer = ConsumerAppTimer, Event = NodeEvent>,
    {
        if let Some(p) = self.pipeline.as_mut().and_then(|pl| pl.producer.as_mut()) {
            p.on_disconnect(&mut ProducerCx::new(cx), peer);
        }
        self.pipeline_results(cx);
    }

    /// Send outcomes and transaction results → history; an abort rewinds the consumer.
    fn pipeline_results<C>(&mut self, cx: &mut C)
    where
        C: Context<Msg = Msg, Timer = ConsumerAppTimer, Event = NodeEvent>,
    {
        let Some(pl) = self.pipeline.as_mut() else {
            return;
        };
        let Some(p) = pl.producer.as_mut() else {
            return;
        };
        for c in p.take_completions() {
            if !pl.outstanding.remove(&c.value) {
                continue;
            }
            let op = match c.result {
                Ok((tp, offset)) => HistoryOp::SendOk {
                    value: c.value,
                    tp,
                    offset,
                },
                Err(error) if !c.maybe_persisted => HistoryOp::SendFail {
                    value: c.value,
                    error,
                },
                Err(e) => HistoryOp::SendIndeterminate {
                    value: c.value,
                    reason: format!("{e}"),
                },
            };
            cx.emit(op.into());
        }
        let mut rewind = false;
        for r in p.take_txn_results() {
            if r.committed && !r.error.is_ok() && p.abort_transaction().is_ok() {
                p.run_sender(&mut ProducerCx::new(cx));
                continue; // commit failed (abortable): abort, then rewind
            }
            let values = std::mem::take(&mut pl.values).into_boxed_slice();
            let offsets: Vec<(TopicPartition, Offset)> = std::mem::take(&mut pl.offsets)
                .into_iter()
                .map(|(tp, (o, _))| (tp, o))
                .collect();
            let (committed, error) = (r.committed, r.error);
            cx.emit(
                HistoryOp::TxnEnd {
                    committed,
                    error,
                    values,
                }
                .into(),
            );
            let inputs = std::mem::take(&mut pl.inputs);
            if committed && error.is_ok() {
                pl.commits += 1;
                // The transform's effect (output + offsets) happened, once.
                for (tp, offset, value) in inputs {
                    cx.emit(HistoryOp::Processed { tp, offset, value }.into());
                }
                cx.emit(HistoryOp::CommitOk { offsets }.into());
            } else {
                rewind = true;
            }
            pl.open = false;
            pl.ending = false;
        }
        let fenced = matches!(p.txn_state(), Some(TxnClientState::FatalError(_)));
        if fenced {
            // The producer must be closed. The application starts a new one (its
            // initTransactions() bumps the epoch again) and rereads from the committed
            // offsets, as a restarted instance would.
            let values = std::mem::take(&mut pl.values).into_boxed_slice();
            pl.inputs.clear();
            pl.offsets.clear();
            if !values.is_empty() {
                let error = crate::kafka::ErrorCode::ProducerFenced;
                cx.emit(
                    HistoryOp::TxnEnd {
                        committed: false,
                        error,
                        values,
                    }
                    .into(),
                );
            }
            self.pipeline_start(cx);
            rewind = true;
        }
        if rewind {
            self.rewind(cx);
        }
    }
}
