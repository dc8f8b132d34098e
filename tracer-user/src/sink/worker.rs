//! A sink's thread: what it is given ([`SinkContext`]), what a sink
//! implements ([`Writer`]), and the loop around it ([`spawn`]): take what
//! is queued, write it, count what was written and what failed, release
//! the bytes.

use std::sync::Arc;
use std::time::Duration;

use crate::sink::{Chunk, ErrorLog, Queue, SinkCounters};

/// Sent by a sink's thread to the drain.
#[derive(Debug)]
pub enum SinkEvent {
    /// stdout's reader went away (EPIPE): tracer stops quietly, like any
    /// filter in a pipeline.
    OutputClosed,
}

/// What a sink's thread is given.
pub struct SinkContext {
    /// This sink's index in the drain's list.
    pub index: u16,
    pub queue: Arc<Queue>,
    pub counters: Arc<SinkCounters>,
    pub events: tokio::sync::mpsc::UnboundedSender<SinkEvent>,
}

/// How often an idle sink wakes for housekeeping where it has some
/// ([`Writer::tick_every`]): noticing that stdout's reader went away,
/// closing the per-process files of processes that are gone.
pub const IDLE_TICK: Duration = Duration::from_millis(200);
/// How long a sink with no housekeeping waits for work: the queue wakes it
/// for a batch, SIGHUP and shutdown, so this is only a bound.
const NO_TICK: Duration = Duration::from_secs(3600);

/// The part every sink implements; the loop around it is [`run_worker`].
pub trait Writer: Send {
    /// Writes the chunk's lines. An error is logged and the lines counted
    /// as write errors; [`WriteError::Closed`] ends the sink.
    fn write(&mut self, chunk: &Chunk, ctx: &SinkContext) -> Result<(), WriteError>;
    /// Writes the chunks taken in one round, in order; one result per
    /// chunk (fewer: the rest were not tried and count as failed). A sink
    /// that batches across chunks (Kafka) overrides it.
    fn write_many(&mut self, chunks: &[Chunk], ctx: &SinkContext) -> Vec<Result<(), WriteError>> {
        let mut v = Vec::with_capacity(chunks.len());
        for c in chunks {
            let r = self.write(c, ctx);
            let stop = matches!(r, Err(WriteError::Closed | WriteError::GaveUp));
            v.push(r);
            if stop {
                break;
            }
        }
        v
    }
    /// Once lines arrive, wait this long for more before writing (fuller
    /// requests for a sink that pays per request); `None`: write at once.
    fn linger(&self) -> Option<Duration> {
        None
    }
    /// SIGHUP: reopen files (logrotate renamed them).
    fn reopen(&mut self) -> std::io::Result<()> {
        Ok(())
    }
    /// How often [`Writer::tick`] must run while nothing is written;
    /// `None`: it has nothing to do then, and an idle sink sleeps until the
    /// queue wakes it.
    fn tick_every(&self) -> Option<Duration> {
        None
    }
    /// Called after each round of writes, and at least every
    /// [`Writer::tick_every`].
    fn tick(&mut self, _ctx: &SinkContext) -> Result<(), WriteError> {
        Ok(())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The destination is gone for good (stdout's reader exited).
    #[error("output closed")]
    Closed,
    /// Shutdown began while the destination was unreachable: give up on
    /// what is left.
    #[error("gave up at shutdown: destination unreachable")]
    GaveUp,
    /// Only the lines at `failed` (indices within the chunk, ascending)
    /// could not be written.
    #[error("{error} ({} lines not written)", failed.len())]
    Some { failed: Vec<u32>, error: std::io::Error },
}

impl WriteError {
    /// A batch sink's (Kafka, OTLP) result per chunk: `failed[c]` holds the
    /// indices of chunk `c`'s lines that were not delivered, `error` says
    /// why (the last failure seen).
    pub fn per_chunk(failed: Vec<Vec<u32>>, error: &str) -> Vec<Result<(), WriteError>> {
        failed
            .into_iter()
            .map(|mut f| {
                if f.is_empty() {
                    return Ok(());
                }
                f.sort_unstable();
                Err(WriteError::Some { failed: f, error: std::io::Error::other(error.to_owned()) })
            })
            .collect()
    }
}

/// Runs `w` on its own thread until the queue is closed and emptied (or the
/// writer gives up).
pub fn spawn(name: String, mut w: Box<dyn Writer>, ctx: SinkContext) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name(format!("sink {}", name.chars().take(10).collect::<String>()))
        .spawn(move || run_worker(&name, w.as_mut(), &ctx))
}

fn run_worker(name: &str, w: &mut dyn Writer, ctx: &SinkContext) {
    let mut log = ErrorLog::new(name);
    let report = |l: Option<String>| {
        if let Some(l) = l {
            log::warn!("{l}");
        }
    };
    let mut giving_up = false;
    let every = w.tick_every().unwrap_or(NO_TICK);
    loop {
        let mut taken = ctx.queue.take(every);
        if let Some(l) = w.linger()
            && !taken.chunks.is_empty()
            && !taken.closed
        {
            ctx.queue.sleep_unless_closed(l);
            let more = ctx.queue.take(Duration::ZERO);
            taken.chunks.extend(more.chunks);
            taken.reopen |= more.reopen;
            taken.closed = more.closed;
        }
        if taken.reopen
            && let Err(e) = w.reopen()
        {
            report(log.error(std::time::Instant::now(), &format_args!("reopening: {e}"), 0));
        }
        let mut results = if giving_up || taken.chunks.is_empty() { vec![] } else { w.write_many(&taken.chunks, ctx) }.into_iter();
        for chunk in &taken.chunks {
            let n = chunk.lines.len();
            let all = || (0..n as u32).collect::<Vec<_>>();
            let failed = if giving_up {
                all()
            } else {
                match results.next().unwrap_or(Err(WriteError::GaveUp)) {
                    Ok(()) => {
                        report(log.ok(std::time::Instant::now()));
                        vec![]
                    }
                    Err(WriteError::Closed) => {
                        let _ = ctx.events.send(SinkEvent::OutputClosed);
                        giving_up = true;
                        all()
                    }
                    Err(WriteError::GaveUp) => {
                        giving_up = true;
                        all()
                    }
                    Err(WriteError::Some { failed, error }) => {
                        report(log.error(std::time::Instant::now(), &error, failed.len() as u64));
                        failed
                    }
                    Err(e) => {
                        report(log.error(std::time::Instant::now(), &e, n as u64));
                        all()
                    }
                }
            };
            ctx.counters.add_written(n - failed.len());
            ctx.counters.add_failed(chunk, &failed);
            ctx.counters.settle_reports(chunk, ctx.index, &failed);
            ctx.queue.release(chunk.bytes().len());
        }
        if !taken.chunks.is_empty()
            && let Err(e) = w.flush()
        {
            report(log.error(std::time::Instant::now(), &format_args!("flushing: {e}"), 0));
        }
        if !giving_up {
            match w.tick(ctx) {
                Err(WriteError::Closed) => {
                    let _ = ctx.events.send(SinkEvent::OutputClosed);
                    giving_up = true;
                }
                Err(e) => report(log.error(std::time::Instant::now(), &e, 0)),
                Ok(()) => {}
            }
        }
        if taken.closed && taken.chunks.is_empty() {
            let _ = w.flush();
            return;
        }
    }
}
