//! `raw_syscalls:sys_enter` / `sys_exit`: stash a traced call's arguments at
//! entry, join them with the return value at exit, and emit one
//! [`SyscallRecord`] per completed call.
//!
//! The syscall-number test is the first thing both programs do: every
//! syscall on the machine passes through here, and an untraced one must cost
//! no more than a load and a bit test. The filters (`filter`) come next, at
//! entry only: a call they reject is counted and nothing else, so it never
//! reserves ring-buffer space and never has a pending entry for `sys_exit`
//! to join.

use aya_ebpf::{
    helpers::{
        bpf_get_current_comm, bpf_get_current_pid_tgid, bpf_get_current_uid_gid,
        bpf_probe_read_kernel, bpf_probe_read_user_buf,
        generated::{
            bpf_get_current_cgroup_id, bpf_get_current_task, bpf_get_smp_processor_id,
            bpf_ktime_get_boot_ns,
        },
    },
    macros::{btf_tracepoint, map, raw_tracepoint},
    maps::{LruHashMap, RingBuf},
    programs::{BtfTracePointContext, RawTracePointContext},
};
use tracer_common::{
    CLONE_ARGS_SIZE, Counter, EXTRA_MAX, PARENT_TID_OFFSET, PendingSyscall, RUSAGE_OFFSET, RUSAGE_SIZE, RecordHeader,
    RecordKind, SYSCALL_BITMAP_BITS, SyscallRecord, SyscallRecordExtra, nr, syscall_flags,
};

use crate::{CONFIG, config, count, filter};

/// Completed calls, to userspace. Size set by the loader (`--ringbuf-size`).
#[map]
static EVENTS: RingBuf = RingBuf::with_byte_size(1 << 22, 0);

/// tid → call in flight. LRU so a thread that never returns (killed while
/// blocked) cannot fill it; `sched_process_exit` removes a thread's entry.
#[map]
pub(crate) static PENDING: LruHashMap<u32, PendingSyscall> = LruHashMap::with_max_entries(16384, 0);

const EFAULT: i64 = 14;

/// Offsets into `struct pt_regs` (x86-64).
const PT_REGS_DI: usize = 14 * 8;
const PT_REGS_SI: usize = 13 * 8;
const PT_REGS_DX: usize = 12 * 8;
const PT_REGS_R10: usize = 7 * 8;
const PT_REGS_R8: usize = 9 * 8;
const PT_REGS_R9: usize = 8 * 8;
const PT_REGS_ORIG_AX: usize = 15 * 8;

/// Is syscall `id` in the traced set?
#[inline(always)]
fn is_traced(id: u64) -> bool {
    if id >= SYSCALL_BITMAP_BITS as u64 {
        return false;
    }
    let word = unsafe { core::ptr::read_volatile(&CONFIG.syscalls[(id >> 6) as usize]) };
    word & (1u64 << (id & 63)) != 0
}

/// Reads a `struct pt_regs` field through a `bpf_probe_read_kernel` call:
/// what a plain raw tracepoint must do, its `regs` being an opaque number.
#[inline(always)]
fn probe_reg(regs: *const u8, off: usize) -> u64 {
    unsafe { bpf_probe_read_kernel(regs.add(off) as *const u64) }.unwrap_or(0)
}

/// Reads a `struct pt_regs` field with a plain load: in a BTF-typed
/// tracepoint `regs` is a typed kernel pointer the verifier lets us
/// dereference (as a fault-safe PROBE_MEM load), no helper call needed.
#[inline(always)]
fn load_reg(regs: *const u64, off: usize) -> u64 {
    unsafe { core::ptr::read_volatile(regs.add(off / 8)) }
}

/// `raw_syscalls:sys_enter(struct pt_regs *regs, long id)` as a BTF-typed
/// tracepoint (tp_btf, Linux ≥ 5.5): the cheapest hook on every syscall.
#[btf_tracepoint(function = "sys_enter")]
pub fn sys_enter(ctx: BtfTracePointContext) -> i32 {
    let id: u64 = ctx.arg(1);
    if !is_traced(id) {
        return 0;
    }
    let regs: *const u64 = ctx.arg(0);
    try_sys_enter(|off| load_reg(regs, off), id as u32);
    0
}

/// The same on a plain raw tracepoint, for kernels that refuse tracing
/// programs (the loader falls back to it).
#[raw_tracepoint(tracepoint = "sys_enter")]
pub fn sys_enter_raw(ctx: RawTracePointContext) -> i32 {
    let id: u64 = ctx.arg(1);
    if !is_traced(id) {
        return 0;
    }
    let regs: *const u8 = ctx.arg(0);
    try_sys_enter(|off| probe_reg(regs, off), id as u32);
    0
}

#[inline(always)]
fn try_sys_enter(reg: impl Fn(usize) -> u64, id: u32) {
    let pid_tgid = bpf_get_current_pid_tgid();
    let tgid = (pid_tgid >> 32) as u32;
    if tgid == config!(self_tgid) {
        return;
    }
    let kinds = filter::kinds();
    if kinds != 0 && !filter::allows(kinds, tgid) {
        count(Counter::Filtered);
        return;
    }
    let mut p = PendingSyscall {
        enter_ns: unsafe { bpf_ktime_get_boot_ns() },
        nr: id,
        flags: 0,
        args: [
            reg(PT_REGS_DI),
            reg(PT_REGS_SI),
            reg(PT_REGS_DX),
            reg(PT_REGS_R10),
            reg(PT_REGS_R8),
            reg(PT_REGS_R9),
        ],
        extra_len: 0,
        _pad: 0,
        clone_args: [0; CLONE_ARGS_SIZE],
    };
    if id == nr::CLONE3 {
        read_clone_args(&mut p);
    }
    let tid = pid_tgid as u32;
    if PENDING.insert(&tid, &p, 0).is_err() {
        count(Counter::StashFailed);
    }
}

/// clone3(struct clone_args *uargs, size_t size): read `size` bytes (at most
/// the 88 this build knows) now, before the kernel acts on them.
#[inline(always)]
fn read_clone_args(p: &mut PendingSyscall) {
    let uargs = p.args[0] as *const u8;
    let size = p.args[1];
    let n = if size > CLONE_ARGS_SIZE as u64 { CLONE_ARGS_SIZE } else { size as usize };
    if n == 0 {
        return;
    }
    // Masked so the verifier sees a bounded length.
    let n = n & 0x7f;
    if n > CLONE_ARGS_SIZE || n == 0 {
        return;
    }
    match unsafe { bpf_probe_read_user_buf(uargs, &mut p.clone_args[..n]) } {
        Ok(()) => {
            p.extra_len = n as u32;
            p.flags |= syscall_flags::EXTRA_CLONE_ARGS;
        }
        Err(_) => {
            p.clone_args = [0; CLONE_ARGS_SIZE];
            p.flags |= syscall_flags::ENTER_READ_FAILED;
        }
    }
}

/// `raw_syscalls:sys_exit(struct pt_regs *regs, long ret)` as a BTF-typed
/// tracepoint: the syscall number is `regs->orig_ax`, one plain load.
#[btf_tracepoint(function = "sys_exit")]
pub fn sys_exit(ctx: BtfTracePointContext) -> i32 {
    let regs: *const u64 = ctx.arg(0);
    let id = load_reg(regs, PT_REGS_ORIG_AX);
    if !is_traced(id) {
        return 0;
    }
    try_sys_exit(ctx.arg(1), id as u32);
    0
}

/// The same on a plain raw tracepoint (fallback; one helper call per
/// syscall on the machine just to learn its number).
#[raw_tracepoint(tracepoint = "sys_exit")]
pub fn sys_exit_raw(ctx: RawTracePointContext) -> i32 {
    let regs: *const u8 = ctx.arg(0);
    let id = probe_reg(regs, PT_REGS_ORIG_AX);
    if !is_traced(id) {
        return 0;
    }
    try_sys_exit(ctx.arg(1), id as u32);
    0
}

#[inline(always)]
fn try_sys_exit(ret: i64, id: u32) {
    let pid_tgid = bpf_get_current_pid_tgid();
    let tid = pid_tgid as u32;
    let Some(p) = PENDING.get_ptr(&tid) else {
        let tgid = (pid_tgid >> 32) as u32;
        // No entry is what a call the filters rejected at entry leaves
        // behind; asking them again tells it apart from a real miss (tracer
        // attached mid-call, entry evicted) without any per-call marker at
        // entry, and costs nothing on the paths that found an entry.
        let kinds = filter::kinds();
        if tgid == config!(self_tgid) || (kinds != 0 && !filter::allows(kinds, tgid)) {
            return;
        }
        if (id == nr::CLONE || id == nr::CLONE3) && ret == 0 {
            count(Counter::ChildReturn);
        } else {
            count(Counter::ExitWithoutEnter);
        }
        return;
    };
    let p = unsafe { &*p };
    if p.nr != id {
        // A stale entry (the thread's earlier call never reached sys_exit,
        // e.g. execve from a non-leader thread took over its tid).
        let _ = PENDING.remove(&tid);
        count(Counter::ExitWithoutEnter);
        return;
    }
    let now = unsafe { bpf_ktime_get_boot_ns() };
    if id == nr::CLONE3 || id == nr::WAIT4 {
        emit_extra(p, id, ret, now, pid_tgid);
    } else {
        emit_plain(p, id, ret, now, pid_tgid);
    }
    let _ = PENDING.remove(&tid);
}

#[inline(always)]
fn fill_header(h: &mut RecordHeader, now: u64, pid_tgid: u64) {
    let uid_gid = bpf_get_current_uid_gid();
    h.kind = RecordKind::Syscall as u32;
    h.cpu = unsafe { bpf_get_smp_processor_id() };
    h.ts_ns = now;
    h.pid = (pid_tgid >> 32) as u32;
    h.tid = pid_tgid as u32;
    h.ppid = current_ppid();
    h.uid = uid_gid as u32;
    h.gid = (uid_gid >> 32) as u32;
    h._pad0 = 0;
    h.cgroup_id = unsafe { bpf_get_current_cgroup_id() };
    h.comm = bpf_get_current_comm().unwrap_or([0; 16]);
}

/// `current->real_parent->tgid`, with offsets the loader took from the
/// running kernel's BTF.
#[inline(always)]
fn current_ppid() -> u32 {
    let task = unsafe { bpf_get_current_task() } as *const u8;
    let parent_off = config!(task_real_parent_off) as usize;
    let tgid_off = config!(task_tgid_off) as usize;
    let Ok(parent) = (unsafe { bpf_probe_read_kernel(task.add(parent_off) as *const *const u8) })
    else {
        return 0;
    };
    unsafe { bpf_probe_read_kernel(parent.add(tgid_off) as *const u32) }.unwrap_or(0)
}

#[inline(always)]
fn fill_syscall(r: &mut SyscallRecord, p: &PendingSyscall, id: u32, ret: i64, now: u64, pid_tgid: u64) {
    fill_header(&mut r.header, now, pid_tgid);
    r.nr = id;
    r.flags = p.flags;
    r.args = p.args;
    r.ret = ret;
    r.duration_ns = now.wrapping_sub(p.enter_ns);
    r.extra_len = 0;
    r._pad1 = 0;
}

#[inline(always)]
fn emit_plain(p: &PendingSyscall, id: u32, ret: i64, now: u64, pid_tgid: u64) {
    let Some(mut entry) = EVENTS.reserve::<SyscallRecord>(0) else {
        count(Counter::RingbufFull);
        return;
    };
    let r = unsafe { &mut *entry.as_mut_ptr() };
    fill_syscall(r, p, id, ret, now, pid_tgid);
    entry.submit(0);
    count(Counter::Emitted);
}

#[inline(always)]
fn emit_extra(p: &PendingSyscall, id: u32, ret: i64, now: u64, pid_tgid: u64) {
    let Some(mut entry) = EVENTS.reserve::<SyscallRecordExtra>(0) else {
        count(Counter::RingbufFull);
        return;
    };
    let r = unsafe { &mut *entry.as_mut_ptr() };
    fill_syscall(&mut r.base, p, id, ret, now, pid_tgid);
    r.extra = [0; EXTRA_MAX];
    if id == nr::CLONE3 {
        r.extra[..CLONE_ARGS_SIZE].copy_from_slice(&p.clone_args);
        r.base.extra_len = p.extra_len;
        // What the kernel stored at clone_args.parent_tid (strace's
        // `=> {parent_tid=[N]}`): only meaningful once the call succeeded.
        let flags = u64::from_le_bytes([
            p.clone_args[0], p.clone_args[1], p.clone_args[2], p.clone_args[3],
            p.clone_args[4], p.clone_args[5], p.clone_args[6], p.clone_args[7],
        ]);
        let parent_tid = u64::from_le_bytes([
            p.clone_args[24], p.clone_args[25], p.clone_args[26], p.clone_args[27],
            p.clone_args[28], p.clone_args[29], p.clone_args[30], p.clone_args[31],
        ]) as *const u8;
        if ret > 0 && p.flags & syscall_flags::EXTRA_CLONE_ARGS != 0 && flags & nr::CLONE_PARENT_SETTID != 0 && !parent_tid.is_null() {
            match unsafe { bpf_probe_read_user_buf(parent_tid, &mut r.extra[PARENT_TID_OFFSET..PARENT_TID_OFFSET + 4]) } {
                Ok(()) => r.base.flags |= syscall_flags::EXTRA_PARENT_TID,
                Err(_) => {
                    r.extra[PARENT_TID_OFFSET..PARENT_TID_OFFSET + 4].fill(0);
                    r.base.flags |= syscall_flags::EXIT_READ_FAILED | syscall_flags::PARENT_TID_READ_FAILED
                }
            }
        }
    } else {
        // wait4(pid, int *stat_addr, int options, struct rusage *ru): the
        // kernel has written both by now, if it reaped anything. On EFAULT
        // it could not write one of them: try both, so the event says which
        // pointer is unreadable, but show nothing the kernel did not write.
        let stat_addr = p.args[1] as *const u8;
        let ru = p.args[3] as *const u8;
        let faulted = ret == -EFAULT;
        if (ret > 0 || faulted) && !stat_addr.is_null() {
            match unsafe { bpf_probe_read_user_buf(stat_addr, &mut r.extra[..4]) } {
                Ok(()) if !faulted => r.base.flags |= syscall_flags::EXTRA_WAIT_STATUS,
                Ok(()) => r.extra[..4].fill(0),
                Err(_) => {
                    r.extra[..4].fill(0);
                    r.base.flags |= syscall_flags::EXIT_READ_FAILED | syscall_flags::STATUS_READ_FAILED
                }
            }
        }
        if (ret > 0 || faulted) && !ru.is_null() {
            match unsafe {
                bpf_probe_read_user_buf(ru, &mut r.extra[RUSAGE_OFFSET..RUSAGE_OFFSET + RUSAGE_SIZE])
            } {
                Ok(()) if !faulted => r.base.flags |= syscall_flags::EXTRA_RUSAGE,
                Ok(()) => r.extra[RUSAGE_OFFSET..RUSAGE_OFFSET + RUSAGE_SIZE].fill(0),
                Err(_) => {
                    r.extra[RUSAGE_OFFSET..RUSAGE_OFFSET + RUSAGE_SIZE].fill(0);
                    r.base.flags |= syscall_flags::EXIT_READ_FAILED | syscall_flags::RUSAGE_READ_FAILED
                }
            }
        }
        r.base.extra_len = (RUSAGE_OFFSET + RUSAGE_SIZE) as u32;
    }
    entry.submit(0);
    count(Counter::Emitted);
}
