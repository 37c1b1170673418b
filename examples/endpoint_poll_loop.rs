//! Embedding the sans-IO [`Endpoint`] in a hand-written poll loop over
//! `std::net::UdpSocket`: the whole run loop of an application that owns its I/O.
//!
//! ```text
//! cargo run --example endpoint_poll_loop
//! ```
//! A server endpoint and a client endpoint run in one thread on 127.0.0.1; the client sends
//! a few messages, the server echoes them, then the client closes.

use std::error::Error;
use std::net::UdpSocket;
use std::time::{Duration, Instant};

use dtls_engine::{ClientConfig, Endpoint, EndpointConfig, EndpointEvent, Event, ServerConfig};

/// One turn of the loop for one endpoint: read what the socket has, run due timers, then
/// drain every output. Returns the endpoint's events.
fn turn(ep: &mut Endpoint, socket: &UdpSocket, buf: &mut [u8]) -> Vec<(dtls_engine::SessionHandle, EndpointEvent)> {
    // Sleep no longer than the endpoint's next deadline (and a little, to serve two
    // endpoints from one thread).
    let wait = ep.poll_timeout().map_or(Duration::from_millis(20), |t| t.saturating_duration_since(Instant::now()));
    let _ = socket.set_read_timeout(Some(wait.clamp(Duration::from_millis(1), Duration::from_millis(20))));
    if let Ok((n, from)) = socket.recv_from(buf) {
        ep.handle(Instant::now(), from, &buf[..n]);
    }
    ep.handle_timeout(Instant::now());
    // Events before transmits: draining a failed session's alert removes the session.
    let events = std::iter::from_fn(|| ep.poll_event()).collect();
    while let Some(t) = ep.poll_transmit() {
        let _ = socket.send_to(&t.contents, t.destination);
    }
    events
}

fn main() -> Result<(), Box<dyn Error>> {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()])?;
    let server_cfg = ServerConfig::builder()
        .certificate_pem(cert.cert.pem().as_bytes(), cert.signing_key.serialize_pem().as_bytes())?
        .build()?;
    let client_cfg =
        ClientConfig::builder().root_certificates_pem(cert.cert.pem().as_bytes())?.server_name("localhost").build()?;

    let server_sock = UdpSocket::bind("127.0.0.1:0")?;
    let client_sock = UdpSocket::bind("127.0.0.1:0")?;
    let now = Instant::now();
    let mut server = Endpoint::new(now, EndpointConfig { server: Some(server_cfg), ..Default::default() });
    let mut client = Endpoint::new(now, EndpointConfig::default());
    let h = client.connect(now, client_cfg, server_sock.local_addr()?)?;

    let mut buf = vec![0u8; 65536];
    let mut to_send = vec!["one", "two", "three"];
    let mut echoed = 0;
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        for (sh, ev) in turn(&mut server, &server_sock, &mut buf) {
            if let EndpointEvent::Session(Event::ApplicationData(d)) = ev {
                server.send(sh, &d)?;
            }
        }
        for (_, ev) in turn(&mut client, &client_sock, &mut buf) {
            match ev {
                EndpointEvent::Session(Event::Connected) => println!("client: connected"),
                EndpointEvent::Session(Event::ApplicationData(d)) => {
                    println!("client: echo {:?}", String::from_utf8_lossy(&d));
                    echoed += 1;
                }
                EndpointEvent::Destroyed(stats) => {
                    println!("client: session done, {} datagrams sent", stats.packets_sent);
                }
                other => println!("client: {other:?}"),
            }
        }
        if client.session(h).is_some_and(|s| s.is_connected()) {
            if let Some(m) = to_send.pop() {
                client.send(h, m.as_bytes())?;
            } else if echoed == 3 {
                client.close(Instant::now());
            }
        }
        if client.state() == dtls_engine::EndpointState::Closed && server.session_count() == 0 {
            println!("server stats: {:?}", server.stats());
            return Ok(());
        }
    }
    Err("timed out".into())
}
