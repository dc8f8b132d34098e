//! Reading `task_struct`s: the record header every program fills, and the
//! host and pid-namespace ids of any task. Offsets come from the running
//! kernel's BTF through `CONFIG` (see `tracer-user/src/btf.rs`).

use aya_ebpf::helpers::{
    bpf_probe_read_kernel,
    generated::{bpf_get_current_task_btf, bpf_get_smp_processor_id},
};
use tracer_common::RecordHeader;

use crate::config;

/// Reads a `T` at `base + off` in kernel memory; `None` if it faults.
#[inline(always)]
pub fn read_at<T>(base: *const u8, off: u32) -> Option<T> {
    if base.is_null() {
        return None;
    }
    unsafe { bpf_probe_read_kernel(base.add(off as usize) as *const T) }.ok()
}


/// Host and namespace ids of one task.
#[derive(Clone, Copy, Default)]
pub struct TaskIds {
    pub ns_level: u32,
    pub ns_pid: u32,
    pub ns_tid: u32,
    pub ns_ppid: u32,
}

/// `pid->numbers[level].nr`, if `pid` is numbered at that level.
#[inline(always)]
fn pid_nr_at(pid: *const u8, level: u32) -> Option<u32> {
    let pid_level: u32 = read_at(pid, config!(offs.pid_level))?;
    if pid_level < level {
        return None;
    }
    let off = config!(offs.pid_numbers) + level * config!(offs.upid_size) + config!(offs.upid_nr);
    read_at(pid, off)
}

/// `task->thread_pid`.
#[inline(always)]
fn thread_pid(task: *const u8) -> *const u8 {
    read_at::<*const u8>(task, config!(offs.task_thread_pid)).unwrap_or(core::ptr::null())
}

/// The tgid of `task` at pid-namespace `level` (through its group leader).
#[inline(always)]
fn tgid_at(task: *const u8, level: u32) -> u32 {
    let leader: *const u8 = read_at(task, config!(offs.task_group_leader)).unwrap_or(core::ptr::null());
    pid_nr_at(thread_pid(leader), level).unwrap_or(0)
}

/// Namespace ids of `task` (whose host tgid, tid and parent's tgid are
/// given, for the common case of the initial namespace, which costs two
/// reads: `thread_pid` and its `level`).
#[inline(always)]
pub fn task_ids(task: *const u8, pid: u32, tid: u32, ppid: u32) -> TaskIds {
    let tp = thread_pid(task);
    let level: u32 = read_at(tp, config!(offs.pid_level)).unwrap_or(0);
    if level == 0 {
        return TaskIds { ns_level: 0, ns_pid: pid, ns_tid: tid, ns_ppid: ppid };
    }
    let ns_tid = pid_nr_at(tp, level).unwrap_or(0);
    let ns_pid = tgid_at(task, level);
    // A parent is in the child's namespace or an ancestor of it; in an
    // ancestor it has no number at the child's level (getppid() says 0).
    let parent: *const u8 = read_at(task, config!(task_real_parent_off)).unwrap_or(core::ptr::null());
    let ns_ppid = tgid_at(parent, level);
    TaskIds { ns_level: level, ns_pid, ns_tid, ns_ppid }
}

/// The current task, as a BTF pointer, and its `pid_tgid`: what every
/// program wants first.
#[derive(Clone, Copy)]
pub struct Current {
    pub task: *const u8,
    pub pid_tgid: u64,
}

/// [`Current`] by plain loads (`task->tgid`, `task->pid`) instead of a
/// `bpf_get_current_pid_tgid` call beside the task pointer's.
#[inline(always)]
pub fn current() -> Current {
    let task = unsafe { bpf_get_current_task_btf() } as *const u8;
    // SAFETY: `task` is BTF-typed; tgid and pid are task_struct's.
    let (tgid, tid): (u32, u32) = unsafe { (load(task, config!(task_tgid_off)), load(task, config!(offs.task_pid))) };
    Current { task, pid_tgid: (tgid as u64) << 32 | tid as u64 }
}

/// Fills `h` for the current task (`cur`, from [`current`]): the header of
/// every record.
///
/// The current task comes as a BTF-typed pointer (`bpf_get_current_task_btf`,
/// Linux ≥ 5.11, allowed in raw tracepoints too), whose members are read
/// with plain loads that the verifier checks against the kernel's BTF and
/// the JIT makes fault-safe: no helper call for the parent's tgid, the pid
/// namespace level, the credentials or the comm. (Offsets come from
/// `CONFIG`, frozen `.rodata`, so the verifier knows each one exactly.) A
/// task in a child pid namespace takes the helper path for its ids: the
/// `numbers[level]` index is not a constant.
#[inline(always)]
pub fn fill_header(h: &mut RecordHeader, kind: u32, now: u64, cur: Current) {
    let task = cur.task;
    let pid_tgid = cur.pid_tgid;
    let pid = (pid_tgid >> 32) as u32;
    let tid = pid_tgid as u32;
    // SAFETY (every `load` below): `task` is BTF-typed (current), and so is
    // each pointer loaded through it; each offset is of that type's member
    // (task_struct, cred, css_set, cgroup, kernfs_node).
    let parent: *const u8 = unsafe { load(task, config!(task_real_parent_off)) };
    let ppid: u32 = unsafe { load(parent, config!(task_tgid_off)) };
    let ids = loaded_task_ids(task, pid, tid, ppid);
    let cred: *const u8 = unsafe { load(task, config!(offs.task_cred)) };
    h.kind = kind;
    h.cpu = unsafe { bpf_get_smp_processor_id() };
    h.ts_ns = now;
    h.pid = pid;
    h.tid = tid;
    h.ppid = ppid;
    h.uid = unsafe { load(cred, config!(offs.cred_uid)) };
    h.gid = unsafe { load(cred, config!(offs.cred_gid)) };
    h.ns_level = ids.ns_level;
    // task->cgroups->dfl_cgrp->kn->id, what bpf_get_current_cgroup_id
    // returns, by four loads instead of a helper call.
    let css_set: *const u8 = unsafe { load(task, config!(offs.task_cgroups)) };
    let cgroup: *const u8 = unsafe { load(css_set, config!(offs.css_set_dfl_cgrp)) };
    let kn: *const u8 = unsafe { load(cgroup, config!(offs.cgroup_kn)) };
    h.cgroup_id = unsafe { load(kn, config!(offs.kernfs_node_id)) };
    // SAFETY: comm is 16 bytes at an 8-aligned offset of the #[repr(C)]
    // header (tracer-common pins the layout).
    unsafe { write_u64s(h.comm.as_mut_ptr() as *mut u64, comm_words(task)) };
    h.ns_pid = ids.ns_pid;
    h.ns_tid = ids.ns_tid;
    h.ns_ppid = ids.ns_ppid;
    h._pad0 = 0;
    // When the process and its parent were created: what exec_id and
    // parent_exec_id are made of (with the boot id and the tgids). Four
    // plain loads, no helper call.
    let leader: *const u8 = unsafe { load(task, config!(offs.task_group_leader)) };
    h.start_ns = unsafe { load(leader, config!(offs.task_start_boottime)) };
    let parent_leader: *const u8 = unsafe { load(parent, config!(offs.task_group_leader)) };
    h.parent_start_ns = unsafe { load(parent_leader, config!(offs.task_start_boottime)) };
}

/// Host and namespace ids of a task other than current, given as a
/// BTF-typed pointer (a `tp_btf` argument): tgid, tid and, in the initial
/// pid namespace, everything else by plain loads; a task in a child
/// namespace takes [`task_ids`]'s helper path. The parent's tgid matters
/// only there (`ns_ppid`), so it is read only there.
#[inline(always)]
pub fn btf_task_ids(task: *const u8) -> (u32, u32, TaskIds) {
    // SAFETY: `task` is BTF-typed (this function's contract); tgid and pid
    // are task_struct's.
    let (pid, tid): (u32, u32) = unsafe { (load(task, config!(task_tgid_off)), load(task, config!(offs.task_pid))) };
    (pid, tid, loaded_task_ids(task, pid, tid, 0))
}

/// [`task_ids`] for a BTF-typed `task`: the initial-namespace test
/// (`thread_pid->level`) by two plain loads, the helper path only for a
/// task in a child namespace.
#[inline(always)]
fn loaded_task_ids(task: *const u8, pid: u32, tid: u32, ppid: u32) -> TaskIds {
    // SAFETY: `task` is BTF-typed, so is its thread_pid (a struct pid).
    let thread_pid: *const u8 = unsafe { load(task, config!(offs.task_thread_pid)) };
    let level: u32 = unsafe { load(thread_pid, config!(offs.pid_level)) };
    if level == 0 {
        TaskIds { ns_level: 0, ns_pid: pid, ns_tid: tid, ns_ppid: ppid }
    } else {
        task_ids(task, pid, tid, ppid)
    }
}

/// A BTF-typed task's comm, as two words: stored as such, not through a
/// byte-wise memcpy subprogram.
#[inline(always)]
pub fn comm_words(task: *const u8) -> [u64; 2] {
    let comm = config!(offs.task_comm);
    // SAFETY: `task` is BTF-typed; comm is task_struct's 16-byte array.
    unsafe { [load(task, comm), load(task, comm + 8)] }
}

/// A plain load of a `T` at `base + off` through a BTF-typed pointer (a
/// faulting address reads as zero).
///
/// # Safety
///
/// `base` must be a BTF-typed kernel pointer (a `tp_btf` or fentry
/// argument, current from `bpf_get_current_task_btf`, or a pointer loaded
/// through one), null allowed, and `off` the offset of a `T` in what it
/// points to (from `CONFIG`, read from the kernel's BTF). The verifier
/// checks exactly that against BTF and makes the load fault-safe
/// (PROBE_MEM); it refuses the program otherwise. For any other pointer
/// this is a plain dereference.
#[inline(always)]
pub unsafe fn load<T>(base: *const u8, off: u32) -> T {
    // SAFETY: as the caller promised.
    unsafe { core::ptr::read_volatile(base.add(off as usize) as *const T) }
}

/// Stores `N` u64 words at `dst` one by one (volatile, so LLVM cannot turn
/// them into a call to a byte-wise `memcpy`/`memset` subprogram, which is
/// what a plain array assignment becomes in BPF).
///
/// # Safety
///
/// `dst` must be 8-aligned and valid for writes of `N` u64s.
#[inline(always)]
pub unsafe fn write_u64s<const N: usize>(dst: *mut u64, words: [u64; N]) {
    let mut i = 0;
    while i < N {
        // SAFETY: i < N, within what the caller promised.
        unsafe { core::ptr::write_volatile(dst.add(i), words[i]) };
        i += 1;
    }
}
