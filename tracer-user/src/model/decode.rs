//! Ring-buffer bytes → typed events. Pure: no I/O, no kernel, no root.
//!
//! Every record is validated against its declared kind and length before a
//! field is read; nothing here can panic on malformed input.

use thiserror::Error;
use tracer_common::layout::{
    Clone3Extra, Record, RlimitExtra, SigactionExtra, SigsetExtra, Timeval, Wait4Extra, read,
};
use tracer_common::{
    CLONE_ARGS_SIZE, EXEC_ARG_READ, EXEC_ARG_SHOWN, EXEC_ARGV_BLOCK, EXEC_ARGV_MAX, EXEC_FILENAME_MAX,
    EXEC_PATH_MAX, EXIT_CHILDREN_MAX, EXTRA_MAX, ExecCapture, ExecRecord, ExitRecord, ForkRecord, RecordHeader,
    RecordKind, SignalRecord, SyscallRecord, SyscallRecordExec, SyscallRecordExtra, exec_flags, exit_flags,
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

const SYSCALL_LEN: usize = size_of::<SyscallRecord>();
const SYSCALL_EXTRA_LEN: usize = size_of::<SyscallRecordExtra>();
const SYSCALL_EXEC_LEN: usize = size_of::<SyscallRecordExec>();

/// Decodes one ring-buffer record.
pub fn decode(b: &[u8]) -> Result<Event, DecodeError> {
    let Some(h) = read::<RecordHeader>(b) else {
        return Err(DecodeError::Truncated(b.len()));
    };
    match RecordKind::try_from(h.kind).map_err(DecodeError::UnknownKind)? {
        RecordKind::Syscall => decode_syscall(b).map(Event::Syscall),
        RecordKind::Fork => decode_fork(b).map(Event::Fork),
        RecordKind::Exec => decode_exec(b).map(Event::Exec),
        RecordKind::Exit => decode_exit(b).map(Event::Exit),
        RecordKind::Signal => decode_signal(b).map(Event::Signal),
    }
}

/// `b` as a `T`, which must be exactly its length.
fn exactly<T: Record>(b: &[u8], kind: &'static str) -> Result<T, DecodeError> {
    let expected = size_of::<T>();
    match read::<T>(b) {
        Some(r) if b.len() == expected => Ok(r),
        _ => Err(DecodeError::BadLength { kind, len: b.len(), expected }),
    }
}

fn decode_fork(b: &[u8]) -> Result<ForkEvent, DecodeError> {
    let r: ForkRecord = exactly(b, "fork")?;
    Ok(ForkEvent {
        header: decode_header(&r.header),
        child_pid: r.child_pid,
        child_tid: r.child_tid,
        child_ns_pid: r.child_ns_pid,
        child_ns_tid: r.child_ns_tid,
        thread: r.flags & fork_flags::THREAD != 0,
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
    let r: ExecRecord = exactly(b, "exec")?;
    Ok(ExecEvent {
        header: decode_header(&r.header),
        old_tid: r.old_tid,
        filename: user_str(&r.filename, r.filename_len.into(), EXEC_PATH_MAX, EXEC_PATH_MAX),
        old_comm: None,
    })
}

fn decode_exit(b: &[u8]) -> Result<ExitEvent, DecodeError> {
    let r: ExitRecord = exactly(b, "exit")?;
    let n = (r.nr_children as usize).min(EXIT_CHILDREN_MAX);
    Ok(ExitEvent {
        header: decode_header(&r.header),
        exit_code: r.exit_code,
        group_dead: r.flags & exit_flags::GROUP_DEAD != 0,
        children: r.children[..n].iter().enumerate().map(|(i, &c)| (c, r.zombie_mask & (1 << i) != 0)).collect(),
        children_capped: r.flags & exit_flags::CHILDREN_CAPPED != 0,
    })
}

fn decode_signal(b: &[u8]) -> Result<SignalEvent, DecodeError> {
    let r: SignalRecord = exactly(b, "signal")?;
    let phase = if r.phase == signal_phase::DELIVER { SignalPhase::Deliver } else { SignalPhase::Generate };
    let info = (r.flags & signal_flags::HAS_INFO != 0).then_some(SigInfo {
        errno: r.si_errno,
        code: r.si_code,
        pid: r.si_pid,
        uid: r.si_uid,
        status: r.si_status,
        utime: r.si_utime,
        stime: r.si_stime,
    });
    Ok(SignalEvent {
        header: decode_header(&r.header),
        sig: r.sig,
        phase,
        result: r.result,
        group: r.group != 0,
        target_pid: r.target_pid,
        target_tid: r.target_tid,
        target_comm: Comm::from_bytes(&r.target_comm),
        info,
        handler: (phase == SignalPhase::Deliver).then_some((r.sa_handler, r.sa_flags)),
    })
}

fn decode_header(h: &RecordHeader) -> Header {
    Header {
        cpu: h.cpu,
        ts_boot_ns: h.ts_ns,
        pid: h.pid,
        tid: h.tid,
        ppid: h.ppid,
        uid: h.uid,
        gid: h.gid,
        ns_level: h.ns_level,
        cgroup_id: h.cgroup_id,
        comm: Comm::from_bytes(&h.comm),
        ns_pid: h.ns_pid,
        ns_tid: h.ns_tid,
        ns_ppid: h.ns_ppid,
        start_ns: h.start_ns,
        parent_start_ns: h.parent_start_ns,
        ident: Default::default(),
    }
}

fn decode_syscall(b: &[u8]) -> Result<SyscallEvent, DecodeError> {
    let r = match b.len() {
        SYSCALL_LEN | SYSCALL_EXTRA_LEN | SYSCALL_EXEC_LEN => read::<SyscallRecord>(b),
        _ => None,
    };
    let Some(r) = r else {
        return Err(DecodeError::BadLength { kind: "syscall", len: b.len(), expected: SYSCALL_LEN });
    };
    let extra = if b.len() == SYSCALL_EXTRA_LEN
        && let Some(x) = read::<SyscallRecordExtra>(b)
    {
        decode_extra(r.nr, r.flags, r.extra_len as usize, &x.extra)
    } else if b.len() == SYSCALL_EXEC_LEN
        && r.flags & syscall_flags::EXTRA_EXEC != 0
        && let Some(x) = read::<SyscallRecordExec>(b)
    {
        Extra::Exec(Box::new(decode_exec_args(&x.exec)))
    } else {
        Extra::None
    };
    Ok(SyscallEvent {
        header: decode_header(&r.header),
        nr: r.nr,
        flags: r.flags,
        args: r.args,
        ret: r.ret,
        duration_ns: r.duration_ns,
        extra,
    })
}

fn decode_exec_args(x: &ExecCapture) -> ExecArgs {
    let shown = (x.argc as usize).min(EXEC_ARGV_MAX);
    let argv = if x.flags & exec_flags::ARGV_BLOCK != 0 {
        // The slots hold one block of `argv_len[0]` bytes.
        let n = (x.argv_len[0] as u16 as usize).min(EXEC_ARGV_BLOCK);
        argv_block(&x.argv.as_flattened()[..n], shown, x.flags & exec_flags::ARGV_BLOCK_CUT != 0)
    } else {
        x.argv[..shown]
            .iter()
            .zip(x.argv_len)
            .map(|(slot, n)| user_str(slot, n.into(), EXEC_ARG_READ, EXEC_ARG_SHOWN))
            .collect()
    };
    ExecArgs {
        filename: user_str(&x.filename, x.filename_len.into(), EXEC_FILENAME_MAX, EXEC_FILENAME_MAX),
        argv,
        argc: x.argc,
        argc_capped: x.flags & exec_flags::ARGC_CAPPED != 0,
        argv_fault: x.flags & exec_flags::ARGV_FAULT != 0,
        envc: x.envc,
        envc_capped: x.flags & exec_flags::ENVC_CAPPED != 0,
        envp_fault: x.flags & exec_flags::ENVP_FAULT != 0,
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

/// The user memory of `extra`, by the types `tracer_common::layout` lays
/// over it.
fn decode_extra(nr: u32, flags: u32, extra_len: usize, x: &[u8; EXTRA_MAX]) -> Extra {
    let input = flags & syscall_flags::EXTRA_IN != 0;
    let output = flags & syscall_flags::EXTRA_OUT != 0;
    match nr {
        nr::RT_SIGPROCMASK => {
            let Some(s) = read::<SigsetExtra>(x) else { return Extra::None };
            return Extra::Sigset { set: input.then_some(s.set), oldset: output.then_some(s.oldset) };
        }
        nr::RT_SIGACTION => {
            let Some(s) = read::<SigactionExtra>(x) else { return Extra::None };
            return Extra::Sigaction { act: input.then_some(s.act), oldact: output.then_some(s.oldact) };
        }
        nr::PRLIMIT64 => {
            let Some(r) = read::<RlimitExtra>(x) else { return Extra::None };
            return Extra::Rlimit { new: input.then_some(r.new), old: output.then_some(r.old) };
        }
        _ => {}
    }
    if flags & syscall_flags::EXTRA_CLONE_ARGS != 0
        && let Some(c) = read::<Clone3Extra>(x)
    {
        let len = extra_len.min(CLONE_ARGS_SIZE);
        // Only the words the caller's `size` covered.
        let mut words = [
            c.args.flags,
            c.args.pidfd,
            c.args.child_tid,
            c.args.parent_tid,
            c.args.exit_signal,
            c.args.stack,
            c.args.stack_size,
            c.args.tls,
            c.args.set_tid,
            c.args.set_tid_size,
            c.args.cgroup,
        ];
        words.iter_mut().skip(len / 8).for_each(|w| *w = 0);
        let [flags_, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup] = words;
        return Extra::Clone3(CloneArgs {
            len: len as u32,
            flags: flags_,
            pidfd,
            child_tid,
            parent_tid,
            exit_signal,
            stack,
            stack_size,
            tls,
            set_tid,
            set_tid_size,
            cgroup,
            parent_tid_value: (flags & syscall_flags::EXTRA_PARENT_TID != 0).then_some(c.parent_tid_value),
        });
    }
    let Some(w) = read::<Wait4Extra>(x) else { return Extra::None };
    let status = (flags & syscall_flags::EXTRA_WAIT_STATUS != 0).then_some(w.status);
    let rusage = (flags & syscall_flags::EXTRA_RUSAGE != 0).then(|| {
        let tv = |t: Timeval| (t.sec as u64).wrapping_mul(1_000_000).wrapping_add(t.usec as u64);
        Rusage { utime_us: tv(w.rusage.utime), stime_us: tv(w.rusage.stime), longs: w.rusage.longs }
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
    use tracer_common::layout;

    pub(crate) fn header(pid: u32, tid: u32, comm: &[u8]) -> RecordHeader {
        let mut c = [0u8; tracer_common::COMM_LEN];
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
            start_ns: 4_000_000_000,
            parent_start_ns: 1_000_000,
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
        assert_eq!((ev.header.start_ns, ev.header.parent_start_ns), (4_000_000_000, 1_000_000));
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
        let args = layout::CloneArgs {
            flags: 0x3d0f00,
            child_tid: 0x7f89_7960_0910,
            parent_tid: 0x7f89_7960_0910,
            stack: 0x7f89_78e0_0000,
            stack_size: 0x7fff00,
            tls: 0x7f89_7960_0640,
            set_tid: 9,
            set_tid_size: 9,
            cgroup: 9,
            ..Default::default()
        };
        assert!(layout::write(&mut x.extra, &layout::Clone3Extra { args, parent_tid_value: 0, _pad: 0 }));
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
        let mut rusage = layout::Rusage { utime: Timeval { sec: 2, usec: 5 }, ..Default::default() };
        rusage.longs[0] = 1234; // maxrss
        assert!(layout::write(&mut x.extra, &Wait4Extra { status: 0x100, _pad: 0, rusage }));
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
