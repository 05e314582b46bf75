//! `VecMap`: an ordered map kept as one sorted vector, with the part of `BTreeMap`'s API the
//! brokers and clients use, so either can stand in for the other.
//!
//! Why: the maps on the hot paths of a run (a broker's partitions, a producer's batches and
//! requests in flight, a consumer's positions) hold a handful of entries and are read
//! thousands of times per simulated second. A `BTreeMap` walks nodes and compares keys by
//! `Ord` (for a `TopicPartition`, bytes of topic names); here a small map is one contiguous
//! slice scanned with `==` (a pointer and an integer for a `TopicPartition`), and a large one
//! is binary-searched. Iteration is in key order, exactly as a `BTreeMap`'s, so a run's
//! trace does not depend on which of the two holds the data.
//!
//! Costs: insert and remove shift the tail of the vector (O(n)); keys that arrive in
//! increasing order (ids, correlation ids) are pushed at the end. Meant for maps of tens of
//! entries, not thousands.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Index;

/// Up to this many entries a lookup scans with `==` instead of binary search.
const LINEAR_SCAN: usize = 16;

/// An ordered map over a sorted `Vec<(K, V)>`; see the module documentation.
#[derive(Clone, PartialEq, Eq)]
pub struct VecMap<K, V> {
    entries: Vec<(K, V)>,
}

impl<K, V> Default for VecMap<K, V> {
    fn default() -> Self {
        VecMap {
            entries: Vec::new(),
        }
    }
}

impl<K: fmt::Debug, V: fmt::Debug> fmt::Debug for VecMap<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.entries.iter().map(|(k, v)| (k, v)))
            .finish()
    }
}

impl<K, V> VecMap<K, V> {
    pub const fn new() -> Self {
        VecMap {
            entries: Vec::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// Entries in key order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&K, &V)> + ExactSizeIterator + '_ {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    pub fn iter_mut(
        &mut self,
    ) -> impl DoubleEndedIterator<Item = (&K, &mut V)> + ExactSizeIterator + '_ {
        self.entries.iter_mut().map(|(k, v)| (&*k, v))
    }

    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &K> + ExactSizeIterator + '_ {
        self.entries.iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> impl DoubleEndedIterator<Item = &V> + ExactSizeIterator + '_ {
        self.entries.iter().map(|(_, v)| v)
    }

    pub fn values_mut(&mut self) -> impl DoubleEndedIterator<Item = &mut V> + ExactSizeIterator {
        self.entries.iter_mut().map(|(_, v)| v)
    }

    pub fn into_values(self) -> impl DoubleEndedIterator<Item = V> + ExactSizeIterator {
        self.entries.into_iter().map(|(_, v)| v)
    }

    /// The `i`-th key in order (as `keys().nth(i)`, in O(1)).
    pub fn key_at(&self, i: usize) -> Option<&K> {
        self.entries.get(i).map(|(k, _)| k)
    }

    /// The `i`-th entry in order, in O(1).
    pub fn get_index(&self, i: usize) -> Option<(&K, &V)> {
        self.entries.get(i).map(|(k, v)| (k, v))
    }

    /// The `i`-th entry in order, in O(1), its value mutable.
    pub fn get_index_mut(&mut self, i: usize) -> Option<(&K, &mut V)> {
        self.entries.get_mut(i).map(|(k, v)| (&*k, v))
    }

    pub fn first_key_value(&self) -> Option<(&K, &V)> {
        self.entries.first().map(|(k, v)| (k, v))
    }

    pub fn last_key_value(&self) -> Option<(&K, &V)> {
        self.entries.last().map(|(k, v)| (k, v))
    }

    pub fn pop_first(&mut self) -> Option<(K, V)> {
        (!self.entries.is_empty()).then(|| self.entries.remove(0))
    }

    /// Keeps the entries for which `keep` is true, in order.
    pub fn retain(&mut self, mut keep: impl FnMut(&K, &mut V) -> bool) {
        self.entries.retain_mut(|(k, v)| keep(k, v));
    }
}

impl<K: Ord, V> VecMap<K, V> {
    /// The index of `key`, if present.
    #[inline]
    fn index_of<Q>(&self, key: &Q) -> Option<usize>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        if self.entries.len() <= LINEAR_SCAN {
            self.entries.iter().position(|(k, _)| k.borrow() == key)
        } else {
            self.entries
                .binary_search_by(|(k, _)| k.borrow().cmp(key))
                .ok()
        }
    }

    /// `Ok(index)` of `key`, or `Err(index)` where it would be inserted.
    #[inline]
    fn slot(&self, key: &K) -> Result<usize, usize> {
        if self.entries.len() <= LINEAR_SCAN {
            if let Some(i) = self.entries.iter().position(|(k, _)| k == key) {
                return Ok(i);
            }
        }
        match self.entries.last() {
            None => Err(0),
            Some((last, _)) if *last < *key => Err(self.entries.len()),
            Some(_) => self.entries.binary_search_by(|(k, _)| k.cmp(key)),
        }
    }

    #[inline]
    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.index_of(key).map(|i| &self.entries[i].1)
    }

    #[inline]
    pub fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.index_of(key).map(|i| &mut self.entries[i].1)
    }

    pub fn get_key_value<Q>(&self, key: &Q) -> Option<(&K, &V)>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.index_of(key).map(|i| {
            let (k, v) = &self.entries[i];
            (k, v)
        })
    }

    #[inline]
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.index_of(key).is_some()
    }

    /// Inserts or replaces; returns the value replaced, as `BTreeMap::insert` does.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        match self.slot(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.entries[i].1, value)),
            Err(i) => {
                self.entries.insert(i, (key, value));
                None
            }
        }
    }

    pub fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.index_of(key).map(|i| self.entries.remove(i).1)
    }

    pub fn entry(&mut self, key: K) -> Entry<'_, K, V> {
        let slot = self.slot(&key);
        Entry {
            map: self,
            key,
            slot,
        }
    }
}

/// A place in a [`VecMap`], occupied or not (the subset of `btree_map::Entry` in use).
pub struct Entry<'a, K, V> {
    map: &'a mut VecMap<K, V>,
    key: K,
    slot: Result<usize, usize>,
}

impl<'a, K, V> Entry<'a, K, V> {
    pub fn or_insert_with(self, make: impl FnOnce() -> V) -> &'a mut V {
        let i = match self.slot {
            Ok(i) => i,
            Err(i) => {
                self.map.entries.insert(i, (self.key, make()));
                i
            }
        };
        &mut self.map.entries[i].1
    }

    pub fn or_insert(self, value: V) -> &'a mut V {
        self.or_insert_with(|| value)
    }

    pub fn or_default(self) -> &'a mut V
    where
        V: Default,
    {
        self.or_insert_with(V::default)
    }

    pub fn and_modify(self, f: impl FnOnce(&mut V)) -> Self {
        if let Ok(i) = self.slot {
            f(&mut self.map.entries[i].1);
        }
        self
    }
}

impl<K: Ord, V, Q> Index<&Q> for VecMap<K, V>
where
    K: Borrow<Q>,
    Q: Ord + ?Sized,
{
    type Output = V;

    fn index(&self, key: &Q) -> &V {
        self.get(key).expect("key present in VecMap")
    }
}

impl<K: Ord, V> FromIterator<(K, V)> for VecMap<K, V> {
    /// Like `BTreeMap`: sorted by key, a later value for the same key wins.
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut entries: Vec<(K, V)> = iter.into_iter().collect();
        entries.reverse(); // the stable sort then keeps the last value of a key first
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        entries.dedup_by(|later, first| later.0 == first.0);
        VecMap { entries }
    }
}

impl<K: Ord, V> Extend<(K, V)> for VecMap<K, V> {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k, v);
        }
    }
}

impl<K, V> IntoIterator for VecMap<K, V> {
    type Item = (K, V);
    type IntoIter = std::vec::IntoIter<(K, V)>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

impl<'a, K, V> IntoIterator for &'a VecMap<K, V> {
    type Item = (&'a K, &'a V);
    type IntoIter = std::iter::Map<std::slice::Iter<'a, (K, V)>, fn(&'a (K, V)) -> (&'a K, &'a V)>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter().map(|(k, v)| (k, v))
    }
}

impl<'a, K, V> IntoIterator for &'a mut VecMap<K, V> {
    type Item = (&'a K, &'a mut V);
    type IntoIter =
        std::iter::Map<std::slice::IterMut<'a, (K, V)>, fn(&'a mut (K, V)) -> (&'a K, &'a mut V)>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter_mut().map(|(k, v)| (&*k, v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    #[derive(Clone, Debug)]
    enum Op {
        Insert(u16, u32),
        Remove(u16),
        Entry(u16, u32),
        Retain(u16),
        PopFirst,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0u16..40, any::<u32>()).prop_map(|(k, v)| Op::Insert(k, v)),
            2 => (0u16..40).prop_map(Op::Remove),
            2 => (0u16..40, any::<u32>()).prop_map(|(k, v)| Op::Entry(k, v)),
            1 => (1u16..7).prop_map(Op::Retain),
            1 => Just(Op::PopFirst),
        ]
    }

    proptest! {
        /// Every operation answers as `BTreeMap`'s does, and iteration order is the same,
        /// on both sides of the linear-scan threshold.
        #[test]
        fn behaves_like_btreemap(ops in proptest::collection::vec(op(), 0..200)) {
            let mut ours: VecMap<u16, u32> = VecMap::new();
            let mut reference: BTreeMap<u16, u32> = BTreeMap::new();
            for op in ops {
                match op {
                    Op::Insert(k, v) => prop_assert_eq!(ours.insert(k, v), reference.insert(k, v)),
                    Op::Remove(k) => prop_assert_eq!(ours.remove(&k), reference.remove(&k)),
                    Op::Entry(k, v) => {
                        *ours.entry(k).or_insert(v) += 1;
                        *reference.entry(k).or_insert(v) += 1;
                    }
                    Op::Retain(m) => {
                        ours.retain(|k, v| !(*k as u32 + *v).is_multiple_of(m as u32));
                        reference.retain(|k, v| !(*k as u32 + *v).is_multiple_of(m as u32));
                    }
                    Op::PopFirst => prop_assert_eq!(ours.pop_first(), reference.pop_first()),
                }
                prop_assert_eq!(ours.len(), reference.len());
                for k in 0u16..40 {
                    prop_assert_eq!(ours.get(&k), reference.get(&k));
                    prop_assert_eq!(ours.contains_key(&k), reference.contains_key(&k));
                }
                prop_assert!(ours.iter().eq(reference.iter()));
            }
        }

        #[test]
        fn collects_like_btreemap(pairs in proptest::collection::vec((0u8..30, any::<u8>()), 0..60)) {
            let ours: VecMap<u8, u8> = pairs.iter().copied().collect();
            let reference: BTreeMap<u8, u8> = pairs.iter().copied().collect();
            prop_assert!(ours.iter().eq(reference.iter()));
        }
    }

    #[test]
    fn looks_up_borrowed_keys_and_indexes() {
        let mut m: VecMap<String, u32> = VecMap::new();
        m.insert("b".into(), 2);
        m.insert("a".into(), 1);
        assert_eq!(m.get("a"), Some(&1));
        assert_eq!(m["b"], 2);
        assert_eq!(m.keys().cloned().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(format!("{m:?}"), r#"{"a": 1, "b": 2}"#);
    }
}
