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

pub(crate) mod dir;
pub(crate) mod file;
pub mod kafka;
pub(crate) mod net;
pub(crate) mod otlp;
pub(crate) mod otlp_map;
pub(crate) mod queue;
pub mod schema;
pub mod schema_map;
pub(crate) mod socket;
pub(crate) mod stdout;
pub(crate) mod syslog;
pub(crate) mod tls;

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
    /// tracer's own `lost` record about write failures of sink number
    /// `sink` (its index in the drain's list): that sink tells the drain
    /// whether it wrote it, which settles its account (see `daemon`).
    LostWriteError { sink: u16 },
    /// tracer's own `stats` record.
    Stats,
    /// tracer's own `start` record, the run's first line.
    Start,
}

impl LineKind {
    /// tracer's `lost` records, of any kind.
    pub fn is_lost(&self) -> bool {
        matches!(self, LineKind::Lost | LineKind::LostWriteError { .. })
    }

    /// The record's `event` field.
    pub fn event(&self) -> &'static str {
        match self {
            LineKind::Syscall { .. } => "syscall",
            LineKind::Task { event, .. } => event,
            LineKind::Lost | LineKind::LostWriteError { .. } => "lost",
            LineKind::Stats => "stats",
            LineKind::Start => "start",
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
    /// Failures not yet reported in a `lost` record (the drain takes them).
    pending: std::sync::Mutex<Failures>,
    /// One past the highest seq of a `write_error` record about this sink
    /// that its thread has handled (written or failed), and written.
    pub reports_settled: AtomicU64,
    pub reports_written: AtomicU64,
}

/// Lines a sink failed to write since the drain last took the account.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Failures {
    pub count: u64,
    /// Bounds of the seqs of the chunks the failed lines were in.
    pub first_seq: u64,
    pub last_seq: u64,
    /// When the first of them failed (Unix ns).
    pub since_ns: i128,
    /// Some failed chunk held more than tracer's `lost` records: a sink
    /// failing only on the reports of its own failures (a full disk on an
    /// idle machine) must not make a new report every poll.
    pub real: bool,
}

impl SinkCounters {
    pub fn add_written(&self, n: usize) {
        self.written.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// The lines of `chunk` at `failed` (indices within the chunk,
    /// ascending) were not written.
    pub fn add_failed(&self, chunk: &Chunk, failed: &[u32]) {
        let (Some(&first), Some(&last)) = (failed.first(), failed.last()) else { return };
        self.write_errors.fetch_add(failed.len() as u64, Ordering::Relaxed);
        let metas = chunk.metas();
        let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        if p.count == 0 {
            p.first_seq = metas[first as usize].seq;
            p.since_ns = crate::render::clock::now_unix_ns();
        }
        p.last_seq = metas[last as usize].seq;
        p.count += failed.len() as u64;
        p.real |= failed.iter().any(|&i| !metas[i as usize].kind.is_lost());
    }

    /// Every line of `chunk` was not written.
    pub fn add_all_failed(&self, chunk: &Chunk) {
        self.add_failed(chunk, &(0..chunk.lines.len() as u32).collect::<Vec<_>>());
    }

    /// Notes which `write_error` records about sink `me` in `chunk` were
    /// written (those not at `failed`).
    pub fn settle_reports(&self, chunk: &Chunk, me: u16, failed: &[u32]) {
        for (i, m) in chunk.metas().iter().enumerate() {
            if m.kind == (LineKind::LostWriteError { sink: me }) {
                if failed.binary_search(&(i as u32)).is_err() {
                    self.reports_written.fetch_max(m.seq + 1, Ordering::Relaxed);
                }
                self.reports_settled.fetch_max(m.seq + 1, Ordering::Relaxed);
            }
        }
    }

    /// Takes the unreported failures if `when` says so.
    pub fn take_failures(&self, when: impl FnOnce(&Failures) -> bool) -> Option<Failures> {
        let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        (p.count > 0 && when(&p)).then(|| std::mem::take(&mut *p))
    }
}

/// How often a sink that keeps failing says so on stderr.
pub const ERROR_REPORT_EVERY: Duration = Duration::from_secs(60);

/// A sink's failures on stderr: the first error of a streak at once, then
/// at most one line per [`ERROR_REPORT_EVERY`] while it lasts, and one line
/// when writing works again — never a line per failed write. (Every line not
/// written is also counted in a `lost` record, reason `write_error`.)
#[derive(Debug)]
pub struct ErrorLog {
    name: String,
    /// Lines not written in the current streak, and since its last report.
    streak: u64,
    window: u64,
    started: Option<std::time::Instant>,
    reported: Option<std::time::Instant>,
    /// The last error, for the periodic line.
    last: String,
}

impl ErrorLog {
    pub fn new(name: &str) -> Self {
        ErrorLog { name: name.to_owned(), streak: 0, window: 0, started: None, reported: None, last: String::new() }
    }

    /// An error that lost `lines` lines (0 for reopen/flush errors); returns
    /// the line to print, if one is due.
    pub fn error(&mut self, now: std::time::Instant, e: &dyn std::fmt::Display, lines: u64) -> Option<String> {
        self.streak += lines;
        self.window += lines;
        self.last = e.to_string();
        match self.reported {
            None => {
                self.started = Some(now);
                self.reported = Some(now);
                self.window = 0;
                Some(format!("sink {}: {e}; lines not written are counted in lost records (reason write_error)", self.name))
            }
            Some(r) if now.duration_since(r) >= ERROR_REPORT_EVERY => {
                let line = format!(
                    "sink {}: still failing: {} lines not written in the last {} s ({})",
                    self.name,
                    self.window,
                    now.duration_since(r).as_secs(),
                    self.last
                );
                self.reported = Some(now);
                self.window = 0;
                Some(line)
            }
            Some(_) => None,
        }
    }

    /// A successful write; returns the recovery line at the end of a streak.
    pub fn ok(&mut self, now: std::time::Instant) -> Option<String> {
        let started = self.started.take()?;
        let line = format!(
            "sink {}: writing again after {} s; {} lines were not written",
            self.name,
            now.duration_since(started).as_secs(),
            self.streak
        );
        self.reported = None;
        self.streak = 0;
        self.window = 0;
        Some(line)
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
    /// This sink's index in the drain's list.
    pub index: u16,
    pub queue: Arc<Queue>,
    pub counters: Arc<SinkCounters>,
    pub events: tokio::sync::mpsc::UnboundedSender<SinkEvent>,
}

/// How often an idle sink wakes for housekeeping where it has some
/// ([`Writer::tick_every`]): noticing that stdout's reader went away,
/// closing the per-process files of processes that are gone.
pub const IDLE_TICK: Duration = Duration::from_millis(200);
/// How long a sink with no housekeeping waits for work: the queue wakes it
/// for a batch, SIGHUP and shutdown, so this is only a bound.
const NO_TICK: Duration = Duration::from_secs(3600);

/// The part every sink implements; the loop around it is [`run_worker`].
pub trait Writer: Send {
    /// Writes the chunk's lines. An error is logged and the lines counted
    /// as write errors; [`WriteError::Closed`] ends the sink.
    fn write(&mut self, chunk: &Chunk, ctx: &SinkContext) -> Result<(), WriteError>;
    /// Writes the chunks taken in one round, in order; one result per
    /// chunk (fewer: the rest were not tried and count as failed). A sink
    /// that batches across chunks (Kafka) overrides it.
    fn write_many(&mut self, chunks: &[Chunk], ctx: &SinkContext) -> Vec<Result<(), WriteError>> {
        let mut v = Vec::with_capacity(chunks.len());
        for c in chunks {
            let r = self.write(c, ctx);
            let stop = matches!(r, Err(WriteError::Closed | WriteError::GaveUp));
            v.push(r);
            if stop {
                break;
            }
        }
        v
    }
    /// Once lines arrive, wait this long for more before writing (fuller
    /// requests for a sink that pays per request); `None`: write at once.
    fn linger(&self) -> Option<Duration> {
        None
    }
    /// SIGHUP: reopen files (logrotate renamed them).
    fn reopen(&mut self) -> std::io::Result<()> {
        Ok(())
    }
    /// How often [`Writer::tick`] must run while nothing is written;
    /// `None`: it has nothing to do then, and an idle sink sleeps until the
    /// queue wakes it.
    fn tick_every(&self) -> Option<Duration> {
        None
    }
    /// Called after each round of writes, and at least every
    /// [`Writer::tick_every`].
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
    /// Only the lines at `failed` (indices within the chunk, ascending)
    /// could not be written.
    #[error("{error} ({} lines not written)", failed.len())]
    Some { failed: Vec<u32>, error: std::io::Error },
}

impl WriteError {
    /// A batch sink's (Kafka, OTLP) result per chunk: `failed[c]` holds the
    /// indices of chunk `c`'s lines that were not delivered, `error` says
    /// why (the last failure seen).
    pub fn per_chunk(failed: Vec<Vec<u32>>, error: &str) -> Vec<Result<(), WriteError>> {
        failed
            .into_iter()
            .map(|mut f| {
                if f.is_empty() {
                    return Ok(());
                }
                f.sort_unstable();
                Err(WriteError::Some { failed: f, error: std::io::Error::other(error.to_owned()) })
            })
            .collect()
    }
}

/// Runs `w` on its own thread until the queue is closed and emptied (or the
/// writer gives up).
pub fn spawn(name: String, mut w: Box<dyn Writer>, ctx: SinkContext) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name(format!("sink {}", name.chars().take(10).collect::<String>()))
        .spawn(move || run_worker(&name, w.as_mut(), &ctx))
}

fn run_worker(name: &str, w: &mut dyn Writer, ctx: &SinkContext) {
    let mut log = ErrorLog::new(name);
    let report = |l: Option<String>| {
        if let Some(l) = l {
            log::warn!("{l}");
        }
    };
    let mut giving_up = false;
    let every = w.tick_every().unwrap_or(NO_TICK);
    loop {
        let mut taken = ctx.queue.take(every);
        if let Some(l) = w.linger()
            && !taken.chunks.is_empty()
            && !taken.closed
        {
            ctx.queue.sleep_unless_closed(l);
            let more = ctx.queue.take(Duration::ZERO);
            taken.chunks.extend(more.chunks);
            taken.reopen |= more.reopen;
            taken.closed = more.closed;
        }
        if taken.reopen
            && let Err(e) = w.reopen()
        {
            report(log.error(std::time::Instant::now(), &format_args!("reopening: {e}"), 0));
        }
        let mut results = if giving_up || taken.chunks.is_empty() { vec![] } else { w.write_many(&taken.chunks, ctx) }.into_iter();
        for chunk in &taken.chunks {
            let n = chunk.lines.len();
            let all = || (0..n as u32).collect::<Vec<_>>();
            let failed = if giving_up {
                all()
            } else {
                match results.next().unwrap_or(Err(WriteError::GaveUp)) {
                    Ok(()) => {
                        report(log.ok(std::time::Instant::now()));
                        vec![]
                    }
                    Err(WriteError::Closed) => {
                        let _ = ctx.events.send(SinkEvent::OutputClosed);
                        giving_up = true;
                        all()
                    }
                    Err(WriteError::GaveUp) => {
                        giving_up = true;
                        all()
                    }
                    Err(WriteError::Some { failed, error }) => {
                        report(log.error(std::time::Instant::now(), &error, failed.len() as u64));
                        failed
                    }
                    Err(e) => {
                        report(log.error(std::time::Instant::now(), &e, n as u64));
                        all()
                    }
                }
            };
            ctx.counters.add_written(n - failed.len());
            ctx.counters.add_failed(chunk, &failed);
            ctx.counters.settle_reports(chunk, ctx.index, &failed);
            ctx.queue.release(chunk.bytes().len());
        }
        if !taken.chunks.is_empty()
            && let Err(e) = w.flush()
        {
            report(log.error(std::time::Instant::now(), &format_args!("flushing: {e}"), 0));
        }
        if !giving_up {
            match w.tick(ctx) {
                Err(WriteError::Closed) => {
                    let _ = ctx.events.send(SinkEvent::OutputClosed);
                    giving_up = true;
                }
                Err(e) => report(log.error(std::time::Instant::now(), &e, 0)),
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
    Kafka(Box<kafka::KafkaSpec>),
    Otlp(Box<otlp::OtlpSpec>),
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
            SinkSpec::Kafka(k) => format!("kafka:{}/{}", k.brokers(), k.topic()),
            SinkSpec::Otlp(o) => format!("otlp:{}", o.url),
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
        SinkSpec::Socket(e) => Box::new(socket::SocketSink::new(e.clone())?),
        SinkSpec::Syslog(e) => Box::new(syslog::SyslogSink::new(e.clone())?),
        SinkSpec::Kafka(k) => Box::new(kafka::KafkaSink::new(k, spec.name())?),
        SinkSpec::Otlp(o) => Box::new(otlp::OtlpSink::new(o, spec.name())?),
    })
}

/// A sink whose destination is open and whose thread has not started.
pub struct OpenSink {
    pub spec: SinkSpec,
    pub writer: Box<dyn Writer>,
}

/// Opens every sink in `specs` with [`open`], in order.
pub fn open_all(specs: Vec<SinkSpec>, opts: FileOptions) -> anyhow::Result<Vec<OpenSink>> {
    specs.into_iter().map(|spec| Ok(OpenSink { writer: open(&spec, opts)?, spec })).collect()
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
    fn error_log_says_it_once_per_interval_and_once_on_recovery() {
        let t0 = std::time::Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let mut log = ErrorLog::new("file:/x");
        let e = std::io::Error::from_raw_os_error(libc::ENOSPC);
        assert_eq!(
            log.error(at(0), &e, 5).as_deref(),
            Some("sink file:/x: No space left on device (os error 28); lines not written are counted in lost records (reason write_error)")
        );
        for s in 1..60 {
            assert_eq!(log.error(at(s), &e, 10), None, "second {s}");
        }
        assert_eq!(
            log.error(at(60), &e, 10).as_deref(),
            Some("sink file:/x: still failing: 600 lines not written in the last 60 s (No space left on device (os error 28))")
        );
        assert_eq!(log.error(at(61), &e, 1), None);
        assert_eq!(log.ok(at(62)).as_deref(), Some("sink file:/x: writing again after 62 s; 606 lines were not written"));
        assert_eq!(log.ok(at(63)), None, "one line per recovery");
        assert!(log.error(at(64), &e, 1).is_some(), "a new streak is told at once");
    }

    #[test]
    fn failures_are_taken_with_their_seq_bounds_and_kind() {
        let c = SinkCounters::default();
        let b = Arc::new(batch(&[
            ("a", LineKind::Lost),
            ("b", LineKind::LostWriteError { sink: 0 }),
            ("c", LineKind::Stats),
            ("d", LineKind::LostWriteError { sink: 0 }),
        ]));
        let chunk = |r: std::ops::Range<usize>| Chunk { batch: Arc::clone(&b), lines: r };
        c.add_failed(&chunk(0..2), &[0, 1]);
        assert_eq!(c.take_failures(|f| f.real), None, "only lost records failed");
        c.add_failed(&chunk(2..4), &[0]);
        let f = c.take_failures(|f| f.real).unwrap();
        assert_eq!((f.count, f.first_seq, f.last_seq, f.real), (3, 0, 2, true));
        assert_eq!(c.take_failures(|_| true), None, "taken once");
        assert_eq!(c.write_errors.load(Ordering::Relaxed), 3);
        // Line 1 (a report about sink 0) failed, line 3 was written.
        c.settle_reports(&chunk(0..2), 0, &[0, 1]);
        assert_eq!((c.reports_settled.load(Ordering::Relaxed), c.reports_written.load(Ordering::Relaxed)), (2, 0));
        c.settle_reports(&chunk(2..4), 0, &[0]);
        assert_eq!((c.reports_settled.load(Ordering::Relaxed), c.reports_written.load(Ordering::Relaxed)), (4, 4));
        c.settle_reports(&chunk(0..4), 1, &[]);
        assert_eq!(c.reports_settled.load(Ordering::Relaxed), 4, "reports about other sinks are not ours");
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
