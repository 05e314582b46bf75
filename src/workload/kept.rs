//! The client history, packed: how a kafkasim world keeps what `Node::keep` selects.
//!
//! A run keeps four history operations per record (`send-invoke`, `send-ok`, the `poll`
//! that returned it, `processed`), a million-record run four million. Kept one trace record
//! each (64 bytes, plus a boxed list per poll) they were the largest thing a long run held.
//! But they come in *runs*: an async producer invokes `send()` for consecutive values in
//! one event, a Produce response acknowledges a whole batch — consecutive values at
//! consecutive offsets of one partition — and a poll returns, and the application
//! processes, the same batches in order. So the store keeps one fixed-size [`Run`] per
//! maximal run of operations that differ only by value + 1 (and offset + 1), and a poll as
//! a header run followed by the runs of its records: a batch of 100 records costs a few
//! runs, not 400 records. Everything else a node keeps (rare Kafka events, ping and RPC
//! events, the other history operations) is kept as it came, and a run points to it.
//!
//! Reading decodes the runs back into the exact records pushed, in push order (the
//! workload tests check it against a plain list), so every reader — the checker, the
//! workbench's tallies, the exports — sees what it saw before; the trace hash is computed
//! before anything is kept, so packing never changes it. Like `sim::kept::KeptLog`, the
//! store is in sealed chunks shared behind `Arc`s: cloning a world (a checkpoint) copies
//! pointers.

use std::sync::Arc;

use super::event::NodeEvent;
use super::history::{HistoryOp, NullValue};
use crate::kafka::{Offset, Topic, TopicPartition};
use crate::sim::kept::{Chunked, KeptStore};
use crate::sim::{NodeId, Time, TraceKind, TraceRecord};

/// What a run holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tag {
    /// `count` × `send-invoke` of values `value..`; `offset`: the key's index in
    /// `keys` (`-1`: no key).
    Invoke,
    /// `count` × `send-ok` of values `value..` at offsets `offset..` (or all at the same
    /// negative offset: acks=0).
    SendOk,
    /// `count` × `processed`, values and offsets as for `SendOk`.
    Processed,
    /// A `poll` of `count` records (in the `Records` runs that follow); `offset`: its
    /// generation; `value`: the member's index in `members`.
    Poll,
    /// `count` records of the poll before: values `value..` at offsets `offset..`.
    Records,
    /// One record kept as it came: `others[value]`.
    Other,
}

/// One run of operations of one node in one event.
#[derive(Clone, Copy, Debug)]
struct Run {
    event: u64,
    time: Time,
    value: u64,
    offset: i64,
    /// `None` in runs that name no topic (polls, records kept as they came).
    topic: Option<Topic>,
    partition: u32,
    count: u32,
    node: NodeId,
    tag: Tag,
    tombstone: bool,
}

impl Run {
    /// How many kept records this run stands for (a poll's records are its one record).
    fn records(&self) -> usize {
        match self.tag {
            Tag::Records => 0,
            Tag::Poll | Tag::Other => 1,
            _ => self.count as usize,
        }
    }

    /// The offset of the `k`-th element (a negative offset stays: acks=0).
    fn offset_at(&self, k: u32) -> Offset {
        if self.offset < 0 {
            Offset(self.offset)
        } else {
            Offset(self.offset + k as i64)
        }
    }

    fn tp(&self) -> TopicPartition {
        TopicPartition {
            topic: self.topic.expect("a run of a partition names its topic"),
            partition: self.partition,
        }
    }

    /// Whether `next` continues this run (one more element, value + 1, offset + 1).
    fn continued_by(&self, next: &Run) -> bool {
        self.tag == next.tag
            && self.event == next.event
            && self.node == next.node
            && self.topic == next.topic
            && self.partition == next.partition
            && self.tombstone == next.tombstone
            && next.value == self.value.wrapping_add(self.count as u64)
            && match self.tag {
                Tag::Invoke => self.offset < 0 && next.offset < 0,
                Tag::SendOk | Tag::Processed | Tag::Records => {
                    if next.offset < 0 {
                        self.offset == next.offset
                    } else {
                        self.offset >= 0 && next.offset == self.offset + self.count as i64
                    }
                }
                Tag::Poll | Tag::Other => false,
            }
    }
}

/// The packed kept history of a kafkasim world (see the module docs).
#[derive(Clone, Debug, Default)]
pub struct HistoryStore {
    runs: Chunked<Run>,
    /// Per chunk of `runs`: the position (in records) of its first run.
    starts: Vec<usize>,
    others: Chunked<TraceRecord<NodeEvent>>,
    keys: Chunked<Arc<str>>,
    members: Chunked<Arc<str>>,
    len: usize,
    /// How many of the records are history operations.
    history: usize,
}

/// A run with no content yet.
fn run(rec_event: u64, time: Time, node: NodeId, tag: Tag) -> Run {
    Run {
        event: rec_event,
        time,
        value: 0,
        offset: -1,
        topic: None,
        partition: 0,
        count: 1,
        node,
        tag,
        tombstone: false,
    }
}

impl HistoryStore {
    fn push_run(&mut self, r: Run) {
        if let Some(last) = self.runs.last_open_mut() {
            if last.continued_by(&r) {
                last.count += r.count;
                return;
            }
        }
        if self.runs.len().is_multiple_of(crate::sim::kept::CHUNK) {
            // `push` counted the record this run starts with already.
            self.starts.push(self.len - 1);
        }
        self.runs.push(r);
    }

    fn push_other(&mut self, rec: TraceRecord<NodeEvent>) {
        let mut r = run(rec.event, rec.time, NodeId(u32::MAX), Tag::Other);
        r.value = self.others.len() as u64;
        self.others.push(rec);
        self.push_run(r);
    }

    /// Packs one history operation, or says it is not one of the packed kinds.
    fn push_op(
        &mut self,
        event: u64,
        time: Time,
        node: NodeId,
        op: HistoryOp,
    ) -> Option<HistoryOp> {
        let at = |tag, tp: &TopicPartition, value, offset: Offset| Run {
            value,
            offset: offset.0,
            topic: Some(tp.topic),
            partition: tp.partition,
            ..run(event, time, node, tag)
        };
        match op {
            HistoryOp::SendInvoke {
                value,
                topic,
                key,
                tombstone,
            } => {
                let mut r = run(event, time, node, Tag::Invoke);
                r.value = value;
                r.topic = Some(topic);
                r.tombstone = tombstone.0;
                if let Some(k) = key {
                    r.offset = self.keys.len() as i64;
                    self.keys.push(k);
                }
                self.push_run(r);
            }
            HistoryOp::SendOk { value, tp, offset } => {
                self.push_run(at(Tag::SendOk, &tp, value, offset));
            }
            HistoryOp::Processed { tp, offset, value } => {
                self.push_run(at(Tag::Processed, &tp, value, offset));
            }
            HistoryOp::Poll {
                member,
                generation,
                records,
            } => {
                let mut r = run(event, time, node, Tag::Poll);
                r.value = self.members.len() as u64;
                r.offset = generation as i64;
                r.count = records.len() as u32;
                self.members.push(member);
                self.push_run(r);
                for (tp, offset, value) in records.iter() {
                    self.push_run(at(Tag::Records, tp, *value, *offset));
                }
            }
            other => return Some(other),
        }
        None
    }

    /// Bytes held (capacity), for measurements: runs, records kept as they came (their
    /// boxed contents not counted), keys and member names (pointers; the names are shared).
    pub fn heap_bytes(&self) -> usize {
        self.runs.heap_bytes()
            + self.others.heap_bytes()
            + self.keys.heap_bytes()
            + self.members.heap_bytes()
    }

    /// How many runs hold the records (for measurements and tests).
    pub fn runs(&self) -> usize {
        self.runs.len()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// How many of the records are history operations.
    pub fn history_ops(&self) -> usize {
        self.history
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The records in the order they were kept.
    pub fn iter(&self) -> Decode<'_> {
        self.iter_from(0)
    }

    /// The records from position `from` on (`from` may be `len()`: nothing).
    pub fn iter_from(&self, from: usize) -> Decode<'_> {
        let chunk = self
            .starts
            .partition_point(|&s| s <= from)
            .saturating_sub(1);
        let mut pos = self.starts.get(chunk).copied().unwrap_or(0);
        let first = if from < self.len {
            chunk * crate::sim::kept::CHUNK
        } else {
            self.runs.len() // nothing left to read
        };
        let mut runs = self.runs.iter_from(first);
        let mut current = None;
        while pos <= from && from < self.len {
            let Some(r) = runs.next() else { break };
            let n = r.records();
            if pos + n > from {
                current = Some((*r, (from - pos) as u32));
                break;
            }
            pos += n;
        }
        Decode {
            store: self,
            runs: Box::new(runs),
            current,
            left: self.len.saturating_sub(from),
        }
    }
}

/// The decoding iterator of a [`HistoryStore`].
pub struct Decode<'a> {
    store: &'a HistoryStore,
    runs: Box<dyn Iterator<Item = &'a Run> + 'a>,
    /// The run being read and the index of its next element.
    current: Option<(Run, u32)>,
    left: usize,
}

impl Decode<'_> {
    fn emit(r: &Run, op: HistoryOp) -> TraceRecord<NodeEvent> {
        TraceRecord {
            event: r.event,
            time: r.time,
            kind: TraceKind::Emit {
                node: r.node,
                event: NodeEvent::History(op),
            },
        }
    }

    fn poll(&mut self, r: &Run) -> TraceRecord<NodeEvent> {
        let mut records = Vec::with_capacity(r.count as usize);
        while records.len() < r.count as usize {
            let Some(rs) = self.runs.next() else { break };
            records.extend(
                (0..rs.count).map(|k| (rs.tp(), rs.offset_at(k), rs.value.wrapping_add(k as u64))),
            );
        }
        let member = self.store.members.get(r.value as usize).cloned();
        let op = HistoryOp::Poll {
            member: member.unwrap_or_else(|| Arc::from("")),
            generation: r.offset as i32,
            records: records.into_boxed_slice(),
        };
        Self::emit(r, op)
    }
}

impl Iterator for Decode<'_> {
    type Item = TraceRecord<NodeEvent>;

    fn next(&mut self) -> Option<TraceRecord<NodeEvent>> {
        let (r, k) = match self.current.take() {
            Some(c) => c,
            None => (*self.runs.next()?, 0),
        };
        if k + 1 < r.count && matches!(r.tag, Tag::Invoke | Tag::SendOk | Tag::Processed) {
            self.current = Some((r, k + 1));
        }
        self.left = self.left.saturating_sub(1);
        let value = r.value.wrapping_add(k as u64);
        Some(match r.tag {
            Tag::Invoke => {
                let key = (r.offset >= 0)
                    .then(|| self.store.keys.get(r.offset as usize).cloned())
                    .flatten();
                let op = HistoryOp::SendInvoke {
                    value,
                    topic: r.topic.expect("a send names its topic"),
                    key,
                    tombstone: NullValue(r.tombstone),
                };
                Self::emit(&r, op)
            }
            Tag::SendOk => {
                let (tp, offset) = (r.tp(), r.offset_at(k));
                Self::emit(&r, HistoryOp::SendOk { value, tp, offset })
            }
            Tag::Processed => {
                let (tp, offset) = (r.tp(), r.offset_at(k));
                Self::emit(&r, HistoryOp::Processed { tp, offset, value })
            }
            Tag::Poll => self.poll(&r),
            Tag::Other => self.store.others.get(r.value as usize)?.clone(),
            // A poll's records are read with their poll; one on its own is skipped.
            Tag::Records => return self.next(),
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

/// Where a [`Piece`] of history was kept: its event, time and node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct At {
    pub event: u64,
    pub time: Time,
    pub node: u32,
}

/// Records of one poll with consecutive values at consecutive offsets of one partition:
/// values `value..value + count` at offsets `offset..`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordRun {
    pub tp: TopicPartition,
    pub offset: Offset,
    pub value: u64,
    pub count: u32,
}

/// A run of history operations read whole, without decoding each: the checker's passes
/// handle a run of `count` operations of one node in one event in one step, where the
/// values are `value..value + count` and the offsets `offset..` (or all one negative
/// offset: acks=0). Every other history operation comes decoded, as [`Piece::Op`].
#[derive(Clone, Debug)]
pub enum Piece<'a> {
    /// `count` × `send-invoke`; a keyed send is always a run of one.
    Invoke {
        at: At,
        topic: Topic,
        value: u64,
        count: u32,
        key: Option<&'a Arc<str>>,
        tombstone: bool,
    },
    /// `count` × `send-ok`.
    SendOk {
        at: At,
        tp: TopicPartition,
        value: u64,
        offset: Offset,
        count: u32,
    },
    /// `count` × `processed`.
    Processed {
        at: At,
        tp: TopicPartition,
        value: u64,
        offset: Offset,
        count: u32,
    },
    /// One `poll`, its records in runs.
    Poll {
        at: At,
        member: &'a Arc<str>,
        generation: i32,
        records: Vec<RecordRun>,
    },
    /// Any other history operation.
    Op { at: At, op: HistoryOp },
    /// A kept record that is not a history operation (a Kafka, ping or RPC event).
    Event(&'a TraceRecord<NodeEvent>),
}

impl Piece<'_> {
    /// How many history operations the piece stands for (a poll is one).
    pub fn ops(&self) -> usize {
        match self {
            Piece::Invoke { count, .. }
            | Piece::SendOk { count, .. }
            | Piece::Processed { count, .. } => *count as usize,
            Piece::Poll { .. } | Piece::Op { .. } => 1,
            Piece::Event(_) => 0,
        }
    }

    /// One operation as a piece: a run of one for the kinds runs hold.
    pub fn of_op(at: At, op: &HistoryOp) -> Piece<'_> {
        match op {
            HistoryOp::SendInvoke {
                value,
                topic,
                key,
                tombstone,
            } => Piece::Invoke {
                at,
                topic: *topic,
                value: *value,
                count: 1,
                key: key.as_ref(),
                tombstone: tombstone.0,
            },
            HistoryOp::SendOk { value, tp, offset } => Piece::SendOk {
                at,
                tp: tp.clone(),
                value: *value,
                offset: *offset,
                count: 1,
            },
            HistoryOp::Processed { tp, offset, value } => Piece::Processed {
                at,
                tp: tp.clone(),
                value: *value,
                offset: *offset,
                count: 1,
            },
            HistoryOp::Poll {
                member,
                generation,
                records,
            } => Piece::Poll {
                at,
                member,
                generation: *generation,
                records: records
                    .iter()
                    .map(|(tp, offset, value)| RecordRun {
                        tp: tp.clone(),
                        offset: *offset,
                        value: *value,
                        count: 1,
                    })
                    .collect(),
            },
            other => Piece::Op {
                at,
                op: other.clone(),
            },
        }
    }

    /// The operations one by one, as decoded (for the rare case a pass needs them so).
    pub fn expand(&self) -> Vec<(At, HistoryOp)> {
        let each = |count: u32, f: &dyn Fn(u32) -> HistoryOp| (0..count).map(f).collect();
        let ops: Vec<HistoryOp> = match self {
            Piece::Invoke {
                topic,
                value,
                count,
                key,
                tombstone,
                ..
            } => each(*count, &|k| HistoryOp::SendInvoke {
                value: value.wrapping_add(k as u64),
                topic: *topic,
                key: key.cloned(),
                tombstone: NullValue(*tombstone),
            }),
            Piece::SendOk {
                tp,
                value,
                offset,
                count,
                ..
            } => each(*count, &|k| HistoryOp::SendOk {
                value: value.wrapping_add(k as u64),
                tp: tp.clone(),
                offset: offset_at(*offset, k),
            }),
            Piece::Processed {
                tp,
                value,
                offset,
                count,
                ..
            } => each(*count, &|k| HistoryOp::Processed {
                tp: tp.clone(),
                offset: offset_at(*offset, k),
                value: value.wrapping_add(k as u64),
            }),
            Piece::Poll {
                member,
                generation,
                records,
                ..
            } => {
                let rs = records.iter().flat_map(|r| {
                    (0..r.count)
                        .map(|k| (r.tp.clone(), r.offset_at(k), r.value.wrapping_add(k as u64)))
                });
                vec![HistoryOp::Poll {
                    member: (*member).clone(),
                    generation: *generation,
                    records: rs.collect(),
                }]
            }
            Piece::Op { op, .. } => vec![op.clone()],
            Piece::Event(_) => Vec::new(),
        };
        let at = self.at();
        ops.into_iter().map(|op| (at, op)).collect()
    }

    pub fn at(&self) -> At {
        match self {
            Piece::Invoke { at, .. }
            | Piece::SendOk { at, .. }
            | Piece::Processed { at, .. }
            | Piece::Poll { at, .. }
            | Piece::Op { at, .. } => *at,
            Piece::Event(r) => At {
                event: r.event,
                time: r.time,
                node: match r.kind {
                    TraceKind::Emit { node, .. } => node.0,
                    _ => u32::MAX,
                },
            },
        }
    }
}

impl RecordRun {
    /// The offset of the `k`-th record.
    pub fn offset_at(&self, k: u32) -> Offset {
        offset_at(self.offset, k)
    }
}

/// The offset of the `k`-th element of a run starting at `offset` (a negative offset
/// stays: acks=0).
pub fn offset_at(offset: Offset, k: u32) -> Offset {
    if offset < Offset::ZERO {
        offset
    } else {
        Offset(offset.0 + k as i64)
    }
}

/// The kept records of a [`HistoryStore`] as [`Piece`]s, in push order.
pub struct Pieces<'a> {
    store: &'a HistoryStore,
    runs: Box<dyn Iterator<Item = &'a Run> + 'a>,
    /// A run read ahead (the one after a poll's records).
    ahead: Option<&'a Run>,
}

impl<'a> Iterator for Pieces<'a> {
    type Item = Piece<'a>;

    fn next(&mut self) -> Option<Piece<'a>> {
        loop {
            let r = match self.ahead.take() {
                Some(r) => r,
                None => self.runs.next()?,
            };
            let at = At {
                event: r.event,
                time: r.time,
                node: r.node.0,
            };
            let (value, offset, count) = (r.value, Offset(r.offset), r.count);
            return Some(match r.tag {
                Tag::Invoke => Piece::Invoke {
                    at,
                    topic: r.topic.expect("a send names its topic"),
                    value,
                    count,
                    key: (r.offset >= 0)
                        .then(|| self.store.keys.get(r.offset as usize))
                        .flatten(),
                    tombstone: r.tombstone,
                },
                Tag::SendOk => Piece::SendOk {
                    at,
                    tp: r.tp(),
                    value,
                    offset,
                    count,
                },
                Tag::Processed => Piece::Processed {
                    at,
                    tp: r.tp(),
                    value,
                    offset,
                    count,
                },
                Tag::Poll => self.poll(r, at),
                Tag::Records => continue, // a poll's records are read with their poll
                Tag::Other => {
                    let rec = self.store.others.get(r.value as usize)?;
                    let TraceKind::Emit {
                        node,
                        event: NodeEvent::History(op),
                    } = &rec.kind
                    else {
                        return Some(Piece::Event(rec));
                    };
                    let at = At {
                        event: rec.event,
                        time: rec.time,
                        node: node.0,
                    };
                    Piece::Op { at, op: op.clone() }
                }
            });
        }
    }
}

impl<'a> Pieces<'a> {
    fn poll(&mut self, r: &Run, at: At) -> Piece<'a> {
        let mut records = Vec::new();
        let mut n = 0;
        while n < r.count {
            let Some(rs) = self.runs.next() else { break };
            if rs.tag != Tag::Records {
                self.ahead = Some(rs);
                break;
            }
            n += rs.count;
            records.push(RecordRun {
                tp: rs.tp(),
                offset: Offset(rs.offset),
                value: rs.value,
                count: rs.count,
            });
        }
        static NONE: std::sync::OnceLock<Arc<str>> = std::sync::OnceLock::new();
        let member = match self.store.members.get(r.value as usize) {
            Some(m) => m,
            None => NONE.get_or_init(|| Arc::from("")),
        };
        Piece::Poll {
            at,
            member,
            generation: r.offset as i32,
            records,
        }
    }
}

impl HistoryStore {
    /// The history operations as runs (see [`Piece`]).
    pub fn pieces(&self) -> Pieces<'_> {
        self.pieces_from(0)
    }

    /// The pieces from run `run` on (a count [`HistoryStore::runs`] gave earlier). A run
    /// is only ever extended within its own event, so between two events every run read
    /// is whole.
    pub fn pieces_from(&self, run: usize) -> Pieces<'_> {
        Pieces {
            store: self,
            runs: Box::new(self.runs.iter_from(run)),
            ahead: None,
        }
    }
}

impl KeptStore<NodeEvent> for HistoryStore {
    type Iter<'a> = Decode<'a>;

    fn push(&mut self, rec: TraceRecord<NodeEvent>) {
        self.len += 1;
        let TraceKind::Emit {
            node,
            event: NodeEvent::History(op),
        } = rec.kind
        else {
            return self.push_other(rec);
        };
        self.history += 1;
        if let Some(op) = self.push_op(rec.event, rec.time, node, op) {
            let kind = TraceKind::Emit {
                node,
                event: NodeEvent::History(op),
            };
            self.push_other(TraceRecord { kind, ..rec });
        }
    }

    fn len(&self) -> usize {
        self.len
    }

    fn iter_from(&self, from: usize) -> Decode<'_> {
        HistoryStore::iter_from(self, from)
    }
}

impl<'a> IntoIterator for &'a HistoryStore {
    type Item = TraceRecord<NodeEvent>;
    type IntoIter = Decode<'a>;
    fn into_iter(self) -> Decode<'a> {
        self.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::ErrorCode;

    fn rec(event: u64, node: u32, op: HistoryOp) -> TraceRecord<NodeEvent> {
        TraceRecord {
            event,
            time: Time(event * 10),
            kind: TraceKind::Emit {
                node: NodeId(node),
                event: NodeEvent::History(op),
            },
        }
    }

    fn invoke(value: u64, key: Option<&str>) -> HistoryOp {
        HistoryOp::SendInvoke {
            value,
            topic: Topic::new("t"),
            key: key.map(Arc::from),
            tombstone: NullValue(false),
        }
    }

    fn ok(value: u64, p: u32, offset: i64) -> HistoryOp {
        HistoryOp::SendOk {
            value,
            tp: TopicPartition::new("t", p),
            offset: Offset(offset),
        }
    }

    /// A history with runs, breaks in every field, keyed sends, acks=0, polls across
    /// partitions, and records kept as they came, in an interleaving of two nodes.
    fn sample() -> Vec<TraceRecord<NodeEvent>> {
        let mut v = Vec::new();
        for i in 0..5000u64 {
            v.push(rec(1 + i / 700, 0, invoke(i, None)));
        }
        v.push(rec(9, 0, invoke(5000, Some("k"))));
        v.push(rec(9, 0, invoke(5001, Some("k"))));
        for i in 0..300u64 {
            let (p, o) = if i < 150 {
                (0, i as i64)
            } else {
                (1, i as i64 - 150)
            };
            v.push(rec(10, 0, ok(i, p, o)));
        }
        v.push(rec(10, 0, ok(300, 1, 7))); // a gap in offsets
        v.push(rec(11, 1, ok(301, 1, 8))); // another node
        for i in 302..310u64 {
            v.push(rec(12, 0, ok(i, 2, -1))); // acks=0
        }
        v.push(rec(
            12,
            0,
            HistoryOp::SendFail {
                value: 310,
                error: ErrorCode::NotLeaderOrFollower,
            },
        ));
        let records: Vec<_> = (0..40u64)
            .map(|i| {
                (
                    TopicPartition::new("t", (i / 20) as u32),
                    Offset((i % 20) as i64),
                    i,
                )
            })
            .collect();
        let poll = |records: Vec<_>| HistoryOp::Poll {
            member: Arc::from("m-1"),
            generation: 3,
            records: records.into_boxed_slice(),
        };
        v.push(rec(13, 1, poll(records.clone())));
        v.push(rec(13, 1, poll(Vec::new())));
        v.push(rec(13, 1, poll(records[5..7].to_vec())));
        for (tp, offset, value) in &records {
            let op = HistoryOp::Processed {
                tp: tp.clone(),
                offset: *offset,
                value: *value,
            };
            v.push(rec(14, 1, op));
        }
        v.push(rec(15, 1, HistoryOp::Crashed));
        let rpc = crate::workload::rpc::RpcEvent::CallOk {
            id: 1,
            latency_us: 5,
            attempts: 1,
        };
        v.push(TraceRecord {
            event: 16,
            time: Time(160),
            kind: TraceKind::Emit {
                node: NodeId(2),
                event: NodeEvent::Rpc(rpc),
            },
        });
        v
    }

    #[test]
    fn decodes_exactly_what_was_pushed_from_every_position() {
        // Proves the packed store reads back the pushed records, in order, from any start
        // position, in far fewer runs than records.
        let plain = sample();
        let mut store = HistoryStore::default();
        for r in plain.clone() {
            store.push(r);
        }
        assert_eq!(store.len(), plain.len());
        let back: Vec<_> = store.iter().collect();
        assert!(format!("{back:?}") == format!("{plain:?}"), "all records");
        for from in [
            0,
            1,
            699,
            700,
            4999,
            5000,
            5001,
            5002,
            5150,
            5303,
            5312,
            5313,
            5320,
            plain.len() - 1,
            plain.len(),
        ] {
            let got: Vec<_> = store.iter_from(from).collect();
            let want = &plain[from..];
            let first = |v: &[TraceRecord<NodeEvent>]| v.first().map(|r| format!("{r:?}"));
            assert!(
                format!("{got:?}") == format!("{want:?}"),
                "from {from}: {} records, first {:?}; want {}, first {:?}",
                got.len(),
                first(&got),
                want.len(),
                first(want)
            );
        }
        // 5,000 invokes in 8 events, 2 keyed, the acks in 2 + 1 (gap) + 1 (node) + 1
        // (acks=0) runs, a failure, 3 polls (headers) with 2 + 0 + 1 record runs, the
        // processing in 2, a crash, an RPC event.
        assert_eq!(store.runs(), 8 + 2 + 5 + 1 + 3 + 3 + 2 + 1 + 1);
    }

    #[test]
    fn pieces_expand_to_exactly_the_history_ops() {
        // Proves the run-level reading (`pieces`) stands for the same operations, in the
        // same order, as decoding record by record, and that it reads runs, not records.
        let mut store = HistoryStore::default();
        for r in sample() {
            store.push(r);
        }
        let decoded: Vec<(At, HistoryOp)> = store
            .iter()
            .filter_map(|r| match r.kind {
                TraceKind::Emit {
                    node,
                    event: NodeEvent::History(op),
                } => Some((
                    At {
                        event: r.event,
                        time: r.time,
                        node: node.0,
                    },
                    op,
                )),
                _ => None,
            })
            .collect();
        let pieces: Vec<Piece> = store.pieces().collect();
        let expanded: Vec<(At, HistoryOp)> = pieces.iter().flat_map(|p| p.expand()).collect();
        assert_eq!(expanded, decoded);
        let ops: usize = pieces.iter().map(|p| p.ops()).sum();
        assert_eq!(ops, store.history_ops());
        // 8 invoke runs + 2 keyed, 5 ack runs, a failure, 3 polls, 2 processed runs, a crash;
        // and the RPC event as itself.
        let events = pieces
            .iter()
            .filter(|p| matches!(p, Piece::Event(_)))
            .count();
        assert_eq!(
            (pieces.len() - events, events),
            (8 + 2 + 5 + 1 + 3 + 2 + 1, 1)
        );
    }

    #[test]
    fn a_clone_shares_sealed_runs_and_grows_on_its_own() {
        // Proves a checkpoint's clone reads the same records and appending to it leaves the
        // original unchanged.
        let mut store = HistoryStore::default();
        for i in 0..20_000u64 {
            // Every op its own run (values jump): several sealed chunks.
            store.push(rec(i + 1, 0, invoke(i * 2, None)));
        }
        let mut copy = store.clone();
        copy.push(rec(30_000, 0, HistoryOp::Crashed));
        assert_eq!(copy.len(), store.len() + 1);
        assert_eq!(store.iter().count(), 20_000);
        assert_eq!(
            store.iter_from(12_345).next().map(|r| r.event),
            Some(12_346)
        );
        assert_eq!(copy.iter().last().map(|r| r.event), Some(30_000));
    }
}
