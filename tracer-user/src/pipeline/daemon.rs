//! The drain: one task reads the ring buffer, decodes and formats each record
//! once, numbers it (`seq`), and offers the lines to every sink's bounded
//! queue (`sink`). It never waits for a sink: what a full queue cannot take
//! is dropped for that sink and counted.
//!
//! The same task polls the kernel's loss counters (per CPU) every
//! [`LOSS_POLL`] (every [`IDLE_SAFETY_TICK`] while idle) and turns every new loss into a `lost` record in the stream,
//! emits `stats` records on `--stats-interval`, refreshes the snapshot behind
//! `--metrics`, reopens files on SIGHUP, and on SIGINT/SIGTERM drains what
//! the kernel has committed, flushes every sink and stops within
//! [`SHUTDOWN_BOUND`] even if a sink is dead.
//!
//! `seq` is gapless over every record emitted (syscall, lost, stats), so a
//! consumer that sees a gap knows it lost something, and a `lost` record
//! tells it what. Sink drops, decided and documented:
//! - A `lost` record about sink X goes to every sink: the others learn
//!   within a second that X is losing lines.
//! - X itself gets it once its queue has room again (at the next poll after
//!   that). Until X has accepted a `lost` record about itself, each new one
//!   counts every line X lost since the last one it accepted — including
//!   earlier `lost` records about X that X had no room for — so the `count`s
//!   of the `lost` records X receives add up exactly to the seqs missing in
//!   X's stream (other sinks may see overlapping counts; `total` is the
//!   running sum). Shutdown waits (within the bound) for X to accept the last.
//! - While X is full and nothing new was dropped but such records, no new
//!   record is made until X has room, so a dead sink on an idle machine does
//!   not produce a record every poll.
//!
//! With `tracer -- CMD` the drain also waits for CMD: it releases the held
//! command once the handlers are in place, passes SIGINT/SIGTERM on to it,
//! and stops (after draining) when it exits.

use std::collections::BTreeMap;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use aya::maps::{MapData, RingBuf};
use tokio::{
    io::unix::AsyncFd,
    signal::unix::{SignalKind, signal},
    sync::mpsc::UnboundedReceiver,
};
use tracer_common::{Counter, reader};

use crate::model::decode::decode;
use crate::render::clock::{Clock, now_unix_ns};
use crate::launch::HeldCommand;
use crate::kernel::load::{Loaded, PerCpuCounters, ReaderState};
use crate::pipeline::report::SharedSnapshot;
use crate::pipeline::output::Output;
use crate::pipeline::report::{LossPlace, Lost, SinkLoss, SinkSnapshot, Snapshot};
use crate::sink::{Batch, LineKind, LineMeta, Queue, SinkCounters, SinkEvent};

/// Hand a batch to the sinks once this much is formatted within one drain.
const FLUSH_AT: usize = 1 << 16;
/// The working buffer's room past `FLUSH_AT`: what the record that crosses
/// it may add before the buffer grows. A full batch then fits its buffer
/// within an eighth, and is handed to the sinks as it is.
const BATCH_SLACK: usize = FLUSH_AT / 8;

/// A buffer that may be queued as it is: at most an eighth of it unused.
fn right_sized(buf: &Vec<u8>) -> bool {
    buf.capacity() - buf.len() <= buf.len() / 8
}

/// How long a record may wait in the ring while records keep coming: the
/// kernel side batches wake-ups, this timer drains what stays below the
/// threshold.
pub const DRAIN_TICK: Duration = Duration::from_millis(10);
/// Empty drain ticks in a row after which the daemon goes idle: stops the
/// drain timer and has the next record wake it ([`DrainTimer`]).
const IDLE_AFTER: u32 = 10;
/// The drain timer of an idle daemon: only a safety net, as a record wakes
/// it.
const IDLE_SAFETY_TICK: Duration = Duration::from_secs(1);
/// Records handled per wake-up before signals and timers get a turn.
const MAX_PER_WAKE: usize = 16_384;
/// How often kernel loss counters (and sink drops) are checked: a loss shows
/// up as a `lost` record within this long. An idle daemon checks on its
/// [`IDLE_SAFETY_TICK`] instead: idle, nothing is written, so no sink can
/// drop, and the only kernel loss possible is a call the kernel side could
/// not stash at entry, which then shows within a second.
pub const LOSS_POLL: Duration = Duration::from_millis(500);
/// SIGINT/SIGTERM → exit takes at most about this long, whatever the sinks do.
pub const SHUTDOWN_BOUND: Duration = Duration::from_secs(3);
/// Before the final `stats` record, a sink that writes nothing for this
/// long is not waited for.
const SETTLE_STALL: Duration = Duration::from_millis(100);
/// A `lost` record about a sink is offered to it only with this much room.
const REPORT_ROOM: usize = 1024;
/// How often freed heap memory is handed back to the kernel.
const TRIM_EVERY: Duration = Duration::from_secs(10);

/// Hands free heap pages back to the kernel. A burst fills the sinks'
/// queues with batches; once written they are freed, but glibc keeps the
/// pages in its arenas, so without this tracer's RSS would stay at the
/// high-water mark of its worst burst for the rest of a months-long run
/// (the soak showed +3.5 MiB steps that never came back). malloc_trim also
/// releases whole free pages inside the heap, not only at its top; on a
/// heap of a few MiB it takes well under a millisecond.
fn trim_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}

pub enum Outcome {
    /// Stopped by SIGINT/SIGTERM.
    Signalled,
    /// The reader of stdout went away (EPIPE): stop quietly.
    OutputClosed,
    /// The launched command exited with this wait status.
    CommandExited(libc::c_int),
}

/// One sink as the drain sees it.
pub struct SinkSlot {
    pub name: String,
    pub queue: Arc<Queue>,
    pub counters: Arc<SinkCounters>,
    pub thread: Option<std::thread::JoinHandle<()>>,
    /// Lines its queue had no room for, since start (read by metrics).
    pub dropped: Arc<AtomicU64>,
    /// Drops since the last `lost` record about this sink that it accepted.
    unreported: u64,
    /// Lines other than `lost` records about this sink were dropped since
    /// the last such record was made.
    new_real_drops: bool,
    first_seq: u64,
    last_seq: u64,
    since_ns: i128,
    /// Its write failures, as reported in `write_error` records.
    failures: FailureAccount,
}

/// One sink's account of write failures (`write_error` records), kept so
/// that the counts of the records the sink itself writes add up exactly to
/// the lines missing from its stream — like its `queue_full` records:
/// - A record counts every failure since the creation of the last record
///   about this sink that the sink *wrote* (`base`); a record it could not
///   write is itself a failure, counted in the next one.
/// - Whether it wrote a record is known only once its thread has handled it
///   (`SinkCounters::reports_settled`); until then no new record is made
///   (the counts would overlap).
/// - A new record needs new failures of real lines (not only of these
///   records), or the sink having written something since the last record
///   (it works again): a full disk on an idle machine gets no record per
///   poll.
#[derive(Debug, Default)]
struct FailureAccount {
    /// `write_errors` when the last record this sink wrote was made.
    base: u64,
    /// (seq, `write_errors` at creation) of the last record made, until
    /// its sink has handled it.
    outstanding: Option<(u64, u64)>,
    /// The sink's `written` count when the last record was made.
    written_at_report: u64,
    /// Failed real lines since the last record was made.
    new_real: bool,
    /// Seqs and start of the failures since `base`, and of those since the
    /// last record was made.
    span: Option<Span>,
    span_after: Option<Span>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Span {
    first_seq: u64,
    last_seq: u64,
    since_ns: i128,
}

impl Span {
    fn merge(a: Option<Span>, f: &crate::sink::Failures) -> Option<Span> {
        let b = Span { first_seq: f.first_seq, last_seq: f.last_seq, since_ns: f.since_ns };
        Some(match a {
            None => b,
            Some(a) => Span {
                first_seq: a.first_seq.min(b.first_seq),
                last_seq: a.last_seq.max(b.last_seq),
                since_ns: a.since_ns.min(b.since_ns),
            },
        })
    }
}

impl SinkSlot {
    pub fn new(name: String, queue: Arc<Queue>, counters: Arc<SinkCounters>, thread: std::thread::JoinHandle<()>) -> Self {
        SinkSlot {
            name,
            queue,
            counters,
            thread: Some(thread),
            dropped: Arc::default(),
            unreported: 0,
            new_real_drops: false,
            first_seq: 0,
            last_seq: 0,
            since_ns: 0,
            failures: FailureAccount::default(),
        }
    }

    fn note_drops(&mut self, batch: &Batch, from: usize, real: bool) {
        let n = batch.lines.len() - from;
        if n == 0 {
            return;
        }
        if self.unreported == 0 {
            self.first_seq = batch.lines[from].seq;
            self.since_ns = now_unix_ns();
        }
        self.last_seq = batch.lines[batch.lines.len() - 1].seq;
        self.unreported += n as u64;
        self.new_real_drops |= real;
        self.dropped.fetch_add(n as u64, Ordering::Relaxed);
    }

    fn snapshot(&self) -> SinkSnapshot {
        SinkSnapshot {
            name: self.name.clone(),
            written: self.counters.written.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            write_errors: self.counters.write_errors.load(Ordering::Relaxed),
            queued_bytes: self.queue.charged() as u64,
            capacity_bytes: self.queue.capacity() as u64,
        }
    }
}

/// Producer and consumer positions of the ring buffer, mapped read-only, for
/// the fill level in `stats` (aya does not expose them).
pub struct RingFill {
    consumer: *const u64,
    producer: *const u64,
    page: usize,
    size: u64,
}

// SAFETY: the pointers refer to shared read-only mappings owned by RingFill
// and only read with atomic loads.
unsafe impl Send for RingFill {}

impl RingFill {
    /// Maps the two position pages of ring buffer `fd` (kernel layout:
    /// consumer page at offset 0, producer page after it).
    pub fn new(fd: BorrowedFd<'_>, size: u32) -> Option<RingFill> {
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
        let map = |off: usize| {
            // SAFETY: a fresh read-only shared mapping of one page of the map fd.
            let p = unsafe {
                libc::mmap(std::ptr::null_mut(), page, libc::PROT_READ, libc::MAP_SHARED, fd.as_raw_fd(), off as libc::off_t)
            };
            (p != libc::MAP_FAILED).then_some(p as *const u64)
        };
        let consumer = map(0)?;
        let Some(producer) = map(page) else {
            // SAFETY: unmapping what was just mapped.
            unsafe { libc::munmap(consumer as *mut _, page) };
            return None;
        };
        Some(RingFill { consumer, producer, page, size: size.into() })
    }

    /// Bytes committed or reserved by the kernel and not yet consumed.
    pub fn used(&self) -> u64 {
        // SAFETY: both pointers are valid for the life of self; the kernel
        // updates them with release semantics.
        let (c, p) = unsafe {
            (
                (*(self.consumer as *const AtomicU64)).load(Ordering::Acquire),
                (*(self.producer as *const AtomicU64)).load(Ordering::Acquire),
            )
        };
        p.saturating_sub(c).min(self.size)
    }
}

impl Drop for RingFill {
    fn drop(&mut self) {
        // SAFETY: unmapping our own mappings.
        unsafe {
            libc::munmap(self.consumer as *mut _, self.page);
            libc::munmap(self.producer as *mut _, self.page);
        }
    }
}

pub struct Drainer {
    sinks: Vec<SinkSlot>,
    clock: Clock,
    /// Decoded event → its lines (enrich, JSON or text, correlation):
    /// `output.rs`.
    output: Output,
    seq: u64,
    batch: Batch,
    /// Decoded calls per syscall number (x86-64 numbers are < 512).
    events: Vec<u64>,
    events_other: BTreeMap<u32, u64>,
    pub decode_errors: u64,
    decode_reported: u64,
    decode_since_ns: i128,
    kernel_prev: Option<PerCpuCounters>,
    kernel_prev_ns: i128,
    kernel_totals: [u64; 2],
    last_kernel: crate::kernel::load::Counters,
    started: Instant,
    last_trim: Instant,
    ringbuf_size: u32,
    fill: Option<RingFill>,
    snapshot: SharedSnapshot,
    /// `--container`/`--unit`: cgroups to add to the kernel's filter as
    /// they appear.
    watch: Option<crate::pipeline::cgroup_watch::CgroupWatch>,
}

/// Kernel counters that mean a call was lost, reported as `lost` records.
const KERNEL_LOSSES: [Counter; 2] = [Counter::RingbufFull, Counter::StashFailed];

impl Drainer {
    pub fn new(sinks: Vec<SinkSlot>, clock: Clock, ringbuf_size: u32, snapshot: SharedSnapshot, output: Output) -> Self {
        Drainer {
            sinks,
            clock,
            output,
            seq: 0,
            batch: Batch::with_capacity(FLUSH_AT + BATCH_SLACK),
            events: vec![0; 512],
            events_other: BTreeMap::new(),
            decode_errors: 0,
            decode_reported: 0,
            decode_since_ns: now_unix_ns(),
            kernel_prev: None,
            kernel_prev_ns: now_unix_ns(),
            kernel_totals: [0; 2],
            last_kernel: Default::default(),
            started: Instant::now(),
            last_trim: Instant::now(),
            ringbuf_size,
            fill: None,
            snapshot,
            watch: None,
        }
    }

    /// Adds the cgroups `w` finds to the kernel's filter as they appear.
    pub fn with_cgroup_watch(mut self, w: Option<crate::pipeline::cgroup_watch::CgroupWatch>) -> Self {
        self.watch = w;
        self
    }

    /// Records emitted so far.
    pub fn records(&self) -> u64 {
        self.seq
    }

    pub fn sinks(&self) -> &[SinkSlot] {
        &self.sinks
    }

    /// Decodes and formats one ring-buffer record into the pending batch.
    pub fn record(&mut self, bytes: &[u8]) {
        match decode(bytes) {
            Ok(mut ev) => {
                // --- the render hook: one event in, its lines out (output.rs) ---
                let (clock, lines) = (&self.clock, &mut self.batch.lines);
                let (events, events_other) = (&mut self.events, &mut self.events_other);
                self.output.render(&mut ev, &mut self.seq, &mut self.batch.buf, |w| {
                    let kind = match w.nr {
                        Some(nr) => {
                            match events.get_mut(nr as usize) {
                                Some(n) => *n += 1,
                                None => *events_other.entry(nr).or_default() += 1,
                            }
                            LineKind::Syscall { pid: w.pid, tid: w.tid, nr }
                        }
                        None => LineKind::Task { pid: w.pid, tid: w.tid, event: w.event },
                    };
                    lines.push(LineMeta { end: w.end, seq: w.seq, unix_ns: clock.unix_ns(w.ts_boot_ns), kind });
                });
            }
            Err(e) => {
                if self.decode_errors == self.decode_reported {
                    self.decode_since_ns = now_unix_ns();
                }
                self.decode_errors += 1;
                if self.decode_errors <= 10 {
                    log::warn!("dropping undecodable record: {e}");
                }
            }
        }
        if self.batch.buf.len() >= FLUSH_AT {
            self.dispatch();
        }
    }

    /// Offers the pending batch to every sink.
    pub fn dispatch(&mut self) {
        self.dispatch_about(None);
    }

    /// As `dispatch`; the batch is a `lost` record about sink `about.0`.
    fn dispatch_about(&mut self, about: Option<(usize, SinkLoss)>) {
        if self.batch.is_empty() {
            return;
        }
        // Queued batches of a stalled sink must hold about the bytes they
        // are charged for, not a 72 KiB buffer per ring wake-up: a full
        // buffer (at most an eighth of it unused) is handed over as it is
        // and the working one starts anew; any other, and the line index,
        // get a right-sized copy, the working ones keeping their capacity.
        let buf = if right_sized(&self.batch.buf) {
            std::mem::replace(&mut self.batch.buf, Vec::with_capacity(FLUSH_AT + BATCH_SLACK))
        } else {
            let b = self.batch.buf.clone();
            self.batch.buf.clear();
            b
        };
        let batch = Arc::new(Batch { buf, lines: self.batch.lines.clone() });
        self.batch.lines.clear();
        let n = batch.lines.len();
        for (i, slot) in self.sinks.iter_mut().enumerate() {
            let took = slot.queue.push(&batch, 0..n);
            let mine = about.filter(|&(a, _)| a == i).map(|(_, r)| r);
            match mine {
                // It has the account of everything its queue dropped so far.
                Some(SinkLoss::QueueFull) if took == n => slot.unreported = 0,
                // It will never see this one: handled, not written.
                Some(SinkLoss::WriteError) if took < n => slot.failures.outstanding = None,
                _ => {}
            }
            slot.note_drops(&batch, took, mine.is_none());
        }
    }

    fn emit_lost(&mut self, lost: &Lost) {
        self.dispatch();
        let now = now_unix_ns();
        self.output.write_lost(&mut self.batch.buf, lost, self.seq, now);
        let about = match &lost.place {
            LossPlace::Sink { name, reason, .. } => self.sinks.iter().position(|s| &s.name == name).map(|i| (i, *reason)),
            _ => None,
        };
        let kind = match about {
            Some((i, SinkLoss::WriteError)) => LineKind::LostWriteError { sink: i as u16 },
            _ => LineKind::Lost,
        };
        self.batch.push_line(self.seq, now, kind);
        self.seq += 1;
        self.dispatch_about(about);
    }

    /// Turns new losses (kernel per CPU, undecodable records, sink queue
    /// overflows and write failures) into `lost` records, and refreshes the
    /// metrics snapshot.
    pub fn poll_loss(&mut self, loaded: &Loaded) {
        self.poll_loss_now(loaded, false);
    }

    /// As `poll_loss`; `last`: the final poll, when every sink's write
    /// failures are reported whatever they were.
    fn poll_loss_now(&mut self, loaded: &Loaded, last: bool) {
        self.dispatch();
        let now = now_unix_ns();
        match loaded.counters_per_cpu() {
            Ok(cur) => {
                if let Some(prev) = self.kernel_prev.take() {
                    for (k, c) in KERNEL_LOSSES.into_iter().enumerate() {
                        let per_cpu: Vec<u64> = cur
                            .get(c)
                            .iter()
                            .enumerate()
                            .map(|(cpu, &v)| v.saturating_sub(prev.get(c).get(cpu).copied().unwrap_or(0)))
                            .collect();
                        let count: u64 = per_cpu.iter().sum();
                        if count > 0 {
                            self.kernel_totals[k] += count;
                            let l = Lost {
                                place: LossPlace::Kernel { reason: c, per_cpu },
                                count,
                                total: self.kernel_totals[k],
                                since_unix_ns: self.kernel_prev_ns,
                            };
                            self.emit_lost(&l);
                        }
                    }
                } else {
                    // Losses before the first poll (during attach) count too.
                    for (k, c) in KERNEL_LOSSES.into_iter().enumerate() {
                        let count: u64 = cur.get(c).iter().sum();
                        if count > 0 {
                            self.kernel_totals[k] = count;
                            let l = Lost {
                                place: LossPlace::Kernel { reason: c, per_cpu: cur.get(c).to_vec() },
                                count,
                                total: count,
                                since_unix_ns: self.kernel_prev_ns,
                            };
                            self.emit_lost(&l);
                        }
                    }
                }
                self.last_kernel = cur.sum();
                self.kernel_prev = Some(cur);
                self.kernel_prev_ns = now;
            }
            Err(e) => log::warn!("reading kernel counters: {e:#}"),
        }
        if self.decode_errors > self.decode_reported {
            let l = Lost {
                place: LossPlace::Decode,
                count: self.decode_errors - self.decode_reported,
                total: self.decode_errors,
                since_unix_ns: self.decode_since_ns,
            };
            self.decode_reported = self.decode_errors;
            self.emit_lost(&l);
        }
        self.report_sink_drops();
        self.report_sink_failures(last);
        self.output.maintain();
        if let Some(w) = &mut self.watch {
            for (path, dir) in w.scan_due() {
                match loaded.add_cgroup(&dir) {
                    Ok(true) => log::info!("tracing cgroup {}", path.display()),
                    Ok(false) => w.report_full(&path),
                    Err(e) => log::warn!("{}: {e:#}", path.display()),
                }
            }
        }
        self.refresh_snapshot();
        if self.last_trim.elapsed() >= TRIM_EVERY {
            self.last_trim = Instant::now();
            trim_heap();
        }
    }

    /// A `write_error` record for each sink whose write failures call for
    /// one (see [`FailureAccount`]); `last`: the final poll, where failures
    /// of only these records are reported too.
    fn report_sink_failures(&mut self, last: bool) {
        for i in 0..self.sinks.len() {
            let slot = &mut self.sinks[i];
            let c = &slot.counters;
            let a = &mut slot.failures;
            if let Some(f) = c.take_failures(|_| true) {
                a.span = Span::merge(a.span, &f);
                a.span_after = Span::merge(a.span_after, &f);
                a.new_real |= f.real;
            }
            if let Some((seq, cum)) = a.outstanding {
                if c.reports_settled.load(Ordering::Relaxed) <= seq {
                    continue;
                }
                if c.reports_written.load(Ordering::Relaxed) > seq {
                    a.base = cum;
                    a.span = a.span_after;
                }
                a.outstanding = None;
            }
            let cum = c.write_errors.load(Ordering::Relaxed);
            let written = c.written.load(Ordering::Relaxed);
            let works = written > a.written_at_report;
            if cum <= a.base || !(a.new_real || works || last) {
                continue;
            }
            let span = a.span.unwrap_or(Span { first_seq: 0, last_seq: 0, since_ns: now_unix_ns() });
            a.outstanding = Some((self.seq, cum));
            a.written_at_report = written;
            a.new_real = false;
            a.span_after = None;
            let l = Lost {
                place: LossPlace::Sink {
                    name: slot.name.clone(),
                    reason: SinkLoss::WriteError,
                    first_seq: span.first_seq,
                    last_seq: span.last_seq,
                },
                count: cum - a.base,
                total: cum,
                since_unix_ns: span.since_ns,
            };
            self.emit_lost(&l);
        }
    }

    /// A `lost` record for each sink with unreported drops (see the module
    /// doc for when).
    fn report_sink_drops(&mut self) {
        for i in 0..self.sinks.len() {
            let s = &self.sinks[i];
            if s.unreported == 0 || !(s.new_real_drops || s.queue.room() >= REPORT_ROOM) {
                continue;
            }
            let l = Lost {
                place: LossPlace::Sink { name: s.name.clone(), reason: SinkLoss::QueueFull, first_seq: s.first_seq, last_seq: s.last_seq },
                count: s.unreported,
                total: s.dropped.load(Ordering::Relaxed),
                since_unix_ns: s.since_ns,
            };
            self.sinks[i].new_real_drops = false;
            self.emit_lost(&l);
        }
    }

    pub fn take_snapshot(&self) -> Snapshot {
        let mut events: Vec<(u32, u64)> =
            self.events.iter().enumerate().filter(|(_, n)| **n > 0).map(|(nr, &n)| (nr as u32, n)).collect();
        events.extend(self.events_other.iter().map(|(&nr, &n)| (nr, n)));
        Snapshot {
            uptime_ns: self.started.elapsed().as_nanos() as u64,
            records: self.seq,
            events,
            kernel: self.last_kernel,
            decode_errors: self.decode_errors,
            ringbuf_size: self.ringbuf_size.into(),
            ringbuf_used: self.fill.as_ref().map_or(0, RingFill::used),
            sinks: self.sinks.iter().map(SinkSlot::snapshot).collect(),
            cgroups_cached: self.output.cgroups_cached(),
        }
    }

    fn refresh_snapshot(&self) {
        let s = self.take_snapshot();
        *self.snapshot.lock().unwrap_or_else(|p| p.into_inner()) = s;
    }

    /// Emits a `stats` record (with fresh kernel counters).
    pub fn emit_stats(&mut self, loaded: &Loaded) {
        self.dispatch();
        if let Ok(c) = loaded.counters() {
            self.last_kernel = c;
        }
        let snap = self.take_snapshot();
        *self.snapshot.lock().unwrap_or_else(|p| p.into_inner()) = snap.clone();
        let now = now_unix_ns();
        self.output.write_stats(&mut self.batch.buf, &snap, self.seq, now);
        self.batch.push_line(self.seq, now, LineKind::Stats);
        self.seq += 1;
        self.dispatch();
    }

    /// Emits the `start` record: call before the first event.
    pub fn emit_start(&mut self, start: &crate::pipeline::start::Start) {
        let now = now_unix_ns();
        crate::pipeline::start::write_start_line(&mut self.batch.buf, start, self.seq, now);
        self.batch.push_line(self.seq, now, LineKind::Start);
        self.seq += 1;
        self.dispatch();
    }

    pub fn reopen(&self) {
        for s in &self.sinks {
            s.queue.request_reopen();
        }
    }

    /// Waits until the sinks have written what their queues hold, or one
    /// has made no progress for [`SETTLE_STALL`] (a dead peer is not waited
    /// for), or `until`.
    fn settle(&self, until: Instant) {
        let held = || self.sinks.iter().map(|s| s.queue.charged()).sum::<usize>();
        let (mut last, mut moved) = (held(), Instant::now());
        while last > 0 && moved.elapsed() < SETTLE_STALL && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(2));
            let now = held();
            if now < last {
                moved = Instant::now();
            }
            last = now;
        }
    }

    /// Last losses reported (then, with `final_stats`, a last `stats`
    /// record: the totals, for the interval the periodic ones missed),
    /// every queue closed and flushed; returns once every sink thread is
    /// done or at `deadline`, naming the ones that were not.
    pub fn finish(&mut self, loaded: &Loaded, deadline: Instant, final_stats: bool) {
        self.poll_loss_now(loaded, true);
        // Leave a second of the bound for the flush.
        let report_until = deadline.checked_sub(Duration::from_secs(1)).unwrap_or(deadline);
        if final_stats {
            // Its per-sink `written` should count every line before it.
            self.settle(report_until);
            self.emit_stats(loaded);
        }
        // A sink's last `lost` record may not have fitted, or not be written
        // yet: its thread is still writing, so wait for room (or for it to
        // handle the record) rather than lose the account of its losses.
        while self.sinks.iter().any(|s| s.unreported > 0 || s.failures.outstanding.is_some()) && Instant::now() < report_until {
            std::thread::sleep(Duration::from_millis(10));
            self.report_sink_drops();
            self.report_sink_failures(false);
        }
        for s in &self.sinks {
            s.queue.close();
        }
        for s in &mut self.sinks {
            let Some(t) = s.thread.take() else { continue };
            while !t.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            if t.is_finished() {
                let _ = t.join();
            } else {
                log::warn!("sink {}: not flushed within {}s; giving up on it", s.name, SHUTDOWN_BOUND.as_secs());
            }
        }
        self.refresh_snapshot();
    }
}

/// Reads what the ring holds, up to [`MAX_PER_WAKE`] records; returns how
/// many (at the cap, more may be waiting).
fn drain_ring(ring: &mut RingBuf<MapData>, d: &mut Drainer) -> usize {
    let mut n = 0;
    while let Some(item) = ring.next() {
        d.record(&item);
        drop(item);
        n += 1;
        if n >= MAX_PER_WAKE {
            break;
        }
    }
    d.dispatch();
    n
}

/// The drain timer, and what the daemon tells the kernel side
/// (`READER`, [`tracer_common::reader`]). While it reads the ring after a
/// wake-up it says `DRAINING`, so that records committed meanwhile do not
/// each force another (an irq_work apiece when the daemon is an eighth of
/// the ring behind); asleep, `TICKING`. After [`IDLE_AFTER`] ticks that
/// found nothing it says `IDLE`, looks at the ring once more and, still
/// finding nothing, sleeps with only [`IDLE_SAFETY_TICK`]; the next
/// record's producer sees `IDLE` and wakes it (`syscalls::submit` in
/// tracer-ebpf). An idle daemon wakes about twice a second (this tick,
/// which then also polls the loss counters, split in two by tokio's timer
/// wheel) instead of 100, and a lone record after a quiet spell is
/// read at once instead of at the next tick.
struct DrainTimer<'a> {
    reader: &'a ReaderState,
    tick: tokio::time::Interval,
    quiet: u32,
    idle: bool,
}

impl<'a> DrainTimer<'a> {
    fn new(reader: &'a ReaderState) -> DrainTimer<'a> {
        DrainTimer { reader, tick: DrainTimer::interval(DRAIN_TICK), quiet: 0, idle: false }
    }

    fn interval(period: Duration) -> tokio::time::Interval {
        let mut i = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        i
    }

    /// Woken by the kernel side: reading from now on.
    fn readable(&mut self) {
        self.active();
        self.reader.set(reader::DRAINING);
    }

    /// Reads the ring, for a wake-up or a tick alike; once it is empty,
    /// says `TICKING` (asleep until the next tick or wake-up), unless idle.
    ///
    /// Whichever empties the ring says so: a producer that forced a
    /// wake-up said `DRAINING` for us, and when a tick reads its records
    /// first, the wake-up finds the ring empty, epoll reports nothing, and
    /// the wake-up's own drain never runs. Left at `DRAINING`, no record
    /// would wake the daemon again and the 10 ms tick alone would drain
    /// the ring (a one-page ring lost a quarter of a trickle that way).
    fn drain(&self, ring: &mut RingBuf<MapData>, d: &mut Drainer) -> usize {
        let n = drain_ring(ring, d);
        if n < MAX_PER_WAKE && !self.idle {
            self.reader.set(reader::TICKING);
        }
        n
    }

    /// A tick: drain, and go idle after a quiet spell.
    fn on_tick(&mut self, ring: &mut RingBuf<MapData>, d: &mut Drainer) {
        if self.drain(ring, d) > 0 {
            self.active();
            return;
        }
        if self.idle {
            return;
        }
        self.quiet += 1;
        if self.quiet < IDLE_AFTER {
            return;
        }
        // The state first, then the last look: a record committed after
        // that look sees IDLE and wakes us.
        self.reader.set(reader::IDLE);
        if drain_ring(ring, d) > 0 {
            self.reader.set(reader::TICKING);
            self.quiet = 0;
            return;
        }
        self.idle = true;
        self.tick = DrainTimer::interval(IDLE_SAFETY_TICK);
    }

    /// Records arrived: back to the short tick (and, if idle, to `TICKING`).
    fn active(&mut self) {
        self.quiet = 0;
        if self.idle {
            self.idle = false;
            self.reader.set(reader::TICKING);
            self.tick = DrainTimer::interval(DRAIN_TICK);
        }
    }
}

/// Waits for the launched command, if there is one; never resolves otherwise.
async fn command_exit(command: &mut Option<&mut HeldCommand>) -> std::io::Result<libc::c_int> {
    match command {
        Some(c) => c.wait().await,
        None => std::future::pending().await,
    }
}

pub struct RunOptions {
    pub stats_interval: Option<Duration>,
    pub sink_events: UnboundedReceiver<SinkEvent>,
    pub signals: Signals,
}

/// SIGINT/SIGTERM/SIGHUP handlers, installed before tracer says it is
/// attached, so that a signal sent right after that line is handled, not
/// fatal.
pub struct Signals {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

impl Signals {
    /// Must run inside the runtime (`Runtime::enter`).
    pub fn install() -> std::io::Result<Signals> {
        Ok(Signals { int: signal(SignalKind::interrupt())?, term: signal(SignalKind::terminate())?, hup: signal(SignalKind::hangup())? })
    }
}

/// Drains until SIGINT/SIGTERM, or, with a launched `command` (released
/// here), until it exits: then the signals are passed on to it instead, as
/// strace does. A [`crate::launch::LaunchError`] in the error chain means
/// the command could not be exec'd.
pub async fn run(
    loaded: &Loaded,
    ring: RingBuf<MapData>,
    d: &mut Drainer,
    opts: RunOptions,
    mut command: Option<&mut HeldCommand>,
) -> anyhow::Result<Outcome> {
    d.fill = RingFill::new(ring.as_fd(), d.ringbuf_size);
    // SAFETY: the AsyncFd owns the ring buffer, and with it the map fd, for
    // as long as it is registered; nothing else closes that fd.
    let mut afd = unsafe { AsyncFd::register_with_interest(ring, tokio::io::Interest::READABLE) }
        .map_err(|e| e.into_parts().1)
        .context("polling the ring buffer")?;
    let Signals { int: mut sigint, term: mut sigterm, hup: mut sighup } = opts.signals;
    let mut loss = tokio::time::interval(LOSS_POLL);
    loss.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The kernel side wakes us only once `wakeup_bytes` wait (see
    // `load`): this drains what a quieter period leaves below that.
    let mut drain = DrainTimer::new(&loaded.reader);
    let mut sink_events = opts.sink_events;
    let mut stats = opts.stats_interval.map(|p| {
        let mut i = tokio::time::interval_at(tokio::time::Instant::now() + p, p);
        i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        i
    });
    // Only now, with the handlers in place, may CMD run: a Ctrl-C from its
    // first instruction on is passed on rather than killing tracer.
    if let Some(c) = command.as_mut() {
        c.release()?;
    }
    let outcome = loop {
        tokio::select! {
            guard = afd.readable_mut() => {
                drain.readable();
                let mut guard = guard?;
                if drain.drain(guard.get_inner_mut(), d) < MAX_PER_WAKE {
                    guard.clear_ready();
                }
            }
            _ = drain.tick.tick() => {
                drain.on_tick(afd.get_mut(), d);
                // Idle, the loss poll rides on the safety tick: one timer
                // to wake for, not two.
                if drain.idle {
                    d.poll_loss(loaded);
                }
            }
            _ = loss.tick(), if !drain.idle => d.poll_loss(loaded),
            _ = async { match stats.as_mut() { Some(i) => i.tick().await, None => std::future::pending().await } } => {
                d.emit_stats(loaded);
            }
            _ = sighup.recv() => {
                log::info!("SIGHUP: reopening files");
                d.reopen();
            }
            ev = sink_events.recv() => match ev {
                Some(SinkEvent::OutputClosed) => break Outcome::OutputClosed,
                None => {}
            },
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
    let deadline = Instant::now() + SHUTDOWN_BOUND;
    if let Outcome::Signalled | Outcome::CommandExited(_) = outcome {
        // What the kernel committed before we stopped still goes out.
        while drain_ring(afd.get_mut(), d) >= MAX_PER_WAKE && Instant::now() < deadline {}
    }
    // A closed stdout takes no more lines; otherwise the stream ends with
    // the totals, however short the run was against the interval.
    let final_stats = stats.is_some() && !matches!(outcome, Outcome::OutputClosed);
    d.finish(loaded, deadline, final_stats);
    Ok(outcome)
}

/// Starts each open sink's thread behind a queue of `queue_size` bytes.
pub fn spawn_sinks(open: Vec<crate::sink::OpenSink>, queue_size: u64) -> anyhow::Result<(Vec<SinkSlot>, UnboundedReceiver<SinkEvent>)> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let mut slots = Vec::new();
    for crate::sink::OpenSink { spec, writer } in open {
        let queue = Arc::new(Queue::new(usize::try_from(queue_size).unwrap_or(usize::MAX)));
        let counters = Arc::new(SinkCounters::default());
        let index = u16::try_from(slots.len()).context("too many sinks")?;
        let ctx = crate::sink::SinkContext { index, queue: Arc::clone(&queue), counters: Arc::clone(&counters), events: tx.clone() };
        let name = spec.name();
        let thread = crate::sink::spawn(name.clone(), writer, ctx).context("starting a sink thread")?;
        slots.push(SinkSlot::new(name, queue, counters, thread));
    }
    Ok((slots, rx))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drainer_with_one_sink(capacity: usize) -> (Drainer, Arc<Queue>) {
        let queue = Arc::new(Queue::new(capacity));
        let slot = SinkSlot::new("t".into(), Arc::clone(&queue), Arc::default(), std::thread::spawn(|| {}));
        let output = crate::pipeline::output::Output::new(crate::pipeline::output::Format::Json, Clock::with_offset(0), true, Default::default());
        (Drainer::new(vec![slot], Clock::with_offset(0), 4096, SharedSnapshot::default(), output), queue)
    }

    /// Appends a stats-like line of about 200 bytes.
    fn line(d: &mut Drainer) {
        d.batch.buf.extend_from_slice(&[b'x'; 199]);
        d.batch.buf.push(b'\n');
        d.batch.push_line(d.seq, 0, LineKind::Stats);
        d.seq += 1;
        d.dispatch();
    }

    /// What the sink received: (seqs of all lines, counts of lost records).
    fn drain(q: &Queue) -> (Vec<u64>, Vec<u64>) {
        let (mut seqs, mut counts) = (vec![], vec![]);
        for c in q.take(Duration::ZERO).chunks {
            for (i, m) in c.metas().iter().enumerate() {
                seqs.push(m.seq);
                if m.kind.is_lost() {
                    let v: serde_json::Value = serde_json::from_slice(c.batch.line(c.lines.start + i)).unwrap();
                    counts.push(v["count"].as_u64().unwrap());
                }
            }
            q.release(c.bytes().len());
        }
        (seqs, counts)
    }

    // A full batch is queued in its own buffer (no copy), a small one in a
    // right-sized copy: either way a queued batch holds at most an eighth
    // more than its bytes, and the lines stay what was written.
    #[test]
    fn queued_batches_are_about_their_own_size_whether_handed_over_or_copied() {
        let (mut d, q) = drainer_with_one_sink(1 << 20);
        let append = |d: &mut Drainer, n: usize| {
            for _ in 0..n {
                d.batch.buf.extend_from_slice(format!("{:0199}\n", d.seq).as_bytes());
                d.batch.push_line(d.seq, 0, LineKind::Stats);
                d.seq += 1;
            }
        };
        append(&mut d, FLUSH_AT / 200 + 1);
        let handed = d.batch.buf.as_ptr();
        d.dispatch();
        append(&mut d, 3);
        d.dispatch();
        assert!(d.batch.buf.capacity() >= FLUSH_AT, "the working buffer keeps its room");
        let chunks = q.take(Duration::ZERO).chunks;
        assert_eq!(chunks.len(), 2);
        let (full, small) = (&chunks[0].batch, &chunks[1].batch);
        assert_eq!(full.buf.as_ptr(), handed, "the full buffer itself was queued");
        assert!(full.buf.capacity() - full.buf.len() <= full.buf.len() / 8);
        assert_eq!((small.buf.len(), small.buf.capacity()), (600, 600));
        let mut seq = 0u64;
        for b in [full, small] {
            for i in 0..b.lines.len() {
                assert_eq!(b.line(i), format!("{seq:0199}\n").as_bytes());
                seq += 1;
            }
        }
        assert_eq!(seq, d.seq);
    }

    #[test]
    fn a_sinks_lost_counts_add_up_to_its_gaps_even_when_it_missed_earlier_reports() {
        let (mut d, q) = drainer_with_one_sink(2000);
        let mut seen = vec![];
        let mut counted = vec![];
        for _ in 0..11 {
            line(&mut d); // 10 fit, the 11th is dropped
        }
        assert_eq!(d.sinks[0].unreported, 1);
        // Reported while the sink is full: the report itself is lost too.
        d.report_sink_drops();
        assert_eq!(d.sinks[0].unreported, 2, "the report it could not take counts as lost");
        // Nothing new but that report: no new report until there is room.
        d.report_sink_drops();
        assert_eq!(d.seq, 12, "no report made for a full sink with nothing new");
        let (s, c) = drain(&q);
        seen.extend(s);
        counted.extend(c);
        line(&mut d);
        d.report_sink_drops();
        assert_eq!(d.sinks[0].unreported, 0, "accepted");
        let (s, c) = drain(&q);
        seen.extend(s);
        counted.extend(c);
        let missing = (0..d.seq).filter(|s| !seen.contains(s)).count() as u64;
        assert_eq!(missing, 2, "line 10 and the first report");
        assert_eq!(counted, vec![2], "one report it received, counting both");
        assert_eq!(d.sinks[0].dropped.load(Ordering::Relaxed), 2);
    }

    /// Plays the sink's thread: takes what is queued and writes it, or,
    /// while `full`, fails every line. Returns what was written: (seqs,
    /// counts of lost records).
    fn work(d: &Drainer, q: &Queue, full: bool) -> (Vec<u64>, Vec<u64>) {
        let c = &d.sinks[0].counters;
        let (mut seqs, mut counts) = (vec![], vec![]);
        for chunk in q.take(Duration::ZERO).chunks {
            let n = chunk.lines.len();
            let failed: Vec<u32> = if full { (0..n as u32).collect() } else { vec![] };
            c.add_written(n - failed.len());
            c.add_failed(&chunk, &failed);
            c.settle_reports(&chunk, 0, &failed);
            if !full {
                for (i, m) in chunk.metas().iter().enumerate() {
                    seqs.push(m.seq);
                    if m.kind.is_lost() {
                        let v: serde_json::Value = serde_json::from_slice(chunk.batch.line(chunk.lines.start + i)).unwrap();
                        assert_eq!(v["reason"], "write_error");
                        counts.push(v["count"].as_u64().unwrap());
                    }
                }
            }
            q.release(chunk.bytes().len());
        }
        (seqs, counts)
    }

    #[test]
    fn a_sinks_write_error_counts_add_up_to_its_gaps_and_an_idle_full_disk_is_not_reported_every_poll() {
        let (mut d, q) = drainer_with_one_sink(1 << 20);
        // (seqs written, counts of the lost records written)
        let mut got: (Vec<u64>, Vec<u64>) = (vec![], vec![]);
        fn keep(got: &mut (Vec<u64>, Vec<u64>), (s, c): (Vec<u64>, Vec<u64>)) {
            got.0.extend(s);
            got.1.extend(c);
        }
        for _ in 0..3 {
            line(&mut d);
        }
        keep(&mut got, work(&d, &q, false));
        // The disk fills: 5 lines fail, and so does the record about them.
        for _ in 0..5 {
            line(&mut d);
        }
        keep(&mut got, work(&d, &q, true));
        d.report_sink_failures(false);
        assert_eq!(d.seq, 9, "a record about the 5 failures");
        keep(&mut got, work(&d, &q, true));
        // Idle machine, disk still full: no record per poll.
        for _ in 0..3 {
            d.report_sink_failures(false);
            keep(&mut got, work(&d, &q, true));
        }
        assert_eq!(d.seq, 9, "no new record while only records failed");
        for _ in 0..2 {
            line(&mut d);
        }
        keep(&mut got, work(&d, &q, true));
        d.report_sink_failures(false);
        assert_eq!(d.seq, 12, "new real failures: a new record");
        keep(&mut got, work(&d, &q, true));
        // Space returns: the next line is written, and the sink gets the
        // whole account (5 + 1 + 2 + 1), once.
        line(&mut d);
        keep(&mut got, work(&d, &q, false));
        d.report_sink_failures(false);
        assert_eq!(d.seq, 14);
        d.report_sink_failures(false);
        assert_eq!(d.seq, 14, "outstanding: no second record");
        keep(&mut got, work(&d, &q, false));
        d.report_sink_failures(false);
        assert_eq!(d.seq, 14, "written, settled, nothing new");
        assert_eq!(got.1, vec![9]);
        let missing = (0..d.seq).filter(|s| !got.0.contains(s)).count() as u64;
        assert_eq!(missing, 9);
        assert_eq!(d.sinks[0].failures.base, 9);
        // A later failure is counted from there.
        line(&mut d);
        keep(&mut got, work(&d, &q, true));
        line(&mut d);
        keep(&mut got, work(&d, &q, false));
        d.report_sink_failures(false);
        keep(&mut got, work(&d, &q, false));
        assert_eq!(got.1, vec![9, 1]);
        assert_eq!((0..d.seq).filter(|s| !got.0.contains(s)).count(), 10);
    }
}
