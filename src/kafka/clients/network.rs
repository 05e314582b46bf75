//! The clients' network layer, Kafka's `NetworkClient`: what both the producer and the
//! consumer do with requests before any of them means anything.
//!
//! A client numbers every request with a **correlation id** (one counter per client; the
//! broker echoes it in the response), remembers each request **in flight** with the node it
//! went to, when it was sent and how long it may wait, and matches a response to its request
//! by that id — a response whose request was abandoned finds nothing and is dropped. A
//! request that outlives its **timeout** (`request.timeout.ms`) makes the client give up on
//! the whole connection: it closes it (so a late answer can never arrive on it) and fails
//! every request on it with NETWORK_EXCEPTION, exactly as when it is told the connection
//! closed. What a failed request means (retry a batch, re-find the coordinator, back off a
//! partition) is the owning client's business: this layer hands the requests back.
//!
//! `P` is what the owner needs to remember about a request (the producer: the batches of a
//! Produce request; the consumer: which API and partitions). Requests are kept in
//! correlation-id order, so "every request to node N" comes back in the order they were
//! sent, and the clients' reactions — and so the trace — do not depend on map internals.

use crate::kafka::protocol::{CorrelationId, Msg};
use crate::sim::{Duration, NodeId, Time, VecMap};

/// One request awaiting its response.
#[derive(Clone, Debug)]
pub struct InFlightRequest<P> {
    pub node: NodeId,
    pub sent: Time,
    pub timeout: Duration,
    /// What the owning client needs to handle the response (or the failure).
    pub what: P,
}

impl<P> InFlightRequest<P> {
    /// When the client stops waiting for it.
    pub fn deadline(&self) -> Time {
        self.sent + self.timeout
    }
}

/// The requests a client has in flight, and its correlation-id counter.
#[derive(Clone, Debug)]
pub struct NetworkClient<P> {
    last_correlation: CorrelationId,
    in_flight: VecMap<CorrelationId, InFlightRequest<P>>,
}

impl<P> Default for NetworkClient<P> {
    fn default() -> Self {
        NetworkClient {
            last_correlation: 0,
            in_flight: VecMap::new(),
        }
    }
}

impl<P> NetworkClient<P> {
    /// Takes the next correlation id (for a request tracked here or elsewhere).
    pub fn next_correlation(&mut self) -> CorrelationId {
        self.last_correlation = self.last_correlation.wrapping_add(1);
        self.last_correlation
    }

    /// The id [`next_correlation`](Self::next_correlation) would hand out, without taking it
    /// (for a component that may or may not send a request now).
    pub fn peek_correlation(&self) -> CorrelationId {
        self.last_correlation.wrapping_add(1)
    }

    /// Records that the request numbered `cid` was sent to `node` at `now`.
    pub fn track(
        &mut self,
        cid: CorrelationId,
        node: NodeId,
        now: Time,
        timeout: Duration,
        what: P,
    ) {
        let previous = self.in_flight.insert(
            cid,
            InFlightRequest {
                node,
                sent: now,
                timeout,
                what,
            },
        );
        assert!(previous.is_none(), "correlation id {cid} tracked twice");
    }

    /// The response numbered `cid` arrived: its request, unless it was abandoned.
    pub fn complete(&mut self, cid: CorrelationId) -> Option<InFlightRequest<P>> {
        self.in_flight.remove(&cid)
    }

    /// Nodes with a request past its deadline, each once, in node order.
    pub fn timed_out_nodes(&self, now: Time) -> Vec<NodeId> {
        let mut nodes: Vec<NodeId> = self
            .in_flight
            .values()
            .filter(|r| now >= r.deadline())
            .map(|r| r.node)
            .collect();
        nodes.sort();
        nodes.dedup();
        nodes
    }

    /// Removes and returns every request on the connection to `node`, oldest first: the
    /// connection is gone, none of them will be answered.
    pub fn take_requests_to(&mut self, node: NodeId) -> Vec<InFlightRequest<P>> {
        let lost: Vec<CorrelationId> = self
            .in_flight
            .iter()
            .filter(|(_, r)| r.node == node)
            .map(|(c, _)| *c)
            .collect();
        lost.into_iter()
            .map(|c| self.in_flight.remove(&c).expect("listed"))
            .collect()
    }

    /// Requests in flight to `node` (`max.in.flight.requests.per.connection` counts these).
    pub fn in_flight_to(&self, node: NodeId) -> usize {
        self.in_flight.values().filter(|r| r.node == node).count()
    }

    /// Whether a request to `node` matching `pred` is in flight.
    pub fn any_to(&self, node: NodeId, pred: impl Fn(&P) -> bool) -> bool {
        self.in_flight
            .values()
            .any(|r| r.node == node && pred(&r.what))
    }

    /// The requests in flight, in correlation-id order.
    pub fn requests_mut(&mut self) -> impl Iterator<Item = &mut InFlightRequest<P>> {
        self.in_flight.values_mut()
    }

    /// Every deadline of a request in flight.
    pub fn deadlines(&self) -> impl Iterator<Item = Time> + '_ {
        self.in_flight.values().map(|r| r.deadline())
    }
}

/// The correlation id of a response a client may be waiting for (`None` for requests and
/// for the brokers' and controller's own messages).
pub fn response_correlation(msg: &Msg) -> Option<CorrelationId> {
    Some(match msg {
        Msg::MetadataResponse(r) => r.correlation_id,
        Msg::ProduceResponse(r) => r.correlation_id,
        Msg::InitProducerIdResponse(r) => r.correlation_id,
        Msg::FetchResponse(r) => r.correlation_id,
        Msg::ListOffsetsResponse(r) => r.correlation_id,
        Msg::FindCoordinatorResponse(r) => r.correlation_id,
        Msg::JoinGroupResponse(r) => r.correlation_id,
        Msg::SyncGroupResponse(r) => r.correlation_id,
        Msg::HeartbeatResponse(r) => r.correlation_id,
        Msg::LeaveGroupResponse(r) => r.correlation_id,
        Msg::OffsetCommitResponse(r) => r.correlation_id,
        Msg::OffsetFetchResponse(r) => r.correlation_id,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_time_out_and_fail_per_connection_in_send_order() {
        // Proves: ids count up, a response completes its request once, a timed-out
        // request names its node once, and a lost connection returns its requests oldest
        // first while the other node's stay.
        let mut net: NetworkClient<&str> = NetworkClient::default();
        let (a, b) = (NodeId(1), NodeId(2));
        let d = Duration::from_ms(10);
        for (node, what) in [(a, "a1"), (b, "b1"), (a, "a2"), (a, "a3")] {
            let cid = net.next_correlation();
            net.track(cid, node, Time::ZERO, d, what);
        }
        assert_eq!(net.peek_correlation(), 5);
        assert_eq!(net.complete(3).map(|r| r.what), Some("a2"));
        assert!(
            net.complete(3).is_none(),
            "a response completes its request once"
        );
        assert_eq!(net.in_flight_to(a), 2);
        assert!(net.timed_out_nodes(Time(9_999)).is_empty());
        assert_eq!(net.timed_out_nodes(Time(10_000)), vec![a, b]);
        let lost: Vec<&str> = net
            .take_requests_to(a)
            .into_iter()
            .map(|r| r.what)
            .collect();
        assert_eq!(lost, vec!["a1", "a3"]);
        assert_eq!(net.in_flight_to(b), 1);
        assert_eq!(net.deadlines().collect::<Vec<_>>(), vec![Time(10_000)]);
    }
}
