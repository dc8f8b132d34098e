//! The default sink: JSON lines on fd 1.
//!
//! When the reader goes away (`tracer | head -1`), the next write fails with
//! EPIPE (Rust ignores SIGPIPE) and the sink reports [`WriteError::Closed`];
//! the daemon then stops quietly with status 0, as a filter in a pipeline
//! should. So that this does not wait for the next event on a quiet machine,
//! an idle sink also polls fd 1 for POLLERR/POLLHUP every [`IDLE_TICK`].
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
}

impl Stdout {
    pub fn new() -> Self {
        // SAFETY: fd 1 stays open for the life of the process; ManuallyDrop
        // keeps this File from closing it.
        Stdout { out: ManuallyDrop::new(unsafe { File::from_raw_fd(1) }) }
    }
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
