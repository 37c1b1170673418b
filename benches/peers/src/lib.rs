//! In-memory drivers for the peer stacks the benchmarks compare against: dimpl 0.9 and
//! OpenSSL (the system libssl through the `openssl` crate). Each runs the same workload as
//! `dtls-engine` in `benches/common`: ECDHE P-256, ECDSA P-256 certificates from one CA,
//! AES-128-GCM, the cookie exchange on, optionally client authentication.
//!
//! DTLS 1.3: dimpl (`configs13`, X25519 only: dimpl has no ML-KEM) and, with the `wolfssl`
//! feature, wolfSSL ([`wolfssl_peer`], X25519 and X25519MLKEM768), on the workload of
//! `benches/common`'s `handshake13`: the same certificates, TLS_AES_128_GCM_SHA256, one key
//! share, no HelloRetryRequest cookie round.

#[path = "../../common/mod.rs"]
pub mod common;

pub mod dimpl_peer {
    //! dimpl 0.9 (default crypto provider, aws-lc-rs). dimpl does no PKI validation: it hands
    //! the peer's leaf certificate to the application (`Output::PeerCert`), which must
    //! validate it. With `validate` on, this driver does what such an application does, with
    //! the same webpki verifiers (from dtls-engine) and the same CA as the other stacks, so
    //! all three reach the same security outcome; with it off, dimpl's own work alone.

    use std::sync::Arc;
    use std::time::Instant;

    use dimpl::crypto::{Dtls12CipherSuite, Dtls13CipherSuite};
    use dimpl::{Config, Dtls, DtlsCertificate, NamedGroup, Output};
    use dtls_engine::{
        CertificateDer, ClientCertVerifier, ServerCertVerifier, UnixTime, WebPkiClientVerifier, WebPkiServerVerifier,
    };

    use crate::common::pki;

    /// How the application checks the certificate dimpl reports.
    enum Check<'a> {
        None,
        Server(&'a WebPkiServerVerifier),
        Client(&'a WebPkiClientVerifier),
    }

    impl Check<'_> {
        fn run(&self, der: &[u8]) {
            let chain = [CertificateDer::from(der)];
            match self {
                Check::None => {}
                Check::Server(v) => {
                    v.verify_server_cert(&chain, Some("localhost"), UnixTime::now()).expect("server cert")
                }
                Check::Client(v) => v.verify_client_cert(&chain, UnixTime::now()).expect("client cert"),
            }
        }
    }

    pub struct Configs {
        /// Validate the peer certificate in the application, as dimpl requires.
        pub validate: bool,
        client_auth: bool,
        /// DTLS 1.3 (`Dtls::new_13`) instead of 1.2.
        v13: bool,
        server_verifier: WebPkiServerVerifier,
        client_verifier: WebPkiClientVerifier,
        client: Arc<Config>,
        server: Arc<Config>,
        client_cert: DtlsCertificate,
        server_cert: DtlsCertificate,
    }

    pub fn configs(client_auth: bool, validate: bool) -> Configs {
        configs_for(client_auth, validate, false)
    }

    /// DTLS 1.3 (`Dtls::new_13`): TLS_AES_128_GCM_SHA256, X25519, the server's
    /// HelloRetryRequest cookie round off (as `handshake13` runs dtls-engine).
    pub fn configs13(client_auth: bool, validate: bool) -> Configs {
        configs_for(client_auth, validate, true)
    }

    fn configs_for(client_auth: bool, validate: bool, v13: bool) -> Configs {
        let p = pki();
        let build = |require: bool| {
            let b = Config::builder().mtu(1500).require_client_certificate(require);
            let b = if v13 {
                b.use_server_cookie(false)
                    .dtls13_cipher_suites(&[Dtls13CipherSuite::AES_128_GCM_SHA256])
                    .kx_groups(&[NamedGroup::X25519])
            } else {
                b.use_server_cookie(true)
                    .dtls12_cipher_suites(&[Dtls12CipherSuite::ECDHE_ECDSA_AES128_GCM_SHA256])
                    .kx_groups(&[NamedGroup::Secp256r1])
            };
            Arc::new(b.build().expect("dimpl config"))
        };
        let ca = || vec![CertificateDer::from(p.ca_der.clone())];
        Configs {
            validate,
            client_auth,
            v13,
            server_verifier: WebPkiServerVerifier::new(ca()).expect("verifier"),
            client_verifier: WebPkiClientVerifier::new(ca()).expect("verifier"),
            client: build(client_auth),
            server: build(client_auth),
            client_cert: DtlsCertificate { certificate: p.client_der.clone(), private_key: p.client_key_der.clone() },
            server_cert: DtlsCertificate { certificate: p.server_der.clone(), private_key: p.server_key_der.clone() },
        }
    }

    /// Drain `from`'s output; packets go to `to`. Returns (connected seen, app bytes seen).
    fn pump(
        from: &mut Dtls,
        to: &mut Dtls,
        buf: &mut [u8],
        packets: &mut Vec<Vec<u8>>,
        check: &Check<'_>,
    ) -> (bool, usize) {
        let mut connected = false;
        let mut app = 0;
        let mut n = 0;
        loop {
            match from.poll_output(buf) {
                Output::Packet(p) => {
                    if packets.len() <= n {
                        packets.push(Vec::with_capacity(1500));
                    }
                    packets[n].clear();
                    packets[n].extend_from_slice(p);
                    n += 1;
                }
                Output::Connected => connected = true,
                Output::PeerCert(der) => check.run(der),
                Output::ApplicationData(d) => app += d.len(),
                Output::Timeout(_) => break,
                Output::BufferTooSmall { .. } => panic!("buffer too small"),
                _ => {}
            }
        }
        for p in packets.iter().take(n) {
            to.handle_packet(p).expect("dimpl handle_packet");
        }
        (connected, app)
    }

    pub struct Pair {
        pub client: Dtls,
        pub server: Dtls,
        buf: Vec<u8>,
        packets: Vec<Vec<u8>>,
    }

    pub fn handshake(c: &Configs) -> Pair {
        let now = Instant::now();
        let new = if c.v13 { Dtls::new_13 } else { Dtls::new_12 };
        let mut client = new(c.client.clone(), c.client_cert.clone(), now);
        client.set_active(true);
        let mut server = new(c.server.clone(), c.server_cert.clone(), now);
        server.set_active(false);
        client.handle_timeout(now).expect("timeout");
        server.handle_timeout(now).expect("timeout");
        let mut buf = vec![0u8; 2048];
        let mut packets = Vec::new();
        let (mut cc, mut sc) = (false, false);
        let (check_c, check_s) = match (c.validate, c.client_auth) {
            (false, _) => (Check::None, Check::None),
            (true, false) => (Check::Server(&c.server_verifier), Check::None),
            (true, true) => (Check::Server(&c.server_verifier), Check::Client(&c.client_verifier)),
        };
        for _ in 0..20 {
            cc |= pump(&mut client, &mut server, &mut buf, &mut packets, &check_c).0;
            sc |= pump(&mut server, &mut client, &mut buf, &mut packets, &check_s).0;
            if cc && sc {
                break;
            }
        }
        assert!(cc && sc, "dimpl handshake did not complete");
        Pair { client, server, buf, packets }
    }

    impl Pair {
        /// One application record client -> server.
        pub fn record(&mut self, payload: &[u8]) {
            self.client.send_application_data(payload).expect("send");
            pump(&mut self.client, &mut self.server, &mut self.buf, &mut self.packets, &Check::None);
            let (_, n) = pump(&mut self.server, &mut self.client, &mut self.buf, &mut self.packets, &Check::None);
            assert_eq!(n, payload.len());
        }
    }
}

#[cfg(feature = "wolfssl")]
pub mod wolfssl_peer;

pub mod openssl_peer {
    //! OpenSSL over an in-memory datagram transport: each `write` OpenSSL makes is one
    //! datagram, each `read` returns one datagram (or WouldBlock). MTU queries are off and the
    //! MTU is set to 1500; session tickets and the session cache are off (dtls-engine does
    //! neither); the cookie exchange is on, with an HMAC-free fixed-cookie callback pair.

    use std::cell::RefCell;
    use std::collections::VecDeque;
    use std::io::{self, Read, Write};
    use std::rc::Rc;

    use openssl::pkey::PKey;
    use openssl::ssl::{
        ErrorCode, SslContext, SslContextBuilder, SslMethod, SslMode, SslOptions, SslSessionCacheMode, SslStream,
        SslVerifyMode,
    };
    use openssl::x509::X509;
    use openssl::x509::store::X509StoreBuilder;

    use crate::common::pki;

    type Queue = Rc<RefCell<VecDeque<Vec<u8>>>>;

    /// One end of an in-memory datagram link.
    pub struct Link {
        inbox: Queue,
        outbox: Queue,
        spare: Vec<Vec<u8>>,
    }

    impl Read for Link {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match self.inbox.borrow_mut().pop_front() {
                Some(d) => {
                    let n = d.len().min(buf.len());
                    buf[..n].copy_from_slice(&d[..n]);
                    self.spare.push(d);
                    Ok(n)
                }
                None => Err(io::ErrorKind::WouldBlock.into()),
            }
        }
    }

    impl Write for Link {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let mut d = self.spare.pop().unwrap_or_default();
            d.clear();
            d.extend_from_slice(buf);
            self.outbox.borrow_mut().push_back(d);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    pub struct Contexts {
        client: SslContext,
        server: SslContext,
    }

    fn common(b: &mut SslContextBuilder) {
        b.set_cipher_list("ECDHE-ECDSA-AES128-GCM-SHA256").expect("ciphers");
        b.set_groups_list("P-256").expect("groups");
        b.set_sigalgs_list("ECDSA+SHA256").expect("sigalgs");
        b.set_options(SslOptions::NO_QUERY_MTU | SslOptions::NO_TICKET);
        b.set_session_cache_mode(SslSessionCacheMode::OFF);
        b.set_mode(SslMode::RELEASE_BUFFERS);
        let mut store = X509StoreBuilder::new().expect("store");
        store.add_cert(X509::from_der(&pki().ca_der).expect("ca")).expect("add ca");
        b.set_verify_cert_store(store.build()).expect("verify store");
    }

    pub fn contexts(client_auth: bool) -> Contexts {
        let p = pki();
        let mut c = SslContext::builder(SslMethod::dtls()).expect("ctx");
        common(&mut c);
        c.set_verify(SslVerifyMode::PEER);
        if client_auth {
            c.set_certificate(&X509::from_der(&p.client_der).expect("cert")).expect("cert");
            c.set_private_key(&PKey::private_key_from_der(&p.client_key_der).expect("key")).expect("key");
        }
        let mut s = SslContext::builder(SslMethod::dtls()).expect("ctx");
        common(&mut s);
        s.set_certificate(&X509::from_der(&p.server_der).expect("cert")).expect("cert");
        s.set_private_key(&PKey::private_key_from_der(&p.server_key_der).expect("key")).expect("key");
        s.set_options(SslOptions::COOKIE_EXCHANGE);
        // A fixed cookie: OpenSSL's own cost of the exchange, without a MAC of ours.
        s.set_cookie_generate_cb(|_, out| {
            out[..16].copy_from_slice(&[0x5a; 16]);
            Ok(16)
        });
        s.set_cookie_verify_cb(|_, cookie| cookie == [0x5a; 16]);
        if client_auth {
            s.set_verify(SslVerifyMode::PEER | SslVerifyMode::FAIL_IF_NO_PEER_CERT);
        } else {
            s.set_verify(SslVerifyMode::NONE);
        }
        Contexts { client: c.build(), server: s.build() }
    }

    pub struct Pair {
        pub client: SslStream<Link>,
        pub server: SslStream<Link>,
        buf: Vec<u8>,
    }

    fn step(r: Result<(), openssl::ssl::Error>) -> bool {
        match r {
            Ok(()) => true,
            Err(e) if e.code() == ErrorCode::WANT_READ || e.code() == ErrorCode::WANT_WRITE => false,
            Err(e) => panic!("openssl handshake: {e}"),
        }
    }

    pub fn handshake(ctx: &Contexts) -> Pair {
        let a: Queue = Rc::default();
        let b: Queue = Rc::default();
        let mut cssl = openssl::ssl::Ssl::new(&ctx.client).expect("ssl");
        cssl.set_mtu(1500).expect("mtu");
        cssl.param_mut().set_host("localhost").expect("host");
        let mut sssl = openssl::ssl::Ssl::new(&ctx.server).expect("ssl");
        sssl.set_mtu(1500).expect("mtu");
        let mut client =
            SslStream::new(cssl, Link { inbox: a.clone(), outbox: b.clone(), spare: Vec::new() }).expect("stream");
        let mut server = SslStream::new(sssl, Link { inbox: b, outbox: a, spare: Vec::new() }).expect("stream");
        let (mut cd, mut sd) = (false, false);
        for _ in 0..20 {
            if !cd {
                cd = step(client.connect());
            }
            if !sd {
                sd = step(server.accept());
            }
            if cd && sd {
                break;
            }
        }
        assert!(cd && sd, "openssl handshake did not complete");
        Pair { client, server, buf: vec![0u8; 2048] }
    }

    impl Pair {
        /// One application record client -> server.
        pub fn record(&mut self, payload: &[u8]) {
            self.client.ssl_write(payload).expect("write");
            let n = self.server.ssl_read(&mut self.buf).expect("read");
            assert_eq!(n, payload.len());
        }
    }
}
