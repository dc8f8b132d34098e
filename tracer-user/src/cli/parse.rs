//! The value parsers behind the flags: each checks one value and says in
//! one line what is wrong with it.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt as _;

use tracer_common::COMM_LEN;

use crate::cli::DEFAULT_SYSCALLS;
use crate::sink::net::Endpoint;

/// A `--comm` NAME as the kernel stores it. The bytes are taken as given
/// (a comm may hold any byte but NUL); they are echoed escaped in errors.
pub fn parse_comm(name: &OsStr) -> Result<[u8; COMM_LEN], String> {
    let b = name.as_bytes();
    if b.is_empty() {
        return Err("--comm needs a non-empty name".into());
    }
    if b.len() > COMM_LEN - 1 {
        return Err(format!(
            "--comm '{}' is {} bytes long; the kernel keeps only the first {} bytes of a task's name, so it would never match",
            b.escape_ascii(),
            b.len(),
            COMM_LEN - 1
        ));
    }
    let mut comm = [0u8; COMM_LEN];
    comm[..b.len()].copy_from_slice(b);
    Ok(comm)
}

/// `--container ID`: 1 to 64 hex digits (a prefix of the full id).
pub fn parse_container_id(s: &str) -> Result<String, String> {
    let id = s.to_ascii_lowercase();
    if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("{s:?} is not a container id (1 to 64 hex digits, a prefix of the full id)"));
    }
    Ok(id)
}

/// `--unit NAME`: a systemd unit name (no `/`).
pub fn parse_unit(s: &str) -> Result<String, String> {
    if !(s.ends_with(".service") || s.ends_with(".scope")) || s.contains('/') || s.len() <= ".scope".len() {
        return Err(format!("{s:?} is not a systemd service or scope name (e.g. nginx.service)"));
    }
    Ok(s.to_string())
}

pub fn parse_pid(s: &str) -> Result<u32, String> {
    match s.trim().parse::<u32>() {
        Ok(p) if p > 0 && p <= i32::MAX as u32 => Ok(p),
        _ => Err(format!("'{}' is not a process id", s.escape_default())),
    }
}

pub fn parse_format(s: &str) -> Result<crate::pipeline::output::Format, String> {
    match s {
        "json" => Ok(crate::pipeline::output::Format::Json),
        "text" => Ok(crate::pipeline::output::Format::Text),
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
            let members = crate::model::syscalls::groups::group(name).ok_or_else(|| {
                format!("unknown syscall class '{}' (%process, %memory or %signal)", name.escape_default())
            })?;
            for m in members {
                add(crate::model::syscalls::table::number(m).expect("syscall_groups names only known syscalls"));
            }
            continue;
        }
        let nr = crate::model::syscalls::table::number(name).ok_or_else(|| {
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


/// `100M`, `64k`, `1G`, `4096`: bytes (binary multiples).
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let t = t.strip_suffix(['B', 'b']).filter(|r| r.ends_with(|c: char| c.is_ascii_alphabetic())).unwrap_or(t);
    let t = t.strip_suffix('i').unwrap_or(t);
    let (num, mult) = match t.as_bytes().last() {
        Some(b'K' | b'k') => (&t[..t.len() - 1], 1u64 << 10),
        Some(b'M' | b'm') => (&t[..t.len() - 1], 1 << 20),
        Some(b'G' | b'g') => (&t[..t.len() - 1], 1 << 30),
        _ => (t, 1),
    };
    let n: u64 = num.trim().parse().map_err(|_| format!("'{s}' is not a size in bytes (e.g. 100M)"))?;
    let bytes = n.checked_mul(mult).ok_or_else(|| format!("'{s}' is too large"))?;
    if bytes == 0 {
        return Err("a size of 0 bytes".into());
    }
    Ok(bytes)
}

pub(super) fn parse_queue_size(s: &str) -> Result<u64, String> {
    let b = parse_bytes(s)?;
    if !(4096..=1 << 30).contains(&b) {
        return Err(format!("queue size must be between 4K and 1G, got {b}"));
    }
    Ok(b)
}

/// `10s`, `500ms`, `2m`, `1h`; a bare number is seconds.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().map_err(|_| format!("'{s}' is not a duration (e.g. 10s, 500ms)"))?;
    let secs = match unit.trim() {
        "" | "s" | "sec" => n,
        "ms" => n / 1000.0,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        u => return Err(format!("'{s}': unknown unit '{u}' (ms, s, m, h)")),
    };
    let d = std::time::Duration::try_from_secs_f64(secs).map_err(|_| format!("'{s}' is out of range"))?;
    if d < std::time::Duration::from_millis(10) {
        return Err(format!("'{s}' is too short (at least 10ms)"));
    }
    Ok(d)
}

pub(super) fn parse_socket(s: &str) -> Result<Endpoint, String> {
    Endpoint::parse(s, false)
}

pub(super) fn parse_syslog(s: &str) -> Result<Endpoint, String> {
    Endpoint::parse(s, true)
}
