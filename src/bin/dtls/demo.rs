//! `dtls demo`: a server and a client in this process on loopback, with a fresh
//! self-signed certificate pinned by fingerprint (WebRTC style). Needs no files.

use std::sync::Arc;
use std::time::{Duration, Instant};

use dtls_engine::adapter::EndpointOptions;
use dtls_engine::adapter::tokio_udp::{UdpEndpoint, UdpSession, listen};
use dtls_engine::certgen::generate_self_signed;
use dtls_engine::{ClientConfig, EndpointStats, ServerConfig, SessionStats, SrtpProtectionProfile as P};
use tokio::time::timeout;

use crate::options::hex;
use crate::peer::{connected_line, describe};

const STEP: Duration = Duration::from_secs(10);

/// Run the demo; true when every step worked.
pub async fn run() -> bool {
    match demo().await {
        Ok(()) => true,
        Err(e) => {
            println!("error: {e}");
            false
        }
    }
}

async fn demo() -> Result<(), String> {
    let cert = generate_self_signed(&["localhost"]).map_err(|e| e.to_string())?;
    println!("fingerprint {}", cert.fingerprint);
    let profiles = [P::SRTP_AEAD_AES_128_GCM, P::SRTP_AES128_CM_SHA1_80];
    let server_cfg = ServerConfig::builder()
        .certificate_pem(cert.cert_pem.as_bytes(), cert.key_pem.as_bytes())
        .map_err(|e| e.to_string())?
        .alpn_protocols(&[b"webrtc"])
        .srtp_profiles(&profiles)
        .build()
        .map_err(|e| e.to_string())?;
    let client_cfg = ClientConfig::builder()
        .pin_fingerprint(&cert.fingerprint)
        .map_err(|e| e.to_string())?
        .alpn_protocols(&[b"webrtc"])
        .srtp_profiles(&profiles)
        .build()
        .map_err(|e| e.to_string())?;

    let server = Arc::new(
        listen("127.0.0.1:0", server_cfg, EndpointOptions::default()).await.map_err(|e| format!("listen: {e}"))?,
    );
    println!("listening {}", server.local_addr());
    let client =
        UdpEndpoint::bind("127.0.0.1:0", EndpointOptions::default()).await.map_err(|e| format!("bind: {e}"))?;

    let started = Instant::now();
    let acceptor = server.clone();
    let accepting = tokio::spawn(async move { acceptor.accept().await });
    let mut c = step("handshake", client.connect(server.local_addr(), client_cfg))
        .await?
        .map_err(|e| format!("handshake failed: {e}"))?;
    let mut s = step("accept", accepting).await?.ok().flatten().ok_or("the server accepted no session")?;
    println!("handshake completed in {:.1} ms", started.elapsed().as_secs_f64() * 1000.0);
    println!("client: {}", connected_line(&c));
    println!("server: {}", connected_line(&s));

    exchange(&c, &mut s, "client -> server").await?;
    exchange(&s, &mut c, "server -> client").await?;

    let ck = c.srtp_keying_material().ok_or("client has no SRTP keying material")?;
    let sk = s.srtp_keying_material().ok_or("server has no SRTP keying material")?;
    println!("client: srtp-keying-material {}", hex(&ck.to_bytes()));
    println!("server: srtp-keying-material {}", hex(&sk.to_bytes()));
    if ck.to_bytes() != sk.to_bytes() {
        return Err("the two sides derived different SRTP keys".into());
    }
    println!("srtp keys equal on both sides: yes");

    c.close();
    if let Some(e) = step("close", c.closed()).await? {
        return Err(format!("client closed with {}", describe(&e)));
    }
    step("server close", s.closed()).await?;
    println!("closed {} reason=close_notify", c.remote_addr());

    print_session("client session", &c).await;
    print_session("server session", &s).await;
    drop((c, s));
    server.close();
    client.close();
    step("server endpoint close", server.closed()).await?;
    step("client endpoint close", client.closed()).await?;
    print_endpoint("server endpoint", &server.stats());
    print_endpoint("client endpoint", &client.stats());
    Ok(())
}

/// Three messages from `from` to `to`, each printed as received.
async fn exchange(from: &UdpSession, to: &mut UdpSession, name: &str) -> Result<(), String> {
    for i in 1..=3 {
        let msg = format!("message {i} ({name})");
        from.send(msg.as_bytes()).await.map_err(|e| format!("send: {e}"))?;
        let got = step("receive", to.recv()).await?.ok_or("session closed early")?;
        println!("{name}: {}", String::from_utf8_lossy(&got));
    }
    Ok(())
}

async fn step<T>(what: &str, f: impl Future<Output = T>) -> Result<T, String> {
    timeout(STEP, f).await.map_err(|_| format!("{what} timed out"))
}

async fn print_session(name: &str, s: &UdpSession) {
    let Some(st): Option<SessionStats> = s.stats().await else { return };
    let ms = |t: Option<Instant>| t.map_or("-".into(), |t| format!("{:.1}ms", (t - st.created).as_secs_f64() * 1000.0));
    println!(
        "stats {name}: handshake_completed={} closing={} destroyed={} app_messages_sent={} \
         app_messages_received={} app_bytes_sent={} app_bytes_received={} packets_sent={} \
         packets_received={} handshake_retransmissions={} records_dropped={}",
        ms(st.handshake_completed),
        ms(st.closing),
        ms(st.destroyed),
        st.app_messages_sent,
        st.app_messages_received,
        st.app_bytes_sent,
        st.app_bytes_received,
        st.packets_sent,
        st.packets_received,
        st.handshake_retransmissions,
        st.records_dropped,
    );
}

fn print_endpoint(name: &str, st: &EndpointStats) {
    println!(
        "stats {name}: packets_sent={} packets_received={} bytes_sent={} bytes_received={} \
         server_sessions={} client_sessions={} hello_verify_requests_sent={} hello_retry_requests_sent={} \
         busy_rejections={} datagrams_dropped={}",
        st.packets_sent,
        st.packets_received,
        st.bytes_sent,
        st.bytes_received,
        st.server_sessions,
        st.client_sessions,
        st.hello_verify_requests_sent,
        st.hello_retry_requests_sent,
        st.busy_rejections,
        st.datagrams_dropped,
    );
}
