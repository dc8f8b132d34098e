//! Sinks against real receivers: rsyslog, TCP and Unix listeners that come
//! up late, rotation watched with inotify, logrotate's rename + SIGHUP,
//! per-pid files, a closed pipe, a Prometheus scrape with curl, and the
//! systemd unit checked by systemd-analyze.
//!
//! The tests that count lines trace `getcpu` machine-wide with
//! `--no-lifecycle`: they are about sinks, and the machine's forks, execs
//! and exits would add lines they do not count.

mod common;
use common::*;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

fn process_bin(dir: &TempDir) -> PathBuf {
    compile(dir.path(), "process", "process", &[])
}

fn run_process(bin: &Path) -> u32 {
    let (pid, code) = run_program(&mut Command::new(bin));
    assert_eq!(code, 0);
    pid
}

/// `N` of tracer's `tracer: N events written, …` line.
fn records_written(stderr: &[String]) -> u64 {
    let l = stderr.iter().find(|l| l.contains(" events written")).expect("summary on stderr");
    l.trim_start_matches("tracer: ").split(' ').next().unwrap().parse().unwrap()
}

fn seq(v: &Value) -> u64 {
    v["seq"].as_u64().unwrap_or_else(|| panic!("no seq: {v}"))
}

/// `lost` records about the sink named `name`.
fn lost_about<'a>(lines: &'a [Value], name: &str) -> Vec<&'a Value> {
    lines.iter().filter(|v| v["event"] == "lost" && v["where"] == "sink" && v["sink"] == name).collect()
}

// ---------------------------------------------------------------------------
// syslog → rsyslog

struct Rsyslog {
    _proc: KillOnDrop,
    out: PathBuf,
    tcp: u16,
    udp: u16,
    sock: PathBuf,
}

/// rsyslogd on private ports and a private socket, writing every message's
/// parsed fields, tab-separated, to `dir/out.log`.
fn start_rsyslog(dir: &Path) -> Rsyslog {
    let rsyslogd = Path::new("/usr/sbin/rsyslogd");
    assert!(rsyslogd.exists(), "rsyslog is not installed (`cargo xtask test` installs it)");
    let (tcp, udp) = (free_port(), free_udp_port());
    let sock = dir.join("log.sock");
    let out = dir.join("out.log");
    let conf = dir.join("rsyslog.conf");
    std::fs::write(
        &conf,
        format!(
            r#"global(workDirectory="{dir}" maxMessageSize="64k")
module(load="imtcp")
module(load="imudp")
module(load="imuxsock" SysSock.Use="off")
input(type="imtcp" port="{tcp}" address="127.0.0.1")
input(type="imudp" port="{udp}" address="127.0.0.1")
input(type="imuxsock" Socket="{sock}" UseSpecialParser="off" ParseHostname="on" IgnoreTimestamp="off")
template(name="fields" type="string" string="%hostname%\t%app-name%\t%procid%\t%msgid%\t%pri%\t%timereported:::date-rfc3339%\t%structured-data%\t%msg%\n")
action(type="omfile" file="{out}" template="fields")
"#,
            dir = dir.display(),
            sock = sock.display(),
            out = out.display()
        ),
    )
    .unwrap();
    let child = Command::new(rsyslogd)
        .args(["-n", "-f"])
        .arg(&conf)
        .arg("-i")
        .arg(dir.join("rsyslogd.pid"))
        .stdin(Stdio::null())
        .spawn()
        .expect("starting rsyslogd");
    let proc = KillOnDrop(child);
    wait_for("rsyslogd to listen", Duration::from_secs(10), || {
        (sock.exists() && std::net::TcpStream::connect(("127.0.0.1", tcp)).is_ok()).then_some(())
    });
    Rsyslog { _proc: proc, out, tcp, udp, sock }
}

/// rsyslog's lines: the 8 tab-separated fields of the template.
fn rsyslog_lines(path: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .map(|l| {
            let f: Vec<String> = l.splitn(8, '\t').map(str::to_owned).collect();
            assert_eq!(f.len(), 8, "rsyslog line: {l}");
            f
        })
        .collect()
}

/// RFC 5424 HOSTNAME for this machine: its name, or the NILVALUE `-` when
/// it has none usable (a container may have an empty one).
fn hostname() -> String {
    let mut buf = [0u8; 256];
    unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    let n = buf.iter().position(|&b| b == 0).unwrap();
    let h = &buf[..n];
    if h.is_empty() || !h.iter().all(|b| (33..=126).contains(b)) {
        return "-".into();
    }
    String::from_utf8_lossy(h).into_owned()
}

/// One message as rsyslog parsed it, checked field by field against the
/// JSON record it carries.
fn check_syslog_fields(f: &[String], tracer_pid: u32) -> Value {
    let json: Value = serde_json::from_str(&f[7]).unwrap_or_else(|e| panic!("MSG is not the JSON record ({e}): {}", f[7]));
    assert_eq!(f[0], hostname(), "HOSTNAME");
    assert_eq!(f[1], "tracer", "APP-NAME");
    assert_eq!(f[2], tracer_pid.to_string(), "PROCID");
    assert_eq!(f[3], json["event"].as_str().unwrap(), "MSGID");
    assert_eq!(f[4], if json["event"] == "lost" { "28" } else { "30" }, "PRI: daemon.info / daemon.warning");
    // TIMESTAMP: the record's own ts, to the microsecond.
    let ts = json["ts"].as_str().unwrap();
    assert_eq!(f[5], format!("{}Z", &ts[..26]), "TIMESTAMP");
    let sd = if json["event"] == "syscall" {
        format!(
            r#"[tracer@32473 pid="{}" tid="{}" syscall="{}" seq="{}"]"#,
            json["pid"], json["tid"], json["syscall"].as_str().unwrap(), json["seq"]
        )
    } else {
        format!(r#"[tracer@32473 seq="{}"]"#, json["seq"])
    };
    assert_eq!(f[6], sd, "STRUCTURED-DATA");
    json
}

#[test]
fn syslog_messages_reach_rsyslog_over_tcp_udp_and_unix_with_every_field_intact() {
    if skip_without_root() {
        return;
    }
    let dir = TempDir::new("syslog");
    let bin = process_bin(&dir);
    let rs = start_rsyslog(dir.path());

    // TCP (octet counting): every record, byte for byte.
    let reference = dir.path().join("ref.jsonl");
    let tracer = Tracer::start(&[
        "--syscalls",
        "clone,wait4,set_robust_list",
        "--syslog",
        &format!("tcp:127.0.0.1:{}", rs.tcp),
        "--output",
        reference.to_str().unwrap(),
    ]);
    let tracer_pid = tracer.pid();
    let pid = run_process(&bin);
    assert!(tracer.stop().is_empty(), "stdout is not a sink when others are named");
    let want = read_jsonl(&reference);
    let got = wait_for("rsyslog to write every record", Duration::from_secs(10), || {
        let l = rsyslog_lines(&rs.out);
        (l.len() >= want.len()).then_some(l)
    });
    assert_eq!(got.len(), want.len(), "one syslog message per record");
    let by_seq: BTreeMap<u64, &Value> = want.iter().map(|v| (seq(v), v)).collect();
    for f in &got {
        let json = check_syslog_fields(f, tracer_pid);
        assert_eq!(&json, by_seq[&seq(&json)], "MSG is the record, unchanged");
    }
    let mine: Vec<Value> = got.iter().map(|f| serde_json::from_str::<Value>(&f[7]).unwrap()).filter(|v| v["pid"] == pid).collect();
    assert_eq!(mine.iter().filter(|v| v["syscall"] == "clone").count(), 1, "{mine:?}");
    assert_eq!(mine.iter().filter(|v| v["syscall"] == "wait4").count(), 1);

    // UDP (one message per datagram) and the unix datagram socket (/dev/log's kind).
    for endpoint in [format!("udp:127.0.0.1:{}", rs.udp), format!("unix:{}", rs.sock.display())] {
        let before = rsyslog_lines(&rs.out).len();
        // Datagrams may be dropped under load: keep the traffic to the
        // program itself (--comm), not every process on the machine.
        let tracer = Tracer::start(&["--syscalls", "clone,wait4", "--comm", "process", "--syslog", &endpoint]);
        let tracer_pid = tracer.pid();
        let pid = run_process(&bin);
        tracer.stop();
        let lines = wait_for(&format!("the process's clone via {endpoint}"), Duration::from_secs(10), || {
            let l = rsyslog_lines(&rs.out);
            let new: Vec<Value> = l[before..].iter().map(|f| check_syslog_fields(f, tracer_pid)).collect();
            new.iter().any(|v| v["pid"] == pid && v["syscall"] == "wait4").then_some(new)
        });
        let clones: Vec<_> = lines.iter().filter(|v| v["pid"] == pid && v["syscall"] == "clone").collect();
        assert_eq!(clones.len(), 1, "{endpoint}");
        assert_eq!(clones[0]["args"]["clone_flags"], "CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD");
    }
}

// ---------------------------------------------------------------------------
// A stream listener that comes up 2 s after tracer

enum Listener {
    Tcp(std::net::TcpListener),
    Unix(std::os::unix::net::UnixListener),
}

/// Accepts one connection and collects what arrives until EOF.
fn collect(l: Listener, got: Arc<Mutex<Vec<u8>>>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut conn: Box<dyn Read + Send> = match l {
            Listener::Tcp(l) => Box::new(l.accept().unwrap().0),
            Listener::Unix(l) => Box::new(l.accept().unwrap().0),
        };
        let mut buf = [0u8; 65536];
        loop {
            match conn.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => got.lock().unwrap().extend_from_slice(&buf[..n]),
            }
        }
    })
}

fn late_listener_gets_everything_after_and_lost_accounts_for_the_rest(unix: bool) {
    if skip_without_root() {
        return;
    }
    let dir = TempDir::new(if unix { "late-unix" } else { "late-tcp" });
    let port = free_port();
    let sock = dir.path().join("lines.sock");
    let endpoint = if unix { format!("unix:{}", sock.display()) } else { format!("tcp:127.0.0.1:{port}") };
    let tracer = Tracer::start(&["--no-lifecycle", "--syscalls", "getcpu", "--socket", &endpoint, "--queue-size", "64K"]);
    let up = Instant::now();
    // ~1 MB of lines while nobody listens: the 64 KiB queue overflows.
    getcpu(3000);
    std::thread::sleep(Duration::from_secs(2).saturating_sub(up.elapsed()));
    let listener = if unix {
        Listener::Unix(std::os::unix::net::UnixListener::bind(&sock).unwrap())
    } else {
        Listener::Tcp(std::net::TcpListener::bind(("127.0.0.1", port)).unwrap())
    };
    let got = Arc::new(Mutex::new(Vec::new()));
    let reader = collect(listener, Arc::clone(&got));
    // Connected (after backoff) and delivering what the queue held.
    wait_for("tracer to connect and deliver", Duration::from_secs(10), || (!got.lock().unwrap().is_empty()).then_some(()));
    // Now a trickle from a thread of its own (its tid marks its events):
    // every one of these must arrive.
    let trickle = std::thread::spawn(|| {
        for _ in 0..50 {
            getcpu(1);
            std::thread::sleep(Duration::from_millis(10));
        }
        unsafe { libc::gettid() as u32 }
    })
    .join()
    .unwrap();
    // A loss poll (500 ms) tells the sink, now accepting, what it lost.
    std::thread::sleep(Duration::from_millis(1500));
    let (stdout, stderr) = tracer.stop_with_stderr();
    assert!(stdout.is_empty(), "stdout is not a sink when others are named");
    reader.join().unwrap();
    let emitted = records_written(&stderr);

    let bytes = got.lock().unwrap().clone();
    let received = parse_lines(&bytes); // panics on a split line
    let got_seqs: BTreeSet<u64> = received.iter().map(seq).collect();
    assert_eq!(got_seqs.len(), received.len(), "no line twice");
    assert!(got_seqs.iter().all(|&s| s < emitted));
    let missing: Vec<u64> = (0..emitted).filter(|s| !got_seqs.contains(s)).collect();
    assert!(!missing.is_empty(), "the outage overflowed the queue (control)");

    let name = format!("socket:{endpoint}");
    let reports = lost_about(&received, &name);
    assert!(!reports.is_empty(), "the sink was told about its losses");
    let counted: u64 = reports.iter().map(|r| r["count"].as_u64().unwrap()).sum();
    assert_eq!(counted, missing.len() as u64, "lost records account exactly for the {} missing seqs", missing.len());
    for s in &missing {
        assert!(
            reports.iter().any(|r| r["first_seq"].as_u64().unwrap() <= *s && *s <= r["last_seq"].as_u64().unwrap()),
            "seq {s} is missing but no lost record covers it"
        );
    }
    // Everything emitted after it came up arrived.
    let after: Vec<u64> = received.iter().filter(|v| v["tid"] == trickle).map(seq).collect();
    assert_eq!(after.len(), 50, "every call made after the listener came up arrived");
    assert!(missing.iter().all(|&s| s < after[0]), "lost after the listener came up: {:?}", missing.iter().filter(|&&s| s > after[0]).collect::<Vec<_>>());
}

#[test]
fn tcp_listener_started_late_gets_every_later_event_and_lost_records_account_for_the_rest() {
    late_listener_gets_everything_after_and_lost_accounts_for_the_rest(false);
}

#[test]
fn unix_listener_started_late_gets_every_later_event_and_lost_records_account_for_the_rest() {
    late_listener_gets_everything_after_and_lost_accounts_for_the_rest(true);
}

// ---------------------------------------------------------------------------
// Files: rotation, logrotate, per-pid

/// Names created in (or moved into) `dir`, collected with inotify until dropped.
struct Watch {
    stop: Arc<AtomicBool>,
    names: Arc<Mutex<Vec<String>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Watch {
    fn new(dir: &Path) -> Watch {
        let fd = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
        assert!(fd >= 0);
        let c = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()).unwrap();
        assert!(unsafe { libc::inotify_add_watch(fd, c.as_ptr(), libc::IN_CREATE | libc::IN_MOVED_TO) } >= 0);
        let stop = Arc::new(AtomicBool::new(false));
        let names = Arc::new(Mutex::new(Vec::new()));
        let (s, n) = (Arc::clone(&stop), Arc::clone(&names));
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            loop {
                let r = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
                if r > 0 {
                    let mut off = 0;
                    while off < r as usize {
                        let len = u32::from_ne_bytes(buf[off + 12..off + 16].try_into().unwrap()) as usize;
                        let name = &buf[off + 16..off + 16 + len];
                        let name = name.split(|&b| b == 0).next().unwrap();
                        n.lock().unwrap().push(String::from_utf8_lossy(name).into_owned());
                        off += 16 + len;
                    }
                } else if s.load(Ordering::Relaxed) {
                    break;
                } else {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
            unsafe { libc::close(fd) };
        });
        Watch { stop, names, thread: Some(thread) }
    }

    fn finish(mut self) -> Vec<String> {
        std::thread::sleep(Duration::from_millis(50));
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().unwrap().join().unwrap();
        self.names.lock().unwrap().clone()
    }
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().mode() & 0o7777
}

fn rotated(p: &Path, n: u32) -> PathBuf {
    PathBuf::from(format!("{}.{n}", p.display()))
}

#[test]
fn rotation_keeps_n_files_of_mode_0600_and_never_makes_n_plus_1() {
    if skip_without_root() {
        return;
    }
    let dir = TempDir::new("rotate");
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let out = logs.join("events.jsonl");
    let watch = Watch::new(&logs);
    let tracer = Tracer::start(&[
        "--no-lifecycle", "--syscalls", "getcpu",
        "--output", out.to_str().unwrap(),
        "--output", "-",
        "--rotate-size", "16K",
        "--rotate-keep", "3",
    ]);
    // ~330 bytes a line: ~50 lines a file, ~10 rotations.
    for _ in 0..10 {
        getcpu(50);
        std::thread::sleep(Duration::from_millis(20));
    }
    let emitted = tracer.stop();
    let names = watch.finish();

    let allowed: BTreeSet<String> = ["events.jsonl", "events.jsonl.1", "events.jsonl.2", "events.jsonl.3"].map(String::from).into();
    for n in &names {
        assert!(allowed.contains(n), "{n} appeared (N+1 files)");
    }
    assert!(names.iter().filter(|n| *n == "events.jsonl").count() >= 4, "rotated at least 4 times: {names:?}");
    let files = [rotated(&out, 3), rotated(&out, 2), rotated(&out, 1), out.clone()];
    let mut union = Vec::new();
    for f in &files {
        assert_eq!(mode(f), 0o600, "{}", f.display());
        let lines = read_jsonl(f);
        let size = std::fs::metadata(f).unwrap().len();
        assert!(size <= 16 * 1024 || lines.len() == 1, "{} has {size} bytes", f.display());
        union.extend(lines);
    }
    // What is kept is exactly the newest part of what was emitted, in order.
    assert!(union.len() < emitted.len(), "older files were deleted (control)");
    assert_eq!(union, emitted[emitted.len() - union.len()..], "kept files = the last lines emitted, none split or lost");
}

#[test]
fn rotated_files_together_hold_exactly_what_was_emitted() {
    if skip_without_root() {
        return;
    }
    let dir = TempDir::new("rotate-all");
    let out = dir.path().join("events.jsonl");
    let tracer = Tracer::start(&[
        "--no-lifecycle", "--syscalls", "getcpu",
        "--output", out.to_str().unwrap(),
        "--output", "-",
        "--rotate-size", "8K",
        "--rotate-keep", "1000",
    ]);
    // In one burst: rotation happens inside chunks, between lines.
    getcpu(300);
    let emitted = tracer.stop();
    let mut n = 0;
    while rotated(&out, n + 1).exists() {
        n += 1;
    }
    assert!(n >= 5, "rotated {n} times");
    let mut union = Vec::new();
    for i in (1..=n).rev() {
        assert_eq!(mode(&rotated(&out, i)), 0o600);
        union.extend(read_jsonl(&rotated(&out, i)));
    }
    union.extend(read_jsonl(&out));
    assert_eq!(union.len(), emitted.len());
    assert_eq!(union.iter().filter(|v| v["syscall"] == "getcpu").count(), 300);
    assert_eq!(union, emitted, "no line lost, duplicated or split at a rotation boundary");
}

#[test]
fn logrotate_rename_then_sighup_loses_nothing() {
    if skip_without_root() {
        return;
    }
    let dir = TempDir::new("logrotate");
    let out = dir.path().join("events.jsonl");
    let moved = dir.path().join("events.jsonl.1");
    let tracer = Tracer::start(&["--no-lifecycle", "--syscalls", "getcpu", "--output", out.to_str().unwrap(), "--output", "-"]);
    // Events only: the file also starts with tracer's start record.
    let count = |f: &Path| read_jsonl(f).iter().filter(|v| v["event"] != "start").count();
    getcpu(100);
    wait_for("100 lines", Duration::from_secs(5), || (count(&out) == 100).then_some(()));
    // logrotate: rename, then HUP. Lines in between go to the renamed file.
    std::fs::rename(&out, &moved).unwrap();
    getcpu(100);
    wait_for("100 more lines in the renamed file", Duration::from_secs(5), || (count(&moved) == 200).then_some(()));
    tracer.signal(libc::SIGHUP);
    wait_for("tracer to reopen events.jsonl", Duration::from_secs(5), || out.exists().then_some(()));
    getcpu(100);
    wait_for("100 lines in the new file", Duration::from_secs(5), || (count(&out) == 100).then_some(()));
    let emitted = tracer.stop();

    let old = read_jsonl(&moved);
    let new = read_jsonl(&out);
    assert_eq!((old.len(), new.len()), (201, 100), "written to the renamed file (after the start record) until SIGHUP, then to a new one");
    assert_eq!(mode(&out), 0o600);
    let union: Vec<Value> = old.into_iter().chain(new).collect();
    assert_eq!(union, emitted, "renamed + reopened file = everything, in order");
}

/// Paths tracer has open.
fn open_files(pid: u32) -> Vec<PathBuf> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.filter_map(|e| std::fs::read_link(e.ok()?.path()).ok()).collect())
        .unwrap_or_default()
}

#[test]
fn output_dir_gives_parent_and_child_a_file_each_and_closes_them_after_exit() {
    if skip_without_root() {
        return;
    }
    let dir = TempDir::new("outdir");
    let bin = process_bin(&dir);
    let outdir = dir.path().join("per-pid");
    let tracer = Tracer::start(&[
        "--syscalls", "clone,wait4,set_robust_list,mmap",
        "--output-dir", outdir.to_str().unwrap(),
        "--output", "-",
    ]);
    let tracer_pid = tracer.pid();
    let parent = run_process(&bin);
    let parent_file = outdir.join(format!("{parent}.jsonl"));
    let emitted_so_far = wait_for("the parent's file", Duration::from_secs(5), || {
        read_jsonl_if_exists(&parent_file).filter(|v| v.iter().any(|e| e["syscall"] == "wait4"))
    });
    let child = emitted_so_far.iter().find(|e| e["syscall"] == "clone").expect("the fork")["ret"].as_u64().unwrap() as u32;
    let child_file = outdir.join(format!("{child}.jsonl"));
    // Closed once idle and gone from /proc (3 s idle, checked every second).
    wait_for("the per-pid files to be closed", Duration::from_secs(10), || {
        let open = open_files(tracer_pid);
        assert!(open.contains(&outdir.join("tracer.jsonl")), "control: tracer's own file stays open ({open:?})");
        (!open.contains(&parent_file) && !open.contains(&child_file)).then_some(())
    });
    let emitted = tracer.stop();

    let of = |pid: u32| -> Vec<Value> { emitted.iter().filter(|e| e["pid"] == pid).cloned().collect() };
    let p = read_jsonl(&parent_file);
    let c = read_jsonl(&child_file);
    assert_eq!(p, of(parent), "the parent's file holds exactly the parent's events");
    assert_eq!(c, of(child), "the child's file holds exactly the child's events");
    assert!(p.iter().all(|e| e["pid"] == parent) && c.iter().all(|e| e["pid"] == child));
    assert_eq!(p.iter().filter(|e| e["syscall"] == "clone").count(), 1);
    assert_eq!(p.iter().filter(|e| e["syscall"] == "wait4").count(), 1);
    // The child's one traced call: glibc's fork sets its robust list.
    let robust: Vec<_> = c.iter().filter(|e| e["syscall"] == "set_robust_list").collect();
    assert_eq!(robust.len(), 1, "{c:?}");
    assert_eq!(robust[0]["ret"], 0);
    assert_eq!(robust[0]["tid"], child);
    for f in [&parent_file, &child_file] {
        assert_eq!(mode(f), 0o600);
    }
}

fn read_jsonl_if_exists(p: &Path) -> Option<Vec<Value>> {
    let bytes = std::fs::read(p).ok()?;
    bytes.ends_with(b"\n").then(|| parse_lines(&bytes))
}

// ---------------------------------------------------------------------------
// A closed pipe, shutdown with a stalled peer

fn quiet_stderr(stderr: &str) {
    for l in stderr.lines() {
        assert!(
            l.starts_with("tracer: attached") || l.starts_with("tracer: warn: could not raise RLIMIT_MEMLOCK"),
            "unexpected stderr line: {l}"
        );
    }
}

#[test]
fn piped_into_head_it_exits_promptly_and_quietly() {
    if skip_without_root() {
        return;
    }
    let tracer_bin = env!("CARGO_BIN_EXE_tracer");
    // Busy: mmaps keep coming (a helper runs `true` every 50 ms).
    let done = Arc::new(AtomicBool::new(false));
    let d = Arc::clone(&done);
    let busy = std::thread::spawn(move || {
        while !d.load(Ordering::Relaxed) {
            let _ = Command::new("true").status();
            std::thread::sleep(Duration::from_millis(50));
        }
    });
    let t0 = Instant::now();
    let out = Command::new("bash")
        .args(["-c", r#""$0" --syscalls mmap | head -1; echo "status ${PIPESTATUS[0]}""#, tracer_bin])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let took = t0.elapsed();
    done.store(true, Ordering::Relaxed);
    busy.join().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let mut lines = stdout.lines();
    let first: Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!(first["seq"], 0);
    assert_eq!(lines.next(), Some("status 0"), "tracer exits 0 on EPIPE");
    quiet_stderr(&String::from_utf8_lossy(&out.stderr));
    // A bound against hanging (mmaps never stop coming here), not a speed:
    // promptness is measured below, against this machine's own start-up.
    assert!(took < Duration::from_secs(120), "took {took:?}");

    // Quiet machine: one event, then nothing to write; tracer still notices
    // that head is gone.
    let errfile = std::env::temp_dir().join(format!("tracer-head-{}.err", std::process::id()));
    let mut child = Command::new("bash")
        .args(["-c", r#""$0" --syscalls getcpu 2>"$1" | head -1 >/dev/null; echo "status ${PIPESTATUS[0]}""#, tracer_bin])
        .arg(&errfile)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let t_spawn = Instant::now();
    wait_for("tracer to attach", Duration::from_secs(60), || {
        std::fs::read_to_string(&errfile).ok().filter(|s| s.contains("tracer: attached")).map(drop)
    });
    // Start-up (load, verify, attach) is this machine's yardstick: ~0.3 s
    // on the CI host, ~10x that in a TCG guest.
    let startup = t_spawn.elapsed();
    let t1 = Instant::now();
    unsafe { libc::syscall(libc::SYS_getcpu, std::ptr::null_mut::<u32>(), std::ptr::null_mut::<u32>(), 0usize) };
    let mut status = String::new();
    child.stdout.take().unwrap().read_to_string(&mut status).unwrap();
    child.wait().unwrap();
    let took = t1.elapsed();
    assert_eq!(status.trim(), "status 0");
    // Idle, tracer polls fd 1 every 200 ms: it notices within a few ticks,
    // whatever the machine, not when the next event happens to come.
    assert!(took < Duration::from_millis(1500) + 2 * startup, "noticed the closed pipe after {took:?} (start-up took {startup:?})");
    quiet_stderr(&std::fs::read_to_string(&errfile).unwrap());
    let _ = std::fs::remove_file(&errfile);
}

#[test]
fn sigterm_exits_0_within_the_bound_although_a_peer_stopped_reading() {
    if skip_without_root() {
        return;
    }
    let dir = TempDir::new("stalled");
    let bin = process_bin(&dir);
    let sock = dir.path().join("stalled.sock");
    // Accepts, then never reads: tracer's writes block once the socket
    // buffer is full.
    let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let held = Arc::new(Mutex::new(Vec::new()));
    let h = Arc::clone(&held);
    std::thread::spawn(move || {
        for c in listener.incoming().flatten() {
            h.lock().unwrap().push(c);
        }
    });
    let reference = dir.path().join("all.jsonl");
    let mut tracer = Tracer::start(&[
        "--syscalls", "clone,mmap,mprotect,wait4,set_robust_list",
        "--socket", &format!("unix:{}", sock.display()),
        "--output", reference.to_str().unwrap(),
    ]);
    for _ in 0..40 {
        run_process(&bin);
    }
    tracer.signal(libc::SIGTERM);
    let (status, took) = tracer.wait_exit_status(Duration::from_secs(20));
    assert!(status.success(), "{status}");
    assert!(took < Duration::from_secs(5), "SIGTERM → exit took {took:?}");
    while let Ok(l) = tracer.stderr_lines.recv_timeout(Duration::from_secs(2)) {
        tracer.stderr_seen.push(l);
    }
    let summary = tracer.stderr_seen.iter().find(|l| l.contains("events written")).expect("summary on stderr").clone();
    let n: usize = summary.trim_start_matches("tracer: ").split(' ').next().unwrap().parse().unwrap();
    // The healthy sink was flushed completely.
    let all = read_jsonl(&reference);
    assert_eq!(all.len(), n, "{summary}");
    assert!(!held.lock().unwrap().is_empty(), "the peer did connect (control)");
}

// ---------------------------------------------------------------------------
// Metrics

#[test]
fn metrics_scraped_with_curl_match_the_stats_record() {
    if skip_without_root() {
        return;
    }
    let dir = TempDir::new("metrics");
    let out = dir.path().join("all.jsonl");
    let port = free_port();
    let tracer = Tracer::start(&[
        "--no-lifecycle", "--syscalls", "getcpu",
        "--output", out.to_str().unwrap(),
        "--stats-interval", "1s",
        "--metrics", &format!("127.0.0.1:{port}"),
    ]);
    const CALLS: u64 = 25;
    for _ in 0..CALLS {
        unsafe { libc::syscall(libc::SYS_getcpu, std::ptr::null_mut::<u32>(), std::ptr::null_mut::<u32>(), 0usize) };
    }
    // A stats record taken after the calls were all drained.
    let stats = wait_for("a stats record with every call", Duration::from_secs(10), || {
        let lines = read_jsonl_if_exists(&out)?;
        lines.into_iter().rev().find(|v| v["event"] == "stats" && v["events"]["getcpu"] == CALLS)
    });
    let curl = Command::new("curl")
        .args(["--silent", "--show-error", "--fail", "--include", &format!("http://127.0.0.1:{port}/metrics")])
        .output()
        .expect("running curl (`cargo xtask test` installs it)");
    assert!(curl.status.success(), "{}", String::from_utf8_lossy(&curl.stderr));
    let resp = String::from_utf8(curl.stdout).unwrap();
    let (head, body) = resp.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains("Content-Type: text/plain; version=0.0.4"), "{head}");
    let m = prometheus_samples(body);
    let sink = format!("file:{}", out.display());

    assert_eq!(m["tracer_events_total{syscall=\"getcpu\"}"], CALLS);
    assert_eq!(stats["events"]["getcpu"], CALLS);
    for (k, v) in stats["kernel"].as_object().unwrap() {
        assert_eq!(m[&format!("tracer_kernel_{k}_total")], v.as_u64().unwrap(), "kernel counter {k}");
    }
    assert_eq!(stats["kernel"]["emitted"], CALLS, "only our calls were traced");
    assert_eq!(stats["kernel"]["ringbuf_full"], 0);
    assert_eq!(m["tracer_decode_errors_total"], stats["decode_errors"].as_u64().unwrap());
    assert_eq!(m["tracer_ringbuf_size_bytes"], stats["ringbuf"]["size_bytes"].as_u64().unwrap());
    let s = &stats["sinks"][&sink];
    assert_eq!(m[&format!("tracer_sink_dropped_total{{sink=\"{sink}\"}}")], s["dropped"].as_u64().unwrap());
    assert_eq!(m[&format!("tracer_sink_queue_capacity_bytes{{sink=\"{sink}\"}}")], s["capacity_bytes"].as_u64().unwrap());
    // Lines and records keep growing by the stats records themselves (one a
    // second), so the scrape, taken later, has at least as many.
    assert!(m["tracer_records_total"] >= stats["records"].as_u64().unwrap());
    assert!(m[&format!("tracer_sink_written_total{{sink=\"{sink}\"}}")] >= s["written"].as_u64().unwrap());
    assert!(m["tracer_records_total"] >= CALLS);
    tracer.stop();
}

// ---------------------------------------------------------------------------
// Packaging

#[test]
fn systemd_unit_passes_systemd_analyze_verify_with_only_bpf_and_perfmon() {
    let unit = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../dist/tracer.service")).unwrap();
    let caps: Vec<&str> = unit.lines().filter(|l| l.starts_with("AmbientCapabilities=") || l.starts_with("CapabilityBoundingSet=")).collect();
    assert_eq!(caps, ["AmbientCapabilities=CAP_BPF CAP_PERFMON", "CapabilityBoundingSet=CAP_BPF CAP_PERFMON"]);

    let dir = TempDir::new("unit");
    // The man page the unit's Documentation= names, generated by `tracer man`.
    let man1 = dir.path().join("man/man1");
    std::fs::create_dir_all(&man1).unwrap();
    let page = Command::new(env!("CARGO_BIN_EXE_tracer")).arg("man").output().unwrap();
    assert!(page.status.success());
    std::fs::write(man1.join("tracer.1"), page.stdout).unwrap();
    let verify = |text: &str| {
        let d = dir.path().join(format!("u{}", text.len()));
        std::fs::create_dir_all(&d).unwrap();
        let f = d.join("tracer.service");
        std::fs::write(&f, text).unwrap();
        Command::new("systemd-analyze").arg("verify").arg(&f).env("MANPATH", dir.path().join("man")).output().expect("systemd-analyze")
    };
    // ExecStart= must name an existing executable: the one just built.
    let installed = unit.replace("/usr/local/bin/tracer", env!("CARGO_BIN_EXE_tracer"));
    let out = verify(&installed);
    assert!(out.status.success() && out.stderr.is_empty(), "systemd-analyze verify: {}", String::from_utf8_lossy(&out.stderr));
    // Control: verify does catch a broken unit.
    let broken = installed.replace(env!("CARGO_BIN_EXE_tracer"), "/nonexistent/tracer");
    assert!(!verify(&broken).status.success(), "verify accepted a unit whose binary does not exist");
}

/// A run shorter than `--stats-interval` still reports: the stream ends
/// with one `stats` record of the totals, taken after the last drain and
/// once the sink has written the lines before it.
#[test]
fn a_run_shorter_than_the_stats_interval_ends_with_a_stats_record_of_the_totals() {
    if skip_without_root() {
        return;
    }
    let storm = Program::compile("storm", "storm", &[]);
    const CALLS: u64 = 2 * 50;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tracer"));
    cmd.args(["--no-lifecycle", "--syscalls", "getppid", "--stats-interval", "1h", "--"]).arg(&storm.bin).args(["2", "50"]);
    let (events, stderr, code) = Tracer::start_command(cmd).wait_exit();
    assert_eq!(code, 0, "{stderr:?}");
    let stats: Vec<&Value> = events.iter().filter(|e| e["event"] == "stats").collect();
    assert_eq!(stats.len(), 1, "one stats record, at the end: {stats:?}");
    let last = events.last().unwrap();
    assert_eq!(last["event"], "stats", "the last line: {last}");
    assert_eq!(last["events"]["getppid"], CALLS, "{last}");
    assert_eq!(events.iter().filter(|e| e["syscall"] == "getppid").count() as u64, CALLS);
    assert_eq!(last["calls_in_flight"], 0, "{last}");
    // Taken once the sink had written every line before it.
    assert_eq!(last["sinks"]["stdout"]["written"], last["seq"], "{last}");
    assert_eq!(last["sinks"]["stdout"]["dropped"], 0, "{last}");
}

#[test]
fn config_file_env_and_flags_reach_the_running_daemon() {
    if skip_without_root() {
        return;
    }
    let dir = TempDir::new("config");
    let from_file = dir.path().join("from-file.jsonl");
    let from_env = dir.path().join("from-env.jsonl");
    let conf = dir.path().join("tracer.toml");
    std::fs::write(&conf, format!("syscalls = \"clone\"\noutput = [\"{}\"]\nstats-interval = \"200ms\"\n", from_file.display())).unwrap();
    // TRACER_OUTPUT wins over the file's `output`; the flag wins over both for --syscalls.
    let child = Command::new(env!("CARGO_BIN_EXE_tracer"))
        .args(["--config", conf.to_str().unwrap(), "--no-lifecycle", "--syscalls", "getcpu"])
        .env("TRACER_OUTPUT", &from_env)
        .env("TRACER_SYSCALLS", "mmap")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = KillOnDrop(child);
    let mut err = BufReader::new(child.0.stderr.take().unwrap());
    let mut attached = String::new();
    while !attached.starts_with("tracer: attached") {
        attached.clear();
        assert!(err.read_line(&mut attached).unwrap() > 0, "tracer exited");
    }
    assert!(attached.contains("tracing getcpu machine-wide"), "{attached}");
    let stats = wait_for("a stats record (interval from the file)", Duration::from_secs(5), || {
        read_jsonl_if_exists(&from_env)?.into_iter().find(|v| v["event"] == "stats")
    });
    assert_eq!(stats["sinks"].as_object().unwrap().keys().collect::<Vec<_>>(), [&format!("file:{}", from_env.display())]);
    assert!(!from_file.exists(), "the environment's output replaced the file's");
    unsafe { libc::kill(child.0.id() as i32, libc::SIGTERM) };
    assert!(child.0.wait().unwrap().success());
}

// ---------------------------------------------------------------------------
// Kernel loss

#[test]
fn a_full_ring_buffer_shows_up_as_lost_records_with_per_cpu_counts_within_a_second() {
    if skip_without_root() {
        return;
    }
    // One page of ring buffer: ~28 records; a burst of calls overflows it.
    let tracer = Tracer::start(&["--no-lifecycle", "--syscalls", "getcpu", "--ringbuf-size", "4K"]);
    let burst = std::thread::spawn(|| getcpu(200_000));
    getcpu(200_000);
    burst.join().unwrap();
    std::thread::sleep(Duration::from_millis(1200));
    let (lines, stderr) = tracer.stop_with_stderr();
    let summary = stderr.iter().find(|l| l.contains(" events written")).unwrap();
    let lost_total: u64 = summary.split(", ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
    assert!(lost_total > 0, "the 4 KiB ring overflowed (control): {summary}");

    assert_eq!(lines.iter().map(seq).collect::<Vec<_>>(), (0..lines.len() as u64).collect::<Vec<_>>(), "seq stays gapless");
    let kernel: Vec<&Value> = lines.iter().filter(|v| v["event"] == "lost" && v["where"] == "kernel").collect();
    assert!(!kernel.is_empty());
    let mut sum = 0;
    for r in &kernel {
        assert_eq!(r["reason"], "ringbuf_full");
        let count = r["count"].as_u64().unwrap();
        let per_cpu: u64 = r["per_cpu"].as_object().unwrap().values().map(|v| v.as_u64().unwrap()).sum();
        assert_eq!(per_cpu, count, "per-CPU detail adds up: {r}");
        sum += count;
        assert_eq!(r["total"], sum, "total is the running sum");
        // Reported within a second of the window it covers.
        let ts = |k: &str| chrono_ns(r[k].as_str().unwrap());
        assert!(ts("ts") - ts("since") <= 1_000_000_000, "{r}");
    }
    assert_eq!(sum, lost_total, "lost records account for every record the kernel dropped");
    let events = lines.iter().filter(|v| v["event"] == "syscall").count() as u64;
    assert_eq!(events + lost_total, 400_000, "every call is either an event or counted lost");
}

/// Nanoseconds since the epoch of an RFC 3339 UTC timestamp as tracer writes
/// them (`YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`).
fn chrono_ns(ts: &str) -> i128 {
    let n = |a: usize, b: usize| ts[a..b].parse::<i64>().unwrap();
    let (y, m, d) = (n(0, 4), n(5, 7), n(8, 10));
    // Days from civil (Howard Hinnant), the inverse of tracer's formatter.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + n(11, 13) * 3600 + n(14, 16) * 60 + n(17, 19);
    secs as i128 * 1_000_000_000 + n(20, 29) as i128
}
