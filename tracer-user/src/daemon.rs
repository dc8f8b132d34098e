//! The drain loop: ring buffer → decode → JSON → stdout, until a signal or,
//! with `tracer -- CMD`, until CMD exits.

use std::io::{ErrorKind, Write};

use anyhow::Context as _;
use aya::maps::{MapData, RingBuf};
use tokio::{
    io::unix::AsyncFd,
    signal::unix::{SignalKind, signal},
};

use crate::decode::decode;
use crate::launch::HeldCommand;
use crate::load::Loaded;
use crate::output::Output;

/// Userspace-side tallies, printed at exit with the kernel's counters.
#[derive(Debug, Default, Clone, Copy)]
pub struct Stats {
    pub written: u64,
    pub decode_errors: u64,
}

/// Flush to stdout once this much output is buffered within one drain.
const FLUSH_AT: usize = 1 << 16;

pub enum Outcome {
    /// Stopped by SIGINT/SIGTERM.
    Signalled,
    /// The reader of stdout went away (EPIPE): stop quietly.
    OutputClosed,
    /// The launched command exited with this wait status.
    CommandExited(libc::c_int),
}

pub struct Drainer<W: Write> {
    out: W,
    buf: Vec<u8>,
    /// Decoded event → lines (format, correlation): `output.rs`.
    output: Output,
    pub stats: Stats,
}

impl<W: Write> Drainer<W> {
    pub fn new(out: W, output: Output) -> Self {
        Drainer { out, buf: Vec::with_capacity(2 * FLUSH_AT), output, stats: Stats::default() }
    }

    /// Decodes and formats one record into the output buffer.
    pub fn record(&mut self, bytes: &[u8]) {
        match decode(bytes) {
            Ok(ev) => {
                // --- the render hook: one event in, its lines out ---
                self.stats.written += self.output.render(ev, &mut self.buf);
            }
            Err(e) => {
                self.stats.decode_errors += 1;
                if self.stats.decode_errors <= 10 {
                    log::warn!("dropping undecodable record: {e}");
                }
            }
        }
    }

    pub fn should_flush(&self) -> bool {
        self.buf.len() >= FLUSH_AT
    }

    pub fn flush(&mut self) -> std::io::Result<()> {
        if !self.buf.is_empty() {
            self.out.write_all(&self.buf)?;
            self.buf.clear();
        }
        self.out.flush()
    }
}

/// Reads every record currently in the ring.
fn drain_ring<W: Write>(ring: &mut RingBuf<MapData>, d: &mut Drainer<W>) -> std::io::Result<()> {
    while let Some(item) = ring.next() {
        d.record(&item);
        drop(item);
        if d.should_flush() {
            d.flush()?;
        }
    }
    d.flush()
}

fn set_stop_signals_blocked(blocked: bool) {
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        let how = if blocked { libc::SIG_BLOCK } else { libc::SIG_UNBLOCK };
        libc::pthread_sigmask(how, &set, std::ptr::null_mut());
    }
}

/// Holds SIGINT/SIGTERM pending until [`run`] has its handlers in place.
/// Call before announcing `attached`: a stop requested from then on is
/// drained and summarised, never fatal.
pub fn hold_stop_signals() {
    set_stop_signals_blocked(true);
}

/// Waits for the launched command, if there is one; never resolves otherwise.
async fn command_exit(command: &mut Option<&mut HeldCommand>) -> std::io::Result<libc::c_int> {
    match command {
        Some(c) => c.wait().await,
        None => std::future::pending().await,
    }
}

/// Drains until SIGINT/SIGTERM, or, with a launched `command` (released
/// here), until it exits: then the signals are passed on to it instead, as
/// strace does. A [`crate::launch::LaunchError`] in the error chain means
/// the command could not be exec'd.
pub async fn run<W: Write>(
    loaded: &mut Loaded,
    drainer: &mut Drainer<W>,
    mut command: Option<&mut HeldCommand>,
) -> anyhow::Result<Outcome> {
    let ring = loaded.take_ring()?;
    // SAFETY: the AsyncFd owns the ring buffer, and with it the map fd, for
    // as long as it is registered; nothing else closes that fd.
    let mut afd = unsafe { AsyncFd::register_with_interest(ring, tokio::io::Interest::READABLE) }.map_err(|e| e.into_parts().1).context("polling the ring buffer")?;
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut sigterm = signal(SignalKind::terminate())?;
    set_stop_signals_blocked(false);
    // Only now, with the handlers in place, may CMD run: a Ctrl-C from its
    // first instruction on is passed on rather than killing tracer.
    if let Some(c) = command.as_mut() {
        c.release()?;
    }
    let outcome = loop {
        tokio::select! {
            guard = afd.readable_mut() => {
                let mut guard = guard?;
                let r = drain_ring(guard.get_inner_mut(), drainer);
                guard.clear_ready();
                if let Err(e) = r {
                    if e.kind() == ErrorKind::BrokenPipe {
                        break Outcome::OutputClosed;
                    }
                    return Err(e).context("writing events to stdout");
                }
            }
            status = command_exit(&mut command) => {
                break Outcome::CommandExited(status.context("waiting for the command")?);
            }
            _ = sigint.recv() => match &command {
                Some(c) => c.signal(libc::SIGINT),
                None => break Outcome::Signalled,
            },
            _ = sigterm.recv() => match &command {
                Some(c) => c.signal(libc::SIGTERM),
                None => break Outcome::Signalled,
            },
        }
    };
    if let Outcome::Signalled | Outcome::CommandExited(_) = outcome {
        // What the kernel committed before we stopped still goes out.
        match drain_ring(afd.get_mut(), drainer) {
            Err(e) if e.kind() == ErrorKind::BrokenPipe => return Ok(Outcome::OutputClosed),
            r => r.context("writing events to stdout")?,
        }
    }
    Ok(outcome)
}
