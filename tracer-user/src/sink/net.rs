//! Network endpoints shared by `--socket` and `--syslog`: parsing
//! `unix:PATH` / `tcp:HOST:PORT` / `udp:HOST:PORT`, connecting with timeouts,
//! and [`Link`], a connection that reconnects with exponential backoff.

use std::io::{ErrorKind, Write};
use std::net::{TcpStream, ToSocketAddrs, UdpSocket};
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::{Queue, WriteError};

/// First retry after a failed connect; doubled per failure up to [`BACKOFF_MAX`].
pub const BACKOFF_MIN: Duration = Duration::from_millis(100);
pub const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// A connect that takes longer than this counts as failed.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// A write blocked this long (peer not reading) breaks the connection; the
/// queue has been absorbing (and then dropping) lines meanwhile.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Unix(PathBuf),
    Tcp(String),
    Udp(String),
    /// `tls:HOST:PORT`: TCP with TLS (rustls, the shared `--tls-*` flags,
    /// which `cli` fills in).
    Tls(String, super::tls::TlsArgs),
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Unix(p) => write!(f, "unix:{}", p.display()),
            Endpoint::Tcp(a) => write!(f, "tcp:{a}"),
            Endpoint::Udp(a) => write!(f, "udp:{a}"),
            Endpoint::Tls(a, _) => write!(f, "tls:{a}"),
        }
    }
}

fn host_port(kind: &str, a: &str) -> Result<String, String> {
    match a.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0) => Ok(a.to_owned()),
        _ => Err(format!("'{kind}:{a}' needs HOST:PORT, e.g. {kind}:127.0.0.1:5170")),
    }
}

impl Endpoint {
    /// `unix:PATH`, `tcp:HOST:PORT`, `udp:HOST:PORT`; a bare absolute path is
    /// `unix:`.
    pub fn parse(s: &str, allow_udp: bool) -> Result<Endpoint, String> {
        if let Some(p) = s.strip_prefix("unix:") {
            if p.is_empty() {
                return Err("'unix:' needs a socket path".into());
            }
            return Ok(Endpoint::Unix(p.into()));
        }
        if let Some(a) = s.strip_prefix("tcp:") {
            return host_port("tcp", a).map(Endpoint::Tcp);
        }
        if let Some(a) = s.strip_prefix("tls:") {
            return host_port("tls", a).map(|a| Endpoint::Tls(a, Default::default()));
        }
        if let Some(a) = s.strip_prefix("udp:") {
            if !allow_udp {
                return Err(format!("'{s}': JSON lines need a stream socket (unix:PATH, tcp:HOST:PORT or tls:HOST:PORT)"));
            }
            return host_port("udp", a).map(Endpoint::Udp);
        }
        if s.starts_with('/') {
            return Ok(Endpoint::Unix(s.into()));
        }
        let kinds = if allow_udp { "unix:PATH, tcp:HOST:PORT, tls:HOST:PORT or udp:HOST:PORT" } else { "unix:PATH, tcp:HOST:PORT or tls:HOST:PORT" };
        Err(format!("'{s}' is not an endpoint ({kinds})"))
    }
}

pub enum Conn {
    Unix(UnixStream),
    UnixDgram(UnixDatagram),
    Tcp(TcpStream),
    Udp(UdpSocket),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

fn connect_tcp(a: &str) -> std::io::Result<TcpStream> {
    let mut last = None;
    for addr in a.to_socket_addrs()? {
        match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
            Ok(s) => {
                s.set_write_timeout(Some(WRITE_TIMEOUT))?;
                return Ok(s);
            }
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::new(ErrorKind::NotFound, "no address")))
}

/// TCP to `a`, then a TLS handshake (bounded by [`CONNECT_TIMEOUT`]) that
/// verifies the server's chain and name: a bad certificate is an error here,
/// not at the first write.
fn connect_tls(a: &str, cfg: &std::sync::Arc<rustls::ClientConfig>) -> std::io::Result<Conn> {
    let host = a.rsplit_once(':').map_or(a, |(h, _)| h).trim_start_matches('[').trim_end_matches(']');
    let name = rustls::pki_types::ServerName::try_from(host.to_owned())
        .map_err(|e| std::io::Error::new(ErrorKind::InvalidInput, format!("'{host}' is not a TLS server name: {e}")))?;
    let mut tls = rustls::ClientConnection::new(std::sync::Arc::clone(cfg), name).map_err(std::io::Error::other)?;
    let mut s = connect_tcp(a)?;
    s.set_read_timeout(Some(CONNECT_TIMEOUT))?;
    while tls.is_handshaking() {
        tls.complete_io(&mut s)?;
    }
    s.set_read_timeout(None)?;
    Ok(Conn::Tls(Box::new(rustls::StreamOwned::new(tls, s))))
}

impl Conn {
    /// Connects; a `unix:` endpoint is tried as a datagram socket first when
    /// `dgram_first` (syslog's /dev/log is one), else as a stream.
    pub fn connect(ep: &Endpoint, dgram_first: bool, tls: Option<&std::sync::Arc<rustls::ClientConfig>>) -> std::io::Result<Conn> {
        let c = match ep {
            Endpoint::Unix(p) => {
                let dgram = if dgram_first {
                    let s = UnixDatagram::unbound()?;
                    match s.connect(p) {
                        Ok(()) => Some(s),
                        Err(e) if e.raw_os_error() == Some(libc::EPROTOTYPE) => None,
                        Err(e) => return Err(e),
                    }
                } else {
                    None
                };
                match dgram {
                    Some(s) => {
                        s.set_write_timeout(Some(WRITE_TIMEOUT))?;
                        Conn::UnixDgram(s)
                    }
                    None => {
                        let s = UnixStream::connect(p)?;
                        s.set_write_timeout(Some(WRITE_TIMEOUT))?;
                        Conn::Unix(s)
                    }
                }
            }
            Endpoint::Tcp(a) => Conn::Tcp(connect_tcp(a)?),
            Endpoint::Tls(a, _) => {
                let cfg = tls.ok_or_else(|| std::io::Error::other("TLS endpoint without a TLS configuration"))?;
                connect_tls(a, cfg)?
            }
            Endpoint::Udp(a) => {
                let addr = a
                    .to_socket_addrs()?
                    .next()
                    .ok_or_else(|| std::io::Error::new(ErrorKind::NotFound, "no address"))?;
                let bind = if addr.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" };
                let s = UdpSocket::bind(bind)?;
                s.connect(addr)?;
                s.set_write_timeout(Some(WRITE_TIMEOUT))?;
                Conn::Udp(s)
            }
        };
        Ok(c)
    }

    pub fn is_datagram(&self) -> bool {
        matches!(self, Conn::UnixDgram(_) | Conn::Udp(_))
    }

    pub fn is_unix_stream(&self) -> bool {
        matches!(self, Conn::Unix(_))
    }

    fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
        match self {
            Conn::Unix(s) => s.as_fd(),
            Conn::UnixDgram(s) => s.as_fd(),
            Conn::Tcp(s) => s.as_fd(),
            Conn::Udp(s) => s.as_fd(),
            Conn::Tls(s) => s.sock.as_fd(),
        }
    }

    /// A stream peer that has closed (or reset) its end: writing now would
    /// only lose lines into a dead connection.
    pub fn peer_closed(&self) -> bool {
        if self.is_datagram() {
            return false;
        }
        let mut pfd = libc::pollfd { fd: self.fd().as_raw_fd(), events: libc::POLLIN | libc::POLLRDHUP, revents: 0 };
        // SAFETY: one valid pollfd, zero timeout.
        let n = unsafe { libc::poll(&mut pfd, 1, 0) };
        if n != 1 {
            return false;
        }
        if pfd.revents & (libc::POLLRDHUP | libc::POLLHUP | libc::POLLERR) != 0 {
            return true;
        }
        // Readable: receivers of JSON lines send nothing, so this is EOF or
        // stray bytes; peek to tell which.
        let mut b = [0u8; 1];
        // SAFETY: valid fd and buffer.
        let r = unsafe { libc::recv(pfd.fd, b.as_mut_ptr().cast(), 1, libc::MSG_PEEK | libc::MSG_DONTWAIT) };
        r == 0
    }

    /// Writes `bytes` to a stream, advancing `sent` as the kernel takes them.
    pub fn write_stream(&mut self, bytes: &[u8], sent: &mut usize) -> std::io::Result<()> {
        while *sent < bytes.len() {
            let r = match self {
                Conn::Unix(s) => s.write(&bytes[*sent..]),
                Conn::Tcp(s) => s.write(&bytes[*sent..]),
                // Counted as sent only once flushed to the kernel: what
                // rustls still held is sent again on the next connection.
                Conn::Tls(s) => s.write(&bytes[*sent..]).and_then(|n| s.flush().map(|()| n)),
                _ => return Err(std::io::Error::new(ErrorKind::Unsupported, "not a stream")),
            };
            match r {
                Ok(0) => return Err(ErrorKind::WriteZero.into()),
                Ok(n) => *sent += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Sends one datagram.
    pub fn send(&mut self, msg: &[u8]) -> std::io::Result<()> {
        let n = match self {
            Conn::UnixDgram(s) => s.send(msg)?,
            Conn::Udp(s) => s.send(msg)?,
            _ => return Err(std::io::Error::new(ErrorKind::Unsupported, "not a datagram socket")),
        };
        if n != msg.len() {
            return Err(std::io::Error::other("datagram truncated"));
        }
        Ok(())
    }
}

/// How a network sink paces its reconnects: exponential backoff between
/// attempts ([`BACKOFF_MIN`] doubling to [`BACKOFF_MAX`], reset by a
/// successful connect), and one log line per outage. Shared by [`Link`] and
/// the Kafka sink.
pub struct Backoff {
    name: String,
    delay: Duration,
    next_attempt: Instant,
    /// In an outage (for logging once per outage).
    down: bool,
}

impl Backoff {
    pub fn new(name: String) -> Self {
        Backoff { name, delay: BACKOFF_MIN, next_attempt: Instant::now(), down: false }
    }

    /// How long until the next attempt is due; `None` when it is due now.
    pub fn wait(&self) -> Option<Duration> {
        self.next_attempt.checked_duration_since(Instant::now()).filter(|d| !d.is_zero())
    }

    /// An attempt connected: back to the shortest delay (`detail` is added
    /// to the "connected" line that ends an outage).
    pub fn connected(&mut self, detail: &str) {
        if self.down {
            log::info!("sink {}: connected{detail}", self.name);
        }
        self.delay = BACKOFF_MIN;
        self.down = false;
    }

    /// An attempt failed: say so once per outage and wait twice as long
    /// before the next one.
    pub fn failed(&mut self, e: &dyn std::fmt::Display) {
        if !self.down {
            log::warn!(
                "sink {}: cannot connect ({e}); retrying with backoff up to {}s, queueing meanwhile",
                self.name,
                BACKOFF_MAX.as_secs()
            );
            self.down = true;
        }
        self.next_attempt = Instant::now() + self.delay;
        self.delay = (self.delay * 2).min(BACKOFF_MAX);
    }

    /// The peer asked for the next attempt to wait `d` (HTTP `Retry-After`).
    pub fn retry_in(&mut self, d: Duration) {
        self.next_attempt = Instant::now() + d;
    }

    /// The connection in use failed (`had_conn`: there was one to lose):
    /// reconnect at once.
    pub fn broken(&mut self, had_conn: bool, why: &dyn std::fmt::Display) {
        if had_conn {
            log::warn!("sink {}: connection lost ({why}); reconnecting", self.name);
            self.down = true;
        }
        self.next_attempt = Instant::now();
    }
}

/// A connection to one endpoint that comes back after failures, paced by
/// a [`Backoff`].
pub struct Link {
    ep: Endpoint,
    tls: Option<std::sync::Arc<rustls::ClientConfig>>,
    dgram_first: bool,
    conn: Option<Conn>,
    backoff: Backoff,
}

impl Link {
    pub fn new(name: String, ep: Endpoint, dgram_first: bool) -> Self {
        Link { ep, tls: None, dgram_first, conn: None, backoff: Backoff::new(name) }
    }

    /// As [`new`](Self::new), reading the TLS files of a `tls:` endpoint
    /// now (a bad one is a usage error before anything is loaded).
    pub fn open(name: String, ep: Endpoint, dgram_first: bool) -> anyhow::Result<Self> {
        let tls = match &ep {
            Endpoint::Tls(_, args) => Some(args.client_config()?),
            _ => None,
        };
        let mut link = Link::new(name, ep, dgram_first);
        link.tls = tls;
        Ok(link)
    }

    fn attempt(&mut self) -> bool {
        match Conn::connect(&self.ep, self.dgram_first, self.tls.as_ref()) {
            Ok(c) => {
                self.backoff.connected("");
                self.conn = Some(c);
                true
            }
            Err(e) => {
                self.backoff.failed(&super::tls::explain(&e));
                false
            }
        }
    }

    /// The connection, (re)connecting first as the backoff allows. Waits
    /// without holding anything but the line in hand. Once the queue is
    /// closed (shutdown), makes one last attempt and then gives up.
    pub fn get(&mut self, queue: &Queue) -> Result<&mut Conn, WriteError> {
        while self.conn.is_none() {
            if let Some(wait) = self.backoff.wait() {
                if queue.sleep_unless_closed(wait) {
                    if !self.attempt() {
                        return Err(WriteError::GaveUp);
                    }
                    break;
                }
                continue;
            }
            if !self.attempt() && queue.is_closed() {
                return Err(WriteError::GaveUp);
            }
        }
        Ok(self.conn.as_mut().expect("connected"))
    }

    /// The connection failed: drop it; the next [`get`](Self::get) reconnects.
    pub fn broken(&mut self, why: &dyn std::fmt::Display) {
        let had = self.conn.take().is_some();
        self.backoff.broken(had, why);
    }
}

/// How long a sink that is done waits for its peer to close after it
/// closed its own side ([`Conn::close`]).
pub const LINGER: Duration = Duration::from_secs(2);

impl Conn {
    /// Closes a stream so that the peer reads every byte sent: TLS's
    /// close_notify, then our half of TCP (FIN), then reads (and discards)
    /// until the peer closes too, for at most [`LINGER`]. Dropping the
    /// socket instead, with anything unread in its receive buffer — a TLS
    /// 1.3 server's session tickets always are — makes the kernel send a
    /// reset, and a reset makes the peer's kernel discard what the peer had
    /// not read yet: the last lines of a run, lost without a trace when the
    /// receiver is slower than tracer's exit.
    fn close(self) {
        fn drain(s: &mut impl std::io::Read) {
            let until = Instant::now() + LINGER;
            let mut buf = [0u8; 4096];
            while Instant::now() < until {
                match s.read(&mut buf) {
                    Ok(0) => return,
                    Ok(_) => {}
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(_) => return,
                }
            }
        }
        match self {
            Conn::Tcp(mut s) => {
                let _ = s.set_read_timeout(Some(LINGER));
                if s.shutdown(std::net::Shutdown::Write).is_ok() {
                    drain(&mut s);
                }
            }
            Conn::Unix(mut s) => {
                let _ = s.set_read_timeout(Some(LINGER));
                if s.shutdown(std::net::Shutdown::Write).is_ok() {
                    drain(&mut s);
                }
            }
            Conn::Tls(mut t) => {
                t.conn.send_close_notify();
                let _ = t.flush();
                let _ = t.sock.set_read_timeout(Some(LINGER));
                if t.sock.shutdown(std::net::Shutdown::Write).is_ok() {
                    // Raw bytes: after close_notify there is nothing to decrypt.
                    drain(&mut t.sock);
                }
            }
            Conn::UnixDgram(_) | Conn::Udp(_) => {}
        }
    }
}

impl Drop for Link {
    /// The sink is done (shutdown, or it gave up): close so the peer reads
    /// everything it was sent.
    fn drop(&mut self) {
        if let Some(c) = self.conn.take() {
            c.close();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_parse() {
        assert_eq!(Endpoint::parse("unix:/run/x.sock", false), Ok(Endpoint::Unix("/run/x.sock".into())));
        assert_eq!(Endpoint::parse("/dev/log", true), Ok(Endpoint::Unix("/dev/log".into())));
        assert_eq!(Endpoint::parse("tcp:127.0.0.1:5170", false), Ok(Endpoint::Tcp("127.0.0.1:5170".into())));
        assert_eq!(Endpoint::parse("tcp:[::1]:514", false), Ok(Endpoint::Tcp("[::1]:514".into())));
        assert_eq!(Endpoint::parse("udp:logs:514", true), Ok(Endpoint::Udp("logs:514".into())));
        assert!(Endpoint::parse("udp:logs:514", false).unwrap_err().contains("stream socket"));
        assert!(Endpoint::parse("tcp:host", false).is_err());
        assert!(Endpoint::parse("tcp:host:0", false).is_err());
        assert!(Endpoint::parse("tcp::514", false).is_err());
        assert!(Endpoint::parse("unix:", false).is_err());
        assert!(Endpoint::parse("localhost:514", false).unwrap_err().contains("unix:PATH, tcp:HOST:PORT or tls:HOST:PORT"));
        assert_eq!(Endpoint::parse("tcp:h:1", false).unwrap().to_string(), "tcp:h:1");
        assert_eq!(Endpoint::parse("tls:logs:6514", true), Ok(Endpoint::Tls("logs:6514".into(), Default::default())));
        assert_eq!(Endpoint::parse("tls:logs:6514", false).unwrap().to_string(), "tls:logs:6514");
        assert!(Endpoint::parse("tls:logs", false).is_err());
    }

    #[test]
    fn backoff_doubles_to_the_cap_and_resets_on_connect() {
        let dir = std::env::temp_dir().join(format!("tracer-unit-link-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s");
        let mut l = Link::new("t".into(), Endpoint::Unix(path.clone()), false);
        let mut seen = vec![];
        for _ in 0..12 {
            assert!(!l.attempt());
            seen.push(l.backoff.delay);
        }
        assert_eq!(seen[0], BACKOFF_MIN * 2);
        assert_eq!(seen[1], BACKOFF_MIN * 4);
        assert_eq!(*seen.last().unwrap(), BACKOFF_MAX);
        let _listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        assert!(l.attempt());
        assert_eq!(l.backoff.delay, BACKOFF_MIN);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// Once shutdown began (the queue closed), how long an unfinished request
/// of an async network sink (Kafka, OTLP) may still take; the drain gives
/// sinks a second (see `pipeline::drainer::Drainer::finish`).
pub const CLOSE_GRACE: Duration = Duration::from_millis(700);

/// Runs `fut` on an async sink's own runtime `rt`; `None` if it took longer
/// than `limit`, or than [`CLOSE_GRACE`] once `queue` closed (`stop_at`
/// remembers when that grace ends, across calls).
pub fn run_bounded<T>(
    rt: &tokio::runtime::Runtime,
    stop_at: &std::cell::Cell<Option<Instant>>,
    queue: &Queue,
    limit: Duration,
    fut: impl std::future::Future<Output = T>,
) -> Option<T> {
    let watch = async {
        loop {
            if queue.is_closed() {
                let at = stop_at.get().unwrap_or_else(|| Instant::now() + CLOSE_GRACE);
                stop_at.set(Some(at));
                tokio::time::sleep_until(at.into()).await;
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    rt.block_on(async {
        tokio::select! {
            r = fut => Some(r),
            _ = tokio::time::sleep(limit) => None,
            _ = watch => None,
        }
    })
}
