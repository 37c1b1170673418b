//! The DTLS 1.3 ACK record body (RFC 9147 §7), sent under content type
//! [`ContentType::ACK`](crate::wire::ContentType::ACK).

use crate::codec::{Codec, LenPrefix, Put, Reader, put_list, read_list};
use crate::error::InvalidMessage;

/// Length of one encoded [`RecordNumber`].
const RECORD_NUMBER_LEN: usize = 16;

/// The full 64-bit epoch and sequence number of one record.
// RFC 9147 §4
//   struct {
//       uint64 epoch;
//       uint64 sequence_number;
//   } RecordNumber;
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RecordNumber {
    /// The record's epoch.
    pub epoch: u64,
    /// The record's sequence number within its epoch.
    pub sequence_number: u64,
}

impl Codec for RecordNumber {
    fn encode(&self, out: &mut Vec<u8>) {
        out.put_slice(&self.epoch.to_be_bytes());
        out.put_slice(&self.sequence_number.to_be_bytes());
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        Ok(Self { epoch: u64::from_be_bytes(r.array()?), sequence_number: u64::from_be_bytes(r.array()?) })
    }
}

/// An ACK: the records of the current flight the sender has received.
// RFC 9147 §7
//   struct {
//       RecordNumber record_numbers<0..2^16-1>;
//   } ACK;
// Each RecordNumber is 16 bytes, so a vector length that is not a multiple of 16 is
// malformed (refused as IllegalValue rather than read up to the partial entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    /// The acknowledged records (at most 4095, as the vector holds 2^16 - 1 bytes).
    pub record_numbers: Vec<RecordNumber>,
}

impl Codec for Ack {
    fn encode(&self, out: &mut Vec<u8>) {
        put_list(out, LenPrefix::U16, &self.record_numbers);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        let list = r.sub_u16()?;
        if !list.left().is_multiple_of(RECORD_NUMBER_LEN) {
            return Err(InvalidMessage::IllegalValue("ack record_numbers length"));
        }
        Ok(Self { record_numbers: read_list(list)? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::tls13::test_util::{check_layout, hex};

    fn layout(ack: &Ack, bytes: &str) {
        check_layout(ack, &hex(bytes), Ack::read_all, Ack::to_vec);
    }

    #[test]
    fn layouts() {
        layout(&Ack { record_numbers: vec![] }, "00 00");
        layout(
            &Ack { record_numbers: vec![RecordNumber { epoch: 2, sequence_number: 0x0102 }] },
            "00 10  00 00 00 00 00 00 00 02  00 00 00 00 00 00 01 02",
        );
        layout(
            &Ack {
                record_numbers: vec![
                    RecordNumber { epoch: 0, sequence_number: 1 },
                    RecordNumber { epoch: u64::MAX, sequence_number: (1 << 48) - 1 },
                ],
            },
            "00 20  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 01
                    ff ff ff ff ff ff ff ff  00 00 ff ff ff ff ff ff",
        );
    }

    #[test]
    fn length_must_be_a_multiple_of_16() {
        for n in [1usize, 8, 15, 17, 31] {
            let mut bytes = (n as u16).to_be_bytes().to_vec();
            bytes.resize(2 + n, 0);
            assert_eq!(Ack::read_all(&bytes), Err(InvalidMessage::IllegalValue("ack record_numbers length")));
        }
        // The largest whole ACK: 4095 record numbers in 65520 bytes.
        let ack = Ack { record_numbers: (0..4095).map(|i| RecordNumber { epoch: 3, sequence_number: i }).collect() };
        let bytes = ack.to_vec();
        assert_eq!(bytes[..2], [0xff, 0xf0]);
        assert_eq!(Ack::read_all(&bytes), Ok(ack));
    }
}
