//! `dimpl-peer`: dimpl 0.9 on a real UDP socket, as an interop peer for dtls-engine.
//!
//! ```text
//! dimpl-peer client ADDR [OPTIONS]   auto client: one ClientHello offering DTLS 1.3 and 1.2
//!                                    (as Chrome and Firefox do); sends a line, expects it back
//! dimpl-peer server ADDR [OPTIONS]   auto server: speaks DTLS 1.3, falls back to 1.2 for a
//!                                    client that does not offer 1.3; echoes application data
//!
//! --cert FILE      certificate, DER or PEM       (default: a fresh self-signed P-256 one)
//! --key FILE       its private key, PKCS#8 or SEC1, DER or PEM
//! --pin FP         the peer certificate's fingerprint, "sha-256 AB:CD:..."; dimpl does no PKI
//!                  validation, so this is the application's check (without it: any certificate)
//! --mtu N          dimpl's MTU (default 1150)
//! --message TEXT   client: what to send (default "hello from dimpl")
//! --no-client-auth server: do not ask for a client certificate
//! --once           server: exit after the first session ends (0 if it ended with close_notify)
//! --timeout SECS   give up after this long (client default 30; server default never)
//! --dtls13         DTLS 1.3 only (dimpl's `Dtls::new_13`) instead of auto-sensing 1.3/1.2
//! ```
//!
//! stdout, one line each: `fingerprint sha-256 ...` (ours), `listening ADDR` (server, once
//! bound), `peer-fingerprint ADDR sha-256 ...`, `connected ADDR version=DTLS1.2 cipher=TLS_...`,
//! `client-hello sent=N partial=M lengths=L1,L2 first-offer=DTLS1.3+DTLS1.2` (client:
//! ClientHello fragments it sent, how many carried only part of their message, the message
//! lengths, and the supported_versions of the first one), `echo ok` (client),
//! `echoed ADDR N bytes` and `closed ADDR` (server). Failures: `error: ...` on stderr, exit 1.

mod wire;

use std::collections::{BTreeSet, HashMap};
use std::io::ErrorKind;
use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dimpl::{Config, Dtls, DtlsCertificate, Output, ProtocolVersion};

const USAGE: &str = "usage: dimpl-peer client|server ADDR [--cert FILE --key FILE] [--pin \"sha-256 AB:..\"] \
                     [--mtu N] [--message TEXT] [--no-client-auth] [--once] [--timeout SECS] [--dtls13]";

struct Options {
    role: String,
    addr: SocketAddr,
    cert: Option<String>,
    key: Option<String>,
    pin: Option<String>,
    mtu: Option<usize>,
    message: String,
    client_auth: bool,
    once: bool,
    timeout: Option<Duration>,
    dtls13: bool,
}

fn parse_args() -> Result<Options, String> {
    let mut args = std::env::args().skip(1);
    let role = args.next().ok_or(USAGE)?;
    if role != "client" && role != "server" {
        return Err(format!("unknown role {role:?}\n{USAGE}"));
    }
    let addr = args.next().ok_or(USAGE)?;
    let addr = addr
        .to_socket_addrs()
        .map_err(|e| format!("{addr}: {e}"))?
        .next()
        .ok_or_else(|| format!("{addr}: no address"))?;
    let mut o = Options {
        role,
        addr,
        cert: None,
        key: None,
        pin: None,
        mtu: None,
        message: "hello from dimpl".into(),
        client_auth: true,
        once: false,
        timeout: None,
        dtls13: false,
    };
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--cert" => o.cert = Some(value()?),
            "--key" => o.key = Some(value()?),
            "--pin" => o.pin = Some(value()?),
            "--mtu" => o.mtu = Some(value()?.parse().map_err(|e| format!("--mtu: {e}"))?),
            "--message" => o.message = value()?,
            "--timeout" => {
                o.timeout = Some(Duration::from_secs_f64(value()?.parse().map_err(|e| format!("--timeout: {e}"))?))
            }
            "--no-client-auth" => o.client_auth = false,
            "--once" => o.once = true,
            "--dtls13" => o.dtls13 = true,
            _ => return Err(format!("unknown option {flag:?}\n{USAGE}")),
        }
    }
    if o.cert.is_some() != o.key.is_some() {
        return Err("--cert and --key go together".into());
    }
    Ok(o)
}

/// `sha-256 AB:CD:...` over the DER certificate, as in an SDP `a=fingerprint` line.
fn fingerprint(der: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, der);
    let hex: Vec<String> = digest.as_ref().iter().map(|b| format!("{b:02X}")).collect();
    format!("sha-256 {}", hex.join(":"))
}

/// The 64 hex digits of a `sha-256 AB:CD:...` (or `sha-256:ABCD...`) fingerprint.
fn pin_digits(pin: &str) -> Result<String, String> {
    let lower = pin.trim().to_ascii_lowercase();
    let rest = lower.strip_prefix("sha-256").ok_or_else(|| format!("--pin {pin:?}: expected \"sha-256 AB:CD:...\""))?;
    let digits: String = rest.chars().filter(|c| !matches!(c, ' ' | ':')).collect();
    if digits.len() != 64 || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(format!("--pin {pin:?}: expected 32 hex bytes after sha-256"));
    }
    Ok(digits.to_ascii_uppercase())
}

fn load_certificate(o: &Options) -> Result<DtlsCertificate, String> {
    let (Some(cert), Some(key)) = (&o.cert, &o.key) else {
        let c = rcgen::generate_simple_self_signed(vec!["dimpl-peer".to_string()])
            .map_err(|e| format!("certificate generation: {e}"))?;
        return Ok(DtlsCertificate { certificate: c.cert.der().to_vec(), private_key: c.signing_key.serialize_der() });
    };
    let cert_bytes = std::fs::read(cert).map_err(|e| format!("{cert}: {e}"))?;
    let certificate = if cert_bytes.starts_with(b"-----BEGIN") {
        use rustls_pki_types::pem::PemObject;
        rustls_pki_types::CertificateDer::from_pem_slice(&cert_bytes).map_err(|e| format!("{cert}: {e}"))?.to_vec()
    } else {
        cert_bytes
    };
    // dimpl's key provider reads PKCS#8 and SEC1, DER or PEM, itself.
    let private_key = std::fs::read(key).map_err(|e| format!("{key}: {e}"))?;
    Ok(DtlsCertificate { certificate, private_key })
}

fn version_name(dtls: &Dtls) -> &'static str {
    match dtls.protocol_version() {
        Some(v) if v == ProtocolVersion::DTLS1_2 => "DTLS1.2",
        Some(v) if v == ProtocolVersion::DTLS1_3 => "DTLS1.3",
        Some(_) => "other",
        None => "undecided",
    }
}

/// What a connection reports to the role's loop.
enum Happening {
    Connected,
    Data(Vec<u8>),
    CloseNotify,
}

/// One dimpl instance and what we learnt about its handshake.
struct Conn {
    dtls: Dtls,
    peer: SocketAddr,
    pin: Option<String>,
    peer_verified: bool,
    wake: Option<Instant>,
    cipher: Option<u16>,
    client_hellos_sent: usize,
    client_hello_partial: usize,
    client_hello_lengths: BTreeSet<usize>,
    /// supported_versions of the first whole ClientHello sent (empty: none, a 1.2-only offer).
    first_offer: Option<Vec<u16>>,
    echoed: bool,
}

impl Conn {
    fn new(dtls: Dtls, peer: SocketAddr, pin: Option<String>) -> Conn {
        Conn {
            dtls,
            peer,
            pin,
            peer_verified: false,
            wake: None,
            cipher: None,
            client_hellos_sent: 0,
            client_hello_partial: 0,
            client_hello_lengths: BTreeSet::new(),
            first_offer: None,
            echoed: false,
        }
    }

    fn watch(&mut self, datagram: &[u8], outgoing: bool) {
        for f in wire::handshake_fragments(datagram) {
            if let Some(cs) = wire::server_hello_cipher(&f) {
                self.cipher = Some(cs);
            }
            if outgoing && f.msg_type == wire::CLIENT_HELLO {
                self.client_hellos_sent += 1;
                self.client_hello_lengths.insert(f.length);
                if f.bytes.len() < f.length {
                    self.client_hello_partial += 1;
                } else if self.first_offer.is_none() {
                    self.first_offer = Some(wire::client_hello_versions(&f).unwrap_or_default());
                }
            }
        }
    }

    fn receive(&mut self, datagram: &[u8]) -> Result<(), String> {
        self.watch(datagram, false);
        self.dtls.handle_timeout(Instant::now()).map_err(|e| format!("handle_timeout: {e}"))?;
        self.dtls.handle_packet(datagram).map_err(|e| format!("handle_packet: {e}"))
    }

    /// Send everything dimpl has to say; return what happened.
    fn drain(&mut self, sock: &UdpSocket, buf: &mut Vec<u8>) -> Result<Vec<Happening>, String> {
        let mut out = Vec::new();
        loop {
            match self.dtls.poll_output(buf) {
                Output::Packet(p) => {
                    let p = p.to_vec();
                    self.watch(&p, true);
                    sock.send_to(&p, self.peer).map_err(|e| format!("send to {}: {e}", self.peer))?;
                }
                Output::BufferTooSmall { needed } => buf.resize(needed, 0),
                Output::Timeout(t) => {
                    self.wake = Some(t);
                    return Ok(out);
                }
                Output::PeerCert(der) => {
                    let fp = fingerprint(der);
                    println!("peer-fingerprint {} {fp}", self.peer);
                    if let Some(pin) = &self.pin
                        && pin_digits(&fp)? != pin_digits(pin)?
                    {
                        return Err(format!("peer certificate {fp} does not match --pin {pin}"));
                    }
                    self.peer_verified = true;
                }
                Output::Connected => {
                    if !self.peer_verified {
                        return Err("handshake completed without a peer certificate".into());
                    }
                    let cipher = self.cipher.map_or_else(|| "unknown".into(), wire::cipher_name);
                    println!("connected {} version={} cipher={cipher}", self.peer, version_name(&self.dtls));
                    out.push(Happening::Connected);
                }
                Output::ApplicationData(d) => out.push(Happening::Data(d.to_vec())),
                Output::CloseNotify => out.push(Happening::CloseNotify),
                Output::KeyingMaterial(..) => {}
                other => return Err(format!("unexpected dimpl output {other:?}")),
            }
        }
    }

    fn client_hello_summary(&self) -> String {
        let lengths: Vec<String> = self.client_hello_lengths.iter().map(|l| l.to_string()).collect();
        let offer = match &self.first_offer {
            None => "unknown".to_string(),
            Some(v) if v.is_empty() => "DTLS1.2-only".to_string(),
            Some(v) => v.iter().map(|&v| wire::version_name(v)).collect::<Vec<_>>().join("+"),
        };
        format!(
            "client-hello sent={} partial={} lengths={} first-offer={offer}",
            self.client_hellos_sent,
            self.client_hello_partial,
            lengths.join(",")
        )
    }
}

/// Wait for a datagram until `wake` (at most `cap`); `None` on timeout.
fn recv(
    sock: &UdpSocket,
    buf: &mut [u8],
    wake: Option<Instant>,
    cap: Duration,
) -> Result<Option<(usize, SocketAddr)>, String> {
    let now = Instant::now();
    let wait = wake.map_or(cap, |w| w.saturating_duration_since(now).min(cap)).max(Duration::from_millis(1));
    sock.set_read_timeout(Some(wait)).map_err(|e| e.to_string())?;
    match sock.recv_from(buf) {
        Ok(got) => Ok(Some(got)),
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => Ok(None),
        Err(e) => Err(format!("recv: {e}")),
    }
}

fn config(o: &Options) -> Result<Arc<Config>, String> {
    let mut b = Config::builder().require_client_certificate(o.client_auth);
    if let Some(mtu) = o.mtu {
        b = b.mtu(mtu);
    }
    b.build().map(Arc::new).map_err(|e| format!("dimpl config: {e}"))
}

/// Auto-sensing 1.3/1.2 by default; DTLS 1.3 only with `--dtls13`.
fn new_dtls(o: &Options, config: Arc<Config>, cert: DtlsCertificate, now: Instant) -> Dtls {
    if o.dtls13 { Dtls::new_13(config, cert, now) } else { Dtls::new_auto(config, cert, now) }
}

fn client(o: Options, cert: DtlsCertificate) -> Result<(), String> {
    let deadline = Instant::now() + o.timeout.unwrap_or(Duration::from_secs(30));
    let bind = if o.addr.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" };
    let sock = UdpSocket::bind(bind).map_err(|e| format!("bind {bind}: {e}"))?;
    let mut dtls = new_dtls(&o, config(&o)?, cert, Instant::now());
    dtls.set_active(true);
    let mut conn = Conn::new(dtls, o.addr, o.pin.clone());
    let (mut out, mut inp) = (vec![0u8; 2048], vec![0u8; 65536]);
    loop {
        for h in conn.drain(&sock, &mut out)? {
            match h {
                Happening::Connected => {
                    let n = conn.dtls.send_application_data(o.message.as_bytes()).map_err(|e| format!("send: {e}"))?;
                    if n != o.message.len() {
                        return Err(format!("dimpl accepted {n} of {} bytes", o.message.len()));
                    }
                }
                Happening::Data(d) if d == o.message.as_bytes() => {
                    println!("{}", conn.client_hello_summary());
                    println!("echo ok");
                    conn.dtls.close().map_err(|e| format!("close: {e}"))?;
                    conn.drain(&sock, &mut out)?;
                    return Ok(());
                }
                Happening::Data(d) => {
                    return Err(format!("expected the echo {:?}, got {:?}", o.message, String::from_utf8_lossy(&d)));
                }
                Happening::CloseNotify => return Err("the server sent close_notify before the echo".into()),
            }
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "timed out ({:?}, version {}; {})",
                conn.dtls,
                version_name(&conn.dtls),
                conn.client_hello_summary()
            ));
        }
        let wake = conn.wake.map(|w| w.min(deadline)).or(Some(deadline));
        match recv(&sock, &mut inp, wake, Duration::from_millis(200))? {
            Some((n, from)) if from == o.addr => conn.receive(&inp[..n])?,
            Some(_) => {} // not our server
            None => conn.dtls.handle_timeout(Instant::now()).map_err(|e| format!("handle_timeout: {e}"))?,
        }
    }
}

fn server(o: Options, cert: DtlsCertificate) -> Result<(), String> {
    let deadline = o.timeout.map(|t| Instant::now() + t);
    let sock = UdpSocket::bind(o.addr).map_err(|e| format!("bind {}: {e}", o.addr))?;
    println!("listening {}", sock.local_addr().map_err(|e| e.to_string())?);
    let config = config(&o)?;
    let mut conns: HashMap<SocketAddr, Conn> = HashMap::new();
    let (mut out, mut inp) = (vec![0u8; 2048], vec![0u8; 65536]);
    loop {
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(format!("timed out with {} session(s) open", conns.len()));
        }
        let wake = conns.values().filter_map(|c| c.wake).min();
        let received = recv(&sock, &mut inp, wake, Duration::from_millis(200))?;
        let now = Instant::now();
        let mut ended: Vec<(SocketAddr, Result<(), String>)> = Vec::new();
        if let Some((n, from)) = received {
            let conn = conns.entry(from).or_insert_with(|| {
                // A server: auto-sense starts as DTLS 1.3 and falls back to 1.2 when the
                // ClientHello does not offer 1.3 in supported_versions.
                Conn::new(new_dtls(&o, config.clone(), cert.clone(), now), from, o.pin.clone())
            });
            if let Err(e) = conn.receive(&inp[..n]) {
                ended.push((from, Err(e)));
            }
        }
        for (addr, conn) in conns.iter_mut() {
            if ended.iter().any(|(a, _)| a == addr) {
                continue;
            }
            if conn.wake.is_some_and(|w| w <= now)
                && let Err(e) = conn.dtls.handle_timeout(now)
            {
                ended.push((*addr, Err(format!("handle_timeout: {e}"))));
                continue;
            }
            if let Err(e) = serve(conn, &sock, &mut out) {
                ended.push((*addr, e));
            }
        }
        for (addr, result) in ended {
            conns.remove(&addr);
            match &result {
                Ok(()) => println!("closed {addr}"),
                Err(e) => eprintln!("error: {addr}: {e}"),
            }
            if o.once {
                return result;
            }
        }
    }
}

/// Drain one server connection, echoing application data. `Err(Ok(()))` when the peer
/// closed it, `Err(Err(reason))` when it failed.
fn serve(conn: &mut Conn, sock: &UdpSocket, out: &mut Vec<u8>) -> Result<(), Result<(), String>> {
    loop {
        let happenings = conn.drain(sock, out).map_err(Err)?;
        if happenings.is_empty() {
            return Ok(());
        }
        for h in happenings {
            match h {
                Happening::Connected => {}
                Happening::Data(d) => {
                    conn.dtls.send_application_data(&d).map_err(|e| Err(format!("send: {e}")))?;
                    conn.echoed = true;
                    println!("echoed {} {} bytes", conn.peer, d.len());
                }
                Happening::CloseNotify => {
                    let _ = conn.dtls.close();
                    let _ = conn.drain(sock, out);
                    return Err(if conn.echoed { Ok(()) } else { Err("closed before any application data".into()) });
                }
            }
        }
    }
}

fn main() -> ExitCode {
    let run = || -> Result<(), String> {
        let o = parse_args()?;
        if let Some(pin) = &o.pin {
            pin_digits(pin)?;
        }
        let cert = load_certificate(&o)?;
        println!("fingerprint {}", fingerprint(&cert.certificate));
        if o.role == "client" { client(o, cert) } else { server(o, cert) }
    };
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
