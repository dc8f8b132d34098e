//! `cargo xtask bench`: tracer's overhead against strace, perf trace,
//! bpftrace and the floor, on the same machine in the same run.
//!
//! Each workload (see [`workload`]) is timed bare and under each
//! configuration (see [`config`]), bare and traced runs alternating round
//! by round, and the table shows the median of the per-round ratios. Then:
//! the all-core `mmaps` storm (events delivered and lost), each
//! machine-wide tool's cost while idle (CPU, wake-ups), the replay
//! benchmark (userspace ns per event), peak RSS and start-up time.
//! Methodology and the latest numbers: `docs/benchmarks.md`.

mod config;
mod kafka;
mod modes;
mod otlp;
mod pool;
pub(crate) mod process;
pub(crate) mod quiet;
mod report;
mod workload;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};

use self::config::{Config, Setup};
use self::quiet::Gate;
use self::report::{Cell, Idle, Machine, Replay, Results, Sample, Storm, TracerRun, ratio_text};
use self::workload::{Binaries, Workload};
use crate::bootstrap::{self, Toolchain};
use crate::cmd::{self, Fatal};

#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Smoke run: 2 rounds, workloads at a fifth of full size.
    #[arg(long, conflicts_with = "half")]
    pub quick: bool,
    /// Half-size workloads (each bare run ~0.25 s instead of ~0.5 s).
    #[arg(long)]
    pub half: bool,
    /// Measured rounds (default 9, so that the medians stand on enough rounds on a noisy VM; 2 with --quick).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub rounds: Option<u32>,
    /// Rounds for tracer → /dev/null and the floor, whose ratio the goals
    /// are set on (default 3 × --rounds): on a noisy VM one round's ratio
    /// moves by ±10 %, and a median of 9 by ±5 %; the peers' columns, tens
    /// of per cent apart, need no more than --rounds.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub headline_rounds: Option<u32>,
    /// Measure nothing: print tracer ÷ floor from these earlier runs'
    /// JSON (target/bench/bench-*.json), run by run and pooled over all
    /// their rounds.
    #[arg(long, value_name = "JSON", num_args = 1.., conflicts_with_all = ["quick", "half", "rounds", "headline_rounds"])]
    pub pool: Vec<PathBuf>,
    /// Only these configurations (comma-separated).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub configs: Vec<Config>,
    /// Only these workloads (comma-separated).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub workloads: Vec<Workload>,
    /// Before each run, wait at most this many seconds for other work on
    /// the machine to stop (then measure anyway, and say so).
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub max_wait: u64,
    /// Time this tracer binary instead of the one just built (to compare a
    /// prototype against the floor and the peers in the same way).
    #[arg(long, value_name = "PATH")]
    pub tracer_bin: Option<PathBuf>,
    /// Only the Kafka sink's producer throughput (one core; no compression,
    /// lz4, zstd; against a local tansu broker): see `bench/kafka.rs`.
    #[arg(long, conflicts_with_all = ["configs", "workloads", "tracer_bin"])]
    pub kafka_only: bool,
    /// Only the OTLP sink's throughput (one core; HTTP/protobuf and gRPC,
    /// against a local rotel collector): see `bench/otlp.rs`.
    #[arg(long, conflicts_with_all = ["configs", "workloads", "tracer_bin", "kafka_only"])]
    pub otlp_only: bool,
}

/// A traced run may take about this many times a bare full-size run: slow
/// peers get fewer iterations (bare runs use the same count), or strace on
/// `unrelated` alone would take minutes.
const SLOW_PEER_BUDGET: f64 = 3.0;
/// The warm-up round that picks those counts runs 1/100 of full size.
const CALIBRATION_DIVISOR: u64 = 100;
/// Bare runs below 1/SHORT_RUN_DIVISOR of full size are repeated
/// BARE_REPEATS times (median).
const SHORT_RUN_DIVISOR: u64 = 10;
const BARE_REPEATS: usize = 5;
/// The configurations the goals compare, measured for --headline-rounds:
/// tracer (auto) and both floors, since auto's goal is set on the better
/// of the two (issue 20).
const HEADLINE: [Config; 3] = [Config::Tracer, Config::Floor, Config::FloorSyscall];
/// tracer's default ring buffer (tracer-user/src/cli/mod.rs).
const RINGBUF_MIB: u64 = 8;

/// `--pool`: earlier runs' tracer ÷ floor, without measuring (or needing
/// the toolchain, or root).
pub fn pool(files: &[PathBuf]) -> Result<()> {
    pool::run(files)
}

pub fn run(root: &Path, toolchain: &Toolchain, args: &BenchArgs) -> Result<()> {
    if !bootstrap::is_root() {
        return Err(Fatal::new(
            2,
            "bench loads BPF programs and attaches tracers machine-wide: run it as root (`sudo -E cargo xtask bench`)",
        )
        .into());
    }
    let started = Instant::now();
    quiet::catch_sigint();
    let out = target_dir(root)?.join("bench");
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    if args.kafka_only {
        return kafka::run(root, toolchain, &out);
    }
    if args.otlp_only {
        return otlp::run(root, toolchain, &out);
    }

    let mut results = Results {
        size: if args.quick { "quick" } else if args.half { "half" } else { "full" },
        rounds: args.rounds.unwrap_or(if args.quick { 2 } else { 9 }),
        headline_rounds: 0,
        workloads: if args.workloads.is_empty() { Workload::ALL.to_vec() } else { args.workloads.clone() },
        configs: if args.configs.is_empty() { Config::ALL.to_vec() } else { args.configs.clone() },
        ringbuf_mib: RINGBUF_MIB,
        ..Default::default()
    };
    results.workloads.sort();
    results.workloads.dedup();
    results.configs.sort();
    results.configs.dedup();
    // Extra rounds only where there is a pair to compare.
    results.headline_rounds = if HEADLINE[..2].iter().all(|c| results.configs.contains(c)) {
        args.headline_rounds.unwrap_or(3 * results.rounds).max(results.rounds)
    } else {
        results.rounds
    };
    let scale = match results.size {
        "quick" => 0.2,
        "half" => 0.5,
        _ => 1.0,
    };
    for w in Workload::ALL {
        results.full_iterations.insert(w, ((w.full_iterations() as f64 * scale) as u64).max(1));
    }

    // Peers: bpftrace is installed from Debian's packages if missing; the
    // others are left out with a note.
    if results.configs.contains(&Config::Bpftrace) && which::which("bpftrace").is_err() {
        bootstrap::ensure_apt_packages(&["bpftrace"], "the bpftrace column of `cargo xtask bench`")?;
    }
    for (c, tool) in [(Config::Strace, "strace"), (Config::StraceSeccomp, "strace"), (Config::PerfTrace, "perf")] {
        if results.configs.contains(&c) && which::which(tool).is_err() {
            results.skipped.insert(c, format!("`{tool}` is not installed"));
        }
    }

    eprintln!("xtask: bench: building tracer and its benchmark tools (release)");
    let mut build = crate::cargo(root, toolchain);
    build.args(["build", "--release", "--package", "tracer-user", "--package", "tracer-bench", "--bins"]);
    cmd::run(&mut build).context("building tracer failed")?;
    let release = target_dir(root)?.join("release");
    let bins = Binaries::compile(root, &out)?;

    let _tracefs = TracefsMount::ensure(
        // perf trace and bpftrace, and the per-syscall events (tracer's
        // auto and syscall modes, the per-syscall floor) are found there.
        results.configs.iter().any(|c| {
            matches!(
                c,
                Config::PerfTrace | Config::Bpftrace | Config::Tracer | Config::TracerAttachSyscall | Config::FloorSyscall
            )
        }),
    )?;
    let tracer = match &args.tracer_bin {
        Some(p) => cmd::absolute(p)?,
        None => release.join("tracer"),
    };
    if args.tracer_bin.is_some() {
        results.notes.push(format!("tracer binary: {}", tracer.display()));
    }
    let mut excluded_cgroup = None;
    if results.configs.contains(&Config::TracerCgroup) {
        let help = cmd::output(Command::new(&tracer).arg("--help"))?;
        if help.contains("--cgroup") {
            excluded_cgroup = Some(EmptyCgroup::create()?);
        } else {
            results.skipped.insert(
                Config::TracerCgroup,
                "this tracer has no `--cgroup` option (`tracer --help` does not list it)".into(),
            );
        }
    }
    let setup = Setup {
        tracer: tracer.clone(),
        floor: release.join("tracer-floor"),
        bpftrace_script: root.join("xtask").join("bench").join("syscalls.bt"),
        events_file: out.join("tracer-events.jsonl"),
        excluded_cgroup: excluded_cgroup.as_ref().map(|c| c.0.clone()),
    };
    let root_prefix = format!("{}/", root.display());
    for &c in &results.configs {
        // Paths inside the repository as a user would type them from its root.
        results.commands.insert(c, setup.shown(c).replace(&root_prefix, ""));
    }
    results.machine = machine(root, &tracer);

    let gate = Gate::new(Duration::from_secs(args.max_wait));
    let mut bench = Bench { setup: &setup, bins: &bins, results, gate };
    bench.measure_rounds()?;
    if bench.results.configs.contains(&Config::Tracer) {
        // Minutes of rounds are not thrown away for these: a failure
        // becomes a note in the report.
        if let Err(e) = bench.storms() {
            quiet::interrupted()?;
            bench.results.notes.push(format!("the all-core storm failed: {e:#}"));
        }
        if let Err(e) = bench.idles() {
            quiet::interrupted()?;
            bench.results.notes.push(format!("the idle measurement failed: {e:#}"));
        }
        if let Err(e) = bench.replays(&release, &out) {
            quiet::interrupted()?;
            bench.results.notes.push(format!("the replay benchmark failed: {e:#}"));
        }
    }
    drop(excluded_cgroup);

    let mut results = bench.results;
    results.quiet = bench.gate.tally;
    results.elapsed = started.elapsed();
    let md = results.markdown();
    let json = serde_json::to_string_pretty(&results.json())? + "\n";
    let stamp = results.machine.date.replace(':', "");
    for (name, text) in [
        (format!("bench-{stamp}.json"), &json),
        ("latest.json".to_owned(), &json),
        ("latest.md".to_owned(), &md),
    ] {
        let p = out.join(name);
        std::fs::write(&p, text).with_context(|| format!("cannot write {}", p.display()))?;
    }
    eprintln!("xtask: bench: results in {}", out.join(format!("bench-{stamp}.json")).display());
    print!("{md}");
    Ok(())
}

struct Bench<'a> {
    setup: &'a Setup,
    bins: &'a Binaries,
    results: Results,
    gate: Gate,
}

/// One configuration's runs in one round.
struct Measured {
    samples: Vec<(Workload, Sample)>,
    attach_times: Vec<Duration>,
    /// Each stop of a tracer configuration, with the workload it traced.
    tracer_runs: Vec<(TracerRun, (Workload, u64))>,
}

impl Bench<'_> {
    fn active_configs(&self) -> Vec<Config> {
        self.results.configs.iter().copied().filter(|c| !self.results.skipped.contains_key(c)).collect()
    }

    /// Warm-up round (sizes the slow peers), then the measured rounds, then
    /// the headline pair's extra rounds.
    fn measure_rounds(&mut self) -> Result<()> {
        let workloads = self.results.workloads.clone();
        eprintln!("xtask: bench: warm-up round at 1/{CALIBRATION_DIVISOR} size, to size the slow peers");
        for c in self.active_configs() {
            quiet::interrupted()?;
            let sizes: Vec<(Workload, u64)> = workloads
                .iter()
                .map(|&w| (w, (self.results.full_iterations[&w] / CALIBRATION_DIVISOR).max(1)))
                .collect();
            match self.measure(c, &sizes) {
                Ok(m) => {
                    for (w, s) in m.samples {
                        let full = self.results.full_iterations[&w];
                        let n = sized_for_budget(full, s.ratio());
                        self.results.cells.insert(
                            (c, w),
                            Cell { iterations: n, calibration_ratio: Some(s.ratio()), samples: Vec::new() },
                        );
                    }
                }
                Err(e) => {
                    quiet::interrupted()?;
                    eprintln!("xtask: bench: leaving out {}: {e:#}", c.key());
                    self.results.skipped.insert(c, format!("{e:#}"));
                }
            }
        }

        let (rounds, headline) = (self.results.rounds, self.results.headline_rounds);
        for round in 0..headline {
            // Past --rounds, only the pair the goals compare.
            let mut order: Vec<Config> = self
                .active_configs()
                .into_iter()
                .filter(|&c| round < rounds || HEADLINE.contains(&c))
                .collect();
            // Rotate the order so no configuration always runs first or last.
            let len = order.len().max(1);
            order.rotate_left(round as usize % len);
            let of = if round < rounds { rounds } else { headline };
            self.measure_round(round, of, order)?;
        }
        Ok(())
    }

    /// One round: each configuration in `order` on every workload.
    fn measure_round(&mut self, round: u32, of: u32, order: Vec<Config>) -> Result<()> {
        let workloads = self.results.workloads.clone();
        for c in order {
            quiet::interrupted()?;
            let sizes: Vec<(Workload, u64)> =
                workloads.iter().map(|&w| (w, self.results.cells[&(c, w)].iterations)).collect();
            match self.measure(c, &sizes) {
                Ok(m) => {
                    let shown: Vec<String> =
                        m.samples.iter().map(|(w, s)| format!("{} {}", w.name(), ratio_text(s.ratio()))).collect();
                    eprintln!("xtask: bench: round {}/{of} {:<15} {}", round + 1, c.key(), shown.join("  "));
                    for (w, s) in m.samples {
                        self.results.cells.get_mut(&(c, w)).expect("sized in warm-up").samples.push(s);
                    }
                    self.results.attach_times.entry(c).or_default().extend(m.attach_times);
                    for (r, size) in m.tracer_runs {
                        self.check_tracer_run(&r, size);
                        self.results.tracer_runs.push(r);
                    }
                }
                Err(e) => {
                    quiet::interrupted()?;
                    eprintln!("xtask: bench: round {} {}: {e:#}", round + 1, c.key());
                    self.results.notes.push(format!("round {} of {} failed: {e:#}", round + 1, c.title()));
                }
            }
        }
        Ok(())
    }

    /// A bare run of `n` iterations. Cut down for a slow peer, it may last
    /// only milliseconds, where one interruption (or /proc/stat's 10 ms
    /// ticks) would swing the ratio: then the median of several.
    fn bare(&mut self, w: Workload, n: u64) -> Result<u64> {
        let repeats = if n * SHORT_RUN_DIVISOR < self.results.full_iterations[&w] { BARE_REPEATS } else { 1 };
        let mut runs = Vec::with_capacity(repeats);
        for _ in 0..repeats {
            runs.push(self.gate.run(&mut self.bins.command(w, n), None)? as f64);
        }
        Ok(report::median(&runs).expect("at least one run") as u64)
    }

    /// Each workload bare, traced by `c`, and bare again: each traced run is
    /// compared with the bare runs either side of it. A tool that runs
    /// beside the workload is started and stopped around each traced run,
    /// so that the three runs sit within a second or so: the shared VM
    /// switches between faster and slower stretches every few seconds.
    fn measure(&mut self, c: Config, sizes: &[(Workload, u64)]) -> Result<Measured> {
        let bins = self.bins;
        let mut m = Measured { samples: Vec::new(), attach_times: Vec::new(), tracer_runs: Vec::new() };
        for &(w, n) in sizes {
            let bare_before_ns = self.bare(w, n)?;
            let traced_ns = if c.wraps_workload() {
                self.gate.run(&mut self.setup.wrap(c, &bins.command(w, n)), None)?
            } else {
                let (traced_ns, attach_time, tracer_run) = self.under_daemon(c, w, n)?;
                m.attach_times.push(attach_time);
                m.tracer_runs.extend(tracer_run.map(|r| (r, (w, n))));
                traced_ns
            };
            let bare_after_ns = self.bare(w, n)?;
            m.samples.push((w, Sample { bare_before_ns, bare_after_ns, traced_ns }));
        }
        Ok(m)
    }

    /// One run of `w` with `c` started before it and stopped after it: the
    /// run's time, how long `c` took to attach, and for tracer what its
    /// exit line counted.
    fn under_daemon(&mut self, c: Config, w: Workload, n: u64) -> Result<(u64, Duration, Option<TracerRun>)> {
        let daemon = self.setup.attach(c)?;
        let attach_time = daemon.attach_time;
        let traced_ns = self.gate.run(&mut self.bins.command(w, n), Some(daemon.pid()))?;
        let stopped = daemon.stop()?;
        if !stopped.status.success() {
            let tail = stopped.stderr.iter().rev().take(3).rev().cloned().collect::<Vec<_>>();
            bail!("{} exited with {} after SIGINT: {}", c.key(), stopped.status, tail.join(" | "));
        }
        let file_bytes = (c == Config::TracerFile)
            .then(|| std::fs::metadata(&self.setup.events_file).map(|m| m.len()).ok())
            .flatten();
        if c == Config::TracerFile {
            let _ = std::fs::remove_file(&self.setup.events_file);
        }
        let tracer_run = c.is_tracer().then(|| TracerRun::of(c, &stopped, file_bytes));
        Ok((traced_ns, attach_time, tracer_run))
    }

    /// Flags tracer runs that lost events, or (filtered out) wrote the
    /// workload's, so a number never stands on a run that did not trace.
    fn check_tracer_run(&mut self, r: &TracerRun, (w, n): (Workload, u64)) {
        let expected = w.traced_calls_per_iteration() * n;
        let (Some(written), Some(lost)) = (r.written, r.lost) else {
            self.results.notes.push(format!("{}: no counters line at exit", r.config.title()));
            return;
        };
        if lost > 0 || r.sink_dropped > 0 {
            self.results.notes.push(format!(
                "{}: {lost} events lost in the kernel and {} dropped by the sink in one round",
                r.config.title(),
                r.sink_dropped
            ));
        }
        match r.config {
            Config::TracerCgroup if written > 0 && written >= expected / 2 => self.results.notes.push(format!(
                "{}: wrote {written} events; the workload's {expected} should have been filtered out",
                r.config.title()
            )),
            Config::Tracer | Config::TracerAttachRaw | Config::TracerAttachSyscall | Config::TracerFile
                if written + lost < expected =>
            {
                self.results.notes.push(format!(
                    "{}: saw {} events, fewer than the workload's {expected}",
                    r.config.title(),
                    written + lost
                ))
            }
            _ => {}
        }
    }

    /// `mmaps` on every core at once under tracer (JSON to /dev/null,
    /// default ring buffer): events delivered per second, and lost.
    fn storms(&mut self) -> Result<()> {
        let processes = std::thread::available_parallelism().map_or(1, |n| n.get());
        let n = self.results.full_iterations[&Workload::Mmaps];
        let repeats = self.results.rounds.min(3);
        for i in 0..repeats {
            let daemon = self.setup.attach(Config::Tracer)?;
            self.results.attach_times.entry(Config::Tracer).or_default().push(daemon.attach_time);
            self.gate.wait_quiet(Some(daemon.pid()), Instant::now() + self.gate.max_wait)?;
            let children: Vec<_> = (0..processes)
                .map(|_| {
                    self.bins
                        .command(Workload::Mmaps, n)
                        .stdin(Stdio::null())
                        .stdout(Stdio::piped())
                        .spawn()
                        .context("starting mmaps")
                })
                .collect::<Result<_>>()?;
            let mut elapsed_ns = 0;
            for child in children {
                let out = child.wait_with_output()?;
                if !out.status.success() {
                    bail!("mmaps failed ({})", out.status);
                }
                let ns: u64 = String::from_utf8_lossy(&out.stdout)
                    .trim()
                    .parse()
                    .context("mmaps did not print its elapsed ns")?;
                elapsed_ns = elapsed_ns.max(ns);
            }
            let stopped = daemon.stop()?;
            let run = TracerRun::of(Config::Tracer, &stopped, None);
            let (Some(written), Some(lost)) = (run.written, run.lost) else {
                bail!("tracer printed no counters line after the storm");
            };
            let dropped = run.sink_dropped;
            let storm = Storm {
                processes,
                iterations_each: n,
                elapsed_ns,
                written,
                lost,
                sink_dropped: dropped,
                peak_rss_kib: stopped.peak_rss_kib,
            };
            eprintln!(
                "xtask: bench: storm {}/{repeats}: {processes} × mmaps {n}: {written} events in {:.2} s, {lost} lost, {dropped} dropped by the sink",
                i + 1,
                elapsed_ns as f64 / 1e9
            );
            self.results.tracer_runs.push(run);
            self.results.storms.push(storm);
        }
        Ok(())
    }

    /// Each machine-wide tool attached while no workload runs, for
    /// [`IDLE_WINDOW`] after [`IDLE_SETTLE`]: the CPU its threads use and how
    /// often they wake, which is what a fleet pays where little is traced.
    fn idles(&mut self) -> Result<()> {
        let window = if self.results.size == "quick" { Duration::from_secs(2) } else { IDLE_WINDOW };
        let configs = self.active_configs();
        for c in configs.into_iter().filter(|c| matches!(c, Config::Tracer | Config::PerfTrace | Config::Bpftrace | Config::Floor | Config::FloorSyscall)) {
            let daemon = self.setup.attach(c)?;
            self.gate.wait_quiet(Some(daemon.pid()), Instant::now() + self.gate.max_wait)?;
            std::thread::sleep(IDLE_SETTLE);
            let before = thread_usage(daemon.pid())?;
            std::thread::sleep(window);
            let after = thread_usage(daemon.pid())?;
            daemon.stop()?;
            let idle = Idle {
                config: c,
                window,
                cpu_ns: after.0.saturating_sub(before.0),
                wakeups: after.1.saturating_sub(before.1),
            };
            eprintln!(
                "xtask: bench: idle {}: {:.2} % of a core, {:.0} wake-ups/s",
                c.key(),
                100.0 * idle.cpu_share(),
                idle.wakeups_per_s()
            );
            self.results.idles.push(idle);
        }
        Ok(())
    }

    /// Records each tracing workload's ring-buffer records, then replays
    /// them through decode + JSON.
    fn replays(&mut self, release: &Path, out: &Path) -> Result<()> {
        let seconds = if self.results.size == "quick" { "0.5" } else { "2" };
        for w in [Workload::Threads, Workload::Forks, Workload::Mmaps] {
            if !self.results.workloads.contains(&w) {
                continue;
            }
            self.gate.wait_quiet(None, Instant::now() + self.gate.max_wait)?;
            let records = out.join(format!("records-{}.bin", w.name()));
            let n = self.results.full_iterations[&w];
            let mut rec = Command::new(release.join("tracer-record"));
            rec.arg(&records).arg("200000").arg(self.bins.path(w)).arg(n.to_string());
            cmd::output(&mut rec).context("recording ring-buffer records")?;
            // CPU time, but still: a busy sibling core shares caches.
            self.gate.wait_quiet(None, Instant::now() + self.gate.max_wait)?;
            let line = cmd::output(Command::new(release.join("tracer-replay")).arg(&records).arg(seconds))
                .context("replaying records")?;
            let replay = parse_replay(w, &line)
                .with_context(|| format!("unexpected tracer-replay output {:?}", line.trim()))?;
            eprintln!(
                "xtask: bench: replay {}: {} records, {:.0} ns/event (decode {:.0} ns)",
                w.name(),
                replay.records,
                replay.ns_per_event,
                replay.decode_ns_per_event
            );
            self.results.replays.push(replay);
        }
        Ok(())
    }
}

/// How long an idle tool is watched, and how long it is left to settle
/// first (tracer stops its drain timer after 100 ms of nothing).
const IDLE_WINDOW: Duration = Duration::from_secs(10);
const IDLE_SETTLE: Duration = Duration::from_secs(1);

/// CPU nanoseconds and voluntary context switches of all of `pid`'s live
/// threads (`/proc/PID/task/*/schedstat` and `status`).
fn thread_usage(pid: u32) -> Result<(u64, u64)> {
    let mut cpu_ns = 0;
    let mut sleeps = 0;
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).with_context(|| format!("reading /proc/{pid}/task"))? {
        let dir = task?.path();
        // A thread that exits meanwhile just drops out of the sum.
        let (Ok(schedstat), Ok(status)) =
            (std::fs::read_to_string(dir.join("schedstat")), std::fs::read_to_string(dir.join("status")))
        else {
            continue;
        };
        cpu_ns += schedstat.split_whitespace().next().and_then(|n| n.parse::<u64>().ok()).unwrap_or(0);
        sleeps += status
            .lines()
            .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
            .and_then(|n| n.trim().parse::<u64>().ok())
            .unwrap_or(0);
    }
    Ok((cpu_ns, sleeps))
}

/// Iterations for a traced run whose warm-up ratio was `ratio`: full size,
/// unless that would take more than [`SLOW_PEER_BUDGET`] bare runs; two
/// significant digits so the report reads well.
fn sized_for_budget(full: u64, ratio: f64) -> u64 {
    // NaN (no warm-up figure) keeps the full size too.
    if ratio.is_nan() || ratio <= SLOW_PEER_BUDGET {
        return full;
    }
    let n = full as f64 * SLOW_PEER_BUDGET / ratio;
    let magnitude = 10f64.powi((n.log10().floor() as i32 - 1).max(0));
    (((n / magnitude).floor() * magnitude) as u64).clamp(1, full)
}

/// `records=… ns_per_event=… …` from tracer-replay.
fn parse_replay(workload: Workload, line: &str) -> Option<Replay> {
    let fields: BTreeMap<&str, f64> = line
        .split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .filter_map(|(k, v)| Some((k, v.parse().ok()?)))
        .collect();
    Some(Replay {
        workload,
        records: *fields.get("records")? as u64,
        ns_per_event: *fields.get("ns_per_event")?,
        decode_ns_per_event: *fields.get("decode_ns_per_event")?,
        json_bytes_per_event: *fields.get("json_bytes_per_event")?,
    })
}

pub(crate) fn target_dir(root: &Path) -> Result<PathBuf> {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => cmd::absolute(dir),
        _ => Ok(root.join("target")),
    }
}

/// CPU, kernel, mitigations, date and tool versions.
fn machine(root: &Path, tracer: &Path) -> Machine {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default().trim().to_owned();
    let first_line = |cmd: &mut Command| {
        cmd::output(cmd).ok().and_then(|o| o.lines().next().map(|l| l.trim().to_owned()))
    };
    let cpuinfo = read("/proc/cpuinfo");
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown CPU".to_owned(), |(_, m)| m.trim().to_owned());
    let mut tools = Vec::new();
    let mut git = Command::new("git");
    git.arg("-C").arg(root).args(["describe", "--always", "--dirty"]);
    let commit = first_line(&mut git).unwrap_or_else(|| "unknown commit".into());
    if let Some(v) = first_line(Command::new(tracer).arg("--version")) {
        tools.push(("tracer".to_owned(), format!("{v} ({commit})")));
    }
    for (name, flag) in [("strace", "-V"), ("perf", "--version"), ("bpftrace", "--version")] {
        if let Some(v) = first_line(Command::new(name).arg(flag)) {
            tools.push((name.to_owned(), v));
        }
    }
    Machine {
        cpu,
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        kernel: read("/proc/sys/kernel/osrelease"),
        spectre_v2: read("/sys/devices/system/cpu/vulnerabilities/spectre_v2"),
        date: first_line(Command::new("date").args(["-u", "+%Y-%m-%dT%H:%M:%SZ"]))
            .unwrap_or_default(),
        tools,
    }
}

/// tracefs, mounted for perf trace and bpftrace if it was not, and
/// unmounted on drop only if we mounted it.
struct TracefsMount(Option<&'static str>);

impl TracefsMount {
    const PATH: &'static str = "/sys/kernel/tracing";

    fn ensure(needed: bool) -> Result<TracefsMount> {
        let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
        if !needed || mounts.lines().any(|l| l.split_whitespace().nth(2) == Some("tracefs")) {
            return Ok(TracefsMount(None));
        }
        eprintln!("xtask: bench: mounting tracefs at {} for perf trace and bpftrace", Self::PATH);
        cmd::run(Command::new("mount").args(["-t", "tracefs", "nodev", Self::PATH]))
            .context("perf trace and bpftrace need tracefs")?;
        Ok(TracefsMount(Some(Self::PATH)))
    }
}

impl Drop for TracefsMount {
    fn drop(&mut self) {
        if let Some(path) = self.0
            && let Err(e) = cmd::run(Command::new("umount").arg(path))
        {
            eprintln!("xtask: bench: could not unmount tracefs: {e:#}");
        }
    }
}

/// An empty cgroup v2 directory (nothing ever runs in it) for tracer's
/// `--cgroup`: filtering for it excludes every workload. Removed on drop.
struct EmptyCgroup(PathBuf);

impl EmptyCgroup {
    fn create() -> Result<EmptyCgroup> {
        let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
        let Some(base) = mounts.lines().find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.get(2) == Some(&"cgroup2")).then(|| PathBuf::from(f[1]))
        }) else {
            bail!("no cgroup v2 mount for the cgroup-filter configuration");
        };
        let dir = base.join("tracer-bench-excluded");
        match std::fs::create_dir(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e).with_context(|| format!("cannot create cgroup {}", dir.display())),
        }
        Ok(EmptyCgroup(dir))
    }
}

impl Drop for EmptyCgroup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slow_peers_get_fewer_iterations() {
        assert_eq!(sized_for_budget(3_000_000, 1.7), 3_000_000);
        assert_eq!(sized_for_budget(3_000_000, 3.0), 3_000_000);
        assert_eq!(sized_for_budget(3_000_000, 575.0), 15_000);
        assert_eq!(sized_for_budget(10_000, 13.0), 2_300);
        assert_eq!(sized_for_budget(80_000, 31.0), 7_700);
        assert_eq!(sized_for_budget(10, 1e9), 1);
        assert_eq!(sized_for_budget(10, f64::NAN), 10);
    }

    #[test]
    fn replay_line() {
        let r = parse_replay(
            Workload::Mmaps,
            "records=1000 ns_per_event=612.3 events_per_s=1633187 decode_ns_per_event=21.5 json_bytes_per_event=598\n",
        )
        .unwrap();
        assert_eq!(r.records, 1000);
        assert_eq!(r.ns_per_event, 612.3);
        assert_eq!(r.decode_ns_per_event, 21.5);
        assert!(parse_replay(Workload::Mmaps, "garbage").is_none());
    }
}
