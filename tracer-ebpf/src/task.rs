//! Reading `task_struct`s: the record header every program fills, and the
//! host and pid-namespace ids of any task. Offsets come from the running
//! kernel's BTF through `CONFIG` (see `tracer-user/src/btf.rs`).

use aya_ebpf::helpers::{
    bpf_get_current_comm, bpf_get_current_uid_gid, bpf_probe_read_kernel,
    generated::{bpf_get_current_cgroup_id, bpf_get_current_task, bpf_get_smp_processor_id},
};
use tracer_common::{COMM_LEN, RecordHeader};

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

/// `task->real_parent->tgid`.
#[inline(always)]
pub fn parent_tgid(task: *const u8) -> u32 {
    let parent: *const u8 = read_at(task, config!(task_real_parent_off)).unwrap_or(core::ptr::null());
    read_at(parent, config!(task_tgid_off)).unwrap_or(0)
}

/// Fills `h` for the current task: the header of every record.
#[inline(always)]
pub fn fill_header(h: &mut RecordHeader, kind: u32, now: u64, pid_tgid: u64) {
    let task = unsafe { bpf_get_current_task() } as *const u8;
    let uid_gid = bpf_get_current_uid_gid();
    let pid = (pid_tgid >> 32) as u32;
    let tid = pid_tgid as u32;
    let ppid = parent_tgid(task);
    let ids = task_ids(task, pid, tid, ppid);
    h.kind = kind;
    h.cpu = unsafe { bpf_get_smp_processor_id() };
    h.ts_ns = now;
    h.pid = pid;
    h.tid = tid;
    h.ppid = ppid;
    h.uid = uid_gid as u32;
    h.gid = (uid_gid >> 32) as u32;
    h.ns_level = ids.ns_level;
    h.cgroup_id = unsafe { bpf_get_current_cgroup_id() };
    h.comm = bpf_get_current_comm().unwrap_or([0; COMM_LEN]);
    h.ns_pid = ids.ns_pid;
    h.ns_tid = ids.ns_tid;
    h.ns_ppid = ids.ns_ppid;
    h._pad0 = 0;
}
