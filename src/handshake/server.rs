//! The DTLS 1.2 server state machine (RFC 6347 §4.2, RFC 5246 §7.3). Flights:
//!
//! ```text
//!   ClientHello                -->                                   (flight 1)
//!                              <--   HelloVerifyRequest              (flight 2, cookie on)
//!   ClientHello + cookie       -->                                   (flight 3)
//!                              <--   ServerHello, Certificate,
//!                                    ServerKeyExchange,
//!                                    [CertificateRequest],
//!                                    ServerHelloDone                 (flight 4)
//!   [Certificate], ClientKeyExchange,
//!   [CertificateVerify], ChangeCipherSpec,
//!   Finished                   -->                                   (flight 5)
//!                              <--   ChangeCipherSpec, Finished      (flight 6)
//! ```
//!
//! Each state owns what is valid in it; handling a message consumes the state.

use rustls_pki_types::CertificateDer;

use crate::config::{ClientAuth, Identity, ServerConfig};
use crate::cookie::{self, AddressValidated};
use crate::crypto::ct_eq;
use crate::crypto::kx::KeyExchange;
use crate::crypto::verify::verify_signature;
use crate::error::{PeerIncompatible, PeerMisbehaved};
use crate::extensions::{alpn, srtp};
use crate::handshake::client::scheme_fits;
use crate::handshake::context::Context;
use crate::handshake::key_schedule::{MasterSecret, Side};
use crate::handshake::output::{Output, Step};
use crate::handshake::reassembler::HandshakeMessage;
use crate::handshake::tls13::{
    self,
    server::{Answer, Server13},
};
use crate::key::KeyAlgorithm;
use crate::suites::{AuthKind, SuiteInfo};

use crate::wire::{
    CertificateMsg, CertificateRequest, CipherSuite, ClientCertificateType, ClientHello, DTLS_1_2, EcPointFormat,
    EcdheParams, Extension, ExtensionType, Finished, HandshakePayload, HelloVerifyRequest, NewSessionTicket,
    ServerHello, ServerKeyExchange, SignatureScheme, find_extension,
};

mod resume;

use resume::{issue_ticket, remember_session, resumable, resume};

/// Where the server is in the handshake. From ServerHello on, each state carries the
/// suite it chose; from the key exchange on, the master secret.
pub enum ServerState {
    /// `validated`: the proof that the client's address was validated by a cookie already
    /// (an endpoint checked it statelessly); without it, and with the cookie exchange on,
    /// this session runs its own.
    ///
    /// `retry`: the content of a DTLS 1.3 HelloRetryRequest cookie the endpoint verified
    /// (with its own secrets) before creating this session.
    ExpectClientHello {
        hello_verify_requests: u8,
        validated: Option<AddressValidated>,
        retry: Option<Box<tls13::cookie::RetryState>>,
    },
    /// `kx` is boxed here and below: it is the largest thing a state holds, and a state is
    /// part of every session, connected or not.
    ExpectCertificate {
        suite: &'static SuiteInfo,
        kx: Box<KeyExchange>,
    },
    ExpectClientKeyExchange {
        suite: &'static SuiteInfo,
        kx: Box<KeyExchange>,
        client_chain: Option<Vec<CertificateDer<'static>>>,
    },
    ExpectCertificateVerify {
        suite: &'static SuiteInfo,
        master: MasterSecret,
        client_chain: Vec<CertificateDer<'static>>,
    },
    ExpectFinished {
        suite: &'static SuiteInfo,
        master: MasterSecret,
    },
    /// Abbreviated handshake (RFC 5246 §7.3): our ServerHello, ChangeCipherSpec and
    /// Finished are sent; the client's ChangeCipherSpec and Finished are due.
    ExpectResumedFinished {
        suite: &'static SuiteInfo,
        master: MasterSecret,
    },
    Connected,
    /// The client offered DTLS 1.3 and we chose it; its machine runs from here.
    Tls13(Box<Server13>),
}

// Cookies we hand out to one peer before giving up on it.
const MAX_HELLO_VERIFY_REQUESTS: u8 = 8;

impl ServerState {
    /// The initial state; `validated` (an endpoint verified the ClientHello's cookie
    /// statelessly) skips the per-session cookie exchange.
    pub fn start(validated: Option<AddressValidated>) -> Self {
        Self::ExpectClientHello { hello_verify_requests: 0, validated, retry: None }
    }

    /// The initial state for a DTLS 1.3 ClientHello whose HelloRetryRequest cookie an
    /// endpoint verified statelessly: `retry` is what the cookie carried.
    pub fn start_after_retry(validated: AddressValidated, retry: tls13::cookie::RetryState) -> Self {
        Self::ExpectClientHello { hello_verify_requests: 0, validated: Some(validated), retry: Some(Box::new(retry)) }
    }

    /// DTLS 1.3 was chosen: messages go to [`ServerState::handle13`].
    pub fn is_tls13(&self) -> bool {
        matches!(self, Self::Tls13(_))
    }

    /// Advance the DTLS 1.3 machine on one complete handshake message.
    pub fn handle13(self, ctx: &mut Context, config: &ServerConfig, msg: &HandshakeMessage) -> Step<Self> {
        match self {
            Self::Tls13(state) => match state.handle(ctx, config, msg)? {
                // Done: nothing of the 1.3 machine is kept (an idle session holds no box).
                (Server13::Connected, output) => Ok((Self::Connected, output)),
                (next, output) => Ok((Self::Tls13(Box::new(next)), output)),
            },
            _ => Err(PeerMisbehaved::UnexpectedMessage.into()),
        }
    }

    /// True when the peer's ChangeCipherSpec is due (the epoch may switch).
    ///
    /// Also while a CertificateVerify is awaited: the keys exist already, and a Finished
    /// that follows the client's Certificate without a CertificateVerify must be read to be
    /// refused rather than buffered until the handshake times out. The reassembler still
    /// delivers strictly in message_seq order, so a lost CertificateVerify is waited for,
    /// not skipped.
    // The refused Finished: docs/security.md item 1.
    pub fn expects_ccs(&self) -> bool {
        matches!(
            self,
            Self::ExpectFinished { .. } | Self::ExpectCertificateVerify { .. } | Self::ExpectResumedFinished { .. }
        )
    }

    /// Advance on one complete handshake message: `msg` parsed from `received`.
    pub fn handle(
        self,
        ctx: &mut Context,
        config: &ServerConfig,
        msg: HandshakePayload,
        received: &HandshakeMessage,
    ) -> Step<Self> {
        match (self, msg) {
            // RFC 8446 §4.2.1: the highest version both sides enable; 1.3 through
            // supported_versions only.
            (
                Self::ExpectClientHello { hello_verify_requests, validated, retry },
                HandshakePayload::ClientHello(hello),
            ) if config.common.offers_tls13() && tls13::server::offers_13(&hello) => {
                let needs_cookie = config.cookie && validated.is_none();
                let verified = retry.map(|r| *r);
                match tls13::server::on_client_hello(ctx, config, &hello, received, needs_cookie, verified)? {
                    Answer::Retried(output) => {
                        if hello_verify_requests >= MAX_HELLO_VERIFY_REQUESTS {
                            return Err(PeerMisbehaved::BadCookie.into());
                        }
                        let next = Self::ExpectClientHello {
                            hello_verify_requests: hello_verify_requests + 1,
                            validated,
                            retry: None,
                        };
                        Ok((next, output))
                    }
                    Answer::Accepted(state, output) => Ok((Self::Tls13(state), output)),
                }
            }
            (Self::ExpectClientHello { .. }, HandshakePayload::ClientHello(_)) if !config.common.offers_tls12() => {
                Err(PeerIncompatible::UnsupportedVersion.into())
            }
            (
                Self::ExpectClientHello { hello_verify_requests, validated, .. },
                HandshakePayload::ClientHello(hello),
            ) => {
                let body = &received.body;
                let cookie_key = (config.cookie && validated.is_none()).then_some(&config.cookie_key);
                if let Some(cookie_key) = cookie_key.filter(|k| cookie::verify(k, ctx.peer, body).is_none()) {
                    if hello_verify_requests >= MAX_HELLO_VERIFY_REQUESTS {
                        return Err(PeerMisbehaved::BadCookie.into());
                    }
                    // RFC 6347 §4.2.1: answer with a cookie; the HelloVerifyRequest carries
                    // the ClientHello's message_seq and is kept out of the handshake hash.
                    // RFC 6347 §4.2.1: "DTLS 1.2 server implementations SHOULD use DTLS
                    // version 1.0 regardless of the version of TLS that is expected to be
                    // negotiated" (as the endpoint's stateless answer does).
                    let hvr = HelloVerifyRequest {
                        server_version: crate::wire::DTLS_1_0,
                        cookie: cookie::compute(cookie_key, ctx.peer, body).ok_or(PeerMisbehaved::BadCookie)?.to_vec(),
                    };
                    ctx.send_seq = received.message_seq;
                    ctx.clear_transcript();
                    ctx.push_message(&HandshakePayload::HelloVerifyRequest(hvr), false);
                    // RFC 6347 §4.2.4: the server does not retransmit HelloVerifyRequest;
                    // the client's retransmitted ClientHello asks for it again.
                    let flight = ctx.finish_flight(false);
                    let next = Self::ExpectClientHello {
                        hello_verify_requests: hello_verify_requests + 1,
                        validated,
                        retry: None,
                    };
                    return Ok((next, Output::send(flight)));
                }
                ctx.clear_transcript();
                ctx.add_received(received);
                on_client_hello(ctx, config, &hello)
            }
            (Self::ExpectCertificate { suite, kx }, HandshakePayload::Certificate(CertificateMsg { chain })) => {
                let verifier = match &config.client_auth {
                    ClientAuth::Required(v) | ClientAuth::Optional(v) => v,
                    ClientAuth::None => return Err(PeerMisbehaved::UnexpectedMessage.into()),
                };
                ctx.add_received(received);
                if chain.is_empty() {
                    // RFC 5246 §7.4.6 / docs/security.md item 1: no certificate when one is
                    // required ends the handshake.
                    if matches!(config.client_auth, ClientAuth::Required(_)) {
                        return Err(PeerIncompatible::CertificateRequired.into());
                    }
                    return Ok((Self::ExpectClientKeyExchange { suite, kx, client_chain: None }, Output::none()));
                }
                let now = (ctx.config().time)();
                verifier.verify_client_cert(&chain, now)?;
                Ok((Self::ExpectClientKeyExchange { suite, kx, client_chain: Some(chain) }, Output::none()))
            }
            (Self::ExpectClientKeyExchange { suite, kx, client_chain }, HandshakePayload::ClientKeyExchange(cke)) => {
                let pre_master = (*kx).complete(&cke.public)?;
                ctx.add_received(received);
                let (keys, master) = ctx.derive_keys(suite, &pre_master)?;
                let next = match client_chain {
                    Some(client_chain) => Self::ExpectCertificateVerify { suite, master, client_chain },
                    None => Self::ExpectFinished { suite, master },
                };
                Ok((next, Output::keys(keys)))
            }
            (
                Self::ExpectCertificateVerify { suite, master, client_chain },
                HandshakePayload::CertificateVerify(cv),
            ) => {
                if !config.common.verify_schemes.contains(&cv.scheme) {
                    return Err(PeerMisbehaved::UnofferedSignatureScheme.into());
                }
                let leaf = client_chain.first().ok_or(PeerMisbehaved::EmptyCertificate)?;
                // RFC 5246 §7.4.8: the signature covers all handshake messages before it.
                verify_signature(cv.scheme, leaf, &ctx.transcript, &cv.signature)?;
                ctx.info.peer_signature_scheme = Some(cv.scheme);
                ctx.info.peer_chain = Some(client_chain);
                ctx.add_received(received);
                Ok((Self::ExpectFinished { suite, master }, Output::none()))
            }
            (Self::ExpectCertificateVerify { .. }, HandshakePayload::Finished(_)) => {
                // docs/security.md item 1: a client certificate without proof of possession.
                Err(PeerMisbehaved::MissingCertificateVerify.into())
            }
            (Self::ExpectFinished { suite, master }, HandshakePayload::Finished(fin)) => {
                let finished = master.finished_key();
                let hash = ctx.transcript_hash(suite);
                let expected = finished.verify_data(Side::Client, hash.as_ref());
                if !ct_eq(&fin.verify_data, &expected) {
                    return Err(PeerMisbehaved::BadFinished.into());
                }
                ctx.add_received(received);
                // RFC 5077 §3.3: the NewSessionTicket goes before our ChangeCipherSpec.
                if ctx.info.ticket_promised {
                    let ticket = issue_ticket(ctx, config, suite, &master);
                    let lifetime_hint = if ticket.is_empty() { 0 } else { config.resumption.lifetime };
                    ctx.push_message(
                        &HandshakePayload::NewSessionTicket(NewSessionTicket { lifetime_hint, ticket }),
                        true,
                    );
                }
                let hash = ctx.transcript_hash(suite);
                let verify_data = finished.verify_data(Side::Server, hash.as_ref());
                ctx.push_change_cipher_spec();
                ctx.push_message(&HandshakePayload::Finished(Finished { verify_data: verify_data.to_vec() }), true);
                // Flight 6 ends the handshake; it is re-sent only when the client repeats
                // flight 5 (RFC 6347 §4.2.4).
                let flight = ctx.finish_flight(false);
                remember_session(ctx, config, suite, &master);
                ctx.establish(master);
                Ok((Self::Connected, Output::send(flight).established()))
            }
            (Self::ExpectResumedFinished { suite, master }, HandshakePayload::Finished(fin)) => {
                // RFC 5246 §7.4.9: the client's Finished covers ClientHello, ServerHello and
                // our Finished.
                let hash = ctx.transcript_hash(suite);
                let expected = master.verify_data(Side::Client, hash.as_ref());
                if !ct_eq(&fin.verify_data, &expected) {
                    return Err(PeerMisbehaved::BadFinished.into());
                }
                ctx.add_received(received);
                ctx.establish(master);
                Ok((Self::Connected, Output::none().established()))
            }
            _ => Err(PeerMisbehaved::UnexpectedMessage.into()),
        }
    }
}

fn key_auth(alg: KeyAlgorithm) -> AuthKind {
    match alg {
        KeyAlgorithm::Rsa => AuthKind::Rsa,
        _ => AuthKind::Ecdsa,
    }
}

fn choose_suite(
    config: &ServerConfig,
    identity: &Identity,
    hello: &ClientHello,
    client_schemes: &[SignatureScheme],
) -> Option<(&'static SuiteInfo, SignatureScheme)> {
    let auth = key_auth(identity.key.algorithm());
    config.common.suites.iter().copied().filter(|s| s.auth == auth && hello.cipher_suites.contains(&s.suite)).find_map(
        |s| {
            let usable: Vec<_> = client_schemes.iter().copied().filter(|sc| scheme_fits(s.auth, *sc)).collect();
            identity.key.choose_scheme(&usable).map(|scheme| (s, scheme))
        },
    )
}

fn on_client_hello(ctx: &mut Context, config: &ServerConfig, hello: &ClientHello) -> Step<ServerState> {
    // DTLS version numbers count down: 0xfefd (1.2) is newer than 0xfeff (1.0).
    if hello.client_version > DTLS_1_2 {
        return Err(PeerIncompatible::UnsupportedVersion.into());
    }
    // RFC 5246 §7.4.1.2: "this vector MUST contain, and all implementations MUST support,
    // CompressionMethod.null"; a list without it is an illegal parameter, not a wrong message.
    if !hello.compression_methods.contains(&0) {
        return Err(PeerMisbehaved::NullCompressionMissing.into());
    }
    // RFC 8422 §5.1.2: "If the Supported Point Formats Extension is indeed sent, it MUST
    // contain the value 0 (uncompressed) as one of the items in the list of point formats."
    // A server receiving a list without it "MUST abort the handshake" with illegal_parameter
    // (RFC 8422 §5.1.2, which also governs the server's own list the client checks).
    if let Some(Extension::EcPointFormats(formats)) = find_extension(&hello.extensions, ExtensionType::EcPointFormats)
        && !formats.contains(&EcPointFormat::Uncompressed)
    {
        return Err(PeerMisbehaved::UncompressedPointFormatMissing.into());
    }
    // RFC 6066 §3: the server may choose its certificate by the name the client asked for.
    if let Some(Extension::ServerName(Some(name))) = find_extension(&hello.extensions, ExtensionType::ServerName) {
        ctx.info.server_name = Some(name.clone());
    }
    // RFC 5746 §3.6: on the initial handshake renegotiated_connection must be empty.
    let reneg = find_extension(&hello.extensions, ExtensionType::RenegotiationInfo);
    if let Some(Extension::RenegotiationInfo(v)) = reneg
        && !v.is_empty()
    {
        return Err(PeerMisbehaved::BadRenegotiationInfo.into());
    }
    let secure_reneg = reneg.is_some() || hello.cipher_suites.contains(&CipherSuite::TLS_EMPTY_RENEGOTIATION_INFO_SCSV);
    // RFC 7627 §5.3: refuse a client without EMS unless configured otherwise.
    let ems = find_extension(&hello.extensions, ExtensionType::ExtendedMasterSecret).is_some();
    if !ems && config.common.require_ems {
        return Err(PeerIncompatible::ExtendedMasterSecretRequired.into());
    }
    let offered_alpn = match find_extension(&hello.extensions, ExtensionType::Alpn) {
        Some(Extension::Alpn(list)) => Some(list.as_slice()),
        _ => None,
    };
    let alpn = alpn::server_choice(config, offered_alpn)?;
    // RFC 5764 §4.1.1: we never use an MKI, so our answer carries an empty one.
    let srtp_answer = match find_extension(&hello.extensions, ExtensionType::UseSrtp) {
        Some(Extension::UseSrtp { profiles, .. }) => srtp::select(&config.common.srtp_profiles, profiles),
        _ => None,
    };
    // RFC 5764 §4.1.1: without a shared profile the server leaves use_srtp out and the
    // session falls back to DTLS without SRTP; where that is not acceptable (require_srtp)
    // it answers with an alert instead: handshake_failure.
    if srtp_answer.is_none() && config.common.require_srtp {
        return Err(PeerIncompatible::NoCommonSrtpProfile.into());
    }

    ctx.info.client_random = hello.random;
    ctx.info.server_random = ctx.random32();
    // RFC 8446 §4.1.3: a server able to negotiate 1.3 that agrees on 1.2 says so in the last
    // eight bytes of its random, so a 1.3 client can tell a downgrade.
    if config.common.offers_tls13() {
        crate::wire::tls13::DowngradeSentinel::Tls12.apply(&mut ctx.info.server_random);
    }
    ctx.info.extended_master_secret = ems;

    let mut extensions = Vec::new();
    if secure_reneg {
        extensions.push(Extension::RenegotiationInfo(Vec::new()));
    }
    if ems {
        extensions.push(Extension::ExtendedMasterSecret);
    }
    if find_extension(&hello.extensions, ExtensionType::EcPointFormats).is_some() {
        extensions.push(Extension::EcPointFormats(vec![EcPointFormat::Uncompressed]));
    }
    if let Some(p) = &alpn {
        extensions.push(Extension::Alpn(vec![p.clone()]));
    }
    if let Some(p) = srtp_answer {
        extensions.push(Extension::UseSrtp { profiles: vec![p], mki: Vec::new() });
    }
    // RFC 9146 §3: a server that uses CIDs answers the client's with the one it wants.
    if let (Some(policy), Some(Extension::ConnectionId(peer))) =
        (&config.common.connection_ids, find_extension(&hello.extensions, ExtensionType::ConnectionId))
    {
        let own = policy.generate(&mut ctx.rng);
        extensions.push(Extension::ConnectionId(own.clone()));
        ctx.info.cids = Some(Box::new(crate::record::protection::Cids::new(own, peer.clone())));
        ctx.info.rrc = crate::extensions::rrc::answer(config.common.rrc, &hello.extensions, &mut extensions);
    }
    ctx.info.alpn_protocol = alpn;
    ctx.info.srtp_profile = srtp_answer;

    if let Some(stored) = resumable(ctx, config, hello, ems)? {
        return resume(ctx, config, hello, &stored, extensions);
    }
    full_handshake(ctx, config, hello, extensions)
}

fn full_handshake(
    ctx: &mut Context,
    config: &ServerConfig,
    hello: &ClientHello,
    mut extensions: Vec<Extension>,
) -> Step<ServerState> {
    let client_schemes = match find_extension(&hello.extensions, ExtensionType::SignatureAlgorithms) {
        Some(Extension::SignatureAlgorithms(s)) => s.clone(),
        _ => Vec::new(),
    };
    let identity = config.identity_for(ctx.info.server_name.as_deref());
    let (suite, scheme) =
        choose_suite(config, identity, hello, &client_schemes).ok_or(PeerIncompatible::NoCommonCipherSuite)?;
    let group = match find_extension(&hello.extensions, ExtensionType::SupportedGroups) {
        Some(Extension::SupportedGroups(g)) => config.common.groups12().find(|ours| g.contains(ours)),
        _ => config.common.groups12().next(),
    }
    .ok_or(PeerIncompatible::NoCommonGroup)?;
    ctx.info.suite = Some(suite);
    ctx.info.group = Some(group);

    // RFC 5077 §3.2: a client that sent the session_ticket extension (empty, or with a
    // ticket we did not accept) gets a new ticket if we issue them; the empty extension in
    // our ServerHello says one follows.
    if config.resumption.tickets.is_some() && find_extension(&hello.extensions, ExtensionType::SessionTicket).is_some()
    {
        extensions.push(Extension::SessionTicket(Vec::new()));
        ctx.info.ticket_promised = true;
    }
    // RFC 5246 §7.4.1.3: a session ID names the session for later resumption when we cache.
    // A session we give a ticket for is not cached as well (RFC 5077 §3.4 lets the server
    // send an empty session ID then): the ticket carries it, and the cache stays free for
    // clients that cannot hold tickets.
    if config.resumption.cache.is_some() && !ctx.info.ticket_promised {
        ctx.info.session_id = ctx.random32().to_vec();
    }
    let server_hello = ServerHello {
        server_version: DTLS_1_2,
        random: ctx.info.server_random,
        session_id: ctx.info.session_id.clone(),
        cipher_suite: suite.suite,
        compression_method: 0,
        extensions,
    };
    ctx.push_message(&HandshakePayload::ServerHello(server_hello), true);
    ctx.push_message(&HandshakePayload::Certificate(CertificateMsg { chain: identity.chain.clone() }), true);

    let kx = Box::new(KeyExchange::generate(group, &mut ctx.rng)?);
    let params = EcdheParams { group, public: kx.public_key().to_vec() };
    // RFC 8422 §5.4: sign client_random + server_random + ServerECDHParams.
    let signed = ServerKeyExchange::signed_message(&ctx.info.client_random, &ctx.info.server_random, &params);
    let signature = identity.key.sign(scheme, &signed, &mut ctx.rng)?;
    ctx.push_message(&HandshakePayload::ServerKeyExchange(ServerKeyExchange { params, scheme, signature }), true);

    let wants_cert = !matches!(config.client_auth, ClientAuth::None);
    if wants_cert {
        // RFC 5246 §7.4.4.
        let req = CertificateRequest {
            certificate_types: vec![ClientCertificateType::EcdsaSign, ClientCertificateType::RsaSign],
            schemes: config.common.verify_schemes.clone(),
            authorities: Vec::new(),
        };
        ctx.push_message(&HandshakePayload::CertificateRequest(req), true);
    }
    ctx.push_message(&HandshakePayload::ServerHelloDone, true);
    let flight = ctx.finish_flight(true);
    let next = if wants_cert {
        ServerState::ExpectCertificate { suite, kx }
    } else {
        ServerState::ExpectClientKeyExchange { suite, kx, client_chain: None }
    };
    Ok((next, Output::send(flight)))
}
