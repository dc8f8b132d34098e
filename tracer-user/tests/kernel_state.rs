//! The kernel side's state stays bounded and tracer leaves nothing behind.

mod common;
use common::*;
use std::collections::BTreeSet;
use std::process::Command;
use std::time::{Duration, Instant};

/// `prog_id`s / `map_id`s of the BPF objects process `pid` holds fds for.
fn bpf_ids(pid: u32, key: &str) -> BTreeSet<u32> {
    let mut ids = BTreeSet::new();
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fdinfo")) else { return ids };
    for e in dir.flatten() {
        let Ok(info) = std::fs::read_to_string(e.path()) else { continue };
        for line in info.lines() {
            if let Some(v) = line.strip_prefix(key) {
                ids.insert(v.trim().parse().unwrap());
            }
        }
    }
    ids
}

fn loaded_program_ids() -> BTreeSet<u32> {
    aya::programs::loaded_programs().filter_map(Result::ok).map(|p| p.id()).collect()
}

#[test]
fn sigkilled_tracer_leaves_no_program_attached() {
    require_root();
    let tracer = Tracer::start(&[]);
    let mine = bpf_ids(tracer.pid(), "prog_id:");
    assert_eq!(
        mine.len(),
        9,
        "sys_enter, sys_exit, sched_process_exit, sched_process_exec, and the lifecycle hooks \
         lifecycle_fork, lifecycle_exec, lifecycle_exit, signal_generate, signal_deliver: {mine:?}"
    );
    assert!(mine.is_subset(&loaded_program_ids()));
    unsafe { libc::kill(tracer.pid() as i32, libc::SIGKILL) };
    drop(tracer); // reaps it
    // Programs are freed once their last fd and link are gone (RCU-deferred).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left: Vec<_> = mine.intersection(&loaded_program_ids()).copied().collect();
        if left.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "programs {left:?} still loaded after SIGKILL");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Entries in tracer's PENDING map (found through its fds) whose thread no
/// longer exists: leaks. (Live threads blocked in a traced call, anywhere on
/// the machine, legitimately hold one; `sched_process_exit` drops a dying
/// thread's entry before its /proc entry goes away.)
fn leaked_pending_entries(tracer_pid: u32) -> Vec<u32> {
    use aya::maps::{HashMap, Map, MapData};
    let mut found = None;
    for id in bpf_ids(tracer_pid, "map_id:") {
        let info = aya::maps::MapInfo::from_id(id).unwrap();
        if info.name_as_str() == Some("PENDING") {
            found = Some(id);
        }
    }
    let map = Map::from_map_data(MapData::from_id(found.expect("PENDING map")).unwrap()).unwrap();
    let hm: HashMap<_, u32, tracer_common::PendingSyscall> = HashMap::try_from(map).unwrap();
    hm.keys().map(Result::unwrap).filter(|tid| !std::path::Path::new(&format!("/proc/{tid}")).exists()).collect()
}

#[test]
fn pairing_map_returns_to_baseline_after_calls_that_never_return() {
    require_root();
    let dir = TempDir::new("churn");
    let bin = compile(dir.path(), "pending_churn", "pending_churn", &[]);
    let tracer = Tracer::start(&["--syscalls", "clone,clone3,wait4,execve"]);
    assert_eq!(leaked_pending_entries(tracer.pid()), Vec::<u32>::new());
    for mode in ["sigkill", "exitgroup", "exec", "eagain"] {
        for _ in 0..25 {
            let st = Command::new(&bin).arg(mode).status().unwrap();
            match mode {
                "sigkill" => assert_eq!(std::os::unix::process::ExitStatusExt::signal(&st), Some(libc::SIGKILL)),
                _ => assert_eq!(st.code(), Some(0), "{mode}"),
            }
        }
    }
    std::thread::sleep(Duration::from_millis(200));
    let leaked = leaked_pending_entries(tracer.pid());
    let events = tracer.stop();
    assert_eq!(leaked, Vec::<u32>::new(), "PENDING entries of dead threads");
    // The failing forks were traced and carry EAGAIN.
    assert!(events.iter().filter(|e| e["syscall"] == "clone" && e["errno"] == "EAGAIN").count() >= 25 * 20);
}
