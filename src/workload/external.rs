//! An external node: the simulated end of one real TCP connection that a real Kafka client
//! opened to the gateway (`kafkasim serve`). It is a node of the simulated network like any
//! other — named `external-1`, `external-2`, … in the order connections opened, so a
//! scenario fault (partition, cut, clog, reset, kill) can target it — but it has no logic of
//! its own: the gateway injects the real client's requests as messages sent from it
//! (`World::apply_external`), and whatever reaches it (responses, the news that its broker closed the
//! connection) waits in its outbox until the gateway drains it and writes it to the socket.
//!
//! A crash of the external node (a `kill` fault) empties the outbox with the rest of its
//! state: the gateway sees the node down and closes the real socket, as a client host dying
//! would close it.

use crate::kafka::Msg;
use crate::sim::NodeId;

/// What an external node collected for the world outside, in arrival order.
#[derive(Clone, Debug)]
pub enum ExternalOut {
    /// A response from the broker.
    Reply(Msg),
    /// The broker side closed the connection (its process died, a reset, a healed cut).
    Closed(NodeId),
}

/// The simulated end of one real client connection.
#[derive(Clone, Debug)]
pub struct ExternalClient {
    /// The broker this connection talks to.
    pub broker: NodeId,
    outbox: Vec<ExternalOut>,
}

impl ExternalClient {
    pub fn new(broker: NodeId) -> Self {
        ExternalClient {
            broker,
            outbox: Vec::new(),
        }
    }

    pub fn on_message(&mut self, msg: Msg) {
        self.outbox.push(ExternalOut::Reply(msg));
    }

    pub fn on_disconnect(&mut self, peer: NodeId) {
        if peer == self.broker {
            self.outbox.push(ExternalOut::Closed(peer));
        }
    }

    /// Takes everything collected so far (the gateway calls this between events).
    pub fn take_outbox(&mut self) -> Vec<ExternalOut> {
        std::mem::take(&mut self.outbox)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::protocol::HeartbeatResponse;
    use crate::kafka::ErrorCode;

    /// The outbox keeps replies and closes in order and empties when taken.
    #[test]
    fn outbox_keeps_order_and_empties() {
        let mut e = ExternalClient::new(NodeId(3));
        let hb = |c| {
            Msg::HeartbeatResponse(HeartbeatResponse {
                correlation_id: c,
                error: ErrorCode::None,
            })
        };
        e.on_message(hb(1));
        e.on_disconnect(NodeId(9)); // not our broker: ignored
        e.on_disconnect(NodeId(3));
        let out = e.take_outbox();
        assert_eq!(out.len(), 2);
        assert!(
            matches!(out[0], ExternalOut::Reply(Msg::HeartbeatResponse(ref r)) if r.correlation_id == 1)
        );
        assert!(matches!(out[1], ExternalOut::Closed(NodeId(3))));
        assert!(e.take_outbox().is_empty());
    }
}
