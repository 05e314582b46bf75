//! The event queue: a min-heap on (time, insertion sequence). Ties are broken by the order
//! of insertion, never by addresses or hashes. Payloads live in a slab beside the heap, so
//! sifting moves 24-byte keys instead of whole events (which may carry Kafka requests).

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use super::time::Time;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Key {
    at: Time,
    seq: u64,
    slot: u32,
}

impl Ord for Key {
    // Reversed: BinaryHeap is a max-heap and we want the earliest (time, seq) first.
    fn cmp(&self, o: &Self) -> Ordering {
        (o.at, o.seq).cmp(&(self.at, self.seq))
    }
}

impl PartialOrd for Key {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

/// A queue of `E` ordered by (time, insertion sequence).
#[derive(Clone, Debug)]
pub struct EventQueue<E> {
    heap: BinaryHeap<Key>,
    slab: Vec<Option<E>>,
    free: Vec<u32>,
    seq: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        EventQueue {
            heap: BinaryHeap::new(),
            slab: Vec::new(),
            free: Vec::new(),
            seq: 0,
        }
    }
}

impl<E> EventQueue<E> {
    /// Queues `ev` at `at`, after everything already queued for the same time.
    #[inline]
    pub fn push(&mut self, at: Time, ev: E) {
        self.seq += 1;
        let slot = match self.free.pop() {
            Some(s) => {
                self.slab[s as usize] = Some(ev);
                s
            }
            None => {
                self.slab.push(Some(ev));
                (self.slab.len() - 1) as u32
            }
        };
        self.heap.push(Key {
            at,
            seq: self.seq,
            slot,
        });
    }

    /// Time of the earliest event.
    #[inline]
    pub fn peek_time(&self) -> Option<Time> {
        self.heap.peek().map(|k| k.at)
    }

    /// Removes the earliest event.
    #[inline]
    pub fn pop(&mut self) -> Option<(Time, E)> {
        let k = self.heap.pop()?;
        let ev = self.slab[k.slot as usize]
            .take()
            .expect("queued slot holds an event");
        self.free.push(k.slot);
        Some((k.at, ev))
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Drops every queued event for which `keep` is false. The order of the others is
    /// unchanged: it depends only on their (time, sequence) keys, not on the heap's layout.
    pub fn retain(&mut self, mut keep: impl FnMut(&E) -> bool) {
        let mut heap = std::mem::take(&mut self.heap).into_vec();
        heap.retain(|k| {
            let ev = self.slab[k.slot as usize]
                .as_ref()
                .expect("queued slot holds an event");
            if keep(ev) {
                true
            } else {
                self.slab[k.slot as usize] = None;
                self.free.push(k.slot);
                false
            }
        });
        self.heap = BinaryHeap::from(heap);
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_by_time_then_insertion() {
        // Proves ties at one time come out in insertion order, earlier times first.
        let mut q = EventQueue::default();
        q.push(Time(5), "b");
        q.push(Time(1), "a");
        q.push(Time(5), "c");
        q.push(Time(3), "x");
        let out: Vec<&str> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(out, vec!["a", "x", "b", "c"]);
    }

    #[test]
    fn retain_drops_events_and_keeps_order() {
        // Proves retain removes exactly the rejected events and leaves the order intact.
        let mut q = EventQueue::default();
        for (t, e) in [(5, 1), (1, 2), (5, 3), (3, 4), (1, 5)] {
            q.push(Time(t), e);
        }
        q.retain(|e| e % 2 == 1);
        q.push(Time(0), 7);
        let out: Vec<i32> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(out, vec![7, 5, 1, 3]);
    }
}
