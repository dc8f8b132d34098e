//! The daemon: [`daemon`] runs the loop — the ring reader ([`ring`])
//! feeds the [`drainer`], which decodes, renders through [`output`] into
//! batches with seq numbers and hands them to the sinks; every loss is
//! accounted in [`loss`], the statistics kept in [`stats`]; [`report`]
//! writes the `lost` and `stats` records ([`report_text`]: their
//! `--format text` lines), [`start`] the `start` record; [`cgroup_watch`]
//! adds `--container`/`--unit` cgroups as they appear.

pub mod cgroup_watch;
pub mod daemon;
pub(crate) mod drainer;
pub(crate) mod loss;
pub mod output;
pub mod report;
pub mod report_text;
pub(crate) mod ring;
pub mod start;
pub(crate) mod stats;
