//! `--output-dir DIR`: one file per process, `DIR/<pid>.jsonl`, like
//! `strace -ff -o`. Threads' calls go to their process's (tgid's) file;
//! tracer's own `lost` and `stats` records go to `DIR/tracer.jsonl`.
//!
//! Files are created 0600 without following symlinks, as `--output` files,
//! and a failed write leaves no partial line behind (`file::append_lines`).
//!
//! Closing policy, so a months-long run does not exhaust fds: a sink sees
//! each line's pid and event name, but an `exit` line does not say whether
//! it was the process's last thread, and `--no-lifecycle` has no exit lines
//! at all; so a process's file is closed once it has had no line
//! for [`CLOSE_IDLE`] *and* `/proc/<pid>` is gone (checked at most once per
//! [`SCAN_EVERY`]). A zombie keeps its file until it
//! is reaped. Independently, at most [`MAX_OPEN`] files are open; past that
//! the least recently written is closed. A closed file is reopened in append
//! mode if its pid writes again (pid reuse appends to the same file, as with
//! `strace -ff`).

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use super::file::{PartialWrite, append_lines, open_append};
use super::{Chunk, LineKind, SinkContext, WriteError, Writer};

/// A process's file is closed after this long without a line, if the process is gone.
pub const CLOSE_IDLE: Duration = Duration::from_secs(3);
/// How often idle files are checked against /proc.
pub const SCAN_EVERY: Duration = Duration::from_secs(1);
/// Upper bound on open per-process files.
pub const MAX_OPEN: usize = 512;
/// Capacity of the write buffer kept between chunks.
const KEEP_BUF: usize = 256 << 10;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Key {
    Pid(u32),
    Tracer,
}

struct Open {
    file: File,
    last_write: Instant,
}

pub struct PerPidDir {
    dir: PathBuf,
    open: HashMap<Key, Open>,
    /// One file's lines of a chunk, gathered for one write; reused. One
    /// buffer for all files, not one per open file: a buffer per pid would
    /// keep the capacity of that pid's largest burst for as long as its
    /// file is open (for ever, for a long-lived process), and memory would
    /// creep up over a long run as bursty processes come and stay.
    buf: Vec<u8>,
    last_scan: Instant,
}

impl PerPidDir {
    pub fn open(dir: &Path) -> anyhow::Result<Self> {
        match std::fs::symlink_metadata(dir) {
            Ok(md) if md.is_dir() => {}
            Ok(_) => bail!("--output-dir {} exists and is not a directory", dir.display()),
            Err(_) => {
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(dir)
                    .with_context(|| format!("creating --output-dir {}", dir.display()))?;
                std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
            }
        }
        let mut d = PerPidDir { dir: dir.to_owned(), open: HashMap::new(), buf: Vec::new(), last_scan: Instant::now() };
        // Fail now, not at the first event, if the directory is not writable.
        let own = d.path(Key::Tracer);
        d.file(Key::Tracer).with_context(|| format!("opening {}", own.display()))?;
        Ok(d)
    }

    fn path(&self, k: Key) -> PathBuf {
        match k {
            Key::Pid(p) => self.dir.join(format!("{p}.jsonl")),
            Key::Tracer => self.dir.join("tracer.jsonl"),
        }
    }

    fn file(&mut self, k: Key) -> std::io::Result<&mut Open> {
        if !self.open.contains_key(&k) {
            if self.open.len() >= MAX_OPEN {
                self.close_least_recent();
            }
            let (file, _) = open_append(&self.path(k))?;
            self.open.insert(k, Open { file, last_write: Instant::now() });
        }
        Ok(self.open.get_mut(&k).expect("just inserted"))
    }

    fn close_least_recent(&mut self) {
        let victim = self
            .open
            .iter()
            .filter(|(k, _)| **k != Key::Tracer)
            .min_by_key(|(_, o)| o.last_write)
            .map(|(k, _)| *k);
        if let Some(k) = victim {
            self.open.remove(&k);
        }
    }

    /// Paths of the files currently open.
    #[cfg(test)]
    pub fn open_count(&self) -> usize {
        self.open.len()
    }
}

impl Writer for PerPidDir {
    fn write(&mut self, chunk: &Chunk, _ctx: &SinkContext) -> Result<(), WriteError> {
        let b = &chunk.batch;
        // Which lines (indices within the chunk) go to which file, in order.
        let mut lines: HashMap<Key, Vec<u32>> = HashMap::new();
        for i in chunk.lines.clone() {
            let key = match b.lines[i].kind {
                LineKind::Syscall { pid, .. } | LineKind::Task { pid, .. } => Key::Pid(pid),
                LineKind::Lost | LineKind::LostWriteError { .. } | LineKind::Stats | LineKind::Start => Key::Tracer,
            };
            lines.entry(key).or_default().push((i - chunk.lines.start) as u32);
        }
        let mut failed = vec![];
        let mut last_err = None;
        let mut buf = std::mem::take(&mut self.buf);
        for (key, idx) in &lines {
            buf.clear();
            for &j in idx {
                buf.extend_from_slice(b.line(chunk.lines.start + j as usize));
            }
            let r = match self.file(*key) {
                Ok(o) => {
                    o.last_write = Instant::now();
                    append_lines(&mut o.file, &buf)
                }
                Err(error) => Err(PartialWrite { lines_written: 0, error }),
            };
            if let Err(p) = r {
                // The first lines_written of this file's lines made it.
                failed.extend(&idx[p.lines_written.min(idx.len())..]);
                let e = p.error;
                last_err = Some(std::io::Error::new(e.kind(), format!("{}: {e}", self.path(*key).display())));
            }
        }
        // A chunk is at most about one drain batch; keep no more than that.
        if buf.capacity() > KEEP_BUF {
            buf = Vec::new();
        }
        self.buf = buf;
        match last_err {
            None => Ok(()),
            Some(error) => {
                failed.sort_unstable();
                Err(WriteError::Some { failed, error })
            }
        }
    }

    fn tick_every(&self) -> Option<Duration> {
        Some(super::IDLE_TICK)
    }

    fn tick(&mut self, _ctx: &SinkContext) -> Result<(), WriteError> {
        let now = Instant::now();
        if now.duration_since(self.last_scan) < SCAN_EVERY {
            return Ok(());
        }
        self.last_scan = now;
        self.open.retain(|k, o| match k {
            Key::Tracer => true,
            Key::Pid(pid) => {
                now.duration_since(o.last_write) < CLOSE_IDLE || Path::new(&format!("/proc/{pid}")).exists()
            }
        });
        Ok(())
    }

    fn reopen(&mut self) -> std::io::Result<()> {
        // Reopened lazily, at each file's next line.
        self.open.clear();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::{Batch, Queue, SinkCounters};
    use std::sync::Arc;

    #[test]
    fn routes_by_pid_and_closes_files_of_gone_processes() {
        let dir = std::env::temp_dir().join(format!("tracer-unit-dir-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut d = PerPidDir::open(&dir).unwrap();
        let mut b = Batch::default();
        // A pid that cannot exist (above pid_max's ceiling), and our own.
        let me = std::process::id();
        for (i, (text, kind)) in [
            ("a", LineKind::Syscall { pid: 4_194_305, tid: 4_194_306, nr: 9 }),
            ("b", LineKind::Syscall { pid: me, tid: me, nr: 9 }),
            ("c", LineKind::Lost),
            ("d", LineKind::Syscall { pid: 4_194_305, tid: 4_194_305, nr: 9 }),
        ]
        .into_iter()
        .enumerate()
        {
            b.buf.extend_from_slice(text.as_bytes());
            b.buf.push(b'\n');
            b.push_line(i as u64, 0, kind);
        }
        let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
        let ctx = SinkContext { index: 0, queue: Arc::new(Queue::new(1 << 20)), counters: Arc::new(SinkCounters::default()), events: tx };
        d.write(&Chunk { batch: Arc::new(b), lines: 0..4 }, &ctx).unwrap();
        let read = |n: &str| std::fs::read_to_string(dir.join(n)).unwrap();
        assert_eq!(read("4194305.jsonl"), "a\nd\n");
        assert_eq!(read(&format!("{me}.jsonl")), "b\n");
        assert_eq!(read("tracer.jsonl"), "c\n");
        assert_eq!(d.open_count(), 3);
        // Pretend both went idle long ago: only the gone process's file closes.
        for o in d.open.values_mut() {
            o.last_write -= CLOSE_IDLE;
        }
        d.last_scan -= SCAN_EVERY;
        d.tick(&ctx).unwrap();
        assert_eq!(d.open_count(), 2);
        assert!(!d.open.contains_key(&Key::Pid(4_194_305)));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
