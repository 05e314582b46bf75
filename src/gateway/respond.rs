//! The simulation's responses → real Kafka responses, encoded at the version the client's
//! request used. Version-dependent fields are set only from the version that has them (the
//! encoder refuses a field its version lacks). Brokers are advertised at the loopback ports
//! the gateway listens on for them ([`Endpoints`]), so a client that learns the cluster from
//! Metadata connects to each simulated broker through its own port; records come back with
//! their real bytes (`records.rs`), group metadata with the raw bytes members wrote.

use bytes::Bytes;
use kafka_protocol::messages as kp;
use kafka_protocol::messages::ApiKey;
use kafka_protocol::protocol::StrBytes;
use std::collections::BTreeMap;
use std::sync::Arc;

use super::frame::{encode_response, FrameError};
use super::records::encode_fetch;
use super::translate::{encode_versioned, Ctx, Tables};
use super::txn;
use crate::kafka::protocol::*;
use crate::kafka::{BrokerId, TopicPartition};
use crate::sim::NodeId;

/// Where the gateway listens for each simulated broker.
#[derive(Clone, Debug, Default)]
pub struct Endpoints {
    pub host: String,
    pub ports: BTreeMap<NodeId, u16>,
}

impl Endpoints {
    fn port(&self, node: NodeId) -> i32 {
        self.ports.get(&node).map_or(0, |&p| p as i32)
    }
}

fn sb(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

fn topic_name(s: &str) -> kp::TopicName {
    kp::TopicName(sb(s))
}

fn broker(id: Option<BrokerId>) -> kp::BrokerId {
    kp::BrokerId(id.map_or(-1, |b| b.0 as i32))
}

fn brokers(ids: &[BrokerId]) -> Vec<kp::BrokerId> {
    ids.iter().map(|b| kp::BrokerId(b.0 as i32)).collect()
}

/// Groups per-partition items by topic, keeping the order topics first appear in.
fn by_topic<T>(
    items: impl IntoIterator<Item = (TopicPartition, T)>,
) -> Vec<(String, Vec<(i32, T)>)> {
    let mut out: Vec<(String, Vec<(i32, T)>)> = Vec::new();
    for (tp, item) in items {
        let name = tp.topic.as_str();
        match out.iter_mut().find(|(n, _)| n == name) {
            Some((_, v)) => v.push((tp.partition as i32, item)),
            None => out.push((name.to_string(), vec![(tp.partition as i32, item)])),
        }
    }
    out
}

/// Encodes the simulated response `msg` as the answer to a client request.
pub fn to_real(
    req: (ApiKey, i16, i32),
    msg: &Msg,
    ctx: &Ctx,
    t: &mut Tables,
    ep: &Endpoints,
) -> Result<Bytes, FrameError> {
    let (api, v, corr) = req;
    match msg {
        Msg::ProduceResponse(r) => encode_response(api, v, corr, &produce(r, v)),
        Msg::FetchResponse(r) => encode_response(api, v, corr, &fetch(r, v, ctx, t)),
        Msg::ListOffsetsResponse(r) => encode_response(api, v, corr, &list_offsets(r, v)),
        Msg::MetadataResponse(r) => encode_response(api, v, corr, &metadata(r, v, t, ep)),
        Msg::OffsetsForLeaderEpochResponse(r) => {
            encode_response(api, v, corr, &offsets_for_leader_epoch(r))
        }
        Msg::FindCoordinatorResponse(r) => {
            let (node, host, port) = match r.coordinator {
                Some((b, n)) => (b.0 as i32, ep.host.as_str(), ep.port(n)),
                None => (-1, "", -1),
            };
            let body = kp::FindCoordinatorResponse::default()
                .with_error_code(r.error.code())
                .with_node_id(kp::BrokerId(node))
                .with_host(sb(host))
                .with_port(port);
            encode_response(api, v, corr, &body)
        }
        Msg::JoinGroupResponse(r) => encode_response(api, v, corr, &join_group(r, v, ctx, t)),
        Msg::SyncGroupResponse(r) => {
            let bytes = assignment_bytes(&r.assignment, ctx, t);
            let body = kp::SyncGroupResponse::default()
                .with_error_code(r.error.code())
                .with_assignment(bytes);
            encode_response(api, v, corr, &body)
        }
        Msg::HeartbeatResponse(r) => {
            let body = kp::HeartbeatResponse::default().with_error_code(r.error.code());
            encode_response(api, v, corr, &body)
        }
        Msg::LeaveGroupResponse(r) => {
            let mut body = kp::LeaveGroupResponse::default().with_error_code(r.error.code());
            if v >= 3 {
                if let Some((_, member)) = &ctx.member {
                    body.members = vec![kp::leave_group_response::MemberResponse::default()
                        .with_member_id(sb(member))
                        .with_error_code(r.error.code())];
                }
            }
            encode_response(api, v, corr, &body)
        }
        Msg::OffsetCommitResponse(r) => encode_response(api, v, corr, &offset_commit(r)),
        Msg::OffsetFetchResponse(r) => encode_response(api, v, corr, &offset_fetch(r, v)),
        Msg::InitProducerIdResponse(r) => {
            let body = kp::InitProducerIdResponse::default()
                .with_error_code(r.error.code())
                .with_producer_id(kp::ProducerId(r.producer_id.0))
                .with_producer_epoch(r.producer_epoch.0);
            encode_response(api, v, corr, &body)
        }
        Msg::AddPartitionsToTxnResponse(r) => {
            encode_response(api, v, corr, &txn::add_partitions_response(r, v, ctx))
        }
        Msg::AddOffsetsToTxnResponse(r) => {
            encode_response(api, v, corr, &txn::add_offsets_response(r, v))
        }
        Msg::EndTxnResponse(r) => encode_response(api, v, corr, &txn::end_txn_response(r, v)),
        Msg::TxnOffsetCommitResponse(r) => {
            encode_response(api, v, corr, &txn::txn_offset_commit_response(r))
        }
        other => Err(FrameError::Encode {
            api,
            why: format!("unexpected simulated message {}", other.label()),
        }),
    }
}

fn produce(r: &ProduceResponse, v: i16) -> kp::ProduceResponse {
    use kp::produce_response::{PartitionProduceResponse, TopicProduceResponse};
    let topics = by_topic(r.partitions.iter().map(|p| (p.tp.clone(), p)))
        .into_iter()
        .map(|(name, parts)| {
            let parts = parts
                .into_iter()
                .map(|(i, p)| {
                    let mut out = PartitionProduceResponse::default()
                        .with_index(i)
                        .with_error_code(p.error.code())
                        .with_base_offset(p.base_offset.0)
                        .with_log_append_time_ms(-1);
                    if v >= 5 {
                        out.log_start_offset = p.log_start_offset.0;
                    }
                    out
                })
                .collect();
            TopicProduceResponse::default()
                .with_name(topic_name(&name))
                .with_partition_responses(parts)
        })
        .collect();
    kp::ProduceResponse::default().with_responses(topics)
}

/// A read_committed fetch lists the aborted transactions overlapping what it returns (the
/// consumer drops their records); a read_uncommitted one answers null there, as Kafka does.
fn aborted(
    p: &FetchPartitionResponse,
    ctx: &Ctx,
) -> Option<Vec<kp::fetch_response::AbortedTransaction>> {
    ctx.read_committed.then(|| {
        p.aborted_transactions
            .iter()
            .map(|a| {
                kp::fetch_response::AbortedTransaction::default()
                    .with_producer_id(kp::ProducerId(a.producer_id.0))
                    .with_first_offset(a.first_offset.0)
            })
            .collect()
    })
}

fn fetch(r: &FetchResponse, v: i16, ctx: &Ctx, t: &mut Tables) -> kp::FetchResponse {
    use kp::fetch_response::{
        EpochEndOffset, FetchableTopicResponse, LeaderIdAndEpoch, PartitionData,
    };
    let records = &*t.records;
    let topics = by_topic(r.partitions.iter().map(|p| (p.tp.clone(), p)))
        .into_iter()
        .map(|(name, parts)| {
            let parts = parts
                .into_iter()
                .map(|(i, p)| {
                    let mut out = PartitionData::default()
                        .with_partition_index(i)
                        .with_error_code(p.error.code())
                        .with_high_watermark(p.high_watermark.0)
                        .with_last_stable_offset(p.last_stable_offset.0)
                        .with_aborted_transactions(aborted(p, ctx))
                        .with_records(Some(encode_fetch(&p.batches, records)));
                    if v >= 5 {
                        out.log_start_offset = p.log_start_offset.0;
                    }
                    if v >= 12 {
                        if let Some(d) = p.diverging_epoch {
                            out.diverging_epoch = EpochEndOffset::default()
                                .with_epoch(d.epoch.0)
                                .with_end_offset(d.end_offset.0);
                        }
                        if let Some((b, e)) = p.current_leader {
                            out.current_leader = LeaderIdAndEpoch::default()
                                .with_leader_id(kp::BrokerId(b.0 as i32))
                                .with_leader_epoch(e.0);
                        }
                    }
                    out
                })
                .collect();
            let mut topic = FetchableTopicResponse::default().with_partitions(parts);
            if v >= 13 {
                topic.topic_id = t.topics.id_of(&name);
            } else {
                topic.topic = topic_name(&name);
            }
            topic
        })
        .collect();
    let mut out = kp::FetchResponse::default().with_responses(topics);
    if v >= 7 {
        out.error_code = r.error.code();
        out.session_id = 0; // no fetch session (KIP-227): every fetch is a full one
    }
    out
}

fn list_offsets(r: &ListOffsetsResponse, v: i16) -> kp::ListOffsetsResponse {
    use kp::list_offsets_response::{ListOffsetsPartitionResponse, ListOffsetsTopicResponse};
    let topics = by_topic(r.partitions.iter().map(|p| (p.tp.clone(), p)))
        .into_iter()
        .map(|(name, parts)| {
            let parts = parts
                .into_iter()
                .map(|(i, p)| {
                    let mut out = ListOffsetsPartitionResponse::default()
                        .with_partition_index(i)
                        .with_error_code(p.error.code())
                        .with_timestamp(-1)
                        .with_offset(p.offset.0);
                    if v >= 4 {
                        out.leader_epoch = p.leader_epoch.0;
                    }
                    out
                })
                .collect();
            ListOffsetsTopicResponse::default()
                .with_name(topic_name(&name))
                .with_partitions(parts)
        })
        .collect();
    kp::ListOffsetsResponse::default().with_topics(topics)
}

fn metadata(r: &MetadataResponse, v: i16, t: &mut Tables, ep: &Endpoints) -> kp::MetadataResponse {
    use kp::metadata_response::{
        MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
    };
    let nodes = r
        .brokers
        .iter()
        .map(|&(b, n)| {
            MetadataResponseBroker::default()
                .with_node_id(kp::BrokerId(b.0 as i32))
                .with_host(sb(&ep.host))
                .with_port(ep.port(n))
        })
        .collect();
    let topics = r
        .topics
        .iter()
        .map(|topic| {
            let parts = topic
                .partitions
                .iter()
                .map(|p| {
                    let mut out = MetadataResponsePartition::default()
                        .with_error_code(p.error.code())
                        .with_partition_index(p.partition as i32)
                        .with_leader_id(broker(p.leader))
                        .with_replica_nodes(brokers(&p.replicas))
                        .with_isr_nodes(brokers(&p.isr));
                    if v >= 7 {
                        out.leader_epoch = p.leader_epoch.0;
                    }
                    if v >= 5 {
                        out.offline_replicas = brokers(&p.offline_replicas);
                    }
                    out
                })
                .collect();
            let mut out = MetadataResponseTopic::default()
                .with_error_code(topic.error.code())
                .with_name(Some(topic_name(&topic.name)))
                .with_partitions(parts);
            if v >= 1 {
                out.is_internal = topic.name.starts_with("__");
            }
            if v >= 10 {
                out.topic_id = t.topics.id_of(&topic.name);
            }
            out
        })
        .collect();
    let mut out = kp::MetadataResponse::default()
        .with_brokers(nodes)
        .with_topics(topics);
    if v >= 1 {
        out.controller_id = broker(r.controller_id);
    }
    if v >= 2 {
        out.cluster_id = Some(sb("kafkasim"));
    }
    out
}

fn offsets_for_leader_epoch(r: &OffsetsForLeaderEpochResponse) -> kp::OffsetForLeaderEpochResponse {
    use kp::offset_for_leader_epoch_response::{EpochEndOffset, OffsetForLeaderTopicResult};
    let topics = by_topic(r.partitions.iter().map(|p| (p.tp.clone(), p)))
        .into_iter()
        .map(|(name, parts)| {
            let parts = parts
                .into_iter()
                .map(|(i, p)| {
                    EpochEndOffset::default()
                        .with_partition(i)
                        .with_error_code(p.error.code())
                        .with_leader_epoch(p.leader_epoch.0)
                        .with_end_offset(p.end_offset.0)
                })
                .collect();
            OffsetForLeaderTopicResult::default()
                .with_topic(topic_name(&name))
                .with_partitions(parts)
        })
        .collect();
    kp::OffsetForLeaderEpochResponse::default().with_topics(topics)
}

/// A member's subscription bytes: the raw bytes it sent for `protocol` if the gateway saw
/// them, else re-encoded (v1: topics and owned partitions).
fn subscription_bytes(
    group: &Arc<str>,
    m: &JoinGroupMember,
    protocol: &Option<Arc<str>>,
    t: &Tables,
) -> Bytes {
    let key = (group.clone(), m.member_id.clone());
    if let Some(raw) = t.groups.subscriptions.get(&key) {
        if let Some((_, b)) = raw.iter().find(|(n, _)| Some(n) == protocol.as_ref()) {
            return b.clone();
        }
    }
    let owned = by_topic(
        m.subscription
            .owned_partitions
            .iter()
            .map(|tp| (tp.clone(), ())),
    )
    .into_iter()
    .map(|(name, parts)| {
        kp::consumer_protocol_subscription::TopicPartition::default()
            .with_topic(topic_name(&name))
            .with_partitions(parts.into_iter().map(|(i, ())| i).collect())
    })
    .collect();
    let sub = kp::ConsumerProtocolSubscription::default()
        .with_topics(m.subscription.topics.iter().map(|t| sb(t)).collect())
        .with_owned_partitions(owned);
    encode_versioned(&sub, 1)
}

fn join_group(r: &JoinGroupResponse, v: i16, ctx: &Ctx, t: &mut Tables) -> kp::JoinGroupResponse {
    use kp::join_group_response::JoinGroupResponseMember;
    let group = ctx
        .join
        .as_ref()
        .map(|(g, _)| g.clone())
        .unwrap_or_else(|| Arc::from(""));
    if let Some((g, raw)) = &ctx.join {
        if !r.member_id.is_empty() {
            t.groups
                .subscriptions
                .insert((g.clone(), r.member_id.clone()), raw.clone());
        }
    }
    let members = r
        .members
        .iter()
        .map(|m| {
            let mut out = JoinGroupResponseMember::default()
                .with_member_id(sb(&m.member_id))
                .with_metadata(subscription_bytes(&group, m, &r.protocol_name, t));
            if v >= 5 {
                out.group_instance_id = m.group_instance_id.as_deref().map(sb);
            }
            out
        })
        .collect();
    kp::JoinGroupResponse::default()
        .with_error_code(r.error.code())
        .with_generation_id(r.generation_id.0)
        .with_protocol_name(r.protocol_name.as_deref().map(sb))
        .with_leader(sb(&r.leader))
        .with_member_id(sb(&r.member_id))
        .with_members(members)
}

/// The assignment bytes for a SyncGroup answer: what the leader wrote for this member if
/// it decodes to the partitions the coordinator hands out, else re-encoded (v0).
fn assignment_bytes(parts: &[TopicPartition], ctx: &Ctx, t: &Tables) -> Bytes {
    if let Some(key) = &ctx.member {
        if let Some((decoded, raw)) = t.groups.assignments.get(key) {
            if decoded.as_slice() == parts {
                return raw.clone();
            }
        }
    }
    let topics = by_topic(parts.iter().map(|tp| (tp.clone(), ())))
        .into_iter()
        .map(|(name, ps)| {
            kp::consumer_protocol_assignment::TopicPartition::default()
                .with_topic(topic_name(&name))
                .with_partitions(ps.into_iter().map(|(i, ())| i).collect())
        })
        .collect();
    let a = kp::ConsumerProtocolAssignment::default().with_assigned_partitions(topics);
    encode_versioned(&a, 0)
}

fn offset_commit(r: &OffsetCommitResponse) -> kp::OffsetCommitResponse {
    use kp::offset_commit_response::{OffsetCommitResponsePartition, OffsetCommitResponseTopic};
    let topics = by_topic(r.partitions.iter().cloned())
        .into_iter()
        .map(|(name, parts)| {
            let parts = parts
                .into_iter()
                .map(|(i, e)| {
                    OffsetCommitResponsePartition::default()
                        .with_partition_index(i)
                        .with_error_code(e.code())
                })
                .collect();
            OffsetCommitResponseTopic::default()
                .with_name(topic_name(&name))
                .with_partitions(parts)
        })
        .collect();
    kp::OffsetCommitResponse::default().with_topics(topics)
}

fn offset_fetch(r: &OffsetFetchResponse, v: i16) -> kp::OffsetFetchResponse {
    use kp::offset_fetch_response::{OffsetFetchResponsePartition, OffsetFetchResponseTopic};
    let topics = by_topic(r.offsets.iter().map(|(tp, o, e)| (tp.clone(), (*o, *e))))
        .into_iter()
        .map(|(name, parts)| {
            let parts = parts
                .into_iter()
                .map(|(i, (o, e))| {
                    let mut out = OffsetFetchResponsePartition::default()
                        .with_partition_index(i)
                        .with_committed_offset(o.0)
                        .with_metadata(Some(sb("")));
                    if v >= 5 {
                        out.committed_leader_epoch = e.0;
                    }
                    out
                })
                .collect();
            OffsetFetchResponseTopic::default()
                .with_name(topic_name(&name))
                .with_partitions(parts)
        })
        .collect();
    let mut out = kp::OffsetFetchResponse::default().with_topics(topics);
    if v >= 2 {
        out.error_code = r.error.code();
    }
    out
}
