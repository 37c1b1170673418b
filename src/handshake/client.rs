//! The DTLS 1.2 client state machine (RFC 6347 §4.2, RFC 5246 §7.3). Flights:
//!
//! ```text
//!   ClientHello                -->                                   (flight 1)
//!                              <--   HelloVerifyRequest              (flight 2, optional)
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

use crate::config::ClientConfig;
use crate::crypto::ct_eq;
use crate::crypto::kx::KeyExchange;
use crate::crypto::verify::verify_signature;
use crate::error::{Error, PeerIncompatible, PeerMisbehaved};
use crate::extensions::{alpn, srtp};
use crate::handshake::context::Context;
use crate::handshake::key_schedule::{MasterSecret, Side};
use crate::handshake::output::{Output, Step};
use crate::handshake::reassembler::HandshakeMessage;
use crate::handshake::tls13::{
    self,
    client::{Chosen, Client13, Offer13},
};
use crate::resumption::{ClientSession, Forget};
use crate::suites::{self, AuthKind, SuiteInfo};
use crate::wire::{
    CertificateMsg, CertificateRequest, CertificateVerify, ClientHello, ClientKeyExchange, DTLS_1_2, EcPointFormat,
    Extension, ExtensionType, Finished, HandshakePayload, NamedGroup, ServerHello,
};

mod resume;

use resume::{resume, store_key, store_session};

/// Where the client is in the handshake. From ServerHello on, each state carries the
/// suite the server chose; from the key exchange on, the master secret.
pub enum ClientState {
    /// `offered`: the stored session this hello offers to resume, if any.
    /// `offer13`: the DTLS 1.3 half of the hello (its key shares), if it offers 1.3.
    ExpectServerHello {
        hello: Box<ClientHello>,
        hello_verify_requests: u8,
        offered: Option<Box<ClientSession>>,
        offer13: Option<Box<Offer13>>,
    },
    ExpectCertificate {
        suite: &'static SuiteInfo,
    },
    ExpectServerKeyExchange {
        suite: &'static SuiteInfo,
        chain: Vec<CertificateDer<'static>>,
    },
    /// `group`, `peer_public`: the server's ECDHE share.
    ExpectCertificateRequestOrDone {
        suite: &'static SuiteInfo,
        group: NamedGroup,
        peer_public: Vec<u8>,
    },
    ExpectServerHelloDone {
        suite: &'static SuiteInfo,
        group: NamedGroup,
        peer_public: Vec<u8>,
        /// Boxed: the largest thing a client state holds.
        request: Box<CertificateRequest>,
    },
    /// Full handshake, flight 5 sent: \[NewSessionTicket\], ChangeCipherSpec, Finished due.
    ExpectFinished {
        suite: &'static SuiteInfo,
        master: MasterSecret,
    },
    /// Abbreviated handshake (RFC 5246 §7.3): the server's \[NewSessionTicket\],
    /// ChangeCipherSpec and Finished are due; ours follow them.
    ExpectResumedFinished {
        suite: &'static SuiteInfo,
        master: MasterSecret,
    },
    Connected,
    /// The server chose DTLS 1.3; its machine runs from here.
    Tls13(Box<Client13>),
}

// RFC 6347 §4.2.1 allows the server to send HelloVerifyRequest more than once; we follow a
// few, then stop (a server looping on cookies is broken or hostile).
const MAX_HELLO_VERIFY_REQUESTS: u8 = 4;

/// Build the first ClientHello (flight 1), offering a stored session if the configuration
/// has a store with one for this server.
pub fn start(ctx: &mut Context, config: &ClientConfig) -> Result<(ClientState, Output), Error> {
    let random = ctx.random32();
    ctx.info.client_random = random;
    let common = &config.common;
    let now = ctx.now_secs();
    let offered = config.session_store.as_ref().and_then(|store| {
        let key = store_key(ctx, config);
        ctx.forget = Some(Forget::Client(store.clone(), key.clone()));
        store.get(&key, now).filter(|s| common.suites.iter().any(|o| o.suite == s.session.suite))
    });
    // RFC 5077 §3.4: with a ticket, a fresh random session ID tells whether the server
    // accepted it (it echoes the ID); with a cached ID, the ID itself.
    let session_id = match &offered {
        Some(s) if s.ticket.is_some() => ctx.random32().to_vec(),
        Some(s) => s.session_id.clone(),
        None => Vec::new(),
    };
    let mut extensions = Vec::new();
    // RFC 6066 §3: literal IP addresses are not permitted in server_name.
    if let Some(name) = &config.server_name
        && name.parse::<std::net::IpAddr>().is_err()
    {
        extensions.push(Extension::ServerName(Some(name.clone())));
    }
    extensions.push(Extension::SupportedGroups(common.groups12().collect()));
    extensions.push(Extension::EcPointFormats(vec![EcPointFormat::Uncompressed]));
    extensions.push(Extension::SignatureAlgorithms(common.verify_schemes.clone()));
    // RFC 7627 §5.1: offer the extended master secret.
    extensions.push(Extension::ExtendedMasterSecret);
    // RFC 5746 §3.4: initial handshake carries an empty renegotiation_info.
    extensions.push(Extension::RenegotiationInfo(Vec::new()));
    if !common.alpn_protocols.is_empty() {
        extensions.push(Extension::Alpn(common.alpn_protocols.clone()));
    }
    if !common.srtp_profiles.is_empty() {
        extensions.push(Extension::UseSrtp { profiles: common.srtp_profiles.clone(), mki: config.srtp_mki.clone() });
    }
    // RFC 9146 §3: the CID we want in the server's records.
    if let Some(policy) = &common.connection_ids {
        let cid = policy.generate(&mut ctx.rng);
        extensions.push(Extension::ConnectionId(cid.clone()));
        ctx.info.cid_offered = Some(cid.into());
        // RFC 9853 §3: a client offering CIDs SHOULD offer the return routability check.
        if common.rrc {
            extensions.push(Extension::Unknown { typ: ExtensionType::RRC, data: Vec::new() });
        }
    }
    // RFC 5077 §3.2: with a session store, ask for a ticket (empty) or present ours.
    if config.session_store.is_some() {
        let ticket = offered.as_ref().and_then(|s| s.ticket.clone()).unwrap_or_default();
        extensions.push(Extension::SessionTicket(ticket));
    }
    let mut hello = ClientHello {
        client_version: DTLS_1_2,
        random,
        session_id,
        cookie: Vec::new(),
        cipher_suites: common.suites.iter().map(|s| s.suite).collect(),
        compression_methods: vec![0],
        extensions,
    };
    let offer13 = if common.offers_tls13() { Some(Box::new(tls13::client::offer(ctx, &mut hello)?)) } else { None };
    ctx.push_message(&HandshakePayload::ClientHello(hello.clone()), true);
    let flight = ctx.finish_flight(true);
    let state = ClientState::ExpectServerHello {
        hello: Box::new(hello),
        hello_verify_requests: 0,
        offered: offered.map(Box::new),
        offer13,
    };
    Ok((state, Output::send(flight)))
}

impl ClientState {
    /// DTLS 1.3 was chosen: messages go to [`ClientState::handle13`].
    pub fn is_tls13(&self) -> bool {
        matches!(self, Self::Tls13(_))
    }

    /// Advance the DTLS 1.3 machine on one complete handshake message.
    pub fn handle13(self, ctx: &mut Context, config: &ClientConfig, msg: &HandshakeMessage) -> Step<Self> {
        match self {
            Self::Tls13(state) => match state.handle(ctx, config, msg)? {
                // Done: nothing of the 1.3 machine is kept (an idle session holds no box).
                (Client13::Connected, output) => Ok((Self::Connected, output)),
                (next, output) => Ok((Self::Tls13(Box::new(next)), output)),
            },
            _ => Err(PeerMisbehaved::UnexpectedMessage.into()),
        }
    }

    /// True when the peer's ChangeCipherSpec is due (the epoch may switch).
    pub fn expects_ccs(&self) -> bool {
        matches!(self, Self::ExpectFinished { .. } | Self::ExpectResumedFinished { .. })
    }

    /// Advance on one complete handshake message: `msg` parsed from `received`.
    pub fn handle(
        self,
        ctx: &mut Context,
        config: &ClientConfig,
        msg: HandshakePayload,
        received: &HandshakeMessage,
    ) -> Step<Self> {
        match (self, msg) {
            (
                Self::ExpectServerHello { mut hello, hello_verify_requests, offered, offer13 },
                HandshakePayload::HelloVerifyRequest(hvr),
            ) => {
                if hello_verify_requests >= MAX_HELLO_VERIFY_REQUESTS {
                    return Err(PeerMisbehaved::UnexpectedMessage.into());
                }
                // RFC 6347 §4.2.1: the server_version of the HelloVerifyRequest is DTLS 1.0
                // or 1.2; the cookie is at most 255 bytes (the codec enforces it).
                if hvr.server_version != DTLS_1_2 && hvr.server_version != crate::wire::DTLS_1_0 {
                    return Err(PeerMisbehaved::WrongVersion.into());
                }
                hello.cookie = hvr.cookie;
                // RFC 6347 §4.2.6: the first ClientHello and the HelloVerifyRequest are not
                // part of the handshake hash.
                ctx.clear_transcript();
                ctx.push_message(&HandshakePayload::ClientHello((*hello).clone()), true);
                let flight = ctx.finish_flight(true);
                let next = Self::ExpectServerHello {
                    hello,
                    hello_verify_requests: hello_verify_requests + 1,
                    offered,
                    offer13,
                };
                Ok((next, Output::send(flight)))
            }
            (Self::ExpectServerHello { hello, offer13: Some(offer), .. }, HandshakePayload::ServerHello(sh))
                if !matches!(tls13::client::chosen(&sh, &offer)?, Chosen::Dtls12) =>
            {
                if let Chosen::Retry = tls13::client::chosen(&sh, &offer)? {
                    return tls13::client::on_retry(ctx, config, hello, offer, &sh, received);
                }
                let (state, output) = tls13::client::on_server_hello(ctx, config, &hello, *offer, &sh, received)?;
                Ok((Self::Tls13(Box::new(state)), output))
            }
            (Self::ExpectServerHello { hello, offered, offer13, .. }, HandshakePayload::ServerHello(sh)) => {
                // A 1.3 offer answered with DTLS 1.2: only if we speak 1.2 at all.
                if offer13.is_some() && !config.common.offers_tls12() {
                    return Err(PeerIncompatible::UnsupportedVersion.into());
                }
                let suite = on_server_hello(ctx, config, &hello, &sh)?;
                ctx.add_received(received);
                // RFC 5246 §7.4.1.3: the server resumes by echoing the session ID we sent.
                match offered {
                    Some(offered) if !hello.session_id.is_empty() && sh.session_id == hello.session_id => {
                        if config.reverify_on_resume {
                            let now = (ctx.config().time)();
                            let chain = &offered.session.peer_chain;
                            config.verifier.verify_server_cert(chain, config.server_name.as_deref(), now)?;
                        }
                        let (keys, master) = resume(ctx, suite, &offered)?;
                        Ok((Self::ExpectResumedFinished { suite, master }, Output::keys(keys)))
                    }
                    _ => {
                        ctx.info.session_id = sh.session_id;
                        Ok((Self::ExpectCertificate { suite }, Output::none()))
                    }
                }
            }
            (Self::ExpectCertificate { suite }, HandshakePayload::Certificate(cert)) => {
                if cert.chain.is_empty() {
                    return Err(PeerMisbehaved::EmptyCertificate.into());
                }
                let now = (ctx.config().time)();
                config.verifier.verify_server_cert(&cert.chain, config.server_name.as_deref(), now)?;
                ctx.add_received(received);
                Ok((Self::ExpectServerKeyExchange { suite, chain: cert.chain }, Output::none()))
            }
            (Self::ExpectServerKeyExchange { suite, chain }, HandshakePayload::ServerKeyExchange(ske)) => {
                if !ctx.config().groups12().any(|g| g == ske.params.group) {
                    return Err(PeerMisbehaved::UnofferedGroup.into());
                }
                if !ctx.config().verify_schemes.contains(&ske.scheme) || !scheme_fits(suite.auth, ske.scheme) {
                    return Err(PeerMisbehaved::UnofferedSignatureScheme.into());
                }
                // RFC 8422 §5.4: the signature covers both randoms and the ECDH parameters.
                let signed = crate::wire::ServerKeyExchange::signed_message(
                    &ctx.info.client_random,
                    &ctx.info.server_random,
                    &ske.params,
                );
                let leaf = chain.first().ok_or(PeerMisbehaved::EmptyCertificate)?;
                verify_signature(ske.scheme, leaf, &signed, &ske.signature)?;
                ctx.info.group = Some(ske.params.group);
                ctx.info.peer_signature_scheme = Some(ske.scheme);
                ctx.info.peer_chain = Some(chain);
                ctx.add_received(received);
                let group = ske.params.group;
                Ok((
                    Self::ExpectCertificateRequestOrDone { suite, group, peer_public: ske.params.public },
                    Output::none(),
                ))
            }
            (
                Self::ExpectCertificateRequestOrDone { suite, group, peer_public },
                HandshakePayload::CertificateRequest(req),
            ) => {
                ctx.add_received(received);
                Ok((Self::ExpectServerHelloDone { suite, group, peer_public, request: Box::new(req) }, Output::none()))
            }
            (Self::ExpectCertificateRequestOrDone { suite, group, peer_public }, HandshakePayload::ServerHelloDone) => {
                ctx.add_received(received);
                send_final_flight(ctx, config, suite, group, &peer_public, None)
            }
            (Self::ExpectServerHelloDone { suite, group, peer_public, request }, HandshakePayload::ServerHelloDone) => {
                ctx.add_received(received);
                send_final_flight(ctx, config, suite, group, &peer_public, Some(&request))
            }
            // RFC 5077 §3.3: the ticket the ServerHello promised, before the ChangeCipherSpec.
            (
                state @ (Self::ExpectFinished { .. } | Self::ExpectResumedFinished { .. }),
                HandshakePayload::NewSessionTicket(nst),
            ) if ctx.info.ticket_promised && ctx.info.new_ticket.is_none() => {
                ctx.add_received(received);
                ctx.info.new_ticket = Some((nst.ticket, nst.lifetime_hint));
                ctx.info.ticket_received = true;
                Ok((state, Output::none()))
            }
            (Self::ExpectFinished { suite, master }, HandshakePayload::Finished(fin)) => {
                check_server_finished(ctx, suite, &master, &fin)?;
                store_session(ctx, config, suite, &master);
                ctx.establish(master);
                Ok((Self::Connected, Output::none().established()))
            }
            (Self::ExpectResumedFinished { suite, master }, HandshakePayload::Finished(fin)) => {
                check_server_finished(ctx, suite, &master, &fin)?;
                ctx.add_received(received);
                // RFC 5246 §7.3: our ChangeCipherSpec and Finished end the abbreviated
                // handshake; re-sent only when the server repeats its flight.
                ctx.push_change_cipher_spec();
                let hash = ctx.transcript_hash(suite);
                let verify_data = master.verify_data(Side::Client, hash.as_ref());
                ctx.push_message(&HandshakePayload::Finished(Finished { verify_data: verify_data.to_vec() }), true);
                let flight = ctx.finish_flight(false);
                store_session(ctx, config, suite, &master);
                ctx.establish(master);
                Ok((Self::Connected, Output::send(flight).established()))
            }
            (_, HandshakePayload::HelloVerifyRequest(_)) => {
                Err(PeerMisbehaved::HelloVerifyRequestAfterServerHello.into())
            }
            _ => Err(PeerMisbehaved::UnexpectedMessage.into()),
        }
    }
}

fn on_server_hello(
    ctx: &mut Context,
    config: &ClientConfig,
    hello: &ClientHello,
    sh: &ServerHello,
) -> Result<&'static SuiteInfo, Error> {
    if sh.server_version != DTLS_1_2 {
        return Err(PeerIncompatible::UnsupportedVersion.into());
    }
    let suite = suites::lookup(sh.cipher_suite)
        .filter(|s| config.common.suites.iter().any(|o| o.suite == s.suite))
        .ok_or(PeerMisbehaved::UnofferedCipherSuite)?;
    // We offer only null compression; another choice is an unoffered parameter.
    if sh.compression_method != 0 {
        return Err(PeerMisbehaved::NullCompressionMissing.into());
    }
    // RFC 5246 §7.4.1.4: a server may only answer extensions the client offered.
    let mut ems = false;
    for ext in &sh.extensions {
        let offered = hello.extensions.iter().any(|o| o.ext_type() == ext.ext_type());
        if !offered {
            return Err(PeerMisbehaved::UnofferedExtension.into());
        }
        match ext {
            Extension::ExtendedMasterSecret => ems = true,
            // RFC 5077 §3.2: the server will send a NewSessionTicket before its
            // ChangeCipherSpec.
            Extension::SessionTicket(_) => ctx.info.ticket_promised = true,
            // RFC 8422 §5.1.2: the server's list, too, must contain uncompressed.
            Extension::EcPointFormats(formats) if !formats.contains(&EcPointFormat::Uncompressed) => {
                return Err(PeerMisbehaved::UncompressedPointFormatMissing.into());
            }
            Extension::Alpn(answer) => {
                ctx.info.alpn_protocol = Some(alpn::check_answer(&config.common.alpn_protocols, answer)?);
            }
            Extension::UseSrtp { profiles, mki } => {
                ctx.info.srtp_profile =
                    Some(srtp::check_answer(&config.common.srtp_profiles, &config.srtp_mki, profiles, mki)?);
                ctx.info.srtp_mki = mki.clone();
            }
            Extension::Unknown { typ, .. } if *typ == ExtensionType::RRC => ctx.info.rrc = true,
            Extension::ConnectionId(peer) => {
                let own = ctx.info.cid_offered.clone().unwrap_or_default();
                ctx.info.cids = Some(Box::new(crate::record::protection::Cids::new(own.into(), peer.clone())));
            }
            // RFC 5746 §3.4: on the initial handshake the server's renegotiated_connection
            // must be empty.
            Extension::RenegotiationInfo(v) if !v.is_empty() => {
                return Err(PeerMisbehaved::BadRenegotiationInfo.into());
            }
            _ => {}
        }
    }
    // RFC 7627 §5.3: without EMS we abort unless configured otherwise.
    if !ems && config.common.require_ems {
        return Err(PeerIncompatible::ExtendedMasterSecretRequired.into());
    }
    // RFC 5764 §4.1.1: a ServerHello without use_srtp means no SRTP for this session; with
    // require_srtp that is not acceptable, and the handshake ends with handshake_failure.
    if ctx.info.srtp_profile.is_none() && config.common.require_srtp {
        return Err(PeerIncompatible::NoCommonSrtpProfile.into());
    }
    ctx.info.extended_master_secret = ems;
    ctx.info.suite = Some(suite);
    ctx.info.server_random = sh.random;
    if crate::wire::find_extension(&sh.extensions, ExtensionType::ServerName).is_some() {
        ctx.info.server_name = config.server_name.clone();
    }
    Ok(suite)
}

/// RFC 5077 §3.3 and RFC 5246 §7.4.9: the server's Finished covers everything before it,
/// the NewSessionTicket included. A promised ticket that never came is an unexpected
/// Finished.
fn check_server_finished(
    ctx: &mut Context,
    suite: &SuiteInfo,
    master: &MasterSecret,
    fin: &Finished,
) -> Result<(), Error> {
    if ctx.info.ticket_promised && ctx.info.new_ticket.is_none() {
        return Err(PeerMisbehaved::UnexpectedMessage.into());
    }
    let hash = ctx.transcript_hash(suite);
    let expected = master.verify_data(Side::Server, hash.as_ref());
    if !ct_eq(&fin.verify_data, &expected) {
        return Err(PeerMisbehaved::BadFinished.into());
    }
    Ok(())
}

/// Which signature schemes a suite's authentication allows.
pub(crate) fn scheme_fits(auth: AuthKind, scheme: crate::wire::SignatureScheme) -> bool {
    use crate::wire::SignatureScheme as S;
    match auth {
        AuthKind::Ecdsa => matches!(scheme, S::ECDSA_NISTP256_SHA256 | S::ECDSA_NISTP384_SHA384 | S::ED25519),
        AuthKind::Rsa => matches!(
            scheme,
            S::RSA_PSS_RSAE_SHA256
                | S::RSA_PSS_RSAE_SHA384
                | S::RSA_PSS_RSAE_SHA512
                | S::RSA_PKCS1_SHA256
                | S::RSA_PKCS1_SHA384
                | S::RSA_PKCS1_SHA512
        ),
    }
}

/// Flight 5: [Certificate], ClientKeyExchange, [CertificateVerify], ChangeCipherSpec, Finished.
fn send_final_flight(
    ctx: &mut Context,
    config: &ClientConfig,
    suite: &'static SuiteInfo,
    group: NamedGroup,
    peer_public: &[u8],
    request: Option<&CertificateRequest>,
) -> Step<ClientState> {
    // RFC 5246 §7.4.6: answer a CertificateRequest with our chain, or an empty one when we
    // have no certificate the server can accept.
    let mut signer = None;
    if let Some(req) = request {
        let chosen = config.certificate.as_ref().and_then(|(chain, key)| {
            key.choose_scheme(&req.schemes).map(|scheme| (chain.clone(), key.clone(), scheme))
        });
        let chain = chosen.as_ref().map(|c| c.0.clone()).unwrap_or_default();
        ctx.push_message(&HandshakePayload::Certificate(CertificateMsg { chain }), true);
        signer = chosen.map(|(_, key, scheme)| (key, scheme));
    }

    let kx = KeyExchange::generate(group, &mut ctx.rng)?;
    let public = kx.public_key().to_vec();
    let pre_master = kx.complete(peer_public)?;
    ctx.push_message(&HandshakePayload::ClientKeyExchange(ClientKeyExchange { public }), true);

    let (keys, master) = ctx.derive_keys(suite, &pre_master)?;

    // RFC 5246 §7.4.8: CertificateVerify signs every handshake message so far.
    if let Some((key, scheme)) = signer {
        let signature = key.sign(scheme, &ctx.transcript, &mut ctx.rng)?;
        ctx.push_message(&HandshakePayload::CertificateVerify(CertificateVerify { scheme, signature }), true);
    }

    ctx.push_change_cipher_spec();
    let hash = ctx.transcript_hash(suite);
    let verify_data = master.verify_data(Side::Client, hash.as_ref());
    ctx.push_message(&HandshakePayload::Finished(Finished { verify_data: verify_data.to_vec() }), true);
    let flight = ctx.finish_flight(true);
    Ok((ClientState::ExpectFinished { suite, master }, Output::send(flight).with_keys(keys)))
}
