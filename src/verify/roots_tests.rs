//! Compiled only under `#[cfg(test)]` (declared so by the parent module): unwraps here are test assertions.
//! Tests of `roots.rs` (and the `AcceptAny*` verifiers): certificates made by rcgen here,
//! and by the OpenSSL CLI (tests/fixtures, see its README).

// `&[cert.clone()]` reads better than `slice::from_ref(&cert)` in these scenarios.
#![allow(clippy::cloned_ref_to_slice_refs)]

use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, date_time_ymd,
};

use super::*;
use crate::verify::{AcceptAnyClientCert, AcceptAnyServerCert};

macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!("../../tests/fixtures/", $name))
    };
}

fn pem_cert(pem: &[u8]) -> CertificateDer<'static> {
    crate::crypto::load_certificates(pem).unwrap().remove(0)
}

/// 2030-01-01T00:00:00Z.
fn now() -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(1_893_456_000))
}

struct Ca {
    cert: CertificateDer<'static>,
    issuer: Issuer<'static, KeyPair>,
}

fn ca(name: &str) -> Ca {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let key = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap().der().clone();
    Ca { cert, issuer: Issuer::new(params, key) }
}

fn leaf_params(names: &[&str]) -> CertificateParams {
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    let mut params = CertificateParams::new(names).unwrap();
    params.distinguished_name.push(DnType::CommonName, "leaf");
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
    params
}

fn leaf(ca: &Ca, params: CertificateParams) -> CertificateDer<'static> {
    let key = KeyPair::generate().unwrap();
    params.signed_by(&key, &ca.issuer).unwrap().der().clone()
}

fn server(roots: &[&CertificateDer<'static>]) -> WebPkiServerVerifier {
    WebPkiServerVerifier::new(roots.iter().map(|c| (*c).clone()).collect()).unwrap()
}

#[test]
fn valid_chain_is_accepted() {
    let ca = ca("root");
    let leaf = leaf(&ca, leaf_params(&["server.test", "127.0.0.1"]));
    let v = server(&[&ca.cert]);
    for name in [Some("server.test"), Some("127.0.0.1"), None] {
        assert_eq!(v.verify_server_cert(&[leaf.clone()], name, now()), Ok(()), "{name:?}");
    }
    // With the root also sent by the peer (as many servers do).
    assert_eq!(v.verify_server_cert(&[leaf.clone(), ca.cert.clone()], None, now()), Ok(()));
    let client = WebPkiClientVerifier::new(vec![ca.cert.clone()]).unwrap();
    assert_eq!(client.verify_client_cert(&[leaf], now()), Ok(()));
}

#[test]
fn chain_through_an_intermediate() {
    let root = ca("root");
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, "intermediate");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &root.issuer).unwrap().der().clone();
    let inter = Ca { cert, issuer: Issuer::new(params, key) };
    let leaf = leaf(&inter, leaf_params(&["server.test"]));
    let v = server(&[&root.cert]);
    assert_eq!(v.verify_server_cert(&[leaf.clone(), inter.cert], None, now()), Ok(()));
    assert_eq!(v.verify_server_cert(&[leaf], None, now()), Err(CertificateError::UnknownIssuer));
}

#[test]
fn wrong_ca_is_unknown_issuer() {
    let (ca1, ca2) = (ca("one"), ca("two"));
    let leaf = leaf(&ca1, leaf_params(&["server.test"]));
    assert_eq!(
        server(&[&ca2.cert]).verify_server_cert(&[leaf.clone()], Some("server.test"), now()),
        Err(CertificateError::UnknownIssuer)
    );
    let client = WebPkiClientVerifier::new(vec![ca2.cert]).unwrap();
    assert_eq!(client.verify_client_cert(&[leaf], now()), Err(CertificateError::UnknownIssuer));
}

#[test]
fn expired_and_not_yet_valid() {
    let ca = ca("root");
    let mut params = leaf_params(&["server.test"]);
    params.not_before = date_time_ymd(2020, 1, 1);
    params.not_after = date_time_ymd(2021, 1, 1);
    let old = leaf(&ca, params);
    let mut params = leaf_params(&["server.test"]);
    params.not_before = date_time_ymd(2040, 1, 1);
    let future = leaf(&ca, params);
    let v = server(&[&ca.cert]);
    assert_eq!(v.verify_server_cert(&[old], None, now()), Err(CertificateError::Expired));
    assert_eq!(v.verify_server_cert(&[future], None, now()), Err(CertificateError::NotValidYet));
}

#[test]
fn wrong_name_is_not_valid_for_name() {
    let ca = ca("root");
    let leaf = leaf(&ca, leaf_params(&["server.test", "127.0.0.1"]));
    let v = server(&[&ca.cert]);
    for name in ["other.test", "127.0.0.2", "::1", "not a name!"] {
        assert_eq!(
            v.verify_server_cert(&[leaf.clone()], Some(name), now()),
            Err(CertificateError::NotValidForName),
            "{name}"
        );
    }
}

#[test]
fn client_verifier_requires_client_auth_usage() {
    let ca = ca("root");
    let mut params = leaf_params(&["server.test"]);
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let leaf = leaf(&ca, params);
    let client = WebPkiClientVerifier::new(vec![ca.cert]).unwrap();
    assert!(matches!(client.verify_client_cert(&[leaf], now()), Err(CertificateError::Other(_))));
}

/// A self-signed CA:TRUE certificate (what `openssl req -x509` writes) given as the root.
/// rustls-webpki alone refuses it (`CaUsedAsEndEntity`); our spec accepts it, as OpenSSL does.
#[test]
fn self_signed_ca_leaf_given_as_root() {
    let cert = pem_cert(fixture!("keys/p256-cert.pem"));
    // Confirm the premise: webpki on its own rejects this.
    let anchors = [webpki::anchor_from_trusted_cert(&cert).unwrap().to_owned()];
    let ee = EndEntityCert::try_from(&cert).unwrap();
    let direct =
        ee.verify_for_usage(webpki::ALL_VERIFICATION_ALGS, &anchors, &[], now(), KeyUsage::server_auth(), None, None);
    assert!(matches!(direct, Err(webpki::Error::CaUsedAsEndEntity)));

    let v = server(&[&cert]);
    for name in [Some("localhost"), Some("127.0.0.1"), None] {
        assert_eq!(v.verify_server_cert(&[cert.clone()], name, now()), Ok(()), "{name:?}");
    }
    assert_eq!(
        v.verify_server_cert(&[cert.clone()], Some("other.test"), now()),
        Err(CertificateError::NotValidForName)
    );
    let client = WebPkiClientVerifier::new(vec![cert.clone()]).unwrap();
    assert_eq!(client.verify_client_cert(&[cert.clone()], now()), Ok(()));
    // Its validity period still applies (the fixture is valid for ten years from 2026).
    let in_2050 = UnixTime::since_unix_epoch(Duration::from_secs(2_524_608_000));
    assert_eq!(v.verify_server_cert(&[cert.clone()], None, in_2050), Err(CertificateError::Expired));
    let in_2000 = UnixTime::since_unix_epoch(Duration::from_secs(946_684_800));
    assert_eq!(v.verify_server_cert(&[cert], None, in_2000), Err(CertificateError::NotValidYet));
}

#[test]
fn self_signed_rcgen_ca_leaf_given_as_root_expired() {
    let mut params = leaf_params(&["self.test"]);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.not_before = date_time_ymd(2020, 1, 1);
    params.not_after = date_time_ymd(2021, 1, 1);
    let key = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap().der().clone();
    let v = server(&[&cert]);
    assert_eq!(v.verify_server_cert(&[cert], None, now()), Err(CertificateError::Expired));
}

#[test]
fn openssl_chain() {
    let ca = pem_cert(fixture!("chain/ca.pem"));
    let leaf = pem_cert(fixture!("chain/server.pem"));
    let v = server(&[&ca]);
    for name in ["server.test", "127.0.0.1"] {
        assert_eq!(v.verify_server_cert(&[leaf.clone()], Some(name), now()), Ok(()));
    }
    assert_eq!(v.verify_server_cert(&[leaf.clone()], Some("localhost"), now()), Err(CertificateError::NotValidForName));
    let client = WebPkiClientVerifier::new(vec![ca]).unwrap();
    assert_eq!(client.verify_client_cert(&[leaf.clone()], now()), Ok(()));
    let other_root = pem_cert(fixture!("keys/p256-cert.pem"));
    assert_eq!(server(&[&other_root]).verify_server_cert(&[leaf], None, now()), Err(CertificateError::UnknownIssuer));
}

#[test]
fn empty_or_garbage_chains_are_rejected() {
    let ca = ca("root");
    let v = server(&[&ca.cert]);
    let client = WebPkiClientVerifier::new(vec![ca.cert]).unwrap();
    assert_eq!(v.verify_server_cert(&[], None, now()), Err(CertificateError::BadEncoding));
    assert_eq!(client.verify_client_cert(&[], now()), Err(CertificateError::BadEncoding));
    let garbage = CertificateDer::from(vec![0x30, 0x03, 0x02, 0x01, 0x00]);
    assert_eq!(v.verify_server_cert(&[garbage.clone()], None, now()), Err(CertificateError::BadEncoding));
    assert_eq!(AcceptAnyServerCert.verify_server_cert(&[], None, now()), Err(CertificateError::BadEncoding));
    assert_eq!(AcceptAnyClientCert.verify_client_cert(&[], now()), Err(CertificateError::BadEncoding));
    assert_eq!(AcceptAnyServerCert.verify_server_cert(&[garbage.clone()], None, now()), Ok(()));
    assert_eq!(AcceptAnyClientCert.verify_client_cert(&[garbage], now()), Ok(()));
}

#[test]
fn verifier_construction_checks_roots() {
    assert!(matches!(WebPkiServerVerifier::new(vec![]), Err(Error::InvalidConfig(_))));
    let garbage = CertificateDer::from(vec![1, 2, 3]);
    assert!(matches!(WebPkiClientVerifier::new(vec![garbage]), Err(Error::InvalidConfig(_))));
}
