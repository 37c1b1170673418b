//! Wire encoding primitives: a bounds-checked [`Reader`] cursor, big-endian integer helpers,
//! and length-prefixed vectors whose length is patched in after the body is written.
//!
//! Nothing here may panic on any input: every read checks the remaining length first.

use crate::error::InvalidMessage;

/// A cursor over received bytes. Every read is bounds-checked.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader over `buf`, positioned at its start.
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    /// Bytes not yet consumed.
    pub fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or(&[])
    }

    /// Number of bytes not yet consumed.
    pub fn left(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// True when every byte has been consumed.
    pub fn is_empty(&self) -> bool {
        self.left() == 0
    }

    /// Bytes consumed so far.
    pub fn used(&self) -> usize {
        self.pos
    }

    /// Fail with [`InvalidMessage::TrailingData`] unless every byte was consumed.
    pub fn expect_empty(&self, what: &'static str) -> Result<(), InvalidMessage> {
        if self.is_empty() { Ok(()) } else { Err(InvalidMessage::TrailingData(what)) }
    }

    /// Take exactly `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], InvalidMessage> {
        let end = self.pos.checked_add(n).ok_or(InvalidMessage::Truncated)?;
        let out = self.buf.get(self.pos..end).ok_or(InvalidMessage::Truncated)?;
        self.pos = end;
        Ok(out)
    }

    /// Take all remaining bytes.
    pub fn take_rest(&mut self) -> &'a [u8] {
        let out = self.rest();
        self.pos = self.buf.len();
        out
    }

    /// Take a fixed-size array.
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], InvalidMessage> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    pub fn u8(&mut self) -> Result<u8, InvalidMessage> {
        Ok(self.array::<1>()?[0])
    }

    pub fn u16(&mut self) -> Result<u16, InvalidMessage> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    pub fn u24(&mut self) -> Result<u32, InvalidMessage> {
        let [a, b, c] = self.array()?;
        Ok(u32::from_be_bytes([0, a, b, c]))
    }

    pub fn u32(&mut self) -> Result<u32, InvalidMessage> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub fn u48(&mut self) -> Result<u64, InvalidMessage> {
        let [a, b, c, d, e, f] = self.array()?;
        Ok(u64::from_be_bytes([0, 0, a, b, c, d, e, f]))
    }

    /// A vector with a one-byte length prefix; returns a reader over its body.
    pub fn sub_u8(&mut self) -> Result<Reader<'a>, InvalidMessage> {
        let n = self.u8()? as usize;
        Ok(Reader::new(self.take(n)?))
    }

    /// A vector with a two-byte length prefix; returns a reader over its body.
    pub fn sub_u16(&mut self) -> Result<Reader<'a>, InvalidMessage> {
        let n = self.u16()? as usize;
        Ok(Reader::new(self.take(n)?))
    }

    /// A vector with a three-byte length prefix; returns a reader over its body.
    pub fn sub_u24(&mut self) -> Result<Reader<'a>, InvalidMessage> {
        let n = self.u24()? as usize;
        Ok(Reader::new(self.take(n)?))
    }
}

/// Big-endian writers on `Vec<u8>`.
pub trait Put {
    fn put_u8(&mut self, v: u8);
    fn put_u16(&mut self, v: u16);
    fn put_u24(&mut self, v: u32);
    fn put_u32(&mut self, v: u32);
    fn put_u48(&mut self, v: u64);
    fn put_slice(&mut self, v: &[u8]);
}

impl Put for Vec<u8> {
    fn put_u8(&mut self, v: u8) {
        self.push(v);
    }
    fn put_u16(&mut self, v: u16) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn put_u24(&mut self, v: u32) {
        self.extend_from_slice(&v.to_be_bytes()[1..]);
    }
    fn put_u32(&mut self, v: u32) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn put_u48(&mut self, v: u64) {
        self.extend_from_slice(&v.to_be_bytes()[2..]);
    }
    fn put_slice(&mut self, v: &[u8]) {
        self.extend_from_slice(v);
    }
}

/// Width of a length prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LenPrefix {
    U8,
    U16,
    U24,
}

impl LenPrefix {
    fn width(self) -> usize {
        match self {
            Self::U8 => 1,
            Self::U16 => 2,
            Self::U24 => 3,
        }
    }

    fn max(self) -> usize {
        match self {
            Self::U8 => 0xff,
            Self::U16 => 0xffff,
            Self::U24 => 0xff_ffff,
        }
    }
}

/// Write a length-prefixed vector: a placeholder prefix is written, `body` fills the bytes,
/// then the prefix is patched with the real length. Nobody computes a length by hand.
///
/// Bodies are built by us, never from peer data, so an over-long body is a programming
/// error; it is caught by a debug assertion and the length saturates in release builds.
pub fn put_prefixed(out: &mut Vec<u8>, prefix: LenPrefix, body: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    out.resize(start + prefix.width(), 0);
    body(out);
    let len = out.len() - start - prefix.width();
    debug_assert!(len <= prefix.max(), "length-prefixed body too long");
    let len = len.min(prefix.max()) as u32;
    let bytes = len.to_be_bytes();
    let w = prefix.width();
    if let (Some(dst), Some(src)) = (out.get_mut(start..start + w), bytes.get(4 - w..)) {
        dst.copy_from_slice(src);
    }
}

/// A type with a wire encoding.
pub trait Codec: Sized {
    /// Append the encoding of `self` to `out`.
    fn encode(&self, out: &mut Vec<u8>);
    /// Read one value from `r`, leaving `r` after it.
    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage>;

    /// Encode into a fresh vector.
    fn to_vec(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.encode(&mut v);
        v
    }

    /// Decode `bytes`, rejecting trailing data.
    fn read_all(bytes: &[u8]) -> Result<Self, InvalidMessage> {
        let mut r = Reader::new(bytes);
        let v = Self::read(&mut r)?;
        r.expect_empty(core::any::type_name::<Self>())?;
        Ok(v)
    }
}

impl Codec for u8 {
    fn encode(&self, out: &mut Vec<u8>) {
        out.put_u8(*self)
    }
    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        r.u8()
    }
}

impl Codec for u16 {
    fn encode(&self, out: &mut Vec<u8>) {
        out.put_u16(*self)
    }
    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        r.u16()
    }
}

/// Read every item of a length-prefixed list whose body is in `r`.
/// Each item consumes at least one byte or the read fails, so the loop terminates.
pub fn read_list<T: Codec>(mut r: Reader<'_>) -> Result<Vec<T>, InvalidMessage> {
    let mut out = Vec::new();
    while !r.is_empty() {
        let before = r.left();
        out.push(T::read(&mut r)?);
        if r.left() >= before {
            return Err(InvalidMessage::Truncated);
        }
    }
    Ok(out)
}

/// Write a list of codec items behind a length prefix.
pub fn put_list<T: Codec>(out: &mut Vec<u8>, prefix: LenPrefix, items: &[T]) {
    put_prefixed(out, prefix, |o| items.iter().for_each(|i| i.encode(o)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_round_trip_big_endian() {
        let mut v = Vec::new();
        v.put_u8(1);
        v.put_u16(0x0203);
        v.put_u24(0x040506);
        v.put_u48(0x0708090a0b0c);
        assert_eq!(v, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
        let mut r = Reader::new(&v);
        assert_eq!(r.u8().unwrap(), 1);
        assert_eq!(r.u16().unwrap(), 0x0203);
        assert_eq!(r.u24().unwrap(), 0x040506);
        assert_eq!(r.u48().unwrap(), 0x0708090a0b0c);
        assert!(r.is_empty());
        assert_eq!(r.u8(), Err(InvalidMessage::Truncated));
    }

    #[test]
    fn prefixes_are_patched() {
        let mut v = Vec::new();
        put_prefixed(&mut v, LenPrefix::U24, |o| o.put_slice(b"abc"));
        put_prefixed(&mut v, LenPrefix::U8, |_| {});
        assert_eq!(v, [0, 0, 3, b'a', b'b', b'c', 0]);
    }

    #[test]
    fn oversized_length_is_truncated_not_panic() {
        let mut r = Reader::new(&[0xff, 0xff, 1]);
        assert!(r.sub_u16().is_err());
        let mut r = Reader::new(&[]);
        assert!(r.take(usize::MAX).is_err());
    }
}
