//! Command-line interface: parsing and validation only (pure, testable).
//! Resolving what the filters name on this machine is `filter`'s job.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::Parser;
use tracer_common::{MAX_CGROUPS, MAX_COMMS};

use crate::kernel::filter::FilterArgs;

mod daemon;
mod parse;
pub use daemon::{DEFAULT_QUEUE_SIZE, DEFAULT_ROTATE_KEEP, DaemonArgs};
pub use parse::{parse_bytes, parse_comm, parse_container_id, parse_duration, parse_format, parse_pid, parse_ringbuf_size, parse_syscalls, parse_unit};

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

#[cfg(test)]
mod tests;
