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

    // ---- output shape and lifecycle events (issue 4) ----
    /// Output format: `json` (one object per line, docs/schema.json) or
    /// `text` (strace's line shape, for people).
    #[arg(long, value_name = "FORMAT", default_value = "json", value_parser = parse_format, env = "TRACER_FORMAT")]
    pub format: crate::output::Format,

    /// Do not join raw events into thread_create / reaped / unreaped records.
    #[arg(long, env = "TRACER_NO_CORRELATE")]
    pub no_correlate: bool,

    /// Do not attach the fork/exec/exit/signal hooks (no lifecycle events,
    /// and no cost on the machine's forks, exits and signals).
    #[arg(long, env = "TRACER_NO_LIFECYCLE")]
    pub no_lifecycle: bool,
}

pub fn parse_format(s: &str) -> Result<crate::output::Format, String> {
    match s {
        "json" => Ok(crate::output::Format::Json),
        "text" => Ok(crate::output::Format::Text),
        _ => Err(format!("unknown format '{}' (json or text)", s.escape_default())),
    }
}

/// Parses `--syscalls`: names → numbers, rejecting unknown names. `all`
/// is every syscall number; `%process`, `%memory`, `%signal` are strace's
/// classes (`syscall_groups`).
pub fn parse_syscalls(list: &str) -> Result<Vec<u32>, String> {
    let mut out = Vec::new();
    let mut add = |nr: u32| {
        if !out.contains(&nr) {
            out.push(nr);
        }
    };
    for name in list.split(',').map(str::trim) {
        if name.is_empty() {
            continue;
        }
        if name == "all" {
            (0..tracer_common::SYSCALL_BITMAP_BITS as u32).for_each(&mut add);
            continue;
        }
        if name.starts_with('%') {
            let members = crate::syscall_groups::group(name).ok_or_else(|| {
                format!("unknown syscall class '{}' (%process, %memory or %signal)", name.escape_default())
            })?;
            for m in members {
                add(crate::syscall_table::number(m).expect("syscall_groups names only known syscalls"));
            }
            continue;
        }
        let nr = crate::syscall_table::number(name).ok_or_else(|| {
            format!("unknown syscall '{}' (x86-64 syscall names, e.g. {DEFAULT_SYSCALLS}, a class such as %process, or all)", name.escape_default())
        })?;
        add(nr);
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
    fn all_and_strace_classes() {
        let all = parse_syscalls("all").unwrap();
        assert_eq!(all.len(), tracer_common::SYSCALL_BITMAP_BITS);
        let mem = parse_syscalls("%memory").unwrap();
        assert!(mem.contains(&9) && mem.contains(&12) && !mem.contains(&56));
        // A class and names mix; duplicates collapse.
        let mix = parse_syscalls("%process,mmap,clone").unwrap();
        assert_eq!(mix.iter().filter(|&&n| n == 56).count(), 1);
        assert!(mix.contains(&9) && mix.contains(&231) && mix.contains(&61));
        assert!(parse_syscalls("%files").unwrap_err().contains("unknown syscall class '%files'"));
        assert_eq!(parse_format("text"), Ok(crate::output::Format::Text));
        assert!(parse_format("yaml").is_err());
        let c = Cli::try_parse_from(["tracer", "--format", "text", "--no-correlate"]).unwrap();
        assert_eq!((c.format, c.no_correlate, c.no_lifecycle), (crate::output::Format::Text, true, false));
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
