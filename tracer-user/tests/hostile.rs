//! Odd and hostile input from traced programs: every line stays one valid
//! JSON object, nothing is silently dropped or garbled.

mod common;
use common::*;
use serde_json::{Value, json};

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

/// The comm bytes an event carries, recovered as documented: `comm_hex`
/// when present, else the UTF-8 of `comm`.
fn comm_bytes(e: &Value) -> Vec<u8> {
    match e.get("comm_hex") {
        Some(h) => unhex(h.as_str().unwrap()),
        None => e["comm"].as_str().unwrap().as_bytes().to_vec(),
    }
}

#[test]
fn comm_of_every_byte_value_is_escaped_and_recoverable() {
    if skip_without_root() {
        return;
    }
    let prog = Program::compile("comm_bytes", "comm_bytes", &[]);
    // Stopping tracer parses every line as one JSON object and fails otherwise.
    let Traced { all: events, pid, code, .. } = trace(&["--syscalls", "mmap"], &mut prog.command());
    assert_eq!(code, 0);
    let marked: Vec<_> = events_of_pid(&events, pid).into_iter().filter(|e| e["args"]["len"] == 20480).collect();
    let expected: Vec<Vec<u8>> = (1..=255u32).step_by(15).map(|s| (s..(s + 15).min(256)).map(|b| b as u8).collect()).collect();
    assert_eq!(marked.len(), expected.len());
    for (e, want) in marked.iter().zip(&expected) {
        assert_eq!(&comm_bytes(e), want, "event {e}");
        assert_eq!(e.get("comm_hex").is_some(), std::str::from_utf8(want).is_err(), "comm_hex only when not UTF-8");
    }
}

#[test]
fn unreadable_clone_args_and_wait_status_are_flagged_not_dropped() {
    if skip_without_root() {
        return;
    }
    let prog = Program::compile("bad_user_memory", "bad_user_memory", &[]);
    let Traced { all: events, pid, code, .. } = trace(&["--syscalls", "clone3,wait4"], &mut prog.command());
    assert_eq!(code, 0);
    let ev = events_of_pid(&events, pid);
    let c3 = syscalls_named(&ev, "clone3");
    assert_eq!(c3.len(), 3, "{c3:#?}");

    // 1. PROT_NONE page: the kernel side's read failed; the kernel said EFAULT.
    assert_eq!(c3[0]["errno"], "EFAULT");
    assert_eq!(c3[0]["read_failed"], json!(["cl_args"]));
    assert!(c3[0]["args"].get("cl_args").is_none());

    // 2. size 32: only the fields those 32 bytes cover.
    assert_eq!(c3[1]["errno"], "EINVAL");
    assert_eq!(c3[1]["args"]["size"], 32);
    assert_eq!(c3[1]["args"]["cl_args"], json!({"flags": "CLONE_THREAD", "pidfd": "0x0", "child_tid": "0x0", "parent_tid": "0x0"}));
    assert!(c3[1].get("read_failed").is_none());

    // 3. size 256: the 88 bytes tracer knows, all fields.
    assert_eq!(c3[2]["errno"], "EINVAL");
    assert_eq!(c3[2]["args"]["size"], 256);
    assert_eq!(c3[2]["args"]["cl_args"]["flags"], "CLONE_THREAD");
    assert_eq!(c3[2]["args"]["cl_args"]["cgroup"], 0);

    // 4. wait4 with an unwritable status pointer.
    let w = syscalls_named(&ev, "wait4");
    assert_eq!(w.len(), 1);
    assert_eq!(w[0]["errno"], "EFAULT");
    assert_eq!(w[0]["read_failed"], json!(["status"]));
    assert!(w[0]["args"].get("status").is_none());
}
