//! The server's certificate name is checked whenever path validation is on: a certificate
//! the trusted CA issued for `evil.example` does not authenticate `good.example`, a client
//! configuration with root certificates and no name does not build, and skipping the check
//! takes an explicit `dangerous_skip_server_name_check()`. Engine against engine, in the
//! in-memory simulator.

mod sim;

use std::sync::Arc;
use std::time::Duration;

use dtls_engine::{AlertDescription, CertificateError, ClientConfig, ClientConfigBuilder, Error, ServerConfig};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
};
use sim::{LinkConfig, Pair, SimError};

const DEADLINE: Duration = Duration::from_secs(5);

/// A CA, and a server certificate it issued for `evil.example` only (PEM).
struct Pki {
    ca_pem: String,
    evil_cert_pem: String,
    evil_key_pem: String,
    /// A certificate for `good.example` from a CA nobody trusts.
    stranger_cert_pem: String,
    stranger_key_pem: String,
}

fn ca(name: &str) -> (String, Issuer<'static, KeyPair>) {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign];
    let key = KeyPair::generate().unwrap();
    let pem = params.self_signed(&key).unwrap().pem();
    (pem, Issuer::new(params, key))
}

fn leaf(issuer: &Issuer<'static, KeyPair>, name: &str) -> (String, String) {
    let mut params = CertificateParams::new(vec![name.to_owned()]).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::ExplicitNoCa;
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let key = KeyPair::generate().unwrap();
    (params.signed_by(&key, issuer).unwrap().pem(), key.serialize_pem())
}

fn pki() -> &'static Pki {
    static PKI: std::sync::OnceLock<Pki> = std::sync::OnceLock::new();
    PKI.get_or_init(|| {
        let (ca_pem, issuer) = ca("trusted CA");
        let (evil_cert_pem, evil_key_pem) = leaf(&issuer, "evil.example");
        let (_, stranger) = ca("untrusted CA");
        let (stranger_cert_pem, stranger_key_pem) = leaf(&stranger, "good.example");
        Pki { ca_pem, evil_cert_pem, evil_key_pem, stranger_cert_pem, stranger_key_pem }
    })
}

fn trusting_client() -> ClientConfigBuilder {
    ClientConfig::builder().root_certificates_pem(pki().ca_pem.as_bytes()).unwrap().rng_seed([1; 32])
}

fn server_with(cert_pem: &str, key_pem: &str) -> Arc<ServerConfig> {
    ServerConfig::builder()
        .certificate_pem(cert_pem.as_bytes(), key_pem.as_bytes())
        .unwrap()
        .rng_seed([2; 32])
        .build()
        .unwrap()
}

fn evil_server() -> Arc<ServerConfig> {
    server_with(&pki().evil_cert_pem, &pki().evil_key_pem)
}

fn pair(client: ClientConfigBuilder, server: Arc<ServerConfig>) -> Pair {
    Pair::new(client.build().unwrap(), server, LinkConfig::default(), LinkConfig::default(), 11)
}

/// Run the handshake to its end and return the client's error, checking the server got the
/// client's `alert`.
fn client_error(mut p: Pair, alert: AlertDescription) -> Error {
    let result = p.handshake(DEADLINE);
    for _ in 0..100 {
        if !p.step() {
            break;
        }
    }
    match result {
        Err(SimError::Engine { .. }) => {}
        other => panic!("expected the handshake to fail, got {other:?}\n{}", p.trace()),
    }
    assert_eq!(p.server.error, Some(Error::AlertReceived(alert)), "{}", p.trace());
    p.client.error.clone().unwrap()
}

#[test]
fn roots_without_a_name_do_not_build() {
    let Err(Error::InvalidConfig(text)) = trusting_client().build() else { panic!("built without a server_name") };
    assert!(text.contains("root certificates given but no server_name"), "{text}");
    assert!(text.contains("dangerous_skip_server_name_check()"), "{text}");
    let shown = Error::InvalidConfig(text).to_string();
    assert!(shown.starts_with("invalid configuration: root certificates given but no server_name"), "{shown}");
}

#[test]
fn a_trusted_certificate_for_another_name_is_refused() {
    let e = client_error(
        pair(trusting_client().server_name("good.example"), evil_server()),
        AlertDescription::BadCertificate,
    );
    assert_eq!(e, Error::InvalidCertificate(CertificateError::NotValidForName));
    assert_eq!(e.alert(), Some(AlertDescription::BadCertificate));
    assert!(e.to_string().contains("not valid for the server name"), "{e}");

    // An IP address is checked the same way (the certificate names none).
    let e =
        client_error(pair(trusting_client().server_name("127.0.0.1"), evil_server()), AlertDescription::BadCertificate);
    assert_eq!(e, Error::InvalidCertificate(CertificateError::NotValidForName));
}

#[test]
fn the_right_name_is_accepted() {
    let mut p = pair(trusting_client().server_name("evil.example"), evil_server());
    p.expect_handshake(DEADLINE);
    // Names compare case-insensitively (RFC 6125 §6.4.1).
    let mut p = pair(trusting_client().server_name("EVIL.example"), evil_server());
    p.expect_handshake(DEADLINE);
}

#[test]
fn dangerous_skip_server_name_check_accepts_any_name_but_still_checks_the_chain() {
    let skipping = || trusting_client().server_name("good.example").dangerous_skip_server_name_check();
    let mut p = pair(skipping(), evil_server());
    p.expect_handshake(DEADLINE);
    // The name is still sent as SNI.
    assert_eq!(p.server.session().server_name(), Some("good.example"));

    let mut p = pair(trusting_client().dangerous_skip_server_name_check(), evil_server());
    p.expect_handshake(DEADLINE);

    // A certificate for the right name from an untrusted CA is still refused.
    let stranger = server_with(&pki().stranger_cert_pem, &pki().stranger_key_pem);
    let e = client_error(pair(skipping(), stranger), AlertDescription::UnknownCa);
    assert_eq!(e, Error::InvalidCertificate(CertificateError::UnknownIssuer));
}
