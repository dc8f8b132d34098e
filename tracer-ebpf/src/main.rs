//! Kernel side of tracer: raw tracepoint programs on `raw_syscalls`
//! (`syscalls`), the in-kernel filters they consult (`filter`), the
//! `sched` hooks that keep per-thread and per-process state current and
//! report forks, execs and exits, and the `signal` hooks (SIGCHLD generated
//! and delivered); `task` reads `task_struct`s for all of them.
//!
//! Needs Linux ≥ 5.8 (BPF ring buffer, `bpf_probe_read_user`,
//! `bpf_ktime_get_boot_ns`).
#![no_std]
#![no_main]

mod filter;
mod sched;
mod signal;
mod syscalls;
mod task;

use aya_ebpf::{macros::map, maps::PerCpuArray};
use tracer_common::{COUNTER_COUNT, Config, Counter};

/// Written by the loader before load (`EbpfLoader::override_global`); lives
/// in `.rodata`, a frozen array map, so reading it is a plain load and the
/// verifier treats its fields as constants (branches on them that cannot be
/// taken are removed before the program runs).
#[unsafe(no_mangle)]
static CONFIG: Config = Config::zeroed();

/// Reads a `CONFIG` field. Volatile so LLVM keeps the load from the map
/// instead of folding in the zero the object file was built with.
macro_rules! config {
    ($($field:tt)+) => {
        unsafe { core::ptr::read_volatile(&$crate::CONFIG.$($field)+) }
    };
}
pub(crate) use config;

/// Per-CPU counters indexed by [`Counter`].
#[map]
static COUNTERS: PerCpuArray<u64> = PerCpuArray::with_max_entries(COUNTER_COUNT, 0);

#[inline(always)]
fn count(c: Counter) {
    if let Some(p) = COUNTERS.get_ptr_mut(c as u32) {
        // Per-CPU slot, and programs are not preempted on a CPU mid-run:
        // a plain add is race-free.
        unsafe { *p += 1 };
    }
}

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    loop {}
}

#[unsafe(link_section = "license")]
#[unsafe(no_mangle)]
static LICENSE: [u8; 13] = *b"Dual MIT/GPL\0";
