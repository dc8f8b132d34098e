//! `cargo xtask bench --otlp-only`: the OTLP sink's throughput on one core,
//! over HTTP/protobuf and gRPC, against a real collector (rotel from the
//! OTLP test venv, see `bootstrap::ensure_otlp_venv`, exporting to its
//! blackhole). Same method as `bench/kafka.rs` (whose `measure` it uses):
//! tracer pinned to CPU 0, a storm of getppid calls filling the ring, then
//! lines written per second of wall time and of tracer's CPU time (drain,
//! formatting, mapping to OTLP and sending together); `--output /dev/null`
//! on the same core is the baseline without the network.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};

use super::kafka::{Killed, free_port, measure, table};
use crate::bootstrap::{self, Toolchain};
use crate::cmd;

/// rotel on two free ports, pinned away from tracer's CPU.
fn rotel(venv: &Path) -> Result<(Killed, u16, u16)> {
    let py = venv.join("bin/python");
    let bin = cmd::output(Command::new(&py).args(["-c", "import os, rotel; print(os.path.join(os.path.dirname(rotel.__file__), 'rotel-agent'))"]))?;
    let (http, grpc) = (free_port()?, free_port()?);
    let child = Command::new("taskset")
        .args(["-c", "1"])
        .arg(bin.trim())
        .args(["start", "--otlp-http-endpoint", &format!("127.0.0.1:{http}"), "--otlp-grpc-endpoint", &format!("127.0.0.1:{grpc}")])
        .args(["--exporter", "blackhole", "--log-file", "/dev/null"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting rotel")?;
    let r = Killed(child);
    let t0 = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", http)).is_err() || std::net::TcpStream::connect(("127.0.0.1", grpc)).is_err() {
        if t0.elapsed() > Duration::from_secs(30) {
            bail!("rotel did not listen");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok((r, http, grpc))
}

pub fn run(root: &Path, toolchain: &Toolchain, out: &Path) -> Result<()> {
    let venv = bootstrap::ensure_otlp_venv(root)?;
    let (tracer, storm) = super::kafka::build(root, toolchain, out)?;
    let mut figures = vec![measure(&tracer, &storm, "--output /dev/null (baseline)", &["--output".into(), "/dev/null".into()])?];
    for proto in ["http", "grpc"] {
        let (_rotel, http, grpc) = rotel(&venv)?;
        let url = if proto == "http" { format!("http://127.0.0.1:{http}") } else { format!("grpc://127.0.0.1:{grpc}") };
        figures.push(measure(&tracer, &storm, &format!("--otlp {proto}://…"), &["--otlp".into(), url])?);
    }
    let md = table(&figures);
    let p = out.join("otlp.md");
    std::fs::write(&p, &md).with_context(|| format!("cannot write {}", p.display()))?;
    eprintln!("xtask: bench: OTLP figures in {}", p.display());
    print!("{md}");
    Ok(())
}
