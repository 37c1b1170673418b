//! DTLS 1.3 after the handshake (RFC 9147 §5.8.4, §8; RFC 8446 §4.6): KeyUpdate in both
//! directions, on request and before the AEAD usage limits (RFC 9147 §4.5.3), and the
//! NewSessionTicket a client accepts and acknowledges.

use std::time::Instant;

use super::{Role, Session};
use crate::codec::Codec;
use crate::crypto::tls13::{Secret, next_traffic_secret};
use crate::error::{Error, PeerMisbehaved};
use crate::handshake::tls13::{PREFIX, protection};
use crate::wire::tls13::{KeyUpdate, KeyUpdateRequest};
use crate::wire::{Epoch, HandshakeType};

impl Session {
    /// Messages after the handshake (RFC 9147 §5.8.4 / RFC 8446 §4.6).
    pub(super) fn post_handshake(
        &mut self,
        now: Instant,
        epoch: Epoch,
        msg: &crate::handshake::reassembler::HandshakeMessage,
    ) -> Result<(), Error> {
        match msg.msg_type {
            HandshakeType::NewSessionTicket if matches!(self.role, Role::Client(..)) => {
                // Accepted and acknowledged; resumption in DTLS 1.3 is not implemented, so
                // the ticket is not kept. Syntax is still checked.
                crate::wire::tls13::NewSessionTicket::read_all(&msg.body)?;
                Ok(())
            }
            HandshakeType::KEY_UPDATE => {
                let ku = KeyUpdate::read_all(&msg.body)?;
                // RFC 9147 §8: the KeyUpdate arrives in the epoch being retired.
                let current = self.v13.as_ref().and_then(|v| v.records.read_epoch());
                if current != Some(epoch) {
                    return Err(PeerMisbehaved::UnexpectedMessage.into());
                }
                self.advance_read_key()?;
                if ku.request_update == KeyUpdateRequest::UpdateRequested {
                    self.start_key_update(now, false)?;
                }
                Ok(())
            }
            HandshakeType::NEW_CONNECTION_ID => self.on_new_connection_id(&msg.body),
            HandshakeType::REQUEST_CONNECTION_ID => self.on_request_connection_id(now, &msg.body),
            _ => Err(PeerMisbehaved::UnexpectedMessage.into()),
        }
    }

    fn next_secret(secret: &Secret) -> Result<Secret, Error> {
        next_traffic_secret(PREFIX, secret)
    }

    /// The peer updated its keys: accept its next epoch (keeping the old one a while).
    fn advance_read_key(&mut self) -> Result<(), Error> {
        let Some(v13) = self.v13.as_mut() else { return Ok(()) };
        let (Some(secrets), Some(epoch)) = (v13.secrets.as_mut(), v13.records.read_epoch()) else { return Ok(()) };
        secrets.read = Self::next_secret(&secrets.read)?;
        let p = protection(secrets.suite, &secrets.read, epoch.next())?;
        v13.records.install_read(&mut self.records, p);
        v13.updates_received += 1;
        Ok(())
    }

    /// Our KeyUpdate was acknowledged: seal with the next key from now on.
    pub(super) fn advance_write_key(&mut self) -> Result<(), Error> {
        let Some(v13) = self.v13.as_mut() else { return Ok(()) };
        let (Some(secrets), Some(epoch)) = (v13.secrets.as_mut(), v13.records.write_epoch()) else { return Ok(()) };
        secrets.write = Self::next_secret(&secrets.write)?;
        let p = protection(secrets.suite, &secrets.write, epoch.next())?;
        v13.records.install_write(&mut self.records, p);
        v13.updates_sent += 1;
        Ok(())
    }

    /// Send a KeyUpdate (RFC 9147 §8) unless one is already out or a flight is pending;
    /// `request` asks the peer to update its keys too.
    pub(super) fn start_key_update(&mut self, now: Instant, request: bool) -> Result<(), Error> {
        let Some(v13) = self.v13.as_mut() else { return Err(Error::HandshakeNotComplete) };
        if v13.update_pending || !self.flight.is_empty() || !self.connected {
            return Ok(());
        }
        let Some(epoch) = v13.records.write_epoch() else { return Ok(()) };
        v13.update_pending = true;
        let request_update =
            if request { KeyUpdateRequest::UpdateRequested } else { KeyUpdateRequest::UpdateNotRequested };
        self.ctx.push13(epoch, HandshakeType::KEY_UPDATE, KeyUpdate { request_update }.to_vec());
        let flight = self.ctx.finish_flight(true);
        self.apply(now, crate::handshake::output::Output::send(flight))
    }

    /// Before sealing a record in 1.3: update our key once it protected as many records as
    /// the configuration allows (RFC 9147 §4.5.3).
    pub(super) fn maybe_update_keys(&mut self, now: Instant) -> Result<(), Error> {
        let due =
            self.v13.as_ref().is_some_and(|v| v.records.sealed_in_current() >= self.ctx.config().key_update_after);
        if due { self.start_key_update(now, false) } else { Ok(()) }
    }

    /// Update our sending key now (RFC 9147 §8), asking the peer to update its own too if
    /// `request_peer`. Done after the peer acknowledges the KeyUpdate; a KeyUpdate already
    /// on its way, or a flight not yet acknowledged, makes this a no-op.
    pub fn update_keys(&mut self, now: Instant, request_peer: bool) -> Result<(), Error> {
        if self.failed || self.close_sent {
            return Err(Error::Closed);
        }
        self.start_key_update(now, request_peer).map_err(|e| self.fail(now, e))
    }

    /// KeyUpdates that took effect so far: `(ours, the peer's)`; zeros in DTLS 1.2.
    pub fn key_updates(&self) -> (u64, u64) {
        self.v13.as_ref().map_or((0, 0), |v| (v.updates_sent, v.updates_received))
    }
}
