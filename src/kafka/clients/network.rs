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
//! Requests that may go to any broker (Metadata, FindCoordinator, InitProducerId) go to the
//! **least-loaded node** (`NetworkClient.leastLoadedNode`): among the known nodes, one with
//! an established connection and the fewest requests in flight (the first with none wins);
//! failing that, one whose connection is being set up; failing that, one the client may
//! connect to — never a node whose connection closed less than its **reconnect backoff** ago
//! (`reconnect.backoff.ms` = 50 ms, doubling per failed attempt up to
//! `reconnect.backoff.max.ms` = 1 s). So a request does not go to a broker the client just
//! saw die.
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

/// Kafka's defaults for `reconnect.backoff.ms` and `reconnect.backoff.max.ms` (the keys are
/// not in the scenario format; Kafka adds ±20 % jitter, we do not).
const RECONNECT_BACKOFF_MS: u64 = 50;
const RECONNECT_BACKOFF_MAX_MS: u64 = 1_000;

/// The client's connection to one node (`ClusterConnectionStates`): a node never contacted
/// has none, which reads as "may connect".
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Connection {
    /// A response came back on it since it last closed: established.
    Ready,
    /// It closed at `at`; no new attempt before `until`. `failures` counts closes since it
    /// was last established (the backoff doubles with each).
    Closed {
        at: Time,
        until: Time,
        failures: u32,
    },
}

/// The requests a client has in flight, its correlation-id counter, and what it knows of its
/// connections.
#[derive(Clone, Debug)]
pub struct NetworkClient<P> {
    last_correlation: CorrelationId,
    in_flight: VecMap<CorrelationId, InFlightRequest<P>>,
    connections: VecMap<NodeId, Connection>,
    /// Where the next least-loaded search starts (Kafka starts at a random offset).
    rotation: usize,
}

impl<P> Default for NetworkClient<P> {
    fn default() -> Self {
        NetworkClient {
            last_correlation: 0,
            in_flight: VecMap::new(),
            connections: VecMap::new(),
            rotation: 0,
        }
    }
}

impl<P> NetworkClient<P> {
    /// A response from `node` arrived: its connection is established.
    pub fn on_answer(&mut self, node: NodeId) {
        self.connections.insert(node, Connection::Ready);
    }

    /// The connection to `node` closed (either side): no new attempt for the reconnect
    /// backoff.
    pub fn on_closed(&mut self, node: NodeId, now: Time) {
        let failures = match self.connections.get(&node) {
            Some(Connection::Closed { failures, .. }) => failures + 1,
            _ => 0,
        };
        let backoff = (RECONNECT_BACKOFF_MS << failures.min(10)).min(RECONNECT_BACKOFF_MAX_MS);
        let until = now + Duration::from_ms(backoff);
        self.connections.insert(
            node,
            Connection::Closed {
                at: now,
                until,
                failures,
            },
        );
    }

    /// When a request may next go to `node`: now, unless its connection closed and the
    /// reconnect backoff has not passed (Kafka's `NetworkClient.ready` is false then, so the
    /// sender drains nothing for that node). `Some(t)`: not before `t`.
    pub fn backoff_until(&self, node: NodeId, now: Time) -> Option<Time> {
        match self.connections.get(&node) {
            Some(Connection::Closed { until, .. }) if now < *until => Some(*until),
            _ => None,
        }
    }

    /// Whether the connection to `node` closed and has not been established again: a new
    /// connection would be needed, and Kafka opens it with the ApiVersions handshake before
    /// any other request goes on it.
    pub fn needs_reconnect(&self, node: NodeId) -> bool {
        matches!(self.connections.get(&node), Some(Connection::Closed { .. }))
    }

    /// Kafka's `leastLoadedNode` over `nodes`: an established connection with the fewest
    /// requests in flight (`extra` adds those the owner tracks elsewhere), else a node being
    /// connected to (requests sent, none answered yet), else the node the client may connect
    /// to that it tried longest ago; never one in reconnect backoff. None: wait.
    pub fn least_loaded_node(
        &mut self,
        nodes: &[NodeId],
        now: Time,
        extra: impl Fn(NodeId) -> usize,
    ) -> Option<NodeId> {
        if nodes.is_empty() {
            return None;
        }
        self.rotation = self.rotation.wrapping_add(1);
        let start = self.rotation % nodes.len();
        let (mut ready, mut connecting, mut can_connect) = (None, None, None);
        let mut fewest = usize::MAX;
        for &node in nodes[start..].iter().chain(&nodes[..start]) {
            let load = self.in_flight_to(node) + extra(node);
            match self.connections.get(&node).copied() {
                Some(Connection::Ready) if load == 0 => return Some(node),
                Some(Connection::Ready) if load < fewest => {
                    fewest = load;
                    ready = Some(node);
                }
                Some(Connection::Ready) => {}
                Some(Connection::Closed { until, .. }) if now < until => {} // backing off
                _ if load > 0 => connecting = Some(node),
                c => {
                    let tried = |c: Option<Connection>| match c {
                        Some(Connection::Closed { at, .. }) => at,
                        _ => Time::ZERO,
                    };
                    let older = can_connect.is_none_or(|(_, at)| tried(c) < at);
                    if older {
                        can_connect = Some((node, tried(c)));
                    }
                }
            }
        }
        ready.or(connecting).or(can_connect.map(|(n, _)| n))
    }

    /// Starts numbering requests after `base` (a second client in the same process, e.g.
    /// the producer of a consume-transform-produce application, keeps its ids apart).
    pub fn start_correlations_at(&mut self, base: CorrelationId) {
        self.last_correlation = base;
    }

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

    /// The response numbered `cid` arrived: its request, unless it was abandoned. Its node's
    /// connection is established.
    pub fn complete(&mut self, cid: CorrelationId) -> Option<InFlightRequest<P>> {
        let req = self.in_flight.remove(&cid)?;
        self.on_answer(req.node);
        Some(req)
    }

    /// The node the request numbered `cid` went to, if it is in flight.
    pub fn node_of(&self, cid: CorrelationId) -> Option<NodeId> {
        self.in_flight.get(&cid).map(|r| r.node)
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

    /// Every deadline of a request in flight, and every end of a reconnect backoff (a
    /// request waiting for a node to become eligible again).
    pub fn deadlines(&self) -> impl Iterator<Item = Time> + '_ {
        let backoffs = self.connections.values().filter_map(|c| match c {
            Connection::Closed { until, .. } => Some(*until),
            Connection::Ready => None,
        });
        self.in_flight
            .values()
            .map(|r| r.deadline())
            .chain(backoffs)
    }
}

/// The correlation id of a response a client may be waiting for (`None` for requests and
/// for the brokers' and controller's own messages).
/// The correlation id of a request a client sends.
pub fn request_correlation(msg: &Msg) -> Option<CorrelationId> {
    Some(match msg {
        Msg::FindCoordinatorRequest(r) => r.correlation_id,
        Msg::InitProducerIdRequest(r) => r.correlation_id,
        Msg::AddPartitionsToTxnRequest(r) => r.correlation_id,
        Msg::AddOffsetsToTxnRequest(r) => r.correlation_id,
        Msg::EndTxnRequest(r) => r.correlation_id,
        Msg::TxnOffsetCommitRequest(r) => r.correlation_id,
        Msg::ApiVersionsRequest(r) => r.correlation_id,
        _ => return None,
    })
}

pub fn response_correlation(msg: &Msg) -> Option<CorrelationId> {
    Some(match msg {
        Msg::MetadataResponse(r) => r.correlation_id,
        Msg::ProduceResponse(r) => r.correlation_id,
        Msg::InitProducerIdResponse(r) => r.correlation_id,
        Msg::ApiVersionsResponse(r) => r.correlation_id,
        Msg::FetchResponse(r) => r.correlation_id,
        Msg::ListOffsetsResponse(r) => r.correlation_id,
        Msg::FindCoordinatorResponse(r) => r.correlation_id,
        Msg::JoinGroupResponse(r) => r.correlation_id,
        Msg::SyncGroupResponse(r) => r.correlation_id,
        Msg::HeartbeatResponse(r) => r.correlation_id,
        Msg::LeaveGroupResponse(r) => r.correlation_id,
        Msg::OffsetCommitResponse(r) => r.correlation_id,
        Msg::OffsetFetchResponse(r) => r.correlation_id,
        Msg::OffsetsForLeaderEpochResponse(r) => r.correlation_id,
        Msg::AddPartitionsToTxnResponse(r) => r.correlation_id,
        Msg::AddOffsetsToTxnResponse(r) => r.correlation_id,
        Msg::EndTxnResponse(r) => r.correlation_id,
        Msg::TxnOffsetCommitResponse(r) => r.correlation_id,
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

    #[test]
    fn least_loaded_node_skips_closed_nodes_and_prefers_established_ones() {
        // Proves leastLoadedNode's order: an established connection with nothing in flight
        // wins, then the least loaded established one; a node whose connection just closed
        // is skipped until its reconnect backoff (50 ms, then 100 ms) has passed.
        let mut net: NetworkClient<&str> = NetworkClient::default();
        let (a, b, c) = (NodeId(1), NodeId(2), NodeId(3));
        let nodes = [a, b, c];
        let none = |_| 0;
        for node in nodes {
            net.on_answer(node);
        }
        let d = Duration::from_ms(10);
        for (node, n) in [(a, 2), (b, 1), (c, 3)] {
            for _ in 0..n {
                let cid = net.next_correlation();
                net.track(cid, node, Time::ZERO, d, "r");
            }
        }
        for _ in 0..3 {
            assert_eq!(net.least_loaded_node(&nodes, Time::ZERO, none), Some(b));
        }
        assert_eq!(
            net.least_loaded_node(&nodes, Time::ZERO, |n| if n == b { 5 } else { 0 }),
            Some(a),
            "the owner's own requests count"
        );
        net.take_requests_to(b);
        net.on_closed(b, Time::ZERO);
        for _ in 0..3 {
            assert_eq!(net.least_loaded_node(&nodes, Time(49_999), none), Some(a));
        }
        net.take_requests_to(a);
        net.take_requests_to(c);
        net.on_closed(a, Time::ZERO);
        net.on_closed(c, Time::ZERO);
        assert_eq!(net.least_loaded_node(&nodes, Time(10_000), none), None);
        assert!(
            net.least_loaded_node(&nodes, Time(50_000), none).is_some(),
            "all may connect again after 50 ms"
        );
        net.on_closed(b, Time(50_000));
        assert!(
            net.deadlines().any(|t| t == Time(150_000)),
            "100 ms the second time"
        );
    }
}
