//! Loss accounting: what decides that a `lost` record is due, and what it
//! counts. The drain ([`super::drainer`]) emits the records; this file keeps
//! the accounts — the kernel's loss counters between polls
//! ([`KernelLoss`]), undecodable records ([`DecodeLoss`]), and per sink
//! ([`SinkSlot`]) the lines its queue had no room for and the lines it
//! failed to write.
//!
//! Sink drops, decided and documented:
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
//! Write failures are accounted the same way ([`FailureAccount`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tracer_common::Counter;

use crate::kernel::load::PerCpuCounters;
use crate::pipeline::report::{LossPlace, Lost, SinkLoss, SinkSnapshot};
use crate::render::clock::now_unix_ns;
use crate::sink::{Batch, Failures, Queue, SinkCounters};

/// A `lost` record about a sink is offered to it only with this much room.
const REPORT_ROOM: usize = 1024;

/// Kernel counters that mean a call was lost, reported as `lost` records.
const KERNEL_LOSSES: [Counter; 2] = [Counter::RingbufFull, Counter::StashFailed];

/// The kernel's loss counters as last polled, per CPU.
pub(crate) struct KernelLoss {
    prev: Option<PerCpuCounters>,
    /// When `prev` was read (at first: when the account was opened).
    prev_ns: i128,
    /// Running sums of [`KERNEL_LOSSES`].
    totals: [u64; 2],
}

impl KernelLoss {
    pub(crate) fn new() -> KernelLoss {
        KernelLoss { prev: None, prev_ns: now_unix_ns(), totals: [0; 2] }
    }

    /// The `lost` records for what the kernel lost since the last poll
    /// (at the first poll: since load, attaching included), read at `now`.
    pub(crate) fn poll(&mut self, cur: PerCpuCounters, now: i128) -> Vec<Lost> {
        let mut lost = Vec::new();
        for (k, c) in KERNEL_LOSSES.into_iter().enumerate() {
            let per_cpu: Vec<u64> = match &self.prev {
                Some(prev) => cur
                    .get(c)
                    .iter()
                    .enumerate()
                    .map(|(cpu, &v)| v.saturating_sub(prev.get(c).get(cpu).copied().unwrap_or(0)))
                    .collect(),
                None => cur.get(c).to_vec(),
            };
            let count: u64 = per_cpu.iter().sum();
            if count > 0 {
                self.totals[k] += count;
                lost.push(Lost {
                    place: LossPlace::Kernel { reason: c, per_cpu },
                    count,
                    total: self.totals[k],
                    since_unix_ns: self.prev_ns,
                });
            }
        }
        self.prev = Some(cur);
        self.prev_ns = now;
        lost
    }
}

/// Ring-buffer records that could not be decoded.
pub(crate) struct DecodeLoss {
    errors: u64,
    reported: u64,
    /// When the first error not yet reported happened.
    since_ns: i128,
}

impl DecodeLoss {
    pub(crate) fn new() -> DecodeLoss {
        DecodeLoss { errors: 0, reported: 0, since_ns: now_unix_ns() }
    }

    /// Undecodable records since start.
    pub(crate) fn errors(&self) -> u64 {
        self.errors
    }

    /// Counts one; returns the count since start.
    pub(crate) fn note(&mut self) -> u64 {
        if self.errors == self.reported {
            self.since_ns = now_unix_ns();
        }
        self.errors += 1;
        self.errors
    }

    /// A `lost` record for the errors since the last one, if any.
    pub(crate) fn report(&mut self) -> Option<Lost> {
        if self.errors == self.reported {
            return None;
        }
        let l = Lost { place: LossPlace::Decode, count: self.errors - self.reported, total: self.errors, since_unix_ns: self.since_ns };
        self.reported = self.errors;
        Some(l)
    }
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
    pub(super) unreported: u64,
    /// Lines other than `lost` records about this sink were dropped since
    /// the last such record was made.
    new_real_drops: bool,
    first_seq: u64,
    last_seq: u64,
    since_ns: i128,
    /// Its write failures, as reported in `write_error` records.
    pub(super) failures: FailureAccount,
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
pub(super) struct FailureAccount {
    /// `write_errors` when the last record this sink wrote was made.
    pub(super) base: u64,
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
    fn merge(a: Option<Span>, f: &Failures) -> Option<Span> {
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

    /// Its queue took the first `took` lines of `batch`; `about`: the batch
    /// is a `lost` record about this sink, for that reason.
    pub(super) fn offered(&mut self, batch: &Batch, took: usize, about: Option<SinkLoss>) {
        let n = batch.lines.len();
        match about {
            // It has the account of everything its queue dropped so far.
            Some(SinkLoss::QueueFull) if took == n => self.unreported = 0,
            // It will never see this one: handled, not written.
            Some(SinkLoss::WriteError) if took < n => self.failures.outstanding = None,
            _ => {}
        }
        self.note_drops(batch, took, about.is_none());
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

    /// A `queue_full` record is owed and due now (see the module doc).
    pub(super) fn drop_report(&mut self) -> Option<Lost> {
        if self.unreported == 0 || !(self.new_real_drops || self.queue.room() >= REPORT_ROOM) {
            return None;
        }
        self.new_real_drops = false;
        Some(Lost {
            place: LossPlace::Sink { name: self.name.clone(), reason: SinkLoss::QueueFull, first_seq: self.first_seq, last_seq: self.last_seq },
            count: self.unreported,
            total: self.dropped.load(Ordering::Relaxed),
            since_unix_ns: self.since_ns,
        })
    }

    /// A `write_error` record, if its failures call for one (see
    /// [`FailureAccount`]); `seq`: the seq it will get; `last`: the final
    /// poll, where failures of only these records are reported too.
    pub(super) fn failure_report(&mut self, seq: u64, last: bool) -> Option<Lost> {
        let c = &self.counters;
        let a = &mut self.failures;
        if let Some(f) = c.take_failures(|_| true) {
            a.span = Span::merge(a.span, &f);
            a.span_after = Span::merge(a.span_after, &f);
            a.new_real |= f.real;
        }
        if let Some((seq, cum)) = a.outstanding {
            if c.reports_settled.load(Ordering::Relaxed) <= seq {
                return None;
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
            return None;
        }
        let span = a.span.unwrap_or(Span { first_seq: 0, last_seq: 0, since_ns: now_unix_ns() });
        a.outstanding = Some((seq, cum));
        a.written_at_report = written;
        a.new_real = false;
        a.span_after = None;
        Some(Lost {
            place: LossPlace::Sink {
                name: self.name.clone(),
                reason: SinkLoss::WriteError,
                first_seq: span.first_seq,
                last_seq: span.last_seq,
            },
            count: cum - a.base,
            total: cum,
            since_unix_ns: span.since_ns,
        })
    }

    /// Its last `lost` record did not fit yet, or is not handled yet.
    pub(super) fn owes_report(&self) -> bool {
        self.unreported > 0 || self.failures.outstanding.is_some()
    }

    pub(super) fn snapshot(&self) -> SinkSnapshot {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn per_cpu(full: &[u64], stash: &[u64]) -> PerCpuCounters {
        let mut values = vec![vec![0; full.len()]; tracer_common::COUNTER_COUNT as usize];
        values[Counter::RingbufFull as usize] = full.to_vec();
        values[Counter::StashFailed as usize] = stash.to_vec();
        PerCpuCounters { values, calls_in_flight: 0 }
    }

    #[test]
    fn kernel_losses_are_reported_per_cpu_as_deltas_with_running_totals() {
        let mut k = KernelLoss::new();
        let opened = k.prev_ns;
        // Before the first poll (attaching) counts too.
        let l = k.poll(per_cpu(&[2, 1], &[0, 0]), 100);
        assert_eq!(l.len(), 1);
        assert_eq!(l[0].place, LossPlace::Kernel { reason: Counter::RingbufFull, per_cpu: vec![2, 1] });
        assert_eq!((l[0].count, l[0].total, l[0].since_unix_ns), (3, 3, opened));
        assert!(k.poll(per_cpu(&[2, 1], &[0, 0]), 200).is_empty(), "nothing new");
        let l = k.poll(per_cpu(&[2, 5], &[1, 0]), 300);
        assert_eq!(l.len(), 2);
        assert_eq!(l[0].place, LossPlace::Kernel { reason: Counter::RingbufFull, per_cpu: vec![0, 4] });
        assert_eq!((l[0].count, l[0].total, l[0].since_unix_ns), (4, 7, 200));
        assert_eq!(l[1].place, LossPlace::Kernel { reason: Counter::StashFailed, per_cpu: vec![1, 0] });
        assert_eq!((l[1].count, l[1].total), (1, 1));
    }

    #[test]
    fn decode_losses_are_reported_once_each() {
        let mut d = DecodeLoss::new();
        assert!(d.report().is_none());
        d.note();
        assert_eq!(d.note(), 2);
        let l = d.report().unwrap();
        assert_eq!((l.place, l.count, l.total), (LossPlace::Decode, 2, 2));
        assert!(d.report().is_none());
        d.note();
        let l = d.report().unwrap();
        assert_eq!((l.count, l.total), (1, 3));
        assert_eq!(d.errors(), 3);
    }
}
