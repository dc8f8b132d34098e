//! `--syslog [unix:PATH|tcp:HOST:PORT|udp:HOST:PORT]` (default `/dev/log`):
//! each record as one RFC 5424 message.
//!
//! `<PRI>1 TIMESTAMP HOSTNAME tracer PROCID MSGID [tracer@32473 …] JSON`
//!
//! - PRI: facility `daemon` (3); severity `info` (6), `warning` (4) for
//!   `lost` records.
//! - TIMESTAMP: the record's own time, RFC 3339 in UTC with microseconds
//!   (RFC 5424 allows at most six fractional digits; the JSON keeps all nine).
//! - PROCID: tracer's pid (the originator); MSGID: the record's `event`.
//! - Structured data `tracer@32473` (32473 is the enterprise number RFC 5612
//!   reserves for documentation; tracer has none of its own) carries `pid`,
//!   `tid`, `syscall` and `seq` so a syslog server can route and filter
//!   without parsing the JSON.
//! - MSG: the JSON line without its newline (MSG-ANY, no BOM, so that the
//!   message is exactly the JSON a consumer parses).
//!
//! Transports: unix datagram (/dev/log; a unix stream socket gets one
//! message per `\n`), UDP one message per datagram (RFC 5426), TCP with
//! octet-counting framing (RFC 6587 §3.4.1: `LEN SP MSG`), which rsyslog's
//! imtcp and syslog-ng's `syslog()` source accept.

use super::net::{Endpoint, Link};
use super::{Batch, Chunk, LineKind, SinkContext, WriteError, Writer};
use crate::model::syscalls::syscall_name;
use crate::render::clock::push_rfc3339;

/// Structured-data id of tracer's element.
pub const SD_ID: &str = "tracer@32473";
const FACILITY_DAEMON: u8 = 3;
const SEVERITY_WARNING: u8 = 4;
const SEVERITY_INFO: u8 = 6;

pub struct SyslogSink {
    link: Link,
    hostname: String,
    procid: String,
    frames: Vec<u8>,
    /// End offset of each message in `frames`.
    ends: Vec<usize>,
}

/// This machine's name as RFC 5424 HOSTNAME (printable ASCII, no spaces), or `-`.
pub(crate) fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: valid buffer of the given length.
    if unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } != 0 {
        return "-".into();
    }
    let n = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    let h = &buf[..n];
    if h.is_empty() || !h.iter().all(|b| (33..=126).contains(b)) {
        return "-".into();
    }
    String::from_utf8_lossy(h).into_owned()
}

impl SyslogSink {
    pub fn new(ep: Endpoint) -> anyhow::Result<Self> {
        Ok(SyslogSink {
            link: Link::open(format!("syslog:{ep}"), ep, true)?,
            hostname: hostname(),
            procid: std::process::id().to_string(),
            frames: Vec::new(),
            ends: Vec::new(),
        })
    }
}

/// Appends an SD-PARAM value with `"`, `\` and `]` escaped (RFC 5424 §6.3.3).
fn push_param(out: &mut Vec<u8>, name: &str, value: &str) {
    out.push(b' ');
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"=\"");
    for &b in value.as_bytes() {
        if matches!(b, b'"' | b'\\' | b']') {
            out.push(b'\\');
        }
        out.push(b);
    }
    out.push(b'"');
}

/// Appends the RFC 5424 message for line `i` of `batch` (no framing).
pub fn format_message(out: &mut Vec<u8>, batch: &Batch, i: usize, hostname: &str, procid: &str) {
    let meta = batch.lines[i];
    let severity = if meta.kind.is_lost() { SEVERITY_WARNING } else { SEVERITY_INFO };
    out.push(b'<');
    out.extend_from_slice(itoa::Buffer::new().format(FACILITY_DAEMON * 8 + severity).as_bytes());
    out.extend_from_slice(b">1 ");
    let mut ts = Vec::with_capacity(32);
    push_rfc3339(&mut ts, meta.unix_ns);
    // "…:SS.nnnnnnnnnZ" → "…:SS.uuuuuuZ"
    out.extend_from_slice(&ts[..ts.len() - 4]);
    out.push(b'Z');
    for field in [hostname, "tracer", procid, meta.kind.event()] {
        out.push(b' ');
        out.extend_from_slice(field.as_bytes());
    }
    out.extend_from_slice(b" [");
    out.extend_from_slice(SD_ID.as_bytes());
    if let LineKind::Syscall { pid, tid, nr } = meta.kind {
        push_param(out, "pid", itoa::Buffer::new().format(pid));
        push_param(out, "tid", itoa::Buffer::new().format(tid));
        push_param(out, "syscall", &syscall_name(nr));
    }
    push_param(out, "seq", itoa::Buffer::new().format(meta.seq));
    out.extend_from_slice(b"] ");
    let line = batch.line(i);
    out.extend_from_slice(&line[..line.len() - 1]);
}

impl Writer for SyslogSink {
    fn write(&mut self, chunk: &Chunk, ctx: &SinkContext) -> Result<(), WriteError> {
        let mut next = chunk.lines.start; // first line not yet sent
        let mut msg = Vec::with_capacity(1024);
        while next < chunk.lines.end {
            let conn = self.link.get(&ctx.queue)?;
            if conn.is_datagram() {
                msg.clear();
                format_message(&mut msg, &chunk.batch, next, &self.hostname, &self.procid);
                match conn.send(&msg) {
                    Ok(()) => next += 1,
                    Err(e) => self.link.broken(&e),
                }
                continue;
            }
            // Stream: frame the rest of the chunk, write it in one go, and on
            // failure resume at the first message not completely taken.
            let octet_counting = !conn.is_unix_stream();
            self.frames.clear();
            self.ends.clear();
            for i in next..chunk.lines.end {
                msg.clear();
                format_message(&mut msg, &chunk.batch, i, &self.hostname, &self.procid);
                if octet_counting {
                    self.frames.extend_from_slice(itoa::Buffer::new().format(msg.len()).as_bytes());
                    self.frames.push(b' ');
                    self.frames.extend_from_slice(&msg);
                } else {
                    self.frames.extend_from_slice(&msg);
                    self.frames.push(b'\n');
                }
                self.ends.push(self.frames.len());
            }
            if conn.peer_closed() {
                self.link.broken(&"peer closed the connection");
                continue;
            }
            let mut sent = 0;
            match conn.write_stream(&self.frames, &mut sent) {
                Ok(()) => return Ok(()),
                Err(e) => {
                    next += self.ends.iter().take_while(|&&end| end <= sent).count();
                    self.link.broken(&e);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc5424_message_with_structured_data() {
        let mut b = Batch::default();
        b.buf.extend_from_slice(b"{\"seq\":5,\"event\":\"syscall\"}\n");
        // 2025-11-27T06:45:47.123456789Z
        b.push_line(5, 1_764_225_947_123_456_789, LineKind::Syscall { pid: 74199, tid: 74200, nr: 435 });
        b.buf.extend_from_slice(b"{\"event\":\"lost\"}\n");
        b.push_line(6, 1_764_225_947_000_000_000, LineKind::Lost);
        let mut out = Vec::new();
        format_message(&mut out, &b, 0, "host1", "42");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"<30>1 2025-11-27T06:45:47.123456Z host1 tracer 42 syscall [tracer@32473 pid="74199" tid="74200" syscall="clone3" seq="5"] {"seq":5,"event":"syscall"}"#
        );
        let mut out = Vec::new();
        format_message(&mut out, &b, 1, "-", "42");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"<28>1 2025-11-27T06:45:47.000000Z - tracer 42 lost [tracer@32473 seq="6"] {"event":"lost"}"#
        );
    }

    #[test]
    fn param_values_are_escaped() {
        let mut out = Vec::new();
        push_param(&mut out, "x", r#"a"b\c]d"#);
        assert_eq!(out, br#" x="a\"b\\c\]d""#);
    }
}
