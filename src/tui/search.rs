//! The event log's search index: every trace record of the run, findable by name.
//!
//! While the replay reads the run once, each record is filed under the names it can be
//! found by — its kind (`deliver`, `drop`, `timer`, `fault`), its message or timer, Kafka's
//! name for a node event (`HighWatermark`, `LeaderElected`), the partition it concerns
//! (`orders-0`), and the nodes it involves. A name's *postings* are the records filed under
//! it, each as (event number, position among that event's records), delta-encoded in
//! variable-length bytes: about two bytes a posting, so the index of a run stays a small
//! fraction of what its records would take.
//!
//! A query is one or more words; a record matches when every word finds one of its names,
//! ignoring case, `-` and `_`: the name itself when some name is exactly the word
//! (`HighWatermark` is the event kind, not also the `high-watermark-checkpoint` timer;
//! `broker-1` is not `broker-10`), otherwise every name containing it (`leader`). The answer is the exact list of matching records
//! over the whole run, so the log can say how many there are and show those near the cursor,
//! which the replay regenerates on demand.

use std::collections::BTreeMap;

use crate::view_model::Term;

/// A record's place in the run: (event number, position among the event's records).
pub type RecordRef = (u64, u32);

/// Postings of one name.
#[derive(Clone, Debug, Default)]
struct Postings {
    bytes: Vec<u8>,
    last: RecordRef,
    count: u64,
}

impl Postings {
    fn push(&mut self, r: RecordRef) {
        if self.count > 0 && self.last == r {
            return; // the same name twice in one record
        }
        varint(&mut self.bytes, r.0 - self.last.0);
        varint(&mut self.bytes, u64::from(r.1));
        self.last = r;
        self.count += 1;
    }

    fn decode(&self) -> Vec<RecordRef> {
        let mut out = Vec::with_capacity(self.count as usize);
        let (mut i, mut ev) = (0, 0u64);
        while i < self.bytes.len() {
            let (d, j) = unvarint(&self.bytes, i);
            let (sub, k) = unvarint(&self.bytes, j);
            ev += d;
            out.push((ev, sub as u32));
            i = k;
        }
        out
    }
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn unvarint(b: &[u8], mut i: usize) -> (u64, usize) {
    let (mut v, mut shift) = (0u64, 0);
    loop {
        let byte = b[i];
        i += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return (v, i);
        }
        shift += 7;
    }
}

/// A name as queries compare it: lower case, without `-`, `_` or spaces.
pub fn normalize(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, '-' | '_' | ' '))
        .flat_map(char::to_lowercase)
        .collect()
}

/// The index of one run.
#[derive(Clone, Debug, Default)]
pub struct SearchIndex {
    /// Each name as shown, and as compared.
    names: Vec<(String, String)>,
    postings: Vec<Postings>,
    by_text: BTreeMap<String, u32>,
    /// Fast paths for fixed names (by address) and partitions (by topic address).
    by_static: BTreeMap<(usize, usize), u32>,
    by_partition: BTreeMap<(usize, u32), u32>,
    /// Node names' ids, by node index.
    nodes: Vec<u32>,
    /// Position of the next record within the current event.
    current: RecordRef,
}

impl SearchIndex {
    /// An empty index for a run whose nodes are named `node_names` (by index).
    pub fn new(node_names: &[String]) -> SearchIndex {
        let mut ix = SearchIndex::default();
        ix.nodes = node_names.iter().map(|n| ix.id_of_text(n)).collect();
        ix
    }

    fn id_of_text(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.by_text.get(s) {
            return id;
        }
        let id = self.names.len() as u32;
        self.names.push((s.to_string(), normalize(s)));
        self.postings.push(Postings::default());
        self.by_text.insert(s.to_string(), id);
        id
    }

    fn id_of(&mut self, t: Term) -> u32 {
        match t {
            Term::Name(s) => {
                let key = (s.as_ptr() as usize, s.len());
                if let Some(&id) = self.by_static.get(&key) {
                    return id;
                }
                let id = self.id_of_text(s);
                self.by_static.insert(key, id);
                id
            }
            Term::Partition(topic, p) => {
                let key = (topic.as_ptr() as usize, p);
                if let Some(&id) = self.by_partition.get(&key) {
                    return id;
                }
                let id = self.id_of_text(&format!("{topic}-{p}"));
                self.by_partition.insert(key, id);
                id
            }
        }
    }

    /// Files the next record of event `event` under `terms` and the nodes it involves.
    pub fn add(&mut self, event: u64, nodes: &[crate::sim::NodeId], terms: &[Term]) {
        let r = if self.current.0 == event {
            (event, self.current.1 + 1)
        } else {
            (event, 0)
        };
        self.current = r;
        for t in terms {
            let id = self.id_of(*t);
            self.postings[id as usize].push(r);
        }
        for n in nodes {
            if let Some(&id) = self.nodes.get(n.index()) {
                self.postings[id as usize].push(r);
            }
        }
    }

    /// The ids of the names a word finds: exactly that name if there is one, else every
    /// name containing it.
    fn ids_for(&self, word: &str) -> Vec<usize> {
        let w = normalize(word);
        let exact: Vec<usize> = (0..self.names.len())
            .filter(|&i| self.names[i].1 == w)
            .collect();
        if !exact.is_empty() {
            return exact;
        }
        (0..self.names.len())
            .filter(|&i| self.names[i].1.contains(&w))
            .collect()
    }

    /// The names a word finds.
    pub fn names_matching(&self, word: &str) -> Vec<&str> {
        self.ids_for(word)
            .into_iter()
            .map(|i| self.names[i].0.as_str())
            .collect()
    }

    /// Every record matching `query` (all of its words), in run order.
    pub fn search(&self, query: &str) -> Vec<RecordRef> {
        let mut result: Option<Vec<RecordRef>> = None;
        for word in query.split_whitespace() {
            if normalize(word).is_empty() {
                continue;
            }
            let mut hits: Vec<RecordRef> = Vec::new();
            for i in self.ids_for(word) {
                hits.extend(self.postings[i].decode());
            }
            hits.sort_unstable();
            hits.dedup();
            result = Some(match result {
                None => hits,
                Some(prev) => intersect(&prev, &hits),
            });
        }
        result.unwrap_or_default()
    }

    /// Bytes the postings take (for the performance notes).
    pub fn bytes(&self) -> usize {
        self.postings.iter().map(|p| p.bytes.len()).sum()
    }
}

fn intersect(a: &[RecordRef], b: &[RecordRef]) -> Vec<RecordRef> {
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::NodeId;

    #[test]
    fn finds_records_by_any_name_ignoring_case_and_dashes() {
        // Proves a query matches names as normalized substrings, words are AND-ed, and
        // each record is found once with its place in its event.
        let mut ix = SearchIndex::new(&["broker-1".to_string(), "broker-2".to_string()]);
        ix.add(
            1,
            &[NodeId(0)],
            &[Term::Name("emit"), Term::Name("HighWatermark")],
        );
        ix.add(
            1,
            &[NodeId(1)],
            &[Term::Name("deliver"), Term::Name("Fetch")],
        );
        ix.add(300, &[NodeId(1), NodeId(0)], &[Term::Name("drop")]);
        ix.add(70_000, &[NodeId(0)], &[Term::Partition("orders", 0)]);
        assert_eq!(ix.search("high-watermark"), vec![(1, 0)]);
        assert_eq!(ix.search("HIGHWATERMARK"), vec![(1, 0)]);
        assert_eq!(
            ix.search("broker"),
            vec![(1, 0), (1, 1), (300, 0), (70_000, 0)]
        );
        assert_eq!(ix.search("broker-1"), vec![(1, 0), (300, 0), (70_000, 0)]);
        assert_eq!(ix.search("high"), vec![(1, 0)]);
        assert_eq!(ix.search("broker-2 drop"), vec![(300, 0)]);
        assert_eq!(ix.search("orders-0"), vec![(70_000, 0)]);
        assert!(ix.search("nothing").is_empty());
    }
}
