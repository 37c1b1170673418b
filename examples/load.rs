//! A load generator for `dtls server`, on loopback UDP, with a progress line every second.
//!
//! It starts the server as child processes (`dtls server --echo --quiet --cid-len 8`, one
//! process with `--workers N`, or with `--nginx B` B single-worker backends behind nginx
//! and `deploy/nginx/dtls_cid.js`), then runs K client threads in one of three modes:
//!
//! - `handshakes`: each thread repeats a full handshake on a fresh socket (fresh address),
//!   then a close_notify, until the time is up;
//! - `records`: each thread makes one session, seals `--prepared` records of 100 bytes
//!   before the clock starts, then keeps `--window` of them in flight against the server's
//!   echo, opening every echo it gets back;
//! - `in-memory`: no process and no socket: the same server configuration in an `Endpoint`
//!   in this process, timed around the server's calls only, for the same handshakes (the
//!   reference the server's CPU per handshake over loopback is compared with).
//!
//! With `--server ADDR:PORT --fingerprint FP` it starts nothing and loads a `dtls server`
//! that runs elsewhere (`FP` as that server prints it; a server on another machine, so that
//! the generator does not take the server's cores); the server's CPU is then not measured.
//!
//! The server's CPU time (all its threads, from `/proc/<pid>/stat`; nginx's separately) is
//! divided by the handshakes or records done. `--key rsa2048` gives the server the RSA key of
//! `tests/fixtures/keys` instead of a generated ECDSA P-256 one: its private-key operation
//! makes the server's half of a handshake many times the client's, so that clients sharing
//! the machine with the server do not limit what the server can show (see docs/performance.md).
//!
//! ```sh
//! cargo build --release --features cli --bin dtls --example load
//! target/release/examples/load target/release/dtls --workers 1 --clients 4 --seconds 10
//! target/release/examples/load target/release/dtls --workers 2 --mode records --clients 4
//! target/release/examples/load target/release/dtls --nginx 2 --key rsa2048
//! target/release/examples/load target/release/dtls --mode in-memory --seconds 5
//! target/release/examples/load target/release/dtls --server 192.0.2.10:4433 --fingerprint "sha-256 AB:…"
//! ```

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, UdpSocket as StdUdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;

use dtls_engine::{
    ClientConfig, Endpoint, EndpointConfig, Event, ProtocolVersion, ServerConfig, Session, fingerprint_sha256,
};

/// The server key choices: a fresh ECDSA P-256 key, or a fixed RSA key of the test fixtures.
const KEYS: [(&str, Option<&str>); 4] = [
    ("ecdsa-p256", None),
    ("rsa2048", Some(include_str!("../tests/fixtures/keys/rsa2048-pkcs8.pem"))),
    ("rsa3072", Some(include_str!("../tests/fixtures/keys/rsa3072-pkcs8.pem"))),
    ("rsa4096", Some(include_str!("../tests/fixtures/keys/rsa4096-pkcs8.pem"))),
];
const CID_LEN: &str = "8";
const PAYLOAD: [u8; 100] = [0x5a; 100];
const SOCKETS_PER_CLIENT: usize = 64;

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Handshakes,
    Records,
    InMemory,
}

pub struct Args {
    dtls: PathBuf,
    workers: usize,
    nginx: usize,
    /// A server already running elsewhere, and its certificate's fingerprint: no process is
    /// started, and the server's CPU is not measured.
    remote: Option<(SocketAddr, String)>,
    clients: usize,
    client_threads: usize,
    seconds: u64,
    mode: Mode,
    /// An index into [`KEYS`].
    key: usize,
    version: ProtocolVersion,
    prepared: usize,
    window: usize,
}

const USAGE: &str = "usage: load PATH/TO/dtls [--workers N | --nginx BACKENDS | --server ADDR:PORT --fingerprint FP] \
                     [--mode handshakes|records|in-memory] \
                     [--clients K] [--client-threads T] [--seconds S] [--key ecdsa|rsa2048|rsa3072|rsa4096] [--max-version 1.2|1.3] \
                     [--prepared RECORDS-PER-CLIENT] [--window W]";

/// The arguments after the program name.
pub fn parse_args(list: impl IntoIterator<Item = String>) -> Args {
    let mut a = list.into_iter();
    let dtls = a.next().filter(|p| !p.starts_with("--")).expect(USAGE);
    let mut out = Args {
        dtls: dtls.into(),
        workers: 1,
        nginx: 0,
        remote: None,
        clients: 16,
        client_threads: 1,
        seconds: 10,
        mode: Mode::Handshakes,
        key: 0,
        version: ProtocolVersion::Dtls12,
        prepared: 100_000,
        window: 16,
    };
    while let Some(flag) = a.next() {
        let value = a.next().expect(USAGE);
        let number = |v: &str| v.parse::<usize>().ok().filter(|n| *n > 0).expect(USAGE);
        match flag.as_str() {
            "--workers" => out.workers = number(&value),
            "--nginx" => out.nginx = number(&value),
            "--server" => {
                let fingerprint = out.remote.take().map(|(_, f)| f).unwrap_or_default();
                out.remote = Some((value.parse().expect(USAGE), fingerprint));
            }
            "--fingerprint" => {
                let addr = out.remote.take().map_or(SocketAddr::from(([127, 0, 0, 1], 0)), |(a, _)| a);
                out.remote = Some((addr, value));
            }
            "--clients" => out.clients = number(&value),
            "--client-threads" => out.client_threads = number(&value),
            "--seconds" => out.seconds = number(&value) as u64,
            "--prepared" => out.prepared = number(&value),
            "--window" => out.window = number(&value),
            "--max-version" => out.version = ProtocolVersion::from_name(&value).expect(USAGE),
            "--key" => out.key = KEYS.iter().position(|(k, _)| k.starts_with(value.as_str())).expect(USAGE),
            "--mode" => {
                out.mode = match value.as_str() {
                    "handshakes" => Mode::Handshakes,
                    "records" => Mode::Records,
                    "in-memory" => Mode::InMemory,
                    _ => panic!("{USAGE}"),
                }
            }
            _ => panic!("{USAGE}"),
        }
    }
    out
}

/// The server's certificate (self-signed, for `localhost`) and key as PEM, and the
/// certificate's SHA-256 fingerprint, which the clients pin.
fn identity(key: usize) -> (String, String, String) {
    let key = KEYS[key].1.map_or_else(rcgen::KeyPair::generate, rcgen::KeyPair::from_pem).expect("key");
    let params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).expect("params");
    let cert = params.self_signed(&key).expect("certificate");
    (cert.pem(), key.serialize_pem(), fingerprint_sha256(cert.der()))
}

/// utime + stime of `pid` (all its threads), in clock ticks (1/100 s on Linux).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state); utime and stime are fields 14 and 15.
    let field = |n: usize| f.get(n - 3).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    field(14) + field(15)
}

/// `pid` and its children (nginx's master and its workers).
fn with_children(pid: u32) -> Vec<u32> {
    let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
    std::iter::once(pid).chain(children.split_whitespace().filter_map(|c| c.parse().ok())).collect()
}

/// The processes under test: `dtls server`s, and nginx in front of them if asked for.
struct Servers {
    children: Vec<Child>,
    servers: Vec<u32>,
    nginx: Option<u32>,
    addr: SocketAddr,
}

impl Servers {
    fn start(a: &Args, cert: &Path, key: &Path, dir: &Path) -> Self {
        if let Some((addr, _)) = &a.remote {
            return Servers { children: Vec::new(), servers: Vec::new(), nginx: None, addr: *addr };
        }
        if a.nginx == 0 {
            let (child, addr) = dtls_server(a, a.workers, None, cert, key);
            return Servers { servers: vec![child.id()], children: vec![child], nginx: None, addr };
        }
        let mut children = Vec::new();
        let mut backends = Vec::new();
        for b in 1..=a.nginx {
            let sid = format!("{b:02x}");
            let (child, addr) = dtls_server(a, 1, Some(&sid), cert, key);
            backends.push(format!("{sid}={addr}"));
            children.push(child);
        }
        let servers = children.iter().map(Child::id).collect();
        let port = StdUdpSocket::bind("127.0.0.1:0").and_then(|s| s.local_addr()).expect("a free port").port();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/nginx/nginx-conf.sh");
        let mut conf = Command::new(script);
        // Every client address holds two connections until the proxy timeout.
        let connections = (2 * a.clients * SOCKETS_PER_CLIENT + 1024).to_string();
        conf.args(["--listen", &format!("127.0.0.1:{port}"), "--cid-len", CID_LEN, "--workers", "1"])
            .args(["--connections", &connections])
            .args(["--log-level", "error", "--foreground", "--runtime-dir"])
            .arg(dir);
        for b in &backends {
            conf.args(["--backend", b]);
        }
        let out = conf.output().expect("run deploy/nginx/nginx-conf.sh");
        assert!(out.status.success(), "nginx-conf.sh: {}", String::from_utf8_lossy(&out.stderr));
        std::fs::write(dir.join("nginx.conf"), &out.stdout).expect("nginx.conf");
        // As the tests find it: $DTLS_NGINX, else nginx on the PATH, else Debian's.
        let bin = std::env::var("DTLS_NGINX").unwrap_or_else(|_| {
            let on_path = Command::new("nginx").arg("-v").stderr(Stdio::null()).status().is_ok();
            if on_path { "nginx" } else { "/usr/sbin/nginx" }.to_owned()
        });
        let nginx = Command::new(bin)
            .arg("-p")
            .arg(dir)
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .arg("-e")
            .arg(dir.join("error.log"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nginx (Debian: nginx libnginx-mod-stream libnginx-mod-stream-js)");
        let nginx_pid = nginx.id();
        children.push(nginx);
        // nginx has no "ready" line: wait for its worker process.
        let started = Instant::now();
        while with_children(nginx_pid).len() < 2 && started.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(20));
        }
        Servers { children, servers, nginx: Some(nginx_pid), addr: SocketAddr::from(([127, 0, 0, 1], port)) }
    }

    /// CPU ticks of the `dtls server`s, and of nginx (master and workers).
    fn cpu(&self) -> (u64, u64) {
        let nginx = self.nginx.map_or(0, |p| with_children(p).into_iter().map(cpu_ticks).sum());
        (self.servers.iter().copied().map(cpu_ticks).sum(), nginx)
    }

    fn stop(mut self) {
        // nginx's master stops its workers on SIGTERM; killed outright, it would leave them.
        if let Some(pid) = self.nginx {
            let _ = Command::new("kill").args(["-TERM", &pid.to_string()]).status();
        }
        for c in self.children.iter_mut().rev() {
            if self.nginx != Some(c.id()) {
                let _ = c.kill();
            }
            let _ = c.wait();
        }
    }
}

fn dtls_server(a: &Args, workers: usize, sid: Option<&str>, cert: &Path, key: &Path) -> (Child, SocketAddr) {
    let mut child = Command::new(&a.dtls)
        .args(["server", "--listen", "127.0.0.1:0", "--echo", "--quiet", "--cid-len", CID_LEN])
        .args(["--server-id", sid.unwrap_or("a1"), "--workers", &workers.to_string()])
        .args(["--max-version", a.version.name().trim_start_matches("DTLSv")])
        .arg("--cert")
        .arg(cert)
        .arg("--key")
        .arg(key)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start dtls server");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let addr = loop {
        let line = lines.next().expect("the server's status lines").expect("stderr");
        if let Some(addr) = line.strip_prefix("listening ") {
            break addr.trim().parse().expect("listening ADDR");
        }
    };
    // Keep draining (errors only, with --quiet) so the server never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(|l| eprintln!("server: {}", l.unwrap_or_default())));
    (child, addr)
}

/// Drives `s` over `sock` until `done(s)`, an error or 5 s; calls `on_data` per echo.
async fn drive(
    s: &mut Session,
    sock: &UdpSocket,
    mut done: impl FnMut(&Session) -> bool,
    on_data: &mut dyn FnMut(),
) -> bool {
    let give_up = Instant::now() + Duration::from_secs(5);
    let mut buf = [0u8; 2048];
    loop {
        while let Some(t) = s.poll_transmit() {
            let _ = sock.send(&t.contents).await;
        }
        while let Some(e) = s.poll_event() {
            if let Event::ApplicationData(_) = e {
                on_data();
            }
        }
        if done(s) {
            return true;
        }
        let wake = s.poll_timeout().map_or(give_up, |t| t.min(give_up));
        match tokio::time::timeout_at(wake.into(), sock.recv(&mut buf)).await {
            Ok(Ok(n)) => {
                if s.handle(Instant::now(), &buf[..n]).is_err() {
                    return false;
                }
            }
            Ok(Err(_)) => return false,
            Err(_) => {
                let now = Instant::now();
                if now >= give_up || s.handle_timeout(now).is_err() {
                    return false;
                }
            }
        }
    }
}

async fn client_socket(server: SocketAddr) -> Option<UdpSocket> {
    let any = if server.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" };
    let sock = UdpSocket::bind(any).await.ok()?;
    sock.connect(server).await.ok()?;
    Some(sock)
}

/// One full handshake, then close_notify, on `sock`.
async fn one_handshake(config: &Arc<ClientConfig>, server: SocketAddr, sock: &UdpSocket) -> bool {
    let mut s = Session::client(Instant::now(), config.clone(), server);
    if !drive(&mut s, sock, Session::is_connected, &mut || {}).await {
        return false;
    }
    s.close(Instant::now());
    while let Some(t) = s.poll_transmit() {
        let _ = sock.send(&t.contents).await;
    }
    true
}

/// What the client tasks share.
struct Shared {
    config: Arc<ClientConfig>,
    server: SocketAddr,
    prepared: usize,
    window: usize,
    /// The client tasks that are ready; the clock starts when all are.
    ready: AtomicU64,
    stop: AtomicBool,
    handshakes: AtomicU64,
    records: AtomicU64,
    failures: AtomicU64,
}

/// `handshakes` mode: full handshakes until `stop`, on sockets taken in turn from a pool
/// (the server sees many addresses and the kernel spreads them over the workers, without a
/// socket made and closed per handshake).
async fn handshake_loop(sh: Arc<Shared>) {
    let mut pool = Vec::with_capacity(SOCKETS_PER_CLIENT);
    for _ in 0..SOCKETS_PER_CLIENT {
        pool.extend(client_socket(sh.server).await);
    }
    sh.ready.fetch_add(1, Ordering::SeqCst);
    for sock in pool.iter().cycle() {
        if sh.stop.load(Ordering::Relaxed) {
            break;
        }
        let counter = if one_handshake(&sh.config, sh.server, sock).await { &sh.handshakes } else { &sh.failures };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// `records` mode: one session, one echo checked, `prepared` records sealed; once every
/// task is ready, `window` records in flight until `stop`, counting the echoes it opens.
async fn record_stream(sh: Arc<Shared>) {
    if let Err(e) = stream(&sh).await {
        eprintln!("client: {e}");
        sh.failures.fetch_add(1, Ordering::Relaxed);
    }
}

async fn stream(sh: &Shared) -> Result<(), String> {
    let mark_ready = || sh.ready.fetch_add(1, Ordering::SeqCst);
    let Some(sock) = client_socket(sh.server).await else {
        mark_ready();
        return Err("no socket".into());
    };
    let mut s = Session::client(Instant::now(), sh.config.clone(), sh.server);
    let echoed = std::cell::Cell::new(false);
    let mut buf_out = Vec::with_capacity(2048);
    let first = drive(&mut s, &sock, Session::is_connected, &mut || {}).await
        && s.send(&PAYLOAD).is_ok()
        && drive(&mut s, &sock, |_| echoed.get(), &mut || echoed.set(true)).await;
    // The sealed datagrams back to back, and where each ends.
    let (mut sealed, mut ends) = (Vec::with_capacity(sh.prepared * 160), Vec::with_capacity(sh.prepared));
    if first {
        seal(&mut s, sh.prepared, &mut buf_out, &mut sealed, &mut ends)?;
    }
    mark_ready();
    if !first {
        return Err("no session".into());
    }
    while !sh.stop.load(Ordering::Relaxed) && sh.ready.load(Ordering::SeqCst) != u64::MAX {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let (mut next, mut in_flight, mut buf) = (0usize, 0usize, [0u8; 2048]);
    while !sh.stop.load(Ordering::Relaxed) {
        while in_flight < sh.window && next < ends.len() {
            let start = if next == 0 { 0 } else { ends[next - 1] };
            let _ = sock.send(&sealed[start..ends[next]]).await;
            (next, in_flight) = (next + 1, in_flight + 1);
        }
        if next == ends.len() && in_flight == 0 {
            // All used: seal more now (in the generator's CPU time; raise --prepared to avoid it).
            seal(&mut s, sh.prepared, &mut buf_out, &mut sealed, &mut ends)?;
            next = 0;
        }
        match tokio::time::timeout(Duration::from_millis(50), sock.recv(&mut buf)).await {
            Ok(Ok(n)) => {
                s.handle(Instant::now(), &buf[..n]).map_err(|e| e.to_string())?;
                while let Some(e) = s.poll_event() {
                    if let Event::ApplicationData(_) = e {
                        in_flight = in_flight.saturating_sub(1);
                        sh.records.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            Ok(Err(e)) => return Err(e.to_string()),
            // Lost on the way (a full socket buffer): send the next ones.
            Err(_) => in_flight = 0,
        }
    }
    Ok(())
}

/// Seal `n` records of [`PAYLOAD`] with `s` into `sealed` (back to back, each one's end in
/// `ends`), replacing what was there.
fn seal(
    s: &mut Session,
    n: usize,
    out: &mut Vec<u8>,
    sealed: &mut Vec<u8>,
    ends: &mut Vec<usize>,
) -> Result<(), String> {
    sealed.clear();
    ends.clear();
    while ends.len() < n {
        s.send(&PAYLOAD).map_err(|e| e.to_string())?;
        while s.poll_transmit_into(out).is_some() {
            sealed.extend_from_slice(out);
            ends.push(sealed.len());
        }
    }
    Ok(())
}

/// The clients authenticate the server by its pinned certificate (as WebRTC peers do): the
/// ServerKeyExchange or CertificateVerify signature is checked, no chain is built.
fn client_config(fingerprint: &str, version: ProtocolVersion) -> Arc<ClientConfig> {
    ClientConfig::builder()
        .pin_fingerprint(fingerprint)
        .expect("fingerprint")
        .max_version(version)
        .connection_ids(4)
        .build()
        .expect("client config")
}

/// The handshakes of `handshakes` mode without sockets: the server is an `Endpoint` with the
/// configuration `dtls server --cid-len 8 --server-id a1` builds; only its calls are timed.
fn in_memory(a: &Args, cert: &str, key: &str, fingerprint: &str) -> String {
    let server = ServerConfig::builder()
        .certificate_pem(cert.as_bytes(), key.as_bytes())
        .expect("server identity")
        .max_version(a.version)
        .connection_ids(8)
        .connection_id_prefix(&[0xa1])
        .build()
        .expect("server config");
    let config = client_config(fingerprint, a.version);
    let mut ep = Endpoint::new(Instant::now(), EndpointConfig { server: Some(server), ..EndpointConfig::default() });
    let server_addr = SocketAddr::from(([127, 0, 0, 1], 4433));
    let (mut server_time, mut n, mut wire) = (Duration::ZERO, 0u32, Vec::with_capacity(2048));
    let (mut to_server, mut to_client) = (0u64, 0u64);
    let started = Instant::now();
    let mut next_line = 1;
    while started.elapsed() < Duration::from_secs(a.seconds) {
        let peer = SocketAddr::from(([127, 0, 0, 2], 1024 + (n % 60_000) as u16));
        let mut c = Session::client(Instant::now(), config.clone(), server_addr);
        let mut closed = false;
        for _ in 0..16 {
            while c.poll_transmit_into(&mut wire).is_some() {
                to_server += 1;
                let t = Instant::now();
                ep.handle(t, peer, &wire);
                server_time += t.elapsed();
            }
            loop {
                let t = Instant::now();
                let to = ep.poll_transmit_into(&mut wire);
                while ep.poll_event().is_some() {}
                server_time += t.elapsed();
                if to.is_none() {
                    break;
                }
                to_client += 1;
                c.handle(Instant::now(), &wire).expect("client");
            }
            if closed {
                break;
            }
            if c.is_connected() {
                c.close(Instant::now());
                closed = true;
            }
        }
        assert!(closed, "in-memory handshake {n} did not complete");
        n += 1;
        if started.elapsed() >= Duration::from_secs(next_line) {
            println!("t={next_line}s handshakes={n} server={:.0} µs per handshake", micros(server_time, n));
            next_line += 1;
        }
    }
    format!(
        "in-memory version={} key={}: {n} handshakes, server {:.0} µs per handshake; datagrams per handshake: \
         {:.1} to the server, {:.1} from it",
        a.version.name(),
        KEYS[a.key].0,
        micros(server_time, n),
        to_server as f64 / f64::from(n.max(1)),
        to_client as f64 / f64::from(n.max(1)),
    )
}

fn micros(d: Duration, n: u32) -> f64 {
    if n == 0 { 0.0 } else { d.as_secs_f64() * 1e6 / f64::from(n) }
}

fn main() {
    println!("{}", run(&parse_args(std::env::args().skip(1))));
}

/// One run as the arguments say, with a progress line each second; returns the summary line.
pub fn run(a: &Args) -> String {
    let (cert_pem, key_pem, fingerprint) = identity(a.key);
    if a.mode == Mode::InMemory {
        return in_memory(a, &cert_pem, &key_pem, &fingerprint);
    }
    static RUNS: AtomicU64 = AtomicU64::new(0);
    let run = RUNS.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("dtls-load-{}-{run}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_path, &cert_pem).expect("cert");
    std::fs::write(&key_path, &key_pem).expect("key");
    let servers = Servers::start(a, &cert_path, &key_path, &dir);
    let pin = a.remote.as_ref().map_or(fingerprint.as_str(), |(_, f)| f.as_str());
    let config = client_config(pin, a.version);

    let sh = Arc::new(Shared {
        config,
        server: servers.addr,
        prepared: a.prepared,
        window: a.window,
        ready: AtomicU64::new(0),
        stop: AtomicBool::new(false),
        handshakes: AtomicU64::new(0),
        records: AtomicU64::new(0),
        failures: AtomicU64::new(0),
    });
    // The clients: `--clients` tasks on `--client-threads` single-threaded runtimes.
    let threads: Vec<_> = (0..a.client_threads)
        .map(|t| {
            let (sh, mode) = (sh.clone(), a.mode);
            let tasks = (t..a.clients).step_by(a.client_threads).count();
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
                tokio::task::LocalSet::new().block_on(&rt, async move {
                    let mut set = tokio::task::JoinSet::new();
                    for _ in 0..tasks {
                        if mode == Mode::Records {
                            set.spawn_local(record_stream(sh.clone()));
                        } else {
                            set.spawn_local(handshake_loop(sh.clone()));
                        }
                    }
                    set.join_all().await;
                });
            })
        })
        .collect();
    while sh.ready.load(Ordering::SeqCst) < a.clients as u64 {
        std::thread::sleep(Duration::from_millis(10));
    }
    sh.ready.store(u64::MAX, Ordering::SeqCst);
    let (cpu0, nginx0) = servers.cpu();
    let client0 = cpu_ticks(std::process::id());
    let started = Instant::now();
    for second in 1..=a.seconds {
        std::thread::sleep(Duration::from_secs(1));
        println!(
            "t={second}s handshakes={} records={} failures={} server_cpu={:.2}s",
            sh.handshakes.load(Ordering::Relaxed),
            sh.records.load(Ordering::Relaxed),
            sh.failures.load(Ordering::Relaxed),
            (servers.cpu().0 - cpu0) as f64 / 100.0
        );
    }
    // Read the counters and the CPU together, before the clients wind down.
    let elapsed = started.elapsed().as_secs_f64();
    let (cpu1, nginx1) = servers.cpu();
    let client = (cpu_ticks(std::process::id()) - client0) as f64 / 100.0;
    let (h, r) = (sh.handshakes.load(Ordering::Relaxed), sh.records.load(Ordering::Relaxed));
    sh.stop.store(true, Ordering::Relaxed);
    for t in threads {
        let _ = t.join();
    }
    let failures = sh.failures.load(Ordering::Relaxed);
    let cpu = (cpu1 - cpu0) as f64 / 100.0;
    let nginx = (nginx1 - nginx0) as f64 / 100.0;
    let measured = a.remote.is_none();
    let per = |n: u64| if n > 0 && measured { format!("{:.1} µs", cpu * 1e6 / n as f64) } else { "-".to_owned() };
    // The operations of this run (handshakes or records), for the per-operation figures.
    let ops = (h + r).max(1) as f64;
    let topology = match (&a.remote, a.nginx) {
        (Some((addr, _)), _) => format!("server={addr}"),
        (None, 0) => format!("workers={}", a.workers),
        (None, n) => format!("nginx+{n} backends"),
    };
    let summary = format!(
        "{topology} clients={} version={} key={} mode={}: {:.0} handshakes/s, {:.0} records/s, server CPU {cpu:.2} s \
         of {elapsed:.1} s ({} per handshake, {} per record){}, load generator CPU {client:.2} s ({:.1} µs per operation), \
         {failures} failures",
        a.clients,
        a.version.name(),
        KEYS[a.key].0,
        if a.mode == Mode::Records { "records" } else { "handshakes" },
        h as f64 / elapsed,
        r as f64 / elapsed,
        per(h),
        per(r),
        if a.nginx > 0 {
            format!(", nginx CPU {nginx:.2} s ({:.1} µs per operation)", nginx * 1e6 / ops)
        } else {
            String::new()
        },
        client * 1e6 / ops,
    );
    servers.stop();
    let _ = std::fs::remove_dir_all(&dir);
    summary
}
