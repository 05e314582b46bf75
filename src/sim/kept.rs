//! The kept history: emitted events a node type selects with `Node::keep` (the client
//! history, rare Kafka events), recorded in every trace mode.
//!
//! It only grows, and the workbench clones the whole world at every checkpoint. So it is
//! stored in sealed chunks shared behind `Arc`s plus a short open tail ([`Chunked`]):
//! cloning a world copies a few pointers and at most one chunk, instead of the whole
//! history — otherwise a long Kafka run would cost checkpoints × history in time and memory.
//!
//! *How* the records are stored is the node type's choice ([`KeptStore`], named by
//! `Node::Kept`): [`KeptLog`] keeps each record as it came; a node type whose kept events
//! come by the million (the Kafka client history, `workload/kept.rs`) packs them instead and
//! decodes them on the way out. Either way the store is read as a sequence of owned
//! records, one per record pushed, in push order, and positions (`len`, `iter_from`) count
//! those records, so a reader cannot tell the two apart. The trace hash is computed before
//! a record is kept, so the storage never changes it.

use std::sync::Arc;

use super::trace::TraceRecord;

/// Entries per sealed chunk.
pub const CHUNK: usize = 4096;

/// An append-only list in sealed chunks shared behind `Arc`s plus an open tail: a clone
/// copies the chunk pointers and at most one chunk.
#[derive(Clone, Debug)]
pub struct Chunked<T> {
    sealed: Vec<Arc<Vec<T>>>,
    tail: Vec<T>,
}

impl<T> Default for Chunked<T> {
    fn default() -> Self {
        Chunked {
            sealed: Vec::new(),
            tail: Vec::new(),
        }
    }
}

impl<T> Chunked<T> {
    pub fn push(&mut self, item: T) {
        if self.tail.capacity() == 0 {
            self.tail.reserve_exact(CHUNK);
        }
        self.tail.push(item);
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

    pub fn get(&self, i: usize) -> Option<&T> {
        match self.sealed.get(i / CHUNK) {
            Some(c) => c.get(i % CHUNK),
            None => self.tail.get(i - self.sealed.len() * CHUNK),
        }
    }

    /// The last entry, to extend it in place (it is in the open tail, never in a sealed,
    /// shared chunk; `None` right after a chunk was sealed).
    pub fn last_open_mut(&mut self) -> Option<&mut T> {
        self.tail.last_mut()
    }

    /// The entries in order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &T> + Clone + '_ {
        self.sealed
            .iter()
            .flat_map(|c| c.iter())
            .chain(self.tail.iter())
    }

    /// The entries from position `from` on (`from` may be `len()`: nothing).
    pub fn iter_from(&self, from: usize) -> impl Iterator<Item = &T> + Clone + '_ {
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

    /// Bytes held by the entries (capacity of the open tail included), for measurements.
    pub fn heap_bytes(&self) -> usize {
        (self.sealed.len() * CHUNK + self.tail.capacity()) * std::mem::size_of::<T>()
    }
}

/// How a node type keeps the events `Node::keep` selects: append-only, cheap to clone, read
/// back as owned records in push order.
pub trait KeptStore<E>: Default + Clone + std::fmt::Debug {
    type Iter<'a>: Iterator<Item = TraceRecord<E>>
    where
        Self: 'a;
    fn push(&mut self, rec: TraceRecord<E>);
    /// How many records were pushed.
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The records from position `from` on (`from` may be `len()`: nothing).
    fn iter_from(&self, from: usize) -> Self::Iter<'_>;
    /// The records in the order they were kept.
    fn iter(&self) -> Self::Iter<'_> {
        self.iter_from(0)
    }
}

/// The plain store: every record as it came.
#[derive(Clone, Debug)]
pub struct KeptLog<E>(Chunked<TraceRecord<E>>);

impl<E> Default for KeptLog<E> {
    fn default() -> Self {
        KeptLog(Chunked::default())
    }
}

impl<E> KeptLog<E> {
    /// The records in order, by reference.
    pub fn records(&self) -> impl DoubleEndedIterator<Item = &TraceRecord<E>> + '_ {
        self.0.iter()
    }
}

/// The store's reading API without the trait in scope.
impl<E: Clone + std::fmt::Debug> KeptLog<E> {
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn iter(&self) -> <Self as KeptStore<E>>::Iter<'_> {
        KeptStore::iter_from(self, 0)
    }
    pub fn iter_from(&self, from: usize) -> <Self as KeptStore<E>>::Iter<'_> {
        KeptStore::iter_from(self, from)
    }
}

impl<E: Clone + std::fmt::Debug> KeptStore<E> for KeptLog<E> {
    type Iter<'a>
        = std::iter::Cloned<Box<dyn Iterator<Item = &'a TraceRecord<E>> + 'a>>
    where
        E: 'a;
    fn push(&mut self, rec: TraceRecord<E>) {
        self.0.push(rec);
    }
    fn len(&self) -> usize {
        self.0.len()
    }
    fn iter_from(&self, from: usize) -> Self::Iter<'_> {
        let it: Box<dyn Iterator<Item = &TraceRecord<E>>> = Box::new(self.0.iter_from(from));
        it.cloned()
    }
}

impl<'a, E: Clone + std::fmt::Debug> IntoIterator for &'a KeptLog<E> {
    type Item = TraceRecord<E>;
    type IntoIter = <KeptLog<E> as KeptStore<E>>::Iter<'a>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
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
        assert_eq!(
            log.0.get(CHUNK + 3).map(|r| r.event),
            Some(CHUNK as u64 + 3)
        );
        assert_eq!(log.0.get(n as usize).map(|r| r.event), None);
        let copy = log.clone();
        assert!(Arc::ptr_eq(&copy.0.sealed[0], &log.0.sealed[0]));
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
