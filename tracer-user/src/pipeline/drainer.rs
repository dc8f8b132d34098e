//! The drain's state: each record decoded and rendered once into the
//! pending [`Batch`], numbered (`seq`), and the batch offered to every
//! sink's bounded queue; `lost`, `stats` and `start` records made in the
//! same stream; the shutdown that flushes every sink within a bound.
//! The accounts behind the `lost` records are in [`super::loss`], the
//! statistics in [`super::stats`]; the loop that drives this is
//! [`super::daemon::run`].

use std::os::fd::BorrowedFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::kernel::load::Loaded;
use crate::model::decode::decode;
use crate::pipeline::cgroup_watch::CgroupWatch;
use crate::pipeline::loss::{DecodeLoss, KernelLoss, SinkSlot};
use crate::pipeline::output::Output;
use crate::pipeline::report::{LossPlace, Lost, SharedSnapshot, SinkLoss, Snapshot};
use crate::pipeline::stats::Stats;
use crate::render::clock::{Clock, now_unix_ns};
use crate::sink::{Batch, LineKind, LineMeta};

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

/// SIGINT/SIGTERM → exit takes at most about this long, whatever the sinks do.
pub const SHUTDOWN_BOUND: Duration = Duration::from_secs(3);
/// Before the final `stats` record, a sink that writes nothing for this
/// long is not waited for.
const SETTLE_STALL: Duration = Duration::from_millis(100);
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

pub struct Drainer {
    sinks: Vec<SinkSlot>,
    clock: Clock,
    /// Decoded event → its lines (enrich, JSON or text, correlation):
    /// `output.rs`.
    output: Output,
    seq: u64,
    batch: Batch,
    kernel_loss: KernelLoss,
    decode_loss: DecodeLoss,
    stats: Stats,
    last_trim: Instant,
    /// `--container`/`--unit`: cgroups to add to the kernel's filter as
    /// they appear.
    watch: Option<CgroupWatch>,
}

impl Drainer {
    pub fn new(sinks: Vec<SinkSlot>, clock: Clock, ringbuf_size: u32, snapshot: SharedSnapshot, output: Output) -> Self {
        Drainer {
            sinks,
            clock,
            output,
            seq: 0,
            batch: Batch::with_capacity(FLUSH_AT + BATCH_SLACK),
            kernel_loss: KernelLoss::new(),
            decode_loss: DecodeLoss::new(),
            stats: Stats::new(ringbuf_size, snapshot),
            last_trim: Instant::now(),
            watch: None,
        }
    }

    /// Adds the cgroups `w` finds to the kernel's filter as they appear.
    pub fn with_cgroup_watch(mut self, w: Option<CgroupWatch>) -> Self {
        self.watch = w;
        self
    }

    /// The fill level of `ring` (the ring buffer's fd) goes into `stats`
    /// from now on.
    pub(crate) fn watch_fill(&mut self, ring: BorrowedFd<'_>) {
        self.stats.watch_fill(ring);
    }

    /// Records emitted so far.
    pub fn records(&self) -> u64 {
        self.seq
    }

    /// Ring-buffer records that could not be decoded, so far.
    pub fn decode_errors(&self) -> u64 {
        self.decode_loss.errors()
    }

    pub fn sinks(&self) -> &[SinkSlot] {
        &self.sinks
    }

    /// Decodes and formats one ring-buffer record into the pending batch.
    pub fn record(&mut self, bytes: &[u8]) {
        match decode(bytes) {
            Ok(mut ev) => {
                // --- the render hook: one event in, its lines out (output.rs) ---
                let (clock, lines, events) = (&self.clock, &mut self.batch.lines, &mut self.stats.events);
                self.output.render(&mut ev, &mut self.seq, &mut self.batch.buf, |w| {
                    let kind = match w.nr {
                        Some(nr) => {
                            events.count(nr);
                            LineKind::Syscall { pid: w.pid, tid: w.tid, nr }
                        }
                        None => LineKind::Task { pid: w.pid, tid: w.tid, event: w.event },
                    };
                    lines.push(LineMeta { end: w.end, seq: w.seq, unix_ns: clock.unix_ns(w.ts_boot_ns), kind });
                });
            }
            Err(e) => {
                if self.decode_loss.note() <= 10 {
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
            slot.offered(&batch, took, about.filter(|&(a, _)| a == i).map(|(_, r)| r));
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
                self.stats.last_kernel = cur.sum();
                for l in self.kernel_loss.poll(cur, now) {
                    self.emit_lost(&l);
                }
            }
            Err(e) => log::warn!("reading kernel counters: {e:#}"),
        }
        if let Some(l) = self.decode_loss.report() {
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
    /// one; `last`: the final poll, where failures of only these records
    /// are reported too.
    fn report_sink_failures(&mut self, last: bool) {
        for i in 0..self.sinks.len() {
            if let Some(l) = self.sinks[i].failure_report(self.seq, last) {
                self.emit_lost(&l);
            }
        }
    }

    /// A `queue_full` record for each sink with unreported drops (see
    /// [`super::loss`] for when).
    fn report_sink_drops(&mut self) {
        for i in 0..self.sinks.len() {
            if let Some(l) = self.sinks[i].drop_report() {
                self.emit_lost(&l);
            }
        }
    }

    pub fn take_snapshot(&self) -> Snapshot {
        self.stats.snapshot(self.seq, self.decode_loss.errors(), &self.sinks, self.output.cgroups_cached())
    }

    fn refresh_snapshot(&self) {
        self.stats.publish(self.take_snapshot());
    }

    /// Emits a `stats` record (with fresh kernel counters).
    pub fn emit_stats(&mut self, loaded: &Loaded) {
        self.dispatch();
        if let Ok(c) = loaded.counters() {
            self.stats.last_kernel = c;
        }
        let snap = self.take_snapshot();
        self.stats.publish(snap.clone());
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
    /// for), or `until`. Sleeps on the runtime's timer, so the metrics
    /// endpoint keeps answering meanwhile.
    async fn settle(&self, until: Instant) {
        let held = || self.sinks.iter().map(|s| s.queue.charged()).sum::<usize>();
        let (mut last, mut moved) = (held(), Instant::now());
        while last > 0 && moved.elapsed() < SETTLE_STALL && Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(2)).await;
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
    /// done or at `deadline`, naming the ones that were not. Waits on the
    /// runtime's timer, never blocking it.
    pub async fn finish(&mut self, loaded: &Loaded, deadline: Instant, final_stats: bool) {
        self.poll_loss_now(loaded, true);
        // Leave a second of the bound for the flush.
        let report_until = deadline.checked_sub(Duration::from_secs(1)).unwrap_or(deadline);
        if final_stats {
            // Its per-sink `written` should count every line before it.
            self.settle(report_until).await;
            self.emit_stats(loaded);
        }
        // A sink's last `lost` record may not have fitted, or not be written
        // yet: its thread is still writing, so wait for room (or for it to
        // handle the record) rather than lose the account of its losses.
        while self.sinks.iter().any(SinkSlot::owes_report) && Instant::now() < report_until {
            tokio::time::sleep(Duration::from_millis(10)).await;
            self.report_sink_drops();
            self.report_sink_failures(false);
        }
        for s in &self.sinks {
            s.queue.close();
        }
        for s in &mut self.sinks {
            let Some(t) = s.thread.take() else { continue };
            while !t.is_finished() && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(5)).await;
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

#[cfg(test)]
#[path = "drainer_tests.rs"]
mod tests;
