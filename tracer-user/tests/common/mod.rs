//! Shared by the integration tests: they load the real BPF programs (root),
//! start real programs, and read tracer's real output.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

/// Makes `n` getcpu calls on this thread. glibc answers sched_getcpu from
/// the vDSO, so hardly anything on the machine calls getcpu: with
/// `--syscalls getcpu` a test gets exactly the events it makes, at the rate
/// it chooses (count them by tid, or trace only this process with `--pid`
/// where other test suites on a shared machine may storm alongside).
pub fn getcpu(n: usize) {
    for _ in 0..n {
        unsafe { libc::syscall(libc::SYS_getcpu, std::ptr::null_mut::<u32>(), std::ptr::null_mut::<u32>(), 0usize) };
    }
}

pub fn gettid() -> u64 {
    unsafe { libc::gettid() as u64 }
}

/// Integration tests load BPF programs machine-wide and need root (`cargo
/// xtask test` runs them so). Without it the test is skipped with a line on
/// stderr: true means the caller returns at once.
pub fn skip_without_root() -> bool {
    let root = unsafe { libc::geteuid() } == 0;
    if !root {
        let name = std::thread::current().name().unwrap_or("this test").to_string();
        eprintln!("skipped {name}: needs root to load BPF programs (run `cargo xtask test`)");
    }
    !root
}

/// Fails unless root; prefer [`skip_without_root`].
pub fn require_root() {
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "integration tests load BPF programs and must run as root (cargo xtask test)"
    );
}

/// A scratch directory removed on drop.
pub struct TempDir(pub PathBuf);
impl TempDir {
    pub fn new(tag: &str) -> Self {
        let p = std::env::temp_dir().join(format!("tracer-test-{tag}-{}-{:?}", std::process::id(), Instant::now()));
        let p = PathBuf::from(p.to_string_lossy().replace([' ', '{', '}', ':', ','], "_"));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Compiles `tests/programs/<name>.c` into `dir/<out>` with gcc.
pub fn compile(dir: &Path, name: &str, out: &str, extra: &[&str]) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/programs").join(format!("{name}.c"));
    let bin = dir.join(out);
    let st = Command::new("cc")
        .arg("-O1")
        .arg("-o")
        .arg(&bin)
        .arg(&src)
        .arg("-pthread")
        .args(extra)
        .status()
        .expect("running cc");
    assert!(st.success(), "compiling {}", src.display());
    bin
}

/// A program of `tests/programs/` compiled into a scratch directory of its
/// own (removed with it).
pub struct Program {
    _dir: TempDir,
    pub bin: PathBuf,
}

impl Program {
    /// `tests/programs/<name>.c` built as `<out>` with `extra` cc flags.
    pub fn compile(name: &str, out: &str, extra: &[&str]) -> Program {
        let dir = TempDir::new(out);
        let bin = compile(dir.path(), name, out, extra);
        Program { _dir: dir, bin }
    }

    pub fn command(&self) -> Command {
        Command::new(&self.bin)
    }
}

/// One program run under a tracer started just for it.
pub struct Traced {
    /// Every event tracer wrote (not its `start` record).
    pub all: Vec<Value>,
    pub stderr: Vec<String>,
    /// The program's pid and exit code.
    pub pid: u32,
    pub code: i32,
}

impl Traced {
    /// The program's own events.
    pub fn events(&self) -> Vec<&Value> {
        events_of_pid(&self.all, self.pid)
    }
}

/// The preamble of most tests: start tracer with `args`, run `cmd` to
/// completion, stop tracer and collect what it wrote.
pub fn trace(args: &[&str], cmd: &mut Command) -> Traced {
    let mut tracer = Command::new(env!("CARGO_BIN_EXE_tracer"));
    tracer.args(args);
    trace_command(tracer, cmd)
}

/// As [`trace`], for a tracer command the caller has set up (environment, …).
pub fn trace_command(tracer: Command, cmd: &mut Command) -> Traced {
    let tracer = Tracer::start_command(tracer);
    let (pid, code) = run_program(cmd);
    let (mut all, stderr) = tracer.stop_with_stderr();
    // Events only: not tracer's own start record (tests/identity.rs checks it).
    all.retain(|e| e["event"] != "start");
    Traced { all, stderr, pid, code }
}

/// A running tracer whose stdout is collected on a thread.
pub struct Tracer {
    child: Child,
    stdout: Option<std::thread::JoinHandle<Vec<u8>>>,
    pub stderr_lines: mpsc::Receiver<String>,
    pub stderr_seen: Vec<String>,
}

impl Tracer {
    /// Starts tracer with `args` and waits (bounded) for its `attached` line.
    pub fn start(args: &[&str]) -> Tracer {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tracer"));
        cmd.args(args);
        Tracer::start_command(cmd)
    }

    /// As `start`, for a tracer command the caller has set up (cwd,
    /// personality, …).
    pub fn start_command(cmd: Command) -> Tracer {
        Tracer::start_command_to(cmd, None)
    }

    /// As `start_command`, with tracer's stdout going to `stdout` (a pipe
    /// to another process, a file) instead of being collected: `stop`
    /// then returns no events.
    pub fn start_command_to(mut cmd: Command, stdout: Option<Stdio>) -> Tracer {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(stdout.unwrap_or_else(Stdio::piped))
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting tracer");
        let out = child.stdout.take();
        let stdout = std::thread::spawn(move || {
            let mut v = Vec::new();
            if let Some(mut out) = out {
                out.read_to_end(&mut v).unwrap();
            }
            v
        });
        let err = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines() {
                let Ok(line) = line else { break };
                eprintln!("[tracer stderr] {line}");
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut t = Tracer { child, stdout: Some(stdout), stderr_lines: rx, stderr_seen: Vec::new() };
        t.wait_stderr("tracer: attached", Duration::from_secs(60));
        t
    }

    /// Waits for a stderr line starting with `prefix`; panics on timeout or exit.
    pub fn wait_stderr(&mut self, prefix: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stderr_lines.recv_timeout(left) {
                Ok(l) => {
                    self.stderr_seen.push(l.clone());
                    if l.starts_with(prefix) {
                        return l;
                    }
                }
                Err(_) => panic!("tracer did not print '{prefix}' in time; stderr so far: {:?}", self.stderr_seen),
            }
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGINT, then collect every JSON line it wrote. Panics if a line is not
    /// one JSON object or tracer does not exit 0.
    pub fn stop(self) -> Vec<Value> {
        self.stop_with_stderr().0
    }

    /// As `stop`, also returning every stderr line tracer printed.
    pub fn stop_with_stderr(mut self) -> (Vec<Value>, Vec<String>) {
        unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) };
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            assert!(Instant::now() < deadline, "tracer did not exit after SIGINT");
            std::thread::sleep(Duration::from_millis(20));
        };
        let out = self.stdout.take().unwrap().join().unwrap();
        while let Ok(l) = self.stderr_lines.recv_timeout(Duration::from_secs(2)) {
            self.stderr_seen.push(l);
        }
        assert!(status.success(), "tracer exited with {status}; stderr: {:?}", self.stderr_seen);
        (parse_lines(&out), std::mem::take(&mut self.stderr_seen))
    }

    /// Waits (bounded) for tracer to exit on its own (`tracer -- CMD`
    /// stops when CMD exits); returns its events, stderr and exit code.
    pub fn wait_exit(mut self) -> (Vec<Value>, Vec<String>, i32) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            assert!(Instant::now() < deadline, "tracer did not exit; stderr: {:?}", self.stderr_seen);
            std::thread::sleep(Duration::from_millis(20));
        };
        let out = self.stdout.take().unwrap().join().unwrap();
        while let Ok(l) = self.stderr_lines.recv_timeout(Duration::from_secs(2)) {
            self.stderr_seen.push(l);
        }
        let code = status.code().unwrap_or_else(|| panic!("tracer killed: {status}"));
        (parse_lines(&out), std::mem::take(&mut self.stderr_seen), code)
    }
}

impl Drop for Tracer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn parse_lines(out: &[u8]) -> Vec<Value> {
    let text = std::str::from_utf8(out).expect("tracer output is UTF-8");
    text.lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"));
            assert!(v.is_object(), "not an object: {l}");
            v
        })
        .collect()
}

/// Runs `cmd` to completion and returns its pid and exit code.
pub fn run_program(cmd: &mut Command) -> (u32, i32) {
    let mut child = cmd.stdout(Stdio::null()).spawn().expect("starting test program");
    let pid = child.id();
    let st = child.wait().unwrap();
    (pid, st.code().unwrap_or(-1))
}

pub fn events_of_pid(events: &[Value], pid: u32) -> Vec<&Value> {
    events.iter().filter(|e| e["pid"] == pid).collect()
}

pub fn syscalls_named<'a>(events: &[&'a Value], name: &str) -> Vec<&'a Value> {
    events.iter().copied().filter(|e| e["event"] == "syscall" && e["syscall"] == name).collect()
}

/// Events of one kind (`fork`, `exit`, `thread_create`, …).
pub fn events_named<'a>(events: &[&'a Value], event: &str) -> Vec<&'a Value> {
    events.iter().copied().filter(|e| e["event"] == event).collect()
}

pub fn hex(v: u64) -> String {
    format!("{v:#x}")
}

pub fn parse_hex(v: &Value) -> u64 {
    let s = v.as_str().unwrap_or_else(|| panic!("not a hex string: {v}"));
    u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap()
}

/// The kernel-side counter `name` from tracer's exit summary line, e.g.
/// `counter(&stderr, "filtered out in the kernel")`.
pub fn counter(stderr: &[String], name: &str) -> u64 {
    let summary = stderr.iter().find(|l| l.contains("events written")).expect("counters on stderr");
    summary
        .trim_start_matches("tracer: ")
        .split(", ")
        .find_map(|part| part.strip_suffix(name).map(|n| n.trim().parse::<u64>().unwrap()))
        .unwrap_or_else(|| panic!("no '{name}' in {summary}"))
}

/// `len` of every mmap in `events`, in order.
pub fn mmap_lens(events: &[&Value]) -> Vec<u64> {
    events.iter().filter(|e| e["syscall"] == "mmap").map(|e| e["args"]["len"].as_u64().unwrap()).collect()
}

// ---------------------------------------------------------------------------
// Helpers for the sink tests (tests/sinks.rs).

impl Tracer {
    /// Sends `sig` to tracer.
    pub fn signal(&self, sig: i32) {
        unsafe { libc::kill(self.child.id() as i32, sig) };
    }

    /// tracer's exit status if it has exited, without waiting.
    pub fn try_exit_status(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().unwrap()
    }

    /// Waits (bounded) for tracer to exit; returns its status and how long
    /// that took. Does not read stdout.
    pub fn wait_exit_status(&mut self, timeout: Duration) -> (std::process::ExitStatus, Duration) {
        let t0 = Instant::now();
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return (s, t0.elapsed());
            }
            assert!(t0.elapsed() < timeout, "tracer did not exit within {timeout:?}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// Every line of a JSON-lines file, parsed (panics on a partial line).
pub fn read_jsonl(path: &Path) -> Vec<Value> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    assert!(bytes.is_empty() || bytes.ends_with(b"\n"), "{} ends mid-line", path.display());
    parse_lines(&bytes)
}

/// The Python venv `cargo xtask test` made for a test file (its path in
/// `var`, default `.tools/<dir>`); panics with what to run if it is missing.
pub fn test_venv(var: &str, dir: &str, what: &str) -> PathBuf {
    let v = std::env::var_os(var).map(PathBuf::from).unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.tools").join(dir));
    assert!(v.join("bin/python").exists(), "no {what} test venv at {} (run the tests through `cargo xtask test`)", v.display());
    v
}

/// A TCP port nobody listens on right now (bound and released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A UDP port nobody listens on right now.
pub fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Polls `f` every 20 ms until it returns Some, or panics after `timeout`.
pub fn wait_for<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Prometheus text exposition as `name{labels}` → value.
pub fn prometheus_samples(text: &str) -> std::collections::BTreeMap<String, u64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (k, v) = l.rsplit_once(' ').unwrap();
            (k.to_owned(), v.parse().unwrap_or_else(|_| panic!("value in {l}")))
        })
        .collect()
}

/// One scrape of tracer's `--metrics 127.0.0.1:PORT` endpoint (None while
/// it is not listening yet).
pub fn scrape_metrics(port: u16) -> Option<std::collections::BTreeMap<String, u64>> {
    use std::io::Write;
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").ok()?;
    let mut resp = String::new();
    s.read_to_string(&mut resp).ok()?;
    let (_, body) = resp.split_once("\r\n\r\n")?;
    Some(prometheus_samples(body))
}

/// Waits until tracer's pipeline is idle: the ring holds nothing and no
/// sink has a byte queued, in every scrape for 1.5 s (tracer refreshes
/// what it serves every 500 ms). The machine's speed decides how long that
/// takes, not a fixed sleep.
pub fn wait_until_drained(port: u16, timeout: Duration) {
    let idle = |m: &std::collections::BTreeMap<String, u64>| {
        m.get("tracer_ringbuf_used_bytes") == Some(&0)
            && m.iter().filter(|(k, _)| k.starts_with("tracer_sink_queued_bytes")).all(|(_, v)| *v == 0)
    };
    let mut idle_since: Option<Instant> = None;
    wait_for("tracer's ring and queues to drain", timeout, || {
        if scrape_metrics(port).is_some_and(|m| idle(&m)) {
            let since = *idle_since.get_or_insert_with(Instant::now);
            if since.elapsed() >= Duration::from_millis(1500) {
                return Some(());
            }
        } else {
            idle_since = None;
        }
        std::thread::sleep(Duration::from_millis(100));
        None
    });
}

/// A child process killed (and reaped) on drop.
pub struct KillOnDrop(pub Child);
impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
