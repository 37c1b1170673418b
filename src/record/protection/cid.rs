//! DTLS 1.2 records with connection IDs (RFC 9146): once CIDs are negotiated, every protected
//! record toward a peer that asked for a non-empty CID is a `tls12_cid` record (§4) carrying
//! that CID, its real content type inside the protected `DTLSInnerPlaintext`, authenticated
//! with the additional data of §5; records of epoch 0 keep the RFC 6347 format.
//!
//! docs/security.md item 5: as for every record, the replay window moves only after the
//! record authenticated; a record whose CID is not ours is dropped before any crypto.

use super::{Discard, RecordLayer};
use crate::error::Error;
use crate::wire::record::{
    CidRecordHeader, MAX_ADDITIONAL_DATA_LEN, MAX_PLAINTEXT, MAX_SEQUENCE, decode_inner_plaintext,
    encode_inner_plaintext,
};
use crate::wire::{ContentType, DTLS_1_2, Epoch};

/// The connection IDs of a DTLS 1.2 session (RFC 9146 §3): `own` is what the peer puts in
/// the records it sends us, `peer` what we put in ours. Either may be empty: an empty `peer`
/// means our records carry no CID (the RFC 6347 format), an empty `own` that the peer's do not.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Cids {
    /// The CID we asked to receive.
    pub own: Vec<u8>,
    /// The CID the peer asked to receive.
    pub peer: Vec<u8>,
    /// DTLS 1.3: more CIDs we gave the peer (NewConnectionId, RFC 9147 §9); records with
    /// any of them are ours too.
    pub own_more: Vec<Vec<u8>>,
    /// DTLS 1.3: spare CIDs the peer gave us, for later.
    pub peer_spare: Vec<Vec<u8>>,
}

impl Cids {
    /// The CIDs of DTLS 1.2 negotiation: `own` and `peer` only.
    pub fn new(own: Vec<u8>, peer: Vec<u8>) -> Self {
        Self { own, peer, own_more: Vec::new(), peer_spare: Vec::new() }
    }

    /// Whether records carrying `cid` are ours.
    pub fn is_own(&self, cid: &[u8]) -> bool {
        cid == self.own.as_slice() || self.own_more.iter().any(|c| c.as_slice() == cid)
    }
}

impl RecordLayer {
    /// Use `cids` for the protected epochs from now on (the handshake that negotiated them
    /// installs its keys at the same time).
    pub fn set_cids(&mut self, cids: Cids) {
        // (A pair of empty CIDs uses no CID at all.)
        self.cids = (!cids.own.is_empty() || !cids.peer.is_empty()).then(|| Box::new(cids));
    }

    /// The CIDs in use, if any was negotiated with a non-empty value.
    pub fn cids(&self) -> Option<&Cids> {
        self.cids.as_deref()
    }

    /// The CIDs in use, to change them (DTLS 1.3 NewConnectionId).
    pub fn cids_mut(&mut self) -> Option<&mut Cids> {
        self.cids.as_deref_mut()
    }

    /// Length of the CID in records we receive (0 without one).
    pub fn own_cid_len(&self) -> usize {
        self.cids.as_ref().map_or(0, |c| c.own.len())
    }

    /// Whether records we send in `epoch` use the `tls12_cid` format.
    pub(super) fn sends_cid(&self, epoch: Epoch) -> bool {
        !epoch.is_plaintext() && self.cids.as_ref().is_some_and(|c| !c.peer.is_empty())
    }

    /// RFC 9146 §4: append one `tls12_cid` record of `payload` (`content_type` inside) to
    /// `out`, protected with `epoch`'s key and its next sequence number.
    pub(super) fn seal_cid(
        &mut self,
        epoch: Epoch,
        content_type: ContentType,
        payload: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        // The CIDs leave their slot while the epoch's key is borrowed (no copy per record).
        let cids = self.cids.take().ok_or(Error::Crypto("no connection ID"))?;
        let result = self.seal_with_cid(&cids.peer, epoch, content_type, payload, out);
        self.cids = Some(cids);
        result
    }

    fn seal_with_cid(
        &mut self,
        peer: &[u8],
        epoch: Epoch,
        content_type: ContentType,
        payload: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        let (next_seq, key) = self.writer(epoch).ok_or(Error::Crypto("no keys for this epoch"))?;
        let key = key.ok_or(Error::Crypto("no keys for this epoch"))?;
        let seq = *next_seq;
        if seq > MAX_SEQUENCE {
            return Err(Error::Crypto("sequence number exhausted"));
        }
        if payload.len() > MAX_PLAINTEXT {
            return Err(Error::MessageTooLarge { max: MAX_PLAINTEXT });
        }
        *next_seq = seq + 1;
        let alg = key.algorithm();
        let inner_len = payload.len() + 1;
        let header = CidRecordHeader {
            version: DTLS_1_2,
            epoch: epoch.to_wire16(),
            sequence: seq,
            cid: peer,
            length: (inner_len + alg.overhead()) as u16,
        };
        let mut aad = [0u8; MAX_ADDITIONAL_DATA_LEN];
        let aad_len =
            header.write_additional_data(inner_len as u16, &mut aad).ok_or(Error::Crypto("connection ID too long"))?;
        let aad = aad.get(..aad_len).unwrap_or_default();
        let epoch_seq = header.epoch_seq();
        out.reserve(header.header_len() + inner_len + alg.overhead());
        header.encode(out);
        // RFC 5288 §3 (GCM): the explicit nonce is epoch||sequence, as in every 1.2 record.
        out.extend_from_slice(epoch_seq.to_be_bytes().get(..alg.explicit_nonce_len()).unwrap_or_default());
        let body = out.len();
        encode_inner_plaintext(payload, content_type, 0, out).map_err(Error::from)?;
        let tag = key.seal(epoch_seq, aad, out.get_mut(body..).unwrap_or_default())?;
        out.extend_from_slice(tag.as_ref());
        Ok(())
    }

    /// RFC 9146 §4–§5: check, authenticate and decrypt one `tls12_cid` record whose body is
    /// `buf[body_start..]`, of the current read epoch or the one before it, leaving exactly
    /// its content in `buf`; returns the real content type, and whether the record is the
    /// newest received (of the current epoch, above every sequence number seen: what may
    /// move the peer's address, RFC 9146 §6). Nothing is marked on failure.
    pub fn open_cid(
        &mut self,
        header: &CidRecordHeader<'_>,
        buf: &mut Vec<u8>,
        body_start: usize,
    ) -> Result<(ContentType, bool), Discard> {
        let own = self.cids.as_deref().map(|c| c.own.as_slice()).unwrap_or_default();
        if own.is_empty() || header.cid != own || header.version != DTLS_1_2 {
            return Err(Discard::Epoch);
        }
        let epoch = Epoch::from(header.epoch);
        let (window, key) = self.reader(epoch).ok_or(Discard::Epoch)?;
        let key = key.ok_or(Discard::Epoch)?;
        if !window.check(header.sequence) {
            return Err(Discard::Replay);
        }
        let newest = epoch == self.read.epoch && window.max_seen().is_none_or(|m| header.sequence > m);
        let body = buf.get(body_start..).ok_or(Discard::BadRecordMac)?;
        let alg = key.algorithm();
        let explicit = alg.explicit_nonce_len();
        let inner_len = body.len().checked_sub(alg.overhead()).ok_or(Discard::BadRecordMac)?;
        // The inner plaintext holds the content plus its type byte (and any padding).
        if inner_len > MAX_PLAINTEXT + 1 + 255 {
            return Err(Discard::Overflow);
        }
        let nonce_seq = match body.first_chunk::<8>() {
            Some(n) if explicit == 8 => u64::from_be_bytes(*n),
            _ => header.epoch_seq(),
        };
        let mut aad = [0u8; MAX_ADDITIONAL_DATA_LEN];
        let aad_len = header.write_additional_data(inner_len as u16, &mut aad).ok_or(Discard::BadRecordMac)?;
        let aad = aad.get(..aad_len).unwrap_or_default();
        let n = key.open_within(nonce_seq, aad, buf, body_start + explicit).ok_or(Discard::BadRecordMac)?;
        buf.truncate(n);
        // RFC 9146 §4: the real type is the last non-zero byte; none at all is invalid.
        let (content_type, content_len) = match decode_inner_plaintext(buf) {
            Ok((t, c)) => (t, c.len()),
            Err(_) => return Err(Discard::BadRecordMac),
        };
        if content_len > MAX_PLAINTEXT {
            return Err(Discard::Overflow);
        }
        buf.truncate(content_len);
        self.mark_read(epoch, header.sequence);
        Ok((content_type, newest))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::Reader;
    use crate::crypto::aead::{AeadAlgorithm, RecordKey};
    use crate::record::protection::EpochKeys;
    use crate::wire::record::{Deframer, TLS12_CID};

    const E1: Epoch = Epoch::DTLS12_PROTECTED;

    /// Two layers in epoch 1: `a` wants `a_cid` in what it receives, `b` wants `b_cid`.
    fn pair(alg: AeadAlgorithm, a_cid: &[u8], b_cid: &[u8]) -> (RecordLayer, RecordLayer) {
        let k = |b: u8| RecordKey::new(alg, &vec![b; alg.key_len()], &vec![b + 1; alg.fixed_iv_len()]).unwrap();
        let (mut a, mut b) = (RecordLayer::new(), RecordLayer::new());
        a.install_keys(EpochKeys { epoch: E1, write: k(1), read: k(2) });
        b.install_keys(EpochKeys { epoch: E1, write: k(2), read: k(1) });
        for l in [&mut a, &mut b] {
            l.set_write_epoch(E1);
            l.set_read_epoch(E1);
        }
        a.set_cids(Cids::new(a_cid.to_vec(), b_cid.to_vec()));
        b.set_cids(Cids::new(b_cid.to_vec(), a_cid.to_vec()));
        (a, b)
    }

    fn open(layer: &mut RecordLayer, record: &[u8], cid_len: usize) -> Result<(ContentType, Vec<u8>), Discard> {
        let mut r = Reader::new(record);
        let (header, body) = CidRecordHeader::read(&mut r, cid_len).ok_or(Discard::Epoch)?;
        let mut buf = body.to_vec();
        let (t, _) = layer.open_cid(&header, &mut buf, 0)?;
        Ok((t, buf))
    }

    #[test]
    fn cid_records_round_trip_once_with_the_real_type_inside() {
        for alg in [AeadAlgorithm::Aes128Gcm, AeadAlgorithm::Aes256Gcm, AeadAlgorithm::Chacha20Poly1305] {
            let (mut a, mut b) = pair(alg, &[0xaa, 0xbb], &[1, 2, 3, 4]);
            let mut rec = Vec::new();
            a.seal(E1, ContentType::ApplicationData, b"ping", &mut rec).unwrap();
            assert_eq!(rec[0], TLS12_CID);
            assert_eq!(&rec[11..15], &[1, 2, 3, 4], "the peer's CID after the sequence number");
            assert_eq!(rec.len(), a.overhead(E1) + 4);
            assert_eq!(open(&mut b, &rec, 4), Ok((ContentType::ApplicationData, b"ping".to_vec())));
            assert_eq!(open(&mut b, &rec, 4), Err(Discard::Replay));
            // The other way, a handshake record.
            let mut back = Vec::new();
            b.seal(E1, ContentType::Handshake, b"fin", &mut back).unwrap();
            assert_eq!(open(&mut a, &back, 2), Ok((ContentType::Handshake, b"fin".to_vec())));
        }
    }

    #[test]
    fn wrong_cid_tampering_and_plaintext_epoch() {
        let (mut a, mut b) = pair(AeadAlgorithm::Aes128Gcm, &[7; 3], &[9; 5]);
        let mut rec = Vec::new();
        a.seal(E1, ContentType::ApplicationData, b"data", &mut rec).unwrap();
        // Another CID of the same length: dropped before any crypto.
        let mut other = rec.clone();
        other[11] ^= 1;
        assert_eq!(open(&mut b, &other, 5), Err(Discard::Epoch));
        // Any bit of the header is authenticated (§5): the epoch's sequence, the length...
        let mut bad = rec.clone();
        bad[10] ^= 1;
        assert_eq!(open(&mut b, &bad, 5), Err(Discard::BadRecordMac));
        let mut bad = rec.clone();
        *bad.last_mut().unwrap() ^= 1;
        assert_eq!(open(&mut b, &bad, 5), Err(Discard::BadRecordMac));
        // Nothing was marked by the failures.
        assert!(open(&mut b, &rec, 5).is_ok());
        // Epoch 0 keeps the RFC 6347 format (a retransmitted plaintext message).
        let mut plain = Vec::new();
        a.seal(Epoch::PLAINTEXT, ContentType::Handshake, b"hello", &mut plain).unwrap();
        assert_eq!(plain[0], u8::from(ContentType::Handshake));
    }

    /// A zero-length CID on one side: that side's peer sends it ordinary records.
    #[test]
    fn zero_length_cid_means_ordinary_records_toward_that_side() {
        let (mut a, mut b) = pair(AeadAlgorithm::Aes128Gcm, &[], &[5; 4]);
        let mut to_b = Vec::new();
        a.seal(E1, ContentType::ApplicationData, b"x", &mut to_b).unwrap();
        assert_eq!(to_b[0], TLS12_CID);
        assert!(open(&mut b, &to_b, 4).is_ok());
        let mut to_a = Vec::new();
        b.seal(E1, ContentType::ApplicationData, b"y", &mut to_a).unwrap();
        assert_eq!(to_a[0], u8::from(ContentType::ApplicationData));
        let (h, body) = Deframer::new(&to_a).next().unwrap();
        let mut buf = body.to_vec();
        a.open(&h, &mut buf, 0).unwrap();
        assert_eq!(buf, b"y");
    }
}
