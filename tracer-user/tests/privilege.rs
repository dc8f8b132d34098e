//! Least privilege: tracer works as an unprivileged user holding only
//! CAP_BPF and CAP_PERFMON; without them it names what is missing and exits
//! 77; with `--drop-privileges` it runs on as that user with no capability
//! at all, and its loss accounting still adds up.

mod common;
use common::*;

use std::os::unix::fs::MetadataExt as _;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

const NOBODY: u32 = 65534;
const CAP_PERFMON: u32 = 38;
const CAP_BPF: u32 = 39;

/// `tracer ARGS` as uid/gid 65534 with no groups and exactly `caps`
/// (setpriv names, e.g. `["bpf", "perfmon"]`) in every set that matters.
fn as_nobody_with(caps: &[&str], args: &[&str]) -> Command {
    let set: String = std::iter::once("-all".to_string()).chain(caps.iter().map(|c| format!("+{c}"))).collect::<Vec<_>>().join(",");
    let mut cmd = Command::new("setpriv");
    cmd.args([&format!("--reuid={NOBODY}"), &format!("--regid={NOBODY}"), "--clear-groups"]);
    cmd.arg(format!("--inh-caps={set}")).arg(format!("--bounding-set={set}"));
    if !caps.is_empty() {
        cmd.arg(format!("--ambient-caps={set}"));
    }
    cmd.arg(env!("CARGO_BIN_EXE_tracer")).args(args);
    cmd
}

/// A field of /proc/PID/status, e.g. `Uid` → "65534\t65534\t65534\t65534".
fn status(pid: u32, field: &str) -> String {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    s.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
        .trim()
        .to_string()
}

fn cap_set(pid: u32, field: &str) -> u64 {
    u64::from_str_radix(&status(pid, field), 16).unwrap()
}

/// tracer's own lines on stderr, without the RLIMIT_MEMLOCK notice an
/// unprivileged process always gets.
fn own_lines(stderr: &[String]) -> Vec<&String> {
    stderr.iter().filter(|l| !l.contains("RLIMIT_MEMLOCK")).collect()
}

#[test]
fn as_nobody_with_only_cap_bpf_and_cap_perfmon_it_traces_and_exits_0() {
    if skip_without_root() {
        return;
    }
    if std::env::var("TRACER_ATTACH").is_ok_and(|m| m == "syscall") {
        // The per-syscall events are found in tracefs, which only root can
        // read: refused in one line, before anything is loaded (auto falls
        // back to raw_syscalls instead, the case below).
        let out = as_nobody_with(&["bpf", "perfmon"], &["--syscalls", "getcpu"]).output().unwrap();
        let stderr: Vec<String> = String::from_utf8_lossy(&out.stderr).lines().map(str::to_string).collect();
        assert_eq!(out.status.code(), Some(2), "{stderr:?}");
        let own = own_lines(&stderr);
        assert_eq!(own.len(), 1, "{stderr:?}");
        assert!(own[0].starts_with("tracer: --attach syscall: cannot read tracefs ("), "{stderr:?}");
        return;
    }
    let tracer = Tracer::start_command(as_nobody_with(&["bpf", "perfmon"], &["--syscalls", "getcpu"]));
    let pid = tracer.pid();
    // It really is nobody, with those two capabilities and nothing else.
    assert_eq!(status(pid, "Uid"), "65534\t65534\t65534\t65534");
    assert_eq!(cap_set(pid, "CapEff"), 1 << CAP_BPF | 1 << CAP_PERFMON);
    assert_eq!(cap_set(pid, "CapBnd"), 1 << CAP_BPF | 1 << CAP_PERFMON);
    let tid = gettid();
    getcpu(1000);
    let events = tracer.stop();
    let mine = events.iter().filter(|e| e["syscall"] == "getcpu" && e["tid"] == tid).count();
    assert_eq!(mine, 1000);
}

/// Runs tracer as nobody with `caps`; returns its exit code and stderr.
fn refused(caps: &[&str], extra: &[&str]) -> (i32, Vec<String>) {
    let mut args = vec!["--syscalls", "getcpu"];
    args.extend_from_slice(extra);
    let out = as_nobody_with(caps, &args).stdin(Stdio::null()).output().unwrap();
    assert!(out.stdout.is_empty(), "nothing on stdout");
    let stderr = String::from_utf8(out.stderr).unwrap().lines().map(str::to_owned).collect();
    (out.status.code().unwrap(), stderr)
}

#[test]
fn without_enough_privilege_it_names_the_missing_capability_and_exits_77() {
    if skip_without_root() {
        return;
    }
    let needs = ": loading and attaching the BPF programs needs CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN; root has all three)";
    for (caps, missing) in [
        (&["bpf"][..], "CAP_PERFMON"),
        (&["perfmon"][..], "CAP_BPF"),
        (&[][..], "CAP_BPF and CAP_PERFMON"),
        // Unrelated capabilities do not count.
        (&["net_admin", "sys_ptrace"][..], "CAP_BPF and CAP_PERFMON"),
    ] {
        let (code, stderr) = refused(caps, &[]);
        assert_eq!(code, 77, "{caps:?}: {stderr:?}");
        assert_eq!(own_lines(&stderr), [&format!("tracer: missing {missing}{needs}")], "{caps:?}: one line, naming it");
    }
    // Switching to another user needs CAP_SETUID and CAP_SETGID as well
    // (uid 1, `daemon` on Debian).
    let (code, stderr) = refused(&["bpf", "perfmon"], &["--drop-privileges", "1"]);
    assert_eq!(code, 77, "{stderr:?}");
    let line = own_lines(&stderr);
    assert_eq!(line.len(), 1, "{stderr:?}");
    assert!(line[0].starts_with("tracer: missing CAP_SETUID and CAP_SETGID: --drop-privileges "), "{}", line[0]);
    // Control: dropping to the user it already is needs nothing more, and
    // still gives up the two capabilities once attached. (`--attach raw`
    // in every mode: as nobody, tracefs cannot be read.)
    let tracer = Tracer::start_command(as_nobody_with(
        &["bpf", "perfmon"],
        &["--attach", "raw", "--syscalls", "getcpu", "--drop-privileges", "nobody"],
    ));
    assert_eq!(cap_set(tracer.pid(), "CapEff"), 0);
    assert_eq!(cap_set(tracer.pid(), "CapAmb"), 0);
    let tid = gettid();
    getcpu(10);
    assert_eq!(tracer.stop().iter().filter(|e| e["tid"] == tid).count(), 10);
    // An unknown user is a usage error, told before anything is loaded.
    let (code, stderr) = refused(&["bpf", "perfmon"], &["--drop-privileges", "no-such-user-here"]);
    assert_eq!((code, own_lines(&stderr)), (2, vec![&"tracer: --drop-privileges: no user named 'no-such-user-here' on this machine".to_string()]));
}

#[test]
fn after_drop_privileges_it_has_no_capability_and_still_traces_and_counts_losses() {
    if skip_without_root() {
        return;
    }
    let dir = TempDir::new("drop");
    let file = dir.path().join("events.jsonl");
    let by_pid = dir.path().join("by-pid");
    let me = std::process::id().to_string();
    let tracer = Tracer::start(&[
        "--no-lifecycle",
        "--syscalls", "getcpu",
        "--pid", &me,
        // One page: a burst overflows it, so the kernel's loss counters
        // must be read after the drop.
        "--ringbuf-size", "4K",
        "--queue-size", "64M",
        "--drop-privileges", "nobody",
        "--output", file.to_str().unwrap(),
        "--output-dir", by_pid.to_str().unwrap(),
    ]);
    let pid = tracer.pid();
    assert_eq!(status(pid, "Uid"), "65534\t65534\t65534\t65534");
    assert_eq!(status(pid, "Gid"), "65534\t65534\t65534\t65534");
    assert_eq!(status(pid, "Groups"), "65534");
    for set in ["CapInh", "CapPrm", "CapEff", "CapAmb"] {
        assert_eq!(cap_set(pid, set), 0, "{set}");
    }
    assert_eq!(status(pid, "NoNewPrivs"), "1");

    // Events flow: fewer calls than the one-page ring holds (22 records of
    // 176 bytes + 8 of header), so none can be lost however slowly the
    // daemon reads: the ring keeps what it took, only what arrives when it
    // is full is lost.
    let tid = gettid();
    let trickle = 16;
    getcpu(trickle);
    // Then a burst it cannot hold.
    let (threads, calls) = (2usize, 100_000usize);
    let burst: Vec<_> = (0..threads).map(|_| std::thread::spawn(move || getcpu(calls))).collect();
    for b in burst {
        b.join().unwrap();
    }
    std::thread::sleep(Duration::from_millis(1200));
    let (_, stderr) = tracer.stop_with_stderr();

    let lines = read_jsonl(&file);
    assert_eq!(lines.iter().map(|v| v["seq"].as_u64().unwrap()).collect::<Vec<_>>(), (0..lines.len() as u64).collect::<Vec<_>>(), "the file lost nothing");
    let written = lines.iter().filter(|e| e["tid"] == tid).count();
    assert_eq!(written, trickle, "every call of the trickle was traced after the drop");
    let events = lines.iter().filter(|e| e["event"] == "syscall").count();
    let lost = counter(&stderr, "lost (ring buffer full)");
    assert!(lost > 0, "the burst overflowed the ring (control)");
    let reported: u64 = lines.iter().filter(|e| e["event"] == "lost" && e["where"] == "kernel").map(|e| e["count"].as_u64().unwrap()).sum();
    assert_eq!(reported, lost, "lost records, made from counters read after the drop, add up to the kernel's count");
    assert_eq!(events as u64 + lost, (trickle + threads * calls) as u64, "every call written or counted lost");

    // Per-process files were created after the drop, as nobody.
    let mine = by_pid.join(format!("{}.jsonl", std::process::id()));
    assert_eq!(std::fs::metadata(&mine).unwrap().uid(), NOBODY);
    let per_pid = read_jsonl(&mine);
    assert_eq!(per_pid.len(), events);
    let own: Vec<Value> = read_jsonl(&by_pid.join("tracer.jsonl"));
    assert_eq!(own.iter().filter(|e| e["event"] == "lost").count(), lines.iter().filter(|e| e["event"] == "lost").count());
}
