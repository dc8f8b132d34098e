//! Per-syscall argument decoding, as strace decodes them: names from the
//! kernel's `SYSCALL_DEFINE` prototypes, flags as symbolic strings,
//! pointers as hex, sizes/fds/pids as integers, and the user structs the
//! kernel side captured (clone3's `clone_args`, wait4's status and rusage)
//! as nested objects. Pure; the JSON shape is fixed by `docs/schema.json`.

use crate::decode::{CloneArgs, Extra, Rusage, SyscallEvent};
use crate::names;
use tracer_common::{nr, syscall_flags};

/// A decoded argument value. Each argument name maps to one variant
/// wherever it appears, so every JSON field keeps one type.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A signed integer (sizes, fds, pids, counts).
    Int(i64),
    /// An address, rendered as a hex string.
    Ptr(u64),
    /// A symbolic rendering (flags, signal names).
    Str(String),
    Bool(bool),
    Obj(Vec<(&'static str, Value)>),
}

pub type Args = Vec<(&'static str, Value)>;

/// Decoded arguments of `ev`, plus the names of arguments whose user memory
/// could not be read.
pub fn decode_args(ev: &SyscallEvent) -> (Args, Vec<&'static str>) {
    let a = ev.args;
    let mut failed = Vec::new();
    let args = match ev.nr {
        nr::MMAP => vec![
            ("addr", Value::Ptr(a[0])),
            ("len", Value::Int(a[1] as i64)),
            ("prot", Value::Str(names::prot(a[2]))),
            ("flags", Value::Str(names::mmap_flags(a[3]))),
            ("fd", Value::Int(a[4] as i32 as i64)),
            ("off", Value::Int(a[5] as i64)),
        ],
        nr::MPROTECT => vec![
            ("start", Value::Ptr(a[0])),
            ("len", Value::Int(a[1] as i64)),
            ("prot", Value::Str(names::prot(a[2]))),
        ],
        // x86-64 argument order: flags, newsp, parent_tidptr, child_tidptr, tls.
        nr::CLONE => vec![
            ("clone_flags", Value::Str(names::clone_flags(a[0]))),
            ("newsp", Value::Ptr(a[1])),
            ("parent_tidptr", Value::Ptr(a[2])),
            ("child_tidptr", Value::Ptr(a[3])),
            ("tls", Value::Ptr(a[4])),
        ],
        nr::CLONE3 => {
            let mut v = vec![("uargs", Value::Ptr(a[0])), ("size", Value::Int(a[1] as i64))];
            if ev.flags & syscall_flags::PARENT_TID_READ_FAILED != 0 {
                failed.push("cl_args_out");
            }
            match &ev.extra {
                Extra::Clone3(ca) => {
                    v.push(("cl_args", clone_args(ca)));
                    // strace's `=> {parent_tid=[N]}`: what the call wrote back.
                    if let Some(t) = ca.parent_tid_value {
                        v.push(("cl_args_out", Value::Obj(vec![("parent_tid", Value::Int(t as i64))])));
                    }
                }
                _ if ev.enter_read_failed() => failed.push("cl_args"),
                _ => {}
            }
            v
        }
        nr::WAIT4 => {
            let mut v = vec![
                ("upid", Value::Int(a[0] as i32 as i64)),
                ("stat_addr", Value::Ptr(a[1])),
                ("options", Value::Str(names::wait4_options(a[2]))),
                ("ru", Value::Ptr(a[3])),
            ];
            if let Extra::Wait4 { status, rusage } = &ev.extra {
                if let Some(s) = status {
                    v.push(("status", wait_status(*s)));
                }
                if let Some(r) = rusage {
                    v.push(("rusage", rusage_value(r)));
                }
            }
            if ev.flags & syscall_flags::STATUS_READ_FAILED != 0 {
                failed.push("status");
            }
            if ev.flags & syscall_flags::RUSAGE_READ_FAILED != 0 {
                failed.push("rusage");
            }
            v
        }
        _ => Vec::new(),
    };
    (args, failed)
}

fn clone_args(ca: &CloneArgs) -> Value {
    // CLONE_ARGS_SIZE_VER0 (64 bytes) has flags..tls; VER1 (80) adds
    // set_tid/set_tid_size; VER2 (88) adds cgroup. Fields the caller did not
    // pass (a short `size`) are left out rather than shown as zero.
    let mut o = vec![
        ("flags", Value::Str(names::clone3_flags(ca.flags))),
        ("pidfd", Value::Ptr(ca.pidfd)),
        ("child_tid", Value::Ptr(ca.child_tid)),
        ("parent_tid", Value::Ptr(ca.parent_tid)),
        ("exit_signal", Value::Str(names::signal_string(ca.exit_signal))),
        ("stack", Value::Ptr(ca.stack)),
        ("stack_size", Value::Int(ca.stack_size as i64)),
        ("tls", Value::Ptr(ca.tls)),
    ];
    o.truncate((ca.len / 8).min(8) as usize);
    if ca.len >= 80 {
        o.push(("set_tid", Value::Ptr(ca.set_tid)));
        o.push(("set_tid_size", Value::Int(ca.set_tid_size as i64)));
    }
    if ca.len >= 88 {
        o.push(("cgroup", Value::Int(ca.cgroup as i64)));
    }
    Value::Obj(o)
}

/// wait4's status word, decoded like the W* macros (and strace).
pub fn wait_status(s: i32) -> Value {
    let s = s as u32;
    let sig = s & 0x7f;
    if sig == 0 {
        Value::Obj(vec![("exited", Value::Int(((s >> 8) & 0xff) as i64))])
    } else if s & 0xff == 0x7f {
        Value::Obj(vec![("stopped", Value::Str(names::signal_string(((s >> 8) & 0xff) as u64)))])
    } else if s == 0xffff {
        Value::Obj(vec![("continued", Value::Bool(true))])
    } else {
        Value::Obj(vec![
            ("signaled", Value::Str(names::signal_string(sig as u64))),
            ("core_dumped", Value::Bool(s & 0x80 != 0)),
        ])
    }
}

const RUSAGE_LONGS: [&str; 14] = [
    "maxrss", "ixrss", "idrss", "isrss", "minflt", "majflt", "nswap", "inblock", "oublock",
    "msgsnd", "msgrcv", "nsignals", "nvcsw", "nivcsw",
];

fn rusage_value(r: &Rusage) -> Value {
    let mut o = vec![
        ("utime_us", Value::Int(r.utime_us as i64)),
        ("stime_us", Value::Int(r.stime_us as i64)),
    ];
    o.extend(RUSAGE_LONGS.iter().zip(r.longs).map(|(n, v)| (*n, Value::Int(v))));
    Value::Obj(o)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::{Comm, Header};

    fn ev(nr: u32, args: [u64; 6], ret: i64, extra: Extra) -> SyscallEvent {
        SyscallEvent {
            header: Header { cpu: 0, ts_boot_ns: 0, pid: 1, tid: 1, ppid: 0, uid: 0, gid: 0, cgroup_id: 1, comm: Comm::from_bytes(b"t") },
            nr,
            flags: 0,
            args,
            ret,
            duration_ns: 0,
            extra,
        }
    }

    fn get<'a>(a: &'a Args, k: &str) -> &'a Value {
        &a.iter().find(|(n, _)| *n == k).unwrap_or_else(|| panic!("no {k}")).1
    }

    // strace: mmap(NULL, 8392704, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_STACK, -1, 0) = 0x7f8978e00000
    #[test]
    fn mmap_of_a_thread_stack() {
        let (a, f) = decode_args(&ev(nr::MMAP, [0, 8392704, 0, 0x20022, u64::MAX, 0], 0x7f89_78e0_0000, Extra::None));
        assert!(f.is_empty());
        assert_eq!(get(&a, "addr"), &Value::Ptr(0));
        assert_eq!(get(&a, "len"), &Value::Int(8392704));
        assert_eq!(get(&a, "prot"), &Value::Str("PROT_NONE".into()));
        assert_eq!(get(&a, "flags"), &Value::Str("MAP_PRIVATE|MAP_ANONYMOUS|MAP_STACK".into()));
        assert_eq!(get(&a, "fd"), &Value::Int(-1));
        assert_eq!(get(&a, "off"), &Value::Int(0));
    }

    // strace: mprotect(0x7f8978e01000, 8388608, PROT_READ|PROT_WRITE) = 0
    #[test]
    fn mprotect_opening_the_stack_above_its_guard_page() {
        let (a, _) = decode_args(&ev(nr::MPROTECT, [0x7f89_78e0_1000, 8388608, 3, 0, 0, 0], 0, Extra::None));
        assert_eq!(a, vec![
            ("start", Value::Ptr(0x7f89_78e0_1000)),
            ("len", Value::Int(8388608)),
            ("prot", Value::Str("PROT_READ|PROT_WRITE".into())),
        ]);
    }

    // strace: clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7e349f3f4a10) = 76678
    #[test]
    fn clone_of_fork() {
        let (a, _) = decode_args(&ev(nr::CLONE, [0x0120_0011, 0, 0, 0x7e34_9f3f_4a10, 0, 0], 76678, Extra::None));
        assert_eq!(get(&a, "clone_flags"), &Value::Str("CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD".into()));
        assert_eq!(get(&a, "newsp"), &Value::Ptr(0));
        assert_eq!(get(&a, "child_tidptr"), &Value::Ptr(0x7e34_9f3f_4a10));
    }

    // strace: clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID,
    //   child_tid=0x7f8979600910, parent_tid=0x7f8979600910, exit_signal=0, stack=0x7f8978e00000, stack_size=0x7fff00, tls=0x7f8979600640} => {parent_tid=[74200]}, 88) = 74200
    #[test]
    fn clone3_of_pthread_create() {
        let ca = CloneArgs {
            len: 88,
            flags: 0x3d0f00,
            child_tid: 0x7f89_7960_0910,
            parent_tid: 0x7f89_7960_0910,
            stack: 0x7f89_78e0_0000,
            stack_size: 0x7fff00,
            tls: 0x7f89_7960_0640,
            parent_tid_value: Some(74200),
            ..Default::default()
        };
        let (a, f) = decode_args(&ev(nr::CLONE3, [0x7ffd_43db_1000, 88, 0, 0, 0, 0], 74200, Extra::Clone3(ca)));
        assert!(f.is_empty());
        assert_eq!(get(&a, "size"), &Value::Int(88));
        let Value::Obj(o) = get(&a, "cl_args") else { panic!() };
        assert_eq!(get(o, "flags"), &Value::Str("CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID".into()));
        assert_eq!(get(o, "exit_signal"), &Value::Str("0".into()));
        assert_eq!(get(o, "stack"), &Value::Ptr(0x7f89_78e0_0000));
        assert_eq!(get(o, "stack_size"), &Value::Int(0x7fff00));
        assert_eq!(get(o, "tls"), &Value::Ptr(0x7f89_7960_0640));
        assert_eq!(get(o, "cgroup"), &Value::Int(0));
        assert_eq!(get(&a, "cl_args_out"), &Value::Obj(vec![("parent_tid", Value::Int(74200))]));
    }

    #[test]
    fn clone3_with_unreadable_args_reports_the_failure() {
        let mut e = ev(nr::CLONE3, [0x1000, 88, 0, 0, 0, 0], -14, Extra::None);
        e.flags = tracer_common::syscall_flags::ENTER_READ_FAILED;
        let (a, f) = decode_args(&e);
        assert_eq!(f, vec!["cl_args"]);
        assert!(a.iter().all(|(n, _)| *n != "cl_args"));
    }

    // strace: wait4(76678, [{WIFEXITED(s) && WEXITSTATUS(s) == 1}], 0, NULL) = 76678
    #[test]
    fn wait4_status_of_a_child_that_returned_1() {
        let (a, _) = decode_args(&ev(nr::WAIT4, [76678, 0x7ffc_0000, 0, 0, 0, 0], 76678, Extra::Wait4 { status: Some(0x100), rusage: None }));
        assert_eq!(get(&a, "upid"), &Value::Int(76678));
        assert_eq!(get(&a, "options"), &Value::Str("0".into()));
        assert_eq!(get(&a, "status"), &Value::Obj(vec![("exited", Value::Int(1))]));
    }

    // strace: wait4(-1, [{WIFSIGNALED(s) && WTERMSIG(s) == SIGKILL}], WNOHANG|__WALL, NULL) = 5
    #[test]
    fn wait_status_signals_stops_and_continues() {
        assert_eq!(wait_status(9), Value::Obj(vec![("signaled", Value::Str("SIGKILL".into())), ("core_dumped", Value::Bool(false))]));
        assert_eq!(wait_status(0x8b), Value::Obj(vec![("signaled", Value::Str("SIGSEGV".into())), ("core_dumped", Value::Bool(true))]));
        assert_eq!(wait_status(0x137f), Value::Obj(vec![("stopped", Value::Str("SIGSTOP".into()))]));
        assert_eq!(wait_status(0xffff), Value::Obj(vec![("continued", Value::Bool(true))]));
        let (a, _) = decode_args(&ev(nr::WAIT4, [u64::MAX, 0, 0x4000_0001, 0, 0, 0], 5, Extra::None));
        assert_eq!(get(&a, "upid"), &Value::Int(-1));
        assert_eq!(get(&a, "options"), &Value::Str("WNOHANG|__WALL".into()));
    }
}
