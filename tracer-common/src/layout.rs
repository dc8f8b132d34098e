//! Reading records as their types, and every field's offset pinned.
//!
//! The daemon decodes a record with [`read`]: a length check and one
//! unaligned copy into the `#[repr(C)]` struct the kernel side wrote, so no
//! byte offset is written twice. The user memory a syscall record carries
//! in [`SyscallRecordExtra::extra`] has its own structs here
//! ([`Clone3Extra`], [`Wait4Extra`], [`SigsetExtra`], [`SigactionExtra`],
//! [`RlimitExtra`]), laid over the offsets the kernel side writes at.
//!
//! The `offset_of!` assertions below are the record contract: a field that
//! moves fails the build on both sides, and `tests/records.rs` checks real
//! records against these types.

use core::mem::{offset_of, size_of};

use crate::*;

/// A record type that any bytes of its size are a valid value of: only
/// integers and arrays of them, no padding the compiler owns (padding is
/// explicit `_pad` fields), no pointers, no enums.
///
/// # Safety
/// Implement only for `#[repr(C)]` structs made of integers and integer
/// arrays, without implicit padding.
pub unsafe trait Record: Copy {}

/// The record at the start of `bytes`, if `bytes` is long enough.
#[inline]
pub fn read<T: Record>(bytes: &[u8]) -> Option<T> {
    if bytes.len() < size_of::<T>() {
        return None;
    }
    // SAFETY: in bounds (checked above); `T: Record` is valid for any bit
    // pattern; `read_unaligned` copes with the ring's 8-byte alignment and
    // with any slice.
    Some(unsafe { core::ptr::read_unaligned(bytes.as_ptr().cast::<T>()) })
}

/// Writes `v` at the start of `bytes` (tests and tools that build records);
/// false if `bytes` is too short.
#[inline]
pub fn write<T: Record>(bytes: &mut [u8], v: &T) -> bool {
    if bytes.len() < size_of::<T>() {
        return false;
    }
    // SAFETY: in bounds (checked above); any `T: Record` is plain bytes.
    unsafe { core::ptr::write_unaligned(bytes.as_mut_ptr().cast::<T>(), *v) };
    true
}

/// `struct clone_args` (include/uapi/linux/sched.h) up to
/// CLONE_ARGS_SIZE_VER2.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CloneArgs {
    pub flags: u64,
    pub pidfd: u64,
    pub child_tid: u64,
    pub parent_tid: u64,
    pub exit_signal: u64,
    pub stack: u64,
    pub stack_size: u64,
    pub tls: u64,
    pub set_tid: u64,
    pub set_tid_size: u64,
    pub cgroup: u64,
}

/// clone3's `extra`: the `clone_args` the caller passed (as far as its
/// `size` covered them) and, with [`syscall_flags::EXTRA_PARENT_TID`], the
/// tid the kernel stored through `parent_tid`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Clone3Extra {
    pub args: CloneArgs,
    pub parent_tid_value: u32,
    pub _pad: u32,
}

/// `struct timeval` (x86-64).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timeval {
    pub sec: i64,
    pub usec: i64,
}

/// `struct rusage` (x86-64): two timevals, then fourteen longs
/// (ru_maxrss … ru_nivcsw).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rusage {
    pub utime: Timeval,
    pub stime: Timeval,
    pub longs: [i64; 14],
}

/// wait4's `extra`: the status word ([`syscall_flags::EXTRA_WAIT_STATUS`])
/// and the rusage ([`syscall_flags::EXTRA_RUSAGE`]).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Wait4Extra {
    pub status: i32,
    pub _pad: u32,
    pub rusage: Rusage,
}

/// rt_sigprocmask's `extra`: the set passed in
/// ([`syscall_flags::EXTRA_IN`]), the old set written back
/// ([`syscall_flags::EXTRA_OUT`]).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct SigsetExtra {
    pub set: u64,
    pub oldset: u64,
}

/// The kernel's `struct sigaction` on x86-64.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sigaction {
    pub handler: u64,
    pub flags: u64,
    pub restorer: u64,
    pub mask: u64,
}

/// rt_sigaction's `extra`: `act` in, `oact` out.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct SigactionExtra {
    pub act: Sigaction,
    pub oldact: Sigaction,
}

/// `struct rlimit64`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rlimit64 {
    pub cur: u64,
    pub max: u64,
}

/// prlimit64's `extra`: the new limit in, the old one out.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct RlimitExtra {
    pub new: Rlimit64,
    pub old: Rlimit64,
}

// SAFETY (all): #[repr(C)], integers and integer arrays only, explicit
// padding; every size and offset is asserted below.
unsafe impl Record for RecordHeader {}
unsafe impl Record for SyscallRecord {}
unsafe impl Record for SyscallRecordExtra {}
unsafe impl Record for SyscallRecordExec {}
unsafe impl Record for ExecCapture {}
unsafe impl Record for ForkRecord {}
unsafe impl Record for ExecRecord {}
unsafe impl Record for ExitRecord {}
unsafe impl Record for SignalRecord {}
unsafe impl Record for CloneArgs {}
unsafe impl Record for Clone3Extra {}
unsafe impl Record for Timeval {}
unsafe impl Record for Rusage {}
unsafe impl Record for Wait4Extra {}
unsafe impl Record for SigsetExtra {}
unsafe impl Record for Sigaction {}
unsafe impl Record for SigactionExtra {}
unsafe impl Record for Rlimit64 {}
unsafe impl Record for RlimitExtra {}

/// `offset_of!(T, field) == off` for each field, in declaration order, and
/// the size.
macro_rules! pin {
    ($t:ty, size $size:expr, { $($field:ident $(.$sub:ident)* : $off:expr),* $(,)? }) => {
        const _: () = assert!(size_of::<$t>() == $size);
        $(const _: () = assert!(offset_of!($t, $field $(.$sub)*) == $off);)*
    };
}

pin!(RecordHeader, size 96, {
    kind: 0, cpu: 4, ts_ns: 8, pid: 16, tid: 20, ppid: 24, uid: 28, gid: 32, ns_level: 36, cgroup_id: 40, comm: 48,
    ns_pid: 64, ns_tid: 68, ns_ppid: 72, _pad0: 76, start_ns: 80, parent_start_ns: 88,
});
pin!(SyscallRecord, size 176, {
    header: 0, nr: 96, flags: 100, args: 104, ret: 152, duration_ns: 160, extra_len: 168, _pad1: 172,
});
pin!(SyscallRecordExtra, size 176 + EXTRA_MAX, { base: 0, extra: 176 });
pin!(SyscallRecordExec, size 176 + EXEC_CAPTURE_SIZE, { base: 0, exec: 176 });
pin!(ExecCapture, size EXEC_CAPTURE_SIZE, {
    argc: 0, envc: 4, filename_len: 8, flags: 12, argv_len: 16, filename: 32, argv: 32 + EXEC_FILENAME_MAX,
});
pin!(ForkRecord, size 120, {
    header: 0, child_pid: 96, child_tid: 100, child_ns_pid: 104, child_ns_tid: 108, flags: 112, _pad: 116,
});
pin!(ExecRecord, size 104 + EXEC_PATH_MAX, { header: 0, old_tid: 96, filename_len: 100, filename: 104 });
pin!(ExitRecord, size 176, { header: 0, exit_code: 96, flags: 100, nr_children: 104, zombie_mask: 108, children: 112 });
pin!(SignalRecord, size 192, {
    header: 0, sig: 96, phase: 100, result: 104, group: 108, target_pid: 112, target_tid: 116, flags: 120, si_code: 124,
    si_errno: 128, si_pid: 132, si_uid: 136, si_status: 140, si_utime: 144, si_stime: 152, sa_handler: 160,
    sa_flags: 168, target_comm: 176,
});
pin!(CloneArgs, size CLONE_ARGS_SIZE, {
    flags: 0, pidfd: 8, child_tid: 16, parent_tid: 24, exit_signal: 32, stack: 40, stack_size: 48, tls: 56,
    set_tid: 64, set_tid_size: 72, cgroup: 80,
});
pin!(Clone3Extra, size 96, { args: 0, parent_tid_value: PARENT_TID_OFFSET });
pin!(Rusage, size RUSAGE_SIZE, { utime: 0, stime: 16, longs: 32 });
pin!(Wait4Extra, size RUSAGE_OFFSET + RUSAGE_SIZE, { status: 0, rusage: RUSAGE_OFFSET });
pin!(SigsetExtra, size 2 * capture::SIGSET_SIZE, { set: 0, oldset: capture::SIGSET_OUT });
pin!(Sigaction, size capture::SIGACTION_SIZE, { handler: 0, flags: 8, restorer: 16, mask: 24 });
pin!(SigactionExtra, size 2 * capture::SIGACTION_SIZE, { act: 0, oldact: capture::SIGACTION_OUT });
pin!(Rlimit64, size capture::RLIMIT_SIZE, { cur: 0, max: 8 });
pin!(RlimitExtra, size 2 * capture::RLIMIT_SIZE, { new: 0, old: capture::RLIMIT_OUT });

// Every view of `extra` fits in it.
const _: () = assert!(size_of::<Clone3Extra>() <= EXTRA_MAX);
const _: () = assert!(size_of::<Wait4Extra>() <= EXTRA_MAX);
const _: () = assert!(size_of::<SigactionExtra>() <= EXTRA_MAX);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_checks_the_length_and_write_is_its_inverse() {
        let r = Rlimit64 { cur: 1, max: u64::MAX - 1 };
        let mut b = [0u8; 17];
        assert!(write(&mut b[1..], &r));
        assert_eq!(read::<Rlimit64>(&b[1..]), Some(r), "unaligned");
        assert_eq!(read::<Rlimit64>(&b[2..]), None, "one byte short");
        assert!(!write(&mut b[2..], &r));
        assert_eq!(b[1..9], 1u64.to_le_bytes(), "fields at their pinned offsets");
    }
}
