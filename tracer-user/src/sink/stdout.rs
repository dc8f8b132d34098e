//! The default sink: JSON lines on fd 1.
//!
//! When the reader goes away (`tracer | head -1`), the next write fails with
//! EPIPE (Rust ignores SIGPIPE) and the sink reports [`WriteError::Closed`];
//! the daemon then stops quietly with status 0, as a filter in a pipeline
//! should. So that this does not wait for the next event on a quiet machine,
//! an idle sink also polls fd 1 for POLLERR/POLLHUP every [`IDLE_TICK`] —
//! where fd 1 has a reader to lose: a pipe, a socket, a terminal. A
//! regular file or /dev/null has none, and there the idle sink just sleeps.
//!
//! [`IDLE_TICK`]: super::IDLE_TICK

use std::fs::File;
use std::io::{ErrorKind, Write};
use std::mem::ManuallyDrop;
use std::os::fd::FromRawFd;

use super::{Chunk, SinkContext, WriteError, Writer};

pub struct Stdout {
    /// fd 1 without std's `Stdout` lock or line buffering; never closed by us.
    out: ManuallyDrop<File>,
    /// fd 1 has a reader that can go away.
    watched: bool,
}

impl Stdout {
    pub fn new() -> Self {
        // SAFETY: fd 1 stays open for the life of the process; ManuallyDrop
        // keeps this File from closing it.
        let out = ManuallyDrop::new(unsafe { File::from_raw_fd(1) });
        let watched = has_reader(&out);
        Stdout { out, watched }
    }
}

/// Can `f`'s other end go away? Anything but a regular file or a
/// character device other than a terminal (/dev/null): pipes, sockets,
/// terminals, and whatever fstat cannot tell.
fn has_reader(f: &File) -> bool {
    use std::os::unix::fs::FileTypeExt as _;
    let Ok(meta) = f.metadata() else { return true };
    let t = meta.file_type();
    let is_tty = || {
        use std::os::fd::AsRawFd as _;
        // SAFETY: isatty only inspects the descriptor.
        unsafe { libc::isatty(f.as_raw_fd()) == 1 }
    };
    !(t.is_file() || (t.is_char_device() && !is_tty()))
}

impl Default for Stdout {
    fn default() -> Self {
        Self::new()
    }
}

fn closed_or(e: std::io::Error) -> WriteError {
    if e.kind() == ErrorKind::BrokenPipe { WriteError::Closed } else { WriteError::Io(e) }
}

impl Writer for Stdout {
    fn write(&mut self, chunk: &Chunk, _ctx: &SinkContext) -> Result<(), WriteError> {
        self.out.write_all(chunk.bytes()).map_err(closed_or)
    }

    fn tick_every(&self) -> Option<std::time::Duration> {
        self.watched.then_some(super::IDLE_TICK)
    }

    fn tick(&mut self, _ctx: &SinkContext) -> Result<(), WriteError> {
        let mut pfd = libc::pollfd { fd: 1, events: 0, revents: 0 };
        // SAFETY: one valid pollfd, zero timeout.
        let n = unsafe { libc::poll(&mut pfd, 1, 0) };
        if n == 1 && pfd.revents & (libc::POLLERR | libc::POLLHUP | libc::POLLNVAL) != 0 {
            return Err(WriteError::Closed);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_destination_with_a_reader_is_watched() {
        let (r, w) = std::io::pipe().unwrap();
        assert!(has_reader(&File::from(std::os::fd::OwnedFd::from(w))), "a pipe");
        drop(r);
        assert!(!has_reader(&File::open("/dev/null").unwrap()), "/dev/null");
        let file = std::env::temp_dir().join(format!("tracer-stdout-test-{}", std::process::id()));
        let f = File::create(&file).unwrap();
        let _ = std::fs::remove_file(&file);
        assert!(!has_reader(&f), "a regular file");
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        assert!(has_reader(&File::from(std::os::fd::OwnedFd::from(a))), "a socket");
    }
}
