//! The live control channel: faults injected by hand into a running `kafkasim serve`
//! session, from `kafkasim ctl ADDR COMMAND…` or typed on the serving terminal. A command
//! is one line with the scenario format's verbs and targets:
//!
//! ```text
//! kill broker-2 [for 10s]      power-loss broker-2      restart broker-2
//! pause leader(orders-0) [for 5s]                       resume broker-1
//! isolate external-3 [for 5s]  partition broker-1 external-1 / broker-2 broker-3
//! cut broker-1 broker-2        clog external-1 broker-1 unclog external-1 broker-1
//! reset external-1 broker-1    heal
//! ```
//!
//! A command becomes a fault scheduled at the current simulated time, and is recorded on
//! the tape like any other input, so the replay injects it at the same moment. Its targets
//! are checked against the world when it is applied: an unknown name is refused with the
//! reason, and nothing is scheduled.

use crate::scenario::units::parse_duration_us;
use crate::sim::{Duration, Fault, FaultSpec};

/// Parses one command line into a fault (targets are not resolved here).
pub fn parse(line: &str) -> Result<FaultSpec, String> {
    let (body, revert) = match line.split_once(" for ") {
        Some((b, d)) => {
            let us = parse_duration_us(d.trim()).map_err(|e| format!("`for {}`: {e}", d.trim()))?;
            (b, Some(Duration::from_us(us)))
        }
        None => (line, None),
    };
    let words: Vec<&str> = body.split_whitespace().collect();
    let one = |w: &[&str]| match w {
        [t] => Ok(t.to_string()),
        _ => Err("expects one target, e.g. `kill broker-2`".to_string()),
    };
    let two = |w: &[&str]| match w {
        [a, b] => Ok((a.to_string(), b.to_string())),
        _ => Err("expects two targets, e.g. `cut broker-1 broker-2`".to_string()),
    };
    let Some((&verb, rest)) = words.split_first() else {
        return Err("empty command (try `kill broker-2` or `heal`)".to_string());
    };
    let fault = match verb {
        "kill" => Fault::Kill(one(rest)?),
        "power-loss" => Fault::PowerLoss {
            target: one(rest)?,
            torn: false,
        },
        "restart" => Fault::Restart(one(rest)?),
        "pause" => Fault::Pause(one(rest)?),
        "resume" => Fault::Resume(one(rest)?),
        "isolate" => Fault::Isolate(one(rest)?),
        "heal" if rest.is_empty() => Fault::Heal,
        "partition" => partition(rest)?,
        "cut" => two(rest).map(|(from, to)| Fault::Cut { from, to })?,
        "clog" => two(rest).map(|(from, to)| Fault::Clog { from, to })?,
        "unclog" => two(rest).map(|(from, to)| Fault::Unclog { from, to })?,
        "reset" => two(rest).map(|(a, b)| Fault::Reset { a, b })?,
        other => {
            return Err(format!(
                "unknown command `{other}`: kill, power-loss, restart, pause, resume, isolate, \
                 partition, cut, clog, unclog, reset, heal"
            ))
        }
    };
    Ok(FaultSpec {
        fault,
        revert_after: revert,
    })
}

fn partition(words: &[&str]) -> Result<Fault, String> {
    let joined = words.join(" ");
    let groups: Vec<Vec<String>> = joined
        .split('/')
        .map(|g| g.split_whitespace().map(str::to_string).collect())
        .collect();
    if groups.len() < 2 || groups.iter().any(Vec::is_empty) {
        return Err(
            "partition expects groups split by `/`, e.g. `partition broker-1 / broker-2 broker-3`"
                .into(),
        );
    }
    Ok(Fault::Partition(groups))
}

/// Every target a fault names.
pub fn targets(f: &Fault) -> Vec<&str> {
    match f {
        Fault::Kill(t)
        | Fault::Restart(t)
        | Fault::Pause(t)
        | Fault::Resume(t)
        | Fault::Isolate(t)
        | Fault::PowerLoss { target: t, .. }
        | Fault::Signal { target: t, .. } => vec![t],
        Fault::Partition(groups) => groups.iter().flatten().map(String::as_str).collect(),
        Fault::Cut { from, to } | Fault::Clog { from, to } | Fault::Unclog { from, to } => {
            vec![from, to]
        }
        Fault::Reset { a, b } => vec![a, b],
        Fault::Heal => vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Commands parse into the scenario format's faults; mistakes say what is expected.
    #[test]
    fn commands_parse_into_faults() {
        let k = parse("kill broker-2 for 10s").unwrap();
        assert_eq!(k.fault, Fault::Kill("broker-2".into()));
        assert_eq!(k.revert_after, Some(Duration::from_us(10_000_000)));
        let p = parse("partition broker-1 external-1 / broker-2 broker-3").unwrap();
        assert_eq!(
            p.fault,
            Fault::Partition(vec![
                vec!["broker-1".into(), "external-1".into()],
                vec!["broker-2".into(), "broker-3".into()]
            ])
        );
        assert_eq!(parse("heal").unwrap().fault, Fault::Heal);
        assert!(parse("kill").unwrap_err().contains("one target"));
        assert!(parse("explode broker-1")
            .unwrap_err()
            .contains("unknown command"));
        assert!(parse("partition broker-1").unwrap_err().contains("groups"));
    }
}
