//! Fault targets: node names (`broker-2`) and roles resolved when the fault fires
//! (`leader(orders-0)`, `follower(orders-0)`, `follower(orders-0, 2)` — the 2nd follower in
//! assignment order —, `consumer(billing-1)`).

use super::spec::{Consumer, Target, Topic, TopicPartition};
use super::walk::Problems;
use crate::kafka::config::suggest;
use std::ops::Range;

/// What targets can refer to: the scenario's node names, topics and consumers.
pub(crate) struct Roles<'a> {
    pub names: Vec<String>,
    pub topics: &'a [Topic],
    pub consumers: &'a [Consumer],
}

impl Roles<'_> {
    /// Reports an unknown node name with the nearest one, or the list of valid names.
    pub fn unknown(&self, cx: &mut Problems, name: &str, span: &Range<usize>) {
        let message = format!("unknown target `{name}`");
        match suggest(name, self.names.iter().map(String::as_str)) {
            Some(s) => cx.err_help(span, message, format!("did you mean `{s}`?")),
            None => {
                let mut valid = self.names.clone();
                if !self.topics.is_empty() {
                    valid.push("leader(TOPIC-N)".into());
                    valid.push("follower(TOPIC-N)".into());
                    valid.push("follower(TOPIC-N, I)".into());
                }
                if !self.consumers.is_empty() {
                    valid.push("consumer(NAME-N)".into());
                }
                cx.err_help(
                    span,
                    message,
                    format!("valid targets: {}", valid.join(", ")),
                )
            }
        }
    }

    fn is_consumer_instance(&self, node: &str) -> bool {
        self.consumers
            .iter()
            .any(|c| c.instance_names().iter().any(|n| n == node))
    }

    fn is_broker_like(&self, node: &str) -> bool {
        node == "controller"
            || node
                .strip_prefix("broker-")
                .is_some_and(|n| n.parse::<u32>().is_ok())
    }

    /// Power loss needs a disk: brokers, the controller, or a partition role.
    pub fn require_disk(&self, cx: &mut Problems, t: &Target, span: &Range<usize>) -> Option<()> {
        match t {
            Target::Node(n) if !self.is_broker_like(n) => {
                cx.err_help(
                    span,
                    format!("power-loss of `{n}`: only brokers and the controller have disks"),
                    "use kill (process crash) for clients",
                );
                None
            }
            Target::Consumer(n) => {
                cx.err_help(
                    span,
                    format!(
                        "power-loss of consumer `{n}`: only brokers and the controller have disks"
                    ),
                    "use crash for clients",
                );
                None
            }
            _ => Some(()),
        }
    }

    /// `crash` hits client applications; `stall` only consumers.
    pub fn require_client(
        &self,
        cx: &mut Problems,
        t: &Target,
        span: &Range<usize>,
        consumer_only: bool,
    ) -> Option<()> {
        let ok = match t {
            Target::Consumer(_) => true,
            Target::Node(n) => {
                self.is_consumer_instance(n) || !consumer_only && !self.is_broker_like(n)
            }
            _ => false,
        };
        if !ok {
            let what = if consumer_only {
                "`stall` applies to consumer instances"
            } else {
                "`crash` applies to client applications"
            };
            cx.err_help(
                span,
                format!("{what}, not `{}`", target_text(t)),
                "use kill or pause for brokers",
            );
        }
        ok.then_some(())
    }
}

/// `external-N`: the N-th real client connection under `kafkasim serve` (a fault on it
/// before that connection opens, or in a plain run, fires unresolved).
pub(crate) fn is_external(name: &str) -> bool {
    name.strip_prefix("external-")
        .is_some_and(|n| n.parse::<u32>().is_ok_and(|n| n >= 1))
}

/// Parses a target and checks that what it names exists.
pub(crate) fn parse_target(
    cx: &mut Problems,
    text: &str,
    span: &Range<usize>,
    roles: &Roles,
) -> Option<Target> {
    let t = text.trim();
    let Some((role, rest)) = t.split_once('(') else {
        if roles.names.iter().any(|n| n == t) || is_external(t) {
            return Some(Target::Node(t.to_string()));
        }
        roles.unknown(cx, t, span);
        return None;
    };
    let Some(arg) = rest.strip_suffix(')') else {
        cx.err_help(
            span,
            format!("target `{text}` is missing its closing `)`"),
            "write leader(orders-0)",
        );
        return None;
    };
    match role {
        "follower" if arg.contains(',') => nth_follower(cx, text, arg, span, roles),
        "leader" | "follower" => {
            let tp = topic_partition(cx, arg, span, roles)?;
            Some(if role == "leader" {
                Target::Leader(tp)
            } else {
                Target::Follower(tp)
            })
        }
        "consumer" => {
            if roles.is_consumer_instance(arg) {
                return Some(Target::Consumer(arg.to_string()));
            }
            let instances: Vec<String> = roles
                .consumers
                .iter()
                .flat_map(|c| c.instance_names())
                .collect();
            let message = format!("`{text}`: no consumer instance named `{arg}`");
            match suggest(arg, instances.iter().map(String::as_str)) {
                Some(s) => cx.err_help(span, message, format!("did you mean `consumer({s})`?")),
                None => cx.err_help(
                    span,
                    message,
                    format!("consumer instances: {}", instances.join(", ")),
                ),
            }
            None
        }
        other => {
            let message = format!("unknown role `{other}` in target `{text}`");
            match suggest(other, ["leader", "follower", "consumer"]) {
                Some(s) => cx.err_help(span, message, format!("did you mean `{s}(...)`?")),
                None => cx.err_help(
                    span,
                    message,
                    "roles: leader(TOPIC-N), follower(TOPIC-N), follower(TOPIC-N, I), consumer(NAME-N)",
                ),
            }
            None
        }
    }
}

/// `follower(orders-0, 2)`: I counts from 1 and must be below the replication factor.
fn nth_follower(
    cx: &mut Problems,
    text: &str,
    arg: &str,
    span: &Range<usize>,
    roles: &Roles,
) -> Option<Target> {
    let (tp_text, index) = arg.split_once(',').expect("checked by the caller");
    let tp = topic_partition(cx, tp_text.trim(), span, roles)?;
    let followers = roles
        .topics
        .iter()
        .find(|t| t.name == tp.topic)
        .map_or(0, |t| t.replication_factor.saturating_sub(1));
    match index.trim().parse::<u32>() {
        Ok(i) if i >= 1 && i <= followers => Some(Target::NthFollower(tp, i)),
        _ => {
            cx.err_help(
                span,
                format!("`{text}`: the follower index must be 1..{followers}"),
                format!(
                    "{}-{} has {followers} follower(s) (replication factor - 1); write e.g. follower({}-{}, 1)",
                    tp.topic, tp.partition, tp.topic, tp.partition
                ),
            );
            None
        }
    }
}

fn topic_partition(
    cx: &mut Problems,
    arg: &str,
    span: &Range<usize>,
    roles: &Roles,
) -> Option<TopicPartition> {
    let parsed = arg
        .rsplit_once('-')
        .and_then(|(topic, p)| Some((topic, p.parse::<u32>().ok()?)));
    let Some((topic, partition)) = parsed else {
        cx.err_help(
            span,
            format!("`{arg}` is not a partition"),
            "name a partition as TOPIC-N, e.g. orders-0",
        );
        return None;
    };
    let Some(t) = roles.topics.iter().find(|t| t.name == topic) else {
        let message = format!("unknown topic `{topic}` in target");
        match suggest(topic, roles.topics.iter().map(|t| t.name.as_str())) {
            Some(s) => cx.err_help(span, message, format!("did you mean `{s}`?")),
            None => cx.err(span, message),
        }
        return None;
    };
    if partition >= t.partitions {
        cx.err_help(
            span,
            format!("topic `{topic}` has no partition {partition}"),
            format!(
                "it has {} partitions: {topic}-0..{topic}-{}",
                t.partitions,
                t.partitions - 1
            ),
        );
        return None;
    }
    Some(TopicPartition {
        topic: topic.to_string(),
        partition,
    })
}

/// A target as written in a scenario file.
pub fn target_text(t: &Target) -> String {
    match t {
        Target::Node(n) => n.clone(),
        Target::Leader(tp) => format!("leader({}-{})", tp.topic, tp.partition),
        Target::Follower(tp) => format!("follower({}-{})", tp.topic, tp.partition),
        Target::NthFollower(tp, i) => format!("follower({}-{}, {i})", tp.topic, tp.partition),
        Target::Consumer(n) => format!("consumer({n})"),
    }
}
