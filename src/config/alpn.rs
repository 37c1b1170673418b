//! The server's choice of application protocol by the application (RFC 7301 §3.2), for when
//! a fixed preference list (`alpn_protocols`) cannot say it: the choice depends on the
//! client's whole offer, its server_name, a protocol version only some clients speak.

/// Chooses the application protocol for a server from the client's ALPN offer. Set with
/// [`ServerConfigBuilder::alpn_selector`](crate::ServerConfigBuilder::alpn_selector); called
/// once per handshake (resumptions included) whose ClientHello offers ALPN, on the thread
/// that handles the datagram, so it must not block.
///
/// ```
/// use dtls_engine::{AlpnChoice, AlpnSelector};
///
/// /// Speaks every version of "coap", and prefers the newest the client offers.
/// #[derive(Debug)]
/// struct NewestCoap;
///
/// impl AlpnSelector for NewestCoap {
///     fn select(&self, offered: &[Vec<u8>]) -> AlpnChoice {
///         offered
///             .iter()
///             .enumerate()
///             .filter(|(_, p)| p.starts_with(b"coap"))
///             .max_by(|(_, a), (_, b)| a.cmp(b))
///             .map_or(AlpnChoice::Refuse, |(i, _)| AlpnChoice::Protocol(i))
///     }
/// }
///
/// let offer = [b"h2".to_vec(), b"coap/2".to_vec(), b"coap".to_vec()];
/// assert_eq!(NewestCoap.select(&offer), AlpnChoice::Protocol(1));
/// assert_eq!(NewestCoap.select(&[b"h2".to_vec()]), AlpnChoice::Refuse);
/// ```
pub trait AlpnSelector: Send + Sync + core::fmt::Debug {
    /// The protocol to use among `offered`: the client's protocols in its order of
    /// preference (RFC 7301 §3.1: never empty, none of them empty).
    fn select(&self, offered: &[Vec<u8>]) -> AlpnChoice;
}

/// What an [`AlpnSelector`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlpnChoice {
    /// Use the protocol at this index of the offer (an index past its end, a bug of the
    /// selector, refuses the handshake as [`AlpnChoice::Refuse`] does).
    Protocol(usize),
    /// Agree on no protocol: the ServerHello carries no ALPN extension and the handshake
    /// goes on (the client decides whether to continue).
    Decline,
    /// Refuse the handshake with a fatal `no_application_protocol` alert (RFC 7301 §3.2).
    Refuse,
}
