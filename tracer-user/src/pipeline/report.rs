//! tracer's in-band reports about itself: the `lost` and `stats` records.
//!
//! They follow the conventions of `format` (the syscall records): `schema`,
//! `seq`, `ts`, `event` first; every field name keeps one JSON type across
//! all events; 64-bit identifiers that may exceed 2^53 would be strings.
//! The counters here are plain numbers: at ten million events a second a
//! counter needs 28 years to reach 2^53.
//!
//! `lost` (one per place and reason that lost something since the last one;
//! `count` is that delta — for a sink, the lines it lost since the last
//! `lost` record it accepted itself (see `loss`) —, `total` the running
//! sum, `since` the start of the window in which the loss happened):
//!
//! ```json
//! {"schema":4,"seq":8,"ts":"…","event":"lost","where":"kernel","reason":"ringbuf_full","count":12,"total":12,"since":"…","per_cpu":{"0":10,"1":2}}
//! {"schema":4,"seq":9,"ts":"…","event":"lost","where":"sink","reason":"queue_full","sink":"socket:tcp:127.0.0.1:5170","count":40,"total":40,"since":"…","first_seq":3,"last_seq":42}
//! {"schema":4,"seq":10,"ts":"…","event":"lost","where":"sink","reason":"write_error","sink":"file:/var/log/t.jsonl","count":7,"total":7,"since":"…","first_seq":5,"last_seq":11}
//! {"schema":4,"seq":11,"ts":"…","event":"lost","where":"decode","reason":"undecodable","count":1,"total":1,"since":"…"}
//! ```
//!
//! `stats` (cumulative counters since start; the `--metrics` endpoint serves
//! the same [`Snapshot`]):
//!
//! ```json
//! {"schema":4,"seq":11,"ts":"…","event":"stats","uptime_ns":…,"records":11,
//!  "events":{"mmap":120,"clone3":2},
//!  "kernel":{"emitted":122,"ringbuf_full":0,"exit_without_enter":3,"stash_failed":0,"filtered":0,"child_return":2},
//!  "decode_errors":0,"ringbuf":{"size_bytes":8388608,"used_bytes":0},
//!  "sinks":{"stdout":{"written":10,"dropped":0,"write_errors":0,"queued_bytes":0,"capacity_bytes":8388608}}}
//! ```

use tracer_common::Counter;

use crate::model::identity::{self, Fields};
use crate::model::syscalls::syscall_name;
use crate::render::clock::push_rfc3339;
use crate::render::json_head::begin_record;
use crate::render::json::JsonWriter;
use crate::kernel::load::Counters;

/// Where something was lost.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LossPlace {
    /// In the kernel, before a record existed (`reason`: a [`Counter`] name);
    /// `per_cpu[i]` is CPU i's share of `count`.
    Kernel { reason: Counter, per_cpu: Vec<u64> },
    /// Records that reached userspace but could not be decoded.
    Decode,
    /// Lines the named sink lost: its queue had no room for them, or writing
    /// them failed. Their seqs are in `first_seq..=last_seq` (every one of
    /// them, if `count` equals the span).
    Sink { name: String, reason: SinkLoss, first_seq: u64, last_seq: u64 },
}

/// Why a sink lost lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SinkLoss {
    /// `queue_full`: the sink's queue had no room (a slow or dead sink).
    QueueFull,
    /// `write_error`: the write failed (ENOSPC, EIO, …).
    WriteError,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lost {
    pub place: LossPlace,
    pub count: u64,
    pub total: u64,
    pub since_unix_ns: i128,
}

/// `schema`, `seq`, `ts`, `event`: an event's opening without `cpu`.
fn head(w: &mut JsonWriter<'_>, seq: u64, now_unix_ns: i128, event: &'static str) {
    begin_record(w, seq, now_unix_ns, None, event);
}

/// Appends one `lost` line (with its newline).
pub fn write_lost_line(out: &mut Vec<u8>, l: &Lost, seq: u64, now_unix_ns: i128) {
    let mut w = JsonWriter::new(out);
    head(&mut w, seq, now_unix_ns, "lost");
    let (place, reason) = match &l.place {
        LossPlace::Kernel { reason, .. } => ("kernel", reason.name()),
        LossPlace::Decode => ("decode", "undecodable"),
        LossPlace::Sink { reason: SinkLoss::QueueFull, .. } => ("sink", "queue_full"),
        LossPlace::Sink { reason: SinkLoss::WriteError, .. } => ("sink", "write_error"),
    };
    w.key("where");
    w.str(place);
    w.key("reason");
    w.str(reason);
    if let LossPlace::Sink { name, .. } = &l.place {
        w.key("sink");
        w.str(name);
    }
    w.key("count");
    w.u64(l.count);
    w.key("total");
    w.u64(l.total);
    w.key("since");
    w.ascii_str_with(|out| push_rfc3339(out, l.since_unix_ns));
    match &l.place {
        LossPlace::Kernel { per_cpu, .. } => {
            w.key_object("per_cpu");
            for (cpu, &n) in per_cpu.iter().enumerate() {
                if n > 0 {
                    w.key(itoa::Buffer::new().format(cpu));
                    w.u64(n);
                }
            }
            w.end_object();
        }
        LossPlace::Sink { first_seq, last_seq, .. } => {
            w.key("first_seq");
            w.u64(*first_seq);
            w.key("last_seq");
            w.u64(*last_seq);
        }
        LossPlace::Decode => {}
    }
    w.end_object();
    out.push(b'\n');
}

/// One sink's counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SinkSnapshot {
    pub name: String,
    pub written: u64,
    pub dropped: u64,
    pub write_errors: u64,
    pub queued_bytes: u64,
    pub capacity_bytes: u64,
}

/// Everything `stats` and `--metrics` report, taken at one moment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub uptime_ns: u64,
    /// Records emitted so far (the next `seq`).
    pub records: u64,
    /// Decoded calls per syscall number, ascending, non-zero only.
    pub events: Vec<(u32, u64)>,
    pub kernel: Counters,
    pub decode_errors: u64,
    pub ringbuf_size: u64,
    pub ringbuf_used: u64,
    pub sinks: Vec<SinkSnapshot>,
    /// cgroups the resolver holds now (issue 17's cache bound).
    pub cgroups_cached: u64,
}

/// The latest snapshot, shared between the drain (which writes it) and
/// the metrics server (which reads it).
pub type SharedSnapshot = std::sync::Arc<std::sync::Mutex<Snapshot>>;

/// `boot_id`, unless `--fields` leaves it out or it could not be read.
pub(crate) fn write_boot_id(w: &mut JsonWriter<'_>) {
    let id = identity::get();
    if id.fields.has(Fields::BOOT_ID) && !id.boot_id.is_empty() {
        w.key("boot_id");
        w.str(&id.boot_id);
    }
}

/// Appends one `stats` line (with its newline).
pub fn write_stats_line(out: &mut Vec<u8>, s: &Snapshot, seq: u64, now_unix_ns: i128) {
    let mut w = JsonWriter::new(out);
    head(&mut w, seq, now_unix_ns, "stats");
    write_boot_id(&mut w);
    w.key("uptime_ns");
    w.u64(s.uptime_ns);
    w.key("records");
    w.u64(s.records);
    w.key_object("events");
    for &(nr, n) in &s.events {
        w.key(&syscall_name(nr));
        w.u64(n);
    }
    w.end_object();
    w.key_object("kernel");
    for c in Counter::ALL {
        w.key(c.name());
        w.u64(s.kernel.get(c));
    }
    w.end_object();
    w.key("calls_in_flight");
    w.i64(s.kernel.calls_in_flight);
    w.key("decode_errors");
    w.u64(s.decode_errors);
    w.key("cgroups_cached");
    w.u64(s.cgroups_cached);
    w.key_object("ringbuf");
    w.key("size_bytes");
    w.u64(s.ringbuf_size);
    w.key("used_bytes");
    w.u64(s.ringbuf_used);
    w.end_object();
    w.key_object("sinks");
    for k in &s.sinks {
        // Sink names are tracer's own ("file:PATH"): a path may hold any
        // byte, so they go through the escaping writer as values would.
        let mut key = Vec::new();
        crate::render::json::escape_into(&mut key, k.name.as_bytes());
        w.key(std::str::from_utf8(&key[1..key.len() - 1]).unwrap_or("?"));
        w.begin_object();
        for (name, v) in [
            ("written", k.written),
            ("dropped", k.dropped),
            ("write_errors", k.write_errors),
            ("queued_bytes", k.queued_bytes),
            ("capacity_bytes", k.capacity_bytes),
        ] {
            w.key(name);
            w.u64(v);
        }
        w.end_object();
    }
    w.end_object();
    w.end_object();
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    const NOW: i128 = 1_764_225_947_000_000_001;

    fn parse(out: &[u8]) -> Value {
        assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 1);
        assert_eq!(out.last(), Some(&b'\n'));
        serde_json::from_slice(out).unwrap()
    }

    #[test]
    fn kernel_loss_keeps_per_cpu_detail() {
        let mut out = Vec::new();
        let l = Lost {
            place: LossPlace::Kernel { reason: Counter::RingbufFull, per_cpu: vec![10, 0, 2] },
            count: 12,
            total: 30,
            since_unix_ns: NOW - 500_000_000,
        };
        write_lost_line(&mut out, &l, 8, NOW);
        assert_eq!(
            parse(&out),
            json!({"schema": 4, "seq": 8, "ts": "2025-11-27T06:45:47.000000001Z", "event": "lost", "where": "kernel",
                   "reason": "ringbuf_full", "count": 12, "total": 30, "since": "2025-11-27T06:45:46.500000001Z",
                   "per_cpu": {"0": 10, "2": 2}})
        );
    }

    #[test]
    fn sink_loss_names_the_sink_and_the_seq_span() {
        let mut out = Vec::new();
        let l = Lost {
            place: LossPlace::Sink { name: "socket:unix:/run/a \"b\".sock".into(), reason: SinkLoss::QueueFull, first_seq: 3, last_seq: 42 },
            count: 40,
            total: 41,
            since_unix_ns: NOW,
        };
        write_lost_line(&mut out, &l, 9, NOW);
        let v = parse(&out);
        assert_eq!(v["where"], "sink");
        assert_eq!(v["reason"], "queue_full");
        assert_eq!(v["sink"], "socket:unix:/run/a \"b\".sock");
        assert_eq!((v["count"].as_u64(), v["first_seq"].as_u64(), v["last_seq"].as_u64()), (Some(40), Some(3), Some(42)));
        let mut out = Vec::new();
        write_lost_line(&mut out, &Lost { place: LossPlace::Decode, count: 1, total: 1, since_unix_ns: NOW }, 10, NOW);
        let v = parse(&out);
        assert_eq!((v["where"].as_str(), v["reason"].as_str()), (Some("decode"), Some("undecodable")));
        assert!(v.get("per_cpu").is_none() && v.get("sink").is_none());
    }

    #[test]
    fn stats_line_carries_every_counter() {
        let mut kernel = Counters::default();
        kernel.values[Counter::Emitted as usize] = 122;
        kernel.values[Counter::ExitWithoutEnter as usize] = 3;
        let s = Snapshot {
            uptime_ns: 10_000_000_000,
            records: 11,
            events: vec![(9, 120), (435, 2)],
            kernel,
            decode_errors: 0,
            ringbuf_size: 8 << 20,
            ringbuf_used: 4096,
            sinks: vec![SinkSnapshot { name: "stdout".into(), written: 10, dropped: 1, write_errors: 0, queued_bytes: 5, capacity_bytes: 8 << 20 }],
            cgroups_cached: 3,
        };
        let mut out = Vec::new();
        write_stats_line(&mut out, &s, 11, NOW);
        let v = parse(&out);
        assert_eq!(v["event"], "stats");
        assert_eq!(v["events"], json!({"mmap": 120, "clone3": 2}));
        assert_eq!(
            v["kernel"],
            json!({"emitted": 122, "ringbuf_full": 0, "exit_without_enter": 3, "stash_failed": 0, "filtered": 0, "child_return": 0, "track_full": 0})
        );
        assert_eq!(v["ringbuf"], json!({"size_bytes": 8388608, "used_bytes": 4096}));
        assert_eq!(v["cgroups_cached"], 3);
        assert_eq!(
            v["sinks"]["stdout"],
            json!({"written": 10, "dropped": 1, "write_errors": 0, "queued_bytes": 5, "capacity_bytes": 8388608})
        );
    }

    /// Field names shared with syscall records keep their JSON type.
    #[test]
    fn shared_fields_keep_their_types() {
        let mut out = Vec::new();
        write_lost_line(&mut out, &Lost { place: LossPlace::Decode, count: 1, total: 1, since_unix_ns: NOW }, 1, NOW);
        write_stats_line(&mut out, &Snapshot::default(), 2, NOW);
        for line in out.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let v: Value = serde_json::from_slice(line).unwrap();
            assert!(v["schema"].is_u64() && v["seq"].is_u64() && v["ts"].is_string() && v["event"].is_string());
            for k in ["pid", "tid", "syscall", "ret", "args", "cpu"] {
                assert!(v.get(k).is_none(), "{k} would need the syscall record's type");
            }
        }
    }
}
