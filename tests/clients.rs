//! Client-side end-to-end scenarios that need no broker: the synchronous RPC baseline in a
//! simulated world. (Kafka-backed scenarios arrive once the broker lands.)

use kafkasim::sim::{Duration, Fault, Time, TraceKind, TraceMode, World};
use kafkasim::workload::actor::{Actor, ActorEvent};
use kafkasim::workload::rpc::{RpcCallee, RpcCaller, RpcCallerConfig, RpcEvent};

fn rpc_world(blocking: bool) -> World<Actor> {
    let mut w = World::new(11, TraceMode::Off);
    let callee = w.add_node(
        "callee",
        Actor::RpcCallee(RpcCallee::new(Duration::from_ms(2))),
        Time::ZERO,
    );
    let caller = RpcCaller::new(RpcCallerConfig {
        callee,
        rate_per_sec: 100,
        count: None,
        timeout: Duration::from_secs(1),
        retries: 2,
        blocking,
        start: Time::ZERO,
        stop: Some(Time(60_000_000)),
    });
    w.add_node("caller", Actor::RpcCaller(caller), Time::ZERO);
    w.schedule_fault(Time(10_000_000), Fault::Kill("callee".into()));
    w.schedule_fault(Time(40_000_000), Fault::Restart("callee".into()));
    w
}

fn caller(w: &World<Actor>) -> &RpcCaller {
    match w.node(w.find("caller").unwrap()) {
        Actor::RpcCaller(c) => c,
        _ => unreachable!(),
    }
}

#[test]
fn sync_rpc_caller_fails_and_blocks_while_callee_is_down() {
    // Proves the synchronous baseline: with the callee down for 30 s, a blocking caller's
    // calls fail after timeout × attempts and the calls behind them start late.
    let mut w = rpc_world(true);
    w.run_until(Time(70_000_000), 10_000_000);
    let c = caller(&w);
    assert!(
        c.stats.ok >= 1_900,
        "before and after the outage: {:?}",
        c.stats
    );
    assert!(
        c.stats.failed >= 5,
        "calls during the outage fail: {:?}",
        c.stats
    );
    let delayed = w
        .kept()
        .iter()
        .filter(|r| {
            matches!(
                &r.kind,
                TraceKind::Emit {
                    event: ActorEvent::Rpc(RpcEvent::CallDelayed { .. }),
                    ..
                }
            )
        })
        .count();
    assert!(
        delayed > 100,
        "calls queue up behind the blocked caller: {delayed}"
    );
    // Each failed call held the caller for timeout × attempts = 3 s: about ten failures,
    // and every call due meanwhile started late.
    assert!(c.stats.failed <= 12, "{:?}", c.stats);
}

#[test]
fn non_blocking_rpc_caller_loses_every_call_of_the_outage() {
    // Proves without blocking the caller keeps its rate but every call made while the callee
    // is down fails: there is no buffer between the two services.
    let mut w = rpc_world(false);
    w.run_until(Time(70_000_000), 10_000_000);
    let c = caller(&w);
    assert!(c.stats.failed >= 2_900, "{:?}", c.stats);
    assert!(c.stats.ok >= 2_900, "{:?}", c.stats);
}
