//! What tracer knows about the machine's tasks beyond a record's own
//! header: each thread's last comm and each process's parent. Seeded once
//! from /proc at start-up, so processes that existed before tracer get the
//! right parent and comm, then kept current from the events themselves
//! (every header refreshes its thread's comm; fork adds, exec renames, exit
//! removes). Used where a record cannot carry the facts: exec's old comm
//! (the kernel has replaced it when the tracepoint fires), and the children
//! named by `reaped`/`unreaped` records.

use std::path::Path;

use crate::correlate::PidMap;
use crate::decode::{Comm, Event, Header};

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
}

#[derive(Default)]
pub struct ProcTable {
    /// tid → comm. Looked up twice per event (`refresh`): the fast
    /// pid hasher, not SipHash.
    threads: PidMap<Comm>,
    /// tgid → process.
    procs: PidMap<Proc>,
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
            let Some(ppid) = std::fs::read(base.join("stat")).ok().and_then(|b| stat_ppid(&b)) else { continue };
            let Some(comm) = read_comm(&base.join("comm")) else { continue };
            t.procs.insert(pid, Proc { ppid, comm });
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

    pub fn children_of(&self, ppid: u32) -> Vec<u32> {
        let mut v: Vec<u32> = self.procs.iter().filter(|(_, p)| p.ppid == ppid).map(|(&pid, _)| pid).collect();
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
                    self.set_proc(f.child_pid, Proc { ppid: h.pid, comm: h.comm });
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
                    for p in self.procs.values_mut() {
                        if p.ppid == h.pid {
                            p.ppid = 0;
                        }
                    }
                }
            }
            _ => self.refresh(h),
        }
    }

    /// A process was reaped: forget it.
    pub fn reaped(&mut self, pid: u32) {
        self.procs.remove(&pid);
    }

    /// Every record's header says what its thread is called now, and its
    /// process's parent.
    fn refresh(&mut self, h: &Header) {
        if self.threads.get(&h.tid) != Some(&h.comm) {
            self.set_thread(h.tid, h.comm);
        }
        match self.procs.get_mut(&h.pid) {
            Some(p) => {
                if h.ppid != 0 {
                    p.ppid = h.ppid;
                }
                if h.tid == h.pid {
                    p.comm = h.comm;
                }
            }
            None => self.set_proc(h.pid, Proc { ppid: h.ppid, comm: h.comm }),
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
        }
        self.procs.insert(pid, p);
    }
}

/// The ppid field of /proc/<pid>/stat: the fourth, counted after the comm's
/// closing parenthesis (a comm may itself contain spaces and parentheses).
fn stat_ppid(stat: &[u8]) -> Option<u32> {
    let close = stat.iter().rposition(|&b| b == b')')?;
    let rest = std::str::from_utf8(&stat[close + 1..]).ok()?;
    rest.split_ascii_whitespace().nth(1)?.parse().ok()
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

    #[test]
    fn ppid_is_read_after_the_last_parenthesis() {
        assert_eq!(stat_ppid(b"123 (a) b) c) S 45 123 123 0"), Some(45));
        assert_eq!(stat_ppid(b"1 (systemd) S 0 1 1"), Some(0));
        assert_eq!(stat_ppid(b"garbage"), None);
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
}
