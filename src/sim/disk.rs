//! A node's simulated disk. Each file is a sequence of entries. A write lands in the "page
//! cache" at once and becomes durable only when flushed (`fsync`, or the OS's periodic
//! writeback). This is what separates the two crash kinds of the fault model:
//!
//! * `kill` (the process dies): the page cache survives, so every write is still there;
//! * `power-loss` (the machine dies): each file reverts to what was last flushed, and with
//!   `torn` a random prefix of the unflushed appends survives, as a torn write would.
//!
//! Entries are opaque to the kernel (`Arc<dyn Any>`): a clone of a disk copies pointers,
//! never payloads, so checkpoints of a world stay cheap.

use std::any::Any;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use super::rng::{self, Rng};

/// One stored entry; cheap to clone.
pub type Entry = Arc<dyn Any + Send + Sync>;

/// A file. What survives a power loss (its durable content) is `entries[..same_prefix]`
/// followed by `durable_tail`: a log that is only appended to keeps no second copy, and a
/// flush costs nothing but moving `same_prefix`.
#[derive(Clone, Default)]
struct File {
    /// What a reader sees now (page cache included).
    entries: Vec<Entry>,
    /// Length of the prefix of `entries` that is durable as it is.
    same_prefix: usize,
    /// Durable entries after that prefix, overwritten or truncated away since the last
    /// flush (empty while the file was only appended to).
    durable_tail: Vec<Entry>,
}

impl File {
    fn flush(&mut self) {
        self.durable_tail.clear();
        self.same_prefix = self.entries.len();
    }

    fn dirty(&self) -> bool {
        self.same_prefix != self.entries.len() || !self.durable_tail.is_empty()
    }

    fn durable_len(&self) -> usize {
        self.same_prefix + self.durable_tail.len()
    }

    /// Cuts the visible content to `len` entries; durable ones cut away move to the tail.
    fn cut(&mut self, len: usize) {
        if len < self.same_prefix {
            let mut tail: Vec<Entry> = self.entries[len..self.same_prefix].to_vec();
            tail.append(&mut self.durable_tail);
            self.durable_tail = tail;
            self.same_prefix = len;
        }
        self.entries.truncate(len);
    }
}

/// A handle on one file of one disk (from [`Disk::file_id`]): appends through it skip the
/// lookup by name. A deleted file keeps its slot, so a handle on any other file stays valid.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct FileId(usize);

/// The disk of one node: named files of opaque entries.
#[derive(Clone, Default)]
pub struct Disk {
    /// Files in creation order; `names` maps a name to its index.
    files: Vec<File>,
    names: BTreeMap<String, usize>,
    /// Entries written since the disk was created (for statistics).
    pub writes: u64,
    /// Flushes performed (for statistics).
    pub flushes: u64,
}

impl fmt::Debug for Disk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let files: Vec<(&String, usize, usize)> = self
            .names
            .iter()
            .map(|(n, &i)| (n, self.files[i].entries.len(), self.files[i].durable_len()))
            .collect();
        f.debug_struct("Disk").field("files", &files).finish()
    }
}

impl Disk {
    pub fn new() -> Disk {
        Disk::default()
    }

    fn file(&mut self, name: &str) -> &mut File {
        let FileId(i) = self.file_id(name);
        &mut self.files[i]
    }

    fn get(&self, name: &str) -> Option<&File> {
        self.names.get(name).map(|&i| &self.files[i])
    }

    /// The handle of `name`, creating the file (empty) if it does not exist.
    pub fn file_id(&mut self, name: &str) -> FileId {
        if let Some(&i) = self.names.get(name) {
            return FileId(i);
        }
        self.files.push(File::default());
        self.names.insert(name.to_string(), self.files.len() - 1);
        FileId(self.files.len() - 1)
    }

    /// Appends an already shared entry to the file `id` of this disk.
    pub fn append_to(&mut self, id: FileId, entry: Entry) {
        self.writes += 1;
        self.files[id.0].entries.push(entry);
    }

    /// Appends one entry to `name` (volatile until flushed).
    pub fn append<T: Any + Send + Sync>(&mut self, name: &str, value: T) {
        self.append_entry(name, Arc::new(value));
    }

    /// Appends an already shared entry (no copy of the payload).
    pub fn append_entry(&mut self, name: &str, entry: Entry) {
        self.writes += 1;
        self.file(name).entries.push(entry);
    }

    /// Cuts `name` down to its first `len` entries (volatile until flushed).
    pub fn truncate(&mut self, name: &str, len: usize) {
        let f = self.file(name);
        if len < f.entries.len() {
            f.cut(len);
        }
    }

    /// Deletes the file `name` (a log segment removed by retention): it disappears from
    /// the disk at once and for good, power loss included (like a journaled unlink). Its
    /// slot stays, so handles on other files stay valid; a later `file_id(name)` creates a
    /// new, empty file.
    pub fn delete(&mut self, name: &str) {
        if let Some(i) = self.names.remove(name) {
            self.files[i] = File::default();
        }
    }

    /// Replaces the whole content of `name` with one entry, like writing a checkpoint file.
    pub fn overwrite<T: Any + Send + Sync>(&mut self, name: &str, value: T) {
        self.writes += 1;
        let f = self.file(name);
        f.cut(0);
        f.entries.push(Arc::new(value));
    }

    /// Makes everything written to `name` durable (fsync).
    pub fn flush(&mut self, name: &str) {
        self.flushes += 1;
        self.file(name).flush();
    }

    /// Makes every file durable (what the OS writeback or a clean shutdown does).
    pub fn flush_all(&mut self) {
        self.flushes += 1;
        for f in &mut self.files {
            f.flush();
        }
    }

    /// Number of entries a reader sees in `name`.
    pub fn len(&self, name: &str) -> usize {
        self.get(name).map_or(0, |f| f.entries.len())
    }

    pub fn is_empty(&self, name: &str) -> bool {
        self.len(name) == 0
    }

    /// Number of entries of `name` that would survive a power loss.
    pub fn durable_len(&self, name: &str) -> usize {
        self.get(name).map_or(0, File::durable_len)
    }

    /// Whether `name` holds writes not yet flushed.
    pub fn is_dirty(&self, name: &str) -> bool {
        self.get(name).is_some_and(File::dirty)
    }

    /// The entries of `name` that are of type `T`, in order.
    pub fn read<'a, T: Any>(&'a self, name: &str) -> impl Iterator<Item = &'a T> + 'a {
        self.get(name)
            .into_iter()
            .flat_map(|f| f.entries.iter())
            .filter_map(|e| e.downcast_ref::<T>())
    }

    /// The shared entries of `name` (to keep a cheap handle on them).
    pub fn entries(&self, name: &str) -> &[Entry] {
        self.get(name).map_or(&[], |f| &f.entries)
    }

    /// The last entry of `name` if it is a `T` (checkpoint files).
    pub fn last<T: Any>(&self, name: &str) -> Option<&T> {
        self.get(name)
            .and_then(|f| f.entries.last())
            .and_then(|e| e.downcast_ref::<T>())
    }

    /// File names, in order.
    pub fn file_names(&self) -> impl Iterator<Item = &str> {
        self.names.keys().map(String::as_str)
    }

    /// The names starting with `prefix`, in order: `file_names()` filtered, found by a range
    /// of the sorted names instead of a scan of all of them (a broker opening its 1,000th
    /// partition no longer reads the other 999 partitions' file names).
    pub fn file_names_with_prefix<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = &'a str> {
        self.names
            .range::<str, _>((
                std::ops::Bound::Included(prefix),
                std::ops::Bound::Unbounded,
            ))
            .map(|(n, _)| n.as_str())
            .take_while(move |n| n.starts_with(prefix))
    }

    /// Power loss: every file reverts to its durable content. With `torn`, a random prefix of
    /// a file's unflushed appends survives (only where the file was only appended to since
    /// its last flush, as a torn sequential write would leave it). Returns entries lost.
    pub fn power_loss(&mut self, torn: bool, rng: &mut Rng) -> usize {
        let mut lost = 0;
        // In name order: the torn prefixes draw from `rng` file by file.
        for &i in self.names.values() {
            let f = &mut self.files[i];
            let appended_only = f.durable_tail.is_empty();
            let before = f.entries.len();
            let mut keep = f.same_prefix;
            if torn && appended_only && f.entries.len() > f.same_prefix {
                let extra = f.entries.len() - f.same_prefix;
                keep += rng::between(rng, 0, extra as u64) as usize;
            }
            f.entries.truncate(keep);
            let tail = std::mem::take(&mut f.durable_tail);
            f.entries.extend(tail);
            lost += before.saturating_sub(f.entries.len());
            f.same_prefix = f.entries.len();
        }
        lost
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(d: &Disk, name: &str) -> Vec<u32> {
        d.read::<u32>(name).copied().collect()
    }

    #[test]
    fn names_with_a_prefix_are_the_filtered_names_in_order() {
        // Proves the range lookup returns exactly file_names() filtered by the prefix, in
        // the same order, including names that sort right after the prefix's range.
        let mut d = Disk::new();
        for n in [
            "t-1/0.log",
            "t-10/0.log",
            "t-1/5.log",
            "t-1.ckpt",
            "t-0/0.log",
            "t-1/",
            "u",
        ] {
            d.append(n, 0u8);
        }
        for prefix in ["t-1/", "t-1", "t-", "", "v", "t-10/"] {
            let ranged: Vec<&str> = d.file_names_with_prefix(prefix).collect();
            let filtered: Vec<&str> = d.file_names().filter(|n| n.starts_with(prefix)).collect();
            assert_eq!(ranged, filtered, "prefix {prefix:?}");
        }
        assert_eq!(d.file_names_with_prefix("t-1/").count(), 3);
    }

    #[test]
    fn unflushed_appends_vanish_on_power_loss() {
        // Proves power loss keeps exactly the flushed prefix.
        let mut d = Disk::new();
        d.append("log", 1u32);
        d.append("log", 2u32);
        d.flush("log");
        d.append("log", 3u32);
        let lost = d.power_loss(false, &mut rng::derive(1, 1));
        assert_eq!(lost, 1);
        assert_eq!(values(&d, "log"), vec![1, 2]);
    }

    #[test]
    fn truncation_below_flushed_point_is_undone_by_power_loss() {
        // Proves an unflushed truncation is itself volatile.
        let mut d = Disk::new();
        for v in 1..=3u32 {
            d.append("log", v);
        }
        d.flush("log");
        d.truncate("log", 1);
        d.append("log", 9u32);
        assert_eq!(values(&d, "log"), vec![1, 9]);
        d.power_loss(false, &mut rng::derive(1, 1));
        assert_eq!(values(&d, "log"), vec![1, 2, 3]);
    }

    #[test]
    fn overwritten_durable_content_comes_back_after_power_loss() {
        // Proves an unflushed overwrite keeps the old durable entries (in the durable tail),
        // a torn power loss adds nothing to a file that was not only appended to, and the
        // file is clean afterwards.
        let mut d = Disk::new();
        d.append("cp", 1u32);
        d.append("cp", 2u32);
        d.flush("cp");
        d.overwrite("cp", 9u32);
        d.append("cp", 10u32);
        assert_eq!(values(&d, "cp"), vec![9, 10]);
        assert!(d.is_dirty("cp"));
        assert_eq!(d.durable_len("cp"), 2);
        let lost = d.power_loss(true, &mut rng::derive(3, 1));
        assert_eq!(lost, 0, "two entries visible before, two after");
        assert_eq!(values(&d, "cp"), vec![1, 2]);
        assert!(!d.is_dirty("cp"));
    }

    #[test]
    fn flush_after_truncate_persists_new_content() {
        // Proves flush copies only what changed and the result is exact.
        let mut d = Disk::new();
        for v in 1..=3u32 {
            d.append("log", v);
        }
        d.flush("log");
        d.truncate("log", 2);
        d.append("log", 7u32);
        d.flush("log");
        d.power_loss(false, &mut rng::derive(1, 1));
        assert_eq!(values(&d, "log"), vec![1, 2, 7]);
    }

    #[test]
    fn torn_write_keeps_a_prefix() {
        // Proves a torn power loss keeps a prefix of the unflushed appends, never a gap.
        for seed in 0..20 {
            let mut d = Disk::new();
            d.append("log", 0u32);
            d.flush("log");
            for v in 1..=10u32 {
                d.append("log", v);
            }
            d.power_loss(true, &mut rng::derive(seed, 1));
            let got = values(&d, "log");
            assert!(!got.is_empty());
            assert_eq!(got, (0..got.len() as u32).collect::<Vec<_>>());
        }
    }

    #[test]
    fn overwrite_is_volatile_until_flushed() {
        // Proves a checkpoint file rewrite is lost on power loss unless flushed.
        let mut d = Disk::new();
        d.overwrite("hw", 5u64);
        d.flush("hw");
        d.overwrite("hw", 9u64);
        assert_eq!(d.last::<u64>("hw"), Some(&9));
        d.power_loss(false, &mut rng::derive(1, 1));
        assert_eq!(d.last::<u64>("hw"), Some(&5));
    }
}
