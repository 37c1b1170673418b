//! The `-expect-*` checks, made once the handshake completes (BoringSSL's shim makes them in
//! `CheckHandshakeProperties`), against what the session reports through its public API.

use dtls_engine::Session;
use dtls_engine::internals::crypto::load_certificates;

use crate::Failure;
use crate::flags::Opts;

fn fail(msg: String) -> Result<(), Failure> {
    Err(Failure::Failed(msg))
}

pub fn after_handshake(o: &Opts, s: &Session, is_resume: bool) -> Result<(), Failure> {
    if s.cipher_suite().is_none() {
        return fail("no cipher suite after the handshake".into());
    }
    // A resumption must resume unless the test expects a miss; a first connection cannot.
    let expect_resumed = is_resume && !o.expect_session_miss;
    if s.is_resumed() != expect_resumed {
        let was = if s.is_resumed() { "was" } else { "was not" };
        return fail(format!("session unexpectedly {was} resumed"));
    }
    if let Some(want) = o.expect_version {
        // The engine speaks DTLS 1.2 only, and says so.
        let got = if s.protocol() == "DTLSv1.2" { crate::flags::DTLS1_2 } else { 0 };
        if got != want {
            return fail(format!("want version {want:04x}, got {got:04x}"));
        }
    }
    if let Some(want) = o.expect_cipher {
        let got = s.cipher_suite().map(u16::from).unwrap_or(0);
        if got != want {
            return fail(format!("cipher was {got:04x}, wanted {want:04x}"));
        }
    }
    if let Some(want) = o.expect_curve_id {
        let got = s.negotiated_group().map(u16::from).unwrap_or(0);
        if got != want {
            return fail(format!("curve was {got:04x}, wanted {want:04x}"));
        }
    }
    // As BoringSSL's shim: a server must have selected exactly -select-alpn (nothing when
    // declining), a client must report exactly -expect-alpn (nothing without it).
    let want_alpn: &[u8] = if o.server {
        if o.decline_alpn { b"" } else { o.select_alpn.as_deref().unwrap_or(b"") }
    } else {
        o.expect_alpn.as_deref().unwrap_or(b"")
    };
    let got_alpn = s.alpn_protocol().unwrap_or(b"");
    if got_alpn != want_alpn {
        return fail(format!(
            "negotiated ALPN {:?}, wanted {:?}",
            String::from_utf8_lossy(got_alpn),
            String::from_utf8_lossy(want_alpn)
        ));
    }
    if let Some(want) = &o.expect_server_name
        && s.server_name() != Some(want.as_str())
    {
        return fail(format!("server name {:?}, wanted {want:?}", s.server_name()));
    }
    if o.expect_ticket_renewal && is_resume && !o.server && !s.new_ticket_received() {
        return fail("the resumption did not renew the ticket".into());
    }
    // BoringSSL's "new session" callback on a server: the first connection's session went
    // into the server's cache by ID (a ticketed session does not).
    if let Some(want) = o.expect_session_id
        && o.server
        && !is_resume
        && want == s.session_id().is_empty()
    {
        let was = if want { "was not" } else { "was unexpectedly" };
        return fail(format!("session {was} cached on the server"));
    }
    if o.expect_extended_master_secret && !s.extended_master_secret() {
        return fail("no extended master secret, expected one".into());
    }
    // A client always authenticates the server; a server requiring a certificate has one
    // (a resumed session keeps the certificates of its full handshake).
    if (!o.server || o.require_any_client_certificate) && s.peer_certificates().is_none() {
        return fail("no peer certificate, expected one".into());
    }
    if o.expect_verify_result && o.verify_fail {
        return fail("the handshake succeeded although -verify-fail rejected the certificate".into());
    }
    if let Some(path) = &o.expect_peer_cert_file {
        let pem = std::fs::read(path).map_err(|e| Failure::Failed(format!("cannot read {path}: {e}")))?;
        let want = load_certificates(&pem).map_err(|e| Failure::Failed(format!("{path}: {e}")))?;
        let got = s.peer_certificates().unwrap_or(&[]);
        if got != want.as_slice() {
            return fail(format!("peer sent a chain of {} certificates, not the {} of {path}", got.len(), want.len()));
        }
    }
    Ok(())
}
