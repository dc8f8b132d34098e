//! `--format text`: one line per event in strace's shape, for people.
//!
//! Syscalls read as `strace -f` prints them — `[pid TID] name(args) = ret`,
//! the result at column 40, pointers as `NULL`/hex, flags by name, user
//! structs in braces, strings C-quoted and cut at 32 bytes with `...` —
//! using the same decoded values as the JSON. Signals are
//! `--- SIGCHLD {si_signo=…} ---`, exits `+++ exited with 1 +++`. What
//! strace has no line for (fork, exec, correlated records) keeps the
//! markers: `+++ … +++` for lifecycle, `*** … ***` for tracer's joins.
//! Syscalls without a decoder show the kernel's parameters (unknown to the
//! kernel's metadata: the six registers in hex).

use std::fmt::Write as _;

use crate::model::correlate::{Record, ThreadCreate};
use crate::model::decode::{Event, ExecEvent, ExitEvent, ForkEvent, Header, SigInfo, SignalEvent, SignalPhase, SyscallEvent, UserStr};
use crate::model::names;
use crate::model::syscalls::syscall_name;
use crate::model::wait::WaitStatus;
use crate::render::args::write_args;
use crate::render::text_args::{TextArgs, quote_bytes};
use tracer_common::nr;

/// strace puts ` = result` at this column.
const RESULT_COLUMN: usize = 40;

/// strace's `[pid TID] `; in a container, its short id (docker's 12
/// digits) first: `[0123456789ab pid TID] `.
fn pid_prefix(out: &mut String, h: &Header) {
    match h.ident.cgroup.as_deref().and_then(|c| c.container_id.as_deref()) {
        Some(id) => {
            let _ = write!(out, "[{} pid {}] ", &id[..id.len().min(12)], h.tid);
        }
        None => {
            let _ = write!(out, "[pid {}] ", h.tid);
        }
    }
}

/// Appends the line (with its newline) for `ev`.
pub fn write_event(out: &mut String, ev: &Event) {
    let start = out.len();
    pid_prefix(out, ev.header());
    match ev {
        Event::Syscall(s) => syscall(out, start, s),
        Event::Fork(f) => fork(out, f),
        Event::Exec(e) => exec(out, e),
        Event::Exit(x) => exit(out, x),
        Event::Signal(s) => signal(out, s),
    }
    out.push('\n');
}

/// Appends the line (with its newline) for a correlated record.
pub fn write_record(out: &mut String, r: &Record) {
    match r {
        Record::ThreadCreate(t) => thread_create(out, t),
        Record::Reaped(x) => {
            pid_prefix(out, &x.header);
            let _ = write!(out, "*** reaped {} ({}) {{", x.child_pid, lossy(x.child_comm.as_bytes()));
            let mut parts = Vec::new();
            if let Some(st) = x.exit_status {
                parts.push(status(st));
            }
            if let Some(s) = &x.sigchld {
                parts.push(format!("SIGCHLD {} status {} ({})", names::si_code(names::SIGCHLD, s.code), s.status, names::signal_result(s.result)));
            }
            if let Some(z) = x.zombie_ns {
                parts.push(format!("zombie for {z} ns"));
            }
            if let Some(l) = x.lifetime_ns {
                parts.push(format!("lived {l} ns"));
            }
            out.push_str(&parts.join(", "));
            out.push_str("} ***\n");
        }
        Record::Unreaped(x) => {
            pid_prefix(out, &x.header);
            let _ = write!(out, "*** unreaped {} ({}) {{", x.child_pid, lossy(x.child_comm.as_bytes()));
            match (x.child_exited, x.exit_status, x.zombie_ns) {
                (true, Some(st), Some(z)) => {
                    let _ = write!(out, "{}, zombie for {z} ns", status(st));
                }
                (true, Some(st), None) => out.push_str(&status(st)),
                (true, None, _) => out.push_str("a zombie"),
                (false, ..) => out.push_str("still running"),
            }
            out.push_str("} ***\n");
        }
    }
}

fn thread_create(out: &mut String, t: &ThreadCreate) {
    pid_prefix(out, &t.header);
    let _ = write!(out, "*** thread_create {} {{", t.child_tid);
    let mut p = Vec::new();
    if let Some(b) = t.stack_base {
        p.push(format!("stack_base={b:#x}"));
    }
    if let Some(s) = t.stack_size {
        p.push(format!("stack_size={s:#x}"));
    }
    if let Some(m) = &t.mapping {
        p.push(format!("map_size={}", m.len));
        if let Some(g) = m.guard {
            p.push(format!("guard_size={g}"));
        }
    }
    p.push(format!("tls={:#x}", t.tls));
    let mut flags = String::from("flags=");
    t.write_flags(&mut flags);
    p.push(flags);
    match (t.stack_reused, t.reused_from_tid) {
        (Some(true), Some(from)) => p.push(format!("stack_reused=true (from {from})")),
        (Some(r), _) => p.push(format!("stack_reused={r}")),
        (None, _) => {}
    }
    out.push_str(&p.join(", "));
    out.push_str("} ***\n");
}

/// `+++ exited with 1 +++` / `+++ killed by SIGKILL (core dumped) +++`, as strace.
fn status(st: u32) -> String {
    match WaitStatus::decode(st).as_exit() {
        WaitStatus::Signaled { sig, core } => {
            let core = if core { " (core dumped)" } else { "" };
            format!("killed by {}{core}", names::signal_string(sig.into()))
        }
        WaitStatus::Exited(code) => format!("exited with {code}"),
        WaitStatus::Stopped(_) | WaitStatus::Continued => unreachable!("as_exit"),
    }
}

fn exit(out: &mut String, x: &ExitEvent) {
    let _ = write!(out, "+++ {} +++", status(x.exit_code));
}

fn fork(out: &mut String, f: &ForkEvent) {
    if f.thread {
        let _ = write!(out, "+++ new thread {} +++", f.child_tid);
    } else {
        let _ = write!(out, "+++ new process {} +++", f.child_pid);
    }
}

fn exec(out: &mut String, e: &ExecEvent) {
    out.push_str("+++ exec ");
    match &e.filename {
        Some(f) => quote(out, f),
        None => out.push('?'),
    }
    if let Some(old) = &e.old_comm {
        let _ = write!(out, " ({} -> {})", lossy(old.as_bytes()), lossy(e.header.comm.as_bytes()));
    }
    out.push_str(" +++");
}

fn siginfo(out: &mut String, sig: u32, info: &Option<SigInfo>) {
    let name = names::signal_string(sig.into());
    let _ = write!(out, "{{si_signo={name}");
    if let Some(i) = info {
        let _ = write!(out, ", si_code={}", names::si_code(sig, i.code));
        if i.errno != 0 {
            let _ = write!(out, ", si_errno={}", i.errno);
        }
        let _ = write!(out, ", si_pid={}, si_uid={}", i.pid, i.uid);
        if sig == names::SIGCHLD && i.code > 0 {
            // CLD_EXITED carries an exit code, the others a signal.
            let st = if i.code == names::CLD_EXITED { i.status.to_string() } else { names::signal_string(i.status as u32 as u64) };
            let _ = write!(out, ", si_status={st}, si_utime={}, si_stime={}", i.utime, i.stime);
        }
    }
    out.push('}');
}

fn signal(out: &mut String, s: &SignalEvent) {
    let _ = write!(out, "--- {} ", names::signal_string(s.sig.into()));
    siginfo(out, s.sig, &s.info);
    if s.phase == SignalPhase::Generate {
        let _ = write!(out, " sent to {} ({})", s.target_tid, names::signal_result(s.result));
    }
    out.push_str(" ---");
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn quote(out: &mut String, s: &UserStr) {
    quote_bytes(out, &s.bytes, s.truncated);
}

fn syscall(out: &mut String, line_start: usize, s: &SyscallEvent) {
    let name = syscall_name(s.nr);
    out.push_str(&name);
    out.push('(');
    let mut args = TextArgs::default();
    write_args(s, &mut args, &mut Vec::new());
    args.finish(out);
    out.push(')');
    let col = out.len() - line_start;
    if col < RESULT_COLUMN {
        out.extend(std::iter::repeat_n(' ', RESULT_COLUMN - col));
    } else {
        out.push(' ');
    }
    out.push_str("= ");
    if s.no_return() {
        out.push('?');
        return;
    }
    if (-4095..0).contains(&s.ret) {
        let e = -s.ret;
        match names::errno_from_ret(s.ret) {
            Some(n) => {
                let _ = write!(out, "-1 {n}");
                if e <= names::LAST_LIBC_ERRNO {
                    let msg = unsafe { std::ffi::CStr::from_ptr(libc::strerror(e as i32)) };
                    let _ = write!(out, " ({})", msg.to_string_lossy());
                }
            }
            None => {
                let _ = write!(out, "-1 (errno {e})");
            }
        }
    } else if matches!(s.nr, nr::MMAP | nr::BRK) {
        let _ = write!(out, "{:#x}", s.ret as u64);
    } else {
        let _ = write!(out, "{}", s.ret);
    }
}

#[cfg(test)]
#[path = "text_tests.rs"]
mod tests;
