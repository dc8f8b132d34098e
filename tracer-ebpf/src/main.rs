//! Kernel side of tracer: raw tracepoint programs on `raw_syscalls`
//! (`syscalls`), `sched` (`sched`: fork, exec, exit) and `signal`
//! (`signal`: generate, deliver); `task` reads task_structs for all.
//!
//! Needs Linux ≥ 5.8 (BPF ring buffer, `bpf_probe_read_user`,
//! `bpf_ktime_get_boot_ns`).
#![no_std]
#![no_main]

mod sched;
mod signal;
mod syscalls;
mod task;

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    loop {}
}

#[unsafe(link_section = "license")]
#[unsafe(no_mangle)]
static LICENSE: [u8; 13] = *b"Dual MIT/GPL\0";
