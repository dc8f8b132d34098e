//! Unit tests of [`super`], quoting the strace lines they match.

use super::*;
use crate::model::decode::{Comm, Header, Rusage, UserStr};

fn ev(nr: u32, args: [u64; 6], ret: i64, extra: Extra) -> SyscallEvent {
    SyscallEvent {
        header: Header { cpu: 0, ts_boot_ns: 0, pid: 1, tid: 1, ppid: 0, uid: 0, gid: 0, cgroup_id: 1, comm: Comm::from_bytes(b"t"), ns_level: 0, ns_pid: 1, ns_tid: 1, ns_ppid: 0, start_ns: 0, parent_start_ns: 0, ident: Default::default() },
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

/// wait4's status alone, as a value.
fn wait_status(s: i32) -> Value {
    let mut t = ValueTree::default();
    t.wait_status("status", WaitStatus::decode(s as u32));
    t.args.pop().expect("the status object").1
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

fn with(nr: u32, args: [u64; 6], ret: i64, extra: Extra, flags: u32) -> SyscallEvent {
    let mut e = ev(nr, args, ret, extra);
    e.flags = flags;
    e
}

fn s(v: &str) -> Value {
    Value::Str(v.into())
}

// strace: munmap(0x7f8979a32000, 90175)           = 0
// strace: brk(0x62f72cc1a000)                     = 0x62f72cc1a000
// strace: exit_group(0)                           = ?
// strace: set_tid_address(0x7f8979a2fa10)         = 74199
// strace: set_robust_list(0x7f8979a2fa20, 24)     = 0
#[test]
fn simple_calls_of_the_walkthrough() {
    assert_eq!(decode_args(&ev(nr::MUNMAP, [0x7f89_79a3_2000, 90175, 0, 0, 0, 0], 0, Extra::None)).0, vec![("addr", Value::Ptr(0x7f89_79a3_2000)), ("len", Value::Int(90175))]);
    assert_eq!(decode_args(&ev(nr::BRK, [0x62f7_2cc1_a000, 0, 0, 0, 0, 0], 0x62f7_2cc1_a000, Extra::None)).0, vec![("brk", Value::Ptr(0x62f7_2cc1_a000))]);
    assert_eq!(decode_args(&ev(nr::EXIT_GROUP, [0, 0, 0, 0, 0, 0], 0, Extra::None)).0, vec![("error_code", Value::Int(0))]);
    // exit(3) = ?  ; the code is an int
    assert_eq!(decode_args(&ev(nr::EXIT, [0xffff_ffff, 0, 0, 0, 0, 0], 0, Extra::None)).0, vec![("error_code", Value::Int(-1))]);
    assert_eq!(decode_args(&ev(nr::SET_TID_ADDRESS, [0x7f89_79a2_fa10, 0, 0, 0, 0, 0], 74199, Extra::None)).0, vec![("tidptr", Value::Ptr(0x7f89_79a2_fa10))]);
    assert_eq!(decode_args(&ev(nr::SET_ROBUST_LIST, [0x7f89_79a2_fa20, 24, 0, 0, 0, 0], 0, Extra::None)).0, vec![("head", Value::Ptr(0x7f89_79a2_fa20)), ("len", Value::Int(24))]);
}

// strace: rseq(0x7f8979a300e0, 0x20, 0, 0x53053053) = 0
// strace: rseq(0x7f0000e0, 0x20, 0x1, 0x53053053) = -1 ENOSYS (INJECTED)
// strace: arch_prctl(ARCH_SET_FS, 0x7f8979a2f740) = 0
// strace: arch_prctl(0x3001 /* ARCH_??? */, 0x7ffd43db1be0) = -1 EINVAL (Invalid argument)
#[test]
fn rseq_and_arch_prctl() {
    let (a, _) = decode_args(&ev(nr::RSEQ, [0x7f89_79a3_00e0, 0x20, 0, 0x5305_3053, 0, 0], 0, Extra::None));
    assert_eq!(a, vec![("rseq", Value::Ptr(0x7f89_79a3_00e0)), ("rseq_len", Value::Int(32)), ("flags", s("0")), ("sig", Value::Ptr(0x5305_3053))]);
    assert_eq!(get(&decode_args(&ev(nr::RSEQ, [0, 0x20, 1, 0, 0, 0], -38, Extra::None)).0, "flags"), &s("0x1"));
    let (a, _) = decode_args(&ev(nr::ARCH_PRCTL, [0x1002, 0x7f89_79a2_f740, 0, 0, 0, 0], 0, Extra::None));
    assert_eq!(a, vec![("option", s("ARCH_SET_FS")), ("arg2", Value::Ptr(0x7f89_79a2_f740))]);
    let (a, _) = decode_args(&ev(nr::ARCH_PRCTL, [0x3001, 0x7ffd_43db_1be0, 0, 0, 0, 0], -22, Extra::None));
    assert_eq!(get(&a, "option"), &s("0x3001 /* ARCH_??? */"));
}

// strace: rt_sigprocmask(SIG_BLOCK, ~[], [], 8)   = 0
// strace: rt_sigprocmask(SIG_SETMASK, [], NULL, 8) = 0
// strace: rt_sigprocmask(SIG_UNBLOCK, [RTMIN RT_1], NULL, 8) = 0
#[test]
fn rt_sigprocmask_sets() {
    let e = with(nr::RT_SIGPROCMASK, [0, 0x7ffd_0000, 0x7ffd_0100, 8, 0, 0], 0, Extra::Sigset { set: Some(u64::MAX), oldset: Some(0) }, 0);
    let (a, f) = decode_args(&e);
    assert!(f.is_empty());
    assert_eq!(get(&a, "how"), &s("SIG_BLOCK"));
    assert_eq!(get(&a, "set"), &s("~[]"));
    assert_eq!(get(&a, "oldset"), &s("[]"));
    assert_eq!(get(&a, "sigsetsize"), &Value::Int(8));
    let e = with(nr::RT_SIGPROCMASK, [2, 0x7ffd_0000, 0, 8, 0, 0], 0, Extra::Sigset { set: Some(0), oldset: None }, 0);
    let (a, _) = decode_args(&e);
    assert_eq!((get(&a, "how"), get(&a, "set"), get(&a, "oset")), (&s("SIG_SETMASK"), &s("[]"), &Value::Ptr(0)));
    assert!(a.iter().all(|(n, _)| *n != "oldset"));
    let e = with(nr::RT_SIGPROCMASK, [1, 0x7ffd_0000, 0, 8, 0, 0], 0, Extra::Sigset { set: Some((1 << 31) | (1 << 32)), oldset: None }, 0);
    assert_eq!(get(&decode_args(&e).0, "set"), &s("[RTMIN RT_1]"));
    // The set pointer was bad: rt_sigprocmask(SIG_BLOCK, 0x8, NULL, 8) = -1 EFAULT
    let e = with(nr::RT_SIGPROCMASK, [0, 8, 0, 8, 0, 0], -14, Extra::Sigset { set: None, oldset: None }, tracer_common::syscall_flags::ENTER_READ_FAILED);
    assert_eq!(decode_args(&e).1, vec!["set"]);
}

// strace: rt_sigaction(SIGRT_1, {sa_handler=0x7f8979891870, sa_mask=[], sa_flags=SA_RESTORER|SA_ONSTACK|SA_RESTART|SA_SIGINFO, sa_restorer=0x7f8979842520}, NULL, 8) = 0
// strace: rt_sigaction(SIGUSR1, {sa_handler=SIG_DFL, sa_mask=[CHLD], sa_flags=0}, …, 8)
#[test]
fn rt_sigaction_of_glibc_sigcancel() {
    let act = KSigaction { handler: 0x7f89_7989_1870, flags: 0x1c00_0004, restorer: 0x7f89_7984_2520, mask: 0 };
    let e = with(nr::RT_SIGACTION, [33, 0x7ffd_0000, 0, 8, 0, 0], 0, Extra::Sigaction { act: Some(act), oldact: None }, 0);
    let (a, f) = decode_args(&e);
    assert!(f.is_empty());
    assert_eq!(get(&a, "sig"), &s("SIGRT_1"));
    assert_eq!(get(&a, "oact"), &Value::Ptr(0));
    assert_eq!(get(&a, "action"), &Value::Obj(vec![
        ("sa_handler", s("0x7f8979891870")),
        ("sa_mask", s("[]")),
        ("sa_flags", s("SA_RESTORER|SA_ONSTACK|SA_RESTART|SA_SIGINFO")),
        ("sa_restorer", Value::Ptr(0x7f89_7984_2520)),
    ]));
    let old = KSigaction { handler: 0, flags: 0, restorer: 0, mask: 1 << 16 };
    let e = with(nr::RT_SIGACTION, [10, 0, 0x7ffd_0000, 8, 0, 0], 0, Extra::Sigaction { act: None, oldact: Some(old) }, 0);
    let (a, _) = decode_args(&e);
    assert_eq!(get(&a, "old_action"), &Value::Obj(vec![("sa_handler", s("SIG_DFL")), ("sa_mask", s("[CHLD]")), ("sa_flags", s("0"))]));
}

// strace: prlimit64(0, RLIMIT_STACK, NULL, {rlim_cur=8192*1024, rlim_max=RLIM64_INFINITY}) = 0
#[test]
fn prlimit64_of_the_stack_limit() {
    let old = Rlimit { cur: 8192 * 1024, max: u64::MAX };
    let e = with(nr::PRLIMIT64, [0, 3, 0, 0x7ffd_0000, 0, 0], 0, Extra::Rlimit { new: None, old: Some(old) }, 0);
    let (a, f) = decode_args(&e);
    assert!(f.is_empty());
    assert_eq!(a, vec![
        ("pid", Value::Int(0)),
        ("resource", s("RLIMIT_STACK")),
        ("new_rlim", Value::Ptr(0)),
        ("old_rlim", Value::Ptr(0x7ffd_0000)),
        ("old_limit", Value::Obj(vec![("rlim_cur", s("8192*1024")), ("rlim_max", s("RLIM64_INFINITY"))])),
    ]);
}

fn ustr(b: &[u8], truncated: bool) -> Option<UserStr> {
    Some(UserStr { bytes: b.to_vec(), truncated })
}

// strace: execve("./th", ["./th"], 0x7ffe22c1ed10 /* 75 vars */) = 0
// strace: execve("/nonexistent/prog", ["./th", "a-long-argument-that-is-longer-t"..., "exactly-32-bytes-long-argument!!", "x", "\1\177\377\"\\\n", "6", "7", "8", "9", "10"], 0x7ffdeeafe050 /* 2 vars */) = -1 ENOENT
#[test]
fn execve_filename_argv_and_counts() {
    let x = ExecArgs { filename: ustr(b"./th", false), argv: vec![ustr(b"./th", false)], argc: 1, envc: 75, ..Default::default() };
    let e = with(nr::EXECVE, [0x5555_0000, 0x7ffe_0000, 0x7ffe_22c1_ed10, 0, 0, 0], 0, Extra::Exec(Box::new(x)), 0);
    let (a, f) = decode_args(&e);
    assert!(f.is_empty());
    assert_eq!(a, vec![
        ("filename", s("./th")),
        ("argv", Value::Arr(vec![s("./th")])),
        ("argc", Value::Int(1)),
        ("envp", Value::Ptr(0x7ffe_22c1_ed10)),
        ("envc", Value::Int(75)),
    ]);
    assert!(truncated(&e).is_empty());
    let argv = vec![
        ustr(b"./th", false),
        ustr(b"a-long-argument-that-is-longer-t", true),
        ustr(b"exactly-32-bytes-long-argument!!", false),
        ustr(b"x", false),
        ustr(b"\x01\x7f\xff\"\\\n", false),
        ustr(b"6", false),
        ustr(b"7", false),
        ustr(b"8", false),
    ];
    let x = ExecArgs { filename: ustr(b"/nonexistent/prog", false), argv, argc: 10, envc: 2, ..Default::default() };
    let e = with(nr::EXECVE, [0x5555_0000, 0x7ffe_0000, 0x7ffd_eeaf_e050, 0, 0, 0], -2, Extra::Exec(Box::new(x)), 0);
    let (a, _) = decode_args(&e);
    let Value::Arr(v) = get(&a, "argv") else { panic!() };
    assert_eq!(v.len(), 8);
    assert_eq!(v[4], s("\u{1}\u{7f}\u{fffd}\"\\\n"));
    assert_eq!(get(&a, "argc"), &Value::Int(10));
    assert_eq!(truncated(&e), vec!["argv[1]", "argv"]);
}

// strace: execveat(AT_FDCWD, "rel/prog", ["only"], 0x7ffdeeafe050 /* 2 vars */, AT_EMPTY_PATH) = -1 ENOSYS (INJECTED)
// strace: execve("/nonexistent/prog", NULL, NULL) = -1 ENOENT (No such file or directory)
#[test]
fn execveat_and_null_arrays() {
    let x = ExecArgs { filename: ustr(b"rel/prog", false), argv: vec![ustr(b"only", false)], argc: 1, envc: 2, ..Default::default() };
    let e = with(nr::EXECVEAT, [-100i64 as u64, 0x5555_0000, 0x7ffe_0000, 0x7ffd_eeaf_e050, 0x1000, 0], -38, Extra::Exec(Box::new(x)), 0);
    let (a, _) = decode_args(&e);
    assert_eq!(get(&a, "dfd"), &Value::Int(-100));
    assert_eq!(get(&a, "filename"), &s("rel/prog"));
    assert_eq!(get(&a, "flags"), &s("AT_EMPTY_PATH"));
    let x = ExecArgs { filename: ustr(b"/nonexistent/prog", false), ..Default::default() };
    let e = with(nr::EXECVE, [0x5555_0000, 0, 0, 0, 0, 0], -2, Extra::Exec(Box::new(x)), 0);
    let (a, f) = decode_args(&e);
    assert!(f.is_empty());
    assert!(a.iter().all(|(n, _)| *n != "argv"));
    assert_eq!((get(&a, "argc"), get(&a, "envc"), get(&a, "envp")), (&Value::Int(0), &Value::Int(0), &Value::Ptr(0)));
}

fn number(name: &str) -> u32 {
    crate::model::syscalls::table::number(name).unwrap()
}

// strace: close(3)                                = 0
// strace: openat(AT_FDCWD, "/etc/ld.so.cache", O_RDONLY|O_CLOEXEC) = 3
// strace: kill(1234, SIGTERM)                     = 0
// strace: getrlimit(RLIMIT_NOFILE, {rlim_cur=1024, rlim_max=512*1024}) = 0
#[test]
fn syscalls_without_a_decoder_show_the_kernel_parameters() {
    assert_eq!(decode_args(&ev(number("close"), [3, 9, 9, 9, 9, 9], 0, Extra::None)).0, vec![("fd", Value::Int(3))]);
    let (a, _) = decode_args(&ev(number("openat"), [-100i64 as u64, 0x7f89_79a5_b0b1, 0x80000, 0, 0, 0], 3, Extra::None));
    assert_eq!(a, vec![("dfd", Value::Int(-100)), ("filename", Value::Ptr(0x7f89_79a5_b0b1)), ("flags", s("0x80000")), ("mode", s("0"))]);
    assert_eq!(decode_args(&ev(number("kill"), [1234, 15, 0, 0, 0, 0], 0, Extra::None)).0, vec![("pid", Value::Int(1234)), ("sig", s("SIGTERM"))]);
    assert_eq!(decode_args(&ev(number("getrlimit"), [7, 0x7ffd_0000, 0, 0, 0, 0], 0, Extra::None)).0, vec![("resource", s("RLIMIT_NOFILE")), ("rlim", Value::Ptr(0x7ffd_0000))]);
    // An int is the register's low 32 bits, signed as its C type (an fd always).
    assert_eq!(decode_args(&ev(number("close"), [0x1_ffff_ffff, 0, 0, 0, 0, 0], -9, Extra::None)).0, vec![("fd", Value::Int(-1))]);
    assert_eq!(decode_args(&ev(number("dup2"), [0x1_ffff_ffff, 3, 0, 0, 0, 0], -9, Extra::None)).0, vec![("oldfd", Value::Int(-1)), ("newfd", Value::Int(3))]);
    assert_eq!(decode_args(&ev(number("getpid"), [1, 2, 3, 4, 5, 6], 1, Extra::None)).0, vec![]);
    assert_eq!(decode_args(&ev(number("dup"), [0xffff_ffff, 0, 0, 0, 0, 0], -9, Extra::None)).0, vec![("fildes", Value::Int(4294967295))]);
    // Unknown to the kernel's metadata: nothing but `raw`.
    assert_eq!(decode_args(&ev(999, [1, 2, 3, 4, 5, 6], -38, Extra::None)).0, vec![]);
}

/// A value's JSON type.
fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Int(_) => "integer",
        Value::Ptr(_) | Value::Str(_) => "string",
        Value::Bool(_) => "boolean",
        Value::Obj(_) => "object",
        Value::Arr(_) => "array",
    }
}

/// `docs/schema.json`'s promise for `args`: a member's name says its type.
/// Every syscall the kernel declares, with each kind of user memory a
/// decoder shows.
#[test]
fn every_argument_name_keeps_one_json_type() {
    let ca = CloneArgs { len: 88, parent_tid_value: Some(5), ..Default::default() };
    let sa = KSigaction { handler: 1, flags: names::SA_RESTORER, restorer: 2, mask: 0 };
    let rl = Rlimit { cur: 1, max: 2 };
    let x = ExecArgs { filename: ustr(b"x", false), argv: vec![ustr(b"x", false), None], argc: 3, envc: 1, ..Default::default() };
    let extras = [
        Extra::None,
        Extra::Clone3(ca),
        Extra::Wait4 { status: Some(0x100), rusage: Some(Rusage { utime_us: 1, stime_us: 2, longs: [0; 14] }) },
        Extra::Sigset { set: Some(0), oldset: Some(1) },
        Extra::Sigaction { act: Some(sa), oldact: Some(sa) },
        Extra::Rlimit { new: Some(rl), old: Some(rl) },
        Extra::Exec(Box::new(x)),
    ];
    let mut seen: std::collections::HashMap<&str, (&str, &str)> = Default::default();
    let mut keys = 0;
    for &(name, _) in crate::model::syscalls::args::ARGS {
        for extra in &extras {
            let (a, _) = decode_args(&ev(number(name), [1, 2, 3, 4, 5, 6], 0, extra.clone()));
            for (k, v) in &a {
                let t = json_type(v);
                let &mut (t0, first) = seen.entry(k).or_insert((t, name));
                assert_eq!(t0, t, "args.{k}: {t} in {name}, {t0} in {first}");
                keys += 1;
            }
        }
    }
    assert!(seen.len() > 300 && keys > 5000, "{} names, {keys} members", seen.len());
}
