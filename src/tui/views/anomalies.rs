//! Anomalies: `kafkasim check`'s verdict on the whole run — the same liveness check, drain
//! phase and history analysis the CLI runs — so the workbench and `check` never disagree.
//! The first lines say so and count them by kind. Each row gives, for a lost write, when it
//! was acknowledged *and* when it was lost (the truncation that removed it); below the list
//! the selected anomaly's story: the numbered steps that explain it (`tui::story`). Enter
//! opens the story as a list to jump from (its number jumps too).

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::compare::verdict_text;
use super::{accent, bad, cursor, dim, fit};
use crate::tui::app::Side;
use crate::view_model::story::{StepKind, Story};
use crate::view_model::AnomalyView;

pub fn render(f: &mut Frame, area: Rect, s: &Side, sel: Option<usize>) {
    let list = s.replay.anomalies();
    let w = area.width as usize;
    let h = area.height as usize;
    // The drain's real length: it ends at the first slice after which nothing can change.
    let drain = match s.drain_ms {
        Some(ms) => format!(" and a {} drain phase", crate::runner::drain_text(ms)),
        None => String::new(),
    };
    let head = format!("kafkasim check's verdict on the whole run{drain}:");
    let mut lines = vec![
        Line::styled(fit(&head, w), dim()),
        Line::styled(
            fit(&format!("total: {}", verdict_text(s)), w),
            if list.is_empty() { accent() } else { bad() },
        ),
    ];
    if list.is_empty() {
        lines.push(Line::styled(
            "(lost acknowledged writes, duplicates and reordering appear here)",
            dim(),
        ));
    }
    let chosen = sel.map(|x| x.min(list.len().saturating_sub(1)));
    let story = chosen.and_then(|c| s.story(c));
    let story_rows = story.map_or(0, |st| st.steps.len() + 1);
    let room = h.saturating_sub(2);
    let rows = if story.is_some() {
        room.saturating_sub(story_rows)
            .max(2)
            .min(list.len())
            .min(room)
    } else {
        room.max(1)
    };
    let start = chosen.map_or(0, |c| c.saturating_sub(rows.saturating_sub(1)));
    for (i, a) in list.iter().enumerate().skip(start).take(rows) {
        let mut line = row(s, i, a, w);
        if chosen == Some(i) {
            line = line.style(cursor());
        }
        lines.push(line);
    }
    if let Some(st) = story {
        let left = h.saturating_sub(lines.len());
        lines.extend(story_lines(st, w, left));
    }
    f.render_widget(Paragraph::new(lines), area);
}

/// One anomaly: its kind, when (acknowledged → lost, for a lost write), what.
fn row(s: &Side, i: usize, a: &AnomalyView, w: usize) -> Line<'static> {
    let total = s.replay.total();
    let when = match s.loss(i) {
        Some((e, t)) => {
            let lost = if e > total {
                "in the drain".to_string()
            } else {
                t.to_string()
            };
            format!("acked {} lost {lost}", a.time)
        }
        None if a.event > total => format!("{:>9} drain", a.time.to_string()),
        None => format!("{:>9} ev {}", a.time.to_string(), a.event),
    };
    let used = 13 + when.chars().count() + 2;
    Line::from(vec![
        Span::styled(format!("{:<12} ", fit(&a.kind, 12)), bad()),
        Span::styled(format!("{when}  "), accent()),
        Span::raw(fit(&a.description, w.saturating_sub(used))),
    ])
}

/// The story below the list: a title, then one line per step (cut to the width; the
/// popup Enter opens wraps them whole), at most `rows` lines.
fn story_lines(st: &Story, w: usize, rows: usize) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    if rows == 0 {
        return out;
    }
    let title = if rows > st.steps.len() {
        "Why — Enter: pick a step to jump to (or its number)".to_string()
    } else {
        format!(
            "Why — {} steps, Enter shows them all and jumps",
            st.steps.len()
        )
    };
    out.push(Line::styled(fit(&title, w), accent()));
    for i in (0..st.steps.len()).take(rows - 1) {
        out.push(step_line(st, i, w));
    }
    out
}

/// One step as a line: number, time, what (the loss marked LOST).
pub fn step_line(st: &Story, i: usize, w: usize) -> Line<'static> {
    let step = &st.steps[i];
    let when = step.time.map_or("?".to_string(), |t| t.to_string());
    let lost = st.loss == Some(i);
    let head = format!("{} {:>9} ", i + 1, when);
    let tag = if lost {
        "LOST "
    } else if step.kind == StepKind::Unknown {
        "unknown: "
    } else {
        ""
    };
    let rest = w.saturating_sub(head.chars().count() + tag.len());
    Line::from(vec![
        Span::styled(head, dim()),
        Span::styled(tag.to_string(), bad()),
        Span::raw(fit(&step.text, rest)),
    ])
}
