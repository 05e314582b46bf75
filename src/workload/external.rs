//! An external node: the simulated end of one real TCP connection that a real Kafka client
//! opened to the gateway (`kafkasim serve`). It is a node of the simulated network like any
//! other — named `external-1`, `external-2`, … in the order connections opened, so a
//! scenario fault (partition, cut, clog, reset, kill) can target it — but it has no logic of
//! its own: the gateway injects the real client's requests as messages sent from it
//! (`World::apply_external`), and whatever reaches it (responses, the news that its broker closed the
//! connection) waits in its outbox until the gateway drains it and writes it to the socket.
//!
//! A crash of the external node (a `kill` fault) empties the outbox with the rest of its
//! state: the gateway sees the node down and closes the real socket, as a client host dying
//! would close it.
//!
//! The client history: a real producer's records enter it as the gateway sees them. Each
//! record of a Produce sent from here is a `SendInvoke` (under the value id the gateway gave
//! its bytes), and the response is its `SendOk` (offset) or `SendFail`; a close before the
//! response leaves it `SendIndeterminate`. So `kafkasim check --tape` finds a real client's
//! lost writes as it finds a simulated producer's. (A record the client retries arrives as
//! new bytes, so it is a new value: its first attempt stays failed or indeterminate.)
//!
//! A real transactional producer sends its records on the connections to the partition
//! leaders and its EndTxn on the connection to its transaction coordinator: different
//! external nodes. The gateway therefore hands the EndTxn's node the transaction's values
//! ([`Noted`]), and that node records `TxnEnd` with them when the answer comes (an
//! unanswered one, closed with its connection, ends with NETWORK_EXCEPTION: fate unknown).
//! The checker frames such a transaction by the values its `TxnEnd` carries
//! (`check/txn.rs`), not by a `TxnBegin` on the same node.
//!
//! A real consumer's Fetch answers and OffsetCommit results enter the history too
//! (`external_reads.rs` says exactly what such a "poll" is).

use std::collections::BTreeMap;
use std::sync::Arc;

use super::external_reads::Reads;
use crate::kafka::{ErrorCode, Msg, TopicPartition};
use crate::sim::{Context, NodeId};
use crate::workload::history::HistoryOp;

/// A real client's request with what the gateway knows about it for the client history
/// (an outside input only: never crosses the simulated network).
#[derive(Clone, Debug)]
pub struct Noted {
    pub msg: Msg,
    pub note: Note,
}

#[derive(Clone, Debug)]
pub enum Note {
    /// An EndTxn: the values the transaction sent (on any connection); an InitProducerId:
    /// the values of a transaction the previous incarnation left open.
    TxnValues(Box<[u64]>),
}

/// What an external node collected for the world outside, in arrival order.
#[derive(Clone, Debug)]
pub enum ExternalOut {
    /// A response from the broker.
    Reply(Msg),
    /// The broker side closed the connection (its process died, a reset, a healed cut).
    Closed(NodeId),
}

/// The simulated end of one real client connection.
#[derive(Clone, Debug)]
pub struct ExternalClient {
    /// The broker this connection talks to.
    pub broker: NodeId,
    /// The node's name (`external-N`): the member its polls are recorded under.
    name: Arc<str>,
    reads: Reads,
    /// Whether a request was ever sent (the connection is open once one was).
    sent_any: bool,
    outbox: Vec<ExternalOut>,
    /// Produce requests awaiting their response: the values sent, per partition.
    produces: BTreeMap<u32, Vec<(TopicPartition, Vec<u64>)>>,
    /// EndTxn requests awaiting their answer: commit or abort, and the values.
    end_txns: BTreeMap<u32, (bool, Box<[u64]>)>,
}

impl ExternalClient {
    pub fn new(broker: NodeId, name: &str) -> Self {
        ExternalClient {
            broker,
            name: Arc::from(name),
            reads: Reads::default(),
            sent_any: false,
            outbox: Vec::new(),
            produces: BTreeMap::new(),
            end_txns: BTreeMap::new(),
        }
    }

    /// Sends a real client's request that comes with a note for the history.
    pub fn on_outside_noted<C>(&mut self, cx: &mut C, to: NodeId, noted: Noted)
    where
        C: Context<Msg = Msg, Event = HistoryOp>,
    {
        match (&noted.msg, noted.note) {
            (Msg::EndTxnRequest(r), Note::TxnValues(values)) => {
                self.end_txns
                    .insert(r.correlation_id, (r.committed, values));
            }
            // A new incarnation: the transaction the old one left open is not the
            // client's to end any more (fenced and aborted by the coordinator).
            (Msg::InitProducerIdRequest(_), Note::TxnValues(values)) => {
                cx.emit(HistoryOp::TxnEnd {
                    committed: false,
                    error: ErrorCode::ProducerFenced,
                    values,
                })
            }
            _ => {}
        }
        self.on_outside(cx, to, noted.msg);
    }

    /// Sends a real client's request, recording a Produce's records as sends invoked.
    pub fn on_outside<C>(&mut self, cx: &mut C, to: NodeId, msg: Msg)
    where
        C: Context<Msg = Msg, Event = HistoryOp>,
    {
        self.sent_any = true;
        match &msg {
            Msg::FetchRequest(r) => self.reads.fetch_sent(r, &mut |op| cx.emit(op)),
            Msg::OffsetCommitRequest(r) => self.reads.commit_sent(r),
            _ => {}
        }
        if let Msg::ProduceRequest(r) = &msg {
            let mut sent = Vec::new();
            for (tp, batch) in &r.partitions {
                let values: Vec<u64> = batch.records.iter().map(|rec| rec.value).collect();
                for rec in batch.records.iter() {
                    cx.emit(HistoryOp::SendInvoke {
                        value: rec.value,
                        topic: tp.topic,
                        key: rec.key.clone(),
                        tombstone: crate::workload::history::NullValue(rec.tombstone),
                    });
                }
                sent.push((tp.clone(), values));
            }
            if r.acks != 0 {
                self.produces.insert(r.correlation_id, sent);
            }
        }
        cx.send(to, msg);
    }

    pub fn on_message<C>(&mut self, cx: &mut C, msg: Msg)
    where
        C: Context<Msg = Msg, Event = HistoryOp>,
    {
        match &msg {
            Msg::FetchResponse(r) => self
                .reads
                .fetch_answered(&self.name, r, &mut |op| cx.emit(op)),
            Msg::OffsetCommitResponse(r) => self.reads.commit_answered(r, &mut |op| cx.emit(op)),
            _ => {}
        }
        if let Msg::EndTxnResponse(r) = &msg {
            if let Some((committed, values)) = self.end_txns.remove(&r.correlation_id) {
                cx.emit(HistoryOp::TxnEnd {
                    committed,
                    error: r.error,
                    values,
                });
            }
        }
        if let Msg::ProduceResponse(r) = &msg {
            if let Some(sent) = self.produces.remove(&r.correlation_id) {
                for (tp, values) in sent {
                    let part = r.partitions.iter().find(|p| p.tp == tp);
                    for (i, value) in values.into_iter().enumerate() {
                        cx.emit(match part {
                            Some(p) if p.error == ErrorCode::None => HistoryOp::SendOk {
                                value,
                                tp: tp.clone(),
                                offset: p.base_offset + i as i64,
                            },
                            Some(p) => HistoryOp::SendFail {
                                value,
                                error: p.error,
                            },
                            None => HistoryOp::SendFail {
                                value,
                                error: ErrorCode::UnknownServerError,
                            },
                        });
                    }
                }
            }
        }
        self.outbox.push(ExternalOut::Reply(msg));
    }

    pub fn on_disconnect<C>(&mut self, cx: &mut C, peer: NodeId)
    where
        C: Context<Msg = Msg, Event = HistoryOp>,
    {
        if peer != self.broker {
            return;
        }
        self.reads.closed();
        for (_, (committed, values)) in std::mem::take(&mut self.end_txns) {
            cx.emit(HistoryOp::TxnEnd {
                committed,
                error: ErrorCode::NetworkException,
                values,
            });
        }
        for (_, sent) in std::mem::take(&mut self.produces) {
            for value in sent.into_iter().flat_map(|(_, v)| v) {
                cx.emit(HistoryOp::SendIndeterminate {
                    value,
                    reason: "connection closed before the response".to_string(),
                });
            }
        }
        self.outbox.push(ExternalOut::Closed(peer));
    }

    /// Whether the real client sent anything on this connection yet.
    pub fn has_sent(&self) -> bool {
        self.sent_any
    }

    /// Takes everything collected so far (the gateway calls this between events).
    pub fn take_outbox(&mut self) -> Vec<ExternalOut> {
        std::mem::take(&mut self.outbox)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::protocol::{
        HeartbeatResponse, PartitionProduceResponse, ProduceRequest, ProduceResponse,
        TransactionVersion,
    };
    use crate::kafka::record::{Record, RecordBatch};
    use crate::kafka::testing::FakeCx;
    use std::sync::Arc;

    type Cx = FakeCx<Msg, (), HistoryOp>;

    fn produce(corr: u32, values: &[u64]) -> Msg {
        let records: Vec<Record> = values
            .iter()
            .map(|&value| Record {
                key: None,
                value,
                value_bytes: 1,
                timestamp_us: 0,
                tombstone: false,
            })
            .collect();
        Msg::ProduceRequest(ProduceRequest {
            correlation_id: corr,
            acks: 1,
            timeout_ms: 1_000,
            transactional_id: None,
            transaction_version: TransactionVersion::TV_1,
            partitions: vec![(
                TopicPartition::new("t", 0),
                Arc::new(RecordBatch::new(records)),
            )],
        })
    }

    /// The outbox keeps replies and closes in order and empties when taken.
    #[test]
    fn outbox_keeps_order_and_empties() {
        let mut cx = Cx::new(1);
        let mut e = ExternalClient::new(NodeId(3), "external-1");
        let hb = Msg::HeartbeatResponse(HeartbeatResponse {
            correlation_id: 1,
            error: ErrorCode::None,
        });
        e.on_message(&mut cx, hb);
        e.on_disconnect(&mut cx, NodeId(9)); // not our broker: ignored
        e.on_disconnect(&mut cx, NodeId(3));
        let out = e.take_outbox();
        assert_eq!(out.len(), 2);
        assert!(
            matches!(out[0], ExternalOut::Reply(Msg::HeartbeatResponse(ref r)) if r.correlation_id == 1)
        );
        assert!(matches!(out[1], ExternalOut::Closed(NodeId(3))));
        assert!(e.take_outbox().is_empty());
    }

    /// A real Produce enters the history: invoked, then acknowledged at its offsets; one
    /// whose connection closes first stays indeterminate.
    #[test]
    fn produces_enter_the_client_history() {
        let mut cx = Cx::new(1);
        let mut e = ExternalClient::new(NodeId(3), "external-1");
        e.on_outside(&mut cx, NodeId(3), produce(1, &[10, 11]));
        e.on_outside(&mut cx, NodeId(3), produce(2, &[12]));
        assert_eq!(cx.sent.len(), 2);
        let ack = Msg::ProduceResponse(ProduceResponse {
            correlation_id: 1,
            partitions: vec![PartitionProduceResponse {
                tp: TopicPartition::new("t", 0),
                error: ErrorCode::None,
                base_offset: crate::kafka::Offset(7),
                log_start_offset: crate::kafka::Offset(0),
                current_leader: None,
            }],
        });
        e.on_message(&mut cx, ack);
        e.on_disconnect(&mut cx, NodeId(3));
        let ops: Vec<String> = cx
            .events
            .iter()
            .map(|op| match op {
                HistoryOp::SendInvoke { value, .. } => format!("invoke {value}"),
                HistoryOp::SendOk { value, offset, .. } => format!("ok {value}@{}", offset.0),
                HistoryOp::SendIndeterminate { value, .. } => format!("unknown {value}"),
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(
            ops,
            [
                "invoke 10",
                "invoke 11",
                "invoke 12",
                "ok 10@7",
                "ok 11@8",
                "unknown 12"
            ]
        );
    }

    /// A real transaction's end: the EndTxn's answer ends it with the values it carried;
    /// an unanswered one ends unknown when the connection closes; a new InitProducerId
    /// ends the old incarnation's open transaction as fenced.
    #[test]
    fn transactions_end_in_the_client_history() {
        use crate::kafka::protocol::{EndTxnRequest, EndTxnResponse, InitProducerIdRequest};
        use crate::kafka::{ProducerEpoch, ProducerId};
        let mut cx = Cx::new(1);
        let mut e = ExternalClient::new(NodeId(3), "external-1");
        let end = |corr, committed| {
            Msg::EndTxnRequest(EndTxnRequest {
                correlation_id: corr,
                transactional_id: "t".into(),
                producer_id: ProducerId(1),
                producer_epoch: ProducerEpoch(0),
                committed,
                transaction_version: crate::kafka::protocol::TransactionVersion::TV_1,
            })
        };
        let noted = |msg, values: &[u64]| Noted {
            msg,
            note: Note::TxnValues(values.into()),
        };
        e.on_outside_noted(&mut cx, NodeId(3), noted(end(1, true), &[5, 6]));
        e.on_message(
            &mut cx,
            Msg::EndTxnResponse(EndTxnResponse {
                correlation_id: 1,
                error: ErrorCode::None,
                producer_id: ProducerId::NONE,
                producer_epoch: ProducerEpoch::NONE,
            }),
        );
        e.on_outside_noted(&mut cx, NodeId(3), noted(end(2, false), &[7]));
        e.on_disconnect(&mut cx, NodeId(3));
        let init = Msg::InitProducerIdRequest(InitProducerIdRequest {
            correlation_id: 3,
            transactional_id: Some("t".into()),
            transaction_timeout_ms: 60_000,
        });
        e.on_outside_noted(&mut cx, NodeId(3), noted(init, &[8]));
        let ends: Vec<(bool, ErrorCode, Vec<u64>)> = cx
            .events
            .iter()
            .filter_map(|op| match op {
                HistoryOp::TxnEnd {
                    committed,
                    error,
                    values,
                } => Some((*committed, *error, values.to_vec())),
                _ => None,
            })
            .collect();
        assert_eq!(
            ends,
            [
                (true, ErrorCode::None, vec![5, 6]),
                (false, ErrorCode::NetworkException, vec![7]),
                (false, ErrorCode::ProducerFenced, vec![8]),
            ]
        );
        assert_eq!(cx.sent.len(), 3, "each request still goes to the broker");
    }
}
