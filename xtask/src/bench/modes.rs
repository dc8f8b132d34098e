//! The attach modes side by side (issue 20): each workload under
//! `--attach auto`, `raw` and `syscall` against both floors (empty programs
//! on `raw_syscalls`, and on the five syscalls' own events), and the
//! machine-wide tax: what one untraced syscall (`unrelated`'s getppid)
//! pays under each, in ns, with a 95 % interval.

use std::fmt::Write as _;

use super::config::Config;
use super::report::{Results, median, over_floor, ratio_text};
use super::workload::Workload;

/// The configurations this section compares, in column order.
const COLUMNS: [Config; 5] =
    [Config::Floor, Config::FloorSyscall, Config::TracerAttachRaw, Config::TracerAttachSyscall, Config::Tracer];

/// The goal for tracer over the better floor (issue 20).
const GOAL: f64 = 1.05;

/// Median of `v` with a 95 % bootstrap interval (2,000 resamples, fixed
/// seed, as `over_floor`).
pub fn median_interval(v: &[f64]) -> Option<(f64, f64, f64)> {
    let m = median(v)?;
    let mut draw = super::report::resampler();
    let mut est = Vec::with_capacity(2000);
    let mut s = v.to_vec();
    for _ in 0..2000 {
        s.iter_mut().for_each(|e| *e = v[draw(v.len())]);
        est.push(median(&s)?);
    }
    est.sort_by(f64::total_cmp);
    Some((m, est[50], est[1949]))
}

/// ns each iteration of `c`'s `w` runs took over bare, one value per round.
fn added_ns(r: &Results, c: Config, w: Workload) -> Vec<f64> {
    r.cells
        .get(&(c, w))
        .map(|cell| {
            cell.samples
                .iter()
                .map(|s| (s.traced_ns as f64 - s.bare_ns() as f64) / cell.iterations.max(1) as f64)
                .collect()
        })
        .unwrap_or_default()
}

fn ratios(r: &Results, c: Config, w: Workload) -> Vec<f64> {
    r.cells.get(&(c, w)).map(|cell| cell.ratios()).unwrap_or_default()
}

/// The section, if the run measured both floors and at least one mode.
pub fn markdown(r: &Results, s: &mut String) {
    let have = |c: &Config| r.configs.contains(c) && !r.skipped.contains_key(c);
    if !have(&Config::Floor) || !have(&Config::FloorSyscall) || !COLUMNS[2..].iter().any(have) {
        return;
    }
    let _ = writeln!(
        s,
        "\nAttach modes (median ratio to bare; `auto` is the default tracer column; \"better floor\" is the \
         lower of the two floors for that workload):\n"
    );
    let mut header = String::from("| workload |");
    let mut rule = String::from("|---|");
    for c in COLUMNS {
        let _ = write!(header, " {} |", c.title());
        rule.push_str("---:|");
    }
    let _ = writeln!(s, "{header} auto ÷ better floor (95 % interval) | goal | verdict |\n{rule}---:|---:|---|");
    for &w in &r.workloads {
        let _ = write!(s, "| {} |", w.name());
        for c in COLUMNS {
            let cell = median(&ratios(r, c, w)).map_or("–".into(), ratio_text);
            let _ = write!(s, " {cell} |");
        }
        let floors = [Config::Floor, Config::FloorSyscall];
        let better = floors
            .into_iter()
            .filter_map(|f| median(&ratios(r, f, w)).map(|m| (m, f)))
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, f)| f);
        let verdict = better.and_then(|f| over_floor(&ratios(r, Config::Tracer, w), &ratios(r, f, w)));
        match verdict {
            Some(o) => {
                let _ = writeln!(s, " {} | ≤ {GOAL:.2} | {} |", o.text(), o.verdict(GOAL));
            }
            None => {
                let _ = writeln!(s, " – | ≤ {GOAL:.2} | – |");
            }
        }
    }

    if !r.workloads.contains(&Workload::Unrelated) {
        return;
    }
    let _ = writeln!(
        s,
        "\nMachine-wide tax: ns added to each untraced syscall (`unrelated`: getppid), median over rounds \
         (95 % bootstrap interval), and as a share of the raw floor's:\n\n\
         | configuration | ns per untraced syscall | ÷ raw floor's |\n|---|---:|---:|"
    );
    let raw_floor = median(&added_ns(r, Config::Floor, Workload::Unrelated));
    for c in COLUMNS {
        let v = added_ns(r, c, Workload::Unrelated);
        let Some((m, lo, hi)) = median_interval(&v) else { continue };
        let share = raw_floor.filter(|f| *f > 0.0).map_or("–".into(), |f| format!("{:.2}", m / f));
        let _ = writeln!(s, "| {} | {m:.1} ({lo:.1}–{hi:.1}) | {share} |", c.title());
    }
    let _ = writeln!(
        s,
        "\nGoal (issue 20): tracer's tax ≤ ½ of the raw floor's, measured in the same run."
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::report::{Cell, Sample};

    fn cell(iterations: u64, bare: u64, traced: &[u64]) -> Cell {
        Cell {
            iterations,
            calibration_ratio: None,
            samples: traced.iter().map(|&t| Sample { bare_before_ns: bare, bare_after_ns: bare, traced_ns: t }).collect(),
        }
    }

    #[test]
    fn modes_against_the_better_floor_and_the_tax_per_untraced_call() {
        let mut r = Results {
            workloads: vec![Workload::Mmaps, Workload::Unrelated],
            configs: COLUMNS.to_vec(),
            ..Default::default()
        };
        let w = Workload::Mmaps;
        r.cells.insert((Config::Floor, w), cell(10, 1000, &[1200, 1200, 1200]));
        r.cells.insert((Config::FloorSyscall, w), cell(10, 1000, &[1100, 1100, 1100]));
        r.cells.insert((Config::Tracer, w), cell(10, 1000, &[1155, 1155, 1155]));
        // 100 getppid calls per run: raw floor +70 ns each, per-syscall +20.
        let u = Workload::Unrelated;
        r.cells.insert((Config::Floor, u), cell(100, 10_000, &[17_000, 17_000, 17_000]));
        r.cells.insert((Config::FloorSyscall, u), cell(100, 10_000, &[12_000, 12_000, 12_000]));
        r.cells.insert((Config::Tracer, u), cell(100, 10_000, &[13_500, 13_500, 13_500]));
        let mut md = String::new();
        markdown(&r, &mut md);
        // auto ÷ the per-syscall floor (the better one here): 1.155 / 1.1.
        assert!(md.contains("| mmaps | 1.20× | 1.10× | – | – | 1.16× | 1.050 (1.050–1.050) | ≤ 1.05 | met |"), "{md}");
        assert!(md.contains("| per-syscall floor | 20.0 (20.0–20.0) | 0.29 |"), "{md}");
        assert!(md.contains("| tracer → /dev/null (auto) | 35.0 (35.0–35.0) | 0.50 |"), "{md}");
        // Without the per-syscall floor, no section.
        r.configs.retain(|&c| c != Config::FloorSyscall);
        let mut md = String::new();
        markdown(&r, &mut md);
        assert!(md.is_empty());
    }

    #[test]
    fn the_interval_holds_the_median_and_narrows_with_agreement() {
        let (m, lo, hi) = median_interval(&[10.0, 11.0, 12.0, 13.0, 14.0]).unwrap();
        assert_eq!(m, 12.0);
        assert!(lo <= m && m <= hi && lo >= 10.0 && hi <= 14.0, "{lo} {hi}");
        assert_eq!(median_interval(&[5.0; 7]), Some((5.0, 5.0, 5.0)));
        assert_eq!(median_interval(&[]), None);
    }
}
