//! tracer's daemon as a library: modules follow the data flow
//! (`cli` → `filter`/`launch` → `load` → `daemon` drain → `decode` →
//! `output`: `procs` enrich, `args`/`format`/`format_lifecycle` JSON or
//! `text`, `correlate` → stdout).

pub mod args;
pub mod btf;
pub mod cli;
pub mod correlate;
pub mod daemon;
pub mod decode;
pub mod filter;
pub mod format;
pub mod format_lifecycle;
pub mod json;
pub mod launch;
pub mod load;
pub mod names;
pub mod output;
pub mod procs;
pub mod syscall_args;
pub mod syscall_groups;
pub mod syscall_table;
pub mod text;
