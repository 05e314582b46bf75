//! Property tests: generated scenarios (clusters, client configs, fault schedules), each
//! checked against the guarantee Kafka promises for that configuration, plus "sometimes"
//! coverage so a property cannot pass because nothing happened.
//!
//! Case count: `PROPTEST_CASES` (default 32 here). 100× more:
//! `PROPTEST_CASES=3200 cargo test --release --test properties`.
//! Case stream: fixed by default, so `cargo test` (and CI) generates the same cases every
//! time; `KAFKASIM_PROPTEST_SEED=<n>` draws another stream (each failure still prints the
//! scenario seed and file that replay it).
//! A failing case is shrunk by proptest (fewer faults, smaller numbers), written to
//! `target/tmp/properties/<property>.toml`, and reported with its seed and the replay
//! command `kafkasim tui FILE --seed N`.
//!
//! Properties that need Kafka return early with a message while `build` answers "Kafka
//! clusters are not simulated"; the ping properties run today.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};

use kafkasim::explore::verdict;
use kafkasim::runner;
use kafkasim::runner::check_scenario;
use kafkasim::scenario::{self, Scenario};
use kafkasim::sim::TraceMode;

fn cases() -> u32 {
    let env = std::env::var("PROPTEST_CASES").ok();
    env.and_then(|c| c.parse().ok()).unwrap_or(32)
}

/// The seed of the generated case stream (`KAFKASIM_PROPTEST_SEED`, default 0).
fn stream_seed() -> u64 {
    let env = std::env::var("KAFKASIM_PROPTEST_SEED").ok();
    env.and_then(|c| c.parse().ok()).unwrap_or(0)
}

fn runner() -> TestRunner {
    let config = Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    };
    let mut seed = [0u8; 32];
    seed[..8].copy_from_slice(&stream_seed().to_le_bytes());
    TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed))
}

/// Writes the failing scenario and returns the failure message with seed and replay.
fn fail(property: &str, s: &Scenario, why: String) -> TestCaseError {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("properties");
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join(format!("{property}.toml"));
    let _ = std::fs::write(&path, s.to_toml());
    let p = path.display();
    TestCaseError::fail(format!(
        "{why}\nseed {}; scenario written to {p}\nreplay: kafkasim tui {p} --seed {}",
        s.seed, s.seed
    ))
}

fn parse(text: &str) -> Scenario {
    scenario::parse(text, "generated.toml").unwrap_or_else(|e| panic!("{e}\n{text}"))
}

// ------------------------------------------------------------------ ping worlds (run today)

/// One generated fault: kind, two node indexes, start and length.
#[derive(Clone, Debug)]
struct GenFault {
    kind: usize,
    a: usize,
    b: usize,
    at_ms: u64,
    for_ms: u64,
}

fn gen_fault(kinds: usize, window_ms: u64) -> impl Strategy<Value = GenFault> {
    (0..kinds, 0..8usize, 1..8usize, 10..5_000u64, 0..window_ms).prop_map(
        move |(kind, a, b, for_ms, at)| GenFault {
            kind,
            a,
            b,
            at_ms: at.min(window_ms - for_ms),
            for_ms,
        },
    )
}

const PING_KINDS: [&str; 7] = [
    "kill",
    "pause",
    "isolate",
    "partition",
    "cut",
    "clog",
    "reset",
];

#[derive(Clone, Debug)]
struct PingCase {
    seed: u64,
    servers: usize,
    clients: usize,
    requests: u64,
    in_flight: u32,
    timeout_ms: u64,
    faults: Vec<GenFault>,
}

fn ping_case() -> impl Strategy<Value = PingCase> {
    let faults = prop::collection::vec(gen_fault(PING_KINDS.len(), 8_000), 0..6);
    (
        any::<u64>(),
        1..3usize,
        1..4usize,
        1_000..3_000u64,
        1..3u32,
        20..300u64,
        faults,
    )
        .prop_map(
            |(seed, servers, clients, requests, in_flight, timeout_ms, faults)| PingCase {
                seed: seed % 1_000_000,
                servers,
                clients,
                requests,
                in_flight,
                timeout_ms,
                faults,
            },
        )
}

fn ping_fault(f: &GenFault, nodes: &[String]) -> String {
    let a = &nodes[f.a % nodes.len()];
    let b = &nodes[(f.a + 1 + f.b % (nodes.len() - 1)) % nodes.len()];
    let kind = PING_KINDS[f.kind];
    let head = format!("\n[[fault]]\nat = \"{}ms\"\n", f.at_ms);
    let dur = format!("for = \"{}ms\"\n", f.for_ms);
    match kind {
        "kill" | "pause" | "isolate" => format!("{head}{kind} = \"{a}\"\n{dur}"),
        "partition" => format!("{head}partition = [[\"{a}\"], [\"{b}\"]]\n{dur}"),
        "cut" | "clog" => format!("{head}{kind} = {{ from = \"{a}\", to = \"{b}\" }}\n{dur}"),
        _ => format!("{head}reset = {{ between = [\"{a}\", \"{b}\"] }}\n"),
    }
}

fn ping_toml(c: &PingCase) -> String {
    let mut nodes: Vec<String> = (1..=c.servers).map(|i| format!("server-{i}")).collect();
    nodes.extend((1..=c.clients).map(|i| format!("client-{i}")));
    let mut t = format!(
        "name = \"generated ping\"\nseed = {}\nduration = \"30s\"\n[network]\nlatency = \"1ms..3ms\"\n\
         [ping]\nservers = {}\nclients = {}\nrequests = {}\nin_flight = {}\ntimeout = \"{}ms\"\n",
        c.seed, c.servers, c.clients, c.requests, c.in_flight, c.timeout_ms
    );
    for f in &c.faults {
        t.push_str(&ping_fault(f, &nodes));
    }
    t.push_str("\n[expect]\nnot-converged = 0\n");
    t
}

#[test]
fn ping_clients_with_a_timeout_finish_once_faults_stop() {
    // Proves liveness on ping worlds: every client gets every reply after the faults end
    // (the last 12s are fault-free), and that a real share of cases exercised retries.
    let retried = AtomicU64::new(0);
    let result = runner().run(&ping_case(), |c| {
        let s = parse(&ping_toml(&c));
        let r = check_scenario(&s, s.seed);
        if r.counters.get("ping-timeouts").is_some_and(|n| *n > 0) {
            retried.fetch_add(1, Ordering::Relaxed);
        }
        let v = verdict(&r);
        if v.failed() {
            return Err(fail("ping-liveness", &s, format!("{}", r)));
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let share = retried.load(Ordering::Relaxed) * 100 / u64::from(cases());
    assert!(
        share >= 10,
        "only {share}% of cases saw a retry: the faults do not bite"
    );
}

#[test]
fn same_seed_same_trace_hash() {
    // Proves determinism: a generated scenario run twice with one seed gives one trace hash.
    let result = runner().run(&ping_case(), |c| {
        let s = parse(&ping_toml(&c));
        let hash = |_| {
            runner::run(&s, s.seed, TraceMode::HashOnly)
                .unwrap()
                .1
                .trace_hash
        };
        let (a, b) = (hash(0), hash(1));
        if a != b {
            return Err(fail(
                "determinism",
                &s,
                format!("hashes differ: {a} vs {b}"),
            ));
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

// ------------------------------------------------------------ Kafka clusters (once simulated)

/// Fault kinds, in the order properties take prefixes of. `crash` (of the producer
/// application) and `power-loss` come last: idempotence covers one producer session only (a
/// restarted application resends under a new producer id), and Kafka's promises assume
/// acknowledged data survives, which a power loss of every replica breaks.
const KAFKA_KINDS: [&str; 8] = [
    "kill",
    "pause",
    "partition",
    "cut",
    "clog",
    "stall",
    "crash",
    "power-loss",
];

/// A generated cluster, client configuration and fault schedule.
#[derive(Clone, Debug)]
struct KafkaCase {
    seed: u64,
    brokers: usize,
    partitions: u32,
    rf: u32,
    min_isr: u32,
    acks: &'static str,
    idempotence: bool,
    max_in_flight: u32,
    send: &'static str,
    commit: &'static str,
    unclean: bool,
    faults: Vec<GenFault>,
}

/// `fault_kinds`: how many of KAFKA_KINDS (in order) the schedule may use.
fn kafka_case(fault_kinds: usize) -> impl Strategy<Value = KafkaCase> {
    let cluster = (1..=5usize, 1..=3u32, 1..=3u32, 1..=3u32);
    let client = (
        prop::sample::select(vec!["0", "1", "all"]),
        any::<bool>(),
        1..=5u32,
        prop::sample::select(vec!["sync", "async", "fire-and-forget"]),
        prop::sample::select(vec![
            "before-processing",
            "after-processing",
            "auto",
            "async",
        ]),
        any::<bool>(),
    );
    let faults = prop::collection::vec(gen_fault(fault_kinds, 20_000), 0..6);
    (any::<u64>(), cluster, client, faults).prop_map(
        |(
            seed,
            (brokers, partitions, rf, min_isr),
            (acks, idem, mif, send, commit, unclean),
            faults,
        )| {
            let rf = rf.min(brokers as u32);
            KafkaCase {
                seed: seed % 1_000_000,
                brokers,
                partitions,
                rf,
                min_isr: min_isr.min(rf),
                acks,
                idempotence: idem && acks == "all",
                max_in_flight: mif,
                send,
                commit,
                unclean,
                faults,
            }
        },
    )
}

fn kafka_fault(f: &GenFault, brokers: usize) -> String {
    let name = |i: usize| format!("broker-{}", i % brokers + 1);
    let (a, b) = (name(f.a), name(f.a + 1 + f.b % (brokers - 1).max(1)));
    let head = format!("\n[[fault]]\nat = \"{}ms\"\n", f.at_ms);
    let dur = format!("for = \"{}ms\"\n", f.for_ms);
    match KAFKA_KINDS[f.kind] {
        "partition" if a != b => {
            format!("{head}partition = [[\"{a}\"], [\"{b}\", \"controller\"]]\n{dur}")
        }
        "cut" | "clog" if a != b => {
            let k = KAFKA_KINDS[f.kind];
            format!("{head}{k} = {{ from = \"{a}\", to = \"{b}\" }}\n{dur}")
        }
        "crash" => format!("{head}crash = \"app\"\n{dur}"),
        "stall" => format!("{head}stall = \"consumer(readers-1)\"\n{dur}"),
        "power-loss" => format!("{head}power-loss = \"{a}\"\n{dur}"),
        "pause" => format!("{head}pause = \"{a}\"\n{dur}"),
        _ => format!("{head}kill = \"{a}\"\n{dur}"),
    }
}

fn kafka_toml(c: &KafkaCase, expect: &str) -> String {
    let mut t = format!(
        "name = \"generated cluster\"\nseed = {}\nduration = \"40s\"\n\
         [cluster]\nbrokers = {}\nconfig = {{ \"unclean.leader.election.enable\" = {}, \"offsets.topic.replication.factor\" = {} }}\n\
         [[topic]]\nname = \"orders\"\npartitions = {}\nreplication_factor = {}\nconfig = {{ \"min.insync.replicas\" = {} }}\n\
         [[producer]]\nname = \"app\"\ntopic = \"orders\"\nsend = \"{}\"\nrate = \"200/s\"\n\
         config = {{ acks = \"{}\", \"enable.idempotence\" = {}, \"max.in.flight.requests.per.connection\" = {} }}\n\
         [[consumer]]\nname = \"readers\"\ngroup = \"readers\"\ntopics = [\"orders\"]\ninstances = 2\ncommit = \"{}\"\n\
         config = {{ \"auto.offset.reset\" = \"earliest\" }}\n",
        c.seed, c.brokers, c.unclean, c.brokers.min(3), c.partitions, c.rf, c.min_isr, c.send, c.acks, c.idempotence, c.max_in_flight, c.commit
    );
    for f in &c.faults {
        t.push_str(&kafka_fault(f, c.brokers));
    }
    t.push_str(&format!(
        "\n[expect]\n{expect}\n[explore]\nliveness = \"15s\"\n"
    ));
    t
}

/// Counts of "sometimes" events over the cases that ran.
#[derive(Default)]
struct Coverage {
    ran: AtomicU64,
    elections: AtomicU64,
    rebalances: AtomicU64,
    retries: AtomicU64,
}

impl Coverage {
    fn see(&self, counters: &std::collections::BTreeMap<String, u64>) {
        self.ran.fetch_add(1, Ordering::Relaxed);
        let saw = |k: &str| counters.get(k).is_some_and(|n| *n > 0);
        let bump = |a: &AtomicU64, yes: bool| a.fetch_add(u64::from(yes), Ordering::Relaxed);
        bump(&self.elections, saw("leader-elections"));
        bump(&self.rebalances, saw("rebalances"));
        // Retries stay inside the producer (only exhausted ones reach the application).
        bump(&self.retries, saw("produce-retries"));
    }

    /// At least 5% of the cases that ran saw each kind of event.
    fn assert_some(&self, property: &str) {
        let ran = self.ran.load(Ordering::Relaxed);
        if ran == 0 {
            eprintln!("{property}: skipped, Kafka clusters are not simulated in this build yet");
            return;
        }
        for (what, n) in [
            ("a leader change", &self.elections),
            ("a rebalance", &self.rebalances),
            ("a produce retry", &self.retries),
        ] {
            let n = n.load(Ordering::Relaxed);
            assert!(
                n * 20 >= ran,
                "{property}: only {n} of {ran} cases saw {what}"
            );
        }
    }
}

/// Runs a Kafka property: `premise` adjusts a generated case so the guarantee applies,
/// `expect` is the guarantee as `[expect]` lines.
fn kafka_property(
    property: &str,
    fault_kinds: usize,
    premise: impl Fn(KafkaCase) -> KafkaCase,
    expect: &str,
) {
    let cov = Coverage::default();
    let strategy = kafka_case(fault_kinds).prop_map(premise);
    let result = runner().run(&strategy, |c| {
        let s = parse(&kafka_toml(&c, expect));
        let r = check_scenario(&s, s.seed);
        if r.error
            .as_deref()
            .is_some_and(|e| e.contains("not simulated"))
        {
            return Ok(());
        }
        cov.see(&r.counters);
        if !r.passed() {
            return Err(fail(property, &s, r.to_string()));
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    cov.assert_some(property);
}

#[test]
fn acks_all_with_min_insync_2_never_loses_a_write() {
    // Proves acks=all + min.insync.replicas=2 + RF=3 + unclean off, under kills, pauses and
    // partitions only, loses no acknowledged write.
    kafka_property(
        "no-lost-write",
        3,
        |c| KafkaCase {
            brokers: c.brokers.max(3),
            rf: 3,
            min_isr: 2,
            acks: "all",
            unclean: false,
            ..c
        },
        "lost-write = 0",
    );
}

#[test]
fn idempotence_duplicates_only_when_the_application_restarts() {
    // Proves issue 18's promise with producer crashes included: every duplicate of an
    // idempotent producer comes from an application that sent a value again after a
    // restart (`duplicate-restart`), never from the producer resending a batch the broker
    // already had (`duplicate-retry`), delivery timeouts and epoch bumps included.
    kafka_property(
        "idempotence-restart",
        KAFKA_KINDS.len() - 1,
        |c| KafkaCase {
            acks: "all",
            idempotence: true,
            send: if c.send == "fire-and-forget" {
                "async"
            } else {
                c.send
            },
            ..c
        },
        "duplicate-retry = 0",
    );
}

#[test]
fn idempotence_never_duplicates_or_reorders() {
    // Proves an idempotent producer's records are stored once and in send order, within one
    // producer session (no application crash) and without power loss (which can erase
    // acknowledged records and reuse their offsets).
    kafka_property(
        "idempotence",
        KAFKA_KINDS.len() - 2,
        |c| KafkaCase {
            acks: "all",
            idempotence: true,
            send: if c.send == "fire-and-forget" {
                "async"
            } else {
                c.send
            },
            ..c
        },
        "duplicate = 0\nnonmonotonic-send = 0",
    );
}

#[test]
fn commit_after_processing_loses_no_processing() {
    // Proves at-least-once: committing after processing never leaves a record unprocessed
    // (without power loss: a log that loses its acknowledged tail reuses offsets the group
    // already committed past, which is data loss, not a consumer bug).
    kafka_property(
        "at-least-once",
        KAFKA_KINDS.len() - 1,
        |c| KafkaCase {
            commit: "after-processing",
            ..c
        },
        "lost-processing = 0",
    );
}

#[test]
fn the_cluster_converges_after_faults_stop() {
    // Proves liveness: after the last fault, every partition has a leader and consumers
    // catch up within the fault-free phase.
    kafka_property(
        "convergence",
        KAFKA_KINDS.len(),
        |c| c,
        "not-converged = 0\noffline-partitions = 0",
    );
}
