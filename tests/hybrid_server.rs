//! Our client against a server that speaks DTLS 1.3 and 1.2 and negotiates 1.2 with it (a
//! scripted server built on the crate's codec, key schedule and record layer; real peers
//! of this kind are in `tests/dimpl_interop.rs`):
//!
//! - the server random carries the RFC 8446 §4.1.3 downgrade sentinel, which a 1.3-capable
//!   server MUST set when it negotiates 1.2; a client that speaks only 1.2 must not care;
//! - the ServerHello arrives fragmented, one fragment per datagram, last fragment first.

mod sim;

use dtls_engine::internals::wire::HandshakePayload;
use sim::evil::EvilServer;
use sim::sim_pki;

/// RFC 8446 §4.1.3: the last 8 bytes of ServerHello.random of a TLS 1.3 server negotiating
/// TLS 1.2 (`DOWNGRD` and 0x01), and of one negotiating 1.1 or below (0x00).
const DOWNGRADE_TLS12: [u8; 8] = [0x44, 0x4f, 0x57, 0x4e, 0x47, 0x52, 0x44, 0x01];
const DOWNGRADE_TLS11: [u8; 8] = [0x44, 0x4f, 0x57, 0x4e, 0x47, 0x52, 0x44, 0x00];

fn run(sentinel: Option<[u8; 8]>, pieces: usize) {
    let mut evil = EvilServer::new(sim_pki().client_config(1));
    if let Some(s) = sentinel {
        evil.s.server_random[24..].copy_from_slice(&s);
    }
    let sh = evil.server_hello();
    evil.s.send_fragmented(0, &HandshakePayload::ServerHello(sh), pieces);
    assert!(evil.s.error.is_none(), "{:?}", evil.s.error);
    evil.push_rest_of_flight_4(None);
    evil.s.flush();
    evil.finish();
    assert!(evil.s.error.is_none(), "{:?}", evil.s.error);
    assert!(evil.s.peer.is_connected(), "client did not connect (sentinel {sentinel:?}, {pieces} pieces)");
}

#[test]
fn client_connects_to_a_downgrading_server_with_a_fragmented_server_hello() {
    for sentinel in [None, Some(DOWNGRADE_TLS12), Some(DOWNGRADE_TLS11)] {
        for pieces in [1, 2, 5] {
            run(sentinel, pieces);
        }
    }
}

/// The other side of RFC 8446 §4.1.3: a client that offered DTLS 1.3 refuses a 1.2
/// ServerHello carrying either sentinel (`illegal_parameter`), and accepts one without.
#[test]
fn a_dtls13_capable_client_refuses_a_downgrade_sentinel() {
    let config = || sim_pki().client_builder13(1).build().expect("client config");
    for (sentinel, refused) in [(None, false), (Some(DOWNGRADE_TLS12), true), (Some(DOWNGRADE_TLS11), true)] {
        let mut evil = EvilServer::new(config());
        if let Some(s) = sentinel {
            evil.s.server_random[24..].copy_from_slice(&s);
        }
        let sh = evil.server_hello();
        evil.s.send_fragmented(0, &HandshakePayload::ServerHello(sh), 1);
        if refused {
            let err = evil.s.error.take().map(|e| format!("{e:?}")).unwrap_or_default();
            assert!(err.contains("Downgrade"), "sentinel {sentinel:?}: {err}");
            assert!(evil.s.peer.is_closed());
        } else {
            assert!(evil.s.error.is_none(), "{:?}", evil.s.error);
            evil.push_rest_of_flight_4(None);
            evil.s.flush();
            evil.finish();
            assert!(evil.s.peer.is_connected());
            assert_eq!(evil.s.peer.protocol(), "DTLSv1.2");
        }
    }
}
