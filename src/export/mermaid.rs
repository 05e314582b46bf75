//! Mermaid sequence diagrams of a window of the run, for slides.
//!
//! Mermaid refuses to render a diagram longer than its `maxTextSize` setting (50,000
//! characters by default: it shows "Maximum text size in diagram exceeded" instead), so a
//! window becomes one or more diagrams, each under [`MAX_TEXT_SIZE`]: events are packed
//! in order into the current diagram and a new one starts when the next event's lines
//! would not fit. One event's lines always stay together (one event with more lines than
//! fit — a broker becoming leader of thousands of partitions — is cut, with a note
//! saying how many lines were left out). Notes are shortened to [`NOTE_MAX`] characters.
//!
//! Text is escaped with Mermaid's entity codes (`#35;` for `#`, `#59;` for `;`, `#58;`
//! for `:`, `#60;`/`#62;` for `<`/`>`, `#34;` for `"`, and `<br>` for a line break)
//! instead of dropping characters; [`unescape`] reverses it exactly.

use std::fmt::Write as _;

use super::{record_node, shorten, Run, Window};
use crate::sim::{NodeId, TraceKind, TraceRecord};
use crate::workload::event::NodeEvent;

/// Mermaid's default `maxTextSize`.
pub const MAX_TEXT_SIZE: usize = 50_000;
/// Longest note text (before escaping).
pub const NOTE_MAX: usize = 100;

/// One diagram: the events it covers and its text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagram {
    /// First and last event number with a line in this diagram (0 when it has none).
    pub from: u64,
    pub to: u64,
    pub text: String,
}

/// Escapes `s` for a Mermaid message or note text.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '#' => out.push_str("#35;"),
            ';' => out.push_str("#59;"),
            ':' => out.push_str("#58;"),
            '<' => out.push_str("#60;"),
            '>' => out.push_str("#62;"),
            '"' => out.push_str("#34;"),
            '\n' => out.push_str("<br>"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// Reverses [`escape`]: decodes `#N;` entity codes and `<br>`.
pub fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find(['#', '<']) {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        if let Some(after) = rest.strip_prefix("<br>") {
            out.push('\n');
            rest = after;
            continue;
        }
        let code = rest[1..].find(';').and_then(|end| {
            let n: u32 = rest[1..1 + end].parse().ok()?;
            Some((char::from_u32(n)?, end + 2))
        });
        match code {
            Some((c, len)) if rest.starts_with('#') => {
                out.push(c);
                rest = &rest[len..];
            }
            _ => {
                out.push_str(&rest[..1]);
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// A Mermaid participant id: the name with every non-alphanumeric character as `_`.
fn participant_id(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

fn header(run: &Run) -> String {
    let mut out = String::from("sequenceDiagram\n");
    for n in &run.names {
        let _ = writeln!(
            out,
            "    participant {} as {}",
            participant_id(n),
            escape(n)
        );
    }
    out
}

/// The diagram line for a record, if it draws one.
fn line(run: &Run, rec: &TraceRecord<NodeEvent>) -> Option<String> {
    let id = |n: NodeId| participant_id(run.name(n));
    let note = || escape(&shorten(&run.text(rec), NOTE_MAX));
    Some(match &rec.kind {
        TraceKind::Deliver { from, to, msg, .. } => {
            format!("    {}->>{}: {}", id(*from), id(*to), escape(msg))
        }
        TraceKind::Drop {
            from,
            to,
            msg,
            reason,
            ..
        } => {
            let what = escape(&format!("{msg} (dropped: {reason:?})"));
            format!("    {}-x{}: {what}", id(*from), id(*to))
        }
        TraceKind::Fault(f) if !f.nodes.is_empty() => {
            let first = id(f.nodes[0]);
            let last = id(*f.nodes.last().expect("not empty"));
            let over = if first == last {
                first
            } else {
                format!("{first},{last}")
            };
            format!("    Note over {over}: {}", note())
        }
        TraceKind::Emit { .. } | TraceKind::Start { .. } => {
            let node = record_node(&rec.kind)?;
            format!("    Note right of {}: {}", id(node), note())
        }
        _ => return None,
    })
}

/// The diagrams of `window`, each at most `max` characters.
pub fn diagrams(run: &Run, window: Window, max: usize) -> Vec<Diagram> {
    let head = header(run);
    let mut out = Vec::new();
    let mut cur = Diagram {
        from: 0,
        to: 0,
        text: head.clone(),
    };
    let mut records = run.records(window).peekable();
    while let Some(first) = records.next() {
        let ev = first.event;
        let mut lines: Vec<String> = line(run, first).into_iter().collect();
        while let Some(rec) = records.next_if(|r| r.event == ev) {
            lines.extend(line(run, rec));
        }
        if lines.is_empty() {
            continue;
        }
        let len: usize = lines.iter().map(|l| l.len() + 1).sum();
        if cur.from != 0 && cur.text.len() + len > max {
            out.push(std::mem::replace(
                &mut cur,
                Diagram {
                    from: 0,
                    to: 0,
                    text: head.clone(),
                },
            ));
        }
        add_event(&mut cur, ev, lines, max);
    }
    if cur.from != 0 || out.is_empty() {
        out.push(cur);
    }
    out
}

/// Adds one event's lines; when they do not all fit, as many as do and a note.
fn add_event(d: &mut Diagram, ev: u64, lines: Vec<String>, max: usize) {
    if d.from == 0 {
        d.from = ev;
    }
    d.to = ev;
    let total = lines.len();
    for (i, l) in lines.into_iter().enumerate() {
        // Room for this line and a closing note of at most 120 characters.
        if d.text.len() + l.len() + 1 + 120 > max && i + 1 < total {
            let left = total - i;
            let who = first_participant(&d.text).to_string();
            let _ = writeln!(
                d.text,
                "    Note over {who}: {left} more lines of event {ev} left out (Mermaid's maxTextSize)"
            );
            return;
        }
        d.text.push_str(&l);
        d.text.push('\n');
    }
}

fn first_participant(text: &str) -> &str {
    text.lines()
        .find_map(|l| l.trim().strip_prefix("participant "))
        .and_then(|l| l.split(' ').next())
        .unwrap_or("kafkasim")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_round_trips_and_removes_special_characters() {
        // Proves every special character is encoded, and decoding gives the text back.
        let s = "HW: 5; #3 <x> \"q\" a#35;b\nnext";
        let e = escape(s);
        assert_eq!(unescape(&e), s);
        for bad in [":", ";", "\"", "\n", ">"] {
            let without_codes = e
                .replace("#35;", "")
                .replace("#59;", "")
                .replace("#58;", "");
            let without_codes = without_codes.replace("#60;", "").replace("#62;", "");
            let without_codes = without_codes.replace("#34;", "").replace("<br>", "");
            assert!(!without_codes.contains(bad), "{bad} in {e}");
        }
        assert_eq!(escape("a:b"), "a#58;b");
    }
}
