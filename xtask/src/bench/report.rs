//! What a bench run found, and how it is shown: a markdown table for people
//! (stdout, `target/bench/latest.md`) and JSON with every sample for
//! anyone who wants to check the medians (`target/bench/*.json`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde_json::{Value, json};

use super::config::{Config, sink_dropped, tracer_counts};
use super::process::Stopped;
use super::quiet::Tally;
use super::workload::Workload;

/// Where the machine and the tools stood.
#[derive(Debug, Default)]
pub struct Machine {
    pub cpu: String,
    pub cores: usize,
    pub kernel: String,
    pub spectre_v2: String,
    pub date: String,
    /// (tool, version line), e.g. ("strace", "strace -- version 6.1").
    pub tools: Vec<(String, String)>,
}

/// A traced run and the bare runs that bracket it: one just before the
/// tool started, one just after it stopped.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    pub bare_before_ns: u64,
    pub bare_after_ns: u64,
    pub traced_ns: u64,
}

impl Sample {
    /// The bare time the traced run is compared with: the mean of the two
    /// bracketing runs, so that a machine drifting faster or slower over
    /// the seconds between them (a shared VM does) moves both sides alike.
    pub fn bare_ns(&self) -> u64 {
        (self.bare_before_ns + self.bare_after_ns) / 2
    }
    pub fn ratio(&self) -> f64 {
        self.traced_ns as f64 / self.bare_ns() as f64
    }
}

/// One (configuration, workload) cell of the table.
#[derive(Debug, Default)]
pub struct Cell {
    pub iterations: u64,
    /// Traced/bare ratio of the warm-up run that chose `iterations`.
    pub calibration_ratio: Option<f64>,
    pub samples: Vec<Sample>,
}

impl Cell {
    pub fn ratios(&self) -> Vec<f64> {
        self.samples.iter().map(Sample::ratio).collect()
    }
    pub fn median(&self) -> Option<f64> {
        median(&self.ratios())
    }
}

/// One stop of a tracer configuration.
#[derive(Debug)]
pub struct TracerRun {
    pub config: Config,
    pub written: Option<u64>,
    /// Lost in the kernel (ring buffer full).
    pub lost: Option<u64>,
    /// Dropped or failed in tracer's sinks.
    pub sink_dropped: u64,
    pub peak_rss_kib: Option<u64>,
    /// Bytes of JSON tracer → file wrote.
    pub file_bytes: Option<u64>,
}

impl TracerRun {
    /// What a stopped tracer's exit lines say.
    pub fn of(config: Config, stopped: &Stopped, file_bytes: Option<u64>) -> TracerRun {
        let counts = tracer_counts(&stopped.stderr);
        TracerRun {
            config,
            written: counts.map(|c| c.0),
            lost: counts.map(|c| c.1),
            sink_dropped: sink_dropped(&stopped.stderr),
            peak_rss_kib: stopped.peak_rss_kib,
            file_bytes,
        }
    }
}

/// `mmaps` on every core at once under tracer.
#[derive(Debug)]
pub struct Storm {
    pub processes: usize,
    pub iterations_each: u64,
    /// The slowest copy's own loop time.
    pub elapsed_ns: u64,
    /// Records tracer decoded (its "events written").
    pub written: u64,
    /// Lost in the kernel: the ring buffer was full.
    pub lost: u64,
    /// Dropped in userspace: a sink's queue was full, or a write failed.
    pub sink_dropped: u64,
    pub peak_rss_kib: Option<u64>,
}

impl Storm {
    pub fn expected_events(&self) -> u64 {
        self.processes as u64 * self.iterations_each * Workload::Mmaps.traced_calls_per_iteration()
    }
    pub fn delivered(&self) -> u64 {
        self.written.saturating_sub(self.sink_dropped)
    }
    pub fn delivered_per_s(&self) -> f64 {
        self.delivered() as f64 / (self.elapsed_ns as f64 / 1e9)
    }
}

/// A machine-wide tool attached while no workload runs: what it costs the
/// machine when there is little to trace.
#[derive(Debug)]
pub struct Idle {
    pub config: Config,
    pub window: Duration,
    /// CPU time of all its threads over the window.
    pub cpu_ns: u64,
    /// Times its threads went to sleep (voluntary context switches).
    pub wakeups: u64,
}

impl Idle {
    pub fn cpu_share(&self) -> f64 {
        self.cpu_ns as f64 / self.window.as_nanos() as f64
    }
    pub fn wakeups_per_s(&self) -> f64 {
        self.wakeups as f64 / self.window.as_secs_f64()
    }
}

/// The replay benchmark on one workload's recorded records.
#[derive(Debug)]
pub struct Replay {
    pub workload: Workload,
    pub records: u64,
    pub ns_per_event: f64,
    pub decode_ns_per_event: f64,
    pub json_bytes_per_event: f64,
}

#[derive(Debug, Default)]
pub struct Results {
    pub machine: Machine,
    /// "full", "half" or "quick".
    pub size: &'static str,
    pub rounds: u32,
    /// Rounds of tracer → /dev/null and the floor (≥ `rounds`).
    pub headline_rounds: u32,
    pub full_iterations: BTreeMap<Workload, u64>,
    pub workloads: Vec<Workload>,
    pub configs: Vec<Config>,
    pub commands: BTreeMap<Config, String>,
    /// Configurations left out, and why.
    pub skipped: BTreeMap<Config, String>,
    pub cells: BTreeMap<(Config, Workload), Cell>,
    pub tracer_runs: Vec<TracerRun>,
    pub attach_times: BTreeMap<Config, Vec<Duration>>,
    pub storms: Vec<Storm>,
    pub idles: Vec<Idle>,
    pub replays: Vec<Replay>,
    pub ringbuf_mib: u64,
    pub notes: Vec<String>,
    pub quiet: Tally,
    pub elapsed: Duration,
}

pub fn median(v: &[f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let m = s.len() / 2;
    Some(if s.len() % 2 == 1 { s[m] } else { (s[m - 1] + s[m]) / 2.0 })
}

fn median_duration(v: &[Duration]) -> Option<Duration> {
    median(&v.iter().map(Duration::as_secs_f64).collect::<Vec<_>>()).map(Duration::from_secs_f64)
}

/// `1.07×`, `13.0×`, `575×`: two decimals near 1, fewer as ratios grow.
pub fn ratio_text(r: f64) -> String {
    if r < 10.0 {
        format!("{r:.2}×")
    } else if r < 100.0 {
        format!("{r:.1}×")
    } else {
        format!("{r:.0}×")
    }
}

fn duration_text(ns: f64) -> String {
    if ns < 1e3 {
        format!("{ns:.0} ns")
    } else if ns < 1e6 {
        format!("{:.1} µs", ns / 1e3)
    } else if ns < 1e9 {
        format!("{:.0} ms", ns / 1e6)
    } else {
        format!("{:.1} s", ns / 1e9)
    }
}

fn rate_text(per_s: f64) -> String {
    if per_s >= 1e6 {
        format!("{:.2} M/s", per_s / 1e6)
    } else {
        format!("{:.0} k/s", per_s / 1e3)
    }
}

/// tracer ÷ floor as the goals judge it, with how sure one can be of it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OverFloor {
    /// median(tracer's ratios) ÷ median(the floor's).
    pub estimate: f64,
    /// A 95 % interval for it ([`over_floor`]).
    pub lo: f64,
    pub hi: f64,
    /// Rounds on the smaller side.
    pub rounds: usize,
}

const RESAMPLES: usize = 2000;

/// Indices for bootstrap resampling: xorshift64* from a fixed seed (plenty
/// for this, and the same rounds always give the same interval).
pub fn resampler() -> impl FnMut(usize) -> usize {
    let mut x = 0x853c_49e6_748f_ea9b_u64;
    move |n: usize| {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32) as usize % n
    }
}

/// tracer ÷ floor from the two configurations' per-round ratios to bare,
/// with a 95 % bootstrap interval: each side's rounds drawn again with
/// replacement, the statistic recomputed, 2,000 times, and the middle 95 %
/// of those kept. One round's ratio scatters by ~±10 % on a shared VM, so
/// the interval says what a run's figure can and cannot tell apart: a
/// 27-round run is good to about ±5 %. The draws come from a fixed seed,
/// so the same rounds always give the same interval.
pub fn over_floor(tracer: &[f64], floor: &[f64]) -> Option<OverFloor> {
    let estimate = median(tracer)? / median(floor)?;
    let mut draw = resampler();
    let (mut t, mut f) = (tracer.to_vec(), floor.to_vec());
    let mut est = Vec::with_capacity(RESAMPLES);
    for _ in 0..RESAMPLES {
        t.iter_mut().for_each(|v| *v = tracer[draw(tracer.len())]);
        f.iter_mut().for_each(|v| *v = floor[draw(floor.len())]);
        est.push(median(&t)? / median(&f)?);
    }
    est.sort_by(f64::total_cmp);
    let (lo, hi) = (est[RESAMPLES * 25 / 1000], est[RESAMPLES * 975 / 1000 - 1]);
    Some(OverFloor { estimate, lo, hi, rounds: tracer.len().min(floor.len()) })
}

impl OverFloor {
    /// What the figure says against `goal`, its interval taken into account.
    pub fn verdict(&self, goal: f64) -> &'static str {
        match (self.estimate <= goal, self.hi <= goal, self.lo <= goal) {
            (true, true, _) => "met",
            (true, false, _) => "met, within noise",
            (false, _, true) => "over, within noise",
            (false, _, false) => "over",
        }
    }

    /// `1.022 (0.979–1.102)`
    pub fn text(&self) -> String {
        format!("{:.3} ({:.3}–{:.3})", self.estimate, self.lo, self.hi)
    }
}

/// The goal for tracer over the floor, per workload.
pub fn goal_over_floor(w: Workload) -> f64 {
    match w {
        Workload::Mmaps => 1.15,
        _ => 1.05,
    }
}

impl Results {
    fn cell_median(&self, c: Config, w: Workload) -> Option<f64> {
        self.cells.get(&(c, w)).and_then(Cell::median)
    }

    fn over_floor(&self, w: Workload) -> Option<OverFloor> {
        let ratios = |c| self.cells.get(&(c, w)).map(Cell::ratios).unwrap_or_default();
        over_floor(&ratios(Config::Tracer), &ratios(Config::Floor))
    }

    /// Bare time per iteration, from the bare runs made at full size.
    fn bare_per_iteration_ns(&self, w: Workload) -> Option<f64> {
        let full = *self.full_iterations.get(&w)?;
        let v: Vec<f64> = self
            .cells
            .iter()
            .filter(|((_, cw), cell)| *cw == w && cell.iterations == full)
            .flat_map(|(_, cell)| cell.samples.iter().map(|s| s.bare_ns() as f64 / full as f64))
            .collect();
        median(&v)
    }

    pub fn markdown(&self) -> String {
        let m = &self.machine;
        let mut s = String::new();
        let _ = writeln!(s, "### tracer overhead, {}\n", m.date);
        let _ = writeln!(
            s,
            "{} ({} cores), kernel {} (spectre_v2: {}). {}.\n",
            m.cpu,
            m.cores,
            m.kernel,
            m.spectre_v2,
            m.tools.iter().map(|(_, v)| v.as_str()).collect::<Vec<_>>().join(", ")
        );
        let sizes: Vec<String> = self
            .workloads
            .iter()
            .map(|w| format!("{} {}", w.name(), self.full_iterations[w]))
            .collect();
        let _ = writeln!(
            s,
            "Workload time traced ÷ bare, median of {} rounds{} (each traced run against the mean of the \
             bare runs just before and after it, each workload timing its own loop); {} size: {} iterations. Slow peers run fewer iterations \
             (bare with the same count), so that no traced run takes much longer than a bare one.\n",
            self.rounds,
            if self.headline_rounds > self.rounds {
                format!(", {} for tracer → /dev/null and the floor", self.headline_rounds)
            } else {
                String::new()
            },
            self.size,
            sizes.join(", ")
        );

        let configs: Vec<Config> =
            self.configs.iter().copied().filter(|c| !self.skipped.contains_key(c)).collect();
        let mut header = String::from("| workload | bare, per iteration |");
        let mut rule = String::from("|---|---:|");
        for c in &configs {
            let _ = write!(header, " {} |", c.title());
            rule.push_str("---:|");
        }
        let _ = writeln!(s, "{header}\n{rule}");
        for &w in &self.workloads {
            let bare = self.bare_per_iteration_ns(w).map_or("–".into(), duration_text);
            let _ = write!(s, "| {} | {bare} |", w.name());
            for &c in &configs {
                let cell = self.cell_median(c, w).map_or("–".into(), ratio_text);
                let _ = write!(s, " {cell} |");
            }
            s.push('\n');
        }

        if self.configs.contains(&Config::Floor) && self.configs.contains(&Config::Tracer) {
            let _ = writeln!(
                s,
                "\ntracer against the floor (range over rounds in parentheses):\n\n\
                 | workload | floor | tracer | tracer ÷ floor (95 % interval) | goal | verdict |\n|---|---:|---:|---:|---:|---|"
            );
            for &w in &self.workloads {
                let text = |c: Config| {
                    let cell = self.cells.get(&(c, w));
                    let r = cell.map(Cell::ratios).unwrap_or_default();
                    match (median(&r), r.iter().copied().reduce(f64::min), r.iter().copied().reduce(f64::max)) {
                        (Some(m), Some(lo), Some(hi)) => {
                            format!("{} ({:.2}–{:.2})", ratio_text(m), lo, hi)
                        }
                        _ => "–".into(),
                    }
                };
                let goal = goal_over_floor(w);
                let (over, verdict) = match self.over_floor(w) {
                    Some(o) => (o.text(), o.verdict(goal)),
                    None => ("–".into(), "–"),
                };
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {over} | ≤ {goal:.2} | {verdict} |",
                    w.name(),
                    text(Config::Floor),
                    text(Config::Tracer),
                );
            }
            let _ = writeln!(
                s,
                "\nThe interval is a bootstrap over the rounds (each side's rounds drawn again with \
                 replacement, 2,000 times): a figure whose interval holds the goal cannot be told \
                 from it by this run. `cargo xtask bench --pool` pools runs for a narrower one."
            );
        }

        super::modes::markdown(self, &mut s);

        s.push('\n');
        if let Some(first) = self.storms.first() {
            let rates: Vec<f64> = self.storms.iter().map(Storm::delivered_per_s).collect();
            let list = |f: fn(&Storm) -> u64| {
                self.storms.iter().map(|s| f(s).to_string()).collect::<Vec<_>>().join(", ")
            };
            let lo = rates.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = rates.iter().copied().fold(0.0, f64::max);
            let med = median(&rates).unwrap_or(0.0);
            let _ = writeln!(
                s,
                "- `mmaps` on all {} cores at once ({} × {} iterations, default {} MiB ring buffer), {} runs: \
                 {} events delivered (median; {}–{}), {} per core; of {} each, lost in the kernel: {}; \
                 dropped by the sink: {}.",
                first.processes,
                first.processes,
                first.iterations_each,
                self.ringbuf_mib,
                self.storms.len(),
                rate_text(med),
                rate_text(lo),
                rate_text(hi),
                rate_text(med / first.processes as f64),
                first.expected_events(),
                list(|s| s.lost),
                list(|s| s.sink_dropped)
            );
        }
        if !self.replays.is_empty() {
            let parts: Vec<String> = self
                .replays
                .iter()
                .map(|r| {
                    format!(
                        "{} {:.0} ns ({} per core; decode alone {:.0} ns, {:.0} bytes of JSON)",
                        r.workload.name(),
                        r.ns_per_event,
                        rate_text(1e9 / r.ns_per_event),
                        r.decode_ns_per_event,
                        r.json_bytes_per_event
                    )
                })
                .collect();
            let _ = writeln!(
                s,
                "- Userspace cost per event, decode + JSON (replay of recorded records, one core): {}.",
                parts.join("; ")
            );
        }
        if let Some(first) = self.idles.first() {
            let parts: Vec<String> = self
                .idles
                .iter()
                .map(|i| format!("{} {:.2} % of a core, {:.0} wake-ups/s", i.config.title(), 100.0 * i.cpu_share(), i.wakeups_per_s()))
                .collect();
            let _ = writeln!(
                s,
                "- Idle, attached with no workload running ({:.0} s each, all threads): {}.",
                first.window.as_secs_f64(),
                parts.join("; ")
            );
        }
        let rss: Vec<u64> = self.tracer_runs.iter().filter_map(|r| r.peak_rss_kib).collect();
        if let Some(max) = rss.iter().max() {
            let storm_rss = self.storms.iter().filter_map(|s| s.peak_rss_kib).max();
            let _ = writeln!(
                s,
                "- tracer peak RSS (VmHWM before SIGINT): {:.1} MiB at most over {} runs{} \
                 (ring buffer {} MiB).",
                *max as f64 / 1024.0,
                rss.len(),
                storm_rss.map_or(String::new(), |k| format!(", {:.1} MiB after the all-core storm", k as f64 / 1024.0)),
                self.ringbuf_mib
            );
        }
        let attach: Vec<String> = self
            .attach_times
            .iter()
            .filter_map(|(c, v)| {
                let m = median_duration(v)?;
                let max = v.iter().max()?;
                Some(format!(
                    "{} {} (max {})",
                    c.key(),
                    duration_text(m.as_nanos() as f64),
                    duration_text(max.as_nanos() as f64)
                ))
            })
            .collect();
        if !attach.is_empty() {
            let _ = writeln!(s, "- Start → attached, median: {}.", attach.join(", "));
        }
        let q = &self.quiet;
        if q.runs > 0 {
            let _ = writeln!(
                s,
                "- Shared machine: waited {:.0} s in all for other work to stop; {} of {} runs \
                 repeated because other processes used the CPU meanwhile{}{}.",
                q.waited.as_secs_f64(),
                q.retried,
                q.runs,
                if q.noisy > 0 { format!(", {} kept although still disturbed", q.noisy) } else { String::new() },
                if q.gave_up_waiting > 0 { format!(", {} started without waiting for quiet", q.gave_up_waiting) } else { String::new() },
            );
        }
        for (c, why) in &self.skipped {
            let _ = writeln!(s, "- Not measured: {} — {why}", c.title());
        }
        for note in &self.notes {
            let _ = writeln!(s, "- {note}");
        }
        let _ = writeln!(s, "\nCommands (all as root):\n");
        for c in self.configs.iter().filter(|c| !self.skipped.contains_key(c)) {
            if let Some(cmd) = self.commands.get(c) {
                let _ = writeln!(s, "- {}: `{cmd}`", c.title());
            }
        }
        let _ = writeln!(
            s,
            "\nReproduce with `cargo xtask bench{}` (this run took {:.0} s).",
            match self.size {
                "half" => " --half",
                "quick" => " --quick",
                _ => "",
            },
            self.elapsed.as_secs_f64()
        );
        s
    }

    pub fn json(&self) -> Value {
        let m = &self.machine;
        let cells: Vec<Value> = self
            .cells
            .iter()
            .map(|((c, w), cell)| {
                json!({
                    "config": c.key(),
                    "workload": w.name(),
                    "iterations": cell.iterations,
                    "calibration_ratio": cell.calibration_ratio,
                    "median_ratio": cell.median(),
                    "ratios": cell.ratios(),
                    "bare_ns": cell.samples.iter().map(Sample::bare_ns).collect::<Vec<_>>(),
                    "bare_before_ns": cell.samples.iter().map(|s| s.bare_before_ns).collect::<Vec<_>>(),
                    "bare_after_ns": cell.samples.iter().map(|s| s.bare_after_ns).collect::<Vec<_>>(),
                    "traced_ns": cell.samples.iter().map(|s| s.traced_ns).collect::<Vec<_>>(),
                })
            })
            .collect();
        json!({
            "date": m.date,
            "machine": {
                "cpu": m.cpu,
                "cores": m.cores,
                "kernel": m.kernel,
                "spectre_v2": m.spectre_v2,
            },
            "tools": m.tools.iter().map(|(k, v)| (k.clone(), Value::from(v.clone()))).collect::<serde_json::Map<_, _>>(),
            "size": self.size,
            "rounds": self.rounds,
            "headline_rounds": self.headline_rounds,
            "full_iterations": self.full_iterations.iter().map(|(w, n)| (w.name().to_owned(), Value::from(*n))).collect::<serde_json::Map<_, _>>(),
            "commands": self.commands.iter().map(|(c, s)| (c.key().to_owned(), Value::from(s.clone()))).collect::<serde_json::Map<_, _>>(),
            "skipped": self.skipped.iter().map(|(c, s)| (c.key().to_owned(), Value::from(s.clone()))).collect::<serde_json::Map<_, _>>(),
            "cells": cells,
            "over_floor": self.workloads.iter().filter_map(|&w| {
                let o = self.over_floor(w)?;
                let goal = goal_over_floor(w);
                Some(json!({
                    "workload": w.name(),
                    "estimate": o.estimate,
                    "lo95": o.lo,
                    "hi95": o.hi,
                    "rounds": o.rounds,
                    "goal": goal,
                    "verdict": o.verdict(goal),
                }))
            }).collect::<Vec<_>>(),
            "tracer_runs": self.tracer_runs.iter().map(|r| json!({
                "config": r.config.key(),
                "events_written": r.written,
                "lost": r.lost,
                "sink_dropped": r.sink_dropped,
                "peak_rss_kib": r.peak_rss_kib,
                "file_bytes": r.file_bytes,
            })).collect::<Vec<_>>(),
            "attach_ms": self.attach_times.iter().map(|(c, v)| (c.key().to_owned(), Value::from(v.iter().map(|d| d.as_secs_f64() * 1e3).collect::<Vec<_>>()))).collect::<serde_json::Map<_, _>>(),
            "storms": self.storms.iter().map(|s| json!({
                "processes": s.processes,
                "iterations_each": s.iterations_each,
                "elapsed_ns": s.elapsed_ns,
                "events_written": s.written,
                "expected_events": s.expected_events(),
                "lost": s.lost,
                "sink_dropped": s.sink_dropped,
                "delivered_per_s": s.delivered_per_s(),
                "peak_rss_kib": s.peak_rss_kib,
                "ringbuf_mib": self.ringbuf_mib,
            })).collect::<Vec<_>>(),
            "idle": self.idles.iter().map(|i| json!({
                "config": i.config.key(),
                "window_s": i.window.as_secs_f64(),
                "cpu_ns": i.cpu_ns,
                "wakeups": i.wakeups,
            })).collect::<Vec<_>>(),
            "replays": self.replays.iter().map(|r| json!({
                "workload": r.workload.name(),
                "records": r.records,
                "ns_per_event": r.ns_per_event,
                "events_per_s": 1e9 / r.ns_per_event,
                "decode_ns_per_event": r.decode_ns_per_event,
                "json_bytes_per_event": r.json_bytes_per_event,
            })).collect::<Vec<_>>(),
            "notes": self.notes,
            "quiet": {
                "runs": self.quiet.runs,
                "retried": self.quiet.retried,
                "noisy": self.quiet.noisy,
                "gave_up_waiting": self.quiet.gave_up_waiting,
                "waited_s": self.quiet.waited.as_secs_f64(),
            },
            "elapsed_s": self.elapsed.as_secs_f64(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0]), Some(3.0));
        assert_eq!(median(&[5.0, 1.0, 3.0]), Some(3.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
    }

    /// Per-round ratios around `level`, scattered ±10 % as on the VM.
    fn noisy(level: f64, n: usize, seed: u64) -> Vec<f64> {
        let mut x = seed;
        (0..n)
            .map(|_| {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                level * (0.9 + 0.2 * (x >> 11) as f64 / (1u64 << 53) as f64)
            })
            .collect()
    }

    #[test]
    fn over_floor_interval_holds_the_estimate_and_narrows_with_rounds() {
        let (t, f) = (noisy(1.10, 27, 1), noisy(1.06, 27, 2));
        let o = over_floor(&t, &f).unwrap();
        assert!(o.lo < o.estimate && o.estimate < o.hi, "{o:?}");
        assert_eq!(o.rounds, 27);
        assert_eq!(over_floor(&t, &f), Some(o), "the same rounds give the same interval");
        let wide = o.hi - o.lo;
        assert!((0.03..0.2).contains(&wide), "27 rounds of ±10 %: {wide}");
        let many = over_floor(&noisy(1.10, 270, 3), &noisy(1.06, 270, 4)).unwrap();
        assert!(many.hi - many.lo < wide / 2.0, "{many:?} against {o:?}");
        // No scatter, no doubt.
        let o = over_floor(&[1.2; 5], &[1.0; 4]).unwrap();
        assert_eq!((o.lo, o.hi, o.rounds), (o.estimate, o.estimate, 4));
        assert!(over_floor(&[1.2], &[]).is_none());
    }

    #[test]
    fn verdicts() {
        let o = |estimate, lo, hi| OverFloor { estimate, lo, hi, rounds: 27 };
        assert_eq!(o(1.02, 0.99, 1.04).verdict(1.05), "met");
        assert_eq!(o(1.04, 1.00, 1.09).verdict(1.05), "met, within noise");
        assert_eq!(o(1.06, 1.01, 1.10).verdict(1.05), "over, within noise");
        assert_eq!(o(1.12, 1.08, 1.16).verdict(1.05), "over");
        assert_eq!(o(1.05, 1.05, 1.05).verdict(1.05), "met");
        assert_eq!(o(1.022, 0.9791, 1.1024).text(), "1.022 (0.979–1.102)");
    }

    #[test]
    fn ratio_and_duration_text() {
        assert_eq!(ratio_text(1.0712), "1.07×");
        assert_eq!(ratio_text(13.04), "13.0×");
        assert_eq!(ratio_text(575.4), "575×");
        assert_eq!(duration_text(185.2), "185 ns");
        assert_eq!(duration_text(54_210.0), "54.2 µs");
        assert_eq!(duration_text(120e6), "120 ms");
    }

    #[test]
    fn table_has_a_cell_per_config_and_workload() {
        let mut r = Results {
            size: "full",
            rounds: 2,
            workloads: vec![Workload::Threads, Workload::Unrelated],
            configs: vec![Config::Tracer, Config::TracerCgroup, Config::Floor],
            ..Default::default()
        };
        r.full_iterations.insert(Workload::Threads, 10);
        r.full_iterations.insert(Workload::Unrelated, 100);
        r.skipped.insert(Config::TracerCgroup, "tracer has no --cgroup yet".into());
        let cell = |bare: u64, traced: &[u64]| Cell {
            iterations: 10,
            calibration_ratio: None,
            samples: traced
                .iter()
                .map(|&t| Sample { bare_before_ns: bare, bare_after_ns: bare, traced_ns: t })
                .collect(),
        };
        r.cells.insert((Config::Tracer, Workload::Threads), cell(1000, &[1100, 1300, 1200]));
        r.cells.insert((Config::Floor, Workload::Threads), cell(1000, &[1000, 1100]));
        let md = r.markdown();
        assert!(md.contains("| workload | bare, per iteration | tracer → /dev/null (auto) | floor |"), "{md}");
        assert!(md.contains("| threads | 100 ns | 1.20× | 1.05× |"), "{md}");
        // Unrelated has no samples: dashes, and the bare column is not at full size.
        assert!(md.contains("| unrelated | – | – | – |"), "{md}");
        assert!(md.contains("| threads | 1.05× (1.00–1.10) | 1.20× (1.10–1.30) | 1.143 (1.000–1.300) | ≤ 1.05 | over, within noise |"), "{md}");
        assert!(md.contains("Not measured: tracer, cgroup filtered out — tracer has no --cgroup yet"), "{md}");
        r.ringbuf_mib = 8;
        for (ns, lost) in [(1_000_000_000, 0), (2_000_000_000, 5)] {
            r.storms.push(Storm {
                processes: 2,
                iterations_each: 100,
                elapsed_ns: ns,
                written: 400_000,
                lost,
                sink_dropped: 0,
                peak_rss_kib: None,
            });
        }
        let md = r.markdown();
        assert!(
            md.contains("2 runs: 300 k/s events delivered (median; 200 k/s–400 k/s), 150 k/s per core; of 400 each, lost in the kernel: 0, 5; dropped by the sink: 0, 0."),
            "{md}"
        );
        r.idles.push(Idle { config: Config::Tracer, window: Duration::from_secs(10), cpu_ns: 5_000_000, wakeups: 62 });
        r.idles.push(Idle { config: Config::Floor, window: Duration::from_secs(10), cpu_ns: 250_000_000, wakeups: 1000 });
        let md = r.markdown();
        assert!(
            md.contains("- Idle, attached with no workload running (10 s each, all threads): tracer → /dev/null (auto) 0.05 % of a core, 6 wake-ups/s; floor 2.50 % of a core, 100 wake-ups/s."),
            "{md}"
        );
        let j = r.json();
        assert_eq!(j["idle"][0]["cpu_ns"], 5_000_000);
        assert_eq!(j["cells"].as_array().unwrap().len(), 2);
        assert_eq!(j["skipped"]["tracer-cgroup"], "tracer has no --cgroup yet");
    }
}
