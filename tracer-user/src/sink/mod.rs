//! Sinks: where formatted lines go, each behind its own bounded queue.
//!
//! The drain task formats every record once into a [`Batch`] and offers it to
//! every sink's [`Queue`] (`queue.rs`); a queue that is full takes what fits
//! and the drain counts the rest as dropped for that sink. It never waits. Each
//! sink runs on its own OS thread ([`spawn`]), takes what is queued, writes it
//! with plain blocking I/O, and only then releases the bytes. A sink that
//! stalls (a full pipe, a peer that stopped reading, a disk that hangs) thus
//! stalls only its own thread and fills only its own queue.
//!
//! Threads rather than async tasks: files have no readiness model, stdout may
//! be a pipe or a tty, and a plain `write` that blocks for a minute must not
//! take the drain's runtime with it. Every blocking call has a timeout or
//! is interruptible by closing the queue, so shutdown stays bounded.

pub mod dir;
pub mod file;
pub mod net;
pub mod queue;
pub mod socket;
pub mod stdout;
pub mod syslog;

use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub use queue::Queue;

/// What a sink needs to know about one line without parsing it back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineMeta {
    /// End of the line (after its `\n`) in [`Batch::buf`]; it starts where
    /// the previous line ended.
    pub end: usize,
    pub seq: u64,
    /// Wall-clock time of the record, Unix nanoseconds.
    pub unix_ns: i128,
    pub kind: LineKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineKind {
    /// A traced call of process `pid` (thread `tid`), syscall number `nr`.
    Syscall { pid: u32, tid: u32, nr: u32 },
    /// Any other event of process `pid` (thread `tid`): lifecycle (`fork`,
    /// `exec`, `exit`, `signal`) or a correlated record (`thread_create`,
    /// `reaped`, `unreaped`); `event` is its name.
    Task { pid: u32, tid: u32, event: &'static str },
    /// tracer's own `lost` record.
    Lost,
    /// tracer's own `stats` record.
    Stats,
}

impl LineKind {
    /// The record's `event` field.
    pub fn event(&self) -> &'static str {
        match self {
            LineKind::Syscall { .. } => "syscall",
            LineKind::Task { event, .. } => event,
            LineKind::Lost => "lost",
            LineKind::Stats => "stats",
        }
    }
}

/// Lines formatted once by the drain and shared (read-only) by every sink.
#[derive(Debug, Default)]
pub struct Batch {
    pub buf: Vec<u8>,
    pub lines: Vec<LineMeta>,
}

impl Batch {
    pub fn with_capacity(bytes: usize) -> Self {
        Batch { buf: Vec::with_capacity(bytes), lines: Vec::with_capacity(bytes / 256) }
    }

    fn start(&self, i: usize) -> usize {
        if i == 0 { 0 } else { self.lines[i - 1].end }
    }

    /// Line `i`, with its `\n`.
    pub fn line(&self, i: usize) -> &[u8] {
        &self.buf[self.start(i)..self.lines[i].end]
    }

    /// Lines `r`, contiguous in the buffer.
    pub fn bytes(&self, r: Range<usize>) -> &[u8] {
        if r.is_empty() {
            return &[];
        }
        &self.buf[self.start(r.start)..self.lines[r.end - 1].end]
    }

    /// Records the line just appended to `buf` (ending in `\n`).
    pub fn push_line(&mut self, seq: u64, unix_ns: i128, kind: LineKind) {
        debug_assert_eq!(self.buf.last(), Some(&b'\n'));
        self.lines.push(LineMeta { end: self.buf.len(), seq, unix_ns, kind });
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }
}

/// A run of lines of one batch, as queued for one sink.
#[derive(Clone, Debug)]
pub struct Chunk {
    pub batch: Arc<Batch>,
    pub lines: Range<usize>,
}

impl Chunk {
    pub fn bytes(&self) -> &[u8] {
        self.batch.bytes(self.lines.clone())
    }
    pub fn metas(&self) -> &[LineMeta] {
        &self.batch.lines[self.lines.clone()]
    }
}

/// Counters a sink's thread keeps; the drain and the metrics endpoint read them.
#[derive(Debug, Default)]
pub struct SinkCounters {
    /// Lines handed to the destination (the kernel accepted the bytes).
    pub written: AtomicU64,
    /// Lines that could not be written (I/O error, or still unsent when the
    /// shutdown bound ran out).
    pub write_errors: AtomicU64,
}

impl SinkCounters {
    pub fn add_written(&self, n: usize) {
        self.written.fetch_add(n as u64, Ordering::Relaxed);
    }
    pub fn add_errors(&self, n: usize) {
        self.write_errors.fetch_add(n as u64, Ordering::Relaxed);
    }
}

/// Sent by a sink's thread to the drain.
#[derive(Debug)]
pub enum SinkEvent {
    /// stdout's reader went away (EPIPE): tracer stops quietly, like any
    /// filter in a pipeline.
    OutputClosed,
}

/// What a sink's thread is given.
pub struct SinkContext {
    pub queue: Arc<Queue>,
    pub counters: Arc<SinkCounters>,
    pub events: tokio::sync::mpsc::UnboundedSender<SinkEvent>,
}

/// How often an idle sink wakes for housekeeping (closing idle per-pid
/// files, noticing that stdout's reader went away).
pub const IDLE_TICK: Duration = Duration::from_millis(200);

/// The part every sink implements; the loop around it is [`run_worker`].
pub trait Writer: Send {
    /// Writes the chunk's lines. An error is logged and the lines counted
    /// as write errors; [`WriteError::Closed`] ends the sink.
    fn write(&mut self, chunk: &Chunk, ctx: &SinkContext) -> Result<(), WriteError>;
    /// SIGHUP: reopen files (logrotate renamed them).
    fn reopen(&mut self) -> std::io::Result<()> {
        Ok(())
    }
    /// Called at least every [`IDLE_TICK`].
    fn tick(&mut self, _ctx: &SinkContext) -> Result<(), WriteError> {
        Ok(())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The destination is gone for good (stdout's reader exited).
    #[error("output closed")]
    Closed,
    /// Shutdown began while the destination was unreachable: give up on
    /// what is left.
    #[error("gave up at shutdown: destination unreachable")]
    GaveUp,
    /// Only `failed` of the chunk's lines could not be written.
    #[error("{error} ({failed} lines not written)")]
    Some { failed: usize, error: std::io::Error },
}

/// Runs `w` on its own thread until the queue is closed and emptied (or the
/// writer gives up).
pub fn spawn(name: String, mut w: Box<dyn Writer>, ctx: SinkContext) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name(format!("sink {}", name.chars().take(10).collect::<String>()))
        .spawn(move || run_worker(&name, w.as_mut(), &ctx))
}

fn run_worker(name: &str, w: &mut dyn Writer, ctx: &SinkContext) {
    let mut errors_logged = 0u32;
    let mut log_error = |e: &dyn std::fmt::Display| {
        errors_logged += 1;
        if errors_logged <= 10 {
            log::warn!("sink {name}: {e}");
        }
    };
    let mut giving_up = false;
    loop {
        let taken = ctx.queue.take(IDLE_TICK);
        if taken.reopen
            && let Err(e) = w.reopen()
        {
            log_error(&format_args!("reopening: {e}"));
        }
        for chunk in &taken.chunks {
            let n = chunk.lines.len();
            if giving_up {
                ctx.counters.add_errors(n);
            } else {
                match w.write(chunk, ctx) {
                    Ok(()) => ctx.counters.add_written(n),
                    Err(WriteError::Closed) => {
                        let _ = ctx.events.send(SinkEvent::OutputClosed);
                        ctx.counters.add_errors(n);
                        giving_up = true;
                    }
                    Err(WriteError::GaveUp) => {
                        ctx.counters.add_errors(n);
                        giving_up = true;
                    }
                    Err(WriteError::Some { failed, error }) => {
                        ctx.counters.add_written(n.saturating_sub(failed));
                        ctx.counters.add_errors(failed.min(n));
                        log_error(&error);
                    }
                    Err(e) => {
                        ctx.counters.add_errors(n);
                        log_error(&e);
                    }
                }
            }
            ctx.queue.release(chunk.bytes().len());
        }
        if !taken.chunks.is_empty()
            && let Err(e) = w.flush()
        {
            log_error(&format_args!("flushing: {e}"));
        }
        if !giving_up {
            match w.tick(ctx) {
                Err(WriteError::Closed) => {
                    let _ = ctx.events.send(SinkEvent::OutputClosed);
                    giving_up = true;
                }
                Err(e) => log_error(&e),
                Ok(()) => {}
            }
        }
        if taken.closed && taken.chunks.is_empty() {
            let _ = w.flush();
            return;
        }
    }
}

/// A destination named on the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SinkSpec {
    Stdout,
    File(std::path::PathBuf),
    Dir(std::path::PathBuf),
    Socket(net::Endpoint),
    Syslog(net::Endpoint),
}

impl SinkSpec {
    /// The sink's name in `lost`/`stats` records and metric labels.
    pub fn name(&self) -> String {
        match self {
            SinkSpec::Stdout => "stdout".into(),
            SinkSpec::File(p) => format!("file:{}", p.display()),
            SinkSpec::Dir(p) => format!("dir:{}", p.display()),
            SinkSpec::Socket(e) => format!("socket:{e}"),
            SinkSpec::Syslog(e) => format!("syslog:{e}"),
        }
    }
}

/// Options the file sinks share.
#[derive(Clone, Copy, Debug, Default)]
pub struct FileOptions {
    /// Rotate once a file would grow past this many bytes (`None`: never).
    pub rotate_size: Option<u64>,
    /// Rotated files kept: FILE.1 … FILE.N.
    pub rotate_keep: u32,
}

/// Opens the destination (files are created now, so that a bad path is a
/// usage error before anything is loaded) and returns its writer.
pub fn open(spec: &SinkSpec, opts: FileOptions) -> anyhow::Result<Box<dyn Writer>> {
    Ok(match spec {
        SinkSpec::Stdout => Box::new(stdout::Stdout::new()),
        SinkSpec::File(p) => Box::new(file::RotatingFile::open(p, opts)?),
        SinkSpec::Dir(p) => Box::new(dir::PerPidDir::open(p)?),
        SinkSpec::Socket(e) => Box::new(socket::SocketSink::new(e.clone())),
        SinkSpec::Syslog(e) => Box::new(syslog::SyslogSink::new(e.clone())?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn batch(lines: &[(&str, LineKind)]) -> Batch {
        let mut b = Batch::default();
        for (i, (text, kind)) in lines.iter().enumerate() {
            b.buf.extend_from_slice(text.as_bytes());
            b.buf.push(b'\n');
            b.push_line(i as u64, 1_700_000_000_123_456_789 + i as i128, *kind);
        }
        b
    }

    #[test]
    fn batch_slices_lines_and_runs() {
        let b = batch(&[("a", LineKind::Stats), ("bb", LineKind::Lost), ("ccc", LineKind::Stats)]);
        assert_eq!(b.line(0), b"a\n");
        assert_eq!(b.line(2), b"ccc\n");
        assert_eq!(b.bytes(1..3), b"bb\nccc\n");
        assert_eq!(b.bytes(0..3), b"a\nbb\nccc\n");
        assert_eq!(b.bytes(2..2), b"");
    }
}
