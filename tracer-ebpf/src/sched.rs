//! `sched` raw tracepoints: drop a dead thread's call in flight, and keep the
//! tracked process set (`--pid`, `-- CMD`) in step with forks and exits.

use aya_ebpf::{
    helpers::{bpf_get_current_pid_tgid, bpf_probe_read_kernel, generated::bpf_get_current_task},
    macros::raw_tracepoint,
    programs::RawTracePointContext,
};
use tracer_common::{Counter, filter_kinds};

use crate::{config, count, filter::TRACKED_TGIDS, syscalls::PENDING};

/// `sched:sched_process_exit(struct task_struct *p)`, fired in `do_exit` for
/// every exiting thread (`p` is current). Linux ≥ 4.17 (raw tracepoints).
///
/// The thread's call in flight (if it was killed while blocked) will never
/// reach `sys_exit`, so drop it here rather than wait for LRU eviction. When
/// the thread was the last of a tracked process, forget the process: its
/// tgid may be reused by an unrelated one once it is reaped.
#[raw_tracepoint(tracepoint = "sched_process_exit")]
pub fn sched_process_exit(_ctx: RawTracePointContext) -> i32 {
    let pid_tgid = bpf_get_current_pid_tgid();
    let tid = pid_tgid as u32;
    let _ = PENDING.remove(&tid);
    if crate::filter::kinds() & filter_kinds::PID != 0 {
        let tgid = (pid_tgid >> 32) as u32;
        if TRACKED_TGIDS.get_ptr(&tgid).is_some() && thread_group_dead() {
            let _ = TRACKED_TGIDS.remove(&tgid);
        }
    }
    0
}

/// `current->signal->live == 0`. `do_exit` decrements `live` before this
/// tracepoint, so it reads 0 only once every thread of the group is exiting;
/// a leader that exits before its other threads leaves it above 0 and the
/// process stays tracked. If two last threads race, both see 0 and both
/// remove: harmless.
#[inline(always)]
fn thread_group_dead() -> bool {
    let task = unsafe { bpf_get_current_task() } as *const u8;
    let signal_off = config!(task_signal_off) as usize;
    let live_off = config!(signal_live_off) as usize;
    let Ok(signal) = (unsafe { bpf_probe_read_kernel(task.add(signal_off) as *const *const u8) }) else {
        return false;
    };
    matches!(unsafe { bpf_probe_read_kernel(signal.add(live_off) as *const i32) }, Ok(0))
}

/// `sched:sched_process_fork(struct task_struct *parent, struct task_struct *child)`,
/// fired by `kernel_clone` in the parent (current) after `copy_process` and
/// before `wake_up_new_task`: the child is tracked before it can run, so its
/// first syscall is already traced. Linux ≥ 4.17. Attached only when the
/// pid filter is active.
#[raw_tracepoint(tracepoint = "sched_process_fork")]
pub fn sched_process_fork(ctx: RawTracePointContext) -> i32 {
    let parent_tgid = (bpf_get_current_pid_tgid() >> 32) as u32;
    if TRACKED_TGIDS.get_ptr(&parent_tgid).is_none() {
        return 0;
    }
    let child: *const u8 = ctx.arg(1);
    let tgid_off = config!(task_tgid_off) as usize;
    let Ok(child_tgid) = (unsafe { bpf_probe_read_kernel(child.add(tgid_off) as *const u32) }) else {
        return 0;
    };
    // A new thread joins a group that is tracked already.
    if child_tgid == parent_tgid {
        return 0;
    }
    if TRACKED_TGIDS.insert(&child_tgid, &1, 0).is_err() {
        count(Counter::TrackFull);
    }
    0
}

/// `sched:sched_process_exec(struct task_struct *p, pid_t old_pid, struct
/// linux_binprm *bprm)`: an execve from a non-leader thread takes over the
/// leader's tid (de_thread) before the call returns, so its pending entry
/// must follow it from `old_pid` to the new tid — or sys_exit would find
/// nothing and the old entry would never be freed.
#[raw_tracepoint(tracepoint = "sched_process_exec")]
pub fn sched_process_exec(ctx: RawTracePointContext) -> i32 {
    let old_pid: u64 = ctx.arg(1);
    let old_tid = old_pid as u32;
    let tid = bpf_get_current_pid_tgid() as u32;
    if old_tid != tid {
        if let Some(p) = PENDING.get_ptr(&old_tid) {
            let p = unsafe { *p };
            let _ = PENDING.insert(&tid, &p, 0);
            let _ = PENDING.remove(&old_tid);
        }
    }
    0
}
