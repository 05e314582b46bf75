//! The transactional producer application: a [`ProducerApp`] whose producer has a
//! `transactional.id` runs the loop of Kafka's transactional examples —
//!
//! ```text
//! initTransactions()
//! loop { beginTransaction(); send() × transaction_records; commitTransaction() or abortTransaction() }
//! ```
//!
//! The application aborts a transaction with the scenario's `abort` probability (integer
//! ratio, drawn from the node's random stream), and when `commitTransaction()` fails with an
//! abortable error (a batch failed): it then calls `abortTransaction()`, as Kafka's
//! documentation prescribes. A fatal error (PRODUCER_FENCED: a newer instance with the same
//! `transactional.id` exists) ends the application: the producer must be closed.
//!
//! Each transaction's outcome goes to the history as a `TxnEnd` with its values, so the
//! checker knows which records a read_committed reader must (committed), must not
//! (aborted) or may (unknown: the application crashed or was fenced mid-transaction) see.

use rand::Rng as _;

use super::event::NodeEvent;
use super::history::HistoryOp;
use super::producer_app::{ClientCx, ProducerApp, ProducerAppTimer};
use crate::kafka::clients::producer::transaction::TxnClientState;
use crate::kafka::{ErrorCode, Msg};
use crate::sim::Context;

/// How a transactional producer application groups its sends.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct TxnPlan {
    /// Records per transaction (`transaction_records`).
    pub records: u64,
    /// Probability that the application aborts a transaction: (numerator, denominator).
    pub abort: (u32, u32),
}

/// Where the transactional loop is.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum TxnPhase {
    /// Before `initTransactions()` returned.
    #[default]
    Init,
    /// In a transaction, sending.
    Sending,
    /// `commitTransaction()` / `abortTransaction()` called, waiting for it to return.
    Ending { committed: bool },
    /// Fenced or broken: the producer is closed.
    Closed,
}

impl ProducerApp {
    /// Drives the transactional loop; returns whether the application may send a record
    /// now (it is inside a transaction that wants more records).
    pub(super) fn txn_step<C>(&mut self, cx: &mut C) -> bool
    where
        C: Context<Msg = Msg, Timer = ProducerAppTimer, Event = NodeEvent>,
    {
        let Some(plan) = self.config.txn else {
            return true;
        };
        self.collect_txn_results(cx);
        let finished = self.finished(cx.now());
        let Some(p) = self.producer.as_mut() else {
            return false;
        };
        let state = p.txn_state();
        match (self.txn_phase, state) {
            (TxnPhase::Closed, _) => false,
            (_, Some(TxnClientState::FatalError(e))) => {
                self.close_fenced(cx, e);
                false
            }
            // initTransactions() when the application starts sending (`start`).
            (TxnPhase::Init, Some(TxnClientState::Uninitialized))
                if cx.now() >= self.config.start =>
            {
                let _ = p.init_transactions();
                p.run_sender(&mut ClientCx::new(cx));
                false
            }
            (TxnPhase::Init, Some(TxnClientState::Ready)) => {
                if finished {
                    return false;
                }
                let _ = p.begin_transaction();
                cx.emit(HistoryOp::TxnBegin.into());
                self.txn_phase = TxnPhase::Sending;
                self.txn_values.clear();
                true
            }
            (TxnPhase::Sending, _) => {
                let full = self.txn_values.len() as u64 >= plan.records;
                if full || (finished && !self.txn_values.is_empty()) {
                    self.end_transaction(cx, plan);
                    return false;
                }
                !finished
            }
            _ => false,
        }
    }

    fn end_transaction<C>(&mut self, cx: &mut C, plan: TxnPlan)
    where
        C: Context<Msg = Msg, Timer = ProducerAppTimer, Event = NodeEvent>,
    {
        let (num, den) = plan.abort;
        let abort = num > 0 && cx.rng().gen_range(0..den.max(1)) < num;
        let p = self.producer.as_mut().expect("started");
        let ok = if abort {
            p.abort_transaction()
        } else {
            p.commit_transaction()
        };
        p.run_sender(&mut ClientCx::new(cx));
        match ok {
            Ok(()) => self.txn_phase = TxnPhase::Ending { committed: !abort },
            // Already in an abortable error: abort.
            Err(_) if p.abort_transaction().is_ok() => {
                self.txn_phase = TxnPhase::Ending { committed: false }
            }
            Err(e) => self.close_fenced(cx, e),
        }
    }

    /// Commits and aborts that returned: history, then the next step.
    fn collect_txn_results<C>(&mut self, cx: &mut C)
    where
        C: Context<Msg = Msg, Timer = ProducerAppTimer, Event = NodeEvent>,
    {
        let Some(p) = self.producer.as_mut() else {
            return;
        };
        for r in p.take_txn_results() {
            if r.committed && !r.error.is_ok() {
                // commitTransaction() failed with an abortable error: abort.
                if p.abort_transaction().is_ok() {
                    p.run_sender(&mut ClientCx::new(cx));
                    self.txn_phase = TxnPhase::Ending { committed: false };
                    continue;
                }
            }
            let values = std::mem::take(&mut self.txn_values).into_boxed_slice();
            self.txn_phase = TxnPhase::Init;
            if values.is_empty() {
                continue;
            }
            cx.emit(
                HistoryOp::TxnEnd {
                    committed: r.committed,
                    error: r.error,
                    values,
                }
                .into(),
            );
            self.stats.transactions += 1;
            self.txn_phase = TxnPhase::Init;
        }
    }

    /// The producer is fenced (or broken): close it. The open transaction's records are
    /// left to the coordinator (a newer instance or the timeout aborts them).
    fn close_fenced<C>(&mut self, cx: &mut C, error: ErrorCode)
    where
        C: Context<Msg = Msg, Timer = ProducerAppTimer, Event = NodeEvent>,
    {
        if self.txn_phase == TxnPhase::Closed {
            return;
        }
        self.txn_phase = TxnPhase::Closed;
        self.stats.fenced = true;
        if !self.txn_values.is_empty() {
            let values = std::mem::take(&mut self.txn_values).into_boxed_slice();
            let committed = false;
            cx.emit(
                HistoryOp::TxnEnd {
                    committed,
                    error,
                    values,
                }
                .into(),
            );
        }
    }

    /// A crash mid-transaction: its fate is up to the coordinator.
    pub(super) fn txn_crashed<C>(&mut self, cx: &mut C)
    where
        C: Context<Msg = Msg, Timer = ProducerAppTimer, Event = NodeEvent>,
    {
        if self.config.txn.is_none() || self.txn_values.is_empty() {
            return;
        }
        let values = std::mem::take(&mut self.txn_values).into_boxed_slice();
        let committed = matches!(self.txn_phase, TxnPhase::Ending { committed: true });
        let error = ErrorCode::RequestTimedOut;
        cx.emit(
            HistoryOp::TxnEnd {
                committed,
                error,
                values,
            }
            .into(),
        );
    }
}
