//! The ring reader: reads the ring buffer on the kernel side's wake-ups
//! and on a timer ([`DrainTimer`]), and tells the kernel side through
//! `READER` when a record should wake it.

use std::time::Duration;

use aya::maps::{MapData, RingBuf};
use tracer_common::reader;

use crate::kernel::load::ReaderState;
use crate::pipeline::drainer::Drainer;

/// How long a record may wait in the ring while records keep coming: the
/// kernel side batches wake-ups, this timer drains what stays below the
/// threshold.
pub const DRAIN_TICK: Duration = Duration::from_millis(10);
/// Empty drain ticks in a row after which the daemon goes idle: stops the
/// drain timer and has the next record wake it ([`DrainTimer`]).
const IDLE_AFTER: u32 = 10;
/// The drain timer of an idle daemon: only a safety net, as a record wakes
/// it.
pub(crate) const IDLE_SAFETY_TICK: Duration = Duration::from_secs(1);
/// Records handled per wake-up before signals and timers get a turn.
pub(crate) const MAX_PER_WAKE: usize = 16_384;

/// Reads what the ring holds, up to [`MAX_PER_WAKE`] records; returns how
/// many (at the cap, more may be waiting).
pub(crate) fn drain_ring(ring: &mut RingBuf<MapData>, d: &mut Drainer) -> usize {
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
pub(crate) struct DrainTimer<'a> {
    reader: &'a ReaderState,
    pub(crate) tick: tokio::time::Interval,
    quiet: u32,
    pub(crate) idle: bool,
}

impl<'a> DrainTimer<'a> {
    pub(crate) fn new(reader: &'a ReaderState) -> DrainTimer<'a> {
        DrainTimer { reader, tick: DrainTimer::interval(DRAIN_TICK), quiet: 0, idle: false }
    }

    fn interval(period: Duration) -> tokio::time::Interval {
        let mut i = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        i
    }

    /// Woken by the kernel side: reading from now on.
    pub(crate) fn readable(&mut self) {
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
    pub(crate) fn drain(&self, ring: &mut RingBuf<MapData>, d: &mut Drainer) -> usize {
        let n = drain_ring(ring, d);
        if n < MAX_PER_WAKE && !self.idle {
            self.reader.set(reader::TICKING);
        }
        n
    }

    /// A tick: drain, and go idle after a quiet spell.
    pub(crate) fn on_tick(&mut self, ring: &mut RingBuf<MapData>, d: &mut Drainer) {
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
