//! `tracer-record OUT COUNT CMD [ARGS…]`: attach tracer's programs (default
//! syscalls, default ring buffer), run CMD, and write up to COUNT raw
//! ring-buffer records — whatever the machine produced while CMD ran — to
//! OUT, each as a little-endian u32 length followed by the record's bytes.
//! A tool for `cargo xtask bench` (its replay benchmark reads OUT with
//! `tracer-replay`), not part of the product.

use std::io::{BufWriter, Write as _};
use std::os::fd::AsRawFd as _;
use std::process::{Command, ExitCode};

use tracer_user::cli::{DEFAULT_RINGBUF_SIZE, DEFAULT_SYSCALLS, parse_syscalls};
use tracer_user::kernel::load::{LoadOptions, load};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tracer-record: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [out, count, cmd @ ..] = &args[..] else {
        return Err("usage: tracer-record OUT COUNT CMD [ARGS...]".into());
    };
    let Some((program, cmd_args)) = cmd.split_first() else {
        return Err("usage: tracer-record OUT COUNT CMD [ARGS...]".into());
    };
    let count: usize = count.parse().map_err(|_| format!("COUNT must be a number, got {count:?}"))?;

    let opts = LoadOptions { syscalls: parse_syscalls(DEFAULT_SYSCALLS)?, ringbuf_size: DEFAULT_RINGBUF_SIZE, ..Default::default() };
    let mut loaded = load(&opts).map_err(|e| format!("{e:#}"))?;
    let mut ring = loaded.take_ring().map_err(|e| format!("{e:#}"))?;
    let file = std::fs::File::create(out).map_err(|e| format!("creating {out}: {e}"))?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    eprintln!("tracer-record: attached, recording up to {count} records while {program} runs");

    let mut child = Command::new(program).args(cmd_args).spawn().map_err(|e| format!("starting {program}: {e}"))?;
    let mut n = 0usize;
    let mut write_err = None;
    let mut drain = |ring: &mut aya::maps::RingBuf<aya::maps::MapData>, n: &mut usize| {
        while *n < count {
            let Some(item) = ring.next() else { break };
            let r = w.write_all(&(item.len() as u32).to_le_bytes()).and_then(|()| w.write_all(&item));
            if let Err(e) = r {
                write_err.get_or_insert(e);
            }
            *n += 1;
        }
    };
    let status = loop {
        let mut pfd = libc::pollfd { fd: ring.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        unsafe { libc::poll(&mut pfd, 1, 50) };
        drain(&mut ring, &mut n);
        if let Some(status) = child.try_wait().map_err(|e| format!("waiting for {program}: {e}"))? {
            break status;
        }
    };
    drain(&mut ring, &mut n);
    if let Some(e) = write_err {
        return Err(format!("writing {out}: {e}"));
    }
    w.flush().map_err(|e| format!("writing {out}: {e}"))?;
    if !status.success() {
        return Err(format!("{program} failed ({status})"));
    }
    eprintln!("tracer-record: {n} records written to {out}");
    Ok(())
}
