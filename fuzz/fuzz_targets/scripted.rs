//! The scripted prefix shared by the session targets: a real client and a real server
//! (seeded configurations, fixed certificate clock, one fixed `Instant`) run the genuine
//! handshake for a number of half-steps chosen by the first input byte, then the rest of
//! the input drives the session under test.
//!
//! The DTLS 1.3 roles (`Client13`, `Server13`) run the same way with both sides at DTLS 1.3;
//! their handshake is ClientHello, HelloRetryRequest (the server's cookie), ClientHello,
//! the server's flight, the client's Finished and the server's ACK, again six half-steps.
//! `stop & 0x40` picks the X25519MLKEM768 hybrid group instead of X25519 for them.
//! `stop & 0x20` turns on connection IDs (client 4 bytes, server 6, with the return
//! routability check) in every role.
//!
//! Input: `[stop] { [tag] ... }`. `stop % 7` half-steps of the handshake are run first (0:
//! nothing delivered yet; 1: flight 1 delivered to the server; 2: flight 2 to the client;
//! ... 6: flight 6 to the client, both connected). If `stop & 0x80`, the peer's genuine next
//! datagrams are fed to the session under test, each byte XORed with the remaining input
//! (cycled), so the fuzzer mutates real messages with real randoms. Otherwise each chunk is:
//! tag `0x80..=0xff`: advance the clock by `(tag & 0x7f) * 100 ms` and run timers;
//! tag `0x7f`: try to send application data; other tags: a datagram whose length is the
//! next two bytes (big endian) follows, from the peer's address (even tags; through
//! `Session::handle_buf`, which tries the zero-copy branch first, when `tag & 2`) or from
//! another one (odd tags: `Session::handle_from`, a moved peer or an attacker). After the
//! whole handshake (`stop % 7 == 6`) the peer also sends one application record, among the
//! genuine datagrams; those go through `handle_buf` when the rest of the input has an odd
//! length.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use dtls_engine::{ClientConfig, NamedGroup, ProtocolVersion, ServerConfig, Session, UnixTime};

const CA: &[u8] = include_bytes!("../../tests/fixtures/chain/ca.pem");
const CERT: &[u8] = include_bytes!("../../tests/fixtures/chain/server.pem");
const KEY: &[u8] = include_bytes!("../../tests/fixtures/chain/server-key.pem");

const CLIENT_ADDR: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 40001);
const SERVER_ADDR: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 40002);
const OTHER_ADDR: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 40003);

/// 2027-01-01: inside the fixture chain's validity.
fn cert_time() -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(1_798_761_600))
}

fn base() -> Instant {
    static BASE: OnceLock<Instant> = OnceLock::new();
    *BASE.get_or_init(Instant::now)
}

fn configs(tls13: bool, hybrid: bool, cids: bool) -> (Arc<ClientConfig>, Arc<ServerConfig>) {
    let max = if tls13 { ProtocolVersion::Dtls13 } else { ProtocolVersion::Dtls12 };
    let groups: &[NamedGroup] = if hybrid {
        &[NamedGroup::X25519MLKEM768, NamedGroup::X25519]
    } else {
        &[NamedGroup::X25519, NamedGroup::Secp256r1]
    };
    // Fresh configurations every run: the seeded RNG forks per session, so sharing them
    // across runs would make runs depend on each other.
    let mut client = ClientConfig::builder();
    let mut server = ServerConfig::builder();
    if cids {
        client = client.connection_ids(4);
        server = server.connection_ids(6).connection_id_prefix(&[0x5e]);
    }
    let client = client
        .max_version(max)
        .groups(groups)
        .root_certificates_pem(CA)
        .expect("fixture CA")
        .server_name("server.test")
        .client_certificate_pem(CERT, KEY)
        .expect("fixture client cert")
        .rng_seed([1; 32])
        .time_source(cert_time)
        .build()
        .expect("client config");
    let server = server
        .max_version(max)
        .groups(groups)
        .certificate_pem(CERT, KEY)
        .expect("fixture server cert")
        .require_client_certificate_pem(CA)
        .expect("fixture CA")
        .rng_seed([2; 32])
        .time_source(cert_time)
        .build()
        .expect("server config");
    (client, server)
}

/// Which session of the pair the input drives (each target uses one).
#[allow(dead_code)]
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Client,
    Server,
    Client13,
    Server13,
}

fn drain(s: &mut Session) -> Vec<Vec<u8>> {
    while s.poll_event().is_some() {}
    let mut out = Vec::new();
    while let Some(t) = s.poll_transmit() {
        out.push(t.contents);
    }
    out
}

/// Run the prefix and then the fuzz input against the session of `role`.
pub fn run(role: Role, data: &[u8]) {
    let Some((&stop, input)) = data.split_first() else {
        return;
    };
    let now = base();
    let tls13 = matches!(role, Role::Client13 | Role::Server13);
    let (ccfg, scfg) = configs(tls13, tls13 && stop & 0x40 != 0, stop & 0x20 != 0);
    let mut client = Session::client(now, ccfg, SERVER_ADDR);
    let mut server = Session::server(now, scfg, CLIENT_ADDR);
    let mut to_server = drain(&mut client);
    let mut to_client = Vec::new();
    for step in 0..(stop % 7) {
        if step % 2 == 0 {
            for d in to_server.drain(..) {
                let _ = server.handle(now, &d);
            }
            to_client.extend(drain(&mut server));
        } else {
            for d in to_client.drain(..) {
                let _ = client.handle(now, &d);
            }
            to_server.extend(drain(&mut client));
        }
    }
    // Both connected: the peer also sends an application record, so that the mutated
    // genuine datagrams include one (the zero-copy receive branch, with a CID or without).
    if stop % 7 == 6 {
        match role {
            Role::Client | Role::Client13 => {
                let _ = server.send(b"from the peer");
                to_client.extend(drain(&mut server));
            }
            Role::Server | Role::Server13 => {
                let _ = client.send(b"from the peer");
                to_server.extend(drain(&mut client));
            }
        }
    }
    let (sut, pending) = match role {
        Role::Client | Role::Client13 => (&mut client, to_client),
        Role::Server | Role::Server13 => (&mut server, to_server),
    };
    let mut now = now;
    if stop & 0x80 != 0 {
        let mut key = input.iter().cycle();
        // An odd-length input delivers through `handle_buf` (the zero-copy branch first).
        let in_place = input.len() % 2 == 1;
        for mut d in pending {
            if !input.is_empty() {
                for b in d.iter_mut() {
                    *b ^= key.next().copied().unwrap_or(0);
                }
            }
            let _ = if in_place { sut.handle_buf(now, &mut d) } else { sut.handle(now, &d) };
            drain(sut);
        }
        return;
    }
    let mut rest = input;
    while let Some((&tag, tail)) = rest.split_first() {
        rest = tail;
        match tag {
            0x80..=0xff => {
                now += Duration::from_millis(100 * u64::from(tag & 0x7f));
                let _ = sut.handle_timeout(now);
            }
            0x7f => {
                let _ = sut.send(b"fuzz");
            }
            _ => {
                if rest.len() < 2 {
                    break;
                }
                let len = usize::from(u16::from_be_bytes([rest[0], rest[1]])).min(rest.len() - 2);
                let datagram = &rest[2..2 + len];
                rest = &rest[2 + len..];
                let _ = if tag & 1 == 1 {
                    sut.handle_from(now, OTHER_ADDR, datagram)
                } else if tag & 2 == 2 {
                    sut.handle_buf(now, &mut datagram.to_vec())
                } else {
                    sut.handle(now, datagram)
                };
            }
        }
        drain(sut);
        let _ = sut.poll_timeout();
    }
}
