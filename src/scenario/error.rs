//! Scenario errors: every problem found, each with file, line, column and a hint.

use std::fmt;
use std::ops::Range;

/// One problem in a scenario file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line; 0 when the problem is not tied to a position (e.g. unreadable file).
    pub line: usize,
    /// 1-based column (in characters).
    pub col: usize,
    pub message: String,
    /// e.g. "did you mean `acks`?"
    pub help: Option<String>,
}

/// Everything wrong with one scenario file, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioError {
    /// The file name used in messages.
    pub file: String,
    pub problems: Vec<Problem>,
}

impl ScenarioError {
    /// An error not tied to a position in the file (I/O, for instance).
    pub fn whole_file(file: &str, message: String) -> Self {
        ScenarioError {
            file: file.to_string(),
            problems: vec![Problem {
                line: 0,
                col: 0,
                message,
                help: None,
            }],
        }
    }

    pub(crate) fn from_diags(file: &str, text: &str, mut diags: Vec<Diag>) -> Self {
        diags.sort_by_key(|d| d.span.start);
        diags.dedup_by(|a, b| a.span == b.span && a.message == b.message);
        let problems = diags
            .into_iter()
            .map(|d| {
                let (line, col) = line_col(text, d.span.start);
                Problem {
                    line,
                    col,
                    message: d.message,
                    help: d.help,
                }
            })
            .collect();
        ScenarioError {
            file: file.to_string(),
            problems,
        }
    }
}

/// 1-based line and column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            if p.line == 0 {
                write!(f, "error: {}: {}", self.file, p.message)?;
            } else {
                write!(
                    f,
                    "error: {}:{}:{}: {}",
                    self.file, p.line, p.col, p.message
                )?;
            }
            if let Some(help) = &p.help {
                write!(f, "\n  help: {help}")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for ScenarioError {}

/// A problem at a byte span, before line numbers are computed.
#[derive(Debug, Clone)]
pub(crate) struct Diag {
    pub span: Range<usize>,
    pub message: String,
    pub help: Option<String>,
}
