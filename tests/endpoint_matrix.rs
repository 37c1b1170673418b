//! Drop-any-two matrix through real `Endpoint`s (`sim::Pair`, whose sides are real endpoints).
//!
//! What this proves: for path MTUs of 256, 576 and 1200 bytes, and for every pair (i, j),
//! i < j, of the first 12 datagrams of the exchange (both directions counted together, in
//! the order they were sent), a client `Endpoint` (`Endpoint::connect`) and a server
//! `Endpoint` with the stateless cookie path on complete the DTLS 1.2 handshake when
//! exactly datagrams i and j are lost: both report `Connected` within the configured
//! handshake deadline, no session fails, the server creates exactly one session (no
//! duplicate from a retransmitted or fragmented ClientHello), no datagram exceeds the MTU,
//! and application data then flows both ways. 3 × 66 = 198 handshakes.
//!
//! Indices the handshake does not reach fall on the application data exchanged after it
//! (pings the client repeats until one is echoed), so every run loses exactly two
//! datagrams; the test checks that it did. Run with `--nocapture` for the lossless
//! traces and the per-MTU figures.

mod sim;

use std::sync::Arc;
use std::time::{Duration, Instant};

use dtls_engine::{ClientConfig, ServerConfig};
use sim::{Flight, LinkConfig, Pair, Side, SimError, sim_pki};

/// The first this many datagrams of the exchange are candidates for loss.
const WINDOW: usize = 12;
/// One-way delay of the in-memory link.
const LATENCY: Duration = Duration::from_millis(5);
/// The configured handshake timeout of both sides, and the deadline the test holds them to.
const HANDSHAKE_DEADLINE: Duration = Duration::from_secs(60);
/// How long the client waits for an echo before it sends another ping.
const PING_WAIT: Duration = Duration::from_millis(200);

/// ALPN names long enough to push the client's ClientHello past one 256-byte datagram.
const LONG_ALPN: [&[u8]; 5] = [
    b"matrix-protocol-name-number-1",
    b"matrix-protocol-name-number-2",
    b"matrix-protocol-name-number-3",
    b"matrix-protocol-name-number-4",
    b"matrix-protocol-name-number-5",
];

/// Both sides at `mtu`; with `alpn`, both offer [`LONG_ALPN`].
fn configs_with(mtu: usize, alpn: &[&[u8]]) -> (Arc<ClientConfig>, Arc<ServerConfig>) {
    let pki = sim_pki();
    let client = ClientConfig::builder()
        .max_version(dtls_engine::ProtocolVersion::Dtls12)
        .root_certificates_pem(pki.ca_pem.as_bytes())
        .expect("sim CA")
        .server_name("localhost")
        .mtu(mtu)
        .handshake_timeout(HANDSHAKE_DEADLINE)
        .alpn_protocols(alpn)
        .rng_seed([7; 32])
        .build()
        .expect("client config");
    let server = ServerConfig::builder()
        .max_version(dtls_engine::ProtocolVersion::Dtls12)
        .certificate_pem(pki.server_cert_pem.as_bytes(), pki.server_key_pem.as_bytes())
        .expect("server certificate")
        .mtu(mtu)
        .handshake_timeout(HANDSHAKE_DEADLINE)
        .alpn_protocols(alpn)
        .rng_seed([8; 32])
        .build()
        .expect("server config");
    (client, server)
}

fn configs(mtu: usize) -> (Arc<ClientConfig>, Arc<ServerConfig>) {
    configs_with(mtu, &[])
}

/// DTLS 1.3 with the engine's defaults (X25519MLKEM768 first, so the ClientHello is
/// fragmented at every MTU here), both sides at `mtu`.
fn configs13(mtu: usize) -> (Arc<ClientConfig>, Arc<ServerConfig>) {
    let pki = sim_pki();
    let client = pki.client_builder13(7).mtu(mtu).handshake_timeout(HANDSHAKE_DEADLINE).build().expect("client");
    let server = pki.server_builder13(8).mtu(mtu).handshake_timeout(HANDSHAKE_DEADLINE).build().expect("server");
    (client, server)
}

/// A client endpoint and a server endpoint (cookie secrets seeded with 9) on lossless links
/// of [`LATENCY`]; a test loses datagrams through `Pair::drop`.
fn endpoint_pair(client: &Arc<ClientConfig>, server: &Arc<ServerConfig>) -> Pair {
    let link = LinkConfig { latency: LATENCY, ..LinkConfig::default() };
    Pair::new(Arc::clone(client), Arc::clone(server), link.clone(), link, 9)
}

/// What one run of the matrix measured.
struct Run {
    /// Virtual time until both sides were connected.
    handshake: Duration,
    /// Datagrams sent until then.
    handshake_datagrams: usize,
    retransmissions: u64,
}

/// One handshake losing exactly the datagrams in `drops`; `Err` describes the failure.
fn run(mtu: usize, drops: &[usize], client: &Arc<ClientConfig>, server: &Arc<ServerConfig>) -> Result<Run, String> {
    let mut pair = endpoint_pair(client, server);
    pair.drop = drops.to_vec();
    let fail = |pair: &Pair, what: String| format!("MTU {mtu}, dropping {drops:?}: {what}\n{}", pair.trace());
    if let Err(e) = pair.handshake(HANDSHAKE_DEADLINE) {
        let client_state = pair
            .client
            .try_session()
            .map(|s| format!("connected {}, closed {}, stats {:?}", s.is_connected(), s.is_closed(), s.stats()));
        let server_state = pair
            .server
            .try_session()
            .map(|s| format!("connected {}, closed {}, stats {:?}", s.is_connected(), s.is_closed(), s.stats()));
        return Err(fail(
            &pair,
            format!(
                "handshake: {e:?}\nclient session: {client_state:?}\nserver session: {server_state:?}\nserver endpoint: {:?}",
                pair.server.endpoint().stats()
            ),
        ));
    }
    let handshake = pair.elapsed();
    let handshake_datagrams = pair.log.len();
    for (name, node) in [("client", &pair.client), ("server", &pair.server)] {
        let at = node.connected_at.expect("connected");
        if at > HANDSHAKE_DEADLINE {
            return Err(fail(&pair, format!("{name} connected at {at:?}, after the deadline")));
        }
    }
    let retransmissions = [&pair.client, &pair.server]
        .iter()
        .filter_map(|n| n.try_session())
        .map(|s| s.stats().handshake_retransmissions)
        .sum();

    match pair.ping_pong(WINDOW, PING_WAIT, 10) {
        Ok(_) => {}
        Err(e) => return Err(fail(&pair, format!("application data: {e:?}"))),
    }
    let dropped: Vec<usize> = pair.log.iter().filter(|d| d.dropped).map(|d| d.index).collect();
    if dropped != drops {
        return Err(fail(&pair, format!("dropped {dropped:?}")));
    }
    if let Some(big) = pair.log.iter().find(|d| d.len > mtu) {
        return Err(fail(&pair, format!("datagram #{} of {} bytes", big.index, big.len)));
    }
    for (name, node) in [("client", &pair.client), ("server", &pair.server)] {
        if node.error.is_some() || node.destroyed != 0 {
            return Err(fail(&pair, format!("{name}: failure {:?}, destroyed {}", node.error, node.destroyed)));
        }
    }
    if pair.server.accepted != 1 || pair.server.endpoint().session_count() != 1 {
        return Err(fail(
            &pair,
            format!(
                "server accepted {} sessions, has {}",
                pair.server.accepted,
                pair.server.endpoint().session_count()
            ),
        ));
    }
    if !pair.server.app_data.iter().any(|d| d.starts_with(b"ping "))
        || !pair.client.app_data.iter().any(|d| d.starts_with(b"echo:ping "))
    {
        return Err(fail(&pair, "application data did not flow both ways".into()));
    }
    Ok(Run { handshake, handshake_datagrams, retransmissions })
}

fn matrix(mtu: usize) {
    let (client, server) = configs(mtu);
    matrix_with(mtu, &client, &server, "");
}

/// The matrix at `mtu` with these configurations; returns the lossless exchange's log.
fn matrix_with(
    mtu: usize,
    client: &Arc<ClientConfig>,
    server: &Arc<ServerConfig>,
    label: &str,
) -> Vec<sim::SentDatagram> {
    let (client, server) = (Arc::clone(client), Arc::clone(server));

    // The lossless exchange, for the record: what the 12 indices are.
    let mut lossless = endpoint_pair(&client, &server);
    lossless.handshake(HANDSHAKE_DEADLINE).expect("lossless handshake");
    let lossless_datagrams = lossless.log.len();
    let client_flights = lossless.log.iter().filter(|d| d.from == Side::Client).count();
    assert!(lossless.log.iter().all(|d| d.len <= mtu));
    let dtls13 = lossless.client.try_session().is_some_and(|s| s.protocol() == "DTLSv1.3");
    assert!(dtls13 || lossless.log.iter().any(|d| d.flight == Flight::HelloVerifyRequest), "{}", lossless.trace());
    assert_eq!(dtls13, label.contains("1.3"), "{label}");
    lossless.ping_pong(WINDOW, PING_WAIT, 10).expect("lossless application data");
    println!(
        "MTU {mtu}{label}: lossless handshake in {lossless_datagrams} datagrams ({client_flights} from the client), \
         then:\n{}",
        lossless.trace()
    );

    let started = Instant::now();
    let mut failures = Vec::new();
    let mut runs = 0;
    let (mut slowest, mut most_datagrams, mut retransmissions) = (Duration::ZERO, 0, 0);
    for i in 0..WINDOW {
        for j in i + 1..WINDOW {
            runs += 1;
            match run(mtu, &[i, j], &client, &server) {
                Ok(r) => {
                    slowest = slowest.max(r.handshake);
                    most_datagrams = most_datagrams.max(r.handshake_datagrams);
                    retransmissions += r.retransmissions;
                }
                Err(e) => failures.push(e),
            }
        }
    }
    let wall = started.elapsed();
    println!(
        "MTU {mtu}{label}: {runs} handshakes, {} failed, in {:.2} s wall; slowest {:.3} s virtual, at most {most_datagrams} \
         datagrams to connect, {retransmissions} handshake retransmissions in all",
        failures.len(),
        wall.as_secs_f64(),
        slowest.as_secs_f64()
    );
    assert_eq!(runs, 66);
    assert!(
        failures.is_empty(),
        "{} of {runs} runs failed at MTU {mtu}{label}:\n{}",
        failures.len(),
        failures.join("\n")
    );
    lossless.log
}

#[test]
fn drop_any_two_of_the_first_12_datagrams_mtu_256() {
    matrix(256);
}

#[test]
fn drop_any_two_of_the_first_12_datagrams_mtu_576() {
    matrix(576);
}

#[test]
fn drop_any_two_of_the_first_12_datagrams_mtu_1200() {
    matrix(1200);
}

/// Beyond the three MTUs: at MTU 256 with a ClientHello that needs two datagrams (both
/// sides offer five long ALPN names), so the losses also hit single fragments of the first
/// and of the cookie-bearing hello, which the endpoint answers or accepts from the first
/// fragment alone.
#[test]
fn drop_any_two_of_the_first_12_datagrams_mtu_256_fragmented_client_hello() {
    let (client, server) = configs_with(256, &LONG_ALPN);
    let log = matrix_with(256, &client, &server, " (fragmented ClientHello)");
    let flights: Vec<Flight> = log.iter().map(|d| d.flight).take(5).collect();
    assert_eq!(
        flights,
        [
            Flight::ClientHello,
            Flight::ClientHello,
            Flight::HelloVerifyRequest,
            Flight::ClientHelloWithCookie,
            Flight::ClientHelloWithCookie
        ],
        "the hello should span two datagrams, with and without the cookie"
    );
}

/// DTLS 1.3 with the X25519MLKEM768 hybrid through the endpoint's stateless
/// HelloRetryRequest: the first and second ClientHellos span two datagrams (three at MTU
/// 576), the server's flight several; any two of the first 12 datagrams may be lost and
/// the handshake completes (timers, the server's re-sent flight on a repeated hello, the
/// client's Finished until its ACK; RFC 9147 §5.8, §7).
#[test]
fn dtls13_drop_any_two_of_the_first_12_datagrams_mtu_1200() {
    let (client, server) = configs13(1200);
    matrix_with(1200, &client, &server, " (DTLS 1.3, X25519MLKEM768)");
}

#[test]
fn dtls13_drop_any_two_of_the_first_12_datagrams_mtu_576() {
    let (client, server) = configs13(576);
    matrix_with(576, &client, &server, " (DTLS 1.3, X25519MLKEM768)");
}

/// The driver itself: without drops nothing is lost, and a drop set is honoured exactly.
#[test]
fn the_pair_drops_exactly_what_it_is_told() {
    let (client, server) = configs(1200);
    let mut pair = endpoint_pair(&client, &server);
    pair.drop = vec![0];
    pair.handshake(HANDSHAKE_DEADLINE).expect("handshake");
    assert!(pair.log[0].dropped && pair.log[0].flight == Flight::ClientHello);
    assert_eq!(pair.log[1].flight, Flight::ClientHello, "the retransmission\n{}", pair.trace());
    assert!(pair.log[1].at >= Duration::from_secs(1), "after the initial retransmission timeout");
    assert_eq!(pair.log.iter().filter(|d| d.dropped).count(), 1);
    let err = endpoint_pair(&client, &server).drive_until(Duration::from_millis(1), |_| false);
    assert!(matches!(err, Err(SimError::Deadline { .. } | SimError::Stalled { .. })));
}
