//! Indexes over a history and the final logs, built once and shared by the anomaly checks:
//! where each value was sent, acknowledged, stored, read and processed.
//!
//! Built in linear passes and kept flat, because a long run has millions of records and the
//! check must cost no more than the run: one row per sent value ([`Val`], in one vector
//! sorted by value — found by binary search), and per partition one slot per offset
//! ([`Slot`], a vector indexed by offset) holding the value first seen there, the first
//! poll that saw it, whether the final log holds it, whether a producer was acknowledged at
//! it, and its first processing. The normal case — one value per offset, read once,
//! processed once, stored where it was acknowledged — fits in those two rows. Only what is
//! unusual goes into ordered maps beside them (a second value at an offset, a second read
//! or processing, a value stored at a second offset), and those are exactly the records
//! the anomalies report.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::history::History;
use super::FinalLogs;
use crate::kafka::{Offset, TopicPartition};
use crate::workload::history::HistoryOp;
use crate::workload::kept::{offset_at, At, Piece};

/// How a send ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    None,
    Ok,
    Fail,
    Indeterminate,
}

/// One sent value (or a value seen but never sent: `sent` false). The value itself is
/// not in the row: rows are in value order, and [`Index`] finds a value's row from the
/// runs of consecutive values (`Index::runs`) — 8 bytes less per record at the peak.
#[derive(Clone, Debug)]
pub struct Val {
    /// The acknowledgement's event and offset (outcome `Ok`).
    pub ok_event: u64,
    pub ok_offset: Offset,
    /// The first poll that returned it (0: none).
    pub read: u64,
    pub ok_part: u32,
    /// The producer node (index into the node names).
    node: u32,
    /// The key's index in `keys` (`u32::MAX`: none).
    key: u32,
    /// How many times the application called `send()` with it (saturating).
    pub invokes: u16,
    pub outcome: Outcome,
    pub tombstone: bool,
    /// Some member processed it (at any position).
    pub processed: bool,
    /// Positions in the final logs, and whether one of them is the acknowledged one (the
    /// others are in `Index::stored_more`).
    pub stored: u16,
    stored_at_ack: bool,
    /// Distinct (partition, offset) positions it was seen at (polls, final logs).
    positions: u16,
    sent: bool,
}

impl Val {
    fn new() -> Val {
        Val {
            ok_event: 0,
            ok_offset: Offset::UNKNOWN,
            read: 0,
            ok_part: 0,
            node: 0,
            key: u32::MAX,
            invokes: 0,
            outcome: Outcome::None,
            tombstone: false,
            processed: false,
            stored: 0,
            stored_at_ack: false,
            positions: 0,
            sent: false,
        }
    }
}

const OBSERVED: u8 = 1; // a poll or the final log saw `value` here
const FINAL: u8 = 2; // the final log holds `value` here
const ACKED: u8 = 4; // a producer was acknowledged at this offset
const PROCESSED: u8 = 8; // `proc_event`/`proc_node` hold `value`'s first processing here

/// One offset of one partition.
#[derive(Clone, Copy, Debug, Default)]
struct Slot {
    value: u64,
    /// The first poll that returned `value` here (0: none).
    first_event: u64,
    proc_event: u64,
    proc_node: u32,
    flags: u8,
}

/// One processing of a record: (event, node).
pub type Processing = (u64, Arc<str>);

type Pos = (TopicPartition, Offset);

/// Where values were seen. Event 0 stands for the final drain read.
#[derive(Default, Debug)]
pub struct Index {
    /// Sent values' rows, in value order.
    vals: Vec<Val>,
    /// Which value each row is: runs of consecutive values `(first value, first row)`,
    /// ascending; a run's rows are consecutive, up to the next run's first row.
    runs: Vec<(u64, usize)>,
    /// The run found last: the next lookup tries it before a binary search.
    hint: std::cell::Cell<usize>,
    /// Values seen (read, stored) but never sent.
    unsent: BTreeMap<u64, Val>,
    keys: Vec<Arc<str>>,
    /// Node names by index (the history's).
    nodes: Vec<Arc<str>>,
    parts: Vec<TopicPartition>,
    part_ids: BTreeMap<TopicPartition, u32>,
    /// The partition looked up last (most operations name the one before's).
    last_part: Option<(TopicPartition, u32)>,
    /// Per partition id, per offset.
    slots: Vec<Vec<Slot>>,
    /// Values seen at an offset whose slot holds another value, with the events that saw
    /// them (0: the final log).
    others: BTreeMap<Pos, BTreeMap<u64, Vec<u64>>>,
    /// Later polls that returned a slot's own value again: (partition id, offset, event).
    rereads: Vec<(u32, Offset, u64)>,
    /// Processings that are not a slot's first of its own value.
    more_processed: BTreeMap<(TopicPartition, Offset, u64), Vec<Processing>>,
    /// Final-log positions of values beyond the acknowledged one.
    stored_more: BTreeMap<u64, Vec<Pos>>,
    /// Per partition: the highest offset any group committed (the next offset to read) and
    /// the commit's event. Records below it were declared done by their group.
    pub committed: BTreeMap<TopicPartition, (Offset, u64)>,
    /// Per partition, the final log's log start offset (below it retention deleted).
    pub log_start: BTreeMap<TopicPartition, Offset>,
    /// Values of transactions not known to have committed (aborted, or ended unknown):
    /// a read_committed reader must not (or need not) see them, so they are never lost,
    /// unseen or skipped (`txn.rs`).
    pub txn_hidden: BTreeSet<u64>,
    /// Every transaction's fate (`txn.rs`).
    pub txn: super::txn::TxnFates,
    /// Consumer nodes running with `isolation.level = read_committed`.
    pub read_committed: BTreeSet<Arc<str>>,
    /// Acknowledged (partition, offset, value)s the log cleaner removed (see
    /// [`FinalLogs::compaction`]).
    pub compacted: BTreeSet<(TopicPartition, Offset, u64)>,
    /// Whether any consumer operation was recorded ([`History::has_consumers`]).
    pub has_consumers: bool,
    /// Whether an application reported its assignment or processing (`Assigned`,
    /// `Processed`: simulated consumers; a real client's deliveries do not).
    pub has_processing: bool,
    /// Counted on the way, over the whole history: `acked`, `produce-errors`, `consumed`,
    /// `commit-failed` (what `check` reports besides the run's own counters).
    pub counts: BTreeMap<&'static str, u64>,
}

impl Index {
    pub fn build(history: &History, logs: Option<&FinalLogs>) -> Index {
        Index::build_with(history, logs, &invoked_runs(history))
    }

    /// [`Index::build`] given every invoked value once, ascending, as runs of consecutive
    /// values `(value, count)`.
    pub fn build_with(
        history: &History,
        logs: Option<&FinalLogs>,
        invoked: &[(u64, u32)],
    ) -> Index {
        let total = invoked.iter().map(|r| r.1 as usize).sum();
        let mut ix = Index {
            vals: Vec::with_capacity(total),
            nodes: history.names().to_vec(),
            ..Index::default()
        };
        for &(v, n) in invoked {
            ix.runs.push((v, ix.vals.len()));
            ix.vals.extend((0..n).map(|_| Val::new()));
        }
        if let Some(logs) = logs {
            // Each partition's offsets slots sized once to its final log's end (the
            // history rarely reads beyond it): no regrowth, no copy at the peak.
            for (tp, records) in &logs.partitions {
                let end = records
                    .runs()
                    .last()
                    .map_or(0, |r| r.offset.0 + r.count as i64);
                let p = ix.part(tp);
                ix.slots[p as usize].reserve_exact(end.max(0) as usize);
            }
        }
        let mut txn = super::txn::FatesBuilder::default();
        for piece in history.pieces() {
            txn.add_piece(&piece);
            ix.add_piece(&piece);
        }
        ix.rereads.sort_by_key(|&(p, o, _)| (p, o));
        ix.adopt_outcome_only_sends();
        ix.txn = txn.finish(|v| ix.acked_at(v));
        ix.txn_hidden = ix.txn.hidden_values.clone();
        for (tp, o) in ix.txn.uncommitted_positions.clone() {
            if let Some(s) = ix.slot_mut(&tp, o) {
                s.flags &= !ACKED;
            }
        }
        if let Some(logs) = logs {
            ix.log_start.clone_from(&logs.log_start);
            for (tp, records) in &logs.partitions {
                let p = ix.part(tp);
                for r in records.runs() {
                    let rows = ix.rows(r.value, r.count);
                    for k in 0..r.count {
                        let (o, v) = (
                            Offset(r.offset.0 + k as i64),
                            r.value.wrapping_add(k as u64),
                        );
                        let row = rows.map(|i| i + k as usize);
                        ix.store(p, tp, o, v, row);
                        ix.saw(p, tp, o, v, 0, row);
                    }
                }
            }
            ix.processed_by_outputs();
            ix.compacted = ix.removed_by_compaction(logs);
        }
        ix
    }

    /// Sends known only by their outcome (no invoke: a hand-written history, or a client
    /// that reports only outcomes) were kept aside while the history was read; they are
    /// sends like the others from now on.
    fn adopt_outcome_only_sends(&mut self) {
        if !self.unsent.values().any(|r| r.sent) {
            return;
        }
        let (sent, seen): (BTreeMap<u64, Val>, BTreeMap<u64, Val>) =
            std::mem::take(&mut self.unsent)
                .into_iter()
                .partition(|(_, r)| r.sent);
        self.unsent = seen;
        let mut rows: Vec<(u64, Val)> = self.values().map(|(v, r)| (v, r.clone())).collect();
        rows.extend(sent);
        rows.sort_by_key(|r| r.0);
        (self.vals, self.runs) = (Vec::with_capacity(rows.len()), Vec::new());
        for (v, r) in rows {
            let next = self
                .runs
                .last()
                .is_some_and(|&(v0, r0)| v0 + (self.vals.len() - r0) as u64 == v);
            if !next {
                self.runs.push((v, self.vals.len()));
            }
            self.vals.push(r);
        }
        self.hint.set(0);
    }

    /// The sent values' rows with their values, ascending.
    fn values(&self) -> impl Iterator<Item = (u64, &Val)> + '_ {
        self.runs
            .iter()
            .enumerate()
            .flat_map(move |(j, &(v0, r0))| {
                let end = self.runs.get(j + 1).map_or(self.vals.len(), |r| r.1);
                let rows = self.vals[r0..end].iter().enumerate();
                rows.map(move |(k, r)| (v0 + k as u64, r))
            })
    }

    /// Every row with its value: the sent values' ascending, then the values seen but never
    /// sent, ascending.
    fn all_values(&self) -> impl Iterator<Item = (u64, &Val)> + '_ {
        self.values()
            .chain(self.unsent.iter().map(|(v, r)| (*v, r)))
    }

    /// The row of `value`, if it was sent or seen.
    pub fn val(&self, value: u64) -> Option<&Val> {
        match self.find(value) {
            Some(i) => Some(&self.vals[i]),
            None => self.unsent.get(&value),
        }
    }

    /// The row of `value`: row `row` when the caller knows it (a run's), else looked up.
    fn row_mut(&mut self, value: u64, row: Option<usize>) -> &mut Val {
        match row {
            Some(i) => &mut self.vals[i],
            None => self.val_mut(value),
        }
    }

    /// Rows `i..i + count` when they hold exactly the values `value..value + count` (rows
    /// are sorted and unique, so the first and the last say it): a run's rows, looked up
    /// once.
    fn rows(&self, value: u64, count: u32) -> Option<usize> {
        let i = self.find(value)?;
        let last = value.checked_add(count.checked_sub(1)? as u64)?;
        (self.find(last) == Some(i + count as usize - 1)).then_some(i)
    }

    fn val_mut(&mut self, value: u64) -> &mut Val {
        match self.find(value) {
            Some(i) => &mut self.vals[i],
            None => self.unsent.entry(value).or_insert_with(Val::new),
        }
    }

    /// The index of `value`'s row in `vals`.
    fn find(&self, value: u64) -> Option<usize> {
        let h = self.hint.get();
        if let Some(i) = self.in_run(h, value) {
            return Some(i);
        }
        let j = self.runs.partition_point(|r| r.0 <= value).checked_sub(1)?;
        let i = self.in_run(j, value)?;
        self.hint.set(j);
        Some(i)
    }

    /// `value`'s row if run `j` holds it.
    fn in_run(&self, j: usize, value: u64) -> Option<usize> {
        let &(v0, r0) = self.runs.get(j)?;
        let end = self.runs.get(j + 1).map_or(self.vals.len(), |r| r.1);
        let i = r0.checked_add(usize::try_from(value.checked_sub(v0)?).ok()?)?;
        (i < end).then_some(i)
    }

    fn part(&mut self, tp: &TopicPartition) -> u32 {
        if let Some((last, id)) = &self.last_part {
            if last == tp {
                return *id;
            }
        }
        if let Some(&id) = self.part_ids.get(tp) {
            self.last_part = Some((tp.clone(), id));
            return id;
        }
        let id = self.parts.len() as u32;
        self.parts.push(tp.clone());
        self.part_ids.insert(tp.clone(), id);
        self.slots.push(Vec::new());
        id
    }

    /// The slot of `offset` in partition `p`, grown on demand (offsets are dense: a log
    /// gives every record the next one).
    fn slot_at(&mut self, p: u32, offset: Offset) -> &mut Slot {
        let v = &mut self.slots[p as usize];
        let i = offset.0 as usize;
        if i >= v.len() {
            v.resize(i + 1, Slot::default());
        }
        &mut v[i]
    }

    fn slot(&self, tp: &TopicPartition, offset: Offset) -> Option<&Slot> {
        let p = *self.part_ids.get(tp)?;
        self.slots[p as usize].get(usize::try_from(offset.0).ok()?)
    }

    fn slot_mut(&mut self, tp: &TopicPartition, offset: Offset) -> Option<&mut Slot> {
        let p = *self.part_ids.get(tp)?;
        self.slots[p as usize].get_mut(usize::try_from(offset.0).ok()?)
    }

    /// Adds one piece of the history: a run in one step where it can (its rows and slots
    /// found once), any other operation one by one.
    fn add_piece(&mut self, piece: &Piece<'_>) {
        match piece {
            Piece::Invoke {
                at,
                value,
                count,
                key,
                tombstone,
                ..
            } => {
                let key = key.map_or(u32::MAX, |k| {
                    self.keys.push(k.clone());
                    self.keys.len() as u32 - 1
                });
                let rows = self.rows(*value, *count);
                for k in 0..*count {
                    let row = rows.map(|i| i + k as usize);
                    let v = self.row_mut(value.wrapping_add(k as u64), row);
                    // A new invoke starts the send again: its node, key and outcome.
                    (v.node, v.key, v.tombstone, v.outcome) =
                        (at.node, key, *tombstone, Outcome::None);
                    v.invokes = v.invokes.saturating_add(1);
                    v.sent = true;
                }
            }
            Piece::SendOk {
                at,
                tp,
                value,
                offset,
                count,
            } => {
                *self.counts.entry("acked").or_insert(0) += *count as u64;
                let p = self.part(tp);
                let rows = self.rows(*value, *count);
                for k in 0..*count {
                    let (v, o) = (value.wrapping_add(k as u64), offset_at(*offset, k));
                    self.send_ok(p, v, o, at, rows.map(|i| i + k as usize));
                }
            }
            Piece::Processed {
                at,
                tp,
                value,
                offset,
                count,
            } => {
                self.has_consumers = true;
                self.has_processing = true;
                let p = self.part(tp);
                let rows = self.rows(*value, *count);
                for k in 0..*count {
                    let (v, o) = (value.wrapping_add(k as u64), offset_at(*offset, k));
                    self.processed(p, tp, o, v, at, rows.map(|i| i + k as usize));
                }
            }
            Piece::Poll { at, records, .. } => {
                self.has_consumers = true;
                let n: u64 = records.iter().map(|r| r.count as u64).sum();
                *self.counts.entry("consumed").or_insert(0) += n;
                for r in records {
                    let p = self.part(&r.tp);
                    let rows = self.rows(r.value, r.count);
                    for k in 0..r.count {
                        let (v, o) = (r.value.wrapping_add(k as u64), r.offset_at(k));
                        let row = rows.map(|i| i + k as usize);
                        self.saw(p, &r.tp, o, v, at.event, row);
                        let v = self.row_mut(v, row);
                        if v.read == 0 {
                            v.read = at.event;
                        }
                    }
                }
            }
            Piece::Op { at, op } => self.add_op(at, op),
            Piece::Event(_) => {}
        }
    }

    fn send_ok(&mut self, p: u32, value: u64, offset: Offset, at: &At, row: Option<usize>) {
        if offset >= Offset::ZERO {
            self.slot_at(p, offset).flags |= ACKED;
        }
        if let Some(v) = self.end_send(value, at.node, Outcome::Ok, row) {
            (v.ok_event, v.ok_offset, v.ok_part) = (at.event, offset, p);
        }
    }

    /// The operations a run never holds, one by one.
    fn add_op(&mut self, at: &At, op: &HistoryOp) {
        use crate::kafka::clients::consumer::CommitException;
        match op {
            HistoryOp::SendInvoke { .. }
            | HistoryOp::SendOk { .. }
            | HistoryOp::Processed { .. }
            | HistoryOp::Poll { .. } => {
                // Always packed in runs; read as a run of one all the same.
                self.add_piece(&Piece::of_op(*at, op));
            }
            HistoryOp::SendFail { value, .. } => {
                *self.counts.entry("produce-errors").or_insert(0) += 1;
                self.end_send(*value, at.node, Outcome::Fail, None);
            }
            HistoryOp::SendIndeterminate { value, .. } => {
                self.end_send(*value, at.node, Outcome::Indeterminate, None);
            }
            HistoryOp::CommitOk { offsets } => {
                for (tp, offset) in offsets {
                    let c = self
                        .committed
                        .entry(tp.clone())
                        .or_insert((*offset, at.event));
                    if *offset > c.0 {
                        *c = (*offset, at.event);
                    }
                }
            }
            HistoryOp::CommitFail { error } => {
                if error.exception == CommitException::CommitFailed {
                    *self.counts.entry("commit-failed").or_insert(0) += 1;
                }
            }
            HistoryOp::ReadCommitted => {
                self.read_committed
                    .insert(self.nodes[at.node as usize].clone());
            }
            HistoryOp::Assigned { .. } => {
                self.has_consumers = true;
                self.has_processing = true;
            }
            HistoryOp::Crashed | HistoryOp::TxnBegin | HistoryOp::TxnEnd { .. } => {}
        }
    }

    /// Records the outcome (a definite success wins over an earlier indeterminate report);
    /// the row to fill in when the outcome was recorded.
    fn end_send(
        &mut self,
        value: u64,
        node: u32,
        outcome: Outcome,
        row: Option<usize>,
    ) -> Option<&mut Val> {
        let v = self.row_mut(value, row);
        if !v.sent {
            // An outcome without an invoke (a hand-written history, or a client that
            // reports only outcomes) creates the send.
            (v.sent, v.node) = (true, node);
        }
        if v.outcome == Outcome::Ok {
            return None;
        }
        v.outcome = outcome;
        Some(v)
    }

    fn processed(
        &mut self,
        p: u32,
        tp: &TopicPartition,
        offset: Offset,
        value: u64,
        at: &At,
        row: Option<usize>,
    ) {
        self.row_mut(value, row).processed = true;
        // The slot holds a record's first processing, unless an earlier one is kept aside.
        let first = self.more_processed.is_empty()
            || !self
                .more_processed
                .contains_key(&(tp.clone(), offset, value));
        if offset >= Offset::ZERO && first {
            let s = self.slot_at(p, offset);
            if s.flags & OBSERVED != 0 && s.value == value && s.flags & PROCESSED == 0 {
                (s.proc_event, s.proc_node) = (at.event, at.node);
                s.flags |= PROCESSED;
                return;
            }
        }
        let name = self.nodes[at.node as usize].clone();
        let list = self
            .more_processed
            .entry((tp.clone(), offset, value))
            .or_default();
        list.push((at.event, name));
    }

    fn store(
        &mut self,
        p: u32,
        tp: &TopicPartition,
        offset: Offset,
        value: u64,
        row: Option<usize>,
    ) {
        let v = self.row_mut(value, row);
        v.stored = v.stored.saturating_add(1);
        let at_ack = v.outcome == Outcome::Ok && v.ok_part == p && v.ok_offset == offset;
        if at_ack && !v.stored_at_ack {
            v.stored_at_ack = true;
        } else {
            let list = self.stored_more.entry(value).or_default();
            list.push((tp.clone(), offset));
        }
    }

    /// `value` seen at `offset` of partition `p` (`tp`) by poll `event` (0: the final log).
    fn saw(
        &mut self,
        p: u32,
        tp: &TopicPartition,
        offset: Offset,
        value: u64,
        event: u64,
        row: Option<usize>,
    ) {
        let new_position = if offset < Offset::ZERO {
            self.saw_other(tp, offset, value, event)
        } else {
            let s = self.slot_at(p, offset);
            if s.flags & OBSERVED == 0 {
                (s.value, s.first_event, s.flags) = (value, event, s.flags | OBSERVED);
                if event == 0 {
                    s.flags |= FINAL;
                }
                true
            } else if s.value == value {
                if event == 0 {
                    s.flags |= FINAL;
                } else if s.first_event == 0 {
                    s.first_event = event;
                } else {
                    self.rereads.push((p, offset, event));
                }
                false
            } else {
                self.saw_other(tp, offset, value, event)
            }
        };
        if new_position {
            let v = self.row_mut(value, row);
            v.positions = v.positions.saturating_add(1);
        }
    }

    fn saw_other(&mut self, tp: &TopicPartition, offset: Offset, value: u64, event: u64) -> bool {
        let at = self.others.entry((tp.clone(), offset)).or_default();
        let events = at.entry(value).or_default();
        events.push(event);
        events.len() == 1
    }

    /// Every value seen at `offset` of `tp`, ascending, each with the events that saw it
    /// there in order (0: the final log).
    pub fn values_at(&self, tp: &TopicPartition, offset: Offset) -> Vec<(u64, Vec<u64>)> {
        let mut out: Vec<(u64, Vec<u64>)> = Vec::new();
        if let Some(s) = self.slot(tp, offset).filter(|s| s.flags & OBSERVED != 0) {
            let mut events = Vec::new();
            if s.first_event != 0 {
                events.push(s.first_event);
            }
            let p = self.part_ids[tp];
            let from = self
                .rereads
                .partition_point(|&(q, o, _)| (q, o) < (p, offset));
            let more = self.rereads[from..].iter();
            events.extend(
                more.take_while(|&&(q, o, _)| (q, o) == (p, offset))
                    .map(|r| r.2),
            );
            if s.flags & FINAL != 0 {
                events.push(0);
            }
            out.push((s.value, events));
        }
        if let Some(others) = self.others.get(&(tp.clone(), offset)) {
            out.extend(others.iter().map(|(v, e)| (*v, e.clone())));
        }
        out.sort_by_key(|(v, _)| *v);
        out
    }

    /// Positions where more than one value was seen, in order.
    pub fn conflicts(&self) -> impl Iterator<Item = &Pos> + '_ {
        self.others.keys()
    }

    /// The smallest value seen at `offset` of `tp`.
    pub fn value_at(&self, tp: &TopicPartition, offset: Offset) -> Option<u64> {
        let slot = self.slot(tp, offset).filter(|s| s.flags & OBSERVED != 0);
        let other = self.others.get(&(tp.clone(), offset));
        let other = other.and_then(|m| m.keys().next().copied());
        match (slot.map(|s| s.value), other) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Whether the final log holds a value other than `v` at `offset` of `tp`.
    pub fn other_stored_at(&self, tp: &TopicPartition, offset: Offset, v: u64) -> bool {
        let slot = self.slot(tp, offset);
        slot.is_some_and(|s| s.flags & FINAL != 0 && s.value != v)
            || self
                .others
                .get(&(tp.clone(), offset))
                .is_some_and(|m| m.iter().any(|(&o, e)| o != v && e.contains(&0)))
    }

    /// The final-log positions of `v`, in (partition, offset) order.
    pub fn stored(&self, v: u64) -> Vec<Pos> {
        let Some(row) = self.val(v).filter(|r| r.stored > 0) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        if row.stored_at_ack {
            out.push((self.parts[row.ok_part as usize].clone(), row.ok_offset));
        }
        out.extend(self.stored_more.get(&v).into_iter().flatten().cloned());
        out.sort();
        out
    }

    pub fn is_stored(&self, v: u64) -> bool {
        self.val(v).is_some_and(|r| r.stored > 0)
    }

    /// The first poll event that returned `v`, if any.
    pub fn read(&self, v: u64) -> Option<u64> {
        self.val(v).map(|r| r.read).filter(|&e| e != 0)
    }

    pub fn key(&self, v: &Val) -> Option<&Arc<str>> {
        self.keys.get(v.key as usize)
    }

    /// The acknowledged position of `v` (outcome ok).
    pub fn acked_at(&self, v: u64) -> Option<Pos> {
        let r = self.val(v).filter(|r| r.outcome == Outcome::Ok)?;
        Some((self.parts[r.ok_part as usize].clone(), r.ok_offset))
    }

    /// Records processed more than once: only these can be in `more_processed`.
    pub fn reprocessings(&self) -> Vec<((TopicPartition, Offset, u64), Vec<Processing>)> {
        let mut out = Vec::new();
        for ((tp, o, v), more) in &self.more_processed {
            let mut all = Vec::new();
            if let Some(s) = self.slot(tp, *o) {
                if s.flags & PROCESSED != 0 && s.value == *v {
                    all.push((s.proc_event, self.nodes[s.proc_node as usize].clone()));
                }
            }
            all.extend(more.iter().cloned());
            if all.len() > 1 {
                out.push(((tp.clone(), *o, *v), all));
            }
        }
        out
    }

    /// The records of the final logs, in (partition, offset) order: (partition, offset,
    /// value).
    pub fn final_records(&self) -> impl Iterator<Item = (&TopicPartition, Offset, u64)> + '_ {
        self.part_ids.iter().flat_map(move |(tp, &p)| {
            let slots = self.slots[p as usize].iter().enumerate();
            slots.flat_map(move |(o, s)| {
                let o = Offset(o as i64);
                let here = (s.flags & FINAL != 0).then_some(s.value);
                if self.others.is_empty() {
                    // The usual case: at most the slot's own value, no list to build.
                    return Either::One(here.map(|v| (tp, o, v)).into_iter());
                }
                let others = self.others.get(&(tp.clone(), o));
                let others = others.into_iter().flatten();
                let others = others.filter(|(_, e)| e.contains(&0)).map(|(v, _)| *v);
                let mut vs: Vec<u64> = here.into_iter().chain(others).collect();
                vs.sort_unstable();
                Either::Many(vs.into_iter().map(move |v| (tp, o, v)))
            })
        })
    }

    /// A consume-transform-produce pipeline has processed an input when its output (the
    /// input's value with [`OUTPUT_BIT`] set) is in the final logs, committed — whether or
    /// not the application lived to see its commit return.
    ///
    /// [`OUTPUT_BIT`]: crate::workload::consumer_txn::OUTPUT_BIT
    fn processed_by_outputs(&mut self) {
        use crate::workload::consumer_txn::OUTPUT_BIT;
        let outputs = self.all_values();
        let outputs = outputs.filter(|(v, r)| r.stored > 0 && v & OUTPUT_BIT != 0);
        let mut inputs: Vec<u64> = outputs.map(|(v, _)| v & !OUTPUT_BIT).collect();
        inputs.sort_unstable();
        let output: Arc<str> = Arc::from("output");
        for v in inputs {
            if self.val(v).is_some_and(|r| r.processed) {
                continue;
            }
            for (tp, offset) in self.stored(v) {
                let list = self.more_processed.entry((tp, offset, v)).or_default();
                list.push((0, output.clone()));
            }
            self.val_mut(v).processed = true;
        }
    }

    /// The acknowledged records the cleaner removed: absent from a compacted final log,
    /// below its first dirty offset, their offset not reused (no later acknowledgement of
    /// another value at it, no other value there in the final log: a truncation reuses
    /// offsets, compaction never does), and superseded — a later record
    /// of the key is in the log, or a tombstone of the key at or after it was removed too.
    fn removed_by_compaction(&self, logs: &FinalLogs) -> BTreeSet<(TopicPartition, Offset, u64)> {
        if logs.compaction.is_empty() {
            return BTreeSet::new();
        }
        // An offset acknowledged for two values was reused: a truncation removed the
        // earlier one (a loss), and only the last acknowledged may have been compacted. A
        // value other than `v` in the final log at the offset rules compaction out too.
        let mut last_acked: BTreeMap<(&TopicPartition, Offset), (u64, u64)> = BTreeMap::new();
        for (v, tp, o, event, _) in self.acked() {
            let e = last_acked.entry((tp, o)).or_insert((event, v));
            if event > e.0 {
                *e = (event, v);
            }
        }
        let reused = |v: u64, tp: &TopicPartition, o: Offset| {
            last_acked.get(&(tp, o)).is_some_and(|&(_, last)| last != v)
                || self.other_stored_at(tp, o, v)
        };
        let mut tombstones: BTreeMap<(&TopicPartition, &Arc<str>), Offset> = BTreeMap::new();
        for (v, tp, o, ..) in self.acked() {
            let s = self.val(v).expect("an acknowledged value has a row");
            if let (true, Some(k)) = (s.tombstone, self.key(s)) {
                if s.stored == 0 {
                    let t = tombstones.entry((tp, k)).or_insert(o);
                    *t = (*t).max(o);
                }
            }
        }
        let mut out = BTreeSet::new();
        for (v, tp, o, ..) in self.acked() {
            let s = self.val(v).expect("an acknowledged value has a row");
            let (Some(c), Some(k)) = (logs.compaction.get(tp), self.key(s)) else {
                continue;
            };
            if s.stored > 0 || o < Offset::ZERO || o >= c.cleaned_upto || reused(v, tp, o) {
                continue;
            }
            let superseded = c.latest.get(k).is_some_and(|&l| l > o);
            let deleted = tombstones
                .get(&(tp, k))
                .is_some_and(|&t| t >= o && t < c.cleaned_upto);
            if superseded || deleted {
                out.insert((tp.clone(), o, v));
            }
        }
        out
    }

    /// Offsets of `tp` strictly between `from` and `to` known to hold a record (a final
    /// log, a poll or an acknowledgement saw them), ascending.
    pub fn known_between(&self, tp: &TopicPartition, from: Offset, to: Offset) -> Vec<Offset> {
        if to <= from + 1 {
            return Vec::new();
        }
        let mut out = Vec::new();
        if let Some(&p) = self.part_ids.get(tp) {
            let slots = &self.slots[p as usize];
            let lo = (from.0 + 1).max(0) as usize;
            let hi = (to.0.max(0) as usize).min(slots.len());
            for (i, s) in slots.get(lo..hi).unwrap_or(&[]).iter().enumerate() {
                if s.flags & (OBSERVED | ACKED) != 0 {
                    out.push(Offset((lo + i) as i64));
                }
            }
        }
        let (lo, hi) = ((tp.clone(), from + 1), (tp.clone(), to));
        let negative = self.others.range(lo..hi).map(|((_, o), _)| *o);
        out.extend(negative.filter(|o| *o < Offset::ZERO));
        out.sort_unstable();
        out.dedup();
        // A reader jumps over what the cleaner removed, as Kafka's consumers do.
        out.retain(|&o| {
            let (lo, hi) = ((tp.clone(), o, 0), (tp.clone(), o, u64::MAX));
            self.compacted.range(lo..=hi).next().is_none()
        });
        out
    }

    /// Has a group committed past `offset` of `tp` (declared the record done)?
    pub fn committed_past(&self, tp: &TopicPartition, offset: Offset) -> bool {
        self.committed.get(tp).is_some_and(|(c, _)| *c > offset)
    }

    /// Whether retention deleted `offset` of `tp`: it is below the final log's log start.
    pub fn deleted_by_retention(&self, tp: &TopicPartition, offset: Offset) -> bool {
        self.log_start.get(tp).is_some_and(|&s| offset < s)
    }

    /// Acknowledged sends: (value, partition, offset, ack event, producer node), by value.
    pub fn acked(&self) -> impl Iterator<Item = (u64, &TopicPartition, Offset, u64, &str)> {
        let hidden = &self.txn_hidden;
        let ok = self.values().filter(|(_, r)| r.outcome == Outcome::Ok);
        let ok = ok.filter(move |(v, _)| hidden.is_empty() || !hidden.contains(v));
        ok.map(|(value, r)| {
            let tp = &self.parts[r.ok_part as usize];
            let node = &*self.nodes[r.node as usize];
            (value, tp, r.ok_offset, r.ok_event, node)
        })
    }

    /// Values seen at more than one (partition, offset), by any reader or the final log,
    /// each with its positions in order (values in ascending order).
    pub fn multi_positions(&self) -> Vec<(u64, Vec<Pos>)> {
        let rows = self.all_values().filter(|(_, r)| r.positions > 1);
        let multi: BTreeSet<u64> = rows.map(|(v, _)| v).collect();
        if multi.is_empty() {
            return Vec::new();
        }
        let mut at: BTreeMap<u64, Vec<Pos>> = BTreeMap::new();
        for (tp, &p) in &self.part_ids {
            for (o, s) in self.slots[p as usize].iter().enumerate() {
                if s.flags & OBSERVED != 0 && multi.contains(&s.value) {
                    let pos = (tp.clone(), Offset(o as i64));
                    at.entry(s.value).or_default().push(pos);
                }
            }
        }
        for (pos, values) in &self.others {
            for v in values.keys().filter(|v| multi.contains(v)) {
                at.entry(*v).or_default().push(pos.clone());
            }
        }
        at.into_iter()
            .map(|(v, mut ps)| {
                ps.sort();
                (v, ps)
            })
            .collect()
    }
}

/// The bytes of a value row and of an offset slot (a test keeps them from growing).
#[cfg(test)]
pub fn row_sizes() -> (usize, usize) {
    (std::mem::size_of::<Val>(), std::mem::size_of::<Slot>())
}

/// Every invoked value once, ascending, as runs `(value, count)` of consecutive values.
pub fn invoked_runs(history: &History) -> Vec<(u64, u32)> {
    let runs = history.pieces().filter_map(|p| match p {
        Piece::Invoke { value, count, .. } => Some((value, count)),
        _ => None,
    });
    union(runs.collect())
}

/// Runs of values `(value, count)` merged into disjoint ascending runs (a value invoked
/// twice is once in them).
pub fn union(mut runs: Vec<(u64, u32)>) -> Vec<(u64, u32)> {
    runs.sort_unstable();
    let mut out: Vec<(u64, u32)> = Vec::with_capacity(runs.len());
    for (v, n) in runs {
        let end = v + n as u64;
        match out.last_mut() {
            Some((lv, ln)) if v <= *lv + *ln as u64 && end - *lv <= u32::MAX as u64 => {
                *ln = (*ln as u64).max(end - *lv) as u32;
            }
            _ => out.push((v, n)),
        }
    }
    out
}

/// One of two iterators (`final_records`' fast and general paths).
enum Either<A, B> {
    One(A),
    Many(B),
}

impl<T, A: Iterator<Item = T>, B: Iterator<Item = T>> Iterator for Either<A, B> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        match self {
            Either::One(a) => a.next(),
            Either::Many(b) => b.next(),
        }
    }
}
