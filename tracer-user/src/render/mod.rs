//! Typed events → text. JSON lines are the product's contract
//! ([`json_line`] for the dispatch and syscalls, [`json_lifecycle`] for
//! fork/exec/exit/signal and the correlated records, [`json_head`] for what
//! every record starts with, [`json`] the writer); [`text`] is strace's
//! line. [`args`] decodes syscall arguments once ([`params`]: those of
//! syscalls without a decoder), into the [`arg_out::ArgOut`] each format
//! implements (the JSON writer; [`text_args`] for strace's form);
//! [`clock`] stamps time.

pub mod arg_out;
pub mod args;
pub mod clock;
pub mod json;
pub mod json_head;
pub mod json_lifecycle;
pub mod json_line;
pub mod params;
pub mod text;
pub mod text_args;
