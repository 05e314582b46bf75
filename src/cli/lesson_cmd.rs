//! The lessons as the command line knows them: `kafkasim list` prints them in teaching
//! order with the question each one asks, and `kafkasim lesson N` opens lesson N's main
//! scenario in the workbench. Each lesson's text (`docs/lessons/NN-*.md`) and main scenario
//! are compiled in, so both commands work from any directory; the title and the question
//! are read from the lesson's own text, never copied, so the list cannot disagree with it.

use super::run_cmd::EXIT_BAD_INPUT;

/// One lesson: its markdown, and the path and text of the scenario `lesson N` opens.
pub struct Lesson {
    pub markdown: &'static str,
    pub scenario_path: &'static str,
    pub scenario_text: &'static str,
}

macro_rules! lesson {
    ($md:literal, $sc:literal) => {
        Lesson {
            markdown: include_str!(concat!("../../docs/lessons/", $md)),
            scenario_path: concat!("scenarios/", $sc),
            scenario_text: include_str!(concat!("../../scenarios/", $sc)),
        }
    };
}

/// The lessons in teaching order: lesson N is `LESSONS[N - 1]`.
pub const LESSONS: &[Lesson] = &[
    lesson!("01-the-simulator.md", "ping-faults.toml"),
    lesson!("02-decoupling-in-time.md", "kafka-callee-down.toml"),
    lesson!("03-send-modes.md", "send-sync.toml"),
    lesson!("04-partitions-and-keys.md", "lessons/partitions-keys.toml"),
    lesson!(
        "05-groups-and-rebalancing.md",
        "lessons/group-rebalance-eager.toml"
    ),
    lesson!("06-replication.md", "follower-pause-isr.toml"),
    lesson!("07-acks-all-failover.md", "acks-all-failover.toml"),
    lesson!("08-acks1-loses-writes.md", "acks1-leader-failover.toml"),
    lesson!(
        "09-acks0-loses-silently.md",
        "lessons/acks0-leader-failover.toml"
    ),
    lesson!("10-min-insync-replicas.md", "min-isr-rejects.toml"),
    lesson!("11-unclean-election.md", "unclean-election-enabled.toml"),
    lesson!("12-leader-epochs.md", "lessons/kip101-hw-truncation.toml"),
    lesson!("13-retries-and-idempotence.md", "retries-duplicate.toml"),
    lesson!("14-commit-semantics.md", "at-most-once.toml"),
    lesson!("15-zombie-leader.md", "lessons/zombie-leader.toml"),
    lesson!("16-slow-consumer.md", "lessons/slow-consumer.toml"),
    lesson!("17-power-loss.md", "power-loss-all-replicas.toml"),
    lesson!("18-lag-and-back-pressure.md", "lessons/backpressure.toml"),
    lesson!("19-retention.md", "lessons/retention-slow-consumer.toml"),
    lesson!("20-compaction.md", "lessons/compacted-table.toml"),
    lesson!(
        "21-transactions.md",
        "lessons/transactional-producer-crash.toml"
    ),
];

impl Lesson {
    /// The title: the text after `# Lesson N — ` on the first line.
    pub fn title(&self) -> &'static str {
        let first = self.markdown.lines().next().unwrap_or("");
        first.split_once(" — ").map_or(first, |(_, t)| t.trim())
    }

    /// The question: the paragraph after `**Question.**`, joined into one line.
    pub fn question(&self) -> String {
        let Some((_, rest)) = self.markdown.split_once("**Question.**") else {
            return String::new();
        };
        let para = rest.split("\n\n").next().unwrap_or("");
        para.split_whitespace().collect::<Vec<_>>().join(" ")
    }
}

/// `kafkasim list`'s first part: the lessons, in order, with their questions.
pub fn print_lessons() {
    println!("Lessons (docs/lessons/; open one with `kafkasim lesson N`):");
    for (i, l) in LESSONS.iter().enumerate() {
        println!("{:>3}  {}\n       {}", i + 1, l.title(), l.question());
    }
    println!();
}

/// `kafkasim lesson N`: lesson N's main scenario in the workbench.
pub fn lesson(n: u32, seed: Option<u64>) -> u8 {
    let Some(l) = (n as usize).checked_sub(1).and_then(|i| LESSONS.get(i)) else {
        eprintln!(
            "error: there is no lesson {n}: lessons are numbered 1 to {} (see `kafkasim list`)",
            LESSONS.len()
        );
        return EXIT_BAD_INPUT;
    };
    let scenario = match crate::scenario::parse(l.scenario_text, l.scenario_path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return EXIT_BAD_INPUT;
        }
    };
    eprintln!("Lesson {n} — {}: {}", l.title(), l.scenario_path);
    super::run_cmd::tui_with(scenario, seed, None)
}
