//! What the records mean: typed events decoded from the ring's bytes
//! ([`decode`]), the process tables that enrich events ([`procs`]) and
//! join them into lifecycle records ([`correlate`]), built on [`tree`],
//! and the names of syscalls and kernel constants.

pub mod cgroups;
pub(crate) mod comm;
pub(crate) mod correlate;
pub mod decode;
pub mod identity;
pub(crate) mod lineage;
pub mod names;
pub mod procs;
pub mod syscalls;
pub(crate) mod tree;
pub mod wait;
