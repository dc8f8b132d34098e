//! The kernel side's counters: the `COUNTERS` array (see
//! `tracer-ebpf/src/main.rs`), one stride of u64s per possible CPU, mapped
//! read-only at load time and read per CPU ([`PerCpuCounters`]) or summed
//! ([`Counters`]).

use std::sync::atomic::Ordering;

use anyhow::anyhow;
use aya::maps::MapData;
use tracer_common::{COUNTER_COUNT, COUNTER_STRIDE, Counter, IN_FLIGHT_SLOT};

use crate::kernel::mmap::Mapping;

/// The `COUNTERS` array, mapped read-only.
pub(crate) struct CounterMap {
    mapping: Mapping,
    cpus: usize,
    /// Keeps the map's fd (the mapping alone would keep the map alive too).
    _map: MapData,
}

impl CounterMap {
    pub(crate) fn new(map: MapData, cpus: usize) -> std::io::Result<CounterMap> {
        use std::os::fd::AsFd as _;
        let mapping = Mapping::new(map.fd().as_fd(), 0, cpus * COUNTER_STRIDE as usize * 8, false)?;
        Ok(CounterMap { mapping, cpus, _map: map })
    }

    fn get(&self, cpu: usize, c: usize) -> u64 {
        debug_assert!(cpu < self.cpus && c < COUNTER_STRIDE as usize);
        // The kernel writes these u64s with plain aligned stores.
        self.mapping.u64_at(cpu * COUNTER_STRIDE as usize + c).load(Ordering::Relaxed)
    }

    /// Traced calls in flight now (entered, not yet returned): the sum over
    /// CPUs of the gauge in [`tracer_common::IN_FLIGHT_SLOT`]. Read while
    /// calls come and go, it can be off by the calls that entered on one
    /// CPU and left on another during the read (even −1 for an instant).
    pub(crate) fn calls_in_flight(&self) -> i64 {
        (0..self.cpus).fold(0u64, |sum, cpu| sum.wrapping_add(self.get(cpu, IN_FLIGHT_SLOT as usize))) as i64
    }

    /// Every counter, one value per possible CPU. Memory reads only: works
    /// without any privilege.
    pub(crate) fn per_cpu(&self) -> PerCpuCounters {
        let values = (0..COUNTER_COUNT as usize).map(|c| (0..self.cpus).map(|cpu| self.get(cpu, c)).collect()).collect();
        PerCpuCounters { values, calls_in_flight: self.calls_in_flight() }
    }
}

/// Kernel-side counters per CPU: `values[counter][cpu]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PerCpuCounters {
    pub values: Vec<Vec<u64>>,
    /// The calls-in-flight gauge, already summed (one CPU's share means
    /// nothing on its own).
    pub calls_in_flight: i64,
}

impl PerCpuCounters {
    pub fn get(&self, c: Counter) -> &[u64] {
        self.values.get(c as usize).map(Vec::as_slice).unwrap_or(&[])
    }

    pub fn sum(&self) -> Counters {
        let mut c = Counters { calls_in_flight: self.calls_in_flight, ..Counters::default() };
        for (slot, per_cpu) in c.values.iter_mut().zip(&self.values) {
            *slot = per_cpu.iter().sum();
        }
        c
    }
}

/// Kernel-side counters summed over CPUs, and the calls-in-flight gauge.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    pub values: [u64; COUNTER_COUNT as usize],
    /// Traced calls entered and not yet returned
    /// ([`crate::kernel::load::Loaded::calls_in_flight`]).
    pub calls_in_flight: i64,
}

impl Counters {
    pub fn get(&self, c: Counter) -> u64 {
        self.values[c as usize]
    }
}

/// One past the highest possible CPU id: the kernel's CPU ids (what
/// `bpf_get_smp_processor_id` returns) are below it. Not aya's `nr_cpus`,
/// which counts the possible CPUs: with a gap in the list (`0-3,8`) the
/// highest id is past that count.
pub(crate) fn possible_cpus() -> anyhow::Result<u32> {
    let text = std::fs::read_to_string("/sys/devices/system/cpu/possible")?;
    parse_cpu_list_end(text.trim()).ok_or_else(|| anyhow!("cannot parse {text:?}"))
}

/// `"0-3,8"` → 9.
fn parse_cpu_list_end(list: &str) -> Option<u32> {
    let mut end = None;
    for part in list.split(',') {
        let last = part.rsplit('-').next()?.trim().parse::<u32>().ok()?;
        end = end.max(Some(last + 1));
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_list_end_is_one_past_the_highest_id() {
        assert_eq!(parse_cpu_list_end("0"), Some(1));
        assert_eq!(parse_cpu_list_end("0-1"), Some(2));
        assert_eq!(parse_cpu_list_end("0-3,8"), Some(9));
        assert_eq!(parse_cpu_list_end("0,2-5"), Some(6));
        assert_eq!(parse_cpu_list_end(""), None);
        assert_eq!(parse_cpu_list_end("x"), None);
    }
}
