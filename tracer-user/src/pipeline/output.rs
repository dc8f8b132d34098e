//! From a decoded event to output lines: enrich (exec's old comm from the
//! process table), format (JSON or strace-shaped text), correlate (the
//! `thread_create`/`reaped`/`unreaped` records an event completes, each on
//! its own line after it). The drain loop calls [`Output::render`] once per
//! record; everything it needs to remember lives here.

use crate::model::cgroups::{CgroupResolver, SWEEP_EVERY};
use crate::model::correlate::{Correlator, Record, Records};
use crate::model::decode::Event;
use crate::render::clock::Clock;
use crate::render::json_line::JsonRenderer;
use crate::model::procs::ProcTable;
use crate::pipeline::report::{Lost, Snapshot, write_lost_line, write_stats_line};
use crate::pipeline::report_text::{write_lost_text, write_stats_text};
use crate::render::text;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// One JSON object per line (docs/schema.json): the default.
    Json,
    /// strace's line shape, for people.
    Text,
}

pub struct Output {
    lines: Lines,
    procs: ProcTable,
    correlator: Option<Correlator>,
    /// The records the current event completes, reused event to event.
    records: Records,
    /// `--ancestors`: how many ancestors each record names.
    ancestors: usize,
    /// cgroup_id → path, container, pod, unit; None without a cgroup2 mount.
    cgroups: Option<CgroupResolver>,
    last_sweep: std::time::Instant,
}

/// What writing a line needs: apart from the correlator's state, so the
/// records it holds can be written without being moved out first.
struct Lines {
    format: Format,
    /// The JSON renderer and what it remembers of the lines before.
    json: JsonRenderer,
    text: String,
}

/// What the drain learns of each line written: where it ends in the
/// buffer, its `seq`, its event's time, whose it is, and (for a syscall)
/// which — what the sinks route and count by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Written {
    pub end: usize,
    pub seq: u64,
    pub ts_boot_ns: u64,
    pub pid: u32,
    pub tid: u32,
    /// The line's `event`.
    pub event: &'static str,
    /// Syscall lines: the syscall number.
    pub nr: Option<u32>,
}

impl Output {
    /// `procs` is what tracer knows of the machine at start-up
    /// ([`ProcTable::from_proc`]).
    pub fn new(format: Format, clock: Clock, correlate: bool, procs: ProcTable) -> Self {
        Output {
            lines: Lines { format, json: JsonRenderer::new(clock), text: String::new() },
            procs,
            correlator: correlate.then(Correlator::new),
            records: Records::default(),
            ancestors: 0,
            cgroups: None,
            last_sweep: std::time::Instant::now(),
        }
    }

    /// Resolve each record's cgroup with `r` (`cgroup`, `container_id`,
    /// `pod_uid`, `unit`).
    pub fn with_cgroups(mut self, r: Option<CgroupResolver>) -> Self {
        self.cgroups = r;
        self
    }

    /// Housekeeping the drain calls now and then: forget removed cgroups.
    pub fn maintain(&mut self) {
        if self.last_sweep.elapsed() >= SWEEP_EVERY {
            self.last_sweep = std::time::Instant::now();
            if let Some(r) = &mut self.cgroups {
                r.sweep();
            }
        }
    }

    /// cgroups the resolver holds (`stats`' `cgroups_cached`).
    pub fn cgroups_cached(&self) -> u64 {
        self.cgroups.as_ref().map_or(0, |r| r.cached() as u64)
    }

    /// Name the nearest `n` ancestors in every record (`--ancestors`).
    pub fn with_ancestors(mut self, n: usize) -> Self {
        self.ancestors = n;
        self
    }

    /// For a run that does not trace mmap: `thread_create` records then
    /// cannot tell a cached stack from a fresh one, and do not claim either.
    pub fn mmap_not_traced(mut self) -> Self {
        if self.correlator.is_some() {
            self.correlator = Some(Correlator::without_mmap());
        }
        self
    }

    /// Appends a `lost` line in the output's format.
    pub fn write_lost(&self, out: &mut Vec<u8>, l: &Lost, seq: u64, now_unix_ns: i128) {
        match self.lines.format {
            Format::Json => write_lost_line(out, l, seq, now_unix_ns),
            Format::Text => write_lost_text(out, l),
        }
    }

    /// Appends a `stats` line in the output's format.
    pub fn write_stats(&self, out: &mut Vec<u8>, s: &Snapshot, seq: u64, now_unix_ns: i128) {
        match self.lines.format {
            Format::Json => write_stats_line(out, s, seq, now_unix_ns),
            Format::Text => write_stats_text(out, s),
        }
    }

    /// Appends the lines for `ev` to `out`, numbering them from `*seq`
    /// (advanced past them), and tells `written` about each.
    /// `ev` is borrowed, not moved (it is ~300 bytes); exec's `old_comm`
    /// is filled in.
    pub fn render(&mut self, ev: &mut Event, seq: &mut u64, out: &mut Vec<u8>, mut written: impl FnMut(Written)) {
        if let Event::Exec(e) = ev {
            e.old_comm = self.procs.old_comm(e.old_tid);
        }
        let h = ev.header_mut();
        self.procs.identify(h, self.ancestors);
        if let Some(r) = &mut self.cgroups {
            h.ident.cgroup = r.resolve(h.cgroup_id);
        }
        let ev = &*ev;
        let first = *seq;
        self.lines.write(out, seq, Line::Event(ev), &mut written);
        if let Some(c) = &mut self.correlator {
            c.event_into(ev, first, &mut self.procs, &mut self.records);
            for r in &self.records {
                self.lines.write(out, seq, Line::Record(r), &mut written);
            }
        }
        self.procs.observe(ev);
    }
}

impl Lines {
    fn write(&mut self, out: &mut Vec<u8>, next: &mut u64, line: Line<'_>, written: &mut impl FnMut(Written)) {
        let seq = *next;
        *next += 1;
        let (h, event, nr) = match line {
            Line::Event(ev) => {
                let (event, nr) = match ev {
                    Event::Syscall(s) => ("syscall", Some(s.nr)),
                    Event::Fork(_) => ("fork", None),
                    Event::Exec(_) => ("exec", None),
                    Event::Exit(_) => ("exit", None),
                    Event::Signal(_) => ("signal", None),
                };
                (ev.header(), event, nr)
            }
            Line::Record(Record::ThreadCreate(t)) => (&t.header, "thread_create", None),
            Line::Record(Record::Reaped(x)) => (&x.header, "reaped", None),
            Line::Record(Record::Unreaped(x)) => (&x.header, "unreaped", None),
        };
        let (ts_boot_ns, pid, tid) = (h.ts_boot_ns, h.pid, h.tid);
        match self.format {
            Format::Json => match line {
                Line::Event(ev) => self.json.write_event(out, ev, seq),
                Line::Record(r) => self.json.write_record(out, r, seq),
            },
            Format::Text => {
                self.text.clear();
                match line {
                    Line::Event(ev) => text::write_event(&mut self.text, ev),
                    Line::Record(r) => text::write_record(&mut self.text, r),
                }
                out.extend_from_slice(self.text.as_bytes());
            }
        }
        written(Written { end: out.len(), seq, ts_boot_ns, pid, tid, event, nr });
    }
}

enum Line<'a> {
    Event(&'a Event),
    Record(&'a Record),
}
