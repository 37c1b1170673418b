//! A client for `tokio_echo_server`: sends each argument as one datagram and prints the echo.
//!
//! ```text
//! cargo run --features tokio --example tokio_echo_client -- 127.0.0.1:4433 /tmp/echo-cert.pem hello world
//! ```

use std::error::Error;
use std::time::Duration;

use dtls_engine::ClientConfig;
use dtls_engine::adapter::tokio_udp::connect;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:4433".into());
    let cert_path = args.next().unwrap_or_else(|| "/tmp/echo-cert.pem".into());
    let messages: Vec<String> = args.collect();
    let config =
        ClientConfig::builder().root_certificates_pem(&std::fs::read(&cert_path)?)?.server_name("localhost").build()?;
    // `connect` resolves once the handshake is complete.
    let mut session = connect(addr.as_str(), config).await?;
    eprintln!(
        "connected {} protocol={} cipher={}",
        session.remote_addr(),
        session.protocol(),
        session.cipher().map_or("-", |c| c.standard_name)
    );
    for m in if messages.is_empty() { vec!["hello".to_string()] } else { messages } {
        session.send(m.as_bytes()).await?;
        match tokio::time::timeout(Duration::from_secs(5), session.recv()).await {
            Ok(Some(reply)) => println!("{}", String::from_utf8_lossy(&reply)),
            _ => eprintln!("no reply to {m:?}"),
        }
    }
    session.close();
    session.closed().await;
    Ok(())
}
