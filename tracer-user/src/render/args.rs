//! Per-syscall argument decoding, as strace decodes them: names from the
//! kernel's `SYSCALL_DEFINE` prototypes, flags as symbolic strings,
//! pointers as hex, sizes/fds/pids as integers, and the user memory the
//! kernel side captured (clone3's `clone_args`, wait4's status and rusage,
//! execve's strings, signal sets and actions, resource limits) as nested
//! values. Syscalls without a decoder here show the parameters the kernel
//! declares for them, typed from their C types ([`param_kind`]). Pure; the
//! JSON shape is fixed by `docs/schema.json`.

use crate::model::decode::{CloneArgs, ExecArgs, Extra, KSigaction, Rlimit, SyscallEvent};
use crate::model::names::{self, Sink as _};
use crate::model::wait::WaitStatus;
pub use crate::render::arg_out::{ArgOut, Args, Slot, Value, ValueTree};
use crate::render::params::generic_args;
pub use crate::render::params::{Param, param_kind};
use tracer_common::{nr, syscall_flags};

/// Decoded arguments of `ev` as values, plus the names of arguments whose
/// user memory could not be read.
pub fn decode_args(ev: &SyscallEvent) -> (Args, Vec<&'static str>) {
    let mut tree = ValueTree::default();
    let mut failed = Vec::new();
    write_args(ev, &mut tree, &mut failed);
    (tree.args, failed)
}

/// Decodes the arguments of `ev` into `o`; the names of arguments whose
/// user memory could not be read go to `failed`.
pub fn write_args(ev: &SyscallEvent, o: &mut impl ArgOut, failed: &mut Vec<&'static str>) {
    write_args_in(ev, o, failed);
    write_args_out(ev, o);
}

/// The last of the arguments, when it is what the call wrote back and the
/// rest is not: clone3's `cl_args_out` (the new tid, different every
/// call). Follows [`write_args_in`].
pub fn write_args_out(ev: &SyscallEvent, o: &mut impl ArgOut) {
    if ev.nr == nr::CLONE3
        && let Extra::Clone3(ca) = &ev.extra
        && let Some(t) = ca.parent_tid_value
    {
        // strace's `=> {parent_tid=[N]}`: what the call wrote back.
        o.begin_obj("cl_args_out");
        o.int_at("parent_tid", t as i64);
        o.end_obj();
    }
}

/// strace's layouts: a pointer's pointee in the pointer's place.
const SIGPROCMASK_LAYOUT: [Slot; 4] = [Slot::of(&["how"]), Slot::of(&["set", "nset"]), Slot::of(&["oldset", "oset"]), Slot::of(&["sigsetsize"])];
const SIGACTION_LAYOUT: [Slot; 4] = [Slot::of(&["sig"]), Slot::of(&["action", "act"]), Slot::of(&["old_action", "oact"]), Slot::of(&["sigsetsize"])];
const PRLIMIT_LAYOUT: [Slot; 4] = [Slot::of(&["pid"]), Slot::of(&["resource"]), Slot::of(&["new_limit", "new_rlim"]), Slot::of(&["old_limit", "old_rlim"])];
const WAIT4_LAYOUT: [Slot; 4] = [Slot::of(&["upid"]), Slot::of(&["status", "stat_addr"]), Slot::of(&["options"]), Slot::of(&["rusage", "ru"])];
const CLONE3_LAYOUT: [Slot; 2] = [Slot::of(&["cl_args", "uargs"]).then_out("cl_args_out"), Slot::of(&["size"])];
/// execve/execveat: the counts are shown inside argv (`...`) and envp.
const EXEC_LAYOUT: [Slot; 5] = [Slot::of(&["dfd"]), Slot::of(&["filename"]), Slot::of(&["argv"]), Slot::of(&["envp"]), Slot::of(&["flags"])];

/// A layout whose `out_slot` shows the written-back struct only when the
/// call succeeded (strace shows the pointer of a failed call).
fn unless_failed(layout: &[Slot], ok: bool, out_slot: usize) -> Vec<Slot> {
    let mut l = layout.to_vec();
    if !ok {
        let from = l[out_slot].from;
        l[out_slot].from = &from[1..];
    }
    l
}

/// All of [`write_args`] but [`write_args_out`]: for a syscall with no
/// user memory captured, or clone3's, what the registers, `ev.flags` and
/// the captured `clone_args` (bar `parent_tid_value`) say.
pub fn write_args_in(ev: &SyscallEvent, o: &mut impl ArgOut, failed: &mut Vec<&'static str>) {
    let a = ev.args;
    // What a call wrote back strace shows only when it succeeded.
    let ok = ev.ret >= 0 && !ev.no_return();
    match ev.nr {
        nr::MMAP => {
            o.ptr("addr", a[0]);
            o.int("len", a[1] as i64);
            o.sym("prot", |s| names::write_prot(s, a[2]));
            o.sym("flags", |s| names::write_mmap_flags(s, a[3]));
            o.int("fd", a[4] as i32 as i64);
            o.int_hex("off", a[5] as i64);
        }
        nr::MPROTECT => {
            o.ptr("start", a[0]);
            o.int("len", a[1] as i64);
            o.sym("prot", |s| names::write_prot(s, a[2]));
        }
        // x86-64 argument order: flags, newsp, parent_tidptr, child_tidptr, tls.
        nr::CLONE => {
            o.sym("clone_flags", |s| names::write_clone_flags(s, a[0]));
            o.ptr("newsp", a[1]);
            o.ptr("parent_tidptr", a[2]);
            o.ptr("child_tidptr", a[3]);
            o.ptr("tls", a[4]);
            // strace names clone's arguments, and only those the flags use.
            o.text_layout(|| {
                let f = a[0];
                let mut l = vec![Slot::named("child_stack", &["newsp"]), Slot::named("flags", &["clone_flags"])];
                if f & (names::CLONE_PARENT_SETTID | names::CLONE_PIDFD) != 0 {
                    l.push(Slot::named("parent_tid", &["parent_tidptr"]));
                }
                if f & names::CLONE_SETTLS != 0 {
                    l.push(Slot::named("tls", &["tls"]));
                }
                if f & (names::CLONE_CHILD_SETTID | names::CLONE_CHILD_CLEARTID) != 0 {
                    l.push(Slot::named("child_tidptr", &["child_tidptr"]));
                }
                l
            });
        }
        nr::CLONE3 => {
            o.ptr("uargs", a[0]);
            o.int("size", a[1] as i64);
            if ev.flags & syscall_flags::PARENT_TID_READ_FAILED != 0 {
                failed.push("cl_args_out");
            }
            match &ev.extra {
                // cl_args_out follows: write_args_out.
                Extra::Clone3(ca) => clone_args(o, ca),
                _ if ev.enter_read_failed() => failed.push("cl_args"),
                _ => {}
            }
            o.text_layout(|| CLONE3_LAYOUT.to_vec());
        }
        nr::WAIT4 => {
            o.int("upid", a[0] as i32 as i64);
            o.ptr("stat_addr", a[1]);
            o.sym("options", |s| names::write_wait4_options(s, a[2]));
            o.ptr("ru", a[3]);
            if let Extra::Wait4 { status, rusage } = &ev.extra {
                if let Some(st) = status {
                    o.wait_status("status", WaitStatus::decode(*st as u32));
                }
                if let Some(r) = rusage {
                    o.rusage("rusage", r);
                }
            }
            if ev.flags & syscall_flags::STATUS_READ_FAILED != 0 {
                failed.push("status");
            }
            if ev.flags & syscall_flags::RUSAGE_READ_FAILED != 0 {
                failed.push("rusage");
            }
            o.text_layout(|| WAIT4_LAYOUT.to_vec());
        }
        nr::MUNMAP => {
            o.ptr("addr", a[0]);
            o.int("len", a[1] as i64);
        }
        nr::BRK => o.ptr("brk", a[0]),
        nr::EXIT | nr::EXIT_GROUP => o.int("error_code", a[0] as i32 as i64),
        nr::SET_TID_ADDRESS => o.ptr("tidptr", a[0]),
        nr::SET_ROBUST_LIST => {
            o.ptr("head", a[0]);
            o.int("len", a[1] as i64);
        }
        // rseq(struct rseq *rseq, u32 rseq_len, int flags, u32 sig): strace
        // 6.1 has no decoder for it and shows each in hex.
        nr::RSEQ => {
            o.ptr_hex("rseq", a[0]);
            o.int_hex("rseq_len", a[1] as u32 as i64);
            // `0` or `0x…`, as strace prints rseq's flags.
            o.sym("flags", |s| match a[2] as u32 {
                0 => s.put("0"),
                f => names::write_hex(s, f.into()),
            });
            o.ptr_hex("sig", a[3] as u32 as u64);
        }
        nr::ARCH_PRCTL => {
            o.sym("option", |s| names::write_arch_prctl_option(s, a[0]));
            o.ptr_hex("arg2", a[1]);
            // ARCH_GET_CPUID takes no second argument.
            if a[0] as u32 as u64 == names::ARCH_GET_CPUID {
                o.text_layout(|| vec![Slot::of(&["option"])]);
            }
        }
        nr::RT_SIGPROCMASK => {
            o.sym("how", |s| names::write_sigprocmask_how(s, a[0]));
            o.ptr("nset", a[1]);
            o.ptr("oset", a[2]);
            o.int("sigsetsize", a[3] as i64);
            if let Extra::Sigset { set, oldset } = &ev.extra {
                if let Some(m) = *set {
                    o.sym("set", |s| names::write_sigset(s, m));
                }
                if let Some(m) = *oldset {
                    o.sym("oldset", |s| names::write_sigset(s, m));
                }
            }
            in_out_failed(ev, failed, "set", "oldset");
            o.text_layout(|| unless_failed(&SIGPROCMASK_LAYOUT, ok, 2));
        }
        nr::RT_SIGACTION => {
            o.sym("sig", |s| names::write_signal(s, a[0]));
            o.ptr("act", a[1]);
            o.ptr("oact", a[2]);
            o.int("sigsetsize", a[3] as i64);
            if let Extra::Sigaction { act, oldact } = &ev.extra {
                if let Some(sa) = act {
                    sigaction_value(o, "action", sa);
                }
                if let Some(sa) = oldact {
                    sigaction_value(o, "old_action", sa);
                }
            }
            in_out_failed(ev, failed, "action", "old_action");
            o.text_layout(|| unless_failed(&SIGACTION_LAYOUT, ok, 2));
        }
        nr::PRLIMIT64 => {
            o.int("pid", a[0] as i32 as i64);
            o.sym("resource", |s| names::write_rlimit_resource(s, a[1]));
            o.ptr("new_rlim", a[2]);
            o.ptr("old_rlim", a[3]);
            if let Extra::Rlimit { new, old } = &ev.extra {
                if let Some(r) = new {
                    rlimit_value(o, "new_limit", r);
                }
                if let Some(r) = old {
                    rlimit_value(o, "old_limit", r);
                }
            }
            in_out_failed(ev, failed, "new_limit", "old_limit");
            o.text_layout(|| unless_failed(&PRLIMIT_LAYOUT, ok, 3));
        }
        nr::EXECVE | nr::EXECVEAT => {
            let at = ev.nr == nr::EXECVEAT;
            // execveat(dfd, filename, argv, envp, flags)
            let (filename, argv, envp) = if at { (a[1], a[2], a[3]) } else { (a[0], a[1], a[2]) };
            if at {
                o.dirfd("dfd", a[0] as i32 as i64);
            }
            match &ev.extra {
                Extra::Exec(x) => exec_args(o, x, filename, argv, envp, failed),
                _ => {
                    if ev.enter_read_failed() {
                        failed.push("filename");
                    }
                    o.text_only(|o| {
                        o.ptr("filename", filename);
                        o.ptr("argv", argv);
                    });
                    o.ptr("envp", envp);
                }
            }
            if at {
                o.sym("flags", |s| names::write_execveat_flags(s, a[4]));
            }
            o.text_layout(|| EXEC_LAYOUT.to_vec());
        }
        _ => generic_args(ev, o),
    }
}

/// Strings that were cut short (at strace's 32 bytes for argv, at the
/// capture's size for the filename), as `filename`, `argv[1]`, and `argv`
/// itself when it has more entries than were read.
pub fn truncated(ev: &SyscallEvent) -> Vec<String> {
    let mut out = Vec::new();
    if let Extra::Exec(x) = &ev.extra {
        if x.filename.as_ref().is_some_and(|f| f.truncated) {
            out.push("filename".to_string());
        }
        for (i, s) in x.argv.iter().enumerate() {
            if s.as_ref().is_some_and(|s| s.truncated) {
                out.push(format!("argv[{i}]"));
            }
        }
        if (x.argc as usize) > x.argv.len() {
            out.push("argv".to_string());
        }
    }
    out
}

fn exec_args(o: &mut impl ArgOut, x: &ExecArgs, filename: u64, argv: u64, envp: u64, failed: &mut Vec<&'static str>) {
    match &x.filename {
        Some(f) => o.user_str(Some("filename"), f),
        None => {
            failed.push("filename");
            o.text_only(|o| o.ptr("filename", filename));
        }
    }
    if argv != 0 {
        if x.argv.iter().any(Option::is_none) || x.argv_fault {
            failed.push("argv");
        }
        o.begin_arr("argv");
        for s in &x.argv {
            match s {
                Some(s) => o.user_str(None, s),
                None => o.unread_str(),
            }
        }
        if (x.argc as usize) > x.argv.len() {
            o.elided();
        }
        o.end_arr();
    } else {
        o.text_only(|o| o.ptr("argv", 0));
    }
    o.int("argc", x.argc.into());
    o.envp("envp", envp, "envc", x.envc, x.envc_capped);
    if x.envp_fault {
        failed.push("envp");
    }
}

/// The input/output struct of a capturing call that could not be read.
fn in_out_failed(ev: &SyscallEvent, failed: &mut Vec<&'static str>, input: &'static str, output: &'static str) {
    if ev.enter_read_failed() {
        failed.push(input);
    }
    if ev.exit_read_failed() {
        failed.push(output);
    }
}

/// The kernel's `struct sigaction`, in strace's words, as object `key`.
pub fn sigaction_value(o: &mut impl ArgOut, key: &'static str, s: &KSigaction) {
    o.begin_obj(key);
    o.sym("sa_handler", |b| names::write_sa_handler(b, s.handler));
    o.sym("sa_mask", |b| names::write_sigset(b, s.mask));
    o.sym("sa_flags", |b| names::write_sa_flags(b, s.flags));
    if s.flags & names::SA_RESTORER != 0 {
        o.ptr("sa_restorer", s.restorer);
    }
    o.end_obj();
}

/// `struct rlimit64` in strace's words (`8192*1024`, `RLIM64_INFINITY`),
/// as object `key`: strings, as the values can exceed 2^53.
pub fn rlimit_value(o: &mut impl ArgOut, key: &'static str, r: &Rlimit) {
    o.begin_obj(key);
    o.sym("rlim_cur", |b| names::write_rlim(b, r.cur));
    o.sym("rlim_max", |b| names::write_rlim(b, r.max));
    o.end_obj();
}

fn clone_args(o: &mut impl ArgOut, ca: &CloneArgs) {
    // CLONE_ARGS_SIZE_VER0 (64 bytes) has flags..tls; VER1 (80) adds
    // set_tid/set_tid_size; VER2 (88) adds cgroup. Fields the caller did not
    // pass (a short `size`) are left out rather than shown as zero.
    let n = (ca.len / 8).min(8);
    o.begin_obj("cl_args");
    for i in 0..n {
        match i {
            0 => o.sym("flags", |s| names::write_clone3_flags(s, ca.flags)),
            1 => o.ptr("pidfd", ca.pidfd),
            2 => o.ptr("child_tid", ca.child_tid),
            3 => o.ptr("parent_tid", ca.parent_tid),
            4 => o.sym("exit_signal", |s| names::write_signal(s, ca.exit_signal)),
            5 => o.ptr("stack", ca.stack),
            6 => o.int_hex("stack_size", ca.stack_size as i64),
            _ => o.ptr("tls", ca.tls),
        }
    }
    if ca.len >= 80 {
        o.ptr("set_tid", ca.set_tid);
        o.int("set_tid_size", ca.set_tid_size as i64);
    }
    if ca.len >= 88 {
        o.int("cgroup", ca.cgroup as i64);
    }
    // strace shows the members the flags use.
    o.text_layout(|| {
        let f = ca.flags;
        let mut l = vec![Slot::of(&["flags"])];
        if f & names::CLONE_PIDFD != 0 {
            l.push(Slot::of(&["pidfd"]));
        }
        if f & (names::CLONE_CHILD_SETTID | names::CLONE_CHILD_CLEARTID) != 0 {
            l.push(Slot::of(&["child_tid"]));
        }
        if f & names::CLONE_PARENT_SETTID != 0 {
            l.push(Slot::of(&["parent_tid"]));
        }
        l.extend([Slot::of(&["exit_signal"]), Slot::of(&["stack"]), Slot::of(&["stack_size"])]);
        if f & names::CLONE_SETTLS != 0 {
            l.push(Slot::of(&["tls"]));
        }
        l
    });
    o.end_obj();
}

#[cfg(test)]
#[path = "args_tests.rs"]
mod tests;
