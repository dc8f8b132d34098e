//! The daemon's own flags: sinks, loss accounting, operation.

use crate::cli::parse::{parse_bytes, parse_duration, parse_queue_size, parse_socket, parse_syslog};
use crate::sink::SinkSpec;
use crate::sink::net::Endpoint;

// ---------------------------------------------------------------------------
// Sinks, loss accounting, daemon operation (`tracer --help`: "Output and
// operation"). Every flag also comes from `TRACER_…` or `--config FILE`;
// see `config`.

/// Per-sink queue bound when `--queue-size` is not given: at ~400 bytes a
/// line, ~20,000 lines — a few seconds of a busy machine for a sink that
/// stalls, in memory only touched when it does.
pub const DEFAULT_QUEUE_SIZE: &str = "8M";
/// Rotated files kept when `--rotate-keep` is not given.
pub const DEFAULT_ROTATE_KEEP: u32 = 5;

#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Output and operation")]
pub struct DaemonArgs {
    /// Append JSON lines to FILE (created mode 0600; a symlink is refused); `-` is stdout. Repeatable.
    #[arg(long, value_name = "FILE", env = "TRACER_OUTPUT")]
    pub output: Vec<std::path::PathBuf>,

    /// One file per process, DIR/<pid>.jsonl (threads go to their process's file); tracer's own records go to DIR/tracer.jsonl.
    #[arg(long, value_name = "DIR", env = "TRACER_OUTPUT_DIR")]
    pub output_dir: Option<std::path::PathBuf>,

    /// Rotate --output files before they grow past BYTES (suffixes K, M, G): FILE → FILE.1 → … → FILE.N.
    #[arg(long, value_name = "BYTES", value_parser = parse_bytes, env = "TRACER_ROTATE_SIZE")]
    pub rotate_size: Option<u64>,

    /// Rotated files to keep (FILE.1 … FILE.N); 0 keeps none.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_ROTATE_KEEP, env = "TRACER_ROTATE_KEEP")]
    pub rotate_keep: u32,

    /// JSON lines over a stream socket: unix:PATH, tcp:HOST:PORT or tls:HOST:PORT (TLS, see --tls-ca); reconnects with backoff. Repeatable.
    #[arg(long, value_name = "ADDR", value_parser = parse_socket, env = "TRACER_SOCKET")]
    pub socket: Vec<Endpoint>,

    /// RFC 5424 syslog to unix:PATH, tcp:HOST:PORT, tls:HOST:PORT (RFC 5425) or udp:HOST:PORT (default /dev/log).
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = "unix:/dev/log", value_parser = parse_syslog, env = "TRACER_SYSLOG")]
    pub syslog: Option<Endpoint>,

    #[command(flatten)]
    pub kafka: crate::sink::kafka::KafkaArgs,

    #[command(flatten)]
    pub otlp: crate::sink::otlp::OtlpArgs,

    /// Field names of the JSON lines (stdout, files, sockets, syslog): native, otel (OpenTelemetry names, as --otlp sends) or ecs (Elastic Common Schema).
    #[arg(long, value_name = "SCHEMA", value_enum, default_value_t = crate::sink::schema_map::Schema::Native, env = "TRACER_SCHEMA")]
    pub schema: crate::sink::schema_map::Schema,

    #[command(flatten)]
    pub tls: crate::sink::tls::TlsArgs,

    /// Bound of each sink's queue in bytes; what overflows it is dropped, counted and reported.
    #[arg(long, value_name = "BYTES", default_value = DEFAULT_QUEUE_SIZE, value_parser = parse_queue_size, env = "TRACER_QUEUE_SIZE")]
    pub queue_size: u64,

    /// Emit a `stats` record this often (e.g. 10s, 500ms, 1m), and a last one at exit.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, env = "TRACER_STATS_INTERVAL")]
    pub stats_interval: Option<std::time::Duration>,

    /// Serve Prometheus metrics at http://ADDR/metrics (e.g. 127.0.0.1:9464).
    #[arg(long, value_name = "IP:PORT", env = "TRACER_METRICS")]
    pub metrics: Option<std::net::SocketAddr>,

    /// Once attached, with every output open, become USER (a name or uid) and give up every capability.
    #[arg(long, value_name = "USER", env = "TRACER_DROP_PRIVILEGES")]
    pub drop_privileges: Option<String>,

    /// Read settings from a TOML file (keys are flag names: rotate-size = "100M"); flags and TRACER_… variables win.
    #[arg(long, value_name = "FILE", env = "TRACER_CONFIG")]
    pub config: Option<std::path::PathBuf>,
}

impl DaemonArgs {
    /// How file sinks rotate.
    pub fn file_options(&self) -> crate::sink::FileOptions {
        crate::sink::FileOptions { rotate_size: self.rotate_size, rotate_keep: self.rotate_keep }
    }

    /// The sinks named, in a fixed order; stdout when none is.
    pub fn sinks(&self) -> Vec<SinkSpec> {
        let mut v: Vec<SinkSpec> = self
            .output
            .iter()
            .map(|p| if p.as_os_str() == "-" { SinkSpec::Stdout } else { SinkSpec::File(p.clone()) })
            .collect();
        v.extend(self.output_dir.iter().map(|d| SinkSpec::Dir(d.clone())));
        let tls = |e: &Endpoint| match e {
            Endpoint::Tls(a, _) => Endpoint::Tls(a.clone(), self.tls.clone()),
            e => e.clone(),
        };
        v.extend(self.socket.iter().map(|e| SinkSpec::Socket(tls(e))));
        v.extend(self.syslog.iter().map(|e| SinkSpec::Syslog(tls(e))));
        v.extend(crate::sink::kafka::KafkaSpec::from_args(&self.kafka, &self.tls).map(|k| SinkSpec::Kafka(Box::new(k))));
        v.extend(crate::sink::otlp::OtlpSpec::from_args(&self.otlp, &self.tls).map(|o| SinkSpec::Otlp(Box::new(o))));
        if v.is_empty() {
            v.push(SinkSpec::Stdout);
        }
        // The same destination twice would be two writers (and two
        // rotations) on one file.
        let mut seen = Vec::new();
        v.retain(|s| if seen.contains(s) { false } else { seen.push(s.clone()); true });
        v
    }
}
