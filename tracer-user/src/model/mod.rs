//! What the records mean: typed events decoded from the ring's bytes
//! ([`decode`]), the process tables that enrich events ([`procs`]) and
//! join them into lifecycle records ([`correlate`]), built on [`tree`],
//! and the names of syscalls and kernel constants.

pub mod cgroups;
pub mod comm;
pub mod correlate;
pub mod decode;
pub mod identity;
pub mod lineage;
pub mod names;
pub mod procs;
pub mod syscalls;
pub mod tree;
pub mod wait;
