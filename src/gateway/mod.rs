//! The wire-protocol gateway: real Kafka clients against the simulated cluster
//! (`kafkasim serve`). Each simulated broker gets its own loopback port (advertised in
//! Metadata) and there is one bootstrap port; every real TCP connection becomes an
//! *external node* of the simulated network (`external-1`, …), so the scenario's faults
//! reach it. A real request is decoded (`frame.rs`, with the `kafka-protocol` crate),
//! translated into the simulation's message (`translate.rs`, `records.rs`, `topics.rs`),
//! and injected into the world as sent by that external node; the broker's reply, once
//! the simulated network delivers it, is translated back (`respond.rs`) and written to the
//! socket in request order (`engine.rs`).
//!
//! The simulation stays single-threaded and deterministic: sockets and threads live in
//! `net.rs`, and the world only moves between inputs, which the tape records with their
//! simulated times (`tape.rs`), so `kafkasim run SCENARIO --tape FILE` replays a session
//! with the same trace hash.
//!
//! Layering: `gateway/` sits above `runner/`, `scenario/` and `workload/` and below `cli/`;
//! nothing under `sim/` or `kafka/` knows it exists.

pub mod control;
pub mod engine;
pub mod frame;
#[cfg(test)]
mod fuzz;
pub mod live;
pub mod net;
pub mod records;
pub mod respond;
pub mod tape;
pub mod topics;
pub mod translate;
pub mod txn;

use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::mpsc::{Receiver, Sender};

use crate::runner::{summarize, RunSummary};
use crate::scenario::build::build;
use crate::scenario::spec::ExternalScript;
use crate::scenario::Scenario;
use crate::sim::{RunEnd, Time, TraceMode, World};
use crate::workload::node::SimNode;
use engine::{Gateway, Listener};
pub use live::{Monitor, Watch};
use respond::Endpoints;
use tape::TapeHeader;

/// How `kafkasim serve` runs.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// The bootstrap address; brokers listen on the following ports (or any free ports
    /// when the port is 0).
    pub listen: SocketAddr,
    /// Simulated seconds per wall-clock second.
    pub speed: f64,
    /// Simulated time to run for (the scenario's `duration` unless overridden).
    pub end_us: u64,
    pub seed: u64,
    /// Read control commands typed on the terminal (stdin).
    pub commands_on_stdin: bool,
}

/// Where a finished session stands.
pub struct Served {
    pub world: World<SimNode>,
    pub summary: RunSummary,
}

/// Runs `scenario` behind real sockets until simulated time reaches `end_us` (or the
/// monitor stops it); `announce` receives the bootstrap line and each status or log line
/// as they happen; `monitor` (`serve --tui`, `live.rs`) watches every step.
pub fn serve(
    scenario: &Scenario,
    opts: &ServeOptions,
    tape_file: Option<&Path>,
    announce: &mut dyn FnMut(&str),
    mut monitor: Option<&mut dyn Monitor>,
) -> Result<Served, String> {
    let world =
        build(&served(scenario), opts.seed, TraceMode::HashOnly).map_err(|e| e.to_string())?;
    let (tx, rx) = net::events();
    // The addresses go to the monitor too (the live screen shows them).
    let mut startup = Vec::new();
    let endpoints = open_listeners(opts, &world, &tx, &mut |l| {
        announce(l);
        startup.push(l.to_string());
    })?;
    let mut g = Gateway::new(world, endpoints, scenario.max_events);
    let header = TapeHeader {
        scenario: scenario.name.clone(),
        seed: opts.seed,
        end_us: None,
    };
    let mut tape = match tape_file {
        Some(p) => Some(TapeWriter::create(p, &header)?),
        None => None,
    };
    if let Some(m) = monitor.as_deref_mut() {
        m.tick(&g, &startup);
    }
    let end = pace(&mut g, opts, (&tx, &rx), &mut tape, announce, monitor)?;
    let world = g.into_world();
    let summary = summarize(scenario, &world, end);
    if let (Some(t), Some(p)) = (tape, tape_file) {
        let end_us = Some(world.now().0);
        t.finish(p, &TapeHeader { end_us, ..header })?;
    }
    Ok(Served { world, summary })
}

/// Binds a port per broker (port+N, or any free one for port 0), the control port after
/// them and the bootstrap port, and starts their threads; returns where brokers listen.
fn open_listeners(
    opts: &ServeOptions,
    world: &World<SimNode>,
    tx: &Sender<net::NetEvent>,
    announce: &mut dyn FnMut(&str),
) -> Result<Endpoints, String> {
    let ip = opts.listen.ip();
    let port_after = |n: usize| match opts.listen.port() {
        0 => 0,
        p => p.saturating_add(n as u16),
    };
    let boot = net::bind(opts.listen)?;
    let boot_addr = boot.local_addr().map_err(|e| e.to_string())?;
    let mut endpoints = Endpoints {
        host: ip.to_string(),
        ..Endpoints::default()
    };
    let brokers = engine::broker_nodes(world);
    for (i, &b) in brokers.iter().enumerate() {
        let l = net::bind(SocketAddr::new(ip, port_after(i + 1)))?;
        let addr = l.local_addr().map_err(|e| e.to_string())?;
        endpoints.ports.insert(b, addr.port());
        let name = world.name(b).to_string();
        announce(&format!("{name} listens on {addr}"));
        net::spawn_acceptor(l, Listener::Broker(name), tx.clone());
    }
    let ctl = net::bind(SocketAddr::new(ip, port_after(brokers.len() + 1)))?;
    let ctl_addr = ctl.local_addr().map_err(|e| e.to_string())?;
    net::spawn_control(ctl, tx.clone());
    if opts.commands_on_stdin {
        net::spawn_stdin(tx.clone());
    }
    announce(&format!(
        "control {ctl_addr} (`kafkasim ctl {ctl_addr} kill broker-2`, or type commands here)"
    ));
    net::spawn_acceptor(boot, Listener::Bootstrap, tx.clone());
    announce(&format!("bootstrap {boot_addr}"));
    Ok(endpoints)
}

/// The serving loop: run the world to "now" (wall clock × speed), write what the external
/// nodes received, apply what the sockets brought; until the end or the event budget.
// The one wall-clock loop outside the CLI's reporting: pacing the world to real time.
#[allow(clippy::disallowed_methods, clippy::disallowed_types)]
fn pace(
    g: &mut Gateway,
    opts: &ServeOptions,
    (tx, rx): (&Sender<net::NetEvent>, &Receiver<net::NetEvent>),
    tape: &mut Option<TapeWriter>,
    announce: &mut dyn FnMut(&str),
    mut monitor: Option<&mut dyn Monitor>,
) -> Result<RunEnd, String> {
    let start = std::time::Instant::now();
    let mut conns = net::Conns::default();
    let mut last_status = 0u64;
    loop {
        let elapsed_us = start.elapsed().as_micros() as f64;
        let target = ((elapsed_us * opts.speed) as u64).min(opts.end_us);
        let end = g.advance(Time(target));
        let mut log = Vec::new();
        conns.perform(g.drain(), &mut log);
        if target >= opts.end_us || end == RunEnd::EventLimit {
            watch(g, &mut monitor, &log, tx);
            flush_log(&mut log, announce);
            return Ok(end);
        }
        for ev in net::poll(rx, 2).unwrap_or_default() {
            net::handle(g, &mut conns, ev, tx, &mut log);
        }
        if let Some(t) = tape.as_mut() {
            t.append(&g.take_new_tape())?;
        }
        if target / 5_000_000 != last_status {
            last_status = target / 5_000_000;
            log.push(status_line(g));
        }
        let stop = watch(g, &mut monitor, &log, tx);
        flush_log(&mut log, announce);
        if stop {
            return Ok(end);
        }
    }
}

/// Shows the monitor this step; its commands go into the control channel (applied by
/// the next step, and so on the tape). Returns whether it asked to stop.
fn watch(
    g: &Gateway,
    monitor: &mut Option<&mut dyn Monitor>,
    log: &[String],
    tx: &Sender<net::NetEvent>,
) -> bool {
    let Some(m) = monitor.as_mut() else {
        return false;
    };
    let w = m.tick(g, log);
    for command in w.commands {
        let _ = tx.send(net::NetEvent::Control {
            command,
            reply: None,
        });
    }
    w.stop
}

fn flush_log(log: &mut Vec<String>, announce: &mut dyn FnMut(&str)) {
    for line in log.drain(..) {
        announce(&line);
    }
}

/// The serving terminal's status line (and the live screen's header).
pub(crate) fn status_line(g: &Gateway) -> String {
    let w = g.world();
    format!(
        "t={:.1}s simulated · {} events · {} client connections · {} records from real clients",
        w.now().0 as f64 / 1e6,
        w.events(),
        g.connections(),
        g.real_records()
    )
}

/// `scenario` as served: with an (empty) outside script, which the builder reads as "real
/// clients come", so the cluster gets `__transaction_state` from the start (Kafka creates
/// it at the first FindCoordinator(TRANSACTION)). A session and its replay are built alike.
fn served(scenario: &Scenario) -> Scenario {
    let mut s = scenario.clone();
    if s.external.is_none() {
        s.external = Some(ExternalScript(Vec::new().into()));
    }
    s
}

/// `scenario` with a recorded session attached: the tape's seed, its end as the duration,
/// and the session's outside inputs as a script the world replays by itself
/// (`sim/external.rs`), so `run`, `check` and the workbench replay it with the same trace
/// hash. The script is made by replaying the tape through the gateway once.
pub fn with_tape(scenario: &Scenario, text: &str) -> Result<Scenario, String> {
    let (header, entries) = tape::parse(text)?;
    if !header.scenario.is_empty() && header.scenario != scenario.name {
        return Err(format!(
            "the tape was recorded with scenario `{}`, not `{}`",
            header.scenario, scenario.name
        ));
    }
    let world =
        build(&served(scenario), header.seed, TraceMode::HashOnly).map_err(|e| e.to_string())?;
    let mut g = Gateway::new(world, Endpoints::default(), scenario.max_events);
    g.replay(&entries)?;
    let mut s = scenario.clone();
    s.seed = header.seed;
    s.duration_us = header
        .end_us
        .or(entries.last().map(|e| e.at.0))
        .unwrap_or(scenario.duration_us);
    s.external = Some(ExternalScript(g.script()));
    Ok(s)
}

/// Appends tape lines as the session goes, so a session stopped by Ctrl-C keeps them.
struct TapeWriter {
    file: std::fs::File,
}

impl TapeWriter {
    fn create(path: &Path, header: &TapeHeader) -> Result<Self, String> {
        let mut file = std::fs::File::create(path)
            .map_err(|e| format!("cannot write the tape {}: {e}", path.display()))?;
        writeln!(file, "{}", tape::header_line(header)).map_err(|e| e.to_string())?;
        Ok(TapeWriter { file })
    }

    fn append(&mut self, entries: &[tape::TapeEntry]) -> Result<(), String> {
        for e in entries {
            writeln!(self.file, "{}", tape::entry_line(e)).map_err(|e| e.to_string())?;
        }
        self.file.flush().map_err(|e| e.to_string())
    }

    /// Rewrites the header with the end time (the replay runs to it).
    fn finish(self, path: &Path, header: &TapeHeader) -> Result<(), String> {
        drop(self.file);
        let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
        let rest = text.split_once('\n').map_or("", |(_, r)| r);
        let new = format!("{}\n{rest}", tape::header_line(header));
        std::fs::write(path, new).map_err(|e| e.to_string())
    }
}
