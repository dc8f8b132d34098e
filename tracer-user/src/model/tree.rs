//! What both process tables are built from: maps keyed by pid, the
//! children-by-parent index, and the bounded graveyard of the dead.

use std::collections::VecDeque;

/// Maps keyed by pid. The keys are the kernel's, not an adversary's:
/// rustc's FxHash instead of SipHash, which cost more than the lookups it
/// served. Shared by the process table (procs.rs) and the correlator.
pub(crate) type PidMap<V> = rustc_hash::FxHashMap<u32, V>;

/// Children by parent: parent pid → the pids a table holds with that
/// parent. A process's exit orphans its children, and on a long-running
/// host the tables hold tens of thousands of processes (everything reaped
/// by `waitid` or auto-reaped, which no traced `wait4` removes): finding a
/// parent's few children by scanning them all cost ~230 µs per process
/// exit. Kept by the table beside its map, at every change of a parent;
/// a parent's list is short, so it is a `Vec`.
#[derive(Default)]
pub(crate) struct ByParent(PidMap<Vec<u32>>);

impl ByParent {
    /// `child` now has `parent` (0: none known, not listed).
    pub(crate) fn link(&mut self, parent: u32, child: u32) {
        if parent != 0 {
            self.0.entry(parent).or_default().push(child);
        }
    }

    pub(crate) fn unlink(&mut self, parent: u32, child: u32) {
        if let Some(v) = self.0.get_mut(&parent) {
            if let Some(i) = v.iter().position(|&c| c == child) {
                v.swap_remove(i);
            }
            if v.is_empty() {
                self.0.remove(&parent);
            }
        }
    }

    /// `child`'s parent changed from `old` to `new` (either may be 0).
    pub(crate) fn relink(&mut self, old: u32, new: u32, child: u32) {
        if old != new {
            self.unlink(old, child);
            self.link(new, child);
        }
    }

    /// Forgets `parent`'s list and returns it.
    pub(crate) fn take(&mut self, parent: u32) -> Vec<u32> {
        self.0.remove(&parent).unwrap_or_default()
    }

    pub(crate) fn of(&self, parent: u32) -> &[u32] {
        self.0.get(&parent).map_or(&[], |v| v.as_slice())
    }

    pub(crate) fn clear(&mut self) {
        self.0.clear();
    }

    /// Tests: the index says what a scan of `ppids` (child → parent) says.
    #[cfg(test)]
    pub(crate) fn agrees_with(&self, ppids: impl Iterator<Item = (u32, u32)>) -> Result<(), String> {
        let mut want: PidMap<Vec<u32>> = PidMap::default();
        for (child, parent) in ppids.filter(|&(_, p)| p != 0) {
            want.entry(parent).or_default().push(child);
        }
        let sorted = |m: &PidMap<Vec<u32>>| {
            let mut v: Vec<(u32, Vec<u32>)> = m.iter().map(|(&p, c)| (p, c.clone())).collect();
            v.iter_mut().for_each(|(_, c)| c.sort_unstable());
            v.sort_unstable();
            v
        };
        let (got, want) = (sorted(&self.0), sorted(&want));
        if got == want { Ok(()) } else { Err(format!("index {got:?}, table {want:?}")) }
    }
}

/// Tests: a seeded xorshift, numbers in `1..=n` for random histories.
#[cfg(test)]
pub(crate) fn draws(seed: u64) -> impl FnMut(u64) -> u32 {
    let mut x = seed;
    move |n| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % n) as u32 + 1
    }
}


/// Dead processes kept for a traced `wait4` to name, here and in the
/// process table. One reaped by `waitid` (systemd, Go's os/exec) or
/// auto-reaped never is: after this many later deaths it is forgotten (a
/// `reaped` record that late has no fork, exit or SIGCHLD to join, and no
/// `child_comm`), so such processes cannot fill the tables.
pub(crate) const MAX_DEAD: usize = 1 << 14;

/// The dead, oldest first, each with a mark that tells it from a process
/// given its pid since (an exit's seq, a death number): at most
/// [`MAX_DEAD`].
#[derive(Default)]
pub(crate) struct Graveyard(VecDeque<(u32, u64)>);

impl Graveyard {
    /// `pid` died (`mark`); returns the oldest of the dead if that makes
    /// one too many: forget it if its pid still names the same process.
    pub(crate) fn bury(&mut self, pid: u32, mark: u64) -> Option<(u32, u64)> {
        self.0.push_back((pid, mark));
        if self.0.len() > MAX_DEAD {
            self.0.pop_front()
        } else {
            None
        }
    }

    pub(crate) fn clear(&mut self) {
        self.0.clear();
    }
}
