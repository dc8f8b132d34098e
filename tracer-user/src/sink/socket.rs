//! `--socket unix:PATH` / `--socket tcp:HOST:PORT` / `--socket tls:HOST:PORT`
//! (TLS with `--tls-ca/--tls-cert/--tls-key`): JSON lines over a stream
//! socket, the framing Vector's `socket` source and Fluent Bit's `tcp` input
//! take (one object per `\n`-terminated line).
//!
//! While the peer is unreachable the sink holds the chunk in hand and
//! reconnects with backoff ([`Link`]); lines meanwhile wait in the sink's
//! queue, and the drain drops and counts what overflows it. A connection that
//! breaks mid-chunk resumes on the new connection from the start of the
//! first line the kernel had not completely taken, so the peer never sees a
//! line spliced from two halves. (Lines the kernel took but the peer never
//! read are lost with the connection: TCP gives no application-level ack.)

use super::net::{Endpoint, Link};
use super::{Chunk, SinkContext, WriteError, Writer};

pub struct SocketSink {
    link: Link,
}

impl SocketSink {
    pub fn new(ep: Endpoint) -> anyhow::Result<Self> {
        Ok(SocketSink { link: Link::open(format!("socket:{ep}"), ep, false)? })
    }
}

/// Offset (within `chunk.bytes()`) of the line containing byte `sent`.
pub fn line_start(chunk: &Chunk, sent: usize) -> usize {
    let base = if chunk.lines.start == 0 { 0 } else { chunk.batch.lines[chunk.lines.start - 1].end };
    chunk.metas().iter().map(|m| m.end - base).take_while(|&end| end <= sent).last().unwrap_or(0)
}

impl Writer for SocketSink {
    fn write(&mut self, chunk: &Chunk, ctx: &SinkContext) -> Result<(), WriteError> {
        let bytes = chunk.bytes();
        let mut sent = 0;
        loop {
            let conn = self.link.get(&ctx.queue)?;
            if conn.peer_closed() {
                sent = line_start(chunk, sent);
                self.link.broken(&"peer closed the connection");
                continue;
            }
            match conn.write_stream(bytes, &mut sent) {
                Ok(()) => return Ok(()),
                Err(e) => {
                    sent = line_start(chunk, sent);
                    self.link.broken(&e);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::{Batch, LineKind};
    use std::sync::Arc;

    #[test]
    fn resumes_at_the_start_of_a_partly_sent_line() {
        let mut b = Batch::default();
        for (i, t) in ["aaaa", "bb", "cccc"].iter().enumerate() {
            b.buf.extend_from_slice(t.as_bytes());
            b.buf.push(b'\n');
            b.push_line(i as u64, 0, LineKind::Stats);
        }
        let c = Chunk { batch: Arc::new(b), lines: 1..3 }; // "bb\ncccc\n"
        assert_eq!(line_start(&c, 0), 0);
        assert_eq!(line_start(&c, 2), 0);
        assert_eq!(line_start(&c, 3), 3);
        assert_eq!(line_start(&c, 7), 3);
        assert_eq!(line_start(&c, 8), 8);
    }
}
