//! Kernel tests on the ping/echo demo workload: network semantics, faults, disks,
//! crash/restart and determinism, with no Kafka involved.

use kafkasim::sim::{
    Duration, Fault, FaultSpec, Latency, LinkModel, NodeId, Status, Time, TraceKind, TraceMode,
    Transport, World,
};
use kafkasim::workload::ping::{PingClient, PingClientConfig, PingEvent, PingNode, PingServer};

fn world(seed: u64, clients: u32, requests: u64, in_flight: u32) -> World<PingNode> {
    let mut w = World::new(seed, TraceMode::Full);
    w.set_link_model(LinkModel {
        latency: Latency::Uniform(Duration::from_us(500), Duration::from_ms(3)),
        ..LinkModel::default()
    });
    let server = w.add_node(
        "server-1",
        PingNode::Server(PingServer::default()),
        Time::ZERO,
    );
    for i in 1..=clients {
        let cfg = PingClientConfig {
            server,
            requests,
            in_flight,
            payload_bytes: 64,
            timeout: Some(Duration::from_ms(100)),
            persist: true,
        };
        w.add_node(
            &format!("client-{i}"),
            PingNode::Client(PingClient::new(cfg)),
            Time::ZERO,
        );
    }
    w
}

fn client(w: &World<PingNode>, name: &str) -> PingClient {
    match w.node(w.find(name).unwrap()) {
        PingNode::Client(c) => c.clone(),
        PingNode::Server(_) => panic!("{name} is not a client"),
    }
}

fn deliveries(w: &World<PingNode>, from: &str, to: &str) -> Vec<(Time, Time)> {
    let (f, t) = (w.find(from).unwrap(), w.find(to).unwrap());
    w.trace()
        .records()
        .iter()
        .filter_map(|r| match &r.kind {
            TraceKind::Deliver { from, to, sent, .. } if *from == f && *to == t => {
                Some((*sent, r.time))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn tcp_link_is_fifo_under_random_latency() {
    // Proves messages on one connection arrive in the order they were sent.
    let mut w = world(5, 1, 500, 16);
    w.run_until(Time(10_000_000), u64::MAX);
    let d = deliveries(&w, "client-1", "server-1");
    assert_eq!(d.len(), 500);
    assert!(d.windows(2).all(|p| p[0].0 <= p[1].0 && p[0].1 <= p[1].1));
    assert!(client(&w, "client-1").is_done());
}

#[test]
fn partition_drops_and_heal_restores() {
    // Proves a partition drops messages, the client times out, and heal lets it finish.
    let mut w = world(1, 1, 200, 1);
    w.schedule_fault(
        Time(50_000),
        Fault::Partition(vec![vec!["server-1".into()], vec!["client-1".into()]]),
    );
    w.schedule_fault(Time(550_000), Fault::Heal);
    w.run_until(Time(60_000_000), u64::MAX);
    let drops = w
        .trace()
        .records()
        .iter()
        .filter(|r| matches!(r.kind, TraceKind::Drop { .. }))
        .count();
    assert!(drops >= 1, "a partition must drop something");
    let c = client(&w, "client-1");
    assert!(c.timeouts >= 4, "timeouts: {}", c.timeouts);
    assert!(c.is_done(), "heal must let the client finish");
    assert_eq!(c.replies, 200);
}

#[test]
fn one_way_cut_is_one_way() {
    // Proves cutting server→client drops only replies: requests still reach the server.
    let mut w = world(2, 1, 1_000_000, 1);
    w.schedule_fault(
        Time(20_000),
        Fault::Cut {
            from: "server-1".into(),
            to: "client-1".into(),
        },
    );
    w.run_until(Time(1_000_000), u64::MAX);
    let after = |from: &str, to: &str| {
        deliveries(&w, from, to)
            .iter()
            .filter(|(sent, _)| sent.0 > 30_000)
            .count()
    };
    assert!(after("client-1", "server-1") > 0, "requests still arrive");
    assert_eq!(after("server-1", "client-1"), 0, "no reply gets through");
}

#[test]
fn clog_holds_then_releases_in_order() {
    // Proves a clogged link delivers nothing, then everything it held, in send order.
    let mut w = world(3, 1, 100, 8);
    let link = || Fault::Clog {
        from: "client-1".into(),
        to: "server-1".into(),
    };
    w.schedule_fault(Time(5_000), link());
    w.schedule_fault(
        Time(80_000),
        Fault::Unclog {
            from: "client-1".into(),
            to: "server-1".into(),
        },
    );
    w.run_until(Time(10_000_000), u64::MAX);
    let d = deliveries(&w, "client-1", "server-1");
    assert!(d.iter().all(|(_, at)| at.0 < 5_000 || at.0 >= 80_000));
    assert!(
        d.iter().any(|(_, at)| at.0 == 80_000),
        "held messages released at unclog"
    );
    let sent: Vec<Time> = d.iter().map(|(s, _)| *s).collect();
    assert!(sent.windows(2).all(|p| p[0] <= p[1]), "released in order");
}

#[test]
fn reset_connection_drops_replies_in_flight() {
    // Proves a reply written to a reset connection is dropped while requests still arrive,
    // and that both ends see the connection close.
    let mut w = world(4, 1, 1_000, 4);
    w.schedule_fault(
        Time(10_000),
        Fault::Clog {
            from: "server-1".into(),
            to: "client-1".into(),
        },
    );
    w.schedule_fault(
        Time(20_000),
        Fault::Reset {
            a: "client-1".into(),
            b: "server-1".into(),
        },
    );
    w.schedule_fault(
        Time(30_000),
        Fault::Unclog {
            from: "server-1".into(),
            to: "client-1".into(),
        },
    );
    w.run_until(Time(40_000), u64::MAX);
    let closed = w
        .trace()
        .records()
        .iter()
        .filter(|r| {
            matches!(
                r.kind,
                TraceKind::Drop {
                    reason: kafkasim::sim::DropReason::ConnectionClosed,
                    ..
                }
            )
        })
        .count();
    assert!(closed >= 1);
    // Like an RST, the reset is seen at both ends.
    let (client_id, server) = (w.find("client-1").unwrap(), w.find("server-1").unwrap());
    for (node, peer) in [(client_id, server), (server, client_id)] {
        let told = w.trace().records().iter().any(|r| {
            matches!(r.kind, TraceKind::Disconnected { node: n, peer: p } if n == node && p == peer)
        });
        assert!(told, "{node:?} saw the reset");
    }
}

fn restarted_progress(power_loss: bool) -> (u64, u64) {
    let mut w = world(9, 1, 1_000_000, 1);
    let fault = if power_loss {
        Fault::PowerLoss {
            target: "client-1".into(),
            torn: false,
        }
    } else {
        Fault::Kill("client-1".into())
    };
    w.schedule_fault(Time(500_000), fault);
    w.run_until(Time(499_999), u64::MAX);
    let before = client(&w, "client-1").replies;
    w.schedule_fault(Time(600_000), Fault::Restart("client-1".into()));
    w.run_until(Time(600_001), u64::MAX);
    let recovered = w
        .trace()
        .records()
        .iter()
        .rev()
        .find_map(|r| match &r.kind {
            TraceKind::Emit {
                event: PingEvent::Recovered { replies },
                ..
            } => Some(*replies),
            _ => None,
        });
    (before, recovered.unwrap_or(0))
}

#[test]
fn kill_keeps_unflushed_writes_power_loss_loses_them() {
    // Proves kill keeps page-cache writes and power loss reverts to the last flush.
    let (before, after_kill) = restarted_progress(false);
    assert!(before > 10, "before {before}");
    assert_eq!(after_kill, before, "kill keeps unflushed progress");
    let (_, after_power) = restarted_progress(true);
    assert_eq!(
        after_power, 0,
        "nothing was ever flushed, so power loss loses it all"
    );
}

#[test]
fn writeback_makes_writes_survive_power_loss() {
    // Proves the OS writeback interval flushes disks.
    let mut w = world(9, 1, 1_000_000, 1);
    w.set_writeback(Duration::from_ms(100));
    w.schedule_fault(
        Time(550_000),
        Fault::PowerLoss {
            target: "client-1".into(),
            torn: false,
        },
    );
    w.schedule_fault(Time(600_000), Fault::Restart("client-1".into()));
    w.run_until(Time(600_001), u64::MAX);
    let c = client(&w, "client-1");
    assert!(
        c.replies > 10,
        "progress flushed at 500ms survives: {}",
        c.replies
    );
}

/// Replies a client recovers from its disk after a power loss at 550 ms and a restart.
fn replies_after_power_loss(w: &mut World<PingNode>, name: &str) -> u64 {
    let at = Time(550_000);
    w.schedule_fault(
        at,
        Fault::PowerLoss {
            target: name.into(),
            torn: false,
        },
    );
    w.schedule_fault(Time(600_000), Fault::Restart(name.into()));
    w.run_until(Time(600_001), u64::MAX);
    let id = w.find(name);
    w.trace()
        .records()
        .iter()
        .filter(|r| r.time >= Time(600_000))
        .find_map(|r| match &r.kind {
            TraceKind::Emit {
                node,
                event: PingEvent::Recovered { replies },
            } if Some(*node) == id => Some(*replies),
            _ => None,
        })
        .unwrap_or(0)
}

#[test]
fn a_disk_with_its_own_writeback_interval_follows_it_and_the_others_do_not() {
    // Proves per-node writeback: only the node given an interval keeps its progress through
    // a power loss when no cluster-wide interval is set, and "never" on one node overrides a
    // cluster-wide interval for it alone.
    let mut w = world(9, 2, 1_000_000, 1);
    let c1 = w.find("client-1").unwrap();
    let c2 = w.find("client-2").unwrap();
    w.set_writeback_of(c1, Some(Duration::from_ms(100)));
    assert_eq!(w.writeback_of(c1), Some(Duration::from_ms(100)));
    assert_eq!(w.writeback_of(c2), None);
    let mut w2 = w.clone();
    assert!(replies_after_power_loss(&mut w, "client-1") > 10);
    assert_eq!(replies_after_power_loss(&mut w2, "client-2"), 0);

    let mut w = world(9, 2, 1_000_000, 1);
    let c1 = w.find("client-1").unwrap();
    w.set_writeback(Duration::from_ms(100));
    w.set_writeback_of(c1, None);
    let mut w2 = w.clone();
    assert_eq!(replies_after_power_loss(&mut w, "client-1"), 0);
    assert!(replies_after_power_loss(&mut w2, "client-2") > 10);
}

#[test]
fn restart_discards_old_incarnation_timers_and_messages() {
    // Proves a restarted node sees nothing addressed to its previous incarnation.
    let mut w = world(6, 1, 1_000_000, 4);
    w.schedule_fault(Time(100_000), Fault::Kill("server-1".into()));
    w.schedule_fault(Time(100_000), Fault::Restart("server-1".into()));
    w.run_until(Time(400_000), u64::MAX);
    let stale = w.trace().records().iter().any(|r| {
        matches!(
            r.kind,
            TraceKind::Drop {
                reason: kafkasim::sim::DropReason::StaleIncarnation,
                ..
            }
        )
    });
    assert!(stale, "in-flight pings to the old server are dropped");
    assert_eq!(w.status(NodeId(0)), Status::Up);
    assert!(
        client(&w, "client-1").replies > 100,
        "the client carries on"
    );
}

#[test]
fn pause_holds_everything_until_resume() {
    // Proves a paused node handles nothing until resumed, then catches up.
    let mut w = world(7, 1, 50, 1);
    w.schedule_fault(
        Time(10_000),
        FaultSpec {
            fault: Fault::Pause("server-1".into()),
            revert_after: Some(Duration::from_ms(300)),
        },
    );
    w.run_until(Time(10_000_000), u64::MAX);
    let server = w.find("server-1").unwrap();
    let handled_during_pause = w.trace().records().iter().any(|r| {
        r.time.0 > 10_000
            && r.time.0 < 310_000
            && matches!(r.kind, TraceKind::Deliver { to, .. } if to == server)
    });
    assert!(!handled_during_pause);
    assert!(client(&w, "client-1").is_done());
}

#[test]
fn role_targets_that_do_not_resolve_are_recorded_not_fatal() {
    // Proves a fault whose target names nothing is skipped with a trace record.
    let mut w = world(7, 1, 10, 1);
    w.schedule_fault(Time(1_000), Fault::Kill("leader(orders-0)".into()));
    w.run_until(Time(1_000_000), u64::MAX);
    assert!(w.trace().records().iter().any(|r| matches!(
        &r.kind,
        TraceKind::Fault(f) if f.unresolved.as_deref() == Some("leader(orders-0)")
    )));
}

#[test]
fn datagram_links_lose_duplicate_and_reorder() {
    // Proves the opt-in datagram transport applies loss, duplication and reordering.
    let mut w = world(8, 1, 2_000, 32);
    w.set_link_model(LinkModel {
        latency: Latency::Uniform(Duration::from_us(100), Duration::from_ms(2)),
        transport: Transport::Datagram,
        loss: (1, 20),
        duplicate: (1, 20),
        reorder: (1, 10),
    });
    w.run_until(Time(60_000_000), u64::MAX);
    let d = deliveries(&w, "client-1", "server-1");
    let reordered = d.windows(2).any(|p| p[0].0 > p[1].0);
    let lost = w.trace().records().iter().any(|r| {
        matches!(
            r.kind,
            TraceKind::Drop {
                reason: kafkasim::sim::DropReason::Lost,
                ..
            }
        )
    });
    assert!(reordered && lost);
    assert!(
        client(&w, "client-1").is_done(),
        "timeouts and retries overcome loss"
    );
}

#[test]
fn same_seed_same_hash_different_seed_different_hash() {
    // Proves the trace hash is a function of the seed, and that randomness matters.
    let run = |seed| {
        let mut w = world(seed, 2, 300, 4);
        w.schedule_fault(Time(100_000), Fault::Kill("client-2".into()));
        w.schedule_fault(Time(200_000), Fault::Restart("client-2".into()));
        w.run_until(Time(5_000_000), u64::MAX);
        (w.trace().hash_hex(), w.events())
    };
    assert_eq!(run(11), run(11));
    assert_ne!(run(11).0, run(12).0);
}

#[test]
fn hash_only_mode_gives_the_same_hash() {
    // Proves keeping or not keeping records does not change the hash.
    let mut a = world(3, 2, 200, 4);
    let mut b = a.clone();
    a.run_until(Time(5_000_000), u64::MAX);
    // Rebuild b in HashOnly mode with the same setup.
    let mut c: World<PingNode> = World::new(3, TraceMode::HashOnly);
    c.set_link_model(LinkModel {
        latency: Latency::Uniform(Duration::from_us(500), Duration::from_ms(3)),
        ..LinkModel::default()
    });
    let server = c.add_node("server-1", b.node(NodeId(0)).clone(), Time::ZERO);
    assert_eq!(server, NodeId(0));
    for i in 1..=2u32 {
        c.add_node(
            &format!("client-{i}"),
            b.node(NodeId(i)).clone(),
            Time::ZERO,
        );
    }
    c.run_until(Time(5_000_000), u64::MAX);
    b.run_until(Time(5_000_000), u64::MAX);
    assert_eq!(a.trace().hash_hex(), c.trace().hash_hex());
    assert_eq!(a.trace().hash_hex(), b.trace().hash_hex());
    assert!(c.trace().records().is_empty());
}

#[test]
fn checkpoint_clone_replays_identically() {
    // Proves a cloned world (a checkpoint) continues exactly like the original.
    let mut w = world(21, 2, 500, 4);
    w.schedule_fault(Time(300_000), Fault::Kill("server-1".into()));
    w.schedule_fault(Time(400_000), Fault::Restart("server-1".into()));
    w.run_until(Time(200_000), u64::MAX);
    let mut copy = w.clone();
    w.run_until(Time(3_000_000), u64::MAX);
    copy.run_until(Time(3_000_000), u64::MAX);
    assert_eq!(w.trace().hash_hex(), copy.trace().hash_hex());
    assert_eq!(w.events(), copy.events());
}

#[test]
fn kill_tells_connected_peers_power_loss_does_not() {
    // Proves a killed process's peers learn its connection closed (its OS sends FIN/RST),
    // a request to a dead process is refused, and a power loss tells nobody.
    let run = |fault: Fault| {
        let mut w = world(5, 2, 1_000_000, 1);
        w.schedule_fault(Time(50_000), fault);
        w.run_until(Time(60_000), u64::MAX);
        w.trace()
            .records()
            .iter()
            .filter(|r| matches!(r.kind, TraceKind::Disconnected { .. }))
            .count()
    };
    assert!(
        run(Fault::Kill("server-1".into())) >= 2,
        "both clients told"
    );
    let refused = run(Fault::PowerLoss {
        target: "server-1".into(),
        torn: false,
    });
    // No FIN after a power loss, but requests sent to the dead machine are refused.
    let mut w = world(5, 2, 1_000_000, 1);
    w.schedule_fault(
        Time(50_000),
        Fault::PowerLoss {
            target: "server-1".into(),
            torn: false,
        },
    );
    w.run_until(Time(50_001), u64::MAX);
    let at_fault = w
        .trace()
        .records()
        .iter()
        .filter(|r| matches!(r.kind, TraceKind::Disconnected { .. }))
        .count();
    assert_eq!(at_fault, 0, "power loss sends nothing");
    assert!(refused <= 2, "at most the in-flight requests are refused");
}

#[test]
fn closing_a_connection_tells_the_peer() {
    // Proves a node that closes its connection (a client giving up on a request) makes the
    // peer see the close too, as a socket close would: otherwise the peer keeps waiting on a
    // connection whose replies the kernel now drops. Here the server is paused, the client's
    // request times out and it closes; the server learns it when it resumes.
    let mut w = world(5, 1, 1_000_000, 1);
    w.schedule_fault(Time(50_000), Fault::Pause("server-1".into()));
    w.schedule_fault(Time(400_000), Fault::Resume("server-1".into()));
    w.run_until(Time(500_000), u64::MAX);
    let (server, client_id) = (w.find("server-1").unwrap(), w.find("client-1").unwrap());
    let told = w.trace().records().iter().any(|r| {
        matches!(r.kind, TraceKind::Disconnected { node, peer } if node == server && peer == client_id)
    });
    assert!(client(&w, "client-1").timeouts >= 1, "the client gave up");
    assert!(told, "the server saw the client close the connection");
}

#[test]
fn heal_breaks_connections_that_lost_messages() {
    // Proves both ends of a connection that lost a message while cut learn, at heal, that
    // it is broken (TCP cannot repair a lost stream), and untouched pairs learn nothing.
    let mut w = world(5, 2, 1_000_000, 1);
    w.schedule_fault(
        Time(50_000),
        Fault::Cut {
            from: "client-1".into(),
            to: "server-1".into(),
        },
    );
    w.schedule_fault(Time(60_000), Fault::Heal);
    w.run_until(Time(70_000), u64::MAX);
    let told: Vec<(String, String)> = w
        .trace()
        .records()
        .iter()
        .filter_map(|r| match r.kind {
            TraceKind::Disconnected { node, peer } => {
                Some((w.name(node).to_string(), w.name(peer).to_string()))
            }
            _ => None,
        })
        .collect();
    assert!(
        told.contains(&("client-1".into(), "server-1".into())),
        "{told:?}"
    );
    assert!(
        told.contains(&("server-1".into(), "client-1".into())),
        "{told:?}"
    );
    assert!(
        told.iter().all(|(a, b)| a != "client-2" && b != "client-2"),
        "{told:?}"
    );
}

#[test]
fn cancelled_timers_leave_the_queue_at_once() {
    // Proves cancelled timers do not pile up in the event queue (each ping's 10 s timeout is
    // cancelled by its reply: the queue holds only live work) and that taking them out
    // changes nothing observable.
    let build = || {
        let mut w = World::new(3, TraceMode::HashOnly);
        let server = w.add_node(
            "server-1",
            PingNode::Server(PingServer::default()),
            Time::ZERO,
        );
        let cfg = PingClientConfig {
            server,
            requests: 20_000,
            in_flight: 1,
            payload_bytes: 64,
            timeout: Some(Duration::from_secs(10)),
            persist: false,
        };
        w.add_node(
            "client-1",
            PingNode::Client(PingClient::new(cfg)),
            Time::ZERO,
        );
        w
    };
    let mut w = build();
    let mut max_pending = 0;
    while w.step() {
        max_pending = max_pending.max(w.pending());
    }
    assert!(client(&w, "client-1").is_done());
    assert_eq!(
        client(&w, "client-1").timeouts,
        0,
        "no cancelled timer fired"
    );
    // Left in place, ~5,000 cancelled 10 s timers would be queued at any moment; live work
    // is one request or reply, one timeout and the client's start.
    assert!(max_pending <= 3, "queue peaked at {max_pending}");
    let mut again = build();
    again.run_until(Time::MAX, u64::MAX);
    assert_eq!(w.trace().hash_hex(), again.trace().hash_hex());
}

#[test]
fn a_script_of_outside_inputs_replays_the_live_run_exactly() {
    // Proves the gateway's determinism rule: outside inputs applied between events (after
    // run_until) and the same inputs replayed by the world itself as a script give the same
    // trace hash, events and node states — including a node added mid-run, a message sent
    // from it, a close and a fault, some at times where other events fall.
    use kafkasim::sim::External;
    let server = NodeId(0);
    let extra = || {
        PingNode::Client(PingClient::new(PingClientConfig {
            server,
            requests: 5,
            in_flight: 1,
            payload_bytes: 8,
            timeout: Some(Duration::from_ms(50)),
            persist: true,
        }))
    };
    let mut live = world(11, 2, 40, 2);
    let mut actions = Vec::new();
    let mut act = |w: &mut World<PingNode>, a: External<PingNode>| {
        actions.push((w.now(), a.clone()));
        w.apply_external(a);
    };
    live.run_until(Time(3_000), u64::MAX);
    act(
        &mut live,
        External::AddNode {
            name: "external-1".into(),
            node: extra(),
        },
    );
    let ext = NodeId(3);
    // A second input at the same instant: the gateway first runs what the first one
    // scheduled there (the new node's start), as the script does.
    live.run_until(Time(3_000), u64::MAX);
    let ping = kafkasim::workload::ping::PingMsg::Ping {
        seq: 99,
        payload: 8,
    };
    act(
        &mut live,
        External::Send {
            from: ext,
            to: server,
            msg: ping,
        },
    );
    live.run_until(Time(20_000), u64::MAX);
    act(
        &mut live,
        External::Fault(FaultSpec {
            fault: Fault::Kill("server-1".into()),
            revert_after: Some(Duration::from_ms(5)),
        }),
    );
    live.run_until(Time(40_000), u64::MAX);
    act(
        &mut live,
        External::Close {
            from: ext,
            to: server,
        },
    );
    live.run_until(Time(200_000), u64::MAX);

    let mut replay = world(11, 2, 40, 2);
    replay.set_script(actions.into());
    assert_eq!(
        replay.scripted_node_names().collect::<Vec<_>>(),
        ["external-1"]
    );
    replay.run_until(Time(200_000), u64::MAX);
    assert_eq!(replay.trace().hash_hex(), live.trace().hash_hex());
    assert_eq!(replay.events(), live.events());
    assert_eq!(replay.node_count(), 4);
    assert_eq!(
        client(&replay, "external-1").replies,
        client(&live, "external-1").replies
    );
    assert!(
        client(&live, "external-1").replies > 0,
        "the added node ran"
    );
}
