//! `--format text` with `--syscalls all` set beside `strace -f`: the same
//! syscalls in the same order on every thread, from the program's execve to
//! its exit_group — in one run traced by both, and in separate runs
//! (`tracer -- ./threads` beside `strace -f ./threads`).

mod common;
use common::*;
use std::collections::BTreeMap;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// tracer with text output; stdout is returned raw (it is not JSON).
fn trace_text(args: &[&str], run: impl FnOnce()) -> (String, Vec<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tracer"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        out.read_to_string(&mut s).unwrap();
        s
    });
    let mut err = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let mut byte = [0u8; 1];
        while err.read(&mut byte).unwrap_or(0) == 1 {
            if byte[0] == b'\n' {
                let _ = tx.send(String::from_utf8_lossy(&buf).into_owned());
                buf.clear();
            } else {
                buf.push(byte[0]);
            }
        }
    });
    let mut stderr = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !stderr.iter().any(|l: &String| l.starts_with("tracer: attached")) {
        let l = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())).expect("tracer attached");
        stderr.push(l);
    }
    run();
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    assert!(child.wait().unwrap().success());
    while let Ok(l) = rx.recv_timeout(Duration::from_secs(2)) {
        stderr.push(l);
    }
    (reader.join().unwrap(), stderr)
}

/// `[pid N] name(` → (N, name); None for +++/---/*** lines.
fn syscall_of(line: &str) -> Option<(u32, String)> {
    let rest = line.strip_prefix("[pid ")?;
    let (tid, rest) = rest.split_once("] ")?;
    let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
    if name.is_empty() || !rest[name.len()..].starts_with('(') {
        return None;
    }
    Some((tid.parse().ok()?, name))
}

#[test]
fn text_output_of_all_syscalls_matches_strace_f_per_thread() {
    if skip_without_root() {
        return;
    }
    let dir = TempDir::new("text-strace");
    let bin = compile(dir.path(), "threads", "threads", &[]);
    let prefix = dir.path().join("st");
    // Every syscall of the machine: a big ring so nothing is lost.
    let (text, stderr) = trace_text(&["--syscalls", "all", "--format", "text", "--ringbuf-size", "64M"], || {
        let (_, code) = run_program(Command::new("strace").arg("-f").arg("-ff").arg("-o").arg(&prefix).arg(&bin));
        assert_eq!(code, 0);
    });
    let summary = stderr.iter().find(|l| l.contains("events written")).expect("summary");
    assert!(summary.contains(" 0 lost"), "{summary}");

    // strace: one file per thread, one call per line.
    let mut strace: BTreeMap<u32, Vec<String>> = BTreeMap::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        let Some(tid) = path.extension().and_then(|e| e.to_str()).and_then(|e| e.parse().ok()) else { continue };
        let calls: Vec<String> = std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with("+++") && !l.starts_with("---"))
            .map(|l| l.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect())
            .collect();
        strace.insert(tid, calls);
    }
    assert_eq!(strace.len(), 2, "main thread and the new thread: {strace:?}");

    // tracer: the same tids, from the program's execve on (before it, the
    // pid was strace's fork getting ready to exec, which strace does not show).
    let mut tracer: BTreeMap<u32, Vec<String>> = strace.keys().map(|&t| (t, Vec::new())).collect();
    for line in text.lines() {
        if let Some((tid, name)) = syscall_of(line)
            && let Some(v) = tracer.get_mut(&tid)
        {
            v.push(name);
        }
    }
    let main = *strace.keys().min().unwrap();
    let exec_at = tracer[&main].iter().rposition(|n| n == "execve").expect("the program's execve");
    tracer.get_mut(&main).unwrap().drain(..exec_at);

    assert_eq!(strace[&main].first().map(String::as_str), Some("execve"));
    assert_eq!(strace[&main].last().map(String::as_str), Some("exit_group"));
    for (tid, calls) in &strace {
        assert!(calls.len() > 5, "{tid}: {calls:?}");
    }
    assert_eq!(tracer, strace);

    // And the lines read as strace's: a sample of the walkthrough's.
    let mine: Vec<&str> = text.lines().filter(|l| l.starts_with(&format!("[pid {main}] "))).collect();
    let has = |p: &str| mine.iter().any(|l| l[format!("[pid {main}] ").len()..].starts_with(p));
    assert!(has("rt_sigprocmask(SIG_BLOCK, ~[], [], 8)"), "{mine:#?}");
    assert!(has("prlimit64(0, RLIMIT_STACK, NULL, {rlim_cur=8192*1024, rlim_max=RLIM64_INFINITY}) = 0"));
    assert!(has("exit_group(0)"));
    assert!(has("+++ exited with 0 +++"));
    // The path in full; argv[0], the same path, cut at strace's 32 bytes.
    let path = bin.display().to_string();
    let argv0 = if path.len() > 32 { format!("\"{}\"...", &path[..32]) } else { format!("\"{path}\"") };
    assert!(has(&format!("execve(\"{path}\", [{argv0}], 0x")), "{:?}", mine.iter().find(|l| l.contains("execve(")));
    assert!(mine.iter().any(|l| l.contains("*** thread_create ")));
}

/// Per-thread syscall names from strace -ff files, keyed by thread order
/// (the tid numbers differ between runs; the order of creation does not).
fn strace_by_thread(dir: &std::path::Path) -> Vec<Vec<String>> {
    let mut files: Vec<(u32, Vec<String>)> = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let Some(tid) = path.extension().and_then(|e| e.to_str()).and_then(|e| e.parse().ok()) else { continue };
        let calls = std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with("+++") && !l.starts_with("---"))
            .map(|l| l.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect())
            .collect();
        files.push((tid, calls));
    }
    files.sort();
    files.into_iter().map(|(_, c)| c).collect()
}

#[test]
fn tracer_launching_threads_matches_strace_f_per_thread() {
    if skip_without_root() {
        return;
    }
    let dir = TempDir::new("text-launch");
    compile(dir.path(), "threads", "threads", &[]);
    // Which thread prints first decides who allocates stdout's buffer (a few
    // more calls on that thread): compare a run in which the same thread
    // won. Either side can favour one order for a while, so strace runs
    // again when tracer's runs keep going the other way.
    for attempt in 0.. {
        assert!(attempt < 60, "tracer and strace never ran ./threads the same way");
        let st = dir.path().join(format!("st{}", attempt / 6));
        if attempt % 6 == 0 {
            std::fs::create_dir(&st).unwrap();
            let o = Command::new("strace").current_dir(dir.path()).args(["-f", "-ff", "-o"]).arg(st.join("t")).arg("./threads").output().unwrap();
            assert!(o.status.success());
            std::fs::write(st.join("printed"), &o.stdout).unwrap();
        }
        let printed: Vec<String> = String::from_utf8_lossy(&std::fs::read(st.join("printed")).unwrap()).lines().map(str::to_string).collect();
        let strace = strace_by_thread(&st);
        assert_eq!(strace.len(), 2);
        let o = Command::new(env!("CARGO_BIN_EXE_tracer"))
            .current_dir(dir.path())
            .args(["--syscalls", "all", "--format", "text", "--ringbuf-size", "64M", "--", "./threads"])
            .output()
            .unwrap();
        assert!(o.status.success());
        let stderr = String::from_utf8_lossy(&o.stderr);
        let program: Vec<&str> = stderr.lines().filter(|l| !l.starts_with("tracer: ")).collect();
        if program != printed {
            continue;
        }
        let summary = stderr.lines().find(|l| l.contains("events written")).unwrap();
        assert!(summary.contains(" 0 lost"), "{summary}");
        let text = String::from_utf8(o.stdout).unwrap();
        // Only the command's tree is traced, lifecycle lines included.
        let tids: std::collections::BTreeSet<u32> = text
            .lines()
            .map(|l| l.strip_prefix("[pid ").unwrap().split(']').next().unwrap().parse().unwrap())
            .collect();
        assert_eq!(tids.len(), 2, "the main thread and the new one: {tids:?}");
        let mut by_tid: Vec<Vec<String>> = tids
            .iter()
            .map(|&t| text.lines().filter_map(syscall_of).filter(|(tid, _)| *tid == t).map(|(_, n)| n).collect())
            .collect();
        // The held command is released just before its execve; the calls
        // between (restoring signal dispositions) strace does not show.
        let exec_at = by_tid[0].iter().position(|n| n == "execve").expect("execve");
        assert!(exec_at < 10, "{:?}", &by_tid[0][..exec_at]);
        by_tid[0].drain(..exec_at);
        // futex calls come and go with timing (whether the join found the
        // thread finished, whether the two threads met on stdout's lock),
        // so they differ between any two runs: the rest must be the same.
        let no_futex = |v: &[Vec<String>]| -> Vec<Vec<String>> {
            v.iter().map(|t| t.iter().filter(|n| *n != "futex").cloned().collect()).collect()
        };
        assert_eq!(no_futex(&by_tid), no_futex(&strace));
        assert!(text.contains("+++ exited with 0 +++"));
        assert!(text.contains("*** thread_create "));
        return;
    }
}
