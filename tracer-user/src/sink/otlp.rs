//! `--otlp URL`: every record as one OTLP `LogRecord` (mapping in
//! `otlp_map.rs`, names in docs/otel.md), over HTTP/protobuf
//! (`http(s)://HOST:4318`, path `/v1/logs` unless the URL names one) or gRPC
//! (`grpc(s)://HOST:4317`, through tonic). TLS is rustls with the shared
//! `--tls-ca/--tls-cert/--tls-key`; verification is always on.
//!
//! Same contract as every sink (and built like the Kafka sink): the lines
//! wait in the sink's byte-bounded queue; this thread takes them, waits
//! `--otlp-linger-ms` for more (batching by age), and sends them in requests
//! of at most `--otlp-batch` records (batching by count). A line is
//! `written` once the collector answered success. A request that fails in a
//! way sending it again can cure (no connection, timeout, HTTP 429/502/503/
//! 504, gRPC UNAVAILABLE/RESOURCE_EXHAUSTED/…) is sent again after the
//! backoff, or after the collector's `Retry-After` when it gave one; the
//! queue fills meanwhile and the drain counts what overflows (`lost`,
//! `sink_queue_full`), so the other sinks never wait. Anything else (HTTP
//! 400, a refused certificate after it was checked, …) fails the request's
//! lines as `write_error`. A collector's partial success that rejected N
//! records counts the request's last N lines as `write_error` (OTLP does
//! not say which). At shutdown an unreachable collector is given up within
//! the shutdown bound, and what was held counts as `write_error`.

use std::cell::Cell;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::collector::logs::v1::{ExportLogsServiceRequest, ExportLogsServiceResponse};
use opentelemetry_proto::tonic::logs::v1::{ResourceLogs, ScopeLogs};
use prost::Message as _;

use super::net::Backoff;
use super::tls::TlsArgs;
use super::{Chunk, Queue, SinkContext, WriteError, Writer};

/// An `--otlp-header` value: `{:?}` does not print it (it is often a token).
#[derive(Clone, PartialEq, Eq)]
pub struct Header {
    pub name: String,
    pub value: String,
}

impl std::fmt::Debug for Header {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}=***", self.name)
    }
}

fn parse_header(s: &str) -> Result<Header, String> {
    let Some((k, v)) = s.split_once('=') else {
        return Err(format!("'{}' is not a header NAME=VALUE", s.escape_default()));
    };
    let name = k.trim().to_ascii_lowercase();
    if hyper::header::HeaderName::from_bytes(name.as_bytes()).is_err() || name.is_empty() {
        return Err(format!("'{}' is not an HTTP header name", k.escape_default()));
    }
    if hyper::header::HeaderValue::from_str(v.trim()).is_err() {
        return Err(format!("the value of header '{name}' has characters a header cannot carry"));
    }
    Ok(Header { name, value: v.trim().to_owned() })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Http,
    Grpc,
}

/// Where `--otlp` sends: protocol, TLS or not, and the URL to dial.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtlpUrl {
    pub protocol: Protocol,
    pub tls: bool,
    /// `http(s)://HOST:PORT/PATH` (HTTP: the logs path; gRPC: the origin).
    pub uri: String,
}

impl std::fmt::Display for OtlpUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.protocol {
            Protocol::Http => f.write_str(&self.uri),
            Protocol::Grpc => write!(f, "{}{}", if self.tls { "grpcs" } else { "grpc" }, &self.uri[self.uri.find(':').unwrap_or(0)..]),
        }
    }
}

pub fn parse_url(s: &str) -> Result<OtlpUrl, String> {
    let bad = || format!("'{}' is not an OTLP URL (http://HOST:4318, https://…, grpc://HOST:4317 or grpcs://…)", s.escape_default());
    let (scheme, rest) = s.split_once("://").ok_or_else(bad)?;
    let (protocol, tls) = match scheme.to_ascii_lowercase().as_str() {
        "http" => (Protocol::Http, false),
        "https" => (Protocol::Http, true),
        "grpc" => (Protocol::Grpc, false),
        "grpcs" => (Protocol::Grpc, true),
        _ => return Err(bad()),
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let auth: hyper::http::uri::Authority = authority.parse().map_err(|_| bad())?;
    if auth.host().is_empty() || authority.contains('@') {
        return Err(bad());
    }
    let default_port = match protocol {
        Protocol::Http => 4318,
        Protocol::Grpc => 4317,
    };
    // `Authority::port` hides a port that is not a u16: read it here.
    let port = match authority.strip_prefix(auth.host()).unwrap_or("") {
        "" => default_port,
        p => p.strip_prefix(':').and_then(|p| p.parse::<u16>().ok()).filter(|&p| p > 0).ok_or_else(bad)?,
    };
    let host = auth.host();
    let path = match protocol {
        Protocol::Http if path.is_empty() || path == "/" => "/v1/logs",
        Protocol::Http => path,
        Protocol::Grpc if path.is_empty() || path == "/" => "",
        Protocol::Grpc => return Err(format!("'{}': a gRPC URL has no path", s.escape_default())),
    };
    let uri = format!("{}://{host}:{port}{path}", if tls { "https" } else { "http" });
    uri.parse::<hyper::Uri>().map_err(|_| bad())?;
    Ok(OtlpUrl { protocol, tls, uri })
}

/// The OTLP sink's flags.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
#[command(next_help_heading = "Output and operation")]
pub struct OtlpArgs {
    /// Send every record as an OTLP log record to URL: http(s)://HOST:4318 (protobuf; path /v1/logs) or grpc(s)://HOST:4317.
    #[arg(long, value_name = "URL", value_parser = parse_url, env = "TRACER_OTLP")]
    pub otlp: Option<OtlpUrl>,

    /// Header sent with every OTLP request, NAME=VALUE (e.g. authorization=Bearer …). Repeatable.
    #[arg(long = "otlp-header", value_name = "NAME=VALUE", value_parser = parse_header, env = "TRACER_OTLP_HEADER", hide_env_values = true, requires = "otlp")]
    pub otlp_header: Vec<Header>,

    /// Most records in one OTLP request (1 to 65536).
    #[arg(long, value_name = "N", default_value_t = 2048, value_parser = clap::value_parser!(u64).range(1..=65536), env = "TRACER_OTLP_BATCH")]
    pub otlp_batch: u64,

    /// Once records arrive, wait this many milliseconds for more before sending (0: none).
    #[arg(long, value_name = "MS", default_value_t = 200, value_parser = clap::value_parser!(u64).range(0..=10_000), env = "TRACER_OTLP_LINGER_MS")]
    pub otlp_linger_ms: u64,
}

/// Everything the sink needs, as named on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtlpSpec {
    pub args: OtlpArgs,
    pub url: OtlpUrl,
    pub tls: TlsArgs,
}

impl OtlpSpec {
    pub fn from_args(args: &OtlpArgs, tls: &TlsArgs) -> Option<OtlpSpec> {
        Some(OtlpSpec { url: args.otlp.clone()?, args: args.clone(), tls: tls.clone() })
    }
}

/// One request that takes longer is abandoned (and sent again).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest `Retry-After` honoured as given; a longer one is cut to this
/// (the queue would overflow long before anyway).
const RETRY_AFTER_MAX: Duration = Duration::from_secs(60);

type Https = hyper_rustls::HttpsConnector<HttpConnector>;

enum Transport {
    Http { client: HttpClient<Https, Full<Bytes>>, uri: hyper::Uri, headers: hyper::HeaderMap },
    Grpc { client: LogsServiceClient<tonic::transport::Channel>, headers: tonic::metadata::MetadataMap },
}

/// Why a request failed.
enum Failure {
    /// Sending it again may work: after `after` if the collector said so.
    Retry { why: String, after: Option<Duration> },
    /// It will not.
    Fatal(String),
}

pub struct OtlpSink {
    spec: OtlpSpec,
    rt: tokio::runtime::Runtime,
    transport: Transport,
    backoff: Backoff,
    resource: opentelemetry_proto::tonic::resource::v1::Resource,
    /// When requests in flight are abandoned: set once shutdown is seen.
    stop_at: Cell<Option<Instant>>,
}

fn https_connector(tls: &TlsArgs, url: &OtlpUrl) -> anyhow::Result<Https> {
    let b = hyper_rustls::HttpsConnectorBuilder::new();
    let b = if url.tls {
        let mut cfg = (*tls.client_config()?).clone();
        cfg.alpn_protocols.clear();
        b.with_tls_config(cfg).https_only()
    } else {
        // Plain http: the TLS side is never used, so no trust store is read.
        let cfg = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()?
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth();
        b.with_tls_config(cfg).https_or_http()
    };
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(Some(super::net::CONNECT_TIMEOUT));
    http.set_nodelay(true);
    Ok(match url.protocol {
        Protocol::Http => b.enable_http1().wrap_connector(http),
        Protocol::Grpc => b.enable_http2().wrap_connector(http),
    })
}

/// The connector that does TLS whatever scheme tonic asks for (grpcs).
#[derive(Clone)]
struct AlwaysTls(Https);

impl tower_service::Service<hyper::Uri> for AlwaysTls {
    type Response = <Https as tower_service::Service<hyper::Uri>>::Response;
    type Error = <Https as tower_service::Service<hyper::Uri>>::Error;
    type Future = <Https as tower_service::Service<hyper::Uri>>::Future;

    fn poll_ready(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, uri: hyper::Uri) -> Self::Future {
        let mut parts = uri.into_parts();
        parts.scheme = Some(hyper::http::uri::Scheme::HTTPS);
        match hyper::Uri::from_parts(parts) {
            Ok(u) => self.0.call(u),
            // Not reached: the parts came from a valid URI.
            Err(e) => Box::pin(std::future::ready(Err(e.into()))),
        }
    }
}

impl OtlpSink {
    /// Reads the TLS files now (a bad one is a usage error); connects on the
    /// first request.
    pub fn new(spec: &OtlpSpec, name: String) -> anyhow::Result<Self> {
        if !spec.url.tls && spec.tls.any() {
            anyhow::bail!("--tls-ca/--tls-cert apply to https:// or grpcs:// OTLP URLs, not {}", spec.url);
        }
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let connector = https_connector(&spec.tls, &spec.url)?;
        let transport = match spec.url.protocol {
            Protocol::Http => {
                let mut headers = hyper::HeaderMap::new();
                headers.insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static("application/x-protobuf"));
                for h in &spec.args.otlp_header {
                    headers.append(hyper::header::HeaderName::from_bytes(h.name.as_bytes())?, h.value.parse()?);
                }
                let client = HttpClient::builder(TokioExecutor::new()).pool_idle_timeout(Duration::from_secs(30)).build(connector);
                Transport::Http { client, uri: spec.url.uri.parse()?, headers }
            }
            Protocol::Grpc => {
                let mut headers = tonic::metadata::MetadataMap::new();
                for h in &spec.args.otlp_header {
                    let k = tonic::metadata::MetadataKey::from_bytes(h.name.as_bytes())?;
                    headers.append(k, h.value.parse()?);
                }
                // tonic refuses an https:// origin without its own TLS (built
                // on its own config); it dials http:// and the connector
                // does the TLS with ours.
                let ep = tonic::transport::Endpoint::from_shared(spec.url.uri.replacen("https://", "http://", 1))?
                    .connect_timeout(super::net::CONNECT_TIMEOUT)
                    .timeout(REQUEST_TIMEOUT);
                let channel = {
                    let _g = rt.enter();
                    if spec.url.tls { ep.connect_with_connector_lazy(AlwaysTls(connector)) } else { ep.connect_with_connector_lazy(connector) }
                };
                Transport::Grpc { client: LogsServiceClient::new(channel), headers }
            }
        };
        Ok(OtlpSink {
            spec: spec.clone(),
            rt,
            transport,
            backoff: Backoff::new(name),
            resource: super::otlp_map::resource(),
            stop_at: Cell::new(None),
        })
    }

    /// Runs `fut` on this thread's runtime; `None` if it took longer than
    /// `limit`, or than the grace left once the queue closed.
    fn run<T>(&self, queue: &Queue, limit: Duration, fut: impl Future<Output = T>) -> Option<T> {
        super::net::run_bounded(&self.rt, &self.stop_at, queue, limit, fut)
    }

    /// Sends one request once; `Ok(rejected)`: the collector took it,
    /// rejecting that many records.
    async fn send_once(transport: &Transport, req: &ExportLogsServiceRequest, body: &Bytes) -> Result<u64, Failure> {
        match transport {
            Transport::Http { client, uri, headers } => {
                let mut r = hyper::Request::post(uri.clone()).body(Full::new(body.clone())).map_err(|e| Failure::Fatal(e.to_string()))?;
                *r.headers_mut() = headers.clone();
                let resp = client.request(r).await.map_err(|e| Failure::Retry { why: super::tls::explain(&e), after: None })?;
                let status = resp.status();
                let after = retry_after(resp.headers());
                let bytes = resp.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                if status.is_success() {
                    let rejected = ExportLogsServiceResponse::decode(bytes).ok().and_then(|r| r.partial_success).map_or(0, |p| p.rejected_log_records);
                    return Ok(u64::try_from(rejected).unwrap_or(0));
                }
                let why = format!("collector answered HTTP {status}{}", body_text(&bytes));
                match status.as_u16() {
                    429 | 502 | 503 | 504 => Err(Failure::Retry { why, after }),
                    _ => Err(Failure::Fatal(why)),
                }
            }
            Transport::Grpc { client, headers } => {
                let mut client = client.clone();
                let mut r = tonic::Request::new(req.clone());
                *r.metadata_mut() = headers.clone();
                match client.export(r).await {
                    Ok(resp) => Ok(resp.into_inner().partial_success.map_or(0, |p| u64::try_from(p.rejected_log_records).unwrap_or(0))),
                    Err(s) => {
                        use tonic::Code::*;
                        let why = match std::error::Error::source(&s) {
                            Some(src) => format!("gRPC {:?}: {}: {}", s.code(), s.message(), super::tls::explain(src)),
                            None => format!("gRPC {:?}: {}", s.code(), s.message()),
                        };
                        match s.code() {
                            Unavailable | ResourceExhausted | DeadlineExceeded | Aborted | Cancelled | OutOfRange | DataLoss | Unknown => {
                                Err(Failure::Retry { why, after: None })
                            }
                            _ => Err(Failure::Fatal(why)),
                        }
                    }
                }
            }
        }
    }

    /// Sends `records` until the collector takes them; `Ok(rejected)`, or
    /// `Err` once it gave up (the message starts "gave up" at shutdown).
    fn export(&mut self, records: Vec<opentelemetry_proto::tonic::logs::v1::LogRecord>, queue: &Queue) -> Result<u64, String> {
        let req = ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                resource: Some(self.resource.clone()),
                scope_logs: vec![ScopeLogs { scope: Some(super::otlp_map::scope()), log_records: records, schema_url: String::new() }],
                schema_url: String::new(),
            }],
        };
        let body = match self.transport {
            Transport::Http { .. } => Bytes::from(req.encode_to_vec()),
            Transport::Grpc { .. } => Bytes::new(),
        };
        loop {
            if let Some(wait) = self.backoff.wait() {
                if queue.sleep_unless_closed(wait) && self.stop_at.get().is_some_and(|t| Instant::now() >= t) {
                    return Err("gave up at shutdown: collector unreachable".into());
                }
                if queue.is_closed() && self.stop_at.get().is_none() {
                    // One last attempt within the grace.
                    self.stop_at.set(Some(Instant::now() + super::net::CLOSE_GRACE));
                }
            }
            match self.run(queue, REQUEST_TIMEOUT, Self::send_once(&self.transport, &req, &body)) {
                Some(Ok(rejected)) => {
                    self.backoff.connected("");
                    return Ok(rejected);
                }
                Some(Err(Failure::Fatal(why))) => return Err(why),
                Some(Err(Failure::Retry { why, after })) => {
                    if queue.is_closed() {
                        return Err(format!("gave up at shutdown: {why}"));
                    }
                    self.backoff.failed(&why);
                    if let Some(a) = after {
                        // The collector's own pacing wins over ours.
                        self.backoff.retry_in(a.min(RETRY_AFTER_MAX));
                    }
                }
                None if queue.is_closed() => return Err("gave up at shutdown: request unanswered".into()),
                None => self.backoff.failed(&"request timed out"),
            }
        }
    }
}

/// `Retry-After: SECONDS` (an HTTP date is rare from collectors and is
/// treated as absent: the backoff applies).
fn retry_after(h: &hyper::HeaderMap) -> Option<Duration> {
    let v = h.get(hyper::header::RETRY_AFTER)?.to_str().ok()?;
    v.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// The start of an error body, for the log line.
fn body_text(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(&b[..b.len().min(200)]);
    let s = s.trim();
    if s.is_empty() || s.chars().any(|c| c.is_control()) { String::new() } else { format!(": {s}") }
}

impl Writer for OtlpSink {
    fn write(&mut self, chunk: &Chunk, ctx: &SinkContext) -> Result<(), WriteError> {
        self.write_many(std::slice::from_ref(chunk), ctx).pop().unwrap_or(Ok(()))
    }

    fn linger(&self) -> Option<Duration> {
        let ms = self.spec.args.otlp_linger_ms;
        (ms > 0).then(|| Duration::from_millis(ms))
    }

    fn write_many(&mut self, chunks: &[Chunk], ctx: &SinkContext) -> Vec<Result<(), WriteError>> {
        let mut failed: Vec<Vec<u32>> = vec![Vec::new(); chunks.len()];
        let mut last_error = String::new();
        let observed = u64::try_from(crate::render::clock::now_unix_ns()).unwrap_or(0);
        // Every line in order, as (chunk, index): requests cut across chunks.
        let all: Vec<(usize, usize)> = chunks.iter().enumerate().flat_map(|(c, ch)| (0..ch.lines.len()).map(move |i| (c, i))).collect();
        let per = usize::try_from(self.spec.args.otlp_batch).unwrap_or(usize::MAX);
        let mut gave_up = false;
        for group in all.chunks(per) {
            let mut records = Vec::with_capacity(group.len());
            let mut sent = Vec::with_capacity(group.len());
            for &(c, i) in group {
                let chunk = &chunks[c];
                let line = chunk.batch.line(chunk.lines.start + i);
                match super::otlp_map::log_record(&chunk.metas()[i], line, observed) {
                    Ok(r) => {
                        records.push(r);
                        sent.push((c, i));
                    }
                    Err(e) => {
                        last_error = e;
                        failed[c].push(i as u32);
                    }
                }
            }
            if records.is_empty() {
                continue;
            }
            let r = if gave_up { Err(last_error.clone()) } else { self.export(records, &ctx.queue) };
            let bad: &[(usize, usize)] = match r {
                Ok(0) => &[],
                Ok(rejected) => {
                    last_error = format!("the collector rejected {rejected} of {} records", sent.len());
                    &sent[sent.len().saturating_sub(usize::try_from(rejected).unwrap_or(usize::MAX))..]
                }
                Err(e) => {
                    gave_up |= e.starts_with("gave up");
                    last_error = e;
                    &sent
                }
            };
            for &(c, i) in bad {
                failed[c].push(i as u32);
            }
        }
        WriteError::per_chunk(failed, &last_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_to_protocol_tls_and_path() {
        let u = parse_url("http://127.0.0.1:4318").unwrap();
        assert_eq!((u.protocol, u.tls, u.uri.as_str()), (Protocol::Http, false, "http://127.0.0.1:4318/v1/logs"));
        assert_eq!(parse_url("https://c.example/otlp/v1/logs").unwrap().uri, "https://c.example:4318/otlp/v1/logs");
        let u = parse_url("grpcs://collector:4317").unwrap();
        assert_eq!((u.protocol, u.tls, u.uri.as_str()), (Protocol::Grpc, true, "https://collector:4317"));
        assert_eq!(u.to_string(), "grpcs://collector:4317");
        assert_eq!(parse_url("grpc://[::1]").unwrap().uri, "http://[::1]:4317");
        for bad in ["127.0.0.1:4318", "ftp://x", "http://", "grpc://h:4317/v1/logs", "http://u:p@h", "http://h:99999"] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn headers_parse_and_hide_their_value() {
        let h = parse_header("Authorization=Bearer abc=").unwrap();
        assert_eq!((h.name.as_str(), h.value.as_str()), ("authorization", "Bearer abc="));
        assert!(!format!("{h:?}").contains("abc"));
        assert!(parse_header("novalue").is_err());
        assert!(parse_header("bad name=x").is_err());
        assert!(parse_header("x=a\nb").is_err());
    }

    #[test]
    fn retry_after_takes_seconds() {
        let mut h = hyper::HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert(hyper::header::RETRY_AFTER, "3".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
        h.insert(hyper::header::RETRY_AFTER, "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap());
        assert_eq!(retry_after(&h), None);
    }
}
