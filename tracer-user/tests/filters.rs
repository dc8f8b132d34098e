//! The in-kernel filters (`--cgroup`, `--comm`, `--pid`) and `tracer -- CMD`,
//! on real programs: what a filter names is traced, a control it does not
//! name is absent, and bad input is refused before anything is loaded.

mod common;
use common::*;

use std::ffi::CString;
use std::io::Write as _;
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::MetadataExt as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

use serde_json::Value;

const PAGE: u64 = 4096;

fn cgroup2_root() -> PathBuf {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    tracer_user::kernel::filter::cgroup2_mount(&mountinfo).expect("a cgroup2 mount")
}

/// A cgroup v2 directory made by the test. On drop, whatever is still in it
/// moves back to the root cgroup and the directory is removed.
struct TestCgroup {
    path: PathBuf,
    root: PathBuf,
}

impl TestCgroup {
    fn create(parent: &Path, name: &str) -> TestCgroup {
        let path = parent.join(name);
        std::fs::create_dir(&path).unwrap_or_else(|e| panic!("mkdir {}: {e}", path.display()));
        TestCgroup { path, root: cgroup2_root() }
    }

    /// The cgroup id the kernel reports (`bpf_get_current_cgroup_id`): the
    /// directory's inode number.
    fn id(&self) -> u64 {
        std::fs::metadata(&self.path).unwrap().ino()
    }

    /// Makes `cmd`'s process move itself into this cgroup before it execs.
    fn run_inside<'a>(&self, cmd: &'a mut Command) -> &'a mut Command {
        let procs = CString::new(self.path.join("cgroup.procs").as_os_str().as_bytes()).unwrap();
        unsafe {
            cmd.pre_exec(move || {
                let fd = libc::open(procs.as_ptr(), libc::O_WRONLY);
                if fd < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // "0" is the writing process itself.
                let n = libc::write(fd, b"0".as_ptr().cast(), 1);
                libc::close(fd);
                if n != 1 { Err(std::io::Error::last_os_error()) } else { Ok(()) }
            })
        }
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        for _ in 0..50 {
            if let Ok(procs) = std::fs::read_to_string(self.path.join("cgroup.procs")) {
                for pid in procs.split_whitespace() {
                    let _ = std::fs::write(self.root.join("cgroup.procs"), pid);
                }
            }
            if std::fs::remove_dir(&self.path).is_ok() || !self.path.exists() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        eprintln!("could not remove test cgroup {}", self.path.display());
    }
}

/// The pids of one traced run of `family`, found by following its clones.
#[derive(Debug)]
struct Family {
    parent: u32,
    child: u32,
    grandchild: u32,
    thread: u32,
}

/// Checks that the whole tree of the `family` run with pid `parent` is in
/// `all`, each member with its own mmap, and returns its pids.
fn traced_family(all: &[Value], parent: u32) -> Family {
    let ev = events_of_pid(all, parent);
    assert_eq!(mmap_lens(&ev).iter().filter(|&&l| l == 7 * PAGE).count(), 1, "parent's mmap: {ev:?}");
    let forks = syscalls_named(&ev, "clone");
    assert_eq!(forks.len(), 1, "parent forks once: {ev:?}");
    let child = forks[0]["ret"].as_u64().unwrap() as u32;

    let ev = events_of_pid(all, child);
    assert!(ev.iter().all(|e| e["ppid"] == parent && e["comm"] == "family"), "{ev:?}");
    assert_eq!(mmap_lens(&ev), vec![11 * PAGE], "child's only mmap");
    let forks = syscalls_named(&ev, "clone");
    assert_eq!(forks.len(), 1, "child forks once: {ev:?}");
    let grandchild = forks[0]["ret"].as_u64().unwrap() as u32;

    let ev = events_of_pid(all, grandchild);
    assert!(ev.iter().all(|e| e["ppid"] == child), "{ev:?}");
    let own: Vec<_> = ev.iter().copied().filter(|e| e["tid"] == grandchild).collect();
    assert!(mmap_lens(&own).contains(&(13 * PAGE)), "grandchild's mmap: {own:?}");
    let spawns = syscalls_named(&own, "clone3");
    assert_eq!(spawns.len(), 1, "grandchild starts one thread");
    let thread = spawns[0]["ret"].as_u64().unwrap() as u32;
    let th: Vec<_> = ev.iter().copied().filter(|e| e["tid"] == thread).collect();
    assert_eq!(mmap_lens(&th), vec![17 * PAGE], "the thread's mmap, under the grandchild's pid");
    Family { parent, child, grandchild, thread }
}

fn count_len(all: &[Value], len: u64) -> usize {
    all.iter().filter(|e| e["syscall"] == "mmap" && e["args"]["len"] == len).count()
}

#[test]
fn cgroup_filter_traces_the_subtree_including_children_and_cgroups_made_later() {
    if skip_without_root() {
        return;
    }
    let dir = TempDir::new("cgroup");
    let family = compile(dir.path(), "family", "family", &[]);
    let root = cgroup2_root();
    let name = format!("tracer-test-{}", std::process::id());
    let cg = TestCgroup::create(&root, &name);
    // Relative to the cgroup2 mount, which tracer finds on its own.
    let tracer = Tracer::start(&["--cgroup", &name, "--syscalls", "mmap,clone,clone3"]);
    let nested = TestCgroup::create(&cg.path, "nested");

    let (inside, code) = run_program(cg.run_inside(&mut Command::new(&family)));
    assert_eq!(code, 0);
    let (below, code) = run_program(nested.run_inside(&mut Command::new(&family)));
    assert_eq!(code, 0);
    // Control: the same program in the root cgroup.
    let (outside, code) = run_program(&mut Command::new(&family));
    assert_eq!(code, 0);
    let (mut all, stderr) = tracer.stop_with_stderr();
    all.retain(|e| e["event"] != "start"); // tracer's own first line, not a traced event

    let a = traced_family(&all, inside);
    let b = traced_family(&all, below);
    assert!(events_of_pid(&all, outside).is_empty(), "a process outside the cgroup was traced");
    // Exactly two of each family member's mmaps: the control left none.
    for pages in [7, 11, 13, 17] {
        assert_eq!(count_len(&all, pages * PAGE), 2, "{pages}-page mmaps");
    }
    // Every event is from the two trees, in the cgroup each was started in.
    for e in &all {
        let pid = e["pid"].as_u64().unwrap() as u32;
        if [a.parent, a.child, a.grandchild].contains(&pid) {
            assert_eq!(e["cgroup_id"], cg.id(), "{e}");
        } else if [b.parent, b.child, b.grandchild].contains(&pid) {
            assert_eq!(e["cgroup_id"], nested.id(), "{e}");
        } else {
            panic!("event from outside the traced cgroup: {e}");
        }
    }
    // The family's loader ran inside the cgroup: its mmaps are there too.
    assert!(events_of_pid(&all, inside).iter().any(|e| e["args"]["flags"] == "MAP_PRIVATE|MAP_DENYWRITE"));
    assert_eq!(counter(&stderr, "exits without entry"), 0, "filtered calls are not misses");
    assert!(counter(&stderr, "filtered out in the kernel") >= 8, "the control's calls were counted as filtered");
    drop(nested);
    drop(cg);
}

#[test]
fn comm_filter_matches_any_named_comm_by_its_current_name() {
    if skip_without_root() {
        return;
    }
    let dir = TempDir::new("comm");
    let wanted = compile(dir.path(), "named", "cwanted", &[]);
    let other = compile(dir.path(), "named", "cother", &[]);
    let tracer = Tracer::start(&["--comm", "cwanted", "--comm", "crenamed", "--syscalls", "mmap"]);
    let (w, code) = run_program(&mut Command::new(&wanted));
    assert_eq!(code, 0);
    // Control: a name not asked for.
    let (o, code) = run_program(&mut Command::new(&other));
    assert_eq!(code, 0);
    // Starts as cother, renames itself to crenamed.
    let (r, code) = run_program(Command::new(&other).arg("crenamed"));
    assert_eq!(code, 0);
    let (mut all, stderr) = tracer.stop_with_stderr();
    all.retain(|e| e["event"] != "start"); // tracer's own first line, not a traced event

    let ev = events_of_pid(&all, w);
    assert!(ev.iter().all(|e| e["comm"] == "cwanted"));
    let lens = mmap_lens(&ev);
    assert!(lens.contains(&(19 * PAGE)) && lens.contains(&(23 * PAGE)), "{lens:?}");
    assert!(events_of_pid(&all, o).is_empty(), "cother was traced");
    let ev = events_of_pid(&all, r);
    assert_eq!(mmap_lens(&ev), vec![23 * PAGE], "only what it did after the rename");
    assert_eq!(ev[0]["comm"], "crenamed");
    for e in &all {
        assert!(e["comm"] == "cwanted" || e["comm"] == "crenamed", "unnamed comm traced: {e}");
    }
    assert_eq!(count_len(&all, 19 * PAGE), 1);
    assert_eq!(count_len(&all, 23 * PAGE), 2);
    assert_eq!(counter(&stderr, "exits without entry"), 0);
    assert!(counter(&stderr, "filtered out in the kernel") >= 3, "cother's two mmaps and crenamed's first");
}

/// Starts `family --wait-stdin`; it runs when a byte is written to its stdin.
fn start_waiting_family(bin: &Path) -> std::process::Child {
    Command::new(bin)
        .arg("--wait-stdin")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap()
}

fn release_and_wait(mut child: std::process::Child) -> i32 {
    child.stdin.take().unwrap().write_all(b"x").unwrap();
    child.wait().unwrap().code().unwrap_or(-1)
}

#[test]
fn pid_filter_follows_descendants_created_after_attach() {
    if skip_without_root() {
        return;
    }
    let dir = TempDir::new("pid");
    let bin = compile(dir.path(), "family", "family", &[]);
    let tracked = start_waiting_family(&bin);
    let unrelated = start_waiting_family(&bin);
    let (p, q) = (tracked.id(), unrelated.id());
    let tracer = Tracer::start(&["--pid", &p.to_string(), "--syscalls", "mmap,clone,clone3"]);
    assert_eq!(release_and_wait(tracked), 0);
    assert_eq!(release_and_wait(unrelated), 0);
    let (mut all, stderr) = tracer.stop_with_stderr();
    all.retain(|e| e["event"] != "start"); // tracer's own first line, not a traced event

    let f = traced_family(&all, p);
    assert_ne!(f.thread, f.grandchild);
    for e in &all {
        let pid = e["pid"].as_u64().unwrap() as u32;
        assert!([f.parent, f.child, f.grandchild].contains(&pid), "event outside the tracked tree: {e}");
    }
    assert!(events_of_pid(&all, q).is_empty(), "the unrelated process was traced");
    for pages in [7, 11, 13, 17] {
        assert_eq!(count_len(&all, pages * PAGE), 1, "{pages}-page mmaps");
    }
    assert_eq!(counter(&stderr, "exits without entry"), 0);
    // The unrelated tree: four mmaps, two forks, a thread stack and a clone3.
    assert!(counter(&stderr, "filtered out in the kernel") >= 8);
}

#[test]
fn pid_filter_keeps_a_process_whose_leader_exited_before_its_other_threads() {
    if skip_without_root() {
        return;
    }
    let dir = TempDir::new("leader-exit");
    let bin = compile(dir.path(), "leader_exit", "leader_exit", &[]);
    let mut proc_ = Command::new(&bin).stdin(Stdio::piped()).spawn().unwrap();
    let p = proc_.id();
    let tracer = Tracer::start(&["--pid", &p.to_string(), "--syscalls", "mmap,clone"]);
    proc_.stdin.take().unwrap().write_all(b"x").unwrap();
    assert_eq!(proc_.wait().unwrap().code(), Some(0));
    let (mut all, _) = tracer.stop_with_stderr();
    all.retain(|e| e["event"] != "start"); // tracer's own first line, not a traced event

    // The fork comes from the surviving thread, after the leader's exit.
    let forks = syscalls_named(&events_of_pid(&all, p), "clone");
    assert_eq!(forks.len(), 1, "{all:?}");
    assert_ne!(forks[0]["tid"], p, "forked by the surviving thread");
    let child = forks[0]["ret"].as_u64().unwrap() as u32;
    let ev = events_of_pid(&all, child);
    assert_eq!(mmap_lens(&ev), vec![31 * PAGE], "the child of the leaderless process is traced");
    assert_eq!(ev[0]["ppid"], p);
    assert_eq!(count_len(&all, 31 * PAGE), 1);
}

/// A tracer command whose launched program (and tracer itself) run without
/// address-space randomization, so its mmap addresses repeat from run to run
/// and can be compared with strace's for another run of the same binary.
fn no_aslr(cmd: &mut Command) -> &mut Command {
    unsafe {
        cmd.pre_exec(|| {
            if libc::personality(libc::ADDR_NO_RANDOMIZE as libc::c_ulong) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        })
    }
}

/// An event as strace would print it (addresses included, new tids as TID).
fn strace_form(e: &Value) -> String {
    assert!(e.get("errno").is_none(), "{e}");
    let a = &e["args"];
    let s = |v: &Value| v.as_str().unwrap().to_string();
    match e["syscall"].as_str().unwrap() {
        "mmap" => {
            let addr = if a["addr"] == "0x0" { "NULL".into() } else { s(&a["addr"]) };
            let off = a["off"].as_u64().unwrap();
            let off = if off == 0 { "0".into() } else { format!("{off:#x}") };
            format!(
                "mmap({addr}, {}, {}, {}, {}, {off}) = {:#x}",
                a["len"], s(&a["prot"]), s(&a["flags"]), a["fd"], e["ret"].as_u64().unwrap()
            )
        }
        "mprotect" => format!("mprotect({}, {}, {}) = {}", s(&a["start"]), a["len"], s(&a["prot"]), e["ret"]),
        "clone3" => {
            let c = &a["cl_args"];
            format!(
                "clone3(flags={}, stack={}, stack_size={:#x}, tls={}) = TID",
                s(&c["flags"]), s(&c["stack"]), c["stack_size"].as_u64().unwrap(), s(&c["tls"])
            )
        }
        other => panic!("unexpected syscall {other} in {e}"),
    }
}

/// strace -f -o lines (`PID call(...) = ret`) in the same form, with
/// `<unfinished ...>`/`resumed>` halves joined.
fn strace_lines(text: &str) -> Vec<String> {
    let mut unfinished: std::collections::HashMap<String, String> = Default::default();
    let mut out = Vec::new();
    for line in text.lines() {
        let (pid, rest) = line.split_once(' ').unwrap();
        let rest = rest.trim_start();
        if rest.starts_with("+++") || rest.starts_with("---") {
            continue;
        }
        if let Some(head) = rest.strip_suffix(" <unfinished ...>") {
            unfinished.insert(pid.to_string(), head.to_string());
            continue;
        }
        let call = if rest.starts_with("<...") {
            let tail = &rest[rest.find("resumed>").unwrap() + "resumed>".len()..];
            unfinished.remove(pid).expect("resumed without unfinished") + tail
        } else {
            rest.to_string()
        };
        if let Some(body) = call.strip_prefix("clone3({") {
            let field = |name: &str| {
                let start = body.find(&format!("{name}=")).unwrap() + name.len() + 1;
                let end = body[start..].find([',', '}']).unwrap();
                body[start..start + end].to_string()
            };
            out.push(format!(
                "clone3(flags={}, stack={}, stack_size={}, tls={}) = TID",
                field("flags"), field("stack"), field("stack_size"), field("tls")
            ));
        } else {
            out.push(call);
        }
    }
    out
}

#[test]
fn launched_threads_shows_what_strace_f_shows_from_the_first_loader_mmap() {
    if skip_without_root() {
        return;
    }
    let dir = TempDir::new("launch");
    compile(dir.path(), "threads", "threads", &[]);
    let syscalls = "clone,clone3,mmap,mprotect,wait4";

    let out = dir.path().join("strace.out");
    let o = no_aslr(Command::new("strace").current_dir(dir.path()))
        .args(["-f", "-qq", "-e", &format!("trace={syscalls}"), "-o"])
        .arg(&out)
        .arg("./threads")
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    assert!(o.status.success());
    let printed: Vec<String> = String::from_utf8_lossy(&o.stdout).lines().map(str::to_string).collect();
    let mut expected = strace_lines(&std::fs::read_to_string(&out).unwrap());

    // Whichever thread prints first allocates stdout's buffer, and a first
    // malloc on the new thread maps a malloc arena (one more mmap and
    // mprotect): the event set depends on that race. The order of the lines
    // in the one stdio buffer shows who won; compare a tracer run in which
    // the same thread won as under strace (there, nearly always main).
    let (all, stderr) = (0..)
        .find_map(|attempt| {
            assert!(attempt < 20, "tracer never ran ./threads the way strace's run did: {printed:?}");
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_tracer"));
            cmd.current_dir(dir.path()).args(["--syscalls", syscalls, "--", "./threads"]);
            no_aslr(&mut cmd);
            let (all, stderr, code) = Tracer::start_command(cmd).wait_exit();
            assert_eq!(code, 0, "the program's exit status: {stderr:?}");
            // The program's stdout went to tracer's stderr, leaving stdout to events.
            let program: Vec<String> = stderr.iter().filter(|l| !l.starts_with("tracer: ")).cloned().collect();
            (program == printed).then_some((all, stderr))
        })
        .unwrap();
    let attached = stderr.iter().find(|l| l.starts_with("tracer: attached")).unwrap();
    let pid: u32 = attached.split("process is ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
    assert!(all.iter().filter(|e| e["event"] != "start").all(|e| e["pid"] == pid), "only the launched program is traced");
    assert_eq!(counter(&stderr, "exits without entry"), 0);

    // The syscalls strace shows (not the lifecycle events and joins beside them).
    let mut got: Vec<String> = all.iter().filter(|e| e["event"] == "syscall").map(strace_form).collect();

    // The loader's mmaps come first: ld.so.cache, then libc, all before the
    // thread stack that main's pthread_create maps.
    // (On the fd the loader opened it on: 3, or higher when the test
    // inherited fds, as under `flock FILE cargo test`.)
    let libc_at = got.iter().position(|l| l.contains("MAP_PRIVATE|MAP_DENYWRITE, ")).expect("libc mapped");
    let stack_at = got.iter().position(|l| l.contains("MAP_STACK")).expect("thread stack");
    assert!(got[0].starts_with("mmap(") && libc_at < stack_at, "{got:#?}");
    assert!(expected.len() >= 14, "strace saw the walkthrough's calls: {expected:#?}");

    got.sort();
    expected.sort();
    assert_eq!(got, expected, "tracer -- ./threads and strace -f ./threads differ");
}

#[test]
fn launched_command_exit_status_becomes_tracers() {
    if skip_without_root() {
        return;
    }
    let dir = TempDir::new("exit-status");
    let bin = compile(dir.path(), "exit_status", "exit_status", &[]);
    let bin = bin.to_str().unwrap();
    for (args, want) in [
        (&["exit", "3"][..], 3),
        (&["exit", "0"][..], 0),
        (&["signal", "15"][..], 128 + 15),
        (&["signal", "9"][..], 128 + 9),
    ] {
        let mut argv = vec!["--syscalls", "mmap", "--", bin];
        argv.extend_from_slice(args);
        let (events, stderr, code) = Tracer::start(&argv).wait_exit();
        assert_eq!(code, want, "exit_status {args:?}: {stderr:?}");
        assert!(!events.is_empty(), "the loader's mmaps are traced");
        let last = stderr.last().unwrap();
        assert!(last.starts_with("tracer: ") && last.contains("events written"), "summary printed last: {last}");
    }
}

#[test]
fn sigint_goes_to_the_command_and_tracer_drains_until_it_exits() {
    if skip_without_root() {
        return;
    }
    let dir = TempDir::new("sigint");
    let bin = compile(dir.path(), "exit_status", "exit_status", &[]);
    let mut tracer = Tracer::start(&["--syscalls", "mmap", "--", bin.to_str().unwrap(), "trap"]);
    tracer.wait_stderr("ready", Duration::from_secs(30));
    unsafe { libc::kill(tracer.pid() as i32, libc::SIGINT) };
    let (events, stderr, code) = tracer.wait_exit();
    assert_eq!(code, 7, "the command caught SIGINT and exited 7: {stderr:?}");
    let late = count_len(&events, 29 * PAGE);
    assert_eq!(late, 1, "the mmap made after SIGINT reached tracer's output");
}

/// Ids of loaded programs named like tracer's syscall hooks.
fn hook_program_ids() -> Vec<(u32, Option<SystemTime>)> {
    aya::programs::loaded_programs()
        .filter_map(Result::ok)
        .filter(|p| matches!(p.name_as_str(), Some("sys_enter" | "sys_exit" | "sys_enter_tp" | "sys_exit_tp")))
        .map(|p| (p.id(), p.loaded_at()))
        .collect()
}

/// Runs tracer under `strace -e trace=bpf` and returns (exit code, stderr
/// lines, bpf() calls made).
fn run_traced_for_bpf(args: &[&str], dir: &Path) -> (i32, Vec<String>, usize) {
    let out = dir.join("bpf.strace");
    let o = Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=bpf", "-o"])
        .arg(&out)
        .arg(env!("CARGO_BIN_EXE_tracer"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr).lines().map(str::to_string).collect();
    let calls = std::fs::read_to_string(&out).unwrap().lines().filter(|l| l.contains(" bpf(")).count();
    (o.status.code().unwrap_or(-1), stderr, calls)
}

/// tracer refuses `args` with exactly `line` on stderr and exit `code`,
/// without a single bpf() call, and leaves no program loaded.
fn assert_refused(args: &[&str], code: i32, line: &str) {
    let dir = TempDir::new("refused");
    let before = hook_program_ids();
    let start = SystemTime::now();
    let (got_code, stderr, bpf_calls) = run_traced_for_bpf(args, dir.path());
    let end = SystemTime::now();
    assert_eq!(stderr, vec![line.to_string()], "{args:?}: one line on stderr");
    assert_eq!(got_code, code, "{args:?}: exit code");
    assert_eq!(bpf_calls, 0, "{args:?}: validated before touching BPF");
    // Programs other tests (or other tracers on the machine) loaded outside
    // this run's window are not ours.
    let left: Vec<_> = hook_program_ids()
        .into_iter()
        .filter(|(id, at)| !before.iter().any(|(b, _)| b == id) && at.is_some_and(|t| t >= start && t <= end))
        .collect();
    assert!(left.is_empty(), "{args:?}: programs left loaded: {left:?}");
}

#[test]
fn bad_filters_and_commands_are_refused_before_anything_is_loaded() {
    if skip_without_root() {
        return;
    }
    let root = cgroup2_root();

    assert_refused(
        &["--cgroup", "tracer-no-such-cgroup"],
        2,
        &format!("tracer: --cgroup tracer-no-such-cgroup: {}/tracer-no-such-cgroup does not exist", root.display()),
    );
    let abs = root.join("tracer-no-such-cgroup");
    assert_refused(
        &["--cgroup", abs.to_str().unwrap()],
        2,
        &format!("tracer: --cgroup {0}: {0} does not exist", abs.display()),
    );
    let not_v2 = TempDir::new("not-cgroup");
    let p = not_v2.path().to_str().unwrap();
    assert_refused(&["--cgroup", p], 2, &format!("tracer: --cgroup {p}: {p} is not a cgroup v2 directory"));
    // A cgroup v1 hierarchy, where the machine has one (hybrid layout).
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    if let Some(v1) = mountinfo.lines().find(|l| l.contains(" - cgroup ")).map(|l| l.split(' ').nth(4).unwrap()) {
        assert_refused(&["--cgroup", v1], 2, &format!("tracer: --cgroup {v1}: {v1} is not a cgroup v2 directory"));
    }

    assert_refused(
        &["--comm", "abcdefghijklmnop"],
        2,
        "tracer: --comm 'abcdefghijklmnop' is 16 bytes long; the kernel keeps only the first 15 bytes of a task's name, so it would never match",
    );

    let (dead, _) = run_program(&mut Command::new("true"));
    assert_refused(&["--pid", &dead.to_string()], 2, &format!("tracer: --pid {dead}: no such process"));

    assert_refused(
        &["--", "tracer-no-such-command"],
        127,
        "tracer: cannot run 'tracer-no-such-command': not found in PATH",
    );
    assert_refused(
        &["--comm", "x", "--", "/nonexistent/tracer-cmd"],
        127,
        "tracer: cannot run '/nonexistent/tracer-cmd': No such file or directory (os error 2)",
    );

    // Control: the same harness sees the bpf() calls of a run that is valid.
    let dir = TempDir::new("accepted");
    let (code, stderr, bpf_calls) = run_traced_for_bpf(&["--comm", "true", "--", "true"], dir.path());
    assert_eq!(code, 0, "{stderr:?}");
    assert!(bpf_calls > 0, "strace saw no bpf() calls of a valid run");
}
