//! A minimal SMTP sink on 127.0.0.1 (an ephemeral port) for the mail tests: it accepts
//! everything except recipients containing "reject" (550) and records each message; dropped,
//! it stops.
// Test support code: failing loudly is its job.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic, dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// One message the sink accepted: the envelope and the data.
#[derive(Clone, Debug, Default)]
pub struct Received {
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    pub data: String,
}

/// A minimal SMTP server: accepts everything except recipients containing "reject" (550),
/// records each message.
pub struct Sink {
    pub port: u16,
    stop: Arc<AtomicBool>,
    got: Arc<Mutex<Vec<Received>>>,
    thread: Option<JoinHandle<()>>,
}

impl Sink {
    pub fn start() -> Sink {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let got = Arc::new(Mutex::new(Vec::new()));
        let (s, g) = (Arc::clone(&stop), Arc::clone(&got));
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(conn) = conn {
                    let _ = serve(conn, &g);
                }
            }
        });
        Sink {
            port,
            stop,
            got,
            thread: Some(thread),
        }
    }

    pub fn received(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(conn: TcpStream, got: &Mutex<Vec<Received>>) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut w = conn.try_clone()?;
    let mut r = BufReader::new(conn);
    w.write_all(b"220 sink ESMTP\r\n")?;
    let mut current = Received::default();
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let cmd = line.trim_end().to_owned();
        let upper = cmd.to_ascii_uppercase();
        if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            w.write_all(b"250-sink\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")?;
        } else if upper.starts_with("MAIL FROM:") {
            current = Received {
                mail_from: cmd[10..].trim().to_owned(),
                ..Received::default()
            };
            w.write_all(b"250 OK\r\n")?;
        } else if upper.starts_with("RCPT TO:") {
            let to = cmd[8..].trim().to_owned();
            if to.contains("reject") {
                w.write_all(b"550 5.1.1 no such user\r\n")?;
            } else {
                current.rcpt_to.push(to);
                w.write_all(b"250 OK\r\n")?;
            }
        } else if upper == "DATA" {
            w.write_all(b"354 go ahead\r\n")?;
            let mut data = String::new();
            loop {
                line.clear();
                if r.read_line(&mut line)? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" {
                    break;
                }
                data.push_str(line.strip_prefix('.').unwrap_or(&line));
            }
            current.data = data;
            got.lock().unwrap().push(current.clone());
            w.write_all(b"250 queued\r\n")?;
        } else if upper == "QUIT" {
            w.write_all(b"221 bye\r\n")?;
            return Ok(());
        } else {
            w.write_all(b"250 OK\r\n")?;
        }
    }
}
