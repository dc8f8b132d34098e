//! Ring-buffer bytes → typed events. Pure: no I/O, no kernel, no root.
//!
//! Every record is validated against its declared kind and length before a
//! field is read; nothing here can panic on malformed input.

use tracer_common::layout::{
    Clone3Extra, Record, RlimitExtra, SigactionExtra, SigsetExtra, Timeval, Wait4Extra, read,
};
use tracer_common::{
    CLONE_ARGS_SIZE, EXEC_ARG_READ, EXEC_ARG_SHOWN, EXEC_ARGV_BLOCK, EXEC_ARGV_MAX, EXEC_FILENAME_MAX,
    EXEC_PATH_MAX, EXIT_CHILDREN_MAX, EXTRA_MAX, ExecCapture, ExecRecord, ExitRecord, ForkRecord, RecordHeader,
    RecordKind, SignalRecord, SyscallRecord, SyscallRecordExec, SyscallRecordExtra, exec_flags, exit_flags,
    fork_flags, nr, signal_flags, signal_phase, syscall_flags,
};

mod events;
pub use events::*;

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
pub(crate) mod tests;
