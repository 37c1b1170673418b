//! The DTLS 1.3 client (RFC 8446 §4 with RFC 9147 §5). The ClientHello offering 1.3 is
//! built by the DTLS 1.2 client's `start` with [`offer`]'s extensions; the 1.2 machine hands
//! a ServerHello that selects 1.3 (or a HelloRetryRequest) to [`on_server_hello`] /
//! [`on_retry`], and the states here take over from EncryptedExtensions on.

use rustls_pki_types::CertificateDer;

use super::shares::{ClientShare, is_supported13};
use super::{
    AppSecrets, EPOCH_APPLICATION, EPOCH_HANDSHAKE, Install13, PREFIX, Transcript13, auth, handshake_protection,
    hash_message, log_secret, protection,
};
use crate::codec::Codec;
use crate::config::ClientConfig;
use crate::crypto::ct_eq;
use crate::crypto::tls13::{FinishedKey, Schedule};
use crate::error::{Error, PeerIncompatible, PeerMisbehaved};
use crate::extensions::{alpn, srtp};
use crate::handshake::client::ClientState;
use crate::handshake::context::Context;
use crate::handshake::output::{Output, Step};
use crate::handshake::reassembler::HandshakeMessage;
use crate::registry::{NamedGroup, SignatureScheme};
use crate::suites::{self, Suite13};
use crate::wire::tls13::{
    Certificate, CertificateRequest, Cookie, EncryptedExtensions, ExtensionBody, KeyShareClientHello, KeyShareEntry,
    KeyShareHelloRetryRequest, KeyShareServerHello, SupportedVersionsClientHello, SupportedVersionsServerHello,
};
use crate::wire::{
    CertificateVerify, ClientHello, DTLS_1_2, DTLS_1_3, Extension, ExtensionType, Finished, HandshakePayload,
    HandshakeType, ServerHello,
};

/// What the client keeps of its 1.3 offer until the ServerHello: the private halves of its
/// key shares and, after a HelloRetryRequest, what that request fixed.
pub struct Offer13 {
    shares: Vec<ClientShare>,
    retry: Option<Retry>,
}

struct Retry {
    suite: &'static Suite13,
    /// `message_hash(ClientHello1) || HelloRetryRequest`, in transcript form.
    transcript: Vec<u8>,
}

/// The groups to send shares for in the first ClientHello: our most preferred group, and
/// X25519 beside the hybrid (as browsers do), so a server without ML-KEM needs no retry.
fn first_share_groups(groups: &[NamedGroup]) -> Vec<NamedGroup> {
    let mut out: Vec<NamedGroup> = groups.iter().copied().filter(|g| is_supported13(*g)).take(1).collect();
    if out.first() == Some(&NamedGroup::X25519MLKEM768) && groups.contains(&NamedGroup::X25519) {
        out.push(NamedGroup::X25519);
    }
    out
}

/// Extend a ClientHello under construction with the DTLS 1.3 offer (RFC 8446 §4.1.2):
/// supported_versions, key_share and the 1.3 suites first. When 1.2 is not offered at all,
/// the 1.2-only extensions go.
pub fn offer(ctx: &mut Context, hello: &mut ClientHello) -> Result<Offer13, Error> {
    let common = ctx.common.clone();
    let common = common.common();
    let with12 = common.offers_tls12();
    let mut suites: Vec<_> = common.suites13.iter().map(|s| s.suite).collect();
    if !with12 {
        hello.cipher_suites.clear();
        hello.extensions.retain(|e| {
            !matches!(
                e,
                Extension::EcPointFormats(_)
                    | Extension::ExtendedMasterSecret
                    | Extension::RenegotiationInfo(_)
                    | Extension::SessionTicket(_)
            )
        });
    }
    suites.append(&mut hello.cipher_suites);
    hello.cipher_suites = suites;
    for e in &mut hello.extensions {
        if let Extension::SupportedGroups(g) = e {
            *g = common.groups.iter().copied().filter(|g| is_supported13(*g)).collect();
        }
    }
    let mut versions = vec![DTLS_1_3];
    if with12 {
        versions.push(DTLS_1_2);
    }
    let mut shares = Vec::new();
    for group in first_share_groups(&common.groups) {
        shares.push(ClientShare::generate(group, &mut ctx.rng)?);
    }
    hello.extensions.push(SupportedVersionsClientHello { versions }.to_extension());
    hello.extensions.push(key_share_extension(&shares));
    Ok(Offer13 { shares, retry: None })
}

fn key_share_extension(shares: &[ClientShare]) -> Extension {
    let client_shares =
        shares.iter().map(|s| KeyShareEntry { group: s.group(), key_exchange: s.public().to_vec() }).collect();
    KeyShareClientHello { client_shares }.to_extension()
}

/// Which version a ServerHello chose, for a client that offered 1.3.
pub enum Chosen {
    Dtls12,
    Dtls13,
    Retry,
}

/// Read the version a ServerHello chose (RFC 8446 §4.2.1): 1.3 only through
/// supported_versions; any other selected version is one we did not offer. A DTLS 1.2
/// ServerHello from a server that speaks 1.3 carries the downgrade sentinel (§4.1.3).
pub fn chosen(sh: &ServerHello, offer: &Offer13) -> Result<Chosen, Error> {
    match SupportedVersionsServerHello::find_in(&sh.extensions).map_err(Error::InvalidMessage)? {
        Some(v) if v.selected_version == DTLS_1_3 && sh.server_version == DTLS_1_2 => {
            if crate::wire::tls13::is_hello_retry_request(&sh.random) {
                Ok(Chosen::Retry)
            } else {
                Ok(Chosen::Dtls13)
            }
        }
        Some(_) => Err(PeerMisbehaved::Downgrade.into()),
        None if offer.retry.is_some() => Err(PeerMisbehaved::Downgrade.into()),
        None if crate::wire::tls13::downgrade_sentinel(&sh.random).is_some() => Err(PeerMisbehaved::Downgrade.into()),
        None => Ok(Chosen::Dtls12),
    }
}

fn offered_suite(config: &ClientConfig, suite: crate::registry::CipherSuite) -> Result<&'static Suite13, Error> {
    suites::lookup13(suite)
        .filter(|s| config.common.suites13.iter().any(|o| o.suite == s.suite))
        .ok_or_else(|| PeerMisbehaved::UnofferedCipherSuite.into())
}

/// A HelloRetryRequest (RFC 8446 §4.1.4): send the second ClientHello with the cookie and,
/// if asked, a share on the requested group. Only one retry per handshake.
pub fn on_retry(
    ctx: &mut Context,
    config: &ClientConfig,
    mut hello: Box<ClientHello>,
    mut offer: Box<Offer13>,
    hrr: &ServerHello,
    received: &HandshakeMessage,
) -> Step<ClientState> {
    if offer.retry.is_some() {
        return Err(PeerMisbehaved::BadHelloRetryRequest.into());
    }
    let suite = offered_suite(config, hrr.cipher_suite)?;
    if hrr.session_id != hello.session_id || hrr.compression_method != 0 {
        return Err(PeerMisbehaved::IllegalParameter.into());
    }
    let mut group = None;
    let mut cookie = None;
    for ext in &hrr.extensions {
        match ext.ext_type() {
            ExtensionType::SupportedVersions => {}
            ExtensionType::KeyShare => {
                group = Some(KeyShareHelloRetryRequest::parse(&ext_data(ext)).map_err(Error::InvalidMessage)?);
            }
            ExtensionType::Cookie => cookie = Some(Cookie::parse(&ext_data(ext)).map_err(Error::InvalidMessage)?),
            _ => return Err(PeerMisbehaved::UnofferedExtension.into()),
        }
    }
    if let Some(g) = &group {
        let g = g.selected_group;
        // RFC 8446 §4.1.4: a group we did not offer, or one we already sent a share for.
        let offered = config.common.groups.iter().any(|o| *o == g && is_supported13(g));
        if !offered || offer.shares.iter().any(|s| s.group() == g) {
            return Err(PeerMisbehaved::IllegalParameter.into());
        }
        offer.shares = vec![ClientShare::generate(g, &mut ctx.rng)?];
    } else if cookie.is_none() {
        return Err(PeerMisbehaved::BadHelloRetryRequest.into());
    }
    // The transcript restarts with Hash(ClientHello1) (RFC 8446 §4.4.1).
    let ch1 = hash_message(suite.hash, HandshakeType::ClientHello, &hello.to_vec());
    let mut transcript = crate::wire::tls13::message_hash(ch1.as_ref()).map_err(Error::InvalidMessage)?;
    transcript.extend_from_slice(
        &crate::wire::tls13::transcript_message(HandshakeType::ServerHello, &received.body)
            .map_err(Error::InvalidMessage)?,
    );
    offer.retry = Some(Retry { suite, transcript });
    // The new key_share takes the old one's place; the cookie goes first: some servers
    // (wolfSSL 5.9) look for it only in the first fragment of a hello too large for one
    // datagram (the order of extensions is free, RFC 8446 §4.2).
    hello.extensions.retain(|e| e.ext_type() != ExtensionType::Cookie);
    let at = hello.extensions.iter().position(|e| e.ext_type() == ExtensionType::KeyShare);
    let at = at.unwrap_or(hello.extensions.len());
    hello.extensions.retain(|e| e.ext_type() != ExtensionType::KeyShare);
    hello.extensions.insert(at, key_share_extension(&offer.shares));
    if let Some(c) = cookie {
        hello.extensions.insert(0, c.to_extension());
    }
    ctx.clear_transcript();
    ctx.push_message(&HandshakePayload::ClientHello((*hello).clone()), false);
    let flight = ctx.finish_flight(true);
    let state = ClientState::ExpectServerHello { hello, hello_verify_requests: 0, offered: None, offer13: Some(offer) };
    Ok((state, Output::send(flight)))
}

/// The `extension_data` of an extension.
fn ext_data(ext: &Extension) -> Vec<u8> {
    ext.to_vec().get(4..).unwrap_or_default().to_vec()
}

/// What both directions' handshake keys and the transcript are, from the ServerHello on.
pub struct Hs {
    suite: &'static Suite13,
    schedule: Schedule,
    transcript: Transcript13,
    client_finished: FinishedKey,
    server_finished: FinishedKey,
    /// The extension types of our ClientHello (the server may answer only those).
    offered: Vec<ExtensionType>,
}

/// The server's CertificateRequest: its context and the schemes it accepts.
pub struct Request {
    context: Vec<u8>,
    schemes: Vec<SignatureScheme>,
}

/// Where a DTLS 1.3 client is after the ServerHello.
pub enum Client13 {
    ExpectEncryptedExtensions(Hs),
    ExpectCertificateOrRequest(Hs),
    ExpectCertificate(Hs, Option<Request>),
    ExpectCertificateVerify(Hs, Option<Request>, Vec<CertificateDer<'static>>),
    ExpectFinished(Hs, Option<Request>),
    Connected,
}

/// A ServerHello selecting DTLS 1.3: derive the handshake keys (RFC 8446 §7.1) and expect
/// the server's encrypted flight in epoch 2.
pub fn on_server_hello(
    ctx: &mut Context,
    config: &ClientConfig,
    hello: &ClientHello,
    offer: Offer13,
    sh: &ServerHello,
    received: &HandshakeMessage,
) -> Step<Client13> {
    let suite = offered_suite(config, sh.cipher_suite)?;
    if offer.retry.as_ref().is_some_and(|r| r.suite.suite != suite.suite) {
        return Err(PeerMisbehaved::IllegalParameter.into());
    }
    if sh.session_id != hello.session_id || sh.compression_method != 0 {
        return Err(PeerMisbehaved::IllegalParameter.into());
    }
    let mut share = None;
    for ext in &sh.extensions {
        match ext.ext_type() {
            ExtensionType::SupportedVersions => {}
            ExtensionType::KeyShare => {
                share = Some(KeyShareServerHello::parse(&ext_data(ext)).map_err(Error::InvalidMessage)?.server_share);
            }
            // RFC 9853 §3: the return routability check, if we offered it.
            ExtensionType::RRC if hello.extensions.iter().any(|e| e.ext_type() == ExtensionType::RRC) => {
                ctx.info.rrc = true;
            }
            // RFC 9147 §9: the server's connection ID, answering ours.
            ExtensionType::ConnectionId => match (ext, ctx.info.cid_offered.clone()) {
                (Extension::ConnectionId(peer), Some(own)) => {
                    ctx.info.cids = Some(Box::new(crate::record::protection::Cids::new(own.into(), peer.clone())));
                }
                _ => return Err(PeerMisbehaved::UnofferedExtension.into()),
            },
            _ => return Err(PeerMisbehaved::UnofferedExtension.into()),
        }
    }
    let share = share.ok_or(PeerMisbehaved::MissingExtension)?;
    let Offer13 { shares, retry } = offer;
    let ours = shares.into_iter().find(|s| s.group() == share.group).ok_or(PeerMisbehaved::IllegalParameter)?;
    let secret = ours.complete(&share.key_exchange)?;
    let schedule = Schedule::new(PREFIX, suite.hash, &secret)?;
    let mut transcript = Transcript13::new(suite.hash);
    if let Some(r) = &retry {
        transcript.add_bytes(&r.transcript);
    }
    transcript.add(HandshakeType::ClientHello, &hello.to_vec());
    transcript.add(HandshakeType::ServerHello, &received.body);
    let traffic = schedule.handshake_traffic(transcript.current().as_ref())?;
    ctx.info.server_random = sh.random;
    log_secret(ctx, "CLIENT_HANDSHAKE_TRAFFIC_SECRET", &traffic.client);
    log_secret(ctx, "SERVER_HANDSHAKE_TRAFFIC_SECRET", &traffic.server);
    let (read, server_finished) = handshake_protection(suite, &traffic.server)?;
    let (write, client_finished) = handshake_protection(suite, &traffic.client)?;
    let install = [Install13::Read(read), Install13::Write(write)];
    ctx.info.suite13 = Some(suite);
    ctx.info.group = Some(share.group);
    ctx.clear_transcript();
    let offered = hello.extensions.iter().map(Extension::ext_type).collect();
    let hs = Hs { suite, schedule, transcript, client_finished, server_finished, offered };
    Ok((Client13::ExpectEncryptedExtensions(hs), Output::none().with13(install)))
}

impl Client13 {
    /// Advance on one complete handshake message of the server's encrypted flight.
    pub fn handle(self, ctx: &mut Context, config: &ClientConfig, msg: &HandshakeMessage) -> Step<Self> {
        let body = &msg.body[..];
        match (self, msg.msg_type) {
            (Self::ExpectEncryptedExtensions(mut hs), HandshakeType::ENCRYPTED_EXTENSIONS) => {
                let ee = EncryptedExtensions::read_all(body)?;
                on_encrypted_extensions(ctx, config, &hs.offered, &ee)?;
                hs.transcript.add(msg.msg_type, body);
                Ok((Self::ExpectCertificateOrRequest(hs), Output::none()))
            }
            (Self::ExpectCertificateOrRequest(mut hs), HandshakeType::CertificateRequest) => {
                let req = CertificateRequest::read_all(body)?;
                // RFC 8446 §4.3.2: empty context in the main handshake.
                if !req.certificate_request_context.is_empty() {
                    return Err(PeerMisbehaved::IllegalParameter.into());
                }
                let schemes = match crate::wire::find_extension(&req.extensions, ExtensionType::SignatureAlgorithms) {
                    Some(Extension::SignatureAlgorithms(s)) => s.clone(),
                    _ => return Err(PeerMisbehaved::MissingExtension.into()),
                };
                hs.transcript.add(msg.msg_type, body);
                let request = Request { context: req.certificate_request_context, schemes };
                Ok((Self::ExpectCertificate(hs, Some(request)), Output::none()))
            }
            (Self::ExpectCertificateOrRequest(hs), HandshakeType::Certificate) => {
                Self::ExpectCertificate(hs, None).handle(ctx, config, msg)
            }
            (Self::ExpectCertificate(mut hs, request), HandshakeType::Certificate) => {
                let cert = Certificate::read_all(body)?;
                if !cert.certificate_request_context.is_empty() {
                    return Err(PeerMisbehaved::IllegalParameter.into());
                }
                let chain = auth::chain_of(cert);
                if chain.is_empty() {
                    return Err(PeerMisbehaved::EmptyCertificate.into());
                }
                let now = (ctx.config().time)();
                config.verifier.verify_server_cert(&chain, config.server_name.as_deref(), now)?;
                hs.transcript.add(msg.msg_type, body);
                Ok((Self::ExpectCertificateVerify(hs, request, chain), Output::none()))
            }
            (Self::ExpectCertificateVerify(mut hs, request, chain), HandshakeType::CertificateVerify) => {
                let cv = CertificateVerify::read_all(body)?;
                let leaf = chain.first().ok_or(PeerMisbehaved::EmptyCertificate)?;
                auth::verify(&cv, &ctx.config().verify_schemes, leaf, true, hs.transcript.current().as_ref())?;
                ctx.info.peer_signature_scheme = Some(cv.scheme);
                ctx.info.peer_chain = Some(chain);
                hs.transcript.add(msg.msg_type, body);
                Ok((Self::ExpectFinished(hs, request), Output::none()))
            }
            (Self::ExpectFinished(hs, request), HandshakeType::Finished) => finish(ctx, config, hs, request, body),
            _ => Err(PeerMisbehaved::UnexpectedMessage.into()),
        }
    }
}

/// RFC 8446 §4.3.1: the server may answer only what we offered; ALPN and use_srtp answers
/// are checked as in DTLS 1.2.
fn on_encrypted_extensions(
    ctx: &mut Context,
    config: &ClientConfig,
    offered: &[ExtensionType],
    ee: &EncryptedExtensions,
) -> Result<(), Error> {
    for ext in &ee.extensions {
        let t = ext.ext_type();
        // supported_groups may be sent by the server (RFC 8446 §4.2.7) for the next time.
        if !offered.contains(&t) {
            return Err(PeerMisbehaved::UnofferedExtension.into());
        }
        match ext {
            Extension::Alpn(answer) => {
                ctx.info.alpn_protocol = Some(alpn::check_answer(&config.common.alpn_protocols, answer)?);
            }
            Extension::UseSrtp { profiles, mki } => {
                ctx.info.srtp_profile =
                    Some(srtp::check_answer(&config.common.srtp_profiles, &config.srtp_mki, profiles, mki)?);
                ctx.info.srtp_mki = mki.clone();
            }
            Extension::ServerName(_) => ctx.info.server_name = config.server_name.clone(),
            Extension::SupportedGroups(_) => {}
            // RFC 8446 §4.2: these belong in the ServerHello or nowhere.
            _ if matches!(t, ExtensionType::KeyShare | ExtensionType::SupportedVersions) => {
                return Err(PeerMisbehaved::IllegalParameter.into());
            }
            _ => {}
        }
    }
    if ctx.info.srtp_profile.is_none() && config.common.require_srtp {
        return Err(PeerIncompatible::NoCommonSrtpProfile.into());
    }
    Ok(())
}

/// The server's Finished (RFC 8446 §4.4.4): check it, derive the application secrets, and
/// send our last flight — \[Certificate, CertificateVerify\], Finished — in epoch 2. It waits
/// for the server's ACK (RFC 9147 §5.8.3), so it keeps its retransmission timer.
fn finish(
    ctx: &mut Context,
    config: &ClientConfig,
    mut hs: Hs,
    request: Option<Request>,
    body: &[u8],
) -> Step<Client13> {
    let expected = hs.server_finished.verify_data(hs.transcript.current().as_ref());
    if !ct_eq(body, &expected) {
        return Err(PeerMisbehaved::BadFinished.into());
    }
    hs.transcript.add(HandshakeType::Finished, body);
    let app = hs.schedule.application(hs.transcript.current().as_ref())?;
    if let Some(req) = request {
        let chain = config.certificate.as_ref().map(|(c, _)| c.clone()).unwrap_or_default();
        let cert = auth::certificate_body(&req.context, &chain);
        hs.transcript.add(HandshakeType::Certificate, &cert);
        ctx.push13(EPOCH_HANDSHAKE, HandshakeType::Certificate, cert);
        if let Some((_, key)) = &config.certificate {
            let cv = auth::sign(key, &req.schemes, false, hs.transcript.current().as_ref(), &mut ctx.rng)?;
            let cv = cv.to_vec();
            hs.transcript.add(HandshakeType::CertificateVerify, &cv);
            ctx.push13(EPOCH_HANDSHAKE, HandshakeType::CertificateVerify, cv);
        }
    }
    let verify_data = hs.client_finished.verify_data(hs.transcript.current().as_ref());
    ctx.push13(EPOCH_HANDSHAKE, HandshakeType::Finished, Finished { verify_data }.to_vec());
    let flight = ctx.finish_flight(true);
    log_secret(ctx, "CLIENT_TRAFFIC_SECRET_0", &app.traffic.client);
    log_secret(ctx, "SERVER_TRAFFIC_SECRET_0", &app.traffic.server);
    log_secret(ctx, "EXPORTER_SECRET", &app.exporter);
    let install = [
        Install13::Write(protection(hs.suite, &app.traffic.client, EPOCH_APPLICATION)?),
        Install13::Read(protection(hs.suite, &app.traffic.server, EPOCH_APPLICATION)?),
        Install13::Secrets(AppSecrets {
            suite: hs.suite,
            write: app.traffic.client,
            read: app.traffic.server,
            exporter: app.exporter,
        }),
    ];
    ctx.establish13();
    Ok((Client13::Connected, Output::send(flight).with13(install).established()))
}
