//! The gateway's core, without sockets: the simulated world, one [`Session`] per real
//! connection, and the tables translation needs. It takes [`Input`]s — a connection
//! opened, a frame arrived, a connection closed — each at the world's current simulated
//! time, and gives back [`Output`]s — bytes to write, a connection to close, a log line.
//!
//! Determinism: the world only moves in `advance` (`run_until`), and inputs are applied
//! between events. Every input is recorded on the tape with the simulated time it was
//! applied at; replaying the tape (`advance` to each entry's time, then `apply` it) makes
//! the same calls in the same order, so the run — and its trace hash — is the same. What
//! the gateway writes back (responses) never changes the world, so a replay can throw it
//! away.
//!
//! Kafka answers the requests of one connection in order (the broker mutes a connection
//! until its response is sent), and clients rely on it (kafka-python checks each response's
//! correlation id against the oldest request in flight). The simulated broker may answer a
//! Heartbeat before a Fetch parked in purgatory, so each session queues responses and
//! writes them in request order.

use bytes::Bytes;
use kafka_protocol::messages::ApiKey;
use std::collections::{BTreeMap, VecDeque};

use super::control;
use super::frame::{decode_header, version_ok, FrameError};
use super::records::RecordTable;
use super::respond::{to_real, Endpoints};
use super::tape::{Tape, TapeEntry};
use super::topics::TopicIds;
use super::translate::{to_sim, Ctx, GroupBytes, Handled, Tables};
use super::txn::TxnValues;
use crate::kafka::Msg;
use crate::sim::{External, NodeId, RunEnd, Status, Time, World};
use crate::workload::external::{ExternalClient, ExternalOut, Note, Noted};
use crate::workload::node::{NodeMsg, SimNode};

/// Which port a connection came in on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Listener {
    /// The bootstrap port: the connection goes to the first broker that is up.
    Bootstrap,
    /// A broker's own port (advertised in Metadata), by node name (`broker-2`).
    Broker(String),
}

/// Something that happened on the real side, applied at the world's current time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    Open {
        conn: u32,
        listener: Listener,
    },
    Frame {
        conn: u32,
        bytes: Bytes,
    },
    Close {
        conn: u32,
    },
    /// A control-channel command (`kafkasim ctl`, or typed on the serving terminal).
    Fault {
        command: String,
    },
}

/// What the socket layer must do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    Send {
        conn: u32,
        bytes: Bytes,
    },
    Close {
        conn: u32,
        why: String,
    },
    Log(String),
    /// The answer to a control command (`ok: …` or `error: …`).
    Ctl(String),
}

/// A request waiting for its response, in request order.
struct Slot {
    api: ApiKey,
    version: i16,
    real_corr: i32,
    sim_corr: Option<u32>,
    ctx: Ctx,
    ready: Option<Bytes>,
}

/// One real connection: its external node, the broker it talks to, requests in order.
struct Session {
    node: NodeId,
    incarnation: u32,
    broker: NodeId,
    next_corr: u32,
    queue: VecDeque<Slot>,
}

/// The simulated world behind the gateway, and everything the gateway keeps beside it.
pub struct Gateway {
    world: World<SimNode>,
    brokers: Vec<NodeId>,
    sessions: BTreeMap<u32, Session>,
    externals: u32,
    records: RecordTable,
    topics: TopicIds,
    groups: GroupBytes,
    txns: TxnValues,
    endpoints: Endpoints,
    tape: Tape,
    /// Every outside input applied to the world, with its time: the script that replays
    /// the session inside a world of its own (`sim/external.rs`).
    actions: Vec<(Time, External<SimNode>)>,
    max_events: u64,
}

/// The correlation id a simulated response carries (requests never reach an external node).
fn response_corr(m: &Msg) -> Option<u32> {
    Some(match m {
        Msg::ProduceResponse(r) => r.correlation_id,
        Msg::FetchResponse(r) => r.correlation_id,
        Msg::ListOffsetsResponse(r) => r.correlation_id,
        Msg::OffsetsForLeaderEpochResponse(r) => r.correlation_id,
        Msg::MetadataResponse(r) => r.correlation_id,
        Msg::FindCoordinatorResponse(r) => r.correlation_id,
        Msg::JoinGroupResponse(r) => r.correlation_id,
        Msg::SyncGroupResponse(r) => r.correlation_id,
        Msg::HeartbeatResponse(r) => r.correlation_id,
        Msg::LeaveGroupResponse(r) => r.correlation_id,
        Msg::OffsetCommitResponse(r) => r.correlation_id,
        Msg::OffsetFetchResponse(r) => r.correlation_id,
        Msg::InitProducerIdResponse(r) => r.correlation_id,
        Msg::AddPartitionsToTxnResponse(r) => r.correlation_id,
        Msg::AddOffsetsToTxnResponse(r) => r.correlation_id,
        Msg::EndTxnResponse(r) => r.correlation_id,
        Msg::TxnOffsetCommitResponse(r) => r.correlation_id,
        _ => return None,
    })
}

/// The simulated brokers, in order (`broker-1`, `broker-2`, …).
pub fn broker_nodes(world: &World<SimNode>) -> Vec<NodeId> {
    (1..)
        .map_while(|i| world.find(&format!("broker-{i}")))
        .collect()
}

impl Gateway {
    /// A gateway over a freshly built world; `endpoints` are where each broker listens.
    pub fn new(world: World<SimNode>, endpoints: Endpoints, max_events: u64) -> Self {
        let brokers = broker_nodes(&world);
        Gateway {
            world,
            brokers,
            sessions: BTreeMap::new(),
            externals: 0,
            records: RecordTable::default(),
            topics: TopicIds::default(),
            groups: GroupBytes::default(),
            txns: TxnValues::default(),
            endpoints,
            tape: Tape::default(),
            actions: Vec::new(),
            max_events,
        }
    }

    pub fn world(&self) -> &World<SimNode> {
        &self.world
    }

    pub fn into_world(self) -> World<SimNode> {
        self.world
    }

    /// The simulated brokers, in order (`broker-1`, …).
    pub fn brokers(&self) -> &[NodeId] {
        &self.brokers
    }

    pub fn tape(&self) -> &Tape {
        &self.tape
    }

    /// Takes the tape entries recorded since the last call (to append them to the file).
    pub fn take_new_tape(&mut self) -> Vec<TapeEntry> {
        self.tape.take_new()
    }

    pub fn connections(&self) -> usize {
        self.sessions.len()
    }

    /// Records from real clients so far.
    pub fn real_records(&self) -> usize {
        self.records.len()
    }

    /// Applies an outside input to the world now, and logs it for the script.
    fn act(&mut self, action: External<SimNode>) -> bool {
        Self::act_on(&mut self.world, &mut self.actions, action)
    }

    fn act_on(
        world: &mut World<SimNode>,
        log: &mut Vec<(Time, External<SimNode>)>,
        action: External<SimNode>,
    ) -> bool {
        log.push((world.now(), action.clone()));
        world.apply_external(action)
    }

    /// The outside inputs applied so far, as a script for [`World::set_script`].
    pub fn script(&self) -> std::sync::Arc<[(Time, External<SimNode>)]> {
        self.actions.clone().into()
    }

    /// Runs the world up to simulated time `to` (never past `end`).
    pub fn advance(&mut self, to: Time) -> RunEnd {
        self.world.run_until(to, self.max_events)
    }

    /// Applies one input at the current simulated time and records it on the tape.
    pub fn apply(&mut self, input: Input) -> Vec<Output> {
        // Events an earlier input of this same instant scheduled (a new node's start, a
        // fault) run first: the script replays inputs after every event at or before
        // their time (`sim/external.rs`), so two inputs of one instant must not be
        // applied back to back without them.
        let now = self.world.now();
        self.advance(now);
        self.tape.record(self.world.now(), &input);
        let mut out = Vec::new();
        match input {
            Input::Open { conn, listener } => self.open(conn, &listener, &mut out),
            Input::Frame { conn, bytes } => self.frame(conn, bytes, &mut out),
            Input::Close { conn } => {
                if let Some(s) = self.sessions.remove(&conn) {
                    self.act(External::Close {
                        from: s.node,
                        to: s.broker,
                    });
                }
            }
            Input::Fault { command } => out.push(Output::Ctl(self.fault(&command))),
        }
        out
    }

    /// Schedules a control command's fault now, once its targets resolve.
    fn fault(&mut self, command: &str) -> String {
        let spec = match control::parse(command) {
            Ok(s) => s,
            Err(e) => return format!("error: {e}"),
        };
        if let Some(t) = control::targets(&spec.fault)
            .into_iter()
            .find(|t| self.world.resolve(t).is_none())
        {
            return format!(
                "error: unknown target `{t}` (brokers, controller, external-N, leader(TOPIC-N), …)"
            );
        }
        let now = self.world.now();
        self.act(External::Fault(spec));
        format!("ok: {command} at t={:.3}s simulated", now.0 as f64 / 1e6)
    }

    fn open(&mut self, conn: u32, listener: &Listener, out: &mut Vec<Output>) {
        let broker = match listener {
            Listener::Broker(name) => self.world.find(name),
            Listener::Bootstrap => self
                .brokers
                .iter()
                .copied()
                .find(|&b| self.world.status(b) == Status::Up)
                .or(self.brokers.first().copied()),
        };
        let Some(broker) = broker else {
            out.push(Output::Close {
                conn,
                why: format!("no broker behind {listener:?}"),
            });
            return;
        };
        self.externals += 1;
        let name = format!("external-{}", self.externals);
        let node = SimNode::External(Box::new(ExternalClient::new(broker, &name)));
        self.act(External::AddNode {
            name: name.clone(),
            node,
        });
        let id = NodeId(self.world.node_count() as u32 - 1);
        out.push(Output::Log(format!(
            "connection {conn} is {name}, talking to {}",
            self.world.name(broker)
        )));
        let session = Session {
            node: id,
            incarnation: self.world.incarnation(id),
            broker,
            next_corr: 1,
            queue: VecDeque::new(),
        };
        self.sessions.insert(conn, session);
    }

    /// Closes a connection because of its input (a malformed frame): the external node
    /// closes its simulated connection too.
    fn close(&mut self, conn: u32, why: String, out: &mut Vec<Output>) {
        if let Some(s) = self.sessions.remove(&conn) {
            self.act(External::Close {
                from: s.node,
                to: s.broker,
            });
            out.push(Output::Close { conn, why });
        }
    }

    /// Closes a connection because of what the simulation did (the broker closed it, the
    /// external node was killed). The world already knows, and `drain` must not change
    /// it: drains are not on the tape.
    fn drop_session(&mut self, conn: u32, why: String, out: &mut Vec<Output>) {
        if self.sessions.remove(&conn).is_some() {
            out.push(Output::Close { conn, why });
        }
    }

    fn frame(&mut self, conn: u32, bytes: Bytes, out: &mut Vec<Output>) {
        let Some(s) = self.sessions.get_mut(&conn) else {
            return;
        };
        let handled = decode_header(bytes).and_then(|req| {
            if !version_ok(req.api, req.version) && req.api != ApiKey::ApiVersions {
                return Err(FrameError::UnsupportedVersion {
                    api: req.api,
                    version: req.version,
                });
            }
            let corr = s.next_corr;
            let mut t = Tables {
                records: &mut self.records,
                topics: &mut self.topics,
                groups: &mut self.groups,
                txns: &mut self.txns,
                now_us: self.world.now().0,
            };
            to_sim(&req, corr, &mut t).map(|h| (req, h))
        });
        let (req, handled) = match handled {
            Ok(x) => x,
            Err(e) => {
                let why = format!("{}: {e}", self.world.name(s.node));
                return self.close(conn, why, out);
            }
        };
        let mut slot = Slot {
            api: req.api,
            version: req.version,
            real_corr: req.header.correlation_id,
            sim_corr: None,
            ctx: Ctx::default(),
            ready: None,
        };
        match handled {
            Handled::Local(b) => slot.ready = Some(b),
            Handled::Forward {
                msg,
                reply,
                mut ctx,
            } => {
                let msg = match ctx.txn_values.take() {
                    Some(values) => NodeMsg::Noted(Box::new(Noted {
                        msg,
                        note: Note::TxnValues(values),
                    })),
                    None => NodeMsg::Kafka(msg),
                };
                let send = External::Send {
                    from: s.node,
                    to: s.broker,
                    msg,
                };
                if !Self::act_on(&mut self.world, &mut self.actions, send) {
                    let why = format!("{} is not running", self.world.name(s.node));
                    return self.close(conn, why, out);
                }
                s.next_corr += 1;
                if !reply {
                    return;
                }
                slot.sim_corr = Some(s.next_corr - 1);
                slot.ctx = ctx;
            }
        }
        s.queue.push_back(slot);
        Self::flush(conn, s, out);
    }

    /// Writes the responses at the front of a session's queue that are ready.
    fn flush(conn: u32, s: &mut Session, out: &mut Vec<Output>) {
        while s.queue.front().is_some_and(|f| f.ready.is_some()) {
            let slot = s.queue.pop_front().expect("front");
            let bytes = slot.ready.expect("ready");
            out.push(Output::Send { conn, bytes });
        }
    }

    /// Collects what the external nodes received since the last call: responses become
    /// frames (in request order), a broker's close or a killed external node closes the
    /// real connection.
    pub fn drain(&mut self) -> Vec<Output> {
        let mut out = Vec::new();
        let conns: Vec<u32> = self.sessions.keys().copied().collect();
        for conn in conns {
            let (node, inc) = match self.sessions.get(&conn) {
                Some(s) => (s.node, s.incarnation),
                None => continue,
            };
            if self.world.status(node) == Status::Down || self.world.incarnation(node) != inc {
                let why = format!("{} was killed", self.world.name(node));
                self.drop_session(conn, why, &mut out);
                continue;
            }
            let items = match self.world.node_mut(node) {
                SimNode::External(e) => e.take_outbox(),
                _ => Vec::new(),
            };
            for item in items {
                self.deliver(conn, item, &mut out);
            }
        }
        out
    }

    fn deliver(&mut self, conn: u32, item: ExternalOut, out: &mut Vec<Output>) {
        let msg = match item {
            ExternalOut::Closed(b) => {
                let why = format!("{} closed the connection", self.world.name(b));
                return self.drop_session(conn, why, out);
            }
            ExternalOut::Reply(m) => m,
        };
        let Some(s) = self.sessions.get_mut(&conn) else {
            return;
        };
        let corr = response_corr(&msg);
        let Some(slot) = s
            .queue
            .iter_mut()
            .find(|q| q.sim_corr.is_some() && q.sim_corr == corr)
        else {
            return; // a response to nothing this connection waits for
        };
        let mut t = Tables {
            records: &mut self.records,
            topics: &mut self.topics,
            groups: &mut self.groups,
            txns: &mut self.txns,
            now_us: self.world.now().0,
        };
        let req = (slot.api, slot.version, slot.real_corr);
        match to_real(req, &msg, &slot.ctx, &mut t, &self.endpoints) {
            Ok(bytes) => {
                slot.ready = Some(bytes);
                Self::flush(conn, s, out);
            }
            Err(e) => {
                let why = format!("{}: {e}", self.world.name(s.node));
                self.drop_session(conn, why, out);
            }
        }
    }

    /// Replays recorded inputs: for each, run to its time, drain (the responses are thrown
    /// away), apply it.
    pub fn replay(&mut self, entries: &[TapeEntry]) -> Result<(), String> {
        for e in entries {
            if e.at < self.world.now() {
                return Err(format!(
                    "tape entry at {} µs is before the world's time {} µs",
                    e.at.0,
                    self.world.now().0
                ));
            }
            self.advance(e.at);
            self.drain();
            self.apply(e.input.clone());
        }
        Ok(())
    }
}
