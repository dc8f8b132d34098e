use super::*;
use crate::model::names;
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
