//! Unresolved sequences and the idempotent producer's epoch bump (Kafka's
//! `TransactionManager`, non-transactional part; KIP-360).
//!
//! An idempotent producer numbers each partition's records; the leader appends a batch only
//! if its sequence continues the last one it appended for that producer id and epoch, and
//! answers a retry of an appended batch with the original offset. Two events break the
//! numbering, and Kafka handles them differently:
//!
//! - a batch that was *sent* expires (`delivery.timeout.ms`): it fails with a timeout, but
//!   the broker may or may not have it, so its sequence is **unresolved**
//!   (`Sender.sendProducerData` → `markSequenceUnresolved`). The batches after it keep their
//!   numbers and are retried as they are — renumbering a batch that may be in the log would
//!   let the broker append it twice. No new batch is numbered for that partition until the
//!   question is settled: once nothing of the partition is in flight, either the last
//!   acknowledged sequence reaches the expired batch's end (a later batch was accepted, so
//!   the expired one was appended: resolved), or it does not and the epoch must be bumped
//!   (`maybeResolveSequences`);
//! - a batch fails for good (an error after which the broker did not append it, or retries
//!   exhausted): a hole in the sequence, so the epoch must be bumped
//!   (`handleFailedBatch` → `requestEpochBumpForPartition`). Batches that come back with
//!   OUT_OF_ORDER_SEQUENCE_NUMBER or UNKNOWN_PRODUCER_ID were not appended: they lose their
//!   number and are numbered again after the bump.
//!
//! The bump (`bumpIdempotentEpochAndResetIdIfNeeded`) increments the epoch locally and
//! restarts every sequence at 0; the leader accepts a higher epoch starting at sequence 0.
//! kafkasim bumps only once no numbered batch is in flight on any partition, so every batch
//! sent under the old epoch has resolved first (Kafka rewrites the triggering partition's
//! in-flight sequences at once; waiting is simpler and never sends a batch under two
//! numbers). New batches wait while a bump is pending. An exhausted epoch (`i16::MAX`)
//! fetches a new producer id instead.

use super::Idempotence;
use crate::kafka::types::{ProducerEpoch, Sequence, TopicPartition};

impl Idempotence {
    /// A sent batch of `tp` ending at `last` expired: its fate is unknown.
    pub(super) fn mark_unresolved(&mut self, tp: &TopicPartition, last: Sequence) {
        let next = last.plus(1);
        let e = self.unresolved.entry(tp.clone()).or_insert(next);
        if next > *e {
            *e = next;
        }
    }

    /// Settles unresolved partitions with nothing in flight (`maybeResolveSequences`).
    pub(super) fn resolve_sequences(&mut self) {
        let settled: Vec<TopicPartition> = self
            .unresolved
            .keys()
            .filter(|tp| self.in_flight.get(*tp).is_none_or(|s| s.is_empty()))
            .cloned()
            .collect();
        for tp in settled {
            self.unresolved.remove(&tp);
            // Resolved when the last acknowledged sequence is the one before the next to be
            // numbered (`isNextSequence`): a later batch was accepted after the expired one.
            let last = self.last_acked.get(&tp).copied().unwrap_or(Sequence::NONE);
            let next = self.next_sequence.get(&tp).copied().unwrap_or(Sequence(0));
            if last.plus(1) != next {
                self.bump_required = true;
            }
        }
    }

    /// Bumps the epoch if a bump is pending and nothing numbered is in flight; returns
    /// whether the producer id must be fetched again (epoch exhausted).
    pub(super) fn bump_epoch_if_needed(&mut self) -> bool {
        // The cheap tests first: this runs on every sender pass, and `in_flight` has an entry
        // per partition ever produced to (a scan of all of them per send at 1,000 partitions).
        if !self.bump_required || !self.unresolved.is_empty() {
            return false;
        }
        if !self.in_flight.values().all(|s| s.is_empty()) {
            return false;
        }
        let Some((pid, epoch)) = self.producer_id else {
            return false;
        };
        self.bump_required = false;
        self.next_sequence.clear();
        self.last_acked.clear();
        self.in_flight.clear();
        if epoch.0 == i16::MAX {
            return true;
        }
        self.producer_id = Some((pid, ProducerEpoch(epoch.0 + 1)));
        self.epoch_bumps += 1;
        false
    }

    /// May a batch without a sequence be numbered for `tp` now?
    pub(super) fn may_number(&self, tp: &TopicPartition) -> bool {
        !self.bump_required && !self.unresolved.contains_key(tp)
    }
}
