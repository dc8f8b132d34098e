//! cgroup, container_id, pod_uid and unit (issue 17) from real cgroups:
//! each runtime's layout made under the cgroup2 mount (found in
//! /proc/self/mountinfo), a real process moved into it; and the
//! resolver's cache back to its baseline after 10,000 cgroups came and went.

mod common;
use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const ID: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const POD: &str = "5d3e7c1a-9b2f-4e6d-8a1c-0f9e8d7c6b5a";

fn cgroup2_mount() -> PathBuf {
    let mi = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    tracer_user::kernel::filter::cgroup2_mount(&mi).expect("a cgroup2 mount")
}

/// A cgroup tree of the test's own under the mount, removed (deepest
/// first) on drop.
struct Tree {
    mount: PathBuf,
    top: String,
    made: Vec<PathBuf>,
}

impl Tree {
    fn new(tag: &str) -> Tree {
        let mount = cgroup2_mount();
        let top = format!("tracer-test-{tag}-{}", std::process::id());
        let mut t = Tree { mount, top: format!("/{top}"), made: Vec::new() };
        t.make("");
        t
    }

    /// `rel` under the tree's top, created with its parents; its path
    /// relative to the mount.
    fn make(&mut self, rel: &str) -> String {
        let rel = format!("{}{}{rel}", self.top, if rel.is_empty() { "" } else { "/" });
        let mut p = self.mount.clone();
        for c in rel.split('/').filter(|c| !c.is_empty()) {
            p.push(c);
            if !p.exists() {
                std::fs::create_dir(&p).unwrap_or_else(|e| panic!("mkdir {}: {e}", p.display()));
                self.made.push(p.clone());
            }
        }
        rel
    }

    fn abs(&self, rel: &str) -> PathBuf {
        self.mount.join(rel.trim_start_matches('/'))
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        for p in self.made.iter().rev() {
            let _ = std::fs::remove_dir(p);
        }
    }
}

/// Runs `/bin/true` inside cgroup `dir` (a shell moves itself in, then
/// execs); its pid.
fn run_in(dir: &Path) -> u32 {
    let procs = dir.join("cgroup.procs");
    let script = format!("echo $$ > '{}' && exec /bin/true", procs.display());
    let (pid, code) = run_program(Command::new("/bin/sh").args(["-c", &script]));
    assert_eq!(code, 0);
    pid
}

fn exit_of(events: &[Value], pid: u32) -> &Value {
    events.iter().find(|e| e["pid"] == pid && e["syscall"] == "exit_group").unwrap_or_else(|| panic!("exit_group of {pid}"))
}

#[test]
fn each_runtimes_layout_gives_its_container_pod_and_unit() {
    if skip_without_root() {
        return;
    }
    let mut tree = Tree::new("layouts");
    let pod_ = POD.replace('-', "_");
    // (layout, container_id, pod_uid, unit)
    let cases: Vec<(String, Option<&str>, Option<&str>, Option<String>)> = vec![
        (format!("system.slice/docker-{ID}.scope"), Some(ID), None, Some(format!("docker-{ID}.scope"))),
        (format!("docker/{ID}"), Some(ID), None, None),
        (
            format!("kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{pod_}.slice/cri-containerd-{ID}.scope"),
            Some(ID),
            Some(POD),
            Some(format!("cri-containerd-{ID}.scope")),
        ),
        (format!("kubepods/burstable/pod{POD}/{ID}"), Some(ID), Some(POD), None),
        (format!("kubepods.slice/crio-{ID}.scope"), Some(ID), None, Some(format!("crio-{ID}.scope"))),
        (format!("machine.slice/libpod-{ID}.scope"), Some(ID), None, Some(format!("libpod-{ID}.scope"))),
        ("system.slice/nginx.service".to_string(), None, None, Some("nginx.service".to_string())),
        ("plain".to_string(), None, None, None),
    ];
    let rels: Vec<String> = cases.iter().map(|c| tree.make(&c.0)).collect();
    let top = tree.abs(&tree.top).display().to_string();
    let tracer = Tracer::start(&["--syscalls", "exit_group", "--cgroup", &top]);
    let pids: Vec<u32> = rels.iter().map(|r| run_in(&tree.abs(r))).collect();
    std::thread::sleep(std::time::Duration::from_millis(200));
    let events = tracer.stop();
    for ((case, rel), pid) in cases.iter().zip(&rels).zip(pids) {
        let e = exit_of(&events, pid);
        assert_eq!(e["cgroup"], rel.as_str(), "{e}");
        let ino = std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(tree.abs(rel)).unwrap());
        assert_eq!(e["cgroup_id"], ino);
        assert_eq!(e["container_id"].as_str(), case.1, "{}: {e}", case.0);
        assert_eq!(e["pod_uid"].as_str(), case.2, "{}: {e}", case.0);
        assert_eq!(e["unit"].as_str(), case.3.as_deref(), "{}: {e}", case.0);
    }
}

#[test]
fn the_cache_returns_to_its_baseline_after_10000_cgroups() {
    if skip_without_root() {
        return;
    }
    let tree = Tree::new("churn");
    let dir = TempDir::new("churn");
    let prog = compile(dir.path(), "cgroup_churn", "cgroup_churn", &[]);
    let top = tree.abs(&tree.top).display().to_string();
    let tracer = Tracer::start(&["--syscalls", "getppid", "--cgroup", &top, "--stats-interval", "500ms"]);
    let n = 10_000;
    let (pid, code) = run_program(Command::new(&prog).arg(tree.abs(&tree.top)).arg(n.to_string()));
    assert_eq!(code, 0);
    // Two sweeps' time (every 5 s) after the last cgroup went.
    std::thread::sleep(std::time::Duration::from_secs(12));
    let events = tracer.stop();
    let calls: Vec<&Value> = events.iter().filter(|e| e["syscall"] == "getppid" && e["ppid"] == pid).collect();
    assert_eq!(calls.len(), n, "one call from each cgroup");
    let ids: std::collections::BTreeSet<u64> = calls.iter().map(|e| e["cgroup_id"].as_u64().unwrap()).collect();
    assert_eq!(ids.len(), n, "each in a cgroup of its own: {n} lookups");
    // Those resolved before their cgroup went name it exactly.
    for e in calls.iter().filter(|e| e.get("cgroup").is_some()) {
        let c = e["cgroup"].as_str().unwrap();
        assert!(c.starts_with(&format!("{}/c", tree.top)), "{e}");
    }
    let stats: Vec<&Value> = events.iter().filter(|e| e["event"] == "stats").collect();
    let (first, last) = (stats.first().unwrap(), stats.last().unwrap());
    eprintln!(
        "cgroups_cached: first {}, peak {}, last {}",
        first["cgroups_cached"],
        stats.iter().map(|s| s["cgroups_cached"].as_u64().unwrap()).max().unwrap(),
        last["cgroups_cached"]
    );
    // The baseline is 0: the filter lets nothing else through.
    assert_eq!(last["cgroups_cached"], 0, "every removed cgroup forgotten: {last}");
}

#[test]
fn text_format_shows_the_short_container_id() {
    if skip_without_root() {
        return;
    }
    let mut tree = Tree::new("text");
    let rel = tree.make(&format!("system.slice/docker-{ID}.scope"));
    let abs = tree.abs(&rel).display().to_string();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tracer"));
    cmd.args(["--format", "text", "--syscalls", "exit_group", "--cgroup", &abs]);
    let dir = TempDir::new("text");
    let out = dir.path().join("out.txt");
    let tracer = Tracer::start_command_to(cmd, Some(std::fs::File::create(&out).unwrap().into()));
    let pid = run_in(&tree.abs(&rel));
    std::thread::sleep(std::time::Duration::from_millis(200));
    tracer.stop();
    let text = std::fs::read_to_string(&out).unwrap();
    let want = format!("[{} pid {pid}] exit_group(0)", &ID[..12]);
    assert!(text.lines().any(|l| l.starts_with(&want)), "{want:?} in {text}");
}

#[test]
fn container_and_unit_filters_select_in_the_kernel_including_later_containers() {
    if skip_without_root() {
        return;
    }
    let mut tree = Tree::new("filters");
    let other = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";
    let later = "0123456789ab00000000000000000000000000000000000000000000000000ff";
    let before = tree.make(&format!("system.slice/docker-{ID}.scope"));
    let not_it = tree.make(&format!("system.slice/docker-{other}.scope"));
    let unit = tree.make("system.slice/tracer-test-unit.service");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tracer"));
    cmd.args(["--syscalls", "exit_group", "--container", "0123456789AB", "--unit", "tracer-test-unit.service"]);
    cmd.env("RUST_LOG", "info");
    let mut tracer = Tracer::start_command(cmd);
    let pid_before = run_in(&tree.abs(&before));
    let pid_not = run_in(&tree.abs(&not_it));
    let pid_unit = run_in(&tree.abs(&unit));
    // A container that starts after tracer: its cgroup joins the filter
    // within a rescan (tracer says so on stderr).
    let new = tree.make(&format!("kubepods/burstable/pod{POD}/{later}"));
    let said = tracer.wait_stderr("tracer: info: tracing cgroup", std::time::Duration::from_secs(60));
    assert!(said.ends_with(&new), "{said}");
    let pid_new = run_in(&tree.abs(&new));
    std::thread::sleep(std::time::Duration::from_millis(200));
    let (events, stderr) = tracer.stop_with_stderr();
    assert_eq!(exit_of(&events, pid_before)["container_id"], ID);
    assert_eq!(exit_of(&events, pid_unit)["unit"], "tracer-test-unit.service");
    let e = exit_of(&events, pid_new);
    assert_eq!((e["container_id"].as_str(), e["pod_uid"].as_str()), (Some(later), Some(POD)));
    assert!(events.iter().all(|e| e["pid"] != pid_not), "a container not asked for is filtered out");
    // Nothing outside the three: the filter ran in the kernel.
    for e in events.iter().filter(|e| e["event"] == "syscall") {
        let c = e["container_id"].as_str();
        assert!(c.is_some_and(|c| c.starts_with("0123456789ab")) || e["unit"] == "tracer-test-unit.service", "{e}");
    }
    assert!(counter(&stderr, "filtered out in the kernel") > 0, "{stderr:?}");
}
