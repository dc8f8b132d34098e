//! `sched` raw tracepoints. Two jobs:
//!
//! * keep the syscall side's state right: drop a dead thread's call in
//!   flight, follow an execve that changes the caller's tid, and keep the
//!   tracked process set (`--pid`, `-- CMD`) in step with forks and exits
//!   (`sched_process_exit`, `sched_process_fork`, `sched_process_exec`);
//! * report the lifecycle: one record per fork, exec and exit
//!   (`lifecycle_*`). These fire for every task on the machine, so each
//!   does only what its record needs: the filters first (a task they
//!   reject costs a few instructions), then a handful of `task_struct`
//!   reads and one ring-buffer reservation. The loader attaches them only
//!   when lifecycle events are wanted (`--no-lifecycle`: not at all), and
//!   before the bookkeeping hooks, so an exiting process is still tracked
//!   when its exit is judged.

use aya_ebpf::{
    helpers::{
        bpf_get_current_pid_tgid, bpf_probe_read_kernel,
        generated::{bpf_get_current_task, bpf_ktime_get_boot_ns, bpf_probe_read_kernel_str},
    },
    macros::{btf_tracepoint, fentry, raw_tracepoint},
    programs::{BtfTracePointContext, FEntryContext, RawTracePointContext},
};
use tracer_common::{
    Counter, EXIT_CHILDREN_MAX, ExecRecord, ExitRecord, ForkRecord, RecordKind, exit_flags, filter_kinds, fork_flags,
    pending_flags,
};

use crate::task::{Current, TaskIds, btf_task_ids, current, fill_header, load, read_at, task_ids, write_u64s};
use crate::{config, count, filter, filter::TRACKED_TGIDS, syscalls::{CAPTURES, EVENTS, PENDING, release}};

/// `sched:sched_process_exit(struct task_struct *p)`, fired in `do_exit` for
/// every exiting thread (`p` is current). Linux ≥ 4.17 (raw tracepoints).
///
/// A backstop for a call that never reaches `sys_exit`: release the
/// thread's slot (the gauge of calls in flight) and any execve strings its
/// entry parked in `CAPTURES`, rather than leave them to LRU eviction. On
/// this kernel no such call is known: a thread killed while blocked still
/// leaves through the syscall exit path, with -ERESTARTSYS, and `sys_exit`
/// releases its slot (`tests/kernel_state.rs`). The slot itself goes with
/// the task. When the thread was the last of a tracked process, forget the
/// process: its tgid may be reused by an unrelated one once it is reaped.
#[raw_tracepoint(tracepoint = "sched_process_exit")]
pub fn sched_process_exit(_ctx: RawTracePointContext) -> i32 {
    let cur = current();
    let pid_tgid = cur.pid_tgid;
    let tid = pid_tgid as u32;
    // Asking the slot (a pointer chase) is much cheaper than a hash delete
    // on every thread exit of the machine.
    if let Some(slot) = PENDING.get(cur.task as *mut _, false) {
        let p = unsafe { &mut *slot };
        if p.flags & pending_flags::IN_FLIGHT != 0 {
            release(p, tid);
        }
    }
    if crate::filter::kinds() & filter_kinds::PID != 0 {
        let tgid = (pid_tgid >> 32) as u32;
        if TRACKED_TGIDS.get_ptr(tgid).is_some() && thread_group_dead() {
            let _ = TRACKED_TGIDS.remove(tgid);
        }
    }
    0
}

/// `current->signal->live == 0`. `do_exit` decrements `live` before this
/// tracepoint, so it reads 0 only once every thread of the group is exiting;
/// a leader that exits before its other threads leaves it above 0 and the
/// process stays tracked. If two last threads race, both see 0 and both
/// remove: harmless here, since the group is dying either way (not so for
/// the exit record's `group_dead`: see [`lifecycle_exit_taskstats`]).
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
    if TRACKED_TGIDS.get_ptr(parent_tgid).is_none() {
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
    if TRACKED_TGIDS.insert(child_tgid, 1, 0).is_err() {
        count(Counter::TrackFull);
    }
    0
}

/// `sched:sched_process_exec(struct task_struct *p, pid_t old_pid, struct
/// linux_binprm *bprm)`: an execve from a non-leader thread takes over the
/// leader's tid (de_thread) before the call returns, so its pending entry
/// (and what its entry read) must follow it from `old_pid` to the new tid —
/// or sys_exit would find nothing and the old entry would never be freed.
#[raw_tracepoint(tracepoint = "sched_process_exec")]
pub fn sched_process_exec(ctx: RawTracePointContext) -> i32 {
    let old_pid: u64 = ctx.arg(1);
    let old_tid = old_pid as u32;
    let tid = bpf_get_current_pid_tgid() as u32;
    if old_tid != tid
        && let Some(c) = CAPTURES.get_ptr(old_tid)
    {
        // By reference: the 512-byte capture goes from one map value to
        // the other, never through the BPF stack (which it would fill).
        #[allow(clippy::needless_borrows_for_generic_args)]
        let _ = CAPTURES.insert(tid, unsafe { &*c }, 0);
        let _ = CAPTURES.remove(old_tid);
    }
    0
}

/// Lifecycle records obey the same filters as syscalls: the tracer itself
/// never, the rest as `--comm`/`--cgroup`/`--pid` say about current.
#[inline(always)]
pub(crate) fn reported(pid_tgid: u64) -> bool {
    let tgid = (pid_tgid >> 32) as u32;
    if tgid == config!(self_tgid) {
        return false;
    }
    let kinds = filter::kinds();
    if kinds != 0 && !filter::allows(kinds, tgid) {
        count(Counter::Filtered);
        return false;
    }
    true
}

/// `sched:sched_process_fork(struct task_struct *parent, struct task_struct *child)`
/// as a record: fires in the parent once the child exists, for processes
/// and threads alike. A BTF-typed tracepoint (tp_btf): `child` is a typed
/// pointer, so its ids are plain loads rather than a `bpf_probe_read_kernel`
/// each (with the hardened-usercopy checks that helper runs, ~40 ns apiece).
#[btf_tracepoint(function = "sched_process_fork")]
pub fn lifecycle_fork(ctx: BtfTracePointContext) -> i32 {
    let cur = current();
    if !reported(cur.pid_tgid) {
        return 0;
    }
    let child: *const u8 = ctx.arg(1);
    let (child_pid, child_tid, ids) = btf_task_ids(child);
    emit_fork(cur, child_pid, child_tid, ids);
    0
}

/// The same on a plain raw tracepoint, for kernels that refuse tracing
/// programs (the loader falls back to it).
#[raw_tracepoint(tracepoint = "sched_process_fork")]
pub fn lifecycle_fork_raw(ctx: RawTracePointContext) -> i32 {
    let cur = current();
    if !reported(cur.pid_tgid) {
        return 0;
    }
    let child: *const u8 = ctx.arg(1);
    let child_pid: u32 = read_at(child, config!(task_tgid_off)).unwrap_or(0);
    let child_tid: u32 = read_at(child, config!(offs.task_pid)).unwrap_or(0);
    // The parent's tgid matters only in a child pid namespace (ns_ppid):
    // task_ids reads it there, so it is not read for the common case.
    let ids = task_ids(child, child_pid, child_tid, 0);
    emit_fork(cur, child_pid, child_tid, ids);
    0
}

#[inline(always)]
fn emit_fork(cur: Current, child_pid: u32, child_tid: u32, ids: TaskIds) {
    let Some(mut entry) = EVENTS.reserve::<ForkRecord>(0) else {
        count(Counter::RingbufFull);
        return;
    };
    let r = unsafe { &mut *entry.as_mut_ptr() };
    fill_header(&mut r.header, RecordKind::Fork as u32, unsafe { bpf_ktime_get_boot_ns() }, cur);
    r.child_pid = child_pid;
    r.child_tid = child_tid;
    r.child_ns_pid = ids.ns_pid;
    r.child_ns_tid = ids.ns_tid;
    r.flags = if child_pid == r.header.pid { fork_flags::THREAD } else { 0 };
    r._pad = 0;
    crate::syscalls::submit(entry);
    count(Counter::Emitted);
}

/// `sched:sched_process_exec(struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)`
/// (raw tracepoint, Linux ≥ 4.17), as a record: fires in the task once the
/// new program is loaded; comm is already the new one.
#[raw_tracepoint(tracepoint = "sched_process_exec")]
pub fn lifecycle_exec(ctx: RawTracePointContext) -> i32 {
    let cur = current();
    if !reported(cur.pid_tgid) {
        return 0;
    }
    let old_pid: u64 = ctx.arg(1);
    let bprm: *const u8 = ctx.arg(2);
    let Some(mut entry) = EVENTS.reserve::<ExecRecord>(0) else {
        count(Counter::RingbufFull);
        return 0;
    };
    let r = unsafe { &mut *entry.as_mut_ptr() };
    fill_header(&mut r.header, RecordKind::Exec as u32, unsafe { bpf_ktime_get_boot_ns() }, cur);
    r.old_tid = old_pid as u32;
    // SAFETY: filename is EXEC_PATH_MAX bytes at an 8-aligned offset of
    // the #[repr(C)] record.
    unsafe { write_u64s(r.filename.as_mut_ptr() as *mut u64, [0; tracer_common::EXEC_PATH_MAX / 8]) };
    let filename: *const u8 = read_at(bprm, config!(offs.binprm_filename)).unwrap_or(core::ptr::null());
    r.filename_len = unsafe {
        bpf_probe_read_kernel_str(r.filename.as_mut_ptr() as *mut _, r.filename.len() as u32, filename as *const _)
    } as i32;
    crate::syscalls::submit(entry);
    count(Counter::Emitted);
    0
}

/// `sched:sched_process_exit(struct task_struct *p, bool group_dead)`
/// (Linux ≥ 6.16 passes `group_dead`), as a record: fires in the exiting
/// thread after `exit_code` is set, before its parent is notified.
#[raw_tracepoint(tracepoint = "sched_process_exit")]
pub fn lifecycle_exit(ctx: RawTracePointContext) -> i32 {
    let group_dead: u64 = ctx.arg(1);
    emit_exit(group_dead & 0xff != 0);
    0
}

/// Before Linux 6.16 `sched_process_exit` has no `group_dead`, and
/// `signal->live` read there is not the answer: `do_exit` decides
/// `group_dead = atomic_dec_and_test(&tsk->signal->live)` into a local
/// well before the tracepoint, and between the two the thread drops its mm
/// (`exit_mm`, which wakes a `pthread_join` through CLONE_CHILD_CLEARTID):
/// another thread's later decrement, even the whole group's `exit_group`,
/// can bring `live` to 0 meanwhile, and then a thread whose process lives
/// on (or a second one of a dying group) reads 0 too.
///
/// So the record is made where the kernel passes its own decision on:
/// fentry on `taskstats_exit(struct task_struct *tsk, int group_dead)`,
/// called by `do_exit` for every exiting thread (`tsk` is current) right
/// after `tsk->exit_code` is set and before `exit_mm`, with that local as
/// its argument. Per thread and race-free by construction: exactly one
/// thread of a group gets `group_dead` true. (Linux ≥ 5.5 fentry and a
/// kernel with CONFIG_TASKSTATS, as Debian's; the children list is still
/// the dying thread's, `exit_notify` comes later.)
#[fentry(function = "taskstats_exit")]
pub fn lifecycle_exit_taskstats(ctx: FEntryContext) -> i32 {
    let group_dead: u64 = ctx.arg(1);
    emit_exit(group_dead as u32 != 0);
    0
}

/// `sched:sched_process_exit(struct task_struct *p)` reading
/// `signal->live`: racy as said above, the last resort of a kernel before
/// 6.16 without `taskstats_exit` to hook (the loader warns when it takes
/// it).
#[raw_tracepoint(tracepoint = "sched_process_exit")]
pub fn lifecycle_exit_live(_ctx: RawTracePointContext) -> i32 {
    emit_exit(thread_group_dead());
    0
}

#[inline(always)]
fn emit_exit(group_dead: bool) {
    let cur = current();
    if !reported(cur.pid_tgid) {
        return;
    }
    let task = cur.task;
    let Some(mut entry) = EVENTS.reserve::<ExitRecord>(0) else {
        count(Counter::RingbufFull);
        return;
    };
    let r = unsafe { &mut *entry.as_mut_ptr() };
    fill_header(&mut r.header, RecordKind::Exit as u32, unsafe { bpf_ktime_get_boot_ns() }, cur);
    // Current, as a BTF pointer: a plain load.
    // SAFETY: current is BTF-typed; exit_code is task_struct's.
    r.exit_code = unsafe { load(task, config!(offs.task_exit_code)) };
    r.flags = if group_dead { exit_flags::GROUP_DEAD } else { 0 };
    r.nr_children = 0;
    r.zombie_mask = 0;
    // u64 stores: an array assignment is a byte-wise memset subprogram.
    // SAFETY: children is EXIT_CHILDREN_MAX u32s at an 8-aligned offset of
    // the #[repr(C)] record.
    unsafe { write_u64s(r.children.as_mut_ptr() as *mut u64, [0; EXIT_CHILDREN_MAX / 2]) };
    if group_dead {
        left_children(task, r);
    }
    crate::syscalls::submit(entry);
    count(Counter::Emitted);
}

/// `EXIT_ZOMBIE` (include/linux/sched.h).
const EXIT_ZOMBIE: i32 = 0x20;

/// The processes still on the dying thread's `children` list: never reaped
/// by it. Read here, before `exit_notify` hands them to a new parent; for
/// a childless process (most) one read.
#[inline(always)]
fn left_children(task: *const u8, r: &mut ExitRecord) {
    let children_off = config!(offs.task_children) as usize;
    let head = unsafe { task.add(children_off) };
    let sibling = config!(offs.task_sibling) as usize;
    let mut next: *const u8 = read_at(head, 0).unwrap_or(core::ptr::null());
    let mut n = 0;
    while n < EXIT_CHILDREN_MAX {
        if next.is_null() || next == head {
            break;
        }
        let child = unsafe { next.sub(sibling) };
        r.children[n] = read_at(child, config!(task_tgid_off)).unwrap_or(0);
        let state: i32 = read_at(child, config!(offs.task_exit_state)).unwrap_or(0);
        if state & EXIT_ZOMBIE != 0 {
            r.zombie_mask |= 1 << n;
        }
        next = read_at(child, sibling as u32).unwrap_or(core::ptr::null());
        n += 1;
    }
    r.nr_children = n as u32;
    if n == EXIT_CHILDREN_MAX && !next.is_null() && next != head {
        r.flags |= exit_flags::CHILDREN_CAPPED;
    }
}
