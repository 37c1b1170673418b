//! Session resumption (RFC 5246 §7.3 abbreviated handshake; RFC 5077 tickets and session
//! IDs) against independent stacks over real loopback UDP, in both roles, and through the
//! endpoint and adapter paths. `tests/resumption.rs` proves the same between two engine
//! sessions in the simulator.
//!
//! 1. Our client against `openssl s_server -dtls1_2`: with tickets (OpenSSL's default) and
//!    with `-no_ticket` (session IDs); the second and third connections of one
//!    `ClientConfig` resume.
//! 2. `openssl s_client -dtls1_2` against our server, `-sess_out` then `-sess_in`, by ticket
//!    and by session ID, and `s_client -reconnect` (five resumptions from new sockets).
//! 3. Our client against `gnutls-serv --udp` with tickets and with `--noticket`, in a private
//!    network namespace (it binds every interface; see `common::netns`); the second and
//!    third connections resume.
//! 4. `gnutls-cli --udp --resume` against our server, by ticket and by session ID.
//! 5. Successive client sessions through the sans-IO `Endpoint::connect` (in memory,
//!    against a server `Endpoint`), and through the tokio adapter's `connect` against its
//!    `listen`.
//!
//! "By ticket" means our server issues tickets and keeps no session-ID cache, "by session
//! ID" the reverse (see [`server_config`]), so each case proves the one mechanism. Each
//! resumed connection also carries data both ways. Our server in (2) and (4) is the std
//! adapter's `listen` (each connection comes from a new port), so those cases need the
//! `std-net` feature and (5b) the `tokio` feature, like the rest of the suite
//! (`cargo test --all-features`). A missing peer tool fails the test with an install hint.
//!
//! The third connections of (1) and (3) found a client defect, fixed with a regression test
//! in `tests/resumption.rs` (`a_ticket_stays_usable_after_the_resumption_it_served`): after
//! an abbreviated handshake by ticket in which the server sent no new ticket, the client
//! lost the ticket from its store.

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::certs::{fresh_temp_dir, pki};
use common::keylog::MemoryKeyLog;
use common::netns;
use common::openssl::{
    OpensslPeer, SERVER_CACHE_ITEMS, SERVER_CONNECTION_CLOSED, SERVER_HANDSHAKE_DONE, SERVER_REUSED_SESSION,
    SERVER_TICKET_EXTENSION, read_key_log, s_server,
};
use common::udp::{DriveError, UdpPeer};
use dtls_engine::{ClientConfig, ClientSessionStore, ServerConfig};

/// Budget for each step (handshake, one line, close); loopback needs far less, but the
/// machine is shared.
const STEP: Duration = Duration::from_secs(10);

/// Budget for one case in its private network namespace, PKI generation included.
const NETNS_CASE: Duration = Duration::from_secs(120);

/// The port `gnutls-serv` listens on inside its namespace.
const SERV_PORT: u16 = 5557;

/// DTLS 1.2 only, everything else GnuTLS's defaults.
const GNUTLS_DTLS12: &str = "NORMAL:-VERS-ALL:+VERS-DTLS1.2";

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// Our client: trusts the test CA, names `localhost` (which also keys the store), and
/// keeps its sessions in `store`.
fn client_config(store: &Arc<ClientSessionStore>, key_log: Option<Arc<MemoryKeyLog>>) -> Arc<ClientConfig> {
    let pki = pki();
    // Resumption is DTLS 1.2's (1.3 PSK resumption is not implemented).
    let mut b = ClientConfig::builder()
        .max_version(dtls_engine::ProtocolVersion::Dtls12)
        .root_certificates_pem(&pki.ca.cert_pem())
        .expect("root certificates")
        .server_name("localhost")
        .resumption(store.clone());
    if let Some(log) = key_log {
        b = b.key_log(log);
    }
    b.build().expect("client config")
}

/// Our server with the P-256 certificate and one way to resume: with `tickets`, RFC 5077
/// tickets and no session-ID cache (so a resumption can only have been by ticket, and the
/// full handshake's ServerHello carries an empty session ID); without, the session-ID cache
/// (default size) and no tickets. (Both on, the default, is covered by `tests/resumption.rs`.)
fn server_config(tickets: bool, key_log: Option<Arc<MemoryKeyLog>>) -> Arc<ServerConfig> {
    let pki = pki();
    let mut b = ServerConfig::builder()
        .max_version(dtls_engine::ProtocolVersion::Dtls12)
        .certificate_pem(&pki.server_p256.cert_pem(), &pki.server_p256.key_pem())
        .expect("server certificate")
        .session_tickets(tickets)
        .session_cache(if tickets { 0 } else { 1024 });
    if let Some(log) = key_log {
        b = b.key_log(log);
    }
    b.build().expect("server config")
}

/// A full handshake and `connections - 1` resumptions of its session in the key logs: we
/// logged one `CLIENT_RANDOM` line per connection, each with its own client random and all
/// with one master secret (an abbreviated handshake keeps the session's master secret),
/// and the first is the line GnuTLS logged for the full handshake. (GnuTLS 3.7 writes no
/// key log line for a resumed connection: it logs a master secret only where it derives
/// one.)
fn check_resumed_key_logs(ours: &MemoryKeyLog, gnutls_file: &Path, connections: usize, peer: &OpensslPeer) {
    let ours = ours.lines();
    let theirs = read_key_log(gnutls_file, STEP);
    assert_eq!(ours.len(), connections, "our key log {ours:?}");
    assert_eq!(theirs[..], ours[..1], "our key log differs from GnuTLS's\n{}", peer.transcript());
    let fields: Vec<Vec<&str>> = ours.iter().map(|l| l.split(' ').collect()).collect();
    assert!(fields.iter().all(|f| f.len() == 3 && f[0] == "CLIENT_RANDOM"), "{ours:?}");
    let mut randoms: Vec<&str> = fields.iter().map(|f| f[1]).collect();
    randoms.sort_unstable();
    randoms.dedup();
    assert_eq!(randoms.len(), connections, "a resumed connection reused a client random: {ours:?}");
    assert!(fields.iter().all(|f| f[2] == fields[0][2]), "a resumed connection has another master secret: {ours:?}");
}

/// Unwraps a drive result, or panics with the peer's transcript.
fn ok<T>(res: Result<T, DriveError>, what: &str, peer: &OpensslPeer) -> T {
    match res {
        Ok(v) => v,
        Err(e) => panic!("{what}: {e:?}\n{}", peer.transcript()),
    }
}

/// How often `needle` occurs in what `peer` printed so far (stdout and stderr).
fn count(peer: &OpensslPeer, needle: &str) -> usize {
    peer.stdout().matches(needle).count() + peer.stderr().matches(needle).count()
}

/// Waits until `needle` occurred `n` times; panics with the transcript otherwise.
fn expect_count(peer: &OpensslPeer, needle: &str, n: usize) {
    let deadline = std::time::Instant::now() + STEP;
    while count(peer, needle) < n {
        assert!(
            std::time::Instant::now() < deadline,
            "{} printed {needle:?} {} times, not {n}\n{}",
            peer.label(),
            count(peer, needle),
            peer.transcript()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The rest of every line of `text` that contains `marker`.
fn lines_after(text: &str, marker: &str) -> Vec<String> {
    text.lines().filter_map(|l| l.split_once(marker)).map(|(_, rest)| rest.trim().to_owned()).collect()
}

// ---------------------------------------------------------------------------------------
// 1. Our client against openssl s_server

/// Connection `round` (from 1) of our client to `s_server`: handshake (a full one for the
/// first connection, resumed for every later one, on our side and in `s_server`'s
/// printout), one line each way, close_notify.
fn connect_to_s_server(config: &Arc<ClientConfig>, srv: &mut OpensslPeer, round: usize) {
    let resumed = round > 1;
    let mut us = UdpPeer::client(config.clone(), loopback(srv.port));
    ok(us.run_until_connected(STEP), "handshake", srv);
    ok(
        us.run_until(STEP, "s_server handshake done", |_| count(srv, SERVER_HANDSHAKE_DONE) == round),
        "s_server handshake",
        srv,
    );
    assert_eq!(us.session().is_resumed(), resumed, "connection {round}\n{}", srv.transcript());
    // s_server prints `Reused session-id` right after `CIPHER is` for a resumed session.
    expect_count(srv, "\nSecure Renegotiation IS supported", round);
    assert_eq!(count(srv, SERVER_REUSED_SESSION), round - 1, "{}", srv.transcript());
    // The abbreviated handshake still reports the certificate of the full one.
    assert!(us.session().peer_certificates().is_some_and(|c| !c.is_empty()));
    assert!(us.session().extended_master_secret());

    let ours = format!("connection {round}: hello from dtls-engine client");
    ok(us.send(format!("{ours}\n").as_bytes()), "send", srv);
    ok(us.run_until(STEP, "s_server to print our line", |_| srv.has_output(&ours)), "our data at s_server", srv);
    let theirs = format!("connection {round}: hello from s_server");
    srv.write_line(&theirs);
    assert_eq!(ok(us.recv_app_data(STEP), "data from s_server", srv), format!("{theirs}\n").into_bytes());

    // s_server prints `DONE` for our close_notify; the `shutting down SSL` and
    // `CONNECTION CLOSED` after it stay in its stdout buffer until it prints more.
    us.close_and_flush();
    expect_count(srv, "\nDONE\n", round);
}

/// Our client against `s_server -naccept 3 -tlsextdebug` (and `-no_ticket` unless
/// `tickets`): the first connection is a full handshake whose session the store keeps; a
/// second and a third `Session` made from the same `ClientConfig` resume it (so the store
/// still holds a resumable session after a resumption), and both sides say so.
/// `-tlsextdebug` shows how: our first ClientHello asks for a ticket with an empty
/// session_ticket extension, the later ones offer the ticket OpenSSL issued (with
/// `-no_ticket`, none was issued: the extension stays empty and the session ID names the
/// session, which is then the one entry in OpenSSL's session cache). OpenSSL counts two
/// cache hits either way.
fn our_client_vs_s_server(tickets: bool) {
    let pki = pki();
    let mut server = s_server().cert(&pki.server_p256).naccept(3).tlsextdebug();
    if !tickets {
        server = server.no_ticket();
    }
    let mut srv = server.spawn();
    let store = ClientSessionStore::new(4);
    let config = client_config(&store, None);

    connect_to_s_server(&config, &mut srv, 1);
    assert_eq!(store.len(), 1, "no session stored after the full handshake");
    connect_to_s_server(&config, &mut srv, 2);
    connect_to_s_server(&config, &mut srv, 3);
    assert_eq!(store.len(), 1);

    let status = srv.wait_exit(STEP);
    assert!(status.is_some_and(|s| s.success()), "s_server exit {status:?}\n{}", srv.transcript());
    // Its statistics end with this line; the process may exit before we have read it all.
    srv.expect_output(" cache full overflows", STEP);
    expect_count(&srv, SERVER_CONNECTION_CLOSED, 3);
    let out = srv.stdout();
    let ticket_lengths: Vec<usize> = lines_after(&out, SERVER_TICKET_EXTENSION)
        .iter()
        .map(|n| n.parse().unwrap_or_else(|_| panic!("ticket extension length {n:?}")))
        .collect();
    assert_eq!(ticket_lengths.len(), 3, "{out}");
    assert_eq!(ticket_lengths[0], 0, "the first ClientHello asks for a ticket");
    for (i, len) in ticket_lengths.iter().enumerate().skip(1) {
        if tickets {
            assert!(*len > 0, "ClientHello {} offers no ticket\n{out}", i + 1);
        } else {
            assert_eq!(*len, 0, "a ticket offered to -no_ticket\n{out}");
        }
    }
    // OpenSSL keeps no session in its cache for a session it issued a ticket for.
    let cached = out.lines().find_map(|l| l.strip_suffix(SERVER_CACHE_ITEMS)).map(str::trim);
    assert_eq!(cached, Some(if tickets { "0" } else { "1" }), "{out}");
    assert!(out.contains("   2 session cache hits"), "{out}");
}

/// Our client resumes with `s_server` by RFC 5077 ticket (OpenSSL's default).
#[test]
fn our_client_resumes_with_s_server_by_ticket() {
    our_client_vs_s_server(true);
}

/// Our client resumes with `s_server -no_ticket` by session ID.
#[test]
fn our_client_resumes_with_s_server_by_session_id() {
    our_client_vs_s_server(false);
}

// ---------------------------------------------------------------------------------------
// 2 and 4. openssl s_client and gnutls-cli against our server (std adapter)

#[cfg(feature = "std-net")]
mod our_server {
    use super::*;
    use common::gnutls::{CLI_HANDSHAKE_DONE, CLI_RECONNECTING, CLI_RESUME_HANDSHAKE_DONE, CLI_RESUMED, gnutls_cli};
    use common::openssl::{CLIENT_NEW_SESSION, CLIENT_REUSED_SESSION, s_client};
    use dtls_engine::adapter::EndpointOptions;
    use dtls_engine::adapter::std_udp::{UdpEndpoint, UdpSession, listen};

    fn our_listener(tickets: bool, key_log: Option<Arc<MemoryKeyLog>>) -> UdpEndpoint {
        listen("127.0.0.1:0", server_config(tickets, key_log), EndpointOptions::default()).expect("listen")
    }

    /// The next session our server established; panics with the peer's transcript (and
    /// any handshake failure our endpoint reported) when none comes in time.
    fn accept(ep: &UdpEndpoint, peer: &OpensslPeer) -> UdpSession {
        match ep.accept_timeout(STEP) {
            Ok(Some(s)) => s,
            other => {
                let failure = ep.handshake_failure_timeout(Duration::ZERO).ok().flatten();
                panic!("no session accepted: {other:?}, handshake failure {failure:?}\n{}", peer.transcript())
            }
        }
    }

    /// How `s` ended (the error, if any) once it has; panics with the peer's transcript if
    /// it has not ended within [`STEP`] (`UdpSession::closed` alone would wait forever).
    fn closed(s: &UdpSession, peer: &OpensslPeer) -> Option<dtls_engine::Error> {
        let deadline = std::time::Instant::now() + STEP;
        while s.final_stats().is_none() {
            assert!(std::time::Instant::now() < deadline, "session still open\n{}", peer.transcript());
            std::thread::sleep(Duration::from_millis(10));
        }
        s.closed()
    }

    /// One line each way between `peer` (whose stdin lines are records, and which prints
    /// what it receives) and our session.
    fn exchange(s: &UdpSession, peer: &mut OpensslPeer, tag: &str) {
        let theirs = format!("{tag}: hello from {}", peer.label());
        peer.write_line(&theirs);
        match s.recv_timeout(STEP) {
            Ok(Some(got)) => assert_eq!(got, format!("{theirs}\n").into_bytes()),
            other => panic!("no data from the peer: {other:?}\n{}", peer.transcript()),
        }
        let ours = format!("{tag}: hello from dtls-engine server");
        s.send(format!("{ours}\n").as_bytes()).expect("send");
        peer.expect_output(&ours, STEP);
    }

    /// `s2`, accepted after `s1` from a new address, resumed `s1`'s session: same cipher.
    fn assert_resumed(s1: &UdpSession, s2: &UdpSession) {
        assert!(s2.is_resumed(), "our server did a full handshake");
        assert_ne!(s1.remote_addr(), s2.remote_addr());
        assert_eq!(s2.cipher().map(|c| c.name), s1.cipher().map(|c| c.name));
    }

    /// One line each way on the resumed session `s`, then the peer closes its stdin, exits
    /// with success, and `s` ends with close_notify.
    fn exchange_and_close(s: &UdpSession, peer: &mut OpensslPeer, tag: &str) {
        exchange(s, peer, tag);
        peer.close_stdin();
        let status = peer.wait_exit(STEP);
        assert!(status.is_some_and(|st| st.success()), "{} exit {status:?}\n{}", peer.label(), peer.transcript());
        assert_eq!(closed(s, peer), None, "the resumed session did not end with close_notify");
    }

    /// `s_client -sess_out FILE` then `s_client -sess_in FILE` against our server (by
    /// ticket or by session ID, see [`server_config`]): the first is a full handshake
    /// (`New, `), the second resumes (`Reused, `) and our server's session reports it; data
    /// flows both ways on both, and the resumed one ends with close_notify. With tickets
    /// the session s_client saved carries our ticket; without, only our session ID.
    fn s_client_sess_out_then_in(tickets: bool) {
        let pki = pki();
        let ep = our_listener(tickets, None);
        let port = ep.local_addr().port();
        let saved = fresh_temp_dir("dtls-engine-resumption").join("session.pem");

        let mut first = s_client(port).ca_file(&pki.ca.cert).sess_out(&saved).spawn();
        let s1 = accept(&ep, &first);
        first.expect_output(CLIENT_NEW_SESSION, STEP);
        assert!(!s1.is_resumed());
        exchange(&s1, &mut first, "first");
        assert_eq!(first.has_output("TLS session ticket:"), tickets, "{}", first.transcript());
        first.close_stdin();
        let status = first.wait_exit(STEP);
        assert!(status.is_some_and(|s| s.success()), "s_client exit {status:?}\n{}", first.transcript());
        let pem = std::fs::read_to_string(&saved).unwrap_or_default();
        assert!(pem.contains("BEGIN SSL SESSION PARAMETERS"), "-sess_out wrote {pem:?}");

        let mut second = s_client(port).ca_file(&pki.ca.cert).sess_in(&saved).spawn();
        let s2 = accept(&ep, &second);
        second.expect_output(CLIENT_REUSED_SESSION, STEP);
        assert!(!second.has_output(CLIENT_NEW_SESSION), "{}", second.transcript());
        assert_resumed(&s1, &s2);
        exchange_and_close(&s2, &mut second, "second");
    }

    /// `s_client -sess_in` resumes with our server by our RFC 5077 ticket.
    #[test]
    fn s_client_resumes_by_ticket() {
        s_client_sess_out_then_in(true);
    }

    /// `s_client -sess_in` resumes with our server by session ID.
    #[test]
    fn s_client_resumes_by_session_id() {
        s_client_sess_out_then_in(false);
    }

    /// `s_client -reconnect` (it works over DTLS in OpenSSL 3.0): after the full handshake
    /// it drops the connection and resumes five times, each from a new socket; our server
    /// accepts six sessions from six addresses, the last five resumed, and s_client prints
    /// `New, ` once and `Reused, ` five times. Data then flows on the last connection.
    fn s_client_reconnect(tickets: bool) {
        let pki = pki();
        let ep = our_listener(tickets, None);
        let mut cli = s_client(ep.local_addr().port()).ca_file(&pki.ca.cert).reconnect().spawn();
        let sessions: Vec<UdpSession> = (0..6).map(|_| accept(&ep, &cli)).collect();
        let resumed: Vec<bool> = sessions.iter().map(UdpSession::is_resumed).collect();
        assert_eq!(resumed, [false, true, true, true, true, true], "{}", cli.transcript());
        let mut addrs: Vec<SocketAddr> = sessions.iter().map(UdpSession::remote_addr).collect();
        addrs.sort();
        addrs.dedup();
        assert_eq!(addrs.len(), 6, "s_client -reconnect reused a source port");
        expect_count(&cli, CLIENT_REUSED_SESSION, 5);
        assert_eq!(count(&cli, CLIENT_NEW_SESSION), 1, "{}", cli.transcript());
        assert_eq!(count(&cli, "drop connection and then reconnect"), 5);
        // Each dropped connection ended with s_client's close_notify.
        for s in &sessions[..5] {
            assert_eq!(closed(s, &cli), None);
        }
        exchange(&sessions[5], &mut cli, "last");
        cli.close_stdin();
        let status = cli.wait_exit(STEP);
        assert!(status.is_some_and(|s| s.success()), "s_client exit {status:?}\n{}", cli.transcript());
    }

    /// `s_client -reconnect` resumes five times by our ticket.
    #[test]
    fn s_client_reconnect_resumes_by_ticket() {
        s_client_reconnect(true);
    }

    /// `s_client -reconnect` resumes five times by session ID.
    #[test]
    fn s_client_reconnect_resumes_by_session_id() {
        s_client_reconnect(false);
    }

    /// `gnutls-cli --udp --resume` against our server (by ticket or by session ID, see
    /// [`server_config`]): its second
    /// connection, from a new socket, resumes (`*** This is a resumed session`) and so does
    /// our server's second session; both key logs agree (one master secret for the two
    /// connections); data flows both ways on the resumed one.
    fn gnutls_cli_resume(tickets: bool) {
        let pki = pki();
        let key_log = Arc::new(MemoryKeyLog::default());
        let ep = our_listener(tickets, Some(key_log.clone()));
        let gnutls_key_log = fresh_temp_dir("dtls-engine-resumption").join("gnutls.keylog");
        let mut cli = gnutls_cli(ep.local_addr().port())
            .ca_file(&pki.ca.cert)
            .priority(GNUTLS_DTLS12)
            .key_log(&gnutls_key_log)
            .resume()
            .spawn();
        let s1 = accept(&ep, &cli);
        cli.expect_output(CLI_HANDSHAKE_DONE, STEP);
        assert!(!s1.is_resumed());
        let s2 = accept(&ep, &cli);
        cli.expect_output(CLI_RECONNECTING, STEP);
        cli.expect_output(CLI_RESUME_HANDSHAKE_DONE, STEP);
        cli.expect_output(CLI_RESUMED, STEP);
        assert_resumed(&s1, &s2);
        check_resumed_key_logs(&key_log, &gnutls_key_log, 2, &cli);
        exchange_and_close(&s2, &mut cli, "resumed");
    }

    /// `gnutls-cli --resume` resumes with our server by our RFC 5077 ticket.
    #[test]
    fn gnutls_cli_resumes_by_ticket() {
        gnutls_cli_resume(true);
    }

    /// `gnutls-cli --resume` resumes with our server by session ID.
    #[test]
    fn gnutls_cli_resumes_by_session_id() {
        gnutls_cli_resume(false);
    }
}

// ---------------------------------------------------------------------------------------
// 3. Our client against gnutls-serv (in a private network namespace)

/// Runs inside the namespace only (see [`netns_inner`]): our client against
/// `gnutls-serv --udp --echo` (with `--noticket` unless `tickets`). The first connection is
/// a full handshake, the second and third, new `Session`s of the same `ClientConfig`,
/// resume; data is echoed on each. `gnutls-serv` prints nothing about sessions over UDP, so
/// the proof is our side's `is_resumed()` (the server's Finished verified under the stored
/// master secret after a ServerHello that echoed our session ID) and the key logs: the
/// master secret GnuTLS logged for the full handshake is the one we used for all three.
fn our_client_vs_gnutls_serv(tickets: bool) {
    let pki = pki();
    let gnutls_key_log = fresh_temp_dir("dtls-engine-resumption").join("gnutls.keylog");
    let mut serv = common::gnutls::gnutls_serv(SERV_PORT)
        .cert(&pki.server_p256)
        .no_client_cert_request()
        .priority(GNUTLS_DTLS12)
        .key_log(&gnutls_key_log);
    if !tickets {
        serv = serv.no_ticket();
    }
    let serv = serv.spawn();
    let store = ClientSessionStore::new(4);
    let key_log = Arc::new(MemoryKeyLog::default());
    let config = client_config(&store, Some(key_log.clone()));

    for round in 1..=3 {
        let mut us = UdpPeer::client(config.clone(), loopback(SERV_PORT));
        ok(us.run_until_connected(STEP), "handshake", &serv);
        assert_eq!(us.session().is_resumed(), round > 1, "connection {round}\n{}", serv.transcript());
        assert!(us.session().extended_master_secret());
        assert!(us.session().peer_certificates().is_some_and(|c| !c.is_empty()));
        let message = format!("connection {round}: hello from dtls-engine client\n");
        ok(us.send(message.as_bytes()), "send", &serv);
        assert_eq!(ok(us.recv_app_data(STEP), "echo from gnutls-serv", &serv), message.as_bytes());
        us.close_and_flush();
        expect_count(&serv, common::gnutls::SERV_EOF, round);
        assert_eq!(store.len(), 1);
    }
    check_resumed_key_logs(&key_log, &gnutls_key_log, 3, &serv);
    assert!(!serv.has_output("Error"), "{}", serv.transcript());
}

/// The names of the namespace cases, for [`netns_inner`].
fn netns_case(name: &str) -> Option<bool> {
    match name {
        "gnutls_serv_ticket" => Some(true),
        "gnutls_serv_session_id" => Some(false),
        _ => None,
    }
}

/// Our client resumes with `gnutls-serv` and its defaults: RFC 5077 tickets and a session
/// database. (A ticket offer carries a fresh random session ID, which its database cannot
/// know, so a resumption after a ticket was issued is by that ticket; `gnutls-serv` does
/// not print which.)
#[test]
fn our_client_resumes_with_gnutls_serv_by_ticket() {
    common::gnutls::require_gnutls();
    netns::run_in_private_netns("netns_inner", "gnutls_serv_ticket", NETNS_CASE);
}

/// Our client resumes with `gnutls-serv --noticket` by session ID.
#[test]
fn our_client_resumes_with_gnutls_serv_by_session_id() {
    common::gnutls::require_gnutls();
    netns::run_in_private_netns("netns_inner", "gnutls_serv_session_id", NETNS_CASE);
}

/// The half of the `gnutls-serv` tests that runs inside their private network namespace;
/// under a plain `cargo test` it returns at once (`common::netns`).
#[test]
fn netns_inner() {
    let Some(name) = netns::inner_case() else {
        return;
    };
    let tickets = netns_case(&name).unwrap_or_else(|| panic!("no case named {name:?}"));
    our_client_vs_gnutls_serv(tickets);
    println!("{}", netns::passed_marker(&name));
}

// ---------------------------------------------------------------------------------------
// 5. The Endpoint path

mod endpoint {
    use std::collections::VecDeque;
    use std::time::Instant;

    use dtls_engine::{Endpoint, EndpointConfig, EndpointEvent, Event, SessionHandle};

    use super::*;

    const SERVER: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1)), 4433);
    const LATENCY: Duration = Duration::from_millis(2);

    /// One endpoint on the in-memory network and what it reported.
    struct Node {
        addr: SocketAddr,
        endpoint: Endpoint,
        connected: Vec<SessionHandle>,
        accepted: Vec<SessionHandle>,
        data: Vec<(SessionHandle, Vec<u8>)>,
        closed: Vec<SessionHandle>,
        destroyed: Vec<SessionHandle>,
        failures: Vec<dtls_engine::Error>,
    }

    impl Node {
        fn new(addr: SocketAddr, endpoint: Endpoint) -> Self {
            Self {
                addr,
                endpoint,
                connected: Vec::new(),
                accepted: Vec::new(),
                data: Vec::new(),
                closed: Vec::new(),
                destroyed: Vec::new(),
                failures: Vec::new(),
            }
        }
    }

    /// Endpoints exchanging datagrams under a virtual clock: each datagram arrives after
    /// [`LATENCY`]; when nothing is due the clock jumps to the next delivery or timer.
    struct Net {
        now: Instant,
        nodes: Vec<Node>,
        in_flight: VecDeque<(Instant, SocketAddr, SocketAddr, Vec<u8>)>,
    }

    impl Net {
        fn step(&mut self) -> bool {
            let mut progress = false;
            for node in &mut self.nodes {
                while let Some((h, e)) = node.endpoint.poll_event() {
                    progress = true;
                    match e {
                        EndpointEvent::Accepted => node.accepted.push(h),
                        EndpointEvent::Session(Event::Connected) => node.connected.push(h),
                        EndpointEvent::Session(Event::ApplicationData(d)) => node.data.push((h, d)),
                        EndpointEvent::Session(Event::Closed) => node.closed.push(h),
                        EndpointEvent::Failed(e) => node.failures.push(e),
                        EndpointEvent::Destroyed(_) => node.destroyed.push(h),
                        _ => {}
                    }
                }
                while let Some(t) = node.endpoint.poll_transmit() {
                    progress = true;
                    self.in_flight.push_back((self.now + LATENCY, node.addr, t.destination, t.contents));
                }
            }
            while self.in_flight.front().is_some_and(|(at, ..)| *at <= self.now) {
                let (_, from, to, datagram) = self.in_flight.pop_front().expect("checked");
                if let Some(node) = self.nodes.iter_mut().find(|n| n.addr == to) {
                    node.endpoint.handle(self.now, from, &datagram);
                }
                progress = true;
            }
            if progress {
                return true;
            }
            let timers = self.nodes.iter_mut().filter_map(|n| n.endpoint.poll_timeout()).min();
            let Some(next) = [self.in_flight.front().map(|(at, ..)| *at), timers].into_iter().flatten().min() else {
                return false;
            };
            self.now = self.now.max(next);
            for node in &mut self.nodes {
                if node.endpoint.poll_timeout().is_some_and(|t| t <= self.now) {
                    node.endpoint.handle_timeout(self.now);
                }
            }
            true
        }

        fn drive(&mut self, what: &str, done: impl Fn(&Self) -> bool) {
            for _ in 0..100_000 {
                if done(self) {
                    return;
                }
                for node in &self.nodes {
                    assert!(node.failures.is_empty(), "{what}: {} failed: {:?}", node.addr, node.failures);
                }
                assert!(self.step(), "{what}: nothing more can happen");
            }
            panic!("{what}: not done after 100000 steps");
        }
    }

    /// One client session from the node at `client` through `Endpoint::connect`: the
    /// handshake (resumed or not on both sides, as `resumed` says), a ping each way, and a
    /// close_notify exchange that removes the session from both endpoints.
    fn round(net: &mut Net, client: usize, config: &Arc<ClientConfig>, resumed: bool, what: &str) {
        let now = net.now;
        let h = net.nodes[client].endpoint.connect(now, config.clone(), SERVER).expect("connect");
        let accepted_before = net.nodes[0].accepted.len();
        net.drive(what, |n| {
            n.nodes[client].connected.contains(&h)
                && n.nodes[0].accepted.len() > accepted_before
                && n.nodes[0].connected.contains(n.nodes[0].accepted.last().expect("accepted"))
        });
        let sh = *net.nodes[0].accepted.last().expect("accepted");
        let (cs, ss) = (net.nodes[client].endpoint.session(h).expect("client"), net.nodes[0].endpoint.session(sh));
        assert_eq!(cs.is_resumed(), resumed, "{what}: client");
        assert_eq!(ss.expect("server").is_resumed(), resumed, "{what}: server");

        net.nodes[client].endpoint.send(h, what.as_bytes()).expect("client send");
        net.nodes[0].endpoint.send(sh, what.as_bytes()).expect("server send");
        net.drive(what, |n| {
            n.nodes[client].data.iter().any(|(x, d)| *x == h && d == what.as_bytes())
                && n.nodes[0].data.iter().any(|(x, d)| *x == sh && d == what.as_bytes())
        });
        let now = net.now;
        net.nodes[client].endpoint.close_session(now, h);
        net.drive(what, |n| n.nodes[client].destroyed.contains(&h) && n.nodes[0].destroyed.contains(&sh));
        assert!(net.nodes[0].closed.contains(&sh), "{what}: no close_notify at the server");
    }

    /// Through the sans-IO `Endpoint` (in memory, against a server `Endpoint` with its
    /// stateless cookie exchange), by ticket and by session ID (see [`server_config`]):
    /// a client endpoint
    /// connects, closes, and connects again with the same `ClientConfig`, which resumes;
    /// a second client endpoint (another address) with that configuration resumes too.
    #[test]
    fn endpoint_connect_resumes() {
        for tickets in [true, false] {
            let now = Instant::now();
            let server = EndpointConfig {
                server: Some(server_config(tickets, None)),
                rng_seed: Some([3; 32]),
                ..Default::default()
            };
            let client = |port| {
                Node::new(SocketAddr::from(([10, 0, 0, 2], port)), Endpoint::new(now, EndpointConfig::default()))
            };
            let mut net = Net {
                now,
                nodes: vec![Node::new(SERVER, Endpoint::new(now, server)), client(5000), client(5001)],
                in_flight: VecDeque::new(),
            };
            let store = ClientSessionStore::new(4);
            let config = client_config(&store, None);
            round(&mut net, 1, &config, false, &format!("tickets {tickets}: first"));
            round(&mut net, 1, &config, true, &format!("tickets {tickets}: second, same client endpoint"));
            round(&mut net, 2, &config, true, &format!("tickets {tickets}: third, another client endpoint"));
            assert_eq!(net.nodes[0].endpoint.stats().server_sessions, 3);
        }
    }
}

/// Through the tokio adapter, by ticket and by session ID (see [`server_config`]): two
/// successive free
/// `connect`s (each on a new socket, so from a new port) with one `ClientConfig` against
/// one `listen` endpoint; the second resumes, as both adapter sessions report, and echoes.
#[cfg(feature = "tokio")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokio_connect_resumes_against_listen() {
    use dtls_engine::adapter::EndpointOptions;
    use dtls_engine::adapter::tokio_udp::{connect, listen};

    for tickets in [true, false] {
        let ep =
            Arc::new(listen("127.0.0.1:0", server_config(tickets, None), EndpointOptions::default()).await.unwrap());
        let (tx, mut resumed_at_server) = tokio::sync::mpsc::unbounded_channel();
        let acceptor = ep.clone();
        let server_task = tokio::spawn(async move {
            while let Some(mut s) = acceptor.accept().await {
                tx.send(s.is_resumed()).expect("report");
                tokio::spawn(async move {
                    while let Some(d) = s.recv().await {
                        if s.send(&d).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        let store = ClientSessionStore::new(4);
        let config = client_config(&store, None);
        for round in 0..2 {
            let mut s = tokio::time::timeout(STEP, connect(ep.local_addr(), config.clone()))
                .await
                .expect("connect in time")
                .expect("connect");
            assert_eq!(s.is_resumed(), round == 1, "tickets {tickets}, connection {round}: client");
            let at_server = tokio::time::timeout(STEP, resumed_at_server.recv()).await.expect("accepted in time");
            assert_eq!(at_server, Some(round == 1), "tickets {tickets}, connection {round}: server");
            let msg = format!("tickets {tickets}, connection {round}");
            s.send(msg.as_bytes()).await.expect("send");
            let echoed = tokio::time::timeout(STEP, s.recv()).await.expect("echo in time");
            assert_eq!(echoed.as_deref(), Some(msg.as_bytes()));
            s.close();
            assert_eq!(tokio::time::timeout(STEP, s.closed()).await.expect("closed in time"), None);
        }
        ep.close();
        tokio::time::timeout(STEP, ep.closed()).await.expect("endpoint closed in time");
        server_task.await.expect("acceptor");
    }
}
