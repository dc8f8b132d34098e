//! tracer's daemon as a library. The folders are layers in the order the
//! data flows, and a layer only imports the ones before it (checked by
//! the `layers` test):
//!
//! - [`kernel`]: the BPF side as seen from here — load and attach, BTF
//!   offsets, filters, kernel counters.
//! - [`model`]: records decoded into typed events, the process tables
//!   (enrichment, correlation), syscall and constant names.
//! - [`render`]: events as JSON lines or strace-style text.
//! - [`sink`]: where lines go — stdout, files, directories, sockets,
//!   syslog, TCP/TLS — each on its own thread behind a queue.
//! - [`launch`]: the traced command, held until tracing is attached.
//! - [`pipeline`]: the daemon loop that drains the ring into batches with
//!   seq numbers, accounts every loss, and hands lines to the sinks.
//! - [`metrics`], [`privilege`], [`cli`], [`config`]: the program around
//!   the pipeline.
//! - [`view`]: `tracer view`, a trace turned into an HTML page or a
//!   Perfetto trace (reads JSON lines; no kernel).

pub mod kernel;
pub mod model;
pub mod render;
pub mod sink;
pub mod launch;
pub mod pipeline;
pub mod metrics;
pub mod privilege;
pub mod cli;
pub mod config;
pub mod view;

#[cfg(test)]
mod layers;
