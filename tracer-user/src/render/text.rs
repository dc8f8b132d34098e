//! `--format text`: one line per event in strace's shape, for people.
//!
//! Syscalls read as `strace -f` prints them — `[pid TID] name(args) = ret`,
//! the result at column 40, pointers as `NULL`/hex, flags by name, user
//! structs in braces, strings C-quoted and cut at 32 bytes with `...` —
//! using the same decoded values as the JSON. Signals are
//! `--- SIGCHLD {si_signo=…} ---`, exits `+++ exited with 1 +++`. What
//! strace has no line for (fork, exec, correlated records) keeps the
//! markers: `+++ … +++` for lifecycle, `*** … ***` for tracer's joins.
//! Syscalls without a decoder show their six registers in hex.

use std::fmt::Write as _;

use crate::model::correlate::{Record, ThreadCreate};
use crate::model::decode::{
    CloneArgs, Event, Header, ExecArgs, ExecEvent, ExitEvent, Extra, ForkEvent, KSigaction, Rlimit, Rusage, SigInfo,
    SignalEvent, SignalPhase, SyscallEvent, UserStr,
};
use crate::model::syscalls::syscall_name;
use crate::model::names;
use crate::model::wait::WaitStatus;
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
                parts.push(format!("SIGCHLD {} status {} ({})", names::si_code(17, s.code), s.status, names::signal_result(s.result)));
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
        if sig == 17 && i.code > 0 {
            // CLD_EXITED carries an exit code, the others a signal.
            let st = if i.code == 1 { i.status.to_string() } else { names::signal_string(i.status as u32 as u64) };
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

/// A C string literal as strace prints one (`string_quote`): `\"`, `\\`,
/// `\n`, `\t`, `\r`, `\f`, `\v`, printable ASCII as is, anything else in
/// octal, three digits only when an octal digit follows.
pub fn quote_bytes(out: &mut String, b: &[u8], cut: bool) {
    out.push('"');
    for (i, &c) in b.iter().enumerate() {
        match c {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            b'\r' => out.push_str("\\r"),
            0x0c => out.push_str("\\f"),
            0x0b => out.push_str("\\v"),
            0x20..=0x7e => out.push(c as char),
            _ => {
                out.push('\\');
                let next_is_digit = b.get(i + 1).is_some_and(|n| (b'0'..=b'7').contains(n));
                if next_is_digit || c >> 6 != 0 {
                    out.push((b'0' + (c >> 6)) as char);
                }
                if next_is_digit || c >> 3 != 0 {
                    out.push((b'0' + ((c >> 3) & 7)) as char);
                }
                out.push((b'0' + (c & 7)) as char);
            }
        }
    }
    out.push('"');
    if cut {
        out.push_str("...");
    }
}

fn quote(out: &mut String, s: &UserStr) {
    quote_bytes(out, &s.bytes, s.truncated);
}

fn ptr(v: u64) -> String {
    if v == 0 { "NULL".into() } else { format!("{v:#x}") }
}

fn syscall(out: &mut String, line_start: usize, s: &SyscallEvent) {
    let name = syscall_name(s.nr);
    out.push_str(&name);
    out.push('(');
    out.push_str(&args(s));
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
                if e < 134 {
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

fn flag_set(flags: u64, bit: u64) -> bool {
    flags & bit != 0
}

/// The argument list, strace style.
fn args(s: &SyscallEvent) -> String {
    let a = s.args;
    let ok = s.ret >= 0 && !s.no_return();
    match s.nr {
        nr::MMAP => {
            let off = if a[5] == 0 { "0".to_string() } else { format!("{:#x}", a[5]) };
            format!("{}, {}, {}, {}, {}, {off}", ptr(a[0]), a[1], names::prot(a[2]), names::mmap_flags(a[3]), a[4] as i32)
        }
        nr::MPROTECT => format!("{:#x}, {}, {}", a[0], a[1], names::prot(a[2])),
        nr::MUNMAP => format!("{:#x}, {}", a[0], a[1]),
        nr::BRK => ptr(a[0]),
        nr::EXIT | nr::EXIT_GROUP => (a[0] as i32).to_string(),
        nr::SET_TID_ADDRESS => format!("{:#x}", a[0]),
        nr::SET_ROBUST_LIST => format!("{:#x}, {}", a[0], a[1]),
        nr::RSEQ => {
            let h = |v: u64| if v == 0 { "0".to_string() } else { format!("{v:#x}") };
            format!("{}, {}, {}, {}", h(a[0]), h(a[1] as u32 as u64), h(a[2] as u32 as u64), h(a[3] as u32 as u64))
        }
        nr::ARCH_PRCTL if a[0] as u32 as u64 == names::ARCH_GET_CPUID => names::arch_prctl_option(a[0]),
        nr::ARCH_PRCTL => format!("{}, {:#x}", names::arch_prctl_option(a[0]), a[1]),
        nr::CLONE => {
            let f = a[0];
            let mut t = format!("child_stack={}, flags={}", ptr(a[1]), names::clone_flags(f));
            if flag_set(f, 0x0010_0000) || flag_set(f, 0x1000) {
                let _ = write!(t, ", parent_tid={}", ptr(a[2]));
            }
            if flag_set(f, 0x0008_0000) {
                let _ = write!(t, ", tls={}", ptr(a[4]));
            }
            if flag_set(f, 0x0100_0000) || flag_set(f, 0x0020_0000) {
                let _ = write!(t, ", child_tidptr={}", ptr(a[3]));
            }
            t
        }
        nr::CLONE3 => match &s.extra {
            Extra::Clone3(ca) => format!("{}, {}", clone_args(ca), a[1]),
            _ => format!("{}, {}", ptr(a[0]), a[1]),
        },
        nr::WAIT4 => {
            let (status, ru) = match &s.extra {
                Extra::Wait4 { status, rusage } => (*status, rusage.as_ref()),
                _ => (None, None),
            };
            let st = match status {
                Some(v) => format!("[{}]", wait_status(v)),
                None => ptr(a[1]),
            };
            let ru = match ru {
                Some(r) => rusage(r),
                None => ptr(a[3]),
            };
            format!("{}, {st}, {}, {ru}", a[0] as i32, names::wait4_options(a[2]))
        }
        nr::EXECVE | nr::EXECVEAT => {
            let at = s.nr == nr::EXECVEAT;
            let (fname, argv, envp) = if at { (a[1], a[2], a[3]) } else { (a[0], a[1], a[2]) };
            let mut t = String::new();
            if at {
                let _ = write!(t, "{}, ", names::dirfd(a[0]));
            }
            match &s.extra {
                Extra::Exec(x) => exec_args(&mut t, x, fname, argv, envp),
                _ => {
                    let _ = write!(t, "{}, {}, {}", ptr(fname), ptr(argv), ptr(envp));
                }
            }
            if at {
                let _ = write!(t, ", {}", names::execveat_flags(a[4]));
            }
            t
        }
        nr::RT_SIGPROCMASK => {
            let (set, old) = match &s.extra {
                Extra::Sigset { set, oldset } => (*set, *oldset),
                _ => (None, None),
            };
            let set = match set {
                Some(m) => names::sigset(m),
                None => ptr(a[1]),
            };
            let old = match old {
                Some(m) if ok => names::sigset(m),
                _ => ptr(a[2]),
            };
            format!("{}, {set}, {old}, {}", names::sigprocmask_how(a[0]), a[3])
        }
        nr::RT_SIGACTION => {
            let (act, old) = match &s.extra {
                Extra::Sigaction { act, oldact } => (*act, *oldact),
                _ => (None, None),
            };
            let act = act.map_or_else(|| ptr(a[1]), |s| sigaction(&s));
            let old = match old {
                Some(o) if ok => sigaction(&o),
                _ => ptr(a[2]),
            };
            format!("{}, {act}, {old}, {}", names::signal_string(a[0]), a[3])
        }
        nr::PRLIMIT64 => {
            let (new, old) = match &s.extra {
                Extra::Rlimit { new, old } => (*new, *old),
                _ => (None, None),
            };
            let new = new.map_or_else(|| ptr(a[2]), |r| rlimit(&r));
            let old = match old {
                Some(o) if ok => rlimit(&o),
                _ => ptr(a[3]),
            };
            format!("{}, {}, {new}, {old}", a[0] as i32, names::rlimit_resource(a[1]))
        }
        _ => generic_args(s),
    }
}

/// A syscall tracer has no decoder for: as many arguments as the kernel's
/// prototype has (`syscall_args`), pointers as `NULL`/hex, dirfds as
/// `AT_FDCWD`, flag-like parameters in hex, other integers in decimal at
/// their C width. Unknown to the kernel's metadata: all six registers, hex.
fn generic_args(s: &SyscallEvent) -> String {
    let Some(params) = crate::model::syscalls::args::params(&syscall_name(s.nr)) else {
        return s.args.iter().map(|v| format!("{v:#x}")).collect::<Vec<_>>().join(", ");
    };
    params.iter().zip(s.args).map(|(&(name, ctype), v)| generic_arg(name, ctype, v)).collect::<Vec<_>>().join(", ")
}

fn generic_arg(name: &str, ctype: &str, v: u64) -> String {
    // Pointers, and addresses passed as unsigned long (madvise's start,
    // mremap's addresses, brk): NULL or hex.
    if ctype.contains('*') || name.ends_with("addr") || name.ends_with("address") || name == "start" {
        return ptr(v);
    }
    if name.ends_with("dfd") {
        return names::dirfd(v);
    }
    if ["flags", "mode", "prot", "options", "mask", "how"].iter().any(|f| name.ends_with(f)) {
        return if v == 0 { "0".into() } else { format!("{v:#x}") };
    }
    let wide = ctype.contains("long") || ctype.contains("64") || ctype.ends_with("size_t") || ctype.contains("off_t");
    let unsigned = ctype.starts_with("unsigned") || ctype.starts_with('u') || ctype.starts_with("__u") || ctype == "size_t";
    match (wide, unsigned && name != "fd") {
        (true, true) => v.to_string(),
        (true, false) => (v as i64).to_string(),
        (false, true) => (v as u32).to_string(),
        (false, false) => (v as u32 as i32).to_string(),
    }
}

fn exec_args(t: &mut String, x: &ExecArgs, fname: u64, argv: u64, envp: u64) {
    match &x.filename {
        Some(f) => quote(t, f),
        None => t.push_str(&ptr(fname)),
    }
    t.push_str(", ");
    if argv == 0 {
        t.push_str("NULL");
    } else {
        t.push('[');
        for (i, s) in x.argv.iter().enumerate() {
            if i > 0 {
                t.push_str(", ");
            }
            match s {
                Some(s) => quote(t, s),
                None => t.push('?'),
            }
        }
        if (x.argc as usize) > x.argv.len() {
            t.push_str(", ...");
        }
        t.push(']');
    }
    t.push_str(", ");
    if envp == 0 {
        t.push_str("NULL");
    } else {
        let more = if x.envc_capped { "+" } else { "" };
        let _ = write!(t, "{envp:#x} /* {}{more} vars */", x.envc);
    }
}

fn clone_args(ca: &CloneArgs) -> String {
    let f = ca.flags;
    let mut t = format!("{{flags={}", names::clone3_flags(f));
    if flag_set(f, 0x1000) {
        let _ = write!(t, ", pidfd={}", ptr(ca.pidfd));
    }
    if flag_set(f, 0x0100_0000) || flag_set(f, 0x0020_0000) {
        let _ = write!(t, ", child_tid={}", ptr(ca.child_tid));
    }
    if flag_set(f, 0x0010_0000) {
        let _ = write!(t, ", parent_tid={}", ptr(ca.parent_tid));
    }
    let _ = write!(
        t,
        ", exit_signal={}, stack={}, stack_size={:#x}",
        names::signal_string(ca.exit_signal),
        ptr(ca.stack),
        ca.stack_size
    );
    if flag_set(f, 0x0008_0000) {
        let _ = write!(t, ", tls={}", ptr(ca.tls));
    }
    t.push('}');
    if let Some(tid) = ca.parent_tid_value {
        let _ = write!(t, " => {{parent_tid=[{tid}]}}");
    }
    t
}

fn wait_status(v: i32) -> String {
    match WaitStatus::decode(v as u32) {
        WaitStatus::Exited(code) => format!("{{WIFEXITED(s) && WEXITSTATUS(s) == {code}}}"),
        WaitStatus::Stopped(sig) => format!("{{WIFSTOPPED(s) && WSTOPSIG(s) == {}}}", names::signal_string(sig.into())),
        WaitStatus::Continued => "{WIFCONTINUED(s)}".into(),
        WaitStatus::Signaled { sig, core } => {
            let core = if core { " && WCOREDUMP(s)" } else { "" };
            format!("{{WIFSIGNALED(s) && WTERMSIG(s) == {}{core}}}", names::signal_string(sig.into()))
        }
    }
}

fn rusage(r: &Rusage) -> String {
    format!(
        "{{ru_utime={{tv_sec={}, tv_usec={}}}, ru_stime={{tv_sec={}, tv_usec={}}}, ...}}",
        r.utime_us / 1_000_000,
        r.utime_us % 1_000_000,
        r.stime_us / 1_000_000,
        r.stime_us % 1_000_000
    )
}

fn sigaction(s: &KSigaction) -> String {
    let mut t = format!(
        "{{sa_handler={}, sa_mask={}, sa_flags={}",
        names::sa_handler(s.handler),
        names::sigset(s.mask),
        names::sa_flags(s.flags)
    );
    if s.flags & names::SA_RESTORER != 0 {
        let _ = write!(t, ", sa_restorer={:#x}", s.restorer);
    }
    t.push('}');
    t
}

fn rlimit(r: &Rlimit) -> String {
    format!("{{rlim_cur={}, rlim_max={}}}", names::rlim(r.cur), names::rlim(r.max))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::decode::{Comm, Header};

    fn header(tid: u32) -> Header {
        Header { cpu: 0, ts_boot_ns: 0, pid: tid, tid, ppid: 1, uid: 0, gid: 0, cgroup_id: 1, comm: Comm::from_bytes(b"th"), ns_level: 0, ns_pid: tid, ns_tid: tid, ns_ppid: 1, start_ns: 0, parent_start_ns: 0, ident: Default::default() }
    }

    fn line(nr: u32, args: [u64; 6], ret: i64, extra: Extra, flags: u32) -> String {
        let ev = Event::Syscall(SyscallEvent { header: header(74199), nr, flags, args, ret, duration_ns: 0, extra });
        let mut s = String::new();
        write_event(&mut s, &ev);
        s.strip_prefix("[pid 74199] ").unwrap().strip_suffix('\n').unwrap().to_string()
    }

    /// strace's line without its alignment: the `[pid N] ` prefix counts
    /// toward column 40, so compare with padding collapsed.
    fn squash(s: &str) -> String {
        let (call, ret) = s.rsplit_once(" = ").unwrap();
        format!("{} = {ret}", call.trim_end())
    }

    fn ustr(b: &[u8], truncated: bool) -> Option<UserStr> {
        Some(UserStr { bytes: b.to_vec(), truncated })
    }

    #[test]
    fn the_walkthrough_lines() {
        let cases: Vec<(String, &str)> = vec![
            (line(nr::BRK, [0; 6], 0x62f7_2cbf_9000, Extra::None, 0), "brk(NULL)                               = 0x62f72cbf9000"),
            (line(nr::ARCH_PRCTL, [0x3001, 0x7ffd_43db_1be0, 0, 0, 0, 0], -22, Extra::None, 0), "arch_prctl(0x3001 /* ARCH_??? */, 0x7ffd43db1be0) = -1 EINVAL (Invalid argument)"),
            (line(nr::MMAP, [0, 8192, 3, 0x22, u64::MAX, 0], 0x7f89_79a4_9000, Extra::None, 0), "mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f8979a49000"),
            (line(nr::MMAP, [0x7f89_7982_8000, 1658880, 5, 0x812, 3, 0x28000], 0x7f89_7982_8000, Extra::None, 0), "mmap(0x7f8979828000, 1658880, PROT_READ|PROT_EXEC, MAP_PRIVATE|MAP_FIXED|MAP_DENYWRITE, 3, 0x28000) = 0x7f8979828000"),
            (line(nr::ARCH_PRCTL, [0x1002, 0x7f89_79a2_f740, 0, 0, 0, 0], 0, Extra::None, 0), "arch_prctl(ARCH_SET_FS, 0x7f8979a2f740) = 0"),
            (line(nr::SET_TID_ADDRESS, [0x7f89_79a2_fa10, 0, 0, 0, 0, 0], 74199, Extra::None, 0), "set_tid_address(0x7f8979a2fa10)         = 74199"),
            (line(nr::SET_ROBUST_LIST, [0x7f89_79a2_fa20, 24, 0, 0, 0, 0], 0, Extra::None, 0), "set_robust_list(0x7f8979a2fa20, 24)     = 0"),
            (line(nr::RSEQ, [0x7f89_79a3_00e0, 0x20, 0, 0x5305_3053, 0, 0], 0, Extra::None, 0), "rseq(0x7f8979a300e0, 0x20, 0, 0x53053053) = 0"),
            (line(nr::MPROTECT, [0x7f89_79a1_6000, 16384, 1, 0, 0, 0], 0, Extra::None, 0), "mprotect(0x7f8979a16000, 16384, PROT_READ) = 0"),
            (
                line(nr::PRLIMIT64, [0, 3, 0, 0x7ffd_0000, 0, 0], 0, Extra::Rlimit { new: None, old: Some(Rlimit { cur: 8192 * 1024, max: u64::MAX }) }, 0),
                "prlimit64(0, RLIMIT_STACK, NULL, {rlim_cur=8192*1024, rlim_max=RLIM64_INFINITY}) = 0",
            ),
            (line(nr::MUNMAP, [0x7f89_79a3_2000, 90175, 0, 0, 0, 0], 0, Extra::None, 0), "munmap(0x7f8979a32000, 90175)           = 0"),
            (
                line(nr::RT_SIGACTION, [33, 0x7ffd_0000, 0, 8, 0, 0], 0, Extra::Sigaction { act: Some(KSigaction { handler: 0x7f89_7989_1870, flags: 0x1c00_0004, restorer: 0x7f89_7984_2520, mask: 0 }), oldact: None }, 0),
                "rt_sigaction(SIGRT_1, {sa_handler=0x7f8979891870, sa_mask=[], sa_flags=SA_RESTORER|SA_ONSTACK|SA_RESTART|SA_SIGINFO, sa_restorer=0x7f8979842520}, NULL, 8) = 0",
            ),
            (line(nr::RT_SIGPROCMASK, [1, 0x7ffd_0000, 0, 8, 0, 0], 0, Extra::Sigset { set: Some((1 << 31) | (1 << 32)), oldset: None }, 0), "rt_sigprocmask(SIG_UNBLOCK, [RTMIN RT_1], NULL, 8) = 0"),
            (line(nr::MMAP, [0, 8392704, 0, 0x20022, u64::MAX, 0], 0x7f89_78e0_0000, Extra::None, 0), "mmap(NULL, 8392704, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_STACK, -1, 0) = 0x7f8978e00000"),
            (line(nr::MPROTECT, [0x7f89_78e0_1000, 8388608, 3, 0, 0, 0], 0, Extra::None, 0), "mprotect(0x7f8978e01000, 8388608, PROT_READ|PROT_WRITE) = 0"),
            (line(nr::BRK, [0x62f7_2cc1_a000, 0, 0, 0, 0, 0], 0x62f7_2cc1_a000, Extra::None, 0), "brk(0x62f72cc1a000)                     = 0x62f72cc1a000"),
            (line(nr::RT_SIGPROCMASK, [0, 0x7ffd_0000, 0x7ffd_0100, 8, 0, 0], 0, Extra::Sigset { set: Some(u64::MAX), oldset: Some(0) }, 0), "rt_sigprocmask(SIG_BLOCK, ~[], [], 8)   = 0"),
            (
                line(
                    nr::CLONE3,
                    [0x7ffd_0000, 88, 0, 0, 0, 0],
                    74200,
                    Extra::Clone3(CloneArgs { len: 88, flags: 0x3d0f00, child_tid: 0x7f89_7960_0910, parent_tid: 0x7f89_7960_0910, stack: 0x7f89_78e0_0000, stack_size: 0x7fff00, tls: 0x7f89_7960_0640, parent_tid_value: Some(74200), ..Default::default() }),
                    0,
                ),
                "clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID, child_tid=0x7f8979600910, parent_tid=0x7f8979600910, exit_signal=0, stack=0x7f8978e00000, stack_size=0x7fff00, tls=0x7f8979600640} => {parent_tid=[74200]}, 88) = 74200",
            ),
            (line(nr::RT_SIGPROCMASK, [2, 0x7ffd_0000, 0, 8, 0, 0], 0, Extra::Sigset { set: Some(0), oldset: None }, 0), "rt_sigprocmask(SIG_SETMASK, [], NULL, 8) = 0"),
            (line(nr::EXIT_GROUP, [0; 6], 0, Extra::None, tracer_common::syscall_flags::NO_RETURN), "exit_group(0)                           = ?"),
            (line(nr::CLONE, [0x0120_0011, 0, 0, 0x7e34_9f3f_4a10, 0, 0], 76678, Extra::None, 0), "clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7e349f3f4a10) = 76678"),
            (line(nr::WAIT4, [76678, 0, 0, 0, 0, 0], 76678, Extra::None, 0), "wait4(76678, NULL, 0, NULL)             = 76678"),
            // No decoder: the kernel's prototype gives the count and the notation.
            // strace: close(3)                                = 0
            (line(3, [3, 0x7ffd, 0, 0, 0, 0], 0, Extra::None, 0), "close(3)                                = 0"),
            // strace: read(3, "\177ELF\2\1\1\3\0\0\0\0\0\0\0\0\3\0>\0\1\0\0\0P\237\2\0\0\0\0\0"..., 832) = 832
            (line(0, [3, 0x7ffd_43db_1000, 832, 9, 9, 9], 832, Extra::None, 0), "read(3, 0x7ffd43db1000, 832)            = 832"),
            // strace: openat(AT_FDCWD, "/etc/ld.so.cache", O_RDONLY|O_CLOEXEC) = 3
            (line(257, [-100i64 as u64, 0x7f89_79a5_b0b1, 0x80000, 0, 0, 0], 3, Extra::None, 0), "openat(AT_FDCWD, 0x7f8979a5b0b1, 0x80000, 0) = 3"),
            // strace: madvise(0x7ffad04b3000, 8368128, MADV_DONTNEED) = 0
            (line(28, [0x7ffa_d04b_3000, 8368128, 4, 0, 0, 0], 0, Extra::None, 0), "madvise(0x7ffad04b3000, 8368128, 4)    = 0"),
            // strace: getpid()                                = 74199
            (line(39, [1, 2, 3, 4, 5, 6], 74199, Extra::None, 0), "getpid()                                = 74199"),
        ];
        for (got, want) in cases {
            // `[pid 74199] ` (12 columns) shifts the padding; the rest is strace's.
            assert_eq!(squash(&got), squash(want));
        }
    }

    // strace: execve("./th", ["./th"], 0x7ffe22c1ed10 /* 75 vars */) = 0
    // strace: execve("/nonexistent/prog", ["./th", "a-long-argument-that-is-longer-t"..., "exactly-32-bytes-long-argument!!", "x", "\1\177\377\"\\\n", "6", "7", "8", "9", "10"], 0x7ffdeeafe050 /* 2 vars */) = -1 ENOENT (No such file or directory)
    // strace: execveat(AT_FDCWD, "rel/prog", ["only"], 0x7ffdeeafe050 /* 2 vars */, AT_EMPTY_PATH) = -1 ENOSYS (Function not implemented)
    #[test]
    fn execve_lines() {
        let x = ExecArgs { filename: ustr(b"./th", false), argv: vec![ustr(b"./th", false)], argc: 1, envc: 75, ..Default::default() };
        assert_eq!(line(nr::EXECVE, [1, 2, 0x7ffe_22c1_ed10, 0, 0, 0], 0, Extra::Exec(Box::new(x)), 0), "execve(\"./th\", [\"./th\"], 0x7ffe22c1ed10 /* 75 vars */) = 0");
        let argv = [&b"./th"[..], b"a-long-argument-that-is-longer-t", b"exactly-32-bytes-long-argument!!", b"x", b"\x01\x7f\xff\"\\\n", b"6", b"7", b"8"];
        let x = ExecArgs {
            filename: ustr(b"/nonexistent/prog", false),
            argv: argv.iter().enumerate().map(|(i, a)| ustr(a, i == 1)).collect(),
            argc: 10,
            envc: 2,
            ..Default::default()
        };
        // tracer shows the first 8 of the 10 strings strace shows, then `...`.
        assert_eq!(
            line(nr::EXECVE, [1, 2, 0x7ffd_eeaf_e050, 0, 0, 0], -2, Extra::Exec(Box::new(x)), 0),
            "execve(\"/nonexistent/prog\", [\"./th\", \"a-long-argument-that-is-longer-t\"..., \"exactly-32-bytes-long-argument!!\", \"x\", \"\\1\\177\\377\\\"\\\\\\n\", \"6\", \"7\", \"8\", ...], 0x7ffdeeafe050 /* 2 vars */) = -1 ENOENT (No such file or directory)"
        );
        let x = ExecArgs { filename: ustr(b"rel/prog", false), argv: vec![ustr(b"only", false)], argc: 1, envc: 2, ..Default::default() };
        assert_eq!(
            line(nr::EXECVEAT, [-100i64 as u64, 1, 2, 0x7ffd_eeaf_e050, 0x1000, 0], -38, Extra::Exec(Box::new(x)), 0),
            "execveat(AT_FDCWD, \"rel/prog\", [\"only\"], 0x7ffdeeafe050 /* 2 vars */, AT_EMPTY_PATH) = -1 ENOSYS (Function not implemented)"
        );
        let mut q = String::new();
        quote_bytes(&mut q, b"\x01\x31\x00", false);
        assert_eq!(q, "\"\\0011\\0\"");
    }

    // strace -f: --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=13766, si_uid=0, si_status=1, si_utime=0, si_stime=0} ---
    //            --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_KILLED, si_pid=13767, si_uid=0, si_status=SIGKILL, si_utime=0, si_stime=0} ---
    //            [pid 13766] +++ exited with 1 +++   /   [pid 13767] +++ killed by SIGKILL +++
    #[test]
    fn signal_and_exit_lines() {
        let sig = |code, status, phase| {
            Event::Signal(SignalEvent {
                header: header(100),
                sig: 17,
                phase,
                result: 1,
                group: true,
                target_pid: 100,
                target_tid: 100,
                target_comm: Comm::from_bytes(b"p"),
                info: Some(SigInfo { code, pid: 13766, uid: 0, status, ..Default::default() }),
                handler: None,
            })
        };
        let mut s = String::new();
        write_event(&mut s, &sig(1, 1, SignalPhase::Deliver));
        write_event(&mut s, &sig(2, 9, SignalPhase::Deliver));
        write_event(&mut s, &sig(1, 1, SignalPhase::Generate));
        write_event(&mut s, &Event::Exit(ExitEvent { header: header(13766), exit_code: 0x100, group_dead: true, children: vec![], children_capped: false }));
        write_event(&mut s, &Event::Exit(ExitEvent { header: header(13767), exit_code: 9, group_dead: true, children: vec![], children_capped: false }));
        write_event(&mut s, &Event::Exit(ExitEvent { header: header(13768), exit_code: 0x8b, group_dead: true, children: vec![], children_capped: false }));
        assert_eq!(
            s,
            "[pid 100] --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=13766, si_uid=0, si_status=1, si_utime=0, si_stime=0} ---\n\
             [pid 100] --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_KILLED, si_pid=13766, si_uid=0, si_status=SIGKILL, si_utime=0, si_stime=0} ---\n\
             [pid 100] --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=13766, si_uid=0, si_status=1, si_utime=0, si_stime=0} sent to 100 (ignored) ---\n\
             [pid 13766] +++ exited with 1 +++\n\
             [pid 13767] +++ killed by SIGKILL +++\n\
             [pid 13768] +++ killed by SIGSEGV (core dumped) +++\n"
        );
    }

    #[test]
    fn a_container_shows_its_short_id_before_the_pid() {
        use crate::model::cgroups::CgroupInfo;
        let mut h = header(7);
        h.ident.cgroup = Some(std::sync::Arc::new(CgroupInfo::parse(
            "/system.slice/docker-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.scope",
        )));
        let mut out = String::new();
        pid_prefix(&mut out, &h);
        assert_eq!(out, "[0123456789ab pid 7] ");
        h.ident.cgroup = Some(std::sync::Arc::new(CgroupInfo::parse("/system.slice/nginx.service")));
        out.clear();
        pid_prefix(&mut out, &h);
        assert_eq!(out, "[pid 7] ");
    }
}
