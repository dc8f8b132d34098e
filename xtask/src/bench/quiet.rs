//! Keeping other people's work out of the numbers. The machine this runs on
//! may be shared (builds, other tests): a compile job on one of two cores
//! makes any ratio meaningless. So each timed run
//!
//! 1. starts only once the machine is quiet: over a short window, CPU time
//!    from anything but us (and the attached tool) stays under a small
//!    share of one core — or after a bounded wait;
//! 2. is checked afterwards: machine-wide busy time (/proc/stat) minus the
//!    workload's own CPU time (wait4's rusage, which includes strace and
//!    the workload's reaped children) minus the attached tool's
//!    (/proc/PID/stat) is "foreign" time; a run with too much is thrown
//!    away and repeated.
//!
//! Kernel work done for the workload outside its own context (RCU
//! callbacks, kworkers) also counts as foreign, so the limits are loose.

use std::io::Read as _;
use std::os::unix::process::ExitStatusExt as _;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};

use crate::cmd;

/// Foreign CPU allowed while waiting for quiet, as a share of one core.
const QUIET_SHARE: f64 = 0.05;
const QUIET_WINDOW: Duration = Duration::from_millis(200);
/// Foreign CPU allowed during a run: this share of its wall time, or this
/// much, whichever is more (/proc/stat counts in 10 ms ticks).
const RUN_SHARE: f64 = 0.05;
const RUN_SLACK_S: f64 = 0.03;
/// Attempts at a clean run before keeping a noisy one.
const ATTEMPTS: u32 = 4;

/// Set by SIGINT: stop between runs, so the guards (tracefs, cgroup) undo
/// what the bench did.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigint(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::Relaxed);
}

/// From now on, Ctrl-C makes [`interrupted`] fail instead of killing us.
/// (The tools and workloads, in our process group, get it too and exit.)
pub fn catch_sigint() {
    // SAFETY: the handler only stores to an atomic.
    unsafe { libc::signal(libc::SIGINT, on_sigint as extern "C" fn(libc::c_int) as libc::sighandler_t) };
}

/// An error once Ctrl-C was pressed.
pub fn interrupted() -> Result<()> {
    if INTERRUPTED.load(Ordering::Relaxed) {
        bail!("interrupted");
    }
    Ok(())
}

/// Tallies for the report: how much the machine got in the way.
#[derive(Debug, Default, Clone, Copy)]
pub struct Tally {
    pub runs: u32,
    /// Runs thrown away for foreign CPU and repeated.
    pub retried: u32,
    /// Runs kept although still noisy after every attempt.
    pub noisy: u32,
    /// Noisy runs that also started without the machine getting quiet.
    pub gave_up_waiting: u32,
    pub waited: Duration,
}

pub struct Gate {
    pub max_wait: Duration,
    pub tally: Tally,
    ticks_per_s: f64,
}

/// A finished workload run.
pub struct Timed {
    /// What the workload printed: its own loop's nanoseconds.
    pub ns: u64,
    /// Foreign CPU seconds during the run.
    pub foreign_s: f64,
}

impl Gate {
    pub fn new(max_wait: Duration) -> Gate {
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        Gate { max_wait, tally: Tally::default(), ticks_per_s: if hz > 0 { hz as f64 } else { 100.0 } }
    }

    /// Machine-wide busy CPU seconds so far.
    fn busy_s(&self) -> f64 {
        let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        busy_ticks(&stat).unwrap_or(0) as f64 / self.ticks_per_s
    }

    /// CPU seconds `pid` (all its threads) has used.
    fn pid_s(&self, pid: Option<u32>) -> f64 {
        let Some(pid) = pid else { return 0.0 };
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        pid_ticks(&stat).unwrap_or(0) as f64 / self.ticks_per_s
    }

    /// Waits until anything but `tool` uses less than [`QUIET_SHARE`] of a
    /// core over a window and nobody else has programs on the syscall
    /// tracepoints, or until `deadline`. Returns whether it got quiet.
    pub fn wait_quiet(&mut self, tool: Option<u32>, deadline: Instant) -> Result<bool> {
        let start = Instant::now();
        let mut announced = false;
        let quiet = loop {
            interrupted()?;
            let (b0, t0) = (self.busy_s(), self.pid_s(tool));
            let w0 = Instant::now();
            std::thread::sleep(QUIET_WINDOW);
            let foreign = (self.busy_s() - b0) - (self.pid_s(tool) - t0);
            let hooks = foreign_syscall_hooks(tool);
            if foreign <= QUIET_SHARE * w0.elapsed().as_secs_f64() && hooks.is_empty() {
                break true;
            }
            if Instant::now() >= deadline {
                break false;
            }
            if !announced && start.elapsed() > Duration::from_secs(2) {
                let why = if hooks.is_empty() {
                    format!("other processes use {:.0}% of a core", 100.0 * foreign / w0.elapsed().as_secs_f64())
                } else {
                    format!("{} also hold programs on raw_syscalls", hooks.join(", "))
                };
                eprintln!("xtask: bench: waiting for the machine to be quiet ({why})…");
                announced = true;
            }
        };
        self.tally.waited += start.elapsed();
        Ok(quiet)
    }

    /// Runs a workload command (possibly wrapped in strace) until a run is
    /// clean, within [`Gate::max_wait`] in all; `tool` is the attached
    /// tool's pid, whose CPU is ours.
    pub fn run(&mut self, cmd: &mut Command, tool: Option<u32>) -> Result<u64> {
        let deadline = Instant::now() + self.max_wait;
        let mut gave_up = false;
        for attempt in 1..=ATTEMPTS {
            if !self.wait_quiet(tool, deadline)? {
                gave_up = true;
            }
            let t = self.run_once(cmd, tool)?;
            let wall_s = t.ns as f64 / 1e9;
            self.tally.runs += 1;
            let clean = t.foreign_s <= (RUN_SHARE * wall_s).max(RUN_SLACK_S)
                && foreign_syscall_hooks(tool).is_empty();
            if clean {
                return Ok(t.ns);
            }
            if attempt == ATTEMPTS || Instant::now() >= deadline {
                self.tally.noisy += 1;
                if gave_up {
                    self.tally.gave_up_waiting += 1;
                }
                return Ok(t.ns);
            }
            self.tally.retried += 1;
        }
        unreachable!("the last attempt returns")
    }

    fn run_once(&self, cmd: &mut Command, tool: Option<u32>) -> Result<Timed> {
        let shown = cmd::display(cmd);
        let (b0, t0) = (self.busy_s(), self.pid_s(tool));
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("failed to start `{shown}`"))?;
        let mut stdout = String::new();
        let mut stderr = String::new();
        // Workloads print one short line; stderr only on failure. Both fit
        // in a pipe, so reading one then the other cannot deadlock.
        child.stdout.take().expect("piped").read_to_string(&mut stdout)?;
        child.stderr.take().expect("piped").read_to_string(&mut stderr)?;
        let (status, cpu_s) = wait4(child.id())?;
        // std's Child is not waited for again: we reaped it ourselves.
        drop(child);
        let foreign_s = (self.busy_s() - b0) - (self.pid_s(tool) - t0) - cpu_s;
        if !status.success() {
            let first = stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
            bail!("`{shown}` failed ({status}): {first}");
        }
        let ns = parse_elapsed(&stdout)
            .with_context(|| format!("`{shown}` printed {:?}, not elapsed ns", stdout.trim()))?;
        Ok(Timed { ns, foreign_s: foreign_s.max(0.0) })
    }
}

/// Other processes holding BPF programs on `raw_syscalls` (another tracer,
/// someone's test): they would tax the bare runs too. `pid (comm)` each.
fn foreign_syscall_hooks(ours: Option<u32>) -> Vec<String> {
    let me = std::process::id();
    let mut found = Vec::new();
    let Ok(procs) = std::fs::read_dir("/proc") else { return found };
    for p in procs.flatten() {
        let Some(pid) = p.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else { continue };
        if pid == me || Some(pid) == ours {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(p.path().join("fd")) else { continue };
        let hooked = fds.flatten().any(|fd| {
            std::fs::read_link(fd.path()).is_ok_and(|l| l.as_os_str() == "anon_inode:bpf_link")
                && std::fs::read_to_string(p.path().join("fdinfo").join(fd.file_name()))
                    .is_ok_and(|info| hooks_raw_syscalls(&info))
        });
        if hooked {
            let comm = std::fs::read_to_string(p.path().join("comm")).unwrap_or_default();
            found.push(format!("{pid} ({})", comm.trim()));
        }
    }
    found
}

/// Is this bpf_link fdinfo a raw tracepoint link on sys_enter/sys_exit?
fn hooks_raw_syscalls(fdinfo: &str) -> bool {
    let field = |k: &str| fdinfo.lines().find_map(|l| l.strip_prefix(k)).map(str::trim);
    field("link_type:") == Some("raw_tracepoint")
        && matches!(field("tp_name:"), Some("sys_enter" | "sys_exit"))
}

/// Reaps `pid`, returning its status and the CPU seconds it and the
/// children it reaped used.
fn wait4(pid: u32) -> Result<(ExitStatus, f64)> {
    let mut status = 0;
    let mut ru = unsafe { std::mem::zeroed::<libc::rusage>() };
    loop {
        // SAFETY: our own unreaped child; status and ru are valid for writes.
        let r = unsafe { libc::wait4(pid as libc::pid_t, &mut status, 0, &mut ru) };
        if r == pid as libc::pid_t {
            break;
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            return Err(err).context("wait4");
        }
    }
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Ok((ExitStatus::from_raw(status), tv(ru.ru_utime) + tv(ru.ru_stime)))
}

/// The last non-empty line of a workload's stdout: elapsed nanoseconds.
pub fn parse_elapsed(stdout: &str) -> Result<u64> {
    let Some(last) = stdout.lines().rev().find(|l| !l.trim().is_empty()) else {
        bail!("no output");
    };
    let ns: u64 = last.trim().parse().context("not a number")?;
    if ns == 0 {
        bail!("zero elapsed time");
    }
    Ok(ns)
}

/// Busy ticks from the `cpu` line of /proc/stat: everything but idle and
/// iowait (user nice system idle iowait irq softirq steal …).
fn busy_ticks(stat: &str) -> Option<u64> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let v: Vec<u64> = line.split_whitespace().skip(1).take(8).filter_map(|f| f.parse().ok()).collect();
    if v.len() < 8 {
        return None;
    }
    Some(v[0] + v[1] + v[2] + v[5] + v[6] + v[7])
}

/// utime + stime from /proc/PID/stat (fields 14 and 15; comm may hold
/// spaces and parentheses, so count from the last `)`).
fn pid_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state): utime is field 14 → index 11.
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elapsed_is_the_last_line() {
        assert_eq!(parse_elapsed("123\n").unwrap(), 123);
        assert_eq!(parse_elapsed("noise\n  456 \n\n").unwrap(), 456);
        assert!(parse_elapsed("").is_err());
        assert!(parse_elapsed("12x\n").is_err());
        assert!(parse_elapsed("0\n").is_err());
    }

    #[test]
    fn proc_stat_busy_ticks() {
        let stat = "cpu  100 2 30 5000 7 1 4 9 0 0\ncpu0 50 1 15 2500 3 0 2 4 0 0\n";
        assert_eq!(busy_ticks(stat), Some(100 + 2 + 30 + 1 + 4 + 9));
        assert_eq!(busy_ticks("cpu0 1 2 3\n"), None);
    }

    #[test]
    fn proc_pid_stat_ticks() {
        let stat = "4242 (a (b) c) S 1 4242 4242 0 -1 4194560 100 0 0 0 37 5 0 0 20 0 1 0 99 1000 10\n";
        assert_eq!(pid_ticks(stat), Some(42));
        assert_eq!(pid_ticks("garbage"), None);
        let own = std::fs::read_to_string("/proc/self/stat").unwrap();
        assert!(pid_ticks(&own).is_some());
    }

    #[test]
    fn raw_syscalls_links() {
        let info = "pos:\t0\nflags:\t02000000\nlink_type:\traw_tracepoint\nlink_id:\t1345\nprog_id:\t2982\ntp_name:\tsys_enter\ncookie:\t0\n";
        assert!(hooks_raw_syscalls(info));
        assert!(hooks_raw_syscalls(&info.replace("sys_enter", "sys_exit")));
        assert!(!hooks_raw_syscalls(&info.replace("sys_enter", "sched_process_exit")));
        assert!(!hooks_raw_syscalls(&info.replace("raw_tracepoint", "tracing")));
    }

    #[test]
    fn a_run_reports_the_workloads_own_time() {
        let mut gate = Gate::new(Duration::ZERO);
        let ns = gate.run(Command::new("sh").args(["-c", "echo 1234567"]), None).unwrap();
        assert_eq!(ns, 1234567);
        assert_eq!(gate.tally.runs - gate.tally.retried, 1);
        let err = gate.run(Command::new("sh").args(["-c", "echo oops >&2; exit 3"]), None).unwrap_err();
        assert!(format!("{err:#}").contains("oops"), "{err:#}");
    }
}
