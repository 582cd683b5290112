//! The server's log: one line per event on stderr, written by a dedicated thread.
//!
//! Request handlers only queue a line (`try_send`, never waiting): a stderr that is a closed
//! pipe (`leakdex serve ... 2>&1 | head -1`), a full pipe nobody reads, or a slow terminal can
//! neither block nor kill serving. Lines that do not fit in the queue are dropped and counted,
//! and the count is logged once stderr keeps up again. Write errors are ignored (Rust ignores
//! `SIGPIPE`, so a closed pipe is an `EPIPE` error, not a signal).

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::OnceLock;
use std::time::Duration;

/// Lines queued at most before new ones are dropped.
const QUEUE_LINES: usize = 4096;

enum Msg {
    Line(String),
    Flush(mpsc::Sender<()>),
}

static SINK: OnceLock<SyncSender<Msg>> = OnceLock::new();
static DROPPED: AtomicU64 = AtomicU64::new(0);

fn sink() -> &'static SyncSender<Msg> {
    SINK.get_or_init(|| {
        let (tx, rx) = mpsc::sync_channel(QUEUE_LINES);
        // If the thread cannot start, every send fails and lines are counted as dropped.
        let _ = std::thread::Builder::new().name("leakdex-log".into()).spawn(move || writer(rx));
        tx
    })
}

fn writer(rx: Receiver<Msg>) {
    let mut reported = 0;
    for msg in rx {
        match msg {
            Msg::Line(line) => {
                let mut err = std::io::stderr().lock();
                let dropped = DROPPED.load(Ordering::Relaxed);
                if dropped > reported {
                    let _ = writeln!(
                        err,
                        "leakdex-server: {} log lines dropped: stderr was not being read fast enough",
                        dropped - reported
                    );
                    reported = dropped;
                }
                let _ = writeln!(err, "leakdex-server: {line}");
            }
            Msg::Flush(done) => {
                let _ = done.send(());
            }
        }
    }
}

/// Queues one log line; never waits.
pub(crate) fn log(msg: &str) {
    if sink().try_send(Msg::Line(msg.to_string())).is_err() {
        DROPPED.fetch_add(1, Ordering::Relaxed);
    }
}

/// Waits (at most `limit`) until the lines queued so far are written: before the process exits.
pub(crate) fn flush(limit: Duration) {
    let (tx, rx) = mpsc::channel();
    if sink().try_send(Msg::Flush(tx)).is_ok() {
        let _ = rx.recv_timeout(limit);
    }
}
