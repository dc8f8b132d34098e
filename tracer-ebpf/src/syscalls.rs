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
        bpf_probe_read_kernel, bpf_probe_read_kernel_buf, bpf_probe_read_user,
        bpf_probe_read_user_buf,
        generated::{bpf_ktime_get_boot_ns, bpf_probe_read_user_str},
    },
    macros::{btf_map, btf_tracepoint, map, raw_tracepoint},
    maps::{LruHashMap, PerCpuArray, RingBuf, ring_buf::RingBufEntry},
    programs::{BtfTracePointContext, RawTracePointContext},
};
use tracer_common::{
    CLONE_ARGS_SIZE, Counter, EXEC_ARG_READ, EXEC_ARG_SLOT, EXEC_ARGV_BLOCK, EXEC_ARGV_MAX, EXEC_CAPTURE_SIZE,
    EXEC_COUNT_MAX, EXEC_FILENAME_MAX, EXTRA_MAX, EntryCapture, ExecCapture, PARENT_TID_OFFSET, PendingSyscall,
    RUSAGE_OFFSET, RUSAGE_SIZE, RecordKind, reader, SYSCALL_BITMAP_BITS, SyscallRecord, SyscallRecordExec,
    SMALL_CAPTURE_MAX, SyscallRecordExtra, capture, exec_flags, nr, pending_flags, syscall_flags,
};

use crate::task::{Current, current, fill_header, read_at, write_u64s};
use crate::task_storage::TaskStorage;
use crate::{CONFIG, config, count, filter, in_flight_add};

/// Completed calls (and the lifecycle hooks' records), to userspace. Size
/// set by the loader (`--ringbuf-size`).
#[map]
pub(crate) static EVENTS: RingBuf = RingBuf::with_byte_size(1 << 22, 0);

/// Flags for submitting a record: wake the reader only once
/// `CONFIG.wakeup_bytes` are waiting, and not while it is reading the ring
/// already or another record's wake-up is on its way to it
/// ([`reader::DRAINING`]). A wake-up per record costs the producer several microseconds
/// (an irq_work, a self-IPI in a VM, and the reader's epoll round-trip);
/// batching them leaves it a store and a query, and the daemon's drain
/// timer bounds how long a record can wait while records keep coming.
#[inline(always)]
fn submit_flags() -> u64 {
    let threshold = config!(wakeup_bytes);
    if threshold == 0 {
        return 0;
    }
    if EVENTS.query(aya_ebpf::bindings::BPF_RB_AVAIL_DATA as u64) >= threshold
        && crate::reader_state() != reader::DRAINING
    {
        crate::reader_woken();
        aya_ebpf::bindings::BPF_RB_FORCE_WAKEUP as u64
    } else {
        aya_ebpf::bindings::BPF_RB_NO_WAKEUP as u64
    }
}

/// Submits a record, batching the reader's wake-up ([`submit_flags`]),
/// unless the daemon has stopped its drain timer after a quiet spell
/// ([`reader::IDLE`]): then nothing else would wake it, and a discarded
/// 8-byte reservation carries a forced wake-up.
///
/// The idle state is read after the commit, whose `xchg` is a full
/// barrier; the daemon sets it before its last look at the ring, with one
/// too. So either the daemon saw this record, or this program sees the
/// state: no record can sleep in the ring unseen. (`submit_flags` reads
/// the state before the commit, which is racy: it may miss one threshold
/// wake-up just as the daemon stops reading, and the drain timer, 10 ms,
/// covers that.)
#[inline(always)]
pub(crate) fn submit<T>(entry: RingBufEntry<T>) {
    let flags = submit_flags();
    entry.submit(flags);
    if flags == aya_ebpf::bindings::BPF_RB_NO_WAKEUP as u64 && crate::reader_state() == reader::IDLE {
        crate::reader_woken();
        if let Some(wake) = EVENTS.reserve::<u64>(0) {
            wake.discard(aya_ebpf::bindings::BPF_RB_FORCE_WAKEUP as u64);
        }
    }
}

/// Each thread's call in flight, in task-local storage: one
/// `bpf_task_storage_get` at entry and one at exit, with no hashing, no
/// bucket lock and no delete (the exit clears [`pending_flags::IN_FLIGHT`]).
/// The kernel frees a thread's slot with its `task_struct`, so a thread
/// killed mid-call leaves nothing behind, and nothing can fill up: there is
/// no table. An execve from a non-leader thread keeps its slot too (the
/// `task_struct` survives `de_thread`; only its tid changes).
#[btf_map]
pub(crate) static PENDING: TaskStorage<PendingSyscall> = TaskStorage::new();

/// tid → execve/execveat's strings read at entry (512 bytes), kept apart
/// from `PENDING` so every thread's slot stays 160 bytes. LRU: an entry
/// orphaned by a thread killed mid-call cannot fill it; an evicted one is
/// reported as a failed read.
#[map]
pub(crate) static CAPTURES: LruHashMap<u32, EntryCapture> = LruHashMap::with_max_entries(1024, 0);

/// Where a capture is assembled: 512 bytes do not fit on the BPF stack.
/// Per CPU and used only by `sys_enter`, which the kernel never runs twice
/// at once on one CPU (per-program recursion guard).
#[map]
static SCRATCH: PerCpuArray<EntryCapture> = PerCpuArray::with_max_entries(1, 0);

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
pub(crate) fn is_traced(id: u64) -> bool {
    if id >= SYSCALL_BITMAP_BITS as u64 {
        return false;
    }
    let word = unsafe { core::ptr::read_volatile(&CONFIG.syscalls[(id >> 6) as usize]) };
    word & (1u64 << (id & 63)) != 0
}

/// Is any of `ids` traced? Called with constants, it is a load from frozen
/// `.rodata` at a constant offset, which the verifier knows the value of:
/// a branch it guards is dead code to the verifier when those syscalls are
/// not traced, and is never walked. That keeps the load fast (verifying
/// the exec capture's loops took most of the ~100 ms `sys_enter` and
/// `sys_exit` took to load) and costs nothing at run time.
#[inline(always)]
fn any_traced(ids: &[u32]) -> bool {
    let mut i = 0;
    while i < ids.len() {
        if is_traced(ids[i] as u64) {
            return true;
        }
        i += 1;
    }
    false
}

const EXTRA_CALLS: [u32; 5] = [nr::CLONE3, nr::WAIT4, nr::RT_SIGPROCMASK, nr::RT_SIGACTION, nr::PRLIMIT64];
const SMALL_IN_CALLS: [u32; 3] = [nr::RT_SIGPROCMASK, nr::RT_SIGACTION, nr::PRLIMIT64];
const EXEC_CALLS: [u32; 2] = [nr::EXECVE, nr::EXECVEAT];

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
pub(crate) fn load_reg(regs: *const u64, off: usize) -> u64 {
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
pub(crate) fn try_sys_enter(reg: impl Fn(usize) -> u64, id: u32) {
    let cur = current();
    let pid_tgid = cur.pid_tgid;
    let tgid = (pid_tgid >> 32) as u32;
    if tgid == config!(self_tgid) {
        return;
    }
    let kinds = filter::kinds();
    if kinds != 0 && !filter::allows(kinds, tgid) {
        count(Counter::Filtered);
        return;
    }
    let enter_ns = unsafe { bpf_ktime_get_boot_ns() };
    let args = [
        reg(PT_REGS_DI),
        reg(PT_REGS_SI),
        reg(PT_REGS_DX),
        reg(PT_REGS_R10),
        reg(PT_REGS_R8),
        reg(PT_REGS_R9),
    ];
    if id == nr::EXIT || id == nr::EXIT_GROUP {
        // Never reaches sys_exit: the record is made now.
        emit_no_return(enter_ns, &args, id, cur);
        return;
    }
    // The slot is written in place, field by field: building the entry on
    // the stack and assigning it compiles to a byte-wise memmove.
    let Some(slot) = PENDING.get(cur.task as *mut _, true) else {
        count(Counter::StashFailed);
        return;
    };
    let p = unsafe { &mut *slot };
    // Still marked in flight: the thread's previous call never reached
    // sys_exit (unknown to happen: even a thread killed while blocked
    // leaves through it). Overwritten, and counted once in the gauge.
    let reused = p.flags & pending_flags::IN_FLIGHT != 0;
    p.enter_ns = enter_ns;
    p.nr = id;
    p.flags = 0;
    p.extra_len = 0;
    // SAFETY: args is [u64; 6].
    unsafe { write_u64s(p.args.as_mut_ptr(), args) };
    if is_capturing(id) {
        capture_entry(p, id, pid_tgid as u32);
    }
    p.flags |= pending_flags::IN_FLIGHT;
    if !reused {
        in_flight_add(1);
    }
}

/// Syscalls whose user memory is read at entry.
#[inline(always)]
fn is_capturing(id: u32) -> bool {
    matches!(id, nr::CLONE3 | nr::EXECVE | nr::EXECVEAT | nr::RT_SIGPROCMASK | nr::RT_SIGACTION | nr::PRLIMIT64)
}

/// Reads what `id` passes in user memory at entry. The fixed-size structs
/// (clone_args, sigset, sigaction, rlimit) go inline into the pending slot;
/// execve's strings, 512 bytes, are assembled in the per-CPU scratch and
/// parked in `CAPTURES`. Flags go into `p`.
#[inline(always)]
fn capture_entry(p: &mut PendingSyscall, id: u32, tid: u32) {
    let a = p.args;
    match id {
        // rt_sigprocmask(how, set, oset, sigsetsize): the kernel takes
        // only an 8-byte sigset on x86-64.
        nr::RT_SIGPROCMASK if any_traced(&[nr::RT_SIGPROCMASK]) && a[1] != 0 && a[3] == capture::SIGSET_SIZE as u64 => {
            read_in(p, a[1], capture::SIGSET_SIZE);
            return;
        }
        // rt_sigaction(sig, act, oact, sigsetsize)
        nr::RT_SIGACTION if any_traced(&[nr::RT_SIGACTION]) && a[1] != 0 => {
            read_in(p, a[1], capture::SIGACTION_SIZE);
            return;
        }
        // prlimit64(pid, resource, new_rlim, old_rlim)
        nr::PRLIMIT64 if any_traced(&[nr::PRLIMIT64]) && a[2] != 0 => {
            read_in(p, a[2], capture::RLIMIT_SIZE);
            return;
        }
        nr::CLONE3 if any_traced(&[nr::CLONE3]) => {
            read_clone_args(p);
            return;
        }
        nr::EXECVE | nr::EXECVEAT if any_traced(&EXEC_CALLS) => {}
        _ => return,
    }
    let Some(buf) = SCRATCH.get_ptr_mut(0) else { return };
    let buf = unsafe { &mut *buf };
    if id == nr::EXECVE {
        capture_exec(a[0], a[1], a[2], buf);
    } else {
        capture_exec(a[1], a[2], a[3], buf);
    }
    if CAPTURES.insert(tid, buf, 0).is_ok() {
        p.flags |= pending_flags::CAPTURED;
    } else {
        count(Counter::StashFailed);
        p.flags |= syscall_flags::ENTER_READ_FAILED;
    }
}

/// One fixed-size struct passed in; flags the outcome.
#[inline(always)]
fn read_in(p: &mut PendingSyscall, addr: u64, n: usize) {
    match unsafe { bpf_probe_read_user_buf(addr as *const u8, &mut p.small[..n]) } {
        Ok(()) => {
            p.flags |= syscall_flags::EXTRA_IN;
            p.extra_len = n as u32;
        }
        Err(_) => {
            // SAFETY: small is SMALL_CAPTURE_MAX bytes, 8-aligned in the slot.
            unsafe { write_u64s(p.small.as_mut_ptr() as *mut u64, [0; SMALL_CAPTURE_MAX / 8]) };
            p.flags |= syscall_flags::ENTER_READ_FAILED;
        }
    }
}

/// clone3(struct clone_args *uargs, size_t size): read `size` bytes (at most
/// the 88 this build knows) now, before the kernel acts on them.
#[inline(always)]
fn read_clone_args(p: &mut PendingSyscall) {
    let uargs = p.args[0] as *const u8;
    let size = p.args[1];
    let n = if size > CLONE_ARGS_SIZE as u64 { CLONE_ARGS_SIZE } else { size as usize };
    // Masked so the verifier sees a bounded length.
    let n = n & 0x7f;
    if n > CLONE_ARGS_SIZE || n == 0 {
        return;
    }
    // The slot is reused: what a short `size` leaves unread must not be
    // another call's bytes.
    // SAFETY: small is SMALL_CAPTURE_MAX bytes, 8-aligned in the slot.
    unsafe { write_u64s(p.small.as_mut_ptr() as *mut u64, [0; SMALL_CAPTURE_MAX / 8]) };
    match unsafe { bpf_probe_read_user_buf(uargs, &mut p.small[..n]) } {
        Ok(()) => {
            p.extra_len = n as u32;
            p.flags |= syscall_flags::EXTRA_CLONE_ARGS;
        }
        Err(_) => p.flags |= syscall_flags::ENTER_READ_FAILED,
    }
}

/// execve(filename, argv, envp) / execveat(dfd, filename, argv, envp,
/// flags): the strings live in the image the call is about to replace, so
/// they are read now, bounded as [`ExecCapture`] says.
#[inline(always)]
fn capture_exec(filename: u64, argv: u64, envp: u64, buf: &mut EntryCapture) {
    // Every byte is sent on: none may be left from an earlier capture.
    buf.data.fill(0);
    // EntryCapture is 8-aligned and exactly an ExecCapture's size.
    let c = unsafe { &mut *(buf.data.as_mut_ptr() as *mut ExecCapture) };
    c.filename_len =
        unsafe { bpf_probe_read_user_str(c.filename.as_mut_ptr() as *mut _, c.filename.len() as u32, filename as *const _) } as i32;
    let mut flags = 0;
    let mut argc = 0u32;
    let mut i = 0;
    while i < EXEC_ARGV_MAX {
        let Ok(s) = (unsafe { bpf_probe_read_user((argv + 8 * i as u64) as *const u64) }) else {
            flags |= exec_flags::ARGV_FAULT;
            break;
        };
        if s == 0 {
            break;
        }
        let n = unsafe { bpf_probe_read_user_str(c.argv[i].as_mut_ptr() as *mut _, EXEC_ARG_READ as u32, s as *const _) };
        c.argv_len[i] = n as i16;
        argc += 1;
        i += 1;
    }
    if argv != 0 && argc == EXEC_ARGV_MAX as u32 && flags & exec_flags::ARGV_FAULT == 0 {
        let (n, f) = count_ptrs(argv, EXEC_ARGV_MAX as u32);
        argc = n;
        flags |= f & exec_flags::ARGV_FAULT | if f & COUNT_CAPPED != 0 { exec_flags::ARGC_CAPPED } else { 0 };
    }
    if argv == 0 {
        flags &= !exec_flags::ARGV_FAULT;
    }
    if envp != 0 {
        let (n, f) = count_ptrs(envp, 0);
        c.envc = n;
        flags |= if f & exec_flags::ARGV_FAULT != 0 { exec_flags::ENVP_FAULT } else { 0 }
            | if f & COUNT_CAPPED != 0 { exec_flags::ENVC_CAPPED } else { 0 };
    }
    c.argc = argc;
    c.flags = flags;
}

const COUNT_CAPPED: u32 = 1 << 31;

/// Counts the non-NULL pointers of a NULL-terminated user array from index
/// `from`, up to [`EXEC_COUNT_MAX`]; returns the count and
/// `ARGV_FAULT`/`COUNT_CAPPED`.
#[inline(always)]
fn count_ptrs(array: u64, from: u32) -> (u32, u32) {
    let mut n = from;
    while n < EXEC_COUNT_MAX {
        match unsafe { bpf_probe_read_user((array + 8 * n as u64) as *const u64) } {
            Ok(0) => return (n, 0),
            Ok(_) => n += 1,
            Err(_) => return (n, exec_flags::ARGV_FAULT),
        }
    }
    (n, COUNT_CAPPED)
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
pub(crate) fn try_sys_exit(ret: i64, id: u32) {
    let cur = current();
    let pid_tgid = cur.pid_tgid;
    let tid = pid_tgid as u32;
    let slot = match PENDING.get(cur.task as *mut _, false) {
        Some(slot) if unsafe { (*slot).flags } & pending_flags::IN_FLIGHT != 0 => Some(slot),
        _ => None,
    };
    let Some(p) = slot else {
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
    let p = unsafe { &mut *p };
    if p.nr != id {
        // A stale entry: the thread's earlier call never reached sys_exit.
        release(p, tid);
        count(Counter::ExitWithoutEnter);
        return;
    }
    let now = unsafe { bpf_ktime_get_boot_ns() };
    match id {
        nr::CLONE3 | nr::WAIT4 | nr::RT_SIGPROCMASK | nr::RT_SIGACTION | nr::PRLIMIT64 if any_traced(&EXTRA_CALLS) => {
            emit_extra(p, id, ret, now, cur)
        }
        nr::EXECVE | nr::EXECVEAT if any_traced(&EXEC_CALLS) => emit_exec(p, id, ret, now, cur),
        _ => emit_plain(p, id, ret, now, cur),
    }
    release(p, tid);
}

/// Ends the call in flight in thread `tid`'s slot `p`: the slot is free
/// again, the gauge of calls in flight one lower, and the execve strings
/// its entry parked in `CAPTURES` (if any) gone.
#[inline(always)]
pub(crate) fn release(p: &mut PendingSyscall, tid: u32) {
    let captured = p.flags & pending_flags::CAPTURED != 0;
    p.flags = 0;
    in_flight_add(u64::MAX);
    if captured {
        let _ = CAPTURES.remove(tid);
    }
}

#[inline(always)]
fn fill_syscall(r: &mut SyscallRecord, p: &PendingSyscall, id: u32, ret: i64, now: u64, cur: Current) {
    fill_call(r, p.enter_ns, &p.args, id, ret, now, cur);
    r.flags = p.flags & !(pending_flags::CAPTURED | pending_flags::IN_FLIGHT);
}

#[inline(always)]
fn fill_call(r: &mut SyscallRecord, enter_ns: u64, args: &[u64; 6], id: u32, ret: i64, now: u64, cur: Current) {
    fill_header(&mut r.header, RecordKind::Syscall as u32, now, cur);
    r.nr = id;
    r.flags = 0;
    // SAFETY: args is [u64; 6].
    unsafe { write_u64s(r.args.as_mut_ptr(), *args) };
    // Volatile: for exit/exit_group these are all constant zeros, which
    // LLVM would otherwise merge into a call to a byte-wise memset.
    unsafe {
        core::ptr::write_volatile(&mut r.ret, ret);
        core::ptr::write_volatile(&mut r.duration_ns, now.wrapping_sub(enter_ns));
    }
    r.extra_len = 0;
    r._pad1 = 0;
}

#[inline(always)]
fn emit_plain(p: &PendingSyscall, id: u32, ret: i64, now: u64, cur: Current) {
    let Some(mut entry) = EVENTS.reserve::<SyscallRecord>(0) else {
        count(Counter::RingbufFull);
        return;
    };
    let r = unsafe { &mut *entry.as_mut_ptr() };
    fill_syscall(r, p, id, ret, now, cur);
    submit(entry);
    count(Counter::Emitted);
}

/// exit/exit_group at entry: no return value, no duration.
#[inline(always)]
fn emit_no_return(enter_ns: u64, args: &[u64; 6], id: u32, cur: Current) {
    let Some(mut entry) = EVENTS.reserve::<SyscallRecord>(0) else {
        count(Counter::RingbufFull);
        return;
    };
    let r = unsafe { &mut *entry.as_mut_ptr() };
    fill_call(r, enter_ns, args, id, 0, enter_ns, cur);
    r.flags = syscall_flags::NO_RETURN;
    submit(entry);
    count(Counter::Emitted);
}

/// The entry capture of the current thread's call, if it is still there.
#[inline(always)]
fn entry_capture(p: &PendingSyscall, pid_tgid: u64) -> Option<*const EntryCapture> {
    if p.flags & pending_flags::CAPTURED == 0 {
        return None;
    }
    CAPTURES.get_ptr(pid_tgid as u32)
}

/// Copies `dst.len()` bytes of the entry capture into a record; false if it
/// is gone (evicted).
#[inline(always)]
fn copy_capture(cap: Option<*const EntryCapture>, dst: &mut [u8]) -> bool {
    match cap {
        Some(c) => unsafe { bpf_probe_read_kernel_buf((*c).data.as_ptr(), dst) }.is_ok(),
        None => false,
    }
}

#[inline(always)]
fn emit_exec(p: &PendingSyscall, id: u32, ret: i64, now: u64, cur: Current) {
    let pid_tgid = cur.pid_tgid;
    let Some(mut entry) = EVENTS.reserve::<SyscallRecordExec>(0) else {
        count(Counter::RingbufFull);
        return;
    };
    let r = unsafe { &mut *entry.as_mut_ptr() };
    fill_syscall(&mut r.base, p, id, ret, now, cur);
    let dst = unsafe {
        core::slice::from_raw_parts_mut(&mut r.exec as *mut ExecCapture as *mut u8, EXEC_CAPTURE_SIZE)
    };
    if copy_capture(entry_capture(p, pid_tgid), dst) {
        r.base.flags |= syscall_flags::EXTRA_EXEC;
        r.base.extra_len = EXEC_CAPTURE_SIZE as u32;
        // Strings in pages that were not resident at entry (a C program's
        // literals in untouched .rodata) could not be read then; the kernel
        // has faulted them in since.
        let (fname, argv) = if id == nr::EXECVEAT { (p.args[1], p.args[2]) } else { (p.args[0], p.args[1]) };
        if ret < 0 {
            // The old image is still there: read the same pointers again.
            reread_exec_strings(&mut r.exec, fname, argv);
        } else if ret == 0 && exec_incomplete(&r.exec) {
            // The old image is gone; the new one holds the same strings.
            exec_strings_from_new_image(&mut r.exec);
        }
    } else {
        dst.fill(0);
        r.base.flags |= syscall_flags::ENTER_READ_FAILED;
    }
    submit(entry);
    count(Counter::Emitted);
}

/// Did the entry capture miss the filename or an argv string?
#[inline(always)]
fn exec_incomplete(c: &ExecCapture) -> bool {
    if c.filename_len <= 0 || c.flags & exec_flags::ARGV_FAULT != 0 {
        return true;
    }
    let mut i = 0;
    while i < EXEC_ARGV_MAX {
        if (i as u32) < c.argc && c.argv_len[i] <= 0 {
            return true;
        }
        i += 1;
    }
    false
}

/// After a failed exec: reads the filename and argv strings that the entry
/// capture missed, through the same pointers.
#[inline(always)]
fn reread_exec_strings(c: &mut ExecCapture, filename: u64, argv: u64) {
    if c.filename_len <= 0 && filename != 0 {
        c.filename = [0; EXEC_FILENAME_MAX];
        c.filename_len =
            unsafe { bpf_probe_read_user_str(c.filename.as_mut_ptr() as *mut _, EXEC_FILENAME_MAX as u32, filename as *const _) } as i32;
    }
    if argv == 0 {
        return;
    }
    let mut i = 0;
    let mut found = 0u32;
    while i < EXEC_ARGV_MAX {
        let Ok(s) = (unsafe { bpf_probe_read_user((argv + 8 * i as u64) as *const u64) }) else { break };
        if s == 0 {
            break;
        }
        found += 1;
        if c.argv_len[i] <= 0 {
            c.argv[i] = [0; EXEC_ARG_SLOT];
            c.argv_len[i] = unsafe { bpf_probe_read_user_str(c.argv[i].as_mut_ptr() as *mut _, EXEC_ARG_READ as u32, s as *const _) } as i16;
        }
        i += 1;
    }
    if found > c.argc {
        c.argc = found;
    }
    if found as usize == EXEC_ARGV_MAX || i < EXEC_ARGV_MAX {
        c.flags &= !exec_flags::ARGV_FAULT;
    }
}

/// After a successful exec: the kernel copied the filename and the argv
/// strings onto the new stack: argv back to back from `mm->arg_start`,
/// the filename (AT_EXECFN) right after the environment, at
/// `mm->env_end`; argc is at `mm->start_stack`. The argv area becomes one
/// NUL-separated block ([`exec_flags::ARGV_BLOCK`]), split by userspace.
#[inline(always)]
fn exec_strings_from_new_image(c: &mut ExecCapture) {
    let task = unsafe { aya_ebpf::helpers::generated::bpf_get_current_task() } as *const u8;
    let Some(mm) = read_at::<*const u8>(task, config!(offs.task_mm)) else { return };
    let arg_start: u64 = read_at(mm, config!(offs.mm_arg_start)).unwrap_or(0);
    let arg_end: u64 = read_at(mm, config!(offs.mm_arg_end)).unwrap_or(0);
    let env_end: u64 = read_at(mm, config!(offs.mm_env_end)).unwrap_or(0);
    let start_stack: u64 = read_at(mm, config!(offs.mm_start_stack)).unwrap_or(0);
    if c.filename_len <= 0 && env_end != 0 {
        c.filename = [0; EXEC_FILENAME_MAX];
        c.filename_len =
            unsafe { bpf_probe_read_user_str(c.filename.as_mut_ptr() as *mut _, EXEC_FILENAME_MAX as u32, env_end as *const _) } as i32;
    }
    if arg_end <= arg_start || arg_start == 0 {
        return;
    }
    let len = arg_end - arg_start;
    let block = unsafe { core::slice::from_raw_parts_mut(c.argv.as_mut_ptr() as *mut u8, EXEC_ARGV_BLOCK) };
    // Cleared by u64 stores first: a `fill` is a memset subprogram call,
    // and a length that had to live across it was spilled to the stack
    // before its bound was checked. Linux 6.1's verifier does not carry a
    // bound learnt on a register to an earlier spilled copy of it (`R2 min
    // value is negative` at the read below).
    // SAFETY: the block is EXEC_ARGV_BLOCK bytes at an 8-aligned offset of
    // the #[repr(C)] capture.
    unsafe { write_u64s(block.as_mut_ptr() as *mut u64, [0; EXEC_ARGV_BLOCK / 8]) };
    // A fresh load of the length, clamped in registers right before the
    // call that takes it, with no call in between to force a spill.
    let len = unsafe { core::ptr::read_volatile(&len) };
    let n = if len > EXEC_ARGV_BLOCK as u64 { EXEC_ARGV_BLOCK } else { len as usize };
    if unsafe { bpf_probe_read_user_buf(arg_start as *const u8, &mut block[..n]) }.is_err() {
        return;
    }
    c.argv_len = [0; EXEC_ARGV_MAX];
    c.argv_len[0] = n as i16;
    c.flags &= !exec_flags::ARGV_FAULT;
    c.flags |= exec_flags::ARGV_BLOCK | if len > EXEC_ARGV_BLOCK as u64 { exec_flags::ARGV_BLOCK_CUT } else { 0 };
    if let Ok(argc) = unsafe { bpf_probe_read_user(start_stack as *const u64) }
        && argc < EXEC_COUNT_MAX as u64
    {
        c.argc = argc as u32;
    }
}

/// What the kernel wrote back through a pointer argument, after a
/// successful call: `n` bytes from `addr` into `extra[off..off + n]`.
#[inline(always)]
fn read_out(r: &mut SyscallRecordExtra, addr: u64, dst_off: usize, n: usize) {
    if addr == 0 {
        return;
    }
    match unsafe { bpf_probe_read_user_buf(addr as *const u8, &mut r.extra[dst_off..dst_off + n]) } {
        Ok(()) => r.base.flags |= syscall_flags::EXTRA_OUT,
        Err(_) => {
            r.extra[dst_off..dst_off + n].fill(0);
            r.base.flags |= syscall_flags::EXIT_READ_FAILED;
        }
    }
}

#[inline(always)]
fn emit_extra(p: &PendingSyscall, id: u32, ret: i64, now: u64, cur: Current) {
    let Some(mut entry) = EVENTS.reserve::<SyscallRecordExtra>(0) else {
        count(Counter::RingbufFull);
        return;
    };
    let r = unsafe { &mut *entry.as_mut_ptr() };
    fill_syscall(&mut r.base, p, id, ret, now, cur);
    // SAFETY: extra is EXTRA_MAX bytes at an 8-aligned offset of the
    // #[repr(C)] record.
    unsafe { write_u64s(r.extra.as_mut_ptr() as *mut u64, [0; EXTRA_MAX / 8]) };
    if (id == nr::RT_SIGPROCMASK || id == nr::RT_SIGACTION || id == nr::PRLIMIT64) && any_traced(&SMALL_IN_CALLS) {
        let sigset_ok = p.args[3] == capture::SIGSET_SIZE as u64;
        let (n, in_ptr, out_ptr) = match id {
            nr::RT_SIGPROCMASK if sigset_ok => (capture::SIGSET_SIZE, p.args[1], p.args[2]),
            nr::RT_SIGPROCMASK => (capture::SIGSET_SIZE, 0, 0),
            nr::RT_SIGACTION => (capture::SIGACTION_SIZE, p.args[1], p.args[2]),
            _ => (capture::RLIMIT_SIZE, p.args[2], p.args[3]),
        };
        if p.flags & syscall_flags::EXTRA_IN != 0 {
            r.extra[..n].copy_from_slice(&p.small[..n]);
        } else if r.base.flags & syscall_flags::ENTER_READ_FAILED != 0 && in_ptr != 0 && in_ptr != out_ptr {
            // The entry read fails when the page is not resident (BPF
            // cannot fault it in: a set in libc's untouched .rodata, say).
            // The kernel has copied it in by now, faulting the page; read
            // it again, unless the call wrote its old value over it.
            if unsafe { bpf_probe_read_user_buf(in_ptr as *const u8, &mut r.extra[..n]) }.is_ok() {
                r.base.flags &= !syscall_flags::ENTER_READ_FAILED;
                r.base.flags |= syscall_flags::EXTRA_IN;
            } else {
                r.extra[..n].fill(0);
            }
        }
        if ret == 0 {
            read_out(r, out_ptr, n, n);
        }
        r.base.extra_len = (2 * n) as u32;
    } else if id == nr::CLONE3 && any_traced(&[nr::CLONE3]) {
        if p.flags & syscall_flags::EXTRA_CLONE_ARGS != 0 {
            let src = p.small.as_ptr() as *const [u64; CLONE_ARGS_SIZE / 8];
            // SAFETY: extra holds at least CLONE_ARGS_SIZE bytes, 8-aligned;
            // `src` is the slot's `small`, as long and 8-aligned too.
            unsafe { write_u64s(r.extra.as_mut_ptr() as *mut u64, core::ptr::read_volatile(src)) };
        }
        r.base.extra_len = p.extra_len;
        // What the kernel stored at clone_args.parent_tid (strace's
        // `=> {parent_tid=[N]}`): only meaningful once the call succeeded.
        let flags = u64::from_le_bytes([
            r.extra[0], r.extra[1], r.extra[2], r.extra[3], r.extra[4], r.extra[5], r.extra[6], r.extra[7],
        ]);
        let parent_tid = u64::from_le_bytes([
            r.extra[24], r.extra[25], r.extra[26], r.extra[27], r.extra[28], r.extra[29], r.extra[30], r.extra[31],
        ]) as *const u8;
        if ret > 0 && r.base.flags & syscall_flags::EXTRA_CLONE_ARGS != 0 && flags & nr::CLONE_PARENT_SETTID != 0 && !parent_tid.is_null() {
            match unsafe { bpf_probe_read_user_buf(parent_tid, &mut r.extra[PARENT_TID_OFFSET..PARENT_TID_OFFSET + 4]) } {
                Ok(()) => r.base.flags |= syscall_flags::EXTRA_PARENT_TID,
                Err(_) => {
                    r.extra[PARENT_TID_OFFSET..PARENT_TID_OFFSET + 4].fill(0);
                    r.base.flags |= syscall_flags::EXIT_READ_FAILED | syscall_flags::PARENT_TID_READ_FAILED
                }
            }
        }
    } else if any_traced(&[nr::WAIT4]) {
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
    submit(entry);
    count(Counter::Emitted);
}
