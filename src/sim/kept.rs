//! The kept history: emitted events a node type selects with `Node::keep` (the client
//! history, rare Kafka events), recorded in every trace mode.
//!
//! It only grows, and the workbench clones the whole world at every checkpoint. So it is
//! stored in sealed chunks shared behind `Arc`s plus a short open tail: cloning a world
//! copies a few pointers and at most one chunk, instead of the whole history — otherwise a
//! long Kafka run would cost checkpoints × history in time and memory.

use std::sync::Arc;

use super::trace::TraceRecord;

/// Records per sealed chunk.
const CHUNK: usize = 4096;

/// An append-only list of trace records, cheap to clone.
#[derive(Clone, Debug)]
pub struct KeptLog<E> {
    sealed: Vec<Arc<Vec<TraceRecord<E>>>>,
    tail: Vec<TraceRecord<E>>,
}

impl<E> Default for KeptLog<E> {
    fn default() -> Self {
        KeptLog {
            sealed: Vec::new(),
            tail: Vec::new(),
        }
    }
}

impl<E> KeptLog<E> {
    pub fn push(&mut self, rec: TraceRecord<E>) {
        if self.tail.capacity() == 0 {
            self.tail.reserve_exact(CHUNK);
        }
        self.tail.push(rec);
        if self.tail.len() == CHUNK {
            self.sealed.push(Arc::new(std::mem::take(&mut self.tail)));
        }
    }

    pub fn len(&self) -> usize {
        self.sealed.len() * CHUNK + self.tail.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The records in the order they were kept.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &TraceRecord<E>> + '_ {
        self.sealed
            .iter()
            .flat_map(|c| c.iter())
            .chain(self.tail.iter())
    }

    /// The records from position `from` on (`from` may be `len()`: nothing).
    pub fn iter_from(&self, from: usize) -> impl Iterator<Item = &TraceRecord<E>> + '_ {
        let (chunk, within) = (from / CHUNK, from % CHUNK);
        let sealed = self.sealed.get(chunk..).unwrap_or(&[]);
        let skip_sealed = if sealed.is_empty() { 0 } else { within };
        let sealed_len = self.sealed.len() * CHUNK;
        let skip_tail = from.saturating_sub(sealed_len);
        sealed
            .iter()
            .flat_map(|c| c.iter())
            .skip(skip_sealed)
            .chain(self.tail.iter().skip(skip_tail))
    }
}

impl<'a, E> IntoIterator for &'a KeptLog<E> {
    type Item = &'a TraceRecord<E>;
    type IntoIter = Box<dyn Iterator<Item = &'a TraceRecord<E>> + 'a>;
    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::time::Time;
    use crate::sim::trace::TraceKind;

    fn rec(n: u64) -> TraceRecord<u64> {
        TraceRecord {
            event: n,
            time: Time(n),
            kind: TraceKind::Emit {
                node: crate::sim::NodeId(0),
                event: n,
            },
        }
    }

    #[test]
    fn keeps_order_across_chunks_and_clones_share_sealed_chunks() {
        // Proves iteration, len and iter_from agree with a plain list across chunk
        // boundaries, and that a clone shares the sealed chunks instead of copying them.
        let mut log = KeptLog::default();
        let n = 3 * CHUNK as u64 + 17;
        for i in 0..n {
            log.push(rec(i));
        }
        assert_eq!(log.len() as u64, n);
        let all: Vec<u64> = log.iter().map(|r| r.event).collect();
        assert_eq!(all, (0..n).collect::<Vec<_>>());
        for from in [
            0,
            1,
            CHUNK - 1,
            CHUNK,
            CHUNK + 5,
            3 * CHUNK,
            3 * CHUNK + 16,
            n as usize,
        ] {
            let got: Vec<u64> = log.iter_from(from).map(|r| r.event).collect();
            assert_eq!(got, (from as u64..n).collect::<Vec<_>>(), "from {from}");
        }
        let copy = log.clone();
        assert!(Arc::ptr_eq(&copy.sealed[0], &log.sealed[0]));
        let mut grown = copy.clone();
        grown.push(rec(n));
        assert_eq!(grown.len(), log.len() + 1);
        assert_eq!(log.iter().count() as u64, n, "the original is unchanged");
        assert_eq!(
            log.iter_from(n as usize + 5).count(),
            0,
            "past the end: nothing"
        );
    }
}
