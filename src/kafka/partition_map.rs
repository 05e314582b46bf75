//! `PartitionMap`: a map keyed by `TopicPartition` that finds an entry in O(1), with the part
//! of `VecMap`'s (and so `BTreeMap`'s) API the broker uses.
//!
//! Why: a broker's partitions are looked up for every partition of every Fetch and Produce it
//! handles, and a follower's fetch names every partition it follows on that leader. With
//! 10,000 partitions a sorted vector costs a dozen comparisons per lookup, and those lookups
//! were a sixth of a 10,000-partition run. Kafka's `ReplicaManager.allPartitions` is a hash
//! map for the same reason. Here each topic (a handful per cluster, found by pointer
//! comparison of interned names) has a vector indexed by partition number, so a lookup is a
//! short scan of topics and one index.
//!
//! Iteration is in key order — topics by name, then partition numbers — exactly a
//! `BTreeMap<TopicPartition, V>`'s, so swapping one for the other leaves every trace unchanged.
//! Slots are boxed, so a topic of 10,000 partitions of which a broker hosts a third costs
//! 8 bytes per absent partition.
//!
//! The map also remembers which entries it handed out for change (`get_mut`, `insert`,
//! `iter_mut`…) since [`PartitionMap::clear_touched`] — the simulation clears it when a
//! broker's event begins — so the replication invariant checker, which runs after every
//! event, re-reads only the partitions that event can have changed instead of all of a
//! broker's hundreds. Nothing changes an entry without passing through one of those
//! methods, so the list can hold more than what changed, never less.
//!
//! `OrderedPartitionMap` is for a map that is iterated, and read by position, more than it
//! changes (a consumer's assigned partitions): a `VecMap` (dense iteration, the `i`-th key in
//! O(1)) beside a `PartitionMap` of each key's index, so a lookup is O(1) too. The index is
//! rebuilt lazily after an insert or a removal, and a lookup checks the key it finds there,
//! falling back to the sorted map's search: a stale index costs time, never a wrong answer.

use std::fmt;

use crate::kafka::types::{Topic, TopicPartition};
use crate::sim::VecMap;

/// One topic's entries, indexed by partition number.
type Slots<V> = Vec<Option<Box<(TopicPartition, V)>>>;

/// A map from `TopicPartition` to `V`; see the module documentation. Lookups are
/// `#[inline]`: a broker makes several per message (−1.4 % instructions on `bench e2e-sync`).
#[derive(Clone)]
pub struct PartitionMap<V> {
    topics: VecMap<Topic, Slots<V>>,
    len: usize,
    /// Entries handed out for change since `clear_touched` (with repeats), unless `all`.
    touched: Vec<TopicPartition>,
    /// Every entry may have changed (`iter_mut`, or more hand-outs than entries).
    all: bool,
}

impl<V> Default for PartitionMap<V> {
    fn default() -> Self {
        PartitionMap {
            topics: VecMap::new(),
            len: 0,
            touched: Vec::new(),
            all: false,
        }
    }
}

impl<V: fmt::Debug> fmt::Debug for PartitionMap<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<V> PartitionMap<V> {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn clear(&mut self) {
        self.topics.clear();
        self.len = 0;
        self.touch_all();
    }

    /// Forgets which entries were handed out for change (an event begins).
    pub fn clear_touched(&mut self) {
        self.touched.clear();
        self.all = false;
    }

    /// The entries handed out for change since [`PartitionMap::clear_touched`], with
    /// repeats, in the order they were; `None`: possibly all of them.
    pub fn touched(&self) -> Option<&[TopicPartition]> {
        (!self.all).then_some(&self.touched[..])
    }

    fn touch(&mut self, tp: &TopicPartition) {
        if self.all {
            return;
        }
        if self.touched.len() > self.len.max(16) {
            self.touch_all();
        } else {
            self.touched.push(tp.clone());
        }
    }

    fn touch_all(&mut self) {
        self.all = true;
        self.touched.clear();
    }

    /// The entry of `tp` with its key.
    pub fn get_key_value(&self, tp: &TopicPartition) -> Option<(&TopicPartition, &V)> {
        self.slot(tp).map(|(k, v)| (k, v))
    }

    #[inline]
    fn slot(&self, tp: &TopicPartition) -> Option<&(TopicPartition, V)> {
        let slots = self.topics.get(&tp.topic)?;
        slots.get(tp.partition as usize)?.as_deref()
    }

    #[inline]
    pub fn get(&self, tp: &TopicPartition) -> Option<&V> {
        self.slot(tp).map(|(_, v)| v)
    }

    #[inline]
    pub fn get_mut(&mut self, tp: &TopicPartition) -> Option<&mut V> {
        self.touch(tp);
        let slots = self.topics.get_mut(&tp.topic)?;
        let entry = slots.get_mut(tp.partition as usize)?.as_deref_mut()?;
        Some(&mut entry.1)
    }

    #[inline]
    pub fn contains_key(&self, tp: &TopicPartition) -> bool {
        self.slot(tp).is_some()
    }

    pub fn insert(&mut self, tp: TopicPartition, value: V) -> Option<V> {
        self.touch(&tp);
        let slots = self.topics.entry(tp.topic).or_default();
        let i = tp.partition as usize;
        if slots.len() <= i {
            slots.resize_with(i + 1, || None);
        }
        let old = slots[i].replace(Box::new((tp, value)));
        match old {
            Some(old) => Some(old.1),
            None => {
                self.len += 1;
                None
            }
        }
    }

    /// The entry of `tp`, inserted with `make()` if absent (`entry(tp).or_insert_with`).
    pub fn get_or_insert_with(&mut self, tp: &TopicPartition, make: impl FnOnce() -> V) -> &mut V {
        self.touch(tp);
        let slots = self.topics.entry(tp.topic).or_default();
        let i = tp.partition as usize;
        if slots.len() <= i {
            slots.resize_with(i + 1, || None);
        }
        let slot = &mut slots[i];
        if slot.is_none() {
            *slot = Some(Box::new((tp.clone(), make())));
            self.len += 1;
        }
        &mut slot.as_mut().expect("filled above").1
    }

    pub fn remove(&mut self, tp: &TopicPartition) -> Option<V> {
        self.touch(tp);
        let slots = self.topics.get_mut(&tp.topic)?;
        let old = slots.get_mut(tp.partition as usize)?.take()?;
        self.len -= 1;
        if slots.iter().all(Option::is_none) {
            self.topics.remove(&tp.topic);
        }
        Some(old.1)
    }

    /// Entries in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&TopicPartition, &V)> + '_ {
        self.topics
            .values()
            .flat_map(|slots| slots.iter().flatten().map(|e| (&e.0, &e.1)))
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&TopicPartition, &mut V)> + '_ {
        self.touch_all();
        self.topics
            .values_mut()
            .flat_map(|slots| slots.iter_mut().flatten().map(|e| (&e.0, &mut e.1)))
    }

    pub fn keys(&self) -> impl Iterator<Item = &TopicPartition> + '_ {
        self.iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> impl Iterator<Item = &V> + '_ {
        self.iter().map(|(_, v)| v)
    }

    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut V> + '_ {
        self.iter_mut().map(|(_, v)| v)
    }
}

impl<'a, V> IntoIterator for &'a PartitionMap<V> {
    type Item = (&'a TopicPartition, &'a V);
    type IntoIter = Iter<'a, V>;

    fn into_iter(self) -> Iter<'a, V> {
        Iter {
            topics: Box::new(self.topics.values()),
            slots: [].iter(),
        }
    }
}

/// The entries of a `PartitionMap` in key order (`for (tp, v) in &map`).
pub struct Iter<'a, V> {
    topics: Box<dyn Iterator<Item = &'a Slots<V>> + 'a>,
    slots: std::slice::Iter<'a, Option<Box<(TopicPartition, V)>>>,
}

impl<'a, V> Iterator for Iter<'a, V> {
    type Item = (&'a TopicPartition, &'a V);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(e) = self.slots.by_ref().flatten().next() {
                return Some((&e.0, &e.1));
            }
            self.slots = self.topics.next()?.iter();
        }
    }
}

impl<V> std::ops::Index<&TopicPartition> for PartitionMap<V> {
    type Output = V;

    fn index(&self, tp: &TopicPartition) -> &V {
        self.get(tp).expect("no entry for this partition")
    }
}

/// A sorted map of partitions with O(1) lookups; see the module documentation.
#[derive(Clone, Debug)]
pub struct OrderedPartitionMap<V> {
    entries: VecMap<TopicPartition, V>,
    /// Each key's index in `entries`, unless `stale`.
    index: PartitionMap<usize>,
    stale: bool,
}

impl<V> Default for OrderedPartitionMap<V> {
    fn default() -> Self {
        OrderedPartitionMap {
            entries: VecMap::new(),
            index: PartitionMap::new(),
            stale: false,
        }
    }
}

impl<V> OrderedPartitionMap<V> {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn clear(&mut self) {
        self.entries.clear();
        self.index.clear();
        self.stale = false;
    }

    /// The index of `tp` in `entries` if the index knows it and is right about it.
    fn indexed(&self, tp: &TopicPartition) -> Option<usize> {
        let i = *self.index.get(tp)?;
        (self.entries.key_at(i) == Some(tp)).then_some(i)
    }

    fn reindex(&mut self) {
        self.index.clear();
        for (i, tp) in self.entries.keys().enumerate() {
            self.index.insert(tp.clone(), i);
        }
        self.stale = false;
    }

    pub fn get(&self, tp: &TopicPartition) -> Option<&V> {
        match self.indexed(tp) {
            Some(i) => self.entries.get_index(i).map(|(_, v)| v),
            None if self.stale => self.entries.get(tp),
            None => None,
        }
    }

    pub fn get_mut(&mut self, tp: &TopicPartition) -> Option<&mut V> {
        if self.stale {
            self.reindex();
        }
        let i = self.indexed(tp)?;
        self.entries.get_index_mut(i).map(|(_, v)| v)
    }

    pub fn contains_key(&self, tp: &TopicPartition) -> bool {
        self.get(tp).is_some()
    }

    pub fn insert(&mut self, tp: TopicPartition, value: V) -> Option<V> {
        self.stale = true;
        self.entries.insert(tp, value)
    }

    pub fn remove(&mut self, tp: &TopicPartition) -> Option<V> {
        self.stale = true;
        self.entries.remove(tp)
    }

    /// The `i`-th key in order, in O(1).
    pub fn key_at(&self, i: usize) -> Option<&TopicPartition> {
        self.entries.key_at(i)
    }

    /// Entries in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&TopicPartition, &V)> + '_ {
        self.entries.iter()
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&TopicPartition, &mut V)> + '_ {
        self.entries.iter_mut()
    }

    pub fn keys(&self) -> impl Iterator<Item = &TopicPartition> + '_ {
        self.entries.keys()
    }

    pub fn values(&self) -> impl Iterator<Item = &V> + '_ {
        self.entries.values()
    }

    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut V> + '_ {
        self.entries.values_mut()
    }
}

impl<'a, V> IntoIterator for &'a OrderedPartitionMap<V> {
    type Item = (&'a TopicPartition, &'a V);
    type IntoIter = <&'a VecMap<TopicPartition, V> as IntoIterator>::IntoIter;

    fn into_iter(self) -> Self::IntoIter {
        (&self.entries).into_iter()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    #[test]
    fn the_ordered_map_behaves_as_a_btree_map_with_a_stale_or_fresh_index() {
        // Proves lookups through the index agree with a BTreeMap after inserts and
        // removals (index stale: read-only lookups fall back; a mutable one rebuilds it),
        // and positional keys follow key order.
        let mut m = OrderedPartitionMap::new();
        let mut b = BTreeMap::new();
        let mut x: u64 = 11;
        for step in 0..3_000u64 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let tp =
                TopicPartition::new(["t", "a"][(x >> 62) as usize % 2], ((x >> 33) % 200) as u32);
            match (x >> 20) % 5 {
                0 => assert_eq!(m.remove(&tp), b.remove(&tp)),
                1 | 2 => assert_eq!(m.insert(tp.clone(), step), b.insert(tp.clone(), step)),
                3 => assert_eq!(m.get_mut(&tp).map(|v| *v), b.get(&tp).copied()),
                _ => {}
            }
            assert_eq!(m.get(&tp), b.get(&tp));
            assert_eq!(m.len(), b.len());
        }
        let keys: Vec<_> = b.keys().cloned().collect();
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(m.key_at(i), Some(k));
            assert_eq!(m.get_mut(k).map(|v| *v), b.get(k).copied());
        }
        assert_eq!(m.key_at(keys.len()), None);
    }

    use super::*;

    #[test]
    fn behaves_as_a_btree_map_in_content_and_order() {
        // Proves inserts, replacements, removals and lookups match a BTreeMap's, and
        // iteration is in the same key order across topics and sparse partition numbers.
        let mut m = PartitionMap::new();
        let mut b = BTreeMap::new();
        let topics = ["orders", "b", "orders-eu", "a"];
        let mut x: u64 = 7;
        for step in 0..2_000u64 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let tp = TopicPartition::new(topics[(x >> 60) as usize % 4], ((x >> 33) % 300) as u32);
            if (x >> 20).is_multiple_of(3) {
                assert_eq!(m.remove(&tp), b.remove(&tp));
            } else {
                assert_eq!(m.insert(tp.clone(), step), b.insert(tp.clone(), step));
            }
            assert_eq!(m.get(&tp), b.get(&tp));
            assert_eq!(m.contains_key(&tp), b.contains_key(&tp));
        }
        assert_eq!(m.len(), b.len());
        let tp = TopicPartition::new("c", 7);
        *m.get_or_insert_with(&tp, || 1) += 1;
        *b.entry(tp.clone()).or_insert(1) += 1;
        *m.get_or_insert_with(&tp, || 100) += 1;
        *b.entry(tp.clone()).or_insert(100) += 1;
        assert_eq!(m.get(&tp), Some(&3));
        assert_eq!(m.len(), b.len());
        let ours: Vec<_> = m.iter().map(|(k, v)| (k.clone(), *v)).collect();
        let theirs: Vec<_> = b.iter().map(|(k, v)| (k.clone(), *v)).collect();
        assert_eq!(ours, theirs);
        let by_ref: Vec<_> = (&m).into_iter().map(|(k, v)| (k.clone(), *v)).collect();
        assert_eq!(by_ref, theirs);
        for v in m.values_mut() {
            *v += 1;
        }
        assert_eq!(
            m.values().sum::<u64>(),
            b.values().map(|v| v + 1).sum::<u64>()
        );
    }

    #[test]
    fn remembers_what_it_handed_out_for_change() {
        // Proves `touched` holds every entry handed out mutably since `clear_touched` (and
        // no entry only read), says "all" after `iter_mut`, and falls back to "all" rather
        // than growing past the map's size.
        let mut m = PartitionMap::new();
        for p in 0..40 {
            m.insert(TopicPartition::new("t", p), p);
        }
        m.clear_touched();
        assert_eq!(m.touched(), Some(&[][..]));
        let _ = m.get(&TopicPartition::new("t", 1));
        *m.get_mut(&TopicPartition::new("t", 7)).unwrap() += 1;
        m.remove(&TopicPartition::new("t", 9));
        *m.get_or_insert_with(&TopicPartition::new("t", 50), || 0) += 1;
        let want = [
            TopicPartition::new("t", 7),
            TopicPartition::new("t", 9),
            TopicPartition::new("t", 50),
        ];
        assert_eq!(m.touched(), Some(&want[..]));
        for v in m.values_mut() {
            *v += 1;
        }
        assert_eq!(m.touched(), None);
        m.clear_touched();
        for _ in 0..100 {
            m.get_mut(&TopicPartition::new("t", 3));
        }
        assert_eq!(m.touched(), None, "more hand-outs than entries: all");
    }
}
