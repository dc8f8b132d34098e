//! JSON lines for the lifecycle events (`fork`, `exec`, `exit`, `signal`)
//! and the correlated records (`thread_create`, `reaped`, `unreaped`).
//! Same contract as `format`: every line starts with the common fields
//! ([`Head::begin`]) and every field keeps one JSON type
//! (`docs/schema.json`).

use crate::model::correlate::{Reaped, ThreadCreate, Unreaped};
use crate::model::decode::{ExecEvent, ExitEvent, ForkEvent, SignalEvent, SignalPhase};
use crate::render::json_head::{Head, write_comm_as};
use crate::render::json::JsonWriter;
use crate::model::names::{self, FlagsMemo, MemoSink};
use crate::model::wait::WaitStatus;

pub fn write_fork(head: &mut Head, out: &mut Vec<u8>, e: &ForkEvent, seq: u64) {
    let mut w = JsonWriter::new(out);
    head.begin(&mut w, &e.header, seq, "fork");
    w.key("child_pid");
    w.u64(e.child_pid.into());
    w.key("child_tid");
    w.u64(e.child_tid.into());
    if e.header.ns_level > 0 || e.child_ns_pid != e.child_pid || e.child_ns_tid != e.child_tid {
        w.key("child_ns_pid");
        w.u64(e.child_ns_pid.into());
        w.key("child_ns_tid");
        w.u64(e.child_ns_tid.into());
    }
    w.key("thread");
    w.bool(e.thread);
    w.end_object();
}

pub fn write_exec(head: &mut Head, out: &mut Vec<u8>, e: &ExecEvent, seq: u64) {
    let mut w = JsonWriter::new(out);
    head.begin(&mut w, &e.header, seq, "exec");
    match &e.filename {
        Some(f) => {
            w.key("filename");
            w.bytes_lossy(&f.bytes);
        }
        None => {
            w.key_array("read_failed");
            w.str("filename");
            w.end_array();
        }
    }
    if let Some(old) = &e.old_comm {
        write_comm_as(&mut w, old, "old_comm", "old_comm_hex");
    }
    if e.old_tid != e.header.tid {
        w.key("old_tid");
        w.u64(e.old_tid.into());
    }
    w.end_object();
}

/// How a task ended, from its wait(2)-style status (nothing if unknown).
fn write_status(w: &mut JsonWriter<'_>, status: Option<u32>) {
    let Some(status) = status else { return };
    match WaitStatus::decode(status).as_exit() {
        WaitStatus::Signaled { sig, core } => {
            w.key("signal");
            w.ascii_str_with(|out| names::write_signal(out, sig.into()));
            w.key("core_dumped");
            w.bool(core);
        }
        WaitStatus::Exited(code) => {
            w.key("exit_code");
            w.u64(code.into());
        }
        WaitStatus::Stopped(_) | WaitStatus::Continued => unreachable!("as_exit"),
    }
}

pub fn write_exit(head: &mut Head, out: &mut Vec<u8>, e: &ExitEvent, seq: u64) {
    let mut w = JsonWriter::new(out);
    head.begin(&mut w, &e.header, seq, "exit");
    write_status(&mut w, Some(e.exit_code));
    w.key("group_dead");
    w.bool(e.group_dead);
    if !e.children.is_empty() {
        // The processes it never reaped, as the kernel's children list had them.
        w.key_array("children_left");
        for (pid, _) in &e.children {
            w.u64((*pid).into());
        }
        w.end_array();
    }
    w.end_object();
}

pub fn write_signal(head: &mut Head, memo: &mut FlagsMemo, out: &mut Vec<u8>, e: &SignalEvent, seq: u64) {
    let mut w = JsonWriter::new(out);
    head.begin(&mut w, &e.header, seq, "signal");
    w.key("signal");
    w.ascii_str_with(|out| names::write_signal(out, e.sig.into()));
    w.key("phase");
    w.str(match e.phase {
        SignalPhase::Generate => "generate",
        SignalPhase::Deliver => "deliver",
    });
    w.key("target_pid");
    w.u64(e.target_pid.into());
    w.key("target_tid");
    w.u64(e.target_tid.into());
    write_comm_as(&mut w, &e.target_comm, "target_comm", "target_comm_hex");
    if e.phase == SignalPhase::Generate {
        w.key("result");
        w.ascii_str_with(|out| names::write_signal_result(out, e.result));
        w.key("group");
        w.bool(e.group);
    }
    if let Some(i) = &e.info {
        w.key("si_code");
        w.ascii_str_with(|out| names::write_si_code(out, e.sig, i.code));
        if i.errno != 0 {
            w.key("si_errno");
            w.i64(i.errno.into());
        }
        w.key("si_pid");
        w.u64(i.pid.into());
        w.key("si_uid");
        w.u64(i.uid.into());
        if e.sig == names::SIGCHLD && i.code > 0 {
            w.key("si_status");
            w.i64(i.status.into());
            w.key("si_utime");
            w.u64(i.utime);
            w.key("si_stime");
            w.u64(i.stime);
        }
    }
    if let Some((handler, flags)) = e.handler {
        w.key("sa_handler");
        w.ascii_str_with(|out| names::write_sa_handler(out, handler));
        w.key("sa_flags");
        w.ascii_str_with(|out| names::write_sa_flags(&mut MemoSink { out, memo: Some(memo) }, flags));
    }
    w.end_object();
}

pub fn write_thread_create(head: &mut Head, stack: &mut StackMemo, flags: &mut FlagsMemo, out: &mut Vec<u8>, r: &ThreadCreate, seq: u64) {
    let mut w = JsonWriter::new(out);
    head.begin(&mut w, &r.header, seq, "thread_create");
    w.key("syscall");
    w.name(r.syscall);
    w.key("parent_tid");
    w.u64(r.header.tid.into());
    w.key("child_tid");
    w.u64(r.child_tid.into());
    let key = StackKey::of(r);
    let memo = stack;
    if memo.last.as_ref() != Some(&key) {
        memo.text.clear();
        write_thread_stack(&mut JsonWriter::continuing_object(&mut memo.text), r, flags);
        memo.last = Some(key);
    }
    w.members(&memo.text);
    if let Some(reused) = r.stack_reused {
        w.key("stack_reused");
        w.bool(reused);
    }
    if let Some(t) = r.reused_from_tid {
        w.key("reused_from_tid");
        w.u64(t.into());
    }
    end_with_sources(&mut w, &r.sources);
}

/// `flags` to `tls` of a `thread_create`: how the thread was started and
/// on what stack.
fn write_thread_stack(w: &mut JsonWriter<'_>, r: &ThreadCreate, flags: &mut FlagsMemo) {
    w.key("flags");
    w.ascii_str_with(|out| r.write_flags(&mut MemoSink { out, memo: Some(flags) }));
    if let Some(base) = r.stack_base {
        w.key("stack_base");
        w.hex(base);
    }
    if let Some(size) = r.stack_size {
        w.key("stack_size");
        w.u64(size);
    }
    if let Some(m) = &r.mapping {
        w.key("map_size");
        w.u64(m.len);
        if let Some(g) = m.guard {
            w.key("guard_size");
            w.u64(g);
        }
    }
    w.key("tls");
    w.hex(r.tls);
}

/// All [`write_thread_stack`] reads.
#[derive(PartialEq, Eq)]
struct StackKey {
    /// Flags named as clone3's (else as clone's).
    clone3: bool,
    flags: u64,
    stack_base: Option<u64>,
    stack_size: Option<u64>,
    /// The mapping's length and guard.
    mapping: Option<(u64, Option<u64>)>,
    tls: u64,
}

impl StackKey {
    fn of(r: &ThreadCreate) -> Self {
        StackKey {
            clone3: r.syscall == "clone3",
            flags: r.flags,
            stack_base: r.stack_base,
            stack_size: r.stack_size,
            mapping: r.mapping.as_ref().map(|m| (m.len, m.guard)),
            tls: r.tls,
        }
    }
}

/// The text of the last [`write_thread_stack`], each member after a
/// comma: a process whose threads come from glibc's stack cache starts
/// every one with the same flags on the same stack and TLS, and a repeat
/// is then one copy instead of flags, two hex values and three numbers
/// formatted again.
#[derive(Default)]
pub struct StackMemo {
    last: Option<StackKey>,
    text: Vec<u8>,
}

pub fn write_reaped(head: &mut Head, out: &mut Vec<u8>, r: &Reaped, seq: u64) {
    let mut w = JsonWriter::new(out);
    head.begin(&mut w, &r.header, seq, "reaped");
    w.key("child_pid");
    w.u64(r.child_pid.into());
    write_comm_as(&mut w, &r.child_comm, "child_comm", "child_comm_hex");
    write_status(&mut w, r.exit_status);
    if let Some(s) = &r.sigchld {
        w.key("si_code");
        w.ascii_str_with(|out| names::write_si_code(out, 17, s.code));
        w.key("si_status");
        w.i64(s.status.into());
        w.key("sigchld_result");
        w.ascii_str_with(|out| names::write_signal_result(out, s.result));
    }
    if let Some(ns) = r.zombie_ns {
        w.key("zombie_ns");
        w.u64(ns);
    }
    if let Some(ns) = r.lifetime_ns {
        w.key("lifetime_ns");
        w.u64(ns);
    }
    end_with_sources(&mut w, &r.sources);
}

pub fn write_unreaped(head: &mut Head, out: &mut Vec<u8>, r: &Unreaped, seq: u64) {
    let mut w = JsonWriter::new(out);
    head.begin(&mut w, &r.header, seq, "unreaped");
    w.key("child_pid");
    w.u64(r.child_pid.into());
    write_comm_as(&mut w, &r.child_comm, "child_comm", "child_comm_hex");
    w.key("child_exited");
    w.bool(r.child_exited);
    write_status(&mut w, r.exit_status);
    if let Some(ns) = r.zombie_ns {
        w.key("zombie_ns");
        w.u64(ns);
    }
    end_with_sources(&mut w, &r.sources);
}

/// A correlated record's last field, `sources` (the `seq`s of the events it
/// joins), and the end of its object.
fn end_with_sources(w: &mut JsonWriter<'_>, sources: &[u64]) {
    w.key_array("sources");
    for &s in sources {
        w.u64(s);
    }
    w.end_array();
    w.end_object();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::correlate::{Correlator, Record};
    use crate::model::decode::{CloneArgs, Comm, Event, Extra, Header, SyscallEvent};
    use crate::model::procs::ProcTable;
    use tracer_common::nr;

    fn thread_create() -> ThreadCreate {
        let h = Header { cpu: 0, ts_boot_ns: 5, pid: 100, tid: 100, ppid: 1, uid: 0, gid: 0, cgroup_id: 1, comm: Comm::from_bytes(b"t"), ns_level: 0, ns_pid: 100, ns_tid: 100, ns_ppid: 1, start_ns: 0, parent_start_ns: 0, ident: Default::default() };
        let sc = |nr, args, ret, extra| Event::Syscall(SyscallEvent { header: h.clone(), nr, flags: 0, args, ret, duration_ns: 0, extra });
        let base = 0x7f45_7a48_e000u64;
        let (mut c, mut p) = (Correlator::new(), ProcTable::default());
        c.event(&sc(nr::MMAP, [0, 8392704, 0, 0x20022, u64::MAX, 0], base as i64, Extra::None), 1, &mut p);
        c.event(&sc(nr::MPROTECT, [base + 4096, 8388608, 3, 0, 0, 0], 0, Extra::None), 2, &mut p);
        let ca = CloneArgs { len: 88, flags: 0x3d0f00, stack: base, stack_size: 0x7fff80, tls: base + 0x7fff80 + 0x6c0, ..Default::default() };
        let r = c.event(&sc(nr::CLONE3, [0, 88, 0, 0, 0, 0], 101, Extra::Clone3(ca)), 3, &mut p);
        let [Record::ThreadCreate(t)] = r.as_slice() else { panic!("{r:?}") };
        t.clone()
    }

    #[test]
    fn remembered_stack_text_follows_every_field_it_shows() {
        // One renderer for all the lines, as an output stream has.
        let jr = std::cell::RefCell::new((Head::new(crate::render::clock::Clock::with_offset(0)), StackMemo::default(), FlagsMemo::default()));
        let line = |t: &ThreadCreate| -> serde_json::Value {
            let mut out = Vec::new();
            let (head, stack, flags) = &mut *jr.borrow_mut();
            write_thread_create(head, stack, flags, &mut out, t, 9);
            serde_json::from_slice(&out).unwrap()
        };
        let first = thread_create();
        // Each change right after the unchanged record: what was kept is
        // the unchanged record's text.
        let with = |f: &dyn Fn(&mut ThreadCreate)| {
            line(&first);
            let mut t = first.clone();
            f(&mut t);
            line(&t)
        };
        let v = with(&|_| {});
        assert_eq!((v["stack_base"].as_str(), v["stack_size"].as_u64(), v["map_size"].as_u64(), v["guard_size"].as_u64()), (Some("0x7f457a48e000"), Some(0x7fff80), Some(8392704), Some(4096)));
        assert_eq!((v["child_tid"].as_u64(), v["stack_reused"].as_bool(), v["tls"].as_str()), (Some(101), Some(false), Some("0x7f457ac8e640")));
        // Fields outside the remembered text change with it unchanged.
        let v = with(&|t| {
            t.child_tid = 102;
            t.stack_reused = Some(true);
            t.reused_from_tid = Some(101);
        });
        assert_eq!((v["child_tid"].as_u64(), v["reused_from_tid"].as_u64(), v["stack_base"].as_str()), (Some(102), Some(101), Some("0x7f457a48e000")));
        // Each field inside it shows, one at a time.
        assert_eq!(with(&|t| t.flags = 0x3d0f00 | 0x80)["flags"].as_str().map(|f| f.ends_with("CLONE_NEWTIME")), Some(true));
        assert_eq!(with(&|t| t.syscall = "clone")["flags"], "CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID");
        assert_eq!(with(&|t| t.stack_base = Some(0x1000))["stack_base"], "0x1000");
        assert!(with(&|t| t.stack_base = None).get("stack_base").is_none());
        assert_eq!(with(&|t| t.stack_size = Some(7))["stack_size"], 7);
        assert!(with(&|t| t.stack_size = None).get("stack_size").is_none());
        assert_eq!(with(&|t| t.mapping.as_mut().unwrap().len = 8)["map_size"], 8);
        assert_eq!(with(&|t| t.mapping.as_mut().unwrap().guard = Some(8192))["guard_size"], 8192);
        assert!(with(&|t| t.mapping.as_mut().unwrap().guard = None).get("guard_size").is_none());
        let v = with(&|t| t.mapping = None);
        assert!(v.get("map_size").is_none() && v.get("guard_size").is_none());
        assert_eq!(with(&|t| t.tls = 0xabc)["tls"], "0xabc");
        assert_eq!(with(&|_| {}), line(&first));
    }
}
