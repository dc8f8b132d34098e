//! The `lost` and `stats` records under `--format text`: one line each,
//! marked `*** … ***` like tracer's other lines strace has no form for,
//! with the same facts as the JSON records ([`super::report`]) but the
//! time (text lines carry none):
//!
//! ```text
//! *** lost 12 records in the kernel (ringbuf_full; cpu 0: 10, cpu 1: 2), 12 in all ***
//! *** lost 40 lines in sink socket:tcp:127.0.0.1:5170 (queue_full; seq 3..42), 40 in all ***
//! *** lost 1 record in decoding (undecodable), 1 in all ***
//! *** stats: 11 records in 2.500000000 s; events mmap=120 clone3=2; kernel emitted=122 ringbuf_full=0 …; calls_in_flight=0 decode_errors=0 cgroups_cached=0; ringbuf 0 of 8388608 bytes; sink stdout written=10 dropped=0 write_errors=0 queued_bytes=0 capacity_bytes=8388608 ***
//! ```

use std::fmt::Write as _;

use tracer_common::Counter;

use crate::model::syscalls::syscall_name;
use crate::pipeline::report::{LossPlace, Lost, SinkLoss, Snapshot};

/// Appends one `lost` line (with its newline).
pub fn write_lost_text(out: &mut Vec<u8>, l: &Lost) {
    let mut s = String::from("*** lost ");
    let plural = if l.count == 1 { "" } else { "s" };
    match &l.place {
        LossPlace::Kernel { reason, per_cpu } => {
            let _ = write!(s, "{} record{plural} in the kernel ({}", l.count, reason.name());
            let mut sep = "; ";
            for (cpu, &n) in per_cpu.iter().enumerate().filter(|(_, n)| **n > 0) {
                let _ = write!(s, "{sep}cpu {cpu}: {n}");
                sep = ", ";
            }
            s.push(')');
        }
        LossPlace::Decode => {
            let _ = write!(s, "{} record{plural} in decoding (undecodable)", l.count);
        }
        LossPlace::Sink { name, reason, first_seq, last_seq } => {
            let reason = match reason {
                SinkLoss::QueueFull => "queue_full",
                SinkLoss::WriteError => "write_error",
            };
            let _ = write!(s, "{} line{plural} in sink {} ({reason}; seq {first_seq}..{last_seq})", l.count, name.escape_debug());
        }
    }
    let _ = writeln!(s, ", {} in all ***", l.total);
    out.extend_from_slice(s.as_bytes());
}

/// Appends one `stats` line (with its newline).
pub fn write_stats_text(out: &mut Vec<u8>, snap: &Snapshot) {
    let mut s = String::new();
    let _ = write!(
        s,
        "*** stats: {} records in {}.{:09} s; events",
        snap.records,
        snap.uptime_ns / 1_000_000_000,
        snap.uptime_ns % 1_000_000_000
    );
    for &(nr, n) in &snap.events {
        let _ = write!(s, " {}={n}", syscall_name(nr));
    }
    s.push_str("; kernel");
    for c in Counter::ALL {
        let _ = write!(s, " {}={}", c.name(), snap.kernel.get(c));
    }
    let _ = write!(
        s,
        "; calls_in_flight={} decode_errors={} cgroups_cached={}; ringbuf {} of {} bytes",
        snap.kernel.calls_in_flight, snap.decode_errors, snap.cgroups_cached, snap.ringbuf_used, snap.ringbuf_size
    );
    for k in &snap.sinks {
        let _ = write!(
            s,
            "; sink {} written={} dropped={} write_errors={} queued_bytes={} capacity_bytes={}",
            k.name.escape_debug(),
            k.written,
            k.dropped,
            k.write_errors,
            k.queued_bytes,
            k.capacity_bytes
        );
    }
    s.push_str(" ***\n");
    out.extend_from_slice(s.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::report::SinkSnapshot;

    fn text(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        f(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn lost_lines_name_place_reason_counts_and_span() {
        let kernel = Lost { place: LossPlace::Kernel { reason: Counter::RingbufFull, per_cpu: vec![10, 0, 2] }, count: 12, total: 30, since_unix_ns: 0 };
        assert_eq!(text(|o| write_lost_text(o, &kernel)), "*** lost 12 records in the kernel (ringbuf_full; cpu 0: 10, cpu 2: 2), 30 in all ***\n");
        let sink = Lost {
            place: LossPlace::Sink { name: "file:/var/log/a\nb".into(), reason: SinkLoss::WriteError, first_seq: 5, last_seq: 11 },
            count: 7,
            total: 7,
            since_unix_ns: 0,
        };
        // A path with a newline stays on one line.
        assert_eq!(text(|o| write_lost_text(o, &sink)), "*** lost 7 lines in sink file:/var/log/a\\nb (write_error; seq 5..11), 7 in all ***\n");
        let decode = Lost { place: LossPlace::Decode, count: 1, total: 1, since_unix_ns: 0 };
        assert_eq!(text(|o| write_lost_text(o, &decode)), "*** lost 1 record in decoding (undecodable), 1 in all ***\n");
    }

    #[test]
    fn stats_line_carries_every_counter() {
        let mut snap = Snapshot {
            uptime_ns: 2_500_000_000,
            records: 11,
            events: vec![(tracer_common::nr::MMAP, 120), (tracer_common::nr::CLONE3, 2)],
            decode_errors: 1,
            ringbuf_size: 8_388_608,
            ringbuf_used: 4096,
            sinks: vec![SinkSnapshot { name: "stdout".into(), written: 10, dropped: 1, write_errors: 0, queued_bytes: 5, capacity_bytes: 8_388_608 }],
            cgroups_cached: 3,
            ..Default::default()
        };
        snap.kernel.values[Counter::ExitWithoutEnter as usize] = 3;
        snap.kernel.calls_in_flight = 2;
        let line = text(|o| write_stats_text(o, &snap));
        assert!(line.starts_with("*** stats: 11 records in 2.500000000 s; events mmap=120 clone3=2; kernel "), "{line}");
        assert!(line.ends_with("; calls_in_flight=2 decode_errors=1 cgroups_cached=3; ringbuf 4096 of 8388608 bytes; sink stdout written=10 dropped=1 write_errors=0 queued_bytes=5 capacity_bytes=8388608 ***\n"), "{line}");
        for c in Counter::ALL {
            let want = if c == Counter::ExitWithoutEnter { 3 } else { 0 };
            assert!(line.contains(&format!(" {}={want}", c.name())), "{line}");
        }
        assert_eq!(line.matches('\n').count(), 1);
    }
}
