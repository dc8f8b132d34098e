//! `--kafka BROKERS --kafka-topic TOPIC`: one Kafka message per record, its
//! value the JSON line the other sinks write (without the `\n`), through
//! `rskafka` (pure Rust; see docs/kafka.md for the choice).
//!
//! Same contract as every sink: the lines wait in the sink's byte-bounded
//! queue; this thread takes them (after `--kafka-linger-ms`, to send fuller
//! requests), groups them by partition, and produces each partition's lines
//! in order in requests of at most `--kafka-batch-size` bytes, `acks=all`
//! (rskafka always asks for it). A line is `written` once the broker
//! acknowledged it. While the broker is unreachable the thread holds what it
//! took and reconnects with backoff; the queue fills meanwhile and the drain
//! counts what overflows (`lost`, reason `sink_queue_full`), so the other
//! sinks never wait. At shutdown it gives up on an unreachable broker within
//! the shutdown bound and counts what it held as `write_error`.
//!
//! Delivery is at least once: a request whose answer never came (timeout,
//! connection cut) is sent again, so a broker that did store it has it twice.
//! What a broker acknowledged and then lost (a memory-only broker that
//! restarts) is beyond tracer's count.
//!
//! Partitions: the key (`--kafka-key`) picks the partition as Kafka's Java
//! client does (murmur2 of the key, modulo the partition count), so one
//! host's (or one process's) records stay in order in one partition.
//! Records without a key (`--kafka-key none`, or tracer's own records with
//! `pid`) stick to one partition per request round, moving on each round.

use std::cell::Cell;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rskafka::chrono::{TimeZone, Utc};
use rskafka::client::error::{Error as KError, ProtocolError};
use rskafka::client::partition::{Compression, PartitionClient, UnknownTopicHandling};
use rskafka::client::{ClientBuilder, Credentials, SaslConfig};
use rskafka::record::Record;

use super::tls::TlsArgs;
use super::{Chunk, LineKind, Queue, SinkContext, WriteError, Writer};

/// What keys a message (and so picks its partition).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum KeyBy {
    /// This machine's hostname: one host's records in one partition, in order.
    Host,
    /// The traced process id (tracer's own records have none).
    Pid,
    /// No key: records spread over the partitions.
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Codec {
    None,
    Lz4,
    Zstd,
}

impl Codec {
    fn rskafka(self) -> Compression {
        match self {
            Codec::None => Compression::NoCompression,
            Codec::Lz4 => Compression::Lz4,
            Codec::Zstd => Compression::Zstd,
        }
    }
}

/// A password that `{:?}` does not print.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("\"***\"")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_owned()))
    }
}

/// The Kafka sink's flags.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
#[command(next_help_heading = "Output and operation")]
pub struct KafkaArgs {
    /// Send each record as one Kafka message to BROKERS (HOST:PORT[,HOST:PORT…]); needs --kafka-topic.
    #[arg(long, value_name = "BROKERS", value_parser = parse_brokers, env = "TRACER_KAFKA", requires = "kafka_topic")]
    pub kafka: Option<String>,

    /// The Kafka topic (it must exist).
    #[arg(long, value_name = "TOPIC", env = "TRACER_KAFKA_TOPIC", requires = "kafka")]
    pub kafka_topic: Option<String>,

    /// Message key, which picks the partition: host, pid or none.
    #[arg(long, value_name = "KEY", value_enum, default_value_t = KeyBy::Host, env = "TRACER_KAFKA_KEY")]
    pub kafka_key: KeyBy,

    /// Compression of Kafka record batches: none, lz4 or zstd.
    #[arg(long, value_name = "CODEC", value_enum, default_value_t = Codec::None, env = "TRACER_KAFKA_COMPRESSION")]
    pub kafka_compression: Codec,

    /// Kafka client id (brokers log and meter by it).
    #[arg(long, value_name = "ID", default_value = "tracer", env = "TRACER_KAFKA_CLIENT_ID")]
    pub kafka_client_id: String,

    /// Largest Kafka produce request per partition, in bytes of lines (Kafka's batch.size; 1024 to 67108864).
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 20, value_parser = clap::value_parser!(u64).range(1024..=64 << 20), env = "TRACER_KAFKA_BATCH_SIZE")]
    pub kafka_batch_size: u64,

    /// Once lines arrive, wait this many milliseconds for more, to send fuller requests (Kafka's linger.ms; 0: none).
    #[arg(long, value_name = "MS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(0..=10_000), env = "TRACER_KAFKA_LINGER_MS")]
    pub kafka_linger_ms: u64,

    /// SASL/PLAIN user name for Kafka; needs --kafka-sasl-password.
    #[arg(long, value_name = "USER", env = "TRACER_KAFKA_SASL_USER", requires = "kafka_sasl_password")]
    pub kafka_sasl_user: Option<String>,

    /// SASL/PLAIN password (prefer the environment variable to the command line).
    #[arg(long, value_name = "PASSWORD", env = "TRACER_KAFKA_SASL_PASSWORD", hide_env_values = true, requires = "kafka_sasl_user")]
    pub kafka_sasl_password: Option<Secret>,

    /// Connect to Kafka over TLS (implied by --tls-ca/--tls-cert).
    #[arg(long, env = "TRACER_KAFKA_TLS")]
    pub kafka_tls: bool,
}

fn parse_brokers(s: &str) -> Result<String, String> {
    let list: Vec<&str> = s.split(',').map(str::trim).collect();
    for b in &list {
        match b.rsplit_once(':') {
            Some((h, p)) if !h.is_empty() && p.parse::<u16>().is_ok_and(|p| p > 0) => {}
            _ => return Err(format!("'{b}' is not a broker HOST:PORT (e.g. 127.0.0.1:9092)")),
        }
    }
    Ok(list.join(","))
}

/// Everything the sink needs, as named on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaSpec {
    pub args: KafkaArgs,
    pub tls: TlsArgs,
}

impl KafkaSpec {
    pub fn from_args(args: &KafkaArgs, tls: &TlsArgs) -> Option<KafkaSpec> {
        args.kafka.as_ref()?;
        Some(KafkaSpec { args: args.clone(), tls: tls.clone() })
    }

    pub fn brokers(&self) -> &str {
        self.args.kafka.as_deref().unwrap_or_default()
    }

    pub fn topic(&self) -> &str {
        self.args.kafka_topic.as_deref().unwrap_or_default()
    }
}

/// One request that takes longer is abandoned (and sent again).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
use super::net::Backoff;

/// Kafka's default partitioner hash (murmur2, as in the Java client's
/// `Utils.murmur2`).
pub fn murmur2(data: &[u8]) -> i32 {
    const M: u32 = 0x5bd1_e995;
    let mut h: u32 = 0x9747_b28c ^ data.len() as u32;
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> 24;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M) ^ k;
    }
    let rest = chunks.remainder();
    if rest.len() == 3 {
        h ^= u32::from(rest[2]) << 16;
    }
    if rest.len() >= 2 {
        h ^= u32::from(rest[1]) << 8;
    }
    if !rest.is_empty() {
        h ^= u32::from(rest[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// The partition (index into `0..n`) Kafka's Java client picks for `key`.
pub fn partition_for(key: &[u8], n: usize) -> usize {
    (murmur2(key) & 0x7fff_ffff) as usize % n.max(1)
}

struct Conn {
    /// Kept alive: the partition clients share its broker connections.
    _client: rskafka::client::Client,
    parts: Vec<PartitionClient>,
}

pub struct KafkaSink {
    spec: KafkaSpec,
    tls: Option<Arc<rustls::ClientConfig>>,
    rt: tokio::runtime::Runtime,
    conn: Option<Conn>,
    backoff: Backoff,
    host: Vec<u8>,
    /// Partition of keyless records this round.
    sticky: usize,
    /// When requests in flight are abandoned: set once shutdown is seen.
    stop_at: Cell<Option<Instant>>,
}

impl KafkaSink {
    /// Reads the TLS files now (a bad one is a usage error); connects later.
    pub fn new(spec: &KafkaSpec, name: String) -> anyhow::Result<Self> {
        let tls = if spec.args.kafka_tls || spec.tls.any() { Some(spec.tls.client_config()?) } else { None };
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        Ok(KafkaSink {
            spec: spec.clone(),
            tls,
            rt,
            conn: None,
            backoff: Backoff::new(name),
            host: super::syslog::hostname().into_bytes(),
            sticky: 0,
            stop_at: Cell::new(None),
        })
    }

    /// Runs `fut` on this thread's runtime; `None` if it took longer than
    /// `limit`, or than the grace left once the queue closed.
    fn run<T>(&self, queue: &Queue, limit: Duration, fut: impl Future<Output = T>) -> Option<T> {
        super::net::run_bounded(&self.rt, &self.stop_at, queue, limit, fut)
    }

    async fn connect_once(&self) -> Result<Conn, String> {
        let a = &self.spec.args;
        let brokers = self.spec.brokers().split(',').map(str::to_owned).collect();
        let mut b = ClientBuilder::new(brokers).client_id(a.kafka_client_id.as_str()).backoff_config(rskafka::BackoffConfig {
            init_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_millis(500),
            base: 2.0,
            deadline: Some(Duration::from_secs(3)),
        });
        if let Some(t) = &self.tls {
            b = b.tls_config(Arc::clone(t));
        }
        if let (Some(u), Some(p)) = (&a.kafka_sasl_user, &a.kafka_sasl_password) {
            b = b.sasl_config(SaslConfig::Plain(Credentials::new(u.clone(), p.0.clone())));
        }
        let client = b.build().await.map_err(|e| super::tls::explain(&e))?;
        let topic = self.spec.topic();
        let topics = client.list_topics().await.map_err(|e| super::tls::explain(&e))?;
        let Some(t) = topics.into_iter().find(|t| t.name == topic) else {
            return Err(format!("topic '{topic}' does not exist on the broker"));
        };
        let mut parts = Vec::new();
        for p in t.partitions {
            parts.push(client.partition_client(topic, p, UnknownTopicHandling::Error).await.map_err(|e| super::tls::explain(&e))?);
        }
        if parts.is_empty() {
            return Err(format!("topic '{topic}' has no partitions"));
        }
        Ok(Conn { _client: client, parts })
    }

    fn attempt(&mut self, queue: &Queue) -> bool {
        let r = self.run(queue, REQUEST_TIMEOUT, self.connect_once()).unwrap_or_else(|| Err("connect timed out".into()));
        match r {
            Ok(c) => {
                self.backoff.connected(&format!(" ({} partitions)", c.parts.len()));
                self.conn = Some(c);
                true
            }
            Err(e) => {
                self.backoff.failed(&e);
                false
            }
        }
    }

    /// Connected (waiting with backoff as needed); `false` once shutdown
    /// began and one last attempt failed.
    fn ensure_connected(&mut self, queue: &Queue) -> bool {
        while self.conn.is_none() {
            if let Some(wait) = self.backoff.wait() {
                if queue.sleep_unless_closed(wait) {
                    return self.stop_at.get().is_none_or(|t| Instant::now() < t) && self.attempt(queue);
                }
                continue;
            }
            if !self.attempt(queue) && queue.is_closed() {
                return false;
            }
        }
        true
    }

    fn broken(&mut self, why: &str) {
        let had = self.conn.take().is_some();
        self.backoff.broken(had, &why);
    }

    fn key<'a>(&'a self, kind: &LineKind, buf: &'a mut itoa::Buffer) -> Option<&'a [u8]> {
        match (self.spec.args.kafka_key, kind) {
            (KeyBy::Host, _) => Some(&self.host),
            (KeyBy::Pid, LineKind::Syscall { pid, .. } | LineKind::Task { pid, .. }) => Some(buf.format(*pid).as_bytes()),
            _ => None,
        }
    }

    /// Produces `lines` (chunk index, line index within the chunk) to
    /// partition `p`, retrying through reconnects; `Err` once it gave up.
    fn produce(&mut self, chunks: &[Chunk], p: usize, lines: &[(usize, usize)], queue: &Queue) -> Result<(), String> {
        let mut key_buf = itoa::Buffer::new();
        let records: Vec<Record> = lines
            .iter()
            .map(|&(c, i)| {
                let chunk = &chunks[c];
                let line = chunk.batch.line(chunk.lines.start + i);
                let meta = &chunk.metas()[i];
                let ns = i64::try_from(meta.unix_ns).unwrap_or(0);
                Record {
                    key: self.key(&meta.kind, &mut key_buf).map(<[u8]>::to_vec),
                    value: Some(line[..line.len() - 1].to_vec()),
                    headers: Default::default(),
                    timestamp: Utc.timestamp_nanos(ns),
                }
            })
            .collect();
        let codec = self.spec.args.kafka_compression.rskafka();
        loop {
            if !self.ensure_connected(queue) {
                return Err("gave up at shutdown: broker unreachable".into());
            }
            let conn = self.conn.as_ref().expect("connected");
            let part = &conn.parts[p % conn.parts.len()];
            match self.run(queue, REQUEST_TIMEOUT, part.produce(records.clone(), codec)) {
                Some(Ok(_offsets)) => return Ok(()),
                Some(Err(KError::ServerError { protocol_error, .. })) if !retriable(&protocol_error) => {
                    return Err(format!("broker refused the records: {protocol_error}"));
                }
                Some(Err(e)) => self.broken(&super::tls::explain(&e)),
                None if queue.is_closed() => {
                    return Err("gave up at shutdown: request unanswered".into());
                }
                None => self.broken("request timed out"),
            }
            if queue.is_closed() && self.stop_at.get().is_some_and(|t| Instant::now() >= t) {
                return Err("gave up at shutdown: broker unreachable".into());
            }
        }
    }
}

/// Errors that sending the same records again cannot cure.
fn retriable(e: &ProtocolError) -> bool {
    !matches!(
        e,
        ProtocolError::MessageTooLarge
            | ProtocolError::RecordListTooLarge
            | ProtocolError::InvalidRecord
            | ProtocolError::CorruptMessage
            | ProtocolError::TopicAuthorizationFailed
    )
}

impl Writer for KafkaSink {
    fn write(&mut self, chunk: &Chunk, ctx: &SinkContext) -> Result<(), WriteError> {
        self.write_many(std::slice::from_ref(chunk), ctx).pop().unwrap_or(Ok(()))
    }

    fn linger(&self) -> Option<Duration> {
        let ms = self.spec.args.kafka_linger_ms;
        (ms > 0).then(|| Duration::from_millis(ms))
    }

    fn write_many(&mut self, chunks: &[Chunk], ctx: &SinkContext) -> Vec<Result<(), WriteError>> {
        let mut failed: Vec<Vec<u32>> = vec![Vec::new(); chunks.len()];
        let mut last_error = String::new();
        if !self.ensure_connected(&ctx.queue) {
            return chunks.iter().map(|_| Err(WriteError::GaveUp)).collect();
        }
        let n = self.conn.as_ref().map_or(1, |c| c.parts.len());
        self.sticky = (self.sticky + 1) % n;
        // Each partition's lines, in order.
        let mut by_part: Vec<Vec<(usize, usize)>> = vec![Vec::new(); n];
        let mut key_buf = itoa::Buffer::new();
        for (c, chunk) in chunks.iter().enumerate() {
            for (i, m) in chunk.metas().iter().enumerate() {
                let p = match self.key(&m.kind, &mut key_buf) {
                    Some(k) => partition_for(k, n),
                    None => self.sticky,
                };
                by_part[p].push((c, i));
            }
        }
        let limit = usize::try_from(self.spec.args.kafka_batch_size).unwrap_or(usize::MAX);
        let mut gave_up = false;
        for (p, lines) in by_part.iter().enumerate() {
            let mut start = 0;
            while start < lines.len() {
                let mut end = start;
                let mut bytes = 0;
                while end < lines.len() {
                    let (c, i) = lines[end];
                    let len = chunks[c].batch.line(chunks[c].lines.start + i).len();
                    if end > start && bytes + len > limit {
                        break;
                    }
                    bytes += len;
                    end += 1;
                }
                let group = &lines[start..end];
                let r = if gave_up { Err(last_error.clone()) } else { self.produce(chunks, p, group, &ctx.queue) };
                if let Err(e) = r {
                    gave_up |= e.starts_with("gave up");
                    last_error = e;
                    for &(c, i) in group {
                        failed[c].push(i as u32);
                    }
                }
                start = end;
            }
        }
        WriteError::per_chunk(failed, &last_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur2_matches_the_java_client() {
        // Kafka's UtilsTest.testMurmur2 cases.
        for (s, h) in [
            ("21", -973932308),
            ("foobar", -790332482),
            ("a-little-bit-long-string", -985981536),
            ("a-little-bit-longer-string", -1486304829),
            ("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971),
            ("abc", 479470107),
        ] {
            assert_eq!(murmur2(s.as_bytes()), h, "{s}");
        }
        assert_eq!(partition_for(b"21", 4), (-973932308i32 & 0x7fff_ffff) as usize % 4);
    }

    #[test]
    fn flags_parse_and_check() {
        use clap::Parser;
        #[derive(Parser)]
        struct T {
            #[command(flatten)]
            k: KafkaArgs,
        }
        let t = T::try_parse_from(["t", "--kafka", "a:9092, b:9093", "--kafka-topic", "x", "--kafka-key", "pid"]).unwrap();
        assert_eq!(t.k.kafka.as_deref(), Some("a:9092,b:9093"));
        assert_eq!(t.k.kafka_key, KeyBy::Pid);
        assert_eq!((t.k.kafka_compression, t.k.kafka_batch_size), (Codec::None, 1 << 20));
        assert!(T::try_parse_from(["t", "--kafka", "a:9092"]).is_err(), "a topic is needed");
        assert!(T::try_parse_from(["t", "--kafka", "a", "--kafka-topic", "x"]).is_err());
        assert!(T::try_parse_from(["t", "--kafka", "a:1", "--kafka-topic", "x", "--kafka-key", "exec_id"]).is_err());
        assert!(T::try_parse_from(["t", "--kafka", "a:1", "--kafka-topic", "x", "--kafka-sasl-user", "u"]).is_err());
        assert!(T::try_parse_from(["t", "--kafka", "a:1", "--kafka-topic", "x", "--kafka-batch-size", "100"]).is_err());
        assert!(T::try_parse_from(["t", "--kafka", "a:1", "--kafka-topic", "x", "--kafka-linger-ms", "20000"]).is_err());
        let t = T::try_parse_from(["t", "--kafka", "a:1", "--kafka-topic", "x", "--kafka-sasl-user", "u", "--kafka-sasl-password", "pw"])
            .unwrap();
        assert!(!format!("{:?}", t.k).contains("pw"), "the password is not printed");
    }
}
