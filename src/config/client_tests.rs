//! Compiled only under `#[cfg(test)]` (declared so by the parent module): unwraps here are test assertions.
//! Tests of `client.rs`: what a client configuration demands of server authentication.

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};

use super::*;

/// A CA certificate (PEM) made by rcgen.
fn ca_pem() -> String {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, "config test CA");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let key = KeyPair::generate().unwrap();
    params.self_signed(&key).unwrap().pem()
}

fn with_roots() -> ClientConfigBuilder {
    ClientConfig::builder().root_certificates_pem(ca_pem().as_bytes()).unwrap()
}

fn config_error(b: ClientConfigBuilder) -> String {
    match b.build() {
        Err(Error::InvalidConfig(text)) => text,
        other => panic!("expected InvalidConfig, got {other:?}"),
    }
}

#[test]
fn roots_without_server_name_do_not_build() {
    let text = config_error(with_roots());
    assert!(text.starts_with("root certificates given but no server_name"), "{text}");
    assert!(text.contains("dangerous_skip_server_name_check()"), "{text}");

    let der = crate::crypto::load_certificates(ca_pem().as_bytes()).unwrap();
    let text = config_error(ClientConfig::builder().root_certificates(der).unwrap());
    assert!(text.starts_with("root certificates given but no server_name"), "{text}");
}

#[test]
fn roots_with_a_dns_name_or_ip_build() {
    for name in ["good.example", "localhost", "127.0.0.1", "::1"] {
        assert!(with_roots().server_name(name).build().is_ok(), "{name}");
    }
}

#[test]
fn a_server_name_that_cannot_be_checked_is_refused() {
    for name in ["", "not a name", "bad_name!.example"] {
        let text = config_error(with_roots().server_name(name));
        assert!(text.contains("neither a DNS name nor an IP address"), "{name:?}: {text}");
    }
}

#[test]
fn skipping_the_name_check_is_explicit() {
    assert!(with_roots().dangerous_skip_server_name_check().build().is_ok());
    // The name is still sent (SNI) but no longer checked: the verifier sees none.
    let config = with_roots().server_name("good.example").dangerous_skip_server_name_check().build().unwrap();
    assert_eq!(config.server_name.as_deref(), Some("good.example"));
    assert!(!config.verifier.requires_server_name());
}

#[test]
fn pinning_accept_any_and_default_custom_verifiers_need_no_name() {
    let pin = format!("sha-256 {}", ["AB"; 32].join(":"));
    assert!(ClientConfig::builder().pin_fingerprint(&pin).unwrap().build().is_ok());
    assert!(ClientConfig::builder().dangerous_accept_any_server_certificate().build().is_ok());
    assert!(ClientConfig::builder().verifier(Arc::new(AcceptAnyServerCert)).build().is_ok());
    // Roots replaced by pinning: the last choice counts.
    assert!(with_roots().pin_fingerprint(&pin).unwrap().build().is_ok());
}

/// A user verifier that checks names says so, and gets the same protection.
#[test]
fn a_custom_verifier_can_require_a_name() {
    #[derive(Debug)]
    struct NameChecking;
    impl ServerCertVerifier for NameChecking {
        fn verify_server_cert(
            &self,
            _chain: &[CertificateDer<'_>],
            _server_name: Option<&str>,
            _now: UnixTime,
        ) -> Result<(), CertificateError> {
            Ok(())
        }
        fn requires_server_name(&self) -> bool {
            true
        }
    }
    let text = config_error(ClientConfig::builder().verifier(Arc::new(NameChecking)));
    assert!(text.starts_with("the server certificate verifier checks names but no server_name"), "{text}");
    assert!(ClientConfig::builder().verifier(Arc::new(NameChecking)).server_name("good.example").build().is_ok());

    let roots = crate::crypto::load_certificates(ca_pem().as_bytes()).unwrap();
    let webpki = Arc::new(WebPkiServerVerifier::new(roots).unwrap());
    assert!(ClientConfig::builder().verifier(webpki).build().is_err());
}
