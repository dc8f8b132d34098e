//! Host identity (issue 17): `host` on every record, `boot_id` in the
//! `start` and `stats` records, the `start` record first, and `--fields`.

mod common;
use common::*;
use serde_json::{Value, json};
use std::process::Command;

fn proc_file(p: &str) -> String {
    std::fs::read_to_string(p).unwrap().trim().to_string()
}

fn run(args: &[&str], env: &[(&str, &str)]) -> Vec<Value> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tracer"));
    cmd.args(args).args(["--stats-interval", "1h", "--syscalls", "execve,exit_group", "--", "/bin/true"]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let (lines, _, code) = Tracer::start_command(cmd).wait_exit();
    assert_eq!(code, 0);
    lines
}

#[test]
fn start_record_first_and_host_on_every_record() {
    if skip_without_root() {
        return;
    }
    let lines = run(&["--host-name", "node-7 \"a\""], &[]);
    let start = &lines[0];
    assert_eq!((start["event"].as_str(), start["seq"].as_u64()), (Some("start"), Some(0)), "{start}");
    assert_eq!(start["boot_id"], proc_file("/proc/sys/kernel/random/boot_id"));
    assert_eq!(start["kernel_release"], proc_file("/proc/sys/kernel/osrelease"));
    assert_eq!(start["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(start["config"]["command"], json!(["/bin/true"]));
    assert_eq!(start["config"]["syscalls"], json!(["execve", "exit_group"]));
    assert_eq!(start["config"]["fields"].as_array().unwrap().len(), 9);
    assert_eq!(lines.iter().filter(|l| l["event"] == "start").count(), 1);
    // The exec, the calls, the exit, and the stats at exit.
    for kind in ["exec", "syscall", "exit", "stats"] {
        assert!(lines.iter().any(|l| l["event"] == kind), "no {kind} record");
    }
    for l in &lines {
        assert_eq!(l["host"], "node-7 \"a\"", "{l}");
    }
    let stats = lines.iter().find(|l| l["event"] == "stats").unwrap();
    assert_eq!(stats["boot_id"], start["boot_id"]);
}

#[test]
fn host_defaults_to_the_hostname_and_comes_from_the_environment() {
    if skip_without_root() {
        return;
    }
    let lines = run(&[], &[]);
    let host = proc_file("/proc/sys/kernel/hostname");
    assert!(lines.iter().all(|l| l["host"] == host.as_str()), "{host}");
    let lines = run(&[], &[("TRACER_HOST_NAME", "node-from-env")]);
    assert!(lines.len() > 3 && lines.iter().all(|l| l["host"] == "node-from-env"));
}

#[test]
fn fields_leaves_out_what_it_is_told() {
    if skip_without_root() {
        return;
    }
    let lines = run(&["--fields=-host,-boot_id"], &[]);
    assert!(lines.len() > 3);
    for l in &lines {
        assert!(l.get("host").is_none() && l.get("boot_id").is_none(), "{l}");
    }
    assert_eq!(lines[0]["config"]["fields"].as_array().unwrap().len(), 7);
    let lines = run(&["--fields", "host"], &[]);
    assert!(lines.iter().all(|l| l.get("host").is_some() && l.get("boot_id").is_none()));
}

#[test]
fn text_format_has_no_start_record() {
    if skip_without_root() {
        return;
    }
    let out = Command::new(env!("CARGO_BIN_EXE_tracer"))
        .args(["--format", "text", "--syscalls", "exit_group", "--", "/bin/true"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("exit_group(0)"), "{text}");
    assert!(!text.contains("\"start\""), "{text}");
}
