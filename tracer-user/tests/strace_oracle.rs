//! strace is the oracle: the same program run under `strace -ff` while
//! tracer traces the machine; for every call of the five syscalls the
//! program makes, tracer's decoded arguments and return value, rendered in
//! strace's syntax, must equal strace's line — in the same order per thread.

mod common;
use common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::process::Command;

const TRACED: &str = "clone,clone3,mmap,mprotect,wait4";

fn ptr_or_null(v: &Value) -> String {
    match v.as_str().unwrap() {
        "0x0" => "NULL".into(),
        s => s.into(),
    }
}

fn hex_or_zero(v: &Value) -> String {
    match v.as_i64().unwrap() {
        0 => "0".into(),
        n => format!("{n:#x}"),
    }
}

fn flag_set(flags: &str, name: &str) -> bool {
    flags.split('|').any(|f| f == name)
}

/// The return value as strace prints it.
fn ret(e: &Value, hex: bool) -> String {
    let r = e["ret"].as_i64().unwrap();
    match e.get("errno") {
        Some(name) => format!("-1 {}", name.as_str().unwrap()),
        None if hex => format!("{r:#x}"),
        None => r.to_string(),
    }
}

/// One tracer event in strace's syntax (for the five syscalls).
fn render(e: &Value) -> String {
    let a = &e["args"];
    match e["syscall"].as_str().unwrap() {
        "mmap" => format!(
            "mmap({}, {}, {}, {}, {}, {}) = {}",
            ptr_or_null(&a["addr"]), a["len"], a["prot"].as_str().unwrap(), a["flags"].as_str().unwrap(),
            a["fd"], hex_or_zero(&a["off"]), ret(e, true)
        ),
        "mprotect" => format!("mprotect({}, {}, {}) = {}", a["start"].as_str().unwrap(), a["len"], a["prot"].as_str().unwrap(), ret(e, false)),
        "clone" => {
            let f = a["clone_flags"].as_str().unwrap();
            let mut s = format!("clone(child_stack={}, flags={f}", ptr_or_null(&a["newsp"]));
            if flag_set(f, "CLONE_PARENT_SETTID") || flag_set(f, "CLONE_PIDFD") {
                s += &format!(", parent_tid={}", a["parent_tidptr"].as_str().unwrap());
            }
            if flag_set(f, "CLONE_CHILD_SETTID") || flag_set(f, "CLONE_CHILD_CLEARTID") {
                s += &format!(", child_tidptr={}", a["child_tidptr"].as_str().unwrap());
            }
            if flag_set(f, "CLONE_SETTLS") {
                s += &format!(", tls={}", a["tls"].as_str().unwrap());
            }
            s + &format!(") = {}", ret(e, false))
        }
        "clone3" => {
            let c = &a["cl_args"];
            let f = c["flags"].as_str().unwrap();
            let mut s = format!("clone3({{flags={f}");
            if flag_set(f, "CLONE_PIDFD") {
                s += &format!(", pidfd={}", c["pidfd"].as_str().unwrap());
            }
            if flag_set(f, "CLONE_CHILD_SETTID") || flag_set(f, "CLONE_CHILD_CLEARTID") {
                s += &format!(", child_tid={}", c["child_tid"].as_str().unwrap());
            }
            if flag_set(f, "CLONE_PARENT_SETTID") {
                s += &format!(", parent_tid={}", c["parent_tid"].as_str().unwrap());
            }
            s += &format!(
                ", exit_signal={}, stack={}, stack_size={:#x}",
                c["exit_signal"].as_str().unwrap(), c["stack"].as_str().unwrap(), c["stack_size"].as_u64().unwrap()
            );
            if flag_set(f, "CLONE_SETTLS") {
                s += &format!(", tls={}", c["tls"].as_str().unwrap());
            }
            s += "}";
            if let Some(out) = a.get("cl_args_out") {
                s += &format!(" => {{parent_tid=[{}]}}", out["parent_tid"]);
            }
            s + &format!(", {}) = {}", a["size"], ret(e, false))
        }
        "wait4" => {
            let status = match a.get("status") {
                Some(st) if st.get("exited").is_some() => format!("[{{WIFEXITED(s) && WEXITSTATUS(s) == {}}}]", st["exited"]),
                Some(st) if st.get("signaled").is_some() => format!("[{{WIFSIGNALED(s) && WTERMSIG(s) == {}}}]", st["signaled"].as_str().unwrap()),
                Some(other) => panic!("status not rendered here: {other}"),
                None => ptr_or_null(&a["stat_addr"]),
            };
            format!("wait4({}, {status}, {}, {}) = {}", a["upid"], a["options"].as_str().unwrap(), ptr_or_null(&a["ru"]), ret(e, false))
        }
        other => panic!("not one of the five: {other}"),
    }
}

/// strace's line, with alignment padding before `=` and the errno
/// explanation removed.
fn normalize_strace(line: &str) -> String {
    let (call, result) = line.rsplit_once(" = ").expect("a completed call");
    let result = match result.find(" (") {
        Some(i) if result.starts_with("-1 ") => &result[..i],
        _ => result,
    };
    format!("{} = {result}", call.trim_end())
}

/// Runs `bin` under strace -ff while tracer runs; returns (strace lines per
/// tid, tracer's events per tid) for the program.
fn trace_both(bin: &std::path::Path, comm: &str) -> (BTreeMap<u32, Vec<String>>, BTreeMap<u32, Vec<String>>) {
    let dir = TempDir::new("oracle-out");
    let prefix = dir.path().join("st");
    let mut strace = Command::new("strace");
    strace.arg("-ff").arg("-o").arg(&prefix).arg("-e").arg(format!("trace={TRACED}")).arg(bin);
    let Traced { all: events, code, .. } = trace(&["--syscalls", TRACED], &mut strace);
    assert_eq!(code, 0, "strace run");

    let mut from_strace = BTreeMap::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        let tid: u32 = path.extension().unwrap().to_str().unwrap().parse().unwrap();
        let lines: Vec<String> = std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with("+++") && !l.starts_with("---"))
            .map(normalize_strace)
            .collect();
        from_strace.insert(tid, lines);
    }
    let mut from_tracer: BTreeMap<u32, Vec<String>> = BTreeMap::new();
    for e in events.iter().filter(|e| e["comm"] == comm && e["event"] == "syscall") {
        let tid = e["tid"].as_u64().unwrap() as u32;
        if from_strace.contains_key(&tid) {
            from_tracer.entry(tid).or_default().push(render(e));
        }
    }
    for tid in from_strace.keys() {
        from_tracer.entry(*tid).or_default();
    }
    (from_strace, from_tracer)
}

#[test]
fn thread_program_agrees_with_strace_call_by_call() {
    if skip_without_root() {
        return;
    }
    let prog = Program::compile("threads", "threads", &[]);
    let (strace, tracer) = trace_both(&prog.bin, "threads");
    assert_eq!(strace.len(), 2, "main thread and the new thread: {strace:?}");
    assert!(strace.values().flatten().any(|l| l.starts_with("clone3(")));
    assert!(strace.values().flatten().any(|l| l.contains("MAP_STACK")));
    assert_eq!(tracer, strace);
}

#[test]
fn process_program_agrees_with_strace_call_by_call() {
    if skip_without_root() {
        return;
    }
    let prog = Program::compile("process", "process_status", &["-DWITH_STATUS"]);
    let (strace, tracer) = trace_both(&prog.bin, "process_status");
    assert_eq!(strace.len(), 2, "parent and child: {strace:?}");
    assert!(strace.values().flatten().any(|l| l.starts_with("clone(")));
    assert!(strace.values().flatten().any(|l| l.starts_with("wait4(") && l.contains("WEXITSTATUS(s) == 1")));
    assert_eq!(tracer, strace);
}

#[test]
fn strace_line_normalization() {
    assert_eq!(normalize_strace("wait4(8219, NULL, 0, NULL)              = 8219"), "wait4(8219, NULL, 0, NULL) = 8219");
    assert_eq!(
        normalize_strace("mmap(NULL, 1, PROT_READ, MAP_SHARED, 99, 0) = -1 EBADF (Bad file descriptor)"),
        "mmap(NULL, 1, PROT_READ, MAP_SHARED, 99, 0) = -1 EBADF"
    );
}
