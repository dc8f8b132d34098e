//! `--schema otel|ecs`: the native JSON line (the product's contract, see
//! docs/schema.json) rewritten under OpenTelemetry or Elastic Common Schema
//! names, for the JSON-line sinks (stdout, file, dir, socket, syslog).
//! Tables: docs/otel.md and docs/ecs.md; schemas: docs/schema-otel.json and
//! docs/schema-ecs.json.
//!
//! `otel` uses exactly the OTLP sink's names (`sink::otlp_map`), so a
//! collector's filelog receiver turns a line into the same attributes the
//! OTLP sink sends. Keys are flat and dotted (`process.pid`,
//! `tracer.args.len`), as both conventions name them; values keep their JSON
//! type. The envelope comes first, the rest in name order.

use serde_json::{Map, Value as J};

use super::otlp_map;
use super::{LineKind, LineMeta};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Schema {
    /// tracer's own records (docs/schema.json).
    #[default]
    Native,
    /// OpenTelemetry log data model and semantic-convention names (docs/otel.md).
    Otel,
    /// Elastic Common Schema (docs/ecs.md).
    Ecs,
}

fn flatten(name: String, v: &J, out: &mut Vec<(String, J)>) {
    match v {
        J::Object(m) => m.iter().for_each(|(k, v)| flatten(format!("{name}.{k}"), v, out)),
        _ => out.push((name, v.clone())),
    }
}

fn write(out: &mut Vec<u8>, head: Vec<(&str, J)>, mut rest: Vec<(String, J)>) {
    rest.sort_by(|a, b| a.0.cmp(&b.0));
    out.push(b'{');
    let mut first = true;
    let mut field = |out: &mut Vec<u8>, k: &str, v: &J| {
        if !first {
            out.push(b',');
        }
        first = false;
        serde_json::to_writer(&mut *out, k).expect("a string serializes");
        out.push(b':');
        serde_json::to_writer(&mut *out, v).expect("a JSON value serializes");
    };
    for (k, v) in &head {
        field(out, k, v);
    }
    for (k, v) in &rest {
        field(out, k, v);
    }
    out.extend_from_slice(b"}\n");
}

/// The `otel` line of a native record.
pub fn otel(meta: &LineMeta, rec: &Map<String, J>, out: &mut Vec<u8>) {
    let warn = meta.kind.is_lost();
    let head = vec![
        ("Timestamp", rec.get("ts").cloned().unwrap_or(J::Null)),
        ("EventName", J::String(otlp_map::event_name(&meta.kind, rec))),
        ("SeverityText", J::String(if warn { "WARN" } else { "INFO" }.into())),
        ("SeverityNumber", J::from(if warn { 13 } else { 9 })),
    ];
    let mut rest = Vec::with_capacity(rec.len() + 8);
    for (k, v) in rec {
        if k != "ts" && k != "event" {
            flatten(otlp_map::attribute_name(k), v, &mut rest);
        }
    }
    write(out, head, rest);
}

/// ECS names of native top-level fields; every other field goes under
/// `tracer.`.
pub const ECS: &[(&str, &str)] = &[
    ("seq", "event.sequence"),
    ("pid", "process.pid"),
    ("ppid", "process.parent.pid"),
    ("tid", "process.thread.id"),
    ("comm", "process.name"),
    ("exit_code", "process.exit_code"),
    ("duration_ns", "event.duration"),
    ("errno", "error.code"),
    ("host", "host.name"),
    ("container_id", "container.id"),
    ("exec_id", "process.entity_id"),
    ("parent_exec_id", "process.parent.entity_id"),
];

/// `event.kind`, `event.category`, `event.type` of a record.
fn ecs_event(kind: &LineKind) -> (&'static str, Vec<&'static str>, Vec<&'static str>) {
    match kind {
        LineKind::Syscall { .. } => ("event", vec!["process"], vec!["info"]),
        LineKind::Task { event, .. } => (
            "event",
            vec!["process"],
            vec![match *event {
                "fork" | "exec" | "thread_create" => "start",
                "exit" | "reaped" => "end",
                _ => "info",
            }],
        ),
        LineKind::Lost | LineKind::LostWriteError { .. } => ("pipeline_error", vec![], vec![]),
        LineKind::Stats => ("metric", vec![], vec![]),
        LineKind::Start => ("state", vec![], vec![]),
    }
}

/// The `ecs` line of a native record.
pub fn ecs(meta: &LineMeta, rec: &Map<String, J>, host: &str, out: &mut Vec<u8>) {
    let (kind, category, types) = ecs_event(&meta.kind);
    let mut head = vec![("@timestamp", rec.get("ts").cloned().unwrap_or(J::Null)), ("event.kind", J::from(kind))];
    if !category.is_empty() {
        head.push(("event.category", J::from(category)));
        head.push(("event.type", J::from(types)));
    }
    head.push(("event.action", J::String(otlp_map::event_name(&meta.kind, rec))));
    head.push(("event.module", J::from("tracer")));
    if !rec.contains_key("host") {
        // `--fields host` puts it in the record; else the sink's hostname.
        head.push(("host.name", J::from(host)));
    }
    let mut rest = Vec::with_capacity(rec.len() + 8);
    for (k, v) in rec {
        if k == "ts" || k == "event" {
            continue;
        }
        let name = match ECS.iter().find(|(n, _)| n == k) {
            Some((_, e)) => (*e).to_owned(),
            None => format!("tracer.{k}"),
        };
        flatten(name, v, &mut rest);
    }
    write(out, head, rest);
}

/// Appends `line` (a native record, with its `\n`) to `out` rewritten in
/// `schema`; `Err` (nothing appended) if it is not a JSON object.
pub fn rewrite(schema: Schema, meta: &LineMeta, line: &[u8], host: &str, out: &mut Vec<u8>) -> Result<(), String> {
    if schema == Schema::Native {
        out.extend_from_slice(line);
        return Ok(());
    }
    let rec: Map<String, J> = serde_json::from_slice(line).map_err(|e| format!("record seq {} is not a JSON object: {e}", meta.seq))?;
    match schema {
        Schema::Otel => otel(meta, &rec, out),
        Schema::Ecs => ecs(meta, &rec, host, out),
        Schema::Native => unreachable!(),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MMAP: &[u8] = br#"{"schema":2,"seq":12,"ts":"2026-11-27T08:14:07.657600061Z","cpu":0,"event":"syscall","syscall":"mmap","nr":9,"pid":3194,"tid":3195,"ppid":3193,"uid":0,"gid":0,"comm":"threads","cgroup_id":1,"args":{"addr":"0x0","len":8392704},"ret":-12,"errno":"ENOMEM","duration_ns":24476}
"#;

    fn meta(kind: LineKind) -> LineMeta {
        LineMeta { end: 0, seq: 12, unix_ns: 0, kind }
    }

    fn run(schema: Schema, kind: LineKind, line: &[u8]) -> Map<String, J> {
        let mut out = Vec::new();
        rewrite(schema, &meta(kind), line, "node1", &mut out).unwrap();
        assert_eq!(out.last(), Some(&b'\n'));
        serde_json::from_slice(&out).unwrap()
    }

    #[test]
    fn otel_lines_carry_the_otlp_sinks_names_and_types() {
        let v = run(Schema::Otel, LineKind::Syscall { pid: 3194, tid: 3195, nr: 9 }, MMAP);
        assert_eq!(v["Timestamp"], "2026-11-27T08:14:07.657600061Z");
        assert_eq!(v["EventName"], "syscall.mmap");
        assert_eq!((v["SeverityText"].as_str(), v["SeverityNumber"].as_u64()), (Some("INFO"), Some(9)));
        assert_eq!(v["process.pid"], 3194);
        assert_eq!(v["thread.id"], 3195);
        assert_eq!(v["process.parent_pid"], 3193);
        assert_eq!(v["process.executable.name"], "threads");
        assert_eq!(v["tracer.args.len"], 8392704);
        assert_eq!(v["tracer.ret"], -12);
        assert_eq!(v["tracer.errno"], "ENOMEM");
        assert_eq!(v["tracer.seq"], 12);
        assert!(v.get("ts").is_none() && v.get("event").is_none() && v.get("pid").is_none());
        // Every OTLP attribute is a field of the line, with the same name.
        let m = crate::sink::otlp_map::log_record(&meta(LineKind::Syscall { pid: 3194, tid: 3195, nr: 9 }), MMAP, 0).unwrap();
        for a in &m.attributes {
            assert!(v.contains_key(&a.key), "{} missing from the otel line", a.key);
        }
        assert_eq!(v.len(), m.attributes.len() + 4, "the envelope and the attributes, nothing else");
    }

    #[test]
    fn ecs_lines_use_ecs_names() {
        let v = run(Schema::Ecs, LineKind::Syscall { pid: 3194, tid: 3195, nr: 9 }, MMAP);
        assert_eq!(v["@timestamp"], "2026-11-27T08:14:07.657600061Z");
        assert_eq!(v["event.kind"], "event");
        assert_eq!(v["event.category"], serde_json::json!(["process"]));
        assert_eq!(v["event.type"], serde_json::json!(["info"]));
        assert_eq!(v["event.action"], "syscall.mmap");
        assert_eq!(v["event.sequence"], 12);
        assert_eq!(v["event.duration"], 24476);
        assert_eq!(v["error.code"], "ENOMEM");
        assert_eq!(v["process.pid"], 3194);
        assert_eq!(v["process.parent.pid"], 3193);
        assert_eq!(v["process.thread.id"], 3195);
        assert_eq!(v["process.name"], "threads");
        assert_eq!(v["host.name"], "node1");
        assert_eq!(v["tracer.args.len"], 8392704);
        let v = run(Schema::Ecs, LineKind::Task { pid: 1, tid: 1, event: "exit" }, br#"{"event":"exit","ts":"t","exit_code":3}"#);
        assert_eq!((v["event.type"].clone(), v["process.exit_code"].clone()), (serde_json::json!(["end"]), J::from(3)));
        let v = run(Schema::Ecs, LineKind::Lost, br#"{"event":"lost","ts":"t","count":3}"#);
        assert_eq!((v["event.kind"].as_str(), v.get("event.category")), (Some("pipeline_error"), None));
    }

    #[test]
    fn native_passes_through_and_bad_input_is_an_error() {
        let mut out = Vec::new();
        rewrite(Schema::Native, &meta(LineKind::Stats), b"anything\n", "h", &mut out).unwrap();
        assert_eq!(out, b"anything\n");
        assert!(rewrite(Schema::Otel, &meta(LineKind::Stats), b"[1]\n", "h", &mut out).is_err());
        assert_eq!(out, b"anything\n", "nothing appended");
    }
}
