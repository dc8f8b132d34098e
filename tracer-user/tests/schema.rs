//! Real output validates against docs/schema.json, and every field name
//! keeps one JSON type across all events.

mod common;
use common::*;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::process::Command;

fn schema() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/schema.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Records the JSON type of every field path (array elements share their
/// array's path) and fails on a second type for the same path.
fn collect_types(v: &Value, path: &str, seen: &mut BTreeMap<String, &'static str>) {
    let ty = match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) => {
            if let Some(i) = n.as_i64()
                && path != "cgroup_id"
            {
                assert!(i.unsigned_abs() <= 1 << 53, "{path} = {i} would lose precision as a float");
            }
            assert!(!n.is_f64(), "{path} is a float");
            "integer"
        }
        Value::String(_) => "string",
        Value::Array(items) => {
            for it in items {
                collect_types(it, &format!("{path}[]"), seen);
            }
            "array"
        }
        Value::Object(m) => {
            for (k, it) in m {
                let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                collect_types(it, &p, seen);
            }
            "object"
        }
    };
    if path.is_empty() {
        return;
    }
    if let Some(prev) = seen.insert(path.to_string(), ty) {
        assert_eq!(prev, ty, "field {path} has two JSON types");
    }
}

/// Every kind of event, and the syscalls with decoders, on real programs.
const SYSCALLS: &str = "%process,%memory,%signal,set_robust_list,rseq,arch_prctl,prlimit64,set_tid_address";

#[test]
fn real_output_matches_the_documented_schema() {
    if skip_without_root() {
        return;
    }
    let dir = TempDir::new("schema");
    let threads = compile(dir.path(), "threads", "threads", &[]);
    let threads2 = compile(dir.path(), "threads2", "threads2", &[]);
    let process = compile(dir.path(), "process", "process_status", &["-DWITH_STATUS"]);
    let handler = compile(dir.path(), "process", "process_handler", &["-DWITH_HANDLER"]);
    let orphan = compile(dir.path(), "orphan", "orphan", &[]);
    let odd = compile(dir.path(), "odd_calls", "odd_calls", &[]);
    let exec = compile(dir.path(), "exec_args", "exec_args", &[]);
    let tracer = Tracer::start(&["--syscalls", SYSCALLS, "--ancestors", "2"]);
    run_program(&mut Command::new(&threads));
    run_program(&mut Command::new(&threads2));
    run_program(&mut Command::new(&process));
    run_program(&mut Command::new(&handler));
    run_program(&mut Command::new(&orphan));
    run_program(Command::new("unshare").arg("--pid").arg("--fork").arg(&process));
    let (odd_pid, code) = run_program(&mut Command::new(&odd));
    assert_eq!(code, 0);
    let (exec_pid, code) = run_program(&mut Command::new(&exec));
    assert_eq!(code, 0);
    std::thread::sleep(std::time::Duration::from_millis(200));
    let events = tracer.stop();
    assert!(events.len() > 500);

    assert_eq!(events[0]["event"], "start", "a run starts with its start record");
    let validator = jsonschema::validator_for(&schema()).expect("docs/schema.json is a valid schema");
    let mut types = BTreeMap::new();
    for e in &events {
        let errors: Vec<String> = validator.iter_errors(e).map(|err| format!("{} at {}", err, err.instance_path)).collect();
        assert!(errors.is_empty(), "{e}\n{errors:#?}");
        collect_types(e, "", &mut types);
    }

    // lost and stats records: a one-page ring under a storm, stats every
    // 100 ms and once more at exit (the storm may take less than 100 ms).
    let storm = compile(dir.path(), "storm", "storm", &[]);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tracer"));
    cmd.args(["--ringbuf-size", "4096", "--stats-interval", "100ms", "--syscalls", "getppid", "--"]).arg(&storm).args(["2", "300000"]);
    let (more, _, code) = Tracer::start_command(cmd).wait_exit();
    assert_eq!(code, 0);
    assert!(more.iter().any(|e| e["event"] == "lost"), "a lost record");
    assert!(more.iter().any(|e| e["event"] == "stats"), "a stats record");
    for e in &more {
        let errors: Vec<String> = validator.iter_errors(e).map(|err| format!("{} at {}", err, err.instance_path)).collect();
        assert!(errors.is_empty(), "{e}\n{errors:#?}");
        collect_types(e, "", &mut types);
    }

    // Every kind of event was seen (so the schema saw it), and the fields
    // that only appear sometimes.
    for kind in ["start", "syscall", "fork", "exec", "exit", "signal", "thread_create", "reaped", "unreaped"] {
        assert!(events.iter().any(|e| e["event"] == kind), "no {kind} event");
    }
    for path in [
        "ns_pid", "child_ns_pid", "signal", "core_dumped", "old_comm", "sa_handler", "stack_reused", "reused_from_tid",
        "zombie_ns", "lifetime_ns", "truncated", "args.set", "args.oldset", "args.action.sa_restorer", "args.old_limit.rlim_max",
        "args.argv[]", "args.envc", "args.option", "args.rseq_len", "args.error_code", "args.brk", "host", "exec_id", "parent_exec_id",
        "ancestors[].pid", "ancestors[].exec_id", "ancestors[].comm",
    ] {
        assert!(types.contains_key(path), "no event had {path}");
    }
    let (ret, dur) = (types.get("ret"), types.get("duration_ns"));
    assert_eq!((ret.copied(), dur.copied()), (Some("integer"), Some("integer")));
    let exit_groups: Vec<_> = events.iter().filter(|e| e["syscall"] == "exit_group").collect();
    assert!(!exit_groups.is_empty() && exit_groups.iter().all(|e| e.get("ret").is_none() && e.get("duration_ns").is_none()));

    // The odd corners were really exercised (so the schema saw them).
    let odd_ev = events_of_pid(&events, odd_pid);
    let bad_map = syscalls_named(&odd_ev, "mmap").into_iter().find(|e| e["args"]["fd"] == 999).expect("EBADF mmap");
    assert_eq!(bad_map["ret"], -9);
    assert_eq!(bad_map["errno"], "EBADF");
    let c3 = syscalls_named(&odd_ev, "clone3");
    assert_eq!(c3.len(), 1);
    assert_eq!(c3[0]["read_failed"], json!(["cl_args"]), "{}", c3[0]);
    assert_eq!(c3[0]["errno"], "EFAULT");
    assert_eq!(c3[0]["args"]["uargs"], "0x1000");
    assert!(c3[0]["args"].get("cl_args").is_none());
    let waits = syscalls_named(&odd_ev, "wait4");
    let killed = waits.iter().find(|e| e["args"]["status"]["signaled"] == "SIGKILL").expect("SIGKILL status");
    assert_eq!(killed["args"]["status"]["core_dumped"], false);
    assert!(killed["args"]["rusage"]["maxrss"].as_i64().unwrap() > 0, "rusage read: {killed}");
    let seven = waits.iter().find(|e| e["args"]["status"]["exited"] == 7).expect("exit 7 status");
    assert_eq!(seven["args"]["options"], "WNOHANG|__WALL");
    assert!(waits.iter().any(|e| e["ret"] == 0 && e["args"].get("status").is_none()), "WNOHANG polls that found nothing have no status");
    let killed_child = killed["ret"].as_u64().unwrap() as u32;
    let death = events_named(&events_of_pid(&events, killed_child), "exit");
    assert_eq!((death[0]["signal"].as_str(), death[0]["core_dumped"].as_bool()), (Some("SIGKILL"), Some(false)));

    // execve: what strace shows, bounded as strace -s 32 (and 8 strings).
    let ev = events_of_pid(&events, exec_pid);
    let execs = syscalls_named(&ev, "execve");
    let failed = execs.iter().find(|e| e["args"]["filename"] == "/nonexistent/prog").expect("the failing execve");
    assert_eq!(failed["errno"], "ENOENT");
    assert_eq!(failed["args"]["argv"], json!(["true", "a-long-argument-that-is-longer-t", "2", "3", "4", "5", "6", "7"]));
    assert_eq!((failed["args"]["argc"].as_u64(), failed["args"]["envc"].as_u64()), (Some(10), Some(1)));
    assert_eq!(failed["truncated"], json!(["argv[1]", "argv"]));
    let ok = execs.iter().find(|e| e["args"]["filename"] == "/bin/true").expect("the execve of /bin/true");
    assert_eq!((ok["ret"].as_i64(), ok["comm"].as_str()), (Some(0), Some("true")), "returns in the new program");
    let exec_ev = events_named(&ev, "exec");
    let last = exec_ev.last().unwrap();
    assert_eq!((last["filename"].as_str(), last["old_comm"].as_str(), last["comm"].as_str()), (Some("/bin/true"), Some("exec_args"), Some("true")));
}
