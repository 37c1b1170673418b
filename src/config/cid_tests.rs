//! Compiled only under `#[cfg(test)]` (declared so by the parent module): unwraps here are test assertions.
//! Tests of `cid.rs`: the default layout, an application's generator, and what `build()` refuses.

use super::*;
use crate::config::{ClientConfig, ServerConfig};
use crate::crypto::rng::DetRng;

#[derive(Debug)]
struct Fixed(usize);

impl ConnectionIdGenerator for Fixed {
    fn cid_len(&self) -> usize {
        self.0
    }
    fn generate(&self, random: &[u8], cid: &mut [u8]) {
        assert_eq!(random.len(), self.0, "as many random bytes as the CID is long");
        for (i, (c, r)) in cid.iter_mut().zip(random).enumerate() {
            *c = if i == 0 { 0xaa } else { *r };
        }
    }
}

#[test]
fn prefix_then_random_bytes() {
    let policy = CidPolicy::random(8, vec![1, 2]);
    let mut rng = DetRng::from_seed([7; 32]);
    let (a, b) = (policy.generate(&mut rng), policy.generate(&mut rng));
    assert_eq!((a.len(), &a[..2]), (8, &[1u8, 2][..]));
    assert_ne!(a, b, "the rest is random");
}

#[test]
fn a_generator_gets_fresh_random_bytes_and_decides_the_layout() {
    let policy = CidPolicy::custom(Arc::new(Fixed(5)));
    let mut rng = DetRng::from_seed([7; 32]);
    let (a, b) = (policy.generate(&mut rng), policy.generate(&mut rng));
    assert_eq!((a.len(), a[0], b[0]), (5, 0xaa, 0xaa));
    assert_ne!(a[1..], b[1..]);
    assert!(CidPolicy::custom(Arc::new(Fixed(0))).generate(&mut rng).is_empty());
}

#[test]
fn a_generator_longer_than_20_bytes_does_not_build() {
    let b =
        ClientConfig::builder().dangerous_accept_any_server_certificate().connection_id_generator(Arc::new(Fixed(21)));
    match b.build() {
        Err(Error::InvalidConfig(text)) => assert!(text.contains("at most 20 bytes"), "{text}"),
        other => panic!("expected InvalidConfig, got {other:?}"),
    }
}

#[test]
fn no_prefix_is_imposed_on_a_generators_cids() {
    let cert = crate::certgen::generate_self_signed(&["localhost"]).unwrap();
    let config = ServerConfig::builder()
        .certificate_pem(cert.cert_pem.as_bytes(), cert.key_pem.as_bytes())
        .unwrap()
        .connection_id_generator(Arc::new(Fixed(8)))
        .build()
        .unwrap();
    match config.with_connection_id_prefix(&[1]) {
        Err(Error::InvalidConfig(text)) => assert!(text.contains("ConnectionIdGenerator"), "{text}"),
        other => panic!("expected InvalidConfig, got {other:?}"),
    }
}
