//! The integration tests on another kernel: `cargo xtask test --kernel 6.1`.
//!
//! The test binaries are built on the host (cargo's JSON names them), then a
//! Debian kernel ([`crate::kernel`]) boots under QEMU with TCG (this
//! machine's /dev/kvm cannot run Debian kernels) on the host's root file
//! system, read-only over 9p, with tmpfs on /tmp, /run, /var/tmp and /root
//! (the host's ~/.pyenv linked in: see `kernel::INIT`).
//! Inside, as root, each binary runs with `--test-threads=1`; its output goes
//! to the console (shown live) and to a writable 9p share
//! (`target/kernels/<release>/`), from which the results are read back.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use serde_json::Value;

use crate::bootstrap::Toolchain;
use crate::cmd;
use crate::kernel::Kernel;

/// One integration test executable, as cargo built it.
#[derive(Debug, Clone, PartialEq)]
pub struct TestBinary {
    /// The test target's name (`loss`, `lifecycle`, …).
    pub name: String,
    pub exe: PathBuf,
    /// The package's directory: cargo runs tests from there.
    pub cwd: PathBuf,
    /// libtest filters for this binary alone (none: all its tests).
    pub filters: Vec<String>,
}

/// What the guest runs: the integration test binaries and the `tracer`
/// binary they test (for the smoke run).
#[derive(Debug, Clone)]
pub struct Built {
    pub tests: Vec<TestBinary>,
    pub tracer: PathBuf,
}

/// Build tracer-user's integration tests without running them, and list
/// them from cargo's JSON messages.
pub fn build_tests(root: &Path, toolchain: &Toolchain) -> Result<Built> {
    let mut build = crate::cargo(root, toolchain);
    build.args(["test", "--no-run", "--message-format=json-render-diagnostics", "--package", "tracer-user", "--test", "*"]);
    eprintln!("xtask: $ {}", cmd::display(&build));
    let out = build.stderr(Stdio::inherit()).stdin(Stdio::null()).output().context("cannot run cargo")?;
    if !out.status.success() {
        bail!("building the integration tests failed");
    }
    let json = String::from_utf8_lossy(&out.stdout);
    let tests = test_binaries(&json);
    if tests.is_empty() {
        bail!("cargo built no integration test executables");
    }
    let tracer = tracer_binary(&json).context("cargo's messages name no `tracer` executable")?;
    Ok(Built { tests, tracer })
}

/// The `tracer` executable among cargo's JSON lines.
fn tracer_binary(json_lines: &str) -> Option<PathBuf> {
    json_lines
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "tracer")
        .filter(|m| m["target"]["kind"].as_array().is_some_and(|k| k.iter().any(|k| k == "bin")))
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
}

/// The test executables among cargo's `--message-format=json` lines.
fn test_binaries(json_lines: &str) -> Vec<TestBinary> {
    let mut out: Vec<TestBinary> = json_lines
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["profile"]["test"] == true)
        .filter(|m| m["target"]["kind"].as_array().is_some_and(|k| k.iter().any(|k| k == "test")))
        .filter_map(|m| {
            let exe = PathBuf::from(m["executable"].as_str()?);
            let manifest = PathBuf::from(m["manifest_path"].as_str()?);
            Some(TestBinary {
                name: m["target"]["name"].as_str()?.to_owned(),
                exe,
                cwd: manifest.parent()?.to_path_buf(),
                filters: Vec::new(),
            })
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// What one kernel's run came to.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Outcome {
    pub passed: u64,
    pub failed: u64,
    pub ignored: u64,
    /// `binary::test` of each failure; a whole binary that crashed or never
    /// reported appears as `binary (exit …)`.
    pub failures: Vec<String>,
    /// `tracer --syscalls all -- /bin/true`'s exit status and the programs
    /// it loaded in their raw form (its `using a raw tracepoint` lines).
    pub smoke: Option<(i32, Vec<String>)>,
}

impl Outcome {
    pub fn ok(&self) -> bool {
        self.failed == 0 && self.failures.is_empty() && self.smoke.as_ref().is_none_or(|(code, _)| *code == 0)
    }
}

/// The command the guest runs before the tests: the issue's first check.
pub const SMOKE: &str = "--syscalls all -- /bin/true";

/// The smoke run's exit status and the tracepoints it fell back to the raw
/// form for, from its exit status file and its RUST_LOG=info stderr.
fn smoke_outcome(rc: Option<&str>, stderr: &str) -> Option<(i32, Vec<String>)> {
    let code = rc?.trim().parse().ok()?;
    // `BTF tracepoint NAME unavailable (VERIFIER LOG…); using a raw
    // tracepoint`: the verifier's log spans lines, so take the name from
    // the first.
    let raw = stderr
        .lines()
        .filter_map(|l| l.split("BTF tracepoint ").nth(1))
        .filter_map(|rest| rest.split_once(" unavailable").map(|(name, _)| name.to_owned()))
        .collect();
    Some((code, raw))
}

/// Add what libtest printed for `binary` (its `test … FAILED` and `test
/// result:` lines) and the exit status of each test's run (`<name> <code>`
/// lines; 124: stopped by the per-test timeout). A test that exited
/// non-zero without a FAILED line (crashed, timed out) is a failure too, and
/// so is a binary that never finished listing its tests.
fn add_binary(out: &mut Outcome, binary: &str, log: &str, statuses: Option<&str>) {
    let failed_before = out.failures.len();
    for line in log.lines() {
        if let Some(name) = line.strip_prefix("test ").and_then(|rest| rest.strip_suffix(" ... FAILED")) {
            out.failures.push(format!("{binary}::{name}"));
        }
        if let Some(result) = line.strip_prefix("test result: ") {
            for part in result.split(['.', ';']) {
                let mut words = part.split_whitespace();
                if let (Some(n), Some(what)) = (words.next().and_then(|n| n.parse::<u64>().ok()), words.next()) {
                    match what {
                        "passed" => out.passed += n,
                        "failed" => out.failed += n,
                        "ignored" => out.ignored += n,
                        _ => {}
                    }
                }
            }
        }
    }
    let Some(statuses) = statuses else {
        out.failures.push(format!("{binary} (never finished)"));
        return;
    };
    for line in statuses.lines() {
        let Some((name, code)) = line.trim().rsplit_once(' ') else { continue };
        if code == "0" {
            continue;
        }
        let full = format!("{binary}::{name}");
        if out.failures[failed_before..].contains(&full) {
            continue;
        }
        out.failed += 1;
        let how = if code == "124" { "timed out".to_owned() } else { format!("exit {code}") };
        out.failures.push(format!("{full} ({how})"));
    }
}

/// Seconds one test may run in the guest before `timeout` stops it (TCG is
/// ~10x slower than the host; the slowest tests take ~40 s on the host).
const TEST_TIMEOUT_SECS: u64 = 900;

/// The script the guest runs (as root, in the host's root file system):
/// every test of every binary on its own (`--exact`, under `timeout`, so a
/// hang costs one test, not the run), output to the console and to
/// `<share>/<binary>.out`, `<test> <exit code>` lines to `<share>/<binary>.rc`
/// (written last: a missing file means the guest never got there).
fn run_script(
    tests: &[TestBinary],
    tracer: &Path,
    path: &std::ffi::OsStr,
    env: &[(&str, PathBuf)],
    args: &[OsString],
) -> String {
    use cmd::quote as q;
    let mut s = String::from("# Written by cargo xtask test --kernel; run by the guest's /init.\n");
    let _ = writeln!(s, "export PATH={} HOME=/root TMPDIR=/tmp RUST_BACKTRACE=1 TRACER_TEST_GUEST=1", q(path));
    for (k, v) in env {
        let _ = writeln!(s, "export {k}={}", q(v.as_os_str()));
    }
    // The attach mode the suite runs in (`TRACER_ATTACH=syscall cargo xtask
    // test --kernel 6.1`), passed on as the host's test launcher does.
    if let Some(v) = std::env::var_os("TRACER_ATTACH") {
        let _ = writeln!(s, "export TRACER_ATTACH={}", q(&v));
    }
    s.push_str("echo \"guest: kernel $(uname -r), $(nproc) CPUs\"\n");
    let _ = writeln!(s, "echo \"guest: smoke: tracer {SMOKE}\"");
    let _ = writeln!(
        s,
        "RUST_LOG=info timeout -k 10 300 {} {SMOKE} > /dev/null 2> /tmp/share/smoke.err; echo $? > /tmp/share/smoke.rc; cat /tmp/share/smoke.err",
        q(tracer)
    );
    for t in tests {
        let extra: Vec<String> = args.iter().map(q).chain(t.filters.iter().map(q)).collect();
        let extra = extra.join(" ");
        let (exe, out) = (q(&t.exe), format!("/tmp/share/{}", t.name));
        let _ = writeln!(s, "echo; echo \"guest: running {}\"; cd {} || exit 1; : > {out}.rcs", t.name, q(&t.cwd));
        let _ = writeln!(s, "for t in $({exe} --list --format=terse {extra} | sed -n 's/: test$//p'); do");
        let _ = writeln!(
            s,
            "  timeout -k 10 {TEST_TIMEOUT_SECS} {exe} --exact \"$t\" --test-threads=1 {extra} 2>&1 | tee -a {out}.out; echo \"$t ${{PIPESTATUS[0]}}\" >> {out}.rcs"
        );
        let _ = writeln!(s, "done; mv {out}.rcs {out}.rc");
    }
    s
}

/// Boot `kernel` and run `tests` in it; `timeout` bounds the whole guest.
pub fn run(
    root: &Path,
    toolchain: &Toolchain,
    kernel: &Kernel,
    tracer: &Path,
    tests: &[TestBinary],
    args: &[OsString],
    timeout: Duration,
) -> Result<Outcome> {
    let share = target_dir(root)?.join("kernels").join(&kernel.release);
    if share.exists() {
        fs::remove_dir_all(&share).with_context(|| format!("cannot clear {}", share.display()))?;
    }
    fs::create_dir_all(&share).with_context(|| format!("cannot create {}", share.display()))?;
    // The Python venvs the Kafka, OTLP and view tests use, where the host's test
    // launcher has them (the tools dir may be `$TRACER_TOOLS_DIR`, not the
    // project's `.tools`, which is all the tests would find on their own).
    // tests/view.rs finds its venv under $TRACER_TOOLS_DIR.
    let venvs = [
        (crate::bootstrap::KAFKA_VENV_ENV, crate::bootstrap::ensure_kafka_venv(root)?),
        (crate::bootstrap::OTLP_VENV_ENV, crate::bootstrap::ensure_otlp_venv(root)?),
        (crate::bootstrap::TOOLS_DIR_ENV, crate::bootstrap::tools_dir(root)?),
    ];
    fs::write(share.join("run.sh"), run_script(tests, tracer, &toolchain.path, &venvs, args))?;
    let initrd = share.join("initrd.img");
    crate::kernel::pack_initrd(kernel, &initrd)?;

    let mut qemu = Command::new("qemu-system-x86_64");
    qemu.args(["-accel", "tcg", "-m", "3G", "-smp", "2", "-nodefaults", "-display", "none", "-serial", "stdio"])
        .arg("-no-reboot")
        .arg("-kernel")
        .arg(&kernel.vmlinuz)
        .arg("-initrd")
        .arg(&initrd)
        .args(["-append", "console=ttyS0 quiet loglevel=3 panic=-1 rdinit=/init"])
        .args(["-virtfs", "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap"])
        .arg("-virtfs")
        .arg(format!("local,path={},mount_tag=share,security_model=none,multidevs=remap", share.display()))
        .stdin(Stdio::null());
    eprintln!("xtask: $ {}", cmd::display(&qemu));
    let mut child = qemu.spawn().context("cannot start qemu-system-x86_64 (Debian qemu-system-x86)")?;
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        if start.elapsed() > timeout {
            eprintln!("xtask: kernel {}: no end after {}s, stopping the guest", kernel.release, timeout.as_secs());
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    if let Some(status) = status.filter(|s| !s.success()) {
        eprintln!("xtask: kernel {}: qemu exited with {status}", kernel.release);
    }

    let mut outcome = Outcome::default();
    let read = |name: &str| fs::read_to_string(share.join(name)).ok();
    outcome.smoke = smoke_outcome(read("smoke.rc").as_deref(), &read("smoke.err").unwrap_or_default());
    if outcome.smoke.is_none() {
        outcome.failures.push(format!("smoke `tracer {SMOKE}` (never finished)"));
    }
    for t in tests {
        let log = fs::read_to_string(share.join(format!("{}.out", t.name))).unwrap_or_default();
        let statuses = fs::read_to_string(share.join(format!("{}.rc", t.name))).ok();
        add_binary(&mut outcome, &t.name, &log, statuses.as_deref());
    }
    Ok(outcome)
}

fn target_dir(root: &Path) -> Result<PathBuf> {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => cmd::absolute(dir),
        _ => Ok(root.join("target")),
    }
}

/// One line per kernel: `6.1.0-57-amd64: 30 passed, 7 failed, 0 ignored in 23m10s`.
pub fn summary_line(name: &str, o: &Outcome, took: Duration) -> String {
    let secs = took.as_secs();
    let mut line = format!(
        "{name}: {} ({} passed, {} failed, {} ignored) in {}m{:02}s",
        if o.ok() { "ok" } else { "FAILED" },
        o.passed,
        o.failed,
        o.ignored,
        secs / 60,
        secs % 60
    );
    if let Some((code, raw)) = &o.smoke {
        let raw = if raw.is_empty() { "none".to_owned() } else { raw.join(" ") };
        let _ = write!(line, "; `tracer {SMOKE}` exit {code}, raw tracepoint fallbacks: {raw}");
    }
    if !o.failures.is_empty() {
        let _ = write!(line, "; failures: {}", o.failures.join(", "));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_only_test_targets() {
        let lines = r#"{"reason":"compiler-artifact","package_id":"x","manifest_path":"/w/tracer-user/Cargo.toml","target":{"kind":["lib"],"name":"tracer_user"},"profile":{"test":false},"executable":null}
{"reason":"compiler-artifact","manifest_path":"/w/tracer-user/Cargo.toml","target":{"kind":["test"],"name":"loss"},"profile":{"test":true},"executable":"/w/target/debug/deps/loss-abc"}
{"reason":"compiler-artifact","manifest_path":"/w/tracer-user/Cargo.toml","target":{"kind":["bin"],"name":"tracer"},"profile":{"test":false},"executable":"/w/target/debug/tracer"}
{"reason":"compiler-artifact","manifest_path":"/w/tracer-user/Cargo.toml","target":{"kind":["test"],"name":"filters"},"profile":{"test":true},"executable":"/w/target/debug/deps/filters-def"}
not json
{"reason":"build-finished","success":true}"#;
        let t = test_binaries(lines);
        assert_eq!(tracer_binary(lines), Some(PathBuf::from("/w/target/debug/tracer")));
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].name, "filters");
        assert_eq!(t[1].exe, Path::new("/w/target/debug/deps/loss-abc"));
        assert_eq!(t[1].cwd, Path::new("/w/tracer-user"));
    }

    #[test]
    fn counts_libtest_output() {
        let mut o = Outcome::default();
        let log = "running 1 test\ntest a ... ok\n\ntest result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 2 filtered out; finished in 3.1s\n\
                   running 1 test\ntest b ... FAILED\n\nfailures:\n    b\n\ntest result: FAILED. 0 passed; 1 failed; 0 ignored; 0 measured; 2 filtered out; finished in 1s\n\
                   running 1 test\ntest c ... ignored\n\ntest result: ok. 0 passed; 0 failed; 1 ignored; 0 measured; 2 filtered out; finished in 0s\n";
        add_binary(&mut o, "loss", log, Some("a 0\nb 101\nc 0\n"));
        assert_eq!((o.passed, o.failed, o.ignored), (1, 1, 1));
        assert_eq!(o.failures, ["loss::b"]);
        assert!(!o.ok());

        let mut o = Outcome::default();
        add_binary(&mut o, "idle", "test result: ok. 2 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 1s\n", Some("x 0\n"));
        assert!(o.ok(), "{o:?}");
        assert_eq!(o.passed, 2);
        // No test matched a filter: nothing ran, nothing failed.
        add_binary(&mut o, "records", "", Some(""));
        assert!(o.ok(), "{o:?}");
        // A test that crashed or timed out without libtest's verdict, and a
        // binary the guest never finished, are failures.
        add_binary(&mut o, "hostile", "running 1 test\ntest x ... ", Some("x 134\ny 124\n"));
        add_binary(&mut o, "sinks", "", None);
        assert_eq!(o.failures, ["hostile::x (exit 134)", "hostile::y (timed out)", "sinks (never finished)"]);
        assert_eq!(o.failed, 2);
        assert!(!o.ok());
    }

    #[test]
    fn smoke_fallbacks() {
        let err = "tracer: info: BTF tracepoint signal_generate unavailable (the BPF_PROG_LOAD syscall returned Permission denied (os error 13). \
                   Verifier output: 0: R1=ctx() R10=fp0\nR3 invalid mem access 'scalar'\n); using a raw tracepoint\n\
                   tracer: info: BTF tracepoint signal_deliver unavailable (…\n); using a raw tracepoint\ntracer: attached to …\n";
        assert_eq!(smoke_outcome(Some("0\n"), err), Some((0, vec!["signal_generate".to_owned(), "signal_deliver".to_owned()])));
        assert_eq!(smoke_outcome(Some("77\n"), ""), Some((77, vec![])));
        assert_eq!(smoke_outcome(None, err), None);
        let mut o = Outcome { smoke: Some((77, vec![])), ..Outcome::default() };
        assert!(!o.ok(), "a smoke run that fails fails the kernel");
        o.smoke = Some((0, vec![]));
        assert!(o.ok());
    }

    #[test]
    fn script_runs_every_test_alone_with_the_args() {
        let t = vec![TestBinary { name: "loss".into(), exe: "/w/t/loss-1".into(), cwd: "/w/tracer-user".into(), filters: vec![] }];
        let venv = [("TRACER_KAFKA_VENV", PathBuf::from("/t/kafka-venv"))];
        let s = run_script(
            &t,
            Path::new("/w/target/debug/tracer"),
            std::ffi::OsStr::new("/w/.tools/bin:/usr/bin"),
            &venv,
            &["trickle".into(), "a b".into()],
        );
        assert!(s.contains("export TRACER_KAFKA_VENV=/t/kafka-venv\n"), "{s}");
        assert!(s.contains("RUST_LOG=info timeout -k 10 300 /w/target/debug/tracer --syscalls all -- /bin/true > /dev/null 2> /tmp/share/smoke.err; echo $? > /tmp/share/smoke.rc"), "{s}");
        assert!(s.contains("export PATH=/w/.tools/bin:/usr/bin "), "{s}");
        assert!(s.contains("cd /w/tracer-user || exit 1"), "{s}");
        assert!(s.contains("for t in $(/w/t/loss-1 --list --format=terse trickle 'a b' | sed"), "{s}");
        assert!(s.contains("timeout -k 10 900 /w/t/loss-1 --exact \"$t\" --test-threads=1 trickle 'a b' 2>&1 | tee -a /tmp/share/loss.out"), "{s}");
        assert!(s.contains("echo \"$t ${PIPESTATUS[0]}\" >> /tmp/share/loss.rcs"), "{s}");
        assert!(s.contains("mv /tmp/share/loss.rcs /tmp/share/loss.rc"), "{s}");
    }
}
