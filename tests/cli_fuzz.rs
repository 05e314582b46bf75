//! The command line's sharp edges, and a fuzz test of it: random argument lists and
//! random or mutated scenario files, fed to the built binary, must end in exit 0, 1 or 2
//! with no panic (exit 101), no abort (SIGABRT, exit 134) and no hang (a watchdog kills a
//! case after `CASE_LIMIT`). One fixed seed makes the cases the same on every run
//! (`KAFKASIM_FUZZ_SEED=N` draws others); a failure prints the arguments and the file so
//! it can be replayed by hand.

use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A case still running after this long is a hang.
const CASE_LIMIT: Duration = Duration::from_secs(10);
const ARG_CASES: usize = 300;
const FILE_CASES: usize = 400;

/// The fixed seed, or `KAFKASIM_FUZZ_SEED` to look further by hand.
fn seed() -> u64 {
    std::env::var("KAFKASIM_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(18)
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A scratch directory for one test (explore and export write files into the cwd).
fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("kafkasim-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

struct Ended {
    code: Option<i32>,
    signal: Option<i32>,
    stderr: String,
    hung: bool,
}

/// Runs the binary in `cwd` with stdout to a file (a full pipe would stall it), stdin
/// closed, and a watchdog on the wall clock (outside every run: the test process only).
#[allow(clippy::disallowed_methods)]
fn run_case(args: &[String], cwd: &Path) -> Ended {
    let err_path = cwd.join("stderr.txt");
    let mut child = Command::new(env!("CARGO_BIN_EXE_kafkasim"))
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(cwd.join("stdout.txt")).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .expect("the binary starts");
    let start = Instant::now();
    let (status, hung) = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break (s, false);
        }
        if start.elapsed() > CASE_LIMIT {
            let _ = child.kill();
            break (child.wait().unwrap(), true);
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    Ended {
        code: status.code(),
        signal: status.signal(),
        stderr: std::fs::read_to_string(&err_path).unwrap_or_default(),
        hung,
    }
}

fn assert_clean(e: &Ended, what: &str) {
    assert!(!e.hung, "hang (> {CASE_LIMIT:?}): {what}");
    assert_eq!(
        e.signal, None,
        "killed by a signal (abort?): {what}\n{}",
        e.stderr
    );
    assert!(
        matches!(e.code, Some(0..=2)),
        "exit {:?}: {what}\n{}",
        e.code,
        e.stderr
    );
    assert!(
        !e.stderr.contains("panicked"),
        "panic: {what}\n{}",
        e.stderr
    );
}

/// A small Kafka scenario (fast to run) to mutate: every section kind, faults, notes.
const KAFKA_BASE: &str = r#"name = "fuzz base"
seed = 3
duration = "3s"

[cluster]
brokers = 3
config = { "unclean.leader.election.enable" = false }

[network]
latency = "1ms..2ms"

[[topic]]
name = "orders"
partitions = 2
replication_factor = 3
config = { "min.insync.replicas" = 2 }

[[producer]]
name = "checkout"
topic = "orders"
send = "async"
rate = "50/s"
stop = "2s"
config = { acks = "all" }

[[consumer]]
name = "billing"
group = "billing"
topics = ["orders"]
processing = "1ms"
commit = "after-processing"

[[fault]]
at = "1s"
kill = "leader(orders-0)"
for = "500ms"

[[note]]
at = "1s"
text = "the leader died"

[expect]
lost-write = 0

[explore]
faults = "0..2"
kinds = ["kill", "partition"]
fault_duration = "100ms..500ms"
liveness = "1s"
"#;

const PING_BASE: &str = r#"name = "fuzz ping"
seed = 1
duration = "2s"

[ping]
servers = 2
clients = 2
requests = 20

[[fault]]
at = "100ms"
pause = "server-1"
for = "200ms"
"#;

/// Values that probe parsing and validation (not scale: the drain phase is not bounded by
/// `max_events`, so a huge rate would be a long run, not a bug).
const VALUES: &[&str] = &[
    "0",
    "-1",
    "1",
    "7",
    "18446744073709551616",
    "9223372036854775807",
    "\"\"",
    "\"x\"",
    "\"0s\"",
    "\"1us\"",
    "\"1000000h\"",
    "\"5s..1s\"",
    "\"0/s\"",
    "\"10/s\"",
    "\"1/0s\"",
    "[]",
    "{}",
    "[[]]",
    "true",
    "1.5",
    "nan",
    "\"leader(nope-0)\"",
    "\"broker-9\"",
    "\"all\"",
    "\"é\\u0000\"",
    "{ acks = \"2\" }",
    "[\"kill\", \"bogus\"]",
];

fn mutate(rng: &mut ChaCha8Rng, base: &str) -> String {
    let mut lines: Vec<String> = base.lines().map(String::from).collect();
    for _ in 0..rng.gen_range(1..=2) {
        let n = lines.len();
        let i = rng.gen_range(0..n);
        match rng.gen_range(0..10) {
            7..=9 => {
                // Change one digit: mostly still a valid scenario, so the run paths are
                // exercised too, not only the validator.
                let digits: Vec<usize> = lines[i]
                    .match_indices(|c: char| c.is_ascii_digit())
                    .map(|(j, _)| j)
                    .collect();
                if !digits.is_empty() {
                    let j = digits[rng.gen_range(0..digits.len())];
                    let d = char::from(b'0' + rng.gen_range(0..10u8));
                    lines[i].replace_range(j..j + 1, &d.to_string());
                }
            }
            0 => {
                lines.remove(i);
            }
            1 => lines.insert(i, lines[i].clone()),
            2 => lines.swap(i, rng.gen_range(0..n)),
            3 | 4 => {
                // Replace the value of a `key = value` line.
                if let Some((k, _)) = lines[i].split_once(" = ") {
                    lines[i] = format!("{k} = {}", VALUES[rng.gen_range(0..VALUES.len())]);
                }
            }
            5 => {
                // Flip one byte to a random printable character.
                let mut b = lines[i].clone().into_bytes();
                if !b.is_empty() {
                    let j = rng.gen_range(0..b.len());
                    b[j] = rng.gen_range(b' '..=b'~');
                }
                lines[i] = String::from_utf8_lossy(&b).into_owned();
            }
            _ => lines.truncate(i.max(1)),
        }
        if lines.is_empty() {
            lines.push(String::new());
        }
    }
    lines.join("\n") + "\n"
}

fn random_bytes(rng: &mut ChaCha8Rng) -> Vec<u8> {
    (0..rng.gen_range(0..200)).map(|_| rng.gen()).collect()
}

#[test]
fn mutated_scenario_files_never_crash_or_hang() {
    // Proves every mutated or random scenario file ends in exit 0, 1 or 2 for run, check
    // and export, and most mutants are rejected with a located message.
    let dir = scratch("fuzz-files");
    let mut rng = ChaCha8Rng::seed_from_u64(seed());
    let file = dir.join("case.toml");
    let (mut rejected, mut ran) = (0, 0);
    for case in 0..FILE_CASES {
        let bytes = match case % 8 {
            0 => random_bytes(&mut rng),
            1 | 2 => mutate(&mut rng, PING_BASE).into_bytes(),
            _ => mutate(&mut rng, KAFKA_BASE).into_bytes(),
        };
        std::fs::write(&file, &bytes).unwrap();
        let f = file.to_str().unwrap().to_string();
        let cmd: Vec<String> = match case % 5 {
            0 | 1 => vec!["run".into(), f, "--json".into()],
            2 => vec!["check".into(), f],
            3 => vec![
                "export".into(),
                f,
                "--format".into(),
                ["jsonl", "perfetto", "mermaid", "history", "jepsen"][case % 5].into(),
            ],
            _ => vec!["explore".into(), f, "--seeds".into(), "0..2".into()],
        };
        let e = run_case(&cmd, &dir);
        let text = String::from_utf8_lossy(&bytes);
        assert_clean(&e, &format!("{cmd:?} on\n{text}"));
        ran += usize::from(e.code != Some(2));
        if e.code == Some(2) {
            rejected += 1;
            assert!(
                !e.stderr.trim().is_empty(),
                "exit 2 without a message: {cmd:?} on\n{text}"
            );
        }
    }
    assert!(
        rejected > FILE_CASES / 4,
        "only {rejected} rejected: the mutations are too gentle"
    );
    assert!(
        ran > FILE_CASES / 4,
        "only {ran} ran: the mutations are too harsh"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn random_argument_lists_never_crash_or_hang() {
    // Proves random argument lists over the real subcommands, flags and values end in exit
    // 0, 1 or 2, and that an exit 2 always says why.
    let dir = scratch("fuzz-args");
    let scenario = root()
        .join("scenarios/ping-demo.toml")
        .display()
        .to_string();
    let explore = root()
        .join("scenarios/explore-ping.toml")
        .display()
        .to_string();
    let subcommands = [
        "run", "check", "export", "explore", "list", "tui", "help", "bench", "nope", "", "-",
    ];
    let flags = [
        "--seed",
        "--json",
        "--trace",
        "--invariants",
        "--format",
        "--from",
        "--to",
        "--out",
        "--seeds",
        "--jobs",
        "--quiet",
        "--compare",
        "--help",
        "--version",
        "-o",
        "--",
        "--bogus",
    ];
    let values = [
        scenario.as_str(),
        explore.as_str(),
        "missing.toml",
        ".",
        "/dev/null",
        "0",
        "1",
        "-5",
        "99999999999999999999",
        "0..2",
        "5..1",
        "a..b",
        "0..0",
        "jsonl",
        "mermaid",
        "perfetto",
        "history",
        "jepsen",
        "nope",
        "out/",
        "",
    ];
    let mut rng = ChaCha8Rng::seed_from_u64(seed());
    for _ in 0..ARG_CASES {
        let mut args: Vec<String> = vec![subcommands[rng.gen_range(0..subcommands.len())].into()];
        for _ in 0..rng.gen_range(0..5) {
            let pool: &[&str] = if rng.gen_bool(0.5) { &flags } else { &values };
            args.push(pool[rng.gen_range(0..pool.len())].into());
        }
        if args[0] == "bench" {
            // The benchmarks are long by design; fuzz only their argument checking.
            args.extend(["nope".into(), "--runs".into(), "0".into()]);
        }
        let e = run_case(&args, &dir);
        assert_clean(&e, &format!("{args:?}"));
        if e.code == Some(2) {
            assert!(
                !e.stderr.trim().is_empty(),
                "exit 2 without a message: {args:?}"
            );
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn explore_without_an_explore_section_is_exit_2() {
    // Proves exploring a scenario with no [explore] bounds is refused with a message.
    let dir = scratch("no-explore");
    let args: Vec<String> = ["explore", "scenarios/ping-demo.toml", "--seeds", "0..3"]
        .map(String::from)
        .into();
    let e = run_case(
        &[
            args[0].clone(),
            root().join(&args[1]).display().to_string(),
            args[2].clone(),
            args[3].clone(),
        ],
        &dir,
    );
    assert_eq!(e.code, Some(2), "{}", e.stderr);
    assert!(e.stderr.contains("no [explore] section"), "{}", e.stderr);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn progress_is_not_drawn_into_a_pipe() {
    // Proves explore's progress line (carriage returns) stays off when stderr is no terminal,
    // while its summary still reaches stderr.
    let out = Command::new(env!("CARGO_BIN_EXE_kafkasim"))
        .args(["explore", "scenarios/explore-ping.toml", "--seeds", "0..20"])
        .args(["--out", scratch("progress").to_str().unwrap()])
        .current_dir(root())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("20 seeds"), "{err}");
    assert!(!err.contains('\r'), "{err:?}");
}

#[test]
fn a_very_long_run_says_so_before_it_starts() {
    // Proves `run` on a scenario of a million simulated hours announces its size and cost
    // on stderr at once, while it is still running.
    let dir = scratch("long-run");
    let text =
        std::fs::read_to_string(root().join("scenarios/power-loss-all-replicas.toml")).unwrap();
    let file = dir.join("long.toml");
    std::fs::write(
        &file,
        text.replace("duration = \"40s\"", "duration = \"1000000h\""),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_kafkasim"))
        .args(["run", file.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let still_running = child.try_wait().unwrap().is_none();
    let _ = child.kill();
    let _ = child.wait();
    assert!(still_running, "the note must come before the run ends");
    assert!(
        line.contains("is large") && line.contains("41666.7 days simulated"),
        "{line}"
    );
    assert!(
        line.contains("5.00e7 events (its max_events limit"),
        "{line}"
    );
    std::fs::remove_dir_all(&dir).ok();
}
