//! Developer tasks for tracer: `cargo xtask <bootstrap|build|run|test|bench|soak>`.
//!
//! `bootstrap` runs implicitly before every other command; see
//! [`bootstrap`] for what it installs and where.

mod bench;
mod bootstrap;
mod cmd;
mod guest;
mod kernel;
mod matrix;
mod soak;
mod summary;

use std::ffi::OsString;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context as _, Result};
use clap::{Parser, Subcommand};

use crate::bootstrap::Toolchain;
use crate::cmd::Fatal;

#[derive(Debug, Parser)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    about = "Developer tasks for tracer"
)]
struct Cli {
    #[command(subcommand)]
    command: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Install what building the eBPF programs needs: nightly rust-src and
    /// bpf-linker 0.13 (LLVM 22) in .tools (or $TRACER_TOOLS_DIR).
    Bootstrap,
    /// Build tracer (release): target/release/tracer.
    Build,
    /// Build tracer (release) and run it: `cargo xtask run -- [TRACER ARGS]`.
    Run {
        /// Arguments for tracer.
        #[arg(
            trailing_var_arg = true,
            allow_hyphen_values = true,
            value_name = "TRACER ARGS"
        )]
        args: Vec<OsString>,
    },
    /// Run unit tests, then the BPF integration tests (these need root);
    /// with --kernel or --kernels, the integration tests on Debian kernels
    /// booted under QEMU.
    Test {
        /// Run the integration tests on this kernel instead of the host's:
        /// a Debian series (`6.1`, `6.12`: its newest generic amd64 image),
        /// a release (`6.1.0-57`), or `host`.
        #[arg(long, value_name = "VERSION", conflicts_with = "kernels")]
        kernel: Option<String>,
        /// `all`: the host, then 6.1, then 6.12, one after another, every
        /// test on each; `ci`: the host's full suite, then 6.1 and 6.12 with
        /// the CI subset (see README).
        #[arg(long, value_name = "SET")]
        kernels: Option<matrix::Set>,
        /// With --kernel: only these test binaries (or `binary::part`),
        /// comma-separated, e.g. `identity,cgroups`.
        #[arg(long, value_name = "LIST", value_delimiter = ',', requires = "kernel")]
        only: Vec<String>,
        /// Extra arguments for both `cargo test` runs (passed after their `--`).
        #[arg(last = true, value_name = "TEST ARGS")]
        args: Vec<OsString>,
    },
    /// Measure tracer's overhead against strace, perf trace, bpftrace and
    /// the floor (two empty BPF programs); needs root. Prints a markdown
    /// table, writes JSON to target/bench/.
    Bench(bench::BenchArgs),
    /// Run tracer under a storm of threads, forks and mmaps (10 minutes by
    /// default) and check that its memory stays flat and per-process state
    /// is released; needs root. Figures in target/soak/.
    Soak(soak::SoakArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            if let Some(fatal) = err.downcast_ref::<Fatal>() {
                eprintln!("xtask: {fatal}");
                return ExitCode::from(fatal.code);
            }
            // `{:#}` puts the whole context chain on one line.
            eprintln!("xtask: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(task: Task) -> Result<()> {
    let root = workspace_root();
    match task {
        Task::Bootstrap => bootstrap::ensure(&root).map(drop),
        Task::Build => {
            let toolchain = bootstrap::ensure(&root)?;
            build(&root, &toolchain)
        }
        Task::Run { args } => {
            let toolchain = bootstrap::ensure(&root)?;
            build(&root, &toolchain)?;
            exec_tracer(&root, &args)
        }
        Task::Test { kernel: None, kernels: None, args, .. } => {
            let toolchain = bootstrap::ensure(&root)?;
            test(&root, &toolchain, &args)
        }
        Task::Test { kernel, kernels, only, args } => {
            let toolchain = bootstrap::ensure(&root)?;
            let plan = match (kernel, kernels) {
                (Some(k), _) => matrix::Plan::one(&k).only(only),
                (None, Some(set)) => matrix::Plan::set(set),
                (None, None) => unreachable!("handled above"),
            };
            matrix::run(&root, &toolchain, &plan, &args)
        }
        Task::Bench(args) if !args.pool.is_empty() => bench::pool(&args.pool),
        Task::Bench(args) => {
            let toolchain = bootstrap::ensure(&root)?;
            bench::run(&root, &toolchain, &args)
        }
        Task::Soak(args) => {
            let toolchain = bootstrap::ensure(&root)?;
            soak::run(&root, &toolchain, &args)
        }
    }
}

/// The workspace root: xtask lives in `<root>/xtask`.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask's manifest dir has a parent")
        .to_path_buf()
}

/// A cargo command run from the workspace root with the bootstrap environment.
pub(crate) fn cargo(root: &Path, toolchain: &Toolchain) -> Command {
    let mut cmd = cmd::cargo();
    toolchain.apply(&mut cmd).current_dir(root);
    cmd
}

fn build(root: &Path, toolchain: &Toolchain) -> Result<()> {
    let mut cmd = cargo(root, toolchain);
    cmd.args([
        "build",
        "--release",
        "--package",
        "tracer-user",
        "--bin",
        "tracer",
    ]);
    cmd::run(&mut cmd).context("building tracer failed")
}

/// Replace this process with `target/release/tracer ARGS`, so signals (Ctrl-C)
/// go straight to tracer and its exit status is ours.
fn exec_tracer(root: &Path, args: &[OsString]) -> Result<()> {
    let target_dir = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => cmd::absolute(dir)?,
        _ => root.join("target"),
    };
    let exe = target_dir.join("release").join("tracer");
    let mut cmd = Command::new(&exe);
    cmd.args(args);
    let shown = cmd::display(&cmd);
    eprintln!("xtask: $ {shown}");
    // Only returns on failure.
    let err = cmd.exec();
    Err(err).with_context(|| format!("cannot run `{shown}`"))
}

pub(crate) fn test(root: &Path, toolchain: &Toolchain, extra: &[OsString]) -> Result<()> {
    let with_extra = |cmd: &mut Command, own: &[&str]| {
        if !own.is_empty() || !extra.is_empty() {
            cmd.arg("--").args(own).args(extra);
        }
    };

    eprintln!("xtask: [1/2] unit tests (no root needed)");
    let mut unit = cargo(root, toolchain);
    unit.env("RUST_BACKTRACE", "1")
        // tracer-ebpf is a no_std/no_main BPF crate: it only builds for
        // bpfel-unknown-none (through tracer-user's build script).
        .args([
            "test",
            "--workspace",
            "--exclude",
            "tracer-ebpf",
            "--lib",
            "--bins",
        ]);
    with_extra(&mut unit, &[]);
    cmd::run(&mut unit).context("unit tests failed")?;

    if !bootstrap::is_root() {
        return Err(Fatal::new(
            2,
            "integration tests load BPF programs and need root; run `sudo -E cargo xtask test`",
        )
        .into());
    }
    bootstrap::ensure_test_packages()?;
    let kafka_venv = bootstrap::ensure_kafka_venv(root)?;
    let otlp_venv = bootstrap::ensure_otlp_venv(root)?;
    eprintln!("xtask: [2/2] integration tests (load BPF programs; as root, one test at a time)");
    let mut integration = cargo(root, toolchain);
    integration
        .env("RUST_BACKTRACE", "1")
        .env(bootstrap::KAFKA_VENV_ENV, &kafka_venv)
        .env(bootstrap::OTLP_VENV_ENV, &otlp_venv)
        // `--test '*'`: only the files under tests/ (`--tests` would run the
        // unit tests of phase 1 again). `--no-fail-fast`: one failing file
        // does not hide what the files after it would say.
        .args(["test", "--no-fail-fast", "--package", "tracer-user", "--test", "*"]);
    with_extra(&mut integration, &["--test-threads=1"]);
    cmd::run(&mut integration).context("integration tests failed")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Task {
        Cli::try_parse_from(std::iter::once("cargo-xtask").chain(args.iter().copied()))
            .unwrap()
            .command
    }

    #[test]
    fn run_args_are_passed_through() {
        let Task::Run { args } = parse(&["run", "--", "--pid", "1", "--help"]) else {
            panic!()
        };
        assert_eq!(args, ["--pid", "1", "--help"]);
        // `--` is optional.
        let Task::Run { args } = parse(&["run", "--pid", "1"]) else {
            panic!()
        };
        assert_eq!(args, ["--pid", "1"]);
        let Task::Run { args } = parse(&["run"]) else {
            panic!()
        };
        assert!(args.is_empty());
    }

    #[test]
    fn test_args_after_double_dash() {
        let Task::Test { args, .. } = parse(&["test", "--", "--nocapture", "some_test"]) else {
            panic!()
        };
        assert_eq!(args, ["--nocapture", "some_test"]);
        let Task::Test { args, .. } = parse(&["test"]) else {
            panic!()
        };
        assert!(args.is_empty());
    }

    #[test]
    fn root_is_parent_of_xtask() {
        assert!(workspace_root().join("xtask").join("Cargo.toml").exists());
    }
}
