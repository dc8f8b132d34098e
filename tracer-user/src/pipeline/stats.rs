//! What the `stats` records and the `--metrics` endpoint report: decoded
//! calls per syscall, the kernel's counters as last read, the ring's fill,
//! uptime; gathered into a [`Snapshot`] with the drain's own counts.

use std::collections::BTreeMap;
use std::os::fd::BorrowedFd;
use std::time::Instant;

use crate::kernel::load::Counters;
use crate::kernel::mmap::RingFill;
use crate::pipeline::loss::SinkSlot;
use crate::pipeline::report::{SharedSnapshot, Snapshot};

/// Decoded calls per syscall number.
pub(crate) struct EventCounts {
    /// x86-64 numbers are < 512.
    by_nr: Vec<u64>,
    other: BTreeMap<u32, u64>,
}

impl EventCounts {
    fn new() -> EventCounts {
        EventCounts { by_nr: vec![0; 512], other: BTreeMap::new() }
    }

    pub(crate) fn count(&mut self, nr: u32) {
        match self.by_nr.get_mut(nr as usize) {
            Some(n) => *n += 1,
            None => *self.other.entry(nr).or_default() += 1,
        }
    }

    /// Non-zero counts, by ascending number.
    fn list(&self) -> Vec<(u32, u64)> {
        let mut events: Vec<(u32, u64)> =
            self.by_nr.iter().enumerate().filter(|(_, n)| **n > 0).map(|(nr, &n)| (nr as u32, n)).collect();
        events.extend(self.other.iter().map(|(&nr, &n)| (nr, n)));
        events
    }
}

/// The drain's statistics, and the snapshot it publishes for `--metrics`.
pub(crate) struct Stats {
    pub(crate) events: EventCounts,
    /// The kernel's counters as last read.
    pub(crate) last_kernel: Counters,
    started: Instant,
    ringbuf_size: u32,
    /// The ring's positions, once the drain runs.
    fill: Option<RingFill>,
    published: SharedSnapshot,
}

impl Stats {
    pub(crate) fn new(ringbuf_size: u32, published: SharedSnapshot) -> Stats {
        Stats {
            events: EventCounts::new(),
            last_kernel: Counters::default(),
            started: Instant::now(),
            ringbuf_size,
            fill: None,
            published,
        }
    }

    /// Maps the positions of `ring` (the ring buffer's fd) for its fill
    /// level; without them (the mapping failed) it reads 0.
    pub(crate) fn watch_fill(&mut self, ring: BorrowedFd<'_>) {
        self.fill = RingFill::new(ring, self.ringbuf_size);
    }

    /// Everything at this moment; `records`, `decode_errors`, `sinks` and
    /// `cgroups_cached` are the drain's own.
    pub(crate) fn snapshot(&self, records: u64, decode_errors: u64, sinks: &[SinkSlot], cgroups_cached: u64) -> Snapshot {
        Snapshot {
            uptime_ns: self.started.elapsed().as_nanos() as u64,
            records,
            events: self.events.list(),
            kernel: self.last_kernel,
            decode_errors,
            ringbuf_size: self.ringbuf_size.into(),
            ringbuf_used: self.fill.as_ref().map_or(0, RingFill::used),
            sinks: sinks.iter().map(SinkSlot::snapshot).collect(),
            cgroups_cached,
        }
    }

    /// Hands `s` to the metrics endpoint.
    pub(crate) fn publish(&self, s: Snapshot) {
        *self.published.lock().unwrap_or_else(|p| p.into_inner()) = s;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_counts_list_every_number_once_ascending() {
        let mut c = EventCounts::new();
        for nr in [9, 600, 0, 9, 511, 512] {
            c.count(nr);
        }
        assert_eq!(c.list(), vec![(0, 1), (9, 2), (511, 1), (512, 1), (600, 1)]);
    }
}
