//! Every family's strings, as strace 6.1 prints them.

use super::*;

// All expected strings are copied from strace 6.1 output
// (`strace -e inject=<syscall>:error=ENOSYS` on raw syscall() calls,
// or the real call where it fails harmlessly).

#[test]
fn decimal_and_hex_by_hand_match_std() {
    for v in [0i64, 1, -1, 9, 10, -10, 99, 100, i64::MAX, i64::MIN, -4095, 1 << 53] {
        let mut s = String::new();
        write_dec(&mut s, v);
        assert_eq!(s, v.to_string());
    }
    for v in [0u64, 1, 9, 10, u64::MAX, u64::MAX - 1, 1 << 63, 10_000_000_000_000_000_000] {
        let (mut d, mut h) = (String::new(), Vec::new());
        write_udec(&mut d, v);
        write_hex(&mut h, v);
        assert_eq!(d, v.to_string());
        assert_eq!(h, format!("{v:#x}").as_bytes());
    }
}

#[test]
fn remembered_flag_texts_never_answer_for_another_value_or_table() {
    // One memo for every call, as a renderer has.
    let memo = std::cell::RefCell::new(FlagsMemo::default());
    let via = |write: &dyn Fn(&mut MemoSink<'_>)| {
        let mut out = Vec::new();
        write(&mut MemoSink { out: &mut out, memo: Some(&mut *memo.borrow_mut()) });
        String::from_utf8(out).unwrap()
    };
    // clone and clone3 share CLONE_FLAGS (clone without its last three
    // entries): the same bits must still print per call.
    assert_eq!(via(&|s| write_clone3_flags(s, 0x80)), "CLONE_NEWTIME");
    assert_eq!(via(&|s| write_clone_flags(s, 0x8000_0000)), "CLONE_IO");
    assert_eq!(via(&|s| write_clone3_flags(s, 0x1_0000_0000)), "CLONE_CLEAR_SIGHAND");
    assert_eq!(via(&|s| write_clone_flags(s, 0x1_0000_0000)), "0x100000000 /* CLONE_??? */");
    assert_eq!(via(&|s| write_clone3_flags(s, 0x1_0000_0000)), "CLONE_CLEAR_SIGHAND");
    // Far more values than the memo has slots, twice over, in a
    // different order the second time: every answer as rendered afresh.
    let values: Vec<u64> = (0..300u64).map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (i % 40)).collect();
    let fresh: Vec<String> = values.iter().map(|&v| string_of(|s| render_flags(s, v, PROT, Some("PROT_???")))).collect();
    let forth = 0..values.len();
    for i in forth.clone().chain(forth.rev()) {
        let v = values[i];
        assert_eq!(via(&|s| write_prot(s, v)), fresh[i], "{v:#x}");
        assert_eq!(via(&|s| write_sa_flags(s, v)), string_of(|s| render_flags(s, v, SA_FLAGS, Some("SA_???"))));
    }
}

#[test]
fn prot_strings() {
    // mprotect(NULL, 0, PROT_NONE)            = 0
    assert_eq!(prot(0), "PROT_NONE");
    // mprotect(NULL, 0, PROT_READ|PROT_WRITE) = 0
    assert_eq!(prot(1 | 2), "PROT_READ|PROT_WRITE");
    // mprotect(NULL, 0, PROT_READ|PROT_EXEC)  = 0
    assert_eq!(prot(1 | 4), "PROT_READ|PROT_EXEC");
    // mprotect(NULL, 0, PROT_GROWSDOWN)       = 0
    assert_eq!(prot(0x100_0000), "PROT_GROWSDOWN");
    // mprotect(NULL, 0, 0x100 /* PROT_??? */) = 0
    assert_eq!(prot(0x100), "0x100 /* PROT_??? */");
    // mprotect(NULL, 0, PROT_READ|0x100)      = 0
    assert_eq!(prot(0x101), "PROT_READ|0x100");
    // mprotect(NULL, 0, PROT_SEM|PROT_GROWSDOWN) = 0
    assert_eq!(prot(0x100_0008), "PROT_SEM|PROT_GROWSDOWN");
    // mprotect(NULL, 0, PROT_GROWSUP)         = 0
    assert_eq!(prot(0x200_0000), "PROT_GROWSUP");
    // mprotect(NULL, 0, PROT_READ|0x100000000) = 0
    assert_eq!(prot(0x1_0000_0001), "PROT_READ|0x100000000");
    // mprotect(NULL, 0, PROT_READ|PROT_WRITE|PROT_EXEC|PROT_SEM|PROT_GROWSDOWN|PROT_GROWSUP|0xfcfffff0) = -1 EINVAL
    assert_eq!(
        prot(0xffff_ffff),
        "PROT_READ|PROT_WRITE|PROT_EXEC|PROT_SEM|PROT_GROWSDOWN|PROT_GROWSUP|0xfcfffff0"
    );
    // mprotect(NULL, 0, PROT_READ|PROT_WRITE|PROT_EXEC|PROT_SEM|PROT_GROWSDOWN|PROT_GROWSUP|0xfffffffffcfffff0)
    assert_eq!(
        prot(u64::MAX),
        "PROT_READ|PROT_WRITE|PROT_EXEC|PROT_SEM|PROT_GROWSDOWN|PROT_GROWSUP|0xfffffffffcfffff0"
    );
}

#[test]
fn mmap_flags_strings() {
    // mmap(NULL, 0, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = -1 EINVAL
    assert_eq!(mmap_flags(0x22), "MAP_PRIVATE|MAP_ANONYMOUS");
    // mmap(NULL, 0, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_STACK, -1, 0) = -1 EINVAL
    assert_eq!(mmap_flags(0x20022), "MAP_PRIVATE|MAP_ANONYMOUS|MAP_STACK");
    // mmap(NULL, 0, PROT_NONE, MAP_PRIVATE|MAP_FIXED|MAP_DENYWRITE, -1, 0) = -1 EBADF
    assert_eq!(mmap_flags(0x812), "MAP_PRIVATE|MAP_FIXED|MAP_DENYWRITE");
    // mmap(NULL, 0, PROT_NONE, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS, -1, 0) = -1 EINVAL
    assert_eq!(mmap_flags(0x32), "MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS");
    // mmap(NULL, 0, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED_NOREPLACE, -1, 0) = -1 EINVAL
    assert_eq!(mmap_flags(0x100022), "MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED_NOREPLACE");
    // mmap(NULL, 0, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_HUGETLB|21<<MAP_HUGE_SHIFT, -1, 0) = -1 EINVAL
    assert_eq!(
        mmap_flags(0x22 | 0x40000 | (21 << 26)),
        "MAP_PRIVATE|MAP_ANONYMOUS|MAP_HUGETLB|21<<MAP_HUGE_SHIFT"
    );
    // mmap(NULL, 0, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS|30<<MAP_HUGE_SHIFT, -1, 0) = -1 EINVAL
    assert_eq!(mmap_flags(0x22 | (30 << 26)), "MAP_PRIVATE|MAP_ANONYMOUS|30<<MAP_HUGE_SHIFT");
    // mmap(NULL, 0, PROT_NONE, MAP_FILE|21<<MAP_HUGE_SHIFT, -1, 0) = -1 EBADF
    assert_eq!(mmap_flags(21 << 26), "MAP_FILE|21<<MAP_HUGE_SHIFT");
    // mmap(NULL, 0, PROT_NONE, MAP_PRIVATE|32<<MAP_HUGE_SHIFT, -1, 0) = -1 EBADF
    assert_eq!(mmap_flags(0x8000_0002), "MAP_PRIVATE|32<<MAP_HUGE_SHIFT");
    // MAP_UNINITIALIZED (0x4000000) is bit 26:
    // mmap(NULL, 0, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS|1<<MAP_HUGE_SHIFT, -1, 0) = -1 EINVAL
    assert_eq!(mmap_flags(0x400_0022), "MAP_PRIVATE|MAP_ANONYMOUS|1<<MAP_HUGE_SHIFT");
    // Map type 0 and the other types:
    // mmap(NULL, 0, PROT_NONE, MAP_FILE, -1, 0) = -1 EBADF
    assert_eq!(mmap_flags(0), "MAP_FILE");
    // mmap(NULL, 0, PROT_NONE, MAP_FILE|MAP_ANONYMOUS, -1, 0) = -1 EINVAL
    assert_eq!(mmap_flags(0x20), "MAP_FILE|MAP_ANONYMOUS");
    // mmap(NULL, 0, PROT_NONE, MAP_SHARED, -1, 0) = -1 EBADF
    assert_eq!(mmap_flags(1), "MAP_SHARED");
    // mmap(NULL, 0, PROT_NONE, MAP_SHARED_VALIDATE|MAP_FIXED, -1, 0) = -1 EBADF
    assert_eq!(mmap_flags(0x13), "MAP_SHARED_VALIDATE|MAP_FIXED");
    // mmap(NULL, 0, PROT_NONE, 0x4 /* MAP_??? */, -1, 0) = -1 EBADF
    assert_eq!(mmap_flags(4), "0x4 /* MAP_??? */");
    // mmap(NULL, 0, PROT_NONE, 0x4 /* MAP_??? */|MAP_FIXED, -1, 0) = -1 EBADF
    assert_eq!(mmap_flags(0x14), "0x4 /* MAP_??? */|MAP_FIXED");
    // Unknown flag bits are bare hex (no comment) after the type:
    // mmap(NULL, 0, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS|0x200000, -1, 0) = -1 EINVAL
    assert_eq!(mmap_flags(0x200022), "MAP_PRIVATE|MAP_ANONYMOUS|0x200000");
    // mmap(NULL, 0, PROT_NONE, MAP_FILE|0x200000, -1, 0) = -1 EBADF
    assert_eq!(mmap_flags(0x200000), "MAP_FILE|0x200000");
    // Only the low 32 bits count:
    // mmap(NULL, 0, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = -1 EINVAL   [flags=0x100000022]
    assert_eq!(mmap_flags(0x1_0000_0022), "MAP_PRIVATE|MAP_ANONYMOUS");
    // mmap(NULL, 0, PROT_NONE, MAP_FILE, -1, 0) = -1 EBADF   [flags=0xffffffff00000000]
    assert_eq!(mmap_flags(0xffff_ffff_0000_0000), "MAP_FILE");
    // Table order is not bit order:
    // mmap(NULL, 0, PROT_NONE, 0xf /* MAP_??? */|MAP_FIXED|MAP_ANONYMOUS|MAP_32BIT|MAP_NORESERVE|MAP_POPULATE|MAP_NONBLOCK|MAP_GROWSDOWN|MAP_DENYWRITE|MAP_EXECUTABLE|MAP_LOCKED|MAP_STACK|MAP_HUGETLB|MAP_SYNC|MAP_FIXED_NOREPLACE|0x3e00680|63<<MAP_HUGE_SHIFT, -1, 0) = -1 EINVAL
    assert_eq!(
        mmap_flags(0xffff_ffff),
        "0xf /* MAP_??? */|MAP_FIXED|MAP_ANONYMOUS|MAP_32BIT|MAP_NORESERVE|MAP_POPULATE|\
         MAP_NONBLOCK|MAP_GROWSDOWN|MAP_DENYWRITE|MAP_EXECUTABLE|MAP_LOCKED|MAP_STACK|\
         MAP_HUGETLB|MAP_SYNC|MAP_FIXED_NOREPLACE|0x3e00680|63<<MAP_HUGE_SHIFT"
    );
}

#[test]
fn clone_flags_strings() {
    // clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=NULL) = -1 ENOSYS (INJECTED)
    assert_eq!(clone_flags(0x0120_0011), "CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD");
    // clone(child_stack=NULL, flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID, parent_tid=NULL, tls=NULL, child_tidptr=NULL) = -1 ENOSYS (INJECTED)
    assert_eq!(
        clone_flags(0x3d0f00),
        "CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|\
         CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID"
    );
    // clone(child_stack=NULL, flags=CLONE_VM|...|CLONE_CHILD_CLEARTID|SIGCHLD, parent_tid=NULL, tls=NULL, child_tidptr=NULL) = -1 ENOSYS (INJECTED)
    assert_eq!(
        clone_flags(0x3d0f11),
        "CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|\
         CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID|SIGCHLD"
    );
    // clone(child_stack=NULL, flags=SIGCHLD)  = -1 ENOSYS (INJECTED)
    assert_eq!(clone_flags(0x11), "SIGCHLD");
    // clone(child_stack=NULL, flags=0)        = -1 ENOSYS (INJECTED)
    assert_eq!(clone_flags(0), "0");
    // The signal byte goes through the signal printer, numbers are decimal:
    // clone(child_stack=NULL, flags=128)      = -1 ENOSYS (INJECTED)
    assert_eq!(clone_flags(0x80), "128");
    // clone(child_stack=NULL, flags=CLONE_VM|128) = -1 ENOSYS (INJECTED)
    assert_eq!(clone_flags(0x180), "CLONE_VM|128");
    // clone(child_stack=NULL, flags=255)      = -1 ENOSYS (INJECTED)
    assert_eq!(clone_flags(0xff), "255");
    // clone(child_stack=NULL, flags=SIGRTMIN) = -1 ENOSYS (INJECTED)
    assert_eq!(clone_flags(0x20), "SIGRTMIN");
    // clone(child_stack=NULL, flags=CLONE_VM|SIGRT_32) = -1 ENOSYS (INJECTED)
    assert_eq!(clone_flags(0x140), "CLONE_VM|SIGRT_32");
    // clone(child_stack=NULL, flags=CLONE_IO) = -1 ENOSYS (INJECTED)
    assert_eq!(clone_flags(0x8000_0000), "CLONE_IO");
    // clone3-only bits are unknown to clone(2):
    // clone(child_stack=NULL, flags=0x100000000 /* CLONE_??? */) = -1 ENOSYS (INJECTED)
    assert_eq!(clone_flags(0x1_0000_0000), "0x100000000 /* CLONE_??? */");
    // clone(child_stack=NULL, flags=0x100000000 /* CLONE_??? */|SIGCHLD) = -1 ENOSYS (INJECTED)
    assert_eq!(clone_flags(0x1_0000_0011), "0x100000000 /* CLONE_??? */|SIGCHLD");
    // clone(child_stack=NULL, flags=0x400000 /* CLONE_??? */) = -1 ENOSYS (INJECTED)   [CLONE_DETACHED]
    assert_eq!(clone_flags(0x40_0000), "0x400000 /* CLONE_??? */");
    // clone(child_stack=NULL, flags=CLONE_VM|0x300000000) = -1 ENOSYS (INJECTED)
    assert_eq!(clone_flags(0x3_0000_0100), "CLONE_VM|0x300000000");
    // clone(child_stack=NULL, flags=CLONE_VM|0x200000000|SIGCHLD) = -1 ENOSYS (INJECTED)
    assert_eq!(clone_flags(0x2_0000_0111), "CLONE_VM|0x200000000|SIGCHLD");
    // clone(child_stack=NULL, flags=CLONE_VM|CLONE_FS|...|CLONE_IO|0xffffffff00400000|255, ...) = -1 ENOSYS (INJECTED)
    assert_eq!(
        clone_flags(u64::MAX),
        "CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_PIDFD|CLONE_PTRACE|CLONE_VFORK|\
         CLONE_PARENT|CLONE_THREAD|CLONE_NEWNS|CLONE_SYSVSEM|CLONE_SETTLS|\
         CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID|CLONE_UNTRACED|CLONE_CHILD_SETTID|\
         CLONE_NEWCGROUP|CLONE_NEWUTS|CLONE_NEWIPC|CLONE_NEWUSER|CLONE_NEWPID|\
         CLONE_NEWNET|CLONE_IO|0xffffffff00400000|255"
    );
}

#[test]
fn clone3_flags_strings() {
    // clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID, child_tid=NULL, ...}, 88) = -1 ENOSYS (INJECTED)
    assert_eq!(
        clone3_flags(0x3d0f00),
        "CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|\
         CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID"
    );
    // clone3({flags=CLONE_INTO_CGROUP, exit_signal=0, stack=NULL, stack_size=0, cgroup=0}, 88) = -1 ENOSYS (INJECTED)
    assert_eq!(clone3_flags(0x2_0000_0000), "CLONE_INTO_CGROUP");
    // clone3({flags=0, exit_signal=0, stack=NULL, stack_size=0}, 88) = -1 ENOSYS (INJECTED)
    assert_eq!(clone3_flags(0), "0");
    // clone3({flags=CLONE_NEWTIME, exit_signal=0, stack=NULL, stack_size=0}, 88) = -1 ENOSYS (INJECTED)
    assert_eq!(clone3_flags(0x80), "CLONE_NEWTIME");
    // clone3({flags=CLONE_CLEAR_SIGHAND, exit_signal=0, stack=NULL, stack_size=0}, 88) = -1 ENOSYS (INJECTED)
    assert_eq!(clone3_flags(0x1_0000_0000), "CLONE_CLEAR_SIGHAND");
    // clone3({flags=0x11 /* CLONE_??? */, exit_signal=0, stack=NULL, stack_size=0}, 88) = -1 ENOSYS (INJECTED)
    assert_eq!(clone3_flags(0x11), "0x11 /* CLONE_??? */");
    // clone3({flags=CLONE_VM|0x400000000, exit_signal=0, stack=NULL, stack_size=0}, 88) = -1 ENOSYS (INJECTED)
    assert_eq!(clone3_flags(0x4_0000_0100), "CLONE_VM|0x400000000");
    // clone3({flags=CLONE_VM|...|CLONE_IO|CLONE_NEWTIME|CLONE_CLEAR_SIGHAND|CLONE_INTO_CGROUP|0xfffffffc0040007f, ...}, 88) = -1 ENOSYS (INJECTED)
    assert_eq!(
        clone3_flags(u64::MAX),
        "CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_PIDFD|CLONE_PTRACE|CLONE_VFORK|\
         CLONE_PARENT|CLONE_THREAD|CLONE_NEWNS|CLONE_SYSVSEM|CLONE_SETTLS|\
         CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID|CLONE_UNTRACED|CLONE_CHILD_SETTID|\
         CLONE_NEWCGROUP|CLONE_NEWUTS|CLONE_NEWIPC|CLONE_NEWUSER|CLONE_NEWPID|\
         CLONE_NEWNET|CLONE_IO|CLONE_NEWTIME|CLONE_CLEAR_SIGHAND|CLONE_INTO_CGROUP|\
         0xfffffffc0040007f"
    );
    // The clone(2) slice must stop right before the clone3-only entries.
    let clone3_only: Vec<&str> =
        CLONE_FLAGS[CLONE_FLAGS.len() - CLONE3_ONLY..].iter().map(|e| e.1).collect();
    assert_eq!(clone3_only, ["CLONE_NEWTIME", "CLONE_CLEAR_SIGHAND", "CLONE_INTO_CGROUP"]);
}

#[test]
fn wait4_options_strings() {
    // wait4(-1, NULL, 0, NULL)                = -1 ENOSYS (INJECTED)
    assert_eq!(wait4_options(0), "0");
    // wait4(-1, NULL, WNOHANG, NULL)          = -1 ENOSYS (INJECTED)
    assert_eq!(wait4_options(1), "WNOHANG");
    // wait4(-1, NULL, WNOHANG|__WALL, NULL)   = -1 ENOSYS (INJECTED)
    assert_eq!(wait4_options(0x4000_0001), "WNOHANG|__WALL");
    // WUNTRACED == WSTOPPED == 2; strace prints WSTOPPED:
    // wait4(-1, NULL, WSTOPPED, NULL)         = -1 ENOSYS (INJECTED)
    assert_eq!(wait4_options(2), "WSTOPPED");
    // wait4(-1, NULL, WCONTINUED, NULL)       = -1 ENOSYS (INJECTED)
    assert_eq!(wait4_options(8), "WCONTINUED");
    // wait4(-1, NULL, __WCLONE, NULL)         = -1 ENOSYS (INJECTED)
    assert_eq!(wait4_options(0x8000_0000), "__WCLONE");
    // wait4(-1, NULL, __WNOTHREAD, NULL)      = -1 ENOSYS (INJECTED)
    assert_eq!(wait4_options(0x2000_0000), "__WNOTHREAD");
    // wait4(-1, NULL, WEXITED, NULL)          = -1 ENOSYS (INJECTED)
    assert_eq!(wait4_options(4), "WEXITED");
    // wait4(-1, NULL, WNOWAIT, NULL)          = -1 ENOSYS (INJECTED)
    assert_eq!(wait4_options(0x100_0000), "WNOWAIT");
    // wait4(-1, NULL, 0x10 /* W??? */, NULL)  = -1 ENOSYS (INJECTED)
    assert_eq!(wait4_options(0x10), "0x10 /* W??? */");
    // options is an int: wait4(-1, NULL, WNOHANG, NULL) for 0x100000001
    assert_eq!(wait4_options(0x1_0000_0001), "WNOHANG");
    // wait4(-1, NULL, WNOHANG|WEXITED|WSTOPPED|WCONTINUED|__WCLONE|__WALL|__WNOTHREAD, NULL) = -1 ENOSYS (INJECTED)
    assert_eq!(
        wait4_options(0xe000_000f),
        "WNOHANG|WEXITED|WSTOPPED|WCONTINUED|__WCLONE|__WALL|__WNOTHREAD"
    );
    // wait4(-1, NULL, WNOHANG|WEXITED|WSTOPPED|WCONTINUED|WNOWAIT|__WCLONE|__WALL|__WNOTHREAD|0x1efffff0, NULL) = -1 ENOSYS (INJECTED)
    assert_eq!(
        wait4_options(0xffff_ffff),
        "WNOHANG|WEXITED|WSTOPPED|WCONTINUED|WNOWAIT|__WCLONE|__WALL|__WNOTHREAD|0x1efffff0"
    );
}

#[test]
fn errno_strings() {
    // getppid() = -1 EPERM (Operation not permitted) (INJECTED)
    assert_eq!(errno_name(1), Some("EPERM"));
    // getppid() = -1 ENOENT (No such file or directory) (INJECTED)
    assert_eq!(errno_name(2), Some("ENOENT"));
    // getppid() = -1 EAGAIN (Resource temporarily unavailable) (INJECTED)
    assert_eq!(errno_name(11), Some("EAGAIN"));
    // getppid() = -1 EDEADLK (Resource deadlock avoided) (INJECTED)
    assert_eq!(errno_name(35), Some("EDEADLK"));
    // getppid() = -1 ENOSYS (Function not implemented) (INJECTED)
    assert_eq!(errno_name(38), Some("ENOSYS"));
    // getppid() = -1 EHWPOISON (Memory page has hardware error) (INJECTED)
    assert_eq!(errno_name(133), Some("EHWPOISON"));
    // getppid() = ? ERESTARTSYS (To be restarted if SA_RESTART is set) (INJECTED)
    assert_eq!(errno_name(512), Some("ERESTARTSYS"));
    // getppid() = -1 ERECALLCONFLICT (Unknown error 530) (INJECTED)
    assert_eq!(errno_name(530), Some("ERECALLCONFLICT"));
    // Unassigned: getppid() = -1 (errno 41) (INJECTED), likewise 58, 134, 520, 532
    for e in [0, 41, 58, 134, 511, 520, 532, 4095] {
        assert_eq!(errno_name(e), None, "errno {e}");
    }
    assert_eq!(errno_from_ret(-38), Some("ENOSYS"));
    assert_eq!(errno_from_ret(-512), Some("ERESTARTSYS"));
    assert_eq!(errno_from_ret(-1), Some("EPERM"));
    assert_eq!(errno_from_ret(0), None);
    assert_eq!(errno_from_ret(38), None);
    assert_eq!(errno_from_ret(-4095), None); // in range, but unnamed
    assert_eq!(errno_from_ret(-4096), None); // not an error return
    assert_eq!(errno_from_ret(i64::MIN), None);
    // Table sanity: ascending, unique values.
    assert!(ERRNOS.windows(2).all(|w| w[0].0 < w[1].0));
    assert_eq!(ERRNOS.iter().filter(|e| e.0 <= 133).count(), 131);
}

#[test]
fn signal_strings() {
    // kill(0, SIGKILL)                        = -1 ENOSYS (INJECTED)
    assert_eq!(signal_name(9), Some("SIGKILL"));
    assert_eq!(signal_string(9), "SIGKILL");
    // kill(0, SIGCHLD)                        = -1 ENOSYS (INJECTED)
    assert_eq!(signal_name(17), Some("SIGCHLD"));
    assert_eq!(signal_string(17), "SIGCHLD");
    // kill(0, SIGHUP) / kill(0, SIGSYS)
    assert_eq!(signal_string(1), "SIGHUP");
    assert_eq!(signal_string(31), "SIGSYS");
    // kill(0, SIGRTMIN)                       = -1 ENOSYS (INJECTED)
    assert_eq!(signal_string(32), "SIGRTMIN");
    // kill(0, SIGRT_1)                        = -1 ENOSYS (INJECTED)
    assert_eq!(signal_string(33), "SIGRT_1");
    // kill(0, SIGRT_2)                        = -1 ENOSYS (INJECTED)
    assert_eq!(signal_string(34), "SIGRT_2");
    // kill(0, SIGRT_32)                       = -1 ENOSYS (INJECTED)
    assert_eq!(signal_string(64), "SIGRT_32");
    // kill(0, 65)                             = -1 ENOSYS (INJECTED)
    assert_eq!(signal_string(65), "65");
    // kill(0, 0)                              = -1 ENOSYS (INJECTED)
    assert_eq!(signal_string(0), "0");
    // kill(0, 1000)                           = -1 ENOSYS (INJECTED)
    assert_eq!(signal_string(1000), "1000");
    // kill(0, -1)                             = -1 ENOSYS (INJECTED)
    assert_eq!(signal_string(u64::MAX), "-1");
    // kill(0, SIGKILL) for sig=0x100000009 (int truncation)
    assert_eq!(signal_string(0x1_0000_0009), "SIGKILL");
    // signal_name is exact and covers only 1..=31.
    assert_eq!(signal_name(0), None);
    assert_eq!(signal_name(32), None);
    assert_eq!(signal_name(0x1_0000_0009), None);
    assert!((1..=31).all(|s| signal_name(s).is_some()));
}

#[test]
fn sigset_strings() {
    // rt_sigprocmask(SIG_BLOCK, [], NULL, 8)  = 0
    assert_eq!(sigset(0), "[]");
    // rt_sigprocmask(SIG_BLOCK, ~[], NULL, 8) = 0
    assert_eq!(sigset(u64::MAX), "~[]");
    // rt_sigprocmask(SIG_BLOCK, [CHLD], NULL, 8) = 0
    assert_eq!(sigset(1 << 16), "[CHLD]");
    // rt_sigprocmask(SIG_BLOCK, [RTMIN RT_1], NULL, 8) = 0
    assert_eq!(sigset((1 << 31) | (1 << 32)), "[RTMIN RT_1]");
    // rt_sigprocmask(SIG_BLOCK, ~[KILL STOP], NULL, 8) = -1 ENOSYS (INJECTED)
    assert_eq!(sigset(!(1u64 << 8) & !(1 << 18)), "~[KILL STOP]");
    // rt_sigprocmask(SIG_BLOCK, [RT_32], NULL, 8) = -1 ENOSYS (INJECTED)
    assert_eq!(sigset(1 << 63), "[RT_32]");
    // rt_sigprocmask(SIG_BLOCK, [HUP INT QUIT ILL TRAP ABRT BUS FPE KILL USR1], NULL, 8)
    assert_eq!(sigset(0x3ff), "[HUP INT QUIT ILL TRAP ABRT BUS FPE KILL USR1]");
    // 41 bits set is listed, 42 is shown as the complement:
    // rt_sigprocmask(SIG_BLOCK, [HUP ... RTMIN RT_1 ... RT_9], NULL, 8)
    assert!(sigset(u64::MAX >> 23).starts_with("[HUP INT "));
    assert!(sigset(u64::MAX >> 23).ends_with(" RT_8 RT_9]"));
    // rt_sigprocmask(SIG_BLOCK, ~[RT_11 RT_12 ... RT_32], NULL, 8)
    assert!(sigset(u64::MAX >> 22).starts_with("~[RT_11 RT_12 "));
    assert!(sigset(u64::MAX >> 22).ends_with(" RT_31 RT_32]"));
}

#[test]
fn sigaction_strings() {
    // rt_sigprocmask(SIG_BLOCK, …) / SIG_UNBLOCK / SIG_SETMASK / 0x3 /* SIG_??? */
    assert_eq!(sigprocmask_how(0), "SIG_BLOCK");
    assert_eq!(sigprocmask_how(1), "SIG_UNBLOCK");
    assert_eq!(sigprocmask_how(2), "SIG_SETMASK");
    assert_eq!(sigprocmask_how(3), "0x3 /* SIG_??? */");
    // rt_sigaction(SIGRT_1, {sa_handler=0x7f8979891870, sa_mask=[], sa_flags=SA_RESTORER|SA_ONSTACK|SA_RESTART|SA_SIGINFO, sa_restorer=0x7f8979842520}, NULL, 8) = 0
    assert_eq!(sa_flags(0x1c00_0004), "SA_RESTORER|SA_ONSTACK|SA_RESTART|SA_SIGINFO");
    // rt_sigaction(SIGCHLD, {sa_handler=0x1234, sa_mask=[], sa_flags=0}, NULL, 8) = 0
    assert_eq!(sa_flags(0), "0");
    // sa_flags=SA_NOCLDSTOP / SA_NOCLDWAIT / SA_NODEFER / SA_RESETHAND
    assert_eq!(sa_flags(1), "SA_NOCLDSTOP");
    assert_eq!(sa_flags(2), "SA_NOCLDWAIT");
    assert_eq!(sa_flags(0x4000_0000), "SA_NODEFER");
    assert_eq!(sa_flags(0x8000_0000), "SA_RESETHAND");
    // sa_flags=0x400 /* SA_??? */ ; sa_flags=0x100000000 /* SA_??? */
    assert_eq!(sa_flags(0x400), "0x400 /* SA_??? */");
    assert_eq!(sa_flags(0x1_0000_0000), "0x100000000 /* SA_??? */");
    // sa_flags=SA_RESTORER|SA_ONSTACK|SA_RESTART|SA_INTERRUPT|SA_NODEFER|SA_RESETHAND|SA_SIGINFO|SA_NOCLDSTOP|SA_NOCLDWAIT|0x3fffff8
    assert_eq!(
        sa_flags(0xffff_ffff),
        "SA_RESTORER|SA_ONSTACK|SA_RESTART|SA_INTERRUPT|SA_NODEFER|SA_RESETHAND|SA_SIGINFO|SA_NOCLDSTOP|SA_NOCLDWAIT|0x3fffff8"
    );
    // sa_handler=SIG_DFL / SIG_IGN / 0x2
    assert_eq!(sa_handler(0), "SIG_DFL");
    assert_eq!(sa_handler(1), "SIG_IGN");
    assert_eq!(sa_handler(2), "0x2");
}

#[test]
fn si_code_strings() {
    // --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=13766, si_uid=0, si_status=1, si_utime=0, si_stime=0} ---
    assert_eq!(si_code(17, 1), "CLD_EXITED");
    // --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_KILLED, …, si_status=SIGKILL, …} ---
    assert_eq!(si_code(17, 2), "CLD_KILLED");
    assert_eq!(si_code(17, 5), "CLD_STOPPED");
    assert_eq!(si_code(17, 6), "CLD_CONTINUED");
    // --- SIGCHLD {si_signo=SIGCHLD, si_code=SI_USER, si_pid=13765, si_uid=0} ---
    assert_eq!(si_code(17, 0), "SI_USER");
    // --- SIGCHLD {si_signo=SIGCHLD, si_code=SI_QUEUE, si_pid=5, si_uid=6} ---
    assert_eq!(si_code(17, -1), "SI_QUEUE");
    // --- SIGCHLD {si_signo=SIGCHLD, si_code=SI_TKILL, …} ---  and SIGSTOP's SI_TKILL
    assert_eq!(si_code(17, -6), "SI_TKILL");
    assert_eq!(si_code(19, -6), "SI_TKILL");
    // CLD_* only name SIGCHLD's codes.
    assert_eq!(si_code(10, 1), "1");
    assert_eq!(signal_result(1), "ignored");
}

#[test]
fn arch_prctl_rlimit_and_at_strings() {
    // arch_prctl(ARCH_SET_FS, 0x7f8979a2f740) = 0
    assert_eq!(arch_prctl_option(0x1002), "ARCH_SET_FS");
    // arch_prctl(ARCH_REQ_XCOMP_PERM, …) / ARCH_MAP_VDSO_64
    assert_eq!(arch_prctl_option(0x1023), "ARCH_REQ_XCOMP_PERM");
    assert_eq!(arch_prctl_option(0x2003), "ARCH_MAP_VDSO_64");
    // arch_prctl(0x3001 /* ARCH_??? */, 0x7ffd43db1be0) = -1 EINVAL (Invalid argument)
    assert_eq!(arch_prctl_option(0x3001), "0x3001 /* ARCH_??? */");
    assert_eq!(arch_prctl_option(7), "0x7 /* ARCH_??? */");
    // prlimit64(0, RLIMIT_STACK, NULL, {rlim_cur=8192*1024, rlim_max=RLIM64_INFINITY}) = 0
    assert_eq!(rlimit_resource(3), "RLIMIT_STACK");
    assert_eq!(rlim(8192 * 1024), "8192*1024");
    assert_eq!(rlim(u64::MAX), "RLIM64_INFINITY");
    // prlimit64(123, RLIMIT_NOFILE, {rlim_cur=1000, rlim_max=1024}, …); {rlim_cur=0, rlim_max=2*1024}
    assert_eq!(rlimit_resource(7), "RLIMIT_NOFILE");
    assert_eq!((rlim(1000), rlim(1024), rlim(0), rlim(2048)), ("1000".into(), "1024".into(), "0".into(), "2*1024".into()));
    // prlimit64(0, 0x10 /* RLIMIT_??? */, …); prlimit64(-1, 0x64 /* RLIMIT_??? */, NULL, NULL)
    assert_eq!(rlimit_resource(16), "0x10 /* RLIMIT_??? */");
    assert_eq!(rlimit_resource(100), "0x64 /* RLIMIT_??? */");
    assert_eq!(rlimit_resource(15), "RLIMIT_RTTIME");
    // execveat(AT_FDCWD, "rel/prog", ["only"], 0x7ffdeeafe050 /* 2 vars */, AT_EMPTY_PATH)
    assert_eq!(dirfd(-100i64 as u64), "AT_FDCWD");
    assert_eq!(dirfd(3), "3");
    assert_eq!(execveat_flags(0x1000), "AT_EMPTY_PATH");
    // execveat(3, "", ["only"], … , AT_SYMLINK_NOFOLLOW|AT_EMPTY_PATH)
    assert_eq!(execveat_flags(0x1100), "AT_SYMLINK_NOFOLLOW|AT_EMPTY_PATH");
    // execveat(3, "", ["only"], … , 0x10000 /* AT_??? */)
    assert_eq!(execveat_flags(0x10000), "0x10000 /* AT_??? */");
    assert_eq!(execveat_flags(0), "0");
}

#[test]
fn hex_strings() {
    assert_eq!(hex(0), "0x0");
    assert_eq!(hex(0xdead_beef), "0xdeadbeef");
    assert_eq!(hex(u64::MAX), "0xffffffffffffffff");
}
