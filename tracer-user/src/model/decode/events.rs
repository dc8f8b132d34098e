//! The typed events a record decodes to: one per record kind, with the
//! header every record carries and the user memory a call's record holds.

use thiserror::Error;
use tracer_common::syscall_flags;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("record of {0} bytes is shorter than its header")]
    Truncated(usize),
    #[error("unknown record kind {0}")]
    UnknownKind(u32),
    #[error("{kind} record has {len} bytes, expected {expected}")]
    BadLength { kind: &'static str, len: usize, expected: usize },
}

/// Fields every record carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    pub cpu: u32,
    /// Nanoseconds since boot (CLOCK_BOOTTIME).
    pub ts_boot_ns: u64,
    pub pid: u32,
    pub tid: u32,
    pub ppid: u32,
    pub uid: u32,
    pub gid: u32,
    pub cgroup_id: u64,
    /// comm bytes up to (not including) the first NUL.
    pub comm: Comm,
    /// pid-namespace level (0: the initial namespace) and the ids there.
    pub ns_level: u32,
    pub ns_pid: u32,
    pub ns_tid: u32,
    pub ns_ppid: u32,
    /// When the process and its parent process were created (their
    /// leaders' `start_boottime`, ns since boot): what `exec_id` and
    /// `parent_exec_id` are made of.
    pub start_ns: u64,
    pub parent_start_ns: u64,
    /// What tracer adds (exec ids, ancestors, cgroup): empty when decoded,
    /// filled by `Output` before the record is rendered.
    pub ident: crate::model::identity::Ident,
}

pub use crate::model::comm::Comm;

/// clone3's `struct clone_args` as far as the caller's `size` covered it.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct CloneArgs {
    /// Bytes actually read (64, 80 or 88 for the three published versions).
    pub len: u32,
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
    /// The tid the kernel stored at `parent_tid` (CLONE_PARENT_SETTID), read
    /// at exit.
    pub parent_tid_value: Option<u32>,
}

/// `struct rusage` (x86-64): two timevals, then fourteen longs.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Rusage {
    pub utime_us: u64,
    pub stime_us: u64,
    /// ru_maxrss … ru_nivcsw in declaration order.
    pub longs: [i64; 14],
}

/// The kernel's `struct sigaction` on x86-64 (rt_sigaction's act/oact),
/// and `struct rlimit64`: the record's own types.
pub use tracer_common::layout::{Rlimit64 as Rlimit, Sigaction as KSigaction};

/// A string read from user memory, bounded.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct UserStr {
    pub bytes: Vec<u8>,
    /// The string went on past what was read.
    pub truncated: bool,
}

/// execve/execveat's strings, read at entry.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ExecArgs {
    /// None if it could not be read.
    pub filename: Option<UserStr>,
    /// The first argv strings (None where a string could not be read).
    pub argv: Vec<Option<UserStr>>,
    /// argv entries counted; `argc_capped`: at least that many.
    pub argc: u32,
    pub argc_capped: bool,
    /// The argv array itself could not be read (after `argc` entries).
    pub argv_fault: bool,
    pub envc: u32,
    pub envc_capped: bool,
    pub envp_fault: bool,
}

/// User memory the kernel side read for this call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Extra {
    None,
    Clone3(CloneArgs),
    Wait4 { status: Option<i32>, rusage: Option<Rusage> },
    /// rt_sigprocmask: the set passed in, the old set written back.
    Sigset { set: Option<u64>, oldset: Option<u64> },
    /// rt_sigaction: act passed in, oact written back.
    Sigaction { act: Option<KSigaction>, oldact: Option<KSigaction> },
    /// prlimit64: the new limit passed in, the old one written back.
    Rlimit { new: Option<Rlimit>, old: Option<Rlimit> },
    Exec(Box<ExecArgs>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyscallEvent {
    pub header: Header,
    pub nr: u32,
    /// `tracer_common::syscall_flags` bits.
    pub flags: u32,
    pub args: [u64; 6],
    pub ret: i64,
    pub duration_ns: u64,
    pub extra: Extra,
}

impl SyscallEvent {
    pub fn enter_read_failed(&self) -> bool {
        self.flags & syscall_flags::ENTER_READ_FAILED != 0
    }
    pub fn exit_read_failed(&self) -> bool {
        self.flags & syscall_flags::EXIT_READ_FAILED != 0
    }
    /// exit/exit_group: recorded at entry, never returned.
    pub fn no_return(&self) -> bool {
        self.flags & syscall_flags::NO_RETURN != 0
    }
}

/// `sched_process_fork`: the header is the parent thread.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForkEvent {
    pub header: Header,
    pub child_pid: u32,
    pub child_tid: u32,
    pub child_ns_pid: u32,
    pub child_ns_tid: u32,
    /// The child is a thread of the parent's process (CLONE_THREAD).
    pub thread: bool,
}

/// `sched_process_exec`: the header is the task after the exec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecEvent {
    pub header: Header,
    pub old_tid: u32,
    /// `bprm->filename`; None if unreadable.
    pub filename: Option<UserStr>,
    /// The comm before the exec. The kernel has already replaced it when
    /// the tracepoint fires, so this is filled in later from what tracer
    /// knew of the task (`procs`); None if it knew nothing.
    pub old_comm: Option<Comm>,
}

/// `sched_process_exit`: the header is the exiting thread.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExitEvent {
    pub header: Header,
    /// wait(2)-style status: exit code << 8, or the killing signal (| 0x80 core).
    pub exit_code: u32,
    pub group_dead: bool,
    /// When the group died: the processes it never reaped (tgid, zombie),
    /// as the kernel's children list had them; `children_capped`: more.
    pub children: Vec<(u32, bool)>,
    pub children_capped: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignalPhase {
    Generate,
    Deliver,
}

/// The `kernel_siginfo` fields a signal record carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct SigInfo {
    pub errno: i32,
    pub code: i32,
    pub pid: u32,
    pub uid: u32,
    pub status: i32,
    pub utime: u64,
    pub stime: u64,
}

/// `signal_generate` / `signal_deliver`: the header is current (sender,
/// or receiver on delivery).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignalEvent {
    pub header: Header,
    pub sig: u32,
    pub phase: SignalPhase,
    /// signal_generate's result (TRACE_SIGNAL_*).
    pub result: i32,
    pub group: bool,
    pub target_pid: u32,
    pub target_tid: u32,
    pub target_comm: Comm,
    /// None for SEND_SIG_NOINFO / SEND_SIG_PRIV.
    pub info: Option<SigInfo>,
    /// On delivery: the handler and its sa_flags.
    pub handler: Option<(u64, u64)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    Syscall(SyscallEvent),
    Fork(ForkEvent),
    Exec(ExecEvent),
    Exit(ExitEvent),
    Signal(SignalEvent),
}

impl Event {
    pub fn header(&self) -> &Header {
        match self {
            Event::Syscall(e) => &e.header,
            Event::Fork(e) => &e.header,
            Event::Exec(e) => &e.header,
            Event::Exit(e) => &e.header,
            Event::Signal(e) => &e.header,
        }
    }

    pub fn header_mut(&mut self) -> &mut Header {
        match self {
            Event::Syscall(e) => &mut e.header,
            Event::Fork(e) => &mut e.header,
            Event::Exec(e) => &mut e.header,
            Event::Exit(e) => &mut e.header,
            Event::Signal(e) => &mut e.header,
        }
    }
}
