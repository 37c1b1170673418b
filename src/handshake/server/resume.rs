//! The server's side of session resumption (RFC 5246 §7.3, RFC 5077): whether a ClientHello
//! may resume, the abbreviated handshake's flight, and sealing or caching the session a full
//! handshake established.

use crate::config::{ClientAuth, ServerConfig};
use crate::error::{Error, PeerIncompatible, PeerMisbehaved};
use crate::handshake::context::Context;
use crate::handshake::key_schedule::{MasterSecret, Side};
use crate::handshake::output::{Output, Step};
use crate::resumption::{Forget, StoredSession};
use crate::suites::{self, SuiteInfo};
use crate::wire::{
    ClientHello, DTLS_1_2, Extension, ExtensionType, Finished, HandshakePayload, ServerHello, find_extension,
};

use super::ServerState;

/// The session `hello` asks to resume, if we have it and may resume it (RFC 5246 §7.4.1.2,
/// RFC 5077 §3.4): a ticket we sealed, else a session ID in our cache; still fresh; its
/// suite offered by the client and enabled here; a client certificate on record if we
/// require one. A session with the extended master secret and a hello without it is fatal
/// (RFC 7627 §5.3: "the server MUST abort the abbreviated handshake"); the reverse means a
/// full handshake.
pub(super) fn resumable(
    ctx: &Context,
    config: &ServerConfig,
    hello: &ClientHello,
    ems: bool,
) -> Result<Option<StoredSession>, Error> {
    let now = ctx.now_secs();
    let r = &config.resumption;
    let ticket = match find_extension(&hello.extensions, ExtensionType::SessionTicket) {
        Some(Extension::SessionTicket(t)) if !t.is_empty() => Some(t),
        _ => None,
    };
    let stored = match (ticket, &r.tickets, &r.cache) {
        // RFC 5077 §3.4: a client offering a ticket may send a session ID, which we echo on
        // acceptance; without one it tells acceptance by our next message (ChangeCipherSpec
        // rather than Certificate).
        (Some(t), Some(keys), _) => keys.open(t, now),
        (None, _, Some(cache)) if !hello.session_id.is_empty() => cache.get(&hello.session_id, now),
        _ => None,
    };
    let Some(stored) = stored.filter(|s| s.is_fresh(now)) else { return Ok(None) };
    let suite_ok =
        hello.cipher_suites.contains(&stored.suite) && config.common.suites.iter().any(|s| s.suite == stored.suite);
    let cert_ok = !matches!(config.client_auth, ClientAuth::Required(_)) || !stored.peer_chain.is_empty();
    if !suite_ok || !cert_ok {
        return Ok(None);
    }
    if stored.ems && !ems {
        return Err(PeerMisbehaved::MissingExtendedMasterSecret.into());
    }
    Ok((stored.ems == ems).then_some(stored))
}

/// RFC 5246 §7.3 abbreviated handshake, server side: ServerHello with the client's session
/// ID, ChangeCipherSpec and Finished, keys from the resumed master secret. The flight waits
/// for the client's ChangeCipherSpec and Finished, re-sent on its timer until they come.
pub(super) fn resume(
    ctx: &mut Context,
    config: &ServerConfig,
    hello: &ClientHello,
    stored: &StoredSession,
    extensions: Vec<Extension>,
) -> Step<ServerState> {
    let suite = suites::lookup(stored.suite).ok_or(PeerIncompatible::NoCommonCipherSuite)?;
    ctx.info.suite = Some(suite);
    ctx.info.session_id = hello.session_id.clone();
    let server_hello = ServerHello {
        server_version: DTLS_1_2,
        random: ctx.info.server_random,
        session_id: hello.session_id.clone(),
        cipher_suite: suite.suite,
        compression_method: 0,
        extensions,
    };
    ctx.push_message(&HandshakePayload::ServerHello(server_hello), true);
    let (keys, master) = ctx.resume_keys(suite, stored)?;
    let hash = ctx.transcript_hash(suite);
    let verify_data = master.verify_data(Side::Server, hash.as_ref());
    ctx.push_change_cipher_spec();
    ctx.push_message(&HandshakePayload::Finished(Finished { verify_data: verify_data.to_vec() }), true);
    let flight = ctx.finish_flight(true);
    if let Some(cache) = &config.resumption.cache {
        ctx.forget = Some(Forget::Server(cache.clone(), hello.session_id.clone()));
    }
    Ok((ServerState::ExpectResumedFinished { suite, master }, Output::send(flight).with_keys(keys)))
}

/// Seal this handshake's session into a ticket (empty if we cannot: RFC 5077 §3.3 allows
/// an empty ticket when the server promised one and then has none to give).
pub(super) fn issue_ticket(ctx: &Context, config: &ServerConfig, suite: &SuiteInfo, master: &MasterSecret) -> Vec<u8> {
    let r = &config.resumption;
    let Some(keys) = &r.tickets else { return Vec::new() };
    let session = ctx.stored_session(suite, master, r.lifetime);
    keys.seal(&session, session.issued).unwrap_or_default()
}

/// Cache the session just established under its session ID, and forget it again if the
/// connection ends in a fatal alert.
pub(super) fn remember_session(ctx: &mut Context, config: &ServerConfig, suite: &SuiteInfo, master: &MasterSecret) {
    let r = &config.resumption;
    let (Some(cache), Ok(id)) = (&r.cache, <[u8; 32]>::try_from(ctx.info.session_id.as_slice())) else { return };
    cache.insert(id, ctx.stored_session(suite, master, r.lifetime));
    ctx.forget = Some(Forget::Server(cache.clone(), id.to_vec()));
}
