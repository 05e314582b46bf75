//! The metadata image: the cluster state obtained by applying the records of the metadata
//! log (`__cluster_metadata`) in order — registered brokers and whether they are fenced,
//! topics, and each partition's replicas, ISR, leader and epochs.
//!
//! The controller writes the records and applies them to its own image; each broker applies
//! the same records, pushed to it, to its copy. A broker's image may therefore lag the
//! controller's: that is how clients end up talking to a broker with stale metadata.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::config::TopicConfig;
use super::protocol::MetadataRecord;
use super::types::{BrokerId, LeaderEpoch, TopicPartition};
use crate::sim::NodeId;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokerInfo {
    pub node: NodeId,
    pub broker_epoch: i64,
    /// A fenced broker leads nothing and is not eligible for the ISR.
    pub fenced: bool,
    /// The incarnation (process start) that registered (Kafka's `incarnationId`).
    pub incarnation: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicImage {
    pub partitions: u32,
    pub config: TopicConfig,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionImage {
    /// Assignment order: the first replica is the preferred leader.
    pub replicas: Vec<BrokerId>,
    pub isr: Vec<BrokerId>,
    pub leader: Option<BrokerId>,
    pub leader_epoch: LeaderEpoch,
    /// Bumped at every change of this partition (fences stale AlterPartition requests).
    pub partition_epoch: i32,
}

#[derive(Clone, Debug, Default)]
pub struct MetadataImage {
    /// Offset of the next record to apply (= records applied so far).
    pub next_offset: u64,
    pub brokers: BTreeMap<BrokerId, BrokerInfo>,
    pub topics: BTreeMap<Arc<str>, TopicImage>,
    pub partitions: BTreeMap<TopicPartition, PartitionImage>,
}

impl MetadataImage {
    /// Applies one record. Returns the partition it changed, if any.
    pub fn apply(&mut self, rec: &MetadataRecord) -> Option<TopicPartition> {
        self.next_offset += 1;
        match rec {
            MetadataRecord::RegisterBroker {
                broker_id,
                node,
                broker_epoch,
                incarnation,
            } => {
                let info = BrokerInfo {
                    node: *node,
                    broker_epoch: *broker_epoch,
                    fenced: true,
                    incarnation: *incarnation,
                };
                self.brokers.insert(*broker_id, info);
                None
            }
            MetadataRecord::FenceBroker { broker_id } => {
                self.set_fenced(*broker_id, true);
                None
            }
            MetadataRecord::UnfenceBroker { broker_id } => {
                self.set_fenced(*broker_id, false);
                None
            }
            MetadataRecord::Topic {
                name,
                partitions,
                config,
            } => {
                let topic = TopicImage {
                    partitions: *partitions,
                    config: config.clone(),
                };
                self.topics.insert(name.clone(), topic);
                None
            }
            MetadataRecord::Partition {
                tp,
                replicas,
                isr,
                leader,
                leader_epoch,
                partition_epoch,
            } => {
                let p = PartitionImage {
                    replicas: replicas.clone(),
                    isr: isr.clone(),
                    leader: *leader,
                    leader_epoch: *leader_epoch,
                    partition_epoch: *partition_epoch,
                };
                self.partitions.insert(tp.clone(), p);
                Some(tp.clone())
            }
        }
    }

    fn set_fenced(&mut self, broker: BrokerId, fenced: bool) {
        if let Some(b) = self.brokers.get_mut(&broker) {
            b.fenced = fenced;
        }
    }

    /// Registered and not fenced.
    pub fn is_live(&self, broker: BrokerId) -> bool {
        self.brokers.get(&broker).is_some_and(|b| !b.fenced)
    }

    pub fn node_of(&self, broker: BrokerId) -> Option<NodeId> {
        self.brokers.get(&broker).map(|b| b.node)
    }

    pub fn topic_config(&self, topic: &str) -> TopicConfig {
        self.topics
            .get(topic)
            .map(|t| t.config.clone())
            .unwrap_or_default()
    }
}

/// A partition record carrying `p`'s state.
pub fn partition_record(tp: &TopicPartition, p: &PartitionImage) -> MetadataRecord {
    MetadataRecord::Partition {
        tp: tp.clone(),
        replicas: p.replicas.clone(),
        isr: p.isr.clone(),
        leader: p.leader,
        leader_epoch: p.leader_epoch,
        partition_epoch: p.partition_epoch,
    }
}
