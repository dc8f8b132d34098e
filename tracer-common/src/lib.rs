//! Records shared by the kernel programs (`tracer-ebpf`) and the daemon
//! (`tracer-user`).
//!
//! Every record starts with a [`RecordHeader`]; its `kind` says which
//! payload follows. Layouts are `#[repr(C)]` with explicit padding fields so
//! that no byte of a record is left uninitialised, and each size is pinned by
//! a compile-time assertion: the two sides are built by different compilers
//! for different targets and must agree to the byte.
#![no_std]

use core::mem::size_of;

/// Version of the binary record layout; bumped whenever a record changes.
pub const RECORD_ABI: u32 = 1;

/// Length of `task_struct::comm` (TASK_COMM_LEN).
pub const COMM_LEN: usize = 16;

/// Record kinds. Ids are fixed forever; a retired kind's id is never reused.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordKind {
    /// A completed system call: [`SyscallRecord`], optionally followed by
    /// `extra_len` bytes of user memory read by the kernel side.
    Syscall = 1,
}

impl TryFrom<u32> for RecordKind {
    type Error = u32;
    fn try_from(v: u32) -> Result<Self, u32> {
        match v {
            1 => Ok(RecordKind::Syscall),
            other => Err(other),
        }
    }
}

/// Common to every record.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct RecordHeader {
    /// A [`RecordKind`] id.
    pub kind: u32,
    /// CPU the record was produced on.
    pub cpu: u32,
    /// `bpf_ktime_get_boot_ns()` when the record was produced (the syscall's exit).
    pub ts_ns: u64,
    /// Thread-group id (what userspace calls the pid), host pid namespace.
    pub pid: u32,
    /// Thread id, host pid namespace.
    pub tid: u32,
    /// `real_parent->tgid` (0 if it could not be read).
    pub ppid: u32,
    pub uid: u32,
    pub gid: u32,
    /// Explicit padding: always zero.
    pub _pad0: u32,
    /// cgroup v2 id (`bpf_get_current_cgroup_id`): the inode number of the
    /// task's cgroup directory under the cgroup2 mount.
    pub cgroup_id: u64,
    /// `task_struct::comm` at the time of the record, NUL-padded.
    pub comm: [u8; COMM_LEN],
}
const _: () = assert!(size_of::<RecordHeader>() == 64);

/// `SyscallRecord::flags` bits.
pub mod syscall_flags {
    /// A user-memory read made at syscall entry failed (e.g. clone3's
    /// `struct clone_args` on an unmapped page); the bytes it would have
    /// filled are zero.
    pub const ENTER_READ_FAILED: u32 = 1 << 0;
    /// A user-memory read made at syscall exit failed (e.g. wait4's status
    /// word behind a bad pointer).
    pub const EXIT_READ_FAILED: u32 = 1 << 1;
    /// `extra` holds clone3's `struct clone_args` (`extra_len` bytes of it).
    pub const EXTRA_CLONE_ARGS: u32 = 1 << 2;
    /// `extra` holds wait4's status word (first 4 bytes of `extra`).
    pub const EXTRA_WAIT_STATUS: u32 = 1 << 3;
    /// `extra[8..152]` holds wait4's `struct rusage`.
    pub const EXTRA_RUSAGE: u32 = 1 << 4;
    /// `extra[PARENT_TID_OFFSET..+4]` holds the tid clone3 stored at
    /// `clone_args.parent_tid` (CLONE_PARENT_SETTID), read at exit.
    pub const EXTRA_PARENT_TID: u32 = 1 << 5;
    /// Which exit-time read failed (each also sets `EXIT_READ_FAILED`).
    pub const STATUS_READ_FAILED: u32 = 1 << 6;
    pub const RUSAGE_READ_FAILED: u32 = 1 << 7;
    pub const PARENT_TID_READ_FAILED: u32 = 1 << 8;
}

/// One completed system call: arguments captured at `sys_enter`, joined with
/// the return value at `sys_exit` of the same thread.
///
/// Calls that carry user memory (clone3, wait4) are sent as
/// [`SyscallRecordExtra`]; all others as this record alone, so the common
/// case moves 144 bytes, not 296.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct SyscallRecord {
    pub header: RecordHeader,
    /// Syscall number (x86-64 numbering).
    pub nr: u32,
    /// [`syscall_flags`] bits.
    pub flags: u32,
    /// The six argument registers at entry (rdi, rsi, rdx, r10, r8, r9).
    pub args: [u64; 6],
    /// Return value (rax at exit).
    pub ret: i64,
    /// Exit timestamp minus entry timestamp.
    pub duration_ns: u64,
    /// How many bytes of the following `extra` are meaningful (0 for a plain
    /// [`SyscallRecord`]).
    pub extra_len: u32,
    pub _pad1: u32,
}
const _: () = assert!(size_of::<SyscallRecord>() == 64 + 8 + 48 + 8 + 8 + 8);

/// A [`SyscallRecord`] followed by user memory read by the kernel side;
/// what `extra` holds is said by `base.flags`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct SyscallRecordExtra {
    pub base: SyscallRecord,
    pub extra: [u8; EXTRA_MAX],
}
const _: () = assert!(size_of::<SyscallRecordExtra>() == size_of::<SyscallRecord>() + EXTRA_MAX);

/// Room for the largest user struct captured: wait4's status word (4 bytes,
/// padded to 8) followed by `struct rusage` (144 bytes). clone3's
/// `struct clone_args` is 88 bytes in its largest known version
/// (CLONE_ARGS_SIZE_VER2).
pub const EXTRA_MAX: usize = 152;
/// Size of `struct clone_args` this build understands (CLONE_ARGS_SIZE_VER2).
pub const CLONE_ARGS_SIZE: usize = 88;
/// Offset in `extra` of the tid clone3 wrote through `parent_tid`.
pub const PARENT_TID_OFFSET: usize = CLONE_ARGS_SIZE;
/// Size of `struct rusage` on x86-64.
pub const RUSAGE_SIZE: usize = 144;
/// Offset of `struct rusage` inside `extra`.
pub const RUSAGE_OFFSET: usize = 8;

const _: () = assert!(RUSAGE_OFFSET + RUSAGE_SIZE <= EXTRA_MAX);
const _: () = assert!(PARENT_TID_OFFSET + 4 <= EXTRA_MAX);

/// Per-thread state kept between `sys_enter` and `sys_exit`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct PendingSyscall {
    pub enter_ns: u64,
    pub nr: u32,
    pub flags: u32,
    pub args: [u64; 6],
    pub extra_len: u32,
    pub _pad: u32,
    /// clone3's `struct clone_args`, read at entry.
    pub clone_args: [u8; CLONE_ARGS_SIZE],
}
const _: () = assert!(size_of::<PendingSyscall>() == 8 + 8 + 48 + 8 + CLONE_ARGS_SIZE);

/// Which counter: CPU n's count of counter c is slot
/// `n * COUNTER_STRIDE + c` of the `COUNTERS` array.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Counter {
    /// Records committed to the ring buffer.
    Emitted = 0,
    /// `bpf_ringbuf_reserve` failed: the record was lost (ring buffer full).
    RingbufFull = 1,
    /// `sys_exit` of a traced syscall with no pending entry for the thread
    /// (tracer attached mid-call, or the entry was evicted).
    ExitWithoutEnter = 2,
    /// Entry could not be stashed (pairing map update failed).
    StashFailed = 3,
    /// Traced syscalls dropped by the in-kernel filters.
    Filtered = 4,
    /// Return of clone/clone3 in the new child (ret 0): not a separate call.
    ChildReturn = 5,
    /// A process created by a tracked process (`--pid`, `-- CMD`) could not
    /// be added to the tracked set (map full): its calls are filtered out.
    TrackFull = 6,
}
pub const COUNTER_COUNT: u32 = 7;
/// Slots per CPU in `COUNTERS`: eight u64s, one 64-byte cache line, so no
/// two CPUs ever write the same line.
pub const COUNTER_STRIDE: u32 = 8;
const _: () = assert!(COUNTER_COUNT <= COUNTER_STRIDE);
impl Counter {
    pub const ALL: [Counter; COUNTER_COUNT as usize] = [
        Counter::Emitted,
        Counter::RingbufFull,
        Counter::ExitWithoutEnter,
        Counter::StashFailed,
        Counter::Filtered,
        Counter::ChildReturn,
        Counter::TrackFull,
    ];
    pub const fn name(self) -> &'static str {
        match self {
            Counter::Emitted => "emitted",
            Counter::RingbufFull => "ringbuf_full",
            Counter::ExitWithoutEnter => "exit_without_enter",
            Counter::StashFailed => "stash_failed",
            Counter::Filtered => "filtered",
            Counter::ChildReturn => "child_return",
            Counter::TrackFull => "track_full",
        }
    }
}

/// Number of bits in the traced-syscall bitmap (x86-64 numbers stay below 512).
pub const SYSCALL_BITMAP_BITS: usize = 512;

/// Load-time configuration, written into the programs' `.rodata` by the
/// loader (`EbpfLoader::set_global("CONFIG", …)`).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// Bit n set: syscall n is traced.
    pub syscalls: [u64; SYSCALL_BITMAP_BITS / 64],
    /// tgid of the tracer itself, never traced.
    pub self_tgid: u32,
    /// `offsetof(struct task_struct, real_parent)` from the running kernel's BTF.
    pub task_real_parent_off: u32,
    /// `offsetof(struct task_struct, tgid)` from the running kernel's BTF.
    pub task_tgid_off: u32,
    /// [`filter_kinds`] bits: which in-kernel filters are active. Zero means
    /// none, and the verifier then prunes every filter branch as dead code
    /// (this is frozen `.rodata`), so an unfiltered run pays nothing for them.
    pub filter_kinds: u32,
    /// How many slots of the `CGROUPS` array hold a cgroup.
    pub cgroup_count: u32,
    /// `offsetof(struct task_struct, signal)` from the running kernel's BTF.
    pub task_signal_off: u32,
    /// `offsetof(struct signal_struct, live)`: threads of the group not yet
    /// past `do_exit`'s decrement; 0 at `sched_process_exit` means the whole
    /// thread group is dead.
    pub signal_live_off: u32,
    pub _pad: u32,
}
const _: () = assert!(size_of::<Config>() == 64 + 32);

impl Config {
    pub const fn zeroed() -> Self {
        Config {
            syscalls: [0; SYSCALL_BITMAP_BITS / 64],
            self_tgid: 0,
            task_real_parent_off: 0,
            task_tgid_off: 0,
            filter_kinds: 0,
            cgroup_count: 0,
            task_signal_off: 0,
            signal_live_off: 0,
            _pad: 0,
        }
    }
}

/// `Config::filter_kinds` bits. Kinds combine with AND; the entries of one
/// kind (the keys of its map) with OR.
pub mod filter_kinds {
    /// The task's current comm is a key of `COMMS`.
    pub const COMM: u32 = 1 << 0;
    /// The task is in (or below) one of the cgroups in `CGROUPS`.
    pub const CGROUP: u32 = 1 << 1;
    /// The task's thread group is a key of `TRACKED_TGIDS`.
    pub const PID: u32 = 1 << 2;
}

/// Capacity of the `COMMS` map (distinct `--comm` names).
pub const MAX_COMMS: u32 = 256;
/// Capacity of the `CGROUPS` array (distinct `--cgroup` paths); the kernel
/// side tests each slot in turn, so it is kept small.
pub const MAX_CGROUPS: u32 = 64;
/// Capacity of the `TRACKED_TGIDS` map: live processes in the traced trees.
pub const MAX_TRACKED: u32 = 32768;

/// x86-64 syscall numbers the kernel side treats specially.
pub mod nr {
    pub const MMAP: u32 = 9;
    pub const MPROTECT: u32 = 10;
    pub const CLONE: u32 = 56;
    pub const WAIT4: u32 = 61;
    pub const CLONE3: u32 = 435;
    /// `CLONE_PARENT_SETTID` (include/uapi/linux/sched.h).
    pub const CLONE_PARENT_SETTID: u64 = 0x0010_0000;
}

#[cfg(feature = "user")]
mod pod {
    use super::*;
    unsafe impl aya::Pod for RecordHeader {}
    unsafe impl aya::Pod for SyscallRecord {}
    unsafe impl aya::Pod for SyscallRecordExtra {}
    unsafe impl aya::Pod for PendingSyscall {}
    unsafe impl aya::Pod for Config {}
}
