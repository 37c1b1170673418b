//! Session resumption (RFC 5246 §7.3 abbreviated handshake) between two engine sessions in
//! the deterministic simulator: by RFC 5077 ticket and by session ID, the extended master
//! secret carried over (RFC 7627 §5.3), tickets that must not open, the client's store
//! bounds, and the abbreviated handshake under loss with each of its flights dropped.
//! Interop with OpenSSL and GnuTLS is in `tests/resumption_interop.rs`.

mod sim;

use std::sync::Arc;
use std::time::Duration;

use dtls_engine::{ClientConfig, ClientSessionStore, ServerConfig};
use sim::{Flight, LinkConfig, Pair, sim_pki};

const DEADLINE: Duration = Duration::from_secs(120);

fn client_config(store: &Arc<ClientSessionStore>) -> Arc<ClientConfig> {
    sim_pki().client_builder(1).resumption(store.clone()).build().expect("client config")
}

fn server_config(
    f: impl FnOnce(dtls_engine::ServerConfigBuilder) -> dtls_engine::ServerConfigBuilder,
) -> Arc<ServerConfig> {
    f(sim_pki().server_builder(2)).build().expect("server config")
}

/// One handshake over a lossless link, with data both ways; returns the pair.
fn connect(client: &Arc<ClientConfig>, server: &Arc<ServerConfig>) -> Pair {
    let mut pair = Pair::new(client.clone(), server.clone(), LinkConfig::default(), LinkConfig::default(), 7);
    pair.expect_handshake(DEADLINE);
    echo(&mut pair);
    pair
}

fn echo(pair: &mut Pair) {
    pair.client.session_mut().send(b"ping").expect("send");
    pair.server.session_mut().send(b"pong").expect("send");
    pair.drive_until(DEADLINE, |p| !p.client.app_data.is_empty() && !p.server.app_data.is_empty())
        .expect("data both ways");
    assert_eq!(pair.server.app_data.pop_front().as_deref(), Some(&b"ping"[..]));
    assert_eq!(pair.client.app_data.pop_front().as_deref(), Some(&b"pong"[..]));
}

fn exported(pair: &Pair) -> ([u8; 32], [u8; 32]) {
    let (mut c, mut s) = ([0u8; 32], [0u8; 32]);
    pair.client.session().export_keying_material(&mut c, b"EXPERIMENTAL-resume", None).expect("export");
    pair.server.session().export_keying_material(&mut s, b"EXPERIMENTAL-resume", None).expect("export");
    (c, s)
}

/// By ticket (the default: the client asks, the server issues) and, with tickets off, by
/// session ID: the second handshake is abbreviated on both sides, the client still reports
/// the server's certificate, keys agree, and it is shorter than the first.
#[test]
fn resumes_by_ticket_and_by_session_id() {
    for tickets in [true, false] {
        let store = ClientSessionStore::new(8);
        let client = client_config(&store);
        let server = server_config(|b| b.session_tickets(tickets));
        let first = connect(&client, &server);
        assert!(!first.client.session().is_resumed() && !first.server.session().is_resumed());
        assert_eq!(store.len(), 1, "tickets {tickets}: nothing stored");
        let full_datagrams = first.sent.len();

        let second = connect(&client, &server);
        assert!(second.client.session().is_resumed(), "tickets {tickets}: client did a full handshake");
        assert!(second.server.session().is_resumed(), "tickets {tickets}: server did a full handshake");
        assert!(second.client.session().peer_certificates().is_some_and(|c| !c.is_empty()));
        assert!(second.client.session().extended_master_secret() && second.server.session().extended_master_secret());
        assert_eq!(second.client.session().cipher_suite(), first.client.session().cipher_suite());
        let (c, s) = exported(&second);
        assert_eq!(c, s);
        assert_ne!(c, exported(&first).0, "a resumed session has fresh keys (new randoms)");
        assert!(second.sent.len() < full_datagrams, "{} datagrams, full handshake {full_datagrams}", second.sent.len());

        // And again: the session stays resumable.
        let third = connect(&client, &server);
        assert!(third.client.session().is_resumed() && third.server.session().is_resumed(), "tickets {tickets}");
    }
}

/// A server that does not know the session (another server's ticket and cache, or
/// resumption off) gets a full handshake, which replaces the stored session.
#[test]
fn unknown_sessions_fall_back_to_a_full_handshake() {
    let store = ClientSessionStore::new(8);
    let client = client_config(&store);
    let first_server = server_config(|b| b);
    connect(&client, &first_server);
    for other in [server_config(|b| b.rng_seed([9; 32])), server_config(|b| b.session_tickets(false).session_cache(0))]
    {
        let pair = connect(&client, &other);
        assert!(!pair.client.session().is_resumed() && !pair.server.session().is_resumed());
    }
    // The store now holds the session of the second other server (tickets and cache off:
    // nothing to resume, so nothing is kept).
    assert_eq!(store.len(), 0);
    connect(&client, &first_server);
    let again = connect(&client, &first_server);
    assert!(again.client.session().is_resumed());
}

/// RFC 7627 §5.3: a session established with the extended master secret is not resumed by
/// a hello without it; sessions without it are never resumed with it. Here both sides
/// require EMS (the default), so every stored session has it and resumption keeps it.
#[test]
fn the_extended_master_secret_carries_over() {
    let store = ClientSessionStore::new(8);
    let client = client_config(&store);
    let server = server_config(|b| b);
    connect(&client, &server);
    let pair = connect(&client, &server);
    assert!(pair.server.session().is_resumed());
    assert!(pair.server.session().extended_master_secret());
}

/// A session lifetime of one second: after it, the server refuses the session and runs a
/// full handshake. (The sim's wall clock is the configuration's time source.)
#[test]
fn expired_sessions_are_not_resumed() {
    let store = ClientSessionStore::new(8);
    let client = client_config(&store);
    let server = server_config(|b| b.session_lifetime(Duration::from_secs(1)));
    connect(&client, &server);
    std::thread::sleep(Duration::from_millis(2100));
    let pair = connect(&client, &server);
    assert!(!pair.server.session().is_resumed(), "a session past its lifetime was resumed");
}

/// The abbreviated handshake under loss: the server's flight (ServerHello, CCS, Finished)
/// lost once, the client's final flight lost once (the server re-sends its flight on its
/// timer and the connected client answers with its own again), and 30% random loss both
/// ways for 100 seeds.
#[test]
fn abbreviated_handshake_survives_loss() {
    let store = ClientSessionStore::new(8);
    let client = client_config(&store);
    let server = server_config(|b| b);
    connect(&client, &server);
    for flight in [Flight::ServerHello, Flight::ClientFinished] {
        let mut pair = Pair::new(client.clone(), server.clone(), LinkConfig::default(), LinkConfig::default(), 3);
        let dropped = pair.drop_first_transmission(flight);
        pair.expect_handshake(DEADLINE);
        assert!(pair.client.session().is_resumed() && pair.server.session().is_resumed(), "{flight:?}");
        assert!(dropped.load(std::sync::atomic::Ordering::Relaxed) > 0, "{flight:?} never sent");
        echo(&mut pair);
    }
    let lossy = LinkConfig { loss: 0.3, ..LinkConfig::default() };
    let mut resumed = 0;
    for seed in 0..100 {
        let mut pair = Pair::new(client.clone(), server.clone(), lossy.clone(), lossy.clone(), seed);
        pair.expect_handshake(Duration::from_secs(590));
        resumed += usize::from(pair.client.session().is_resumed());
        assert_eq!(pair.client.session().is_resumed(), pair.server.session().is_resumed(), "seed {seed}");
    }
    // A full handshake replaces the session when loss made an earlier one fail; nearly all
    // of these resume.
    assert!(resumed >= 90, "only {resumed} of 100 resumed");
}

/// Regression (found against `openssl s_server` and `gnutls-serv` in
/// `tests/resumption_interop.rs`): a ticket stays usable after the abbreviated handshake it
/// resumed when the server sends no new ticket then (RFC 5077 §3.4: it MAY renew it; our
/// server, OpenSSL 3.0 and GnuTLS 3.7 do not). The server's session-ID cache is off, so
/// only the ticket names the session. The client used to look the resumed entry up in its
/// store at time 0, where every entry looks issued in the future, so it lost the ticket
/// (and here, with no session ID either, the whole entry) and the third connection ran a
/// full handshake.
#[test]
fn a_ticket_stays_usable_after_the_resumption_it_served() {
    let store = ClientSessionStore::new(8);
    let client = client_config(&store);
    let server = server_config(|b| b.session_cache(0));
    let first = connect(&client, &server);
    assert!(!first.client.session().is_resumed());
    for n in 2..=4 {
        let pair = connect(&client, &server);
        assert!(pair.client.session().is_resumed() && pair.server.session().is_resumed(), "connection {n}");
        assert_eq!(store.len(), 1, "connection {n}");
    }
}

/// The server caches a session by ID only when it issues no ticket for it (BoGo
/// Basic-Server / Basic-Server-NoTickets): a ticketed session's ServerHello carries an empty
/// session ID, a cached one a 32-byte ID the client stores and offers.
#[test]
fn a_ticketed_session_is_not_cached_by_id() {
    for tickets in [true, false] {
        let store = ClientSessionStore::new(8);
        let client = client_config(&store);
        let server = server_config(|b| b.session_tickets(tickets));
        let first = connect(&client, &server);
        let id = first.server.session().session_id();
        assert_eq!(id.is_empty(), tickets, "tickets {tickets}: session ID {id:?}");
        assert_eq!(first.client.session().session_id(), id);
        let second = connect(&client, &server);
        assert!(second.server.session().is_resumed(), "tickets {tickets}");
    }
}

/// A verifier that accepts until told to refuse.
#[derive(Debug)]
struct Switch(Arc<std::sync::atomic::AtomicBool>);

impl dtls_engine::ServerCertVerifier for Switch {
    fn verify_server_cert(
        &self,
        chain: &[dtls_engine::CertificateDer<'_>],
        _server_name: Option<&str>,
        _now: dtls_engine::UnixTime,
    ) -> Result<(), dtls_engine::CertificateError> {
        assert!(!chain.is_empty(), "verified an empty chain");
        if self.0.load(std::sync::atomic::Ordering::Relaxed) {
            Err(dtls_engine::CertificateError::Other("refused on the second look".into()))
        } else {
            Ok(())
        }
    }
}

/// `reverify_on_resume`: the stored chain goes through the verifier again when a session
/// is resumed (BoGo CertificateVerificationFailsOnResume / PassesOnResume); without it a
/// resumption does not consult the verifier.
#[test]
fn reverify_on_resume_checks_the_stored_chain_again() {
    for reverify in [true, false] {
        let refuse = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let store = ClientSessionStore::new(8);
        let client = sim_pki()
            .client_builder(1)
            .verifier(Arc::new(Switch(refuse.clone())))
            .resumption(store.clone())
            .reverify_on_resume(reverify)
            .build()
            .expect("client config");
        let server = server_config(|b| b);
        connect(&client, &server);
        refuse.store(true, std::sync::atomic::Ordering::Relaxed);
        let mut pair = Pair::new(client.clone(), server.clone(), LinkConfig::default(), LinkConfig::default(), 9);
        let result = pair.handshake(DEADLINE);
        if reverify {
            assert!(
                matches!(
                    pair.client.error,
                    Some(dtls_engine::Error::InvalidCertificate(dtls_engine::CertificateError::Other(_)))
                ),
                "{result:?} {:?}",
                pair.client.error
            );
        } else {
            assert!(result.is_ok() && pair.client.session().is_resumed(), "{result:?}");
        }
    }
}

/// `new_ticket_received`: a full handshake with tickets brings one; an abbreviated one from
/// our server (which does not renew) does not; with tickets off, none.
#[test]
fn new_ticket_received_reports_the_servers_ticket() {
    for tickets in [true, false] {
        let store = ClientSessionStore::new(8);
        let client = client_config(&store);
        let server = server_config(|b| b.session_tickets(tickets));
        let first = connect(&client, &server);
        assert_eq!(first.client.session().new_ticket_received(), tickets);
        let second = connect(&client, &server);
        assert!(second.client.session().is_resumed());
        assert!(!second.client.session().new_ticket_received());
    }
}

/// Two servers (other seeds, so other RNG streams) sharing a ticket secret
/// (`session_ticket_secret`): a client resumes at the second with the first's ticket, as
/// behind a load balancer; without the shared secret it gets a full handshake there.
#[test]
fn a_shared_ticket_secret_resumes_on_another_server() {
    for shared in [true, false] {
        let store = ClientSessionStore::new(8);
        let client = client_config(&store);
        let make = |seed: u8| {
            let b = sim_pki().server_builder(seed).session_cache(0);
            let b = if shared { b.session_ticket_secret([0x5a; 32]) } else { b };
            b.build().expect("server config")
        };
        let (a, b) = (make(2), make(3));
        let first = connect(&client, &a);
        assert!(!first.client.session().is_resumed());
        let second = connect(&client, &b);
        assert_eq!(second.client.session().is_resumed(), shared, "shared {shared}");
        assert_eq!(second.server.session().is_resumed(), shared, "shared {shared}");
    }
}
