//! tracer's daemon as a library: modules follow the data flow
//! (`cli` → `filter`/`launch` → `load` → `daemon` drain → `decode` →
//! `args`/`format` → stdout).

pub mod args;
pub mod btf;
pub mod cli;
pub mod daemon;
pub mod decode;
pub mod filter;
pub mod format;
pub mod json;
pub mod launch;
pub mod load;
pub mod names;
pub mod syscall_table;
