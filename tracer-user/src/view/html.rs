//! `--html`: one self-contained page. The trace goes in as one JSON
//! document inside `<script type="application/json">`: processes, threads
//! and arrows as small objects, the marks (one per syscall or event, up to
//! millions) as columns — base64 typed arrays and one string of hover
//! texts — so the page builds no DOM node per event and draws on a canvas
//! (page.js), one mark per pixel per lane when zoomed out.

use std::io::{self, Write};

use base64::Engine as _;
use serde_json::{Value, json};

use super::model::{ArrowKind, Trace};

const PAGE: &str = include_str!("page.html");
const STYLE: &str = include_str!("page.css");
const SCRIPT: &str = include_str!("page.js");

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn rfc3339(unix_ns: i64) -> String {
    let mut v = Vec::new();
    crate::render::clock::push_rfc3339(&mut v, i128::from(unix_ns));
    String::from_utf8_lossy(&v).into_owned()
}

/// The page's data document (see page.js for its reader).
pub fn data(t: &Trace, name: &str) -> Value {
    let t0 = t.t_min;
    let rel = |ts: i64| ts - t0;
    let opt = |ts: Option<i64>| ts.map(rel);
    let procs: Vec<Value> = t
        .procs
        .iter()
        .map(|p| {
            json!({
                "pid": p.pid, "ppid": p.ppid,
                "comms": p.comms.iter().map(|(ts, c)| json!([rel(*ts), c])).collect::<Vec<_>>(),
                "s": opt(p.start), "e": opt(p.end), "f": rel(p.first_seen), "l": rel(p.last_seen),
                "exit": p.exit, "unreaped": p.unreaped,
                "reap": p.reap.as_ref().map(|r| json!({"t": rel(r.ts), "by": r.by_tid, "zombie": r.zombie_ns, "lifetime": r.lifetime_ns, "text": r.text})),
                "threads": p.threads,
            })
        })
        .collect();
    let threads: Vec<Value> = t
        .threads
        .iter()
        .enumerate()
        .map(|(i, th)| {
            let (s, e) = t.lane(i);
            json!({"tid": th.tid, "pid": th.pid, "p": th.proc_idx, "comm": th.comm, "s": rel(s), "e": rel(e),
                   "born": th.start.is_some(), "died": th.end.is_some(), "exit": th.exit})
        })
        .collect();
    let n = t.marks.len();
    let (mut ts, mut dur, mut th, mut kind, mut fail, mut off) =
        (Vec::with_capacity(n * 8), Vec::with_capacity(n * 8), Vec::with_capacity(n * 4), Vec::with_capacity(n * 2), Vec::with_capacity(n), Vec::with_capacity(n * 4 + 4));
    let mut text = String::new();
    let mut utf16 = 0u32;
    for m in &t.marks {
        ts.extend_from_slice(&(rel(m.ts) as f64).to_le_bytes());
        dur.extend_from_slice(&(m.dur as f64).to_le_bytes());
        th.extend_from_slice(&(m.thread as u32).to_le_bytes());
        kind.extend_from_slice(&m.kind.to_le_bytes());
        fail.push(u8::from(m.failed));
        off.extend_from_slice(&utf16.to_le_bytes());
        text.push_str(&m.text);
        utf16 = utf16.saturating_add(m.text.chars().map(|c| c.len_utf16() as u32).sum());
    }
    off.extend_from_slice(&utf16.to_le_bytes());
    let arrows: Vec<Value> = t
        .arrows
        .iter()
        .map(|a| json!([u8::from(a.kind == ArrowKind::Reap), a.from_thread, rel(a.from_ts), a.to_thread, rel(a.to_ts)]))
        .collect();
    json!({
        "name": name,
        "version": t.version,
        "host": t.host,
        "viewer": env!("CARGO_PKG_VERSION"),
        "start": rfc3339(t0),
        "end": rfc3339(t.t_max),
        "span": t.t_max - t0,
        "records": t.records,
        "warnings": t.warnings,
        "procs": procs,
        "tree": t.tree(),
        "threads": threads,
        "kinds": t.kinds,
        "marks": {"n": n, "ts": b64(&ts), "dur": b64(&dur), "th": b64(&th), "kind": b64(&kind), "fail": b64(&fail), "off": b64(&off), "text": text},
        "arrows": arrows,
        "tc": t.thread_creates.iter().map(|(th, s)| json!([th, s])).collect::<Vec<_>>(),
        "lost": t.lost.iter().map(|l| json!([rel(l.ts), l.count, l.text])).collect::<Vec<_>>(),
        "counts": t.counts.iter().map(|(k, (c, e))| json!([k, c, e])).collect::<Vec<_>>(),
    })
}

/// The JSON, safe inside `<script>`: `<` appears only in strings, where
/// `\u003c` means the same.
fn script_safe(v: &Value) -> String {
    serde_json::to_string(v).expect("JSON values serialize").replace('<', "\\u003c")
}

/// Writes the page: page.html with page.css, the data and page.js inlined.
pub fn write(out: &mut impl Write, t: &Trace, name: &str) -> io::Result<()> {
    let data = script_safe(&data(t, name));
    let title = name.replace('&', "&amp;").replace('<', "&lt;");
    let page = PAGE.replace("{{TITLE}}", &title).replace("{{STYLE}}", STYLE);
    let (head, rest) = page.split_once("{{DATA}}").expect("page.html has {{DATA}}");
    let (mid, tail) = rest.split_once("{{SCRIPT}}").expect("page.html has {{SCRIPT}}");
    out.write_all(head.as_bytes())?;
    out.write_all(data.as_bytes())?;
    out.write_all(mid.as_bytes())?;
    out.write_all(SCRIPT.as_bytes())?;
    out.write_all(tail.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_is_self_contained_and_script_safe() {
        let l = r#"{"schema":3,"seq":0,"ts":"2026-11-27T08:13:20.697000000Z","event":"exec","pid":10,"tid":10,"ppid":1,"comm":"a</script><b>","filename":"./prog"}"#;
        let t = super::super::model::read(l.as_bytes(), "x<y").unwrap();
        let mut v = Vec::new();
        write(&mut v, &t, "x<y").unwrap();
        let s = String::from_utf8(v).unwrap();
        assert_eq!(s.matches("</script>").count(), 2, "only the page's own two scripts close");
        assert!(!s.contains("http://") && !s.contains("https://"), "no network reference");
        assert!(s.contains("<title>tracer view: x&lt;y</title>"));
        let d = data(&t, "x");
        assert_eq!(d["marks"]["n"], 1);
        assert_eq!(d["threads"][0]["tid"], 10);
        assert_eq!(d["start"], "2026-11-27T08:13:20.697000000Z");
    }
}
