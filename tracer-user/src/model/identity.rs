//! Who is tracing: the host's name and boot id, set once at start-up, and
//! which of the optional identity fields the records carry (`--fields`).
//!
//! Every record says `host` (users join the lines of a whole fleet in one
//! store); `stats` and the first `start` record say `boot_id`, which also
//! goes into every `exec_id` (see `procs`). The values are fixed for the
//! run, so they live in one process-wide [`Identity`] the renderers read,
//! not in each event.

use std::sync::OnceLock;

/// The fields `--fields` can leave out, one bit each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fields(u32);

/// Names of the optional fields, in bit order.
pub const FIELD_NAMES: [&str; 9] =
    ["host", "boot_id", "exec_id", "parent_exec_id", "ancestors", "cgroup", "container_id", "pod_uid", "unit"];

impl Fields {
    pub const HOST: Fields = Fields(1 << 0);
    pub const BOOT_ID: Fields = Fields(1 << 1);
    pub const EXEC_ID: Fields = Fields(1 << 2);
    pub const PARENT_EXEC_ID: Fields = Fields(1 << 3);
    pub const ANCESTORS: Fields = Fields(1 << 4);
    pub const CGROUP: Fields = Fields(1 << 5);
    pub const CONTAINER_ID: Fields = Fields(1 << 6);
    pub const POD_UID: Fields = Fields(1 << 7);
    pub const UNIT: Fields = Fields(1 << 8);
    pub const ALL: Fields = Fields((1 << FIELD_NAMES.len()) - 1);
    pub const NONE: Fields = Fields(0);

    pub fn has(self, f: Fields) -> bool {
        self.0 & f.0 == f.0
    }

    /// The names of the fields present, comma-separated (`start`'s config).
    pub fn names(self) -> Vec<&'static str> {
        FIELD_NAMES.iter().enumerate().filter(|(i, _)| self.0 & (1 << i) != 0).map(|(_, n)| *n).collect()
    }
}

impl Default for Fields {
    fn default() -> Self {
        Fields::ALL
    }
}

/// `--fields LIST`: `all`, `none`, a comma-separated list of the fields to
/// keep (`host,exec_id`), or of the fields to leave out, each with a `-`
/// (`-ancestors,-boot_id`: all but those). The two forms do not mix.
pub fn parse_fields(s: &str) -> Result<Fields, String> {
    let s = s.trim();
    match s {
        "all" => return Ok(Fields::ALL),
        "none" | "" => return Ok(Fields::NONE),
        _ => {}
    }
    let items: Vec<&str> = s.split(',').map(str::trim).collect();
    let negative = items[0].starts_with('-');
    let mut bits = 0u32;
    for item in &items {
        let (neg, name) = match item.strip_prefix('-') {
            Some(n) => (true, n),
            None => (false, *item),
        };
        if neg != negative {
            return Err(format!("--fields {s:?}: list the fields to keep, or each field to leave out with a '-', not both"));
        }
        let Some(i) = FIELD_NAMES.iter().position(|n| *n == name) else {
            return Err(format!("--fields: unknown field {name:?} (known: all, none, {})", FIELD_NAMES.join(", ")));
        };
        bits |= 1 << i;
    }
    Ok(if negative { Fields(Fields::ALL.0 & !bits) } else { Fields(bits) })
}

/// The run's identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// `--host-name`, or the kernel's hostname (`/proc/sys/kernel/hostname`).
    pub host: String,
    /// `/proc/sys/kernel/random/boot_id`: a random UUID the kernel draws at
    /// boot. Empty if it cannot be read.
    pub boot_id: String,
    /// The boot id's 128 bits (what `exec_id`s are made from).
    pub boot_bits: u128,
    pub fields: Fields,
}

impl Default for Identity {
    fn default() -> Self {
        Identity { host: String::new(), boot_id: String::new(), boot_bits: 0, fields: Fields::ALL }
    }
}

impl Identity {
    /// This machine's identity; `host_name` overrides the kernel's hostname.
    pub fn of_this_machine(host_name: Option<&str>, fields: Fields) -> Self {
        let host = match host_name {
            Some(h) => h.to_string(),
            None => read_trimmed("/proc/sys/kernel/hostname").unwrap_or_default(),
        };
        let boot_id = read_trimmed("/proc/sys/kernel/random/boot_id").unwrap_or_default();
        Identity::new(host, boot_id, fields)
    }

    pub fn new(host: String, boot_id: String, fields: Fields) -> Self {
        let boot_bits = parse_uuid(&boot_id).unwrap_or(0);
        Identity { host, boot_id, boot_bits, fields }
    }
}

fn read_trimmed(path: &str) -> Option<String> {
    std::fs::read_to_string(path).ok().map(|s| s.trim().to_string())
}

/// A UUID's 128 bits (`8-4-4-4-12` hex digits).
pub fn parse_uuid(s: &str) -> Option<u128> {
    let hex: String = s.chars().filter(|&c| c != '-').collect();
    if hex.len() != 32 {
        return None;
    }
    u128::from_str_radix(&hex, 16).ok()
}

static IDENTITY: OnceLock<Identity> = OnceLock::new();

/// Sets the run's identity, once, before the first record is rendered;
/// later calls are ignored (returns false).
pub fn set(id: Identity) -> bool {
    IDENTITY.set(id).is_ok()
}

/// The run's identity: what [`set`] was given, or an empty one (no host,
/// no boot id, every field) for code that renders without a run.
pub fn get() -> &'static Identity {
    static EMPTY: OnceLock<Identity> = OnceLock::new();
    IDENTITY.get().unwrap_or_else(|| EMPTY.get_or_init(Identity::default))
}

/// A process incarnation: its tgid and when it was created (its leader's
/// `start_boottime`, ns since boot), on this boot. Written as `exec_id`:
/// the boot id's first 64 bits in hex, the start time and the tgid,
/// `"3f2a…-8123456789-4242"` — unique across hosts and reboots (the boot
/// id is random), and across pid reuse (a reused pid starts later).
///
/// A process seen in /proc at start-up and not since has its start time
/// only to /proc's 10 ms tick: its `start_ns` is that tick's start, and the
/// process keeps that id for the whole run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ExecId {
    pub tgid: u32,
    pub start_ns: u64,
}

impl ExecId {
    /// Appends the `exec_id` text (plain ASCII).
    pub fn push(&self, out: &mut Vec<u8>) {
        let boot = (get().boot_bits >> 64) as u64;
        const HEX: &[u8; 16] = b"0123456789abcdef";
        for i in (0..16).rev() {
            out.push(HEX[((boot >> (i * 4)) & 0xf) as usize]);
        }
        out.push(b'-');
        out.extend_from_slice(itoa::Buffer::new().format(self.start_ns).as_bytes());
        out.push(b'-');
        out.extend_from_slice(itoa::Buffer::new().format(self.tgid).as_bytes());
    }

    pub fn to_text(&self) -> String {
        let mut v = Vec::new();
        self.push(&mut v);
        String::from_utf8(v).unwrap_or_default()
    }
}

/// One of a process's ancestors (`ancestors[]`): nearest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ancestor {
    pub pid: u32,
    /// Absent when tracer never learnt when it started.
    pub exec_id: Option<ExecId>,
    /// Absent when tracer does not know it.
    pub comm: Option<crate::model::comm::Comm>,
}

/// What tracer adds to a record's task beyond the kernel's header: the
/// process's identity and ancestry, and its cgroup's path and meaning.
/// Filled by `Output` from the process table and the cgroup resolver;
/// every renderer reads it from the header.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ident {
    pub exec_id: Option<ExecId>,
    pub parent_exec_id: Option<ExecId>,
    /// The nearest `--ancestors` ancestors; `None` with `--ancestors 0`.
    pub ancestors: Option<std::sync::Arc<[Ancestor]>>,
    /// The record's cgroup, resolved from `cgroup_id` (None if it could
    /// not be, or there is no cgroup2 mount).
    pub cgroup: Option<std::sync::Arc<crate::model::cgroups::CgroupInfo>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_lists() {
        assert_eq!(parse_fields("all"), Ok(Fields::ALL));
        assert_eq!(parse_fields("none"), Ok(Fields::NONE));
        let f = parse_fields("host,exec_id").unwrap();
        assert!(f.has(Fields::HOST) && f.has(Fields::EXEC_ID) && !f.has(Fields::BOOT_ID));
        assert_eq!(f.names(), ["host", "exec_id"]);
        let f = parse_fields("-ancestors, -boot_id").unwrap();
        assert!(f.has(Fields::HOST) && f.has(Fields::UNIT) && !f.has(Fields::ANCESTORS) && !f.has(Fields::BOOT_ID));
        assert!(parse_fields("host,-boot_id").unwrap_err().contains("not both"));
        assert!(parse_fields("hostname").unwrap_err().contains("unknown field \"hostname\""));
    }

    #[test]
    fn boot_id_bits() {
        assert_eq!(parse_uuid("0123abcd-0000-4000-8000-00000000beef"), Some(0x0123abcd_0000_4000_8000_00000000beef));
        assert_eq!(parse_uuid("nope"), None);
        let id = Identity::new("h".into(), "0123abcd-0000-4000-8000-00000000beef".into(), Fields::ALL);
        assert_eq!(id.boot_bits, 0x0123abcd_0000_4000_8000_00000000beef);
    }

    #[test]
    fn this_machine_has_a_boot_id() {
        let id = Identity::of_this_machine(Some("node-7"), Fields::ALL);
        assert_eq!(id.host, "node-7");
        assert_ne!(id.boot_bits, 0, "{:?}", id.boot_id);
    }
}
