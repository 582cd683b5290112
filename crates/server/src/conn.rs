//! Per-connection bounds of the accept loop: a deadline on writing a response
//! ([`WriteDeadline`]) and a cap on connections per client address ([`PerAddress`]).

use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

/// A stream whose buffered output must be written out within a deadline.
///
/// The clock starts when a write first finds the socket full (the client is not reading) and
/// stops only when everything handed to the stream has been written and flushed (hyper flushes
/// after each response; TLS flushes its records through to this stream). Partial progress
/// does not restart it: a client reading a byte now and then cannot stretch one response over
/// hours. Past the deadline every write fails with `TimedOut`, and hyper closes the
/// connection.
///
/// Written here rather than taken from `tokio-io-timeout`: that crate restarts its write
/// timeout on every write that makes progress, which a trickling reader defeats.
pub(crate) struct WriteDeadline<S> {
    inner: S,
    limit: Duration,
    deadline: Option<Pin<Box<Sleep>>>,
}

impl<S> WriteDeadline<S> {
    pub(crate) fn new(inner: S, limit: Duration) -> WriteDeadline<S> {
        WriteDeadline { inner, limit, deadline: None }
    }

    /// Arms the deadline (if not yet armed) and fails once it has passed.
    fn pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        let limit = self.limit;
        let sleep = self.deadline.get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client did not read the response within the write timeout",
            )),
            Poll::Pending => Poll::Pending,
        }
    }

    /// Fails at once when the deadline armed by an earlier stall has passed.
    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        self.deadline.as_mut().is_some_and(|d| d.as_mut().poll(cx).is_ready())
    }
}

use std::future::Future as _;

impl<S: AsyncRead + Unpin> AsyncRead for WriteDeadline<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for WriteDeadline<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if self.expired(cx) {
            return Poll::Ready(Err(timed_out()));
        }
        match Pin::new(&mut self.inner).poll_write(cx, buf) {
            Poll::Pending => self.pending(cx).map(Err),
            ready => ready,
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if self.expired(cx) {
            return Poll::Ready(Err(timed_out()));
        }
        match Pin::new(&mut self.inner).poll_write_vectored(cx, bufs) {
            Poll::Pending => self.pending(cx).map(Err),
            ready => ready,
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.expired(cx) {
            return Poll::Ready(Err(timed_out()));
        }
        match Pin::new(&mut self.inner).poll_flush(cx) {
            Poll::Pending => self.pending(cx).map(Err),
            Poll::Ready(Ok(())) => {
                // Everything handed over is written: the next stall starts a new clock.
                self.deadline = None;
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.expired(cx) {
            return Poll::Ready(Err(timed_out()));
        }
        match Pin::new(&mut self.inner).poll_shutdown(cx) {
            Poll::Pending => self.pending(cx).map(Err),
            ready => ready,
        }
    }
}

fn timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "the client did not read the response within the write timeout")
}

/// Open connections per client address, with a cap.
#[derive(Clone, Default)]
pub(crate) struct PerAddress {
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

/// One admitted connection; its slot is given back on drop.
pub(crate) struct Admitted {
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
    ip: IpAddr,
}

impl PerAddress {
    /// Admits one more connection from `ip`, or `None` when it already holds `cap`.
    pub(crate) fn admit(&self, ip: IpAddr, cap: usize) -> Option<Admitted> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let n = open.entry(ip).or_insert(0);
        if *n >= cap {
            return None;
        }
        *n += 1;
        Some(Admitted { open: self.open.clone(), ip })
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = open.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// Counts connections closed at the per-address cap and logs them at most once a minute,
/// without the address: a flood does not flood the log.
#[derive(Default)]
pub(crate) struct RefusedLog {
    state: Mutex<(u64, Option<std::time::Instant>)>,
}

impl RefusedLog {
    pub(crate) fn note(&self) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.0 += 1;
        let now = std::time::Instant::now();
        if s.1.is_none_or(|t| now.duration_since(t) >= Duration::from_secs(60)) {
            crate::log::log(&format!(
                "closed {} connection(s) over --max-connections-per-ip since the last report",
                s.0
            ));
            *s = (0, Some(now));
        }
    }
}
