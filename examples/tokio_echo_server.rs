//! An echo server on the tokio adapter.
//!
//! ```text
//! cargo run --features tokio --example tokio_echo_server -- 127.0.0.1:4433 /tmp/echo-cert.pem
//! ```
//! It makes a fresh self-signed certificate for "localhost", writes it (PEM) to the given
//! path for the client to trust, and echoes every datagram of every session.

use std::error::Error;

use dtls_engine::ServerConfig;
use dtls_engine::adapter::EndpointOptions;
use dtls_engine::adapter::tokio_udp::listen;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:4433".into());
    let cert_path = args.next().unwrap_or_else(|| "/tmp/echo-cert.pem".into());
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()])?;
    std::fs::write(&cert_path, cert.cert.pem())?;
    let config = ServerConfig::builder()
        .certificate_pem(cert.cert.pem().as_bytes(), cert.signing_key.serialize_pem().as_bytes())?
        .build()?;
    let endpoint = listen(addr.as_str(), config, EndpointOptions::default()).await?;
    eprintln!("listening on {} (certificate in {cert_path})", endpoint.local_addr());
    while let Some(mut session) = endpoint.accept().await {
        eprintln!("connected {} cipher={}", session.remote_addr(), session.cipher().map_or("-", |c| c.standard_name));
        tokio::spawn(async move {
            while let Some(data) = session.recv().await {
                if session.send(&data).await.is_err() {
                    break;
                }
                // The buffer goes back to the driver for a later record: no allocation per record.
                session.recycle(data);
            }
            eprintln!("closed {}", session.remote_addr());
        });
    }
    Ok(())
}
