//! Client-side session resumption (RFC 5246 §7.3, RFC 5077): where a session is filed in the
//! client's store, taking up an offered session the server resumed, and keeping a new one.

use crate::config::ClientConfig;
use crate::error::{Error, PeerMisbehaved};
use crate::handshake::context::Context;
use crate::handshake::key_schedule::MasterSecret;
use crate::resumption::ClientSession;
use crate::suites::SuiteInfo;

/// The key a client session store files this session's server under: the configured
/// server name, else the server's address.
pub(super) fn store_key(ctx: &Context, config: &ClientConfig) -> String {
    config.server_name.clone().unwrap_or_else(|| ctx.peer.to_string())
}

/// The server resumed the session we offered (RFC 5246 §7.3): it must keep that session's
/// suite (RFC 5246 §7.4.1.3), and the extended master secret on both or neither
/// (RFC 7627 §5.3); keys come from the stored master secret.
pub(super) fn resume(
    ctx: &mut Context,
    suite: &SuiteInfo,
    offered: &ClientSession,
) -> Result<(crate::handshake::output::EpochKeys, MasterSecret), Error> {
    let stored = &offered.session;
    if suite.suite != stored.suite {
        return Err(PeerMisbehaved::UnofferedCipherSuite.into());
    }
    if ctx.info.extended_master_secret != stored.ems {
        return Err(PeerMisbehaved::MissingExtendedMasterSecret.into());
    }
    ctx.info.session_id = offered.session_id.clone();
    let derived = ctx.resume_keys(suite, stored)?;
    // A resumed session keeps its ticket unless the server sends a new one.
    ctx.info.new_ticket = None;
    Ok(derived)
}

/// Keep the session just established in the configuration's store, by session ID or by
/// the ticket received (an empty ticket and an empty ID leave nothing to resume).
pub(super) fn store_session(ctx: &mut Context, config: &ClientConfig, suite: &SuiteInfo, master: &MasterSecret) {
    let Some(store) = &config.session_store else { return };
    let key = store_key(ctx, config);
    let new_ticket = ctx.info.new_ticket.take().filter(|(t, _)| !t.is_empty());
    // RFC 5077 §3.4: a server may renew the ticket in an abbreviated handshake; if it did
    // not, the stored entry (ticket, session ID, lifetime) stays as it was.
    if ctx.info.resumed && new_ticket.is_none() {
        return;
    }
    if new_ticket.is_none() && ctx.info.session_id.is_empty() {
        store.remove(&key);
        return;
    }
    // RFC 5077 §5.6: keep a ticket no longer than its lifetime hint; a session ID (or a
    // ticket without a hint) for a day.
    let hint = new_ticket.as_ref().map_or(0, |(_, hint)| *hint);
    let lifetime = if hint == 0 { 24 * 60 * 60 } else { hint };
    let session = ctx.stored_session(suite, master, lifetime);
    let ticket = new_ticket.map(|(t, _)| t);
    store.insert(&key, ClientSession { session, session_id: ctx.info.session_id.clone(), ticket });
}
