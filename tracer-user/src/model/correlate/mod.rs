//! Joins raw events into the records the strace walkthrough reconstructs
//! by eye:
//!
//! * `thread_create`: a `clone3`/`clone` with `CLONE_THREAD`, the
//!   `MAP_STACK` mmap that made its stack and the `mprotect` that opened
//!   all of it but the guard page. When glibc hands the new thread a stack
//!   from its cache, no mmap precedes the clone: `stack_reused: true`, and
//!   the mapping is the one the earlier thread got (if tracer saw it).
//! * `reaped`: a child process from its fork through its exit (status),
//!   the SIGCHLD its death sent, to the `wait4` that reaped it, with how
//!   long it was a zombie.
//! * `unreaped`: the children a process left behind when its last thread
//!   died without waiting for them.
//!
//! Values are copied from the raw events, never recomputed, and each record
//! lists the `seq` of the events it joins (`sources`). Pure: events in,
//! records out; the state is bounded per process and dropped when the
//! process goes.

use std::collections::{VecDeque, hash_map::Entry};

use crate::model::decode::{Comm, Event, Extra, Header, SignalPhase, SyscallEvent};
use crate::model::procs::ProcTable;
use crate::model::tree::{ByParent, Graveyard, PidMap};
use tracer_common::nr;

mod records;
pub use records::{Mapping, Reaped, Record, Records, Sigchld, Sources, ThreadCreate, Unreaped};

const CLONE_THREAD: u64 = 0x0001_0000;
const MAP_STACK: u64 = 0x2_0000;
const SIGCHLD: u32 = 17;
/// Stack mappings remembered per process, newest last.
const STACKS_PER_PROC: usize = 64;

/// One process's stack mappings, oldest first, and how many of them no
/// thread has been given yet: once glibc's stack cache serves every new
/// thread, that is none, and a clone need not look for a fresh one.
#[derive(Default)]
struct Stacks {
    maps: VecDeque<Mapping>,
    fresh: usize,
}

impl Stacks {
    fn push(&mut self, m: Mapping) {
        if self.maps.len() >= STACKS_PER_PROC
            && let Some(old) = self.maps.pop_front()
            && old.owner.is_none()
        {
            self.fresh -= 1;
        }
        self.fresh += usize::from(m.owner.is_none());
        self.maps.push_back(m);
    }

    fn retain(&mut self, keep: impl FnMut(&Mapping) -> bool) {
        self.maps.retain(keep);
        self.fresh = self.maps.iter().filter(|m| m.owner.is_none()).count();
    }

    /// The newest mapping no thread has yet that `pick` accepts.
    fn fresh_mut(&mut self, mut pick: impl FnMut(&Mapping) -> bool) -> Option<&mut Mapping> {
        if self.fresh == 0 {
            return None;
        }
        self.maps.iter_mut().rev().find(|m| m.owner.is_none() && pick(m))
    }
}

/// One child process's story so far.
#[derive(Clone, Debug, Default)]
struct Child {
    ppid: u32,
    /// The child's pid in its own namespace (what a waiter there sees).
    ns_pid: u32,
    fork: Option<(u64, u64)>,
    /// (ts, wait status, seq) of the exit event of its last thread.
    exit: Option<(u64, u32, u64)>,
    sigchld: Option<Sigchld>,
}

#[derive(Default)]
pub struct Correlator {
    /// pid → stack mappings, pending (no clone yet) and handed out.
    /// (A ring: a process that maps stacks without ever starting a thread
    /// on them drops the oldest at every mmap.)
    stacks: PidMap<Stacks>,
    /// child pid → its story.
    children: PidMap<Child>,
    /// `children` by their `ppid`: change a `ppid` only through the
    /// methods that keep it (`put_child`, `take_child`, `orphan`).
    by_parent: ByParent,
    /// The children that died, marked with their exit's seq.
    dead: Graveyard,
    /// mmap is not traced: a clone with no stack mapping on record says
    /// nothing about glibc's stack cache, so `stack_reused` is left unknown.
    blind_to_mmap: bool,
}

const MAX_CHILDREN: usize = 1 << 16;

impl Correlator {
    pub fn new() -> Self {
        Self::default()
    }

    /// A correlator for a run that does not trace mmap (see `blind_to_mmap`).
    pub fn without_mmap() -> Self {
        Correlator { blind_to_mmap: true, ..Self::default() }
    }

    /// Feeds one event (with the `seq` its line got); returns the records
    /// it completes. `procs` observes `ev` after this (an exit must still
    /// find the dying process's children).
    #[cfg(test)]
    pub fn event(&mut self, ev: &Event, seq: u64, procs: &mut ProcTable) -> Records {
        let mut out = Records::default();
        self.event_into(ev, seq, procs, &mut out);
        out
    }

    /// As `event` (what tests call), into `out` (emptied first): the drain reuses one
    /// `Records` rather than have a ~300-byte value moved out per event.
    pub fn event_into(&mut self, ev: &Event, seq: u64, procs: &mut ProcTable, out: &mut Records) {
        out.clear();
        match ev {
            Event::Syscall(s) if s.ret >= 0 || s.no_return() => self.syscall(s, seq, procs, out),
            Event::Fork(f) if !f.thread => {
                self.set_child(f.child_pid, Child {
                    ppid: f.header.pid,
                    ns_pid: f.child_ns_pid,
                    fork: Some((f.header.ts_boot_ns, seq)),
                    ..Default::default()
                });
            }
            Event::Exit(x) if x.group_dead => {
                let h = &x.header;
                self.stacks.remove(&h.pid);
                let ppid = procs.proc(h.pid).map_or(h.ppid, |p| p.ppid.max(h.ppid));
                let c = self.child_or(h.pid, || Child { ppid, ns_pid: h.ns_pid, ..Default::default() });
                c.exit = Some((h.ts_boot_ns, x.exit_code, seq));
                self.bury(h.pid, seq);
                // The kernel listed the children it never reaped (zombies,
                // or still running); the others this process had were
                // reaped without a traced wait4 (waitid, or auto-reaped).
                for &(pid, zombie) in &x.children {
                    let known = self.children.get(&pid).cloned().unwrap_or_default();
                    let comm = procs.proc(pid).map(|p| p.comm).or_else(|| procs.thread_comm(pid)).unwrap_or(Comm::from_bytes(b""));
                    let exit = known.exit.filter(|_| zombie);
                    let mut sources = Sources::default();
                    sources.extend(known.fork.map(|f| f.1));
                    sources.extend(exit.map(|e| e.2));
                    sources.push(seq);
                    out.push(Record::Unreaped(Unreaped {
                        header: h.clone(),
                        child_pid: pid,
                        child_comm: comm,
                        child_exited: zombie,
                        exit_status: exit.map(|e| e.1),
                        zombie_ns: exit.map(|e| h.ts_boot_ns.saturating_sub(e.0)),
                        sources,
                    }));
                    // Its next parent is whoever adopts it.
                    self.orphan(pid);
                }
                // Those still recorded as its children, now that the listed
                // ones are orphans, were reaped unseen: forget them.
                for pid in self.by_parent.take(h.pid) {
                    self.children.remove(&pid);
                }
            }
            Event::Signal(sg) if sg.sig == SIGCHLD && sg.phase == SignalPhase::Generate => {
                if let Some(i) = sg.info.filter(|i| (1..=3).contains(&i.code)) {
                    let h = &sg.header;
                    // Usually the dying child notifies its parent itself:
                    // current is the child (si_pid is the parent's view of
                    // it). A dying parent also notifies the new reaper of
                    // the zombies it leaves; then si_pid names the zombie
                    // (in the reaper's namespace, the host's for init).
                    let child = if i.pid == h.pid || i.pid == h.ns_pid {
                        Some(h.pid)
                    } else {
                        self.children.contains_key(&i.pid).then_some(i.pid)
                    };
                    if let Some(child) = child {
                        let c = self.child_or(child, || Child { ppid: sg.target_pid, ns_pid: h.ns_pid, ..Default::default() });
                        c.sigchld = Some(Sigchld { code: i.code, status: i.status, result: sg.result, seq });
                    }
                }
            }
            _ => {}
        }
    }

    fn set_child(&mut self, pid: u32, c: Child) {
        if self.children.len() >= MAX_CHILDREN && !self.children.contains_key(&pid) {
            // Children nobody waited for and no exit was seen for: drop the
            // oldest half rather than grow without bound.
            let mut v: Vec<(u64, u32)> = self.children.iter().map(|(&p, c)| (c.fork.map_or(0, |f| f.0), p)).collect();
            v.sort_unstable();
            for (_, p) in v.into_iter().take(MAX_CHILDREN / 2) {
                self.take_child(p);
            }
        }
        self.put_child(pid, c);
    }

    /// Records `c` as `pid`'s story, replacing any.
    fn put_child(&mut self, pid: u32, c: Child) {
        let ppid = c.ppid;
        let old = self.children.insert(pid, c).map_or(0, |old| old.ppid);
        self.by_parent.relink(old, ppid, pid);
    }

    /// `pid`'s story, begun with `new()` if it has none.
    fn child_or(&mut self, pid: u32, new: impl FnOnce() -> Child) -> &mut Child {
        match self.children.entry(pid) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => {
                let c = e.insert(new());
                self.by_parent.link(c.ppid, pid);
                c
            }
        }
    }

    fn take_child(&mut self, pid: u32) -> Option<Child> {
        let c = self.children.remove(&pid)?;
        self.by_parent.unlink(c.ppid, pid);
        Some(c)
    }

    /// `pid` died (its exit line's `seq`); the oldest of the dead beyond
    /// [`MAX_DEAD`] nobody reaped where tracer could see are forgotten.
    fn bury(&mut self, pid: u32, seq: u64) {
        if let Some((pid, seq)) = self.dead.bury(pid, seq)
            && self.children.get(&pid).and_then(|c| c.exit).is_some_and(|e| e.2 == seq)
        {
            self.take_child(pid);
        }
    }

    /// `pid` has no known parent any more.
    fn orphan(&mut self, pid: u32) {
        if let Some(c) = self.children.get_mut(&pid) {
            self.by_parent.unlink(c.ppid, pid);
            c.ppid = 0;
        }
    }

    fn syscall(&mut self, s: &SyscallEvent, seq: u64, procs: &mut ProcTable, out: &mut Records) {
        let h = &s.header;
        let a = s.args;
        match s.nr {
            nr::MMAP if a[3] & MAP_STACK != 0 && a[1] > 0 => {
                self.stacks.entry(h.pid).or_default().push(Mapping { base: s.ret as u64, len: a[1], guard: None, mmap_seq: seq, mprotect_seq: None, owner: None });
            }
            nr::MPROTECT => {
                if let Some(m) = self
                    .stacks
                    .get_mut(&h.pid)
                    .and_then(|v| v.fresh_mut(|m| m.mprotect_seq.is_none() && a[0] > m.base && a[0] < m.base + m.len))
                {
                    m.guard = Some(a[0] - m.base);
                    m.mprotect_seq = Some(seq);
                }
            }
            nr::MUNMAP => {
                if let Some(v) = self.stacks.get_mut(&h.pid) {
                    v.retain(|m| !(m.base >= a[0] && m.base < a[0].saturating_add(a[1])));
                }
            }
            nr::CLONE3 if s.ret > 0 => {
                if let Extra::Clone3(ca) = &s.extra
                    && ca.flags & CLONE_THREAD != 0
                {
                    let t = self.thread(h, "clone3", s.ret as u32, ca.flags, ca.stack, Some(ca.stack_size), ca.tls, seq);
                    out.push(Record::ThreadCreate(t));
                }
            }
            nr::CLONE if s.ret > 0 && a[0] & CLONE_THREAD != 0 => {
                // clone(flags, newsp, parent_tid, child_tid, tls): newsp is the
                // top of the stack; the mapping is the one holding it.
                let base = self
                    .stacks
                    .get(&h.pid)
                    .and_then(|v| v.maps.iter().rev().find(|m| a[1] > m.base && a[1] <= m.base + m.len))
                    .map_or(a[1], |m| m.base);
                let t = self.thread(h, "clone", s.ret as u32, a[0], base, None, a[4], seq);
                out.push(Record::ThreadCreate(t));
            }
            nr::WAIT4 if s.ret > 0 => self.reaped(s, seq, procs, out),
            _ => {}
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn thread(&mut self, h: &Header, syscall: &'static str, child_tid: u32, flags: u64, stack: u64, stack_size: Option<u64>, tls: u64, seq: u64) -> ThreadCreate {
        let v = self.stacks.entry(h.pid).or_default();
        // A fresh mapping (no thread yet) that holds the stack...
        let fresh = if v.fresh > 0 {
            v.maps.iter().rposition(|m| m.owner.is_none() && stack >= m.base && stack < m.base + m.len)
        } else {
            None
        };
        let (mapping, reused, from, mut sources) = match fresh {
            Some(i) => {
                v.fresh -= 1;
                let m = &mut v.maps[i];
                m.owner = Some(child_tid);
                let mut src = Sources::default();
                src.push(m.mmap_seq);
                src.extend(m.mprotect_seq);
                (Some(m.clone()), Some(false), None, src)
            }
            // ...or one an earlier thread had: glibc's stack cache.
            None => match v.maps.iter_mut().rev().find(|m| stack >= m.base && stack < m.base + m.len) {
                Some(m) => {
                    let prev = m.owner.replace(child_tid);
                    (Some(m.clone()), Some(true), prev, Sources::default())
                }
                None => (None, (!self.blind_to_mmap).then_some(true), None, Sources::default()),
            },
        };
        sources.push(seq);
        ThreadCreate {
            header: h.clone(),
            syscall,
            child_tid,
            flags,
            stack_base: Some(mapping.as_ref().map_or(stack, |m| if syscall == "clone3" { stack } else { m.base })),
            stack_size,
            mapping,
            tls,
            stack_reused: reused,
            reused_from_tid: from,
            sources,
        }
    }

    fn reaped(&mut self, s: &SyscallEvent, seq: u64, procs: &mut ProcTable, out: &mut Records) {
        let h = &s.header;
        let ret = s.ret as u32;
        // wait4 returns the pid as the waiter's namespace numbers it.
        let pid = if h.ns_level == 0 {
            Some(ret)
        } else {
            self.by_parent.of(h.pid).iter().copied().find(|p| self.children.get(p).is_some_and(|c| c.ns_pid == ret))
        };
        let Some(pid) = pid else { return };
        let child = self.take_child(pid).unwrap_or_default();
        let comm = procs.proc(pid).map(|p| p.comm).or_else(|| procs.thread_comm(pid)).unwrap_or(Comm::from_bytes(b""));
        procs.reaped(pid);
        let mut sources = Sources::default();
        sources.extend(child.fork.map(|f| f.1));
        sources.extend(child.exit.map(|e| e.2));
        sources.extend(child.sigchld.map(|c| c.seq));
        sources.push(seq);
        out.push(Record::Reaped(Reaped {
            header: h.clone(),
            child_pid: pid,
            child_comm: comm,
            exit_status: child.exit.map(|e| e.1),
            sigchld: child.sigchld,
            zombie_ns: child.exit.map(|e| h.ts_boot_ns.saturating_sub(e.0)),
            lifetime_ns: match (child.fork, child.exit) {
                (Some(f), Some(e)) => Some(e.0.saturating_sub(f.0)),
                _ => None,
            },
            sources,
        }));
    }
}

#[cfg(test)]
mod tests;
