//! Signals from the `signal` raw tracepoints: `signal_generate` (a signal
//! is sent: sender, target, siginfo, and what the kernel did with it) and
//! `signal_deliver` (a task is about to act on it). The first test is the
//! signal number against `CONFIG.signal_mask` (SIGCHLD by default), so the
//! machine's other signals cost a load and a bit test.

use aya_ebpf::{
    helpers::{bpf_get_current_pid_tgid, generated::bpf_ktime_get_boot_ns},
    macros::raw_tracepoint,
    programs::RawTracePointContext,
};
use tracer_common::{COMM_LEN, Counter, RecordKind, SignalRecord, filter_kinds, signal_flags, signal_phase};

use crate::syscalls::EVENTS;
use crate::task::{current, fill_header, read_at};
use crate::{config, count, filter, filter::TRACKED_TGIDS};

#[inline(always)]
fn wanted(sig: u64) -> bool {
    (1..=64).contains(&sig) && config!(signal_mask) & (1u64 << (sig - 1)) != 0
}

/// `signal:signal_generate(int sig, struct kernel_siginfo *info,
/// struct task_struct *task, int group, int result)` (raw tracepoint,
/// Linux ≥ 4.17). Current is the sender; for SIGCHLD from an exiting child,
/// the child.
#[raw_tracepoint(tracepoint = "signal_generate")]
pub fn signal_generate(ctx: RawTracePointContext) -> i32 {
    let sig: u64 = ctx.arg(0);
    if !wanted(sig) {
        return 0;
    }
    let info: *const u8 = ctx.arg(1);
    let task: *const u8 = ctx.arg(2);
    let group: u64 = ctx.arg(3);
    let result: u64 = ctx.arg(4);
    let target_pid: u32 = read_at(task, config!(task_tgid_off)).unwrap_or(0);
    emit(sig as u32, signal_phase::GENERATE, info, task, target_pid, group as u32, result as i32, core::ptr::null());
    0
}

/// `signal:signal_deliver(int sig, struct kernel_siginfo *info,
/// struct k_sigaction *ka)` (raw tracepoint, Linux ≥ 4.17). Current is
/// the receiver, about to run the handler (or the default action).
#[raw_tracepoint(tracepoint = "signal_deliver")]
pub fn signal_deliver(ctx: RawTracePointContext) -> i32 {
    let sig: u64 = ctx.arg(0);
    if !wanted(sig) {
        return 0;
    }
    let info: *const u8 = ctx.arg(1);
    let ka: *const u8 = ctx.arg(2);
    let task = unsafe { aya_ebpf::helpers::generated::bpf_get_current_task() } as *const u8;
    let pid = (bpf_get_current_pid_tgid() >> 32) as u32;
    emit(sig as u32, signal_phase::DELIVER, info, task, pid, 0, 0, ka);
    0
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn emit(sig: u32, phase: u32, info: *const u8, task: *const u8, target_pid: u32, group: u32, result: i32, ka: *const u8) {
    let cur = current();
    let pid_tgid = cur.pid_tgid;
    let self_tgid = config!(self_tgid);
    if (pid_tgid >> 32) as u32 == self_tgid || target_pid == self_tgid {
        return;
    }
    // The filters judge the sender, or (for --pid) the receiver: a child's
    // SIGCHLD is generated after its exit took it off the tracked set, and
    // belongs to the tracked parent's story.
    let kinds = filter::kinds();
    if kinds != 0
        && !filter::allows(kinds, (pid_tgid >> 32) as u32)
        && !(kinds == filter_kinds::PID && TRACKED_TGIDS.get_ptr(&target_pid).is_some())
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
    r.target_tid = read_at(task, config!(offs.task_pid)).unwrap_or(0);
    r.target_comm = read_at::<[u8; COMM_LEN]>(task, config!(offs.task_comm)).unwrap_or([0; COMM_LEN]);
    // SEND_SIG_NOINFO (0) and SEND_SIG_PRIV (1) are not pointers.
    let has_info = info as usize > 1;
    r.flags = if has_info { signal_flags::HAS_INFO } else { 0 };
    let info = if has_info { info } else { core::ptr::null() };
    r.si_errno = read_at(info, config!(offs.siginfo_errno)).unwrap_or(0);
    r.si_code = read_at(info, config!(offs.siginfo_code)).unwrap_or(0);
    r.si_pid = read_at(info, config!(offs.siginfo_pid)).unwrap_or(0);
    r.si_uid = read_at(info, config!(offs.siginfo_uid)).unwrap_or(0);
    r.si_status = read_at(info, config!(offs.siginfo_status)).unwrap_or(0);
    r.si_utime = read_at(info, config!(offs.siginfo_utime)).unwrap_or(0);
    r.si_stime = read_at(info, config!(offs.siginfo_stime)).unwrap_or(0);
    r.sa_handler = read_at(ka, config!(offs.ksigaction_handler)).unwrap_or(0);
    r.sa_flags = read_at(ka, config!(offs.ksigaction_flags)).unwrap_or(0);
    entry.submit(crate::syscalls::submit_flags());
    count(Counter::Emitted);
}
