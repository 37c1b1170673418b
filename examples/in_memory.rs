//! The engine with no sockets and no real time: a client and a server [`Session`] pass
//! datagrams through two `Vec`s, and the clock is an `Instant` the loop advances by hand,
//! straight to the next `poll_timeout()`, whenever nothing is in flight.
//!
//! ```text
//! cargo run --example in_memory
//! ```
//!
//! The client's first datagram (its ClientHello) is lost on purpose: nothing moves until
//! the clock is advanced to the client's retransmission deadline (1 s by default), when
//! `handle_timeout` sends the ClientHello again. Then the handshake completes, each side
//! sends a message, and the client closes with close_notify, which the server answers.
//! The whole run takes a few milliseconds of real time and is reproducible: both
//! configurations have a fixed RNG seed.

use std::error::Error;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use dtls_engine::{ClientConfig, Event, ServerConfig, Session};

/// Which way a datagram travels.
#[derive(Clone, Copy)]
enum Dir {
    ToServer,
    ToClient,
}

/// The in-memory network: datagrams in flight each way, and which sent datagram to lose.
struct Wire {
    to_server: Vec<Vec<u8>>,
    to_client: Vec<Vec<u8>>,
    sent: usize,
    lose: Option<usize>,
}

impl Wire {
    /// Move everything `session` wants to send onto the wire (or drop the one to lose).
    fn collect(&mut self, session: &mut Session, dir: Dir, elapsed: Duration) {
        while let Some(t) = session.poll_transmit() {
            let index = self.sent;
            self.sent += 1;
            let (arrow, queue) = match dir {
                Dir::ToServer => ("client -> server", &mut self.to_server),
                Dir::ToClient => ("server -> client", &mut self.to_client),
            };
            let lost = self.lose == Some(index);
            println!(
                "[{:>5} ms] {arrow} {:>4} bytes {}{}",
                elapsed.as_millis(),
                t.contents.len(),
                content(&t.contents),
                if lost { "  (lost)" } else { "" }
            );
            if !lost {
                queue.push(t.contents);
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.to_server.is_empty() && self.to_client.is_empty()
    }
}

/// The content type of a datagram's first record (RFC 6347 §4.1), for the trace.
fn content(datagram: &[u8]) -> &'static str {
    match datagram.first() {
        Some(20) => "change_cipher_spec",
        Some(21) => "alert",
        Some(22) => "handshake",
        Some(23) => "application_data",
        _ => "?",
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    // A self-signed certificate the client trusts directly.
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()])?;
    let (cert_pem, key_pem) = (cert.cert.pem(), cert.signing_key.serialize_pem());
    let server_config =
        ServerConfig::builder().certificate_pem(cert_pem.as_bytes(), key_pem.as_bytes())?.rng_seed([2; 32]).build()?;
    let client_config = ClientConfig::builder()
        .root_certificates_pem(cert_pem.as_bytes())?
        .server_name("localhost")
        .rng_seed([1; 32])
        .build()?;

    // The addresses only label the peers: no socket is ever opened.
    let client_addr: SocketAddr = "192.0.2.1:5000".parse()?;
    let server_addr: SocketAddr = "192.0.2.2:4433".parse()?;

    // The clock: only this loop moves it.
    let start = Instant::now();
    let mut now = start;
    let mut client = Session::client(now, client_config, server_addr);
    let mut server = Session::server(now, server_config, client_addr);
    let mut wire = Wire { to_server: Vec::new(), to_client: Vec::new(), sent: 0, lose: Some(0) };
    let mut client_done = false;

    loop {
        // 1. Drain both sessions' events first (the crate's run loop): what we do in
        //    reaction (a send, a close) queues datagrams for step 2.
        while let Some(event) = client.poll_event() {
            match event {
                Event::Connected => {
                    let cipher = client.cipher().map_or("-", |c| c.standard_name);
                    println!("client: connected, {cipher}");
                    client.send(b"hello from the client")?;
                }
                Event::ApplicationData(data) => {
                    println!("client: received {:?}", String::from_utf8_lossy(&data));
                    client.close(now);
                }
                Event::Closed => client_done = true,
                _ => {}
            }
        }
        while let Some(event) = server.poll_event() {
            match event {
                Event::Connected => println!("server: connected"),
                Event::ApplicationData(data) => {
                    println!("server: received {:?}", String::from_utf8_lossy(&data));
                    server.send(b"hello from the server")?;
                }
                // The session has already queued its own close_notify in answer.
                Event::Closed => println!("server: the client closed"),
                _ => {}
            }
        }
        // 2. Then their transmits, onto the wire.
        wire.collect(&mut client, Dir::ToServer, now - start);
        wire.collect(&mut server, Dir::ToClient, now - start);

        // 3. Deliver what is in flight (this network has no latency), and go round again.
        if !wire.is_empty() {
            for datagram in std::mem::take(&mut wire.to_server) {
                server.handle(now, &datagram)?;
            }
            for datagram in std::mem::take(&mut wire.to_client) {
                client.handle(now, &datagram)?;
            }
            continue;
        }
        if client_done {
            break;
        }

        // 4. Nothing in flight: advance the clock to the earliest deadline and run the
        //    timers that are due (retransmission here; also handshake and idle timeouts).
        let next = match (client.poll_timeout(), server.poll_timeout()) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => a.or(b).ok_or("stalled: nothing in flight and no timer armed")?,
        };
        now = now.max(next);
        println!("[{:>5} ms] clock advanced to the next poll_timeout()", (now - start).as_millis());
        client.handle_timeout(now)?;
        server.handle_timeout(now)?;
    }

    let (c, s) = (client.stats(), server.stats());
    println!(
        "done at {} ms of virtual time: client retransmitted {} flight(s), sent {} and received {} message(s); \
         server sent {} and received {}",
        (now - start).as_millis(),
        c.handshake_retransmissions,
        c.app_messages_sent,
        c.app_messages_received,
        s.app_messages_sent,
        s.app_messages_received
    );
    assert!(c.handshake_retransmissions >= 1, "the lost ClientHello was sent again");
    assert!(client.is_closed() && server.is_closed());
    Ok(())
}
