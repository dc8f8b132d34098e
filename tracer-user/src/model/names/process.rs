//! Processes: clone/clone3 flags, wait4 options.

use super::*;

// ---------------------------------------------------------------------------
// clone / clone3 flags
// ---------------------------------------------------------------------------

/// `CSIGNAL`: clone(2)'s low byte is the exit signal. Value: linux/sched.h.
const CSIGNAL: u64 = 0xff;

/// Number of trailing [`CLONE_FLAGS`] entries that only clone3 decodes.
pub(super) const CLONE3_ONLY: usize = 3;

/// The clone flags whose arguments strace shows only when set. Values:
/// linux/sched.h.
pub const CLONE_PIDFD: u64 = 0x0000_1000;
pub const CLONE_SETTLS: u64 = 0x0008_0000;
pub const CLONE_PARENT_SETTID: u64 = 0x0010_0000;
pub const CLONE_CHILD_CLEARTID: u64 = 0x0020_0000;
pub const CLONE_CHILD_SETTID: u64 = 0x0100_0000;

/// `CLONE_*` flags. Values: linux/sched.h.
/// Order is strace 6.1's: ascending bits for the clone(2) flags, then the
/// three clone3-only entries (`CLONE_NEWTIME` 0x80 overlaps `CSIGNAL` and
/// is printed after `CLONE_IO`). `CLONE_DETACHED` (0x400000, ignored by the
/// kernel) is not named by strace: it prints `0x400000 /* CLONE_??? */`.
/// clone(2) uses all but the last [`CLONE3_ONLY`] entries.
pub const CLONE_FLAGS: &Table = &[
    (0x0000_0100, "CLONE_VM"),
    (0x0000_0200, "CLONE_FS"),
    (0x0000_0400, "CLONE_FILES"),
    (0x0000_0800, "CLONE_SIGHAND"),
    (0x0000_1000, "CLONE_PIDFD"),
    (0x0000_2000, "CLONE_PTRACE"),
    (0x0000_4000, "CLONE_VFORK"),
    (0x0000_8000, "CLONE_PARENT"),
    (0x0001_0000, "CLONE_THREAD"),
    (0x0002_0000, "CLONE_NEWNS"),
    (0x0004_0000, "CLONE_SYSVSEM"),
    (0x0008_0000, "CLONE_SETTLS"),
    (0x0010_0000, "CLONE_PARENT_SETTID"),
    (0x0020_0000, "CLONE_CHILD_CLEARTID"),
    (0x0080_0000, "CLONE_UNTRACED"),
    (0x0100_0000, "CLONE_CHILD_SETTID"),
    (0x0200_0000, "CLONE_NEWCGROUP"),
    (0x0400_0000, "CLONE_NEWUTS"),
    (0x0800_0000, "CLONE_NEWIPC"),
    (0x1000_0000, "CLONE_NEWUSER"),
    (0x2000_0000, "CLONE_NEWPID"),
    (0x4000_0000, "CLONE_NEWNET"),
    (0x8000_0000, "CLONE_IO"),
    // clone3 only:
    (0x0000_0080, "CLONE_NEWTIME"),
    (0x1_0000_0000, "CLONE_CLEAR_SIGHAND"),
    (0x2_0000_0000, "CLONE_INTO_CGROUP"),
];

/// clone(2) `flags`: `CLONE_*` bits, then the exit signal (low byte) last,
/// rendered by [`signal_string`] (so 128 prints as `128`, 32 as `SIGRTMIN`).
/// `SIGCHLD` alone for 0x11, `0` for 0. Unknown bits are hex, with
/// `/* CLONE_??? */` only if no flag bit is named, e.g.
/// `0x100000000 /* CLONE_??? */|SIGCHLD`.
pub fn clone_flags(v: u64) -> String {
    string_of(|s| write_clone_flags(s, v))
}

pub fn write_clone_flags(s: &mut impl Sink, v: u64) {
    let flags = v & !CSIGNAL;
    let sig = v & CSIGNAL;
    if flags != 0 {
        push_flags(s, flags, &CLONE_FLAGS[..CLONE_FLAGS.len() - CLONE3_ONLY], Some("CLONE_???"));
    }
    if sig != 0 {
        if flags != 0 {
            s.put("|");
        }
        write_signal(s, sig);
    }
    if v == 0 {
        s.put("0");
    }
}

/// clone3 `clone_args.flags` (64-bit, no signal byte), e.g.
/// `CLONE_VM|CLONE_INTO_CGROUP`, `0`, `0x11 /* CLONE_??? */`.
pub fn clone3_flags(v: u64) -> String {
    string_of(|s| write_clone3_flags(s, v))
}

pub fn write_clone3_flags(out: &mut impl Sink, v: u64) {
    push_flags(out, v, CLONE_FLAGS, Some("CLONE_???"));
}

// ---------------------------------------------------------------------------
// wait4 options
// ---------------------------------------------------------------------------

/// wait4/waitid options. Values: linux/wait.h. Order: strace 6.1.
/// `WUNTRACED` and `WSTOPPED` are both 2; strace prints `WSTOPPED`.
pub const WAIT4_OPTIONS: &Table = &[
    (0x1, "WNOHANG"),
    (0x4, "WEXITED"),
    (0x2, "WSTOPPED"),
    (0x8, "WCONTINUED"),
    (0x0100_0000, "WNOWAIT"),
    (0x8000_0000, "__WCLONE"),
    (0x4000_0000, "__WALL"),
    (0x2000_0000, "__WNOTHREAD"),
];

/// wait4 `options` (a C int: only the low 32 bits are decoded, as strace
/// does), e.g. `WNOHANG|__WALL`, `0`, `0x10 /* W??? */`.
pub fn wait4_options(v: u64) -> String {
    string_of(|s| write_wait4_options(s, v))
}

pub fn write_wait4_options(out: &mut impl Sink, v: u64) {
    push_flags(out, u64::from(v as u32), WAIT4_OPTIONS, Some("W???"));
}
