//! Typed events → JSON lines, the product's contract: the renderer
//! ([`JsonRenderer`], with the memos that keep the hot path fast), the
//! dispatch per event kind, and the syscall line (lifecycle events are in
//! [`super::json_lifecycle`]).

use crate::model::correlate::Record;
use crate::model::decode::{CloneArgs, Event, Extra, SyscallEvent, UserStr};
use crate::model::names::{self, FlagsMemo, MemoSink};
use crate::model::syscalls::table as syscall_table;
use crate::render::args::{ArgOut, truncated, write_args_in, write_args_out};
use crate::render::clock::Clock;
use crate::render::json::{JsonWriter, push_hex, push_i64, push_u64};
use crate::render::json_head::Head;
use crate::render::json_lifecycle::{self as lifecycle, StackMemo};

/// Writes JSON lines, remembering what it wrote last: a run of lines
/// repeats itself (a thread's calls, its task, the second they happen in,
/// the same flags), and a repeat is a copy instead of the formatting. One
/// per output stream: the pipeline's output stage holds one.
pub struct JsonRenderer {
    /// The clock, the last time and the last task written.
    head: Head,
    /// One slot per syscall number (but for collisions); empty until the
    /// first syscall line.
    args: Vec<ArgsMemo>,
    /// The last `thread_create`'s stack members.
    stack: StackMemo,
    /// The last flag values written.
    flags: FlagsMemo,
}

impl JsonRenderer {
    pub fn new(clock: Clock) -> Self {
        JsonRenderer { head: Head::new(clock), args: Vec::new(), stack: StackMemo::default(), flags: FlagsMemo::default() }
    }

    pub fn clock(&self) -> &Clock {
        self.head.clock()
    }

    /// Appends one JSON line (with its trailing newline) for `ev`.
    pub fn write_event(&mut self, out: &mut Vec<u8>, ev: &Event, seq: u64) {
        match ev {
            Event::Syscall(s) => self.write_syscall(out, s, seq),
            Event::Fork(e) => lifecycle::write_fork(&mut self.head, out, e, seq),
            Event::Exec(e) => lifecycle::write_exec(&mut self.head, out, e, seq),
            Event::Exit(e) => lifecycle::write_exit(&mut self.head, out, e, seq),
            Event::Signal(e) => lifecycle::write_signal(&mut self.head, &mut self.flags, out, e, seq),
        }
        out.push(b'\n');
    }

    /// Appends one JSON line (with its trailing newline) for a correlated
    /// record.
    pub fn write_record(&mut self, out: &mut Vec<u8>, r: &Record, seq: u64) {
        match r {
            Record::ThreadCreate(t) => lifecycle::write_thread_create(&mut self.head, &mut self.stack, &mut self.flags, out, t, seq),
            Record::Reaped(x) => lifecycle::write_reaped(&mut self.head, out, x, seq),
            Record::Unreaped(x) => lifecycle::write_unreaped(&mut self.head, out, x, seq),
        }
        out.push(b'\n');
    }

    fn write_syscall(&mut self, out: &mut Vec<u8>, ev: &SyscallEvent, seq: u64) {
        let h = &ev.header;
        let cut = truncated(ev);

        let mut w = JsonWriter::new(out);
        self.head.begin_event(&mut w, h, seq, "syscall");
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
        self.head.task(&mut w, h);
        if self.args.is_empty() {
            self.args.resize_with(ARGS_MEMO_SLOTS, Default::default);
        }
        let memo = &mut self.args[ev.nr as usize % ARGS_MEMO_SLOTS];
        write_syscall_rest(&mut w, ev, &cut, memo, &mut self.flags);
    }
}

/// One JSON line for `ev` (with its newline), from a renderer of its own:
/// for a line now and then (tests, dumps); a stream of them wants one
/// [`JsonRenderer`].
pub fn write_json_line(out: &mut Vec<u8>, ev: &Event, seq: u64, clock: &Clock) {
    JsonRenderer::new(*clock).write_event(out, ev, seq);
}

/// Arguments go straight into the line: `"key":value` in the open object,
/// flags through the renderer's memo.
pub struct JsonArgs<'a, 'w> {
    pub w: &'a mut JsonWriter<'w>,
    pub flags: &'a mut FlagsMemo,
}

impl ArgOut for JsonArgs<'_, '_> {
    #[inline]
    fn int(&mut self, key: &'static str, v: i64) {
        self.w.key(key);
        self.w.i64(v);
    }
    #[inline]
    fn uint(&mut self, key: &'static str, v: u64) {
        self.w.key(key);
        self.w.u64(v);
    }
    #[inline]
    fn ptr(&mut self, key: &'static str, v: u64) {
        self.w.key(key);
        self.w.hex(v);
    }
    #[inline]
    fn bool(&mut self, key: &'static str, v: bool) {
        self.w.key(key);
        self.w.bool(v);
    }
    #[inline]
    fn sym(&mut self, key: &'static str, write: impl FnOnce(&mut MemoSink<'_>)) {
        self.w.key(key);
        let memo = &mut *self.flags;
        self.w.ascii_str_with(|out| write(&mut MemoSink { out, memo: Some(memo) }));
    }
    fn user_str(&mut self, key: Option<&'static str>, s: &UserStr) {
        if let Some(k) = key {
            self.w.key(k);
        }
        self.w.bytes_lossy(&s.bytes);
    }
    #[inline]
    fn begin_obj(&mut self, key: &'static str) {
        self.w.key_object(key);
    }
    #[inline]
    fn end_obj(&mut self) {
        self.w.end_object();
    }
    #[inline]
    fn begin_arr(&mut self, key: &'static str) {
        self.w.key_array(key);
    }
    #[inline]
    fn end_arr(&mut self) {
        self.w.end_array();
    }
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

/// A syscall line from `args` on, with `memo` the slot of its number.
fn write_syscall_rest(w: &mut JsonWriter<'_>, ev: &SyscallEvent, cut: &[String], memo: &mut ArgsMemo, flags: &mut FlagsMemo) {
    w.key_object("args");
    let mut failed = Vec::new();
    if memo.key.as_ref().is_some_and(|k| k.matches(ev)) {
        w.members(&memo.args);
    } else if let Some(key) = ArgsKey::of(ev) {
        memo.args.clear();
        write_args_in(ev, &mut JsonArgs { w: &mut JsonWriter::continuing_object(&mut memo.args), flags: &mut *flags }, &mut failed);
        // What could not be read is not in the key's terms: such text is
        // written, not kept.
        memo.key = failed.is_empty().then_some(key);
        w.members(&memo.args);
    } else {
        write_args_in(ev, &mut JsonArgs { w: &mut *w, flags: &mut *flags }, &mut failed);
    }
    write_args_out(ev, &mut JsonArgs { w: &mut *w, flags });
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
    use crate::model::decode::{Comm, Header};
    use crate::render::clock::push_rfc3339;
    use crate::model::decode::Extra;
    use tracer_common::nr;

    fn mmap_event(comm: &[u8], ret: i64) -> Event {
        Event::Syscall(SyscallEvent {
            header: Header { cpu: 1, ts_boot_ns: 1_000_000_007, pid: 74199, tid: 74199, ppid: 1, uid: 0, gid: 0, cgroup_id: 9007199254740993, comm: Comm::from_bytes(comm), ns_level: 0, ns_pid: 74199, ns_tid: 74199, ns_ppid: 1, start_ns: 0, parent_start_ns: 0, ident: Default::default() },
            nr: nr::MMAP,
            flags: 0,
            args: [0, 8392704, 0, 0x20022, u64::MAX, 0],
            ret,
            duration_ns: 2100,
            extra: Extra::None,
        })
    }

    fn line(ev: &Event) -> serde_json::Value {
        line_in(&renderer(), ev)
    }

    fn renderer() -> std::cell::RefCell<JsonRenderer> {
        std::cell::RefCell::new(JsonRenderer::new(Clock::with_offset(1_764_225_946_000_000_000)))
    }

    /// A line from `jr`, which remembers what it wrote before.
    fn line_in(jr: &std::cell::RefCell<JsonRenderer>, ev: &Event) -> serde_json::Value {
        let mut out = Vec::new();
        jr.borrow_mut().write_event(&mut out, ev, 7);
        assert_eq!(out.last(), Some(&b'\n'));
        assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 1);
        serde_json::from_slice(&out).unwrap()
    }

    #[test]
    fn syscall_line_has_every_documented_field() {
        let v = line(&mmap_event(b"threads", 0x7f89_78e0_0000));
        assert_eq!(v["schema"], 4);
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
        let jr = renderer();
        let with = |f: &dyn Fn(&mut Header)| {
            let mut e = first.clone();
            f(&mut e.header);
            line_in(&jr, &Event::Syscall(e))
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
        let stamp = std::cell::RefCell::new(crate::render::clock::Stamp::default());
        let f = |ns: i128| {
            let mut o = b"x".to_vec();
            stamp.borrow_mut().push(&mut o, ns);
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
        use crate::model::decode::CloneArgs;
        use tracer_common::syscall_flags;
        let Event::Syscall(mut first) = mmap_event(b"threads", 101) else { panic!() };
        first.nr = tracer_common::nr::CLONE3;
        first.args = [0x7ffd_0000, 88, 0, 0, 0, 0];
        let ca = CloneArgs { len: 88, flags: 0x3d0f00, stack: 0x7000, stack_size: 0x7fff80, tls: 0x7100, parent_tid_value: Some(101), ..Default::default() };
        first.extra = Extra::Clone3(ca.clone());
        // Each change right after the unchanged call: what was kept is the
        // unchanged call's text.
        let jr = renderer();
        let with = |f: &dyn Fn(&mut SyscallEvent)| {
            line_in(&jr, &Event::Syscall(first.clone()));
            let mut e = first.clone();
            f(&mut e);
            let v = line_in(&jr, &Event::Syscall(e.clone()));
            // What the memo must agree with: the arguments written afresh.
            let (args, failed) = crate::render::args::decode_args(&e);
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
