//! The benchmark floor: two empty programs on `raw_syscalls:sys_enter` and
//! `sys_exit`. Once anything is attached there, every syscall on the machine
//! pays the tracepoint dispatch and a BPF program call; this object measures
//! exactly that and nothing else, so `cargo xtask bench` can say how far
//! tracer is above the least any design on these hooks can cost.
//!
//! `sys_enter_tp`/`sys_exit_tp` are the per-syscall floor: the same empty
//! programs for `syscalls:sys_enter_<name>`/`sys_exit_<name>`, which
//! `tracer-floor --per-syscall NAMES` attaches to those syscalls' events
//! only (what `--attach syscall` cannot go below).
//!
//! Loaded by `tracer-floor` (tracer-user/src/bin/tracer-floor.rs).
#![no_std]
#![no_main]

use aya_ebpf::{
    macros::{raw_tracepoint, tracepoint},
    programs::{RawTracePointContext, TracePointContext},
};

/// `raw_syscalls:sys_enter(struct pt_regs *regs, long id)`: nothing.
#[raw_tracepoint(tracepoint = "sys_enter")]
pub fn sys_enter(_ctx: RawTracePointContext) -> i32 {
    0
}

/// `raw_syscalls:sys_exit(struct pt_regs *regs, long ret)`: nothing.
#[raw_tracepoint(tracepoint = "sys_exit")]
pub fn sys_exit(_ctx: RawTracePointContext) -> i32 {
    0
}

/// Any `syscalls:sys_enter_<name>`: nothing.
#[tracepoint]
pub fn sys_enter_tp(_ctx: TracePointContext) -> i32 {
    0
}

/// Any `syscalls:sys_exit_<name>`: nothing.
#[tracepoint]
pub fn sys_exit_tp(_ctx: TracePointContext) -> i32 {
    0
}

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    loop {}
}

#[unsafe(link_section = "license")]
#[unsafe(no_mangle)]
static LICENSE: [u8; 13] = *b"Dual MIT/GPL\0";
