//! The daemon loop ([`daemon`]): drain the ring, decode, render through
//! [`output`] into batches with seq numbers, account every loss, hand the
//! batches to the sinks; [`report`] holds the loss and stats records
//! ([`report_text`]: their `--format text` lines).

pub mod cgroup_watch;
pub mod daemon;
pub mod output;
pub mod report;
pub mod report_text;
pub mod start;
