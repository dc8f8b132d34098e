//! The kernel side as userspace sees it: loading and attaching the BPF
//! programs ([`load`]) on the hooks [`attach`] picks, what a verifier rejection says ([`verifier`]),
//! the kernel struct offsets they need from BTF
//! ([`btf`]), and the process filters they apply ([`filter`]).

pub mod attach;
pub(crate) mod btf;
pub mod filter;
pub mod load;
pub(crate) mod verifier;
