//! The strace walkthrough's two programs, traced machine-wide by the real
//! BPF programs; every value asserted exactly for the program's own pid.

mod common;
use common::*;
use serde_json::json;
use std::process::Command;

const THREAD_FLAGS: &str = "CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID";
const FORK_FLAGS: &str = "CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD";

#[test]
fn pthread_create_maps_a_guarded_stack_and_clone3s_onto_it() {
    if skip_without_root() {
        return;
    }
    let prog = Program::compile("threads", "threads", &[]);
    let Traced { all, pid, code, .. } = trace(&[], &mut prog.command());
    assert_eq!(code, 0);
    let ev = events_of_pid(&all, pid);

    // mmap(NULL, 8392704, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_STACK, -1, 0) = B
    let stacks: Vec<_> = syscalls_named(&ev, "mmap")
        .into_iter()
        .filter(|e| e["args"]["flags"] == "MAP_PRIVATE|MAP_ANONYMOUS|MAP_STACK")
        .collect();
    assert_eq!(stacks.len(), 1, "one thread-stack mmap: {stacks:?}");
    let m = stacks[0];
    assert_eq!(m["args"], json!({"addr": "0x0", "len": 8392704, "prot": "PROT_NONE", "flags": "MAP_PRIVATE|MAP_ANONYMOUS|MAP_STACK", "fd": -1, "off": 0}));
    let base = m["ret"].as_u64().expect("mmap returned an address");
    assert!(base > 0 && base % 4096 == 0);
    assert!(m.get("errno").is_none());
    assert_eq!(m["raw"], json!(["0x0", "0x801000", "0x0", "0x20022", "0xffffffff", "0x0"]), "glibc passes fd -1 as a 32-bit int");

    // mprotect(B+4096, 8388608, PROT_READ|PROT_WRITE) = 0: all but the guard page.
    let guard: Vec<_> = syscalls_named(&ev, "mprotect")
        .into_iter()
        .filter(|e| e["args"]["start"] == hex(base + 4096))
        .collect();
    assert_eq!(guard.len(), 1, "one guard-page mprotect");
    assert_eq!(guard[0]["args"], json!({"start": hex(base + 4096), "len": 8388608, "prot": "PROT_READ|PROT_WRITE"}));
    assert_eq!(guard[0]["ret"], 0);

    // clone3 with exactly the nine thread flags, onto that stack.
    let clones = syscalls_named(&ev, "clone3");
    assert_eq!(clones.len(), 1);
    let c = clones[0];
    assert_eq!(c["tid"], pid, "the main thread creates the thread");
    assert_eq!(c["args"]["size"], 88);
    let ca = &c["args"]["cl_args"];
    assert_eq!(ca["flags"], THREAD_FLAGS);
    assert_eq!(ca["exit_signal"], "0");
    assert_eq!(ca["stack"], hex(base));
    let stack_size = ca["stack_size"].as_u64().unwrap();
    // glibc hands clone3 the whole mapping minus what it keeps at the top
    // for the thread descriptor and static TLS.
    assert!(stack_size > 8388608 - 65536 && stack_size < 8392704, "stack_size {stack_size}");
    assert_ne!(parse_hex(&ca["tls"]), 0);
    assert!(parse_hex(&ca["tls"]) > base && parse_hex(&ca["tls"]) < base + 8392704, "TLS lives at the top of the new stack");
    assert_eq!(ca["parent_tid"], ca["child_tid"]);
    assert!(c.get("read_failed").is_none());
    let new_tid = c["ret"].as_u64().unwrap();
    assert!(new_tid > 0 && new_tid != pid as u64);

    // The new thread's own call carries its tid and the process's pid.
    let own: Vec<_> = all.iter().filter(|e| e["tid"] == new_tid).collect();
    assert!(!own.is_empty(), "no events from the new thread {new_tid}");
    for e in &own {
        assert_eq!(e["pid"], pid);
    }
    assert!(own.iter().any(|e| e["syscall"] == "mmap" && e["args"]["len"] == 4096));

    // Header fields of the program's syscall events (before its exec, the
    // process was the test's fork: not yet called "threads").
    for e in ev.iter().filter(|e| e["event"] == "syscall") {
        assert_eq!(e["comm"], "threads");
        assert_eq!(e["uid"], 0);
        assert!(e["ppid"].as_u64().unwrap() > 0, "ppid filled in");
        assert!(e["cgroup_id"].as_u64().unwrap() > 0);
        assert_eq!(e["schema"], 4);
    }
    assert_eq!(ev[0]["ppid"], std::process::id(), "the test started the program");
}

#[test]
fn fork_is_a_clone_reaped_by_wait4() {
    if skip_without_root() {
        return;
    }
    let prog = Program::compile("process", "process", &[]);
    let Traced { all, pid, code, .. } = trace(&[], &mut prog.command());
    assert_eq!(code, 0);
    let ev = events_of_pid(&all, pid);

    let clones = syscalls_named(&ev, "clone");
    assert_eq!(clones.len(), 1, "fork() is one clone: {ev:?}");
    let c = clones[0];
    assert_eq!(c["args"]["clone_flags"], FORK_FLAGS);
    assert_eq!(c["args"]["newsp"], "0x0");
    assert_ne!(c["args"]["child_tidptr"], "0x0");
    let child = c["ret"].as_u64().unwrap();
    assert!(child > 0 && child != pid as u64);

    // wait4(child, NULL, 0, NULL) = child
    let waits = syscalls_named(&ev, "wait4");
    assert_eq!(waits.len(), 1);
    let w = waits[0];
    assert_eq!(w["args"], json!({"upid": child, "stat_addr": "0x0", "options": "0", "ru": "0x0"}));
    assert_eq!(w["ret"], child);
    // The child ran as its own process: its events (if any) carry its pid and
    // the parent as ppid.
    for e in events_of_pid(&all, child as u32) {
        assert_eq!(e["ppid"], pid);
    }
}

#[test]
fn wait4_with_a_status_pointer_decodes_exited_1() {
    if skip_without_root() {
        return;
    }
    let prog = Program::compile("process", "process_status", &["-DWITH_STATUS"]);
    let Traced { all, pid, code, .. } = trace(&["--syscalls", "clone,wait4"], &mut prog.command());
    assert_eq!(code, 0);
    let ev = events_of_pid(&all, pid);
    assert!(ev.iter().filter(|e| e["event"] == "syscall").all(|e| e["syscall"] == "clone" || e["syscall"] == "wait4"), "--syscalls narrows the set");
    let child = syscalls_named(&ev, "clone")[0]["ret"].as_u64().unwrap();
    let w = syscalls_named(&ev, "wait4");
    assert_eq!(w.len(), 1);
    assert_eq!(w[0]["ret"], child);
    assert_eq!(w[0]["args"]["upid"], child);
    assert_ne!(w[0]["args"]["stat_addr"], "0x0");
    assert_eq!(w[0]["args"]["status"], json!({"exited": 1}));
}

#[test]
fn tracer_does_not_trace_itself_and_reports_counters_on_exit() {
    if skip_without_root() {
        return;
    }
    let tracer = Tracer::start(&["--syscalls", "mmap,munmap,clone,wait4"]);
    let own_pid = tracer.pid();
    // Something machine-wide to trace, so the drain loop (which allocates,
    // and so mmaps) has work.
    let (pid, _) = run_program(&mut Command::new("true"));
    let (events, stderr) = tracer.stop_with_stderr();
    assert!(events.iter().any(|e| e["pid"] == pid), "the machine's calls are traced");
    assert!(events.iter().all(|e| e["pid"] != own_pid), "tracer traced itself");
    let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (0..events.len() as u64).collect::<Vec<_>>(), "seq is gapless from 0");
    let summary = stderr.iter().find(|l| l.contains("events written")).expect("counters on stderr");
    assert!(summary.starts_with(&format!("tracer: {} events written, 0 lost", events.len())), "{summary}");
}

#[test]
fn raw_tracepoint_fallback_decodes_the_same() {
    if skip_without_root() {
        return;
    }
    let prog = Program::compile("process", "process_status", &["-DWITH_STATUS"]);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tracer"));
    // `--attach raw`: the fallback is raw_syscalls' (the per-syscall events
    // have no BTF form to fall back from).
    cmd.env("TRACER_RAW_TRACEPOINTS", "1").env("RUST_LOG", "info").args(["--attach", "raw", "--syscalls", "clone,wait4,mmap"]);
    let Traced { all, stderr, pid, code } = trace_command(cmd, &mut prog.command());
    assert_eq!(code, 0);
    assert!(stderr.iter().all(|l| !l.contains("BTF tracepoint")), "forced, not a failure: {stderr:?}");
    let ev = events_of_pid(&all, pid);
    let c = syscalls_named(&ev, "clone");
    assert_eq!(c.len(), 1);
    assert_eq!(c[0]["args"]["clone_flags"], FORK_FLAGS);
    let w = syscalls_named(&ev, "wait4");
    assert_eq!(w[0]["args"]["status"], json!({"exited": 1}));
    assert_eq!(w[0]["ret"], c[0]["ret"]);
    // The fork record comes from the raw form of the lifecycle hook too,
    // its child's ids read with helper calls.
    let forks = events_named(&ev, "fork");
    assert_eq!(forks.len(), 1, "{forks:?}");
    assert_eq!(forks[0]["child_pid"], c[0]["ret"]);
    assert_eq!(forks[0]["child_tid"], c[0]["ret"]);
    assert_eq!(forks[0]["thread"], false);
    // And the SIGCHLD, from the raw signal_generate: sender, target and
    // siginfo each read with a helper call.
    let sig = all.iter().find(|e| e["event"] == "signal" && e["target_pid"] == pid).expect("the child's SIGCHLD");
    assert_eq!((&sig["pid"], &sig["target_tid"], &sig["si_pid"], &sig["si_status"]), (&c[0]["ret"], &json!(pid), &c[0]["ret"], &json!(1)));
    assert_eq!(sig["target_comm"], ev[0]["comm"]);
    // The loader maps libc from the fd it opened it on: the lowest free one,
    // 3 unless the test inherited more (`flock FILE cargo test` passes its
    // lock's fd down).
    let libc_maps = syscalls_named(&ev, "mmap").into_iter().filter(|m| m["args"]["flags"] == "MAP_PRIVATE|MAP_DENYWRITE").collect::<Vec<_>>();
    assert!(!libc_maps.is_empty() && libc_maps.iter().all(|m| m["args"]["fd"].as_i64().unwrap() >= 3), "loader mmaps of libc: {libc_maps:?}");
}
