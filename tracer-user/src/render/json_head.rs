//! What every JSON record starts with: schema, seq, time, cpu, event name,
//! and the task the event belongs to. The shape is written down in
//! `docs/schema.json` (version [`SCHEMA_VERSION`]); every field keeps one
//! JSON type across all events.

use std::sync::OnceLock;

use crate::model::decode::{Comm, Header};
use crate::model::identity::{self, Fields, Ident};
use crate::render::clock::{Clock, Stamp};
use crate::render::json::{JsonWriter, push_u64};

/// Bumped whenever a field changes meaning or type.
pub const SCHEMA_VERSION: u64 = 4;


/// What every event line starts with, and what it remembers of the
/// lines before: the time of the last (its second worked out once), the
/// task of the last.
pub struct Head {
    clock: Clock,
    stamp: Stamp,
    task: TaskMemo,
}

impl Head {
    pub fn new(clock: Clock) -> Self {
        Head { clock, stamp: Stamp::default(), task: TaskMemo::default() }
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Opens an event's object with the fields every event starts with:
    /// `schema`, `seq`, `ts`, `cpu`, `event`.
    pub(crate) fn begin_event(&mut self, w: &mut JsonWriter<'_>, h: &Header, seq: u64, event: &'static str) {
        begin_record_stamped(w, &mut self.stamp, seq, self.clock.unix_ns(h.ts_boot_ns), Some(h.cpu), event);
    }

    /// The task the event belongs to ([`write_task`]).
    pub(crate) fn task(&mut self, w: &mut JsonWriter<'_>, h: &Header) {
        write_task(w, &mut self.task, h);
    }

    /// [`Head::begin_event`], then [`Head::task`]: how a lifecycle line
    /// starts.
    pub(crate) fn begin(&mut self, w: &mut JsonWriter<'_>, h: &Header, seq: u64, event: &'static str) {
        self.begin_event(w, h, seq, event);
        self.task(w, h);
    }
}

/// [`begin_record_stamped`] for a record now and then (tracer's own).
pub(crate) fn begin_record(w: &mut JsonWriter<'_>, seq: u64, unix_ns: i128, cpu: Option<u32>, event: &'static str) {
    begin_record_stamped(w, &mut Stamp::default(), seq, unix_ns, cpu, event);
}

/// Opens any record's object (an event's, or one of tracer's own reports):
/// `schema`, `seq`, `ts`, then `cpu` for events, then `event`, then `host`
/// (unless `--fields` leaves it out or it is empty).
/// Written as one run of text: every line starts so, and the writer's
/// comma bookkeeping for five members cost more than the members.
fn begin_record_stamped(w: &mut JsonWriter<'_>, stamp: &mut Stamp, seq: u64, unix_ns: i128, cpu: Option<u32>, event: &'static str) {
    debug_assert!(!event.bytes().any(|b| b == b'"' || b == b'\\' || !(0x20..0x7f).contains(&b)), "{event:?} needs escaping");
    w.begin_object_with(|out| {
        out.extend_from_slice(SCHEMA_AND_SEQ_KEY);
        push_u64(out, seq);
        // RFC 3339 text is plain ASCII: written in place, no escaping needed.
        out.extend_from_slice(b",\"ts\":\"");
        stamp.push(out, unix_ns);
        out.push(b'"');
        if let Some(cpu) = cpu {
            out.extend_from_slice(b",\"cpu\":");
            push_u64(out, cpu.into());
        }
        out.extend_from_slice(b",\"event\":\"");
        out.extend_from_slice(event.as_bytes());
        out.push(b'"');
        out.extend_from_slice(host_member());
    });
}

/// `,"host":"…"` (escaped), or nothing: made once per run from
/// [`identity::get`].
fn host_member() -> &'static [u8] {
    static HOST: OnceLock<Vec<u8>> = OnceLock::new();
    HOST.get_or_init(|| {
        let id = identity::get();
        let mut out = Vec::new();
        if id.fields.has(Fields::HOST) && !id.host.is_empty() {
            let mut w = JsonWriter::continuing_object(&mut out);
            w.key("host");
            w.str(&id.host);
        }
        out
    })
}

/// `"schema":<SCHEMA_VERSION>,"seq":`
const SCHEMA_AND_SEQ_KEY: &[u8] = b"\"schema\":4,\"seq\":";
const _: () = assert!(SCHEMA_VERSION == 4, "SCHEMA_AND_SEQ_KEY spells the schema version");

/// The task the event belongs to: host ids, namespace ids when the task
/// is not in the initial pid namespace, credentials, comm, cgroup.
fn write_task(w: &mut JsonWriter<'_>, memo: &mut TaskMemo, h: &Header) {
    if memo.last.as_ref().is_none_or(|l| !same_task(l, h)) {
        memo.text.clear();
        render_task(&mut JsonWriter::continuing_object(&mut memo.text), h);
        memo.last = Some(h.clone());
    }
    w.members(&memo.text);
}

/// The same task writes line after line (a thread's calls, an event and
/// the records it completes): the text of [`write_task`] for the last one
/// is kept, keyed by its whole header but for the CPU and time, which it
/// does not show.
#[derive(Default)]
struct TaskMemo {
    last: Option<Header>,
    text: Vec<u8>,
}

/// Same header, but for what [`render_task`] does not write.
fn same_task(a: &Header, b: &Header) -> bool {
    Header { cpu: b.cpu, ts_boot_ns: b.ts_boot_ns, ..a.clone() } == *b
}

fn render_task(w: &mut JsonWriter<'_>, h: &Header) {
    w.key("pid");
    w.u64(h.pid.into());
    w.key("tid");
    w.u64(h.tid.into());
    w.key("ppid");
    w.u64(h.ppid.into());
    if h.ns_level > 0 {
        w.key("ns_level");
        w.u64(h.ns_level.into());
        w.key("ns_pid");
        w.u64(h.ns_pid.into());
        w.key("ns_tid");
        w.u64(h.ns_tid.into());
        w.key("ns_ppid");
        w.u64(h.ns_ppid.into());
    }
    w.key("uid");
    w.u64(h.uid.into());
    w.key("gid");
    w.u64(h.gid.into());
    write_comm(w, &h.comm);
    w.key("cgroup_id");
    w.u64(h.cgroup_id);
    write_ident(w, &h.ident);
}

/// What tracer adds to the task: exec ids, ancestors (as `--fields`
/// allows).
fn write_ident(w: &mut JsonWriter<'_>, id: &Ident) {
    let fields = identity::get().fields;
    if let Some(e) = id.exec_id.filter(|_| fields.has(Fields::EXEC_ID)) {
        w.key("exec_id");
        w.ascii_str_with(|out| e.push(out));
    }
    if let Some(e) = id.parent_exec_id.filter(|_| fields.has(Fields::PARENT_EXEC_ID)) {
        w.key("parent_exec_id");
        w.ascii_str_with(|out| e.push(out));
    }
    if let Some(a) = id.ancestors.as_deref().filter(|_| fields.has(Fields::ANCESTORS)) {
        w.key_array("ancestors");
        for a in a {
            w.begin_object();
            w.key("pid");
            w.u64(a.pid.into());
            if let Some(e) = a.exec_id {
                w.key("exec_id");
                w.ascii_str_with(|out| e.push(out));
            }
            if let Some(c) = &a.comm {
                write_comm(w, c);
            }
            w.end_object();
        }
        w.end_array();
    }
    if let Some(c) = &id.cgroup {
        if fields.has(Fields::CGROUP) {
            w.key("cgroup");
            w.str(&c.path);
        }
        if let Some(v) = c.container_id.as_deref().filter(|_| fields.has(Fields::CONTAINER_ID)) {
            w.key("container_id");
            w.str(v);
        }
        if let Some(v) = c.pod_uid.as_deref().filter(|_| fields.has(Fields::POD_UID)) {
            w.key("pod_uid");
            w.str(v);
        }
        if let Some(v) = c.unit.as_deref().filter(|_| fields.has(Fields::UNIT)) {
            w.key("unit");
            w.str(v);
        }
    }
}

pub(crate) fn write_comm(w: &mut JsonWriter<'_>, comm: &Comm) {
    write_comm_as(w, comm, "comm", "comm_hex");
}

/// A comm under `key`, with `hex_key` holding the exact bytes when they
/// are not UTF-8.
pub(crate) fn write_comm_as(w: &mut JsonWriter<'_>, comm: &Comm, key: &str, hex_key: &str) {
    let bytes = comm.as_bytes();
    match std::str::from_utf8(bytes) {
        Ok(s) => {
            w.key(key);
            w.str(s);
        }
        Err(_) => {
            // Not UTF-8: a readable approximation in `comm`, and the exact
            // bytes in `comm_hex` so nothing is lost.
            w.key(key);
            w.str(&String::from_utf8_lossy(bytes));
            w.key(hex_key);
            w.ascii_str_with(|out| {
                for b in bytes {
                    out.push(b"0123456789abcdef"[(b >> 4) as usize]);
                    out.push(b"0123456789abcdef"[(b & 0xf) as usize]);
                }
            });
        }
    }
}
