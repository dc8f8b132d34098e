//! exec_id, parent_exec_id and ancestors (issue 17) on real processes:
//! two processes forced onto the same pid get different exec_ids, and the
//! chain up to a process that existed before tracer is right.

mod common;
use common::*;
use serde_json::Value;
use std::process::Command;

/// The exec_id tracer gives a process it found in /proc at start-up: the
/// boot id's first 16 hex digits, /proc's start tick in ns, the pid.
fn seeded_exec_id(pid: u32) -> String {
    let boot: String = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap().trim().replace('-', "")[..16].to_string();
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let ticks: u64 = stat[stat.rfind(')').unwrap() + 1..].split_ascii_whitespace().nth(19).unwrap().parse().unwrap();
    format!("{boot}-{}-{pid}", ticks * 10_000_000)
}

fn comm_of(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap().trim().to_string()
}

fn start_ns(exec_id: &Value) -> u64 {
    exec_id.as_str().unwrap().split('-').nth(1).unwrap().parse().unwrap()
}

#[test]
fn a_reused_pid_gets_a_new_exec_id_and_the_chain_stays_right() {
    if skip_without_root() {
        return;
    }
    let dir = TempDir::new("lineage");
    let prog = compile(dir.path(), "pid_reuse", "pid_reuse", &[]);
    let me = std::process::id();
    // Both children on one pid high in the range, away from the allocator.
    let max: u32 = std::fs::read_to_string("/proc/sys/kernel/pid_max").unwrap().trim().parse().unwrap();
    let tracer = Tracer::start(&["--syscalls", "getppid", "--ancestors", "3"]);
    // tracer read /proc after this process started: its id is tick-based,
    // and its own records (a traced getppid) carry that same id.
    unsafe { libc::syscall(libc::SYS_getppid) };
    let out = Command::new(&prog).arg((max - 100).to_string()).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let pid: u32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    let events = tracer.stop();

    let mine = events.iter().find(|e| e["pid"] == me && e["syscall"] == "getppid").expect("this process's getppid");
    assert_eq!(mine["exec_id"], seeded_exec_id(me), "{mine}");

    let helper: Vec<&Value> = events.iter().filter(|e| e["event"] == "fork" && e["child_pid"] == pid).collect();
    assert_eq!(helper.len(), 2, "two forks onto pid {pid}");
    let helper_pid = helper[0]["pid"].as_u64().unwrap() as u32;
    let helper_id = &helper[0]["exec_id"];
    assert_eq!(helper[1]["exec_id"], *helper_id);
    assert_eq!(helper[0]["parent_exec_id"], seeded_exec_id(me));

    let children: Vec<&Value> = events.iter().filter(|e| e["pid"] == pid && e["syscall"] == "getppid").collect();
    assert_eq!(children.len(), 2, "each child's getppid");
    let (a, b) = (children[0], children[1]);
    assert_ne!(a["exec_id"], b["exec_id"], "same pid, two processes");
    assert!(start_ns(&a["exec_id"]) < start_ns(&b["exec_id"]));
    assert!(start_ns(helper_id) <= start_ns(&a["exec_id"]));
    for c in [a, b] {
        assert!(c["exec_id"].as_str().unwrap().ends_with(&format!("-{pid}")));
        assert_eq!(c["parent_exec_id"], *helper_id, "{c}");
        let anc = c["ancestors"].as_array().unwrap();
        assert_eq!(anc.len(), 3, "{c}");
        assert_eq!((anc[0]["pid"].as_u64(), &anc[0]["exec_id"], anc[0]["comm"].as_str()), (Some(helper_pid.into()), helper_id, Some("pid_reuse")));
        // This test's process started before tracer: its chain came from /proc.
        assert_eq!((anc[1]["pid"].as_u64(), &anc[1]["exec_id"]), (Some(me.into()), &Value::from(seeded_exec_id(me))));
        assert_eq!(anc[1]["comm"], comm_of(me));
        let pp = std::os::unix::process::parent_id();
        assert_eq!((anc[2]["pid"].as_u64(), &anc[2]["exec_id"]), (Some(pp.into()), &Value::from(seeded_exec_id(pp))));
    }
    // Every exit of the two has its process's id.
    let exits: Vec<&Value> = events.iter().filter(|e| e["event"] == "exit" && e["pid"] == pid).collect();
    assert_eq!(exits.len(), 2);
    assert_eq!((&exits[0]["exec_id"], &exits[1]["exec_id"]), (&a["exec_id"], &b["exec_id"]));
}

#[test]
fn exec_keeps_the_exec_id_and_fields_can_drop_the_ids() {
    if skip_without_root() {
        return;
    }
    let t = trace(&["--syscalls", "execve,exit_group"], Command::new("/bin/sh").args(["-c", "exec /bin/true"]));
    let ev = t.events();
    let ids: std::collections::BTreeSet<&str> = ev.iter().map(|e| e["exec_id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 1, "sh and the true it became are one incarnation: {ids:?}");
    assert!(ev.iter().any(|e| e["event"] == "exec" && e["comm"] == "true"));
    assert!(ev.iter().all(|e| e.get("ancestors").is_none()), "--ancestors defaults to 0");
    let t = trace(&["--syscalls", "exit_group", "--fields=-exec_id,-parent_exec_id"], &mut Command::new("/bin/true"));
    assert!(!t.events().is_empty());
    assert!(t.all.iter().all(|e| e.get("exec_id").is_none() && e.get("parent_exec_id").is_none()));
}

/// Without the lifecycle hooks tracer never sees the first child exit:
/// only the start time in the second child's header tells them apart.
#[test]
fn a_reused_pid_is_told_apart_without_lifecycle_events() {
    if skip_without_root() {
        return;
    }
    let dir = TempDir::new("lineage-nolc");
    let prog = compile(dir.path(), "pid_reuse", "pid_reuse", &[]);
    let max: u32 = std::fs::read_to_string("/proc/sys/kernel/pid_max").unwrap().trim().parse().unwrap();
    let tracer = Tracer::start(&["--syscalls", "getppid", "--no-lifecycle", "--ancestors", "1"]);
    let out = Command::new(&prog).arg((max - 300).to_string()).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let pid: u32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    let events = tracer.stop();
    let children: Vec<&Value> = events.iter().filter(|e| e["pid"] == pid && e["syscall"] == "getppid").collect();
    assert_eq!(children.len(), 2);
    assert_ne!(children[0]["exec_id"], children[1]["exec_id"]);
    assert_eq!(children[0]["parent_exec_id"], children[1]["parent_exec_id"]);
    assert_eq!(children[0]["ancestors"][0]["exec_id"], children[0]["parent_exec_id"]);
}
