//! Which connection IDs this side asks its peer to put in records (RFC 9146 §3, RFC 9147 §9):
//! by default a fixed prefix (a server id a load balancer routes by) and random bytes, or
//! whatever a [`ConnectionIdGenerator`] of the application makes.

use std::sync::Arc;

use crate::error::Error;

/// The longest connection ID this side asks for (RFC 9146 allows 255 bytes; QUIC stops at
/// 20, and so do we: a longer one buys nothing but bytes on every record).
pub const MAX_CID_LEN: usize = 20;

/// Makes the connection IDs this side asks its peer to use, for layouts that a fixed prefix
/// and random bytes (`connection_id_prefix`) cannot express: an encrypted server id, a
/// routing key a load balancer computes, a counter the application indexes by.
///
/// Every CID must be unique among the live sessions of one endpoint (the endpoint routes
/// records by CID; a duplicate routes to the session that registered it first, where the
/// other session's records fail authentication and are dropped) and must not let an
/// observer link a session's CIDs to each other or to its addresses (RFC 9146 §8, RFC 9147
/// §9): build them from the `random` bytes the engine passes in.
///
/// ```
/// use dtls_engine::{ClientConfig, ConnectionIdGenerator};
/// use std::sync::Arc;
///
/// /// Two bytes of a shard number, then six random bytes.
/// #[derive(Debug)]
/// struct Shard(u16);
///
/// impl ConnectionIdGenerator for Shard {
///     fn cid_len(&self) -> usize {
///         8
///     }
///     fn generate(&self, random: &[u8], cid: &mut [u8]) {
///         cid[..2].copy_from_slice(&self.0.to_be_bytes());
///         cid[2..].copy_from_slice(&random[2..]);
///     }
/// }
///
/// // With the peer authentication and the rest of the configuration, then `build()`.
/// let builder = ClientConfig::builder().connection_id_generator(Arc::new(Shard(7)));
/// ```
pub trait ConnectionIdGenerator: Send + Sync + core::fmt::Debug {
    /// The length in bytes of every CID this makes, at most [`MAX_CID_LEN`] (0: this side
    /// sends CIDs but receives none).
    fn cid_len(&self) -> usize;

    /// Write a new CID into `cid` (`cid_len()` bytes). `random` holds as many fresh bytes
    /// from the configuration's random generator.
    fn generate(&self, random: &[u8], cid: &mut [u8]);
}

/// How this side picks the CIDs it asks for: `len` bytes, starting with `prefix` (the rest
/// random), or the application's generator.
#[derive(Debug, Clone)]
pub(crate) struct CidPolicy {
    pub(crate) len: usize,
    pub(crate) prefix: Vec<u8>,
    pub(crate) custom: Option<Arc<dyn ConnectionIdGenerator>>,
}

impl CidPolicy {
    pub(crate) fn random(len: usize, prefix: Vec<u8>) -> Self {
        Self { len, prefix, custom: None }
    }

    pub(crate) fn custom(generator: Arc<dyn ConnectionIdGenerator>) -> Self {
        Self { len: generator.cid_len(), prefix: Vec::new(), custom: Some(generator) }
    }

    /// A fresh connection ID: the prefix then random bytes from `rng`, or the generator's.
    pub(crate) fn generate(&self, rng: &mut dyn rand_core::RngCore) -> Vec<u8> {
        let mut cid = vec![0u8; self.len];
        if let Some(g) = &self.custom {
            let mut random = [0u8; MAX_CID_LEN];
            let random = random.get_mut(..self.len).unwrap_or_default();
            rng.fill_bytes(random);
            g.generate(random, &mut cid);
            return cid;
        }
        let fixed = self.prefix.len().min(self.len);
        if let (Some(head), Some(tail)) = (cid.get_mut(..fixed), self.prefix.get(..fixed)) {
            head.copy_from_slice(tail);
        }
        if let Some(rest) = cid.get_mut(fixed..) {
            rng.fill_bytes(rest);
        }
        cid
    }

    /// The same length with `prefix` instead of the configured one (`with_connection_id_prefix`);
    /// refused when `prefix` is longer than the connection ID, or when an application
    /// generator makes the connection IDs.
    pub(crate) fn with_prefix(&self, prefix: &[u8]) -> Result<Self, Error> {
        if prefix.len() > self.len {
            return Err(Error::InvalidConfig(format!(
                "connection ID prefix of {} bytes longer than the connection ID ({} bytes)",
                prefix.len(),
                self.len
            )));
        }
        if self.custom.is_some() {
            return Err(Error::InvalidConfig(
                "connection IDs from a ConnectionIdGenerator: no prefix can be imposed on them".into(),
            ));
        }
        Ok(Self::random(self.len, prefix.to_vec()))
    }

    /// The checks `build()` makes.
    pub(crate) fn validate(&self) -> Result<(), Error> {
        if self.len > MAX_CID_LEN || self.prefix.len() > self.len {
            return Err(Error::InvalidConfig(format!(
                "connection ID of {} bytes with a {}-byte prefix: at most {MAX_CID_LEN} bytes, prefix included",
                self.len,
                self.prefix.len()
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "cid_tests.rs"]
mod tests;
