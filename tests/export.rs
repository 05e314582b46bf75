//! The export formats as other tools read them: Perfetto flows that bind to slices,
//! Mermaid diagrams within Mermaid's size limit with reversible escaping, JSON lines with
//! their documented schema, and a client history from which an independent checker
//! finds the same lost writes as `kafkasim`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use kafkasim::export::{self, mermaid, Run, Window};
use serde_json::Value;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn run_of(file: &str) -> Run {
    let s = kafkasim::scenario::load(&root().join(file)).expect("a shipped scenario");
    Run::new(&s, s.seed).expect("it builds")
}

fn kafkasim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kafkasim"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("the binary runs")
}

fn scenario_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![root().join("scenarios")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "toml") {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

/// Every X slice per (pid, tid), sorted by start.
fn slices(events: &[Value]) -> BTreeMap<(u64, u64), Vec<(u64, u64)>> {
    let mut s: BTreeMap<(u64, u64), Vec<(u64, u64)>> = BTreeMap::new();
    for e in events.iter().filter(|e| e["ph"] == "X") {
        let (ts, dur) = (e["ts"].as_u64().unwrap(), e["dur"].as_u64().unwrap());
        assert!(dur >= 1, "a slice must be able to enclose a flow: {e}");
        let key = (e["pid"].as_u64().unwrap(), e["tid"].as_u64().unwrap());
        s.entry(key).or_default().push((ts, ts + dur));
    }
    s.values_mut().for_each(|v| v.sort());
    s
}

/// Checks every flow event binds to a slice on its track; returns the number of flows.
fn assert_flows_bind(text: &str) -> usize {
    let v: Value = serde_json::from_str(text).expect("Perfetto JSON parses");
    let events = v["traceEvents"].as_array().unwrap();
    let slices = slices(events);
    let mut flows = 0;
    for e in events {
        let name = e["name"].as_str().unwrap_or("");
        assert!(name.chars().count() <= 60, "name too long: {name}");
        if e["ph"] != "s" && e["ph"] != "f" {
            continue;
        }
        if e["ph"] == "f" {
            assert_eq!(e["bp"], "e", "a flow end binds to its enclosing slice");
        }
        flows += 1;
        let key = (e["pid"].as_u64().unwrap(), e["tid"].as_u64().unwrap());
        let ts = e["ts"].as_u64().unwrap();
        let track = slices.get(&key).map(Vec::as_slice).unwrap_or(&[]);
        let i = track.partition_point(|&(start, _)| start <= ts);
        let binds = track[..i]
            .iter()
            .rev()
            .take(4)
            .any(|&(a, b)| a <= ts && ts <= b);
        assert!(binds, "flow {e} has no enclosing slice on its track");
    }
    flows
}

#[test]
fn perfetto_flows_all_bind_and_names_stay_short() {
    // Proves every flow arrow binds at both ends, whole run and a window cut mid-flight,
    // that there is one flow per delivered message, and that counters carry real values.
    let run = of_failover();
    let all = export::perfetto::render(&run, Window::ALL);
    let delivered = run
        .world
        .trace()
        .records()
        .iter()
        .filter(|r| matches!(r.kind, kafkasim::sim::TraceKind::Deliver { .. }))
        .count();
    assert_eq!(assert_flows_bind(&all), 2 * delivered);
    // A window whose messages were sent before it starts needs stand-in Send slices.
    let part = export::perfetto::render(
        &run,
        Window {
            from: 9_000,
            to: 9_500,
        },
    );
    assert!(part.contains("\"name\":\"Send\""));
    assert!(assert_flows_bind(&part) > 0);
    // The last LEO counter of orders-0 on any broker is the final log's end.
    let v: Value = serde_json::from_str(&all).unwrap();
    let mut leo: BTreeMap<u64, i64> = BTreeMap::new();
    for e in v["traceEvents"].as_array().unwrap() {
        if e["ph"] == "C" && e["name"] == "LEO orders-0" {
            leo.insert(
                e["pid"].as_u64().unwrap(),
                e["args"]["offset"].as_i64().unwrap(),
            );
        }
    }
    let logs = run.final_logs.as_ref().unwrap();
    let (tp, records) = logs
        .partitions
        .iter()
        .find(|(tp, _)| &*tp.topic == "orders")
        .unwrap();
    let end = records.iter().last().map_or(0, |r| r.0 .0 + 1);
    assert_eq!(leo.values().max().copied(), Some(end), "{tp}");
    for counter in [
        "HW orders-0",
        "ISR orders-0",
        "lag orders-0",
        "messages in flight",
        "sends in flight",
    ] {
        assert!(
            all.contains(&format!("\"name\":\"{counter}\"")),
            "{counter}"
        );
    }
}

fn of_failover() -> Run {
    run_of("scenarios/acks1-leader-failover.toml")
}

#[test]
fn every_default_mermaid_window_fits_and_escaping_round_trips() {
    // Proves the default window of every shipped scenario renders under Mermaid's default
    // maxTextSize, and that every note decodes back to the text it was made from.
    for f in scenario_files() {
        let s = kafkasim::scenario::load(&f).unwrap();
        let Ok(run) = Run::new(&s, s.seed) else {
            continue;
        };
        let window = Window { from: 1, to: 200 };
        let d = &mermaid::diagrams(&run, window, mermaid::MAX_TEXT_SIZE)[0];
        assert!(
            d.text.len() < mermaid::MAX_TEXT_SIZE,
            "{}: {}",
            f.display(),
            d.text.len()
        );
        let notes: Vec<&str> = d
            .text
            .lines()
            .filter_map(|l| l.trim().strip_prefix("Note right of "))
            .map(|l| l.split_once(": ").unwrap().1)
            .collect();
        let texts: Vec<String> = run
            .records(Window {
                from: d.from,
                to: d.to,
            })
            .filter(|r| {
                matches!(
                    r.kind,
                    kafkasim::sim::TraceKind::Emit { .. } | kafkasim::sim::TraceKind::Start { .. }
                )
            })
            .map(|r| export::shorten(&run.text(r), mermaid::NOTE_MAX))
            .collect();
        let decoded: Vec<String> = notes.iter().map(|n| mermaid::unescape(n)).collect();
        assert_eq!(decoded, texts, "{}", f.display());
        for n in &notes {
            let raw = strip_entity_codes(n);
            assert!(
                !raw.contains([':', ';', '#', '"']),
                "{}: unescaped in {n}",
                f.display()
            );
        }
    }
}

/// `n` without its `#N;` entity codes.
fn strip_entity_codes(n: &str) -> String {
    let mut out = String::new();
    let mut rest = n;
    while let Some(i) = rest.find('#') {
        out.push_str(&rest[..i]);
        let end = rest[i..].find(';').map_or(rest.len(), |e| i + e + 1);
        rest = &rest[end..];
    }
    out + rest
}

#[test]
fn mermaid_windows_over_the_limit_split_or_are_refused() {
    // Proves a window too big for one diagram is exit 2 naming the limit, `--out DIR/`
    // splits it into numbered diagrams each under the limit, and --from > --to is exit 2.
    let f = "scenarios/acks1-leader-failover.toml";
    let big = kafkasim(&[
        "export", f, "--format", "mermaid", "--from", "1", "--to", "1000",
    ]);
    assert_eq!(big.status.code(), Some(2));
    let err = String::from_utf8_lossy(&big.stderr);
    assert!(err.contains("maxTextSize of 50000"), "{err}");
    let dir = std::env::temp_dir().join(format!("kafkasim-mermaid-{}/", std::process::id()));
    let out = kafkasim(&[
        "export",
        f,
        "--format",
        "mermaid",
        "--from",
        "1",
        "--to",
        "1000",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 2, "{files:?}");
    let mut next = 1;
    for p in &files {
        let text = std::fs::read_to_string(p).unwrap();
        assert!(text.len() < mermaid::MAX_TEXT_SIZE && text.starts_with("sequenceDiagram"));
        // diagram-NNN-events-A-B.mmd: consecutive windows with nothing left out.
        let name = p.file_stem().unwrap().to_str().unwrap();
        let parts: Vec<&str> = name.split('-').collect();
        let (a, b): (u64, u64) = (parts[3].parse().unwrap(), parts[4].parse().unwrap());
        assert!(a >= next && b >= a, "{name}");
        next = b + 1;
    }
    assert!(
        next > 900,
        "the diagrams reach the end of the window: {next}"
    );
    std::fs::remove_dir_all(&dir).ok();
    let bad = kafkasim(&[
        "export", f, "--format", "mermaid", "--from", "100", "--to", "50",
    ]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--from 100 is after --to 50"));
}

#[test]
fn json_lines_follow_the_schema() {
    // Proves every line has the envelope and history ops carry the event numbers and node
    // names the checker's history has.
    let (run, lines) = failover_lines();
    let mut last_ev = 0;
    for (i, l) in lines.iter().enumerate() {
        assert_eq!(l["schema_version"], 1);
        assert_eq!(l["seq"].as_u64(), Some(i as u64));
        let ev = l["ev"].as_u64().expect("ev");
        assert!(ev >= last_ev, "events in order: {l}");
        last_ev = ev;
        assert!(
            l["time_us"].is_u64() && l["kind"].is_string() && l["data"].is_object(),
            "{l}"
        );
        assert!(l["node"].is_null() || l["node"].is_string());
        assert!(l["text"].as_str().is_some_and(|t| !t.is_empty()));
    }
    // History ops, in order, with the checker's event numbers and node names.
    let ops: Vec<(u64, String, Value)> = lines
        .iter()
        .filter(|l| l["kind"] == "history")
        .map(|l| {
            (
                l["ev"].as_u64().unwrap(),
                l["node"].as_str().unwrap().to_string(),
                l["data"].clone(),
            )
        })
        .collect();
    let history = kafkasim::check::History::from_world(&run.world);
    let expected: Vec<(u64, String, Value)> = history
        .entries()
        .map(|e| {
            (
                e.event,
                e.node.to_string(),
                serde_json::to_value(&e.op).unwrap(),
            )
        })
        .collect();
    assert_eq!(ops.len(), expected.len());
    assert!(
        ops == expected,
        "history ops differ from the checker's history"
    );
}

fn failover_lines() -> (Run, Vec<Value>) {
    let run = of_failover();
    let text = export::jsonl::render(&run, Window::ALL);
    let lines = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    (run, lines)
}

#[test]
fn json_lines_keep_fault_groups_final_logs_and_anomalies() {
    // Proves a partition fault keeps its groups, the drained final logs are the checker's,
    // and the end line carries the anomaly counts `check` finds.
    let (run, lines) = failover_lines();
    let partition = lines
        .iter()
        .find(|l| l["kind"] == "fault" && l["data"]["verb"] == "partition")
        .unwrap();
    assert_eq!(
        partition["data"]["groups"],
        serde_json::json!([["broker-2"], ["broker-1", "broker-2", "broker-3"]])
    );
    let finals: BTreeMap<String, Value> = lines
        .iter()
        .filter(|l| l["kind"] == "final-log")
        .map(|l| {
            (
                l["data"]["tp"].as_str().unwrap().to_string(),
                l["data"]["records"].clone(),
            )
        })
        .collect();
    let logs = run.final_logs.as_ref().unwrap();
    assert_eq!(finals.len(), logs.partitions.len());
    for (tp, records) in &logs.partitions {
        assert_eq!(finals[&tp.to_string()], serde_json::json!(records), "{tp}");
    }
    let end = lines.last().unwrap();
    assert_eq!(end["kind"], "end");
    let lost = run
        .report
        .anomalies
        .iter()
        .filter(|a| a.kind.as_str() == "lost-write")
        .count();
    assert_eq!(
        end["data"]["anomalies"]["lost-write"].as_u64(),
        Some(lost as u64)
    );
    assert!(lost > 0);
}

/// Acknowledged sends missing from their partition's final read, from a history export.
fn lost_writes_in_history(text: &str) -> usize {
    let ops: Vec<Value> = text
        .lines()
        .skip(1)
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut finals: BTreeMap<String, BTreeSet<u64>> = BTreeMap::new();
    for o in ops
        .iter()
        .filter(|o| o["f"] == "poll" && o["final"] == true && o["type"] == "ok")
    {
        for (tp, records) in o["reads"].as_object().unwrap() {
            let values = records
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r[1].as_u64().unwrap());
            finals.entry(tp.clone()).or_default().extend(values);
        }
    }
    ops.iter()
        .filter(|o| o["f"] == "send" && o["type"] == "ok")
        .filter(|o| {
            !finals
                .get(o["tp"].as_str().unwrap())
                .is_some_and(|f| f.contains(&o["value"].as_u64().unwrap()))
        })
        .count()
}

#[test]
fn an_independent_checker_finds_the_lost_writes_of_power_loss() {
    // Proves the history export alone lets a checker count the lost writes `run --json`
    // reports for power-loss-all-replicas, and that each process runs one op at a time.
    let f = "scenarios/power-loss-all-replicas.toml";
    let out = kafkasim(&["export", f, "--format", "history"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let summary: Value = serde_json::from_slice(&kafkasim(&["run", f, "--json"]).stdout).unwrap();
    let reported = summary["anomalies"]["lost_write"].as_u64().unwrap();
    assert!(reported > 0);
    assert_eq!(lost_writes_in_history(&text) as u64, reported);
    // Jepsen's well-formedness: a process alternates invoke and completion.
    let mut open: BTreeMap<u64, bool> = BTreeMap::new();
    for l in text.lines().skip(1) {
        let o: Value = serde_json::from_str(l).unwrap();
        let p = o["process"].as_u64().unwrap();
        let invoking = o["type"] == "invoke";
        let was_open = open.insert(p, invoking).unwrap_or(false);
        assert_eq!(was_open, !invoking, "process {p} at {o}");
    }
}

#[test]
fn jepsen_edn_has_the_kafka_workload_op_shape() {
    // Proves the EDN history has one op map per line in Jepsen's shape, with as many
    // :ok sends as acknowledged sends and the same lost writes as the JSON history.
    let f = "scenarios/power-loss-all-replicas.toml";
    let out = kafkasim(&["export", f, "--format", "jepsen"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let ops: Vec<&str> = text.lines().filter(|l| !l.starts_with(';')).collect();
    assert!(ops
        .iter()
        .all(|l| l.starts_with("{:index ") && l.ends_with('}')));
    let ok_sends: Vec<&&str> = ops
        .iter()
        .filter(|l| l.contains(":type :ok, :f :send"))
        .collect();
    let summary: Value = serde_json::from_slice(&kafkasim(&["run", f, "--json"]).stdout).unwrap();
    assert_eq!(ok_sends.len() as u64, summary["acked"].as_u64().unwrap());
    // [[:send k [offset v]]] on acknowledgement; [[:poll {k [[offset v] ...]}]] for reads.
    let sent: Vec<(u64, u64)> = ok_sends
        .iter()
        .map(|l| {
            let v = l.split(":value [[:send ").nth(1).unwrap();
            let (k, rest) = v.split_once(" [").unwrap();
            let value = rest.split(']').next().unwrap().split(' ').nth(1).unwrap();
            (k.parse().unwrap(), value.parse().unwrap())
        })
        .collect();
    let finals: Vec<&&str> = ops
        .iter()
        .filter(|l| l.contains(":type :ok, :f :poll") && l.contains(":final? true"))
        .collect();
    assert_eq!(finals.len(), 1, "one final read per partition");
    let read = finals[0].split(":value [[:poll {").nth(1).unwrap();
    let stored: BTreeSet<u64> = read
        .split('[')
        .filter_map(|p| p.split(']').next()?.split(' ').nth(1)?.parse().ok())
        .collect();
    let lost = sent
        .iter()
        .filter(|(k, v)| *k == 0 && !stored.contains(v))
        .count();
    assert_eq!(
        lost as u64,
        summary["anomalies"]["lost_write"].as_u64().unwrap()
    );
}

#[test]
fn connection_closes_are_exported_with_their_real_cause() {
    // Proves the JSON lines text of a connection close names what closed it: after the
    // partition of lesson 15 heals, the connections that lost messages break ("healed"),
    // and no process died; in lesson 8 the leader is killed and its peers are told so.
    let closes = |file: &str| -> Vec<(u64, String)> {
        let run = run_of(file);
        export::export(&run, export::Format::JsonLines, Window::ALL)
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|v| v["kind"] == "disconnected")
            .map(|v| {
                (
                    v["time_us"].as_u64().unwrap(),
                    v["text"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let zombie = closes("scenarios/lessons/zombie-leader.toml");
    let healed: Vec<_> = zombie.iter().filter(|(t, _)| *t >= 20_000_000).collect();
    assert!(healed.len() >= 4, "{zombie:?}");
    for (_, text) in &healed[..4] {
        assert!(
            text.contains("when the network healed (at 20.000s)"),
            "{text}"
        );
    }
    assert!(
        zombie.iter().all(|(_, t)| !t.contains("died")),
        "{zombie:?}"
    );
    let killed = closes("scenarios/acks1-leader-failover.toml");
    assert!(
        killed
            .iter()
            .any(|(_, t)| t.contains("process died (kill at")),
        "{killed:?}"
    );
}
