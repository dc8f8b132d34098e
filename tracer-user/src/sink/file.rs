//! `--output FILE`: JSON lines appended to a file, rotated by size, reopened
//! on SIGHUP.
//!
//! Opening: a new file is created with mode 0600 (events name every process
//! on the machine; they are for root's eyes), an existing file keeps its
//! mode, and a symlink at the path is refused (`O_NOFOLLOW`), so a daemon
//! running as root cannot be pointed at another file by whoever can write
//! the directory.
//!
//! Rotation happens between lines, never inside one: before a run of lines
//! would take the file past `--rotate-size`, FILE.(N-1) → FILE.N, …,
//! FILE → FILE.1 (each `rename` atomically replaces the older file, so
//! FILE.(N+1) never exists), and a fresh FILE is opened. A single line larger
//! than the limit goes into a file of its own. Only regular files rotate.
//!
//! A failed write (ENOSPC, EIO, EDQUOT) never leaves part of a line behind:
//! [`append_lines`] cuts a regular file back to the end of the last whole
//! line written, so once space returns the next line starts on a line of
//! its own, and exactly the lines not in the file are counted as failed.

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::{Chunk, FileOptions, SinkContext, WriteError, Writer};

/// Mode of files tracer creates.
pub const FILE_MODE: u32 = 0o600;

/// Opens `path` for appending: created 0600 if missing, refused if it is a
/// symlink. Returns the file and whether it was created.
pub fn open_append(path: &Path) -> std::io::Result<(File, bool)> {
    let flags = libc::O_NOFOLLOW | libc::O_CLOEXEC;
    for _ in 0..3 {
        match OpenOptions::new().append(true).create_new(true).mode(FILE_MODE).custom_flags(flags).open(path) {
            Ok(f) => {
                // The umask may have taken bits off; 0600 is the contract.
                f.set_permissions(std::fs::Permissions::from_mode(FILE_MODE))?;
                return Ok((f, true));
            }
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
        match OpenOptions::new().append(true).custom_flags(flags).open(path) {
            Ok(f) => return Ok((f, false)),
            // Removed between the two opens: try creating again.
            Err(e) if e.kind() == ErrorKind::NotFound => continue,
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
                return Err(std::io::Error::new(
                    ErrorKind::InvalidInput,
                    format!("{} is a symbolic link; refusing to follow it", path.display()),
                ));
            }
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other(format!("{} keeps disappearing", path.display())))
}

/// Appends `bytes` (whole lines) to `f`. On an error, a regular file is cut
/// back to the end of the last whole line that went out; the error carries
/// how many lines did.
pub fn append_lines(f: &mut File, bytes: &[u8]) -> Result<(), PartialWrite> {
    let mut done = 0;
    while done < bytes.len() {
        match f.write(&bytes[done..]) {
            Ok(0) => return Err(cut_back(f, bytes, done, std::io::Error::from(ErrorKind::WriteZero))),
            Ok(n) => done += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(cut_back(f, bytes, done, e)),
        }
    }
    Ok(())
}

/// A write that failed after `lines_written` whole lines went out.
#[derive(Debug)]
pub struct PartialWrite {
    pub lines_written: usize,
    pub error: std::io::Error,
}

fn cut_back(f: &mut File, bytes: &[u8], done: usize, error: std::io::Error) -> PartialWrite {
    let whole = bytes[..done].iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let lines_written = bytes[..whole].iter().filter(|&&b| b == b'\n').count();
    if whole < done
        && let Ok(md) = f.metadata()
        && md.file_type().is_file()
    {
        // Appending: what we wrote is the file's last `done` bytes.
        let keep = md.len().saturating_sub((done - whole) as u64);
        if let Err(e) = f.set_len(keep) {
            let error = std::io::Error::new(error.kind(), format!("{error}; cutting back a partial line failed: {e}"));
            return PartialWrite { lines_written, error };
        }
    }
    PartialWrite { lines_written, error }
}

/// `FILE.n`
pub fn rotated_name(path: &Path, n: u32) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(format!(".{n}"));
    PathBuf::from(s)
}

pub struct RotatingFile {
    path: PathBuf,
    file: File,
    /// Bytes in the current file (from fstat at open, then counted).
    size: u64,
    /// Rotation only makes sense for regular files (not /dev/null, a FIFO).
    regular: bool,
    opts: FileOptions,
}

impl RotatingFile {
    pub fn open(path: &Path, opts: FileOptions) -> anyhow::Result<Self> {
        let (file, size, regular) = Self::open_file(path).with_context(|| format!("opening --output {}", path.display()))?;
        Ok(RotatingFile { path: path.to_owned(), file, size, regular, opts })
    }

    fn open_file(path: &Path) -> std::io::Result<(File, u64, bool)> {
        let (file, _) = open_append(path)?;
        let md = file.metadata()?;
        Ok((file, md.len(), md.file_type().is_file()))
    }

    fn rotate(&mut self) -> std::io::Result<()> {
        let keep = self.opts.rotate_keep;
        if keep == 0 {
            match std::fs::remove_file(&self.path) {
                Err(e) if e.kind() != ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        } else {
            for n in (1..keep).rev() {
                match std::fs::rename(rotated_name(&self.path, n), rotated_name(&self.path, n + 1)) {
                    Err(e) if e.kind() != ErrorKind::NotFound => return Err(e),
                    _ => {}
                }
            }
            std::fs::rename(&self.path, rotated_name(&self.path, 1))?;
        }
        let (file, size, regular) = Self::open_file(&self.path)?;
        self.file = file;
        self.size = size;
        self.regular = regular;
        Ok(())
    }

    fn write_run(&mut self, bytes: &[u8]) -> Result<(), PartialWrite> {
        if bytes.is_empty() {
            return Ok(());
        }
        let r = append_lines(&mut self.file, bytes);
        match &r {
            Ok(()) => self.size += bytes.len() as u64,
            // How much went out (and stayed) is known to the file.
            Err(_) => self.size = self.file.metadata().map(|m| m.len()).unwrap_or(self.size),
        }
        r
    }
}

impl Writer for RotatingFile {
    fn write(&mut self, chunk: &Chunk, _ctx: &SinkContext) -> Result<(), WriteError> {
        let n = chunk.lines.len();
        // Lines of the chunk written so far, for the count of failed ones.
        let mut ok = 0;
        let fail = |ok: usize, error: std::io::Error| WriteError::Some { failed: (ok as u32..n as u32).collect(), error };
        let limit = match self.opts.rotate_size {
            Some(l) if self.regular => l,
            _ => return self.write_run(chunk.bytes()).map_err(|p| fail(p.lines_written, p.error)),
        };
        let b = &chunk.batch;
        let mut run = chunk.lines.start..chunk.lines.start;
        for i in chunk.lines.clone() {
            let len = b.line(i).len() as u64;
            let run_len = b.bytes(run.clone()).len() as u64;
            let used = self.size + run_len;
            if used > 0 && used + len > limit {
                self.write_run(b.bytes(run.clone())).map_err(|p| fail(ok + p.lines_written, p.error))?;
                ok += run.len();
                self.rotate().map_err(|e| fail(ok, e))?;
                run = i..i;
            }
            run.end = i + 1;
        }
        self.write_run(b.bytes(run)).map_err(|p| fail(ok + p.lines_written, p.error))
    }

    fn reopen(&mut self) -> std::io::Result<()> {
        let (file, size, regular) = Self::open_file(&self.path)?;
        self.file = file;
        self.size = size;
        self.regular = regular;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::{Batch, LineKind, Queue, SinkCounters};
    use std::os::unix::fs::MetadataExt as _;
    use std::sync::Arc;

    struct Tmp(PathBuf);
    impl Tmp {
        fn new(tag: &str) -> Self {
            let p = std::env::temp_dir().join(format!("tracer-unit-{tag}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&p);
            std::fs::create_dir_all(&p).unwrap();
            Tmp(p)
        }
    }
    impl Drop for Tmp {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn ctx() -> SinkContext {
        let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
        SinkContext { index: 0, queue: Arc::new(Queue::new(1 << 20)), counters: Arc::new(SinkCounters::default()), events: tx }
    }

    fn chunk(lines: &[String]) -> Chunk {
        let mut b = Batch::default();
        for (i, l) in lines.iter().enumerate() {
            b.buf.extend_from_slice(l.as_bytes());
            b.buf.push(b'\n');
            b.push_line(i as u64, 0, LineKind::Stats);
        }
        let n = b.lines.len();
        Chunk { batch: Arc::new(b), lines: 0..n }
    }

    #[test]
    fn creates_0600_keeps_existing_mode_and_refuses_symlinks() {
        let t = Tmp::new("open");
        let p = t.0.join("events.jsonl");
        let (_, created) = open_append(&p).unwrap();
        assert!(created);
        assert_eq!(std::fs::metadata(&p).unwrap().mode() & 0o777, 0o600);

        let q = t.0.join("existing");
        std::fs::write(&q, "old\n").unwrap();
        std::fs::set_permissions(&q, std::fs::Permissions::from_mode(0o644)).unwrap();
        let (mut f, created) = open_append(&q).unwrap();
        assert!(!created);
        f.write_all(b"new\n").unwrap();
        assert_eq!(std::fs::read_to_string(&q).unwrap(), "old\nnew\n", "appends");
        assert_eq!(std::fs::metadata(&q).unwrap().mode() & 0o777, 0o644);

        let l = t.0.join("link");
        std::os::unix::fs::symlink(&q, &l).unwrap();
        let e = open_append(&l).unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        let dangling = t.0.join("dangling");
        std::os::unix::fs::symlink(t.0.join("nowhere"), &dangling).unwrap();
        assert!(open_append(&dangling).is_err());
        assert!(!t.0.join("nowhere").exists(), "a dangling symlink is not followed to create its target");
    }

    #[test]
    fn rotates_between_lines_and_keeps_n_files() {
        let t = Tmp::new("rotate");
        let p = t.0.join("out");
        let opts = FileOptions { rotate_size: Some(25), rotate_keep: 2 };
        let mut f = RotatingFile::open(&p, opts).unwrap();
        let lines: Vec<String> = (0..10).map(|i| format!("line-{i:03}")).collect(); // 9 bytes each with \n
        let c = ctx();
        f.write(&chunk(&lines[..4]), &c).unwrap();
        f.write(&chunk(&lines[4..]), &c).unwrap();
        // 2 lines (18 bytes) per file; a third would make 27 > 25.
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "line-008\nline-009\n");
        assert_eq!(std::fs::read_to_string(rotated_name(&p, 1)).unwrap(), "line-006\nline-007\n");
        assert_eq!(std::fs::read_to_string(rotated_name(&p, 2)).unwrap(), "line-004\nline-005\n");
        assert!(!rotated_name(&p, 3).exists());
        for q in [p.clone(), rotated_name(&p, 1), rotated_name(&p, 2)] {
            assert_eq!(std::fs::metadata(&q).unwrap().mode() & 0o777, 0o600);
        }
    }

    #[test]
    fn a_line_longer_than_the_limit_gets_a_file_of_its_own() {
        let t = Tmp::new("long");
        let p = t.0.join("out");
        let mut f = RotatingFile::open(&p, FileOptions { rotate_size: Some(4), rotate_keep: 5 }).unwrap();
        f.write(&chunk(&["aaaaaa".into(), "bbbbbb".into()]), &ctx()).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "bbbbbb\n");
        assert_eq!(std::fs::read_to_string(rotated_name(&p, 1)).unwrap(), "aaaaaa\n");
    }

    #[test]
    fn reopen_follows_a_rename() {
        let t = Tmp::new("reopen");
        let p = t.0.join("out");
        let mut f = RotatingFile::open(&p, FileOptions::default()).unwrap();
        let c = ctx();
        f.write(&chunk(&["one".into()]), &c).unwrap();
        std::fs::rename(&p, t.0.join("out.old")).unwrap();
        f.write(&chunk(&["two".into()]), &c).unwrap();
        f.reopen().unwrap();
        f.write(&chunk(&["three".into()]), &c).unwrap();
        assert_eq!(std::fs::read_to_string(t.0.join("out.old")).unwrap(), "one\ntwo\n");
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "three\n");
        assert_eq!(std::fs::metadata(&p).unwrap().mode() & 0o777, 0o600);
    }
}
