//! One JSON line as `tracer view` reads it: an order-keeping JSON value
//! (strace prints arguments in the kernel's order, which is the order tracer
//! writes them; serde_json's own `Value` sorts keys), and the strace-shaped
//! string a hover shows, rebuilt from the line's fields.

use std::fmt::{self, Write as _};

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// A JSON value whose objects keep their keys in input order.
#[derive(Debug, Clone, PartialEq)]
pub enum J {
    Null,
    Bool(bool),
    Int(i64),
    /// Integers above i64::MAX (cgroup_id can be a full u64).
    UInt(u64),
    Float(f64),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

impl J {
    pub fn get(&self, key: &str) -> Option<&J> {
        match self {
            J::Obj(kv) => kv.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
    pub fn i64(&self, key: &str) -> Option<i64> {
        match self.get(key)? {
            J::Int(i) => Some(*i),
            J::UInt(u) => i64::try_from(*u).ok(),
            _ => None,
        }
    }
    pub fn u32(&self, key: &str) -> Option<u32> {
        self.i64(key).and_then(|v| u32::try_from(v).ok())
    }
    pub fn str(&self, key: &str) -> Option<&str> {
        match self.get(key)? {
            J::Str(s) => Some(s),
            _ => None,
        }
    }
    pub fn bool(&self, key: &str) -> Option<bool> {
        match self.get(key)? {
            J::Bool(b) => Some(*b),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for J {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<J, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = J;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("JSON")
            }
            fn visit_unit<E>(self) -> Result<J, E> {
                Ok(J::Null)
            }
            fn visit_bool<E>(self, b: bool) -> Result<J, E> {
                Ok(J::Bool(b))
            }
            fn visit_i64<E>(self, i: i64) -> Result<J, E> {
                Ok(J::Int(i))
            }
            fn visit_u64<E>(self, u: u64) -> Result<J, E> {
                Ok(i64::try_from(u).map(J::Int).unwrap_or(J::UInt(u)))
            }
            fn visit_f64<E>(self, f: f64) -> Result<J, E> {
                Ok(J::Float(f))
            }
            fn visit_str<E>(self, s: &str) -> Result<J, E> {
                Ok(J::Str(s.to_owned()))
            }
            fn visit_string<E>(self, s: String) -> Result<J, E> {
                Ok(J::Str(s))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<J, A::Error> {
                let mut v = Vec::new();
                while let Some(x) = a.next_element()? {
                    v.push(x);
                }
                Ok(J::Arr(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<J, A::Error> {
                let mut v = Vec::new();
                while let Some((k, x)) = a.next_entry::<String, J>()? {
                    v.push((k, x));
                }
                Ok(J::Obj(v))
            }
        }
        d.deserialize_any(V)
    }
}

/// Parses one line; the error is serde_json's (line/column of the fault).
pub fn parse(line: &str) -> Result<J, serde_json::Error> {
    serde_json::from_str(line)
}

/// (pointer argument, the struct tracer decoded from it): strace prints the
/// struct in the pointer's place.
const POINTED: &[(&str, &str)] = &[
    ("uargs", "cl_args"),
    ("stat_addr", "status"),
    ("ru", "rusage"),
    ("nset", "set"),
    ("oset", "oldset"),
    ("act", "action"),
    ("oact", "old_action"),
    ("new_rlim", "new_limit"),
    ("old_rlim", "old_limit"),
];

/// Syscalls whose return value strace prints as an address.
fn returns_address(name: &str) -> bool {
    matches!(name, "mmap" | "brk" | "mremap" | "shmat")
}

/// Arguments printed as C strings.
fn is_string_arg(key: &str) -> bool {
    matches!(key, "filename" | "pathname" | "path")
}

fn value(out: &mut String, key: &str, v: &J) {
    match v {
        J::Null => out.push_str("NULL"),
        J::Bool(b) => {
            let _ = write!(out, "{b}");
        }
        J::Int(i) => {
            let _ = write!(out, "{i}");
        }
        J::UInt(u) => {
            let _ = write!(out, "{u}");
        }
        J::Float(f) => {
            let _ = write!(out, "{f}");
        }
        J::Str(s) if s == "0x0" => out.push_str("NULL"),
        J::Str(s) if is_string_arg(key) => {
            let _ = write!(out, "{s:?}");
        }
        J::Str(s) => out.push_str(s),
        J::Arr(items) => {
            out.push('[');
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                match x {
                    // argv strings.
                    J::Str(s) if key == "argv" => {
                        let _ = write!(out, "{s:?}");
                    }
                    _ => value(out, key, x),
                }
            }
            out.push(']');
        }
        J::Obj(kv) => {
            out.push('{');
            for (i, (k, x)) in kv.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                let _ = write!(out, "{k}=");
                value(out, k, x);
            }
            out.push('}');
        }
    }
}

/// `name(args) = ret` in strace's shape from a `syscall` record: decoded
/// arguments in the order tracer wrote them (`cl_args_out` as strace's
/// ` => {…}`), or the six raw registers when tracer has no decoder; `= -1
/// ERRNO` on failure, `= ?` for calls that never return.
pub fn syscall_text(rec: &J) -> String {
    let name = rec.str("syscall").unwrap_or("?");
    let mut out = String::with_capacity(96);
    out.push_str(name);
    out.push('(');
    match rec.get("args") {
        Some(J::Obj(kv)) if !kv.is_empty() => {
            let decoded = |k: &str| POINTED.iter().find(|(p, _)| *p == k).and_then(|(_, d)| kv.iter().find(|(k2, _)| k2 == d));
            let mut first = true;
            for (k, v) in kv {
                // A decoded struct is printed where its pointer was, as strace does.
                if k == "cl_args_out" || POINTED.iter().any(|(p, d)| d == k && kv.iter().any(|(k2, _)| k2 == p)) {
                    continue;
                }
                if !first {
                    out.push_str(", ");
                }
                first = false;
                match decoded(k) {
                    Some((dk, dv)) => {
                        value(&mut out, dk, dv);
                        if dk == "cl_args" {
                            if let Some((_, J::Obj(o))) = kv.iter().find(|(k2, _)| k2 == "cl_args_out") {
                                out.push_str(" => {");
                                for (i, (k2, v2)) in o.iter().enumerate() {
                                    if i > 0 {
                                        out.push_str(", ");
                                    }
                                    let _ = write!(out, "{k2}=[");
                                    value(&mut out, k2, v2);
                                    out.push(']');
                                }
                                out.push('}');
                            }
                        }
                    }
                    None => value(&mut out, k, v),
                }
            }
        }
        _ => {
            if let Some(J::Arr(raw)) = rec.get("raw") {
                for (i, r) in raw.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    value(&mut out, "", r);
                }
            }
        }
    }
    out.push_str(") = ");
    match (rec.i64("ret"), rec.str("errno")) {
        (_, Some(e)) => {
            let _ = write!(out, "-1 {e}");
        }
        (Some(r), None) if returns_address(name) && r > 0 => {
            let _ = write!(out, "{r:#x}");
        }
        (Some(r), None) => {
            let _ = write!(out, "{r}");
        }
        (None, None) => out.push('?'),
    }
    out
}

/// "exited with N" or "killed by SIG (core dumped)" from a record's
/// `exit_code`/`signal`/`core_dumped`.
pub fn status_text(rec: &J) -> Option<String> {
    if let Some(c) = rec.i64("exit_code") {
        return Some(format!("exited with {c}"));
    }
    let sig = rec.str("signal")?;
    let core = if rec.bool("core_dumped") == Some(true) { " (core dumped)" } else { "" };
    Some(format!("killed by {sig}{core}"))
}

/// The line `tracer --format text` prints for a non-syscall record, rebuilt
/// from its JSON (`+++ … +++` lifecycle, `--- SIG … ---`, `*** … ***` joins).
pub fn record_text(rec: &J) -> String {
    let ev = rec.str("event").unwrap_or("?");
    match ev {
        "syscall" => syscall_text(rec),
        "fork" => {
            if rec.bool("thread") == Some(true) {
                format!("+++ new thread {} +++", rec.i64("child_tid").unwrap_or(-1))
            } else {
                format!("+++ new process {} +++", rec.i64("child_pid").unwrap_or(-1))
            }
        }
        "exec" => {
            let file = rec.str("filename").map(|f| format!("{f:?}")).unwrap_or_else(|| "?".into());
            match rec.str("old_comm") {
                Some(old) => format!("+++ exec {file} ({old} -> {}) +++", rec.str("comm").unwrap_or("?")),
                None => format!("+++ exec {file} +++"),
            }
        }
        "exit" => format!("+++ {} +++", status_text(rec).unwrap_or_else(|| "exited".into())),
        "signal" => {
            let sig = rec.str("signal").unwrap_or("?");
            let mut s = format!("--- {sig} {{si_signo={sig}");
            for k in ["si_code", "si_errno", "si_pid", "si_uid", "si_status", "si_utime", "si_stime"] {
                if let Some(v) = rec.get(k) {
                    let _ = write!(s, ", {k}=");
                    value(&mut s, k, v);
                }
            }
            s.push('}');
            if rec.str("phase") == Some("generate") {
                let _ = write!(s, " sent to {} ({})", rec.i64("target_tid").unwrap_or(-1), rec.str("result").unwrap_or("?"));
            }
            s.push_str(" ---");
            s
        }
        "thread_create" => {
            let mut s = format!("*** thread_create {} {{", rec.i64("child_tid").unwrap_or(-1));
            let mut parts = Vec::new();
            for k in ["stack_base", "stack_size", "map_size", "guard_size", "tls", "flags"] {
                match (k, rec.get(k)) {
                    ("stack_size", Some(J::Int(v))) => parts.push(format!("stack_size={v:#x}")),
                    (_, Some(v)) => {
                        let mut p = format!("{k}=");
                        value(&mut p, k, v);
                        parts.push(p);
                    }
                    _ => {}
                }
            }
            match (rec.bool("stack_reused"), rec.i64("reused_from_tid")) {
                (Some(true), Some(from)) => parts.push(format!("stack_reused=true (from {from})")),
                (Some(r), _) => parts.push(format!("stack_reused={r}")),
                _ => {}
            }
            s.push_str(&parts.join(", "));
            s.push_str("} ***");
            s
        }
        "reaped" => {
            let mut parts = Vec::new();
            parts.extend(status_text(rec));
            if let (Some(code), Some(st)) = (rec.str("si_code"), rec.i64("si_status")) {
                parts.push(format!("SIGCHLD {code} status {st} ({})", rec.str("sigchld_result").unwrap_or("?")));
            }
            if let Some(z) = rec.i64("zombie_ns") {
                parts.push(format!("zombie for {z} ns"));
            }
            if let Some(l) = rec.i64("lifetime_ns") {
                parts.push(format!("lived {l} ns"));
            }
            format!("*** reaped {} ({}) {{{}}} ***", rec.i64("child_pid").unwrap_or(-1), rec.str("child_comm").unwrap_or("?"), parts.join(", "))
        }
        "unreaped" => {
            let what = if rec.bool("child_exited") == Some(true) {
                let mut p = status_text(rec).unwrap_or_else(|| "a zombie".into());
                if let Some(z) = rec.i64("zombie_ns") {
                    let _ = write!(p, ", zombie for {z} ns");
                }
                p
            } else {
                "still running".into()
            };
            format!("*** unreaped {} ({}) {{{what}}} ***", rec.i64("child_pid").unwrap_or(-1), rec.str("child_comm").unwrap_or("?"))
        }
        "lost" => format!(
            "*** lost {} records ({} {}) ***",
            rec.i64("count").unwrap_or(0),
            rec.str("where").unwrap_or("?"),
            rec.str("reason").unwrap_or("?")
        ),
        other => format!("*** {other} ***"),
    }
}

/// Nanoseconds since the Unix epoch from tracer's `ts`
/// (`YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`, UTC; fewer fraction digits accepted).
pub fn parse_ts(ts: &str) -> Option<i64> {
    let b = ts.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' || *b.last()? != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> { ts.get(r)?.parse::<u32>().ok().map(i64::from) };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let mut frac = 0i64;
    let rest = &ts[19..ts.len() - 1];
    if !rest.is_empty() {
        let digits = rest.strip_prefix('.')?;
        if digits.is_empty() || digits.len() > 9 || !digits.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        frac = digits.parse::<i64>().ok()? * 10i64.pow(9 - digits.len() as u32);
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    Some(((days * 86400 + h * 3600 + mi * 60 + s) * 1_000_000_000) + frac)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_key_order_and_renders_strace_shape() {
        let l = r#"{"event":"syscall","syscall":"mmap","args":{"addr":"0x0","len":8392704,"prot":"PROT_NONE","flags":"MAP_PRIVATE|MAP_ANONYMOUS|MAP_STACK","fd":-1,"off":0},"ret":139700154568704}"#;
        assert_eq!(syscall_text(&parse(l).unwrap()), "mmap(NULL, 8392704, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_STACK, -1, 0) = 0x7f0e7a169000");
        let c = r#"{"syscall":"clone3","args":{"uargs":"0x7ffc22d1e3c0","size":88,"cl_args":{"flags":"CLONE_VM","stack":"0x7f0e7a169000","stack_size":8388480},"cl_args_out":{"parent_tid":3898}},"ret":3898}"#;
        assert_eq!(syscall_text(&parse(c).unwrap()), "clone3({flags=CLONE_VM, stack=0x7f0e7a169000, stack_size=8388480} => {parent_tid=[3898]}, 88) = 3898");
        let f = r#"{"syscall":"access","args":{},"raw":["0x7fd9","0x4","0x0","0x0","0x0","0x0"],"ret":-2,"errno":"ENOENT"}"#;
        assert_eq!(syscall_text(&parse(f).unwrap()), "access(0x7fd9, 0x4, NULL, NULL, NULL, NULL) = -1 ENOENT");
        assert_eq!(syscall_text(&parse(r#"{"syscall":"exit_group","args":{"error_code":0}}"#).unwrap()), "exit_group(0) = ?");
        let w = r#"{"syscall":"wait4","args":{"upid":7,"stat_addr":"0x7ffd","options":"0","ru":"0x0","status":{"exited":1}},"ret":7}"#;
        assert_eq!(syscall_text(&parse(w).unwrap()), "wait4(7, {exited=1}, 0, NULL) = 7");
    }

    #[test]
    fn lifecycle_and_join_lines() {
        let r = r#"{"event":"reaped","child_pid":16550,"child_comm":"process-creatio","exit_code":1,"si_code":"CLD_EXITED","si_status":1,"sigchld_result":"ignored","zombie_ns":107349,"lifetime_ns":127199}"#;
        assert_eq!(
            record_text(&parse(r).unwrap()),
            "*** reaped 16550 (process-creatio) {exited with 1, SIGCHLD CLD_EXITED status 1 (ignored), zombie for 107349 ns, lived 127199 ns} ***"
        );
        assert_eq!(record_text(&parse(r#"{"event":"exit","exit_code":1}"#).unwrap()), "+++ exited with 1 +++");
        assert_eq!(record_text(&parse(r#"{"event":"exit","signal":"SIGKILL","core_dumped":false}"#).unwrap()), "+++ killed by SIGKILL +++");
        let t = r#"{"event":"thread_create","child_tid":18209,"stack_base":"0x7f29ee3e4000","stack_size":8388480,"map_size":8392704,"guard_size":4096,"tls":"0x7f","flags":"CLONE_VM","stack_reused":true,"reused_from_tid":18208}"#;
        assert_eq!(
            record_text(&parse(t).unwrap()),
            "*** thread_create 18209 {stack_base=0x7f29ee3e4000, stack_size=0x7fff80, map_size=8392704, guard_size=4096, tls=0x7f, flags=CLONE_VM, stack_reused=true (from 18208)} ***"
        );
    }

    #[test]
    fn timestamps() {
        assert_eq!(parse_ts("1970-01-01T00:00:00.000000001Z"), Some(1));
        assert_eq!(parse_ts("2026-11-27T08:14:07.657600061Z"), Some(1_795_767_247_657_600_061));
        assert_eq!(parse_ts("2000-03-01T00:00:00Z"), Some(951_868_800_000_000_000));
        assert_eq!(parse_ts("2026-11-27T08:14:07.6Z"), Some(1_795_767_247_600_000_000));
        for bad in ["", "2026-11-27", "2026-13-27T08:14:07.657600061Z", "2026-11-27T08:14:07.Z", "2026-11-27T08:14:07.657600061", "2026-11-27T08:14:07.6576000610Z"] {
            assert_eq!(parse_ts(bad), None, "{bad}");
        }
    }
}
