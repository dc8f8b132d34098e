//! The `start` record: the first line of a JSON run, saying which tracer,
//! on which kernel and host, with which settings, made the lines after it.
//!
//! ```json
//! {"schema":4,"seq":0,"ts":"…","event":"start","host":"node-7","boot_id":"…","version":"0.1.0","kernel_release":"6.1.0-26-amd64",
//!  "config":{"syscalls":"clone,clone3,mmap,mprotect,wait4","format":"json","ringbuf_size":8388608,…}}
//! ```

use crate::pipeline::report::write_boot_id;
use crate::render::json::JsonWriter;
use crate::render::json_head::begin_record;

/// One setting's value in `config`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Setting {
    Str(String),
    U64(u64),
    Bool(bool),
    List(Vec<String>),
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Start {
    /// tracer's version (Cargo's).
    pub version: String,
    /// The running kernel's release (`uname -r`).
    pub kernel: String,
    /// The effective settings, by long flag name (snake case), in order.
    pub config: Vec<(String, Setting)>,
}

impl Start {
    /// This tracer on this kernel, with `config`.
    pub fn here(config: Vec<(String, Setting)>) -> Self {
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").map(|s| s.trim().to_string()).unwrap_or_default();
        Start { version: env!("CARGO_PKG_VERSION").to_string(), kernel, config }
    }
}

/// Appends the `start` line (with its newline).
pub fn write_start_line(out: &mut Vec<u8>, s: &Start, seq: u64, now_unix_ns: i128) {
    let mut w = JsonWriter::new(out);
    begin_record(&mut w, seq, now_unix_ns, None, "start");
    write_boot_id(&mut w);
    w.key("version");
    w.str(&s.version);
    w.key("kernel_release");
    w.str(&s.kernel);
    w.key_object("config");
    for (k, v) in &s.config {
        w.key(k);
        match v {
            Setting::Str(s) => w.str(s),
            Setting::U64(n) => w.u64(*n),
            Setting::Bool(b) => w.bool(*b),
            Setting::List(items) => {
                w.begin_array();
                for i in items {
                    w.str(i);
                }
                w.end_array();
            }
        }
    }
    w.end_object();
    w.end_object();
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn start_line_says_version_kernel_and_config() {
        let s = Start {
            version: "0.1.0".into(),
            kernel: "6.1.0-26-amd64".into(),
            config: vec![
                ("syscalls".into(), Setting::Str("clone,wait4".into())),
                ("ringbuf_size".into(), Setting::U64(4096)),
                ("correlate".into(), Setting::Bool(true)),
                ("comm".into(), Setting::List(vec!["a\"b".into()])),
            ],
        };
        let mut out = Vec::new();
        write_start_line(&mut out, &s, 0, 1_700_000_000_000_000_000);
        assert_eq!(out.last(), Some(&b'\n'));
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["event"], "start");
        assert_eq!(v["seq"], 0);
        assert_eq!(v["schema"], 4);
        assert_eq!(v["version"], "0.1.0");
        assert_eq!(v["kernel_release"], "6.1.0-26-amd64");
        assert_eq!(v["config"], json!({"syscalls": "clone,wait4", "ringbuf_size": 4096, "correlate": true, "comm": ["a\"b"]}));
    }
}
