//! Command-line interface: parsing and validation only (pure, testable).
//! Resolving what the filters name on this machine is `filter`'s job.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt as _;
use std::path::PathBuf;

use clap::Parser;
use tracer_common::{COMM_LEN, MAX_CGROUPS, MAX_COMMS};

use crate::kernel::filter::FilterArgs;
use crate::sink::SinkSpec;
use crate::sink::net::Endpoint;

/// Syscalls traced when `--syscalls` is not given.
pub const DEFAULT_SYSCALLS: &str = "clone,clone3,mmap,mprotect,wait4";

/// Default ring buffer: 8 MiB holds ~58,000 plain records (144 bytes each).
/// At the ~1-2 million records/s a 2-core machine can produce in a storm of
/// traced calls, that is 30-60 ms of slack for the reader — several times
/// the drain loop's worst wake-up latency — for memory that is only touched
/// when used.
pub const DEFAULT_RINGBUF_SIZE: u32 = 8 << 20;

#[derive(Debug, Parser)]
#[command(
    name = "tracer",
    version,
    about = "Low-overhead eBPF tracer for thread and process creation: clone, clone3, mmap, mprotect, wait4 (or any syscall), forks, execs, exits and SIGCHLD, as JSON lines or strace-shaped text",
    after_help = AFTER_HELP
)]
pub struct Cli {
    /// Comma-separated syscall names to trace (x86-64 names, as in strace),
    /// strace classes %process, %memory, %signal, or all.
    #[arg(long, value_name = "LIST", default_value = DEFAULT_SYSCALLS, env = "TRACER_SYSCALLS")]
    pub syscalls: String,

    /// Ring buffer size in bytes; a power of two, at least one page (suffixes K, M, G accepted).
    #[arg(long, value_name = "BYTES", default_value = "8M", value_parser = parse_ringbuf_size, env = "TRACER_RINGBUF_SIZE")]
    pub ringbuf_size: u32,

    /// Only tasks whose current comm (name, at most 15 bytes) is NAME. Repeatable.
    #[arg(long = "comm", value_name = "NAME", value_parser = clap::value_parser!(OsString))]
    pub comms: Vec<OsString>,

    /// Only tasks in this cgroup v2 directory or any cgroup below it, now or
    /// later; absolute, or relative to the cgroup2 mount. Repeatable.
    #[arg(long = "cgroup", value_name = "PATH", value_parser = clap::value_parser!(PathBuf))]
    pub cgroups: Vec<PathBuf>,

    /// Only tasks in containers whose id starts with ID (docker's short ids
    /// do), now or started later. Repeatable; ORed with --cgroup and --unit.
    #[arg(long = "container", value_name = "ID", value_parser = parse_container_id)]
    pub containers: Vec<String>,

    /// Only tasks in the systemd unit NAME (`nginx.service`, `run-u7.scope`),
    /// now or started later. Repeatable; ORed with --cgroup and --container.
    #[arg(long = "unit", value_name = "NAME", value_parser = parse_unit)]
    pub units: Vec<String>,

    /// Only this process (all its threads) and every process and thread it
    /// creates from now on. Repeatable.
    #[arg(long = "pid", value_name = "PID", value_parser = parse_pid)]
    pub pids: Vec<u32>,

    /// Start CMD with ARGS under trace and follow it and its descendants;
    /// stop when it exits, with its exit status.
    #[arg(last = true, value_name = "CMD [ARGS]", value_parser = clap::value_parser!(OsString))]
    pub command: Vec<OsString>,

    // ---- output shape and lifecycle events (issue 4) ----
    /// Output format: `json` (one object per line, docs/schema.json) or
    /// `text` (strace's line shape, for people).
    #[arg(long, value_name = "FORMAT", default_value = "json", value_parser = parse_format, env = "TRACER_FORMAT")]
    pub format: crate::pipeline::output::Format,

    /// Do not join raw events into thread_create / reaped / unreaped records.
    #[arg(long, env = "TRACER_NO_CORRELATE")]
    pub no_correlate: bool,

    /// Do not attach the fork/exec/exit/signal hooks (no lifecycle events,
    /// and no cost on the machine's forks, exits and signals).
    #[arg(long, env = "TRACER_NO_LIFECYCLE")]
    pub no_lifecycle: bool,

    // ---- identity (issue 17) ----
    /// The name every record's `host` carries (default: the kernel's
    /// hostname); e.g. the node name in a DaemonSet.
    #[arg(long, value_name = "NAME", env = "TRACER_HOST_NAME")]
    pub host_name: Option<String>,

    /// Which optional identity fields records carry: `all`, `none`, the
    /// ones to keep (`host,exec_id`) or the ones to leave out
    /// (`-ancestors,-boot_id`). Fields: host, boot_id, exec_id,
    /// parent_exec_id, ancestors, cgroup, container_id, pod_uid, unit.
    #[arg(long, value_name = "LIST", default_value = "all", value_parser = crate::model::identity::parse_fields, env = "TRACER_FIELDS", allow_hyphen_values = true)]
    pub fields: crate::model::identity::Fields,

    /// Name the nearest N ancestors of each record's process in
    /// `ancestors` (pid, exec_id, comm), from tracer's process table.
    #[arg(long, value_name = "N", default_value_t = 0, value_parser = clap::value_parser!(u16).range(0..=64), env = "TRACER_ANCESTORS")]
    pub ancestors: u16,

    /// Hooks for the syscalls: `raw` (raw_syscalls:sys_enter/sys_exit, every
    /// syscall of the machine runs tracer's programs), `syscall` (each traced
    /// syscall's own syscalls:sys_enter_<name>/sys_exit_<name> events: untraced
    /// calls run none), `auto` (syscall for sets of up to 8 syscalls, raw otherwise).
    #[arg(long, value_name = "MODE", default_value = "auto", value_parser = crate::kernel::attach::parse_attach, env = "TRACER_ATTACH")]
    pub attach: crate::kernel::attach::AttachMode,

    // Sinks, loss accounting, daemon operation: see `DaemonArgs` below.
    #[command(flatten)]
    pub daemon: DaemonArgs,
    #[command(subcommand)]
    pub subcommand: Option<Command>,
}

const AFTER_HELP: &str = "\
Events go to stdout as one JSON object per line; tracer's own messages go to stderr.
Once the programs are attached, tracer prints a line starting with `tracer: attached` on stderr.
SIGINT/SIGTERM: stop, drain what the kernel has queued, print counters to stderr, exit 0
(with `-- CMD`, see below).

Filters run in the kernel, before anything is copied out: a call they reject costs a few
map lookups and is only counted (`filtered out in the kernel` in the summary on stderr).
Different kinds (--comm, --cgroup, --pid) combine with AND; repeats of one kind with OR.
A command after `--` counts as one more --pid.

With `-- CMD`, CMD is held before its execve until the programs are attached, so its
dynamic loader is traced too. Its stdout goes to tracer's stderr (tracer's stdout carries
only events); SIGINT/SIGTERM are passed on to it, and tracer stops once it has exited,
with its exit status (128+N if it was killed by signal N; 127 if it cannot be found).

Examples:
  tracer                                trace the five default syscalls machine-wide
  tracer --syscalls clone,clone3        only thread/process creation
  tracer --ringbuf-size 32M             a larger ring buffer for bursty machines
  tracer --comm nginx --comm php-fpm    tasks named nginx OR php-fpm
  tracer --cgroup system.slice/docker-0123abcd.scope
                                        one container, and cgroups created below it later
  tracer --cgroup /sys/fs/cgroup/unified/user.slice --comm bash
                                        tasks named bash AND in user.slice
  tracer --pid 4321                     process 4321, its threads, and what it starts from now on
  tracer -- ./threads                   like `strace -f ./threads`, as JSON lines
  tracer --syscalls all --format text -- ./threads
                                        like `strace -f ./threads`, as strace prints it
  tracer --syscalls %process,%signal    strace's classes (also %memory)

Besides syscalls, tracer reports fork, exec and exit of every task and SIGCHLD generated
and delivered (--no-lifecycle: not), and joins raw events into thread_create (clone3 +
stack mmap + guard mprotect), reaped (fork -> exit -> SIGCHLD -> wait4) and unreaped
records (--no-correlate: not).";

/// Checks the filter options: comm lengths, and how many of each the kernel
/// side has room for. Duplicates are dropped.
pub fn filter_args(cli: &Cli) -> Result<FilterArgs, String> {
    let mut f = FilterArgs::default();
    for c in &cli.comms {
        let c = parse_comm(c)?;
        if !f.comms.contains(&c) {
            f.comms.push(c);
        }
    }
    for p in &cli.cgroups {
        if !f.cgroups.contains(p) {
            f.cgroups.push(p.clone());
        }
    }
    for &p in &cli.pids {
        if !f.pids.contains(&p) {
            f.pids.push(p);
        }
    }
    if f.comms.len() > MAX_COMMS as usize {
        return Err(format!("--comm given {} times; at most {MAX_COMMS} names", f.comms.len()));
    }
    if f.cgroups.len() > MAX_CGROUPS as usize {
        return Err(format!("--cgroup given {} times; at most {MAX_CGROUPS} paths", f.cgroups.len()));
    }
    Ok(f)
}

/// A `--comm` NAME as the kernel stores it. The bytes are taken as given
/// (a comm may hold any byte but NUL); they are echoed escaped in errors.
pub fn parse_comm(name: &OsStr) -> Result<[u8; COMM_LEN], String> {
    let b = name.as_bytes();
    if b.is_empty() {
        return Err("--comm needs a non-empty name".into());
    }
    if b.len() > COMM_LEN - 1 {
        return Err(format!(
            "--comm '{}' is {} bytes long; the kernel keeps only the first {} bytes of a task's name, so it would never match",
            b.escape_ascii(),
            b.len(),
            COMM_LEN - 1
        ));
    }
    let mut comm = [0u8; COMM_LEN];
    comm[..b.len()].copy_from_slice(b);
    Ok(comm)
}

/// `--container ID`: 1 to 64 hex digits (a prefix of the full id).
pub fn parse_container_id(s: &str) -> Result<String, String> {
    let id = s.to_ascii_lowercase();
    if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("{s:?} is not a container id (1 to 64 hex digits, a prefix of the full id)"));
    }
    Ok(id)
}

/// `--unit NAME`: a systemd unit name (no `/`).
pub fn parse_unit(s: &str) -> Result<String, String> {
    if !(s.ends_with(".service") || s.ends_with(".scope")) || s.contains('/') || s.len() <= ".scope".len() {
        return Err(format!("{s:?} is not a systemd service or scope name (e.g. nginx.service)"));
    }
    Ok(s.to_string())
}

pub fn parse_pid(s: &str) -> Result<u32, String> {
    match s.trim().parse::<u32>() {
        Ok(p) if p > 0 && p <= i32::MAX as u32 => Ok(p),
        _ => Err(format!("'{}' is not a process id", s.escape_default())),
    }
}

pub fn parse_format(s: &str) -> Result<crate::pipeline::output::Format, String> {
    match s {
        "json" => Ok(crate::pipeline::output::Format::Json),
        "text" => Ok(crate::pipeline::output::Format::Text),
        _ => Err(format!("unknown format '{}' (json or text)", s.escape_default())),
    }
}

/// Parses `--syscalls`: names → numbers, rejecting unknown names. `all`
/// is every syscall number; `%process`, `%memory`, `%signal` are strace's
/// classes (`syscall_groups`).
pub fn parse_syscalls(list: &str) -> Result<Vec<u32>, String> {
    let mut out = Vec::new();
    let mut add = |nr: u32| {
        if !out.contains(&nr) {
            out.push(nr);
        }
    };
    for name in list.split(',').map(str::trim) {
        if name.is_empty() {
            continue;
        }
        if name == "all" {
            (0..tracer_common::SYSCALL_BITMAP_BITS as u32).for_each(&mut add);
            continue;
        }
        if name.starts_with('%') {
            let members = crate::model::syscalls::groups::group(name).ok_or_else(|| {
                format!("unknown syscall class '{}' (%process, %memory or %signal)", name.escape_default())
            })?;
            for m in members {
                add(crate::model::syscalls::table::number(m).expect("syscall_groups names only known syscalls"));
            }
            continue;
        }
        let nr = crate::model::syscalls::table::number(name).ok_or_else(|| {
            format!("unknown syscall '{}' (x86-64 syscall names, e.g. {DEFAULT_SYSCALLS}, a class such as %process, or all)", name.escape_default())
        })?;
        add(nr);
    }
    if out.is_empty() {
        return Err("--syscalls names no syscall".into());
    }
    Ok(out)
}

pub fn parse_ringbuf_size(s: &str) -> Result<u32, String> {
    let t = s.trim();
    let (num, mult) = match t.as_bytes().last() {
        Some(b'K' | b'k') => (&t[..t.len() - 1], 1u64 << 10),
        Some(b'M' | b'm') => (&t[..t.len() - 1], 1 << 20),
        Some(b'G' | b'g') => (&t[..t.len() - 1], 1 << 30),
        _ => (t, 1),
    };
    let n: u64 = num.parse().map_err(|_| format!("'{s}' is not a size in bytes"))?;
    let bytes = n.checked_mul(mult).ok_or_else(|| format!("'{s}' is too large"))?;
    let page = 4096;
    if bytes < page || !bytes.is_power_of_two() || bytes > 1 << 30 {
        return Err(format!("ring buffer size must be a power of two between 4K and 1G, got {bytes}"));
    }
    Ok(bytes as u32)
}

// ---------------------------------------------------------------------------
// Sinks, loss accounting, daemon operation (`tracer --help`: "Output and
// operation"). Every flag also comes from `TRACER_…` or `--config FILE`;
// see `config`.

/// Per-sink queue bound when `--queue-size` is not given: at ~400 bytes a
/// line, ~20,000 lines — a few seconds of a busy machine for a sink that
/// stalls, in memory only touched when it does.
pub const DEFAULT_QUEUE_SIZE: &str = "8M";
/// Rotated files kept when `--rotate-keep` is not given.
pub const DEFAULT_ROTATE_KEEP: u32 = 5;

#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Output and operation")]
pub struct DaemonArgs {
    /// Append JSON lines to FILE (created mode 0600; a symlink is refused); `-` is stdout. Repeatable.
    #[arg(long, value_name = "FILE", env = "TRACER_OUTPUT")]
    pub output: Vec<std::path::PathBuf>,

    /// One file per process, DIR/<pid>.jsonl (threads go to their process's file); tracer's own records go to DIR/tracer.jsonl.
    #[arg(long, value_name = "DIR", env = "TRACER_OUTPUT_DIR")]
    pub output_dir: Option<std::path::PathBuf>,

    /// Rotate --output files before they grow past BYTES (suffixes K, M, G): FILE → FILE.1 → … → FILE.N.
    #[arg(long, value_name = "BYTES", value_parser = parse_bytes, env = "TRACER_ROTATE_SIZE")]
    pub rotate_size: Option<u64>,

    /// Rotated files to keep (FILE.1 … FILE.N); 0 keeps none.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_ROTATE_KEEP, env = "TRACER_ROTATE_KEEP")]
    pub rotate_keep: u32,

    /// JSON lines over a stream socket: unix:PATH, tcp:HOST:PORT or tls:HOST:PORT (TLS, see --tls-ca); reconnects with backoff. Repeatable.
    #[arg(long, value_name = "ADDR", value_parser = parse_socket, env = "TRACER_SOCKET")]
    pub socket: Vec<Endpoint>,

    /// RFC 5424 syslog to unix:PATH, tcp:HOST:PORT, tls:HOST:PORT (RFC 5425) or udp:HOST:PORT (default /dev/log).
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = "unix:/dev/log", value_parser = parse_syslog, env = "TRACER_SYSLOG")]
    pub syslog: Option<Endpoint>,

    #[command(flatten)]
    pub kafka: crate::sink::kafka::KafkaArgs,

    #[command(flatten)]
    pub otlp: crate::sink::otlp::OtlpArgs,

    /// Field names of the JSON lines (stdout, files, sockets, syslog): native, otel (OpenTelemetry names, as --otlp sends) or ecs (Elastic Common Schema).
    #[arg(long, value_name = "SCHEMA", value_enum, default_value_t = crate::sink::schema_map::Schema::Native, env = "TRACER_SCHEMA")]
    pub schema: crate::sink::schema_map::Schema,

    #[command(flatten)]
    pub tls: crate::sink::tls::TlsArgs,

    /// Bound of each sink's queue in bytes; what overflows it is dropped, counted and reported.
    #[arg(long, value_name = "BYTES", default_value = DEFAULT_QUEUE_SIZE, value_parser = parse_queue_size, env = "TRACER_QUEUE_SIZE")]
    pub queue_size: u64,

    /// Emit a `stats` record this often (e.g. 10s, 500ms, 1m), and a last one at exit.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, env = "TRACER_STATS_INTERVAL")]
    pub stats_interval: Option<std::time::Duration>,

    /// Serve Prometheus metrics at http://ADDR/metrics (e.g. 127.0.0.1:9464).
    #[arg(long, value_name = "IP:PORT", env = "TRACER_METRICS")]
    pub metrics: Option<std::net::SocketAddr>,

    /// Once attached, with every output open, become USER (a name or uid) and give up every capability.
    #[arg(long, value_name = "USER", env = "TRACER_DROP_PRIVILEGES")]
    pub drop_privileges: Option<String>,

    /// Read settings from a TOML file (keys are flag names: rotate-size = "100M"); flags and TRACER_… variables win.
    #[arg(long, value_name = "FILE", env = "TRACER_CONFIG")]
    pub config: Option<std::path::PathBuf>,
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Print a completion script for SHELL to stdout (e.g. `tracer completions bash > /etc/bash_completion.d/tracer`).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) to stdout: `tracer man > tracer.1`.
    Man,
}

/// Runs `tracer completions SHELL` / `tracer man`, writing to `out`.
pub fn run_command(cmd: &Command, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    use clap::CommandFactory as _;
    let mut c = Cli::command();
    match cmd {
        Command::Completions { shell } => {
            clap_complete::generate(*shell, &mut c, "tracer", out);
            Ok(())
        }
        Command::Man => {
            let man = clap_mangen::Man::new(c.clone());
            man.render_title(out)?;
            man.render_name_section(out)?;
            man.render_synopsis_section(out)?;
            man.render_description_section(out)?;
            man.render_options_section(out)?;
            man.render_subcommands_section(out)?;
            render_environment_section(&c, out)?;
            man.render_extra_section(out)?;
            man.render_version_section(out)
        }
    }
}

/// ENVIRONMENT: each flag's `TRACER_…` variable, from the clap definition.
fn render_environment_section(c: &clap::Command, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    writeln!(out, ".SH ENVIRONMENT")?;
    for a in c.get_arguments() {
        let (Some(env), Some(long)) = (a.get_env(), a.get_long()) else { continue };
        writeln!(out, ".TP\n\\fB{}\\fR", env.to_string_lossy().replace('-', "\\-"))?;
        writeln!(out, "As \\fB\\-\\-{}\\fR. Flags win over the environment, which wins over \\fB\\-\\-config\\fR.", long.replace('-', "\\-"))?;
    }
    writeln!(out, ".TP\n\\fBRUST_LOG\\fR\nLevel of tracer\\*(Aqs own messages on stderr (default warn).")
}

impl DaemonArgs {
    /// How file sinks rotate.
    pub fn file_options(&self) -> crate::sink::FileOptions {
        crate::sink::FileOptions { rotate_size: self.rotate_size, rotate_keep: self.rotate_keep }
    }

    /// The sinks named, in a fixed order; stdout when none is.
    pub fn sinks(&self) -> Vec<SinkSpec> {
        let mut v: Vec<SinkSpec> = self
            .output
            .iter()
            .map(|p| if p.as_os_str() == "-" { SinkSpec::Stdout } else { SinkSpec::File(p.clone()) })
            .collect();
        v.extend(self.output_dir.iter().map(|d| SinkSpec::Dir(d.clone())));
        let tls = |e: &Endpoint| match e {
            Endpoint::Tls(a, _) => Endpoint::Tls(a.clone(), self.tls.clone()),
            e => e.clone(),
        };
        v.extend(self.socket.iter().map(|e| SinkSpec::Socket(tls(e))));
        v.extend(self.syslog.iter().map(|e| SinkSpec::Syslog(tls(e))));
        v.extend(crate::sink::kafka::KafkaSpec::from_args(&self.kafka, &self.tls).map(|k| SinkSpec::Kafka(Box::new(k))));
        v.extend(crate::sink::otlp::OtlpSpec::from_args(&self.otlp, &self.tls).map(|o| SinkSpec::Otlp(Box::new(o))));
        if v.is_empty() {
            v.push(SinkSpec::Stdout);
        }
        // The same destination twice would be two writers (and two
        // rotations) on one file.
        let mut seen = Vec::new();
        v.retain(|s| if seen.contains(s) { false } else { seen.push(s.clone()); true });
        v
    }
}

/// `100M`, `64k`, `1G`, `4096`: bytes (binary multiples).
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let t = t.strip_suffix(['B', 'b']).filter(|r| r.ends_with(|c: char| c.is_ascii_alphabetic())).unwrap_or(t);
    let t = t.strip_suffix('i').unwrap_or(t);
    let (num, mult) = match t.as_bytes().last() {
        Some(b'K' | b'k') => (&t[..t.len() - 1], 1u64 << 10),
        Some(b'M' | b'm') => (&t[..t.len() - 1], 1 << 20),
        Some(b'G' | b'g') => (&t[..t.len() - 1], 1 << 30),
        _ => (t, 1),
    };
    let n: u64 = num.trim().parse().map_err(|_| format!("'{s}' is not a size in bytes (e.g. 100M)"))?;
    let bytes = n.checked_mul(mult).ok_or_else(|| format!("'{s}' is too large"))?;
    if bytes == 0 {
        return Err("a size of 0 bytes".into());
    }
    Ok(bytes)
}

fn parse_queue_size(s: &str) -> Result<u64, String> {
    let b = parse_bytes(s)?;
    if !(4096..=1 << 30).contains(&b) {
        return Err(format!("queue size must be between 4K and 1G, got {b}"));
    }
    Ok(b)
}

/// `10s`, `500ms`, `2m`, `1h`; a bare number is seconds.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().map_err(|_| format!("'{s}' is not a duration (e.g. 10s, 500ms)"))?;
    let secs = match unit.trim() {
        "" | "s" | "sec" => n,
        "ms" => n / 1000.0,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        u => return Err(format!("'{s}': unknown unit '{u}' (ms, s, m, h)")),
    };
    let d = std::time::Duration::try_from_secs_f64(secs).map_err(|_| format!("'{s}' is out of range"))?;
    if d < std::time::Duration::from_millis(10) {
        return Err(format!("'{s}' is too short (at least 10ms)"));
    }
    Ok(d)
}

fn parse_socket(s: &str) -> Result<Endpoint, String> {
    Endpoint::parse(s, false)
}

fn parse_syslog(s: &str) -> Result<Endpoint, String> {
    Endpoint::parse(s, true)
}

#[cfg(test)]
mod daemon_args_tests {
    use super::*;

    #[test]
    fn sizes_and_durations() {
        assert_eq!(parse_bytes("100M"), Ok(100 << 20));
        assert_eq!(parse_bytes("64KiB"), Ok(64 << 10));
        assert_eq!(parse_bytes("1g"), Ok(1 << 30));
        assert_eq!(parse_bytes("777"), Ok(777));
        assert!(parse_bytes("0").is_err());
        assert!(parse_bytes("ten").is_err());
        assert!(parse_queue_size("1K").is_err());
        assert_eq!(parse_duration("10s"), Ok(std::time::Duration::from_secs(10)));
        assert_eq!(parse_duration("500ms"), Ok(std::time::Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(std::time::Duration::from_secs(120)));
        assert_eq!(parse_duration("1.5"), Ok(std::time::Duration::from_millis(1500)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("5 fortnights").unwrap_err().contains("unknown unit"));
    }

    #[test]
    fn sinks_default_to_stdout_and_keep_their_order() {
        let c = Cli::try_parse_from(["tracer", "--stats-interval", "1s"]).unwrap();
        assert_eq!(c.daemon.sinks(), vec![SinkSpec::Stdout]);
        let c = Cli::try_parse_from([
            "tracer", "--output", "/var/log/a", "--output", "-", "--output-dir", "/d", "--socket", "tcp:h:1", "--syslog",
        ])
        .unwrap();
        assert_eq!(
            c.daemon.sinks(),
            vec![
                SinkSpec::File("/var/log/a".into()),
                SinkSpec::Stdout,
                SinkSpec::Dir("/d".into()),
                SinkSpec::Socket(Endpoint::Tcp("h:1".into())),
                SinkSpec::Syslog(Endpoint::Unix("/dev/log".into())),
            ]
        );
        let c = Cli::try_parse_from(["tracer", "--output", "/a", "--output", "-", "--output", "/a"]).unwrap();
        assert_eq!(c.daemon.sinks(), vec![SinkSpec::File("/a".into()), SinkSpec::Stdout], "one writer per destination");
        let c = Cli::try_parse_from(["tracer", "--syslog", "udp:10.0.0.1:514"]).unwrap();
        assert_eq!(c.daemon.syslog, Some(Endpoint::Udp("10.0.0.1:514".into())));
        assert!(Cli::try_parse_from(["tracer", "--socket", "udp:h:1"]).is_err());
        assert!(Cli::try_parse_from(["tracer", "--metrics", "localhost"]).is_err());
    }

    #[test]
    fn subcommands() {
        let c = Cli::try_parse_from(["tracer", "completions", "bash"]).unwrap();
        assert!(matches!(c.subcommand, Some(Command::Completions { shell: clap_complete::Shell::Bash })));
        assert!(matches!(Cli::try_parse_from(["tracer", "man"]).unwrap().subcommand, Some(Command::Man)));
        assert!(Cli::try_parse_from(["tracer", "completions", "cmd.exe"]).is_err());
    }

    #[test]
    fn man_page_and_completions_come_from_the_clap_definition() {
        let mut man = Vec::new();
        run_command(&Command::Man, &mut man).unwrap();
        let man = String::from_utf8(man).unwrap();
        assert!(man.starts_with(".ie"), "roff: {}", &man[..40]);
        for flag in ["rotate\\-size", "stats\\-interval", "syscalls", "TRACER_QUEUE_SIZE"] {
            assert!(man.contains(flag), "man page lacks {flag}");
        }
        let mut bash = Vec::new();
        run_command(&Command::Completions { shell: clap_complete::Shell::Bash }, &mut bash).unwrap();
        let bash = String::from_utf8(bash).unwrap();
        assert!(bash.contains("--output-dir") && bash.contains("complete -F"), "{}", &bash[..200]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syscall_names_resolve_and_unknown_ones_are_errors() {
        assert_eq!(parse_syscalls(DEFAULT_SYSCALLS).unwrap(), vec![56, 435, 9, 10, 61]);
        assert_eq!(parse_syscalls("mmap, mmap").unwrap(), vec![9]);
        let e = parse_syscalls("mmap,frobnicate").unwrap_err();
        assert!(e.contains("unknown syscall 'frobnicate'"), "{e}");
        assert!(parse_syscalls("\x1b[31m").unwrap_err().contains("\\u{1b}"));
        assert!(parse_syscalls(",").is_err());
    }

    #[test]
    fn all_and_strace_classes() {
        let all = parse_syscalls("all").unwrap();
        assert_eq!(all.len(), tracer_common::SYSCALL_BITMAP_BITS);
        let mem = parse_syscalls("%memory").unwrap();
        assert!(mem.contains(&9) && mem.contains(&12) && !mem.contains(&56));
        // A class and names mix; duplicates collapse.
        let mix = parse_syscalls("%process,mmap,clone").unwrap();
        assert_eq!(mix.iter().filter(|&&n| n == 56).count(), 1);
        assert!(mix.contains(&9) && mix.contains(&231) && mix.contains(&61));
        assert!(parse_syscalls("%files").unwrap_err().contains("unknown syscall class '%files'"));
        assert_eq!(parse_format("text"), Ok(crate::pipeline::output::Format::Text));
        assert!(parse_format("yaml").is_err());
        let c = Cli::try_parse_from(["tracer", "--format", "text", "--no-correlate"]).unwrap();
        assert_eq!((c.format, c.no_correlate, c.no_lifecycle), (crate::pipeline::output::Format::Text, true, false));
    }

    #[test]
    fn ringbuf_sizes() {
        assert_eq!(parse_ringbuf_size("8M"), Ok(8 << 20));
        assert_eq!(parse_ringbuf_size("4096"), Ok(4096));
        assert_eq!(parse_ringbuf_size("64k"), Ok(64 << 10));
        assert!(parse_ringbuf_size("3M").is_err());
        assert!(parse_ringbuf_size("2048").is_err());
        assert!(parse_ringbuf_size("2G").is_err());
        assert!(parse_ringbuf_size("lots").is_err());
        assert!(parse_ringbuf_size("99999999999999999999G").is_err());
    }

    #[test]
    fn defaults() {
        let c = Cli::try_parse_from(["tracer"]).unwrap();
        assert_eq!(c.ringbuf_size, DEFAULT_RINGBUF_SIZE);
        assert_eq!(c.syscalls, DEFAULT_SYSCALLS);
        assert_eq!(filter_args(&c).unwrap(), FilterArgs::default());
        assert!(c.command.is_empty());
    }

    fn padded(s: &[u8]) -> [u8; COMM_LEN] {
        let mut c = [0; COMM_LEN];
        c[..s.len()].copy_from_slice(s);
        c
    }

    #[test]
    fn filters_repeat_and_drop_duplicates() {
        let c = Cli::try_parse_from([
            "tracer", "--comm", "nginx", "--pid", "12", "--comm", "php-fpm", "--cgroup", "a/b", "--pid", "7",
            "--comm", "nginx", "--cgroup", "/sys/fs/cgroup/x", "--pid", "12",
        ])
        .unwrap();
        let f = filter_args(&c).unwrap();
        assert_eq!(f.comms, vec![padded(b"nginx"), padded(b"php-fpm")]);
        assert_eq!(f.cgroups, vec![PathBuf::from("a/b"), PathBuf::from("/sys/fs/cgroup/x")]);
        assert_eq!(f.pids, vec![12, 7]);
    }

    #[test]
    fn comm_of_15_bytes_is_kept_and_16_is_an_error_that_says_why() {
        assert_eq!(parse_comm(OsStr::new("abcdefghijklmno")), Ok(*b"abcdefghijklmno\0"));
        let e = parse_comm(OsStr::new("abcdefghijklmnop")).unwrap_err();
        assert_eq!(
            e,
            "--comm 'abcdefghijklmnop' is 16 bytes long; the kernel keeps only the first 15 bytes of a task's name, so it would never match"
        );
        // Length is in bytes, not characters: 8 × 'é' is 16 bytes.
        assert!(parse_comm(OsStr::new("éééééééé")).unwrap_err().contains("is 16 bytes long"));
        assert!(parse_comm(OsStr::new("")).is_err());
    }

    #[test]
    fn comm_bytes_are_taken_as_given_and_echoed_escaped() {
        // Control bytes and invalid UTF-8 are legal in a comm.
        let raw = OsStr::from_bytes(b"\x1b[31m\xff\tx");
        assert_eq!(parse_comm(raw), Ok(padded(b"\x1b[31m\xff\tx")));
        let long = OsStr::from_bytes(b"\x1b[31mred\xff\n0123456789");
        let e = parse_comm(long).unwrap_err();
        assert!(e.starts_with("--comm '\\x1b[31mred\\xff\\n0123456789' is 20 bytes long"), "{e}");
        assert!(!e.contains('\x1b') && !e.contains('\n'), "error is one printable line: {e:?}");
        // Non-UTF-8 reaches us through clap intact.
        let c = Cli::try_parse_from([OsStr::new("tracer"), OsStr::new("--comm"), raw]).unwrap();
        assert_eq!(filter_args(&c).unwrap().comms, vec![padded(b"\x1b[31m\xff\tx")]);
    }

    #[test]
    fn pids_must_be_positive_pid_t_values() {
        assert_eq!(parse_pid("4321"), Ok(4321));
        assert!(parse_pid("0").is_err());
        assert!(parse_pid("-1").is_err());
        assert!(parse_pid("2147483648").is_err());
        assert_eq!(parse_pid("12ab"), Err("'12ab' is not a process id".into()));
        assert!(Cli::try_parse_from(["tracer", "--pid", "x"]).is_err());
    }

    #[test]
    fn too_many_cgroups_is_an_error() {
        let mut args = vec!["tracer".to_string()];
        for i in 0..=MAX_CGROUPS {
            args.push("--cgroup".into());
            args.push(format!("g{i}"));
        }
        let e = filter_args(&Cli::try_parse_from(&args).unwrap()).unwrap_err();
        assert_eq!(e, "--cgroup given 65 times; at most 64 paths");
    }

    #[test]
    fn command_follows_double_dash_with_its_own_options() {
        let c = Cli::try_parse_from(["tracer", "--comm", "x", "--", "ls", "-l", "--pid", "3"]).unwrap();
        assert_eq!(c.command, vec!["ls", "-l", "--pid", "3"]);
        assert!(c.pids.is_empty(), "options after -- belong to the command");
        // Without `--` a bare word is not taken as a command.
        assert!(Cli::try_parse_from(["tracer", "ls"]).is_err());
    }
}
