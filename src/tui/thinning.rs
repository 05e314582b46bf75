//! How many checkpoints a replay may keep. A checkpoint is a clone of the whole world, and a
//! big cluster's world is big (a hundred brokers each holding the metadata of ten thousand
//! partitions: hundreds of megabytes), so a fixed spacing that is right for a lesson would
//! fill the machine on such a run. The replay therefore watches what its checkpoints cost:
//! the process's resident memory growth since the first checkpoint, divided by the
//! checkpoints taken, estimates one checkpoint; when the kept ones would exceed the memory
//! budget (or [`MAX_CHECKPOINTS`]), every other one is dropped and the spacing doubles.
//! Checkpoints at `0, 2·every, 4·every, …` stay exactly where the doubled spacing expects
//! them, so a seek is unchanged in what it finds — only slower, by the longer walk from
//! the nearest checkpoint. Which checkpoints are kept never changes the run: the world a
//! seek reaches is the same from any of them (the kernel is deterministic). Resident
//! memory is read from `/proc/self/statm` (Linux); elsewhere only the count limits.

/// At most this many checkpoints, whatever the memory.
pub const MAX_CHECKPOINTS: usize = 64;

/// The memory all checkpoints together may take: 2 GiB, or a quarter of the machine's
/// memory if that is less.
pub fn default_budget() -> u64 {
    let two_gib = 2 << 30;
    mem_total().map_or(two_gib, |t| two_gib.min(t / 4))
}

/// Watches the cost of checkpoints as a replay takes them.
#[derive(Clone, Debug)]
pub struct Thinning {
    budget: u64,
    rss_start: Option<u64>,
    taken: u64,
}

impl Thinning {
    pub fn new(budget: u64) -> Self {
        Thinning {
            budget,
            rss_start: rss(),
            taken: 0,
        }
    }

    /// A checkpoint was just added, making `kept`: whether to halve them now.
    pub fn should_thin(&mut self, kept: usize) -> bool {
        self.taken += 1;
        if kept > MAX_CHECKPOINTS {
            return true;
        }
        let (Some(start), Some(now)) = (self.rss_start, rss()) else {
            return false;
        };
        let each = now.saturating_sub(start) / self.taken;
        kept > 2 && each.saturating_mul(kept as u64) > self.budget
    }
}

/// Keeps checkpoints 0, 2, 4, … (the caller doubles the spacing).
pub fn thin<T>(list: &mut Vec<T>) {
    let mut i = 0;
    list.retain(|_| {
        i += 1;
        (i - 1) % 2 == 0
    });
}

fn rss() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

fn mem_total() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thinning_keeps_the_even_checkpoints_and_a_count_limit_holds() {
        // Proves thinning keeps the checkpoints a doubled spacing expects (0, 2, 4, …) and
        // that more than MAX_CHECKPOINTS always asks for it, while a small count under a
        // huge budget never does.
        let mut v: Vec<u32> = (0..7).collect();
        thin(&mut v);
        assert_eq!(v, [0, 2, 4, 6]);
        let mut t = Thinning::new(u64::MAX);
        assert!(!t.should_thin(3));
        assert!(t.should_thin(MAX_CHECKPOINTS + 1));
        let mut tight = Thinning::new(0);
        tight.rss_start = Some(0);
        assert!(tight.should_thin(3), "any growth exceeds a zero budget");
    }
}
