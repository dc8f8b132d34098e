//! `tracer-replay FILE [SECONDS]`: the userspace half of tracer's cost per
//! event, without the kernel. Reads raw records written by `tracer-record`,
//! then feeds them to the daemon's own per-record path (`daemon::Drainer`:
//! `decode` + `write_json_line` into its reused buffer, handed on every
//! 64 KiB) with no sink attached, pass after pass, for at least SECONDS of
//! CPU time (default 2; a quarter more for decode alone).
//! Prints one `key=value` line on stdout for `cargo xtask bench`. A
//! benchmark tool, not part of the product.
//!
//! `tracer-replay --dump FILE` instead writes the JSON lines themselves
//! (clock offset 0, so the output depends on the records alone): a golden
//! file for checking that a faster formatter writes the very same bytes.
//! `tracer-replay --dump-correlated FILE` writes what the daemon would: each
//! event's line followed by the `thread_create`/`reaped`/`unreaped` records
//! it completes (the path the timed passes take).
//!
//! Time is this thread's CPU time (CLOCK_THREAD_CPUTIME_ID), not wall time:
//! the cost of an event is what it takes of a core, and other work on a
//! shared machine then only shows through caches.

use std::hint::black_box;
use std::process::ExitCode;
use std::time::Duration;

use tracer_user::pipeline::daemon::Drainer;
use tracer_user::model::decode::decode;
use tracer_user::render::{clock::Clock, json_line::write_json_line};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tracer-replay: {e}");
            ExitCode::FAILURE
        }
    }
}

fn read_records(path: &str) -> Result<Vec<Vec<u8>>, String> {
    let data = std::fs::read(path).map_err(|e| format!("reading {path}: {e}"))?;
    let mut records = Vec::new();
    let mut rest = &data[..];
    while !rest.is_empty() {
        let (len, tail) = rest.split_at_checked(4).ok_or_else(|| format!("{path}: truncated length"))?;
        let len = u32::from_le_bytes(len.try_into().unwrap()) as usize;
        let (rec, tail) = tail.split_at_checked(len).ok_or_else(|| format!("{path}: truncated record"))?;
        records.push(rec.to_vec());
        rest = tail;
    }
    Ok(records)
}

/// CPU time this thread has used, in nanoseconds.
fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: a valid clock id and a valid timespec to write.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Runs `pass` until `min` of CPU time has gone (at least 3 passes);
/// returns CPU nanoseconds per pass.
fn time_passes(min: Duration, mut pass: impl FnMut()) -> f64 {
    pass(); // warm caches and the output buffer
    let min = min.as_nanos() as u64;
    let start = thread_cpu_ns();
    let mut passes = 0u32;
    while passes < 3 || thread_cpu_ns() - start < min {
        pass();
        passes += 1;
    }
    (thread_cpu_ns() - start) as f64 / f64::from(passes)
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, path] = &args[..] {
        match flag.as_str() {
            "--dump" => return dump(path),
            "--dump-correlated" => return dump_correlated(path),
            _ => {}
        }
    }
    let (path, seconds) = match &args[..] {
        [p] => (p, 2.0),
        [p, s] => (p, s.parse::<f64>().map_err(|_| format!("SECONDS must be a number, got {s:?}"))?),
        _ => return Err("usage: tracer-replay FILE [SECONDS] | tracer-replay --dump[-correlated] FILE".into()),
    };
    let records = read_records(path)?;
    if records.is_empty() {
        return Err(format!("{path} holds no records"));
    }
    let clock = Clock::now();
    // As the daemon runs: host, boot id, every identity field (unless
    // TRACER_FIELDS says otherwise), TRACER_ANCESTORS ancestors (default 0)
    // and this machine's cgroups resolved.
    let fields = match std::env::var("TRACER_FIELDS") {
        Ok(f) => tracer_user::model::identity::parse_fields(&f)?,
        Err(_) => tracer_user::model::identity::Fields::ALL,
    };
    let ancestors: usize = std::env::var("TRACER_ANCESTORS").ok().and_then(|a| a.parse().ok()).unwrap_or(0);
    tracer_user::model::identity::set(tracer_user::model::identity::Identity::of_this_machine(None, fields));

    // One checked pass first: every record must decode.
    let mut out = Vec::new();
    let mut bytes = 0usize;
    for (i, r) in records.iter().enumerate() {
        let ev = decode(r).map_err(|e| format!("record {i}: {e}"))?;
        out.clear();
        write_json_line(&mut out, &ev, i as u64, &clock);
        bytes += out.len();
    }

    let n = records.len() as f64;
    let decode_ns = time_passes(Duration::from_secs_f64(seconds / 4.0), || {
        for r in &records {
            let _ = black_box(decode(black_box(r)));
        }
    }) / n;
    // No sinks: each 64 KiB batch is formatted, copied for the (absent)
    // queues and dropped — the drain's own cost, none of a sink's. As the
    // daemon runs by default: JSON, with correlation.
    let output = tracer_user::pipeline::output::Output::new(tracer_user::pipeline::output::Format::Json, clock, true, Default::default())
        .with_ancestors(ancestors)
        .with_cgroups(tracer_user::model::cgroups::CgroupResolver::for_this_machine());
    let mut drainer = Drainer::new(Vec::new(), clock, 4096, Default::default(), output);
    let total_ns = time_passes(Duration::from_secs_f64(seconds), || {
        for r in &records {
            drainer.record(black_box(r));
        }
        drainer.dispatch();
    }) / n;
    println!(
        "records={} ns_per_event={total_ns:.1} events_per_s={:.0} decode_ns_per_event={decode_ns:.1} json_bytes_per_event={:.0}",
        records.len(),
        1e9 / total_ns,
        bytes as f64 / n
    );
    Ok(())
}

fn dump(path: &str) -> Result<(), String> {
    use std::io::Write as _;
    let clock = Clock::with_offset(0);
    let mut out = Vec::new();
    for (i, r) in read_records(path)?.iter().enumerate() {
        let ev = decode(r).map_err(|e| format!("record {i}: {e}"))?;
        write_json_line(&mut out, &ev, i as u64, &clock);
    }
    std::io::stdout().lock().write_all(&out).map_err(|e| format!("writing stdout: {e}"))
}

fn dump_correlated(path: &str) -> Result<(), String> {
    use std::io::Write as _;
    use tracer_user::pipeline::output::{Format, Output};
    let mut output = Output::new(Format::Json, Clock::with_offset(0), true, Default::default());
    let (mut out, mut seq) = (Vec::new(), 0u64);
    for (i, r) in read_records(path)?.iter().enumerate() {
        let mut ev = decode(r).map_err(|e| format!("record {i}: {e}"))?;
        output.render(&mut ev, &mut seq, &mut out, |_| {});
    }
    std::io::stdout().lock().write_all(&out).map_err(|e| format!("writing stdout: {e}"))
}
