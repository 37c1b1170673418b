//! Turns command-line arguments into engine configurations. Every check of a value the
//! engine also checks (names, MTU range) is left to the engine's builders.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use dtls_engine::certgen::generate_self_signed;
use dtls_engine::internals::crypto::load_certificates;
use dtls_engine::internals::profile_by_name;
use dtls_engine::{
    AcceptAnyClientCert, ClientAuth, ClientConfig, ClientConfigBuilder, KeyLogFile, ServerConfig, ServerConfigBuilder,
    SrtpProtectionProfile, WebPkiClientVerifier,
};

use crate::{ClientArgs, CommonArgs, ServerArgs};

/// What went wrong while reading the arguments or files (printed after `error: `).
pub type Problem = String;

/// What to export once a session is established.
#[derive(Debug, Clone)]
pub struct Export {
    pub label: String,
    pub len: usize,
    pub context: Option<Vec<u8>>,
}

impl Export {
    fn of(c: &CommonArgs) -> Result<Option<Self>, Problem> {
        let (Some(label), Some(len)) = (&c.export_label, c.export_len) else { return Ok(None) };
        let context = c.export_context.as_deref().map(|h| hex_decode(h, "--export-context")).transpose()?;
        Ok(Some(Self { label: label.clone(), len, context }))
    }
}

fn read(path: &Path) -> Result<Vec<u8>, Problem> {
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hex_decode(s: &str, flag: &str) -> Result<Vec<u8>, Problem> {
    let s = s.trim();
    let bad = || format!("{flag}: {s:?} is not hex");
    if !s.len().is_multiple_of(2) {
        return Err(bad());
    }
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|b| u8::from_str_radix(b, 16).ok()).ok_or_else(bad))
        .collect()
}

fn version(name: &str, flag: &str) -> Result<dtls_engine::ProtocolVersion, Problem> {
    dtls_engine::ProtocolVersion::from_name(name).ok_or_else(|| format!("{flag}: {name:?} is not 1.2 or 1.3"))
}

fn srtp_profiles(list: &str) -> Result<Vec<SrtpProtectionProfile>, Problem> {
    list.split(':')
        .filter(|n| !n.is_empty())
        .map(|n| profile_by_name(n).ok_or_else(|| format!("--srtp: unknown profile {n}")))
        .collect()
}

/// Apply the settings both roles share to a builder of either kind.
macro_rules! apply_common {
    ($builder:expr, $c:expr) => {{
        let c: &CommonArgs = $c;
        let mut b = $builder;
        if let Some(list) = &c.cipher {
            let names: Vec<&str> = list.split(':').filter(|n| !n.is_empty()).collect();
            b = b.cipher_suites_by_name(&names);
        }
        if let Some(list) = &c.alpn {
            let names: Vec<&[u8]> = list.split(',').map(str::as_bytes).collect();
            b = b.alpn_protocols(&names);
        }
        if let Some(list) = &c.srtp {
            b = b.srtp_profiles(&srtp_profiles(list)?);
        }
        if let Some(mtu) = c.mtu {
            b = b.mtu(mtu);
        }
        if let Some(list) = &c.groups {
            let names: Vec<&str> = list.split(':').filter(|n| !n.is_empty()).collect();
            b = b.groups_by_name(&names);
        }
        if let Some(v) = &c.min_version {
            b = b.min_version(version(v, "--min-version")?);
        }
        if let Some(v) = &c.max_version {
            b = b.max_version(version(v, "--max-version")?);
        }
        if let Some(id) = &c.server_id {
            b = b.connection_id_prefix(&hex_decode(id, "--server-id")?);
        }
        if let Some(n) = c.cid_len {
            b = b.connection_ids(n);
        }
        if let Some(n) = c.key_update_after {
            b = b.key_update_after_records(n);
        }
        if let Some(path) = &c.keylog {
            let file = KeyLogFile::new(path).map_err(|e| format!("--keylog {}: {e}", path.display()))?;
            b = b.key_log(Arc::new(file));
        }
        b
    }};
}

/// What `dtls server` runs with.
pub struct Server {
    pub config: Arc<ServerConfig>,
    /// The fingerprint of the generated certificate, when `--cert` was not given.
    pub generated_fingerprint: Option<String>,
    pub export: Option<Export>,
}

/// The server configuration, and the fingerprint of a generated certificate (if one was made).
pub fn server(args: &ServerArgs) -> Result<Server, Problem> {
    let c = &args.common;
    let mut b: ServerConfigBuilder = apply_common!(ServerConfig::builder(), c);
    let mut generated = None;
    b = match (&c.cert, &c.key) {
        (Some(cert), Some(key)) => {
            b.certificate_pem(&read(cert)?, &read(key)?).map_err(|e| format!("--cert/--key: {e}"))?
        }
        _ => {
            let host = args.listen.rsplit_once(':').map_or("", |(h, _)| h).trim_matches(['[', ']']);
            let mut names = vec!["localhost"];
            if !host.is_empty() && host != "localhost" && host != "0.0.0.0" && host != "::" {
                names.push(host);
            }
            let cert = generate_self_signed(&names).map_err(|e| e.to_string())?;
            generated = Some(cert.fingerprint.clone());
            b.certificate_pem(cert.cert_pem.as_bytes(), cert.key_pem.as_bytes()).map_err(|e| e.to_string())?
        }
    };
    let secret = |hex: &str, flag: &str| -> Result<[u8; 32], Problem> {
        hex_decode(hex, flag)?.try_into().map_err(|_| format!("{flag}: 32 bytes (64 hex digits) expected"))
    };
    if let Some(h) = &args.cookie_secret {
        b = b.cookie_secret(secret(h, "--cookie-secret")?);
    }
    if let Some(h) = &args.ticket_secret {
        b = b.session_ticket_secret(secret(h, "--ticket-secret")?);
    }
    let verifier = |path: &Path| -> Result<Arc<WebPkiClientVerifier>, Problem> {
        let roots = load_certificates(&read(path)?).map_err(|e| format!("--ca-file: {e}"))?;
        Ok(Arc::new(WebPkiClientVerifier::new(roots).map_err(|e| format!("--ca-file: {e}"))?))
    };
    b = match (&args.ca_file, args.require_client_cert) {
        (Some(ca), true) => b.client_auth(ClientAuth::Required(verifier(ca)?)),
        (Some(ca), false) => b.client_auth(ClientAuth::Optional(verifier(ca)?)),
        (None, true) => b.client_auth(ClientAuth::Required(Arc::new(AcceptAnyClientCert))),
        (None, false) => b,
    };
    let config = b.build().map_err(|e| e.to_string())?;
    Ok(Server { config, generated_fingerprint: generated, export: Export::of(c)? })
}

/// The name to check the server's certificate against (and send as SNI): `--server-name`,
/// else the host of `--connect` (`HOST:PORT`, `[IPv6]:PORT`) when it is a DNS name or an IP
/// address literal, as `openssl s_client -verify_hostname` would be given.
pub fn server_name(args: &ClientArgs) -> Option<&str> {
    if let Some(name) = args.server_name.as_deref() {
        return Some(name);
    }
    let host = args.connect.rsplit_once(':').map_or(args.connect.as_str(), |(h, _)| h);
    let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    rustls_pki_types::ServerName::try_from(host).is_ok().then_some(host)
}

/// The client configuration.
pub fn client(args: &ClientArgs) -> Result<(Arc<ClientConfig>, Option<Export>), Problem> {
    let c = &args.common;
    let mut b: ClientConfigBuilder = apply_common!(ClientConfig::builder(), c);
    if let Some(ca) = &args.ca_file {
        b = b.root_certificates_pem(&read(ca)?).map_err(|e| format!("--ca-file: {e}"))?;
    } else if let Some(fp) = &args.fingerprint {
        b = b.pin_fingerprint(fp).map_err(|e| format!("--fingerprint: {e}"))?;
    } else if args.insecure {
        b = b.dangerous_accept_any_server_certificate();
    }
    match server_name(args) {
        Some(name) => b = b.server_name(name),
        None if args.ca_file.is_some() => {
            return Err(format!(
                "--ca-file: the host of --connect {:?} is neither a DNS name nor an IP address; give \
                 --server-name NAME, the name the server's certificate must be valid for",
                args.connect
            ));
        }
        None => {}
    }
    if let (Some(cert), Some(key)) = (&c.cert, &c.key) {
        b = b.client_certificate_pem(&read(cert)?, &read(key)?).map_err(|e| format!("--cert/--key: {e}"))?;
    }
    if args.timeout.is_finite() && args.timeout > 0.0 {
        b = b.handshake_timeout(Duration::from_secs_f64(args.timeout));
    }
    let config = b.build().map_err(|e| e.to_string())?;
    Ok((config, Export::of(c)?))
}
