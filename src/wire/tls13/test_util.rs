//! Compiled only under `#[cfg(test)]`: unwraps here are test assertions.
//! Shared checks for the DTLS 1.3 codec tests.

use core::fmt::Debug;

use crate::error::InvalidMessage;

pub(crate) use crate::wire::messages::tests::hex;

/// `bytes` parses to `value`, `value` encodes to `bytes`, every strict prefix of `bytes` is
/// refused (without panicking) and so is `bytes` with a byte appended.
pub(crate) fn check_layout<T: PartialEq + Debug>(
    value: &T,
    bytes: &[u8],
    parse: impl Fn(&[u8]) -> Result<T, InvalidMessage>,
    encode: impl Fn(&T) -> Vec<u8>,
) {
    assert_eq!(encode(value), bytes, "encoding of {value:?}");
    assert_eq!(parse(bytes).as_ref(), Ok(value));
    for n in 0..bytes.len() {
        assert!(parse(&bytes[..n]).is_err(), "prefix of {n} bytes of {value:?} accepted");
    }
    let mut longer = bytes.to_vec();
    longer.push(0);
    assert!(parse(&longer).is_err(), "trailing byte after {value:?} accepted");
}
