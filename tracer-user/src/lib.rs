//! tracer's daemon as a library: modules follow the data flow
//! (`cli` → `filter`/`launch` → `load` → `daemon` drain → `decode` →
//! `args`/`format` → `sink`s), with `report` (lost/stats records),
//! `metrics` and `config` beside it.

pub mod args;
pub mod btf;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod decode;
pub mod filter;
pub mod format;
pub mod json;
pub mod launch;
pub mod load;
pub mod metrics;
pub mod names;
pub mod privilege;
pub mod report;
pub mod sink;
pub mod syscall_table;
