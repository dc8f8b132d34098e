//! `--socket tls:` and `--syslog tls:` (RFC 5425) with certificates the test
//! makes (rcgen): Python's `ssl` (OpenSSL, an independent TLS stack) in
//! `fixtures/tls_proxy.py` terminates TLS in front of a plain TCP listener
//! that keeps every byte it is sent.

mod common;
#[path = "common/certs.rs"]
mod certs;
use common::*;
use serde_json::Value;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Every byte sent to a TCP port, over all connections, in arrival order
/// per connection (the tests use one connection at a time).
struct Sink {
    port: u16,
    got: Arc<Mutex<Vec<u8>>>,
}

impl Sink {
    fn start() -> Sink {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let got = Arc::new(Mutex::new(Vec::new()));
        let g = Arc::clone(&got);
        std::thread::spawn(move || {
            for c in l.incoming() {
                let Ok(mut c) = c else { continue };
                let g = Arc::clone(&g);
                std::thread::spawn(move || {
                    let mut buf = [0u8; 65536];
                    while let Ok(n) = c.read(&mut buf) {
                        if n == 0 {
                            break;
                        }
                        g.lock().unwrap().extend_from_slice(&buf[..n]);
                    }
                });
            }
        });
        Sink { port, got }
    }

    fn bytes(&self) -> Vec<u8> {
        self.got.lock().unwrap().clone()
    }
}

struct TlsProxy {
    _proc: KillOnDrop,
    port: u16,
    log: PathBuf,
}

impl TlsProxy {
    fn start(target: u16, c: &certs::Certs, client_ca: Option<&Path>, log: &Path) -> TlsProxy {
        Self::start_slow(target, c, client_ca, log, 0.0)
    }

    /// As [`start`](Self::start), each connection reading nothing for
    /// `read_delay` seconds after its handshake.
    fn start_slow(target: u16, c: &certs::Certs, client_ca: Option<&Path>, log: &Path, read_delay: f64) -> TlsProxy {
        let port = free_port();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tls_proxy.py");
        let child = Command::new("python3")
            .arg(script)
            .args([port.to_string(), target.to_string()])
            .args([&c.server_cert, &c.server_key])
            .arg(client_ca.map_or_else(|| PathBuf::from("-"), Path::to_owned))
            .arg("-")
            .arg(log)
            .arg(read_delay.to_string())
            .stdout(Stdio::null())
            .spawn()
            .expect("starting the TLS proxy (python3)");
        let p = TlsProxy { _proc: KillOnDrop(child), port, log: log.to_owned() };
        wait_for("the TLS proxy to listen", Duration::from_secs(180), || std::net::TcpStream::connect(("127.0.0.1", port)).ok());
        p
    }

    /// Handshake lines, but the first (`start`'s probe).
    fn handshakes(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log).unwrap_or_default().lines().skip(1).map(str::to_owned).collect()
    }
}

/// Traces the threads program with `args`, alongside `--output FILE`; the
/// file's lines and tracer's stderr.
fn trace_threads(args: &[&str], dir: &Path) -> (Vec<String>, Vec<String>) {
    let file = dir.join("events.jsonl");
    let threads = Program::compile("threads", "threads", &[]);
    let mut all = vec!["--syscalls", "mmap,mprotect,clone3", "--output", file.to_str().unwrap()];
    all.extend_from_slice(args);
    let tracer = Tracer::start(&all);
    run_program(&mut threads.command());
    std::thread::sleep(Duration::from_millis(300));
    let (_, stderr) = tracer.stop_with_stderr();
    let lines = std::fs::read_to_string(&file).unwrap().lines().map(str::to_owned).collect();
    (lines, stderr)
}

#[test]
fn socket_over_tls_delivers_the_file_sinks_lines_verified_against_the_ca() {
    if skip_without_root() {
        return;
    }
    let dir = TempDir::new("tls-socket");
    let c = certs::Certs::make(dir.path());
    let sink = Sink::start();
    // A receiver that reads nothing for a second after the handshake, so
    // tracer is done writing (and exits) before it reads: tracer must close
    // so that it still reads every line (a reset would make its kernel
    // discard what it had not read; it did so in a slow VM).
    let proxy = TlsProxy::start_slow(sink.port, &c, None, &dir.path().join("proxy.log"), 1.0);
    let ep = format!("tls:127.0.0.1:{}", proxy.port);
    let (lines, stderr) = trace_threads(&["--socket", &ep, "--tls-ca", c.ca.to_str().unwrap()], dir.path());
    wait_for("every line through TLS", Duration::from_secs(180), || {
        (sink.bytes().iter().filter(|&&b| b == b'\n').count() >= lines.len()).then_some(())
    });
    let got = String::from_utf8(sink.bytes()).unwrap();
    let got: Vec<&str> = got.lines().collect();
    assert_eq!(got, lines, "the socket got exactly the file's lines: {stderr:?}");
    let hs = proxy.handshakes();
    assert!(!hs.is_empty() && hs.iter().all(|l| l.starts_with("ok")), "{hs:?}");
}

#[test]
fn syslog_over_tls_with_a_client_certificate_is_octet_counted_rfc5425() {
    if skip_without_root() {
        return;
    }
    let dir = TempDir::new("tls-syslog");
    let c = certs::Certs::make(dir.path());
    let sink = Sink::start();
    let proxy = TlsProxy::start(sink.port, &c, Some(&c.ca), &dir.path().join("proxy.log"));
    let ep = format!("tls:127.0.0.1:{}", proxy.port);
    let (lines, stderr) = trace_threads(
        &["--syslog", &ep, "--tls-ca", c.ca.to_str().unwrap(), "--tls-cert", c.client_cert.to_str().unwrap(), "--tls-key", c.client_key.to_str().unwrap()],
        dir.path(),
    );
    // RFC 5425 framing: MSG-LEN SP SYSLOG-MSG, one frame per record.
    let frames = |b: &[u8]| {
        let mut v = Vec::new();
        let mut i = 0;
        while let Some(sp) = b[i..].iter().position(|&c| c == b' ') {
            let len: usize = std::str::from_utf8(&b[i..i + sp]).unwrap().parse().expect("MSG-LEN");
            if i + sp + 1 + len > b.len() {
                break;
            }
            v.push(String::from_utf8(b[i + sp + 1..i + sp + 1 + len].to_vec()).unwrap());
            i += sp + 1 + len;
        }
        v
    };
    wait_for("every record through TLS", Duration::from_secs(180), || (frames(&sink.bytes()).len() >= lines.len()).then_some(()));
    let got = frames(&sink.bytes());
    assert_eq!(got.len(), lines.len(), "{stderr:?}");
    for (msg, line) in got.iter().zip(&lines) {
        assert!(msg.starts_with("<"), "{msg}");
        // The record is the message's MSG part, after the structured data.
        let v: Value = serde_json::from_str(line).unwrap();
        assert!(msg.ends_with(line.as_str()), "message carries the record seq {}: {msg}", v["seq"]);
    }
    let hs = proxy.handshakes();
    assert!(!hs.is_empty() && hs.iter().all(|l| l == "ok alpn=None client_cert=True"), "{hs:?}");
}

#[test]
fn a_wrong_ca_is_refused_with_one_line_and_nothing_is_sent() {
    if skip_without_root() {
        return;
    }
    let dir = TempDir::new("tls-wrong-ca");
    let c = certs::Certs::make(dir.path());
    let sink = Sink::start();
    let proxy = TlsProxy::start(sink.port, &c, None, &dir.path().join("proxy.log"));
    let ep = format!("tls:127.0.0.1:{}", proxy.port);
    let (lines, stderr) = trace_threads(&["--socket", &ep, "--tls-ca", c.other_ca.to_str().unwrap()], dir.path());
    assert!(!lines.is_empty());
    assert!(sink.bytes().is_empty(), "nothing reached the receiver");
    let said: Vec<&String> = stderr.iter().filter(|l| l.contains("cannot connect")).collect();
    assert_eq!(said.len(), 1, "one line: {stderr:?}");
    assert!(said[0].contains("invalid peer certificate") && said[0].contains("--tls-ca"), "{}", said[0]);
    assert!(proxy.handshakes().iter().all(|l| !l.starts_with("ok")), "{:?}", proxy.handshakes());
}

#[test]
fn a_missing_tls_file_is_a_usage_error_before_anything_loads() {
    let out = Command::new(env!("CARGO_BIN_EXE_tracer")).args(["--socket", "tls:127.0.0.1:9", "--tls-ca", "/nonexistent/ca.pem"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("/nonexistent/ca.pem"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
}
