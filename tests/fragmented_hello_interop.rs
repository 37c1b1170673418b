//! Fragmented ClientHellos from real peers, through an `Endpoint` with its stateless cookie
//! path, over loopback UDP:
//!
//! - `openssl s_client -dtls1_2 -mtu 256` with its default cipher list against
//!   `dtls server --mtu 256` (the tool), and against the tokio adapter whose endpoint
//!   statistics show that the hello arrived fragmented and was answered from its first
//!   fragment;
//! - `gnutls-cli --udp --mtu 256` against `dtls server --mtu 256`.
//!
//! A missing `openssl` or `gnutls-cli` is a failure, not a skip.

mod common;

use std::path::Path;
use std::time::Duration;

use common::certs::pki;
use common::gnutls::gnutls_cli;
use common::openssl::{OpensslPeer, s_client};
use dtls_engine::ServerConfig;
use dtls_engine::adapter::EndpointOptions;

const DTLS: &str = env!("CARGO_BIN_EXE_dtls");
const WAIT: Duration = Duration::from_secs(15);

fn arg(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Starts `dtls server --listen 127.0.0.1:0 --echo --sessions 1 --mtu 256 ARGS` and returns
/// it with its port.
fn dtls_server_mtu_256(args: &[&str]) -> (OpensslPeer, u16) {
    let mut all: Vec<String> = ["server", "--listen", "127.0.0.1:0", "--echo", "--sessions", "1", "--mtu", "256"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    all.extend(args.iter().map(|s| (*s).to_owned()));
    let server = OpensslPeer::spawn_program(DTLS, "dtls server", 0, &all);
    let addr = server.expect_line_after("listening ", WAIT);
    let port = addr.rsplit_once(':').and_then(|(_, p)| p.parse().ok()).expect("listening <addr>:<port>");
    (server, port)
}

/// The user's report: `openssl s_client -dtls1_2 -mtu 256` (default cipher list) never
/// connected to `dtls server --mtu 256`, because its cookie-bearing ClientHello arrives in
/// fragments and the endpoint dropped fragmented hellos from unknown peers.
#[test]
fn openssl_s_client_mtu_256_against_dtls_server_mtu_256() {
    let pki = pki();
    let (mut server, port) =
        dtls_server_mtu_256(&["--cert", &arg(&pki.server_rsa.cert), "--key", &arg(&pki.server_rsa.key)]);
    let mut client = s_client(port).ca_file(&pki.ca.cert).mtu(256).spawn();
    assert!(client.handshake_done(WAIT), "{}\n{}", client.transcript(), server.transcript());
    server.expect_line_after("connected ", WAIT);
    client.write_line("through fragments");
    client.expect_output("through fragments", WAIT);
    client.close_stdin();
    let status = server.wait_exit(WAIT).unwrap_or_else(|| panic!("dtls server did not exit\n{}", server.transcript()));
    assert_eq!(status.code(), Some(0), "{}", server.transcript());
    client.kill();
}

/// The same client against the tokio adapter: the endpoint counts the fragmented hello,
/// answers it with a HelloVerifyRequest, and accepts it once the cookie verifies.
#[test]
fn openssl_s_client_mtu_256_hello_is_fragmented_and_answered_statelessly() {
    let pki = pki();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let config = ServerConfig::builder()
            .certificate_pem(
                &std::fs::read(&pki.server_rsa.cert).expect("cert"),
                &std::fs::read(&pki.server_rsa.key).expect("key"),
            )
            .expect("server certificate")
            .mtu(256)
            .build()
            .expect("server config");
        let ep = dtls_engine::adapter::tokio_udp::listen("127.0.0.1:0", config, EndpointOptions::default())
            .await
            .expect("listen");
        let port = ep.local_addr().port();
        let mut client = s_client(port).ca_file(&pki.ca.cert).mtu(256).spawn();
        let mut session = tokio::time::timeout(WAIT, ep.accept()).await.expect("accepted in time").expect("a session");
        let stats = ep.stats();
        assert!(stats.fragmented_hellos >= 1, "{stats:?}");
        assert!(stats.hello_verify_requests_sent >= 1, "{stats:?}");
        assert_eq!(stats.server_sessions, 1, "{stats:?}");
        let (done, mut client) = tokio::task::spawn_blocking(move || {
            let done = client.handshake_done(WAIT);
            client.write_line("ping");
            (done, client)
        })
        .await
        .expect("join");
        assert!(done, "s_client handshake\n{}", client.transcript());
        let got = tokio::time::timeout(WAIT, session.recv()).await.expect("data in time").expect("data");
        assert_eq!(got, b"ping\n");
        client.kill();
    });
}

/// `gnutls-cli --udp --mtu 256` against `dtls server --mtu 256`.
#[test]
fn gnutls_cli_mtu_256_against_dtls_server_mtu_256() {
    let pki = pki();
    let (mut server, port) =
        dtls_server_mtu_256(&["--cert", &arg(&pki.server_p256.cert), "--key", &arg(&pki.server_p256.key)]);
    let mut client = gnutls_cli(port).ca_file(&pki.ca.cert).args(&["--mtu", "256"]).spawn();
    server.expect_line_after("connected ", WAIT);
    client.write_line("gnutls through fragments");
    client.expect_output("gnutls through fragments", WAIT);
    client.close_stdin();
    let status = server.wait_exit(WAIT).unwrap_or_else(|| panic!("dtls server did not exit\n{}", server.transcript()));
    assert_eq!(status.code(), Some(0), "{}", server.transcript());
    client.kill();
}
