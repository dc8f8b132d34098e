//! Command-line interface: parsing and validation only (pure, testable).
//! Resolving what the filters name on this machine is `filter`'s job.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt as _;
use std::path::PathBuf;

use clap::Parser;
use tracer_common::{COMM_LEN, MAX_CGROUPS, MAX_COMMS};

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
    pub format: crate::output::Format,

    /// Do not join raw events into thread_create / reaped / unreaped records.
    #[arg(long, env = "TRACER_NO_CORRELATE")]
    pub no_correlate: bool,

    /// Do not attach the fork/exec/exit/signal hooks (no lifecycle events,
    /// and no cost on the machine's forks, exits and signals).
    #[arg(long, env = "TRACER_NO_LIFECYCLE")]
    pub no_lifecycle: bool,
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

/// The filters as given on the command line, checked for what can be checked
/// without looking at the machine.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FilterArgs {
    /// NUL-padded, as the kernel keeps `task_struct::comm`.
    pub comms: Vec<[u8; COMM_LEN]>,
    pub cgroups: Vec<PathBuf>,
    pub pids: Vec<u32>,
}

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

pub fn parse_pid(s: &str) -> Result<u32, String> {
    match s.trim().parse::<u32>() {
        Ok(p) if p > 0 && p <= i32::MAX as u32 => Ok(p),
        _ => Err(format!("'{}' is not a process id", s.escape_default())),
    }
}

pub fn parse_format(s: &str) -> Result<crate::output::Format, String> {
    match s {
        "json" => Ok(crate::output::Format::Json),
        "text" => Ok(crate::output::Format::Text),
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
            let members = crate::syscall_groups::group(name).ok_or_else(|| {
                format!("unknown syscall class '{}' (%process, %memory or %signal)", name.escape_default())
            })?;
            for m in members {
                add(crate::syscall_table::number(m).expect("syscall_groups names only known syscalls"));
            }
            continue;
        }
        let nr = crate::syscall_table::number(name).ok_or_else(|| {
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
        assert_eq!(parse_format("text"), Ok(crate::output::Format::Text));
        assert!(parse_format("yaml").is_err());
        let c = Cli::try_parse_from(["tracer", "--format", "text", "--no-correlate"]).unwrap();
        assert_eq!((c.format, c.no_correlate, c.no_lifecycle), (crate::output::Format::Text, true, false));
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
