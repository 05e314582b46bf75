//! The terminal loop: set the terminal up (ratatui installs a panic hook that restores it),
//! turn crossterm events into messages, pace playback with the real clock, and carry out
//! the commands `update` returns. The only place the workbench reads a clock.
#![allow(clippy::disallowed_methods)] // the UI loop paces playback on the real clock; never inside a run

use std::io;
use std::time::{Duration, Instant};

use ratatui::crossterm::event::{
    self, DisableMouseCapture, EnableMouseCapture, Event, KeyEventKind,
};
use ratatui::crossterm::execute;

use super::app::{update, App, Cmd, Msg};
use super::{app as open_app, views, TuiArgs};

/// Opens the workbench on `args` and runs until the user quits.
pub fn run_tui(args: TuiArgs) -> io::Result<()> {
    eprintln!("kafkasim: replaying {} …", args.scenario.name);
    let mut m = open_app(args)?;
    let mut terminal = ratatui::try_init()?;
    let _ = execute!(io::stdout(), EnableMouseCapture);
    let result = event_loop(&mut terminal, &mut m);
    let _ = execute!(io::stdout(), DisableMouseCapture);
    ratatui::restore();
    result
}

fn event_loop(terminal: &mut ratatui::DefaultTerminal, m: &mut App) -> io::Result<()> {
    let size = terminal.size()?;
    update(m, Msg::Resize(size.width, size.height));
    let frame = Duration::from_millis(33);
    let mut last = Instant::now();
    while !m.quit {
        terminal.draw(|f| views::render(f, m))?;
        let timeout = if m.playing {
            frame.saturating_sub(last.elapsed())
        } else {
            Duration::from_millis(250)
        };
        if event::poll(timeout)? {
            let msg = match event::read()? {
                Event::Key(k) if k.kind != KeyEventKind::Release => Some(Msg::Key(k)),
                Event::Mouse(ev) => Some(Msg::Mouse(ev)),
                Event::Resize(w, h) => Some(Msg::Resize(w, h)),
                _ => None,
            };
            if let Some(msg) = msg {
                let cmds = update(m, msg);
                perform(m, cmds);
            }
        }
        let now = Instant::now();
        let real_us = now.duration_since(last).as_micros() as u64;
        last = now;
        update(m, Msg::Tick(real_us));
    }
    Ok(())
}

fn perform(m: &mut App, cmds: Vec<Cmd>) {
    for c in cmds {
        match c {
            Cmd::WriteFile { path, text } => {
                if let Err(e) = std::fs::write(&path, text) {
                    m.status = format!("cannot write {path}: {e}");
                }
            }
        }
    }
}
