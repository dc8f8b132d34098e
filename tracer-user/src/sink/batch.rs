//! What the drain hands the sinks: a [`Batch`] of formatted lines with
//! what each sink needs to know about each line ([`LineMeta`]), and the
//! runs of it a sink's queue holds ([`Chunk`]).

use std::ops::Range;
use std::sync::Arc;

/// What a sink needs to know about one line without parsing it back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineMeta {
    /// End of the line (after its `\n`) in [`Batch::buf`]; it starts where
    /// the previous line ended.
    pub end: usize,
    pub seq: u64,
    /// Wall-clock time of the record, Unix nanoseconds.
    pub unix_ns: i128,
    pub kind: LineKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineKind {
    /// A traced call of process `pid` (thread `tid`), syscall number `nr`.
    Syscall { pid: u32, tid: u32, nr: u32 },
    /// Any other event of process `pid` (thread `tid`): lifecycle (`fork`,
    /// `exec`, `exit`, `signal`) or a correlated record (`thread_create`,
    /// `reaped`, `unreaped`); `event` is its name.
    Task { pid: u32, tid: u32, event: &'static str },
    /// tracer's own `lost` record.
    Lost,
    /// tracer's own `lost` record about write failures of sink number
    /// `sink` (its index in the drain's list): that sink tells the drain
    /// whether it wrote it, which settles its account (see `pipeline::loss`).
    LostWriteError { sink: u16 },
    /// tracer's own `stats` record.
    Stats,
    /// tracer's own `start` record, the run's first line.
    Start,
}

impl LineKind {
    /// tracer's `lost` records, of any kind.
    pub fn is_lost(&self) -> bool {
        matches!(self, LineKind::Lost | LineKind::LostWriteError { .. })
    }

    /// The record's `event` field.
    pub fn event(&self) -> &'static str {
        match self {
            LineKind::Syscall { .. } => "syscall",
            LineKind::Task { event, .. } => event,
            LineKind::Lost | LineKind::LostWriteError { .. } => "lost",
            LineKind::Stats => "stats",
            LineKind::Start => "start",
        }
    }
}

/// Lines formatted once by the drain and shared (read-only) by every sink.
#[derive(Debug, Default)]
pub struct Batch {
    pub buf: Vec<u8>,
    pub lines: Vec<LineMeta>,
}

impl Batch {
    pub fn with_capacity(bytes: usize) -> Self {
        Batch { buf: Vec::with_capacity(bytes), lines: Vec::with_capacity(bytes / 256) }
    }

    fn start(&self, i: usize) -> usize {
        if i == 0 { 0 } else { self.lines[i - 1].end }
    }

    /// Line `i`, with its `\n`.
    pub fn line(&self, i: usize) -> &[u8] {
        &self.buf[self.start(i)..self.lines[i].end]
    }

    /// Lines `r`, contiguous in the buffer.
    pub fn bytes(&self, r: Range<usize>) -> &[u8] {
        if r.is_empty() {
            return &[];
        }
        &self.buf[self.start(r.start)..self.lines[r.end - 1].end]
    }

    /// Records the line just appended to `buf` (ending in `\n`).
    pub fn push_line(&mut self, seq: u64, unix_ns: i128, kind: LineKind) {
        debug_assert_eq!(self.buf.last(), Some(&b'\n'));
        self.lines.push(LineMeta { end: self.buf.len(), seq, unix_ns, kind });
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }
}

/// A run of lines of one batch, as queued for one sink.
#[derive(Clone, Debug)]
pub struct Chunk {
    pub batch: Arc<Batch>,
    pub lines: Range<usize>,
}

impl Chunk {
    pub fn bytes(&self) -> &[u8] {
        self.batch.bytes(self.lines.clone())
    }
    pub fn metas(&self) -> &[LineMeta] {
        &self.batch.lines[self.lines.clone()]
    }
}
