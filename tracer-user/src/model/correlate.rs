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
use crate::model::names;
use crate::model::procs::ProcTable;
use crate::model::tree::{ByParent, Graveyard, PidMap};
use tracer_common::nr;

const CLONE_THREAD: u64 = 0x0001_0000;
const MAP_STACK: u64 = 0x2_0000;
const SIGCHLD: u32 = 17;
/// Stack mappings remembered per process, newest last.
const STACKS_PER_PROC: usize = 64;

/// A thread's stack mapping as its mmap (and mprotect) made it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mapping {
    pub base: u64,
    pub len: u64,
    /// Bytes at the bottom left `PROT_NONE` by the mprotect that opened
    /// the rest; None if no such mprotect was seen.
    pub guard: Option<u64>,
    mmap_seq: u64,
    mprotect_seq: Option<u64>,
    /// The thread that was given this stack (once a clone used it).
    owner: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThreadCreate {
    /// The clone's header: the creating (parent) thread.
    pub header: Header,
    pub syscall: &'static str,
    pub child_tid: u32,
    /// clone3's `flags` / clone's `clone_flags` (named by [`Self::write_flags`]).
    pub flags: u64,
    /// The lowest address of the stack: clone3's `stack`, or for clone the
    /// mapping that holds `newsp`.
    pub stack_base: Option<u64>,
    /// clone3's `stack_size` (clone passes none).
    pub stack_size: Option<u64>,
    pub mapping: Option<Mapping>,
    pub tls: u64,
    /// None when mmap is not traced and no mapping is on record: unknown.
    pub stack_reused: Option<bool>,
    pub reused_from_tid: Option<u32>,
    pub sources: Sources,
}

impl ThreadCreate {
    /// The flags as strace names them for the call that made the thread.
    pub fn write_flags(&self, out: &mut impl names::Sink) {
        if self.syscall == "clone3" {
            names::write_clone3_flags(out, self.flags);
        } else {
            names::write_clone_flags(out, self.flags);
        }
    }
}

/// The `seq`s of the events a record joins, oldest first: at most four
/// (a child's fork, exit and SIGCHLD, and the wait4 that reaped it), so
/// kept inline rather than in a `Vec` per record.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct Sources {
    seqs: [u64; 4],
    len: u8,
}

impl Sources {
    pub fn push(&mut self, seq: u64) {
        self.seqs[usize::from(self.len)] = seq;
        self.len += 1;
    }
}

impl Extend<u64> for Sources {
    fn extend<I: IntoIterator<Item = u64>>(&mut self, seqs: I) {
        for s in seqs {
            self.push(s);
        }
    }
}

impl std::ops::Deref for Sources {
    type Target = [u64];
    fn deref(&self) -> &[u64] {
        &self.seqs[..usize::from(self.len)]
    }
}

impl std::fmt::Debug for Sources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self[..].fmt(f)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sigchld {
    pub code: i32,
    pub status: i32,
    pub result: i32,
    seq: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reaped {
    /// The wait4's header: the reaper.
    pub header: Header,
    pub child_pid: u32,
    pub child_comm: Comm,
    /// The child's wait-style status from its exit event.
    pub exit_status: Option<u32>,
    pub sigchld: Option<Sigchld>,
    /// From the child's death (its exit event) to the wait4's return.
    pub zombie_ns: Option<u64>,
    /// From the fork to the child's death.
    pub lifetime_ns: Option<u64>,
    pub sources: Sources,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unreaped {
    /// The exit event of the parent's last thread.
    pub header: Header,
    pub child_pid: u32,
    pub child_comm: Comm,
    /// The child had died (a zombie nobody waited for); false: running.
    pub child_exited: bool,
    /// Its wait-style status, if tracer saw it die.
    pub exit_status: Option<u32>,
    pub zombie_ns: Option<u64>,
    pub sources: Sources,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    ThreadCreate(ThreadCreate),
    Reaped(Reaped),
    Unreaped(Unreaped),
}

/// The records one event completes: none or one but for an exit that
/// leaves several children, so one is kept inline (no allocation).
#[derive(Debug)]
// The inline record is the point: boxing it would bring the allocation back.
#[allow(clippy::large_enum_variant)]
pub enum Records {
    One(Option<Record>),
    Many(Vec<Record>),
}

impl Default for Records {
    fn default() -> Self {
        Records::One(None)
    }
}

impl Records {
    // Inlined: out of line, every record (~300 bytes) was built on the
    // stack and then copied into its slot.
    #[inline]
    fn push(&mut self, r: Record) {
        match self {
            Records::One(slot @ None) => *slot = Some(r),
            Records::One(Some(_)) => {
                let Records::One(Some(first)) = std::mem::take(self) else { unreachable!() };
                *self = Records::Many(vec![first, r]);
            }
            Records::Many(v) => v.push(r),
        }
    }

    /// Empty again; a `Many` keeps its allocation for the next time.
    pub fn clear(&mut self) {
        match self {
            Records::One(r) => *r = None,
            Records::Many(v) => v.clear(),
        }
    }

    pub fn as_slice(&self) -> &[Record] {
        match self {
            Records::One(r) => r.as_slice(),
            Records::Many(v) => v,
        }
    }
}

impl std::ops::Deref for Records {
    type Target = [Record];
    fn deref(&self) -> &[Record] {
        self.as_slice()
    }
}

impl<'a> IntoIterator for &'a Records {
    type Item = &'a Record;
    type IntoIter = std::slice::Iter<'a, Record>;
    fn into_iter(self) -> Self::IntoIter {
        self.as_slice().iter()
    }
}

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
    pub fn event(&mut self, ev: &Event, seq: u64, procs: &mut ProcTable) -> Records {
        let mut out = Records::default();
        self.event_into(ev, seq, procs, &mut out);
        out
    }

    /// As [`Self::event`], into `out` (emptied first): the drain reuses one
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
mod tests {
    use super::*;
    use crate::model::tree::{MAX_DEAD, draws};
    use crate::model::decode::{CloneArgs, ExitEvent, ForkEvent, SigInfo, SignalEvent};

    fn header(pid: u32, tid: u32, ts: u64) -> Header {
        Header { cpu: 0, ts_boot_ns: ts, pid, tid, ppid: 1, uid: 0, gid: 0, cgroup_id: 1, comm: Comm::from_bytes(b"t"), ns_level: 0, ns_pid: pid, ns_tid: tid, ns_ppid: 1, start_ns: 0, parent_start_ns: 0, ident: Default::default() }
    }

    fn sc(pid: u32, nr: u32, args: [u64; 6], ret: i64, extra: Extra) -> Event {
        Event::Syscall(SyscallEvent { header: header(pid, pid, 0), nr, flags: 0, args, ret, duration_ns: 0, extra })
    }

    fn clone3(pid: u32, stack: u64, ret: i64) -> Event {
        let ca = CloneArgs { len: 88, flags: 0x3d0f00, stack, stack_size: 0x7fff80, tls: stack + 0x7fff80 + 0x6c0, ..Default::default() };
        sc(pid, nr::CLONE3, [0x7ffd_0000, 88, 0, 0, 0, 0], ret, Extra::Clone3(ca))
    }

    const BASE: u64 = 0x7f45_7a48_e000;

    // The walkthrough's thread program: mmap(NULL, 8392704, PROT_NONE,
    // MAP_PRIVATE|MAP_ANONYMOUS|MAP_STACK, -1, 0) = B; mprotect(B+4096,
    // 8388608, PROT_READ|PROT_WRITE) = 0; clone3({…, stack=B, stack_size=0x7fff80, tls=…}) = T.
    #[test]
    fn thread_create_joins_stack_mmap_guard_mprotect_and_clone3() {
        let mut c = Correlator::new();
        let mut p = ProcTable::default();
        assert!(c.event(&sc(100, nr::MMAP, [0, 8392704, 0, 0x20022, u64::MAX, 0], BASE as i64, Extra::None), 11, &mut p).is_empty());
        assert!(c.event(&sc(100, nr::MPROTECT, [BASE + 4096, 8388608, 3, 0, 0, 0], 0, Extra::None), 12, &mut p).is_empty());
        let r = c.event(&clone3(100, BASE, 101), 13, &mut p);
        let [Record::ThreadCreate(t)] = r.as_slice() else { panic!("{r:?}") };
        assert_eq!(t.child_tid, 101);
        assert_eq!(t.stack_base, Some(BASE));
        assert_eq!(t.stack_size, Some(0x7fff80));
        let m = t.mapping.as_ref().unwrap();
        assert_eq!((m.base, m.len, m.guard), (BASE, 8392704, Some(4096)));
        assert_eq!(t.stack_reused, Some(false));
        assert_eq!(names::clone3_flags(t.flags), "CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID");
        assert_eq!(t.sources[..], [11, 12, 13]);
        // Second thread after the first was joined: glibc's cache, no mmap.
        let r = c.event(&clone3(100, BASE, 102), 20, &mut p);
        let [Record::ThreadCreate(t)] = r.as_slice() else { panic!() };
        assert_eq!(t.stack_reused, Some(true));
        assert_eq!(t.reused_from_tid, Some(101));
        assert_eq!(t.mapping.as_ref().unwrap().guard, Some(4096));
        assert_eq!(t.sources[..], [20]);
        // Another process's mmap is not this one's stack; a failed clone3 makes no thread.
        assert!(c.event(&clone3(200, BASE, -11), 21, &mut p).is_empty());
        let r = c.event(&clone3(200, BASE, 201), 22, &mut p);
        let [Record::ThreadCreate(t)] = r.as_slice() else { panic!() };
        assert!(t.stack_reused == Some(true) && t.mapping.is_none() && t.reused_from_tid.is_none());
        // Without mmap in the traced set the same clone says nothing about reuse.
        let mut blind = Correlator::without_mmap();
        let r = blind.event(&clone3(300, BASE, 301), 30, &mut p);
        let [Record::ThreadCreate(t)] = r.as_slice() else { panic!() };
        assert_eq!(t.stack_reused, None);
    }

    // The count of stacks no thread has (what lets a clone skip looking for
    // a fresh one) must follow every way a mapping comes and goes: given to
    // a thread, pushed out of the full ring, unmapped.
    #[test]
    fn fresh_stacks_are_found_after_the_ring_fills_and_after_munmap() {
        const LEN: u64 = 0x80_1000;
        let stack = |i: u64| BASE + i * 0x100_0000;
        let mmap = |i: u64| sc(100, nr::MMAP, [0, LEN, 0, 0x20022, u64::MAX, 0], stack(i) as i64, Extra::None);
        let mut c = Correlator::new();
        let mut p = ProcTable::default();
        let fresh = |c: &Correlator| c.stacks.get(&100).map(|s| (s.fresh, s.maps.len()));
        // One more than the ring holds, each given a thread at once but the
        // first (pushed out while still fresh) and the last.
        let n = STACKS_PER_PROC as u64 + 1;
        for i in 0..n {
            assert!(c.event(&mmap(i), 10 * i, &mut p).is_empty());
            if i != 0 && i != n - 1 {
                let r = c.event(&clone3(100, stack(i), 1000 + i as i64), 10 * i + 1, &mut p);
                let [Record::ThreadCreate(t)] = r.as_slice() else { panic!("{r:?}") };
                assert_eq!((t.stack_reused, t.sources[..].to_vec()), (Some(false), vec![10 * i, 10 * i + 1]));
            }
        }
        assert_eq!(fresh(&c), Some((1, STACKS_PER_PROC)));
        // The first mapping is gone: a clone on it finds nothing.
        let r = c.event(&clone3(100, stack(0), 2000), 1000, &mut p);
        let [Record::ThreadCreate(t)] = r.as_slice() else { panic!() };
        assert!(t.mapping.is_none());
        // The last one is still fresh, found behind 63 taken ones...
        let r = c.event(&clone3(100, stack(n - 1), 2001), 1001, &mut p);
        let [Record::ThreadCreate(t)] = r.as_slice() else { panic!() };
        assert_eq!((t.stack_reused, t.reused_from_tid), (Some(false), None));
        assert_eq!(fresh(&c), Some((0, STACKS_PER_PROC)));
        // ...and then reused like the others.
        let r = c.event(&clone3(100, stack(n - 1), 2002), 1002, &mut p);
        let [Record::ThreadCreate(t)] = r.as_slice() else { panic!() };
        assert_eq!((t.stack_reused, t.reused_from_tid), (Some(true), Some(2001)));
        // A fresh mapping unmapped before any clone leaves none fresh.
        c.event(&mmap(n), 1003, &mut p);
        assert_eq!(fresh(&c), Some((1, STACKS_PER_PROC)));
        c.event(&sc(100, nr::MUNMAP, [stack(n), LEN, 0, 0, 0, 0], 0, Extra::None), 1004, &mut p);
        assert_eq!(fresh(&c), Some((0, STACKS_PER_PROC - 1)));
        let r = c.event(&clone3(100, stack(n), 2003), 1005, &mut p);
        let [Record::ThreadCreate(t)] = r.as_slice() else { panic!() };
        assert!(t.mapping.is_none());
    }

    fn exit(pid: u32, tid: u32, ts: u64, code: u32, group_dead: bool) -> Event {
        Event::Exit(ExitEvent { header: header(pid, tid, ts), exit_code: code, group_dead, children: Vec::new(), children_capped: false })
    }

    fn sigchld(child: u32, parent: u32, ts: u64) -> Event {
        Event::Signal(SignalEvent {
            header: header(child, child, ts),
            sig: 17,
            phase: SignalPhase::Generate,
            result: 1,
            group: true,
            target_pid: parent,
            target_tid: parent,
            target_comm: Comm::from_bytes(b"p"),
            info: Some(SigInfo { code: 1, pid: child, status: 1, ..Default::default() }),
            handler: None,
        })
    }

    fn fork(parent: u32, child: u32, ts: u64) -> Event {
        Event::Fork(ForkEvent { header: header(parent, parent, ts), child_pid: child, child_tid: child, child_ns_pid: child, child_ns_tid: child, thread: false })
    }

    // fork → exit(1) → SIGCHLD CLD_EXITED status 1 → wait4(child) = child
    #[test]
    fn reaped_joins_fork_exit_sigchld_and_wait4() {
        let mut c = Correlator::new();
        let mut p = ProcTable::default();
        for (ev, seq) in [(fork(100, 101, 1_000), 1), (exit(101, 101, 5_000, 0x100, true), 2), (sigchld(101, 100, 5_100), 3)] {
            assert!(c.event(&ev, seq, &mut p).is_empty());
            p.observe(&ev);
        }
        let mut w = sc(100, nr::WAIT4, [101, 0, 0, 0, 0, 0], 101, Extra::None);
        if let Event::Syscall(s) = &mut w {
            s.header.ts_boot_ns = 9_000;
        }
        let r = c.event(&w, 4, &mut p);
        let [Record::Reaped(x)] = r.as_slice() else { panic!("{r:?}") };
        assert_eq!(x.child_pid, 101);
        assert_eq!(x.exit_status, Some(0x100));
        assert_eq!(x.sigchld.map(|s| (s.code, s.status)), Some((1, 1)));
        assert_eq!(x.zombie_ns, Some(4_000));
        assert_eq!(x.lifetime_ns, Some(4_000));
        assert_eq!(x.sources[..], [1, 2, 3, 4]);
        // Reaped once: a second wait4 naming it (pid reuse aside) has no story.
        let r = c.event(&w, 5, &mut p);
        let [Record::Reaped(x)] = r.as_slice() else { panic!() };
        assert_eq!((x.exit_status, x.sources.to_vec()), (None, vec![5]));
    }

    #[test]
    fn a_parent_dying_without_waiting_leaves_its_children_unreaped() {
        let mut c = Correlator::new();
        let mut p = ProcTable::default();
        for (ev, seq) in [(fork(100, 101, 1_000), 1), (fork(100, 102, 1_100), 2), (exit(101, 101, 2_000, 0x300, true), 3)] {
            c.event(&ev, seq, &mut p);
            p.observe(&ev);
        }
        // A thread of the parent dying is not the parent dying.
        assert!(c.event(&exit(100, 103, 2_500, 0, false), 4, &mut p).is_empty());
        // The kernel lists what is left on the parent's children list: 101
        // (a zombie) and 102 (running); 104, forked too, is not there — it
        // was reaped by a waitid tracer did not see.
        c.event(&fork(100, 104, 1_200), 6, &mut p);
        let Event::Exit(mut x) = exit(100, 100, 3_000, 0, true) else { panic!() };
        x.children = vec![(101, true), (102, false)];
        let ev = Event::Exit(x);
        let r = c.event(&ev, 7, &mut p);
        p.observe(&ev);
        assert_eq!(r.len(), 2, "{r:?}");
        let Record::Unreaped(a) = &r[0] else { panic!() };
        assert_eq!((a.child_pid, a.child_exited, a.exit_status, a.zombie_ns), (101, true, Some(0x300), Some(1_000)));
        assert_eq!(a.sources[..], [1, 3, 7]);
        let Record::Unreaped(b) = &r[1] else { panic!() };
        assert_eq!((b.child_pid, b.child_exited, b.exit_status), (102, false, None));
        assert!(!c.children.contains_key(&104), "forgotten, not reported");
        // Its listed children are orphans now: nobody's children.
        assert_eq!([101, 102].map(|pid| c.children.get(&pid).map(|c| c.ppid)), [Some(0), Some(0)]);
        assert!(c.by_parent.of(100).is_empty());
    }

    #[test]
    fn the_dead_nobody_waits_for_are_forgotten_in_order() {
        let mut c = Correlator::new();
        let mut p = ProcTable::default();
        let n = MAX_DEAD as u32;
        let mut seq = 0;
        let mut feed = |c: &mut Correlator, p: &mut ProcTable, ev: Event| {
            seq += 1;
            let r = c.event(&ev, seq, p);
            p.observe(&ev);
            r
        };
        // 1000.. are forked by 1 and die, reaped where tracer cannot see
        // (waitid); 1001 is reaped by a traced wait4, its pid then reused.
        for pid in 1000..1000 + n {
            feed(&mut c, &mut p, fork(1, pid, 0));
            feed(&mut c, &mut p, exit(pid, pid, 0, 0, true));
        }
        let w = |pid: u32| sc(1, nr::WAIT4, [pid.into(), 0, 0, 0, 0, 0], pid.into(), Extra::None);
        assert!(matches!(feed(&mut c, &mut p, w(1001)).as_slice(), [Record::Reaped(_)]));
        feed(&mut c, &mut p, fork(1, 1001, 0));
        assert_eq!(c.children.len(), MAX_DEAD);
        for pid in 1000 + n..1000 + n + 3 {
            feed(&mut c, &mut p, fork(1, pid, 0));
            feed(&mut c, &mut p, exit(pid, pid, 0, 0, true));
        }
        // The three oldest deaths are let go: 1000 and 1002 are forgotten,
        // the live 1001 is not.
        assert_eq!((1000..1004).map(|p| c.children.contains_key(&p)).collect::<Vec<_>>(), [false, true, false, true]);
        assert_eq!(c.children.len(), MAX_DEAD + 1);
        // A recent death still joins its wait4.
        let r = feed(&mut c, &mut p, w(1003));
        let [Record::Reaped(x)] = r.as_slice() else { panic!("{r:?}") };
        assert_eq!((x.child_pid, x.sources.len()), (1003, 3));
        c.by_parent.agrees_with(c.children.iter().map(|(&k, v)| (k, v.ppid))).unwrap();
    }

    // A waiter in a pid namespace names its child by the namespace's pid:
    // found among the waiter's own children, not another parent's.
    #[test]
    fn a_wait4_in_a_namespace_finds_the_child_among_its_own() {
        let mut c = Correlator::new();
        let mut p = ProcTable::default();
        let ns_fork = |parent: u32, child: u32, ns_pid: u32| {
            let Event::Fork(mut f) = fork(parent, child, 0) else { unreachable!() };
            f.child_ns_pid = ns_pid;
            Event::Fork(f)
        };
        // Two containers' inits each fork their ns-pid 2.
        c.event(&ns_fork(100, 101, 2), 1, &mut p);
        c.event(&ns_fork(200, 201, 2), 2, &mut p);
        let Event::Syscall(mut w) = sc(200, nr::WAIT4, [u64::MAX, 0, 0, 0, 0, 0], 2, Extra::None) else { unreachable!() };
        w.header.ns_level = 1;
        let r = c.event(&Event::Syscall(w), 3, &mut p);
        let [Record::Reaped(x)] = r.as_slice() else { panic!("{r:?}") };
        assert_eq!((x.child_pid, x.sources.to_vec()), (201, vec![2, 3]));
        assert!(c.children.contains_key(&101) && !c.children.contains_key(&201));
    }

    // The index of children by parent must follow every way a child's
    // parent changes: fork, exit (own and parent's), SIGCHLD, wait4, the
    // bound on the table.
    #[test]
    fn the_index_agrees_with_the_children_through_any_history() {
        let mut c = Correlator::new();
        let mut p = ProcTable::default();
        let mut next = draws(0x2545_f491_4f6c_dd1d);
        for seq in 0..20_000u64 {
            let (a, b) = (next(48), next(48));
            let ev = match next(5) {
                1 | 2 => fork(a, b, seq),
                3 => {
                    let Event::Exit(mut e) = exit(a, a, seq, 0, true) else { unreachable!() };
                    // The kernel lists some of its children as unreaped.
                    let mut listed = Vec::new();
                    for &k in c.by_parent.of(a) {
                        match next(3) {
                            1 => listed.push((k, true)),
                            2 => listed.push((k, false)),
                            _ => {}
                        }
                    }
                    e.children = listed;
                    Event::Exit(e)
                }
                4 => sigchld(a, b, seq),
                _ => {
                    let Event::Syscall(mut w) = sc(a, nr::WAIT4, [u64::MAX, 0, 0, 0, 0, 0], b.into(), Extra::None) else { unreachable!() };
                    w.header.ns_level = next(2) - 1;
                    Event::Syscall(w)
                }
            };
            c.event(&ev, seq, &mut p);
            p.observe(&ev);
            if seq % 97 == 0 {
                c.by_parent.agrees_with(c.children.iter().map(|(&k, v)| (k, v.ppid))).unwrap();
            }
        }
        c.by_parent.agrees_with(c.children.iter().map(|(&k, v)| (k, v.ppid))).unwrap();
        assert!(!c.children.is_empty());
    }
}
