//! A client's view of the cluster (`org.apache.kafka.clients.Metadata`): which broker leads
//! each partition, in which leader epoch, and how to reach each broker. Clients start from a
//! list of bootstrap nodes, ask any broker for Metadata, and refresh it when an error says it
//! is stale (NOT_LEADER_OR_FOLLOWER, UNKNOWN_TOPIC_OR_PARTITION, FENCED_LEADER_EPOCH, a lost
//! connection) or when it is older than `metadata.max.age.ms`. A broker answers from its own
//! copy of the metadata log, so the answer itself may lag the controller.

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::kafka::protocol::{CorrelationId, MetadataRequest, MetadataResponse};
use crate::kafka::types::{BrokerId, LeaderEpoch, Topic, TopicPartition};
use crate::sim::{Duration, NodeId, Time, VecMap};

/// What the client knows about one partition.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct PartitionInfo {
    pub leader: Option<BrokerId>,
    pub leader_epoch: LeaderEpoch,
}

/// What the client knows about one topic.
#[derive(Clone, Debug)]
struct TopicInfo {
    partitions: Vec<PartitionInfo>,
    /// Partitions that currently have a leader (asked on every send with a null key).
    available: Vec<u32>,
}

/// The metadata cache plus the state of its refresh request.
#[derive(Clone, Debug)]
pub struct ClientMetadata {
    bootstrap: Vec<NodeId>,
    brokers: VecMap<BrokerId, NodeId>,
    topics: VecMap<Topic, TopicInfo>,
    wanted: BTreeSet<Topic>,
    need_update: bool,
    last_refresh: Option<Time>,
    /// (correlation id, node asked, when)
    in_flight: Option<(CorrelationId, NodeId, Time)>,
    backoff_until: Time,
    max_age: Duration,
    retry_backoff: Duration,
    request_timeout: Duration,
    /// Bumped by every change of brokers or partitions (see `version`).
    version: u64,
}

impl ClientMetadata {
    pub fn new(
        bootstrap: Vec<NodeId>,
        max_age_ms: u64,
        retry_backoff_ms: u64,
        request_timeout_ms: u64,
    ) -> Self {
        ClientMetadata {
            bootstrap,
            brokers: VecMap::new(),
            topics: VecMap::new(),
            wanted: BTreeSet::new(),
            need_update: true,
            last_refresh: None,
            in_flight: None,
            backoff_until: Time::ZERO,
            max_age: Duration::from_ms(max_age_ms),
            retry_backoff: Duration::from_ms(retry_backoff_ms),
            request_timeout: Duration::from_ms(request_timeout_ms),
            version: 0,
        }
    }

    /// Adds a topic to the ones refreshed; unknown topics trigger a refresh.
    pub fn add_topic(&mut self, topic: Topic) {
        if !self.wanted.contains(&topic) {
            self.wanted.insert(topic);
            if !self.topics.contains_key(&topic) {
                self.need_update = true;
            }
        }
    }

    pub fn request_update(&mut self) {
        self.need_update = true;
    }

    pub fn partition_count(&self, topic: &str) -> Option<u32> {
        self.topics.get(topic).map(|t| t.partitions.len() as u32)
    }

    /// Partitions of `topic` that currently have a leader.
    pub fn available(&self, topic: &str) -> &[u32] {
        self.topics.get(topic).map_or(&[], |t| &t.available)
    }

    pub fn partition(&self, tp: &TopicPartition) -> Option<PartitionInfo> {
        self.topics
            .get(&tp.topic)?
            .partitions
            .get(tp.partition as usize)
            .copied()
    }

    /// The node leading `tp` and its epoch, if known and reachable.
    pub fn leader(&self, tp: &TopicPartition) -> Option<(NodeId, LeaderEpoch)> {
        let info = self.partition(tp)?;
        let node = *self.brokers.get(&info.leader?)?;
        Some((node, info.leader_epoch))
    }

    /// Changes whenever a response may have changed brokers or leaders: a pass over
    /// partitions that depends only on leaders need not run again for the same version.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The nodes of the known brokers: every node `leader` can name.
    pub fn broker_nodes(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.brokers.values().copied()
    }

    pub fn node_of(&self, broker: BrokerId) -> Option<NodeId> {
        self.brokers.get(&broker).copied()
    }

    /// The nodes a request for any broker may go to (Kafka's `fetchNodes`): the brokers of
    /// the last Metadata response, then the bootstrap nodes not among them.
    pub fn nodes(&self) -> Vec<NodeId> {
        let mut nodes: Vec<NodeId> = self.brokers.values().copied().collect();
        for b in &self.bootstrap {
            if !nodes.contains(b) {
                nodes.push(*b);
            }
        }
        nodes
    }

    /// The node the Metadata request numbered `cid` went to, if it is the one awaited.
    pub fn in_flight_node(&self, cid: CorrelationId) -> Option<NodeId> {
        self.in_flight.filter(|f| f.0 == cid).map(|f| f.1)
    }

    /// Metadata requests in flight to `node` (0 or 1), for the least-loaded node choice.
    pub fn in_flight_to(&self, node: NodeId) -> usize {
        usize::from(self.in_flight.is_some_and(|f| f.1 == node))
    }

    /// A Metadata request to send now, if one is due, to the node `pick` chooses among
    /// [`nodes`](Self::nodes) (the least-loaded one; none: try again later).
    pub fn poll(
        &mut self,
        now: Time,
        correlation_id: CorrelationId,
        pick: impl FnOnce(&[NodeId]) -> Option<NodeId>,
    ) -> Option<(NodeId, MetadataRequest)> {
        if self.in_flight.is_some() || self.due().is_none_or(|t| now < t) {
            return None;
        }
        let node = pick(&self.nodes())?;
        self.in_flight = Some((correlation_id, node, now));
        let topics = Some(self.wanted.iter().map(|t| Arc::from(t.as_str())).collect());
        Some((
            node,
            MetadataRequest {
                correlation_id,
                topics,
            },
        ))
    }

    /// Applies a Metadata response; false if it was not the one awaited.
    pub fn on_response(&mut self, now: Time, resp: &MetadataResponse) -> bool {
        if self.in_flight.map(|f| f.0) != Some(resp.correlation_id) {
            return false;
        }
        self.in_flight = None;
        self.version += 1;
        self.brokers = resp.brokers.iter().copied().collect();
        let mut complete = true;
        for t in &resp.topics {
            if !t.error.is_ok() || t.partitions.is_empty() {
                complete = false;
                continue;
            }
            let mut parts = vec![
                PartitionInfo {
                    leader: None,
                    leader_epoch: LeaderEpoch::NONE
                };
                t.partitions.len()
            ];
            for p in &t.partitions {
                if let Some(slot) = parts.get_mut(p.partition as usize) {
                    *slot = PartitionInfo {
                        leader: p.leader,
                        leader_epoch: p.leader_epoch,
                    };
                }
                complete &= p.leader.is_some();
            }
            let available = (0..parts.len() as u32)
                .filter(|&p| parts[p as usize].leader.is_some())
                .collect();
            self.topics.insert(
                Topic::new(&t.name),
                TopicInfo {
                    partitions: parts,
                    available,
                },
            );
        }
        self.last_refresh = Some(now);
        self.need_update = !complete;
        if !complete {
            self.backoff_until = now + self.retry_backoff;
        }
        true
    }

    /// The node of a Metadata request that timed out (the caller closes the connection).
    pub fn check_timeout(&mut self, now: Time) -> Option<NodeId> {
        let (_, node, sent) = self.in_flight?;
        if now < sent + self.request_timeout {
            return None;
        }
        self.in_flight = None;
        self.need_update = true;
        Some(node)
    }

    /// The connection to `node` was closed: a request to it will never be answered. The
    /// next attempt waits `retry.backoff.ms` (Kafka's `reconnect.backoff.ms` plays this role),
    /// so a dead bootstrap broker is not hammered.
    pub fn on_disconnect(&mut self, node: NodeId, now: Time) {
        if self.in_flight.is_some_and(|f| f.1 == node) {
            self.in_flight = None;
            self.backoff_until = self.backoff_until.max(now + self.retry_backoff);
        }
        // "The disconnect may be the result of stale metadata, so request an update"
        // (Kafka's `DefaultMetadataUpdater.handleServerDisconnect`): a client whose
        // leader died learns of the new one without waiting for metadata.max.age.ms.
        self.need_update = true;
    }

    /// When this cache next needs attention.
    pub fn next_deadline(&self) -> Option<Time> {
        if let Some((_, _, sent)) = self.in_flight {
            return Some(sent + self.request_timeout);
        }
        self.due()
    }

    /// When the next refresh may go: on demand no sooner than `retry.backoff.ms` after the
    /// previous one (so a missing leader does not cause a request storm), otherwise when
    /// the cache is `metadata.max.age.ms` old.
    fn due(&self) -> Option<Time> {
        let Some(last) = self.last_refresh else {
            return Some(self.backoff_until);
        };
        if self.need_update {
            Some(self.backoff_until.max(last + self.retry_backoff))
        } else {
            Some(last + self.max_age)
        }
    }
}
