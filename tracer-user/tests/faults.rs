//! Faults outside tracer: a stdout reader that stops reading, a full
//! filesystem, a second tracer next to it. Each loss is counted exactly,
//! memory stays within the queue bound, nothing crashes, and output
//! resumes when the outside world does.

mod common;
use common::*;

use std::collections::BTreeSet;
use std::ffi::CString;
use std::io::Write as _;
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Our pid, for `--pid`.
fn me() -> String {
    std::process::id().to_string()
}

/// `n` getcpu calls on a new thread; returns its tid.
fn getcpu_on_new_thread(n: usize) -> u64 {
    std::thread::spawn(move || {
        getcpu(n);
        unsafe { libc::gettid() as u64 }
    })
    .join()
    .unwrap()
}

fn seq(v: &Value) -> u64 {
    v["seq"].as_u64().unwrap_or_else(|| panic!("no seq: {v}"))
}

/// Seqs below the highest one in `lines` that are not in it.
fn missing_seqs(lines: &[Value]) -> u64 {
    let seen: BTreeSet<u64> = lines.iter().map(seq).collect();
    let Some(&max) = seen.last() else { return 0 };
    max + 1 - seen.len() as u64
}

/// The running `total` of the last `lost` record about sink `name` for
/// `reason` (other sinks may see overlapping counts; see `daemon`).
fn lost_total_about(lines: &[Value], name: &str, reason: &str) -> u64 {
    lines
        .iter()
        .filter(|v| v["event"] == "lost" && v["where"] == "sink" && v["sink"] == name && v["reason"] == reason)
        .map(|v| v["total"].as_u64().unwrap())
        .max()
        .unwrap_or(0)
}

/// Sum of the counts of `lost` records about sink `name` for `reason`.
fn lost_about(lines: &[Value], name: &str, reason: &str) -> u64 {
    lines
        .iter()
        .filter(|v| v["event"] == "lost" && v["where"] == "sink" && v["sink"] == name && v["reason"] == reason)
        .map(|v| v["count"].as_u64().unwrap())
        .sum()
}

fn vm_kib(pid: u32, field: &str) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    s.lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {field} for {pid}"))
}

/// `tracer: sink NAME: D lines dropped (queue full), E not written` → (D, E).
fn sink_summary(stderr: &[String], name: &str) -> (u64, u64) {
    let prefix = format!("tracer: sink {name}: ");
    let Some(l) = stderr.iter().find_map(|l| l.strip_prefix(&prefix).filter(|r| r.contains("lines dropped"))) else {
        return (0, 0);
    };
    let n: Vec<u64> = l.split(|c: char| !c.is_ascii_digit()).filter(|t| !t.is_empty()).map(|t| t.parse().unwrap()).collect();
    (n[0], n[1])
}

// ---------------------------------------------------------------------------
// A stdout reader that stops

/// How long the reader is stopped: the 30 s. The storm is paced at
/// [`CALLS_PER_TICK`] calls every 10 ms (12,000/s): 360,000 calls, ~100 MB
/// of lines, about six times what the queue, the ring and the allowance
/// below add up to, and few enough lines for the test to read back.
const READER_STOPPED: Duration = Duration::from_secs(30);
/// The warm-up storm before the stop: ~60,000 calls, ~17 MB of lines, twice
/// the ring.
const WARM_UP: Duration = Duration::from_secs(5);
const CALLS_PER_TICK: usize = 120;
const QUEUE: u64 = 1 << 20;
const RING: u64 = 8 << 20;
/// The stop test's two sinks (stdout and the healthy reference file): each
/// has its own queue of `--queue-size` bytes.
const SINKS: u64 = 2;
/// Heap and stacks beyond the queues' bound and the batch in hand.
const ALLOWANCE: u64 = 4 << 20;
/// Records the drain reads from the ring per wake-up (the daemon's
/// `MAX_PER_WAKE`): on a machine too slow for the storm the ring is always
/// full, every wake-up reads this many, and their lines (plus ~50 bytes of
/// metadata each, module doc of `sink::queue`) are in hand at once.
const MAX_PER_WAKE: u64 = 16_384;

/// What the test needs of a JSON-lines file too big to hold parsed.
struct Stream {
    lines: u64,
    /// Seqs are exactly 0, 1, 2, …
    gapless: bool,
    syscalls: u64,
    /// [`lost_total_about`] the given sink and reason.
    lost_total: u64,
}

impl Stream {
    fn read(path: &Path, sink: &str, reason: &str) -> Stream {
        use std::io::BufRead as _;
        let mut st = Stream { lines: 0, gapless: true, syscalls: 0, lost_total: 0 };
        let file = std::fs::File::open(path).unwrap();
        for line in std::io::BufReader::new(file).split(b'\n') {
            let v = parse_lines(&line.unwrap()).pop().expect("an empty line");
            st.gapless &= seq(&v) == st.lines;
            st.syscalls += (v["event"] == "syscall") as u64;
            st.lost_total = st.lost_total.max(lost_total_about(std::slice::from_ref(&v), sink, reason));
            st.lines += 1;
        }
        st
    }
}

#[test]
fn a_stopped_stdout_reader_costs_only_counted_drops_within_the_queue_bound() {
    if skip_without_root() {
        return;
    }
    let dir = TempDir::new("sigstop");
    let received = dir.path().join("received.jsonl");
    let reference = dir.path().join("reference.jsonl");
    let mut cat = KillOnDrop(
        Command::new("cat").stdin(Stdio::piped()).stdout(std::fs::File::create(&received).unwrap()).spawn().unwrap(),
    );
    let pipe = cat.0.stdin.take().unwrap();
    let metrics = free_port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tracer"));
    cmd.args(["--no-lifecycle", "--syscalls", "getcpu", "--pid", &me(), "--queue-size", &QUEUE.to_string(), "--output", "-", "--output", reference.to_str().unwrap()]);
    cmd.args(["--metrics", &format!("127.0.0.1:{metrics}")]);
    let mut tracer = Tracer::start_command_to(cmd, Some(Stdio::from(pipe)));
    let pid = tracer.pid();
    getcpu(100);
    // Warm up, the reader reading: a storm long enough to wrap the ring
    // (its pages touched) and grow what grows with throughput. The stop
    // below may then add the queues and the allowance — not its volume.
    let t_warm = Instant::now();
    let mut warm = 0usize;
    while t_warm.elapsed() < WARM_UP {
        let tick = Instant::now();
        getcpu(CALLS_PER_TICK);
        warm += CALLS_PER_TICK;
        std::thread::sleep(Duration::from_millis(10).saturating_sub(tick.elapsed()));
    }
    wait_until_drained(metrics, Duration::from_secs(300));
    let base = vm_kib(pid, "VmRSS:") << 10;
    // Peak RSS from here on (start-up reads the kernel's BTF, ~5 MiB, once).
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").unwrap();

    // Stop the reader; storm for READER_STOPPED at ~12,000 calls/s. Each
    // second, how far the healthy sink has got: the ring keeps draining.
    unsafe { libc::kill(cat.0.id() as i32, libc::SIGSTOP) };
    let t0 = Instant::now();
    let mut calls = 0usize;
    let mut peak_rss = 0;
    let mut drained = vec![std::fs::metadata(&reference).unwrap().len()];
    while t0.elapsed() < READER_STOPPED {
        let tick = Instant::now();
        getcpu(CALLS_PER_TICK);
        calls += CALLS_PER_TICK;
        peak_rss = peak_rss.max(vm_kib(pid, "VmRSS:") << 10);
        if t0.elapsed() >= Duration::from_secs(drained.len() as u64) {
            drained.push(std::fs::metadata(&reference).unwrap().len());
        }
        std::thread::sleep(Duration::from_millis(10).saturating_sub(tick.elapsed()));
    }
    drained.push(std::fs::metadata(&reference).unwrap().len());
    let hwm = vm_kib(pid, "VmHWM:") << 10;
    let rss_at_end = vm_kib(pid, "VmRSS:") << 10;
    unsafe { libc::kill(cat.0.id() as i32, libc::SIGCONT) };
    // Output resumes: calls made once the reader reads again all arrive.
    // (Once the backlog is through: how long that takes is the machine's.)
    wait_until_drained(metrics, Duration::from_secs(300));
    let after = getcpu_on_new_thread(500);
    wait_until_drained(metrics, Duration::from_secs(300));
    tracer.signal(libc::SIGINT);
    let (status, _) = tracer.wait_exit_status(Duration::from_secs(30));
    assert!(status.success(), "{status}");
    while let Ok(l) = tracer.stderr_lines.recv_timeout(Duration::from_secs(2)) {
        tracer.stderr_seen.push(l);
    }
    let stderr = tracer.stderr_seen.clone();
    // tracer has closed its end: cat reads the rest and exits.
    assert!(cat.0.wait().unwrap().success());

    // The healthy sink's file, read a line at a time (~360,000 lines).
    let all = Stream::read(&reference, "stdout", "queue_full");
    let got = read_jsonl(&received);
    eprintln!(
        "stdout reader stopped {READER_STOPPED:?}: {warm} + {calls} calls, base RSS {} KiB, peak RSS {} KiB, VmHWM {} KiB, \
         RSS at SIGCONT {} KiB, reference {} lines / {} KiB (KiB written each 5 s: {:?}), received {} lines",
        base >> 10,
        peak_rss >> 10,
        hwm >> 10,
        rss_at_end >> 10,
        all.lines,
        std::fs::metadata(&reference).unwrap().len() >> 10,
        drained.windows(6).step_by(5).map(|w| (w[5] - w[0]) >> 10).collect::<Vec<_>>(),
        got.len()
    );
    // The ring kept draining: the healthy sink's file grew in every 5 s of
    // the stop, and that sink has every record, gapless. The kernel may
    // lose some of the storm only if this machine cannot decode ~12,000
    // calls/s (a TCG guest cannot): those are counted, exactly.
    for (i, w) in drained.windows(6).step_by(5).enumerate() {
        assert!(w[5] > w[0], "the healthy sink got nothing between {} s and {} s of the stop", i * 5, i * 5 + 5);
    }
    assert!(drained.len() > READER_STOPPED.as_secs() as usize, "sampled every second: {drained:?}");
    assert!(all.gapless, "the healthy sink's seqs are 0, 1, 2, …");
    let ring_lost = counter(&stderr, "lost (ring buffer full)");
    assert_eq!(all.syscalls + ring_lost, 100 + warm as u64 + calls as u64 + 500, "every call reached the healthy sink or was counted lost in the ring");
    // Control: the stop produced far more than the bound allows to hold.
    let produced = std::fs::metadata(&reference).unwrap().len();
    let batch = MAX_PER_WAKE * (produced / all.lines + 50);
    let bound = SINKS * QUEUE + RING + batch + ALLOWANCE;
    assert!(produced > 3 * bound, "the storm was big enough to matter ({produced} bytes)");
    // Memory stayed within the queues' bound (and what the drain holds).
    assert!(hwm <= base + bound, "VmHWM {hwm} > RSS after attach {base} + 2 queues + ring + a full wake-up's batch ({batch}) + allowance");
    // Drops are counted, exactly: the gaps in stdout's stream are what its
    // lost records say, and what the exit summary says.
    let (dropped, not_written) = sink_summary(&stderr, "stdout");
    eprintln!("stdout: {dropped} lines dropped (queue full), {not_written} not written");
    assert!(dropped > 0, "the stopped reader made the queue overflow");
    assert_eq!(not_written, 0);
    assert_eq!(missing_seqs(&got), dropped, "seqs missing on stdout");
    assert_eq!(lost_about(&got, "stdout", "queue_full"), dropped, "stdout's own lost records account for its gaps");
    assert_eq!(all.lost_total, dropped, "the other sink was told too");
    // Output resumed.
    assert_eq!(got.iter().filter(|e| e["tid"] == after).count(), 500);
}

// ---------------------------------------------------------------------------
// A full filesystem

/// A 1 MiB tmpfs at a fresh directory, unmounted on drop.
struct Tmpfs(PathBuf);
impl Tmpfs {
    fn mount(at: PathBuf) -> Tmpfs {
        std::fs::create_dir_all(&at).unwrap();
        let c = |s: &[u8]| CString::new(s).unwrap();
        let (src, target, fs, opts) = (c(b"tmpfs"), c(at.as_os_str().as_bytes()), c(b"tmpfs"), c(b"size=1m,mode=0755"));
        let rc = unsafe { libc::mount(src.as_ptr(), target.as_ptr(), fs.as_ptr(), 0, opts.as_ptr().cast()) };
        assert_eq!(rc, 0, "mounting a tmpfs: {}", std::io::Error::last_os_error());
        Tmpfs(at)
    }
}
impl Drop for Tmpfs {
    fn drop(&mut self) {
        let target = CString::new(self.0.as_os_str().as_bytes()).unwrap();
        unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) };
    }
}

/// Fills the filesystem of `path`'s directory; returns the bytes written.
fn fill(path: &Path) -> u64 {
    let mut f = std::fs::File::create(path).unwrap();
    let block = [b'x'; 4096];
    let mut n = 0;
    loop {
        match f.write(&block) {
            Ok(0) => break,
            Ok(k) => n += k as u64,
            Err(e) => {
                assert_eq!(e.raw_os_error(), Some(libc::ENOSPC), "{e}");
                break;
            }
        }
    }
    n
}

#[test]
fn on_a_full_filesystem_failures_are_counted_reported_once_and_writing_resumes() {
    if skip_without_root() {
        return;
    }
    let dir = TempDir::new("enospc");
    let mnt = Tmpfs::mount(dir.path().join("small"));
    let file = mnt.0.join("events.jsonl");
    let reference = dir.path().join("reference.jsonl");
    let name = format!("file:{}", file.display());
    let mut tracer = Tracer::start(&["--no-lifecycle", "--syscalls", "getcpu", "--pid", &me(), "--output", file.to_str().unwrap(), "--output", reference.to_str().unwrap()]);
    let before = getcpu_on_new_thread(100);
    wait_for("the first lines in the file", Duration::from_secs(5), || {
        (std::fs::read(&file).ok()?.iter().filter(|&&b| b == b'\n').count() >= 100).then_some(())
    });

    let filler = mnt.0.join("filler");
    let filled = fill(&filler);
    assert!(filled > 512 << 10, "filled {filled} bytes");
    // ~40 batches against a full disk over 4 s.
    let mut failing_calls = 0;
    for _ in 0..40 {
        getcpu(50);
        failing_calls += 50;
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(tracer.try_exit_status().is_none(), "tracer still running on a full disk");
    let failing_stderr: Vec<String> = std::iter::from_fn(|| tracer.stderr_lines.try_recv().ok()).collect();

    // Space returns: writing resumes.
    std::fs::remove_file(&filler).unwrap();
    let recovered = getcpu_on_new_thread(100);
    wait_for("the lines after recovery", Duration::from_secs(60), || {
        let lines = read_jsonl(&file);
        (lines.iter().filter(|e| e["tid"] == recovered).count() == 100 && lost_about(&lines, &name, "write_error") > 0).then_some(())
    });
    let (_, stderr_rest) = tracer.stop_with_stderr();
    let stderr: Vec<String> = failing_stderr.iter().chain(&stderr_rest).cloned().collect();

    let lines = read_jsonl(&file); // panics on a partial line: none was left behind
    let all = read_jsonl(&reference);
    let (dropped, not_written) = sink_summary(&stderr, &name);
    eprintln!("full filesystem: {failing_calls} calls while full, {not_written} lines not written, {} lines in the file", lines.len());
    assert_eq!(dropped, 0);
    // The calls made while the disk was full failed (but the few that fit
    // in the file's last, partly used page), and so did the lost records
    // made meanwhile.
    let f = failing_calls as u64;
    assert!((f - 50..f + 50).contains(&not_written), "{not_written} lines not written");
    // Counted exactly: the file's gaps are what its own write_error records
    // say, and the healthy sink heard of the same total.
    assert_eq!(missing_seqs(&lines), not_written);
    assert_eq!(lost_about(&lines, &name, "write_error"), not_written);
    assert_eq!(lost_total_about(&all, &name, "write_error"), not_written);
    assert_eq!(all.iter().map(seq).collect::<Vec<_>>(), (0..all.len() as u64).collect::<Vec<_>>(), "the other sink lost nothing");
    // The write_error records are of the documented shape.
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/schema.json")).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    for e in all.iter().chain(&lines).filter(|e| e["event"] == "lost") {
        assert_eq!(e["reason"], "write_error");
        assert!(validator.is_valid(e), "{e}");
    }
    assert_eq!(lines.iter().filter(|e| e["tid"] == before).count(), 100);
    assert_eq!(lines.iter().filter(|e| e["tid"] == recovered).count(), 100);
    // Reported on stderr once per streak of failures and once on each
    // recovery — not once per failed write. Usually one streak; a second
    // when the space a cut-back line freed let a later write through
    // before the disk was full again.
    let about: Vec<&String> = stderr.iter().filter(|l| l.contains(&format!("sink {name}: "))).collect();
    let streaks = about.len() / 2;
    assert!((1..=3).contains(&streaks) && about.len() == 2 * streaks + 1, "{about:#?}");
    let failed = format!("tracer: warn: sink {name}: No space left on device (os error 28); lines not written are counted in lost records (reason write_error)");
    let mut told = 0;
    for pair in about[..2 * streaks].chunks(2) {
        assert_eq!(pair[0], &failed);
        assert!(pair[1].starts_with(&format!("tracer: warn: sink {name}: writing again after ")), "{}", pair[1]);
        told += pair[1].rsplit_once("; ").and_then(|(_, t)| t.strip_suffix(" lines were not written")).and_then(|n| n.parse::<u64>().ok()).expect(pair[1]);
    }
    assert_eq!(told, not_written, "the streaks' counts add up: {about:#?}");
}

// ---------------------------------------------------------------------------
// Two tracers at once

#[test]
fn two_tracers_with_different_filters_see_only_their_own_and_one_survives_the_others_sigkill() {
    if skip_without_root() {
        return;
    }
    let dir = TempDir::new("two");
    let named = compile(dir.path(), "named", "named", &[]);
    let (alpha, beta) = (dir.path().join("alpha-prog"), dir.path().join("beta-prog"));
    std::fs::copy(&named, &alpha).unwrap();
    std::fs::copy(&named, &beta).unwrap();
    let run = |bin: &Path| {
        let (pid, code) = run_program(&mut Command::new(bin));
        assert_eq!(code, 0);
        pid
    };
    let a_file = dir.path().join("a.jsonl");
    let a = Tracer::start(&["--syscalls", "mmap", "--comm", "alpha-prog", "--output", a_file.to_str().unwrap()]);
    let b = Tracer::start(&["--syscalls", "mmap", "--comm", "beta-prog"]);
    let mut alphas = vec![];
    let mut betas = vec![];
    for _ in 0..3 {
        alphas.push(run(&alpha));
        betas.push(run(&beta));
    }
    // A has written its three processes' calls; then it dies hard.
    wait_for("tracer A's events", Duration::from_secs(5), || {
        let lines = read_jsonl(&a_file);
        alphas.iter().all(|p| lines.iter().any(|e| e["pid"] == *p && e["args"]["len"] == 19 * 4096)).then_some(())
    });
    unsafe { libc::kill(a.pid() as i32, libc::SIGKILL) };
    drop(a);
    let late_alpha = run(&alpha);
    for _ in 0..2 {
        betas.push(run(&beta));
    }
    let (b_events, b_stderr) = b.stop_with_stderr();

    let pids = |lines: &[Value]| -> BTreeSet<u64> { lines.iter().filter(|e| e["event"] == "syscall").map(|e| e["pid"].as_u64().unwrap()).collect() };
    let a_events = read_jsonl(&a_file);
    // Each saw only its own program, every one of its runs, each run's
    // 19-page mapping exactly once.
    assert_eq!(pids(&a_events), alphas.iter().map(|&p| p as u64).collect());
    assert_eq!(pids(&b_events), betas.iter().map(|&p| p as u64).collect(), "B kept working after A was killed");
    assert!(a_events.iter().filter(|e| e["event"] == "syscall").all(|e| e["comm"] == "alpha-prog"));
    assert!(b_events.iter().filter(|e| e["event"] == "syscall").all(|e| e["comm"] == "beta-prog"));
    for (lines, runs) in [(&a_events, &alphas), (&b_events, &betas)] {
        for p in runs {
            assert_eq!(mmap_lens(&events_of_pid(lines, *p)).iter().filter(|&&l| l == 19 * 4096).count(), 1, "pid {p}");
        }
    }
    assert!(!pids(&b_events).contains(&(late_alpha as u64)), "control: alpha after A's death is not B's");
    // Undisturbed: B's stream is gapless, it lost nothing, and it did judge
    // (and reject) the other program's calls.
    assert_eq!(b_events.iter().map(seq).collect::<Vec<_>>(), (0..b_events.len() as u64).collect::<Vec<_>>());
    assert_eq!(counter(&b_stderr, "lost (ring buffer full)"), 0);
    assert!(counter(&b_stderr, "filtered out in the kernel") > 0);
}
