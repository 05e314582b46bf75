//! The simulated network. Kafka talks TCP, so by default a link behaves like a TCP
//! connection: messages from A to B arrive in the order they were sent and none are lost on
//! their own. Latency is drawn per message from the link's model; FIFO order is kept by
//! never delivering a message before the previous one on the same link.
//!
//! Faults act on directed links: a *cut* link drops what crosses it (a partition cuts every
//! link between two groups, both ways); a *clogged* link holds messages and releases them, in
//! order, when unclogged. Each pair of nodes has one connection with an epoch: closing or
//! resetting it bumps the epoch, and replies written to the old connection are dropped.
//!
//! Datagram links are opt-in: loss, duplication and reordering, as integer ratios.

use serde::{Deserialize, Serialize};

use super::node::NodeId;
use super::rng::{self, Rng};
use super::time::{Duration, Time};

/// How long a message takes on a link.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Latency {
    Fixed(Duration),
    /// Uniform in `lo..=hi`.
    Uniform(Duration, Duration),
    /// Long-tailed: a log-normal-like distribution given by its median and 99th percentile,
    /// computed in integer arithmetic so a replay never depends on float formatting.
    LongTail {
        median: Duration,
        p99: Duration,
    },
}

impl Default for Latency {
    fn default() -> Self {
        Latency::Fixed(Duration::from_ms(1))
    }
}

impl Latency {
    pub fn sample(&self, rng: &mut Rng) -> Duration {
        match *self {
            Latency::Fixed(d) => d,
            Latency::Uniform(lo, hi) => Duration(rng::between(rng, lo.0, hi.0)),
            Latency::LongTail { median, p99 } => long_tail(rng, median.0, p99.0),
        }
    }
}

/// Samples a long-tailed latency: the median is hit half the time, the p99 one time in a
/// hundred. Built from an integer approximation of a log-normal: a sum of uniform draws
/// (≈ normal) mapped through a piecewise-exponential curve between median and p99.
fn long_tail(rng: &mut Rng, median_us: u64, p99_us: u64) -> Duration {
    use rand::Rng as _;
    // Irwin–Hall with 12 draws in [0, 1000): mean 6000, sd ≈ 1000 ⇒ z ≈ (s - 6000) / 1000.
    let s: i64 = (0..12).map(|_| rng.gen_range(0..1000i64)).sum();
    let z_milli = s - 6000; // z * 1000
    let p99 = p99_us.max(median_us);
    // ratio = (p99/median)^(z/2.326): approximate with 2^(k) steps using integer math.
    let ratio_x1000 = p99.saturating_mul(1000) / median_us.max(1);
    // exponent in thousandths: z / 2.326
    let e = z_milli * 1000 / 2326;
    let mut value = median_us as i128 * 1000;
    // multiply by ratio^(e/1000) via repeated square-root steps on the fractional part.
    let whole = e.div_euclid(1000);
    let frac = e.rem_euclid(1000);
    let r = ratio_x1000 as i128;
    if whole >= 0 {
        for _ in 0..whole.min(8) {
            value = value * r / 1000;
        }
    } else {
        for _ in 0..(-whole).min(8) {
            value = value * 1000 / r.max(1);
        }
    }
    // fractional power by binary expansion: r^(1/2), r^(1/4), ...
    let mut root = r;
    let mut f = frac;
    for bit in [500, 250, 125, 62, 31, 16, 8] {
        root = isqrt(root * 1000);
        if f >= bit {
            value = value * root / 1000;
            f -= bit;
        }
    }
    Duration((value / 1000).max(1) as u64)
}

fn isqrt(n: i128) -> i128 {
    if n <= 0 {
        return 0;
    }
    let mut x = (n as f64).sqrt() as i128; // exact enough; corrected below
    while x * x > n {
        x -= 1;
    }
    while (x + 1) * (x + 1) <= n {
        x += 1;
    }
    x
}

/// Transport style of a link.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Transport {
    /// In order, lossless, as TCP (Kafka's transport).
    #[default]
    Tcp,
    /// Unordered, possibly lossy and duplicating.
    Datagram,
}

/// The model of a directed link.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkModel {
    pub latency: Latency,
    pub transport: Transport,
    /// (numerator, denominator) probabilities; only used with `Datagram`.
    pub loss: (u32, u32),
    pub duplicate: (u32, u32),
    pub reorder: (u32, u32),
}

#[derive(Clone, Debug, Default)]
pub(crate) struct Link {
    pub model: LinkModel,
    /// Messages crossing a cut link are dropped.
    pub cut: bool,
    /// A clogged link holds messages until it is unclogged.
    pub clogged: bool,
    /// Delivery time of the last message scheduled on this link (keeps FIFO order).
    pub last_arrival: Time,
    /// Messages currently travelling on the link (for the UI).
    pub in_flight: u32,
    /// A message was dropped here while the link was cut (the connection is broken).
    pub lost_while_cut: bool,
}

/// Every directed link between the world's nodes, plus one connection epoch per pair.
#[derive(Clone, Debug, Default)]
pub struct Network {
    n: usize,
    links: Vec<Link>,
    conns: Vec<u32>,
    /// Whether each pair has exchanged a message since its connection was last reset.
    used: Vec<bool>,
    pub default_model: LinkModel,
}

impl Network {
    pub(crate) fn grow(&mut self, n: usize) {
        if n <= self.n {
            return;
        }
        let mut links = vec![Link::default(); n * n];
        let mut conns = vec![0u32; n * n];
        let mut used = vec![false; n * n];
        for f in 0..n {
            for t in 0..n {
                if f < self.n && t < self.n {
                    links[f * n + t] = self.links[f * self.n + t].clone();
                    conns[f * n + t] = self.conns[f * self.n + t];
                    used[f * n + t] = self.used[f * self.n + t];
                } else {
                    links[f * n + t].model = self.default_model.clone();
                }
            }
        }
        self.n = n;
        self.links = links;
        self.conns = conns;
        self.used = used;
    }

    pub(crate) fn link(&self, from: NodeId, to: NodeId) -> &Link {
        &self.links[from.index() * self.n + to.index()]
    }

    pub(crate) fn link_mut(&mut self, from: NodeId, to: NodeId) -> &mut Link {
        &mut self.links[from.index() * self.n + to.index()]
    }

    fn pair(&self, a: NodeId, b: NodeId) -> usize {
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        lo.index() * self.n + hi.index()
    }

    /// Current epoch of the connection between `a` and `b`.
    pub fn conn(&self, a: NodeId, b: NodeId) -> u32 {
        self.conns[self.pair(a, b)]
    }

    /// Closes (resets) the connection between `a` and `b`.
    pub fn reset(&mut self, a: NodeId, b: NodeId) {
        let p = self.pair(a, b);
        self.conns[p] = self.conns[p].wrapping_add(1);
        self.used[p] = false;
    }

    /// Marks the connection between `a` and `b` as open (a message was sent on it).
    pub(crate) fn mark_used(&mut self, a: NodeId, b: NodeId) {
        let p = self.pair(a, b);
        self.used[p] = true;
    }

    /// Nodes with an open connection to `n`.
    pub fn connected_peers(&self, n: NodeId) -> Vec<NodeId> {
        (0..self.n as u32)
            .map(NodeId)
            .filter(|&o| o != n && self.used[self.pair(n, o)])
            .collect()
    }

    /// Sets the model of one directed link.
    pub fn set_model(&mut self, from: NodeId, to: NodeId, model: LinkModel) {
        self.link_mut(from, to).model = model;
    }

    /// Sets the model of every link (existing and future).
    pub fn set_default_model(&mut self, model: LinkModel) {
        for l in &mut self.links {
            l.model = model.clone();
        }
        self.default_model = model;
    }

    pub fn is_cut(&self, from: NodeId, to: NodeId) -> bool {
        self.link(from, to).cut
    }

    pub fn is_clogged(&self, from: NodeId, to: NodeId) -> bool {
        self.link(from, to).clogged
    }

    /// Messages in flight from `from` to `to`.
    pub fn in_flight(&self, from: NodeId, to: NodeId) -> u32 {
        self.link(from, to).in_flight
    }

    pub fn node_count(&self) -> usize {
        self.n
    }

    /// Cuts or restores one direction.
    pub(crate) fn set_cut(&mut self, from: NodeId, to: NodeId, cut: bool) {
        if from != to {
            self.link_mut(from, to).cut = cut;
        }
    }

    /// Restores every link (heal). Returns the pairs whose connection lost messages while
    /// cut: TCP cannot repair a lost stream, so those connections count as broken.
    pub(crate) fn heal(&mut self) -> Vec<(NodeId, NodeId)> {
        let mut broken = Vec::new();
        for f in 0..self.n {
            for t in 0..self.n {
                let l = &mut self.links[f * self.n + t];
                l.cut = false;
                if std::mem::take(&mut l.lost_while_cut) {
                    let pair = (NodeId(f.min(t) as u32), NodeId(f.max(t) as u32));
                    if !broken.contains(&pair) {
                        broken.push(pair);
                    }
                }
            }
        }
        broken
    }

    /// Whether any link is cut (a partition is in force).
    pub fn any_cut(&self) -> bool {
        self.links.iter().any(|l| l.cut)
    }

    /// When a message sent now on `from → to` arrives, or `None` when the link loses it.
    /// May ask for a duplicate delivery (datagram links).
    pub(crate) fn schedule(
        &mut self,
        from: NodeId,
        to: NodeId,
        now: Time,
        rng: &mut Rng,
    ) -> (Option<Time>, Option<Time>) {
        let link = self.link_mut(from, to);
        let m = &link.model;
        let lat = m.latency.sample(rng);
        match m.transport {
            Transport::Tcp => {
                let at = (now + lat).max(link.last_arrival);
                link.last_arrival = at;
                (Some(at), None)
            }
            Transport::Datagram => {
                if rng::chance(rng, m.loss.0, m.loss.1) {
                    return (None, None);
                }
                let reorder = rng::chance(rng, m.reorder.0, m.reorder.1);
                let mut at = now + lat;
                if reorder {
                    // Skip the FIFO floor and add a second latency: overtaken by later ones.
                    at += m.latency.sample(rng);
                } else {
                    at = at.max(link.last_arrival);
                    link.last_arrival = at;
                }
                let dup = if rng::chance(rng, m.duplicate.0, m.duplicate.1) {
                    Some(at + m.latency.sample(rng))
                } else {
                    None
                };
                (Some(at), dup)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_tail_has_median_and_tail() {
        // Proves the long-tailed model centres on its median and reaches towards its p99.
        let mut rng = rng::derive(3, 1);
        let mut xs: Vec<u64> = (0..4000)
            .map(|_| long_tail(&mut rng, 1_000, 20_000).0)
            .collect();
        xs.sort_unstable();
        let median = xs[xs.len() / 2];
        let p99 = xs[xs.len() * 99 / 100];
        assert!((700..=1400).contains(&median), "median {median}");
        assert!((8_000..=40_000).contains(&p99), "p99 {p99}");
    }

    #[test]
    fn tcp_links_keep_fifo_order() {
        // Proves a TCP link never delivers a later message before an earlier one.
        let mut net = Network::default();
        net.grow(2);
        net.set_default_model(LinkModel {
            latency: Latency::Uniform(Duration(1), Duration(1000)),
            ..LinkModel::default()
        });
        let mut rng = rng::derive(1, 1);
        let mut last = Time::ZERO;
        for i in 0..500 {
            let (at, _) = net.schedule(NodeId(0), NodeId(1), Time(i * 10), &mut rng);
            let at = at.unwrap();
            assert!(at >= last);
            last = at;
        }
    }
}
