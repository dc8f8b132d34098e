//! Signals from the `signal` raw tracepoints: `signal_generate` (a signal
//! is sent: sender, target, siginfo, and what the kernel did with it) and
//! `signal_deliver` (a task is about to act on it). The first test is the
//! signal number against `CONFIG.signal_mask` (SIGCHLD by default), so the
//! machine's other signals cost a load and a bit test.

use aya_ebpf::{
    helpers::generated::bpf_ktime_get_boot_ns,
    macros::{btf_tracepoint, raw_tracepoint},
    programs::{BtfTracePointContext, RawTracePointContext},
};
use tracer_common::{COMM_LEN, Counter, RecordKind, SignalRecord, filter_kinds, signal_flags, signal_phase};

use crate::syscalls::EVENTS;
use crate::task::{Current, comm_words, current, fill_header, load, read_at, write_u64s};
use crate::{config, count, filter, filter::TRACKED_TGIDS};

#[inline(always)]
fn wanted(sig: u64) -> bool {
    (1..=64).contains(&sig) && config!(signal_mask) & (1u64 << (sig - 1)) != 0
}

/// A `T` at `base + off`: a plain load where `base` is a BTF-typed pointer
/// (`TYPED`: a `tp_btf` argument, or current), a `bpf_probe_read_kernel`
/// where it is a plain number (a raw tracepoint's argument). Null reads as
/// zero.
#[inline(always)]
fn rd<T: Default, const TYPED: bool>(base: *const u8, off: u32) -> T {
    if base.is_null() {
        T::default()
    } else if TYPED {
        // SAFETY: TYPED says `base` is BTF-typed; `off` is a member's.
        unsafe { load(base, off) }
    } else {
        read_at(base, off).unwrap_or_default()
    }
}

/// `signal:signal_generate(int sig, struct kernel_siginfo *info,
/// struct task_struct *task, int group, int result)` as a BTF-typed
/// tracepoint: `task` is a typed pointer, read with plain loads (`info` is
/// not: see [`emit`]).
/// Current is the sender; for SIGCHLD from an exiting child, the child.
#[btf_tracepoint(function = "signal_generate")]
pub fn signal_generate(ctx: BtfTracePointContext) -> i32 {
    let sig: u64 = ctx.arg(0);
    if !wanted(sig) {
        return 0;
    }
    generate::<true>(sig, ctx.arg(1), ctx.arg(2), ctx.arg(3), ctx.arg(4));
    0
}

/// The same on a plain raw tracepoint (Linux ≥ 4.17), for kernels that
/// refuse tracing programs (the loader falls back to it).
#[raw_tracepoint(tracepoint = "signal_generate")]
pub fn signal_generate_raw(ctx: RawTracePointContext) -> i32 {
    let sig: u64 = ctx.arg(0);
    if !wanted(sig) {
        return 0;
    }
    generate::<false>(sig, ctx.arg(1), ctx.arg(2), ctx.arg(3), ctx.arg(4));
    0
}

#[inline(always)]
fn generate<const TYPED: bool>(sig: u64, info: *const u8, task: *const u8, group: u64, result: u64) {
    let target_pid: u32 = rd::<u32, TYPED>(task, config!(task_tgid_off));
    let target_tid: u32 = rd::<u32, TYPED>(task, config!(offs.task_pid));
    let comm = config!(offs.task_comm);
    let target = Target {
        pid: target_pid,
        tid: target_tid,
        comm: [rd::<u64, TYPED>(task, comm), rd::<u64, TYPED>(task, comm + 8)],
    };
    emit::<TYPED>(current(), sig as u32, signal_phase::GENERATE, info, target, group as u32, result as i32, core::ptr::null());
}

/// `signal:signal_deliver(int sig, struct kernel_siginfo *info,
/// struct k_sigaction *ka)` as a BTF-typed tracepoint (`ka` by plain loads,
/// `info` by helper). Current is the receiver, about to run the handler (or
/// the default action).
#[btf_tracepoint(function = "signal_deliver")]
pub fn signal_deliver(ctx: BtfTracePointContext) -> i32 {
    let sig: u64 = ctx.arg(0);
    if !wanted(sig) {
        return 0;
    }
    deliver::<true>(sig, ctx.arg(1), ctx.arg(2));
    0
}

/// The same on a plain raw tracepoint (fallback).
#[raw_tracepoint(tracepoint = "signal_deliver")]
pub fn signal_deliver_raw(ctx: RawTracePointContext) -> i32 {
    let sig: u64 = ctx.arg(0);
    if !wanted(sig) {
        return 0;
    }
    deliver::<false>(sig, ctx.arg(1), ctx.arg(2));
    0
}

#[inline(always)]
fn deliver<const TYPED: bool>(sig: u64, info: *const u8, ka: *const u8) {
    // The receiver is current: its fields by plain loads in either form.
    let cur = current();
    let target = Target {
        pid: (cur.pid_tgid >> 32) as u32,
        tid: cur.pid_tgid as u32,
        comm: comm_words(cur.task),
    };
    emit::<TYPED>(cur, sig as u32, signal_phase::DELIVER, info, target, 0, 0, ka);
}

/// The task a signal is for.
struct Target {
    pid: u32,
    tid: u32,
    /// The comm's 16 bytes as two words: stored as such, not through a
    /// byte-wise memcpy subprogram.
    comm: [u64; COMM_LEN / 8],
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn emit<const TYPED: bool>(cur: Current, sig: u32, phase: u32, info: *const u8, target: Target, group: u32, result: i32, ka: *const u8) {
    let pid_tgid = cur.pid_tgid;
    let self_tgid = config!(self_tgid);
    let target_pid = target.pid;
    if (pid_tgid >> 32) as u32 == self_tgid || target_pid == self_tgid {
        return;
    }
    // The filters judge the sender, or (for --pid) the receiver: a child's
    // SIGCHLD is generated after its exit took it off the tracked set, and
    // belongs to the tracked parent's story.
    let kinds = filter::kinds();
    if kinds != 0
        && !filter::allows(kinds, (pid_tgid >> 32) as u32)
        && !(kinds == filter_kinds::PID && TRACKED_TGIDS.get_ptr(target_pid).is_some())
    {
        count(Counter::Filtered);
        return;
    }
    let Some(mut entry) = EVENTS.reserve::<SignalRecord>(0) else {
        count(Counter::RingbufFull);
        return;
    };
    let r = unsafe { &mut *entry.as_mut_ptr() };
    fill_header(&mut r.header, RecordKind::Signal as u32, unsafe { bpf_ktime_get_boot_ns() }, cur);
    r.sig = sig;
    r.phase = phase;
    r.result = result;
    r.group = group;
    r.target_pid = target_pid;
    r.target_tid = target.tid;
    // SAFETY: target_comm is 16 bytes at an 8-aligned offset of the
    // #[repr(C)] record.
    unsafe { write_u64s(r.target_comm.as_mut_ptr() as *mut u64, target.comm) };
    // SEND_SIG_NOINFO (0) and SEND_SIG_PRIV (1) are not pointers.
    let has_info = info as usize > 1;
    r.flags = if has_info { signal_flags::HAS_INFO } else { 0 };
    let info = if has_info { info } else { core::ptr::null() };
    // Always by helper, in the BTF-typed form too: the kernel types a
    // signal tracepoint's `info` as a scalar, since it may encode
    // SEND_SIG_PRIV ("marking pointer arg1 as scalar as it may encode
    // error", 6.12 and later; a plain load is `R3 invalid mem access
    // 'scalar'`), and 6.1, which does type it, refuses plain loads of
    // `_sifields`' union members (`access beyond the end of member
    // _sys_private`).
    r.si_errno = rd::<i32, false>(info, config!(offs.siginfo_errno));
    r.si_code = rd::<i32, false>(info, config!(offs.siginfo_code));
    r.si_pid = rd::<u32, false>(info, config!(offs.siginfo_pid));
    r.si_uid = rd::<u32, false>(info, config!(offs.siginfo_uid));
    r.si_status = rd::<i32, false>(info, config!(offs.siginfo_status));
    r.si_utime = rd::<u64, false>(info, config!(offs.siginfo_utime));
    r.si_stime = rd::<u64, false>(info, config!(offs.siginfo_stime));
    r.sa_handler = rd::<u64, TYPED>(ka, config!(offs.ksigaction_handler));
    r.sa_flags = rd::<u64, TYPED>(ka, config!(offs.ksigaction_flags));
    crate::syscalls::submit(entry);
    count(Counter::Emitted);
}
