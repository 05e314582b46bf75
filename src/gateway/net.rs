//! The sockets of `kafkasim serve`. One listener per simulated broker plus the bootstrap
//! one; a thread per listener accepts connections, and a thread per connection reads bytes
//! and sends them down one channel to the single thread that owns the world. That thread
//! paces the simulation to the wall clock (× speed): each turn it runs the world up to "now",
//! drains what the external nodes received and writes it to the sockets, then cuts the
//! bytes that arrived into frames and applies them as inputs. Threads never touch the
//! world; the world never sees a socket. This is the one place with threads and the wall
//! clock outside the CLI's reporting and the terminal workbench.

use bytes::BytesMut;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};

use super::engine::{Gateway, Input, Listener, Output};
use super::frame::split_frame;

/// What the socket threads report.
pub enum NetEvent {
    Accepted {
        listener: Listener,
        stream: TcpStream,
    },
    Data {
        conn: u32,
        bytes: Vec<u8>,
    },
    Eof {
        conn: u32,
    },
    /// A control command, and where to send its answer (none for the terminal's).
    Control {
        command: String,
        reply: Option<Sender<String>>,
    },
}

/// Binds `addr` (port 0: any free port).
pub fn bind(addr: SocketAddr) -> Result<TcpListener, String> {
    TcpListener::bind(addr).map_err(|e| format!("cannot listen on {addr}: {e}"))
}

/// Accepts connections on `l` forever, reporting each on `tx`.
pub fn spawn_acceptor(l: TcpListener, listener: Listener, tx: Sender<NetEvent>) {
    std::thread::spawn(move || {
        for stream in l.incoming().flatten() {
            let _ = stream.set_nodelay(true);
            let ev = NetEvent::Accepted {
                listener: listener.clone(),
                stream,
            };
            if tx.send(ev).is_err() {
                return;
            }
        }
    });
}

/// Accepts control connections: each sends one command line and reads one answer line.
pub fn spawn_control(l: TcpListener, tx: Sender<NetEvent>) {
    std::thread::spawn(move || {
        for stream in l.incoming().flatten() {
            let tx = tx.clone();
            std::thread::spawn(move || control_conn(stream, tx));
        }
    });
}

fn control_conn(stream: TcpStream, tx: Sender<NetEvent>) {
    use std::io::BufRead;
    let mut line = String::new();
    let Ok(read) = stream.try_clone() else { return };
    let mut reader = std::io::BufReader::new(read.take(4096));
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let (rtx, rrx) = channel();
    let ev = NetEvent::Control {
        command: line.trim().to_string(),
        reply: Some(rtx),
    };
    if tx.send(ev).is_err() {
        return;
    }
    let answer = rrx
        .recv_timeout(std::time::Duration::from_secs(10))
        .unwrap_or_else(|_| "error: the session ended".to_string());
    let mut w = stream;
    let _ = writeln!(w, "{answer}");
}

/// Commands typed on the serving terminal (stdin), one per line.
pub fn spawn_stdin(tx: Sender<NetEvent>) {
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::stdin().lock().lines().map_while(Result::ok) {
            let command = line.trim().to_string();
            if command.is_empty() {
                continue;
            }
            if tx
                .send(NetEvent::Control {
                    command,
                    reply: None,
                })
                .is_err()
            {
                return;
            }
        }
    });
}

fn spawn_reader(conn: u32, mut stream: TcpStream, tx: Sender<NetEvent>) {
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => {
                    let _ = tx.send(NetEvent::Eof { conn });
                    return;
                }
                Ok(n) => {
                    let ev = NetEvent::Data {
                        conn,
                        bytes: buf[..n].to_vec(),
                    };
                    if tx.send(ev).is_err() {
                        return;
                    }
                }
            }
        }
    });
}

/// The real connections: their write halves and the bytes not yet cut into frames.
#[derive(Default)]
pub struct Conns {
    next: u32,
    streams: BTreeMap<u32, TcpStream>,
    pending: BTreeMap<u32, BytesMut>,
}

impl Conns {
    /// Turns socket events into gateway inputs, in arrival order.
    pub fn inputs(
        &mut self,
        ev: NetEvent,
        tx: &Sender<NetEvent>,
        log: &mut Vec<String>,
    ) -> Vec<Input> {
        match ev {
            NetEvent::Accepted { listener, stream } => {
                self.next += 1;
                let conn = self.next;
                match stream.try_clone() {
                    Ok(read) => spawn_reader(conn, read, tx.clone()),
                    Err(e) => {
                        log.push(format!("connection {conn}: cannot read: {e}"));
                        return Vec::new();
                    }
                }
                self.streams.insert(conn, stream);
                self.pending.insert(conn, BytesMut::new());
                vec![Input::Open { conn, listener }]
            }
            NetEvent::Data { conn, bytes } => {
                let Some(buf) = self.pending.get_mut(&conn) else {
                    return Vec::new();
                };
                buf.extend_from_slice(&bytes);
                let mut out = Vec::new();
                loop {
                    match split_frame(buf) {
                        Ok(Some(frame)) => out.push(Input::Frame { conn, bytes: frame }),
                        Ok(None) => break,
                        Err(e) => {
                            log.push(format!("connection {conn} closed: {e}"));
                            self.shut(conn);
                            out.push(Input::Close { conn });
                            break;
                        }
                    }
                }
                out
            }
            NetEvent::Control { command, .. } => vec![Input::Fault { command }],
            NetEvent::Eof { conn } => {
                if self.streams.contains_key(&conn) {
                    self.shut(conn);
                    vec![Input::Close { conn }]
                } else {
                    Vec::new()
                }
            }
        }
    }

    fn shut(&mut self, conn: u32) {
        if let Some(s) = self.streams.remove(&conn) {
            let _ = s.shutdown(Shutdown::Both);
        }
        self.pending.remove(&conn);
    }

    /// Carries out the gateway's outputs; log lines are collected.
    pub fn perform(&mut self, outputs: Vec<Output>, log: &mut Vec<String>) {
        for o in outputs {
            match o {
                Output::Send { conn, bytes } => {
                    let failed = match self.streams.get_mut(&conn) {
                        Some(s) => s.write_all(&bytes).is_err(),
                        None => false,
                    };
                    if failed {
                        self.shut(conn);
                    }
                }
                Output::Close { conn, why } => {
                    log.push(format!("connection {conn} closed: {why}"));
                    self.shut(conn);
                }
                Output::Log(line) => log.push(line),
                Output::Ctl(text) => log.push(format!("control: {text}")),
            }
        }
    }
}

/// One turn's socket events: waits up to `wait_ms` for the first, then takes whatever
/// else is queued. `None` when every sender is gone.
pub fn poll(rx: &Receiver<NetEvent>, wait_ms: u64) -> Option<Vec<NetEvent>> {
    let mut evs = Vec::new();
    match rx.recv_timeout(std::time::Duration::from_millis(wait_ms)) {
        Ok(ev) => evs.push(ev),
        Err(RecvTimeoutError::Timeout) => return Some(evs),
        Err(RecvTimeoutError::Disconnected) => return None,
    }
    while let Ok(ev) = rx.try_recv() {
        evs.push(ev);
    }
    Some(evs)
}

/// A channel for the socket threads.
pub fn events() -> (Sender<NetEvent>, Receiver<NetEvent>) {
    channel()
}

/// Handles one socket event: its inputs go to the gateway, what comes back is written,
/// and a control command's answer goes back to whoever sent it.
pub fn handle(
    g: &mut Gateway,
    conns: &mut Conns,
    ev: NetEvent,
    tx: &Sender<NetEvent>,
    log: &mut Vec<String>,
) {
    let reply = match &ev {
        NetEvent::Control { reply, .. } => reply.clone(),
        _ => None,
    };
    for input in conns.inputs(ev, tx, log) {
        let out = g.apply(input);
        if let Some(r) = &reply {
            for o in &out {
                if let Output::Ctl(text) = o {
                    let _ = r.send(text.clone());
                }
            }
        }
        conns.perform(out, log);
    }
}
