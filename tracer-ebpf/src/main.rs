//! Kernel side of tracer: raw tracepoint programs on `raw_syscalls`
//! (`syscalls`), the in-kernel filters they consult (`filter`), the
//! `sched` hooks that keep per-thread and per-process state current and
//! report forks, execs and exits, and the `signal` hooks (SIGCHLD generated
//! and delivered); `task` reads `task_struct`s for all of them.
//!
//! Needs Linux ≥ 5.11 (task storage and `bpf_get_current_task_btf` in
//! tracing programs; BPF ring buffer, `bpf_probe_read_user`,
//! `bpf_ktime_get_boot_ns`).
#![no_std]
#![no_main]

mod filter;
mod sched;
mod signal;
mod syscalls;
mod syscalls_tp;
mod task;
mod task_storage;

use aya_ebpf::{helpers::generated::bpf_get_smp_processor_id, macros::map, maps::Array};
use tracer_common::{COUNTER_STRIDE, Config, Counter};

/// Written by the loader before load (`EbpfLoader::override_global`); lives
/// in `.rodata`, a frozen array map, so reading it is a plain load and the
/// verifier treats its fields as constants (branches on them that cannot be
/// taken are removed before the program runs).
#[unsafe(no_mangle)]
static CONFIG: Config = Config::zeroed();

/// Reads a `CONFIG` field. Volatile so LLVM keeps the load from the map
/// instead of folding in the zero the object file was built with.
macro_rules! config {
    ($($field:tt)+) => {{
        // Allowed: the macro is also used inside callers' unsafe blocks.
        #[allow(unused_unsafe)]
        // SAFETY: a read of a static's field, aligned and initialized.
        let v = unsafe { core::ptr::read_volatile(&$crate::CONFIG.$($field)+) };
        v
    }};
}
pub(crate) use config;

/// `BPF_F_MMAPABLE`: the array's memory can be mapped by userspace.
const BPF_F_MMAPABLE: u32 = 1 << 10;

/// Counters per CPU: CPU n's [`Counter`] c is slot `n * COUNTER_STRIDE + c`,
/// one cache line per CPU. A plain array the loader creates mmap-able and
/// sizes to the possible CPUs, not a per-CPU map: userspace reads it through
/// a mapping taken at load time, with no `bpf()` call, so the loss
/// accounting keeps working after `--drop-privileges` on every kernel (before
/// Linux 6.5, `kernel.unprivileged_bpf_disabled` refuses every `bpf()` call
/// of a process without CAP_BPF, map lookups included).
#[map]
static COUNTERS: Array<u64> = Array::with_max_entries(COUNTER_STRIDE, BPF_F_MMAPABLE);

/// What the daemon is doing ([`tracer_common::reader`]), written by it
/// through a mapping: whether a record should wake it
/// ([`syscalls::submit`]). Mmap-able so the daemon sets it with a store, no
/// `bpf()` call (and so it still can after `--drop-privileges`).
#[map]
static READER: Array<u32> = Array::with_max_entries(1, BPF_F_MMAPABLE);

/// The daemon's state ([`tracer_common::reader`]).
#[inline(always)]
fn reader_state() -> u32 {
    match READER.get_ptr(0) {
        Some(p) => unsafe { core::ptr::read_volatile(p) },
        None => tracer_common::reader::TICKING,
    }
}

/// A producer about to wake the daemon says it is reading already, so that
/// the records committed before the daemon gets to run do not each force a
/// wake-up of their own. Racy with the daemon's own stores, harmlessly: the
/// wake-up that follows makes the daemon set the state afresh.
#[inline(always)]
fn reader_woken() {
    if let Some(p) = READER.get_ptr_mut(0) {
        unsafe { core::ptr::write_volatile(p, tracer_common::reader::DRAINING) };
    }
}

#[inline(always)]
fn count(c: Counter) {
    slot_add(c as u32, 1);
}

/// Adds `delta` (wrapping: −1 is `u64::MAX`) to this CPU's share of the
/// calls-in-flight gauge ([`tracer_common::IN_FLIGHT_SLOT`]).
#[inline(always)]
fn in_flight_add(delta: u64) {
    slot_add(tracer_common::IN_FLIGHT_SLOT, delta);
}

/// Adds `delta` to slot `slot` of this CPU's line of `COUNTERS`.
#[inline(always)]
fn slot_add(slot: u32, delta: u64) {
    // Inlined by the verifier on x86-64 (Linux >= 6.10).
    let cpu = unsafe { bpf_get_smp_processor_id() };
    if let Some(p) = COUNTERS.get_ptr_mut(cpu.wrapping_mul(COUNTER_STRIDE).wrapping_add(slot)) {
        // This CPU's own slot, and programs are not preempted on a CPU
        // mid-run: a plain add is race-free.
        unsafe { *p = (*p).wrapping_add(delta) };
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
