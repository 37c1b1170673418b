//! Just enough DTLS record and handshake framing to watch a handshake from the outside:
//! which cipher suite the ServerHello chose (dimpl does not report it), and whether the
//! ClientHellos we sent went out whole or in fragments. Only plaintext (epoch 0) records
//! are looked at; a DTLS 1.3 unified-header record ends the walk over a datagram.

/// One DTLSPlaintext record: content type, epoch, fragment.
pub struct Record<'a> {
    pub content_type: u8,
    pub epoch: u16,
    pub body: &'a [u8],
}

/// One handshake message fragment.
pub struct Fragment<'a> {
    pub msg_type: u8,
    /// Length of the whole message.
    pub length: usize,
    pub offset: usize,
    pub bytes: &'a [u8],
}

pub const HANDSHAKE: u8 = 22;
pub const CLIENT_HELLO: u8 = 1;
pub const SERVER_HELLO: u8 = 2;

fn u24(b: &[u8]) -> usize {
    (usize::from(b[0]) << 16) | (usize::from(b[1]) << 8) | usize::from(b[2])
}

/// The DTLSPlaintext records of a datagram, up to the first one that is not (a DTLS 1.3
/// ciphertext header or garbage) or is truncated.
pub fn records(mut datagram: &[u8]) -> Vec<Record<'_>> {
    let mut out = Vec::new();
    while datagram.len() >= 13 && (20..=25).contains(&datagram[0]) {
        let len = usize::from(u16::from_be_bytes([datagram[11], datagram[12]]));
        let Some(body) = datagram.get(13..13 + len) else { break };
        out.push(Record { content_type: datagram[0], epoch: u16::from_be_bytes([datagram[3], datagram[4]]), body });
        datagram = &datagram[13 + len..];
    }
    out
}

/// The handshake fragments of an epoch-0 handshake record body.
pub fn fragments(mut body: &[u8]) -> Vec<Fragment<'_>> {
    let mut out = Vec::new();
    while body.len() >= 12 {
        let frag_len = u24(&body[9..12]);
        let Some(bytes) = body.get(12..12 + frag_len) else { break };
        out.push(Fragment { msg_type: body[0], length: u24(&body[1..4]), offset: u24(&body[6..9]), bytes });
        body = &body[12 + frag_len..];
    }
    out
}

/// The plaintext handshake fragments of a datagram.
pub fn handshake_fragments(datagram: &[u8]) -> Vec<Fragment<'_>> {
    records(datagram)
        .into_iter()
        .filter(|r| r.content_type == HANDSHAKE && r.epoch == 0)
        .flat_map(|r| fragments(r.body))
        .collect()
}

/// The cipher suite of a ServerHello (or DTLS 1.3 HelloRetryRequest) fragment that starts
/// the message and is long enough to hold it.
pub fn server_hello_cipher(f: &Fragment<'_>) -> Option<u16> {
    if f.msg_type != SERVER_HELLO || f.offset != 0 {
        return None;
    }
    // server_version(2) random(32) session_id<0..32> cipher_suite(2)
    let sid_len = usize::from(*f.bytes.get(34)?);
    let at = 35 + sid_len;
    let cs = f.bytes.get(at..at + 2)?;
    Some(u16::from_be_bytes([cs[0], cs[1]]))
}

/// The versions a whole ClientHello offers in supported_versions (RFC 8446 §4.2.1), or
/// `None` when it carries no such extension (a plain DTLS 1.2 offer) or is not whole.
pub fn client_hello_versions(f: &Fragment<'_>) -> Option<Vec<u16>> {
    if f.msg_type != CLIENT_HELLO || f.offset != 0 || f.bytes.len() != f.length {
        return None;
    }
    let b = f.bytes;
    // client_version(2) random(32) session_id<1> cookie<1> cipher_suites<2> compression<1>
    let mut at = 34;
    at += 1 + usize::from(*b.get(at)?);
    at += 1 + usize::from(*b.get(at)?);
    at += 2 + usize::from(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]));
    at += 1 + usize::from(*b.get(at)?);
    let ext_len = usize::from(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]));
    let mut exts = b.get(at + 2..at + 2 + ext_len)?;
    while exts.len() >= 4 {
        let kind = u16::from_be_bytes([exts[0], exts[1]]);
        let len = usize::from(u16::from_be_bytes([exts[2], exts[3]]));
        let data = exts.get(4..4 + len)?;
        if kind == 0x002B {
            let list = data.get(1..1 + usize::from(*data.first()?))?;
            return Some(list.chunks_exact(2).map(|v| u16::from_be_bytes([v[0], v[1]])).collect());
        }
        exts = &exts[4 + len..];
    }
    None
}

/// `DTLS1.3`, `DTLS1.2`, or the hex value.
pub fn version_name(v: u16) -> String {
    match v {
        0xFEFC => "DTLS1.3".into(),
        0xFEFD => "DTLS1.2".into(),
        0xFEFF => "DTLS1.0".into(),
        other => format!("0x{other:04X}"),
    }
}

/// IANA name of the suites dimpl implements.
pub fn cipher_name(suite: u16) -> String {
    match suite {
        0xC02B => "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256".into(),
        0xC02C => "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384".into(),
        0xCCA9 => "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256".into(),
        0x1301 => "TLS_AES_128_GCM_SHA256".into(),
        0x1302 => "TLS_AES_256_GCM_SHA384".into(),
        0x1303 => "TLS_CHACHA20_POLY1305_SHA256".into(),
        other => format!("0x{other:04X}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(content_type: u8, epoch: u16, body: &[u8]) -> Vec<u8> {
        let mut r = vec![content_type, 0xFE, 0xFD];
        r.extend_from_slice(&epoch.to_be_bytes());
        r.extend_from_slice(&[0; 6]);
        r.extend_from_slice(&(body.len() as u16).to_be_bytes());
        r.extend_from_slice(body);
        r
    }

    fn fragment(msg_type: u8, length: usize, offset: usize, bytes: &[u8]) -> Vec<u8> {
        let mut f = vec![msg_type];
        f.extend_from_slice(&(length as u32).to_be_bytes()[1..]);
        f.extend_from_slice(&[0, 0]);
        f.extend_from_slice(&(offset as u32).to_be_bytes()[1..]);
        f.extend_from_slice(&(bytes.len() as u32).to_be_bytes()[1..]);
        f.extend_from_slice(bytes);
        f
    }

    #[test]
    fn finds_the_server_hello_suite_behind_other_records() {
        let mut sh = vec![0xFE, 0xFD];
        sh.extend_from_slice(&[7; 32]);
        sh.push(3);
        sh.extend_from_slice(&[1, 2, 3]);
        sh.extend_from_slice(&[0xC0, 0x2B, 0]);
        let mut datagram = record(20, 0, &[1]);
        datagram.extend(record(HANDSHAKE, 0, &fragment(SERVER_HELLO, sh.len(), 0, &sh)));
        datagram.extend([0x2F, 0, 0, 1, 2, 3]); // a DTLS 1.3 ciphertext record: the walk stops
        let frags = handshake_fragments(&datagram);
        assert_eq!(frags.len(), 1);
        assert_eq!(server_hello_cipher(&frags[0]), Some(0xC02B));
        assert_eq!(cipher_name(0xC02B), "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256");
    }

    fn client_hello(exts: &[u8]) -> Vec<u8> {
        let mut ch = vec![0xFE, 0xFD];
        ch.extend_from_slice(&[1; 32]);
        ch.extend_from_slice(&[0, 2, 9, 9]); // no session id, a 2-byte cookie
        ch.extend_from_slice(&[0, 4, 0x13, 0x01, 0xC0, 0x2B, 1, 0]);
        ch.extend_from_slice(&(exts.len() as u16).to_be_bytes());
        ch.extend_from_slice(exts);
        ch
    }

    #[test]
    fn reads_supported_versions_from_a_whole_client_hello() {
        let ch = client_hello(&[0x00, 0x17, 0, 0, 0x00, 0x2B, 0, 5, 4, 0xFE, 0xFC, 0xFE, 0xFD]);
        let whole = fragment(CLIENT_HELLO, ch.len(), 0, &ch);
        assert_eq!(client_hello_versions(&fragments(&whole)[0]), Some(vec![0xFEFC, 0xFEFD]));
        let part = fragment(CLIENT_HELLO, ch.len(), 0, &ch[..50]);
        assert_eq!(client_hello_versions(&fragments(&part)[0]), None);
        let ch12 = client_hello(&[0x00, 0x17, 0, 0]);
        let whole12 = fragment(CLIENT_HELLO, ch12.len(), 0, &ch12);
        assert_eq!(client_hello_versions(&fragments(&whole12)[0]), None);
        assert_eq!(version_name(0xFEFC), "DTLS1.3");
    }

    #[test]
    fn sees_client_hello_fragments_and_ignores_later_epochs() {
        let mut body = fragment(CLIENT_HELLO, 300, 0, &[0; 100]);
        body.extend(fragment(CLIENT_HELLO, 300, 100, &[0; 100]));
        let mut datagram = record(HANDSHAKE, 0, &body);
        datagram.extend(record(HANDSHAKE, 1, &fragment(CLIENT_HELLO, 5, 0, &[0; 5])));
        let frags = handshake_fragments(&datagram);
        assert_eq!(
            frags.iter().map(|f| (f.length, f.offset, f.bytes.len())).collect::<Vec<_>>(),
            [(300, 0, 100), (300, 100, 100)]
        );
        assert!(handshake_fragments(&datagram[..20]).is_empty());
    }
}
