//! The event queue: a min-heap on (time, insertion sequence). Ties are broken by the order
//! of insertion, never by addresses or hashes. Payloads live in a slab beside the heap, so
//! sifting moves 24-byte keys instead of whole events (which may carry Kafka requests).
//!
//! The heap is *indexed*: every slab slot knows where its key sits in the heap, so an entry
//! can be taken out from the middle in O(log n) ([`EventQueue::remove`]). The kernel uses it
//! to cancel timers for real instead of leaving dead entries to be skipped when due; the
//! queue then holds only live work, and stays small.
//!
//! Most entries are message deliveries, which cannot be cancelled and, over links of one
//! latency, arrive in time order. [`EventQueue::push_fifo`] appends such an entry to a plain
//! FIFO lane when it sorts after the lane's last entry (else it goes to the heap). `pop`
//! takes the smaller of the lane's front and the heap's top by (time, sequence): the order
//! is exactly the one a single heap gives; the lane only saves the sifting.

use std::collections::VecDeque;

use super::time::Time;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Key {
    at: Time,
    seq: u64,
    slot: u32,
}

impl Key {
    #[inline]
    fn before(&self, o: &Key) -> bool {
        (self.at, self.seq) < (o.at, o.seq)
    }
}

/// Where an entry sits in the slab: returned by [`EventQueue::push`], accepted by
/// [`EventQueue::remove`]. Only meaningful until the entry is popped or removed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Handle {
    slot: u32,
    seq: u64,
}

/// A queue of `E` ordered by (time, insertion sequence).
#[derive(Clone, Debug)]
pub struct EventQueue<E> {
    heap: Vec<Key>,
    /// Payloads by slot; `None` for free slots.
    slab: Vec<Option<E>>,
    /// For each slot, its key's index in `heap` (meaningless for free slots).
    pos: Vec<u32>,
    /// Sequence number of the entry in each slot (to recognise stale handles).
    seqs: Vec<u64>,
    free: Vec<u32>,
    seq: u64,
    /// Uncancellable entries in (time, sequence) order.
    fifo: VecDeque<(Time, u64, E)>,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        EventQueue {
            heap: Vec::new(),
            slab: Vec::new(),
            pos: Vec::new(),
            seqs: Vec::new(),
            free: Vec::new(),
            seq: 0,
            fifo: VecDeque::new(),
        }
    }
}

impl<E> EventQueue<E> {
    /// Queues `ev` at `at`, after everything already queued for the same time.
    #[inline]
    pub fn push(&mut self, at: Time, ev: E) -> Handle {
        self.seq += 1;
        let slot = match self.free.pop() {
            Some(s) => {
                self.slab[s as usize] = Some(ev);
                self.seqs[s as usize] = self.seq;
                s
            }
            None => {
                self.slab.push(Some(ev));
                self.pos.push(0);
                self.seqs.push(self.seq);
                (self.slab.len() - 1) as u32
            }
        };
        let i = self.heap.len();
        self.heap.push(Key {
            at,
            seq: self.seq,
            slot,
        });
        self.pos[slot as usize] = i as u32;
        self.sift_up(i);
        Handle {
            slot,
            seq: self.seq,
        }
    }

    /// Queues `ev` at `at` like [`push`](Self::push), for an entry that will never be
    /// removed: it goes to the FIFO lane when that keeps the lane in order.
    #[inline]
    pub fn push_fifo(&mut self, at: Time, ev: E) {
        if self.fifo.back().is_some_and(|&(last, _, _)| at < last) {
            self.push(at, ev);
            return;
        }
        self.seq += 1;
        self.fifo.push_back((at, self.seq, ev));
    }

    /// Whether the FIFO lane's front comes before the heap's top.
    #[inline]
    fn fifo_first(&self) -> Option<bool> {
        match (self.fifo.front(), self.heap.first()) {
            (None, None) => None,
            (Some(_), None) => Some(true),
            (None, Some(_)) => Some(false),
            (Some(&(at, seq, _)), Some(k)) => Some((at, seq) < (k.at, k.seq)),
        }
    }

    /// Time of the earliest event.
    #[inline]
    pub fn peek_time(&self) -> Option<Time> {
        match (self.fifo.front(), self.heap.first()) {
            (Some(&(at, _, _)), Some(k)) => Some(at.min(k.at)),
            (Some(&(at, _, _)), None) => Some(at),
            (None, k) => k.map(|k| k.at),
        }
    }

    /// Removes the earliest event.
    #[inline]
    pub fn pop(&mut self) -> Option<(Time, E)> {
        if self.fifo_first()? {
            let (at, _, ev) = self.fifo.pop_front().expect("front checked");
            return Some((at, ev));
        }
        let k = *self.heap.first()?;
        Some((k.at, self.take(0)))
    }

    /// Takes out the entry `h` names, if it is still queued.
    pub fn remove(&mut self, h: Handle) -> Option<(Time, E)> {
        let s = h.slot as usize;
        if self.seqs.get(s) != Some(&h.seq) || self.slab[s].is_none() {
            return None;
        }
        let i = self.pos[s] as usize;
        let at = self.heap[i].at;
        Some((at, self.take(i)))
    }

    /// Removes the key at heap index `i` and returns its payload.
    fn take(&mut self, i: usize) -> E {
        let k = self.heap[i];
        let last = self.heap.pop().expect("non-empty");
        if i < self.heap.len() {
            self.heap[i] = last;
            self.pos[last.slot as usize] = i as u32;
            if i > 0 && last.before(&self.heap[(i - 1) / 2]) {
                self.sift_up(i);
            } else {
                self.sift_down(i);
            }
        }
        self.free.push(k.slot);
        self.slab[k.slot as usize]
            .take()
            .expect("queued slot holds an event")
    }

    #[inline]
    fn sift_up(&mut self, mut i: usize) {
        let k = self.heap[i];
        while i > 0 {
            let parent = (i - 1) / 2;
            let p = self.heap[parent];
            if !k.before(&p) {
                break;
            }
            self.heap[i] = p;
            self.pos[p.slot as usize] = i as u32;
            i = parent;
        }
        self.heap[i] = k;
        self.pos[k.slot as usize] = i as u32;
    }

    #[inline]
    fn sift_down(&mut self, mut i: usize) {
        let k = self.heap[i];
        let n = self.heap.len();
        loop {
            let left = 2 * i + 1;
            if left >= n {
                break;
            }
            let right = left + 1;
            let child = if right < n && self.heap[right].before(&self.heap[left]) {
                right
            } else {
                left
            };
            let c = self.heap[child];
            if !c.before(&k) {
                break;
            }
            self.heap[i] = c;
            self.pos[c.slot as usize] = i as u32;
            i = child;
        }
        self.heap[i] = k;
        self.pos[k.slot as usize] = i as u32;
    }

    pub fn len(&self) -> usize {
        self.heap.len() + self.fifo.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty() && self.fifo.is_empty()
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
    fn remove_takes_out_one_entry_and_keeps_order() {
        // Proves removing entries from the middle leaves the others in (time, seq) order,
        // and that a handle to a popped or removed entry no longer removes anything.
        let mut q = EventQueue::default();
        let handles: Vec<Handle> = [(5, 1), (1, 2), (5, 3), (3, 4), (1, 5), (4, 6)]
            .into_iter()
            .map(|(t, e)| q.push(Time(t), e))
            .collect();
        assert_eq!(q.remove(handles[3]), Some((Time(3), 4)));
        assert_eq!(q.remove(handles[1]), Some((Time(1), 2)));
        assert_eq!(q.remove(handles[1]), None);
        q.push(Time(0), 7);
        let out: Vec<i32> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(out, vec![7, 5, 6, 1, 3]);
        assert_eq!(q.remove(handles[0]), None);
    }

    #[test]
    fn matches_a_sorted_reference_under_random_pushes_pops_and_removes() {
        // Proves the indexed heap and its FIFO lane against a plain sorted list over many
        // random operations.
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut q = EventQueue::default();
        // (time, seq, handle); no handle for entries pushed to the FIFO lane.
        let mut reference: Vec<(u64, u64, Option<Handle>)> = Vec::new();
        let mut seq = 0;
        let mut fifo_t = 0;
        for _ in 0..20_000 {
            match rng.gen_range(0..6) {
                0 | 3 if reference.len() < 500 => {
                    seq += 1;
                    let t = rng.gen_range(0..100);
                    let h = q.push(Time(t), seq);
                    reference.push((t, seq, Some(h)));
                }
                4 | 5 if reference.len() < 500 => {
                    // Mostly in order (the lane), sometimes not (falls back to the heap).
                    seq += 1;
                    fifo_t = if rng.gen_range(0..8) == 0 {
                        rng.gen_range(0..100)
                    } else {
                        (fifo_t + rng.gen_range(0..3)) % 100
                    };
                    q.push_fifo(Time(fifo_t), seq);
                    reference.push((fifo_t, seq, None));
                }
                1 if !reference.is_empty() => {
                    reference.sort_by_key(|r| (r.0, r.1));
                    let (t, s, _) = reference.remove(0);
                    assert_eq!(q.pop(), Some((Time(t), s)));
                }
                2 if reference.iter().any(|r| r.2.is_some()) => {
                    let removable: Vec<usize> = (0..reference.len())
                        .filter(|&i| reference[i].2.is_some())
                        .collect();
                    let i = removable[rng.gen_range(0..removable.len())];
                    let (t, s, h) = reference.swap_remove(i);
                    assert_eq!(q.remove(h.expect("removable")), Some((Time(t), s)));
                }
                _ => {}
            }
            assert_eq!(q.len(), reference.len());
        }
        reference.sort_by_key(|r| (r.0, r.1));
        for (t, s, _) in reference {
            assert_eq!(q.pop(), Some((Time(t), s)));
        }
        assert!(q.is_empty());
    }
}
