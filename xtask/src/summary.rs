//! Tracer's exit line on stderr, `tracer: N events written, M lost (ring
//! buffer full), K exits without entry, …`: where `bench` and `soak` read
//! tracer's own counts.

/// The exit line among tracer's stderr lines.
pub fn line(stderr: &[String]) -> Option<&str> {
    stderr.iter().map(String::as_str).find(|l| l.starts_with("tracer: ") && l.contains(" events written, "))
}

/// The number the exit line gives before `name` (`"events written"`,
/// `"lost (ring buffer full)"`, `"calls in flight"`, …).
pub fn number<T: std::str::FromStr>(line: &str, name: &str) -> Option<T> {
    line.strip_prefix("tracer: ")?.split(", ").find_map(|p| p.strip_suffix(name)).and_then(|n| n.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_counters_from_the_exit_line() {
        let stderr = [
            "tracer: attached to raw_syscalls:sys_enter/sys_exit, tracing clone,mmap machine-wide".to_owned(),
            "tracer: 12 events written, 3 lost (ring buffer full), 0 exits without entry, -1 calls in flight".to_owned(),
        ];
        let l = line(&stderr).unwrap();
        assert_eq!(number(l, "events written"), Some(12u64));
        assert_eq!(number(l, "lost (ring buffer full)"), Some(3u64));
        assert_eq!(number(l, "exits without entry"), Some(0u64));
        assert_eq!(number(l, "calls in flight"), Some(-1i64));
        assert_eq!(number::<u64>(l, "nothing"), None);
        assert_eq!(line(&stderr[..1]), None);
    }
}
