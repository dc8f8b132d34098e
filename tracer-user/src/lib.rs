//! tracer's daemon as a library: modules follow the data flow
//! (`cli` → `filter`/`launch` → `load` → `daemon` drain → `decode` →
//! `output`: `procs` enrich, `args`/`format`/`format_lifecycle` JSON or
//! `text`, `correlate` → `sink`s), with `report` (lost/stats records),
//! `metrics` and `config` beside it.

pub mod args;
pub mod btf;
pub mod cli;
pub mod config;
pub mod correlate;
pub mod daemon;
pub mod decode;
pub mod filter;
pub mod format;
pub mod format_lifecycle;
pub mod json;
pub mod launch;
pub mod load;
pub mod metrics;
pub mod names;
pub mod output;
pub mod privilege;
pub mod procs;
pub mod syscall_args;
pub mod syscall_groups;
pub mod report;
pub mod sink;
pub mod syscall_table;
pub mod text;
pub mod view;
