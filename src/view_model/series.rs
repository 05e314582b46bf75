//! Figures over time, for the charts: the run is cut into equal time buckets and, in the one
//! pass the replay makes over every trace record, each bucket gets
//!
//! - *counts* of things that happened in it (records acknowledged, records consumed, ISR
//!   shrinks, RPC calls answered…), charted as a rate per second;
//! - *samples* of a duration (one per record: `send()` → acknowledgement), charted as the
//!   bucket's p50 and p99;
//! - *gauges* read from the world at the bucket's start (consumer lag, under-replicated
//!   partitions), charted as they are.
//!
//! Names are plain strings (the `pub const`s below) so a node type adds a figure without a
//! change here. A count is exact per bucket; a rate is that count over the bucket's length.

use std::collections::BTreeMap;

use crate::sim::Time;

/// Records acknowledged to the application (`send()` → ok), one per record.
pub const ACKED: &str = "records acknowledged";
/// Records handed to the application by `poll()`.
pub const CONSUMED: &str = "records consumed";
/// `send()` calls by the application.
pub const SENT: &str = "records sent";
/// Sends that failed or ended with an unknown outcome.
pub const SEND_ERRORS: &str = "send errors";
/// Per-record produce latency, `send()` → acknowledgement.
pub const PRODUCE_LATENCY: &str = "send() → ack latency";
/// ISR shrinks (Kafka: `IsrShrinksPerSec`).
pub const ISR_SHRINKS: &str = "ISR shrinks";
/// RPC calls answered / failed after their retries / attempts that timed out.
pub const RPC_OK: &str = "rpc calls ok";
pub const RPC_FAILED: &str = "rpc calls failed";
pub const RPC_TIMEOUTS: &str = "rpc attempts timed out";
/// Replies received by ping clients.
pub const PING_REPLIES: &str = "ping replies";
/// Network messages delivered / dropped (wire messages, not records).
pub const DELIVERED: &str = "messages delivered";
pub const DROPPED: &str = "messages dropped";
/// Gauges. Lag is `kafka-consumer-groups`' LAG summed over partitions and groups: the
/// log end offset consumers may read (the high watermark) minus the committed offset.
pub const LAG: &str = "consumer lag";
pub const UNDER_REPLICATED: &str = "under-replicated partitions";
/// Produce appends a leader failed for an unexpected reason (Kafka's
/// `FailedProduceRequestsPerSec`: `ReplicaManager.appendToLocalLog` marks it for every
/// failure but UNKNOWN_TOPIC_OR_PARTITION, NOT_LEADER_OR_FOLLOWER, MESSAGE_TOO_LARGE,
/// CORRUPT_MESSAGE and storage errors — so NOT_ENOUGH_REPLICAS counts).
pub const FAILED_PRODUCE: &str = "failed produce appends";
/// Cumulative gauges of the producers' sender metrics (every incarnation), whose
/// per-bucket differences are Kafka's `record-send-rate` and `request-latency-avg`.
pub const RECORD_SEND_TOTAL: &str = "record-send-total";
pub const REQUEST_LATENCY_TOTAL: &str = "produce request latency total";
pub const PRODUCE_RESPONSES: &str = "produce responses";
pub const OFFLINE: &str = "offline partitions";

/// Kafka's own metric name for one of ours, where there is one with the same meaning.
pub fn kafka_name(name: &str) -> Option<&'static str> {
    Some(match name {
        ISR_SHRINKS => "IsrShrinksPerSec",
        UNDER_REPLICATED => "UnderReplicatedPartitions",
        OFFLINE => "OfflinePartitionsCount",
        FAILED_PRODUCE => "FailedProduceRequestsPerSec",
        RECORD_SEND_TOTAL => "record-send-total",
        _ => return None,
    })
}

/// Per-bucket figures of one run.
#[derive(Clone, Debug, Default)]
pub struct Series {
    pub bucket_us: u64,
    counts: BTreeMap<&'static str, Vec<u64>>,
    gauges: BTreeMap<&'static str, Vec<u64>>,
    /// Raw samples per bucket while the run is read; emptied by `finish`.
    samples: BTreeMap<&'static str, Vec<Vec<u64>>>,
    /// (p50, p99) per bucket, `None` for a bucket without samples.
    quantiles: BTreeMap<&'static str, Vec<Option<(u64, u64)>>>,
    /// Start times of things whose duration is sampled later (a value sent, by value).
    started: BTreeMap<u64, Time>,
}

fn grow<T: Clone + Default>(v: &mut Vec<T>, b: usize) -> &mut T {
    if v.len() <= b {
        v.resize(b + 1, T::default());
    }
    &mut v[b]
}

impl Series {
    pub fn new(bucket_us: u64) -> Series {
        Series {
            bucket_us: bucket_us.max(1),
            ..Series::default()
        }
    }

    pub fn bucket_of(&self, t: Time) -> usize {
        (t.as_us() / self.bucket_us) as usize
    }

    /// Bucket length in seconds.
    pub fn bucket_secs(&self) -> f64 {
        self.bucket_us as f64 / 1e6
    }

    /// `n` more of `name` happened at `t`.
    pub fn count(&mut self, name: &'static str, t: Time, n: u64) {
        let b = self.bucket_of(t);
        *grow(self.counts.entry(name).or_default(), b) += n;
    }

    /// Something identified by `key` started at `t` (its duration is sampled by `stop`).
    pub fn start(&mut self, key: u64, t: Time) {
        self.started.insert(key, t);
    }

    /// What `key` stood for ended at `t`: one sample of `name`, in the bucket it ended in.
    pub fn stop(&mut self, name: &'static str, key: u64, t: Time) {
        if let Some(t0) = self.started.remove(&key) {
            let b = self.bucket_of(t);
            grow(self.samples.entry(name).or_default(), b).push(t.since(t0).as_us());
        }
    }

    /// Forgets a start that will never be stopped (a failed send).
    pub fn forget(&mut self, key: u64) {
        self.started.remove(&key);
    }

    /// The value of gauge `name` at the start of bucket `b`.
    pub fn gauge(&mut self, name: &'static str, b: usize, v: u64) {
        *grow(self.gauges.entry(name).or_default(), b) = v;
    }

    /// Turns the raw samples into per-bucket quantiles (after the pass over the run).
    pub fn finish(&mut self) {
        for (name, buckets) in std::mem::take(&mut self.samples) {
            let q = buckets
                .into_iter()
                .map(|mut v| {
                    let p50 = quantile(&mut v, 50)?;
                    Some((p50, quantile(&mut v, 99)?))
                })
                .collect();
            self.quantiles.insert(name, q);
        }
        self.started.clear();
    }

    /// Per-bucket counts of `name` (empty when it never happened).
    pub fn counts(&self, name: &str) -> &[u64] {
        self.counts.get(name).map_or(&[], |v| v)
    }

    /// Whether `name` happened at all in the run.
    pub fn has(&self, name: &str) -> bool {
        self.counts(name).iter().any(|n| *n > 0)
    }

    /// Total of `name` over the buckets that end at or before `t` (whole buckets only).
    pub fn total_before(&self, name: &str, t: Time) -> u64 {
        let b = self.bucket_of(t);
        self.counts(name).iter().take(b).sum()
    }

    /// `name` per second in each bucket: (bucket start in s, rate).
    pub fn rate_points(&self, name: &str) -> Vec<(f64, f64)> {
        let s = self.bucket_secs();
        let v = self.counts(name);
        v.iter()
            .enumerate()
            .map(|(i, n)| (i as f64 * s, *n as f64 / s))
            .collect()
    }

    /// Gauge `name` at each bucket start.
    pub fn gauge_points(&self, name: &str) -> Vec<(f64, f64)> {
        let s = self.bucket_secs();
        self.gauges.get(name).map_or_else(Vec::new, |v| {
            v.iter()
                .enumerate()
                .map(|(i, n)| (i as f64 * s, *n as f64))
                .collect()
        })
    }

    /// For a cumulative gauge: how much it grew during each bucket, per second (the
    /// difference between one bucket's start and the next's).
    pub fn delta_rate_points(&self, name: &str) -> Vec<(f64, f64)> {
        let s = self.bucket_secs();
        let v = self.gauges.get(name).map_or(&[][..], |v| &v[..]);
        v.windows(2)
            .enumerate()
            .map(|(i, w)| (i as f64 * s, w[1].saturating_sub(w[0]) as f64 / s))
            .collect()
    }

    /// For two cumulative gauges: the growth of `num` over the growth of `den` in each
    /// bucket where `den` grew, divided by `unit` (a mean per event, e.g. µs → ms).
    pub fn delta_ratio_points(&self, num: &str, den: &str, unit: f64) -> Vec<(f64, f64)> {
        let s = self.bucket_secs();
        let empty = Vec::new();
        let n = self.gauges.get(num).unwrap_or(&empty);
        let d = self.gauges.get(den).unwrap_or(&empty);
        (0..n.len().min(d.len()).saturating_sub(1))
            .filter_map(|i| {
                let dd = d[i + 1].saturating_sub(d[i]);
                let dn = n[i + 1].saturating_sub(n[i]);
                (dd > 0).then(|| (i as f64 * s, dn as f64 / dd as f64 / unit))
            })
            .collect()
    }

    /// Whether gauge `name` was ever above zero.
    pub fn gauge_seen(&self, name: &str) -> bool {
        self.gauges
            .get(name)
            .is_some_and(|v| v.iter().any(|x| *x > 0))
    }

    /// p50 (`hi == false`) or p99 of `name` per bucket that had samples, in milliseconds.
    pub fn quantile_points(&self, name: &str, hi: bool) -> Vec<(f64, f64)> {
        let s = self.bucket_secs();
        self.quantiles.get(name).map_or_else(Vec::new, |v| {
            v.iter()
                .enumerate()
                .filter_map(|(i, q)| {
                    q.map(|(p50, p99)| (i as f64 * s, if hi { p99 } else { p50 } as f64 / 1e3))
                })
                .collect()
        })
    }
}

/// The `q`-th percentile of `v` by the nearest-rank method (the smallest value with at
/// least `q`% of the values at or below it: sorted index `ceil(q × len / 100) − 1`);
/// reorders `v`.
pub fn quantile(v: &mut [u64], q: usize) -> Option<u64> {
    if v.is_empty() {
        return None;
    }
    let k = (q * v.len()).div_ceil(100).clamp(1, v.len()) - 1;
    Some(*v.select_nth_unstable(k).1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_rates_and_quantiles_per_bucket() {
        // Proves counts land in the bucket of their time and quantiles are per bucket.
        let mut s = Series::new(1_000_000);
        s.count(ACKED, Time(10), 3);
        s.count(ACKED, Time(1_500_000), 2);
        for (k, t0, t1) in [(1, 0, 10_000), (2, 0, 20_000), (3, 1_000_000, 1_900_000)] {
            s.start(k, Time(t0));
            s.stop(PRODUCE_LATENCY, k, Time(t1));
        }
        s.finish();
        assert_eq!(s.counts(ACKED), &[3, 2]);
        assert_eq!(s.rate_points(ACKED), vec![(0.0, 3.0), (1.0, 2.0)]);
        assert_eq!(s.total_before(ACKED, Time(1_200_000)), 3);
        assert_eq!(
            s.quantile_points(PRODUCE_LATENCY, true),
            vec![(0.0, 20.0), (1.0, 900.0)]
        );
        assert_eq!(s.quantile_points(PRODUCE_LATENCY, false)[0], (0.0, 10.0));
    }
}
