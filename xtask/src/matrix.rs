//! `cargo xtask test --kernel VERSION` and `--kernels all|ci`: the
//! integration tests on each kernel of a list, one after another (never two
//! guests at once: on 2 cores they would slow each other past the tests'
//! patience), then one summary line per kernel.

use std::ffi::OsString;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

use crate::bootstrap::{self, Toolchain};
use crate::cmd::Fatal;
use crate::guest::{self, TestBinary};
use crate::kernel;

/// The Debian 12 series the matrix boots besides the host's kernel.
pub const SERIES: &[&str] = &["6.1", "6.12"];

/// The integration tests CI runs on the guest kernels: `binary` (all its
/// tests) or `binary::part` (its tests whose name contains `part`). They
/// run in the guest exactly as `cargo xtask test --kernel 6.1` runs them.
/// Together they load every program variant — the BTF and the raw
/// tracepoints (`walkthrough::raw_tracepoint_fallback…` forces raw), the
/// syscall groups `%process,%memory,%signal` (`schema`) and `all`
/// (`text_vs_strace`), lifecycle events on and off (`lifecycle`) — and run
/// the walkthrough, lifecycle (with `group_dead`'s exit stress), records and
/// strace tests, plus the loss
/// invariant (`loss`) and the unprivileged paths (`privilege`); and the
/// kernel-facing parts of identity (`identity`, `lineage`: start times read
/// from the task, pid reuse in a new pid namespace; `cgroups`: real cgroups,
/// `--container`/`--unit` in the kernel filter) and both attach modes
/// (`attach_modes`: per-syscall tracepoints against raw). Measured on
/// 6.1 under TCG: about 8.5 minutes of tests, against 25 for all 57 (the
/// left-out `faults`, `filters`, `sinks`, `kernel_state`, `hostile` and
/// `idle` take the other 16).
pub const CI_SUBSET: &[&str] = &[
    "walkthrough",
    "lifecycle",
    "group_dead",
    "records",
    "schema",
    "strace_oracle",
    "text_vs_strace",
    "loss",
    "privilege",
    "identity",
    "lineage",
    "cgroups",
    "attach_modes",
];

/// How long one guest may take before it is stopped and its missing
/// results count as failures (TCG runs the tests ~10x slower than the host).
const GUEST_TIMEOUT: Duration = Duration::from_secs(80 * 60);

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Set {
    /// host, 6.1, 6.12: every integration test on each.
    All,
    /// host (unit + every integration test), then 6.1 and 6.12 with
    /// the CI subset.
    Ci,
}

/// One kernel to test on: `host` or a Debian series, with the libtest
/// filters its run adds (none: every test).
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub kernel: String,
    pub filters: &'static [&'static str],
}

#[derive(Debug, Clone, PartialEq)]
pub struct Plan(pub Vec<Entry>);

impl Plan {
    pub fn one(kernel: &str) -> Self {
        Plan(vec![Entry { kernel: kernel.to_owned(), filters: &[] }])
    }

    /// Keeps only the test binaries (or `binary::part`s) named in `only`
    /// (none: every test). The strings live as long as the run.
    pub fn only(mut self, only: Vec<String>) -> Self {
        if !only.is_empty() {
            let names: Vec<&'static str> = only.into_iter().map(|s| &*Box::leak(s.into_boxed_str())).collect();
            let names: &'static [&'static str] = Box::leak(names.into_boxed_slice());
            for e in &mut self.0 {
                e.filters = names;
            }
        }
        self
    }

    pub fn set(set: Set) -> Self {
        let guests: &'static [&'static str] = match set {
            Set::All => &[],
            Set::Ci => CI_SUBSET,
        };
        let mut v = vec![Entry { kernel: "host".to_owned(), filters: &[] }];
        v.extend(SERIES.iter().map(|s| Entry { kernel: (*s).to_owned(), filters: guests }));
        Plan(v)
    }
}

/// Run the plan; fails (exit 1) if any kernel had a failure.
pub fn run(root: &std::path::Path, toolchain: &Toolchain, plan: &Plan, args: &[OsString]) -> Result<()> {
    let mut lines = Vec::new();
    let mut tests = None;
    for entry in &plan.0 {
        let start = Instant::now();
        if entry.kernel == "host" {
            eprintln!("xtask: == kernel host ({}) ==", host_release());
            let result = crate::test(root, toolchain, args);
            let took = start.elapsed();
            let line = match &result {
                Ok(()) => format!("host {}: ok (unit + integration tests) in {}", host_release(), mmss(took)),
                Err(e) => format!("host {}: FAILED in {}: {e:#}", host_release(), mmss(took)),
            };
            eprintln!("xtask: {line}");
            lines.push((result.is_ok(), line));
            continue;
        }
        if tests.is_none() {
            bootstrap::ensure_apt_packages(kernel::GUEST_PACKAGES, "booting test kernels under QEMU")?;
            if !bootstrap::is_root() {
                return Err(Fatal::new(2, "the guest kernels' tests run as root; run `sudo -E cargo xtask test --kernel …`").into());
            }
            bootstrap::ensure_test_packages()?;
            tests = Some(guest::build_tests(root, toolchain)?);
        }
        let built = tests.as_ref().expect("built above");
        let tests = select(&built.tests, entry.filters)?;
        let tools = bootstrap::tools_dir(root)?;
        let k = kernel::ensure(&tools, &entry.kernel)?;
        eprintln!("xtask: == kernel {} ({} test binaries; {}) ==", k.release, tests.len(), shown(entry.filters));
        let outcome = guest::run(root, toolchain, &k, &built.tracer, &tests, args, GUEST_TIMEOUT)?;
        let line = guest::summary_line(&k.release, &outcome, start.elapsed());
        eprintln!("xtask: {line}");
        lines.push((outcome.ok(), line));
    }
    eprintln!("xtask: kernel matrix:");
    for (_, line) in &lines {
        eprintln!("xtask:   {line}");
    }
    if lines.iter().all(|(ok, _)| *ok) {
        Ok(())
    } else {
        Err(Fatal::new(1, "tests failed on some kernel (see above)").into())
    }
}

fn shown(subset: &[&str]) -> String {
    if subset.is_empty() { "every test".to_owned() } else { format!("the subset {}", subset.join(" ")) }
}

/// The binaries `subset` names, each with its test filters (all binaries,
/// unfiltered, for an empty subset). A name matching no binary is an error:
/// a renamed test must not drop silently out of CI.
fn select(tests: &[TestBinary], subset: &[&str]) -> Result<Vec<TestBinary>> {
    if subset.is_empty() {
        return Ok(tests.to_vec());
    }
    for item in subset {
        let binary = item.split("::").next().unwrap_or(item);
        if !tests.iter().any(|t| t.name == binary) {
            bail!("the kernel test subset names {item:?}, but there is no integration test binary {binary:?}");
        }
    }
    let mut out = Vec::new();
    for t in tests {
        let mine: Vec<&str> = subset.iter().copied().filter(|i| i.split("::").next() == Some(&t.name)).collect();
        if mine.is_empty() {
            continue;
        }
        let whole = mine.iter().any(|i| !i.contains("::"));
        let filters = if whole { Vec::new() } else { mine.iter().filter_map(|i| i.split_once("::")).map(|(_, f)| f.to_owned()).collect() };
        out.push(TestBinary { filters, ..t.clone() });
    }
    Ok(out)
}

fn host_release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease").map(|s| s.trim().to_owned()).unwrap_or_default()
}

fn mmss(d: Duration) -> String {
    format!("{}m{:02}s", d.as_secs() / 60, d.as_secs() % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets() {
        let all = Plan::set(Set::All);
        let names: Vec<&str> = all.0.iter().map(|e| e.kernel.as_str()).collect();
        assert_eq!(names, ["host", "6.1", "6.12"]);
        assert!(all.0.iter().all(|e| e.filters.is_empty()));
        let ci = Plan::set(Set::Ci);
        assert!(ci.0[0].filters.is_empty(), "CI runs the whole suite on the host");
        assert!(ci.0[1..].iter().all(|e| e.filters == CI_SUBSET));
        assert_eq!(Plan::one("6.1").0, [Entry { kernel: "6.1".into(), filters: &[] }]);
        assert_eq!(Plan::one("6.1").only(vec![]).0, Plan::one("6.1").0);
        let only = Plan::one("6.12").only(vec!["identity".into(), "sinks::piped".into()]);
        assert_eq!(only.0, [Entry { kernel: "6.12".into(), filters: &["identity", "sinks::piped"] }]);
    }

    fn bin(name: &str) -> TestBinary {
        TestBinary { name: name.into(), exe: format!("/t/{name}").into(), cwd: "/w".into(), filters: vec![] }
    }

    #[test]
    fn subsets_pick_binaries_and_tests() {
        let all = [bin("lifecycle"), bin("loss"), bin("walkthrough")];
        assert_eq!(select(&all, &[]).unwrap(), all);
        let s = select(&all, &["walkthrough", "lifecycle::no_lifecycle", "lifecycle::thread_create"]).unwrap();
        let got: Vec<(&str, Vec<String>)> = s.iter().map(|t| (t.name.as_str(), t.filters.clone())).collect();
        assert_eq!(got, [("lifecycle", vec!["no_lifecycle".into(), "thread_create".into()]), ("walkthrough", vec![])]);
        // A whole binary wins over its filters.
        let s = select(&all, &["loss::trickle", "loss"]).unwrap();
        assert_eq!(s, [bin("loss")]);
        assert!(select(&all, &["renamed::x"]).is_err());
    }

    #[test]
    fn the_ci_subset_names_real_binaries() {
        let names = std::fs::read_dir(crate::workspace_root().join("tracer-user/tests")).unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok()?.strip_suffix(".rs").map(str::to_owned))
            .collect::<Vec<_>>();
        for item in CI_SUBSET {
            let binary = item.split("::").next().unwrap();
            assert!(names.iter().any(|n| n == binary), "{item}: no tracer-user/tests/{binary}.rs");
        }
    }
}
