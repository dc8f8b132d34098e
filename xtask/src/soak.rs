//! `cargo xtask soak`: tracer under a long storm of threads, forks and
//! mmaps, writing to a rotated file and to per-process files, while its
//! memory and file descriptors are sampled.
//!
//! Passes when
//! - RSS stays within [`RSS_TOLERANCE`] of its value after warm-up: the
//!   median of each window of samples (a minute at the default rate) after
//!   the warm-up is compared with the first window's. Medians, because a
//!   single sample can catch a burst in flight — lines queued for a sink
//!   for a few milliseconds, bounded by `--queue-size` — which is not
//!   growth; a leak moves the medians. Every sample is reported.
//! - once the storm stops, no per-process file of a process that has exited
//!   is left open, and tracer's other fds return to their count right after
//!   attach (the per-pid state is released when processes exit; tracer
//!   traces the whole machine, so files of processes still running — other
//!   people's, on a shared machine — may stay open),
//! - tracer exits 0 on SIGINT, with nothing lost in the kernel and no sink
//!   dropping or failing to write a line.
//!
//! The storm is paced (rounds with a pause between them) to keep the
//! machine usable for others while it runs; the figures of a run are
//! printed as a markdown summary and written to `target/soak/`.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};

use crate::bench::process::{Daemon, Ready};
use crate::bench::quiet;
use crate::bootstrap::{self, Toolchain};
use crate::cmd::{self, Fatal};
use crate::summary;

#[derive(Debug, Clone, clap::Args)]
pub struct SoakArgs {
    /// Length of the storm.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub minutes: u64,
    /// Seconds between samples of tracer's memory and fds.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    pub every: u64,
    /// Add the pairing-map churn of `tests/kernel_state.rs` to every round
    /// ([`CHURN`]: processes that die or exec with threads blocked in wait4,
    /// clones that fail), trace execve too, and check at the end that
    /// tracer's calls in flight are no more than the threads alive.
    #[arg(long)]
    pub churn: bool,
}

/// RSS may grow this much over its warm-up value.
const RSS_TOLERANCE: f64 = 0.10;
/// Per round of the storm: forks, thread creations, mmap+mprotect pairs.
const ROUND: [(&str, u64); 3] = [("forks", 200), ("threads", 500), ("mmaps", 2000)];
/// With `--churn`, per round: runs of `tracer-user/tests/programs/pending_churn.c`
/// (mode, iterations), at once with the rest of the round.
const CHURN: [(&str, u64); 4] = [("sigkill", 20), ("exitgroup", 20), ("exec", 20), ("eagain", 5000)];
/// Pause between rounds.
const PAUSE: Duration = Duration::from_millis(300);
/// tracer closes a per-process file 3 s after its last line once the
/// process is gone, checking once a second: a file idle for longer is stale.
const STALE_AFTER: Duration = Duration::from_secs(5);
/// After the storm: how long per-process files may take to close
/// (tracer closes them 3 s after their last line once the process is gone,
/// checking once a second).
const SETTLE: Duration = Duration::from_secs(20);

struct Sample {
    at: Duration,
    rss_kib: u64,
    hwm_kib: u64,
    fds: usize,
    /// Per-process files open (tracer traces the whole machine: other
    /// people's long-lived processes legitimately keep theirs open).
    pid_files: usize,
    /// Of those, files of processes that no longer exist, not written for
    /// [`STALE_AFTER`]: tracer should have closed them.
    stale_pid_files: usize,
    /// VmRSS split: anonymous memory (heap, stacks) and mapped pages
    /// (binary, libraries, the ring buffer's pages).
    anon_kib: u64,
}

impl Sample {
    /// fds other than per-process files: the BPF objects, sinks, sockets.
    fn own_fds(&self) -> usize {
        self.fds - self.pid_files
    }
}

/// Warm-up: a fifth of the run, at most a minute.
fn warmup(minutes: u64) -> Duration {
    Duration::from_secs((minutes * 60 / 5).min(60))
}

pub fn run(root: &Path, toolchain: &Toolchain, args: &SoakArgs) -> Result<()> {
    if !bootstrap::is_root() {
        return Err(Fatal::new(2, "soak loads BPF programs: run it as root (`sudo -E cargo xtask soak`)").into());
    }
    quiet::catch_sigint();
    crate::build(root, toolchain)?;
    let target = crate::bench::target_dir(root)?;
    let out = target.join("soak");
    let _ = std::fs::remove_dir_all(&out);
    let bin_dir = out.join("bin");
    std::fs::create_dir_all(&bin_dir).with_context(|| format!("cannot create {}", bin_dir.display()))?;
    for (name, _) in ROUND {
        let mut cc = Command::new("cc");
        cc.args(["-O2", "-pthread", "-o"]).arg(bin_dir.join(name)).arg(root.join("xtask/bench").join(format!("{name}.c")));
        cmd::output(&mut cc).with_context(|| format!("compiling {name}.c"))?;
    }
    if args.churn {
        let mut cc = Command::new("cc");
        cc.args(["-O2", "-pthread", "-o"]).arg(bin_dir.join("pending_churn")).arg(root.join("tracer-user/tests/programs/pending_churn.c"));
        cmd::output(&mut cc).context("compiling pending_churn.c")?;
    }
    let events = out.join("events.jsonl");
    let by_pid = out.join("by-pid");
    let mut tracer_cmd = Command::new(target.join("release/tracer"));
    tracer_cmd
        .arg("--output")
        .arg(&events)
        .args(["--rotate-size", "64M", "--rotate-keep", "2"])
        .arg("--output-dir")
        .arg(&by_pid)
        .args(["--stats-interval", "10s"])
        .stdout(Stdio::null());
    if args.churn {
        // The default set, and execve: the exec scenario's entry moves tids.
        tracer_cmd.args(["--syscalls", "clone,clone3,mmap,mprotect,wait4,execve"]);
    }
    let duration = Duration::from_secs(args.minutes * 60);
    let warm = warmup(args.minutes);
    eprintln!(
        "xtask: soak: {} min storm ({}), warm-up {} s, a sample every {} s; output in {}",
        args.minutes,
        round_text(args.churn),
        warm.as_secs(),
        args.every,
        out.display()
    );
    let tracer = Daemon::start(tracer_cmd, Ready::StderrLine("tracer: attached"))?;
    let pid = tracer.pid();
    // Let start-up settle (the first stats record, sink threads parked).
    std::thread::sleep(Duration::from_secs(1));
    let base = sample(pid, &by_pid, Duration::ZERO)?;
    eprintln!("xtask: soak: after attach: RSS {} KiB, {} fds", base.rss_kib, base.fds);

    let stop = Arc::new(AtomicBool::new(false));
    let rounds = Arc::new(AtomicU64::new(0));
    let storm = {
        let (stop, rounds, bin_dir, churn) = (Arc::clone(&stop), Arc::clone(&rounds), bin_dir.clone(), args.churn);
        std::thread::spawn(move || storm(&bin_dir, &stop, &rounds, churn))
    };
    let started = Instant::now();
    let mut samples = vec![];
    let mut pruned = 0usize;
    let result = (|| -> Result<()> {
        while started.elapsed() < duration {
            std::thread::sleep(Duration::from_secs(args.every).min(duration.saturating_sub(started.elapsed())));
            quiet::interrupted()?;
            if storm.is_finished() {
                // Stopped early: its error is reported once it is joined.
                break;
            }
            let s = sample(pid, &by_pid, started.elapsed())?;
            eprintln!(
                "xtask: soak: {:>4} s  RSS {:>6} KiB (anon {:>6})  HWM {:>6} KiB  fds {:>3}  per-pid files open {:>3} ({} stale)  rounds {}",
                s.at.as_secs(),
                s.rss_kib,
                s.anon_kib,
                s.hwm_kib,
                s.fds,
                s.pid_files,
                s.stale_pid_files,
                rounds.load(Ordering::Relaxed)
            );
            samples.push(s);
            // What a log shipper would do: remove per-process files of
            // processes that are gone, so the directory does not grow
            // without bound over the run.
            pruned += prune(&by_pid);
        }
        Ok(())
    })();
    stop.store(true, Ordering::Relaxed);
    let storm_result = storm.join().map_err(|_| anyhow::anyhow!("the storm thread panicked"))?;
    result?;
    storm_result?;
    let storm_time = started.elapsed();

    // Per-process state released: fds back to the count after attach.
    let settle_start = Instant::now();
    let settled = loop {
        let s = sample(pid, &by_pid, started.elapsed())?;
        if s.own_fds() == base.own_fds() && s.stale_pid_files == 0 {
            break Some((s, settle_start.elapsed()));
        }
        if settle_start.elapsed() > SETTLE {
            eprintln!(
                "xtask: soak: after {} s: {} fds besides per-pid files (after attach {}), {} stale per-pid files open",
                SETTLE.as_secs(),
                s.own_fds(),
                base.own_fds(),
                s.stale_pid_files
            );
            break None;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    let end = sample(pid, &by_pid, started.elapsed())?;
    let threads_alive = if args.churn { Some(live_threads()) } else { None };
    let stopped = tracer.stop()?;
    pruned += prune(&by_pid);
    let remaining = std::fs::read_dir(&by_pid).map(|d| d.count()).unwrap_or(0);

    let exit_line = summary::line(&stopped.stderr).unwrap_or_default();
    let kernel_lost = summary::number(exit_line, "lost (ring buffer full)");
    let written = summary::number::<u64>(exit_line, "events written");
    let sink_trouble: Vec<&String> = stopped.stderr.iter().filter(|l| l.starts_with("tracer: sink ")).collect();
    let in_flight: Option<i64> = summary::number(exit_line, "calls in flight");

    let after: Vec<u64> = samples.iter().filter(|s| s.at >= warm).map(|s| s.rss_kib).collect();
    let window = window_len(after.len(), args.every);
    let medians: Vec<u64> = after.chunks(window).map(median).collect();
    let warm_rss = medians.first().copied().unwrap_or(base.rss_kib);
    let max_median = medians.iter().copied().max().unwrap_or(warm_rss);
    let max_rss = after.iter().copied().max().unwrap_or(warm_rss);
    let min_rss = after.iter().copied().min().unwrap_or(warm_rss);
    let growth = max_median as f64 / warm_rss as f64 - 1.0;
    let max_pid_files = samples.iter().map(|s| s.pid_files).max().unwrap_or(0);

    let mut report = String::new();
    let mut line = |s: String| {
        report.push_str(&s);
        report.push('\n');
    };
    line(format!("## Soak: {} min, {} rounds of {}", args.minutes, rounds.load(Ordering::Relaxed), round_text(args.churn)));
    line(String::new());
    line(format!("- storm: {:.0} s; tracer: `{}`", storm_time.as_secs_f64(), exit_line.trim_start_matches("tracer: ")));
    if let Some(w) = written {
        line(format!("- records: {w} ({:.0}/s over the storm)", w as f64 / storm_time.as_secs_f64()));
    }
    line(format!(
        "- RSS after attach {} KiB; after warm-up ({} s), median of each {} s: {} KiB; highest median {:+.1} % over the first (limit {:+.0} %); single samples {}–{} KiB",
        base.rss_kib,
        warm.as_secs(),
        window as u64 * args.every,
        medians.iter().map(u64::to_string).collect::<Vec<_>>().join(" "),
        growth * 100.0,
        RSS_TOLERANCE * 100.0,
        min_rss,
        max_rss
    ));
    line(format!("- peak RSS (VmHWM) {} KiB", end.hwm_kib));
    line(format!("- RSS series (KiB): {}", series(&samples, |s| s.rss_kib)));
    line(format!("- of which anonymous (heap, stacks): {}", series(&samples, |s| s.anon_kib)));
    line(format!("- fds: {} after attach besides per-pid files; per-pid files open at most {max_pid_files} at once; after the storm: {}",
        base.own_fds(),
        match &settled {
            Some((s, t)) => format!(
                "{} besides per-pid files and no stale per-pid file ({} open, of running or just-exited processes) {:.1} s after the storm stopped",
                s.own_fds(), s.pid_files, t.as_secs_f64()
            ),
            None => format!("{} besides per-pid files, {} stale per-pid files after {} s", end.own_fds(), end.stale_pid_files, SETTLE.as_secs()),
        }));
    line(format!("- per-pid files written: {} (removed during the run as their processes exited, as a shipper would)", pruned + remaining));
    if let Some(threads) = threads_alive {
        line(format!(
            "- calls in flight after the storm: {} (threads blocked in traced calls anywhere on the machine; {threads} threads alive); {} exits without entry",
            in_flight.map_or("?".into(), |n| n.to_string()),
            summary::number::<u64>(exit_line, "exits without entry").map_or("?".into(), |n| n.to_string())
        ));
    }
    for l in &sink_trouble {
        line(format!("- {l}"));
    }
    print!("{report}");
    std::fs::write(out.join("report.md"), &report)?;
    let mut csv = std::fs::File::create(out.join("samples.csv"))?;
    writeln!(csv, "seconds,rss_kib,rss_anon_kib,hwm_kib,fds,pid_files_open,stale_pid_files")?;
    for s in &samples {
        writeln!(csv, "{},{},{},{},{},{},{}", s.at.as_secs(), s.rss_kib, s.anon_kib, s.hwm_kib, s.fds, s.pid_files, s.stale_pid_files)?;
    }

    let mut failures = vec![];
    if !stopped.status.success() {
        failures.push(format!("tracer exited with {}", stopped.status));
    }
    if growth > RSS_TOLERANCE {
        failures.push(format!("RSS grew {:.1} % after warm-up (median {warm_rss} → {max_median} KiB)", growth * 100.0));
    }
    if settled.is_none() {
        failures.push(format!(
            "per-pid state not released: {} fds besides per-pid files (after attach {}), {} stale per-pid files open",
            end.own_fds(),
            base.own_fds(),
            end.stale_pid_files
        ));
    }
    if kernel_lost != Some(0) {
        failures.push(format!("the kernel lost records: {exit_line}"));
    }
    if !sink_trouble.is_empty() {
        failures.push("a sink dropped or failed to write lines".into());
    }
    // Each thread holds at most one call in flight; a slot never released
    // would push the gauge past the threads there are.
    if let Some(threads) = threads_alive {
        match in_flight {
            Some(n) if (0..=threads as i64).contains(&n) => {}
            n => failures.push(format!("calls in flight {n:?} with {threads} threads alive")),
        }
    }
    if failures.is_empty() {
        eprintln!("xtask: soak: passed");
        Ok(())
    } else {
        bail!("soak failed: {}", failures.join("; "))
    }
}

/// What a round runs, for the report.
fn round_text(churn: bool) -> String {
    let mut parts: Vec<String> = ROUND.iter().map(|(n, k)| format!("{k} {n}")).collect();
    if churn {
        parts.extend(CHURN.iter().map(|(m, k)| format!("{k} pending_churn {m}")));
    }
    parts.join(" + ")
}

/// The storm: rounds of the workloads at once, until `stop`.
fn storm(bin_dir: &Path, stop: &AtomicBool, rounds: &AtomicU64, churn: bool) -> Result<()> {
    let churn: &[(&str, u64)] = if churn { &CHURN } else { &[] };
    while !stop.load(Ordering::Relaxed) {
        let mut children = vec![];
        let runs = ROUND.iter().map(|&(name, n)| (name, None, n)).chain(churn.iter().map(|&(mode, n)| ("pending_churn", Some(mode), n)));
        for (name, mode, n) in runs {
            let child = Command::new(bin_dir.join(name))
                .args(mode)
                .arg(n.to_string())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .spawn()
                .with_context(|| format!("starting {name}"))?;
            children.push((name, child));
        }
        for (name, mut c) in children {
            let st = c.wait()?;
            if !st.success() {
                bail!("{name} failed: {st}");
            }
        }
        rounds.fetch_add(1, Ordering::Relaxed);
        std::thread::sleep(PAUSE);
    }
    Ok(())
}

/// Threads alive on the machine (`/proc/*/task/*`).
fn live_threads() -> usize {
    let Ok(procs) = std::fs::read_dir("/proc") else { return 0 };
    procs
        .flatten()
        .filter(|p| p.file_name().to_str().is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit())))
        .filter_map(|p| std::fs::read_dir(p.path().join("task")).ok())
        .map(|t| t.count())
        .sum()
}

fn sample(pid: u32, by_pid: &Path, at: Duration) -> Result<Sample> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).context("tracer is gone")?;
    let kib = |field: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    let (mut fds, mut pid_files, mut stale_pid_files) = (0, 0, 0);
    for e in std::fs::read_dir(format!("/proc/{pid}/fd"))?.flatten() {
        fds += 1;
        let Ok(target) = std::fs::read_link(e.path()) else { continue };
        if !target.starts_with(by_pid) {
            continue;
        }
        // `<pid>.jsonl`, or `<pid>.jsonl (deleted)` once pruned.
        let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let Some(traced) = name.split(".jsonl").next().and_then(|p| p.parse::<u32>().ok()) else { continue };
        pid_files += 1;
        // The fd's own file, deleted or not.
        let idle = std::fs::metadata(e.path()).and_then(|m| m.modified()).ok().and_then(|t| t.elapsed().ok()).unwrap_or_default();
        if idle > STALE_AFTER && !Path::new(&format!("/proc/{traced}")).exists() {
            stale_pid_files += 1;
        }
    }
    Ok(Sample { at, rss_kib: kib("VmRSS:"), hwm_kib: kib("VmHWM:"), fds, pid_files, stale_pid_files, anon_kib: kib("RssAnon:") })
}

/// Removes `<pid>.jsonl` files of processes that no longer exist; returns
/// how many.
fn prune(dir: &Path) -> usize {
    let mut n = 0;
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_suffix(".jsonl")).and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() && std::fs::remove_file(e.path()).is_ok() {
            n += 1;
        }
    }
    n
}

/// About 20 samples of `f` spread over the run (all if fewer), and the last.
fn series(samples: &[Sample], f: impl Fn(&Sample) -> u64) -> String {
    let step = if samples.len() <= 20 { 1 } else { samples.len().div_ceil(20) };
    let mut picked: Vec<&Sample> = samples.iter().step_by(step).collect();
    if let Some(last) = samples.last()
        && picked.last().is_none_or(|p| p.at != last.at)
    {
        picked.push(last);
    }
    picked.iter().map(|s| format!("{}s:{}", s.at.as_secs(), f(s))).collect::<Vec<_>>().join(" ")
}

/// Samples per window: a minute's worth, fewer on short runs (at least
/// three windows after warm-up).
fn window_len(samples: usize, every_s: u64) -> usize {
    let minute = (60 / every_s.max(1)).max(1) as usize;
    minute.min(samples / 3).max(1)
}

fn median(v: &[u64]) -> u64 {
    let mut v = v.to_vec();
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warmup_is_a_fifth_capped_at_a_minute() {
        assert_eq!(warmup(1), Duration::from_secs(12));
        assert_eq!(warmup(3), Duration::from_secs(36));
        assert_eq!(warmup(10), Duration::from_secs(60));
    }

    #[test]
    fn windows_are_a_minute_or_a_third_of_a_short_run() {
        assert_eq!(window_len(108, 5), 12, "10 min: minutes");
        assert_eq!(window_len(10, 5), 3, "1 min after a 12 s warm-up");
        assert_eq!(window_len(2, 5), 1);
        assert_eq!(median(&[5, 1, 9]), 5);
        assert_eq!(median(&[3, 1, 2, 100]), 3);
    }
}
