//! Unit tests of [`super`], quoting the strace lines they match.

use super::*;
use crate::model::decode::{CloneArgs, Comm, ExecArgs, Extra, Header, KSigaction, Rlimit};

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
