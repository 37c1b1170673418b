//! The receive path of DTLS 1.2 records with a connection ID (RFC 9146 §4, `tls12_cid`):
//! the general branch, which copies each record out of its datagram, and the zero-copy
//! branch for a datagram holding one such record ([`Session::handle_in_place`]), which
//! opens it in the datagram's own buffer, as the branch for records without a CID does.
//! Both check and open the record the same way (`open_cid_record`).

use std::time::Instant;

use super::{Event, Session};
use crate::codec::Reader;
use crate::config::MAX_CID_LEN;
use crate::error::Error;
use crate::wire::ContentType;
use crate::wire::record::{CidRecordHeader, RecordHeader, TLS12_CID};

impl Session {
    /// One `tls12_cid` record (RFC 9146 §4) of a datagram: opened with the negotiated CIDs,
    /// then handled by its real content type like any protected record of its epoch.
    /// Records of an epoch whose keys are not in use yet are dropped (the peer retransmits).
    pub(super) fn handle_cid_record(
        &mut self,
        now: Instant,
        header: &CidRecordHeader<'_>,
        body: &[u8],
    ) -> Result<(), Error> {
        let mut buf = self.pool.take(body.len());
        buf.extend_from_slice(body);
        if self.open_cid_record(now, header, &mut buf, 0)? {
            self.events.push_back(Event::ApplicationData(buf));
        } else {
            self.pool.put(buf);
        }
        Ok(())
    }

    /// The zero-copy branch for a datagram that is exactly one `tls12_cid` record: `None`
    /// if it is not one (the caller takes the general path); else what
    /// [`Session::handle_in_place`] returns: the payload of an authentic application record,
    /// in `datagram`'s allocation (an empty vector left in its place).
    pub(super) fn handle_cid_in_place(
        &mut self,
        now: Instant,
        datagram: &mut Vec<u8>,
    ) -> Option<Result<Option<Vec<u8>>, Error>> {
        if datagram.first() != Some(&TLS12_CID) || self.failed {
            return None;
        }
        let cid_len = self.records.own_cid_len();
        if cid_len == 0 || cid_len > MAX_CID_LEN {
            return None;
        }
        let mut r = Reader::new(datagram);
        let (parsed, _) = CidRecordHeader::read(&mut r, cid_len)?;
        if !r.is_empty() {
            return None;
        }
        // The header's CID is copied out: the record is decrypted over the datagram.
        let mut cid = [0u8; MAX_CID_LEN];
        let cid = cid.get_mut(..cid_len)?;
        cid.copy_from_slice(parsed.cid);
        let header = CidRecordHeader { cid, ..parsed };
        self.stats.packets_received += 1;
        self.stats.datagram_bytes_received += datagram.len() as u64;
        let body_start = header.header_len();
        Some(match self.open_cid_record(now, &header, datagram, body_start) {
            Ok(deliver) => Ok(deliver.then(|| core::mem::take(datagram))),
            Err(e) => Err(self.fail(now, e)),
        })
    }

    /// Open one `tls12_cid` record whose body is `buf[body_start..]`, leaving exactly its
    /// content in `buf`, and handle it by its real type; true if it is application data to
    /// deliver (the caller does, from `buf`). A record that fails to open is dropped and
    /// counted.
    fn open_cid_record(
        &mut self,
        now: Instant,
        header: &CidRecordHeader<'_>,
        buf: &mut Vec<u8>,
        body_start: usize,
    ) -> Result<bool, Error> {
        if self.close_received || self.failed || self.is_tls13() {
            self.stats.records_dropped += 1;
            return Ok(false);
        }
        let content_type = match self.records.open_cid(header, buf, body_start) {
            Ok((t, newest)) => {
                self.cid_newest |= newest && self.connected;
                t
            }
            Err(_) => {
                self.stats.records_dropped += 1;
                return Ok(false);
            }
        };
        self.last_heard = now;
        if content_type == ContentType::ApplicationData {
            // docs/security.md item 2: application data only once the handshake is complete.
            if !self.connected || self.close_sent || self.events.len() >= self.max_queued {
                self.stats.records_dropped += 1;
                return Ok(false);
            }
            self.stats.app_bytes_received += buf.len() as u64;
            self.stats.app_messages_received += 1;
            return Ok(true);
        }
        let plain = RecordHeader {
            content_type,
            version: header.version,
            epoch: header.epoch,
            sequence: header.sequence,
            length: buf.len() as u16,
        };
        self.handle_plaintext(now, &plain, buf).map(|()| false)
    }
}
