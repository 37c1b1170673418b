//! Sessions that survive the client's address changes, through real `Endpoint`s (`sim::Pair`)
//! with DTLS 1.2 connection IDs (RFC 9146 §6): the server endpoint routes a `tls12_cid`
//! record from an unknown address to the session whose CID it carries, and the session moves
//! to that address only for an authentic record newer than every record before it.
//!
//! - A client that moves after the handshake keeps its session; the server answers at the
//!   new address; the endpoint counts the change.
//! - Moving every few records under 30% loss each way (with reordering and duplication),
//!   over many seeds: every exchange completes.
//! - A replayed record from a third address, and a forged one, move nothing.
//! - Without CIDs a moved client is a stranger: its records are dropped.

mod sim;

use std::net::SocketAddr;
use std::time::Duration;

use dtls_engine::ProtocolVersion;
use sim::{LinkConfig, Pair, Side, sim_pki};

const WAIT: Duration = Duration::from_millis(500);

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// A pair of endpoints using CIDs (client 4 bytes, server 8 with a 2-byte server id), over
/// DTLS 1.2.
fn pair(link: LinkConfig, seed: u64, cids: bool) -> Pair {
    pair_v(link, seed, cids, ProtocolVersion::Dtls12)
}

/// [`pair`] with the client's highest version `version` (the server offers both).
fn pair_v(link: LinkConfig, seed: u64, cids: bool, version: ProtocolVersion) -> Pair {
    let pki = sim_pki();
    // Handshakes under heavy loss may need longer than the default 60 s (as in loss_sweep).
    let patience = Duration::from_secs(600);
    let mut c = pki.client_builder13(1).max_version(version).rng_seed([seed as u8; 32]).handshake_timeout(patience);
    let mut s = pki.server_builder13(2).rng_seed([(seed >> 8) as u8; 32]).handshake_timeout(patience);
    if cids {
        c = c.connection_ids(4);
        s = s.connection_ids(8).connection_id_prefix(&[0x5e, 0x01]);
    }
    Pair::new(c.build().unwrap(), s.build().unwrap(), link.clone(), link, seed)
}

/// Ping until an echo comes back, from scratch (earlier data forgotten).
fn exchange(p: &mut Pair) -> bool {
    p.client.app_data.clear();
    p.server.app_data.clear();
    p.ping_pong(0, WAIT, 40).is_ok()
}

fn server_session_addr(p: &Pair) -> SocketAddr {
    let ep = p.server.endpoint();
    ep.handle_for(p.server.peer_addr)
        .and_then(|h| ep.session(h))
        .map(|s| s.remote_addr())
        .expect("the server's session is found at the client's current address")
}

#[test]
fn a_client_that_moves_keeps_its_session() {
    moves_keep_the_session(ProtocolVersion::Dtls12);
}

/// The same in DTLS 1.3 (RFC 9147 §9: the CID in the unified header, C bit set).
#[test]
fn a_dtls13_client_that_moves_keeps_its_session() {
    moves_keep_the_session(ProtocolVersion::Dtls13);
}

fn moves_keep_the_session(version: ProtocolVersion) {
    let mut p = pair_v(LinkConfig::default(), 1, true, version);
    p.expect_handshake(Duration::from_secs(10));
    assert!(exchange(&mut p), "{}", p.trace());
    for (i, port) in [41001, 41002, 41003].into_iter().enumerate() {
        p.rebind_client(addr(port));
        assert!(exchange(&mut p), "after move {i}\n{}", p.trace());
        assert_eq!(server_session_addr(&p), addr(port));
        assert_eq!(p.server.endpoint().stats().address_changes, i as u64 + 1);
    }
    assert_eq!(p.server.endpoint().session_count(), 1);
    assert!(p.server.error.is_none() && p.client.error.is_none());
}

/// The client moves before every third ping under 30% loss, reordering and duplication
/// each way; 100 seeds per version.
#[test]
fn moves_under_30_percent_loss() {
    moves_under_loss(ProtocolVersion::Dtls12);
}

#[test]
fn dtls13_moves_under_30_percent_loss() {
    moves_under_loss(ProtocolVersion::Dtls13);
}

fn moves_under_loss(version: ProtocolVersion) {
    let link = LinkConfig { loss: 0.3, reorder: 0.1, duplicate: 0.1, ..LinkConfig::default() };
    let mut failures = Vec::new();
    for seed in 0..100u64 {
        let mut p = pair_v(link.clone(), seed + 100, true, version);
        if p.handshake(Duration::from_secs(600)).is_err() {
            failures.push(format!("seed {seed}: handshake"));
            continue;
        }
        for round in 0..6u16 {
            if round % 3 == 0 {
                p.rebind_client(addr(42000 + round));
            }
            if !exchange(&mut p) {
                failures.push(format!("seed {seed}: round {round}"));
                break;
            }
        }
        assert_eq!(p.server.endpoint().session_count(), 1, "seed {seed}");
    }
    assert!(failures.is_empty(), "{failures:?}");
}

/// A record the server already received, sent again from another address (an attacker who
/// captured it), is a replay: the session stays where it is. A forged record with the right
/// CID does not authenticate. Neither creates a session.
#[test]
fn a_replayed_or_forged_record_from_elsewhere_moves_nothing() {
    let mut p = pair(LinkConfig::default(), 3, true);
    p.expect_handshake(Duration::from_secs(10));
    assert!(exchange(&mut p));
    let sent = p.sent_by(Side::Client);
    let last = sent.last().expect("a client datagram").clone();
    assert_eq!(last[0], 25, "the client's records carry the server's CID");
    let attacker = addr(6666);
    p.inject_from(Side::Server, attacker, &last);
    let mut forged = last.clone();
    let n = forged.len();
    forged[n - 1] ^= 1;
    // A fresh sequence number, so only the authentication tag can stop it.
    forged[10] = forged[10].wrapping_add(100);
    p.inject_from(Side::Server, attacker, &forged);
    assert_eq!(p.server.endpoint().stats().address_changes, 0);
    assert_eq!(server_session_addr(&p), p.client.addr);
    assert_eq!(p.server.endpoint().session_count(), 1);
    assert!(exchange(&mut p), "the session still works at the client's address");
}

/// Without CIDs the server cannot tell the moved client from a stranger.
#[test]
fn without_cids_a_moved_client_is_a_stranger() {
    let mut p = pair(LinkConfig::default(), 4, false);
    p.expect_handshake(Duration::from_secs(10));
    assert!(exchange(&mut p));
    p.rebind_client(addr(43000));
    assert!(!exchange(&mut p));
    assert_eq!(p.server.endpoint().stats().address_changes, 0);
}

/// DTLS 1.3: the server gives the client a new CID to use at once (NewConnectionId,
/// `cid_immediate`); after that the client moves, and the endpoint finds the session by the
/// new CID.
#[test]
fn a_dtls13_cid_issued_later_routes_too() {
    let mut p = pair_v(LinkConfig::default(), 5, true, ProtocolVersion::Dtls13);
    p.expect_handshake(Duration::from_secs(10));
    assert!(exchange(&mut p));
    let now = p.now;
    let client_addr = p.client.addr;
    let ep = p.server.endpoint_mut();
    let h = ep.handle_for(client_addr).expect("the server's session");
    ep.session_mut(h).unwrap().issue_connection_ids(now, 1, true).unwrap();
    assert!(exchange(&mut p), "the NewConnectionId is delivered and acknowledged");
    let new_cid = p.server.endpoint().session(h).unwrap().own_connection_ids().nth(1).unwrap().to_vec();
    p.rebind_client(addr(44000));
    assert!(exchange(&mut p), "{}", p.trace());
    assert_eq!(server_session_addr(&p), addr(44000));
    // The client's records carried the new CID.
    let last = p.sent_by(Side::Client).last().unwrap().clone();
    assert_eq!(&last[1..1 + new_cid.len()], new_cid.as_slice());
}

/// CIDs laid out by the application: a magic byte, a counter, then the engine's random bytes.
#[derive(Debug)]
struct Counted {
    magic: u8,
    next: std::sync::atomic::AtomicU16,
}

impl dtls_engine::ConnectionIdGenerator for Counted {
    fn cid_len(&self) -> usize {
        6
    }
    fn generate(&self, random: &[u8], cid: &mut [u8]) {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        cid[0] = self.magic;
        cid[1..3].copy_from_slice(&n.to_be_bytes());
        cid[3..].copy_from_slice(&random[3..]);
    }
}

/// A `ConnectionIdGenerator` on both sides makes every CID either side asks for (the
/// handshake's and, in DTLS 1.3, a NewConnectionId's), the records carry them, and the
/// endpoint routes by them after the client moves.
#[test]
fn cids_from_an_application_generator_route_moves() {
    for version in [ProtocolVersion::Dtls12, ProtocolVersion::Dtls13] {
        let pki = sim_pki();
        let generator = |magic| std::sync::Arc::new(Counted { magic, next: 0.into() });
        let c = pki.client_builder13(1).max_version(version).connection_id_generator(generator(0xc1));
        // connection_ids(8) first: the generator, set last, decides.
        let s = pki.server_builder13(2).connection_ids(8).connection_id_generator(generator(0x5e));
        let mut p = Pair::new(c.build().unwrap(), s.build().unwrap(), LinkConfig::default(), LinkConfig::default(), 9);
        p.expect_handshake(Duration::from_secs(10));
        assert!(exchange(&mut p), "{version:?}\n{}", p.trace());
        let client_addr = p.client.addr;
        let ep = p.server.endpoint();
        let h = ep.handle_for(client_addr).expect("the server's session");
        let (own, peer) = ep.session(h).unwrap().connection_ids().expect("CIDs negotiated");
        assert_eq!(own[..3], [0x5e, 0, 0], "{version:?}: the server's first CID");
        assert_eq!((own.len(), peer.len()), (6, 6), "{version:?}");
        assert_eq!(peer[..3], [0xc1, 0, 0], "{version:?}: the client's first CID");
        if version == ProtocolVersion::Dtls13 {
            let now = p.now;
            p.server.endpoint_mut().session_mut(h).unwrap().issue_connection_ids(now, 1, true).unwrap();
            assert!(exchange(&mut p));
            let issued = p.server.endpoint().session(h).unwrap().own_connection_ids().nth(1).unwrap().to_vec();
            assert_eq!(issued[..3], [0x5e, 0, 1], "the NewConnectionId's CID is the generator's next");
        }
        p.rebind_client(addr(45000));
        assert!(exchange(&mut p), "{version:?} after the move\n{}", p.trace());
        assert_eq!(server_session_addr(&p), addr(45000), "{version:?}");
    }
}
