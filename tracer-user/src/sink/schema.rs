//! `--schema otel|ecs` for the JSON-line sinks: a [`Writer`] that hands the
//! sink it wraps each chunk rewritten by `schema_map`, line for line
//! (same count, same metadata), so the sink's accounting and the queue's,
//! which stay on the native chunk, are unchanged. Kafka keeps the native
//! lines and OTLP maps them itself.

use std::sync::Arc;
use std::time::Duration;

use super::{Batch, Chunk, SinkContext, SinkSpec, WriteError, Writer};
use crate::sink::schema_map::{Schema, rewrite};

pub struct Reschema {
    inner: Box<dyn Writer>,
    schema: Schema,
    host: String,
}

impl Reschema {
    fn map(&self, chunk: &Chunk) -> Chunk {
        let mut b = Batch::with_capacity(chunk.bytes().len() * 3 / 2);
        for (i, m) in chunk.metas().iter().enumerate() {
            let line = chunk.batch.line(chunk.lines.start + i);
            if let Err(e) = rewrite(self.schema, m, line, &self.host, &mut b.buf) {
                // Not reached (the drain writes JSON objects); the native
                // line is better than a gap.
                log::debug!("--schema: {e}");
                b.buf.extend_from_slice(line);
            }
            b.push_line(m.seq, m.unix_ns, m.kind);
        }
        let n = b.lines.len();
        Chunk { batch: Arc::new(b), lines: 0..n }
    }
}

/// Wraps `w` if `spec` is a JSON-line sink and `schema` is not native.
pub fn wrap(spec: &SinkSpec, w: Box<dyn Writer>, schema: Schema) -> Box<dyn Writer> {
    let json_lines = matches!(spec, SinkSpec::Stdout | SinkSpec::File(_) | SinkSpec::Dir(_) | SinkSpec::Socket(_) | SinkSpec::Syslog(_));
    if schema == Schema::Native || !json_lines {
        return w;
    }
    Box::new(Reschema { inner: w, schema, host: super::syslog::hostname() })
}

impl Writer for Reschema {
    fn write(&mut self, chunk: &Chunk, ctx: &SinkContext) -> Result<(), WriteError> {
        let c = self.map(chunk);
        self.inner.write(&c, ctx)
    }
    fn write_many(&mut self, chunks: &[Chunk], ctx: &SinkContext) -> Vec<Result<(), WriteError>> {
        let mapped: Vec<Chunk> = chunks.iter().map(|c| self.map(c)).collect();
        self.inner.write_many(&mapped, ctx)
    }
    fn linger(&self) -> Option<Duration> {
        self.inner.linger()
    }
    fn reopen(&mut self) -> std::io::Result<()> {
        self.inner.reopen()
    }
    fn tick_every(&self) -> Option<Duration> {
        self.inner.tick_every()
    }
    fn tick(&mut self, ctx: &SinkContext) -> Result<(), WriteError> {
        self.inner.tick(ctx)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
