//! Load the BPF object, fill in its load-time configuration and filter
//! maps, attach the programs, and read the kernel side's counters.

use anyhow::{Context as _, anyhow};
use aya::{
    Ebpf, EbpfLoader,
    maps::{CgroupArray, HashMap, Map, MapData, RingBuf},
    programs::{BtfTracePoint, FEntry, RawTracePoint},
};
use tracer_common::{COMM_LEN, COUNTER_STRIDE, Config, MAX_CGROUPS, MAX_TRACKED, SYSCALL_BITMAP_BITS};

use crate::kernel::attach::Plan;
use crate::kernel::btf;
use crate::kernel::counters::{CounterMap, possible_cpus};
use crate::kernel::filter::Filters;
// Where callers have always found them.
pub use crate::kernel::counters::{Counters, PerCpuCounters};
pub use crate::kernel::mmap::ReaderState;

/// The object built by `build.rs` from `tracer-ebpf`.
static BPF_OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/tracer"));

/// Programs and the raw tracepoints they attach to (by name: no tracefs),
/// in attach order. `sched_process_fork` goes first so that by the time
/// anything is traced, every fork of a tracked process is followed; it is
/// attached only when the pid filter is active, so no other run pays for it
/// on every fork. The hooks that release a call's state
/// (`sched_process_exit`/`exec`: the execve capture in `CAPTURES`) and
/// `sys_exit` come before `sys_enter`: a call stashed from the first traced
/// one on always has them to meet (attached the other way round, when the
/// pairing map was keyed by tid, a thread dying in between leaked its
/// entry).
const HOOKS: [(&str, &str); 5] = [
    ("sched_process_fork", "sched_process_fork"),
    ("sched_process_exit", "sched_process_exit"),
    ("sched_process_exec", "sched_process_exec"),
    ("sys_exit", "sys_exit"),
    ("sys_enter", "sys_enter"),
];

/// Lifecycle programs (`tracer-ebpf/src/sched.rs`, `signal.rs`), attached
/// only when lifecycle events are wanted. The exit record comes from one
/// of three programs: [`attach_exit`] picks it.
const LIFECYCLE_HOOKS: [(&str, &str); 4] = [
    ("lifecycle_fork", "sched_process_fork"),
    ("lifecycle_exec", "sched_process_exec"),
    ("signal_generate", "signal_generate"),
    ("signal_deliver", "signal_deliver"),
];

/// Where the exit record learns whether the thread group died.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum GroupDead {
    /// `sched_process_exit`'s own argument (Linux ≥ 6.16): `lifecycle_exit`.
    Arg,
    /// `taskstats_exit(tsk, group_dead)`, by fentry: `lifecycle_exit_taskstats`.
    Taskstats,
    /// `signal->live` at `sched_process_exit`, racy: `lifecycle_exit_live`.
    Live,
}

/// `TRACER_EXIT_GROUP_DEAD=arg|taskstats|live` forces the source (tests
/// and diagnostics: it is how the stress test shows the racy one fail on
/// any kernel); unset, the best the kernel has.
fn forced_group_dead() -> Result<Option<GroupDead>, LoadError> {
    match std::env::var_os("TRACER_EXIT_GROUP_DEAD") {
        None => Ok(None),
        Some(v) if v == "arg" => Ok(Some(GroupDead::Arg)),
        Some(v) if v == "taskstats" => Ok(Some(GroupDead::Taskstats)),
        Some(v) if v == "live" => Ok(Some(GroupDead::Live)),
        Some(v) => Err(anyhow!("TRACER_EXIT_GROUP_DEAD is {v:?}; it must be arg, taskstats or live").into()),
    }
}

/// Attaches the exit record's program: the tracepoint's `group_dead` where
/// the kernel passes it, else fentry on `taskstats_exit`, which is handed
/// the same local `do_exit` decides it in (race-free, see
/// `lifecycle_exit_taskstats`), else, with a warning, `signal->live`.
fn attach_exit(ebpf: &mut Ebpf, has_arg: bool, btf: Option<&aya::Btf>) -> Result<(), LoadError> {
    let forced = forced_group_dead()?;
    match forced.unwrap_or(if has_arg { GroupDead::Arg } else { GroupDead::Taskstats }) {
        GroupDead::Arg if !has_arg => {
            Err(anyhow!("TRACER_EXIT_GROUP_DEAD=arg: this kernel's sched_process_exit has no group_dead argument").into())
        }
        GroupDead::Arg => attach_raw(ebpf, "lifecycle_exit", "sched_process_exit"),
        GroupDead::Taskstats => {
            let tried = match btf {
                Some(btf) => attach_fentry(ebpf, "lifecycle_exit_taskstats", "taskstats_exit", btf),
                None => Err(anyhow!("no kernel BTF to attach fentry programs with").into()),
            };
            match tried {
                Ok(()) => Ok(()),
                Err(e) if forced.is_some() => Err(e),
                Err(e) => {
                    log::warn!(
                        "exit records: cannot hook taskstats_exit ({e}); group_dead is read from signal->live, \
                         which can call a thread's exit the group's when threads exit at once"
                    );
                    attach_raw(ebpf, "lifecycle_exit_live", "sched_process_exit")
                }
            }
        }
        GroupDead::Live => attach_raw(ebpf, "lifecycle_exit_live", "sched_process_exit"),
    }
}

/// Signals reported by default: SIGCHLD, the one the walkthrough follows
/// (bit n-1 for signal n).
pub const DEFAULT_SIGNAL_MASK: u64 = 1 << (17 - 1);

#[derive(Debug, Default)]
pub struct LoadOptions {
    /// Syscall numbers to trace.
    pub syscalls: Vec<u32>,
    /// Ring buffer size in bytes (power of two, multiple of the page size).
    pub ringbuf_size: u32,
    /// In-kernel filters; empty: the whole machine.
    pub filters: Filters,
    /// Attach the fork/exec/exit/signal hooks.
    pub lifecycle: bool,
    /// Signals whose generation and delivery are reported (bit n-1: signal n).
    pub signal_mask: u64,
    /// The hooks that carry the syscalls ([`super::attach::plan`]).
    pub attach: super::attach::Plan,
}

/// Errors a user can cause or fix, with their own exit codes.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// EPERM/EACCES with no verifier log: the kernel refused the `bpf()`
    /// call itself (privilege, lockdown, an LSM, seccomp).
    #[error("loading BPF programs needs root or CAP_BPF+CAP_PERFMON ({0})")]
    Permission(String),
    /// The verifier refused a program (whatever the errno: it answers
    /// EACCES for most rejections).
    #[error("{0}")]
    Rejected(super::verifier::Rejection),
    #[error("{0}")]
    Other(#[from] anyhow::Error),
}

/// Sorts a program's load error: the verifier's, a privilege refusal, or
/// anything else.
pub(super) fn load_error(prog: &str, e: aya::programs::ProgramError) -> LoadError {
    if let Some(r) = super::verifier::rejection(prog, &e) {
        LoadError::Rejected(r)
    } else if is_permission(&e) {
        LoadError::Permission(e.to_string())
    } else {
        LoadError::Other(anyhow!("loading program {prog}: {e}"))
    }
}

pub struct Loaded {
    pub ebpf: Ebpf,
    counters: CounterMap,
    pub reader: ReaderState,
    /// With `--container`/`--unit`: the CGROUPS map and its next free slot,
    /// for cgroups that appear after start.
    cgroup_slots: Option<std::sync::Mutex<(CgroupArray<aya::maps::MapData>, u32)>>,
    /// The hooks the syscalls are on (`auto` may have fallen back to raw).
    pub attach: Plan,
}

impl Loaded {
    /// Adds `dir` (a cgroup2 directory) to the cgroup filter; false when
    /// every slot is taken.
    pub fn add_cgroup(&self, dir: &std::fs::File) -> anyhow::Result<bool> {
        let Some(slots) = &self.cgroup_slots else { return Ok(false) };
        let mut g = slots.lock().unwrap_or_else(|p| p.into_inner());
        let (map, next) = &mut *g;
        if *next >= MAX_CGROUPS {
            return Ok(false);
        }
        map.set(*next, std::os::fd::AsFd::as_fd(dir), 0).context("adding a cgroup to the filter")?;
        *next += 1;
        Ok(true)
    }
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
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && matches!(io.raw_os_error(), Some(libc::EPERM) | Some(libc::EACCES))
        {
            return true;
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
    // Wake the reader when an eighth of the ring is waiting (its drain timer
    // takes care of less): far from full, so a wake-up always comes in time,
    // and a wake-up per ~7,000 records (8 MiB ring) instead of per record.
    cfg.wakeup_bytes = u64::from(opts.ringbuf_size / 8);
    cfg.task_real_parent_off = offs.real_parent;
    cfg.task_tgid_off = offs.tgid;
    cfg.task_signal_off = offs.signal;
    cfg.signal_live_off = offs.signal_live;
    let f = &opts.filters;
    cfg.filter_kinds = f.kinds();
    cfg.cgroup_count = if f.dynamic_cgroups { MAX_CGROUPS } else { f.cgroups.len() as u32 };
    cfg.offs = offs.more;
    cfg.exit_has_group_dead = offs.exit_has_group_dead.into();
    cfg.signal_mask = opts.signal_mask;

    // Unused filter maps shrink to one entry: a hash map's entries are
    // allocated up front, and an unfiltered run should not pay for them.
    let size = |n: usize| n.max(1) as u32;
    let tracked = if f.tgids.is_empty() { 1 } else { MAX_TRACKED };
    let cpus = possible_cpus().context("reading /sys/devices/system/cpu/possible")?;
    let mut ebpf = EbpfLoader::new()
        .override_global("CONFIG", &cfg, true)
        // PENDING is task storage, which aya creates but has no userspace type for.
        .allow_unsupported_maps()
        .map_max_entries("EVENTS", opts.ringbuf_size)
        .map_max_entries("COMMS", size(f.comms.len()))
        .map_max_entries("CGROUPS", if f.dynamic_cgroups { MAX_CGROUPS } else { size(f.cgroups.len()) })
        .map_max_entries("TRACKED_TGIDS", tracked)
        .map_max_entries("COUNTERS", cpus * COUNTER_STRIDE)
        .load(BPF_OBJECT)
        .map_err(|e| {
            if is_permission(&e) {
                LoadError::Permission(e.to_string())
            } else {
                LoadError::Other(anyhow!(e).context("loading BPF object"))
            }
        })?;
    fill_filter_maps(&mut ebpf, f)?;
    let counters = match ebpf.take_map("COUNTERS") {
        Some(Map::Array(data)) => CounterMap::new(data, cpus as usize).context("mapping the COUNTERS array")?,
        _ => return Err(anyhow!("COUNTERS array missing from BPF object").into()),
    };
    let reader = match ebpf.take_map("READER") {
        Some(Map::Array(data)) => ReaderState::new(data).context("mapping the READER array")?,
        _ => return Err(anyhow!("READER array missing from BPF object").into()),
    };
    // sys_enter/sys_exit: BTF-typed tracepoints first (they read pt_regs with
    // plain loads instead of a helper call on every syscall of the machine);
    // plain raw tracepoints where the kernel refuses tracing programs.
    // TRACER_RAW_TRACEPOINTS=1 forces the fallback (diagnostics, tests).
    let kernel_btf = match std::env::var_os("TRACER_RAW_TRACEPOINTS") {
        Some(v) if v == "1" => None,
        _ => aya::Btf::from_sys_fs().ok(),
    };
    // The per-syscall programs are loaded before anything is attached:
    // where the kernel refuses them, `auto` carries on with raw_syscalls.
    let mut attach = opts.attach.clone();
    if let Plan::Syscall { auto, .. } = attach {
        let loaded = ["sys_exit_tp", "sys_enter_tp"].into_iter().try_for_each(|prog| {
            super::attach::tracepoint(&mut ebpf, prog)?.load().map_err(|e| load_error(prog, e))
        });
        match loaded {
            Ok(()) => {}
            Err(e) if auto => {
                log::info!("--attach auto: per-syscall programs unavailable ({e}); attaching to raw_syscalls");
                attach = Plan::Raw;
            }
            Err(e) => return Err(e),
        }
    }
    // Lifecycle hooks first: on one tracepoint programs run in attach
    // order, and the exit record must judge a dying process by the filters
    // before sched_process_exit drops it from the tracked set.
    if opts.lifecycle {
        for (prog, tp) in LIFECYCLE_HOOKS {
            attach_typed(&mut ebpf, prog, tp, kernel_btf.as_ref())?;
        }
        attach_exit(&mut ebpf, offs.exit_has_group_dead, kernel_btf.as_ref())?;
    }
    for (prog, tp) in HOOKS {
        if prog == "sched_process_fork" && f.tgids.is_empty() {
            continue;
        }
        match (&attach, prog) {
            (Plan::Syscall { events, .. }, "sys_exit") => {
                super::attach::attach_events(&mut ebpf, "sys_exit_tp", "sys_exit_", events)?
            }
            (Plan::Syscall { events, .. }, "sys_enter") => {
                super::attach::attach_events(&mut ebpf, "sys_enter_tp", "sys_enter_", events)?
            }
            _ => attach_typed(&mut ebpf, prog, tp, kernel_btf.as_ref())?,
        }
    }
    let cgroup_slots = match f.dynamic_cgroups {
        true => {
            let map = ebpf.take_map("CGROUPS").ok_or_else(|| anyhow!("CGROUPS map missing from BPF object"))?;
            Some(std::sync::Mutex::new((CgroupArray::try_from(map).map_err(anyhow::Error::from)?, f.cgroups.len() as u32)))
        }
        false => None,
    };
    Ok(Loaded { ebpf, counters, reader, attach, cgroup_slots })
}

/// Programs that come in two forms: a BTF-typed tracepoint `prog`, whose
/// pointer arguments are read with plain loads, and `prog`_raw, the same on
/// a plain raw tracepoint for kernels that refuse tracing programs.
const TYPED: [&str; 5] = ["sys_enter", "sys_exit", "lifecycle_fork", "signal_generate", "signal_deliver"];

/// Attaches `prog` to raw tracepoint `tp`: the BTF-typed form first where
/// there is one and the kernel has BTF, else (or if that fails) the raw one.
fn attach_typed(ebpf: &mut Ebpf, prog: &str, tp: &str, kernel_btf: Option<&aya::Btf>) -> Result<(), LoadError> {
    if !TYPED.contains(&prog) {
        return attach_raw(ebpf, prog, tp);
    }
    if let Some(btf) = kernel_btf {
        match attach_btf(ebpf, prog, tp, btf) {
            Ok(()) => return Ok(()),
            // Not silent: a BTF form the verifier refuses is a bug to fix,
            // not a kernel without tracing programs.
            Err(LoadError::Rejected(r)) => log::warn!("{r}; using its raw tracepoint form"),
            Err(e) => log::info!("BTF tracepoint {prog} unavailable ({e}); using a raw tracepoint"),
        }
    }
    attach_raw(ebpf, &format!("{prog}_raw"), tp)
}

fn attach_btf(ebpf: &mut Ebpf, prog: &str, tp: &str, btf: &aya::Btf) -> Result<(), LoadError> {
    let p: &mut BtfTracePoint = ebpf
        .program_mut(prog)
        .ok_or_else(|| anyhow!("program {prog} missing from BPF object"))?
        .try_into()
        .map_err(|e| anyhow!("program {prog}: {e}"))?;
    p.load(tp, btf).map_err(|e| load_error(prog, e))?;
    p.attach().map_err(|e| anyhow!("attaching {prog} to BTF tracepoint {tp}: {e}"))?;
    Ok(())
}

fn attach_fentry(ebpf: &mut Ebpf, prog: &str, func: &str, btf: &aya::Btf) -> Result<(), LoadError> {
    let p: &mut FEntry = ebpf
        .program_mut(prog)
        .ok_or_else(|| anyhow!("program {prog} missing from BPF object"))?
        .try_into()
        .map_err(|e| anyhow!("program {prog}: {e}"))?;
    p.load(func, btf).map_err(|e| load_error(prog, e))?;
    p.attach().map_err(|e| anyhow!("attaching {prog} to {func}: {e}"))?;
    Ok(())
}

fn attach_raw(ebpf: &mut Ebpf, prog: &str, tp: &str) -> Result<(), LoadError> {
    let p: &mut RawTracePoint = ebpf
        .program_mut(prog)
        .ok_or_else(|| anyhow!("program {prog} missing from BPF object"))?
        .try_into()
        .map_err(|e| anyhow!("program {prog}: {e}"))?;
    p.load().map_err(|e| load_error(prog, e))?;
    p.attach(tp).map_err(|e| LoadError::Other(anyhow!("attaching {prog} to raw tracepoint {tp}: {e}")))?;
    Ok(())
}

/// Fills the filter maps; runs before any program is attached, so the
/// first call judged sees the whole filter.
fn fill_filter_maps(ebpf: &mut Ebpf, f: &Filters) -> anyhow::Result<()> {
    // Borrowed, not taken: the programs, loaded next, refer to these maps by
    // the fds the Ebpf holds.
    fn map<'a>(ebpf: &'a mut Ebpf, name: &str) -> anyhow::Result<&'a mut aya::maps::Map> {
        ebpf.map_mut(name).ok_or_else(|| anyhow!("{name} map missing from BPF object"))
    }
    let mut comms: HashMap<_, [u8; COMM_LEN], u8> = HashMap::try_from(map(ebpf, "COMMS")?)?;
    for c in &f.comms {
        comms.insert(c, 1, 0).context("filling the comm filter")?;
    }
    let mut cgroups = CgroupArray::try_from(map(ebpf, "CGROUPS")?)?;
    for (i, cg) in f.cgroups.iter().enumerate() {
        cgroups
            .set(i as u32, std::os::fd::AsFd::as_fd(&cg.dir), 0)
            .with_context(|| format!("adding cgroup {} to the filter", cg.path.display()))?;
    }
    let mut tracked: HashMap<_, u32, u8> = HashMap::try_from(map(ebpf, "TRACKED_TGIDS")?)?;
    for &tgid in &f.tgids {
        tracked.insert(tgid, 1, 0).context("filling the pid filter")?;
    }
    Ok(())
}

impl Loaded {
    pub fn take_ring(&mut self) -> anyhow::Result<RingBuf<MapData>> {
        let map = self.ebpf.take_map("EVENTS").ok_or_else(|| anyhow!("EVENTS map missing"))?;
        Ok(RingBuf::try_from(map)?)
    }

    /// Kernel-side counters summed over CPUs.
    pub fn counters(&self) -> anyhow::Result<Counters> {
        Ok(self.counters_per_cpu()?.sum())
    }

    /// Traced calls in flight now (entered, not yet returned): see
    /// [`CounterMap::calls_in_flight`].
    pub fn calls_in_flight(&self) -> i64 {
        self.counters.calls_in_flight()
    }

    /// Kernel-side counters, one value per possible CPU (index = CPU id).
    /// Memory reads only: works without any privilege.
    pub fn counters_per_cpu(&self) -> anyhow::Result<PerCpuCounters> {
        Ok(self.counters.per_cpu())
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

    #[test]
    fn a_load_error_with_a_log_is_a_rejection_whatever_its_errno() {
        let e = aya::programs::ProgramError::LoadError {
            io_error: std::io::Error::from_raw_os_error(libc::EACCES),
            verifier_log: aya_obj::VerifierLog::new(super::super::verifier::tests::LOG_6_18.into()),
        };
        let LoadError::Rejected(r) = load_error("signal_generate", e) else { panic!("not a rejection") };
        assert_eq!(r.program, "signal_generate");
        assert_eq!(r.kernel, std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap().trim());
        let path = r.log_file.expect("log written");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), super::super::verifier::tests::LOG_6_18);
        std::fs::remove_file(path).unwrap();
        // EACCES with no log: the kernel refused the call, not the program.
        let e = aya::programs::ProgramError::LoadError {
            io_error: std::io::Error::from_raw_os_error(libc::EACCES),
            verifier_log: aya_obj::VerifierLog::new(String::new()),
        };
        assert!(matches!(load_error("signal_generate", e), LoadError::Permission(_)));
    }

}
