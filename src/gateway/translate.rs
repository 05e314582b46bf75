//! Real Kafka requests → the simulation's messages (`kafka/protocol.rs`). Each supported
//! request body is decoded with the `kafka-protocol` crate at the client's version and
//! rewritten as the simulated API's struct, with the gateway's own correlation id (the
//! session maps it back to the client's). What the simulated message cannot carry is kept
//! aside: the real record bytes (`records.rs`), and, for consumer groups, the raw
//! subscription and assignment bytes each member sent ([`GroupBytes`]), so the leader and
//! the members read back exactly what was written (user data included).
//!
//! A few requests are answered by the gateway without entering the simulation:
//! ApiVersions (the advertised set is the gateway's, not a broker's), and ListOffsets by
//! timestamp, which the simulated broker does not implement (answered INVALID_REQUEST —
//! said on screen and in docs/gateway.md).

use bytes::{Buf, Bytes, BytesMut};
use kafka_protocol::messages as kp;
use kafka_protocol::messages::ApiKey;
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use std::collections::BTreeMap;
use std::sync::Arc;

use super::frame::{decode_body, encode_response, FrameError, Request, SUPPORTED};
use super::records::{decode_produce, RecordTable};
use super::topics::TopicIds;
use super::txn::{self, TxnValues};
use crate::kafka::config::IsolationLevel;
use crate::kafka::protocol::*;
use crate::kafka::{BrokerId, Generation, LeaderEpoch, Offset, TopicPartition};

/// What became of one request.
#[derive(Debug)]
pub enum Handled {
    /// Sent into the simulation; `reply` says whether a response will come (a Produce with
    /// acks=0 has none, in Kafka as here).
    Forward { msg: Msg, reply: bool, ctx: Ctx },
    /// Answered by the gateway itself: the response frame.
    Local(Bytes),
}

/// A consumer group member: (group id, member id).
pub type MemberKey = (Arc<str>, Arc<str>);

/// The raw protocol metadata a member sent, by protocol name.
pub type RawProtocols = Vec<(Arc<str>, Bytes)>;

/// What the response translation needs to remember about its request.
#[derive(Clone, Debug, Default)]
pub struct Ctx {
    /// JoinGroup: the group and the raw protocols the member sent.
    pub join: Option<(Arc<str>, RawProtocols)>,
    /// SyncGroup / Heartbeat / LeaveGroup: the group and member.
    pub member: Option<MemberKey>,
    /// AddPartitionsToTxn: the partitions named (each is answered).
    pub partitions: Vec<TopicPartition>,
    /// EndTxn: the values the transaction sent, for the client history (`txn.rs`).
    pub txn_values: Option<Box<[u64]>>,
    /// Fetch: read_committed (the aborted-transactions list is present, else null).
    pub read_committed: bool,
}

/// Raw consumer-protocol bytes by (group, member): the subscription per protocol name, the
/// assignment the leader wrote (with the partitions it decoded to).
#[derive(Clone, Debug, Default)]
pub struct GroupBytes {
    pub subscriptions: BTreeMap<MemberKey, RawProtocols>,
    pub assignments: BTreeMap<MemberKey, (Vec<TopicPartition>, Bytes)>,
}

/// The gateway state a translation reads and writes.
pub struct Tables<'a> {
    pub records: &'a mut RecordTable,
    pub topics: &'a mut TopicIds,
    pub groups: &'a mut GroupBytes,
    pub txns: &'a mut TxnValues,
    pub now_us: u64,
}

fn s(v: &StrBytes) -> Arc<str> {
    Arc::from(v.as_str())
}

fn tp(topic: &str, partition: i32) -> TopicPartition {
    TopicPartition::new(topic, partition.max(0) as u32)
}

fn isolation(level: i8) -> IsolationLevel {
    if level == 1 {
        IsolationLevel::ReadCommitted
    } else {
        IsolationLevel::ReadUncommitted
    }
}

/// Translates one request; `corr` is the correlation id the simulated message carries.
pub fn to_sim(req: &Request, corr: CorrelationId, t: &mut Tables) -> Result<Handled, FrameError> {
    let fwd = |msg: Msg| Handled::Forward {
        msg,
        reply: true,
        ctx: Ctx::default(),
    };
    Ok(match req.api {
        ApiKey::ApiVersions => Handled::Local(api_versions(req)?),
        ApiKey::Produce => produce(req, corr, t)?,
        ApiKey::Fetch => fetch(decode_body(req)?, corr, t),
        ApiKey::ListOffsets => list_offsets(req, corr)?,
        ApiKey::Metadata => fwd(metadata(req, decode_body(req)?, corr, t)),
        ApiKey::OffsetForLeaderEpoch => fwd(offsets_for_leader_epoch(decode_body(req)?, corr)),
        ApiKey::FindCoordinator => fwd(find_coordinator(decode_body(req)?, corr)),
        ApiKey::JoinGroup => join_group(req, decode_body(req)?, corr)?,
        ApiKey::SyncGroup => sync_group(decode_body(req)?, corr, t)?,
        ApiKey::Heartbeat => {
            let r: kp::HeartbeatRequest = decode_body(req)?;
            fwd(Msg::HeartbeatRequest(HeartbeatRequest {
                correlation_id: corr,
                group_id: s(&r.group_id.0),
                generation_id: Generation(r.generation_id),
                member_id: s(&r.member_id),
            }))
        }
        ApiKey::LeaveGroup => leave_group(decode_body(req)?, corr),
        ApiKey::OffsetCommit => fwd(offset_commit(decode_body(req)?, corr)),
        ApiKey::OffsetFetch => fwd(offset_fetch(decode_body(req)?, corr)),
        ApiKey::InitProducerId => txn::init_producer_id(decode_body(req)?, corr, t.txns),
        ApiKey::AddPartitionsToTxn => txn::add_partitions(decode_body(req)?, corr),
        ApiKey::AddOffsetsToTxn => txn::add_offsets(decode_body(req)?, corr),
        ApiKey::EndTxn => txn::end_txn(decode_body(req)?, corr, t.txns),
        ApiKey::TxnOffsetCommit => txn::txn_offset_commit(decode_body(req)?, corr),
        api => {
            return Err(FrameError::UnsupportedVersion {
                api,
                version: req.version,
            })
        }
    })
}

/// ApiVersions is answered by the gateway: the supported set, or UNSUPPORTED_VERSION (35)
/// in a v0 response for a version it does not speak, as Kafka's `ApiVersionsRequest` does,
/// so the client retries with one it finds in the list.
fn api_versions(req: &Request) -> Result<Bytes, FrameError> {
    let keys = SUPPORTED
        .iter()
        .map(|&(k, lo, hi)| {
            kp::api_versions_response::ApiVersion::default()
                .with_api_key(k as i16)
                .with_min_version(lo)
                .with_max_version(hi)
        })
        .collect();
    let (version, error) = if (0..=3).contains(&req.version) {
        (req.version, 0)
    } else {
        (0, 35)
    };
    let body = kp::ApiVersionsResponse::default()
        .with_error_code(error)
        .with_api_keys(keys);
    encode_response(
        ApiKey::ApiVersions,
        version,
        req.header.correlation_id,
        &body,
    )
}

fn produce(req: &Request, corr: CorrelationId, t: &mut Tables) -> Result<Handled, FrameError> {
    let r: kp::ProduceRequest = decode_body(req)?;
    let mut partitions = Vec::new();
    for topic in &r.topic_data {
        for p in &topic.partition_data {
            let records = p.records.clone().unwrap_or_default();
            let batch = decode_produce(&records, t.records, t.now_us).map_err(|why| {
                FrameError::Malformed {
                    api: Some(ApiKey::Produce),
                    why: format!("{}-{}: {why}", topic.name.0.as_str(), p.index),
                }
            })?;
            if let Some(id) = &r.transactional_id {
                let values = batch.records.iter().map(|rec| rec.value);
                t.txns.sent(&s(&id.0), values);
            }
            partitions.push((tp(topic.name.0.as_str(), p.index), batch));
        }
    }
    let msg = Msg::ProduceRequest(ProduceRequest {
        correlation_id: corr,
        acks: r.acks,
        timeout_ms: r.timeout_ms.max(0) as u64,
        transactional_id: r.transactional_id.map(|id| s(&id.0)),
        // Produce v12+ means transaction version 2; the gateway advertises up to v9.
        transaction_version: TransactionVersion::TV_1,
        partitions,
    });
    Ok(Handled::Forward {
        msg,
        reply: r.acks != 0,
        ctx: Ctx::default(),
    })
}

fn fetch(r: kp::FetchRequest, corr: CorrelationId, t: &mut Tables) -> Handled {
    let mut partitions = Vec::new();
    for topic in &r.topics {
        let name = if topic.topic.0.is_empty() {
            match t.topics.name_of(&topic.topic_id) {
                Some(n) => n,
                None => continue, // an unknown topic id: nothing to fetch
            }
        } else {
            s(&topic.topic.0)
        };
        for p in &topic.partitions {
            partitions.push(FetchPartition {
                tp: tp(&name, p.partition),
                current_leader_epoch: LeaderEpoch(p.current_leader_epoch),
                fetch_offset: Offset(p.fetch_offset),
                last_fetched_epoch: LeaderEpoch(p.last_fetched_epoch),
                log_start_offset: Offset(p.log_start_offset),
                partition_max_bytes: p.partition_max_bytes.max(0) as u32,
            });
        }
    }
    let msg = Msg::fetch(FetchRequest {
        correlation_id: corr,
        replica_id: None,
        replica_epoch: -1,
        max_wait_ms: r.max_wait_ms.max(0) as u64,
        min_bytes: r.min_bytes.max(0) as u32,
        max_bytes: r.max_bytes.max(0) as u32,
        isolation_level: isolation(r.isolation_level),
        partitions,
        // Every real client's fetch is a full one that opens no session (FINAL_EPOCH):
        // the gateway answers session id 0 (docs/gateway.md).
        session: FetchMetadata {
            session_id: INVALID_SESSION_ID,
            epoch: FINAL_EPOCH,
            forgotten: Vec::new(),
        },
    });
    Handled::Forward {
        msg,
        reply: true,
        ctx: Ctx {
            read_committed: r.isolation_level == 1,
            ..Ctx::default()
        },
    }
}

fn list_offsets(req: &Request, corr: CorrelationId) -> Result<Handled, FrameError> {
    let r: kp::ListOffsetsRequest = decode_body(req)?;
    let mut partitions = Vec::new();
    let mut by_time = false;
    for topic in &r.topics {
        for p in &topic.partitions {
            let spec = match p.timestamp {
                -2 => OffsetSpec::Earliest,
                -1 => OffsetSpec::Latest,
                _ => {
                    by_time = true;
                    continue;
                }
            };
            let leader_epoch = LeaderEpoch(p.current_leader_epoch);
            partitions.push((
                tp(topic.name.0.as_str(), p.partition_index),
                leader_epoch,
                spec,
            ));
        }
    }
    if by_time {
        return Ok(Handled::Local(list_offsets_by_time(req, &r)?));
    }
    let msg = Msg::ListOffsetsRequest(ListOffsetsRequest {
        correlation_id: corr,
        isolation_level: isolation(r.isolation_level),
        partitions,
    });
    Ok(Handled::Forward {
        msg,
        reply: true,
        ctx: Ctx::default(),
    })
}

/// Offsets by timestamp are not simulated: every partition answers INVALID_REQUEST (42).
fn list_offsets_by_time(req: &Request, r: &kp::ListOffsetsRequest) -> Result<Bytes, FrameError> {
    use kp::list_offsets_response::{ListOffsetsPartitionResponse, ListOffsetsTopicResponse};
    let topics = r
        .topics
        .iter()
        .map(|t| {
            let parts = t
                .partitions
                .iter()
                .map(|p| {
                    ListOffsetsPartitionResponse::default()
                        .with_partition_index(p.partition_index)
                        .with_error_code(42)
                })
                .collect();
            ListOffsetsTopicResponse::default()
                .with_name(t.name.clone())
                .with_partitions(parts)
        })
        .collect();
    let body = kp::ListOffsetsResponse::default().with_topics(topics);
    encode_response(
        ApiKey::ListOffsets,
        req.version,
        req.header.correlation_id,
        &body,
    )
}

fn metadata(req: &Request, r: kp::MetadataRequest, corr: CorrelationId, t: &mut Tables) -> Msg {
    let topics = match r.topics {
        None => None,
        Some(list) if list.is_empty() && req.version == 0 => None, // v0: empty means all
        Some(list) => Some(
            list.iter()
                .filter_map(|topic| match &topic.name {
                    Some(n) => Some(s(&n.0)),
                    None => t.topics.name_of(&topic.topic_id),
                })
                .collect(),
        ),
    };
    Msg::MetadataRequest(MetadataRequest {
        correlation_id: corr,
        topics,
    })
}

fn offsets_for_leader_epoch(r: kp::OffsetForLeaderEpochRequest, corr: CorrelationId) -> Msg {
    let partitions = r
        .topics
        .iter()
        .flat_map(|topic| {
            topic.partitions.iter().map(move |p| {
                (
                    tp(topic.topic.0.as_str(), p.partition),
                    LeaderEpoch(p.current_leader_epoch),
                    LeaderEpoch(p.leader_epoch),
                )
            })
        })
        .collect();
    Msg::OffsetsForLeaderEpochRequest(OffsetsForLeaderEpochRequest {
        correlation_id: corr,
        replica_id: (r.replica_id.0 >= 0).then_some(BrokerId(r.replica_id.0 as u32)),
        partitions,
    })
}

fn find_coordinator(r: kp::FindCoordinatorRequest, corr: CorrelationId) -> Msg {
    Msg::FindCoordinatorRequest(FindCoordinatorRequest {
        correlation_id: corr,
        key: s(&r.key),
        key_type: if r.key_type == 1 {
            CoordinatorType::Transaction
        } else {
            CoordinatorType::Group
        },
    })
}

/// Decodes consumer-protocol bytes: a version (i16), then the struct at that version
/// (clamped to the highest known, as Kafka's `ConsumerProtocol` does).
pub fn decode_versioned<T: Decodable>(bytes: &Bytes, highest: i16) -> Option<T> {
    let mut b = bytes.clone();
    if b.remaining() < 2 {
        return None;
    }
    let version = b.get_i16();
    if version < 0 {
        return None;
    }
    T::decode(&mut b, version.min(highest)).ok()
}

/// Encodes consumer-protocol bytes at `version`.
pub fn encode_versioned<T: Encodable>(msg: &T, version: i16) -> Bytes {
    let mut b = BytesMut::new();
    b.extend_from_slice(&version.to_be_bytes());
    // The structs built here hold only fields of `version`: encoding cannot fail.
    let _ = msg.encode(&mut b, version);
    b.freeze()
}

fn subscription(metadata: &Bytes) -> Option<Subscription> {
    let sub: kp::ConsumerProtocolSubscription = decode_versioned(metadata, 3)?;
    Some(Subscription {
        topics: sub.topics.iter().map(s).collect(),
        owned_partitions: sub
            .owned_partitions
            .iter()
            .flat_map(|t| t.partitions.iter().map(|&p| tp(t.topic.0.as_str(), p)))
            .collect(),
        generation: Generation(sub.generation_id),
    })
}

fn join_group(
    req: &Request,
    r: kp::JoinGroupRequest,
    corr: CorrelationId,
) -> Result<Handled, FrameError> {
    let mut protocols = Vec::new();
    let mut raw = Vec::new();
    for p in &r.protocols {
        let sub = subscription(&p.metadata).ok_or_else(|| FrameError::Malformed {
            api: Some(req.api),
            why: format!(
                "protocol `{}` metadata is not a consumer subscription (protocol type `{}`)",
                p.name.as_str(),
                r.protocol_type.as_str()
            ),
        })?;
        protocols.push((s(&p.name), sub));
        raw.push((s(&p.name), p.metadata.clone()));
    }
    let group = s(&r.group_id.0);
    // Before v1 there is one timeout for both.
    let rebalance = if req.version >= 1 {
        r.rebalance_timeout_ms
    } else {
        r.session_timeout_ms
    };
    let msg = Msg::JoinGroupRequest(Box::new(JoinGroupRequest {
        correlation_id: corr,
        group_id: group.clone(),
        session_timeout_ms: r.session_timeout_ms.max(0) as u64,
        rebalance_timeout_ms: rebalance.max(0) as u64,
        member_id: s(&r.member_id),
        group_instance_id: r.group_instance_id.as_ref().map(s),
        protocols,
    }));
    Ok(Handled::Forward {
        msg,
        reply: true,
        ctx: Ctx {
            join: Some((group, raw)),
            ..Ctx::default()
        },
    })
}

fn assignment(bytes: &Bytes) -> Option<Vec<TopicPartition>> {
    let a: kp::ConsumerProtocolAssignment = decode_versioned(bytes, 3)?;
    Some(
        a.assigned_partitions
            .iter()
            .flat_map(|t| t.partitions.iter().map(|&p| tp(t.topic.0.as_str(), p)))
            .collect(),
    )
}

fn sync_group(
    r: kp::SyncGroupRequest,
    corr: CorrelationId,
    t: &mut Tables,
) -> Result<Handled, FrameError> {
    let group = s(&r.group_id.0);
    let mut assignments = Vec::new();
    for a in &r.assignments {
        let parts = assignment(&a.assignment).ok_or_else(|| FrameError::Malformed {
            api: Some(ApiKey::SyncGroup),
            why: format!("assignment for `{}` does not decode", a.member_id.as_str()),
        })?;
        let key = (group.clone(), s(&a.member_id));
        t.groups
            .assignments
            .insert(key, (parts.clone(), a.assignment.clone()));
        assignments.push((s(&a.member_id), parts));
    }
    let member = s(&r.member_id);
    let msg = Msg::SyncGroupRequest(SyncGroupRequest {
        correlation_id: corr,
        group_id: group.clone(),
        generation_id: Generation(r.generation_id),
        member_id: member.clone(),
        assignments,
    });
    Ok(Handled::Forward {
        msg,
        reply: true,
        ctx: Ctx {
            member: Some((group, member)),
            ..Ctx::default()
        },
    })
}

fn leave_group(r: kp::LeaveGroupRequest, corr: CorrelationId) -> Handled {
    // v3+ batches members; clients leave one at a time, so the first one is the member.
    let member = r
        .members
        .first()
        .map(|m| s(&m.member_id))
        .unwrap_or_else(|| s(&r.member_id));
    let group = s(&r.group_id.0);
    Handled::Forward {
        msg: Msg::LeaveGroupRequest(LeaveGroupRequest {
            correlation_id: corr,
            group_id: group.clone(),
            member_id: member.clone(),
        }),
        reply: true,
        ctx: Ctx {
            member: Some((group, member)),
            ..Ctx::default()
        },
    }
}

fn offset_commit(r: kp::OffsetCommitRequest, corr: CorrelationId) -> Msg {
    let offsets = r
        .topics
        .iter()
        .flat_map(|topic| {
            topic.partitions.iter().map(move |p| {
                (
                    tp(topic.name.0.as_str(), p.partition_index),
                    Offset(p.committed_offset),
                    LeaderEpoch(p.committed_leader_epoch),
                )
            })
        })
        .collect();
    Msg::OffsetCommitRequest(OffsetCommitRequest {
        correlation_id: corr,
        group_id: s(&r.group_id.0),
        generation_id: Generation(r.generation_id_or_member_epoch),
        member_id: s(&r.member_id),
        offsets,
    })
}

fn offset_fetch(r: kp::OffsetFetchRequest, corr: CorrelationId) -> Msg {
    let partitions = r
        .topics
        .iter()
        .flatten()
        .flat_map(|topic| {
            topic
                .partition_indexes
                .iter()
                .map(move |&p| tp(topic.name.0.as_str(), p))
        })
        .collect();
    Msg::OffsetFetchRequest(OffsetFetchRequest {
        correlation_id: corr,
        group_id: s(&r.group_id.0),
        partitions,
        require_stable: r.require_stable,
    })
}
