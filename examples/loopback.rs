//! The loopback demo: a DTLS 1.2 server and client in one process, over real UDP sockets on
//! 127.0.0.1, with a fresh self-signed certificate. Shakes hands, exchanges a few messages
//! both ways, closes with close_notify, and prints what was negotiated and both sides' stats.
//!
//! Run: `cargo run --example loopback`

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use dtls_engine::{ClientConfig, Event, ServerConfig, Session};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()])?;
    let cert_pem = cert.cert.pem();
    let key_pem = cert.signing_key.serialize_pem();

    let server_cfg = ServerConfig::builder().certificate_pem(cert_pem.as_bytes(), key_pem.as_bytes())?.build()?;
    let client_cfg =
        ClientConfig::builder().root_certificates_pem(cert_pem.as_bytes())?.server_name("localhost").build()?;

    let server_sock = UdpSocket::bind("127.0.0.1:0")?;
    let client_sock = UdpSocket::bind("127.0.0.1:0")?;
    server_sock.set_nonblocking(true)?;
    client_sock.set_nonblocking(true)?;
    println!("server listening on {}", server_sock.local_addr()?);

    let start = Instant::now();
    let mut client = Session::client(start, client_cfg, server_sock.local_addr()?);
    let mut server: Option<Session> = None;
    let messages = ["hello from the client", "second message", "third message"];
    let mut sent = false;
    let mut echoed = 0;
    let mut buf = vec![0u8; 65536];

    while start.elapsed() < Duration::from_secs(10) {
        let now = Instant::now();
        // Server side: create the session on the first datagram, echo application data.
        while let Ok((n, from)) = server_sock.recv_from(&mut buf) {
            let s = server.get_or_insert_with(|| Session::server(now, server_cfg.clone(), from));
            s.handle(now, &buf[..n])?;
        }
        if let Some(s) = server.as_mut() {
            if s.poll_timeout().is_some_and(|t| t <= now) {
                s.handle_timeout(now)?;
            }
            while let Some(ev) = s.poll_event() {
                match ev {
                    Event::Connected => println!("server: handshake complete with {}", s.remote_addr()),
                    Event::ApplicationData(d) => {
                        println!("server: received {:?}", String::from_utf8_lossy(&d));
                        let reply = format!("echo: {}", String::from_utf8_lossy(&d));
                        s.send(reply.as_bytes())?;
                    }
                    Event::Closed => println!("server: peer sent close_notify"),
                    _ => {}
                }
            }
            while let Some(t) = s.poll_transmit() {
                server_sock.send_to(&t.contents, t.destination)?;
            }
        }
        // Client side.
        while let Ok((n, _)) = client_sock.recv_from(&mut buf) {
            client.handle(now, &buf[..n])?;
        }
        if client.poll_timeout().is_some_and(|t| t <= now) {
            client.handle_timeout(now)?;
        }
        while let Some(ev) = client.poll_event() {
            match ev {
                Event::Connected => {
                    let suite = client.cipher().map(|c| c.standard_name).unwrap_or("-");
                    println!(
                        "client: connected protocol=DTLSv1.2 cipher={suite} group={:?} ems={}",
                        client.negotiated_group().unwrap_or(dtls_engine::NamedGroup::X25519),
                        client.extended_master_secret()
                    );
                }
                Event::ApplicationData(d) => {
                    println!("client: received {:?}", String::from_utf8_lossy(&d));
                    echoed += 1;
                    if echoed == messages.len() {
                        client.close(now);
                    }
                }
                Event::Closed => println!("client: peer sent close_notify"),
                _ => {}
            }
        }
        if client.is_connected() && !sent {
            for m in messages {
                client.send(m.as_bytes())?;
            }
            sent = true;
        }
        while let Some(t) = client.poll_transmit() {
            client_sock.send_to(&t.contents, t.destination)?;
        }
        if client.is_closed() && server.as_ref().is_some_and(|s| s.is_closed()) {
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }

    let server = server.ok_or("no client ever arrived")?;
    if echoed != messages.len() || !server.is_closed() {
        return Err("demo did not complete".into());
    }
    println!("client stats: {:?}", client.stats());
    println!("server stats: {:?}", server.stats());
    println!("demo complete");
    Ok(())
}
