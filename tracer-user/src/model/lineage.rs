//! Who a record's process is, and where it comes from: `exec_id`,
//! `parent_exec_id` and `ancestors`, from the record's header and the
//! process table.
//!
//! The kernel side puts the process's and its parent's start time
//! (`start_boottime` of their thread-group leaders) in every header, so a
//! record's own `exec_id` and its `parent_exec_id` are right even when
//! records were lost. The table keeps one start time per tgid; a header
//! whose start time differs from the table's is a new process on a reused
//! pid, and replaces it.
//!
//! The time in an `exec_id` is the start floored to /proc's 10 ms clock
//! tick (`starttime` × 10 ms), whatever tracer learnt it from: a process
//! that existed before tracer (known from /proc, to the tick) and one it
//! saw start (known from the kernel, to the ns) get the same kind of id,
//! so a process keeps its `exec_id` across tracer restarts and anyone can
//! compute it from `/proc/PID/stat`. The pid allocator cannot hand a pid
//! out twice within 10 ms (it cycles through `pid_max` first); only a
//! forced reuse (`clone3`'s `set_tid`, `ns_last_pid`) can, and when the
//! table sees that the newcomer's id carries its exact start instead.
//!
//! `exec` does not start a new incarnation: pid, start time, parent,
//! memory of open files and cgroup all carry over, and only the program
//! changes, which the `exec` event records (`filename`, `old_comm`). Its
//! lines before and after thus share an `exec_id`, and the chain a child
//! points to through `parent_exec_id` does not break when the parent
//! execs.

use std::sync::Arc;

use crate::model::decode::Header;
use crate::model::identity::{Ancestor, ExecId, Ident};
use crate::model::procs::{NS_PER_TICK, ProcTable, Start};


impl Start {
    /// Is a process that started at `ns` (exactly) the one this is?
    fn matches(self, ns: u64) -> bool {
        match self {
            Start::Unknown => true,
            Start::Exact(s) | Start::Reused(s) => s == ns,
            Start::Ticks(t) => ns / NS_PER_TICK == t,
        }
    }

    /// The start time an `exec_id` carries: the tick's start (the exact
    /// time only for a forced reuse within one tick).
    fn id_ns(self) -> Option<u64> {
        match self {
            Start::Unknown => None,
            Start::Exact(s) => Some(tick_start(s)),
            Start::Ticks(t) => Some(t * NS_PER_TICK),
            Start::Reused(s) => Some(s),
        }
    }
}

/// `ns` floored to its 10 ms tick.
fn tick_start(ns: u64) -> u64 {
    ns / NS_PER_TICK * NS_PER_TICK
}

impl ProcTable {
    /// The id of process `tgid` that started at `start_ns` (exactly, from
    /// a header): the table's if it is that process (learning its start
    /// if it did not know it), the exact one otherwise (and the table's
    /// entry, another process on a reused pid, learns the new start).
    fn exec_id_of(&mut self, tgid: u32, start_ns: u64) -> ExecId {
        if start_ns == 0 {
            // The kernel side could not read it: what the table knows.
            let known = self.proc(tgid).and_then(|p| p.start.id_ns());
            return ExecId { tgid, start_ns: known.unwrap_or(0) };
        }
        // The common case, every record of a known process: one lookup.
        if let Some(p) = self.proc(tgid)
            && p.start.matches(start_ns)
            && p.start != Start::Unknown
        {
            return ExecId { tgid, start_ns: p.start.id_ns().unwrap_or(tick_start(start_ns)) };
        }
        // First sight of this start: only now is it noted.
        let reused_in_tick = self.recent_starts.note(tgid, start_ns).is_some();
        let Some(p) = self.proc_mut(tgid) else {
            let id = if reused_in_tick { start_ns } else { tick_start(start_ns) };
            return ExecId { tgid, start_ns: id };
        };
        // Another process on this pid (or the first start learnt).
        let same_tick = reused_in_tick || p.start.id_ns().is_some_and(|id| id / NS_PER_TICK == start_ns / NS_PER_TICK);
        p.start = if same_tick { Start::Reused(start_ns) } else { Start::Exact(start_ns) };
        ExecId { tgid, start_ns: p.start.id_ns().unwrap_or(start_ns) }
    }

    /// Fills `h.ident`'s exec ids and, with `ancestors > 0`, the nearest
    /// `ancestors` ancestors (the parent from the header, the rest from
    /// the table, as far as it knows them).
    pub fn identify(&mut self, h: &mut Header, ancestors: usize) {
        let exec_id = self.exec_id_of(h.pid, h.start_ns);
        // The idle task (tgid 0) parents init and kthreadd: no parent.
        let parent = (h.ppid != 0).then(|| self.exec_id_of(h.ppid, h.parent_start_ns));
        let chain = (ancestors > 0).then(|| self.chain(parent, ancestors));
        h.ident = Ident { exec_id: Some(exec_id), parent_exec_id: parent, ancestors: chain, ..std::mem::take(&mut h.ident) };
    }

    /// `parent` and its ancestors, at most `n`.
    fn chain(&self, parent: Option<ExecId>, n: usize) -> Arc<[Ancestor]> {
        let mut v = Vec::with_capacity(n);
        let mut next = parent.map(|p| (p.tgid, Some(p)));
        while let Some((pid, exec_id)) = next {
            if v.len() == n || pid == 0 {
                break;
            }
            let Some(p) = self.proc(pid) else {
                // Not in the table (it vanished before tracer read /proc):
                // known by its id alone, and the chain ends.
                if let Some(e) = exec_id {
                    v.push(Ancestor { pid, exec_id: Some(e), comm: None });
                }
                break;
            };
            let exec_id = exec_id.or_else(|| p.start.id_ns().map(|start_ns| ExecId { tgid: pid, start_ns }));
            v.push(Ancestor { pid, exec_id, comm: Some(p.comm) });
            // A loop in a table that missed events must not spin.
            next = (p.ppid != pid && v.len() < n).then_some((p.ppid, None));
        }
        v.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::decode::{Comm, Event, ExitEvent, ForkEvent};

    fn header(pid: u32, ppid: u32, start_ns: u64, parent_start_ns: u64) -> Header {
        Header {
            cpu: 0,
            ts_boot_ns: 0,
            pid,
            tid: pid,
            ppid,
            uid: 0,
            gid: 0,
            cgroup_id: 1,
            comm: Comm::from_bytes(format!("c{pid}").as_bytes()),
            ns_level: 0,
            ns_pid: pid,
            ns_tid: pid,
            ns_ppid: ppid,
            start_ns,
            parent_start_ns,
            ident: Default::default(),
        }
    }

    fn id(tgid: u32, start_ns: u64) -> Option<ExecId> {
        Some(ExecId { tgid, start_ns })
    }

    /// A table as /proc would seed it: 1 ← 10 ← 20, with tick start times.
    fn seeded() -> ProcTable {
        let dir = std::env::temp_dir().join(format!("tracer-lineage-{}-{:?}", std::process::id(), std::thread::current().id()));
        let _ = std::fs::remove_dir_all(&dir);
        for (pid, ppid, ticks) in [(1, 0, 5), (10, 1, 300), (20, 10, 400)] {
            let d = dir.join(pid.to_string());
            std::fs::create_dir_all(&d).unwrap();
            let stat = format!("{pid} (c{pid}) S {ppid} {pid} {pid} 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 {ticks} 100 10");
            std::fs::write(d.join("stat"), stat).unwrap();
            std::fs::write(d.join("comm"), format!("c{pid}\n")).unwrap();
        }
        let t = ProcTable::from_dir(&dir);
        std::fs::remove_dir_all(&dir).unwrap();
        t
    }

    #[test]
    fn a_process_seen_at_start_up_keeps_its_tick_id() {
        let mut t = seeded();
        // 20 started in tick 400; its header says exactly when.
        let mut h = header(20, 10, 4_003_456_789, 3_000_000_001);
        t.identify(&mut h, 3);
        assert_eq!(h.ident.exec_id, id(20, 4_000_000_000));
        assert_eq!(h.ident.parent_exec_id, id(10, 3_000_000_000));
        let a = h.ident.ancestors.as_deref().unwrap();
        assert_eq!(a.iter().map(|a| (a.pid, a.exec_id)).collect::<Vec<_>>(), [(10, id(10, 3_000_000_000)), (1, id(1, 50_000_000))]);
        assert_eq!(a[0].comm.unwrap().as_bytes(), b"c10");
        // Again: the same ids.
        let mut h2 = header(20, 10, 4_003_456_789, 3_000_000_001);
        t.identify(&mut h2, 3);
        assert_eq!(h2.ident, h.ident);
    }

    #[test]
    fn a_reused_pid_is_a_new_process_and_the_chain_follows_it() {
        let mut t = seeded();
        // 10 forks 30, which exits; a new 30 starts later.
        let fork = |child: u32| {
            Event::Fork(ForkEvent {
                header: header(10, 1, 3_000_000_001, 50_000_001),
                child_pid: child,
                child_tid: child,
                child_ns_pid: child,
                child_ns_tid: child,
                thread: false,
            })
        };
        t.observe(&fork(30));
        let mut first = header(30, 10, 5_000_000_000, 3_000_000_001);
        t.identify(&mut first, 2);
        t.observe(&Event::Exit(ExitEvent { header: first.clone(), exit_code: 0, group_dead: true, children: vec![], children_capped: false }));
        t.reaped(30);
        t.observe(&fork(30));
        // The same tick, another process.
        let mut second = header(30, 10, 5_000_000_500, 3_000_000_001);
        t.identify(&mut second, 2);
        assert_eq!(first.ident.exec_id, id(30, 5_000_000_000));
        assert_eq!(second.ident.exec_id, id(30, 5_000_000_500));
        for h in [&first, &second] {
            assert_eq!(h.ident.parent_exec_id, id(10, 3_000_000_000));
            let a = h.ident.ancestors.as_deref().unwrap();
            assert_eq!(a.iter().map(|a| a.pid).collect::<Vec<_>>(), [10, 1]);
        }
        // A stale entry (its exit was lost) is replaced by the header's start.
        let mut third = header(30, 10, 9_000_000_000, 3_000_000_001);
        t.identify(&mut third, 0);
        assert_eq!((third.ident.exec_id, third.ident.ancestors.clone()), (id(30, 9_000_000_000), None));
    }

    #[test]
    fn ancestors_stop_at_the_root_at_n_and_at_loops() {
        let mut t = seeded();
        let mut h = header(20, 10, 4_000_000_000, 3_000_000_000);
        t.identify(&mut h, 1);
        assert_eq!(h.ident.ancestors.as_deref().unwrap().len(), 1);
        t.identify(&mut h, 10);
        assert_eq!(h.ident.ancestors.as_deref().unwrap().iter().map(|a| a.pid).collect::<Vec<_>>(), [10, 1]);
        // init's parent is the idle task: no parent_exec_id, no ancestors.
        let mut init = header(1, 0, 50_000_000, 0);
        t.identify(&mut init, 4);
        assert_eq!((init.ident.exec_id, init.ident.parent_exec_id), (id(1, 50_000_000), None));
        assert!(init.ident.ancestors.as_deref().unwrap().is_empty());
        // A parent tracer never saw: its id from the header alone.
        let mut orphan = header(77, 66, 7, 6);
        t.identify(&mut orphan, 4);
        assert_eq!(orphan.ident.ancestors.as_deref().unwrap().iter().map(|a| (a.pid, a.exec_id)).collect::<Vec<_>>(), [(66, id(66, 0))], "the tick's start");
    }

    /// A process's id does not depend on when tracer started: seen born
    /// (exact start from the kernel) or found in /proc (its tick), the same.
    #[test]
    fn the_id_is_the_same_whether_tracer_saw_the_start_or_read_proc() {
        let mut born = ProcTable::default();
        let mut h = header(40, 1, 4_123_456_789, 50_000_000);
        born.identify(&mut h, 0);
        let mut seeded = seeded();
        seeded.proc_mut(40).map(|p| p.start = Start::Ticks(412));
        if seeded.proc(40).is_none() {
            seeded.observe(&Event::Fork(ForkEvent { header: header(1, 0, 50_000_000, 0), child_pid: 40, child_tid: 40, child_ns_pid: 40, child_ns_tid: 40, thread: false }));
            seeded.proc_mut(40).unwrap().start = Start::Ticks(412);
        }
        let mut later = header(40, 1, 4_123_456_789, 50_000_000);
        seeded.identify(&mut later, 0);
        assert_eq!(h.ident.exec_id, id(40, 4_120_000_000));
        assert_eq!(later.ident.exec_id, h.ident.exec_id);
    }

    #[test]
    fn exec_id_text() {
        let e = ExecId { tgid: 4242, start_ns: 8_123_456_789 };
        let t = e.to_text();
        let (boot, rest) = t.split_once('-').unwrap();
        assert_eq!((boot.len(), rest), (16, "8123456789-4242"));
        assert!(boot.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    }
}
