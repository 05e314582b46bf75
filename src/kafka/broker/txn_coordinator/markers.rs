//! Sending transaction markers (Kafka's `TransactionMarkerChannelManager`). Once a
//! transaction is in PrepareCommit or PrepareAbort, its coordinator must get a COMMIT or
//! ABORT control record into every partition of the transaction, whatever happens to the
//! partitions' leaders meanwhile: it sends WriteTxnMarkers to each partition's current
//! leader (from the broker's metadata image), and resends to the new leader on
//! NOT_LEADER_OR_FOLLOWER, a lost connection, no leader yet, or no answer within
//! `request.timeout.ms`. When every partition has its marker the job is done and the
//! coordinator writes CompleteCommit / CompleteAbort.
//!
//! A marker is resent to a partition only when its previous attempt failed or was lost, so
//! a partition may get the same marker twice (a lost answer): the second closes no open
//! transaction and changes nothing for readers (`txn_index.rs`), as in Kafka.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::kafka::errors::ErrorCode;
use crate::kafka::metadata::MetadataImage;
use crate::kafka::protocol::*;
use crate::kafka::types::{LeaderEpoch, ProducerEpoch, ProducerId, TopicPartition};
use crate::sim::{Duration, NodeId, Time};

/// How long a WriteTxnMarkers may stay unanswered before it is sent again.
const MARKER_REQUEST_TIMEOUT: Duration = Duration::from_ms(30_000);

#[derive(Clone, Debug)]
struct MarkerJob {
    producer_id: ProducerId,
    producer_epoch: ProducerEpoch,
    committed: bool,
    /// Partitions still without their marker.
    remaining: BTreeSet<TopicPartition>,
    /// Of those, the ones a request is in flight for.
    sent: BTreeSet<TopicPartition>,
}

#[derive(Clone, Debug)]
struct InFlight {
    transactional_id: Arc<str>,
    node: NodeId,
    partitions: Vec<TopicPartition>,
    sent_at: Time,
}

/// The markers this broker's coordinator still has to write.
#[derive(Clone, Debug, Default)]
pub struct MarkerChannel {
    jobs: BTreeMap<Arc<str>, MarkerJob>,
    in_flight: BTreeMap<CorrelationId, InFlight>,
}

impl MarkerChannel {
    /// Starts (or restarts) writing the markers of `id`'s transaction.
    pub fn enqueue(
        &mut self,
        id: Arc<str>,
        producer_id: ProducerId,
        producer_epoch: ProducerEpoch,
        committed: bool,
        partitions: Vec<TopicPartition>,
    ) {
        self.in_flight.retain(|_, f| f.transactional_id != id);
        self.jobs.insert(
            id,
            MarkerJob {
                producer_id,
                producer_epoch,
                committed,
                remaining: partitions.into_iter().collect(),
                sent: BTreeSet::new(),
            },
        );
    }

    /// Whether `id` has markers being written.
    pub fn has_job(&self, id: &str) -> bool {
        self.jobs.contains_key(id)
    }

    /// Forgets the jobs of transactions this broker no longer coordinates.
    pub fn drop_jobs(&mut self, ids: &[Arc<str>]) {
        for id in ids {
            self.jobs.remove(id);
        }
        self.in_flight
            .retain(|_, f| !ids.contains(&f.transactional_id));
    }

    /// Jobs whose every marker is written already (empty transactions), taken out.
    pub fn take_finished(&mut self) -> Vec<Arc<str>> {
        let done: Vec<Arc<str>> = self
            .jobs
            .iter()
            .filter(|(_, j)| j.remaining.is_empty())
            .map(|(k, _)| k.clone())
            .collect();
        for id in &done {
            self.jobs.remove(id);
        }
        done
    }

    /// The requests to send now: every unsent partition to its current leader, one request
    /// per (transaction, leader). `epoch_of(id)` is the coordinator epoch (the leader epoch
    /// of the id's `__transaction_state` partition here).
    pub fn poll(
        &mut self,
        now: Time,
        image: &MetadataImage,
        epoch_of: &dyn Fn(&str) -> LeaderEpoch,
        next_cid: &mut dyn FnMut() -> CorrelationId,
    ) -> Vec<(NodeId, WriteTxnMarkersRequest)> {
        self.expire(now);
        let mut out = Vec::new();
        for (id, job) in self.jobs.iter_mut() {
            let coordinator_epoch = epoch_of(id);
            let mut by_node: BTreeMap<NodeId, Vec<TopicPartition>> = BTreeMap::new();
            for tp in job.remaining.difference(&job.sent) {
                let leader = image.partitions.get(tp).and_then(|p| p.leader);
                if let Some(node) = leader.and_then(|b| image.node_of(b)) {
                    by_node.entry(node).or_default().push(tp.clone());
                }
            }
            for (node, partitions) in by_node {
                let correlation_id = next_cid();
                job.sent.extend(partitions.iter().cloned());
                out.push((
                    node,
                    WriteTxnMarkersRequest {
                        correlation_id,
                        producer_id: job.producer_id,
                        producer_epoch: job.producer_epoch,
                        committed: job.committed,
                        coordinator_epoch,
                        partitions: partitions.clone(),
                    },
                ));
                self.in_flight.insert(
                    correlation_id,
                    InFlight {
                        transactional_id: id.clone(),
                        node,
                        partitions,
                        sent_at: now,
                    },
                );
            }
        }
        out
    }

    /// Requests unanswered for too long are sent again.
    fn expire(&mut self, now: Time) {
        let old: Vec<CorrelationId> = self
            .in_flight
            .iter()
            .filter(|(_, f)| now >= f.sent_at + MARKER_REQUEST_TIMEOUT)
            .map(|(c, _)| *c)
            .collect();
        for c in old {
            self.unsend(c);
        }
    }

    fn unsend(&mut self, cid: CorrelationId) -> Option<InFlight> {
        let f = self.in_flight.remove(&cid)?;
        if let Some(job) = self.jobs.get_mut(&f.transactional_id) {
            for tp in &f.partitions {
                job.sent.remove(tp);
            }
        }
        Some(f)
    }

    /// The connection to `node` closed: what was in flight to it goes again.
    pub fn on_disconnect(&mut self, node: NodeId) {
        let lost: Vec<CorrelationId> = self
            .in_flight
            .iter()
            .filter(|(_, f)| f.node == node)
            .map(|(c, _)| *c)
            .collect();
        for c in lost {
            self.unsend(c);
        }
    }

    /// A leader answered. Partitions written (or refused for good) leave the job; the
    /// others are resent at the next poll. Returns the transaction whose markers are now
    /// all written.
    pub fn on_response(&mut self, r: &WriteTxnMarkersResponse) -> Option<Arc<str>> {
        let f = self.in_flight.remove(&r.correlation_id)?;
        if r.partitions
            .iter()
            .any(|(_, e)| *e == ErrorCode::TransactionCoordinatorFenced)
        {
            // A newer coordinator owns the transaction now and finishes it
            // (`TransactionMarkerRequestCompletionHandler`: the markers are dropped here).
            self.jobs.remove(&f.transactional_id);
            return None;
        }
        let job = self.jobs.get_mut(&f.transactional_id)?;
        for (tp, error) in &r.partitions {
            job.sent.remove(tp);
            // INVALID_PRODUCER_EPOCH: a newer epoch already ended the transaction there.
            let done = error.is_ok()
                || matches!(
                    error,
                    ErrorCode::InvalidProducerEpoch | ErrorCode::UnknownTopicOrPartition
                );
            if done {
                job.remaining.remove(tp);
            }
        }
        if !job.remaining.is_empty() {
            return None;
        }
        self.jobs.remove(&f.transactional_id);
        Some(f.transactional_id)
    }

    /// Whether some partition waits to be (re)sent: the host keeps a retry tick armed.
    /// (A request in flight is expired by the poll of the coordinator's cleanup tick.)
    pub fn needs_retry(&self) -> bool {
        self.jobs.values().any(|j| j.remaining.len() > j.sent.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::metadata::{BrokerInfo, PartitionImage};
    use crate::kafka::types::BrokerId;

    #[test]
    fn markers_carry_the_coordinator_epoch_and_a_fenced_answer_drops_the_job() {
        // Proves the coordinator side of the coordinator-epoch check: the request carries
        // the epoch of the id's `__transaction_state` partition (here 4), and a
        // TRANSACTION_COORDINATOR_FENCED answer drops the job without completing it.
        let tp = TopicPartition::new("orders", 0);
        let mut image = MetadataImage::default();
        image.brokers.insert(
            BrokerId(1),
            BrokerInfo {
                node: NodeId(1),
                broker_epoch: 1,
                fenced: false,
                incarnation: 1,
            },
        );
        image.partitions.insert(
            tp.clone(),
            PartitionImage {
                replicas: vec![BrokerId(1)],
                isr: vec![BrokerId(1)],
                leader: Some(BrokerId(1)),
                leader_epoch: LeaderEpoch(0),
                partition_epoch: 0,
            },
        );
        let mut ch = MarkerChannel::default();
        let id: Arc<str> = Arc::from("checkout");
        ch.enqueue(id, ProducerId(7), ProducerEpoch(2), true, vec![tp.clone()]);
        let mut cid = 0;
        let reqs = ch.poll(Time::ZERO, &image, &|_| LeaderEpoch(4), &mut || {
            cid += 1;
            cid
        });
        assert_eq!(reqs.len(), 1);
        assert_eq!(reqs[0].1.coordinator_epoch, LeaderEpoch(4));
        let answer = WriteTxnMarkersResponse {
            correlation_id: reqs[0].1.correlation_id,
            producer_id: ProducerId(7),
            partitions: vec![(tp, ErrorCode::TransactionCoordinatorFenced)],
        };
        assert_eq!(ch.on_response(&answer), None);
        assert!(!ch.has_job("checkout"));
    }
}
