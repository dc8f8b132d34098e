//! `--metrics ADDR`: the [`Snapshot`] behind the `stats` record, served as
//! Prometheus text (exposition format 0.0.4, written by `prometheus-client`)
//! at `http://ADDR/metrics`.
//!
//! The HTTP side is deliberately tiny: one GET per connection, a bounded
//! request head, a timeout, `Connection: close`. It runs as tasks on the
//! drain's runtime; a scrape only copies the shared snapshot (refreshed by
//! the drain every loss poll and at every `stats` record).

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tracer_common::Counter;

use crate::model::syscalls::syscall_name;
use crate::pipeline::report::SharedSnapshot;

#[derive(Debug)]
struct SnapshotCollector(SharedSnapshot);

type Labels = Vec<(&'static str, String)>;

fn counter(enc: &mut DescriptorEncoder, name: &str, help: &str, samples: &[(Labels, u64)]) -> Result<(), std::fmt::Error> {
    let mut m = enc.encode_descriptor(name, help, None, prometheus_client::metrics::MetricType::Counter)?;
    for (labels, v) in samples {
        let c = ConstCounter::new(*v);
        if labels.is_empty() {
            c.encode(m.encode_family(&Vec::<(&str, String)>::new())?)?;
        } else {
            c.encode(m.encode_family(labels)?)?;
        }
    }
    Ok(())
}

fn gauge(enc: &mut DescriptorEncoder, name: &str, help: &str, samples: &[(Labels, u64)]) -> Result<(), std::fmt::Error> {
    let mut m = enc.encode_descriptor(name, help, None, prometheus_client::metrics::MetricType::Gauge)?;
    for (labels, v) in samples {
        ConstGauge::new(i64::try_from(*v).unwrap_or(i64::MAX)).encode(m.encode_family(labels)?)?;
    }
    Ok(())
}

impl Collector for SnapshotCollector {
    fn encode(&self, mut enc: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let s = self.0.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let none = |v: u64| vec![(Labels::new(), v)];
        counter(&mut enc, "tracer_records", "Records emitted into the stream (syscall, lost and stats; the next seq).", &none(s.records))?;
        let events: Vec<_> = s.events.iter().map(|&(nr, n)| (vec![("syscall", syscall_name(nr).into_owned())], n)).collect();
        counter(&mut enc, "tracer_events", "Traced calls decoded, per syscall.", &events)?;
        for c in Counter::ALL {
            let help = match c {
                Counter::Emitted => "Records the kernel side committed to the ring buffer.",
                Counter::RingbufFull => "Records lost in the kernel: the ring buffer was full.",
                Counter::ExitWithoutEnter => "Syscall exits with no recorded entry (in flight at attach).",
                Counter::StashFailed => "Syscall entries that could not be stashed (call lost).",
                Counter::Filtered => "Traced calls dropped by the in-kernel filters.",
                Counter::ChildReturn => "clone/clone3 returns in the new child (not separate calls).",
                Counter::TrackFull => "New processes of traced trees not followed: the tracked-process map was full.",
            };
            counter(&mut enc, &format!("tracer_kernel_{}", c.name()), help, &none(s.kernel.get(c)))?;
        }
        let mut m = enc.encode_descriptor(
            "tracer_calls_in_flight",
            "Traced calls entered and not yet returned (the kernel side's pairing state).",
            None,
            prometheus_client::metrics::MetricType::Gauge,
        )?;
        ConstGauge::new(s.kernel.calls_in_flight).encode(m.encode_family(&Vec::<(&str, String)>::new())?)?;
        counter(&mut enc, "tracer_decode_errors", "Ring-buffer records that could not be decoded.", &none(s.decode_errors))?;
        let per_sink = |f: fn(&crate::pipeline::report::SinkSnapshot) -> u64| -> Vec<(Labels, u64)> {
            s.sinks.iter().map(|k| (vec![("sink", k.name.clone())], f(k))).collect()
        };
        counter(&mut enc, "tracer_sink_written", "Lines a sink wrote.", &per_sink(|k| k.written))?;
        counter(&mut enc, "tracer_sink_dropped", "Lines dropped because the sink's queue was full.", &per_sink(|k| k.dropped))?;
        counter(&mut enc, "tracer_sink_write_errors", "Lines a sink failed to write.", &per_sink(|k| k.write_errors))?;
        gauge(&mut enc, "tracer_sink_queued_bytes", "Bytes waiting in (or being written from) the sink's queue.", &per_sink(|k| k.queued_bytes))?;
        gauge(&mut enc, "tracer_sink_queue_capacity_bytes", "The sink's queue bound.", &per_sink(|k| k.capacity_bytes))?;
        gauge(&mut enc, "tracer_ringbuf_size_bytes", "Ring buffer size.", &none(s.ringbuf_size))?;
        gauge(&mut enc, "tracer_ringbuf_used_bytes", "Ring buffer bytes written by the kernel and not yet consumed.", &none(s.ringbuf_used))?;
        gauge(&mut enc, "tracer_uptime_seconds", "Seconds since tracer attached.", &none(s.uptime_ns / 1_000_000_000))?;
        Ok(())
    }
}

/// The registry behind the endpoint.
pub fn registry(snapshot: SharedSnapshot) -> Registry {
    let mut r = Registry::default();
    r.register_collector(Box::new(SnapshotCollector(snapshot)));
    r
}

/// Prometheus text for the registry's current state.
pub fn render(r: &Registry) -> String {
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, r);
    out
}

const MAX_REQUEST_HEAD: usize = 8192;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

async fn respond(mut conn: TcpStream, registry: Arc<Registry>) -> std::io::Result<()> {
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    let read = async {
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < MAX_REQUEST_HEAD {
            let n = conn.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            head.extend_from_slice(&buf[..n]);
        }
        Ok::<_, std::io::Error>(())
    };
    tokio::time::timeout(REQUEST_TIMEOUT, read).await.map_err(|_| std::io::ErrorKind::TimedOut)??;
    let line = head.split(|&b| b == b'\r' || b == b'\n').next().unwrap_or_default();
    let mut parts = line.split(|&b| b == b' ');
    let (method, target) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
    let path = target.split(|&b| b == b'?').next().unwrap_or_default();
    let (status, ctype, body) = match (method, path) {
        (b"GET" | b"HEAD", b"/metrics") => ("200 OK", "text/plain; version=0.0.4; charset=utf-8", render(&registry)),
        (b"GET" | b"HEAD", b"/") => ("200 OK", "text/plain; charset=utf-8", "tracer: metrics at /metrics\n".to_owned()),
        (b"GET" | b"HEAD", _) => ("404 Not Found", "text/plain; charset=utf-8", "not found\n".to_owned()),
        _ => ("405 Method Not Allowed", "text/plain; charset=utf-8", "only GET\n".to_owned()),
    };
    let mut resp = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    if method != b"HEAD" {
        resp.extend_from_slice(body.as_bytes());
    }
    tokio::time::timeout(REQUEST_TIMEOUT, conn.write_all(&resp)).await.map_err(|_| std::io::ErrorKind::TimedOut)??;
    conn.shutdown().await
}

/// Serves scrapes until the runtime stops.
pub async fn serve(listener: TcpListener, registry: Arc<Registry>) {
    loop {
        match listener.accept().await {
            Ok((conn, _)) => {
                tokio::spawn(respond(conn, Arc::clone(&registry)));
            }
            Err(e) => {
                log::warn!("metrics: accepting a connection: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::report::{SinkSnapshot, Snapshot};
    use std::sync::Mutex;

    #[test]
    fn text_exposition_has_the_snapshot_values() {
        let mut s = Snapshot { records: 11, events: vec![(9, 120), (56, 1)], decode_errors: 2, ringbuf_size: 4096, ..Default::default() };
        s.kernel.values[Counter::RingbufFull as usize] = 7;
        s.kernel.calls_in_flight = 3;
        s.sinks.push(SinkSnapshot { name: "file:/var/log/t.jsonl".into(), written: 9, dropped: 3, ..Default::default() });
        let text = render(&registry(Arc::new(Mutex::new(s))));
        for want in [
            "# TYPE tracer_records_total counter\ntracer_records_total 11\n",
            "tracer_events_total{syscall=\"mmap\"} 120\n",
            "tracer_events_total{syscall=\"clone\"} 1\n",
            "tracer_kernel_ringbuf_full_total 7\n",
            "tracer_kernel_emitted_total 0\n",
            "tracer_decode_errors_total 2\n",
            "# TYPE tracer_calls_in_flight gauge\ntracer_calls_in_flight 3\n",
            "tracer_sink_dropped_total{sink=\"file:/var/log/t.jsonl\"} 3\n",
            "tracer_sink_written_total{sink=\"file:/var/log/t.jsonl\"} 9\n",
            "# TYPE tracer_ringbuf_size_bytes gauge\ntracer_ringbuf_size_bytes 4096\n",
        ] {
            assert!(text.contains(want), "missing {want:?} in:\n{text}");
        }
    }
}
