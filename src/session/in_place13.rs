//! The zero-copy receive branch of a DTLS 1.3 session: a datagram that is exactly one
//! application record opens in its own buffer (see [`Session::handle_buf`]).

use std::time::Instant;

use super::Session;
use crate::config::MAX_CID_LEN;
use crate::error::Error;
use crate::wire::ContentType;
use crate::wire::record::UnifiedHeader;

impl Session {
    /// [`Session::handle_in_place`] for a DTLS 1.3 session: a datagram that is exactly one
    /// application record of a known epoch opens in its own buffer; anything else takes the
    /// general path.
    pub(super) fn handle_in_place13(&mut self, now: Instant, datagram: &mut Vec<u8>) -> Result<Option<Vec<u8>>, Error> {
        // With connection IDs, records carry ours (RFC 9147 §9); its length is ours to know.
        // The header's CID is copied out: the record is decrypted over the datagram.
        let cid_len = self.records.own_cid_len().min(MAX_CID_LEN);
        let mut cid = [0u8; MAX_CID_LEN];
        let mut r = crate::codec::Reader::new(datagram);
        let lone = UnifiedHeader::read(&mut r, cid_len).filter(|_| r.is_empty()).and_then(|(h, _)| {
            cid.get_mut(..h.cid.len())?.copy_from_slice(h.cid);
            Some((h.epoch_bits, h.sequence, h.length, h.cid.len()))
        });
        let (Some((epoch_bits, sequence, length, cid_len)), true, false) =
            (lone, self.connected, self.close_received || self.failed)
        else {
            return self.handle(now, datagram).map(|()| None);
        };
        self.stats.packets_received += 1;
        self.stats.datagram_bytes_received += datagram.len() as u64;
        let header = UnifiedHeader { cid: cid.get(..cid_len).unwrap_or_default(), epoch_bits, sequence, length };
        let Some(v13) = self.v13.as_mut() else { return Ok(None) };
        v13.last_now = now;
        let opened = match v13.records.open(&self.records, &header, datagram) {
            Ok(o) => o,
            Err(_) => {
                self.stats.records_dropped += 1;
                return Ok(None);
            }
        };
        self.last_heard = now;
        if opened.content_type != ContentType::ApplicationData {
            // Not application data after all (the type is inside the encryption): handle the
            // opened record's content like the general path would.
            let content = datagram.get(opened.content.clone()).unwrap_or_default();
            return self.handle_control13(now, &opened, content).map(|()| None).map_err(|e| self.fail(now, e));
        }
        if self.close_sent || opened.epoch.0 < 3 || self.events.len() >= self.max_queued {
            self.stats.records_dropped += 1;
            return Ok(None);
        }
        // The content starts the buffer (`Protection13::open`).
        datagram.truncate(opened.content.end);
        self.stats.app_bytes_received += datagram.len() as u64;
        self.stats.app_messages_received += 1;
        Ok(Some(core::mem::take(datagram)))
    }
}
