//! `wolfssl-peer`: wolfSSL (C, through wolfssl-sys) on a real UDP socket, as a DTLS 1.3 and
//! 1.2 interop peer for dtls-engine.
//!
//! ```text
//! wolfssl-peer client --addr HOST:PORT [OPTIONS]   one handshake; sends --message, expects it
//!                                                  echoed, sends close_notify
//! wolfssl-peer server --addr HOST:PORT [OPTIONS]   one session (port 0: any free port); echoes
//!                                                  every datagram until close_notify
//!
//! --version 1.3|1.2      protocol (default 1.3); one version, no fallback
//! --groups G1,G2,..      supported_groups in preference order (the client's key_share is the
//!                        first): X25519MLKEM768, SecP256r1MLKEM768, SecP384r1MLKEM1024,
//!                        X25519, X448, P-256, P-384, P-521 (default: wolfSSL's). wolfssl-sys
//!                        builds without standalone ML-KEM groups in TLS; a client whose
//!                        first group's share would not fit one datagram (the hybrids) sends
//!                        an empty key_share and waits for the server's HelloRetryRequest
//! --cert FILE --key FILE PEM certificate (chain) and key (a server needs them; a client
//!                        presents them when asked)
//! --ca FILE              verify the peer against this PEM CA (a server then requires a
//!                        client certificate)
//! --no-verify            accept any peer certificate (a client needs --ca or this)
//! --mtu N                wolfSSL's DTLS MTU
//! --alpn P1,P2           offer (client) / accept (server) these ALPN protocols
//! --cookie | --no-cookie server: stateless cookie exchange on or off (HelloRetryRequest with
//!                        a cookie in 1.3, HelloVerifyRequest in 1.2); wolfSSL's default is on
//! --allow-ch-frag        server, DTLS 1.3: accept a ClientHello in fragments once it carries
//!                        a valid cookie (wolfSSL_dtls13_allow_ch_frag; WOLFSSL_DTLS_CH_FRAG,
//!                        which configure turns on with ML-KEM). wolfSSL handles a hello
//!                        without a cookie statelessly and only in one datagram: a fragmented
//!                        first ClientHello is never answered, with or without this
//! --exporter LABEL:LEN   print LEN bytes of exported keying material (no context)
//! --key-update           DTLS 1.3: send a KeyUpdate right after the handshake
//! --srtp P1:P2           DTLS-SRTP (RFC 5764) protection profiles, `:`-separated, as OpenSSL
//!                        names them (SRTP_AES128_CM_SHA1_80, SRTP_AES128_CM_SHA1_32,
//!                        SRTP_AEAD_AES_128_GCM, SRTP_AEAD_AES_256_GCM; a server picks the
//!                        first of its own list the client offers); prints the agreed one on
//!                        the `connected` line and `srtp-keying-material HEX`
//! --ciphers LIST         wolfSSL cipher list, `:`-separated (e.g. TLS13-CHACHA20-POLY1305-SHA256,
//!                        TLS13-AES256-GCM-SHA384; default: wolfSSL's)
//! --cid HEX              Connection IDs (RFC 9146 in DTLS 1.2, RFC 9147 §9 in DTLS 1.3;
//!                        WOLFSSL_DTLS_CID): offer/accept the connection_id extension and ask
//!                        the peer to put HEX (at most 10 bytes, wolfSSL's DTLS_CID_MAX_SIZE)
//!                        in the records it sends us; `--cid ""` asks for none (a zero-length
//!                        CID: we send CIDs, receive none). Prints `cid ...` and `cid-wire ...`
//! --keylog FILE          DTLS 1.3: append the TLS 1.3 secrets in NSS key log format
//!                        (`LABEL <client_random hex> <secret hex>`: CLIENT_/SERVER_HANDSHAKE_
//!                        TRAFFIC_SECRET, CLIENT_/SERVER_TRAFFIC_SECRET_0, EXPORTER_SECRET),
//!                        from wolfSSL's secret callback (HAVE_SECRET_CALLBACK); implies
//!                        wolfSSL_KeepArrays, without which wolfSSL derives no exporter secret
//! --message TEXT         client: the line to send (default "ping from wolfssl")
//! --repeat N             client: send it N times, each after the echo of the one before
//!                        (default 1)
//! --timeout SECS         give up after this long (client default 20, server 30)
//! ```
//!
//! stdout, one line each: `listening ADDR` (server, once bound), `connected protocol=DTLSv1.3
//! group=X25519MLKEM768 cipher=TLS_AES_128_GCM_SHA256 alpn=- srtp=- hrr=1 hvr=0`
//! (`hrr`/`hvr`: HelloRetryRequests / HelloVerifyRequests seen on the wire, either
//! direction), `keying-material HEX`, `srtp-keying-material HEX` (with --srtp, once a
//! profile is agreed: EXTRACTOR-dtls_srtp, 2 * (key + salt) bytes), `key-update sent`,
//! `echo ok` (client), `echoed N bytes` (server), `peer-epoch-bits 2,3,0` (client after the
//! echo, server at close_notify: the low epoch bits of the peer's DTLS 1.3 records in the
//! order first seen; a 0 after the 3 is epoch 4, the peer's first KeyUpdate),
//! `closed reason=close_notify` (server), and with --cid: `cid rx=HEX tx=HEX` after the
//! `connected` line (rx: the CID in the records we receive, the one we asked for; tx: the one
//! the peer asked for, in the records we send; empty for a zero-length CID) or `cid none` when
//! the peer did not take up the extension, and `cid-wire received=CID*N,.. sent=CID*N,..`
//! next to `peer-epoch-bits` (the CIDs seen on the wire in the records of each direction, each
//! with its count, in the order first seen; `-` for none). Failures: `error: ...` on stderr, exit 1.

mod wire;

use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::io::ErrorKind;
use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::process::ExitCode;
use std::ptr;
use std::time::{Duration, Instant};

use wolfssl_sys as w;

const USAGE: &str = "usage: wolfssl-peer client|server --addr HOST:PORT [--version 1.3|1.2] [--groups G1,G2] \
                     [--cert PEM --key PEM] [--ca PEM | --no-verify] [--mtu N] [--alpn P1,P2] \
                     [--cookie | --no-cookie] [--allow-ch-frag] [--exporter LABEL:LEN] [--key-update] \
                     [--message TEXT] [--repeat N] [--srtp P1:P2] [--ciphers LIST] [--keylog FILE] \
                     [--cid HEX] [--timeout SECS]";

// wolfSSL's return and error codes (ssl.h), spelt out so as not to depend on how bindgen
// typed them.
const SUCCESS: c_int = 1;
const ERROR_WANT_READ: c_int = 2;
const ERROR_WANT_WRITE: c_int = 3;
const ERROR_ZERO_RETURN: c_int = 6;
const FILETYPE_PEM: c_int = 1;
const VERIFY_NONE: c_int = 0;
const VERIFY_PEER: c_int = 1;
const VERIFY_FAIL_IF_NO_PEER_CERT: c_int = 2;
const CBIO_ERR_GENERAL: c_int = -1;
const CBIO_ERR_WANT_READ: c_int = -2;
const ALPN_FAILED_ON_MISMATCH: u8 = 0x02;
/// error-crypt.h: "returning output length only".
const LENGTH_ONLY_E: c_int = -202;

/// How long one wait for a datagram lasts before the loop looks at its timers again.
const SLICE: Duration = Duration::from_millis(20);

#[derive(Clone, Copy, PartialEq)]
enum Version {
    V13,
    V12,
}

struct Options {
    server: bool,
    addr: SocketAddr,
    version: Version,
    groups: Vec<(String, u16)>,
    cert: Option<String>,
    key: Option<String>,
    ca: Option<String>,
    no_verify: bool,
    mtu: Option<u16>,
    alpn: Option<String>,
    cookie: Option<bool>,
    allow_ch_frag: bool,
    exporter: Option<(String, usize)>,
    key_update: bool,
    srtp: Option<String>,
    ciphers: Option<String>,
    keylog: Option<String>,
    /// `--cid HEX`: the connection ID we ask the peer to use (possibly empty).
    cid: Option<Vec<u8>>,
    message: String,
    repeat: usize,
    timeout: Duration,
}

/// Named groups by IANA (and common) name.
fn group_id(name: &str) -> Option<u16> {
    Some(match name.to_ascii_lowercase().replace('_', "-").as_str() {
        "x25519mlkem768" => 4588,
        "secp256r1mlkem768" => 4587,
        "secp384r1mlkem1024" => 4589,
        "mlkem512" | "ml-kem-512" => 512,
        "mlkem768" | "ml-kem-768" => 513,
        "mlkem1024" | "ml-kem-1024" => 514,
        "x25519" => 29,
        "x448" => 30,
        "p-256" | "secp256r1" | "prime256v1" => 23,
        "p-384" | "secp384r1" => 24,
        "p-521" | "secp521r1" => 25,
        _ => return None,
    })
}

/// Hex digits (an even number of them, possibly none) to bytes.
fn unhex(s: &str) -> Result<Vec<u8>, String> {
    if !s.len().is_multiple_of(2) {
        return Err(format!("{s:?}: an odd number of hex digits"));
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2).unwrap_or("?"), 16).map_err(|_| format!("{s:?}: not hex")))
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn parse_args() -> Result<Options, String> {
    let mut args = std::env::args().skip(1);
    let role = args.next().ok_or(USAGE)?;
    let server = match role.as_str() {
        "server" => true,
        "client" => false,
        _ => return Err(format!("unknown role {role:?}\n{USAGE}")),
    };
    let mut addr = None;
    let mut o = Options {
        server,
        addr: "127.0.0.1:0".parse().unwrap(),
        version: Version::V13,
        groups: Vec::new(),
        cert: None,
        key: None,
        ca: None,
        no_verify: false,
        mtu: None,
        alpn: None,
        cookie: None,
        allow_ch_frag: false,
        exporter: None,
        key_update: false,
        srtp: None,
        ciphers: None,
        keylog: None,
        cid: None,
        message: "ping from wolfssl".into(),
        repeat: 1,
        timeout: Duration::from_secs(if server { 30 } else { 20 }),
    };
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--addr" => addr = Some(value()?),
            "--version" => {
                o.version = match value()?.as_str() {
                    "1.3" => Version::V13,
                    "1.2" => Version::V12,
                    v => return Err(format!("--version {v:?}: 1.3 or 1.2")),
                }
            }
            "--groups" => {
                for name in value()?.split(',').filter(|s| !s.is_empty()) {
                    let id = group_id(name).ok_or_else(|| format!("--groups: unknown group {name:?}"))?;
                    o.groups.push((name.to_string(), id));
                }
            }
            "--cert" => o.cert = Some(value()?),
            "--key" => o.key = Some(value()?),
            "--ca" => o.ca = Some(value()?),
            "--no-verify" => o.no_verify = true,
            "--mtu" => o.mtu = Some(value()?.parse().map_err(|e| format!("--mtu: {e}"))?),
            "--alpn" => o.alpn = Some(value()?),
            "--cookie" => o.cookie = Some(true),
            "--no-cookie" => o.cookie = Some(false),
            "--allow-ch-frag" => o.allow_ch_frag = true,
            "--exporter" => {
                let v = value()?;
                let (label, len) = v.rsplit_once(':').ok_or("--exporter LABEL:LEN")?;
                let len = len.parse().map_err(|e| format!("--exporter length: {e}"))?;
                o.exporter = Some((label.to_string(), len));
            }
            "--key-update" => o.key_update = true,
            "--srtp" => o.srtp = Some(value()?),
            "--ciphers" => o.ciphers = Some(value()?),
            "--keylog" => o.keylog = Some(value()?),
            "--cid" => o.cid = Some(unhex(&value()?).map_err(|e| format!("--cid: {e}"))?),
            "--message" => o.message = value()?,
            "--repeat" => o.repeat = value()?.parse().map_err(|e| format!("--repeat: {e}"))?,
            "--timeout" => {
                o.timeout = Duration::from_secs_f64(value()?.parse().map_err(|e| format!("--timeout: {e}"))?)
            }
            _ => return Err(format!("unknown option {flag:?}\n{USAGE}")),
        }
    }
    let addr = addr.ok_or_else(|| format!("--addr is required\n{USAGE}"))?;
    o.addr = addr
        .to_socket_addrs()
        .map_err(|e| format!("{addr}: {e}"))?
        .next()
        .ok_or_else(|| format!("{addr}: no address"))?;
    if o.cert.is_some() != o.key.is_some() {
        return Err("--cert and --key go together".into());
    }
    if o.server && o.cert.is_none() {
        return Err("a server needs --cert and --key".into());
    }
    if !o.server && o.ca.is_none() && !o.no_verify {
        return Err("a client needs --ca FILE or --no-verify".into());
    }
    if o.ca.is_some() && o.no_verify {
        return Err("--ca and --no-verify exclude each other".into());
    }
    if !o.server && o.cookie.is_some() {
        return Err("--cookie/--no-cookie are server options".into());
    }
    if o.allow_ch_frag && (!o.server || o.version != Version::V13) {
        return Err("--allow-ch-frag is a DTLS 1.3 server option".into());
    }
    if o.key_update && o.version != Version::V13 {
        return Err("--key-update needs --version 1.3".into());
    }
    if o.keylog.is_some() && o.version != Version::V13 {
        return Err("--keylog needs --version 1.3 (wolfSSL's TLS 1.3 secret callback)".into());
    }
    Ok(o)
}

/// What the I/O callbacks own: the socket, the one peer, and what crossed the wire.
struct Io {
    sock: UdpSocket,
    peer: SocketAddr,
    /// A datagram received before the session existed (the server's first ClientHello).
    pending: Option<Vec<u8>>,
    last_io: Instant,
    failure: Option<String>,
    hrr: usize,
    hvr: usize,
    /// `--keylog`: where the secret callback appends its lines.
    keylog: Option<std::fs::File>,
    /// The epoch bits of the peer's DTLS 1.3 records, each once, in the order first seen.
    peer_epoch_bits: Vec<u8>,
    /// The connection IDs in the records received and sent, each with its count, in the
    /// order first seen.
    cids_received: Vec<(Vec<u8>, usize)>,
    cids_sent: Vec<(Vec<u8>, usize)>,
}

impl Io {
    fn watch(&mut self, datagram: &[u8]) {
        let seen = wire::scan(datagram);
        self.hrr += seen.hello_retry_requests;
        self.hvr += seen.hello_verify_requests;
    }
}

/// Count the connection IDs in the records of `datagram` into `seen`. `cid_len` is the
/// length of the CIDs of this direction (the header does not carry it), as wolfSSL knows it:
/// `rx` the one we asked for, else the one the peer asked for (0 before it is known).
fn count_cids(ssl: *mut w::WOLFSSL, rx: bool, datagram: &[u8], seen: &mut Vec<(Vec<u8>, usize)>) {
    let mut len: std::ffi::c_uint = 0;
    // SAFETY: ssl is live during the I/O callbacks; len is writable. Without CIDs enabled
    // (no CID state) the call fails and len stays 0.
    unsafe {
        if rx {
            w::wolfSSL_dtls_cid_get_rx_size(ssl, &mut len);
        } else {
            w::wolfSSL_dtls_cid_get_tx_size(ssl, &mut len);
        }
    }
    for cid in wire::cids(datagram, len as usize) {
        match seen.iter_mut().find(|(c, _)| *c == cid) {
            Some((_, n)) => *n += 1,
            None => seen.push((cid, 1)),
        }
    }
}

/// wolfSSL's receive callback: one datagram from the peer, or "want read" after `SLICE`.
unsafe extern "C" fn io_recv(ssl: *mut w::WOLFSSL, buf: *mut c_char, sz: c_int, ctx: *mut c_void) -> c_int {
    // SAFETY: ctx is the `Io` that `Session::new` registered and that outlives the WOLFSSL;
    // buf holds `sz` writable bytes (wolfSSL's contract for this callback).
    let (io, out) = unsafe { (&mut *(ctx as *mut Io), std::slice::from_raw_parts_mut(buf as *mut u8, sz as usize)) };
    let copy = |io: &mut Io, data: &[u8], out: &mut [u8]| {
        io.watch(data);
        count_cids(ssl, true, data, &mut io.cids_received);
        for bits in wire::epoch_bits(data) {
            if !io.peer_epoch_bits.contains(&bits) {
                io.peer_epoch_bits.push(bits);
            }
        }
        io.last_io = Instant::now();
        let n = data.len().min(out.len());
        out[..n].copy_from_slice(&data[..n]);
        n as c_int
    };
    if let Some(d) = io.pending.take() {
        return copy(io, &d, out);
    }
    let mut tmp = [0u8; 65536];
    loop {
        match io.sock.recv_from(&mut tmp) {
            Ok((n, from)) if from == io.peer => return copy(io, &tmp[..n], out),
            Ok(_) => continue, // someone else
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => return CBIO_ERR_WANT_READ,
            Err(e) if e.kind() == ErrorKind::ConnectionRefused => continue, // an old ICMP error
            Err(e) => {
                io.failure = Some(format!("recv: {e}"));
                return CBIO_ERR_GENERAL;
            }
        }
    }
}

/// wolfSSL's send callback: one datagram to the peer.
unsafe extern "C" fn io_send(ssl: *mut w::WOLFSSL, buf: *mut c_char, sz: c_int, ctx: *mut c_void) -> c_int {
    // SAFETY: as in `io_recv`; buf holds `sz` readable bytes.
    let (io, data) = unsafe { (&mut *(ctx as *mut Io), std::slice::from_raw_parts(buf as *const u8, sz as usize)) };
    io.watch(data);
    count_cids(ssl, false, data, &mut io.cids_sent);
    io.last_io = Instant::now();
    match io.sock.send_to(data, io.peer) {
        Ok(n) => n as c_int,
        Err(e) => {
            io.failure = Some(format!("send to {}: {e}", io.peer));
            CBIO_ERR_GENERAL
        }
    }
}

/// The DTLS 1.2 cookie (HelloVerifyRequest): a function of the peer's address. A test
/// tool's cookie: it proves only that the client reads what is sent to its address.
unsafe extern "C" fn gen_cookie(_ssl: *mut w::WOLFSSL, buf: *mut u8, sz: c_int, ctx: *mut c_void) -> c_int {
    // SAFETY: ctx is the `Io` (wolfSSL_SetCookieCtx); buf holds `sz` writable bytes.
    let (io, out) = unsafe { (&*(ctx as *const Io), std::slice::from_raw_parts_mut(buf, sz as usize)) };
    let seed = format!("wolfssl-peer cookie {}", io.peer);
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, b) in out.iter_mut().enumerate() {
        for &c in seed.as_bytes().iter().chain(&(i as u64).to_le_bytes()) {
            h = (h ^ u64::from(c)).wrapping_mul(0x100_0000_01b3);
        }
        *b = (h >> 24) as u8;
    }
    sz
}

/// NSS key log label of a `Tls13Secret` id (ssl.h, HAVE_SECRET_CALLBACK; no ECH here).
fn keylog_label(id: c_int) -> Option<&'static str> {
    Some(match id {
        0 => "CLIENT_EARLY_TRAFFIC_SECRET",
        1 => "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
        2 => "SERVER_HANDSHAKE_TRAFFIC_SECRET",
        3 => "CLIENT_TRAFFIC_SECRET_0",
        4 => "SERVER_TRAFFIC_SECRET_0",
        5 => "EARLY_EXPORTER_SECRET",
        6 => "EXPORTER_SECRET",
        _ => return None,
    })
}

/// wolfSSL's TLS 1.3 secret callback: one NSS key log line per secret. Returns 0 (go on)
/// or -1 (wolfSSL then fails the handshake with TLS13_SECRET_CB_E).
unsafe extern "C" fn log_secret(
    ssl: *mut w::WOLFSSL,
    id: c_int,
    secret: *const u8,
    len: c_int,
    ctx: *mut c_void,
) -> c_int {
    use std::io::Write;
    // SAFETY: ctx is the `Io` (wolfSSL_set_tls13_secret_cb); secret holds `len` bytes.
    let (io, secret) = unsafe { (&mut *(ctx as *mut Io), std::slice::from_raw_parts(secret, len.max(0) as usize)) };
    let Some(label) = keylog_label(id) else { return 0 };
    let mut random = [0u8; 32];
    // SAFETY: ssl is live; random is writable for its length.
    let n = unsafe { w::wolfSSL_get_client_random(ssl, random.as_mut_ptr(), random.len()) };
    if n != random.len() {
        io.failure = Some(format!("keylog: wolfSSL_get_client_random returned {n}"));
        return -1;
    }
    let line = format!("{label} {} {}\n", hex(&random), hex(secret));
    match io.keylog.as_mut().map(|f| f.write_all(line.as_bytes()).and_then(|()| f.flush())) {
        Some(Err(e)) => {
            io.failure = Some(format!("keylog: {e}"));
            -1
        }
        _ => 0,
    }
}

fn last_error_text(code: c_int) -> String {
    let mut buf = [0 as c_char; 256];
    // SAFETY: buf is writable for its length; wolfSSL writes a NUL-terminated string.
    unsafe { w::wolfSSL_ERR_error_string_n(code as _, buf.as_mut_ptr(), buf.len() as _) };
    // SAFETY: NUL-terminated by wolfSSL_ERR_error_string_n.
    let text = unsafe { CStr::from_ptr(buf.as_ptr()) }.to_string_lossy().into_owned();
    format!("wolfSSL error {code}: {text}")
}

fn cstr(s: &str) -> Result<CString, String> {
    CString::new(s).map_err(|_| format!("{s:?} contains a NUL byte"))
}

/// A sockaddr for wolfSSL_dtls_set_peer (DTLS 1.2 and 1.3 bind their cookies to it).
fn sockaddr_bytes(addr: SocketAddr) -> Vec<u8> {
    let mut v = Vec::new();
    match addr {
        SocketAddr::V4(a) => {
            v.extend_from_slice(&2u16.to_ne_bytes()); // AF_INET
            v.extend_from_slice(&a.port().to_be_bytes());
            v.extend_from_slice(&a.ip().octets());
            v.extend_from_slice(&[0; 8]);
        }
        SocketAddr::V6(a) => {
            v.extend_from_slice(&10u16.to_ne_bytes()); // AF_INET6 (Linux)
            v.extend_from_slice(&a.port().to_be_bytes());
            v.extend_from_slice(&a.flowinfo().to_be_bytes());
            v.extend_from_slice(&a.ip().octets());
            v.extend_from_slice(&a.scope_id().to_ne_bytes());
        }
    }
    v
}

/// A WOLFSSL_CTX and one WOLFSSL over our `Io`.
struct Session {
    ctx: *mut w::WOLFSSL_CTX,
    ssl: *mut w::WOLFSSL,
    io: Box<Io>,
    deadline: Instant,
}

impl Drop for Session {
    fn drop(&mut self) {
        // SAFETY: both were created by wolfSSL_new / wolfSSL_CTX_new and are freed once.
        unsafe {
            if !self.ssl.is_null() {
                w::wolfSSL_free(self.ssl);
            }
            if !self.ctx.is_null() {
                w::wolfSSL_CTX_free(self.ctx);
            }
        }
    }
}

fn check(what: &str, ret: c_int) -> Result<(), String> {
    match ret {
        SUCCESS => Ok(()),
        0 => Err(format!("{what} failed")),
        _ => Err(format!("{what}: {}", last_error_text(ret))),
    }
}

impl Session {
    fn new(o: &Options, io: Io, deadline: Instant) -> Result<Session, String> {
        // SAFETY: plain wolfSSL calls on pointers this function created and checked; every
        // buffer passed lives across its call; `io` is boxed, so its address is stable for
        // the callbacks as long as the Session (which frees the WOLFSSL first) lives.
        unsafe {
            let method = match (o.version, o.server) {
                (Version::V13, false) => w::wolfDTLSv1_3_client_method(),
                (Version::V13, true) => w::wolfDTLSv1_3_server_method(),
                (Version::V12, false) => w::wolfDTLSv1_2_client_method(),
                (Version::V12, true) => w::wolfDTLSv1_2_server_method(),
            };
            let ctx = w::wolfSSL_CTX_new(method);
            if ctx.is_null() {
                return Err("wolfSSL_CTX_new failed".into());
            }
            let mut s = Session { ctx, ssl: ptr::null_mut(), io: Box::new(io), deadline };
            if let (Some(cert), Some(key)) = (&o.cert, &o.key) {
                let (c, k) = (cstr(cert)?, cstr(key)?);
                check(&format!("certificate {cert}"), w::wolfSSL_CTX_use_certificate_chain_file(ctx, c.as_ptr()))?;
                check(&format!("key {key}"), w::wolfSSL_CTX_use_PrivateKey_file(ctx, k.as_ptr(), FILETYPE_PEM))?;
            }
            if let Some(ca) = &o.ca {
                let c = cstr(ca)?;
                check(&format!("CA {ca}"), w::wolfSSL_CTX_load_verify_locations(ctx, c.as_ptr(), ptr::null()))?;
                let mode = if o.server { VERIFY_PEER | VERIFY_FAIL_IF_NO_PEER_CERT } else { VERIFY_PEER };
                w::wolfSSL_CTX_set_verify(ctx, mode, None);
            } else {
                w::wolfSSL_CTX_set_verify(ctx, VERIFY_NONE, None);
            }
            w::wolfSSL_CTX_SetIORecv(ctx, Some(io_recv));
            w::wolfSSL_CTX_SetIOSend(ctx, Some(io_send));
            if o.server {
                w::wolfSSL_CTX_SetGenCookie(ctx, Some(gen_cookie));
            }
            s.ssl = w::wolfSSL_new(ctx);
            if s.ssl.is_null() {
                return Err("wolfSSL_new failed".into());
            }
            let ssl = s.ssl;
            let io_ptr = &mut *s.io as *mut Io as *mut c_void;
            w::wolfSSL_SetIOReadCtx(ssl, io_ptr);
            w::wolfSSL_SetIOWriteCtx(ssl, io_ptr);
            w::wolfSSL_SetCookieCtx(ssl, io_ptr);
            w::wolfSSL_dtls_set_using_nonblock(ssl, 1);
            let mut peer = sockaddr_bytes(s.io.peer);
            check("wolfSSL_dtls_set_peer", w::wolfSSL_dtls_set_peer(ssl, peer.as_mut_ptr().cast(), peer.len() as _))?;
            if !o.groups.is_empty() {
                let mut ids: Vec<c_int> = o.groups.iter().map(|(_, id)| c_int::from(*id)).collect();
                check("wolfSSL_set_groups", w::wolfSSL_set_groups(ssl, ids.as_mut_ptr(), ids.len() as c_int))?;
                if !o.server && o.version == Version::V13 {
                    let (name, first) = &o.groups[0];
                    check(&format!("key share {name}"), w::wolfSSL_UseKeyShare(ssl, *first))?;
                }
            }
            if s.io.keylog.is_some() {
                check("wolfSSL_set_tls13_secret_cb", w::wolfSSL_set_tls13_secret_cb(ssl, Some(log_secret), io_ptr))?;
            }
            if let Some(list) = &o.srtp {
                // 0 on success, as OpenSSL's SSL_set_tlsext_use_srtp; an unknown name fails.
                if w::wolfSSL_set_tlsext_use_srtp(ssl, cstr(list)?.as_ptr()) != 0 {
                    return Err(format!("--srtp {list}: wolfSSL_set_tlsext_use_srtp failed"));
                }
            }
            if let Some(list) = &o.ciphers {
                let c = cstr(list)?;
                check(&format!("--ciphers {list}"), w::wolfSSL_set_cipher_list(ssl, c.as_ptr()))?;
            }
            if o.exporter.is_some() || o.keylog.is_some() || o.srtp.is_some() {
                // The TLS 1.2 exporter needs the handshake randoms, kept only on request; and
                // wolfSSL derives the 1.3 exporter_master_secret (and so logs EXPORTER_SECRET)
                // only while it keeps them. The SRTP keying material is an exporter too.
                w::wolfSSL_KeepArrays(ssl);
            }
            if let Some(cid) = &o.cid {
                check("wolfSSL_dtls_cid_use", w::wolfSSL_dtls_cid_use(ssl))?;
                let mut cid = cid.clone();
                let p = if cid.is_empty() { ptr::null_mut() } else { cid.as_mut_ptr() };
                check(&format!("--cid {}", hex(&cid)), w::wolfSSL_dtls_cid_set(ssl, p, cid.len() as _))?;
            }
            if let Some(mtu) = o.mtu {
                check("wolfSSL_dtls_set_mtu", w::wolfSSL_dtls_set_mtu(ssl, mtu))?;
            }
            if let Some(alpn) = &o.alpn {
                let list = cstr(alpn)?;
                let mut bytes = list.into_bytes_with_nul();
                check(
                    "wolfSSL_UseALPN",
                    w::wolfSSL_UseALPN(ssl, bytes.as_mut_ptr().cast(), alpn.len() as _, ALPN_FAILED_ON_MISMATCH),
                )?;
            }
            if o.allow_ch_frag {
                check("wolfSSL_dtls13_allow_ch_frag", w::wolfSSL_dtls13_allow_ch_frag(ssl, 1))?;
            }
            match o.cookie {
                Some(true) if o.version == Version::V13 => {
                    check("wolfSSL_send_hrr_cookie", w::wolfSSL_send_hrr_cookie(ssl, ptr::null(), 0))?
                }
                Some(false) if o.version == Version::V13 => {
                    check("wolfSSL_disable_hrr_cookie", w::wolfSSL_disable_hrr_cookie(ssl))?
                }
                // DTLS 1.2: wolfSSL's server always sends a HelloVerifyRequest.
                Some(true) => {}
                Some(false) => {
                    return Err("--no-cookie: wolfSSL's DTLS 1.2 server always sends a HelloVerifyRequest".into());
                }
                None => {}
            }
            Ok(s)
        }
    }

    /// Run `op` (connect, accept, read, write, ...) until it completes, driving wolfSSL's
    /// retransmission timer; `Ok(None)` when the peer closed with close_notify.
    fn drive(&mut self, what: &str, mut op: impl FnMut(*mut w::WOLFSSL) -> c_int) -> Result<Option<c_int>, String> {
        loop {
            let ret = op(self.ssl);
            if ret > 0 {
                return Ok(Some(ret));
            }
            // SAFETY: self.ssl is live.
            let err = unsafe { w::wolfSSL_get_error(self.ssl, ret) };
            match err {
                ERROR_WANT_READ | ERROR_WANT_WRITE => {}
                ERROR_ZERO_RETURN => return Ok(None),
                _ => {
                    let io = self.io.failure.take().map(|f| format!(" ({f})")).unwrap_or_default();
                    return Err(format!("{what}: {}{io}", last_error_text(err)));
                }
            }
            let now = Instant::now();
            if now >= self.deadline {
                return Err(format!("{what}: timed out (hrr={} hvr={})", self.io.hrr, self.io.hvr));
            }
            // SAFETY: self.ssl is live.
            let (secs, quick) = unsafe {
                (w::wolfSSL_dtls_get_current_timeout(self.ssl), w::wolfSSL_dtls13_use_quick_timeout(self.ssl))
            };
            let mut timeout = Duration::from_secs(secs.max(1) as u64);
            if quick != 0 {
                timeout /= 4;
            }
            if now.duration_since(self.io.last_io) >= timeout {
                self.io.last_io = now;
                // SAFETY: self.ssl is live.
                if unsafe { w::wolfSSL_dtls_got_timeout(self.ssl) } < 0 {
                    // SAFETY: self.ssl is live.
                    let err = unsafe { w::wolfSSL_get_error(self.ssl, -1) };
                    if err != ERROR_WANT_READ && err != ERROR_WANT_WRITE {
                        return Err(format!("{what}: retransmission gave up: {}", last_error_text(err)));
                    }
                }
            }
        }
    }

    fn status(&self) -> String {
        // SAFETY: self.ssl is live; the returned strings are static or owned by the WOLFSSL
        // and copied at once.
        unsafe {
            let text = |p: *const c_char| {
                if p.is_null() { "-".to_string() } else { CStr::from_ptr(p).to_string_lossy().into_owned() }
            };
            let protocol = text(w::wolfSSL_get_version(self.ssl));
            let group = match text(w::wolfSSL_get_curve_name(self.ssl)).as_str() {
                "SECP256R1" => "P-256".to_string(),
                "SECP384R1" => "P-384".to_string(),
                "SECP521R1" => "P-521".to_string(),
                other => other.to_string(),
            };
            let suite = w::wolfSSL_get_current_cipher_suite(self.ssl);
            let cipher = text(w::wolfSSL_get_cipher_name_iana_from_suite((suite >> 8) as u8, suite as u8));
            let mut name: *mut c_char = ptr::null_mut();
            let mut len: u16 = 0;
            let alpn = if w::wolfSSL_ALPN_GetProtocol(self.ssl, &mut name, &mut len) == SUCCESS && !name.is_null() {
                String::from_utf8_lossy(std::slice::from_raw_parts(name as *const u8, len as usize)).into_owned()
            } else {
                "-".to_string()
            };
            let profile = w::wolfSSL_get_selected_srtp_profile(self.ssl);
            let srtp = if profile.is_null() { "-".to_string() } else { text((*profile).name) };
            format!(
                "connected protocol={protocol} group={group} cipher={cipher} alpn={alpn} srtp={srtp} hrr={} hvr={}",
                self.io.hrr, self.io.hvr
            )
        }
    }

    /// `cid rx=HEX tx=HEX` once CIDs are negotiated (wolfSSL drops its CID state when the
    /// peer does not take up the extension: `cid none`).
    fn cid_status(&self) -> Result<String, String> {
        // SAFETY: self.ssl is live.
        if unsafe { w::wolfSSL_dtls_cid_is_enabled(self.ssl) } == 0 {
            return Ok("cid none".into());
        }
        let get = |rx: bool| -> Result<String, String> {
            let mut len: std::ffi::c_uint = 0;
            // SAFETY: self.ssl is live; len is writable.
            let ret = unsafe {
                if rx {
                    w::wolfSSL_dtls_cid_get_rx_size(self.ssl, &mut len)
                } else {
                    w::wolfSSL_dtls_cid_get_tx_size(self.ssl, &mut len)
                }
            };
            check("wolfSSL_dtls_cid_get_*_size", ret)?;
            let mut buf = vec![0u8; len as usize];
            // SAFETY: buf is writable for `len` bytes (a zero-length CID copies nothing).
            let ret = unsafe {
                if rx {
                    w::wolfSSL_dtls_cid_get_rx(self.ssl, buf.as_mut_ptr(), len)
                } else {
                    w::wolfSSL_dtls_cid_get_tx(self.ssl, buf.as_mut_ptr(), len)
                }
            };
            check("wolfSSL_dtls_cid_get_*", ret)?;
            Ok(hex(&buf))
        };
        Ok(format!("cid rx={} tx={}", get(true)?, get(false)?))
    }

    /// `cid-wire received=CID*N,.. sent=CID*N,..`: the CIDs on the wire, each direction.
    fn print_cid_wire(&self) {
        let list = |seen: &[(Vec<u8>, usize)]| {
            if seen.is_empty() {
                "-".to_string()
            } else {
                seen.iter().map(|(cid, n)| format!("{}*{n}", hex(cid))).collect::<Vec<_>>().join(",")
            }
        };
        println!("cid-wire received={} sent={}", list(&self.io.cids_received), list(&self.io.cids_sent));
    }

    /// The handshake is done: report it, export, update keys.
    fn after_handshake(&mut self, o: &Options) -> Result<(), String> {
        println!("{}", self.status());
        if o.cid.is_some() {
            println!("{}", self.cid_status()?);
        }
        if let Some((label, len)) = &o.exporter {
            let mut out = vec![0u8; *len];
            // SAFETY: out is writable for its length; label lives across the call.
            let ret = unsafe {
                w::wolfSSL_export_keying_material(
                    self.ssl,
                    out.as_mut_ptr(),
                    out.len(),
                    label.as_ptr().cast(),
                    label.len(),
                    ptr::null(),
                    0,
                    0,
                )
            };
            check("wolfSSL_export_keying_material", ret)?;
            let hex: String = out.iter().map(|b| format!("{b:02x}")).collect();
            println!("keying-material {hex}");
        }
        if o.srtp.is_some() {
            let mut len: usize = 0;
            // SAFETY: a NULL buffer asks for the length only; len is writable.
            let ret = unsafe { w::wolfSSL_export_dtls_srtp_keying_material(self.ssl, ptr::null_mut(), &mut len) };
            // LENGTH_ONLY_E: the length is in `len`; anything else (EXT_MISSING): no profile agreed.
            if ret == LENGTH_ONLY_E {
                let mut out = vec![0u8; len];
                // SAFETY: out is writable for `len` bytes.
                let ret = unsafe { w::wolfSSL_export_dtls_srtp_keying_material(self.ssl, out.as_mut_ptr(), &mut len) };
                check("wolfSSL_export_dtls_srtp_keying_material", ret)?;
                let hex: String = out.iter().map(|b| format!("{b:02x}")).collect();
                println!("srtp-keying-material {hex}");
            }
        }
        if o.key_update {
            // SAFETY: self.ssl is live.
            let ret = unsafe { w::wolfSSL_update_keys(self.ssl) };
            // SAFETY: self.ssl is live.
            let err = if ret == SUCCESS { 0 } else { unsafe { w::wolfSSL_get_error(self.ssl, ret) } };
            if ret != SUCCESS && err != ERROR_WANT_WRITE && err != ERROR_WANT_READ {
                return Err(format!("wolfSSL_update_keys: {}", last_error_text(err)));
            }
            println!("key-update sent");
        }
        Ok(())
    }

    fn write(&mut self, data: &[u8]) -> Result<(), String> {
        self.drive("write", |ssl| {
            // SAFETY: data lives across the call.
            unsafe { w::wolfSSL_write(ssl, data.as_ptr().cast(), data.len() as c_int) }
        })?
        .ok_or("the peer closed while we wrote")?;
        Ok(())
    }

    /// One record of application data; `None` on close_notify.
    fn read(&mut self) -> Result<Option<Vec<u8>>, String> {
        let mut buf = vec![0u8; 16384];
        let n = self.drive("read", |ssl| {
            // SAFETY: buf is writable for its length.
            unsafe { w::wolfSSL_read(ssl, buf.as_mut_ptr().cast(), buf.len() as c_int) }
        })?;
        Ok(n.map(|n| buf[..n as usize].to_vec()))
    }

    /// `peer-epoch-bits 2,3,0`: the low epoch bits of the peer's DTLS 1.3 records, in the
    /// order first seen (none in DTLS 1.2). Bits 0 after 3 mean epoch 4: the peer updated its
    /// sending keys (a KeyUpdate) at least once.
    fn print_peer_epochs(&self) {
        let bits: Vec<String> = self.io.peer_epoch_bits.iter().map(u8::to_string).collect();
        println!("peer-epoch-bits {}", if bits.is_empty() { "-".to_string() } else { bits.join(",") });
    }

    fn close(&mut self) {
        // SAFETY: self.ssl is live. One close_notify; we do not wait for the peer's.
        unsafe { w::wolfSSL_shutdown(self.ssl) };
    }
}

fn socket(bind: SocketAddr) -> Result<UdpSocket, String> {
    let sock = UdpSocket::bind(bind).map_err(|e| format!("bind {bind}: {e}"))?;
    sock.set_read_timeout(Some(SLICE)).map_err(|e| e.to_string())?;
    Ok(sock)
}

/// `--keylog FILE`, opened for appending.
fn keylog(o: &Options) -> Result<Option<std::fs::File>, String> {
    o.keylog
        .as_ref()
        .map(|path| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| format!("--keylog {path}: {e}"))
        })
        .transpose()
}

fn client(o: &Options) -> Result<(), String> {
    let deadline = Instant::now() + o.timeout;
    let bind: SocketAddr = if o.addr.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" }.parse().unwrap();
    let io = Io {
        sock: socket(bind)?,
        peer: o.addr,
        pending: None,
        last_io: Instant::now(),
        failure: None,
        hrr: 0,
        hvr: 0,
        keylog: keylog(o)?,
        peer_epoch_bits: Vec::new(),
        cids_received: Vec::new(),
        cids_sent: Vec::new(),
    };
    let mut s = Session::new(o, io, deadline)?;
    // SAFETY: ssl is live.
    s.drive("handshake", |ssl| unsafe { w::wolfSSL_connect(ssl) })?.ok_or("the server closed during the handshake")?;
    s.after_handshake(o)?;
    for _ in 0..o.repeat {
        s.write(o.message.as_bytes())?;
        match s.read()? {
            Some(d) if d == o.message.as_bytes() => {}
            Some(d) => {
                return Err(format!("expected the echo {:?}, got {:?}", o.message, String::from_utf8_lossy(&d)));
            }
            None => return Err("the server sent close_notify before the echo".into()),
        }
    }
    println!("echo ok");
    s.print_peer_epochs();
    if o.cid.is_some() {
        s.print_cid_wire();
    }
    s.close();
    Ok(())
}

fn server(o: &Options) -> Result<(), String> {
    let deadline = Instant::now() + o.timeout;
    let sock = socket(o.addr)?;
    println!("listening {}", sock.local_addr().map_err(|e| e.to_string())?);
    // The first datagram fixes the one peer of this session.
    let mut buf = vec![0u8; 65536];
    let (first, peer) = loop {
        if Instant::now() >= deadline {
            return Err("timed out waiting for a ClientHello".into());
        }
        match sock.recv_from(&mut buf) {
            Ok((n, from)) => break (buf[..n].to_vec(), from),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => return Err(format!("recv: {e}")),
        }
    };
    let io = Io {
        sock,
        peer,
        pending: Some(first),
        last_io: Instant::now(),
        failure: None,
        hrr: 0,
        hvr: 0,
        keylog: keylog(o)?,
        peer_epoch_bits: Vec::new(),
        cids_received: Vec::new(),
        cids_sent: Vec::new(),
    };
    let mut s = Session::new(o, io, deadline)?;
    // SAFETY: ssl is live.
    s.drive("handshake", |ssl| unsafe { w::wolfSSL_accept(ssl) })?.ok_or("the client closed during the handshake")?;
    s.after_handshake(o)?;
    let mut echoed = 0;
    loop {
        match s.read()? {
            Some(d) => {
                s.write(&d)?;
                echoed += 1;
                println!("echoed {} bytes", d.len());
            }
            None => {
                println!("closed reason=close_notify");
                s.print_peer_epochs();
                if o.cid.is_some() {
                    s.print_cid_wire();
                }
                s.close();
                return if echoed > 0 { Ok(()) } else { Err("closed before any application data".into()) };
            }
        }
    }
}

fn main() -> ExitCode {
    let run = || -> Result<(), String> {
        let o = parse_args()?;
        // SAFETY: library initialisation, once, before any other wolfSSL call.
        if unsafe { w::wolfSSL_Init() } != SUCCESS {
            return Err("wolfSSL_Init failed".into());
        }
        if o.server { server(&o) } else { client(&o) }
    };
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
