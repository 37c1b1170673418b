//! What a handshake transition asks of the session. A state machine never touches the
//! record layer, the timers or the event queue: each transition takes one input and returns
//! its next state together with an [`Output`] saying what must happen now — a flight to
//! send, record keys to install for an epoch, the handshake's completion. The session
//! applies it, in that order.

use crate::error::Error;
use crate::handshake::flight::Flight;
pub use crate::record::protection::EpochKeys;

/// A complete flight to send now, replacing the previous one (RFC 6347 §4.2.4).
#[derive(Debug)]
pub struct Outgoing {
    /// The messages (and ChangeCipherSpec) of the flight, each tagged with its epoch.
    pub flight: Flight,
    /// Whether the flight waits for a reply, i.e. arms the retransmission timer. The last
    /// flight of a handshake does not: it is re-sent only when the peer repeats its own.
    pub expects_reply: bool,
}

/// Everything one transition produced, besides its next state.
#[derive(Debug, Default)]
pub struct Output {
    /// Keys to install before anything is sent (the flight may use them).
    pub keys: Option<EpochKeys>,
    /// A flight to send.
    pub send: Option<Outgoing>,
    /// The handshake is complete: application data may flow.
    pub established: bool,
    /// DTLS 1.3: epochs to install in the 1.3 record layer, in order, before the flight is
    /// sent (a non-empty list makes the session a DTLS 1.3 one).
    pub install13: Vec<crate::handshake::tls13::Install13>,
}

impl Output {
    /// Nothing to do: the transition only moved to its next state.
    pub fn none() -> Self {
        Self::default()
    }

    /// Send `flight`.
    pub fn send(flight: Outgoing) -> Self {
        Self { send: Some(flight), ..Self::default() }
    }

    /// Install `keys`.
    pub fn keys(keys: EpochKeys) -> Self {
        Self { keys: Some(keys), ..Self::default() }
    }

    /// Also install `keys`.
    pub fn with_keys(mut self, keys: EpochKeys) -> Self {
        self.keys = Some(keys);
        self
    }

    /// Also install these DTLS 1.3 epochs (appended to any already listed).
    pub fn with13(mut self, install: impl IntoIterator<Item = crate::handshake::tls13::Install13>) -> Self {
        self.install13.extend(install);
        self
    }

    /// Also mark the handshake complete.
    pub fn established(mut self) -> Self {
        self.established = true;
        self
    }
}

/// The result of one transition: the next state and what must happen, or the fatal error
/// that ends the handshake.
pub type Step<S> = Result<(S, Output), Error>;
