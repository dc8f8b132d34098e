//! Process and thread lifecycle from the scheduler's raw tracepoints:
//! `sched_process_fork`, `sched_process_exec`, `sched_process_exit`, one
//! record each. They fire for every task on the machine, so each does only
//! what its record needs: a handful of `task_struct` reads, one ring-buffer
//! reservation. The loader attaches them only when lifecycle events are
//! wanted (`--no-lifecycle` leaves them detached: zero cost).

use aya_ebpf::{
    helpers::{bpf_get_current_pid_tgid, generated::{bpf_ktime_get_boot_ns, bpf_probe_read_kernel_str}},
    macros::raw_tracepoint,
    programs::RawTracePointContext,
};
use tracer_common::{
    Counter, ExecRecord, ExitRecord, ForkRecord, RecordKind, exit_flags, fork_flags,
};

use crate::syscalls::{EVENTS, count};
use crate::task::{config, fill_header, parent_tgid, read_at, task_ids};

/// True for the tracer's own threads: never reported.
#[inline(always)]
fn is_self(pid_tgid: u64) -> bool {
    (pid_tgid >> 32) as u32 == config!(self_tgid)
}

/// `sched:sched_process_fork(struct task_struct *parent, struct task_struct *child)`
/// (raw tracepoint, Linux ≥ 4.17). Fires in the parent once the child
/// exists, for processes and threads alike.
#[raw_tracepoint(tracepoint = "sched_process_fork")]
pub fn lifecycle_fork(ctx: RawTracePointContext) -> i32 {
    let pid_tgid = bpf_get_current_pid_tgid();
    if is_self(pid_tgid) {
        return 0;
    }
    let child: *const u8 = ctx.arg(1);
    let Some(mut entry) = EVENTS.reserve::<ForkRecord>(0) else {
        count(Counter::RingbufFull);
        return 0;
    };
    let r = unsafe { &mut *entry.as_mut_ptr() };
    fill_header(&mut r.header, RecordKind::Fork as u32, unsafe { bpf_ktime_get_boot_ns() }, pid_tgid);
    let child_pid: u32 = read_at(child, config!(task_tgid_off)).unwrap_or(0);
    let child_tid: u32 = read_at(child, config!(offs.task_pid)).unwrap_or(0);
    let ids = task_ids(child, child_pid, child_tid, parent_tgid(child));
    r.child_pid = child_pid;
    r.child_tid = child_tid;
    r.child_ns_pid = ids.ns_pid;
    r.child_ns_tid = ids.ns_tid;
    r.flags = if child_pid == r.header.pid { fork_flags::THREAD } else { 0 };
    r._pad = 0;
    entry.submit(0);
    count(Counter::Emitted);
    0
}

/// `sched:sched_process_exec(struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)`
/// (raw tracepoint, Linux ≥ 4.17). Fires in the task once the new program
/// is loaded: comm is already the new one.
#[raw_tracepoint(tracepoint = "sched_process_exec")]
pub fn lifecycle_exec(ctx: RawTracePointContext) -> i32 {
    let pid_tgid = bpf_get_current_pid_tgid();
    if is_self(pid_tgid) {
        return 0;
    }
    let old_pid: u64 = ctx.arg(1);
    let bprm: *const u8 = ctx.arg(2);
    let Some(mut entry) = EVENTS.reserve::<ExecRecord>(0) else {
        count(Counter::RingbufFull);
        return 0;
    };
    let r = unsafe { &mut *entry.as_mut_ptr() };
    fill_header(&mut r.header, RecordKind::Exec as u32, unsafe { bpf_ktime_get_boot_ns() }, pid_tgid);
    r.old_tid = old_pid as u32;
    r.filename = [0; tracer_common::EXEC_PATH_MAX];
    let filename: *const u8 = read_at(bprm, config!(offs.binprm_filename)).unwrap_or(core::ptr::null());
    r.filename_len = unsafe {
        bpf_probe_read_kernel_str(r.filename.as_mut_ptr() as *mut _, r.filename.len() as u32, filename as *const _)
    } as i32;
    entry.submit(0);
    count(Counter::Emitted);
    0
}

/// `sched:sched_process_exit(struct task_struct *p, bool group_dead)`
/// (Linux ≥ 6.16 passes `group_dead`). Fires in the exiting thread after
/// `exit_code` is set, before its parent is notified.
#[raw_tracepoint(tracepoint = "sched_process_exit")]
pub fn lifecycle_exit(ctx: RawTracePointContext) -> i32 {
    let group_dead: u64 = ctx.arg(1);
    emit_exit(group_dead & 0xff != 0);
    0
}

/// `sched:sched_process_exit(struct task_struct *p)` before Linux 6.16:
/// whether the group died is read from `signal->live`, already decremented
/// here. (Two threads dying at once can both see 0; the argument above has
/// no such race, so the loader prefers that program where it can.)
#[raw_tracepoint(tracepoint = "sched_process_exit")]
pub fn lifecycle_exit_live(ctx: RawTracePointContext) -> i32 {
    let task: *const u8 = ctx.arg(0);
    let signal: *const u8 = read_at(task, config!(offs.task_signal)).unwrap_or(core::ptr::null());
    let live: i32 = read_at(signal, config!(offs.signal_live)).unwrap_or(1);
    emit_exit(live == 0);
    0
}

#[inline(always)]
fn emit_exit(group_dead: bool) {
    let pid_tgid = bpf_get_current_pid_tgid();
    if is_self(pid_tgid) {
        return;
    }
    let task = unsafe { aya_ebpf::helpers::generated::bpf_get_current_task() } as *const u8;
    let Some(mut entry) = EVENTS.reserve::<ExitRecord>(0) else {
        count(Counter::RingbufFull);
        return;
    };
    let r = unsafe { &mut *entry.as_mut_ptr() };
    fill_header(&mut r.header, RecordKind::Exit as u32, unsafe { bpf_ktime_get_boot_ns() }, pid_tgid);
    r.exit_code = read_at(task, config!(offs.task_exit_code)).unwrap_or(0);
    r.flags = if group_dead { exit_flags::GROUP_DEAD } else { 0 };
    entry.submit(0);
    count(Counter::Emitted);
}
