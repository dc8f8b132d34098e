//! The kernel side as userspace sees it: loading and attaching the BPF
//! programs ([`load`]) on the hooks [`attach`] picks, what a verifier rejection says ([`verifier`]),
//! the kernel struct offsets they need from BTF
//! ([`btf`]), and the process filters they apply ([`filter`]); the kernel
//! side's counters ([`counters`]) and the map memory the daemon maps to read
//! them, to say what it is doing and to see the ring's fill ([`mmap`]).

pub mod attach;
pub(crate) mod btf;
pub(crate) mod counters;
pub mod filter;
pub mod load;
pub(crate) mod mmap;
pub(crate) mod verifier;
