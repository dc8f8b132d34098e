//! arch_prctl options, resource limits, execveat flags and dirfds.

use super::*;

// ---------------------------------------------------------------------------
// arch_prctl, prlimit64, execveat
// ---------------------------------------------------------------------------

/// arch_prctl options. Values: x86 asm/prctl.h. Names: those strace 6.1
/// knows (it prints the CET/shadow-stack and LAM codes 0x3001.., 0x4001..,
/// 0x5001.. as unknown).
pub const ARCH_PRCTL: &Table = &[
    (0x1001, "ARCH_SET_GS"),
    (0x1002, "ARCH_SET_FS"),
    (0x1003, "ARCH_GET_FS"),
    (0x1004, "ARCH_GET_GS"),
    (0x1011, "ARCH_GET_CPUID"),
    (0x1012, "ARCH_SET_CPUID"),
    (0x1021, "ARCH_GET_XCOMP_SUPP"),
    (0x1022, "ARCH_GET_XCOMP_PERM"),
    (0x1023, "ARCH_REQ_XCOMP_PERM"),
    (0x1024, "ARCH_GET_XCOMP_GUEST_PERM"),
    (0x1025, "ARCH_REQ_XCOMP_GUEST_PERM"),
    (0x2001, "ARCH_MAP_VDSO_X32"),
    (0x2002, "ARCH_MAP_VDSO_32"),
    (0x2003, "ARCH_MAP_VDSO_64"),
];
pub const ARCH_GET_CPUID: u64 = 0x1011;

/// arch_prctl `option` (an int), e.g. `ARCH_SET_FS`, `0x3001 /* ARCH_??? */`.
pub fn arch_prctl_option(v: u64) -> String {
    string_of(|s| write_arch_prctl_option(s, v))
}

pub fn write_arch_prctl_option(out: &mut impl Sink, v: u64) {
    value_or_unknown(out, ARCH_PRCTL, u64::from(v as u32), "ARCH_???");
}

/// Resource limits. Values: asm-generic/resource.h.
pub const RLIMITS: &Table = &[
    (0, "RLIMIT_CPU"),
    (1, "RLIMIT_FSIZE"),
    (2, "RLIMIT_DATA"),
    (3, "RLIMIT_STACK"),
    (4, "RLIMIT_CORE"),
    (5, "RLIMIT_RSS"),
    (6, "RLIMIT_NPROC"),
    (7, "RLIMIT_NOFILE"),
    (8, "RLIMIT_MEMLOCK"),
    (9, "RLIMIT_AS"),
    (10, "RLIMIT_LOCKS"),
    (11, "RLIMIT_SIGPENDING"),
    (12, "RLIMIT_MSGQUEUE"),
    (13, "RLIMIT_NICE"),
    (14, "RLIMIT_RTPRIO"),
    (15, "RLIMIT_RTTIME"),
];

/// prlimit64 `resource` (an unsigned int), e.g. `RLIMIT_STACK`,
/// `0x10 /* RLIMIT_??? */`.
pub fn rlimit_resource(v: u64) -> String {
    string_of(|s| write_rlimit_resource(s, v))
}

pub fn write_rlimit_resource(out: &mut impl Sink, v: u64) {
    value_or_unknown(out, RLIMITS, u64::from(v as u32), "RLIMIT_???");
}

/// One `rlim64_t` as strace prints it: `RLIM64_INFINITY`, `8192*1024` for
/// a multiple of 1024 above 1024, else decimal.
pub fn rlim(v: u64) -> String {
    string_of(|s| write_rlim(s, v))
}

pub fn write_rlim(out: &mut impl Sink, v: u64) {
    if v == u64::MAX {
        out.put("RLIM64_INFINITY");
    } else if v > 1024 && v.is_multiple_of(1024) {
        write_udec(out, v / 1024);
        out.put("*1024");
    } else {
        write_udec(out, v);
    }
}

/// `AT_*` flags execveat takes. Values: linux/fcntl.h.
pub const AT_FLAGS: &Table = &[(0x100, "AT_SYMLINK_NOFOLLOW"), (0x1000, "AT_EMPTY_PATH")];

/// execveat `flags`, e.g. `AT_SYMLINK_NOFOLLOW|AT_EMPTY_PATH`, `0`,
/// `0x10000 /* AT_??? */`.
pub fn execveat_flags(v: u64) -> String {
    string_of(|s| write_execveat_flags(s, v))
}

pub fn write_execveat_flags(out: &mut impl Sink, v: u64) {
    push_flags(out, u64::from(v as u32), AT_FLAGS, Some("AT_???"));
}

/// A dirfd: `AT_FDCWD` for -100, else the number.
pub fn dirfd(v: u64) -> String {
    string_of(|s| match v as u32 as i32 {
        -100 => s.put("AT_FDCWD"),
        fd => write_dec(s, fd.into()),
    })
}
