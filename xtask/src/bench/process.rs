//! A tracing tool running in the background for the length of one set of
//! traced runs: started, waited for until it is really attached, stopped
//! with SIGINT, its stderr kept.

use std::io::{BufRead as _, BufReader};
use std::os::unix::process::CommandExt as _;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};

use crate::cmd;

/// How to tell that a tool has attached and the workload may start.
#[derive(Clone, Debug)]
pub enum Ready {
    /// A stderr line starting with this text (tracer, tracer-floor, and
    /// bpftrace's `__BPFTRACE_NOTIFY_PROBES_ATTACHED`).
    StderrLine(&'static str),
    /// The tool's main thread blocks in poll(2): perf trace only reaches
    /// its event loop's poll after it has enabled its events, and prints
    /// nothing we could wait for when its output goes to /dev/null.
    InPoll,
}

pub struct Daemon {
    shown: String,
    child: Child,
    lines: mpsc::Receiver<String>,
    stderr: Vec<String>,
    /// From spawn to ready.
    pub attach_time: Duration,
}

/// What a stopped tool left behind.
pub struct Stopped {
    pub status: ExitStatus,
    pub stderr: Vec<String>,
    /// `VmHWM` (peak resident set) just before SIGINT, in KiB.
    pub peak_rss_kib: Option<u64>,
}

const ATTACH_TIMEOUT: Duration = Duration::from_secs(120);
const STOP_TIMEOUT: Duration = Duration::from_secs(60);

impl Daemon {
    /// Spawns `cmd` (stdin /dev/null, stderr captured; stdout as the caller
    /// set it) and waits until `ready`.
    pub fn start(mut cmd: Command, ready: Ready) -> Result<Daemon> {
        let shown = cmd::display(&cmd);
        let started = Instant::now();
        // Started from a shell without job control (`xtask bench &`), we
        // inherit SIGINT ignored, and so would the tool: then the SIGINT
        // that stops it would be discarded. Give it the default back.
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                libc::signal(libc::SIGINT, libc::SIG_DFL);
                libc::signal(libc::SIGTERM, libc::SIG_DFL);
                Ok(())
            });
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("failed to start `{shown}`"))?;
        let err = child.stderr.take().expect("stderr is piped");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut d = Daemon { shown, child, lines, stderr: Vec::new(), attach_time: Duration::ZERO };
        if let Err(e) = d.wait_ready(&ready, started) {
            let _ = d.child.kill();
            let _ = d.child.wait();
            d.collect_stderr(Duration::from_millis(200));
            let tail = d.stderr.iter().rev().take(5).rev().cloned().collect::<Vec<_>>().join(" | ");
            return Err(e.context(format!("`{}` did not attach (stderr: {tail})", d.shown)));
        }
        d.attach_time = started.elapsed();
        Ok(d)
    }

    fn wait_ready(&mut self, ready: &Ready, started: Instant) -> Result<()> {
        let deadline = started + ATTACH_TIMEOUT;
        match ready {
            Ready::StderrLine(prefix) => loop {
                let left = deadline.saturating_duration_since(Instant::now());
                match self.lines.recv_timeout(left) {
                    Ok(line) => {
                        let hit = line.starts_with(prefix);
                        self.stderr.push(line);
                        if hit {
                            return Ok(());
                        }
                    }
                    Err(mpsc::RecvTimeoutError::Timeout) => bail!("timed out"),
                    Err(mpsc::RecvTimeoutError::Disconnected) => {
                        let status = self.child.wait()?;
                        bail!("exited ({status})");
                    }
                }
            },
            Ready::InPoll => {
                let path = format!("/proc/{}/syscall", self.child.id());
                loop {
                    if let Some(status) = self.child.try_wait()? {
                        bail!("exited ({status})");
                    }
                    if Instant::now() > deadline {
                        bail!("timed out");
                    }
                    let syscall = std::fs::read_to_string(&path).unwrap_or_default();
                    if in_poll(&syscall) {
                        return Ok(());
                    }
                    self.collect_stderr(Duration::ZERO);
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Reads peak RSS, sends SIGINT, and waits for the tool to exit.
    pub fn stop(mut self) -> Result<Stopped> {
        let peak_rss_kib = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .ok()
            .and_then(|s| vm_hwm_kib(&s));
        // SAFETY: kill(2) on our own child's pid; it has not been reaped yet.
        unsafe { libc::kill(self.pid() as libc::pid_t, libc::SIGINT) };
        let deadline = Instant::now() + STOP_TIMEOUT;
        let status = loop {
            if let Some(status) = self.child.try_wait()? {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                bail!("`{}` did not exit within {STOP_TIMEOUT:?} of SIGINT", self.shown);
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        self.collect_stderr(Duration::from_secs(5));
        Ok(Stopped { status, stderr: std::mem::take(&mut self.stderr), peak_rss_kib })
    }

    /// Moves stderr lines that have arrived into `self.stderr`; with a
    /// non-zero `wait`, until the pipe closes or `wait` passes.
    fn collect_stderr(&mut self, wait: Duration) {
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = if left.is_zero() {
                self.lines.try_recv().ok()
            } else {
                self.lines.recv_timeout(left).ok()
            };
            match line {
                Some(l) => self.stderr.push(l),
                None => return,
            }
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // Only reached with the child still running on an error path.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Is the thread blocked in poll (7) or ppoll (271), per /proc/PID/syscall?
fn in_poll(proc_syscall: &str) -> bool {
    matches!(proc_syscall.split_whitespace().next(), Some("7" | "271"))
}

/// `VmHWM:   12345 kB` from /proc/PID/status.
fn vm_hwm_kib(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poll_detection() {
        assert!(in_poll("7 0x55d0c 0x1 0x64 0x0 0x0 0x0 0x7ffd 0x7f12\n"));
        assert!(in_poll("271 0x1 0x2 0x0 0x0 0x8 0x0 0x7ffd 0x7f12\n"));
        assert!(!in_poll("running\n"));
        assert!(!in_poll("-1 0x7ffd 0x7f12\n"));
        assert!(!in_poll("0 0x3 0x7ffd 0x1000 0x0 0x0 0x0 0x7ffd 0x7f12\n"));
        assert!(!in_poll(""));
    }

    #[test]
    fn peak_rss_from_status() {
        let s = "Name:\ttracer\nVmPeak:\t  30000 kB\nVmHWM:\t   12345 kB\nVmRSS:\t 12000 kB\n";
        assert_eq!(vm_hwm_kib(s), Some(12345));
        assert_eq!(vm_hwm_kib("Name:\tx\n"), None);
    }

    #[test]
    fn waits_for_a_stderr_line_and_stops_with_sigint() {
        let mut c = Command::new("sh");
        c.args(["-c", "trap 'echo bye >&2; exit 0' INT; echo noise >&2; sleep 0.05; echo 'tool: attached' >&2; while :; do sleep 0.01; done"]);
        let d = Daemon::start(c, Ready::StderrLine("tool: attached")).unwrap();
        let stopped = d.stop().unwrap();
        assert!(stopped.status.success(), "{:?}", stopped.status);
        assert_eq!(stopped.stderr, ["noise", "tool: attached", "bye"]);
        assert!(stopped.peak_rss_kib.is_some_and(|k| k > 0));
    }

    #[test]
    fn a_tool_that_exits_before_attaching_is_an_error() {
        let mut c = Command::new("sh");
        c.args(["-c", "echo 'tool: no permission' >&2; exit 3"]);
        let err = Daemon::start(c, Ready::StderrLine("tool: attached")).err().unwrap();
        let msg = format!("{err:#}");
        assert!(msg.contains("tool: no permission"), "{msg}");
        assert!(msg.contains("exited"), "{msg}");
    }
}
