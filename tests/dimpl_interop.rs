//! Interop with dimpl 0.9, a DTLS 1.3-capable stack, over loopback UDP: the peer program in
//! `interop/dimpl` (a crate of its own) runs dimpl's auto-sensing client, which offers DTLS
//! 1.3 and 1.2 in one ClientHello as Chrome and Firefox do, and its auto-sensing server,
//! which speaks 1.3 and falls back to 1.2. Both sides authenticate by pinned certificate
//! fingerprints (dimpl does no PKI validation; the peer program checks `--pin`).
//!
//! With our ends limited to DTLS 1.2 (the library default), dimpl's auto client and server
//! fall back to 1.2. With ours allowing DTLS 1.3 (`max_version`), dimpl's DTLS 1.3-only
//! (`Dtls::new_13`, the peer's `--dtls13`) and auto ends both negotiate 1.3 with us, in both
//! roles; our client held to 1.2 still gets 1.2 from dimpl's auto server. dimpl 0.9 has no
//! ML-KEM: our 1.3 client's X25519MLKEM768 share is refused with a HelloRetryRequest for
//! X25519, which both sides then use.
//!
//! The peer binary is found through `DTLS_DIMPL_PEER`, which `scripts/test` (the README's
//! test command) sets after building it. Without it these tests fail; they never skip.

#![cfg(all(feature = "tokio", feature = "rcgen"))]

use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dtls_engine::adapter::EndpointOptions;
use dtls_engine::adapter::tokio_udp::{connect, listen};
use dtls_engine::certgen::{SelfSignedCertificate, generate_self_signed};
use dtls_engine::{ClientAuth, ClientConfig, FingerprintVerifier, NamedGroup, ProtocolVersion, ServerConfig};

const PEER_VAR: &str = "DTLS_DIMPL_PEER";
const MESSAGE: &str = "hello over DTLS 1.2 from dimpl";
/// How long the peer program may run before it gives up on its own (`--timeout`).
const PEER_TIMEOUT_SECS: u64 = 20;

fn peer_binary() -> PathBuf {
    let hint = "These tests drive dimpl 0.9 through interop/dimpl. Run the README's test command, \
                scripts/test, which builds that peer and sets DTLS_DIMPL_PEER to its binary \
                (or build it with `cargo build --release --manifest-path interop/dimpl/Cargo.toml` \
                and export DTLS_DIMPL_PEER=interop/dimpl/target/release/dimpl-peer).";
    match std::env::var_os(PEER_VAR) {
        None => panic!("{PEER_VAR} is not set. {hint}"),
        Some(p) if Path::new(&p).is_file() => PathBuf::from(p),
        Some(p) => panic!("{PEER_VAR}={} is not a file. {hint}", Path::new(&p).display()),
    }
}

/// A directory of its own for one test: the process and a counter make the name unique
/// (a clock reading does not: two tests running at once read the same value often enough
/// that one wrote its certificate over the other's, and its peer presented the wrong one).
fn temp_dir(name: &str) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("dtls-dimpl-{name}-{}-{n}", std::process::id()));
    // A directory left by an earlier process with the same id goes first.
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A certificate for the dimpl side, written for `--cert` (DER) and `--key` (PKCS#8 PEM).
struct PeerIdentity {
    cert: SelfSignedCertificate,
    cert_file: PathBuf,
    key_file: PathBuf,
}

fn peer_identity(dir: &Path, name: &str) -> PeerIdentity {
    let cert = generate_self_signed(&["dimpl-peer"]).unwrap();
    let (cert_file, key_file) = (dir.join(format!("{name}-cert.der")), dir.join(format!("{name}-key.pem")));
    std::fs::write(&cert_file, cert.cert_der.as_ref()).unwrap();
    std::fs::write(&key_file, &cert.key_pem).unwrap();
    PeerIdentity { cert, cert_file, key_file }
}

impl PeerIdentity {
    /// `--cert FILE --key FILE --pin FP`: dimpl presents this identity and pins `peer`.
    fn args(&self, peer: &SelfSignedCertificate) -> Vec<String> {
        vec![
            "--cert".into(),
            self.cert_file.display().to_string(),
            "--key".into(),
            self.key_file.display().to_string(),
            "--pin".into(),
            peer.fingerprint.clone(),
            "--timeout".into(),
            PEER_TIMEOUT_SECS.to_string(),
        ]
    }
}

/// A running peer process, killed (it is our own child) if the test ends early.
struct Peer {
    child: Child,
    args: Vec<String>,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a peer process did.
struct PeerRun {
    status: Option<ExitStatus>,
    stdout: String,
    stderr: String,
    args: Vec<String>,
}

impl PeerRun {
    fn transcript(&self) -> String {
        format!(
            "dimpl-peer {}\nexit status: {}\n--- stdout ---\n{}--- stderr ---\n{}",
            self.args.join(" "),
            self.status.map_or_else(|| "killed after the deadline".into(), |s| s.to_string()),
            self.stdout,
            self.stderr
        )
    }

    fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }

    /// The one stdout line that starts with `prefix`.
    fn line(&self, prefix: &str) -> &str {
        self.stdout
            .lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no `{prefix}` line from dimpl-peer\n{}", self.transcript()))
    }

    /// `key=value` from the line that starts with `prefix`.
    fn field(&self, prefix: &str, key: &str) -> &str {
        let line = self.line(prefix);
        line.split(' ')
            .find_map(|w| w.strip_prefix(key).and_then(|w| w.strip_prefix('=')))
            .unwrap_or_else(|| panic!("no {key}= in `{line}`\n{}", self.transcript()))
    }
}

fn spawn_peer(args: Vec<String>) -> Peer {
    let child = Command::new(peer_binary())
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", peer_binary().display()));
    Peer { child, args }
}

impl Peer {
    /// Read stdout up to the `listening ADDR` line (a server) and return ADDR. Reads a
    /// byte at a time, so that nothing after that line is taken from the pipe.
    fn listening(&mut self, seen: &mut String) -> SocketAddr {
        let out = self.child.stdout.as_mut().unwrap();
        loop {
            let mut line = Vec::new();
            let mut byte = [0u8];
            while out.read(&mut byte).unwrap() == 1 {
                line.push(byte[0]);
                if byte[0] == b'\n' {
                    break;
                }
            }
            let line = String::from_utf8_lossy(&line).into_owned();
            if line.is_empty() {
                let mut err = String::new();
                let _ = self.child.stderr.as_mut().unwrap().read_to_string(&mut err);
                panic!("dimpl-peer {} ended before listening:\n{seen}{err}", self.args.join(" "));
            }
            seen.push_str(&line);
            if let Some(addr) = line.trim().strip_prefix("listening ") {
                return addr.parse().unwrap();
            }
        }
    }

    /// Wait for the process to exit (killing it after `limit`) and collect its output.
    fn finish(mut self, limit: Duration, stdout_so_far: String) -> PeerRun {
        let mut stdout_pipe = self.child.stdout.take().unwrap();
        let mut stderr_pipe = self.child.stderr.take().unwrap();
        let out = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = stdout_pipe.read_to_string(&mut s);
            s
        });
        let err = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = stderr_pipe.read_to_string(&mut s);
            s
        });
        let deadline = Instant::now() + limit;
        let status = loop {
            match self.child.try_wait().unwrap() {
                Some(status) => break Some(status),
                None if Instant::now() >= deadline => break None, // killed by Drop below
                None => std::thread::sleep(Duration::from_millis(10)),
            }
        };
        let args = std::mem::take(&mut self.args);
        drop(self);
        PeerRun { status, stdout: stdout_so_far + &out.join().unwrap(), stderr: err.join().unwrap(), args }
    }
}

/// What our side saw of one session.
#[derive(Debug)]
struct OurSide {
    protocol: &'static str,
    group: Option<NamedGroup>,
    cipher: String,
    peer_certificate: Vec<u8>,
    /// Our certificate's fingerprint, which dimpl pinned.
    fingerprint: String,
}

/// How a dimpl case is set up beyond the MTUs: the highest version our end allows, and
/// whether dimpl runs DTLS 1.3 only (`--dtls13`) instead of auto-sensing.
#[derive(Clone, Copy)]
struct Versions {
    our_max: ProtocolVersion,
    dimpl_dtls13: bool,
}

/// Our end as the library builds it by default (DTLS 1.2 only), dimpl auto.
const OURS_12_DIMPL_AUTO: Versions = Versions { our_max: ProtocolVersion::Dtls12, dimpl_dtls13: false };
/// Our end allowing DTLS 1.3, dimpl auto.
const OURS_13_DIMPL_AUTO: Versions = Versions { our_max: ProtocolVersion::Dtls13, dimpl_dtls13: false };
/// Our end allowing DTLS 1.3, dimpl DTLS 1.3 only.
const OURS_13_DIMPL_13: Versions = Versions { our_max: ProtocolVersion::Dtls13, dimpl_dtls13: true };

/// dimpl's client (auto, offering DTLS 1.3 and 1.2, unless `v.dimpl_dtls13`) against our
/// tokio server, which requires dimpl's certificate by fingerprint and echoes. `dimpl_mtu`
/// is the client's MTU, `our_mtu` the server's.
async fn dimpl_client_against_our_server(
    dimpl_mtu: Option<usize>,
    our_mtu: Option<usize>,
    v: Versions,
) -> (PeerRun, OurSide) {
    let dir = temp_dir("client");
    let ours = generate_self_signed(&["localhost"]).unwrap();
    let theirs = peer_identity(&dir, "dimpl");
    let mut config = ServerConfig::builder()
        .certificate_pem(ours.cert_pem.as_bytes(), ours.key_pem.as_bytes())
        .unwrap()
        .client_auth(ClientAuth::Required(Arc::new(FingerprintVerifier::new(&theirs.cert.fingerprint).unwrap())))
        .max_version(v.our_max)
        .handshake_timeout(Duration::from_secs(PEER_TIMEOUT_SECS));
    if let Some(mtu) = our_mtu {
        config = config.mtu(mtu);
    }
    let endpoint = Arc::new(listen("127.0.0.1:0", config.build().unwrap(), EndpointOptions::default()).await.unwrap());
    let addr = endpoint.local_addr();

    // One session: wait for it (or for its handshake failure), echo, wait for close_notify.
    let server = tokio::spawn({
        let endpoint = endpoint.clone();
        let fingerprint = ours.fingerprint.clone();
        async move {
            let mut s = tokio::select! {
                s = endpoint.accept() => s.ok_or("the endpoint closed before a session arrived")?,
                f = endpoint.handshake_failure() => {
                    return Err(match f {
                        Some(f) => format!("our server's handshake with {} failed: {}", f.remote, f.error),
                        None => "the endpoint closed".into(),
                    });
                }
            };
            let side = OurSide {
                protocol: s.protocol(),
                group: s.negotiated_group(),
                cipher: s.cipher().map(|c| c.standard_name.to_string()).unwrap_or_default(),
                peer_certificate: s.peer_certificate().map(|c| c.to_vec()).unwrap_or_default(),
                fingerprint,
            };
            let data = s.recv().await.ok_or("the session ended before any application data")?;
            s.send(&data).await.map_err(|e| format!("echo: {e}"))?;
            match s.closed().await {
                None => Ok(side),
                Some(e) => Err(format!("the session ended with an error after the echo: {e}")),
            }
        }
    });

    let mut args = vec!["client".to_string(), addr.to_string(), "--message".into(), MESSAGE.into()];
    args.extend(theirs.args(&ours));
    if let Some(mtu) = dimpl_mtu {
        args.extend(["--mtu".to_string(), mtu.to_string()]);
    }
    if v.dimpl_dtls13 {
        args.push("--dtls13".into());
    }
    let peer = spawn_peer(args);
    let run =
        tokio::task::spawn_blocking(move || peer.finish(Duration::from_secs(PEER_TIMEOUT_SECS + 10), String::new()))
            .await
            .unwrap();
    let ours_result = tokio::time::timeout(Duration::from_secs(10), server).await;
    let _ = std::fs::remove_dir_all(&dir);
    let stats = endpoint.stats();
    let side = match ours_result {
        Ok(Ok(Ok(side))) => side,
        Ok(Ok(Err(e))) => panic!("{e}\nour endpoint: {stats:?}\n{}", run.transcript()),
        Ok(Err(e)) => panic!("server task: {e}\nour endpoint: {stats:?}\n{}", run.transcript()),
        Err(_) => panic!(
            "our server saw no complete session within 10 s of dimpl exiting\nour endpoint: {stats:?}\n{}",
            run.transcript()
        ),
    };
    assert!(run.succeeded(), "dimpl's client failed\n{}", run.transcript());
    assert_eq!(side.peer_certificate, theirs.cert.cert_der.to_vec(), "our server saw another certificate than dimpl's");
    (run, side)
}

/// The checks every dimpl-client run shares: dimpl offered DTLS 1.3 and 1.2, both sides
/// settled on DTLS 1.2 with the same suite, dimpl pinned our certificate, and the echo came
/// back.
fn assert_fell_back_to_dtls12(run: &PeerRun, side: &OurSide) {
    let t = run.transcript();
    assert_eq!(run.field("client-hello", "first-offer"), "DTLS1.3+DTLS1.2", "dimpl did not offer 1.3\n{t}");
    assert_eq!(run.field("connected", "version"), "DTLS1.2", "\n{t}");
    assert_eq!(side.protocol, "DTLSv1.2");
    assert_eq!(run.field("connected", "cipher"), side.cipher, "the two sides disagree on the suite\n{t}");
    assert!(run.line("peer-fingerprint").ends_with(&side.fingerprint), "dimpl saw another server certificate\n{t}");
    assert!(run.stdout.lines().any(|l| l == "echo ok"), "no echo\n{t}");
}

/// (a) dimpl's auto client, offering DTLS 1.3 and 1.2, completes a DTLS 1.2 handshake with
/// our server (HelloVerifyRequest, then a second ClientHello without the 1.3 extensions)
/// and gets its line echoed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dimpl_auto_client_falls_back_to_dtls12_with_our_server() {
    let (run, side) = dimpl_client_against_our_server(None, None, OURS_12_DIMPL_AUTO).await;
    eprintln!("{}", run.transcript());
    assert_fell_back_to_dtls12(&run, &side);
}

/// (c) The same with dimpl's MTU at 128 bytes, so that its second ClientHello (the one
/// carrying our cookie, 136 bytes of body) goes out in two fragments, and our server's MTU at
/// its 256-byte minimum, so that our flights reach dimpl in fragments too. (dimpl sends its
/// first, hybrid ClientHello as one record whatever the MTU.)
///
/// Why not smaller: our endpoint checks the cookie statelessly from the ClientHello's first
/// fragment, which must therefore hold every field the cookie binds, through
/// compression_methods (84 bytes of body here). Below an MTU of about 109, dimpl's first
/// fragment ends inside cipher_suites and our server drops it (`datagrams_dropped`), so the
/// handshake cannot complete; no real path has such an MTU.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dimpl_auto_client_with_fragmented_client_hello() {
    let (run, side) = dimpl_client_against_our_server(Some(128), Some(256), OURS_12_DIMPL_AUTO).await;
    eprintln!("{}", run.transcript());
    assert_fell_back_to_dtls12(&run, &side);
    let partial: usize = run.field("client-hello", "partial").parse().unwrap();
    assert!(partial >= 2, "dimpl's ClientHello was not fragmented\n{}", run.transcript());
}

/// dimpl's server (auto: DTLS 1.3, falling back to 1.2; DTLS 1.3 only with
/// `v.dimpl_dtls13`), with our client against it, which must negotiate `expect`
/// (`DTLSv1.2` or `DTLSv1.3`). Returns the peer's run after our client echoed a line and
/// closed, and the group our client used.
async fn our_client_against_dimpl_server(
    dimpl_mtu: Option<usize>,
    our_mtu: Option<usize>,
    v: Versions,
    expect: &'static str,
) -> (PeerRun, Option<NamedGroup>) {
    let dir = temp_dir("server");
    let ours = generate_self_signed(&["localhost"]).unwrap();
    let theirs = peer_identity(&dir, "dimpl");
    let mut args = vec!["server".to_string(), "127.0.0.1:0".into(), "--once".into()];
    args.extend(theirs.args(&ours));
    if let Some(mtu) = dimpl_mtu {
        args.extend(["--mtu".to_string(), mtu.to_string()]);
    }
    if v.dimpl_dtls13 {
        args.push("--dtls13".into());
    }
    let mut peer = spawn_peer(args);
    let mut seen = String::new();
    let addr = peer.listening(&mut seen);

    let mut config = ClientConfig::builder()
        .pin_fingerprint(&theirs.cert.fingerprint)
        .unwrap()
        .client_certificate_pem(ours.cert_pem.as_bytes(), ours.key_pem.as_bytes())
        .unwrap()
        .max_version(v.our_max)
        .handshake_timeout(Duration::from_secs(PEER_TIMEOUT_SECS));
    if let Some(mtu) = our_mtu {
        config = config.mtu(mtu);
    }
    let config = config.build().unwrap();
    let outcome: Result<Option<NamedGroup>, String> = async {
        let mut s = connect(addr, config).await.map_err(|e| format!("our client's handshake failed: {e}"))?;
        if s.protocol() != expect {
            return Err(format!("protocol {}, expected {expect}", s.protocol()));
        }
        let group = s.negotiated_group();
        if s.peer_certificate().map(|c| c.to_vec()) != Some(theirs.cert.cert_der.to_vec()) {
            return Err("our client saw another certificate than dimpl's".into());
        }
        let cipher = s.cipher().map(|c| c.standard_name).unwrap_or_default();
        s.send(MESSAGE.as_bytes()).await.map_err(|e| format!("send: {e}"))?;
        let echo = tokio::time::timeout(Duration::from_secs(10), s.recv()).await.map_err(|_| "no echo within 10 s")?;
        if echo.as_deref() != Some(MESSAGE.as_bytes()) {
            return Err(format!("echo {echo:?}"));
        }
        s.close();
        if let Some(e) = s.closed().await {
            return Err(format!("close: {e}"));
        }
        eprintln!("our client: {expect} {cipher} {group:?}");
        Ok(group)
    }
    .await;
    let run = tokio::task::spawn_blocking(move || peer.finish(Duration::from_secs(10), seen)).await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    eprintln!("{}", run.transcript());
    let group = outcome.unwrap_or_else(|e| panic!("{e}\n{}", run.transcript()));
    let t = run.transcript();
    assert!(run.succeeded(), "dimpl's server did not end cleanly\n{t}");
    assert_eq!(run.field("connected", "version"), expect.replace('v', ""), "\n{t}");
    assert!(run.stdout.contains("echoed 127.0.0.1:"), "\n{t}");
    assert!(run.line("peer-fingerprint").ends_with(&ours.fingerprint), "dimpl saw another client certificate\n{t}");
    (run, group)
}

/// (b) Our client against dimpl's DTLS 1.3/1.2 server: it negotiates DTLS 1.2 (we offer
/// nothing else), both sides pin each other's certificate, and the line is echoed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_client_with_dimpl_auto_server_negotiates_dtls12() {
    our_client_against_dimpl_server(None, None, OURS_12_DIMPL_AUTO, "DTLSv1.2").await;
}

/// (b) with small MTUs on both sides: dimpl's server flight (certificate, key exchange,
/// certificate request) reaches us in fragments, and ours reaches dimpl in fragments.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_client_with_dimpl_auto_server_small_mtu() {
    our_client_against_dimpl_server(Some(100), Some(256), OURS_12_DIMPL_AUTO, "DTLSv1.2").await;
}

/// The control: dimpl's client and server, the same programs, negotiate DTLS 1.3 with each
/// other, so the DTLS 1.2 outcomes above are the fallback at work, not a peer that only
/// speaks 1.2.
#[test]
fn dimpl_peers_negotiate_dtls13_with_each_other() {
    let dir = temp_dir("control");
    let (server_id, client_id) = (peer_identity(&dir, "server"), peer_identity(&dir, "client"));
    let mut args = vec!["server".to_string(), "127.0.0.1:0".into(), "--once".into()];
    args.extend(server_id.args(&client_id.cert));
    let mut server = spawn_peer(args);
    let mut seen = String::new();
    let addr = server.listening(&mut seen);
    let mut args = vec!["client".to_string(), addr.to_string()];
    args.extend(client_id.args(&server_id.cert));
    let client = spawn_peer(args).finish(Duration::from_secs(PEER_TIMEOUT_SECS + 10), String::new());
    let server = server.finish(Duration::from_secs(10), seen);
    let _ = std::fs::remove_dir_all(&dir);
    let t = format!("{}\n{}", client.transcript(), server.transcript());
    assert!(client.succeeded() && server.succeeded(), "\n{t}");
    assert_eq!(client.field("connected", "version"), "DTLS1.3", "\n{t}");
    assert_eq!(server.field("connected", "version"), "DTLS1.3", "\n{t}");
    assert_eq!(client.field("client-hello", "first-offer"), "DTLS1.3+DTLS1.2", "\n{t}");
}

/// Our client allowing DTLS 1.3 against dimpl's DTLS 1.3-only server (`Dtls::new_13`):
/// DTLS 1.3 with mutual authentication (dimpl requires our certificate, each side pins the
/// other's). Our first ClientHello offers X25519MLKEM768, which dimpl does not have: its
/// HelloRetryRequest moves us to X25519.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_dtls13_client_with_dimpl_dtls13_server() {
    let (_, group) = our_client_against_dimpl_server(None, None, OURS_13_DIMPL_13, "DTLSv1.3").await;
    assert_eq!(group, Some(NamedGroup::X25519));
}

/// Our client allowing DTLS 1.3 against dimpl's auto server: 1.3, not the 1.2 fallback.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_dtls13_client_with_dimpl_auto_server_reaches_dtls13() {
    let (_, group) = our_client_against_dimpl_server(None, None, OURS_13_DIMPL_AUTO, "DTLSv1.3").await;
    assert_eq!(group, Some(NamedGroup::X25519));
}

/// Our client held to DTLS 1.2 (`max_version` set explicitly) against dimpl's auto server:
/// 1.2, and our client (which checks for the downgrade sentinel only when it allows 1.3)
/// completes the handshake.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_dtls12_client_with_dimpl_auto_server_gets_dtls12() {
    let (_, group) = our_client_against_dimpl_server(None, None, OURS_12_DIMPL_AUTO, "DTLSv1.2").await;
    assert!(group.is_some(), "no group recorded for the DTLS 1.2 ECDHE exchange");
}

/// The checks of a DTLS 1.3 session between dimpl's client and our server: both sides say
/// DTLS 1.3 with the same suite, our server used X25519 (dimpl has no ML-KEM), dimpl pinned
/// our certificate and got its line back.
fn assert_dtls13_with_dimpl_client(run: &PeerRun, side: &OurSide) {
    let t = run.transcript();
    assert_eq!(run.field("connected", "version"), "DTLS1.3", "\n{t}");
    assert_eq!(side.protocol, "DTLSv1.3", "\n{t}");
    assert_eq!(side.group, Some(NamedGroup::X25519), "\n{t}");
    assert_eq!(run.field("connected", "cipher"), side.cipher, "the two sides disagree on the suite\n{t}");
    assert!(run.line("peer-fingerprint").ends_with(&side.fingerprint), "dimpl saw another server certificate\n{t}");
    assert!(run.stdout.lines().any(|l| l == "echo ok"), "no echo\n{t}");
}

/// dimpl's DTLS 1.3-only client (`Dtls::new_13`) against our server allowing DTLS 1.3: our
/// server's stateless cookie HelloRetryRequest, then DTLS 1.3 with mutual authentication
/// by pinned fingerprints, and the echo.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dimpl_dtls13_client_with_our_dtls13_server() {
    let (run, side) = dimpl_client_against_our_server(None, None, OURS_13_DIMPL_13).await;
    assert_dtls13_with_dimpl_client(&run, &side);
}

/// dimpl's auto client (one ClientHello offering DTLS 1.3 and 1.2, as browsers send)
/// against our server allowing DTLS 1.3: 1.3, not the fallback.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dimpl_auto_client_reaches_dtls13_with_our_server() {
    let (run, side) = dimpl_client_against_our_server(None, None, OURS_13_DIMPL_AUTO).await;
    assert_eq!(run.field("client-hello", "first-offer"), "DTLS1.3+DTLS1.2", "\n{}", run.transcript());
    assert_dtls13_with_dimpl_client(&run, &side);
}

/// DTLS 1.3 with small MTUs on both sides (dimpl 200, ours 256): our fragmented hybrid
/// ClientHello and the rest of our flights reach dimpl in fragments, dimpl's reach us in
/// fragments, and the session is DTLS 1.3 over X25519.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_dtls13_client_with_dimpl_dtls13_server_small_mtu() {
    let (_, group) = our_client_against_dimpl_server(Some(200), Some(256), OURS_13_DIMPL_13, "DTLSv1.3").await;
    assert_eq!(group, Some(NamedGroup::X25519));
}

/// dimpl's DTLS 1.3 client against our server with small MTUs on both sides (dimpl 200,
/// ours 256): our cookie HelloRetryRequest and server flight reach dimpl in fragments.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dimpl_dtls13_client_with_our_dtls13_server_small_mtu() {
    let (run, side) = dimpl_client_against_our_server(Some(200), Some(256), OURS_13_DIMPL_13).await;
    assert_dtls13_with_dimpl_client(&run, &side);
}
