//! Ring-buffer bytes → typed events. Pure: no I/O, no kernel, no root.
//!
//! Every record is validated against its declared kind and length before a
//! field is read; nothing here can panic on malformed input.

use thiserror::Error;
use tracer_common::{
    CLONE_ARGS_SIZE, COMM_LEN, EXIT_CHILDREN_MAX, EXEC_ARG_READ, EXEC_ARG_SHOWN, EXEC_ARG_SLOT, EXEC_ARGV_BLOCK, EXEC_ARGV_MAX,
    EXEC_FILENAME_MAX,
    ExecRecord, ExitRecord, ForkRecord, PARENT_TID_OFFSET, RUSAGE_OFFSET, RUSAGE_SIZE, RecordKind,
    SignalRecord, SyscallRecord, SyscallRecordExec, SyscallRecordExtra, capture, exec_flags, exit_flags,
    fork_flags, nr, signal_flags, signal_phase, syscall_flags,
};

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
}

/// A task's comm: at most 15 bytes, any byte value but NUL.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Comm {
    buf: [u8; COMM_LEN],
    len: u8,
}

impl Comm {
    pub fn from_bytes(raw: &[u8]) -> Self {
        let len = raw.iter().take(COMM_LEN).position(|&b| b == 0).unwrap_or(raw.len().min(COMM_LEN));
        let mut buf = [0; COMM_LEN];
        buf[..len].copy_from_slice(&raw[..len]);
        Comm { buf, len: len as u8 }
    }
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len as usize]
    }
}

impl std::fmt::Debug for Comm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.as_bytes()))
    }
}

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

/// The kernel's `struct sigaction` on x86-64 (rt_sigaction's act/oact).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct KSigaction {
    pub handler: u64,
    pub flags: u64,
    pub restorer: u64,
    pub mask: u64,
}

/// `struct rlimit64`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Rlimit {
    pub cur: u64,
    pub max: u64,
}

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
}

fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(b[off..off + 4].try_into().unwrap())
}
fn u64_at(b: &[u8], off: usize) -> u64 {
    u64::from_le_bytes(b[off..off + 8].try_into().unwrap())
}
fn i32_at(b: &[u8], off: usize) -> i32 {
    u32_at(b, off) as i32
}

const HEADER_LEN: usize = size_of::<tracer_common::RecordHeader>();
const SYSCALL_LEN: usize = size_of::<SyscallRecord>();
const SYSCALL_EXTRA_LEN: usize = size_of::<SyscallRecordExtra>();
const SYSCALL_EXEC_LEN: usize = size_of::<SyscallRecordExec>();

/// Decodes one ring-buffer record.
pub fn decode(b: &[u8]) -> Result<Event, DecodeError> {
    if b.len() < HEADER_LEN {
        return Err(DecodeError::Truncated(b.len()));
    }
    let kind = u32_at(b, 0);
    match RecordKind::try_from(kind).map_err(DecodeError::UnknownKind)? {
        RecordKind::Syscall => decode_syscall(b).map(Event::Syscall),
        RecordKind::Fork => decode_fork(b).map(Event::Fork),
        RecordKind::Exec => decode_exec(b).map(Event::Exec),
        RecordKind::Exit => decode_exit(b).map(Event::Exit),
        RecordKind::Signal => decode_signal(b).map(Event::Signal),
    }
}

fn expect_len(b: &[u8], kind: &'static str, expected: usize) -> Result<(), DecodeError> {
    if b.len() == expected { Ok(()) } else { Err(DecodeError::BadLength { kind, len: b.len(), expected }) }
}

fn decode_fork(b: &[u8]) -> Result<ForkEvent, DecodeError> {
    expect_len(b, "fork", size_of::<ForkRecord>())?;
    let o = HEADER_LEN;
    Ok(ForkEvent {
        header: decode_header(b),
        child_pid: u32_at(b, o),
        child_tid: u32_at(b, o + 4),
        child_ns_pid: u32_at(b, o + 8),
        child_ns_tid: u32_at(b, o + 12),
        thread: u32_at(b, o + 16) & fork_flags::THREAD != 0,
    })
}

/// A NUL-terminated string the kernel side copied into `slot`, with the
/// `*_str` helper's return `n` (bytes including the NUL, or negative).
/// `n` equal to `full` (the size asked for) means the source went on.
fn user_str(slot: &[u8], n: i64, full: usize, shown: usize) -> Option<UserStr> {
    if n <= 0 {
        return None;
    }
    let n = (n as usize).min(slot.len());
    let len = slot[..n].iter().position(|&c| c == 0).unwrap_or(n);
    let truncated = n >= full || len > shown;
    Some(UserStr { bytes: slot[..len.min(shown)].to_vec(), truncated })
}

fn decode_exec(b: &[u8]) -> Result<ExecEvent, DecodeError> {
    expect_len(b, "exec", size_of::<ExecRecord>())?;
    let o = HEADER_LEN;
    let slot = &b[o + 8..];
    Ok(ExecEvent {
        header: decode_header(b),
        old_tid: u32_at(b, o),
        filename: user_str(slot, i32_at(b, o + 4).into(), slot.len(), slot.len()),
        old_comm: None,
    })
}

fn decode_exit(b: &[u8]) -> Result<ExitEvent, DecodeError> {
    expect_len(b, "exit", size_of::<ExitRecord>())?;
    let o = HEADER_LEN;
    let flags = u32_at(b, o + 4);
    let n = (u32_at(b, o + 8) as usize).min(EXIT_CHILDREN_MAX);
    let zombies = u32_at(b, o + 12);
    Ok(ExitEvent {
        header: decode_header(b),
        exit_code: u32_at(b, o),
        group_dead: flags & exit_flags::GROUP_DEAD != 0,
        children: (0..n).map(|i| (u32_at(b, o + 16 + 4 * i), zombies & (1 << i) != 0)).collect(),
        children_capped: flags & exit_flags::CHILDREN_CAPPED != 0,
    })
}

fn decode_signal(b: &[u8]) -> Result<SignalEvent, DecodeError> {
    expect_len(b, "signal", size_of::<SignalRecord>())?;
    let o = HEADER_LEN;
    let phase = if u32_at(b, o + 4) == signal_phase::DELIVER { SignalPhase::Deliver } else { SignalPhase::Generate };
    let flags = u32_at(b, o + 24);
    let info = (flags & signal_flags::HAS_INFO != 0).then(|| SigInfo {
        errno: i32_at(b, o + 32),
        code: i32_at(b, o + 28),
        pid: u32_at(b, o + 36),
        uid: u32_at(b, o + 40),
        status: i32_at(b, o + 44),
        utime: u64_at(b, o + 48),
        stime: u64_at(b, o + 56),
    });
    Ok(SignalEvent {
        header: decode_header(b),
        sig: u32_at(b, o),
        phase,
        result: i32_at(b, o + 8),
        group: u32_at(b, o + 12) != 0,
        target_pid: u32_at(b, o + 16),
        target_tid: u32_at(b, o + 20),
        target_comm: Comm::from_bytes(&b[o + 80..o + 80 + COMM_LEN]),
        info,
        handler: (phase == SignalPhase::Deliver).then(|| (u64_at(b, o + 64), u64_at(b, o + 72))),
    })
}

fn decode_header(b: &[u8]) -> Header {
    Header {
        cpu: u32_at(b, 4),
        ts_boot_ns: u64_at(b, 8),
        pid: u32_at(b, 16),
        tid: u32_at(b, 20),
        ppid: u32_at(b, 24),
        uid: u32_at(b, 28),
        gid: u32_at(b, 32),
        ns_level: u32_at(b, 36),
        cgroup_id: u64_at(b, 40),
        comm: Comm::from_bytes(&b[48..48 + COMM_LEN]),
        ns_pid: u32_at(b, 64),
        ns_tid: u32_at(b, 68),
        ns_ppid: u32_at(b, 72),
    }
}

fn decode_syscall(b: &[u8]) -> Result<SyscallEvent, DecodeError> {
    if b.len() != SYSCALL_LEN && b.len() != SYSCALL_EXTRA_LEN && b.len() != SYSCALL_EXEC_LEN {
        return Err(DecodeError::BadLength { kind: "syscall", len: b.len(), expected: SYSCALL_LEN });
    }
    let header = decode_header(b);
    let o = HEADER_LEN;
    let nr = u32_at(b, o);
    let flags = u32_at(b, o + 4);
    let mut args = [0u64; 6];
    for (i, a) in args.iter_mut().enumerate() {
        *a = u64_at(b, o + 8 + 8 * i);
    }
    let ret = u64_at(b, o + 56) as i64;
    let duration_ns = u64_at(b, o + 64);
    let extra_len = u32_at(b, o + 72) as usize;
    let extra = if b.len() == SYSCALL_EXTRA_LEN {
        decode_extra(nr, flags, extra_len, &b[SYSCALL_LEN..])
    } else if b.len() == SYSCALL_EXEC_LEN && flags & syscall_flags::EXTRA_EXEC != 0 {
        Extra::Exec(Box::new(decode_exec_args(&b[SYSCALL_LEN..])))
    } else {
        Extra::None
    };
    Ok(SyscallEvent { header, nr, flags, args, ret, duration_ns, extra })
}

/// An [`tracer_common::ExecCapture`].
fn decode_exec_args(x: &[u8]) -> ExecArgs {
    let f = u32_at(x, 12);
    let fname_off = 32;
    let argv_off = fname_off + EXEC_FILENAME_MAX;
    let argc = u32_at(x, 0);
    let shown = (argc as usize).min(EXEC_ARGV_MAX);
    let argv = if f & exec_flags::ARGV_BLOCK != 0 {
        let n = (u16::from_le_bytes([x[16], x[17]]) as usize).min(EXEC_ARGV_BLOCK);
        argv_block(&x[argv_off..argv_off + n], shown, f & exec_flags::ARGV_BLOCK_CUT != 0)
    } else {
        (0..shown)
            .map(|i| {
                let n = u16::from_le_bytes([x[16 + 2 * i], x[17 + 2 * i]]) as i16;
                let slot = &x[argv_off + i * EXEC_ARG_SLOT..argv_off + (i + 1) * EXEC_ARG_SLOT];
                user_str(slot, n.into(), EXEC_ARG_READ, EXEC_ARG_SHOWN)
            })
            .collect()
    };
    ExecArgs {
        filename: user_str(&x[fname_off..argv_off], i32_at(x, 8).into(), EXEC_FILENAME_MAX, EXEC_FILENAME_MAX),
        argv,
        argc,
        argc_capped: f & exec_flags::ARGC_CAPPED != 0,
        argv_fault: f & exec_flags::ARGV_FAULT != 0,
        envc: u32_at(x, 4),
        envc_capped: f & exec_flags::ENVC_CAPPED != 0,
        envp_fault: f & exec_flags::ENVP_FAULT != 0,
    }
}

/// The first `shown` strings of a NUL-separated argument block, each cut
/// at strace's 32 bytes; `cut`: the block stopped short of the area's end.
fn argv_block(block: &[u8], shown: usize, cut: bool) -> Vec<Option<UserStr>> {
    let mut out = Vec::new();
    let mut rest = block;
    while out.len() < shown && !rest.is_empty() {
        let (s, more, ended) = match rest.iter().position(|&c| c == 0) {
            Some(i) => (&rest[..i], &rest[i + 1..], true),
            None => (rest, &rest[rest.len()..], !cut),
        };
        out.push(Some(UserStr { bytes: s[..s.len().min(EXEC_ARG_SHOWN)].to_vec(), truncated: s.len() > EXEC_ARG_SHOWN || !ended }));
        rest = more;
    }
    out
}

fn decode_extra(nr: u32, flags: u32, extra_len: usize, x: &[u8]) -> Extra {
    let input = flags & syscall_flags::EXTRA_IN != 0;
    let output = flags & syscall_flags::EXTRA_OUT != 0;
    let sigaction = |o: usize| KSigaction {
        handler: u64_at(x, o),
        flags: u64_at(x, o + 8),
        restorer: u64_at(x, o + 16),
        mask: u64_at(x, o + 24),
    };
    let rlimit = |o: usize| Rlimit { cur: u64_at(x, o), max: u64_at(x, o + 8) };
    match nr {
        nr::RT_SIGPROCMASK => {
            return Extra::Sigset {
                set: input.then(|| u64_at(x, 0)),
                oldset: output.then(|| u64_at(x, capture::SIGSET_OUT)),
            };
        }
        nr::RT_SIGACTION => {
            return Extra::Sigaction {
                act: input.then(|| sigaction(0)),
                oldact: output.then(|| sigaction(capture::SIGACTION_OUT)),
            };
        }
        nr::PRLIMIT64 => {
            return Extra::Rlimit { new: input.then(|| rlimit(0)), old: output.then(|| rlimit(capture::RLIMIT_OUT)) };
        }
        _ => {}
    }
    if flags & syscall_flags::EXTRA_CLONE_ARGS != 0 {
        let len = extra_len.min(CLONE_ARGS_SIZE);
        let field = |i: usize| if 8 * (i + 1) <= len { u64_at(x, 8 * i) } else { 0 };
        return Extra::Clone3(CloneArgs {
            len: len as u32,
            flags: field(0),
            pidfd: field(1),
            child_tid: field(2),
            parent_tid: field(3),
            exit_signal: field(4),
            stack: field(5),
            stack_size: field(6),
            tls: field(7),
            set_tid: field(8),
            set_tid_size: field(9),
            cgroup: field(10),
            parent_tid_value: (flags & syscall_flags::EXTRA_PARENT_TID != 0)
                .then(|| u32_at(x, PARENT_TID_OFFSET)),
        });
    }
    let status = (flags & syscall_flags::EXTRA_WAIT_STATUS != 0).then(|| u32_at(x, 0) as i32);
    let rusage = (flags & syscall_flags::EXTRA_RUSAGE != 0).then(|| {
        let r = &x[RUSAGE_OFFSET..RUSAGE_OFFSET + RUSAGE_SIZE];
        let tv = |o: usize| (u64_at(r, o)).wrapping_mul(1_000_000).wrapping_add(u64_at(r, o + 8));
        let mut longs = [0i64; 14];
        for (i, l) in longs.iter_mut().enumerate() {
            *l = u64_at(r, 32 + 8 * i) as i64;
        }
        Rusage { utime_us: tv(0), stime_us: tv(16), longs }
    });
    if status.is_none() && rusage.is_none() {
        Extra::None
    } else {
        Extra::Wait4 { status, rusage }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use tracer_common::{EXTRA_MAX, RecordHeader, nr};

    pub(crate) fn header(pid: u32, tid: u32, comm: &[u8]) -> RecordHeader {
        let mut c = [0u8; COMM_LEN];
        c[..comm.len()].copy_from_slice(comm);
        RecordHeader {
            kind: RecordKind::Syscall as u32,
            cpu: 1,
            ts_ns: 5_000_000_123,
            pid,
            tid,
            ppid: 1,
            uid: 0,
            gid: 0,
            ns_level: 0,
            cgroup_id: 4242,
            comm: c,
            ns_pid: pid,
            ns_tid: tid,
            ns_ppid: 1,
            _pad0: 0,
        }
    }

    pub(crate) fn record(nr: u32, args: [u64; 6], ret: i64) -> SyscallRecord {
        SyscallRecord {
            header: header(100, 101, b"threads"),
            nr,
            flags: 0,
            args,
            ret,
            duration_ns: 1500,
            extra_len: 0,
            _pad1: 0,
        }
    }

    pub(crate) fn bytes<T: Copy>(v: &T) -> Vec<u8> {
        // Test-only view of a repr(C) record without padding, as the kernel writes it.
        unsafe { std::slice::from_raw_parts(v as *const T as *const u8, size_of::<T>()) }.to_vec()
    }

    #[test]
    fn decodes_plain_syscall_record() {
        let r = record(nr::MMAP, [0, 8392704, 0, 0x20022, u64::MAX, 0], 0x7f89_78e0_0000);
        let Event::Syscall(ev) = decode(&bytes(&r)).unwrap() else { panic!() };
        assert_eq!(ev.nr, nr::MMAP);
        assert_eq!(ev.header.pid, 100);
        assert_eq!(ev.header.tid, 101);
        assert_eq!(ev.header.comm.as_bytes(), b"threads");
        assert_eq!(ev.header.cgroup_id, 4242);
        assert_eq!(ev.args[1], 8392704);
        assert_eq!(ev.ret, 0x7f89_78e0_0000);
        assert_eq!(ev.duration_ns, 1500);
        assert_eq!(ev.extra, Extra::None);
    }

    #[test]
    fn decodes_clone3_args_honouring_size() {
        let mut x = SyscallRecordExtra { base: record(nr::CLONE3, [0x7ffd_0000, 88, 0, 0, 0, 0], 74200), extra: [0; EXTRA_MAX] };
        x.base.flags = syscall_flags::EXTRA_CLONE_ARGS;
        x.base.extra_len = 64; // a CLONE_ARGS_SIZE_VER0 caller
        let vals: [u64; 11] = [0x3d0f00, 0, 0x7f89_7960_0910, 0x7f89_7960_0910, 0, 0x7f89_78e0_0000, 0x7fff00, 0x7f89_7960_0640, 9, 9, 9];
        for (i, v) in vals.iter().enumerate() {
            x.extra[8 * i..8 * i + 8].copy_from_slice(&v.to_le_bytes());
        }
        let Event::Syscall(ev) = decode(&bytes(&x)).unwrap() else { panic!() };
        let Extra::Clone3(ca) = ev.extra else { panic!("no clone_args") };
        assert_eq!(ca.len, 64);
        assert_eq!(ca.flags, 0x3d0f00);
        assert_eq!(ca.stack, 0x7f89_78e0_0000);
        assert_eq!(ca.stack_size, 0x7fff00);
        assert_eq!(ca.tls, 0x7f89_7960_0640);
        // Beyond the caller's size: not read, reported as zero.
        assert_eq!((ca.set_tid, ca.set_tid_size, ca.cgroup), (0, 0, 0));
    }

    #[test]
    fn decodes_wait4_status_and_rusage() {
        let mut x = SyscallRecordExtra { base: record(nr::WAIT4, [76678, 0x7ffc_0000, 0, 0x7ffc_1000, 0, 0], 76678), extra: [0; EXTRA_MAX] };
        x.base.flags = syscall_flags::EXTRA_WAIT_STATUS | syscall_flags::EXTRA_RUSAGE;
        x.extra[0..4].copy_from_slice(&0x100i32.to_le_bytes());
        x.extra[RUSAGE_OFFSET..RUSAGE_OFFSET + 8].copy_from_slice(&2u64.to_le_bytes()); // utime.tv_sec
        x.extra[RUSAGE_OFFSET + 8..RUSAGE_OFFSET + 16].copy_from_slice(&5u64.to_le_bytes()); // utime.tv_usec
        x.extra[RUSAGE_OFFSET + 32..RUSAGE_OFFSET + 40].copy_from_slice(&1234u64.to_le_bytes()); // maxrss
        let Event::Syscall(ev) = decode(&bytes(&x)).unwrap() else { panic!() };
        let Extra::Wait4 { status, rusage } = ev.extra else { panic!() };
        assert_eq!(status, Some(0x100));
        let ru = rusage.unwrap();
        assert_eq!(ru.utime_us, 2_000_005);
        assert_eq!(ru.longs[0], 1234);
    }

    #[test]
    fn rejects_malformed_records_without_panicking() {
        assert_eq!(decode(&[]), Err(DecodeError::Truncated(0)));
        assert_eq!(decode(&[1, 0, 0]), Err(DecodeError::Truncated(3)));
        let mut b = bytes(&record(nr::MMAP, [0; 6], 0));
        b[0] = 99;
        assert_eq!(decode(&b), Err(DecodeError::UnknownKind(99)));
        b[0] = 1;
        b.pop();
        assert!(matches!(decode(&b), Err(DecodeError::BadLength { .. })));
        // Every prefix length and a spray of byte patterns: errors, never panics.
        let good = bytes(&SyscallRecordExtra { base: record(nr::WAIT4, [0; 6], 1), extra: [0xff; EXTRA_MAX] });
        for n in 0..=good.len() {
            let _ = decode(&good[..n]);
        }
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..2000 {
            let mut v = good.clone();
            for byte in v.iter_mut() {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                *byte = seed as u8;
            }
            v[0] = 1;
            let _ = decode(&v);
        }
    }

    #[test]
    fn an_argument_block_splits_into_strings() {
        let s = |b: &[u8], t| Some(UserStr { bytes: b.to_vec(), truncated: t });
        assert_eq!(argv_block(b"true\0x\0", 2, false), vec![s(b"true", false), s(b"x", false)]);
        let long = b"a-long-argument-that-is-longer-than-32-bytes\0y\0";
        assert_eq!(argv_block(long, 3, false), vec![s(b"a-long-argument-that-is-longer-t", true), s(b"y", false)]);
        // The block was cut mid-string: that string is truncated.
        assert_eq!(argv_block(b"ab\0cd", 2, true), vec![s(b"ab", false), s(b"cd", true)]);
        assert_eq!(argv_block(b"ab\0cd\0ef\0", 2, false).len(), 2);
    }

    #[test]
    fn comm_stops_at_first_nul_and_keeps_any_other_byte() {
        assert_eq!(Comm::from_bytes(b"ab\0cd").as_bytes(), b"ab");
        assert_eq!(Comm::from_bytes(b"\x1b\"\\\xff\n").as_bytes(), b"\x1b\"\\\xff\n");
        assert_eq!(Comm::from_bytes(&[b'x'; 16]).as_bytes(), &[b'x'; 16]);
    }
}
