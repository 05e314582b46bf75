//! Kafka's purgatories: requests that cannot be answered yet wait here. A produce with
//! `acks=all` waits until the high watermark covers its batches (or REQUEST_TIMED_OUT at
//! its deadline); a fetch that found too little data waits until new data could answer it
//! (or `max_wait_ms` passes). Both share one re-armable wake-up timer set for the earliest
//! deadline, so the broker has at most one purgatory timer queued.

use super::*;
use crate::kafka::errors::ErrorCode;
use crate::kafka::protocol::*;
use crate::kafka::types::{Offset, TopicPartition};
use crate::sim::{Peer, Time};

#[derive(Clone, Debug)]
pub(crate) enum Waiter {
    Client {
        peer: Peer,
        correlation_id: CorrelationId,
    },
    Internal(AppendToken),
}

#[derive(Clone, Debug)]
pub(crate) struct PendingPart {
    pub(super) resp: PartitionProduceResponse,
    /// HW the batch needs (its last offset + 1); `None` once settled.
    pub(super) required: Option<Offset>,
}

#[derive(Clone, Debug)]
pub(crate) struct DelayedProduce {
    pub(super) waiter: Waiter,
    pub(super) deadline: Time,
    pub(super) parts: Vec<PendingPart>,
}

#[derive(Clone, Debug)]
pub(crate) struct DelayedFetch {
    pub(super) peer: Peer,
    pub(super) req: FetchRequest,
    pub(super) deadline: Time,
    /// Whether `req.partitions` is in partition order (every fetch the clients and followers
    /// send is), so a partition is found by binary search when a change wakes the purgatory.
    sorted: bool,
}

impl DelayedFetch {
    pub(super) fn new(peer: Peer, req: FetchRequest, deadline: Time) -> Self {
        let sorted = req.partitions.is_sorted_by(|a, b| a.tp < b.tp);
        DelayedFetch {
            peer,
            req,
            deadline,
            sorted,
        }
    }

    /// Adds `fp` to the fetch if it does not name its partition yet (a parked incremental
    /// fetch that learns of news on a partition of its session).
    pub(super) fn add_partition(&mut self, fp: &FetchPartition) {
        if self.find(&fp.tp).is_some() {
            return;
        }
        let parts = &mut self.req.partitions;
        if self.sorted {
            let i = parts.partition_point(|p| p.tp < fp.tp);
            parts.insert(i, fp.clone());
        } else {
            parts.push(fp.clone());
        }
    }

    /// The fetched partition `tp`, if the fetch names it.
    pub(super) fn find(&self, tp: &TopicPartition) -> Option<&FetchPartition> {
        let parts = &self.req.partitions;
        if self.sorted {
            let i = parts.binary_search_by(|p| p.tp.cmp(tp)).ok()?;
            Some(&parts[i])
        } else {
            parts.iter().find(|p| &p.tp == tp)
        }
    }
}

impl Broker {
    pub(super) fn arm_purgatory(&mut self, cx: &mut BrokerCx<'_>) {
        let earliest = self
            .delayed_produces
            .iter()
            .map(|d| d.deadline)
            .chain(self.delayed_fetches.iter().map(|d| d.deadline))
            .min();
        let Some(at) = earliest else {
            return;
        };
        self.purgatory_timer.arm(cx, at, BrokerTimer::Purgatory);
    }

    pub(super) fn on_purgatory_timeout(&mut self, cx: &mut BrokerCx<'_>) {
        self.purgatory_timer.fired(cx.now());
        let now = cx.now();
        let (due, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.delayed_fetches)
            .into_iter()
            .partition(|d| d.deadline <= now);
        self.delayed_fetches = rest;
        for d in due {
            let (resp, _, _) = self.build_fetch_response(&d.req);
            self.reply_fetch(cx, d.peer, &d.req, resp);
        }
        for d in &mut self.delayed_produces {
            if d.deadline <= now {
                for part in d.parts.iter_mut().filter(|p| p.required.is_some()) {
                    part.resp.error = ErrorCode::RequestTimedOut;
                    part.required = None;
                }
            }
        }
        self.flush_settled_produces(cx);
        self.arm_purgatory(cx);
    }
}
