//! Exactly one exit per process says the thread group died, however its
//! threads race to exit: the stress test for `group_dead` on kernels whose
//! `sched_process_exit` does not pass it (before 6.16), where tracer takes
//! it from `taskstats_exit` (see `lifecycle_exit_taskstats` in
//! `tracer-ebpf/src/sched.rs`).
//!
//! The first test uses the source tracer picks for the running kernel, or
//! the one `TRACER_EXIT_GROUP_DEAD` names in the test's environment: run it
//! with `TRACER_EXIT_GROUP_DEAD=live` (the old `signal->live` read) to see
//! it fail.

mod common;
use common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::process::Command;

/// Processes of each kind `group_exit.c` forks, and threads besides main.
const PROCS: usize = 30;
const THREADS: usize = 8;

/// Traces `group_exit`, then checks every child: THREADS + 1 exit records,
/// exactly one of them `group_dead`, nothing lost.
fn one_group_dead_per_process(tracer: Command) {
    let prog = Program::compile("group_exit", "group_exit", &[]);
    let mut cmd = prog.command();
    cmd.args([PROCS.to_string(), THREADS.to_string()]);
    let Traced { all, stderr, pid, code } = trace_command(tracer, &mut cmd);
    assert_eq!(code, 0, "group_exit failed");
    assert_eq!(counter(&stderr, "lost (ring buffer full)"), 0, "{stderr:?}");
    // Not the racy last resort, unless asked for.
    assert!(stderr.iter().all(|l| !l.contains("cannot hook taskstats_exit")), "{stderr:?}");
    let children: Vec<u64> = events_named(&events_of_pid(&all, pid), "fork")
        .iter()
        .filter(|f| f["thread"] == false)
        .map(|f| f["child_pid"].as_u64().unwrap())
        .collect();
    assert_eq!(children.len(), 3 * PROCS, "one fork record per child");
    let mut exits: BTreeMap<u64, Vec<&Value>> = children.iter().map(|&c| (c, Vec::new())).collect();
    for e in all.iter().filter(|e| e["event"] == "exit") {
        if let Some(v) = e["pid"].as_u64().and_then(|p| exits.get_mut(&p)) {
            v.push(e);
        }
    }
    let mut wrong = Vec::new();
    for (child, ex) in &exits {
        let dead: Vec<u64> = ex.iter().filter(|e| e["group_dead"] == true).map(|e| e["tid"].as_u64().unwrap()).collect();
        assert_eq!(ex.len(), THREADS + 1, "process {child}: one exit record per thread: {ex:?}");
        if dead.len() != 1 {
            wrong.push(format!("process {child}: group_dead on threads {dead:?}"));
        }
    }
    assert!(wrong.is_empty(), "{} of {} processes without exactly one group_dead exit:\n{}", wrong.len(), exits.len(), wrong.join("\n"));
}

fn tracer() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tracer"));
    cmd.args(["--syscalls", "wait4"]);
    cmd
}

#[test]
fn each_process_has_exactly_one_group_dead_exit() {
    if skip_without_root() {
        return;
    }
    one_group_dead_per_process(tracer());
}

#[test]
fn an_unknown_group_dead_source_is_one_line_and_exit_1() {
    if skip_without_root() {
        return;
    }
    let out = Command::new(env!("CARGO_BIN_EXE_tracer"))
        .env("TRACER_EXIT_GROUP_DEAD", "guess")
        .args(["--", "/bin/true"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| !l.starts_with("tracer: warn:")).collect();
    assert_eq!(errors, ["tracer: TRACER_EXIT_GROUP_DEAD is \"guess\"; it must be arg, taskstats or live"]);
}
