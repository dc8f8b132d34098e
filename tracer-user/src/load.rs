//! Load the BPF object, fill in its load-time configuration, attach the
//! programs, and read the kernel side's counters.

use anyhow::{Context as _, anyhow};
use aya::{
    Ebpf, EbpfLoader,
    maps::{MapData, PerCpuArray, RingBuf},
    programs::RawTracePoint,
};
use tracer_common::{COUNTER_COUNT, Config, Counter, SYSCALL_BITMAP_BITS};

use crate::btf;

/// The object built by `build.rs` from `tracer-ebpf`.
static BPF_OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/tracer"));

/// Programs and the raw tracepoints they attach to (by name: no tracefs).
const HOOKS: [(&str, &str); 3] = [
    ("sys_enter", "sys_enter"),
    ("sys_exit", "sys_exit"),
    ("sched_process_exit", "sched_process_exit"),
];

/// Lifecycle programs (`tracer-ebpf/src/sched.rs`, `signal.rs`), attached
/// only when lifecycle events are wanted. The exit hook comes in two forms;
/// [`exit_program`] picks the one the running kernel's tracepoint fits.
const LIFECYCLE_HOOKS: [(&str, &str); 4] = [
    ("lifecycle_fork", "sched_process_fork"),
    ("lifecycle_exec", "sched_process_exec"),
    ("signal_generate", "signal_generate"),
    ("signal_deliver", "signal_deliver"),
];

fn exit_program(has_group_dead: bool) -> (&'static str, &'static str) {
    if has_group_dead {
        ("lifecycle_exit", "sched_process_exit")
    } else {
        ("lifecycle_exit_live", "sched_process_exit")
    }
}

/// Signals reported by default: SIGCHLD, the one the walkthrough follows
/// (bit n-1 for signal n).
pub const DEFAULT_SIGNAL_MASK: u64 = 1 << (17 - 1);

#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// Syscall numbers to trace.
    pub syscalls: Vec<u32>,
    /// Ring buffer size in bytes (power of two, multiple of the page size).
    pub ringbuf_size: u32,
    /// Attach the fork/exec/exit/signal hooks.
    pub lifecycle: bool,
    /// Signals whose generation and delivery are reported (bit n-1: signal n).
    pub signal_mask: u64,
}

/// Errors a user can cause or fix, with their own exit codes.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("loading BPF programs needs root or CAP_BPF+CAP_PERFMON ({0})")]
    Permission(String),
    #[error("{0}")]
    Other(#[from] anyhow::Error),
}

pub struct Loaded {
    pub ebpf: Ebpf,
}

/// Builds the bitmap the kernel side tests first.
pub fn syscall_bitmap(nrs: &[u32]) -> [u64; SYSCALL_BITMAP_BITS / 64] {
    let mut bits = [0u64; SYSCALL_BITMAP_BITS / 64];
    for &n in nrs {
        if (n as usize) < SYSCALL_BITMAP_BITS {
            bits[n as usize / 64] |= 1 << (n % 64);
        }
    }
    bits
}

/// Raising RLIMIT_MEMLOCK only matters before Linux 5.11 (memcg accounting
/// replaced it); where it fails, say so and carry on.
fn bump_memlock_rlimit() {
    let rlim = libc::rlimit { rlim_cur: libc::RLIM_INFINITY, rlim_max: libc::RLIM_INFINITY };
    if unsafe { libc::setrlimit(libc::RLIMIT_MEMLOCK, &rlim) } != 0 {
        log::warn!(
            "could not raise RLIMIT_MEMLOCK ({}); not needed on Linux >= 5.11, continuing",
            std::io::Error::last_os_error()
        );
    }
}

fn is_permission(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if matches!(io.raw_os_error(), Some(libc::EPERM) | Some(libc::EACCES)) {
                return true;
            }
        }
        cur = err.source();
    }
    false
}

pub fn load(opts: &LoadOptions) -> Result<Loaded, LoadError> {
    bump_memlock_rlimit();
    let data = std::fs::read("/sys/kernel/btf/vmlinux")
        .context("reading kernel BTF from /sys/kernel/btf/vmlinux (tracer needs a kernel built with CONFIG_DEBUG_INFO_BTF)")?;
    let parsed = btf::Btf::parse(&data).context("parsing kernel BTF")?;
    let offs = btf::task_offsets(&parsed).context("finding task_struct offsets in kernel BTF")?;

    let mut cfg = Config::zeroed();
    cfg.syscalls = syscall_bitmap(&opts.syscalls);
    cfg.self_tgid = std::process::id();
    cfg.task_real_parent_off = offs.real_parent;
    cfg.task_tgid_off = offs.tgid;
    cfg.offs = offs.more;
    cfg.exit_has_group_dead = offs.exit_has_group_dead.into();
    cfg.signal_mask = opts.signal_mask;

    let mut ebpf = EbpfLoader::new()
        .override_global("CONFIG", &cfg, true)
        .map_max_entries("EVENTS", opts.ringbuf_size)
        .load(BPF_OBJECT)
        .map_err(|e| {
            if is_permission(&e) {
                LoadError::Permission(e.to_string())
            } else {
                LoadError::Other(anyhow!(e).context("loading BPF object"))
            }
        })?;
    let mut hooks = HOOKS.to_vec();
    if opts.lifecycle {
        hooks.extend(LIFECYCLE_HOOKS);
        hooks.push(exit_program(offs.exit_has_group_dead));
    }
    for (prog, tp) in hooks {
        let p: &mut RawTracePoint = ebpf
            .program_mut(prog)
            .ok_or_else(|| anyhow!("program {prog} missing from BPF object"))?
            .try_into()
            .map_err(|e| anyhow!("program {prog}: {e}"))?;
        p.load().map_err(|e| {
            if is_permission(&e) {
                LoadError::Permission(e.to_string())
            } else {
                LoadError::Other(anyhow!("loading program {prog}: {e:?}"))
            }
        })?;
        p.attach(tp).map_err(|e| LoadError::Other(anyhow!("attaching {prog} to raw tracepoint {tp}: {e}")))?;
    }
    Ok(Loaded { ebpf })
}

impl Loaded {
    pub fn take_ring(&mut self) -> anyhow::Result<RingBuf<MapData>> {
        let map = self.ebpf.take_map("EVENTS").ok_or_else(|| anyhow!("EVENTS map missing"))?;
        Ok(RingBuf::try_from(map)?)
    }

    pub fn counters(&self) -> anyhow::Result<Counters> {
        let map = self.ebpf.map("COUNTERS").ok_or_else(|| anyhow!("COUNTERS map missing"))?;
        let arr: PerCpuArray<_, u64> = PerCpuArray::try_from(map)?;
        let mut c = Counters::default();
        for (i, slot) in c.values.iter_mut().enumerate() {
            *slot = arr.get(&(i as u32), 0)?.iter().sum();
        }
        Ok(c)
    }
}

/// Kernel-side counters summed over CPUs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    pub values: [u64; COUNTER_COUNT as usize],
}

impl Counters {
    pub fn get(&self, c: Counter) -> u64 {
        self.values[c as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitmap_sets_exactly_the_named_numbers() {
        let b = syscall_bitmap(&[9, 10, 56, 61, 435, 9999]);
        assert_eq!(b[0], (1 << 9) | (1 << 10) | (1 << 56) | (1 << 61));
        assert_eq!(b[435 / 64], 1 << (435 % 64));
        assert_eq!(b.iter().map(|w| w.count_ones()).sum::<u32>(), 5);
    }
}
