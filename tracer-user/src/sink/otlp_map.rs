//! One tracer record (a JSON line, as every sink receives it) as one OTLP
//! `LogRecord`, and the `Resource` every batch carries. The table of names
//! is `docs/otel.md`; this module is the only place that decides them.
//!
//! The sink maps the line the drain already formatted rather than the typed
//! event: one mapping for every kind of record, including the ones the typed
//! model renders in several places (lifecycle, correlated, `lost`, `stats`),
//! and no second formatter to keep in step with the native schema. Integers
//! stay integers (`IntValue`; a `u64` past `i64::MAX` — only a raw register
//! could be one — becomes its decimal string), nested objects are flattened
//! with dots (`args.cl_args.flags` → `tracer.args.cl_args.flags`), arrays
//! stay arrays.

use opentelemetry_proto::tonic::common::v1::{AnyValue, ArrayValue, InstrumentationScope, KeyValue, any_value::Value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, SeverityNumber};
use opentelemetry_proto::tonic::resource::v1::Resource;
use serde_json::{Map, Value as J};

use super::{LineKind, LineMeta};

/// The native top-level fields that have an OpenTelemetry semantic-convention
/// name. Every other field goes under `tracer.` with its native name.
pub const SEMCONV: &[(&str, &str)] = &[
    ("pid", "process.pid"),
    ("ppid", "process.parent_pid"),
    ("tid", "thread.id"),
    ("comm", "process.executable.name"),
    ("uid", "process.user.id"),
    ("gid", "process.group.id"),
    ("exit_code", "process.exit.code"),
    ("cpu", "cpu.logical_number"),
    ("host", "host.name"),
    ("boot_id", "host.boot.id"),
    ("cgroup", "process.linux.cgroup"),
    ("container_id", "container.id"),
    ("pod_uid", "k8s.pod.uid"),
];

/// Native fields that become a LogRecord field rather than an attribute.
const NOT_ATTRIBUTES: &[&str] = &["ts", "event"];

/// The attribute name of native top-level field `key`.
pub fn attribute_name(key: &str) -> String {
    match SEMCONV.iter().find(|(k, _)| *k == key) {
        Some((_, n)) => (*n).to_owned(),
        None => format!("tracer.{key}"),
    }
}

/// `EventName`: `syscall.NAME` for a traced call, `process.EVENT` for the
/// lifecycle and correlated records (`process.fork`, `process.exec`,
/// `process.exit`, `process.signal`, `process.thread_create`,
/// `process.reaped`, `process.unreaped`), `tracer.lost`, `tracer.stats`,
/// `tracer.start`.
pub fn event_name(kind: &LineKind, rec: &Map<String, J>) -> String {
    match kind {
        LineKind::Syscall { .. } => match rec.get("syscall").and_then(J::as_str) {
            Some(s) => format!("syscall.{s}"),
            None => "syscall".into(),
        },
        LineKind::Task { event, .. } => format!("process.{event}"),
        LineKind::Lost | LineKind::LostWriteError { .. } => "tracer.lost".into(),
        LineKind::Stats => "tracer.stats".into(),
        LineKind::Start => "tracer.start".into(),
    }
}

fn any(v: Value) -> Option<AnyValue> {
    Some(AnyValue { value: Some(v) })
}

/// A JSON value as an OTLP value; objects are flattened by the caller.
fn scalar(v: &J) -> Option<AnyValue> {
    match v {
        J::Null => Some(AnyValue { value: None }),
        J::Bool(b) => any(Value::BoolValue(*b)),
        J::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => any(Value::IntValue(i)),
            (None, Some(u)) => any(Value::StringValue(u.to_string())),
            _ => any(Value::DoubleValue(n.as_f64().unwrap_or(f64::NAN))),
        },
        J::String(s) => any(Value::StringValue(s.clone())),
        J::Array(a) => any(Value::ArrayValue(ArrayValue { values: a.iter().filter_map(array_item).collect() })),
        J::Object(_) => None,
    }
}

/// An array element: an object inside an array (no record has one today)
/// keeps its shape as a key-value list.
fn array_item(v: &J) -> Option<AnyValue> {
    match v {
        J::Object(m) => {
            let mut values = Vec::new();
            for (k, v) in m {
                flatten(k.clone(), v, &mut values);
            }
            any(Value::KvlistValue(opentelemetry_proto::tonic::common::v1::KeyValueList { values }))
        }
        _ => scalar(v),
    }
}

fn flatten(name: String, v: &J, out: &mut Vec<KeyValue>) {
    match v {
        J::Object(m) => {
            for (k, v) in m {
                flatten(format!("{name}.{k}"), v, out);
            }
        }
        _ => out.push(KeyValue { key: name, value: scalar(v) }),
    }
}

/// The attributes of record `rec`, in name order (serde_json's map).
pub fn attributes(rec: &Map<String, J>) -> Vec<KeyValue> {
    let mut out = Vec::with_capacity(rec.len() + 8);
    for (k, v) in rec {
        if NOT_ATTRIBUTES.contains(&k.as_str()) {
            continue;
        }
        flatten(attribute_name(k), v, &mut out);
    }
    out
}

/// Line `line` (its `\n` included or not) with its metadata as a LogRecord
/// observed at `observed_ns`; `Err` if the line is not a JSON object (which
/// the drain never makes).
pub fn log_record(meta: &LineMeta, line: &[u8], observed_ns: u64) -> Result<LogRecord, String> {
    let rec: Map<String, J> = serde_json::from_slice(line).map_err(|e| format!("record seq {} is not a JSON object: {e}", meta.seq))?;
    let warn = meta.kind.is_lost();
    Ok(LogRecord {
        time_unix_nano: u64::try_from(meta.unix_ns).unwrap_or(0),
        observed_time_unix_nano: observed_ns,
        severity_number: if warn { SeverityNumber::Warn } else { SeverityNumber::Info } as i32,
        severity_text: if warn { "WARN" } else { "INFO" }.into(),
        event_name: event_name(&meta.kind, &rec),
        attributes: attributes(&rec),
        ..Default::default()
    })
}

fn kv(key: &str, v: Value) -> KeyValue {
    KeyValue { key: key.into(), value: any(v) }
}

/// A line of a file, trimmed; empty if it cannot be read.
fn read_id(path: &str) -> String {
    std::fs::read_to_string(path).map(|s| s.trim().to_owned()).unwrap_or_default()
}

/// The resource every request carries: `service.name=tracer`,
/// `service.version`, `host.name`, `host.id` (the machine id), `os.type`,
/// and the boot id as `host.boot.id`.
pub fn resource() -> Resource {
    let mut attributes = vec![
        kv("service.name", Value::StringValue("tracer".into())),
        kv("service.version", Value::StringValue(env!("CARGO_PKG_VERSION").into())),
        kv("host.name", Value::StringValue(super::syslog::hostname())),
        kv("os.type", Value::StringValue("linux".into())),
    ];
    let machine = read_id("/etc/machine-id");
    if !machine.is_empty() {
        attributes.push(kv("host.id", Value::StringValue(machine)));
    }
    let boot = read_id("/proc/sys/kernel/random/boot_id");
    if !boot.is_empty() {
        attributes.push(kv("host.boot.id", Value::StringValue(boot)));
    }
    Resource { attributes, dropped_attributes_count: 0, entity_refs: vec![] }
}

/// The instrumentation scope of every record.
pub fn scope() -> InstrumentationScope {
    InstrumentationScope { name: "tracer".into(), version: env!("CARGO_PKG_VERSION").into(), ..Default::default() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr<'a>(r: &'a LogRecord, k: &str) -> Option<&'a Value> {
        r.attributes.iter().find(|a| a.key == k).and_then(|a| a.value.as_ref()).and_then(|v| v.value.as_ref())
    }

    #[test]
    fn a_syscall_maps_to_semconv_names_with_integers_as_integers() {
        let line = br#"{"schema":2,"seq":12,"ts":"2026-11-27T08:14:07.657600061Z","cpu":0,"event":"syscall","syscall":"mmap","nr":9,"pid":3194,"tid":3195,"ppid":3193,"uid":0,"gid":0,"comm":"threads","cgroup_id":1,"args":{"addr":"0x0","len":8392704,"cl_args":{"flags":"X"}},"ret":-12,"errno":"ENOMEM","duration_ns":24476,"raw":["0x0","0x801000"]}"#;
        let meta = LineMeta { end: 0, seq: 12, unix_ns: 1_764_230_047_657_600_061, kind: LineKind::Syscall { pid: 3194, tid: 3195, nr: 9 } };
        let r = log_record(&meta, line, 5).unwrap();
        assert_eq!(r.event_name, "syscall.mmap");
        assert_eq!((r.time_unix_nano, r.observed_time_unix_nano), (1_764_230_047_657_600_061, 5));
        assert_eq!(r.severity_number, SeverityNumber::Info as i32);
        assert_eq!(attr(&r, "process.pid"), Some(&Value::IntValue(3194)));
        assert_eq!(attr(&r, "thread.id"), Some(&Value::IntValue(3195)));
        assert_eq!(attr(&r, "process.parent_pid"), Some(&Value::IntValue(3193)));
        assert_eq!(attr(&r, "process.executable.name"), Some(&Value::StringValue("threads".into())));
        assert_eq!(attr(&r, "process.user.id"), Some(&Value::IntValue(0)));
        assert_eq!(attr(&r, "tracer.syscall"), Some(&Value::StringValue("mmap".into())));
        assert_eq!(attr(&r, "tracer.args.len"), Some(&Value::IntValue(8392704)));
        assert_eq!(attr(&r, "tracer.args.cl_args.flags"), Some(&Value::StringValue("X".into())));
        assert_eq!(attr(&r, "tracer.ret"), Some(&Value::IntValue(-12)));
        assert_eq!(attr(&r, "tracer.errno"), Some(&Value::StringValue("ENOMEM".into())));
        assert_eq!(attr(&r, "tracer.duration_ns"), Some(&Value::IntValue(24476)));
        assert_eq!(attr(&r, "tracer.seq"), Some(&Value::IntValue(12)));
        assert!(matches!(attr(&r, "tracer.raw"), Some(Value::ArrayValue(a)) if a.values.len() == 2));
        assert_eq!(attr(&r, "tracer.ts"), None, "the time is the record's Timestamp");
        assert_eq!(attr(&r, "tracer.event"), None, "the event is its EventName");
        assert!(r.attributes.iter().all(|a| !a.key.contains("args.cl_args\"")));
    }

    #[test]
    fn lifecycle_lost_and_odd_values() {
        let meta = |kind| LineMeta { end: 0, seq: 1, unix_ns: 7, kind };
        let r = log_record(&meta(LineKind::Task { pid: 1, tid: 1, event: "exit" }), br#"{"event":"exit","exit_code":1,"big":18446744073709551615,"f":1.5,"n":null}"#, 0).unwrap();
        assert_eq!(r.event_name, "process.exit");
        assert_eq!(attr(&r, "process.exit.code"), Some(&Value::IntValue(1)));
        assert_eq!(attr(&r, "tracer.big"), Some(&Value::StringValue("18446744073709551615".into())));
        assert_eq!(attr(&r, "tracer.f"), Some(&Value::DoubleValue(1.5)));
        assert_eq!(attr(&r, "tracer.n"), None);
        let r = log_record(&meta(LineKind::Lost), br#"{"event":"lost","count":3}"#, 0).unwrap();
        assert_eq!((r.event_name.as_str(), r.severity_number), ("tracer.lost", SeverityNumber::Warn as i32));
        assert_eq!(log_record(&meta(LineKind::Stats), b"{}\n", 0).unwrap().event_name, "tracer.stats");
        assert!(log_record(&meta(LineKind::Stats), b"[1]", 0).unwrap_err().contains("not a JSON object"));
    }

    #[test]
    fn resource_names_the_service_and_host() {
        let r = resource();
        let get = |k: &str| r.attributes.iter().find(|a| a.key == k).and_then(|a| a.value.clone()).and_then(|v| v.value);
        assert_eq!(get("service.name"), Some(Value::StringValue("tracer".into())));
        assert_eq!(get("os.type"), Some(Value::StringValue("linux".into())));
        assert!(matches!(get("host.name"), Some(Value::StringValue(s)) if !s.is_empty()));
    }
}
