//! Connection IDs in DTLS 1.2 (RFC 9146) between two Sessions: negotiation in both roles,
//! the `tls12_cid` record format on the wire (the peer's CID after the sequence number, the
//! real content type inside), zero-length CIDs, a side that does not use them, resumption,
//! and the configuration checks.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use dtls_engine::{
    ClientConfig, ClientConfigBuilder, Event, ProtocolVersion, ServerConfig, ServerConfigBuilder, Session,
};

/// The outer content type of a record with a CID (RFC 9146 §4).
const TLS12_CID: u8 = 25;

struct Identity {
    cert: String,
    key: String,
}

fn identity() -> Identity {
    let c = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("rcgen");
    Identity { cert: c.cert.pem(), key: c.signing_key.serialize_pem() }
}

fn client(id: &Identity) -> ClientConfigBuilder {
    ClientConfig::builder()
        .root_certificates_pem(id.cert.as_bytes())
        .expect("root")
        .server_name("localhost")
        .rng_seed([1; 32])
        .max_version(ProtocolVersion::Dtls12)
}

fn server(id: &Identity) -> ServerConfigBuilder {
    ServerConfig::builder().certificate_pem(id.cert.as_bytes(), id.key.as_bytes()).expect("cert").rng_seed([2; 32])
}

/// A handshake and one record each way; returns both sessions and every datagram sent after
/// the handshake's first two flights (tagged true when the client sent it).
fn run(ccfg: Arc<ClientConfig>, scfg: Arc<ServerConfig>) -> (Session, Session, Vec<(bool, Vec<u8>)>) {
    let now = Instant::now();
    let sa: SocketAddr = "192.0.2.2:4433".parse().unwrap();
    let ca: SocketAddr = "192.0.2.1:5000".parse().unwrap();
    let mut c = Session::client(now, ccfg, sa);
    let mut s = Session::server(now, scfg, ca);
    let mut wire = Vec::new();
    let pump = |c: &mut Session, s: &mut Session, wire: &mut Vec<(bool, Vec<u8>)>| {
        for _ in 0..10 {
            while let Some(t) = c.poll_transmit() {
                s.handle(now, &t.contents).unwrap();
                wire.push((true, t.contents));
            }
            while let Some(t) = s.poll_transmit() {
                c.handle(now, &t.contents).unwrap();
                wire.push((false, t.contents));
            }
        }
    };
    pump(&mut c, &mut s, &mut wire);
    assert!(c.is_connected() && s.is_connected(), "handshake: {c:?} {:?} {s:?} {:?}", c.stats(), s.stats());
    c.send(b"from the client").unwrap();
    s.send(b"from the server").unwrap();
    pump(&mut c, &mut s, &mut wire);
    let data = |x: &mut Session| {
        std::iter::from_fn(|| x.poll_event())
            .filter_map(|e| match e {
                Event::ApplicationData(d) => Some(d),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(data(&mut s), vec![b"from the client".to_vec()]);
    assert_eq!(data(&mut c), vec![b"from the server".to_vec()]);
    (c, s, wire)
}

/// Every protected record in `wire` from `from_client`: (outer type, bytes after the 11-byte
/// type/version/epoch/sequence prefix).
fn protected(wire: &[(bool, Vec<u8>)], from_client: bool) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    for (c, d) in wire.iter().filter(|(c, _)| *c == from_client) {
        let _ = c;
        // Only the first record of each datagram is examined: enough to see the format.
        let epoch = u16::from_be_bytes([d[3], d[4]]);
        if epoch > 0 || d[0] == TLS12_CID {
            out.push((d[0], d[11..].to_vec()));
        }
    }
    out
}

#[test]
fn both_sides_use_cids_and_every_protected_record_carries_the_peers() {
    let id = identity();
    let (c, s, wire) = run(
        client(&id).connection_ids(4).build().unwrap(),
        server(&id).connection_ids(6).connection_id_prefix(&[0xab, 0xcd]).build().unwrap(),
    );
    let (c_own, c_peer) = c.connection_ids().expect("client CIDs");
    let (s_own, s_peer) = s.connection_ids().expect("server CIDs");
    assert_eq!((c_own.len(), c_peer.len()), (4, 6));
    assert_eq!((c_own, c_peer), (s_peer, s_own));
    assert_eq!(&s_own[..2], &[0xab, 0xcd], "the server id starts the server's CID");
    let to_server = protected(&wire, true);
    let to_client = protected(&wire, false);
    assert!(!to_server.is_empty() && !to_client.is_empty());
    for (outer, rest) in &to_server {
        assert_eq!(*outer, TLS12_CID);
        assert_eq!(&rest[..6], s_own);
    }
    for (outer, rest) in &to_client {
        assert_eq!(*outer, TLS12_CID);
        assert_eq!(&rest[..4], c_own);
    }
}

/// RFC 9146 §3: a zero-length CID means "send me ordinary records".
#[test]
fn a_zero_length_cid_gets_ordinary_records() {
    let id = identity();
    let (c, _s, wire) =
        run(client(&id).connection_ids(0).build().unwrap(), server(&id).connection_ids(5).build().unwrap());
    assert_eq!(c.connection_ids().map(|(o, p)| (o.len(), p.len())), Some((0, 5)));
    assert!(protected(&wire, true).iter().all(|(t, _)| *t == TLS12_CID));
    assert!(protected(&wire, false).iter().all(|(t, _)| *t != TLS12_CID));
}

/// A server that does not use CIDs ignores the extension; a client that does not offer one
/// gets none.
#[test]
fn no_cid_unless_both_sides_use_them() {
    let id = identity();
    for (ccfg, scfg) in [
        (client(&id).connection_ids(4).build().unwrap(), server(&id).build().unwrap()),
        (client(&id).build().unwrap(), server(&id).connection_ids(4).build().unwrap()),
    ] {
        let (c, s, wire) = run(ccfg, scfg);
        assert_eq!((c.connection_ids(), s.connection_ids()), (None, None));
        assert!(wire.iter().all(|(_, d)| d[0] != TLS12_CID));
    }
}

/// Every suite protects `tls12_cid` records (the explicit nonce of GCM, ChaCha20's none).
#[test]
fn every_suite() {
    use dtls_engine::CipherSuite as S;
    let id = identity();
    for suite in [
        S::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        S::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        S::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    ] {
        let (c, _, _) = run(
            client(&id).cipher_suites(&[suite]).connection_ids(8).build().unwrap(),
            server(&id).cipher_suites(&[suite]).connection_ids(8).build().unwrap(),
        );
        assert_eq!(c.cipher_suite(), Some(suite));
    }
}

#[test]
fn configuration_checks() {
    let id = identity();
    assert!(server(&id).connection_ids(21).build().is_err(), "longer than 20 bytes");
    assert!(server(&id).connection_ids(2).connection_id_prefix(&[1, 2, 3]).build().is_err());
    assert!(server(&id).connection_id_prefix(&[1, 2, 3]).build().is_ok(), "the prefix alone sets the length");
    assert!(client(&id).max_version(ProtocolVersion::Dtls13).connection_ids(4).build().is_ok());
}

/// DTLS 1.3 (RFC 9147 §9): the same extension, answered in the ServerHello; every protected
/// record carries the peer's CID after the unified header's first byte, whose C bit is set.
#[test]
fn dtls13_records_carry_the_cid_in_the_unified_header() {
    let id = identity();
    for (client_len, server_len) in [(4, 6), (0, 5), (3, 0)] {
        let (c, s, wire) = run(
            client(&id).max_version(ProtocolVersion::Dtls13).connection_ids(client_len).build().unwrap(),
            server(&id).connection_ids(server_len).connection_id_prefix(&[]).build().unwrap(),
        );
        assert_eq!(c.protocol_version(), Some(ProtocolVersion::Dtls13));
        let (c_own, c_peer) = c.connection_ids().expect("client CIDs");
        assert_eq!((c_own.len(), c_peer.len()), (client_len, server_len));
        assert_eq!(s.connection_ids(), Some((c_peer, c_own)));
        let mut unified = 0;
        for (from_client, d) in &wire {
            if d[0] & 0xe0 != 0x20 {
                continue;
            }
            unified += 1;
            let cid = if *from_client { c_peer } else { c_own };
            assert_eq!(d[0] & 0x10 != 0, !cid.is_empty(), "C bit of {:02x}", d[0]);
            assert_eq!(&d[1..1 + cid.len()], cid);
        }
        assert!(unified >= 4);
    }
}

/// `datagrams` (true: client to server) as a pcap file of raw IPv4/UDP packets between
/// 192.0.2.1:5000 (client) and 192.0.2.2:4433 (server).
fn pcap(datagrams: &[(bool, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    // Global header: magic, version 2.4, zone 0, sigfigs 0, snaplen 65535, LINKTYPE_RAW (101).
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&65535u32.to_le_bytes());
    out.extend_from_slice(&101u32.to_le_bytes());
    let (c, s) = ([192u8, 0, 2, 1], [192u8, 0, 2, 2]);
    for (i, (from_client, d)) in datagrams.iter().enumerate() {
        let (src, dst, sport, dport) = if *from_client { (c, s, 5000u16, 4433u16) } else { (s, c, 4433, 5000) };
        let udp_len = 8 + d.len();
        let total = 20 + udp_len;
        let mut ip = vec![0x45, 0, (total >> 8) as u8, total as u8, 0, 0, 0x40, 0, 64, 17, 0, 0];
        ip.extend_from_slice(&src);
        ip.extend_from_slice(&dst);
        let sum = ip.chunks(2).map(|w| u32::from(u16::from_be_bytes([w[0], w[1]]))).sum::<u32>();
        let sum = !(((sum & 0xffff) + (sum >> 16)) as u16);
        ip[10..12].copy_from_slice(&sum.to_be_bytes());
        let mut packet = ip;
        packet.extend_from_slice(&sport.to_be_bytes());
        packet.extend_from_slice(&dport.to_be_bytes());
        packet.extend_from_slice(&(udp_len as u16).to_be_bytes());
        packet.extend_from_slice(&[0, 0]);
        packet.extend_from_slice(d);
        out.extend_from_slice(&(i as u32).to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&(packet.len() as u32).to_le_bytes());
        out.extend_from_slice(&(packet.len() as u32).to_le_bytes());
        out.extend_from_slice(&packet);
    }
    out
}

/// Wireshark's DTLS dissector (tshark), an independent parser, reads our handshake's
/// connection_id extensions and our `tls12_cid` records, with the CIDs each side chose.
/// The capture stays in `target/captures/tls12_cid.pcap` for inspection.
#[test]
fn tshark_dissects_our_tls12_cid_records() {
    let id = identity();
    let (c, _s, wire) = run(
        client(&id).connection_ids(4).build().unwrap(),
        server(&id).connection_ids(6).connection_id_prefix(&[0xab, 0xcd]).build().unwrap(),
    );
    let (c_own, c_peer) = c.connection_ids().unwrap();
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("captures");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("tls12_cid.pcap");
    std::fs::write(&file, pcap(&wire)).unwrap();
    let out = std::process::Command::new("tshark")
        .args(["-r", file.to_str().unwrap(), "-d", "udp.port==4433,dtls", "-T", "fields", "-E", "separator=|"])
        .args(["-e", "udp.srcport", "-e", "dtls.record.content_type", "-e", "dtls.record.connection_id"])
        .output()
        .unwrap_or_else(|e| panic!("tshark: {e}. Run scripts/test, which installs it (Debian package tshark)."));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    // Every line: source port | content types | CIDs, comma separated per record (a
    // tls12_cid record shows its CID; its content type is encrypted, so none is listed).
    let mut cid_records = (0, 0);
    for line in text.lines() {
        let f: Vec<&str> = line.split('|').collect();
        let (port, cids) = (f[0], f.get(2).copied().unwrap_or(""));
        for cid in cids.split(',').filter(|c| !c.is_empty()) {
            let cid = cid.replace(':', "");
            if port == "5000" {
                assert_eq!(cid, hex(c_peer), "{text}");
                cid_records.0 += 1;
            } else {
                assert_eq!(cid, hex(c_own), "{text}");
                cid_records.1 += 1;
            }
        }
    }
    assert!(cid_records.0 >= 2 && cid_records.1 >= 2, "tshark saw {cid_records:?} CID records\n{text}");
    let verbose = std::process::Command::new("tshark")
        .args(["-r", file.to_str().unwrap(), "-d", "udp.port==4433,dtls", "-V"])
        .output()
        .unwrap();
    let verbose = String::from_utf8_lossy(&verbose.stdout);
    assert!(verbose.contains("connection_id (54)"), "the extension is not dissected");
    assert!(!verbose.contains("Malformed"), "tshark reports a malformed packet");
}

/// Deliver everything both sides want to send, both ways, until quiet; returns the
/// datagrams (true: from the client).
fn pump(c: &mut Session, s: &mut Session) -> Vec<(bool, Vec<u8>)> {
    let now = Instant::now();
    let mut wire = Vec::new();
    for _ in 0..10 {
        while let Some(t) = c.poll_transmit() {
            s.handle(now, &t.contents).unwrap();
            wire.push((true, t.contents));
        }
        while let Some(t) = s.poll_transmit() {
            c.handle(now, &t.contents).unwrap();
            wire.push((false, t.contents));
        }
    }
    wire
}

/// RFC 9147 §9: RequestConnectionId is answered with spare CIDs; NewConnectionId with
/// `cid_immediate` switches the CID the peer's records carry, and both old and new are
/// accepted. DTLS 1.2 has no such messages.
#[test]
fn dtls13_new_and_requested_connection_ids() {
    let id = identity();
    let (mut c, mut s, _) = run(
        client(&id).max_version(ProtocolVersion::Dtls13).connection_ids(4).build().unwrap(),
        server(&id).connection_ids(6).build().unwrap(),
    );
    let now = Instant::now();
    c.request_connection_ids(now, 2).unwrap();
    pump(&mut c, &mut s);
    assert_eq!(c.spare_peer_connection_ids(), 2);
    assert_eq!(s.own_connection_ids().count(), 3, "the negotiated CID and two spares");

    let before = c.connection_ids().unwrap().1.to_vec();
    s.issue_connection_ids(now, 1, true).unwrap();
    pump(&mut c, &mut s);
    let now_used = c.connection_ids().unwrap().1.to_vec();
    assert_ne!(now_used, before);
    assert!(s.own_connection_ids().any(|cid| cid == now_used.as_slice()));
    c.send(b"with the new CID").unwrap();
    let wire = pump(&mut c, &mut s);
    let record = &wire.iter().find(|(from_client, _)| *from_client).expect("the record").1;
    assert_eq!(&record[1..7], now_used.as_slice());
    let got: Vec<_> = std::iter::from_fn(|| s.poll_event())
        .filter_map(|e| match e {
            Event::ApplicationData(d) => Some(d),
            _ => None,
        })
        .collect();
    assert_eq!(got, vec![b"with the new CID".to_vec()]);

    // DTLS 1.2: none of this.
    let (mut c12, _, _) =
        run(client(&id).connection_ids(4).build().unwrap(), server(&id).connection_ids(4).build().unwrap());
    assert!(c12.request_connection_ids(now, 1).is_err());
    assert!(c12.issue_connection_ids(now, 1, false).is_err());
}

/// RFC 9853: with the return routability check negotiated (the default with CIDs), an
/// authentic record from a new address does not move the session: the server sends a small
/// path_challenge there and moves only when the path_response comes back from there. An
/// address that never answers (an attacker who raced a captured record) gets nothing but the
/// challenge and the session stays. Without the check, the session moves at once.
#[test]
fn return_routability_check_before_a_move() {
    let id = identity();
    // A client CID of 0 bytes: the server's challenges go in ordinary records (type 27 in the
    // clear in DTLS 1.2, RFC 9853 §9.2).
    for (version, client_cid) in [
        (ProtocolVersion::Dtls12, 4),
        (ProtocolVersion::Dtls13, 4),
        (ProtocolVersion::Dtls12, 0),
        (ProtocolVersion::Dtls13, 0),
    ] {
        let (mut c, mut s, _) = run(
            client(&id).max_version(version).connection_ids(client_cid).build().unwrap(),
            server(&id).connection_ids(6).build().unwrap(),
        );
        let now = Instant::now();
        let old = s.remote_addr();
        let new: SocketAddr = "198.51.100.9:7000".parse().unwrap();
        c.send(b"from the new address").unwrap();
        let d = c.poll_transmit().unwrap().contents;
        s.handle_from(now, new, &d).unwrap();
        assert_eq!(s.remote_addr(), old, "{version:?}: no move before the check");
        let challenge = s.poll_transmit().expect("a path_challenge");
        assert_eq!(challenge.destination, new);
        assert!(challenge.contents.len() < 64, "{} bytes", challenge.contents.len());
        assert!(s.poll_transmit().is_none());
        c.handle(now, &challenge.contents).unwrap();
        let response = c.poll_transmit().expect("a path_response").contents;
        s.handle_from(now, new, &response).unwrap();
        assert_eq!(s.remote_addr(), new, "{version:?}");
        assert!(std::iter::from_fn(|| s.poll_event()).any(|e| e == Event::PeerAddressChanged(new)));

        // A genuine record raced from another address that never answers: one challenge
        // (at most three however many records come), no move, and the check expires.
        let attacker: SocketAddr = "203.0.113.66:6666".parse().unwrap();
        for i in 0..5 {
            c.send(format!("captured {i}").as_bytes()).unwrap();
            let d = c.poll_transmit().unwrap().contents;
            s.handle_from(now, attacker, &d).unwrap();
        }
        let to_attacker: Vec<_> = std::iter::from_fn(|| s.poll_transmit()).collect();
        assert_eq!(to_attacker.len(), 3, "{version:?}");
        assert!(to_attacker.iter().all(|t| t.destination == attacker && t.contents.len() < 64));
        assert!(s.poll_timeout().is_some());
        s.handle_timeout(now + std::time::Duration::from_secs(2)).unwrap();
        assert_eq!(s.remote_addr(), new);
    }
    // Switched off on the server: the move is immediate.
    let (mut c, mut s, _) = run(
        client(&id).connection_ids(4).build().unwrap(),
        server(&id).connection_ids(6).return_routability_check(false).build().unwrap(),
    );
    let new: SocketAddr = "198.51.100.10:7001".parse().unwrap();
    c.send(b"x").unwrap();
    let d = c.poll_transmit().unwrap().contents;
    s.handle_from(Instant::now(), new, &d).unwrap();
    assert_eq!(s.remote_addr(), new);
}
