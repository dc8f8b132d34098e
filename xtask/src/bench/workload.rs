//! The workloads: small C programs (`xtask/bench/*.c`) that time their own
//! loop with CLOCK_MONOTONIC and print the elapsed nanoseconds, so a
//! tracer's start-up, or strace's fork+exec of the program, never counts.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, Result};

use crate::cmd;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Workload {
    /// pthread_create + pthread_join in a loop.
    Threads,
    /// fork + waitpid, the child exiting 1.
    Forks,
    /// mmap(MAP_STACK) + mprotect of all but the guard page + munmap.
    Mmaps,
    /// A tight loop of getppid, which nobody traces.
    Unrelated,
}

impl Workload {
    pub const ALL: [Workload; 4] =
        [Workload::Threads, Workload::Forks, Workload::Mmaps, Workload::Unrelated];

    pub fn name(self) -> &'static str {
        match self {
            Workload::Threads => "threads",
            Workload::Forks => "forks",
            Workload::Mmaps => "mmaps",
            Workload::Unrelated => "unrelated",
        }
    }

    /// Iterations of a full-size run: about 0.5 s bare on the reference
    /// machine (2-core AMD EPYC VM, kernel 6.18, retpolines) — long enough
    /// that timer and scheduler noise are small, short enough that the
    /// slowest peers finish.
    pub fn full_iterations(self) -> u64 {
        match self {
            Workload::Threads => 10_000,
            Workload::Forks => 3_000,
            Workload::Mmaps => 80_000,
            Workload::Unrelated => 3_000_000,
        }
    }

    /// Traced calls one iteration makes, in steady state (glibc caches the
    /// thread stack after the first pthread_create).
    pub fn traced_calls_per_iteration(self) -> u64 {
        match self {
            Workload::Threads => 1, // clone3
            Workload::Forks => 2,   // clone, wait4
            Workload::Mmaps => 2,   // mmap, mprotect
            Workload::Unrelated => 0,
        }
    }
}

/// The compiled workloads.
pub struct Binaries {
    dir: PathBuf,
}

impl Binaries {
    /// Compiles `xtask/bench/<name>.c` into `out/bin/<name>` with `cc -O2`.
    pub fn compile(root: &Path, out: &Path) -> Result<Binaries> {
        let src = root.join("xtask").join("bench");
        let dir = out.join("bin");
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        for w in Workload::ALL {
            let mut cc = Command::new("cc");
            cc.args(["-O2", "-Wall", "-Wextra", "-pthread", "-o"])
                .arg(dir.join(w.name()))
                .arg(src.join(format!("{}.c", w.name())));
            cmd::output(&mut cc)
                .with_context(|| format!("compiling the {} workload", w.name()))?;
        }
        Ok(Binaries { dir })
    }

    pub fn path(&self, w: Workload) -> PathBuf {
        self.dir.join(w.name())
    }

    /// `workload ITERATIONS` as a command (to run bare or wrap in strace).
    pub fn command(&self, w: Workload, iterations: u64) -> Command {
        let mut c = Command::new(self.path(w));
        c.arg(iterations.to_string());
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_workload_has_a_source() {
        let root = crate::workspace_root();
        for w in Workload::ALL {
            assert!(root.join("xtask/bench").join(format!("{}.c", w.name())).exists(), "{w:?}");
        }
    }
}
