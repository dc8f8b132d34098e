//! `cargo xtask bench --pool FILE...`: tracer ÷ floor from earlier runs'
//! JSON (`target/bench/bench-*.json`), run by run and pooled, so that a
//! figure quoted from several runs of one build can be checked. Pooled is
//! the median of every round's tracer ratio over the median of every
//! round's floor ratio, the same statistic one run reports, over more
//! rounds, with its 95 % bootstrap interval. Measures nothing; needs no
//! root.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use serde_json::Value;

use super::report::{OverFloor, goal_over_floor};
use super::workload::Workload;

/// One run: its date, the tracer it measured, and per (config, workload)
/// the per-round ratios to bare.
#[derive(Debug)]
struct Run {
    date: String,
    tracer: String,
    ratios: BTreeMap<(String, String), Vec<f64>>,
}

pub fn run(files: &[PathBuf]) -> Result<()> {
    let runs = files.iter().map(|f| read(f)).collect::<Result<Vec<_>>>()?;
    print!("{}", table(&runs));
    Ok(())
}

fn read(path: &Path) -> Result<Run> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let v: Value = serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    parse(&v).with_context(|| format!("{} is not a `cargo xtask bench` result", path.display()))
}

fn parse(v: &Value) -> Result<Run> {
    let Some(cells) = v["cells"].as_array() else { bail!("no `cells` array") };
    let mut ratios = BTreeMap::new();
    for c in cells {
        let (Some(config), Some(workload), Some(r)) =
            (c["config"].as_str(), c["workload"].as_str(), c["ratios"].as_array())
        else {
            bail!("a cell without config, workload and ratios");
        };
        let r: Vec<f64> = r.iter().filter_map(Value::as_f64).collect();
        ratios.insert((config.to_string(), workload.to_string()), r);
    }
    let tracer = v["tools"]["tracer"].as_str().unwrap_or("?");
    Ok(Run { date: v["date"].as_str().unwrap_or("?").to_string(), tracer: tracer.to_string(), ratios })
}

/// tracer ÷ floor for one workload over these rounds.
fn over_floor<'a>(runs: impl Iterator<Item = &'a Run> + Clone, w: &str) -> Option<OverFloor> {
    let pick = |config: &str| -> Vec<f64> {
        runs.clone()
            .filter_map(|r| r.ratios.get(&(config.to_string(), w.to_string())))
            .flatten()
            .copied()
            .collect()
    };
    super::report::over_floor(&pick("tracer"), &pick("floor"))
}

fn table(runs: &[Run]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "tracer ÷ floor, run by run and pooled over every round of the runs:\n");
    for (i, r) in runs.iter().enumerate() {
        let _ = writeln!(s, "{}. {} ({})", i + 1, r.date, r.tracer);
    }
    let _ = writeln!(
        s,
        "\n| workload | goal | runs | pooled (95 % interval) | rounds | verdict |\n|---|---|---|---|---|---|"
    );
    for w in Workload::ALL {
        let name = w.name();
        let each: Vec<String> = runs
            .iter()
            .map(|r| over_floor(std::iter::once(r), name).map_or("–".into(), |o| format!("{:.3}", o.estimate)))
            .collect();
        if each.iter().all(|e| e == "–") {
            continue;
        }
        let goal = goal_over_floor(w);
        let (pooled, n, verdict) = match over_floor(runs.iter(), name) {
            Some(o) => (o.text(), o.rounds.to_string(), o.verdict(goal)),
            None => ("–".into(), "–".into(), "–"),
        };
        let _ = writeln!(s, "| {name} | ≤ {goal:.2} | {} | {pooled} | {n} | {verdict} |", each.join(" / "));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(tracer: &[f64], floor: &[f64]) -> Run {
        let v = json!({
            "date": "2026-11-27T00:00:00Z",
            "tools": {"tracer": "tracer 0.1.0 (abc)"},
            "cells": [
                {"config": "tracer", "workload": "mmaps", "ratios": tracer},
                {"config": "floor", "workload": "mmaps", "ratios": floor},
                {"config": "strace", "workload": "mmaps", "ratios": [30.0]},
            ],
        });
        parse(&v).unwrap()
    }

    #[test]
    fn pooled_is_the_ratio_of_medians_over_all_rounds() {
        let a = run(&[1.20, 1.30, 1.10], &[1.00, 1.10, 1.05]);
        let b = run(&[1.40, 1.20], &[1.10, 1.00]);
        assert!((over_floor(std::iter::once(&a), "mmaps").unwrap().estimate - 1.20 / 1.05).abs() < 1e-9);
        // Pooled: tracer 1.10 1.20 1.20 1.30 1.40 → 1.20; floor 1.00 1.00 1.05 1.10 1.10 → 1.05.
        let o = over_floor([a, b].iter(), "mmaps").unwrap();
        assert!((o.estimate - 1.20 / 1.05).abs() < 1e-9);
        assert_eq!(o.rounds, 5);
        assert!(o.lo < o.estimate && o.estimate < o.hi, "{o:?}");
    }

    #[test]
    fn table_lists_runs_and_skips_unmeasured_workloads() {
        let t = table(&[run(&[1.2], &[1.0]), run(&[1.1], &[1.0])]);
        assert!(t.contains("| mmaps | ≤ 1.15 | 1.200 / 1.100 | 1.150 (1.100–1.200) | 2 | met, within noise |"), "{t}");
        assert!(t.contains("2. 2026-11-27T00:00:00Z (tracer 0.1.0 (abc))"), "{t}");
        assert!(!t.contains("| threads"), "{t}");
    }

    #[test]
    fn not_a_bench_result() {
        assert!(parse(&json!({"date": "x"})).is_err());
        assert!(parse(&json!({"cells": [{"config": "tracer"}]})).is_err());
    }
}
