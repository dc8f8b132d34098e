//! The whole story of a thread and a process: lifecycle events from the
//! scheduler and signal tracepoints, and the records tracer joins from them
//! (thread_create, reaped, unreaped), each checked value by value against
//! the raw events it came from.

mod common;
use common::*;
use serde_json::{Value, json};
use std::process::Command;

const THREAD_FLAGS: &str = "CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID";

fn by_seq(all: &[Value], seq: &Value) -> Value {
    all.iter().find(|e| &e["seq"] == seq).cloned().unwrap_or_else(|| panic!("no event with seq {seq}"))
}

/// Nanoseconds of the day of an event's `ts` (the runs here never span midnight).
fn ts_ns(e: &Value) -> u64 {
    let t = e["ts"].as_str().unwrap();
    let (hms, frac) = t[11..].trim_end_matches('Z').split_once('.').unwrap();
    let hms: Vec<u64> = hms.split(':').map(|x| x.parse().unwrap()).collect();
    ((hms[0] * 60 + hms[1]) * 60 + hms[2]) * 1_000_000_000 + frac.parse::<u64>().unwrap()
}

/// The events a correlated record names in `sources`.
fn sources(all: &[Value], r: &Value) -> Vec<Value> {
    r["sources"].as_array().unwrap().iter().map(|s| by_seq(all, s)).collect()
}

#[test]
fn thread_create_equals_its_stack_mmap_guard_mprotect_and_clone3() {
    if skip_without_root() {
        return;
    }
    let prog = Program::compile("threads", "threads", &[]);
    let Traced { all, pid, code, .. } = trace(&[], &mut prog.command());
    assert_eq!(code, 0);
    let ev = events_of_pid(&all, pid);

    let tc = events_named(&ev, "thread_create");
    assert_eq!(tc.len(), 1, "{tc:#?}");
    let t = tc[0];
    let [mmap, mprotect, clone3] = &sources(&all, t)[..] else { panic!("sources {}", t["sources"]) };
    assert_eq!((mmap["syscall"].as_str(), mprotect["syscall"].as_str(), clone3["syscall"].as_str()), (Some("mmap"), Some("mprotect"), Some("clone3")));
    assert_eq!(mmap["args"]["flags"], "MAP_PRIVATE|MAP_ANONYMOUS|MAP_STACK");

    // Every value equals the raw event's.
    let base = mmap["ret"].as_u64().unwrap();
    assert_eq!(t["stack_base"], hex(base));
    assert_eq!(t["stack_base"], clone3["args"]["cl_args"]["stack"]);
    assert_eq!(t["map_size"], mmap["args"]["len"]);
    assert_eq!(t["map_size"], 8392704);
    assert_eq!(parse_hex(&mprotect["args"]["start"]) - base, 4096);
    assert_eq!(t["guard_size"], 4096);
    assert_eq!(t["stack_size"], clone3["args"]["cl_args"]["stack_size"]);
    assert_eq!(t["tls"], clone3["args"]["cl_args"]["tls"]);
    assert_eq!(t["flags"], clone3["args"]["cl_args"]["flags"]);
    assert_eq!(t["flags"], THREAD_FLAGS);
    assert_eq!(t["child_tid"], clone3["ret"]);
    assert_eq!(t["child_tid"], clone3["args"]["cl_args_out"]["parent_tid"]);
    assert_eq!(t["parent_tid"], pid);
    assert_eq!(t["tid"], clone3["tid"]);
    assert_eq!(t["syscall"], "clone3");
    assert_eq!(t["stack_reused"], false);
    assert!(t.get("reused_from_tid").is_none());
    assert!(t["seq"].as_u64() > clone3["seq"].as_u64(), "the record follows the clone3 it completes");

    // The kernel's side of the same thread: a fork event marked thread.
    let forks = events_named(&ev, "fork");
    assert_eq!(forks.len(), 1);
    assert_eq!(forks[0]["child_tid"], t["child_tid"]);
    assert_eq!(forks[0]["child_pid"], pid);
    assert_eq!(forks[0]["thread"], true);
    // Its exit: not the whole group; the process's own last exit is.
    let exits = events_named(&ev, "exit");
    let thread_exit = exits.iter().find(|e| e["tid"] == t["child_tid"]).expect("the thread's exit");
    assert_eq!((thread_exit["group_dead"].as_bool(), thread_exit["exit_code"].as_u64()), (Some(false), Some(0)));
    let last = exits.iter().find(|e| e["tid"] == pid).expect("the main thread's exit");
    assert_eq!(last["group_dead"], true);

    // Control: --no-correlate gives the raw events and no join.
    let Traced { all, pid, .. } = trace(&["--no-correlate"], &mut prog.command());
    let ev = events_of_pid(&all, pid);
    assert_eq!(syscalls_named(&ev, "clone3").len(), 1);
    assert!(events_named(&ev, "thread_create").is_empty());
}

#[test]
fn a_second_thread_after_the_first_reuses_its_cached_stack() {
    if skip_without_root() {
        return;
    }
    let prog = Program::compile("threads2", "threads2", &[]);
    let Traced { all, pid, code, .. } = trace(&[], &mut prog.command());
    assert_eq!(code, 0);
    let ev = events_of_pid(&all, pid);

    let stacks: Vec<_> = syscalls_named(&ev, "mmap").into_iter().filter(|e| e["args"]["flags"] == "MAP_PRIVATE|MAP_ANONYMOUS|MAP_STACK").collect();
    assert_eq!(stacks.len(), 1, "glibc maps one stack for both threads");
    let clones = syscalls_named(&ev, "clone3");
    assert_eq!(clones.len(), 2);
    let tc = events_named(&ev, "thread_create");
    assert_eq!(tc.len(), 2);
    assert_eq!(tc[0]["stack_reused"], false);
    assert_eq!(tc[1]["stack_reused"], true);
    assert_eq!(tc[1]["reused_from_tid"], tc[0]["child_tid"]);
    assert_eq!(tc[1]["child_tid"], clones[1]["ret"]);
    // The same stack, as the second clone3 says; the mapping is the first's.
    assert_eq!(tc[1]["stack_base"], clones[1]["args"]["cl_args"]["stack"]);
    assert_eq!(tc[1]["stack_base"], hex(stacks[0]["ret"].as_u64().unwrap()));
    assert_eq!(tc[1]["map_size"], stacks[0]["args"]["len"]);
    assert_eq!(tc[1]["tls"], clones[1]["args"]["cl_args"]["tls"]);
    // Its only source is the clone3: no mmap or mprotect was made for it.
    assert_eq!(tc[1]["sources"], json!([clones[1]["seq"]]));
}

#[test]
fn process_program_tells_fork_exit_sigchld_and_reaped() {
    if skip_without_root() {
        return;
    }
    let prog = Program::compile("process", "process", &[]);
    let Traced { all, pid, code, .. } = trace(&[], &mut prog.command());
    assert_eq!(code, 0);
    let ev = events_of_pid(&all, pid);

    // exec: the test's fork became the program.
    let execs = events_named(&ev, "exec");
    assert_eq!(execs.len(), 1);
    assert_eq!(execs[0]["filename"], prog.bin.to_str().unwrap());
    assert_eq!(execs[0]["comm"], "process");
    // The test thread that forked it named the child.
    let test_comm: String = std::fs::read_to_string("/proc/thread-self/comm").unwrap().trim_end().into();
    assert_eq!(execs[0]["old_comm"], test_comm.as_str(), "the comm it had before: the test thread's");

    // fork: parent and child, a process not a thread.
    let forks = events_named(&ev, "fork");
    assert_eq!(forks.len(), 1);
    let f = forks[0];
    let child = f["child_pid"].as_u64().unwrap();
    assert_eq!(f["child_tid"], child);
    assert_eq!(f["thread"], false);
    assert_eq!(f["tid"], pid);
    assert_eq!(syscalls_named(&ev, "clone")[0]["ret"], child);

    // exit: code 1, the whole (one-thread) process.
    let cev = events_of_pid(&all, child as u32);
    let exits = events_named(&cev, "exit");
    assert_eq!(exits.len(), 1);
    assert_eq!(exits[0]["exit_code"], 1);
    assert_eq!(exits[0]["group_dead"], true);
    assert_eq!(exits[0]["ppid"], pid);
    assert!(exits[0].get("signal").is_none());

    // SIGCHLD: generated by the dying child for the parent, CLD_EXITED, status 1.
    let sigs = events_named(&cev, "signal");
    assert_eq!(sigs.len(), 1, "{sigs:#?}");
    let s = sigs[0];
    assert_eq!(s["signal"], "SIGCHLD");
    assert_eq!(s["phase"], "generate");
    assert_eq!(s["si_code"], "CLD_EXITED");
    assert_eq!(s["si_status"], 1);
    assert_eq!(s["si_pid"], child);
    assert_eq!(s["target_pid"], pid);
    assert_eq!(s["target_comm"], "process");
    // The parent does not catch SIGCHLD: the default action discards it
    // (strace shows it only because ptrace keeps ignored signals alive).
    assert_eq!(s["result"], "ignored");
    assert!(all.iter().all(|e| !(e["event"] == "signal" && e["phase"] == "deliver" && e["si_pid"] == child)), "never delivered");

    // reaped: the four joined, the values the raw events'.
    let reaped = events_named(&ev, "reaped");
    assert_eq!(reaped.len(), 1);
    let r = reaped[0];
    assert_eq!(r["child_pid"], child);
    assert_eq!(r["child_comm"], "process");
    assert_eq!(r["exit_code"], 1);
    assert_eq!(r["si_code"], "CLD_EXITED");
    assert_eq!(r["si_status"], 1);
    assert_eq!(r["sigchld_result"], "ignored");
    let [fork, exit, sig, wait] = &sources(&all, r)[..] else { panic!("sources {}", r["sources"]) };
    assert_eq!((&fork["event"], &exit["event"], &sig["event"], &wait["syscall"]), (&json!("fork"), &json!("exit"), &json!("signal"), &json!("wait4")));
    assert_eq!(wait["ret"], child);
    assert_eq!(r["zombie_ns"].as_u64().unwrap(), ts_ns(wait) - ts_ns(exit), "zombie from exit to wait4's return");
    assert_eq!(r["lifetime_ns"].as_u64().unwrap(), ts_ns(exit) - ts_ns(fork), "alive from fork to exit");
}

#[test]
fn a_caught_sigchld_is_generated_then_delivered() {
    if skip_without_root() {
        return;
    }
    let prog = Program::compile("process", "process_handler", &["-DWITH_HANDLER"]);
    let Traced { all, pid, code, .. } = trace(&[], &mut prog.command());
    assert_eq!(code, 0);
    let ev = events_of_pid(&all, pid);
    let child = events_named(&ev, "fork")[0]["child_pid"].as_u64().unwrap();
    let generated: Vec<_> = all.iter().filter(|e| e["event"] == "signal" && e["phase"] == "generate" && e["si_pid"] == child).collect();
    assert_eq!(generated.len(), 1);
    assert_eq!(generated[0]["result"], "delivered");
    let delivered = events_named(&ev, "signal").into_iter().filter(|e| e["phase"] == "deliver").collect::<Vec<_>>();
    assert_eq!(delivered.len(), 1, "{delivered:#?}");
    let d = delivered[0];
    assert_eq!(d["tid"], pid, "delivered to the parent's thread");
    assert_eq!((d["si_code"].as_str(), d["si_status"].as_i64(), d["si_pid"].as_u64()), (Some("CLD_EXITED"), Some(1), Some(child)));
    assert_ne!(d["sa_handler"], "SIG_DFL");
    assert!(d["sa_handler"].as_str().unwrap().starts_with("0x"));
    assert_eq!(events_named(&ev, "reaped")[0]["sigchld_result"], "delivered");
}

#[test]
fn a_parent_exiting_without_waiting_leaves_its_children_unreaped() {
    if skip_without_root() {
        return;
    }
    let prog = Program::compile("orphan", "orphan", &[]);
    let tracer = Tracer::start(&[]);
    let (pid, code) = run_program(&mut prog.command());
    assert_eq!(code, 0);
    // The second child exits once the parent is gone (its pipe reads EOF).
    std::thread::sleep(std::time::Duration::from_millis(200));
    let all = tracer.stop();
    let ev = events_of_pid(&all, pid);
    let forks = events_named(&ev, "fork");
    assert_eq!(forks.len(), 2);
    let (zombie, running) = (forks[0]["child_pid"].as_u64().unwrap(), forks[1]["child_pid"].as_u64().unwrap());

    let un = events_named(&ev, "unreaped");
    assert_eq!(un.len(), 2, "{un:#?}");
    let parent_exit = events_named(&ev, "exit").into_iter().find(|e| e["group_dead"] == true).unwrap();
    let z = un.iter().find(|u| u["child_pid"] == zombie).expect("the zombie");
    assert_eq!(z["child_exited"], true);
    assert_eq!(z["exit_code"], 3);
    assert_eq!(z["child_comm"], "orphan");
    assert!(z["zombie_ns"].as_u64().unwrap() >= 40_000_000, "it was a zombie for the parent's 50 ms sleep: {z}");
    let srcs = sources(&all, z);
    assert_eq!(srcs.last().unwrap()["seq"], parent_exit["seq"]);
    assert!(srcs.iter().any(|e| e["event"] == "exit" && e["pid"] == zombie && e["exit_code"] == 3));
    let r = un.iter().find(|u| u["child_pid"] == running).expect("the running child");
    assert_eq!(r["child_exited"], false);
    assert!(r.get("exit_code").is_none() && r.get("zombie_ns").is_none());
    // The kernel's own list at the parent's death names the same two.
    let mut left: Vec<u64> = parent_exit["children_left"].as_array().expect("children_left").iter().map(|v| v.as_u64().unwrap()).collect();
    left.sort();
    assert_eq!(left, vec![zombie, running]);
    // Control: nothing of the parent's was reaped by it.
    assert!(events_named(&ev, "reaped").is_empty());
    // The orphan's own death still reports (it exits once the parent's
    // exit closed the pipe: before or after it was reparented, a race).
    let later = events_of_pid(&all, running as u32);
    let e = events_named(&later, "exit");
    assert_eq!(e[0]["exit_code"], 4);
}

#[test]
fn a_pid_namespace_shows_host_and_namespace_ids() {
    if skip_without_root() {
        return;
    }
    let prog = Program::compile("process", "process_ns", &[]);
    let Traced { all, pid: unshare, code, .. } = trace(&[], Command::new("unshare").arg("--pid").arg("--fork").arg(&prog.bin));
    assert_eq!(code, 0);

    // unshare (host namespace) forks the namespace's init: pid 1 inside.
    let uev = events_of_pid(&all, unshare);
    let f = events_named(&uev, "fork");
    assert_eq!(f.len(), 1);
    let init = f[0]["child_pid"].as_u64().unwrap();
    assert_eq!(f[0]["child_ns_pid"], 1);
    assert!(f[0].get("ns_pid").is_none(), "unshare itself is in the host namespace");

    let iev = events_of_pid(&all, init as u32);
    assert!(!iev.is_empty());
    for e in &iev {
        assert_eq!((e["ns_level"].as_u64(), e["ns_pid"].as_u64(), e["ns_tid"].as_u64()), (Some(1), Some(1), Some(1)), "{e}");
        assert_eq!(e["ppid"], unshare);
        assert_eq!(e["ns_ppid"], 0, "its parent is outside the namespace");
    }
    // Its child: pid 2 inside, the host pid outside; wait4 inside returns 2.
    let cf = events_named(&iev, "fork");
    assert_eq!(cf.len(), 1);
    let child = cf[0]["child_pid"].as_u64().unwrap();
    assert_eq!(cf[0]["child_ns_pid"], 2);
    let cexit = events_named(&events_of_pid(&all, child as u32), "exit")[0].clone();
    assert_eq!((cexit["ns_pid"].as_u64(), cexit["ns_ppid"].as_u64(), cexit["exit_code"].as_u64()), (Some(2), Some(1), Some(1)));
    let w = syscalls_named(&iev, "wait4");
    assert_eq!(w[0]["ret"], 2);
    // The reaped record names the child by its host pid all the same.
    let r = events_named(&iev, "reaped");
    assert_eq!(r.len(), 1);
    assert_eq!(r[0]["child_pid"], child);
    assert_eq!(r[0]["exit_code"], 1);
}

#[test]
fn no_lifecycle_leaves_only_syscalls() {
    if skip_without_root() {
        return;
    }
    let prog = Program::compile("process", "process", &[]);
    let Traced { all, stderr, pid, .. } = trace(&["--no-lifecycle"], &mut prog.command());
    let ev = events_of_pid(&all, pid);
    assert_eq!(syscalls_named(&ev, "clone").len(), 1);
    for kind in ["fork", "exec", "exit", "signal"] {
        assert!(all.iter().all(|e| e["event"] != kind), "no {kind} events without the lifecycle hooks");
    }
    // Either attach mode (TRACER_ATTACH), and no lifecycle hook named.
    assert!(stderr.iter().any(|l| l.starts_with("tracer: attached to ") && l.contains("sys_exit") && !l.contains("sched_process")));
}

#[test]
fn lifecycle_events_obey_the_filters() {
    if skip_without_root() {
        return;
    }
    let prog = Program::compile("process", "process", &[]);

    // tracer -- CMD: the command's tree only, its whole story.
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tracer"));
    cmd.arg("--").arg(&prog.bin);
    let (mut all, _, code) = Tracer::start_command(cmd).wait_exit();
    assert_eq!(code, 0, "tracer exits with the command's status");
    all.retain(|e| e["event"] != "start"); // tracer's own first line
    let exec = events_named(&all.iter().collect::<Vec<_>>(), "exec")[0].clone();
    let pid = exec["pid"].as_u64().unwrap();
    let fork = all.iter().find(|e| e["event"] == "fork").expect("the fork");
    let child = fork["child_pid"].as_u64().unwrap();
    assert!(all.iter().all(|e| e["pid"] == pid || e["pid"] == child), "only the command's tree");
    let kinds: std::collections::BTreeSet<&str> = all.iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["exec", "exit", "fork", "reaped", "signal", "syscall"].into_iter().collect());
    let sig = all.iter().find(|e| e["event"] == "signal").unwrap();
    assert_eq!((sig["pid"].as_u64(), sig["target_pid"].as_u64(), sig["si_status"].as_i64()), (Some(child), Some(pid), Some(1)));

    // --comm: machine-wide, but only tasks of that name (control: the
    // test's own forks, by another comm, are not reported).
    let Traced { all, pid: ppid, .. } = trace(&["--comm", "process"], &mut prog.command());
    assert!(all.iter().all(|e| e["comm"] == "process"), "{:?}", all.iter().find(|e| e["comm"] != "process"));
    // Machine-wide: other tests of this file, running the same program at
    // the same time, may show up too; this run's program forked once.
    let forks: Vec<_> = all.iter().filter(|e| e["event"] == "fork" && e["pid"] == ppid).collect();
    assert_eq!(forks.len(), 1, "the program's fork");
    let child = forks[0]["child_pid"].clone();
    assert!(all.iter().any(|e| e["event"] == "exit" && e["pid"] == child && e["exit_code"] == 1));
}

#[test]
fn children_reaped_without_wait4_are_not_reported_unreaped() {
    if skip_without_root() {
        return;
    }
    let prog = Program::compile("other_reaping", "other_reaping", &[]);
    let Traced { all, pid, code, .. } = trace(&[], &mut prog.command());
    assert_eq!(code, 0);
    let ev = events_of_pid(&all, pid);
    let forks = events_named(&ev, "fork");
    assert_eq!(forks.len(), 2);
    for f in &forks {
        let child = f["child_pid"].as_u64().unwrap() as u32;
        let exits = events_named(&events_of_pid(&all, child), "exit");
        assert_eq!(exits.len(), 1, "both children died");
    }
    // The kernel's children list was empty when the parent died: waitid
    // reaped one, the kernel the other. Nothing unreaped, nothing joined as
    // reaped (no wait4 saw them).
    let parent_exit = events_named(&ev, "exit").into_iter().find(|e| e["group_dead"] == true).unwrap();
    assert!(parent_exit.get("children_left").is_none(), "{parent_exit}");
    assert!(events_named(&ev, "unreaped").is_empty());
    assert!(events_named(&ev, "reaped").is_empty());
    // The ignored SIGCHLD of the auto-reaped child is not even generated:
    // the kernel drops it before (sig 0), only the first child's exists.
    let sigs: Vec<_> = all.iter().filter(|e| e["event"] == "signal" && e["target_pid"] == pid).collect();
    assert_eq!(sigs.len(), 1, "{sigs:?}");
    assert_eq!(sigs[0]["si_status"], 5);
}

/// Every syscall set that reaches execve's capture, and `all`, loads on this
/// kernel with no program refused by the verifier and no BTF form falling
/// back to its raw one (a rejection is a warning line naming the program);
/// so do the lifecycle hooks, and the run of `/bin/true` exits 0.
#[test]
fn every_syscall_set_loads_with_no_program_rejected() {
    if skip_without_root() {
        return;
    }
    for set in ["execve", "%process", "all"] {
        let out = Command::new(env!("CARGO_BIN_EXE_tracer"))
            .args(["--syscalls", set, "--output", "/dev/null", "--", "/bin/true"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "--syscalls {set}: {stderr}");
        assert!(!stderr.contains("verifier"), "--syscalls {set}: {stderr}");
    }
}
