//! An idle daemon sleeps: after a quiet spell it stops its 10 ms drain
//! timer and the kernel side wakes it for the next record. Shown on the
//! real daemon: it wakes a few times a second, not a hundred, and a lone
//! record after each quiet spell still reaches the output at once, not at
//! the idle safety-net tick (1 s).

mod common;

use std::io::{BufRead, BufReader};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::*;

/// Voluntary context switches of thread `tid` of process `pid`: how often
/// it went to sleep.
fn sleeps(pid: u32, tid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("voluntary_ctxt_switches:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// One getcpu call, told apart by its (ignored) third argument.
fn getcpu(mark: usize) {
    unsafe { libc::syscall(libc::SYS_getcpu, std::ptr::null_mut::<u32>(), std::ptr::null_mut::<u32>(), mark) };
}

#[test]
fn an_idle_daemon_sleeps_and_a_lone_record_still_arrives_at_once() {
    if skip_without_root() {
        return;
    }
    let (reader, writer) = std::io::pipe().unwrap();
    let me = std::process::id().to_string();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_tracer"));
    // This process only, one syscall nothing in it makes but the test.
    cmd.args(["--no-lifecycle", "--syscalls", "getcpu", "--pid", &me]);
    let tracer = Tracer::start_command_to(cmd, Some(writer.into()));
    // Each line, with when it came out of the pipe.
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(reader).lines() {
            let Ok(line) = line else { break };
            if tx.send((Instant::now(), line)).is_err() {
                break;
            }
        }
    });

    // Nothing traced for 4 s: after its first 100 ms the daemon is idle.
    std::thread::sleep(Duration::from_millis(500));
    let pid = tracer.pid();
    let before = sleeps(pid, pid);
    std::thread::sleep(Duration::from_secs(4));
    let idle_sleeps = sleeps(pid, pid) - before;
    // A 10 ms drain tick alone would be 400. The idle daemon has only its
    // 1 s safety tick, which polls the loss counters too: ~9 sleeps here
    // (tokio's timer wheel wakes it twice per tick); a separate 500 ms
    // loss poll, as before, made it 24.
    assert!(idle_sleeps < 16, "the idle daemon slept {idle_sleeps} times in 4 s");

    // Lone calls, each after a quiet spell long enough to go idle in.
    let mut latencies = Vec::new();
    for mark in 0x5101..0x5106usize {
        std::thread::sleep(Duration::from_millis(400));
        let called = Instant::now();
        getcpu(mark);
        let want = format!("\"0x{mark:x}\"");
        let (arrived, line) = loop {
            let (at, line) = lines.recv_timeout(Duration::from_secs(5)).expect("the call's line within 5 s");
            if line.contains("\"syscall\":\"getcpu\"") && line.contains(&want) {
                break (at, line);
            }
        };
        assert!(line.contains(&format!("\"pid\":{me}")), "{line}");
        latencies.push(arrived - called);
    }
    // Woken by the record, the daemon reads it within milliseconds; were
    // the wake-up lost, it would wait for the safety tick, ~700 ms here.
    assert!(latencies.iter().all(|l| *l < Duration::from_millis(300)), "lone records took {latencies:?}");
    eprintln!("idle: {idle_sleeps} sleeps in 2 s; lone records read after {latencies:?}");
    drop(tracer);
}
