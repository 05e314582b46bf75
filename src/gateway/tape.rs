//! The tape: every input the real side gave a `kafkasim serve` session, with the simulated
//! time it entered the world — enough to replay the session exactly (`kafkasim run
//! SCENARIO --tape FILE`), since the world is deterministic between inputs.
//!
//! Format: JSON lines. The first line is a header naming the scenario, seed and how long
//! the session ran (`{"kafkasim_tape":1,"scenario":"…","seed":1,"end_us":…}`, rewritten
//! when the session ends); then one line per input, in order:
//! `{"at_us":N,"conn":C,"open":"bootstrap"|"broker-2"}`, `{"at_us":N,"conn":C,"frame":"<hex>"}`
//! (one whole request, size prefix excluded), `{"at_us":N,"conn":C,"close":true}` and
//! `{"at_us":N,"fault":"kill broker-2"}` (a control-channel command).

use bytes::Bytes;
use serde_json::{json, Value};

use super::engine::{Input, Listener};
use crate::sim::Time;

/// One recorded input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TapeEntry {
    pub at: Time,
    pub input: Input,
}

/// What the header line says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TapeHeader {
    pub scenario: String,
    pub seed: u64,
    /// Simulated time the session ended at (the replay runs to it).
    pub end_us: Option<u64>,
}

/// Recorded inputs; `take_new` hands out the ones not yet written to the file.
#[derive(Clone, Debug, Default)]
pub struct Tape {
    entries: Vec<TapeEntry>,
    written: usize,
}

impl Tape {
    pub fn record(&mut self, at: Time, input: &Input) {
        self.entries.push(TapeEntry {
            at,
            input: input.clone(),
        });
    }

    pub fn entries(&self) -> &[TapeEntry] {
        &self.entries
    }

    pub fn take_new(&mut self) -> Vec<TapeEntry> {
        let new = self.entries[self.written..].to_vec();
        self.written = self.entries.len();
        new
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

pub fn header_line(h: &TapeHeader) -> String {
    json!({"kafkasim_tape": 1, "scenario": h.scenario, "seed": h.seed, "end_us": h.end_us})
        .to_string()
}

pub fn entry_line(e: &TapeEntry) -> String {
    let v = match &e.input {
        Input::Open { conn, listener } => {
            let l = match listener {
                Listener::Bootstrap => "bootstrap".to_string(),
                Listener::Broker(n) => n.clone(),
            };
            json!({"at_us": e.at.0, "conn": conn, "open": l})
        }
        Input::Frame { conn, bytes } => json!({"at_us": e.at.0, "conn": conn, "frame": hex(bytes)}),
        Input::Close { conn } => json!({"at_us": e.at.0, "conn": conn, "close": true}),
        Input::Fault { command } => json!({"at_us": e.at.0, "fault": command}),
    };
    v.to_string()
}

/// Parses a tape file; an error names the line.
pub fn parse(text: &str) -> Result<(TapeHeader, Vec<TapeEntry>), String> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let (_, first) = lines.next().ok_or("empty tape")?;
    let h: Value = serde_json::from_str(first).map_err(|e| format!("line 1: {e}"))?;
    if h.get("kafkasim_tape").and_then(Value::as_u64) != Some(1) {
        return Err("line 1: not a kafkasim tape (expected {\"kafkasim_tape\":1,…})".into());
    }
    let header = TapeHeader {
        scenario: h["scenario"].as_str().unwrap_or("").to_string(),
        seed: h["seed"].as_u64().ok_or("line 1: `seed` missing")?,
        end_us: h["end_us"].as_u64(),
    };
    let mut entries = Vec::new();
    for (i, line) in lines {
        let n = i + 1;
        let v: Value = serde_json::from_str(line).map_err(|e| format!("line {n}: {e}"))?;
        let at = v["at_us"]
            .as_u64()
            .ok_or(format!("line {n}: `at_us` missing"))?;
        if let Some(command) = v["fault"].as_str() {
            let command = command.to_string();
            entries.push(TapeEntry {
                at: Time(at),
                input: Input::Fault { command },
            });
            continue;
        }
        let conn = v["conn"]
            .as_u64()
            .ok_or(format!("line {n}: `conn` missing"))? as u32;
        let input = if let Some(l) = v["open"].as_str() {
            let listener = match l {
                "bootstrap" => Listener::Bootstrap,
                name => Listener::Broker(name.to_string()),
            };
            Input::Open { conn, listener }
        } else if let Some(f) = v["frame"].as_str() {
            let bytes = unhex(f).ok_or(format!("line {n}: `frame` is not hex"))?;
            Input::Frame {
                conn,
                bytes: Bytes::from(bytes),
            }
        } else if v["close"].as_bool() == Some(true) {
            Input::Close { conn }
        } else {
            return Err(format!("line {n}: expected `open`, `frame` or `close`"));
        };
        entries.push(TapeEntry {
            at: Time(at),
            input,
        });
    }
    Ok((header, entries))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kind of entry survives a write and a read; bad lines are named.
    #[test]
    fn tape_round_trips_and_names_bad_lines() {
        let h = TapeHeader {
            scenario: "s".into(),
            seed: 3,
            end_us: Some(9),
        };
        let entries = vec![
            TapeEntry {
                at: Time(5),
                input: Input::Open {
                    conn: 1,
                    listener: Listener::Bootstrap,
                },
            },
            TapeEntry {
                at: Time(6),
                input: Input::Frame {
                    conn: 1,
                    bytes: Bytes::from_static(&[0, 18, 255]),
                },
            },
            TapeEntry {
                at: Time(7),
                input: Input::Open {
                    conn: 2,
                    listener: Listener::Broker("broker-2".into()),
                },
            },
            TapeEntry {
                at: Time(8),
                input: Input::Close { conn: 1 },
            },
            TapeEntry {
                at: Time(9),
                input: Input::Fault {
                    command: "kill broker-2 for 5s".into(),
                },
            },
        ];
        let mut text = header_line(&h) + "\n";
        for e in &entries {
            text += &(entry_line(e) + "\n");
        }
        assert_eq!(parse(&text).unwrap(), (h, entries));
        let bad = "{\"kafkasim_tape\":1,\"seed\":1}\n{\"at_us\":1,\"conn\":1,\"frame\":\"zz\"}\n";
        assert_eq!(parse(bad).unwrap_err(), "line 2: `frame` is not hex");
    }
}
