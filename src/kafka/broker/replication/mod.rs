//! Replication: how a partition's records reach its followers, and when a record counts as
//! replicated.
//!
//! Every partition has one leader and some followers (its replicas, chosen by the
//! controller). Producers write only to the leader, which appends to its log and so moves
//! its **log end offset** (LEO). Each follower runs a **replica fetcher** per leader it
//! follows: it sends Fetch requests naming its own LEO as fetch offset and the epoch of its
//! last record, appends what comes back and fetches again (a long poll: the leader parks a
//! fetch that finds nothing new for `replica.fetch.wait.max.ms`).
//!
//! The fetch offset is the follower's LEO, so each fetch also *reports* progress: the leader
//! keeps every follower's LEO and moves the **high watermark** (HW) to the smallest LEO of
//! the **in-sync replicas** (ISR). Records below the HW are replicated to the whole ISR:
//! consumers may read them, and an `acks=all` produce is answered once the HW passes its
//! batch. A follower that has not caught up with the leader's LEO for
//! `replica.lag.time.max.ms` is proposed for removal from the ISR (shrink); one that caught
//! up again is proposed for re-entry (expand). The leader does not change the ISR itself: it
//! sends AlterPartition to the controller, which commits the new ISR with a new partition
//! epoch, so a deposed leader cannot shrink the ISR to itself.
//!
//! When leadership moves, the new leader's log may be shorter or different. Each follower
//! finds where its log diverges from the new leader's: with the **leader epoch** of its last
//! record (KIP-101, Kafka ≥ 0.11), the leader answers with the end offset of that epoch in
//! its own log and the follower truncates to it; in the historical mode
//! (`replication.truncation = "high-watermark"`) the follower truncates to its own HW,
//! which can lose acknowledged records.
//!
//! Reading order: [`follower`] (the replica fetcher: send, receive, append, truncate, back
//! off), then [`leader`] (follower LEOs → high watermark → ISR shrink and expand →
//! AlterPartition); the leader's answer to a fetch is in `broker/fetch.rs`, the produce
//! purgatory that waits for the HW in `broker/produce.rs` and `broker/purgatory.rs`, the
//! HW and LEO themselves in `broker/log.rs` and `broker/partition.rs`.

pub mod follower;
pub mod leader;
