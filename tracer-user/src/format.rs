//! Typed events → output lines. JSON lines are the product's contract; the
//! shape is written down in `docs/schema.json` (version [`SCHEMA_VERSION`])
//! and every field keeps one JSON type across all events.

use crate::args::{ArgOut, truncated, write_args_in, write_args_out};
use crate::decode::{CloneArgs, Comm, Event, Extra, Header, SyscallEvent};
use crate::json::{JsonWriter, push_hex, push_i64, push_u64};
use crate::{names, syscall_table};

/// Bumped whenever a field changes meaning or type.
pub const SCHEMA_VERSION: u64 = 2;

/// Converts CLOCK_BOOTTIME stamps (what the kernel side records) to wall-clock
/// time, using the offset between the two clocks taken once at start-up.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    realtime_minus_boottime_ns: i128,
}

impl Clock {
    pub fn now() -> Self {
        let read = |id| {
            let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
            unsafe { libc::clock_gettime(id, &mut ts) };
            ts.tv_sec as i128 * 1_000_000_000 + ts.tv_nsec as i128
        };
        let boot = read(libc::CLOCK_BOOTTIME);
        let real = read(libc::CLOCK_REALTIME);
        Clock { realtime_minus_boottime_ns: real - boot }
    }

    pub fn with_offset(realtime_minus_boottime_ns: i128) -> Self {
        Clock { realtime_minus_boottime_ns }
    }

    /// Unix time in nanoseconds for a boot-time stamp.
    pub fn unix_ns(&self, boot_ns: u64) -> i128 {
        boot_ns as i128 + self.realtime_minus_boottime_ns
    }
}

/// Appends RFC 3339 UTC time with nanoseconds: `2026-11-27T06:45:46.123456789Z`.
pub fn push_rfc3339(out: &mut Vec<u8>, unix_ns: i128) {
    // i64 nanoseconds reach 2262: there, stay clear of 128-bit division,
    // which is a libcall.
    let (secs, nanos) = match i64::try_from(unix_ns) {
        Ok(ns) => (ns.div_euclid(1_000_000_000), ns.rem_euclid(1_000_000_000) as u32),
        Err(_) => (unix_ns.div_euclid(1_000_000_000) as i64, unix_ns.rem_euclid(1_000_000_000) as u32),
    };
    // Events come in time order, many to a second: the date and time of
    // day are worked out once per second, only the fraction per event —
    // and not even that for the records an event completes, which carry
    // its very time. (Updated in place: a copy of the text in and out of
    // a `Cell` was split into thirty byte moves each way.)
    LAST_STAMP.with_borrow_mut(|s| {
        if s.secs != Some(secs) {
            if !fill_second(&mut s.text, secs) {
                // A year past 9999: wider than the fixed layout (never, for
                // a real clock).
                push_rfc3339_wide(out, secs, nanos);
                return;
            }
            s.secs = Some(secs);
            s.nanos = None;
        }
        if s.nanos != Some(nanos) {
            fill_digits(&mut s.text[20..29], nanos);
            s.nanos = Some(nanos);
        }
        out.extend_from_slice(&s.text);
    });
}

/// The last time [`push_rfc3339`] wrote.
struct Stamp {
    /// None: nothing written yet.
    secs: Option<i64>,
    /// None: `text` has the second but not yet a fraction.
    nanos: Option<u32>,
    /// `YYYY-MM-DDThh:mm:ss.nnnnnnnnnZ`
    text: [u8; 30],
}

thread_local! {
    static LAST_STAMP: std::cell::RefCell<Stamp> = const { std::cell::RefCell::new(Stamp { secs: None, nanos: None, text: [0; 30] }) };
}

/// Unix second `secs` as `YYYY-MM-DDThh:mm:ss.?????????Z` into `b`; false
/// if the year does not fit in four digits.
fn fill_second(b: &mut [u8; 30], secs: i64) -> bool {
    let (y, m, d, sod) = civil(secs);
    if y > 9999 {
        return false;
    }
    *b = *b"yyyy-mm-ddThh:mm:ss.nnnnnnnnnZ";
    fill_digits(&mut b[0..4], y as u32);
    fill_digits(&mut b[5..7], m);
    fill_digits(&mut b[8..10], d);
    fill_digits(&mut b[11..13], sod / 3600);
    fill_digits(&mut b[14..16], sod / 60 % 60);
    fill_digits(&mut b[17..19], sod % 60);
    true
}

/// Year (at least 0), month, day and second of the day of Unix second
/// `secs` (Howard Hinnant's civil_from_days).
fn civil(secs: i64) -> (u64, u32, u32, u32) {
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400) as u32;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y.max(0) as u64, m, d, sod)
}

/// [`push_rfc3339`] for years of five digits and more.
#[cold]
fn push_rfc3339_wide(out: &mut Vec<u8>, secs: i64, nanos: u32) {
    let (y, m, d, sod) = civil(secs);
    push_u64(out, y);
    let mut b = *b"-mm-ddThh:mm:ss.nnnnnnnnnZ";
    fill_digits(&mut b[1..3], m);
    fill_digits(&mut b[4..6], d);
    fill_digits(&mut b[7..9], sod / 3600);
    fill_digits(&mut b[10..12], sod / 60 % 60);
    fill_digits(&mut b[13..15], sod % 60);
    fill_digits(&mut b[16..25], nanos);
    out.extend_from_slice(&b);
}

/// Writes `v` zero-padded to exactly `dst.len()` decimal digits (the
/// caller makes sure it fits).
#[inline]
fn fill_digits(dst: &mut [u8], mut v: u32) {
    for d in dst.iter_mut().rev() {
        *d = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

/// Name of syscall `nr`, or `syscall_<nr>` for numbers the table lacks.
pub fn syscall_name(nr: u32) -> std::borrow::Cow<'static, str> {
    match syscall_table::name(nr) {
        Some(n) => n.into(),
        None => format!("syscall_{nr}").into(),
    }
}

/// Appends one JSON line (with its trailing newline) for `ev`.
pub fn write_json_line(out: &mut Vec<u8>, ev: &Event, seq: u64, clock: &Clock) {
    match ev {
        Event::Syscall(s) => write_syscall(out, s, seq, clock),
        Event::Fork(e) => crate::format_lifecycle::write_fork(out, e, seq, clock),
        Event::Exec(e) => crate::format_lifecycle::write_exec(out, e, seq, clock),
        Event::Exit(e) => crate::format_lifecycle::write_exit(out, e, seq, clock),
        Event::Signal(e) => crate::format_lifecycle::write_signal(out, e, seq, clock),
    }
    out.push(b'\n');
}

/// Opens an event's object with the fields every event starts with:
/// `schema`, `seq`, `ts`, `cpu`, `event`.
pub(crate) fn begin_event(w: &mut JsonWriter<'_>, h: &Header, seq: u64, clock: &Clock, event: &'static str) {
    begin_record(w, seq, clock.unix_ns(h.ts_boot_ns), Some(h.cpu), event);
}

/// Opens any record's object (an event's, or one of tracer's own reports):
/// `schema`, `seq`, `ts`, then `cpu` for events, then `event`.
/// Written as one run of text: every line starts so, and the writer's
/// comma bookkeeping for five members cost more than the members.
pub(crate) fn begin_record(w: &mut JsonWriter<'_>, seq: u64, unix_ns: i128, cpu: Option<u32>, event: &'static str) {
    debug_assert!(!event.bytes().any(|b| b == b'"' || b == b'\\' || !(0x20..0x7f).contains(&b)), "{event:?} needs escaping");
    w.begin_object_with(|out| {
        out.extend_from_slice(SCHEMA_AND_SEQ_KEY);
        push_u64(out, seq);
        // RFC 3339 text is plain ASCII: written in place, no escaping needed.
        out.extend_from_slice(b",\"ts\":\"");
        push_rfc3339(out, unix_ns);
        out.push(b'"');
        if let Some(cpu) = cpu {
            out.extend_from_slice(b",\"cpu\":");
            push_u64(out, cpu.into());
        }
        out.extend_from_slice(b",\"event\":\"");
        out.extend_from_slice(event.as_bytes());
        out.push(b'"');
    });
}

/// `"schema":<SCHEMA_VERSION>,"seq":`
const SCHEMA_AND_SEQ_KEY: &[u8] = b"\"schema\":2,\"seq\":";
const _: () = assert!(SCHEMA_VERSION == 2, "SCHEMA_AND_SEQ_KEY spells the schema version");

/// The task the event belongs to: host ids, namespace ids when the task
/// is not in the initial pid namespace, credentials, comm, cgroup.
///
/// The same task writes line after line (a thread's calls, an event and
/// the records it completes): the text for the last one is kept, keyed by
/// its whole header but for the CPU and time, which it does not show.
pub(crate) fn write_task(w: &mut JsonWriter<'_>, h: &Header) {
    LAST_TASK.with_borrow_mut(|(last, text)| {
        if last.as_ref().is_none_or(|l| !same_task(l, h)) {
            text.clear();
            render_task(&mut JsonWriter::continuing_object(text), h);
            *last = Some(h.clone());
        }
        w.members(text);
    });
}

thread_local! {
    static LAST_TASK: std::cell::RefCell<(Option<Header>, Vec<u8>)> = const { std::cell::RefCell::new((None, Vec::new())) };
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

/// Arguments go straight into the line: `"key":value` in the open object.
impl ArgOut for JsonWriter<'_> {
    #[inline]
    fn int(&mut self, key: &'static str, v: i64) {
        self.key(key);
        self.i64(v);
    }
    #[inline]
    fn ptr(&mut self, key: &'static str, v: u64) {
        self.key(key);
        self.hex(v);
    }
    #[inline]
    fn bool(&mut self, key: &'static str, v: bool) {
        self.key(key);
        JsonWriter::bool(self, v);
    }
    #[inline]
    fn sym(&mut self, key: &'static str, write: impl FnOnce(&mut Vec<u8>)) {
        self.key(key);
        self.ascii_str_with(write);
    }
    fn user_str(&mut self, key: Option<&'static str>, bytes: &[u8]) {
        if let Some(k) = key {
            self.key(k);
        }
        self.bytes_lossy(bytes);
    }
    #[inline]
    fn begin_obj(&mut self, key: &'static str) {
        self.key_object(key);
    }
    #[inline]
    fn end_obj(&mut self) {
        self.end_object();
    }
    #[inline]
    fn begin_arr(&mut self, key: &'static str) {
        self.key_array(key);
    }
    #[inline]
    fn end_arr(&mut self) {
        self.end_array();
    }
}

fn write_syscall(out: &mut Vec<u8>, ev: &SyscallEvent, seq: u64, clock: &Clock) {
    let h = &ev.header;
    let cut = truncated(ev);

    let mut w = JsonWriter::new(out);
    begin_event(&mut w, h, seq, clock, "syscall");
    w.key("syscall");
    match syscall_table::name(ev.nr) {
        Some(name) => w.name(name),
        // Same text as syscall_name(), without allocating it.
        None => w.ascii_str_with(|out| {
            out.extend_from_slice(b"syscall_");
            push_u64(out, ev.nr.into());
        }),
    }
    w.key("nr");
    w.u64(ev.nr.into());
    write_task(&mut w, h);
    ARGS_MEMO.with_borrow_mut(|slots| {
        if slots.is_empty() {
            slots.resize_with(ARGS_MEMO_SLOTS, Default::default);
        }
        let memo = &mut slots[ev.nr as usize % ARGS_MEMO_SLOTS];
        write_syscall_rest(&mut w, ev, &cut, memo);
    });
}

/// The text of the last `args` and `raw` written for a syscall number (one
/// slot per number, but for collisions): a thread's calls repeat
/// themselves — every pthread_create passes the same `clone_args`, every
/// cached stack the same registers — and a repeat is then two copies
/// instead of a dozen numbers, flags and hex values formatted one by one.
#[derive(Default)]
struct ArgsMemo {
    /// What `args` was rendered from; None: nothing to reuse.
    key: Option<ArgsKey>,
    /// The members [`write_args_in`] wrote for `key`, each after a comma.
    args: Vec<u8>,
    /// The registers `raw` was rendered from.
    raw_of: Option<[u64; 6]>,
    /// `,"raw":[…]`.
    raw: Vec<u8>,
}

/// All [`write_args_in`] reads of a call whose captured user memory (if
/// any) is clone3's `clone_args`: the calls whose `args` text can be kept.
struct ArgsKey {
    nr: u32,
    flags: u32,
    args: [u64; 6],
    /// [`clone_words`], for clone3.
    clone3: Option<[u64; 12]>,
}

impl ArgsKey {
    fn of(ev: &SyscallEvent) -> Option<Self> {
        let clone3 = match &ev.extra {
            Extra::None => None,
            Extra::Clone3(ca) => Some(clone_words(ca)),
            _ => return None,
        };
        Some(ArgsKey { nr: ev.nr, flags: ev.flags, args: ev.args, clone3 })
    }

    /// `Some(self) == ArgsKey::of(ev)`, word by word: no key built, and no
    /// call to memcmp for a few dozen bytes.
    #[inline]
    fn matches(&self, ev: &SyscallEvent) -> bool {
        if self.nr != ev.nr || self.flags != ev.flags || words_differ(&self.args, &ev.args) {
            return false;
        }
        match (&self.clone3, &ev.extra) {
            (None, Extra::None) => true,
            (Some(words), Extra::Clone3(ca)) => !words_differ(words, &clone_words(ca)),
            _ => false,
        }
    }
}

/// Do two runs of words of the same length differ? All compared, no early
/// exit: for a few words, cheaper than the call to memcmp `==` makes.
#[inline]
fn words_differ(a: &[u64], b: &[u64]) -> bool {
    a.len() != b.len() || a.iter().zip(b).fold(0, |d, (x, y)| d | (x ^ y)) != 0
}

/// What `clone_args` shows in `args`: all of it but `parent_tid_value`
/// (that is [`write_args_out`]'s).
#[inline]
fn clone_words(ca: &CloneArgs) -> [u64; 12] {
    // No `..`: a field added to CloneArgs must be placed here or below.
    let CloneArgs { len, flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup, parent_tid_value: _ } = *ca;
    [len.into(), flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup]
}

const ARGS_MEMO_SLOTS: usize = 64;

thread_local! {
    static ARGS_MEMO: std::cell::RefCell<Vec<ArgsMemo>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A syscall line from `args` on, with `memo` the slot of its number.
fn write_syscall_rest(w: &mut JsonWriter<'_>, ev: &SyscallEvent, cut: &[String], memo: &mut ArgsMemo) {
    w.key_object("args");
    let mut failed = Vec::new();
    if memo.key.as_ref().is_some_and(|k| k.matches(ev)) {
        w.members(&memo.args);
    } else if let Some(key) = ArgsKey::of(ev) {
        memo.args.clear();
        write_args_in(ev, &mut JsonWriter::continuing_object(&mut memo.args), &mut failed);
        // What could not be read is not in the key's terms: such text is
        // written, not kept.
        memo.key = failed.is_empty().then_some(key);
        w.members(&memo.args);
    } else {
        write_args_in(ev, w, &mut failed);
    }
    write_args_out(ev, w);
    w.end_object();
    if !failed.is_empty() {
        w.key_array("read_failed");
        for f in &failed {
            w.str(f);
        }
        w.end_array();
    }
    if !cut.is_empty() {
        w.key_array("truncated");
        for f in cut {
            w.str(f);
        }
        w.end_array();
    }
    // exit/exit_group never return: no ret, no errno, no duration.
    if !ev.no_return() {
        w.key("ret");
        w.i64(ev.ret);
        if let Some(e) = names::errno_from_ret(ev.ret) {
            w.key("errno");
            w.name(e);
        } else if (-4095..0).contains(&ev.ret) {
            w.key("errno");
            w.ascii_str_with(|out| {
                out.push(b'E');
                push_i64(out, -ev.ret);
            });
        }
        w.key("duration_ns");
        w.u64(ev.duration_ns);
    }
    if memo.raw_of.is_none_or(|r| words_differ(&r, &ev.args)) {
        memo.raw.clear();
        let mut r = JsonWriter::continuing_object(&mut memo.raw);
        r.key_array("raw");
        for a in ev.args {
            r.hex(a);
        }
        r.end_array();
        memo.raw_of = Some(ev.args);
    }
    w.members(&memo.raw);
    w.end_object();
}

/// Hex text of `v` as `0x…` (shared with the text format).
pub fn hex_string(v: u64) -> String {
    let mut b = Vec::with_capacity(18);
    b.extend_from_slice(b"0x");
    push_hex(&mut b, v);
    String::from_utf8(b).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::Extra;
    use tracer_common::nr;

    fn mmap_event(comm: &[u8], ret: i64) -> Event {
        Event::Syscall(SyscallEvent {
            header: Header { cpu: 1, ts_boot_ns: 1_000_000_007, pid: 74199, tid: 74199, ppid: 1, uid: 0, gid: 0, cgroup_id: 9007199254740993, comm: Comm::from_bytes(comm), ns_level: 0, ns_pid: 74199, ns_tid: 74199, ns_ppid: 1 },
            nr: nr::MMAP,
            flags: 0,
            args: [0, 8392704, 0, 0x20022, u64::MAX, 0],
            ret,
            duration_ns: 2100,
            extra: Extra::None,
        })
    }

    fn line(ev: &Event) -> serde_json::Value {
        let mut out = Vec::new();
        write_json_line(&mut out, ev, 7, &Clock::with_offset(1_764_225_946_000_000_000));
        assert_eq!(out.last(), Some(&b'\n'));
        assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 1);
        serde_json::from_slice(&out).unwrap()
    }

    #[test]
    fn syscall_line_has_every_documented_field() {
        let v = line(&mmap_event(b"threads", 0x7f89_78e0_0000));
        assert_eq!(v["schema"], 2);
        assert_eq!(v["seq"], 7);
        assert_eq!(v["ts"], "2025-11-27T06:45:47.000000007Z");
        assert_eq!(v["event"], "syscall");
        assert_eq!(v["syscall"], "mmap");
        assert_eq!(v["pid"], 74199);
        assert_eq!(v["tid"], 74199);
        assert_eq!(v["comm"], "threads");
        assert_eq!(v["args"]["flags"], "MAP_PRIVATE|MAP_ANONYMOUS|MAP_STACK");
        assert_eq!(v["args"]["addr"], "0x0");
        assert_eq!(v["ret"], 0x7f89_78e0_0000i64);
        assert!(v.get("errno").is_none());
        assert_eq!(v["duration_ns"], 2100);
        assert_eq!(v["raw"][3], "0x20022");
        assert_eq!(v["raw"][4], "0xffffffffffffffff");
        // cgroup ids are u64: written as exact integers, never via a float.
        assert_eq!(v["cgroup_id"].as_u64(), Some(9007199254740993));
    }

    #[test]
    fn failed_call_carries_errno_name() {
        let v = line(&mmap_event(b"x", -12));
        assert_eq!(v["ret"], -12);
        assert_eq!(v["errno"], "ENOMEM");
    }

    #[test]
    fn non_utf8_comm_is_kept_exactly_in_comm_hex() {
        let v = line(&mmap_event(b"a\xff\"\n", 0));
        assert_eq!(v["comm"], "a\u{fffd}\"\n");
        assert_eq!(v["comm_hex"], "61ff220a");
        let v = line(&mmap_event(b"q\x1b\\", 0));
        assert_eq!(v["comm"], "q\u{1b}\\");
        assert!(v.get("comm_hex").is_none());
    }

    #[test]
    fn exit_group_has_no_return_value_and_namespaced_tasks_show_their_ids() {
        let Event::Syscall(mut e) = mmap_event(b"threads", 0) else { panic!() };
        e.nr = tracer_common::nr::EXIT_GROUP;
        e.flags = tracer_common::syscall_flags::NO_RETURN;
        e.header.ns_level = 1;
        e.header.ns_pid = 1;
        e.header.ns_tid = 1;
        e.header.ns_ppid = 0;
        let v = line(&Event::Syscall(e));
        assert_eq!(v["syscall"], "exit_group");
        assert_eq!(v["args"]["error_code"], 0);
        assert!(v.get("ret").is_none() && v.get("duration_ns").is_none() && v.get("errno").is_none());
        assert_eq!((v["pid"].as_u64(), v["ns_pid"].as_u64(), v["ns_ppid"].as_u64(), v["ns_level"].as_u64()), (Some(74199), Some(1), Some(0), Some(1)));
        // In the initial namespace the ns ids are not repeated.
        assert!(line(&mmap_event(b"x", 0)).get("ns_pid").is_none());
    }

    #[test]
    fn rfc3339_formatting() {
        let f = |ns: i128| {
            let mut o = Vec::new();
            push_rfc3339(&mut o, ns);
            String::from_utf8(o).unwrap()
        };
        assert_eq!(f(0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(f(951_782_400_000_000_001), "2000-02-29T00:00:00.000000001Z");
        assert_eq!(f(1_798_761_599_999_999_999), "2026-12-31T23:59:59.999999999Z");
        // Before 1970, and past i64 nanoseconds (2262) into five-digit years.
        assert_eq!(f(-1), "1969-12-31T23:59:59.999999999Z");
        assert_eq!(f(9_223_372_036_854_775_807), "2262-04-11T23:47:16.854775807Z");
        assert_eq!(f(253_402_300_800_000_000_000), "10000-01-01T00:00:00.000000000Z");
    }

    #[test]
    fn remembered_task_text_follows_every_header_field_but_cpu_and_time() {
        let Event::Syscall(first) = mmap_event(b"threads", 0) else { panic!() };
        let with = |f: &dyn Fn(&mut Header)| {
            let mut e = first.clone();
            f(&mut e.header);
            line(&Event::Syscall(e))
        };
        let v = with(&|_| {});
        assert_eq!((v["pid"].as_u64(), v["cpu"].as_u64(), v["comm"].as_str()), (Some(74199), Some(1), Some("threads")));
        // cpu and time are not task fields: written fresh, task text kept.
        let v = with(&|h| {
            h.cpu = 0;
            h.ts_boot_ns += 5;
        });
        assert_eq!((v["cpu"].as_u64(), v["ts"].as_str(), v["tid"].as_u64()), (Some(0), Some("2025-11-27T06:45:47.000000012Z"), Some(74199)));
        // Any task field changed shows, one at a time.
        assert_eq!(with(&|h| h.tid = 74200)["tid"], 74200);
        assert_eq!(with(&|h| h.ppid = 2)["ppid"], 2);
        assert_eq!(with(&|h| h.uid = 1000)["uid"], 1000);
        assert_eq!(with(&|h| h.gid = 1000)["gid"], 1000);
        assert_eq!(with(&|h| h.comm = Comm::from_bytes(b"other"))["comm"], "other");
        assert_eq!(with(&|h| h.cgroup_id = 5)["cgroup_id"], 5);
        assert_eq!(with(&|h| h.ns_level = 1)["ns_pid"], 74199);
        assert_eq!(with(&|h| { h.ns_level = 1; h.ns_pid = 3 })["ns_pid"], 3);
        let v = with(&|_| {});
        assert_eq!((v["tid"].as_u64(), v["uid"].as_u64(), v["comm"].as_str()), (Some(74199), Some(0), Some("threads")));
        assert!(v.get("ns_pid").is_none());
    }

    #[test]
    fn rfc3339_remembered_second_follows_the_clock_both_ways() {
        let f = |ns: i128| {
            let mut o = b"x".to_vec();
            push_rfc3339(&mut o, ns);
            String::from_utf8(o).unwrap()
        };
        let t = 1_798_761_599_000_000_000; // 2026-12-31T23:59:59Z
        assert_eq!(f(t + 5), "x2026-12-31T23:59:59.000000005Z");
        assert_eq!(f(t + 999_999_999), "x2026-12-31T23:59:59.999999999Z");
        assert_eq!(f(t + 1_000_000_000), "x2027-01-01T00:00:00.000000000Z");
        // Back in time (events of another CPU can be older), then a year
        // too wide for the remembered layout, then back again.
        assert_eq!(f(t - 1), "x2026-12-31T23:59:58.999999999Z");
        assert_eq!(f(253_402_300_800_000_000_001), "x10000-01-01T00:00:00.000000001Z");
        assert_eq!(f(t + 7), "x2026-12-31T23:59:59.000000007Z");
        assert_eq!(f(-1), "x1969-12-31T23:59:59.999999999Z");
    }

    #[test]
    fn remembered_args_text_follows_every_input_and_never_the_written_back_tid() {
        use crate::decode::CloneArgs;
        use tracer_common::syscall_flags;
        let Event::Syscall(mut first) = mmap_event(b"threads", 101) else { panic!() };
        first.nr = tracer_common::nr::CLONE3;
        first.args = [0x7ffd_0000, 88, 0, 0, 0, 0];
        let ca = CloneArgs { len: 88, flags: 0x3d0f00, stack: 0x7000, stack_size: 0x7fff80, tls: 0x7100, parent_tid_value: Some(101), ..Default::default() };
        first.extra = Extra::Clone3(ca.clone());
        // Each change right after the unchanged call: what was kept is the
        // unchanged call's text.
        let with = |f: &dyn Fn(&mut SyscallEvent)| {
            line(&Event::Syscall(first.clone()));
            let mut e = first.clone();
            f(&mut e);
            let v = line(&Event::Syscall(e.clone()));
            // What the memo must agree with: the arguments written afresh.
            let (args, failed) = crate::args::decode_args(&e);
            assert_eq!(v["args"].as_object().unwrap().len(), args.len(), "{v}");
            assert_eq!(v.get("read_failed").is_some(), !failed.is_empty(), "{v}");
            v
        };
        let v = with(&|_| {});
        assert_eq!((v["args"]["cl_args"]["stack"].as_str(), v["args"]["cl_args_out"]["parent_tid"].as_u64()), (Some("0x7000"), Some(101)));
        // The same arguments, another new thread: only its tid differs.
        let v = with(&|e| e.extra = Extra::Clone3(CloneArgs { parent_tid_value: Some(102), ..ca.clone() }));
        assert_eq!((v["args"]["cl_args"]["stack"].as_str(), v["args"]["cl_args_out"]["parent_tid"].as_u64()), (Some("0x7000"), Some(102)));
        assert!(with(&|e| e.extra = Extra::Clone3(CloneArgs { parent_tid_value: None, ..ca.clone() }))["args"].get("cl_args_out").is_none());
        // Any input changed shows, one at a time.
        assert_eq!(with(&|e| e.extra = Extra::Clone3(CloneArgs { stack: 0x8000, ..ca.clone() }))["args"]["cl_args"]["stack"], "0x8000");
        assert_eq!(with(&|e| e.args[0] = 0x1234)["args"]["uargs"], "0x1234");
        assert_eq!(with(&|e| e.args[0] = 0x1234)["raw"][0], "0x1234");
        assert_eq!(with(&|e| e.args[1] = 64)["args"]["size"], 64);
        assert!(with(&|e| e.extra = Extra::Clone3(CloneArgs { len: 64, ..ca.clone() }))["args"]["cl_args"].get("set_tid").is_none());
        // Unreadable memory: named in read_failed, every time.
        for _ in 0..2 {
            let v = with(&|e| e.flags = syscall_flags::PARENT_TID_READ_FAILED);
            assert_eq!(v["read_failed"][0], "cl_args_out");
            let v = with(&|e| {
                e.flags = syscall_flags::ENTER_READ_FAILED;
                e.extra = Extra::None;
            });
            assert_eq!(v["read_failed"][0], "cl_args");
            assert!(v["args"].get("cl_args").is_none());
        }
        // Another call with the same number of slots apart, then back.
        assert_eq!(with(&|e| e.nr = tracer_common::nr::CLONE3 + 64)["syscall"], "syscall_499");
        let v = with(&|_| {});
        assert_eq!((v["args"]["uargs"].as_str(), v["args"]["cl_args"]["flags"].as_str().map(|f| f.starts_with("CLONE_VM|"))), (Some("0x7ffd0000"), Some(true)));
        assert!(v.get("read_failed").is_none());
    }

    #[test]
    fn numbers_errno_and_unknown_syscalls_without_format() {
        let mut ev = mmap_event(b"x", -4000);
        let v = line(&ev);
        assert_eq!(v["errno"], "E4000");
        let Event::Syscall(s) = &mut ev else { panic!() };
        s.nr = 999;
        s.ret = i64::MIN;
        s.duration_ns = u64::MAX;
        let v = line(&ev);
        assert_eq!(v["syscall"], "syscall_999");
        assert_eq!(v["ret"].as_i64(), Some(i64::MIN));
        assert_eq!(v["duration_ns"].as_u64(), Some(u64::MAX));
        assert!(v.get("errno").is_none());
    }
}
