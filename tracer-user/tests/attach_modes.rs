//! `--attach raw` and `--attach syscall` make the same records: two tracers,
//! one in each mode, trace the same programs at the same time, and every
//! record either writes is the other's, field for field, but for the
//! clock (`ts`, `duration_ns` and the joins' other `*_ns` spans) and the
//! stream's own numbering (`seq`, and the `sources` of joined records that
//! point at it).
//!
//! The rest of the suite runs in whichever mode `TRACER_ATTACH` names
//! (auto when unset): `TRACER_ATTACH=syscall cargo xtask test`.

mod common;

use common::*;
use serde_json::Value;

/// What the two modes must agree on: everything but clock and numbering.
fn comparable(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(o) = v.as_object_mut() {
        // ts and every duration derived from the clock (`duration_ns`, the
        // joins' `lifetime_ns`, `zombie_ns`, …), seq and what points at it.
        o.retain(|k, _| !matches!(k.as_str(), "ts" | "seq" | "sources") && !k.ends_with("_ns"));
    }
    v
}

/// Calls with every kind of record: plain, clone3's and wait4's extras,
/// the signal calls' structs in and out, execve's strings, exit_group's
/// record made at entry.
const SET: &str = "clone,clone3,mmap,mprotect,munmap,wait4,execve,rt_sigaction,rt_sigprocmask,prlimit64,exit_group";

#[test]
fn raw_and_syscall_modes_make_the_same_records() {
    if skip_without_root() {
        return;
    }
    // One comm for every workload (the programs are built under it), so
    // both tracers follow exactly them and nothing else on the machine.
    const COMM: &str = "attach-modes";
    let progs = [
        Program::compile("threads", COMM, &[]),
        Program::compile("process", COMM, &["-DWITH_HANDLER", "-DWITH_STATUS"]),
        Program::compile("odd_calls", COMM, &[]),
        Program::compile("exec_args", COMM, &[]),
    ];
    let start = |mode: &str| {
        Tracer::start(&["--attach", mode, "--syscalls", SET, "--comm", COMM, "--ringbuf-size", "64M"])
    };
    let raw = start("raw");
    let per_syscall = start("syscall");
    for p in &progs {
        run_program(&mut p.command());
    }
    let (syscall_events, syscall_err) = per_syscall.stop_with_stderr();
    let (raw_events, raw_err) = raw.stop_with_stderr();
    assert!(raw_err.iter().any(|l| l.starts_with("tracer: attached to raw_syscalls:sys_enter/sys_exit")), "{raw_err:?}");
    assert!(syscall_err.iter().any(|l| l.starts_with("tracer: attached to syscalls:sys_enter_*/sys_exit_* of clone,")), "{syscall_err:?}");

    let raw_events: Vec<Value> = raw_events.iter().map(comparable).collect();
    let syscall_events: Vec<Value> = syscall_events.iter().map(comparable).collect();
    let calls = raw_events.iter().filter(|e| e["event"] == "syscall").count();
    // threads: 2+ stack mmaps, clone3s; process: clone, wait4; odd_calls,
    // exec_args: failures, execve: well over 20 calls in all.
    assert!(calls > 20, "only {calls} syscall records: {raw_events:#?}");
    for name in ["clone3", "clone", "wait4", "execve", "rt_sigaction", "exit_group", "mprotect"] {
        assert!(raw_events.iter().any(|e| e["syscall"] == name), "no {name} record");
    }
    for (i, (r, s)) in raw_events.iter().zip(&syscall_events).enumerate() {
        assert_eq!(r, s, "record {i} differs between raw (left) and syscall (right) mode");
    }
    assert_eq!(raw_events.len(), syscall_events.len(), "as many records in both modes");

    // The summaries' loss accounting too: nothing lost, the same counts in
    // both modes. (Each program's own execve enters under the test's comm,
    // which the filter rejects, and leaves under attach-modes: an exit
    // without entry, in either mode.)
    for c in ["lost (ring buffer full)", "stash failures", "undecodable"] {
        assert_eq!((counter(&raw_err, c), counter(&syscall_err, c)), (0, 0), "{c}: {raw_err:?} {syscall_err:?}");
    }
    for c in ["exits without entry", "events written"] {
        assert_eq!(counter(&raw_err, c), counter(&syscall_err, c), "{c}: {raw_err:?} {syscall_err:?}");
    }
    assert_eq!(counter(&raw_err, "events written"), raw_events.len() as u64, "{raw_err:?}");
}

#[test]
fn syscall_mode_refuses_a_syscall_without_events() {
    if skip_without_root() {
        return;
    }
    // _sysctl (156) is sys_ni_syscall on every kernel tracer runs on: no
    // tracepoint of its own. One line, usage exit, nothing loaded.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tracer"))
        .args(["--attach", "syscall", "--syscalls", "_sysctl"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.starts_with("tracer: --attach syscall: syscall _sysctl has no syscalls:sys_enter__sysctl event"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}
