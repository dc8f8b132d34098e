//! `syscalls:sys_enter_<name>` / `sys_exit_<name>`: the same work as
//! `syscalls`' raw programs, on each traced syscall's own events
//! (`--attach syscall`). One program of each kind, loaded once and attached
//! to every traced syscall's event; an untraced syscall then runs no BPF
//! program at all (the kernel's perf handler tests one bit and returns).
//!
//! The context is the kernel's `struct syscall_tp_t` (`perf_call_bpf_enter`
//! / `perf_call_bpf_exit` in `kernel/trace/trace_syscalls.c`): the task's
//! `struct pt_regs *` in its first 8 bytes ("bpf prog requires 'regs' to be
//! the first member in the ctx"), the syscall number at offset 8 and, at
//! exit, the return value at offset 16. The arguments the event carries at
//! offset 16 are only the syscall's declared ones (the rest of that array
//! is stale stack), so all six are read from the task's `pt_regs` as the
//! raw programs read them: the records are the same bytes in both modes.
//! (`bpf_task_pt_regs`, Linux ≥ 5.15: the verifier does not let a
//! tracepoint program load the pointer at offset 0 itself.)

use aya_ebpf::{
    EbpfContext as _,
    helpers::generated::{bpf_get_current_task_btf, bpf_task_pt_regs},
    macros::tracepoint,
    programs::TracePointContext,
};

use crate::syscalls::{is_traced, load_reg, try_sys_enter, try_sys_exit};

/// Offset of the syscall number in the context.
const CTX_NR: usize = 8;
/// Offset of the return value in `sys_exit_<name>`'s context.
const CTX_RET: usize = 16;

/// A plain load from the tracepoint context (the verifier allows direct,
/// aligned reads of it: no helper call).
#[inline(always)]
fn ctx_load<T: Copy>(ctx: &TracePointContext, off: usize) -> T {
    // SAFETY: off is within the kernel's syscall_tp_t and aligned for T.
    unsafe { core::ptr::read_volatile((ctx.as_ptr() as *const u8).add(off) as *const T) }
}

/// Any `syscalls:sys_enter_<name>` event of the traced set.
#[tracepoint]
pub fn sys_enter_tp(ctx: TracePointContext) -> i32 {
    let id = ctx_load::<i32>(&ctx, CTX_NR) as u32 as u64;
    if !is_traced(id) {
        return 0;
    }
    // The context's regs pointer (offset 0) is not readable by a plain
    // load (the verifier allows ctx reads from offset 8 on); the task's
    // pt_regs as a BTF pointer is, one helper call for all six registers.
    let regs = unsafe { bpf_task_pt_regs(bpf_get_current_task_btf() as *mut _) } as *const u64;
    try_sys_enter(|off| load_reg(regs, off), id as u32);
    0
}

/// Any `syscalls:sys_exit_<name>` event of the traced set.
#[tracepoint]
pub fn sys_exit_tp(ctx: TracePointContext) -> i32 {
    let id = ctx_load::<i32>(&ctx, CTX_NR) as u32 as u64;
    if !is_traced(id) {
        return 0;
    }
    try_sys_exit(ctx_load::<i64>(&ctx, CTX_RET), id as u32);
    0
}
