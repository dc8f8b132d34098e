//! What tracer knows about the machine's tasks beyond a record's own
//! header: each thread's last comm and each process's parent. Seeded once
//! from /proc at start-up, so processes that existed before tracer get the
//! right parent and comm, then kept current from the events themselves
//! (every header refreshes its thread's comm; fork adds, exec renames, exit
//! removes). Used where a record cannot carry the facts: exec's old comm
//! (the kernel has replaced it when the tracepoint fires), and the children
//! named by `reaped`/`unreaped` records.

use std::path::Path;

use crate::model::tree::{ByParent, Graveyard, PidMap};
use crate::model::decode::{Comm, Event, Header};

/// Bounds on the tables: a machine churning through tasks while events are
/// lost (so exits are missed) must not grow them without limit.
const MAX_THREADS: usize = 1 << 18;
const MAX_PROCS: usize = 1 << 17;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proc {
    /// The parent's tgid (0 if unknown, e.g. after reparenting).
    pub ppid: u32,
    /// The process's comm (its group leader's).
    pub comm: Comm,
    /// Its last thread exited: the number of its death, for `dead`.
    died: Option<u64>,
    /// When it started, as far as tracer knows (see `lineage`).
    pub start: Start,
}

/// /proc's clock tick (USER_HZ, fixed at 100 on x86-64): ns per tick.
pub(crate) const NS_PER_TICK: u64 = 10_000_000;

/// The exact start of each pid's latest process, kept for two ticks: what
/// tells a pid reused within one tick apart (a process that started
/// earlier cannot share a tick with a newcomer). Pruned as it grows.
#[derive(Default)]
pub struct RecentStarts {
    starts: rustc_hash::FxHashMap<u32, u64>,
    newest: u64,
}

impl RecentStarts {
    /// Notes that `tgid`'s process started at `ns`; returns the exact start
    /// of the pid's previous process if it began in the same tick.
    pub(crate) fn note(&mut self, tgid: u32, ns: u64) -> Option<u64> {
        self.newest = self.newest.max(ns);
        if self.starts.len() >= 4096 {
            let horizon = self.newest.saturating_sub(2 * NS_PER_TICK);
            self.starts.retain(|_, s| *s >= horizon);
        }
        let before = self.starts.insert(tgid, ns)?;
        (before != ns && before / NS_PER_TICK == ns / NS_PER_TICK).then_some(before)
    }
}

/// A process's start time, as tracer learnt it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// Not yet known (a child seen only in its parent's fork event).
    Unknown,
    /// Exactly, from a record's header (`start_boottime`, ns since boot).
    Exact(u64),
    /// From /proc's `starttime` at start-up: 10 ms clock ticks since boot.
    Ticks(u64),
    /// Exactly, and the pid's previous process started in the same 10 ms
    /// tick (a forced reuse): only the exact time tells the two apart.
    Reused(u64),
}

impl Proc {
    fn new(ppid: u32, comm: Comm) -> Self {
        Proc { ppid, comm, died: None, start: Start::Unknown }
    }
}

#[derive(Default)]
pub struct ProcTable {
    /// tid → comm. Looked up twice per event (`refresh`): the fast
    /// pid hasher, not SipHash.
    threads: PidMap<Comm>,
    /// tgid → process. Change a `ppid` only where `by_parent` follows.
    procs: PidMap<Proc>,
    /// `procs` by their `ppid`: what an exit orphans.
    by_parent: ByParent,
    /// The processes that died, marked with the number of their death.
    dead: Graveyard,
    deaths: u64,
    /// The exact start of each pid's latest process, for the last few
    /// ticks only: a pid reused within one tick (see `lineage`).
    pub(crate) recent_starts: RecentStarts,
}

impl ProcTable {
    /// Reads /proc once: every process's parent and every thread's comm.
    /// Processes that vanish while it reads are skipped.
    pub fn from_proc() -> Self {
        Self::from_dir(Path::new("/proc"))
    }

    pub fn from_dir(root: &Path) -> Self {
        let mut t = ProcTable::default();
        let Ok(dir) = std::fs::read_dir(root) else { return t };
        for entry in dir.flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else { continue };
            let base = entry.path();
            let Some(stat) = std::fs::read(base.join("stat")).ok() else { continue };
            let Some(ppid) = stat_ppid(&stat) else { continue };
            let Some(comm) = read_comm(&base.join("comm")) else { continue };
            let start = stat_starttime(&stat).map_or(Start::Unknown, Start::Ticks);
            t.set_proc(pid, Proc { start, ..Proc::new(ppid, comm) });
            t.threads.insert(pid, comm);
            if let Ok(tasks) = std::fs::read_dir(base.join("task")) {
                for task in tasks.flatten() {
                    let Some(tid) = task.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else { continue };
                    if let Some(c) = read_comm(&task.path().join("comm")) {
                        t.threads.insert(tid, c);
                    }
                }
            }
        }
        t
    }

    pub fn thread_comm(&self, tid: u32) -> Option<Comm> {
        self.threads.get(&tid).copied()
    }

    pub fn proc(&self, pid: u32) -> Option<&Proc> {
        self.procs.get(&pid)
    }

    pub(crate) fn proc_mut(&mut self, pid: u32) -> Option<&mut Proc> {
        self.procs.get_mut(&pid)
    }

    pub fn children_of(&self, ppid: u32) -> Vec<u32> {
        let mut v = self.by_parent.of(ppid).to_vec();
        v.sort_unstable();
        v
    }

    /// The comm an exec's task had before it (what the exec event's
    /// `old_comm` reports): ask before the table observes the exec.
    pub fn old_comm(&self, old_tid: u32) -> Option<Comm> {
        self.threads.get(&old_tid).copied()
    }

    /// Takes `ev` into account.
    pub fn observe(&mut self, ev: &Event) {
        let h = ev.header();
        match ev {
            Event::Fork(f) => {
                self.set_thread(f.child_tid, h.comm);
                if !f.thread {
                    self.set_proc(f.child_pid, Proc::new(h.pid, h.comm));
                }
            }
            Event::Exec(e) => {
                if e.old_tid != h.tid {
                    self.threads.remove(&e.old_tid);
                }
                self.refresh(h);
                if let Some(p) = self.procs.get_mut(&h.pid) {
                    p.comm = h.comm;
                }
            }
            Event::Exit(x) => {
                self.threads.remove(&h.tid);
                if x.group_dead {
                    // The process stays known until it is reaped (its
                    // parent's wait4 still names it), but its children are
                    // orphans now: their parent is whoever adopts them.
                    self.orphan_children(h.pid);
                    self.bury(h.pid);
                }
            }
            _ => self.refresh(h),
        }
    }

    /// A process was reaped: forget it.
    pub fn reaped(&mut self, pid: u32) {
        self.forget(pid);
    }

    fn forget(&mut self, pid: u32) {
        if let Some(p) = self.procs.remove(&pid) {
            self.by_parent.unlink(p.ppid, pid);
        }
        // Orphaned at its death; still listed only if that was lost.
        self.orphan_children(pid);
    }

    fn orphan_children(&mut self, parent: u32) {
        for child in self.by_parent.take(parent) {
            if let Some(p) = self.procs.get_mut(&child) {
                p.ppid = 0;
            }
        }
    }

    /// `pid` died; the oldest of the dead beyond `MAX_DEAD` are forgotten.
    fn bury(&mut self, pid: u32) {
        let Some(p) = self.procs.get_mut(&pid) else { return };
        self.deaths += 1;
        p.died = Some(self.deaths);
        // Unless reaped already, or the pid is another process's now.
        if let Some((pid, n)) = self.dead.bury(pid, self.deaths)
            && self.procs.get(&pid).is_some_and(|p| p.died == Some(n))
        {
            self.forget(pid);
        }
    }

    /// Every record's header says what its thread is called now, and its
    /// process's parent.
    fn refresh(&mut self, h: &Header) {
        if self.threads.get(&h.tid) != Some(&h.comm) {
            self.set_thread(h.tid, h.comm);
        }
        match self.procs.get_mut(&h.pid) {
            Some(p) => {
                if h.ppid != 0 && h.ppid != p.ppid {
                    self.by_parent.relink(p.ppid, h.ppid, h.pid);
                    p.ppid = h.ppid;
                }
                if h.tid == h.pid {
                    p.comm = h.comm;
                }
            }
            None => self.set_proc(h.pid, Proc { start: Start::Exact(h.start_ns), ..Proc::new(h.ppid, h.comm) }),
        }
    }

    fn set_thread(&mut self, tid: u32, comm: Comm) {
        if self.threads.len() >= MAX_THREADS && !self.threads.contains_key(&tid) {
            self.threads.clear();
        }
        self.threads.insert(tid, comm);
    }

    fn set_proc(&mut self, pid: u32, p: Proc) {
        if self.procs.len() >= MAX_PROCS && !self.procs.contains_key(&pid) {
            self.procs.clear();
            self.by_parent.clear();
            self.dead.clear();
        }
        let ppid = p.ppid;
        let old = self.procs.insert(pid, p).map_or(0, |old| old.ppid);
        self.by_parent.relink(old, ppid, pid);
    }
}

/// The ppid field of /proc/<pid>/stat: the fourth, counted after the comm's
/// closing parenthesis (a comm may itself contain spaces and parentheses).
fn stat_ppid(stat: &[u8]) -> Option<u32> {
    let close = stat.iter().rposition(|&b| b == b')')?;
    let rest = std::str::from_utf8(&stat[close + 1..]).ok()?;
    rest.split_ascii_whitespace().nth(1)?.parse().ok()
}

/// The starttime field of /proc/<pid>/stat (the 22nd; the 20th after the
/// comm): clock ticks since boot.
fn stat_starttime(stat: &[u8]) -> Option<u64> {
    let close = stat.iter().rposition(|&b| b == b')')?;
    let rest = std::str::from_utf8(&stat[close + 1..]).ok()?;
    rest.split_ascii_whitespace().nth(19)?.parse().ok()
}

/// /proc/…/comm without its trailing newline.
fn read_comm(path: &Path) -> Option<Comm> {
    let mut b = std::fs::read(path).ok()?;
    if b.last() == Some(&b'\n') {
        b.pop();
    }
    Some(Comm::from_bytes(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::tree::MAX_DEAD;

    #[test]
    fn ppid_is_read_after_the_last_parenthesis() {
        assert_eq!(stat_ppid(b"123 (a) b) c) S 45 123 123 0"), Some(45));
        assert_eq!(stat_ppid(b"1 (systemd) S 0 1 1"), Some(0));
        assert_eq!(stat_ppid(b"garbage"), None);
        let stat = b"4242 (a ) b) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 123456 1000 10";
        assert_eq!(stat_starttime(stat), Some(123456));
        assert_eq!(stat_starttime(b"1 (x) S 0"), None);
    }

    #[test]
    fn this_process_and_its_parent_are_in_the_table() {
        let t = ProcTable::from_proc();
        let me = std::process::id();
        let p = t.proc(me).expect("own pid");
        assert_eq!(p.ppid, std::os::unix::process::parent_id());
        assert!(t.children_of(p.ppid).contains(&me));
        assert!(t.thread_comm(me).is_some());
    }

    use crate::model::decode::{ExitEvent, Extra, ForkEvent, SyscallEvent};

    fn header(pid: u32, ppid: u32) -> Header {
        Header { cpu: 0, ts_boot_ns: 0, pid, tid: pid, ppid, uid: 0, gid: 0, cgroup_id: 1, comm: Comm::from_bytes(b"t"), ns_level: 0, ns_pid: pid, ns_tid: pid, ns_ppid: ppid, start_ns: 0, parent_start_ns: 0, ident: Default::default() }
    }

    fn fork(parent: u32, child: u32) -> Event {
        Event::Fork(ForkEvent { header: header(parent, 1), child_pid: child, child_tid: child, child_ns_pid: child, child_ns_tid: child, thread: false })
    }

    fn exit(pid: u32) -> Event {
        Event::Exit(ExitEvent { header: header(pid, 0), exit_code: 0, group_dead: true, children: Vec::new(), children_capped: false })
    }

    /// Any record of `pid`'s, its header naming `ppid` as its parent.
    fn seen(pid: u32, ppid: u32) -> Event {
        Event::Syscall(SyscallEvent { header: header(pid, ppid), nr: 0, flags: 0, args: [0; 6], ret: 0, duration_ns: 0, extra: Extra::None })
    }

    fn check(t: &ProcTable) {
        if let Err(e) = t.by_parent.agrees_with(t.procs.iter().map(|(&pid, p)| (pid, p.ppid))) {
            panic!("{e}");
        }
    }

    #[test]
    fn an_exit_orphans_its_children_and_only_them() {
        let mut t = ProcTable::default();
        for ev in [seen(10, 1), fork(10, 11), fork(10, 12), fork(11, 13), fork(20, 21), seen(22, 10)] {
            t.observe(&ev);
        }
        check(&t);
        assert_eq!(t.children_of(10), [11, 12, 22]);
        // 22 was adopted by 20 (its header says so now).
        t.observe(&seen(22, 20));
        assert_eq!((t.children_of(10), t.children_of(20)), (vec![11, 12], vec![21, 22]));
        t.observe(&exit(10));
        check(&t);
        assert_eq!([11, 12].map(|p| t.proc(p).map(|p| p.ppid)), [Some(0), Some(0)]);
        assert!(t.children_of(10).is_empty());
        assert_eq!((t.proc(13).map(|p| p.ppid), t.children_of(20)), (Some(11), vec![21, 22]));
        // Still known until reaped (a wait4 names it), then forgotten.
        assert!(t.proc(10).is_some());
        t.reaped(10);
        assert!(t.proc(10).is_none());
        check(&t);
    }

    // The index must follow every way a parent changes: fork, a header
    // naming a new parent, an exit, a reap, a pid reused, the dead bound.
    #[test]
    fn the_index_agrees_with_the_table_through_any_history() {
        let mut t = ProcTable::default();
        let mut next = crate::model::tree::draws(0x9e37_79b9_7f4a_7c15);
        for step in 0..20_000 {
            let (a, b) = (next(64), next(64));
            match next(5) {
                1 => t.observe(&fork(a, b)),
                2 => t.observe(&exit(a)),
                3 => t.reaped(a),
                4 => t.observe(&seen(a, b)),
                _ => t.observe(&seen(a, 0)),
            }
            if step % 97 == 0 {
                check(&t);
            }
        }
        check(&t);
    }

    #[test]
    fn the_dead_nobody_waits_for_are_forgotten_in_order() {
        let mut t = ProcTable::default();
        let n = MAX_DEAD as u32;
        // 1000.. die and are never reaped (waitid, or auto-reaped); 1001 is
        // reaped, and its pid then reused by a live process.
        for pid in 1000..1000 + n {
            t.observe(&fork(1, pid));
            t.observe(&exit(pid));
        }
        t.reaped(1001);
        t.observe(&fork(1, 1001));
        assert_eq!(t.procs.len(), MAX_DEAD, "every death kept so far");
        for pid in 1000 + n..1000 + n + 3 {
            t.observe(&fork(1, pid));
            t.observe(&exit(pid));
        }
        // The three oldest deaths are let go: 1000 and 1002 are forgotten,
        // the live 1001 is not (its pid died once, as another process).
        assert_eq!((1000..1004).map(|p| t.proc(p).is_some()).collect::<Vec<_>>(), [false, true, false, true]);
        assert_eq!(t.procs.len(), MAX_DEAD + 1);
        check(&t);
    }
}
