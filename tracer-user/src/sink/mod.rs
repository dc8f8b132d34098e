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

pub(crate) mod batch;
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
pub(crate) mod worker;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub use batch::{Batch, Chunk, LineKind, LineMeta};
pub use queue::Queue;
pub use worker::{IDLE_TICK, SinkContext, SinkEvent, WriteError, Writer, spawn};

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
    use std::sync::Arc;

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
