//! Command-line interface: parsing and validation only (pure, testable).

use clap::Parser;

/// Syscalls traced when `--syscalls` is not given.
pub const DEFAULT_SYSCALLS: &str = "clone,clone3,mmap,mprotect,wait4";

/// Default ring buffer: 8 MiB holds ~58,000 plain records (144 bytes each).
/// At the ~1-2 million records/s a 2-core machine can produce in a storm of
/// traced calls, that is 30-60 ms of slack for the reader — several times
/// the drain loop's worst wake-up latency — for memory that is only touched
/// when used.
pub const DEFAULT_RINGBUF_SIZE: u32 = 8 << 20;

#[derive(Debug, Parser)]
#[command(
    name = "tracer",
    version,
    about = "Low-overhead eBPF tracer for thread and process creation: clone, clone3, mmap, mprotect, wait4 as JSON lines",
    after_help = "Events go to stdout as one JSON object per line; tracer's own messages go to stderr.\n\
                  Once the programs are attached, tracer prints a line starting with `tracer: attached` on stderr.\n\
                  SIGINT/SIGTERM: stop, drain what the kernel has queued, print counters to stderr, exit 0.\n\n\
                  Examples:\n  tracer                          trace the five default syscalls machine-wide\n  tracer --syscalls clone,clone3  only thread/process creation\n  tracer --ringbuf-size 32M       a larger ring buffer for bursty machines"
)]
pub struct Cli {
    /// Comma-separated syscall names to trace (x86-64 names, as in strace).
    #[arg(long, value_name = "LIST", default_value = DEFAULT_SYSCALLS, env = "TRACER_SYSCALLS")]
    pub syscalls: String,

    /// Ring buffer size in bytes; a power of two, at least one page (suffixes K, M, G accepted).
    #[arg(long, value_name = "BYTES", default_value = "8M", value_parser = parse_ringbuf_size, env = "TRACER_RINGBUF_SIZE")]
    pub ringbuf_size: u32,
}

/// Parses `--syscalls`: names → numbers, rejecting unknown names.
pub fn parse_syscalls(list: &str) -> Result<Vec<u32>, String> {
    let mut out = Vec::new();
    for name in list.split(',').map(str::trim) {
        if name.is_empty() {
            continue;
        }
        let nr = crate::syscall_table::number(name).ok_or_else(|| {
            format!("unknown syscall '{}' (x86-64 syscall names, e.g. {DEFAULT_SYSCALLS})", name.escape_default())
        })?;
        if !out.contains(&nr) {
            out.push(nr);
        }
    }
    if out.is_empty() {
        return Err("--syscalls names no syscall".into());
    }
    Ok(out)
}

pub fn parse_ringbuf_size(s: &str) -> Result<u32, String> {
    let t = s.trim();
    let (num, mult) = match t.as_bytes().last() {
        Some(b'K' | b'k') => (&t[..t.len() - 1], 1u64 << 10),
        Some(b'M' | b'm') => (&t[..t.len() - 1], 1 << 20),
        Some(b'G' | b'g') => (&t[..t.len() - 1], 1 << 30),
        _ => (t, 1),
    };
    let n: u64 = num.parse().map_err(|_| format!("'{s}' is not a size in bytes"))?;
    let bytes = n.checked_mul(mult).ok_or_else(|| format!("'{s}' is too large"))?;
    let page = 4096;
    if bytes < page || !bytes.is_power_of_two() || bytes > 1 << 30 {
        return Err(format!("ring buffer size must be a power of two between 4K and 1G, got {bytes}"));
    }
    Ok(bytes as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syscall_names_resolve_and_unknown_ones_are_errors() {
        assert_eq!(parse_syscalls(DEFAULT_SYSCALLS).unwrap(), vec![56, 435, 9, 10, 61]);
        assert_eq!(parse_syscalls("mmap, mmap").unwrap(), vec![9]);
        let e = parse_syscalls("mmap,frobnicate").unwrap_err();
        assert!(e.contains("unknown syscall 'frobnicate'"), "{e}");
        assert!(parse_syscalls("\x1b[31m").unwrap_err().contains("\\u{1b}"));
        assert!(parse_syscalls(",").is_err());
    }

    #[test]
    fn ringbuf_sizes() {
        assert_eq!(parse_ringbuf_size("8M"), Ok(8 << 20));
        assert_eq!(parse_ringbuf_size("4096"), Ok(4096));
        assert_eq!(parse_ringbuf_size("64k"), Ok(64 << 10));
        assert!(parse_ringbuf_size("3M").is_err());
        assert!(parse_ringbuf_size("2048").is_err());
        assert!(parse_ringbuf_size("2G").is_err());
        assert!(parse_ringbuf_size("lots").is_err());
        assert!(parse_ringbuf_size("99999999999999999999G").is_err());
    }

    #[test]
    fn defaults() {
        let c = Cli::try_parse_from(["tracer"]).unwrap();
        assert_eq!(c.ringbuf_size, DEFAULT_RINGBUF_SIZE);
        assert_eq!(c.syscalls, DEFAULT_SYSCALLS);
    }
}
