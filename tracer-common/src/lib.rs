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

pub mod layout;

/// Length of `task_struct::comm` (TASK_COMM_LEN).
pub const COMM_LEN: usize = 16;

/// Record kinds. Ids are fixed forever; a retired kind's id is never reused.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordKind {
    /// A completed system call: [`SyscallRecord`], optionally followed by
    /// `extra_len` bytes of user memory read by the kernel side
    /// ([`SyscallRecordExtra`], [`SyscallRecordExec`]).
    Syscall = 1,
    /// `sched_process_fork`: a task was created ([`ForkRecord`]).
    Fork = 2,
    /// `sched_process_exec`: a task replaced its program ([`ExecRecord`]).
    Exec = 3,
    /// `sched_process_exit`: a task is exiting ([`ExitRecord`]).
    Exit = 4,
    /// `signal_generate` / `signal_deliver` ([`SignalRecord`]).
    Signal = 5,
}

impl TryFrom<u32> for RecordKind {
    type Error = u32;
    fn try_from(v: u32) -> Result<Self, u32> {
        match v {
            1 => Ok(RecordKind::Syscall),
            2 => Ok(RecordKind::Fork),
            3 => Ok(RecordKind::Exec),
            4 => Ok(RecordKind::Exit),
            5 => Ok(RecordKind::Signal),
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
    /// Level of the task's pid namespace (`thread_pid->level`): 0 in the
    /// initial namespace, where `ns_*` equal the host ids.
    pub ns_level: u32,
    /// cgroup v2 id (`bpf_get_current_cgroup_id`): the inode number of the
    /// task's cgroup directory under the cgroup2 mount.
    pub cgroup_id: u64,
    /// `task_struct::comm` at the time of the record, NUL-padded.
    pub comm: [u8; COMM_LEN],
    /// tgid, tid and the parent's tgid as the task's own pid namespace
    /// numbers them (`pid->numbers[level].nr`); `ns_ppid` is 0 when the
    /// parent lives outside that namespace (what getppid() returns there).
    pub ns_pid: u32,
    pub ns_tid: u32,
    pub ns_ppid: u32,
    /// Explicit padding: always zero.
    pub _pad0: u32,
    /// `group_leader->start_boottime`: when the process (its thread-group
    /// leader) was created, ns since boot (CLOCK_BOOTTIME). With the boot
    /// id and the tgid, what `exec_id` is made of; /proc's `starttime` is
    /// this divided by 10 ms.
    pub start_ns: u64,
    /// `real_parent->group_leader->start_boottime`: the same for the
    /// parent process (`parent_exec_id`); 0 if it could not be read.
    pub parent_start_ns: u64,
}
const _: () = assert!(size_of::<RecordHeader>() == 96);

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
    /// The call never returns (exit, exit_group): the record was made at
    /// entry; `ret` and `duration_ns` mean nothing.
    pub const NO_RETURN: u32 = 1 << 9;
    /// `extra` holds user memory read at entry, laid out as
    /// [`crate::capture`] says for the syscall (sigsets, sigaction, rlimit).
    pub const EXTRA_IN: u32 = 1 << 10;
    /// `extra` holds user memory read at exit (the old sigset, sigaction,
    /// rlimit the kernel wrote back).
    pub const EXTRA_OUT: u32 = 1 << 11;
    /// The record is a [`crate::SyscallRecordExec`]: `execve`/`execveat`'s
    /// filename and argv, read at entry.
    pub const EXTRA_EXEC: u32 = 1 << 12;
}

/// One completed system call: arguments captured at `sys_enter`, joined with
/// the return value at `sys_exit` of the same thread.
///
/// Calls that carry user memory (clone3, wait4, rt_sigprocmask,
/// rt_sigaction, prlimit64) are sent as [`SyscallRecordExtra`], execve and
/// execveat as [`SyscallRecordExec`]; all others as this record alone, so
/// the common case moves 160 bytes, not 312.
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
const _: () = assert!(size_of::<SyscallRecord>() == size_of::<RecordHeader>() + 8 + 48 + 8 + 8 + 8);

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

/// Where the small user structs of the other capturing syscalls sit in
/// [`SyscallRecordExtra::extra`]: what was passed in at entry
/// ([`syscall_flags::EXTRA_IN`]) at offset 0, what the kernel wrote back
/// ([`syscall_flags::EXTRA_OUT`]) at `*_OUT`.
pub mod capture {
    /// rt_sigprocmask(how, set, oset, sigsetsize): the kernel's sigset_t
    /// (x86-64: 64 signals, 8 bytes). Only `sigsetsize == 8` is read, as the
    /// kernel accepts no other.
    pub const SIGSET_SIZE: usize = 8;
    pub const SIGSET_OUT: usize = 8;
    /// rt_sigaction(sig, act, oact, sigsetsize): the kernel's
    /// `struct sigaction` on x86-64 (handler, flags, restorer, mask).
    pub const SIGACTION_SIZE: usize = 32;
    pub const SIGACTION_OUT: usize = 32;
    /// prlimit64(pid, resource, new_rlim, old_rlim): `struct rlimit64`.
    pub const RLIMIT_SIZE: usize = 16;
    pub const RLIMIT_OUT: usize = 16;
    const _: () = assert!(SIGACTION_OUT + SIGACTION_SIZE <= super::EXTRA_MAX);
}

/// execve/execveat arguments read at entry (before the old image, and the
/// strings in it, are gone). Bounded like strace's default `-s 32`:
/// the filename up to [`EXEC_FILENAME_MAX`]` - 1` bytes, the first
/// [`EXEC_ARGV_MAX`] argv strings up to [`EXEC_ARG_SHOWN`] bytes each, and
/// the counts of argv and envp entries up to [`EXEC_COUNT_MAX`].
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ExecCapture {
    /// Non-NULL argv pointers counted (at most [`EXEC_COUNT_MAX`]).
    pub argc: u32,
    /// Non-NULL envp pointers counted (at most [`EXEC_COUNT_MAX`]).
    pub envc: u32,
    /// `bpf_probe_read_user_str`'s return for the filename: bytes copied
    /// including the NUL, or a negative error.
    pub filename_len: i32,
    /// [`exec_flags`] bits.
    pub flags: u32,
    /// Per argv string: bytes copied including the NUL (at most
    /// [`EXEC_ARG_READ`]; equal to it means longer than shown), or a
    /// negative error; 0 past `argc`.
    pub argv_len: [i16; EXEC_ARGV_MAX],
    pub filename: [u8; EXEC_FILENAME_MAX],
    pub argv: [[u8; EXEC_ARG_SLOT]; EXEC_ARGV_MAX],
}
pub const EXEC_FILENAME_MAX: usize = 160;
pub const EXEC_ARGV_MAX: usize = 8;
/// strace's default string limit (`-s 32`).
pub const EXEC_ARG_SHOWN: usize = 32;
/// Bytes asked of `bpf_probe_read_user_str` per argv string: one more than
/// shown plus the NUL, so a longer string is told apart from one of exactly
/// [`EXEC_ARG_SHOWN`] bytes.
pub const EXEC_ARG_READ: usize = EXEC_ARG_SHOWN + 2;
pub const EXEC_ARG_SLOT: usize = 40;
pub const EXEC_COUNT_MAX: u32 = 1024;
/// With [`exec_flags::ARGV_BLOCK`], the argv slots hold one block of this
/// many bytes: the strings back to back, NUL-separated.
pub const EXEC_ARGV_BLOCK: usize = EXEC_ARGV_MAX * EXEC_ARG_SLOT;
pub const EXEC_CAPTURE_SIZE: usize = 512;
const _: () = assert!(size_of::<ExecCapture>() == EXEC_CAPTURE_SIZE);
const _: () = assert!(EXEC_ARG_READ <= EXEC_ARG_SLOT);

/// `ExecCapture::flags` bits.
pub mod exec_flags {
    /// Reading the argv array itself failed (after `argc` entries).
    pub const ARGV_FAULT: u32 = 1 << 0;
    /// Reading the envp array failed (after `envc` entries).
    pub const ENVP_FAULT: u32 = 1 << 1;
    /// `argc` / `envc` stopped at `EXEC_COUNT_MAX`: there are at least that many.
    pub const ARGC_CAPPED: u32 = 1 << 2;
    pub const ENVC_CAPPED: u32 = 1 << 3;
    /// The argv slots hold the new image's argument area as one block
    /// (`argv_len[0]` bytes of NUL-separated strings): what a successful
    /// exec left when the strings could not be read at entry.
    pub const ARGV_BLOCK: u32 = 1 << 4;
    /// The argument area was longer than the block.
    pub const ARGV_BLOCK_CUT: u32 = 1 << 5;
}

/// A [`SyscallRecord`] for execve/execveat with what was read at entry.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct SyscallRecordExec {
    pub base: SyscallRecord,
    pub exec: ExecCapture,
}
const _: () = assert!(size_of::<SyscallRecordExec>() == size_of::<SyscallRecord>() + EXEC_CAPTURE_SIZE);

/// User memory read at clone3's or execve's entry, kept per thread until
/// its exit (the `CAPTURES` map) so the pairing entry every traced call
/// writes stays small: clone3's `struct clone_args` (first
/// [`CLONE_ARGS_SIZE`] bytes) or an [`ExecCapture`].
#[repr(C, align(8))]
#[derive(Clone, Copy, Debug)]
pub struct EntryCapture {
    pub data: [u8; EXEC_CAPTURE_SIZE],
}

/// Per-thread state kept between `sys_enter` and `sys_exit`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct PendingSyscall {
    pub enter_ns: u64,
    pub nr: u32,
    /// [`syscall_flags`] bits known at entry; [`pending_flags::CAPTURED`]
    /// says an [`EntryCapture`] waits in `CAPTURES`.
    pub flags: u32,
    pub args: [u64; 6],
    /// Meaningful bytes of the entry capture (clone3: of `clone_args`).
    pub extra_len: u32,
    pub _pad: u32,
    /// The fixed-size structs clone3, rt_sigprocmask, rt_sigaction and
    /// prlimit64 pass in (clone_args, sigset, sigaction, rlimit), read at
    /// entry and kept inline in the thread's slot: a round trip through
    /// `CAPTURES` (a 512-byte LRU insert, lookup and delete) cost more than
    /// the clone3 itself.
    pub small: [u8; SMALL_CAPTURE_MAX],
}
/// Room for the largest inline entry capture (`struct clone_args`).
pub const SMALL_CAPTURE_MAX: usize = CLONE_ARGS_SIZE;
const _: () = assert!(size_of::<PendingSyscall>() == 8 + 8 + 48 + 8 + SMALL_CAPTURE_MAX);
const _: () = assert!(capture::SIGACTION_SIZE <= SMALL_CAPTURE_MAX);
const _: () = assert!(SMALL_CAPTURE_MAX.is_multiple_of(8));

/// What the daemon is doing, as it tells the kernel side through the
/// `READER` array (see `tracer-ebpf/src/main.rs`): whether, and when, a
/// record should wake it.
pub mod reader {
    /// Asleep with its drain timer running: wake it once an eighth of the
    /// ring is waiting. The value the map starts with.
    pub const TICKING: u32 = 0;
    /// Asleep with no drain timer after a quiet spell: wake it for any record.
    pub const IDLE: u32 = 1;
    /// Awake and reading the ring: a wake-up would be wasted.
    pub const DRAINING: u32 = 2;
}

pub mod pending_flags {
    /// An [`crate::EntryCapture`] for this call is in `CAPTURES`.
    pub const CAPTURED: u32 = 1 << 31;
    /// The slot holds a call that has not reached `sys_exit` yet (a task's
    /// storage starts zeroed, and the exit clears it).
    pub const IN_FLIGHT: u32 = 1 << 30;
}

/// `sched_process_fork(parent, child)`. The header is the parent (current).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ForkRecord {
    pub header: RecordHeader,
    /// The child's tgid and tid (host namespace).
    pub child_pid: u32,
    pub child_tid: u32,
    /// The same in the child's own pid namespace (a CLONE_NEWPID child is 1).
    pub child_ns_pid: u32,
    pub child_ns_tid: u32,
    /// [`fork_flags`] bits.
    pub flags: u32,
    pub _pad: u32,
}
const _: () = assert!(size_of::<ForkRecord>() == size_of::<RecordHeader>() + 24);

pub mod fork_flags {
    /// The child joined the parent's thread group (CLONE_THREAD): a thread.
    pub const THREAD: u32 = 1 << 0;
}

/// Room for `linux_binprm::filename` in an [`ExecRecord`].
pub const EXEC_PATH_MAX: usize = 256;

/// `sched_process_exec(p, old_pid, bprm)`: the header is the task after
/// the exec (new comm; a non-leader thread that exec'd now has the leader's
/// tid).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ExecRecord {
    pub header: RecordHeader,
    /// The tid that called execve (differs from the header's tid when a
    /// non-leader thread exec'd and took over the group leader's).
    pub old_tid: u32,
    /// `bpf_probe_read_kernel_str`'s return: bytes including the NUL, or a
    /// negative error.
    pub filename_len: i32,
    /// `bprm->filename`, NUL-terminated.
    pub filename: [u8; EXEC_PATH_MAX],
}
const _: () = assert!(size_of::<ExecRecord>() == size_of::<RecordHeader>() + 8 + EXEC_PATH_MAX);

/// `sched_process_exit(p[, group_dead])`: the header is the exiting thread.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ExitRecord {
    pub header: RecordHeader,
    /// `task->exit_code`, encoded as wait(2) status: `(code & 0xff) << 8`
    /// for an exit, the signal number (`| 0x80` on a core dump) for a
    /// death by signal.
    pub exit_code: u32,
    /// [`exit_flags`] bits.
    pub flags: u32,
    /// When the whole group died: how many of `children` are filled — the
    /// processes still on the dying thread's `children` list, i.e. never
    /// reaped by it (zombies, or still running: the kernel reparents them
    /// next). At most [`EXIT_CHILDREN_MAX`]; more sets `CHILDREN_CAPPED`.
    pub nr_children: u32,
    /// Bit i: `children[i]` is a zombie (`exit_state & EXIT_ZOMBIE`).
    pub zombie_mask: u32,
    /// Their tgids (host namespace).
    pub children: [u32; EXIT_CHILDREN_MAX],
}
pub const EXIT_CHILDREN_MAX: usize = 16;
const _: () = assert!(size_of::<ExitRecord>() == size_of::<RecordHeader>() + 16 + 4 * EXIT_CHILDREN_MAX);

pub mod exit_flags {
    /// This was the last live thread: the whole thread group is dead.
    pub const GROUP_DEAD: u32 = 1 << 0;
    /// More children were left than `ExitRecord::children` holds.
    pub const CHILDREN_CAPPED: u32 = 1 << 1;
}

/// `signal_generate(sig, info, task, group, result)` or
/// `signal_deliver(sig, info, ka)`. The header is current: the sender for
/// a generated signal (for SIGCHLD, the exiting child), the receiver for a
/// delivered one.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct SignalRecord {
    pub header: RecordHeader,
    pub sig: u32,
    /// [`signal_phase`] value.
    pub phase: u32,
    /// signal_generate's `result` (`TRACE_SIGNAL_DELIVERED` 0, `IGNORED` 1,
    /// `ALREADY_PENDING` 2, `OVERFLOW_FAIL` 3, `LOSE_INFO` 4); 0 on delivery.
    pub result: i32,
    /// signal_generate's `group`: sent to the whole thread group.
    pub group: u32,
    /// The receiving task (host tgid, tid).
    pub target_pid: u32,
    pub target_tid: u32,
    /// [`signal_flags`] bits.
    pub flags: u32,
    pub si_code: i32,
    pub si_errno: i32,
    /// `_sifields._kill._pid` / `_sigchld._pid` (same place): the sender
    /// (for SIGCHLD, the child) as the receiver's namespace numbers it.
    pub si_pid: u32,
    pub si_uid: u32,
    /// `_sigchld._status`: exit code or signal of the child.
    pub si_status: i32,
    /// `_sigchld._utime` / `_stime` in clock ticks.
    pub si_utime: u64,
    pub si_stime: u64,
    /// signal_deliver: the handler that will run (`SIG_DFL` 0, `SIG_IGN` 1,
    /// else an address) and its `sa_flags`.
    pub sa_handler: u64,
    pub sa_flags: u64,
    /// The receiving task's comm.
    pub target_comm: [u8; COMM_LEN],
}
const _: () = assert!(size_of::<SignalRecord>() == size_of::<RecordHeader>() + 48 + 32 + COMM_LEN);

pub mod signal_phase {
    pub const GENERATE: u32 = 0;
    pub const DELIVER: u32 = 1;
}

pub mod signal_flags {
    /// `info` was a real siginfo (not SEND_SIG_NOINFO / SEND_SIG_PRIV);
    /// the `si_*` fields are meaningful.
    pub const HAS_INFO: u32 = 1 << 0;
}

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
    /// (tracer attached mid-call, or the entry could not be stashed, which
    /// `StashFailed` counted at entry too).
    ExitWithoutEnter = 2,
    /// Entry could not be stashed (no task-storage slot: allocation failed,
    /// or the storage was busy on this CPU).
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
/// Slot of each CPU's line in `COUNTERS` that holds a gauge, not a counter:
/// +1 when a thread's pending slot takes a call, −1 when `sys_exit` (or,
/// as a backstop, the thread's exit) releases it. A call can enter on one
/// CPU and leave on another, so one CPU's value means nothing; the sum over
/// CPUs, wrapping, read as an `i64`, is the number of traced calls in
/// flight right now — the size of the pairing state.
pub const IN_FLIGHT_SLOT: u32 = COUNTER_COUNT;
const _: () = assert!(IN_FLIGHT_SLOT < COUNTER_STRIDE);
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
    /// 1 when `sched_process_exit` passes `group_dead` (Linux ≥ 6.16's
    /// two-argument form, told by the kernel's BTF); otherwise the exit
    /// hook reads `signal->live`.
    pub exit_has_group_dead: u32,
    /// Bit n-1 set: the generation and delivery of signal n are reported.
    pub signal_mask: u64,
    /// Wake the reader only once this many bytes wait in the ring buffer
    /// (records are submitted with BPF_RB_NO_WAKEUP below it; the daemon
    /// drains on a short timer anyway). 0: wake on every record.
    pub wakeup_bytes: u64,
    /// More kernel struct offsets from BTF.
    pub offs: KernelOffsets,
}
const _: () = assert!(size_of::<Config>() == 64 + 32 + 16 + size_of::<KernelOffsets>());

/// Offsets of the kernel struct members the programs read, from the running
/// kernel's BTF (aya-ebpf has no CO-RE relocations for kernel structs).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct KernelOffsets {
    pub task_pid: u32,
    pub task_group_leader: u32,
    pub task_thread_pid: u32,
    pub task_exit_code: u32,
    pub task_comm: u32,
    /// `struct pid::level` and `::numbers`; `struct upid`'s size and `nr`.
    pub pid_level: u32,
    pub pid_numbers: u32,
    pub upid_size: u32,
    pub upid_nr: u32,
    /// `linux_binprm::filename`.
    pub binprm_filename: u32,
    /// `kernel_siginfo` members.
    pub siginfo_errno: u32,
    pub siginfo_code: u32,
    pub siginfo_pid: u32,
    pub siginfo_uid: u32,
    pub siginfo_status: u32,
    pub siginfo_utime: u32,
    pub siginfo_stime: u32,
    /// `k_sigaction::sa.sa_handler` and `.sa_flags`.
    pub ksigaction_handler: u32,
    pub ksigaction_flags: u32,
    /// `task_struct::mm`; `mm_struct::arg_start`, `arg_end`, `env_end`,
    /// `start_stack`.
    pub task_mm: u32,
    pub mm_arg_start: u32,
    pub mm_arg_end: u32,
    pub mm_env_end: u32,
    pub mm_start_stack: u32,
    /// `task_struct::children`, `::sibling` (list heads), `::exit_state`.
    pub task_children: u32,
    pub task_sibling: u32,
    pub task_exit_state: u32,
    /// `task_struct::cred`; `cred::uid` and `::gid` (a `kuid_t`'s `val`
    /// is its first member).
    pub task_cred: u32,
    pub cred_uid: u32,
    pub cred_gid: u32,
    /// `task_struct::cgroups`, `css_set::dfl_cgrp`, `cgroup::kn`,
    /// `kernfs_node::id`: the cgroup v2 id, as `bpf_get_current_cgroup_id`
    /// reads it.
    pub task_cgroups: u32,
    pub css_set_dfl_cgrp: u32,
    pub cgroup_kn: u32,
    pub kernfs_node_id: u32,
    /// `task_struct::start_boottime` (Linux ≥ 5.5): the task's creation,
    /// ns since boot.
    pub task_start_boottime: u32,
    /// Explicit padding (keeps `Config` a whole number of u64s): zero.
    pub _pad_offs: u32,
}
const _: () = assert!(size_of::<KernelOffsets>() == 36 * 4);

impl KernelOffsets {
    pub const fn zeroed() -> Self {
        KernelOffsets {
            task_pid: 0,
            task_group_leader: 0,
            task_thread_pid: 0,
            task_exit_code: 0,
            task_comm: 0,
            pid_level: 0,
            pid_numbers: 0,
            upid_size: 0,
            upid_nr: 0,
            binprm_filename: 0,
            siginfo_errno: 0,
            siginfo_code: 0,
            siginfo_pid: 0,
            siginfo_uid: 0,
            siginfo_status: 0,
            siginfo_utime: 0,
            siginfo_stime: 0,
            ksigaction_handler: 0,
            ksigaction_flags: 0,
            task_mm: 0,
            mm_arg_start: 0,
            mm_arg_end: 0,
            mm_env_end: 0,
            mm_start_stack: 0,
            task_children: 0,
            task_sibling: 0,
            task_exit_state: 0,
            task_cred: 0,
            cred_uid: 0,
            cred_gid: 0,
            task_cgroups: 0,
            css_set_dfl_cgrp: 0,
            cgroup_kn: 0,
            kernfs_node_id: 0,
            task_start_boottime: 0,
            _pad_offs: 0,
        }
    }
}

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
            exit_has_group_dead: 0,
            signal_mask: 0,
            wakeup_bytes: 0,
            offs: KernelOffsets::zeroed(),
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
    pub const MUNMAP: u32 = 11;
    pub const BRK: u32 = 12;
    pub const RT_SIGACTION: u32 = 13;
    pub const RT_SIGPROCMASK: u32 = 14;
    pub const CLONE: u32 = 56;
    pub const EXECVE: u32 = 59;
    pub const EXIT: u32 = 60;
    pub const WAIT4: u32 = 61;
    pub const ARCH_PRCTL: u32 = 158;
    pub const SET_TID_ADDRESS: u32 = 218;
    pub const EXIT_GROUP: u32 = 231;
    pub const SET_ROBUST_LIST: u32 = 273;
    pub const PRLIMIT64: u32 = 302;
    pub const EXECVEAT: u32 = 322;
    pub const RSEQ: u32 = 334;
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
    unsafe impl aya::Pod for SyscallRecordExec {}
    unsafe impl aya::Pod for ExecCapture {}
    unsafe impl aya::Pod for EntryCapture {}
    unsafe impl aya::Pod for PendingSyscall {}
    unsafe impl aya::Pod for ForkRecord {}
    unsafe impl aya::Pod for ExecRecord {}
    unsafe impl aya::Pod for ExitRecord {}
    unsafe impl aya::Pod for SignalRecord {}
    unsafe impl aya::Pod for KernelOffsets {}
    unsafe impl aya::Pod for Config {}
}
