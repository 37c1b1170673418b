//! The DTLS 1.3 server (RFC 8446 §4 with RFC 9147 §5). The DTLS 1.2 server hands it a
//! ClientHello that offers 1.3 ([`on_client_hello`]); it answers with a HelloRetryRequest
//! (cookie, or a group it has no share for) or with its whole flight, and its states take
//! the client's last flight.

use rustls_pki_types::CertificateDer;

use super::cookie::{self, RetryState};
use super::shares::{self, is_supported13};
use super::{
    AppSecrets, EPOCH_APPLICATION, EPOCH_HANDSHAKE, Install13, PREFIX, Transcript13, auth, handshake_protection,
    hash_message, log_secret, protection,
};
use crate::codec::Codec;
use crate::config::{ClientAuth, ServerConfig};
use crate::crypto::ct_eq;
use crate::crypto::tls13::{FinishedKey, Schedule};
use crate::error::{Error, PeerIncompatible, PeerMisbehaved};
use crate::extensions::{alpn, srtp};
use crate::handshake::context::Context;
use crate::handshake::output::{Output, Step};
use crate::handshake::reassembler::HandshakeMessage;
use crate::registry::NamedGroup;
use crate::suites::Suite13;
use crate::wire::tls13::{
    Certificate, CertificateRequest, Cookie, EncryptedExtensions, ExtensionBody, KeyShareClientHello, KeyShareEntry,
    KeyShareServerHello, SupportedVersionsClientHello, SupportedVersionsServerHello,
};
use crate::wire::{
    CertificateVerify, ClientHello, DTLS_1_2, DTLS_1_3, Extension, ExtensionType, Finished, HandshakePayload,
    HandshakeType, ServerHello, find_extension,
};

/// Whether a ClientHello offers DTLS 1.3 (RFC 8446 §4.2.1).
pub fn offers_13(hello: &ClientHello) -> bool {
    SupportedVersionsClientHello::find_in(&hello.extensions)
        .ok()
        .flatten()
        .is_some_and(|v| v.versions.contains(&DTLS_1_3))
}

/// What the server carries from its flight to the client's Finished.
pub struct Hs {
    transcript: Transcript13,
    client_finished: FinishedKey,
}

/// Where a DTLS 1.3 server is once its flight is out.
pub enum Server13 {
    ExpectCertificate(Hs),
    ExpectCertificateVerify(Hs, Vec<CertificateDer<'static>>),
    ExpectFinished(Hs),
    Connected,
}

/// What [`on_client_hello`] did: retried (the 1.2 machine stays in its first state) or
/// answered with the whole flight.
pub enum Answer {
    Retried(Output),
    Accepted(Box<Server13>, Output),
}

/// Our choice of suite: the first of ours the client offers.
pub fn choose_suite(config: &ServerConfig, hello: &ClientHello) -> Option<&'static Suite13> {
    config.common.suites13.iter().copied().find(|s| hello.cipher_suites.contains(&s.suite))
}

/// The group to use, and the client's share on it if it sent one: our preference among the
/// groups the client sent shares for, else our preference among the groups it supports
/// (then a HelloRetryRequest asks for a share).
pub fn choose_group(config: &ServerConfig, hello: &ClientHello) -> Result<(NamedGroup, Option<Vec<u8>>), Error> {
    let shares = KeyShareClientHello::find_in(&hello.extensions)?.ok_or(PeerMisbehaved::MissingExtension)?;
    let supported = match find_extension(&hello.extensions, ExtensionType::SupportedGroups) {
        Some(Extension::SupportedGroups(g)) => g.clone(),
        _ => return Err(PeerMisbehaved::MissingExtension.into()),
    };
    // RFC 8446 §4.2.8: each share must be for a group in supported_groups.
    if shares.client_shares.iter().any(|s| !supported.contains(&s.group)) {
        return Err(PeerMisbehaved::IllegalParameter.into());
    }
    let ours = || config.common.groups.iter().copied().filter(|g| is_supported13(*g));
    for g in ours() {
        if let Some(share) = shares.client_shares.iter().find(|s| s.group == g) {
            return Ok((g, Some(share.key_exchange.clone())));
        }
    }
    ours().find(|g| supported.contains(g)).map(|g| (g, None)).ok_or_else(|| PeerIncompatible::NoCommonGroup.into())
}

/// A ClientHello offering DTLS 1.3. A first hello gets a HelloRetryRequest when the server
/// validates addresses itself (`needs_cookie`) or has no share on a group it accepts; a
/// second one carries the cookie, which restores what the retry fixed. `verified` is that
/// cookie's content when an endpoint already opened it (with its own secrets) before
/// creating this session.
pub fn on_client_hello(
    ctx: &mut Context,
    config: &ServerConfig,
    hello: &ClientHello,
    received: &HandshakeMessage,
    needs_cookie: bool,
    verified: Option<RetryState>,
) -> Result<Answer, Error> {
    // RFC 9147 §5.3: a DTLS 1.3 ClientHello has an empty legacy_cookie; RFC 8446 §4.1.2:
    // compression_methods is exactly the null method.
    if !hello.cookie.is_empty() || hello.compression_methods != [0] {
        return Err(PeerMisbehaved::IllegalParameter.into());
    }
    let suite = choose_suite(config, hello).ok_or(PeerIncompatible::NoCommonCipherSuite)?;
    let cookie = Cookie::find_in(&hello.extensions)?;
    let retry = match (&cookie, verified) {
        (Some(_), Some(v)) => Some(v),
        (Some(c), None) => {
            Some(cookie::open(&config.cookie_key, ctx.peer, &c.cookie).ok_or(PeerMisbehaved::BadCookie)?)
        }
        (None, _) => None,
    };
    let (group, share) = choose_group(config, hello)?;
    let Some(retry) = retry else {
        if share.is_none() || needs_cookie {
            return retry_request(ctx, config, hello, received, suite, share.is_none().then_some(group));
        }
        let mut transcript = Transcript13::new(suite.hash);
        transcript.add(HandshakeType::ClientHello, &received.body);
        return accept(ctx, config, hello, suite, group, share.unwrap_or_default(), transcript);
    };
    // The second ClientHello: same suite, and a share on the group asked for (RFC 8446
    // §4.1.2: "the client MUST send the same ClientHello" but for these).
    if retry.suite != suite.suite {
        return Err(PeerMisbehaved::IllegalParameter.into());
    }
    let (group, share) = match retry.group {
        Some(g) => {
            let shares = KeyShareClientHello::find_in(&hello.extensions)?.ok_or(PeerMisbehaved::MissingExtension)?;
            let [only] = &shares.client_shares[..] else { return Err(PeerMisbehaved::IllegalParameter.into()) };
            if only.group != g {
                return Err(PeerMisbehaved::IllegalParameter.into());
            }
            (g, only.key_exchange.clone())
        }
        None => (group, share.ok_or(PeerMisbehaved::IllegalParameter)?),
    };
    let mut transcript = Transcript13::after_retry(suite.hash, &retry.client_hello1_hash)?;
    let hrr = cookie::hello_retry_request(&hello.session_id, &retry, cookie.map(|c| c.cookie).unwrap_or_default());
    transcript.add(HandshakeType::ServerHello, &hrr.to_vec());
    transcript.add(HandshakeType::ClientHello, &received.body);
    accept(ctx, config, hello, suite, group, share, transcript)
}

/// RFC 8446 §4.1.4: ask for another ClientHello, carrying our choices in the cookie. The
/// request numbers itself like the hello it answers (RFC 9147 §5.2) and is not
/// retransmitted: the client's retransmitted hello asks for it again.
fn retry_request(
    ctx: &mut Context,
    config: &ServerConfig,
    hello: &ClientHello,
    received: &HandshakeMessage,
    suite: &'static Suite13,
    group: Option<NamedGroup>,
) -> Result<Answer, Error> {
    let state = RetryState {
        suite: suite.suite,
        group,
        client_hello1_hash: hash_message(suite.hash, HandshakeType::ClientHello, &received.body).as_ref().to_vec(),
    };
    let cookie = cookie::seal(&config.cookie_key, ctx.peer, &state);
    let hrr = cookie::hello_retry_request(&hello.session_id, &state, cookie);
    ctx.send_seq = received.message_seq;
    ctx.clear_transcript();
    ctx.push_message(&HandshakePayload::ServerHello(hrr), false);
    Ok(Answer::Retried(Output::send(ctx.finish_flight(false))))
}

/// Answer a ClientHello we accept: ServerHello in epoch 0, then EncryptedExtensions,
/// \[CertificateRequest\], Certificate, CertificateVerify and Finished in epoch 2.
fn accept(
    ctx: &mut Context,
    config: &ServerConfig,
    hello: &ClientHello,
    suite: &'static Suite13,
    group: NamedGroup,
    client_share: Vec<u8>,
    mut transcript: Transcript13,
) -> Result<Answer, Error> {
    if let Some(Extension::ServerName(Some(name))) = find_extension(&hello.extensions, ExtensionType::ServerName) {
        ctx.info.server_name = Some(name.clone());
    }
    let client_schemes = match find_extension(&hello.extensions, ExtensionType::SignatureAlgorithms) {
        Some(Extension::SignatureAlgorithms(s)) => s.clone(),
        _ => return Err(PeerMisbehaved::MissingExtension.into()),
    };
    let (server_share, secret) = shares::respond(group, &client_share, &mut ctx.rng)?;
    ctx.info.client_random = hello.random;
    ctx.info.server_random = ctx.random32();
    let mut extensions = vec![
        SupportedVersionsServerHello { selected_version: DTLS_1_3 }.to_extension(),
        KeyShareServerHello { server_share: KeyShareEntry { group, key_exchange: server_share } }.to_extension(),
    ];
    // RFC 9147 §9 with RFC 9146 §3: the server answers a client's connection_id in its
    // ServerHello (CIDs are in use from the first protected record).
    if let (Some(policy), Some(Extension::ConnectionId(peer))) =
        (&config.common.connection_ids, find_extension(&hello.extensions, ExtensionType::ConnectionId))
    {
        let own = policy.generate(&mut ctx.rng);
        extensions.push(Extension::ConnectionId(own.clone()));
        ctx.info.cids = Some(Box::new(crate::record::protection::Cids::new(own, peer.clone())));
        ctx.info.rrc = crate::extensions::rrc::answer(config.common.rrc, &hello.extensions, &mut extensions);
    }
    let sh = ServerHello {
        server_version: DTLS_1_2,
        random: ctx.info.server_random,
        session_id: hello.session_id.clone(),
        cipher_suite: suite.suite,
        compression_method: 0,
        extensions,
    };
    let sh = sh.to_vec();
    transcript.add(HandshakeType::ServerHello, &sh);
    ctx.push13(crate::wire::Epoch::PLAINTEXT, HandshakeType::ServerHello, sh);
    let schedule = Schedule::new(PREFIX, suite.hash, &secret)?;
    let traffic = schedule.handshake_traffic(transcript.current().as_ref())?;
    log_secret(ctx, "CLIENT_HANDSHAKE_TRAFFIC_SECRET", &traffic.client);
    log_secret(ctx, "SERVER_HANDSHAKE_TRAFFIC_SECRET", &traffic.server);

    let ee = EncryptedExtensions { extensions: encrypted_extensions(ctx, config, hello)? }.to_vec();
    transcript.add(HandshakeType::ENCRYPTED_EXTENSIONS, &ee);
    ctx.push13(EPOCH_HANDSHAKE, HandshakeType::ENCRYPTED_EXTENSIONS, ee);
    let wants_cert = !matches!(config.client_auth, ClientAuth::None);
    if wants_cert {
        let schemes = config.common.verify_schemes.iter().copied().filter(|s| auth::allowed_in_verify(*s)).collect();
        let req = CertificateRequest {
            certificate_request_context: Vec::new(),
            extensions: vec![Extension::SignatureAlgorithms(schemes)],
        }
        .to_vec();
        transcript.add(HandshakeType::CertificateRequest, &req);
        ctx.push13(EPOCH_HANDSHAKE, HandshakeType::CertificateRequest, req);
    }
    let identity = config.identity_for(ctx.info.server_name.as_deref());
    let cert = auth::certificate_body(&[], &identity.chain);
    transcript.add(HandshakeType::Certificate, &cert);
    ctx.push13(EPOCH_HANDSHAKE, HandshakeType::Certificate, cert);
    let cv = auth::sign(&identity.key, &client_schemes, true, transcript.current().as_ref(), &mut ctx.rng)?.to_vec();
    transcript.add(HandshakeType::CertificateVerify, &cv);
    ctx.push13(EPOCH_HANDSHAKE, HandshakeType::CertificateVerify, cv);
    let (write2, server_finished) = handshake_protection(suite, &traffic.server)?;
    let (read2, client_finished) = handshake_protection(suite, &traffic.client)?;
    let verify_data = server_finished.verify_data(transcript.current().as_ref());
    let fin = Finished { verify_data }.to_vec();
    transcript.add(HandshakeType::Finished, &fin);
    ctx.push13(EPOCH_HANDSHAKE, HandshakeType::Finished, fin);
    let flight = ctx.finish_flight(true);

    let app = schedule.application(transcript.current().as_ref())?;
    log_secret(ctx, "CLIENT_TRAFFIC_SECRET_0", &app.traffic.client);
    log_secret(ctx, "SERVER_TRAFFIC_SECRET_0", &app.traffic.server);
    log_secret(ctx, "EXPORTER_SECRET", &app.exporter);
    // The client's records of epoch 3 may arrive before its Finished does (reordering);
    // they open, but the session delivers nothing before the handshake completes.
    let install = [
        Install13::Read(read2),
        Install13::Write(write2),
        Install13::Write(protection(suite, &app.traffic.server, EPOCH_APPLICATION)?),
        Install13::Read(protection(suite, &app.traffic.client, EPOCH_APPLICATION)?),
        Install13::Secrets(AppSecrets {
            suite,
            write: app.traffic.server,
            read: app.traffic.client,
            exporter: app.exporter,
        }),
    ];
    ctx.info.suite13 = Some(suite);
    ctx.info.group = Some(group);
    ctx.clear_transcript();
    let hs = Hs { transcript, client_finished };
    let next = if wants_cert { Server13::ExpectCertificate(hs) } else { Server13::ExpectFinished(hs) };
    Ok(Answer::Accepted(Box::new(next), Output::send(flight).with13(install)))
}

/// EncryptedExtensions (RFC 8446 §4.3.1): ALPN, use_srtp and the server_name
/// acknowledgement, chosen as in DTLS 1.2.
fn encrypted_extensions(
    ctx: &mut Context,
    config: &ServerConfig,
    hello: &ClientHello,
) -> Result<Vec<Extension>, Error> {
    let offered_alpn = match find_extension(&hello.extensions, ExtensionType::Alpn) {
        Some(Extension::Alpn(list)) => Some(list.as_slice()),
        _ => None,
    };
    let alpn = alpn::server_choice(config, offered_alpn)?;
    let srtp_answer = match find_extension(&hello.extensions, ExtensionType::UseSrtp) {
        Some(Extension::UseSrtp { profiles, .. }) => srtp::select(&config.common.srtp_profiles, profiles),
        _ => None,
    };
    if srtp_answer.is_none() && config.common.require_srtp {
        return Err(PeerIncompatible::NoCommonSrtpProfile.into());
    }
    let mut extensions = Vec::new();
    if ctx.info.server_name.is_some() {
        extensions.push(Extension::ServerName(None));
    }
    if let Some(p) = &alpn {
        extensions.push(Extension::Alpn(vec![p.clone()]));
    }
    if let Some(p) = srtp_answer {
        extensions.push(Extension::UseSrtp { profiles: vec![p], mki: Vec::new() });
    }
    ctx.info.alpn_protocol = alpn;
    ctx.info.srtp_profile = srtp_answer;
    Ok(extensions)
}

impl Server13 {
    /// Advance on one complete handshake message of the client's last flight.
    pub fn handle(self, ctx: &mut Context, config: &ServerConfig, msg: &HandshakeMessage) -> Step<Self> {
        let body = &msg.body[..];
        match (self, msg.msg_type) {
            (Self::ExpectCertificate(mut hs), HandshakeType::Certificate) => {
                let cert = Certificate::read_all(body)?;
                if !cert.certificate_request_context.is_empty() {
                    return Err(PeerMisbehaved::IllegalParameter.into());
                }
                hs.transcript.add(msg.msg_type, body);
                let chain = auth::chain_of(cert);
                let verifier = match &config.client_auth {
                    ClientAuth::Required(v) | ClientAuth::Optional(v) => v,
                    ClientAuth::None => return Err(PeerMisbehaved::UnexpectedMessage.into()),
                };
                if chain.is_empty() {
                    // RFC 8446 §4.4.2.4: certificate_required when one is needed.
                    if matches!(config.client_auth, ClientAuth::Required(_)) {
                        return Err(PeerIncompatible::CertificateRequired.into());
                    }
                    return Ok((Self::ExpectFinished(hs), Output::none()));
                }
                verifier.verify_client_cert(&chain, (ctx.config().time)())?;
                Ok((Self::ExpectCertificateVerify(hs, chain), Output::none()))
            }
            (Self::ExpectCertificateVerify(mut hs, chain), HandshakeType::CertificateVerify) => {
                let cv = CertificateVerify::read_all(body)?;
                let leaf = chain.first().ok_or(PeerMisbehaved::EmptyCertificate)?;
                auth::verify(&cv, &config.common.verify_schemes, leaf, false, hs.transcript.current().as_ref())?;
                ctx.info.peer_signature_scheme = Some(cv.scheme);
                ctx.info.peer_chain = Some(chain);
                hs.transcript.add(msg.msg_type, body);
                Ok((Self::ExpectFinished(hs), Output::none()))
            }
            // docs/security.md item 1: a client certificate without proof of possession.
            (Self::ExpectCertificateVerify(..), HandshakeType::Finished) => {
                Err(PeerMisbehaved::MissingCertificateVerify.into())
            }
            (Self::ExpectFinished(hs), HandshakeType::Finished) => {
                let expected = hs.client_finished.verify_data(hs.transcript.current().as_ref());
                if !ct_eq(body, &expected) {
                    return Err(PeerMisbehaved::BadFinished.into());
                }
                ctx.establish13();
                Ok((Self::Connected, Output::none().established()))
            }
            _ => Err(PeerMisbehaved::UnexpectedMessage.into()),
        }
    }
}
