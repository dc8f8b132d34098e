//! JSON lines for the lifecycle events (`fork`, `exec`, `exit`, `signal`)
//! and the correlated records (`thread_create`, `reaped`, `unreaped`).
//! Same contract as `format`: every line starts with the common fields
//! ([`begin_event`], [`write_task`]) and every field keeps one JSON type
//! (`docs/schema.json`).

use crate::correlate::{Reaped, ThreadCreate, Unreaped};
use crate::decode::{ExecEvent, ExitEvent, ForkEvent, SignalEvent, SignalPhase};
use crate::format::{Clock, begin_event, write_comm_as, write_task};
use crate::json::JsonWriter;
use crate::names;

pub fn write_fork(out: &mut Vec<u8>, e: &ForkEvent, seq: u64, clock: &Clock) {
    let mut w = JsonWriter::new(out);
    begin_event(&mut w, &e.header, seq, clock, "fork");
    write_task(&mut w, &e.header);
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

pub fn write_exec(out: &mut Vec<u8>, e: &ExecEvent, seq: u64, clock: &Clock) {
    let mut w = JsonWriter::new(out);
    begin_event(&mut w, &e.header, seq, clock, "exec");
    write_task(&mut w, &e.header);
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
    let sig = status & 0x7f;
    if sig == 0 {
        w.key("exit_code");
        w.u64(((status >> 8) & 0xff).into());
    } else {
        w.key("signal");
        w.ascii_str_with(|out| names::write_signal(out, sig.into()));
        w.key("core_dumped");
        w.bool(status & 0x80 != 0);
    }
}

pub fn write_exit(out: &mut Vec<u8>, e: &ExitEvent, seq: u64, clock: &Clock) {
    let mut w = JsonWriter::new(out);
    begin_event(&mut w, &e.header, seq, clock, "exit");
    write_task(&mut w, &e.header);
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

pub fn write_signal(out: &mut Vec<u8>, e: &SignalEvent, seq: u64, clock: &Clock) {
    let mut w = JsonWriter::new(out);
    begin_event(&mut w, &e.header, seq, clock, "signal");
    write_task(&mut w, &e.header);
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
        if e.sig == 17 && i.code > 0 {
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
        w.ascii_str_with(|out| names::write_sa_flags(out, flags));
    }
    w.end_object();
}

pub fn write_thread_create(out: &mut Vec<u8>, r: &ThreadCreate, seq: u64, clock: &Clock) {
    let mut w = JsonWriter::new(out);
    begin_event(&mut w, &r.header, seq, clock, "thread_create");
    write_task(&mut w, &r.header);
    w.key("syscall");
    w.name(r.syscall);
    w.key("parent_tid");
    w.u64(r.header.tid.into());
    w.key("child_tid");
    w.u64(r.child_tid.into());
    w.key("flags");
    w.ascii_str_with(|out| r.write_flags(out));
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

pub fn write_reaped(out: &mut Vec<u8>, r: &Reaped, seq: u64, clock: &Clock) {
    let mut w = JsonWriter::new(out);
    begin_event(&mut w, &r.header, seq, clock, "reaped");
    write_task(&mut w, &r.header);
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

pub fn write_unreaped(out: &mut Vec<u8>, r: &Unreaped, seq: u64, clock: &Clock) {
    let mut w = JsonWriter::new(out);
    begin_event(&mut w, &r.header, seq, clock, "unreaped");
    write_task(&mut w, &r.header);
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
