//! The daemon loop ([`run`]): one task reads the ring buffer
//! ([`super::ring`]), decodes and formats each record once, numbers it
//! (`seq`), and offers the lines to every sink's bounded queue
//! ([`Drainer`], `drainer.rs`). It never waits for a sink: what a full
//! queue cannot take is dropped for that sink and counted
//! ([`super::loss`]).
//!
//! The same task polls the kernel's loss counters (per CPU) every
//! [`LOSS_POLL`] (every [`IDLE_SAFETY_TICK`] while idle) and turns every new loss into a `lost` record in the stream,
//! emits `stats` records on `--stats-interval` ([`super::stats`]), refreshes the snapshot behind
//! `--metrics`, reopens files on SIGHUP, and on SIGINT/SIGTERM drains what
//! the kernel has committed, flushes every sink and stops within
//! [`SHUTDOWN_BOUND`] even if a sink is dead. Its waits are the runtime's
//! timers, never a blocking sleep: the metrics endpoint, on the same
//! runtime, keeps answering through the shutdown.
//!
//! `seq` is gapless over every record emitted (syscall, lost, stats), so a
//! consumer that sees a gap knows it lost something, and a `lost` record
//! tells it what.
//!
//! With `tracer -- CMD` the drain also waits for CMD: it releases the held
//! command once the handlers are in place, passes SIGINT/SIGTERM on to it,
//! and stops (after draining) when it exits.

use std::os::fd::AsFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use aya::maps::{MapData, RingBuf};
use tokio::{
    io::unix::AsyncFd,
    signal::unix::{SignalKind, signal},
    sync::mpsc::UnboundedReceiver,
};

use crate::kernel::load::Loaded;
use crate::launch::HeldCommand;
use crate::pipeline::ring::{DrainTimer, MAX_PER_WAKE, drain_ring};
#[cfg(doc)]
use crate::pipeline::ring::IDLE_SAFETY_TICK;
use crate::sink::{Queue, SinkCounters, SinkEvent};
// Where callers have always found them.
pub use crate::pipeline::drainer::{Drainer, SHUTDOWN_BOUND};
pub use crate::pipeline::loss::SinkSlot;
pub use crate::pipeline::ring::DRAIN_TICK;

/// How often kernel loss counters (and sink drops) are checked: a loss shows
/// up as a `lost` record within this long. An idle daemon checks on its
/// [`IDLE_SAFETY_TICK`] instead: idle, nothing is written, so no sink can
/// drop, and the only kernel loss possible is a call the kernel side could
/// not stash at entry, which then shows within a second.
pub const LOSS_POLL: Duration = Duration::from_millis(500);

pub enum Outcome {
    /// Stopped by SIGINT/SIGTERM.
    Signalled,
    /// The reader of stdout went away (EPIPE): stop quietly.
    OutputClosed,
    /// The launched command exited with this wait status.
    CommandExited(libc::c_int),
}

/// Waits for the launched command, if there is one; never resolves otherwise.
async fn command_exit(command: &mut Option<&mut HeldCommand>) -> std::io::Result<libc::c_int> {
    match command {
        Some(c) => c.wait().await,
        None => std::future::pending().await,
    }
}

pub struct RunOptions {
    pub stats_interval: Option<Duration>,
    pub sink_events: UnboundedReceiver<SinkEvent>,
    pub signals: Signals,
}

/// SIGINT/SIGTERM/SIGHUP handlers, installed before tracer says it is
/// attached, so that a signal sent right after that line is handled, not
/// fatal.
pub struct Signals {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

impl Signals {
    /// Must run inside the runtime (`Runtime::enter`).
    pub fn install() -> std::io::Result<Signals> {
        Ok(Signals { int: signal(SignalKind::interrupt())?, term: signal(SignalKind::terminate())?, hup: signal(SignalKind::hangup())? })
    }
}

/// Drains until SIGINT/SIGTERM, or, with a launched `command` (released
/// here), until it exits: then the signals are passed on to it instead, as
/// strace does. A [`crate::launch::LaunchError`] in the error chain means
/// the command could not be exec'd.
pub async fn run(
    loaded: &Loaded,
    ring: RingBuf<MapData>,
    d: &mut Drainer,
    opts: RunOptions,
    mut command: Option<&mut HeldCommand>,
) -> anyhow::Result<Outcome> {
    d.watch_fill(ring.as_fd());
    // SAFETY: the AsyncFd owns the ring buffer, and with it the map fd, for
    // as long as it is registered; nothing else closes that fd.
    let mut afd = unsafe { AsyncFd::register_with_interest(ring, tokio::io::Interest::READABLE) }
        .map_err(|e| e.into_parts().1)
        .context("polling the ring buffer")?;
    let Signals { int: mut sigint, term: mut sigterm, hup: mut sighup } = opts.signals;
    let mut loss = tokio::time::interval(LOSS_POLL);
    loss.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The kernel side wakes us only once `wakeup_bytes` wait (see
    // `load`): this drains what a quieter period leaves below that.
    let mut drain = DrainTimer::new(&loaded.reader);
    let mut sink_events = opts.sink_events;
    let mut stats = opts.stats_interval.map(|p| {
        let mut i = tokio::time::interval_at(tokio::time::Instant::now() + p, p);
        i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        i
    });
    // Only now, with the handlers in place, may CMD run: a Ctrl-C from its
    // first instruction on is passed on rather than killing tracer.
    if let Some(c) = command.as_mut() {
        c.release()?;
    }
    let outcome = loop {
        tokio::select! {
            guard = afd.readable_mut() => {
                drain.readable();
                let mut guard = guard?;
                if drain.drain(guard.get_inner_mut(), d) < MAX_PER_WAKE {
                    guard.clear_ready();
                }
            }
            _ = drain.tick.tick() => {
                drain.on_tick(afd.get_mut(), d);
                // Idle, the loss poll rides on the safety tick: one timer
                // to wake for, not two.
                if drain.idle {
                    d.poll_loss(loaded);
                }
            }
            _ = loss.tick(), if !drain.idle => d.poll_loss(loaded),
            _ = async { match stats.as_mut() { Some(i) => i.tick().await, None => std::future::pending().await } } => {
                d.emit_stats(loaded);
            }
            _ = sighup.recv() => {
                log::info!("SIGHUP: reopening files");
                d.reopen();
            }
            ev = sink_events.recv() => match ev {
                Some(SinkEvent::OutputClosed) => break Outcome::OutputClosed,
                None => {}
            },
            status = command_exit(&mut command) => {
                break Outcome::CommandExited(status.context("waiting for the command")?);
            }
            _ = sigint.recv() => match &command {
                Some(c) => c.signal(libc::SIGINT),
                None => break Outcome::Signalled,
            },
            _ = sigterm.recv() => match &command {
                Some(c) => c.signal(libc::SIGTERM),
                None => break Outcome::Signalled,
            },
        }
    };
    let deadline = Instant::now() + SHUTDOWN_BOUND;
    if let Outcome::Signalled | Outcome::CommandExited(_) = outcome {
        // What the kernel committed before we stopped still goes out.
        while drain_ring(afd.get_mut(), d) >= MAX_PER_WAKE && Instant::now() < deadline {}
    }
    // A closed stdout takes no more lines; otherwise the stream ends with
    // the totals, however short the run was against the interval.
    let final_stats = stats.is_some() && !matches!(outcome, Outcome::OutputClosed);
    d.finish(loaded, deadline, final_stats).await;
    Ok(outcome)
}

/// Starts each open sink's thread behind a queue of `queue_size` bytes.
pub fn spawn_sinks(open: Vec<crate::sink::OpenSink>, queue_size: u64) -> anyhow::Result<(Vec<SinkSlot>, UnboundedReceiver<SinkEvent>)> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let mut slots = Vec::new();
    for crate::sink::OpenSink { spec, writer } in open {
        let queue = Arc::new(Queue::new(usize::try_from(queue_size).unwrap_or(usize::MAX)));
        let counters = Arc::new(SinkCounters::default());
        let index = u16::try_from(slots.len()).context("too many sinks")?;
        let ctx = crate::sink::SinkContext { index, queue: Arc::clone(&queue), counters: Arc::clone(&counters), events: tx.clone() };
        let name = spec.name();
        let thread = crate::sink::spawn(name.clone(), writer, ctx).context("starting a sink thread")?;
        slots.push(SinkSlot::new(name, queue, counters, thread));
    }
    Ok((slots, rx))
}
