//! In-kernel filters: does the current task belong to what the user asked
//! for (`--comm`, `--cgroup`, `--pid` and the command tracer launched)?
//!
//! Kinds combine with AND, entries of one kind with OR. Which kinds are
//! active is in `CONFIG.filter_kinds`; with none active every test here is
//! pruned by the verifier. The loader fills the maps before it attaches any
//! program, so no call is judged against a half-filled filter.

use aya_ebpf::{
    helpers::bpf_get_current_comm,
    macros::map,
    maps::{CgroupArray, HashMap},
};
use tracer_common::{COMM_LEN, MAX_CGROUPS, MAX_COMMS, MAX_TRACKED, filter_kinds};

use crate::config;

/// Wanted comms, NUL-padded as `bpf_get_current_comm` returns them.
/// Sized by the loader (1 entry when unused).
#[map]
static COMMS: HashMap<[u8; COMM_LEN], u8> = HashMap::with_max_entries(MAX_COMMS, 0);

/// Wanted cgroup v2 directories (slots `0..CONFIG.cgroup_count`).
/// `bpf_current_task_under_cgroup` tests the task's cgroup against a slot's
/// whole subtree, so cgroups created below it after tracer started match too;
/// the test is a comparison of one ancestor pointer, whatever the depth.
#[map]
static CGROUPS: CgroupArray = CgroupArray::with_max_entries(MAX_CGROUPS, 0);

/// Thread-group ids of the traced process trees: the `--pid`s and the
/// launched command, plus every process they create (added by
/// `sched_process_fork`, removed when the whole group has exited). A plain
/// hash, not LRU: an evicted entry would silently drop a live process from
/// the trace, where a full map is counted (`Counter::TrackFull`).
#[map]
pub(crate) static TRACKED_TGIDS: HashMap<u32, u8> = HashMap::with_max_entries(MAX_TRACKED, 0);

/// Which filter kinds are active (0: none).
#[inline(always)]
pub(crate) fn kinds() -> u32 {
    config!(filter_kinds)
}

/// Does the current task (thread group `tgid`) pass every active filter?
/// Cheapest test first: a hash of 4 bytes, then a helper and a hash of 16,
/// then up to `cgroup_count` helper calls.
#[inline(always)]
pub(crate) fn allows(kinds: u32, tgid: u32) -> bool {
    if kinds & filter_kinds::PID != 0 && TRACKED_TGIDS.get_ptr(tgid).is_none() {
        return false;
    }
    if kinds & filter_kinds::COMM != 0 {
        let comm = bpf_get_current_comm().unwrap_or([0; COMM_LEN]);
        if COMMS.get_ptr(comm).is_none() {
            return false;
        }
    }
    if kinds & filter_kinds::CGROUP != 0 && !in_cgroups() {
        return false;
    }
    true
}

#[inline(always)]
fn in_cgroups() -> bool {
    let n = config!(cgroup_count);
    let mut i = 0;
    // Bounded by the map size for the verifier; `n` is a constant to it.
    while i < MAX_CGROUPS && i < n {
        match CGROUPS.current_task_under_cgroup(i) {
            Ok(true) => return true,
            Ok(false) => {}
            // An empty slot: the rest are empty too (the daemon fills
            // them in order, as `--container`/`--unit` cgroups appear).
            Err(_) => return false,
        }
        i += 1;
    }
    false
}
