//! Real Kafka clients against `kafkasim serve`: kafka-python, confluent-kafka (librdkafka)
//! and kcat produce records to the simulated cluster and consume them back in groups; the
//! session's tape then replays with the same trace hash.
//!
//! The clients are outside Cargo's reach: the test uses `$KAFKASIM_PYTHON` (default
//! `python3`) and `kcat` from `PATH`. A missing one is skipped with a loud `SKIPPED` line,
//! never passed in silence; `.ci/run` installs all three, so on CI they run.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_kafkasim");
const SCENARIO: &str = "scenarios/gateway/orders.toml";

/// A `kafkasim serve` child, its bootstrap address and everything it printed.
struct Serve {
    child: Child,
    bootstrap: String,
    lines: mpsc::Receiver<String>,
}

impl Serve {
    fn start(args: &[&str]) -> Serve {
        Serve::start_scenario(SCENARIO, args)
    }

    fn start_scenario(scenario: &str, args: &[&str]) -> Serve {
        let mut child = Command::new(BIN)
            .arg("serve")
            .arg(scenario)
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("kafkasim serve starts");
        let out = BufReader::new(child.stdout.take().expect("stdout"));
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in out.lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let mut bootstrap = None;
        while bootstrap.is_none() {
            let line = rx
                .recv_timeout(Duration::from_secs(30))
                .expect("serve prints its bootstrap address");
            bootstrap = line.strip_prefix("bootstrap ").map(str::to_string);
        }
        Serve {
            child,
            bootstrap: bootstrap.expect("bootstrap"),
            lines: rx,
        }
    }

    /// Waits for the session to end; returns the trace hash it printed.
    fn finish(mut self) -> String {
        let mut hash = None;
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(120)) {
            if let Some(h) = line.strip_prefix("trace hash") {
                hash = Some(h.trim().to_string());
            }
        }
        let status = self.child.wait().expect("serve exits");
        assert!(status.success(), "serve failed: {status}");
        hash.expect("serve prints the trace hash at the end")
    }
}

fn python() -> String {
    std::env::var("KAFKASIM_PYTHON").unwrap_or_else(|_| "python3".to_string())
}

/// Runs a client script; `None` (after a loud SKIPPED line) when python or its library is
/// missing, else the JSON line it printed.
fn run_client(script: &str, bootstrap: &str, topic: &str, n: u32) -> Option<serde_json::Value> {
    run_script(script, &[bootstrap, topic, &n.to_string()])
}

fn run_script(script: &str, args: &[&str]) -> Option<serde_json::Value> {
    let path = Path::new("tests/clients").join(script);
    let out = match Command::new(python()).arg(&path).args(args).output() {
        Ok(o) => o,
        Err(e) => {
            eprintln!(
                "SKIPPED {script}: cannot run `{}` ({e}); set KAFKASIM_PYTHON",
                python()
            );
            return None;
        }
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.code() == Some(77) {
        eprintln!(
            "SKIPPED {script}: {} (pip install kafka-python confluent-kafka)",
            stderr.trim()
        );
        return None;
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().last().unwrap_or("");
    let v: serde_json::Value = serde_json::from_str(line)
        .unwrap_or_else(|e| panic!("{script} printed no result ({e}):\n{stdout}\n{stderr}"));
    Some(v)
}

fn kcat(args: &[&str], input: Option<&str>) -> Option<String> {
    let mut child = match Command::new("kcat")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("SKIPPED kcat: not found ({e}); apt-get install kcat");
            return None;
        }
    };
    let mut stdin = child.stdin.take().expect("stdin");
    if let Some(text) = input {
        stdin.write_all(text.as_bytes()).expect("kcat reads");
    }
    drop(stdin);
    let out = child.wait_with_output().expect("kcat runs");
    assert!(
        out.status.success(),
        "kcat {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8_lossy(&out.stdout).to_string())
}

fn tape_path(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    dir.join(name)
}

/// kafka-python, confluent-kafka and kcat each write records and read every one back
/// (kafka-python and confluent-kafka in consumer groups, committing offsets, the latter
/// with an idempotent producer; then two kafka-python consumers share a topic's three
/// partitions in one group; then confluent-kafka with each compression codec); the tape
/// replays to the session's trace hash.
#[test]
fn real_clients_round_trip_and_the_tape_replays() {
    let tape = tape_path("real-clients.tape");
    let tape_arg = tape.to_str().expect("utf-8 path");
    let serve = Serve::start(&["--speed", "2", "--duration", "70s", "--tape", tape_arg]);
    let b = serve.bootstrap.clone();
    if let Some(r) = run_client("roundtrip_kafka_python.py", &b, "orders", 40) {
        assert_eq!(r["acked"], 40, "kafka-python: {r}");
        assert_eq!(r["consumed"], 40, "kafka-python: {r}");
        assert_eq!(r["distinct"], 40, "kafka-python: {r}");
        assert_eq!(r["values_match"], true, "kafka-python: {r}");
        assert_eq!(r["headers_ok"], 40, "kafka-python: {r}");
        assert_eq!(r["committed"], 40, "kafka-python: {r}");
    }
    if let Some(r) = run_client("roundtrip_confluent.py", &b, "payments", 30) {
        assert_eq!(r["acked"], 30, "confluent-kafka: {r}");
        assert_eq!(r["failed"], 0, "confluent-kafka: {r}");
        assert_eq!(r["consumed"], 30, "confluent-kafka: {r}");
        assert_eq!(r["values_match"], true, "confluent-kafka: {r}");
        assert_eq!(r["committed"], 30, "confluent-kafka: {r}");
        assert_eq!(r["headers_ok"], 30, "confluent-kafka: {r}");
    }
    if let Some(r) = run_client("group_of_two_kafka_python.py", &b, "inventory", 60) {
        let m = &r["members"];
        let parts = |i: usize| m[i]["partitions"].as_array().map_or(0, Vec::len);
        assert_eq!(
            parts(0) + parts(1),
            3,
            "the group shares the 3 partitions: {r}"
        );
        assert!(
            parts(0) >= 1 && parts(1) >= 1,
            "both members got partitions: {r}"
        );
        assert_eq!(r["total"], 60, "group of two: {r}");
        assert_eq!(r["exactly_once"], true, "group of two: {r}");
    }
    if let Some(r) = run_client("compressed_confluent.py", &b, "inventory", 10) {
        for codec in ["gzip", "snappy", "lz4", "zstd"] {
            assert_eq!(r["acked"][codec], 10, "{codec}: {r}");
            assert_eq!(r["failed"][codec], 0, "{codec}: {r}");
        }
        assert_eq!(r["consumed"], 40, "compressed batches: {r}");
        assert_eq!(r["values_match"], true, "compressed batches: {r}");
    }
    let produced = kcat(
        &["-b", &b, "-P", "-t", "orders", "-p", "1"],
        Some("x1\nx2\nx3\n"),
    );
    if produced.is_some() {
        let read = kcat(
            &[
                "-b", &b, "-C", "-t", "orders", "-p", "1", "-o", "-3", "-e", "-q",
            ],
            None,
        )
        .expect("kcat ran once already");
        assert_eq!(read.lines().collect::<Vec<_>>(), ["x1", "x2", "x3"]);
    }
    let hash = serve.finish();
    let replay = Command::new(BIN)
        .args(["run", SCENARIO, "--tape", tape_arg])
        .output()
        .expect("kafkasim run --tape");
    let text = String::from_utf8_lossy(&replay.stdout);
    assert!(replay.status.success(), "replay failed: {text}");
    let replayed = text
        .lines()
        .find_map(|l| l.strip_prefix("trace hash"))
        .map(|h| h.trim().to_string());
    assert_eq!(replayed.as_deref(), Some(hash.as_str()), "replay:\n{text}");
    // The real consumers' reads are in the history, in order within each reading.
    let report = check_tape(&tape);
    assert!(report.passed(), "{report}");
    use kafkasim::check::AnomalyKind;
    assert_eq!(report.count(AnomalyKind::NonmonotonicPoll), 0, "{report}");
    assert_eq!(report.count(AnomalyKind::PollSkip), 0, "{report}");
    assert_eq!(report.count(AnomalyKind::Unseen), 0, "{report}");
    let consumed = report.counters.get("consumed").copied().unwrap_or(0);
    assert!(
        consumed >= 40 + 30 + 60,
        "every record delivered at least once: {report}"
    );
}

/// A frame with a size over the limit closes that connection with a log line and the
/// session goes on serving others (a new connection still answers ApiVersions).
#[test]
fn an_oversized_frame_closes_only_its_connection() {
    use std::io::Read;
    use std::net::TcpStream;
    let serve = Serve::start(&["--duration", "3s"]);
    let mut bad = TcpStream::connect(&serve.bootstrap).expect("connect");
    bad.write_all(&i32::MAX.to_be_bytes()).expect("write");
    let mut buf = [0u8; 1];
    bad.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    assert_eq!(bad.read(&mut buf).expect("closed, not timed out"), 0);
    // ApiVersions v0, correlation id 9, no client id.
    let mut good = TcpStream::connect(&serve.bootstrap).expect("connect");
    good.write_all(&[0, 0, 0, 10, 0, 18, 0, 0, 0, 0, 0, 9, 0xff, 0xff])
        .expect("write");
    good.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let mut head = [0u8; 8];
    good.read_exact(&mut head).expect("an ApiVersions response");
    assert_eq!(
        &head[4..8],
        &9i32.to_be_bytes(),
        "the correlation id echoed"
    );
    let mut logged = Vec::new();
    while let Ok(line) = serve.lines.recv_timeout(Duration::from_millis(500)) {
        logged.push(line);
        if logged.iter().any(|l| l.contains("closed:")) {
            break;
        }
    }
    assert!(
        logged.iter().any(|l| l.contains("frame size 2147483647")),
        "the close is logged: {logged:?}"
    );
    serve.finish();
}

const LESSON: &str = "scenarios/gateway/leader-cut-off.toml";

/// The lesson of `scenarios/gateway/leader-cut-off.toml` with a real librdkafka producer
/// sending for 20 s of wall time (40 s simulated): what the producer's delivery reports
/// say, and how many lost writes `check --tape` finds in the recorded session.
fn acks_lesson(acks: &str) -> Option<(serde_json::Value, u64)> {
    let tape = tape_path(&format!("acks-{acks}.tape"));
    let tape_arg = tape.to_str().expect("utf-8 path");
    let serve = Serve::start_scenario(LESSON, &["--speed", "2", "--tape", tape_arg]);
    let r = run_script(
        "acks_lesson_confluent.py",
        &[&serve.bootstrap, "orders", acks, "20"],
    );
    serve.finish();
    let base = kafkasim::scenario::load(Path::new(LESSON)).expect("scenario");
    let text = std::fs::read_to_string(&tape).expect("tape");
    let s = kafkasim::gateway::with_tape(&base, &text).expect("the tape attaches");
    let report = kafkasim::runner::check_scenario(&s, s.seed);
    assert!(report.passed(), "{report}");
    Some((r?, report.count(kafkasim::check::AnomalyKind::LostWrite)))
}

/// acks=1: the leader, cut off from its followers, acknowledges records no follower has;
/// it dies, a follower takes over, and the producer's own delivery reports said "ok" for
/// records that are not in the log (about 1.5 s of wall time at 50 records/s: ~75) — and
/// `check --tape` on the recorded session finds exactly those as lost writes.
#[test]
fn acks_1_loses_what_an_isolated_leader_acknowledged() {
    let Some((r, lost_writes)) = acks_lesson("1") else {
        return;
    };
    let lost = r["lost"].as_u64().expect("lost");
    assert_eq!(
        lost_writes, lost,
        "the checker sees what the delivery reports hid: {r}"
    );
    assert!(
        (10..=250).contains(&lost),
        "acks=1 should lose the cut-off window: {r}"
    );
    assert_eq!(r["failed"], 0, "{r}");
    assert_eq!(
        r["acked"].as_u64().expect("acked") - lost,
        r["in_log"].as_u64().expect("in_log"),
        "every other acknowledged record is in the log: {r}"
    );
}

/// acks=all (min.insync.replicas=2): the isolated leader cannot acknowledge anything, the
/// producer retries on the new leader, and no acknowledged record is lost.
#[test]
fn acks_all_loses_nothing_when_the_leader_is_cut_off() {
    let Some((r, lost_writes)) = acks_lesson("all") else {
        return;
    };
    assert_eq!(r["lost"], 0, "{r}");
    assert_eq!(lost_writes, 0, "{r}");
    assert_eq!(r["failed"], 0, "{r}");
    assert!(r["acked"].as_u64().expect("acked") >= 500, "{r}");
}

/// `external-N` is a fault target the scenario format accepts; before that connection
/// exists (here: a plain run) the fault fires unresolved and changes nothing.
#[test]
fn external_targets_parse_and_fire_unresolved_in_a_plain_run() {
    let base = std::fs::read_to_string(SCENARIO).expect("scenario");
    let text = format!("{base}\n[[fault]]\nat = \"1s\"\nkill = \"external-2\"\n");
    let s = kafkasim::scenario::parse(&text, "external.toml").expect("external-2 is a target");
    let mut w = kafkasim::scenario::build::build(&s, s.seed, kafkasim::sim::TraceMode::Full)
        .expect("builds");
    w.run_until(kafkasim::sim::Time(2_000_000), u64::MAX);
    let unresolved: Vec<_> = w
        .trace()
        .records()
        .iter()
        .filter_map(|r| match &r.kind {
            kafkasim::sim::TraceKind::Fault(f) => f.unresolved.clone(),
            _ => None,
        })
        .collect();
    assert_eq!(unresolved, ["external-2"]);
}

/// A tape opened in the workbench replays the session (same final trace hash as `run
/// --tape`), names the external node from the start, and a seek lands on a world where
/// it exists, talks to a broker and sees the control channel's kill.
#[test]
fn the_workbench_replays_a_tape_with_its_external_nodes() {
    let tape = concat!(
        r#"{"kafkasim_tape":1,"scenario":"A quiet three-broker cluster for real clients","seed":1,"end_us":4000000}"#,
        "\n",
        r#"{"at_us":1000000,"conn":1,"open":"bootstrap"}"#,
        "\n",
        // ApiVersions v0, then Metadata v1 for all topics.
        r#"{"at_us":1000000,"conn":1,"frame":"001200000000000affff"}"#,
        "\n",
        r#"{"at_us":1100000,"conn":1,"frame":"000300010000000bffffffffffff"}"#,
        "\n",
        r#"{"at_us":2000000,"fault":"kill broker-1 for 1s"}"#,
        "\n",
    );
    let base = kafkasim::scenario::load(Path::new(SCENARIO)).expect("scenario");
    let s = kafkasim::gateway::with_tape(&base, tape).expect("the tape attaches");
    assert_eq!(s.duration_us, 4_000_000);
    let (world, summary) =
        kafkasim::runner::run(&s, s.seed, kafkasim::sim::TraceMode::HashOnly).expect("runs");
    let ext = world.find("external-1").expect("the connection is a node");
    assert!(
        world.trace().hash_hex() == summary.trace_hash,
        "summary and world agree"
    );
    let mut m = kafkasim::tui::app(kafkasim::tui::TuiArgs {
        scenario: s,
        seed: None,
        compare: None,
    })
    .expect("the workbench builds");
    let side = &mut m.sides[0];
    assert_eq!(
        format!("{:016x}", side.replay.final_hash()),
        summary.trace_hash
    );
    assert!(side.replay.names().iter().any(|n| n == "external-1"));
    side.replay.seek_time(kafkasim::sim::Time(2_500_000));
    let w = side.replay.world();
    assert_eq!(w.name(ext), "external-1");
    assert_eq!(
        w.status(w.find("broker-1").expect("broker-1")),
        kafkasim::sim::Status::Down
    );
}

/// Runs `kafkasim run SCENARIO --tape` and returns the trace hash it printed.
fn replay_hash(scenario: &str, tape: &str) -> String {
    let replay = Command::new(BIN)
        .args(["run", scenario, "--tape", tape])
        .output()
        .expect("kafkasim run --tape");
    let text = String::from_utf8_lossy(&replay.stdout);
    assert!(replay.status.success(), "replay failed: {text}");
    text.lines()
        .find_map(|l| l.strip_prefix("trace hash"))
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|| panic!("no trace hash:\n{text}"))
}

/// `check --tape` on a recorded session of `SCENARIO`.
fn check_tape(tape: &Path) -> kafkasim::runner::CheckReport {
    let base = kafkasim::scenario::load(Path::new(SCENARIO)).expect("scenario");
    let text = std::fs::read_to_string(tape).expect("tape");
    let s = kafkasim::gateway::with_tape(&base, &text).expect("the tape attaches");
    kafkasim::runner::check_scenario(&s, s.seed)
}

/// A transactional librdkafka producer commits a transaction, aborts one, commits one; a
/// read_committed consumer gets exactly the committed records and a read_uncommitted one
/// the aborted ones too (the control records and the aborted-transactions list reach the
/// real clients); a consume-transform-produce step commits its offsets with
/// send_offsets_to_transaction. `check --tape` counts the real transactions' outcomes.
#[test]
fn a_real_transactional_producer_commits_and_aborts() {
    let tape = tape_path("txn.tape");
    let tape_arg = tape.to_str().expect("utf-8 path");
    let serve = Serve::start(&["--speed", "2", "--duration", "60s", "--tape", tape_arg]);
    let b = serve.bootstrap.clone();
    let r = run_script(
        "txn_confluent.py",
        &[&b, "payments", "10", "pipeline", "inventory"],
    );
    let hash = serve.finish();
    let Some(r) = r else {
        return;
    };
    assert_eq!(r["committed_sent"], 20, "{r}");
    assert_eq!(r["rc_consumed"], 20, "read_committed: {r}");
    assert_eq!(r["rc_committed_match"], true, "read_committed: {r}");
    assert_eq!(r["rc_aborted_seen"], 0, "read_committed: {r}");
    assert_eq!(r["ru_consumed"], 30, "read_uncommitted: {r}");
    assert_eq!(r["ru_aborted_seen"], 10, "read_uncommitted: {r}");
    assert_eq!(r["pipeline_in"], 20, "pipeline: {r}");
    assert_eq!(r["pipeline_out"], 20, "pipeline: {r}");
    let pipeline_txns = r["pipeline_txns"].as_u64().expect("pipeline_txns");
    assert_eq!(replay_hash(SCENARIO, tape_arg), hash);
    let report = check_tape(&tape);
    assert!(report.passed(), "{report}");
    let count = |k: &str| report.counters.get(k).copied().unwrap_or(0);
    assert_eq!(count("txn-committed"), 2 + pipeline_txns, "{report}");
    assert_eq!(count("txn-aborted"), 1, "{report}");
    // The real consumers are in the history: the read_committed ones returned no aborted
    // record; the read_uncommitted one got the 10 of the aborted transaction.
    use kafkasim::check::AnomalyKind;
    assert_eq!(report.count(AnomalyKind::AbortedRead), 0, "{report}");
    assert_eq!(count("uncommitted-reads"), 10, "{report}");
}

/// A real consumer's deliveries and commits are in the history: a kafka-python group that
/// starts with auto.offset.reset=latest reads only the 10 records written after it joined,
/// commits past the 10 before, and `check --tape` names those 10 as `unseen` — a commit
/// past records no Fetch ever delivered. Its 10 deliveries are the session's `consumed`.
#[test]
fn a_real_consumer_that_commits_past_unread_records_is_caught() {
    let tape = tape_path("late-joiner.tape");
    let tape_arg = tape.to_str().expect("utf-8 path");
    let serve = Serve::start(&["--speed", "2", "--duration", "40s", "--tape", tape_arg]);
    let r = run_client(
        "late_joiner_kafka_python.py",
        &serve.bootstrap,
        "orders",
        10,
    );
    serve.finish();
    let Some(r) = r else {
        return;
    };
    assert_eq!(r["early_read"], 0, "{r}");
    assert_eq!(r["late_read"], 10, "{r}");
    let report = check_tape(&tape);
    assert!(report.passed(), "{report}");
    use kafkasim::check::AnomalyKind;
    assert_eq!(report.count(AnomalyKind::Unseen), 10, "{report}");
    assert_eq!(report.count(AnomalyKind::NonmonotonicPoll), 0, "{report}");
    assert_eq!(report.count(AnomalyKind::PollSkip), 0, "{report}");
    assert_eq!(report.counters.get("consumed"), Some(&10), "{report}");
}

/// `serve --tui`'s live screen, on ratatui's TestBackend: fed from the running world at
/// every step of the serving loop; once the real client is done, the keys `:kill
/// broker-3⏎` inject a fault through the control channel.
struct ScreenMonitor<'a> {
    view: kafkasim::gateway::live::LiveView,
    term: ratatui::Terminal<ratatui::backend::TestBackend>,
    client_done: &'a std::sync::atomic::AtomicBool,
    typed: bool,
}

impl kafkasim::gateway::Monitor for ScreenMonitor<'_> {
    fn tick(
        &mut self,
        g: &kafkasim::gateway::engine::Gateway,
        log: &[String],
    ) -> kafkasim::gateway::Watch {
        use ratatui::crossterm::event::{KeyCode, KeyEvent};
        for line in log {
            self.view.push_log(line);
        }
        let mut watch = kafkasim::gateway::Watch::default();
        if !self.typed && self.client_done.load(std::sync::atomic::Ordering::SeqCst) {
            self.typed = true;
            let keys = ":kill broker-3".chars().map(KeyCode::Char);
            for code in keys.chain([KeyCode::Enter]) {
                if let Some(kafkasim::gateway::live::LiveAction::Command(c)) =
                    self.view.key(KeyEvent::from(code))
                {
                    watch.commands.push(c);
                }
            }
        }
        self.view.observe(g);
        let view = &self.view;
        self.term
            .draw(|f| kafkasim::gateway::live::draw(f, view))
            .expect("draws");
        watch
    }
}

fn screen_text(term: &ratatui::Terminal<ratatui::backend::TestBackend>) -> String {
    let buf = term.backend().buffer();
    let w = buf.area.width as usize;
    let cells: Vec<&str> = buf.content.iter().map(|c| c.symbol()).collect();
    cells
        .chunks(w)
        .map(|row| row.concat())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The live screen after real traffic: kafka-python's 20 records and its connections
/// (`external-N`, talking to brokers), the partitions with their leaders, and a kill
/// typed on the screen, answered and shown (broker-3 KILLED).
#[test]
fn serve_tui_shows_the_live_cluster_after_real_traffic() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let scenario = kafkasim::scenario::load(Path::new(SCENARIO)).expect("scenario");
    let opts = kafkasim::gateway::ServeOptions {
        listen: "127.0.0.1:0".parse().expect("address"),
        speed: 2.0,
        end_us: 40_000_000,
        seed: scenario.seed,
        commands_on_stdin: false,
    };
    let done = AtomicBool::new(false);
    let mut monitor = ScreenMonitor {
        view: kafkasim::gateway::live::LiveView::new(&scenario, 2.0),
        term: ratatui::Terminal::new(ratatui::backend::TestBackend::new(140, 40)).expect("term"),
        client_done: &done,
        typed: false,
    };
    let (tx, rx) = mpsc::channel::<String>();
    let client = std::thread::scope(|scope| {
        let served = scope.spawn(|| {
            let mut say = |l: &str| {
                let _ = tx.send(l.to_string());
            };
            kafkasim::gateway::serve(&scenario, &opts, None, &mut say, Some(&mut monitor))
                .map(|_| ())
        });
        let bootstrap = loop {
            let line = rx.recv_timeout(Duration::from_secs(30)).expect("announced");
            if let Some(b) = line.strip_prefix("bootstrap ") {
                break b.to_string();
            }
        };
        let r = run_client("roundtrip_kafka_python.py", &bootstrap, "orders", 20);
        done.store(true, Ordering::SeqCst);
        served.join().expect("serve thread").expect("serve ran");
        r
    });
    let Some(r) = client else {
        return;
    };
    assert_eq!(r["acked"], 20, "{r}");
    let screen = screen_text(&monitor.term);
    // Kept for a look: target/tmp/serve-tui.screen.
    let _ = std::fs::write(tape_path("serve-tui.screen"), &screen);
    let has = |s: &str| screen.contains(s);
    assert!(
        has("kafkasim serve — A quiet three-broker cluster"),
        "{screen}"
    );
    assert!(has("20 records from real clients"), "{screen}");
    assert!(
        has("· bootstrap 127.0.0.1:"),
        "the address to connect to:\n{screen}"
    );
    assert!(
        has("external-1"),
        "the real connections are nodes:\n{screen}"
    );
    assert!(
        has("control: ok: kill broker-3"),
        "the typed kill is answered:\n{screen}"
    );
    let broker3 = screen
        .lines()
        .find(|l| l.contains("broker-3 ") && l.contains("KILLED"));
    assert!(broker3.is_some(), "broker-3 shown killed:\n{screen}");
    assert!(has("orders"), "partitions listed:\n{screen}");
    // The client is gone: the connections it opened are shown closed, not as live. Its
    // last one may still be closing when the session ends (the client's exit races the
    // 20 s of wall clock on a loaded machine), so at most that one may still show open.
    let externals = screen.matches("● external-").count();
    assert!(externals >= 2, "{screen}");
    let closed = screen.matches("(closed)").count();
    assert!(
        closed + 1 >= externals && closed >= 1,
        "{closed} of {externals} closed:\n{screen}"
    );
}
