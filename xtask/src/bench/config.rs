//! The configurations a workload is timed under, besides bare: tracer three
//! ways, the peers a user would pick instead (strace, perf trace,
//! bpftrace), and the floor. Each is either a wrapper around the workload
//! (strace) or a system-wide tool attached for a set of runs.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use anyhow::{Context as _, Result};

use super::process::{Daemon, Ready};

/// The five syscalls tracer traces by default, as every peer is told.
pub const SYSCALLS: &str = "clone,clone3,mmap,mprotect,wait4";

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, clap::ValueEnum)]
pub enum Config {
    /// tracer, machine-wide, JSON to /dev/null (`--attach auto`, the default).
    Tracer,
    /// The same with `--attach raw`: the programs on raw_syscalls.
    TracerAttachRaw,
    /// The same with `--attach syscall`: the programs on the five
    /// syscalls' own events.
    TracerAttachSyscall,
    /// tracer, machine-wide, JSON to a file on the same disk.
    TracerFile,
    /// tracer with a `--cgroup` filter that excludes the workload.
    TracerCgroup,
    /// `strace -f`.
    Strace,
    /// `strace -f --seccomp-bpf`.
    StraceSeccomp,
    /// `perf trace -a`.
    PerfTrace,
    /// bpftrace on raw_syscalls, pairing the five calls, a line per call.
    Bpftrace,
    /// Two empty programs on sys_enter/sys_exit.
    Floor,
    /// Two empty programs on the five syscalls' own sys_enter_*/sys_exit_*
    /// events: what `--attach syscall` cannot go below.
    FloorSyscall,
    /// tracer forced onto plain raw tracepoints (TRACER_RAW_TRACEPOINTS=1),
    /// to measure what the BTF-typed ones save. Only when asked for.
    TracerRaw,
}

impl Config {
    /// The default set, in table order: tracer first, then the peers, the
    /// floor last.
    pub const ALL: [Config; 11] = [
        Config::Tracer,
        Config::TracerAttachRaw,
        Config::TracerAttachSyscall,
        Config::TracerFile,
        Config::TracerCgroup,
        Config::Strace,
        Config::StraceSeccomp,
        Config::PerfTrace,
        Config::Bpftrace,
        Config::Floor,
        Config::FloorSyscall,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Config::Tracer => "tracer",
            Config::TracerAttachRaw => "tracer-attach-raw",
            Config::TracerAttachSyscall => "tracer-attach-syscall",
            Config::TracerFile => "tracer-file",
            Config::TracerCgroup => "tracer-cgroup",
            Config::Strace => "strace",
            Config::StraceSeccomp => "strace-seccomp",
            Config::PerfTrace => "perf-trace",
            Config::Bpftrace => "bpftrace",
            Config::Floor => "floor",
            Config::FloorSyscall => "floor-syscall",
            Config::TracerRaw => "tracer-raw",
        }
    }

    /// Column header.
    pub fn title(self) -> &'static str {
        match self {
            Config::Tracer => "tracer → /dev/null (auto)",
            Config::TracerAttachRaw => "tracer --attach raw",
            Config::TracerAttachSyscall => "tracer --attach syscall",
            Config::TracerFile => "tracer → file",
            Config::TracerCgroup => "tracer, cgroup filtered out",
            Config::Strace => "strace -f",
            Config::StraceSeccomp => "strace --seccomp-bpf",
            Config::PerfTrace => "perf trace",
            Config::Bpftrace => "bpftrace",
            Config::Floor => "floor",
            Config::FloorSyscall => "per-syscall floor",
            Config::TracerRaw => "tracer, raw tracepoints",
        }
    }

    pub fn is_tracer(self) -> bool {
        matches!(
            self,
            Config::Tracer
                | Config::TracerAttachRaw
                | Config::TracerAttachSyscall
                | Config::TracerFile
                | Config::TracerCgroup
                | Config::TracerRaw
        )
    }

    /// strace runs the workload as its child; everything else is attached
    /// machine-wide before the workload starts.
    pub fn wraps_workload(self) -> bool {
        matches!(self, Config::Strace | Config::StraceSeccomp)
    }
}

/// Paths and settings the configurations need.
pub struct Setup {
    pub tracer: PathBuf,
    pub floor: PathBuf,
    pub bpftrace_script: PathBuf,
    /// Where tracer → file writes (deleted after each run).
    pub events_file: PathBuf,
    /// An empty cgroup v2 directory for `--cgroup`, if tracer has the flag.
    pub excluded_cgroup: Option<PathBuf>,
}

impl Setup {
    /// The command line a config runs, as shown in the report (`WORKLOAD`
    /// stands for the workload where strace wraps it).
    pub fn shown(&self, c: Config) -> String {
        let (program, args) = self.argv(c);
        let mut parts = vec![program.file_name().map_or_else(
            || program.display().to_string(),
            |f| f.to_string_lossy().into_owned(),
        )];
        parts.extend(args.iter().map(crate::cmd::quote));
        let mut s = parts.join(" ");
        match c {
            Config::Strace | Config::StraceSeccomp => s.push_str(" WORKLOAD"),
            Config::TracerRaw => s = format!("TRACER_RAW_TRACEPOINTS=1 {s} >/dev/null"),
            Config::Tracer
            | Config::TracerAttachRaw
            | Config::TracerAttachSyscall
            | Config::TracerCgroup
            | Config::Floor
            | Config::FloorSyscall => s.push_str(" >/dev/null"),
            Config::TracerFile => s.push_str(" >FILE"),
            Config::PerfTrace | Config::Bpftrace => {}
        }
        s
    }

    fn argv(&self, c: Config) -> (PathBuf, Vec<String>) {
        let owned = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        match c {
            Config::Tracer | Config::TracerFile => (self.tracer.clone(), Vec::new()),
            Config::TracerRaw | Config::TracerAttachRaw => (self.tracer.clone(), owned(&["--attach", "raw"])),
            Config::TracerAttachSyscall => (self.tracer.clone(), owned(&["--attach", "syscall"])),
            Config::TracerCgroup => {
                let cg = self.excluded_cgroup.as_ref().map(|p| p.display().to_string());
                (self.tracer.clone(), vec!["--cgroup".into(), cg.unwrap_or_default()])
            }
            Config::Strace => (
                "strace".into(),
                owned(&["-f", "-e", &format!("trace={SYSCALLS}"), "-o", "/dev/null"]),
            ),
            Config::StraceSeccomp => (
                "strace".into(),
                owned(&["-f", "--seccomp-bpf", "-e", &format!("trace={SYSCALLS}"), "-o", "/dev/null"]),
            ),
            Config::PerfTrace => {
                ("perf".into(), owned(&["trace", "-a", "-e", SYSCALLS, "-o", "/dev/null"]))
            }
            Config::Bpftrace => (
                "bpftrace".into(),
                vec!["-o".into(), "/dev/null".into(), self.bpftrace_script.display().to_string()],
            ),
            Config::Floor => (self.floor.clone(), Vec::new()),
            // tracefs's names of the five syscalls' events (all their own).
            Config::FloorSyscall => (self.floor.clone(), owned(&["--per-syscall", SYSCALLS])),
        }
    }

    /// For a wrapping config: the command that runs `workload` under it.
    pub fn wrap(&self, c: Config, workload: &Command) -> Command {
        debug_assert!(c.wraps_workload());
        let (program, args) = self.argv(c);
        let mut cmd = Command::new(program);
        cmd.args(args).arg(workload.get_program()).args(workload.get_args());
        cmd
    }

    /// For an attached config: start it and wait until it is attached.
    pub fn attach(&self, c: Config) -> Result<Daemon> {
        debug_assert!(!c.wraps_workload());
        let (program, args) = self.argv(c);
        let mut cmd = Command::new(program);
        cmd.args(args);
        let ready = match c {
            Config::Tracer
            | Config::TracerAttachRaw
            | Config::TracerAttachSyscall
            | Config::TracerFile
            | Config::TracerCgroup => Ready::StderrLine("tracer: attached"),
            Config::TracerRaw => {
                cmd.env("TRACER_RAW_TRACEPOINTS", "1");
                Ready::StderrLine("tracer: attached")
            }
            Config::Floor | Config::FloorSyscall => Ready::StderrLine("tracer-floor: attached"),
            // bpftrace prints this on stderr once every probe is attached.
            Config::Bpftrace => {
                cmd.env("__BPFTRACE_NOTIFY_PROBES_ATTACHED", "1");
                Ready::StderrLine("__BPFTRACE_NOTIFY_PROBES_ATTACHED")
            }
            Config::PerfTrace => Ready::InPoll,
            Config::Strace | Config::StraceSeccomp => unreachable!("strace wraps the workload"),
        };
        match c {
            Config::TracerFile => {
                let f = std::fs::File::create(&self.events_file).with_context(|| {
                    format!("cannot create {}", self.events_file.display())
                })?;
                cmd.stdout(f);
            }
            _ => {
                cmd.stdout(Stdio::null());
            }
        }
        Daemon::start(cmd, ready)
    }
}

/// `tracer: N events written, M lost (ring buffer full), …` → (N, M).
pub fn tracer_counts(stderr: &[String]) -> Option<(u64, u64)> {
    let line = crate::summary::line(stderr)?;
    Some((crate::summary::number(line, "events written")?, crate::summary::number(line, "lost (ring buffer full)")?))
}

/// Lines tracer's sinks dropped (`tracer: sink NAME: N lines dropped
/// (queue full), M not written`), summed over sinks.
pub fn sink_dropped(stderr: &[String]) -> u64 {
    stderr
        .iter()
        .filter_map(|line| {
            let rest = line.strip_prefix("tracer: sink ")?;
            let (_, rest) = rest.split_once(": ")?;
            let (dropped, rest) = rest.split_once(" lines dropped (queue full), ")?;
            let (failed, _) = rest.split_once(" not written")?;
            Some(dropped.parse::<u64>().ok()? + failed.parse::<u64>().ok()?)
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> Setup {
        Setup {
            tracer: "/r/target/release/tracer".into(),
            floor: "/r/target/release/tracer-floor".into(),
            bpftrace_script: "/r/xtask/bench/syscalls.bt".into(),
            events_file: "/r/target/bench/events.jsonl".into(),
            excluded_cgroup: Some("/sys/fs/cgroup/unified/tracer-bench-excluded".into()),
        }
    }

    #[test]
    fn peers_are_told_the_same_five_syscalls() {
        let s = setup();
        assert_eq!(
            s.shown(Config::Strace),
            "strace -f -e trace=clone,clone3,mmap,mprotect,wait4 -o /dev/null WORKLOAD"
        );
        assert_eq!(
            s.shown(Config::StraceSeccomp),
            "strace -f --seccomp-bpf -e trace=clone,clone3,mmap,mprotect,wait4 -o /dev/null WORKLOAD"
        );
        assert_eq!(
            s.shown(Config::PerfTrace),
            "perf trace -a -e clone,clone3,mmap,mprotect,wait4 -o /dev/null"
        );
        assert_eq!(
            s.shown(Config::TracerCgroup),
            "tracer --cgroup /sys/fs/cgroup/unified/tracer-bench-excluded >/dev/null"
        );
        assert_eq!(s.shown(Config::Floor), "tracer-floor >/dev/null");
        assert_eq!(s.shown(Config::TracerRaw), "TRACER_RAW_TRACEPOINTS=1 tracer --attach raw >/dev/null");
        assert!(!Config::ALL.contains(&Config::TracerRaw), "opt-in only");
    }

    #[test]
    fn strace_wraps_the_workload_command() {
        let mut w = Command::new("/b/threads");
        w.arg("100");
        let c = setup().wrap(Config::StraceSeccomp, &w);
        let args: Vec<_> = c.get_args().map(|a| a.to_string_lossy().into_owned()).collect();
        assert_eq!(c.get_program(), "strace");
        assert_eq!(args[args.len() - 2..], ["/b/threads", "100"]);
        assert!(args.contains(&"--seccomp-bpf".to_owned()));
    }

    #[test]
    fn tracer_exit_line() {
        let lines = [
            "tracer: attached to raw_syscalls:sys_enter/sys_exit, tracing …".to_owned(),
            "tracer: 160002 events written, 17 lost (ring buffer full), 1 exits without entry, 0 stash failures, 0 undecodable".to_owned(),
        ];
        assert_eq!(tracer_counts(&lines), Some((160002, 17)));
        assert_eq!(tracer_counts(&lines[..1]), None);
    }

    #[test]
    fn sink_drop_lines() {
        let lines = [
            "tracer: 5 events written, 0 lost (ring buffer full), 0 exits without entry".to_owned(),
            "tracer: sink stdout: 120 lines dropped (queue full), 3 not written".to_owned(),
            "tracer: sink file:/var/log/t.jsonl: 7 lines dropped (queue full), 0 not written".to_owned(),
        ];
        assert_eq!(sink_dropped(&lines), 130);
        assert_eq!(sink_dropped(&lines[..1]), 0);
    }
}
