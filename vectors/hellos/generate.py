#!/usr/bin/env python3
"""Generate the captured-shape DTLS ClientHello bodies of this directory.

What this proves: nothing by itself; it is the reproducible source of
`chrome-2026.hex` and `firefox-148.hex`, which `tests/hello_shapes.rs` feeds through a
real `dtls_engine::Endpoint`. Running it again must give the committed files byte for
byte (`python3 vectors/hellos/generate.py --check`).

Each file holds one ClientHello *body* (RFC 6347 §4.2.1 / RFC 5246 §7.4.1.2: from
client_version to the end of the extension block, without the 12-byte DTLS handshake
header), as lowercase hex on one line after three `#` comment lines. The structure follows the browsers' published
behaviour (see README.md); every random value (client random, GREASE picks, extension
permutation, key shares) comes from the seeded stream below, never from a capture.
"""

import hashlib
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent

# ---------------------------------------------------------------------------------------
# Deterministic randomness: SHA-256(label || counter), so the output never changes.


class Stream:
    def __init__(self, label):
        self.label = label.encode()
        self.counter = 0
        self.pool = b""

    def take(self, n):
        while len(self.pool) < n:
            block = hashlib.sha256(self.label + self.counter.to_bytes(8, "big")).digest()
            self.counter += 1
            self.pool += block
        out, self.pool = self.pool[:n], self.pool[n:]
        return out

    def below(self, n):
        """Uniform in [0, n) by rejection sampling on 32-bit draws."""
        limit = (1 << 32) - ((1 << 32) % n)
        while True:
            v = int.from_bytes(self.take(4), "big")
            if v < limit:
                return v % n

    def shuffled(self, items):
        items = list(items)
        for i in range(len(items) - 1, 0, -1):
            j = self.below(i + 1)
            items[i], items[j] = items[j], items[i]
        return items


# ---------------------------------------------------------------------------------------
# Encoding (RFC 5246 §4 presentation language).


def u8(v):
    return bytes([v])


def u16(v):
    return v.to_bytes(2, "big")


def vec8(b):
    assert len(b) < 1 << 8
    return u8(len(b)) + b


def vec16(b):
    assert len(b) < 1 << 16
    return u16(len(b)) + b


def u16_list(values):
    return b"".join(u16(v) for v in values)


def ext(typ, data):
    return u16(typ) + vec16(data)


def key_share_entry(group, share):
    # RFC 8446 §4.2.8: struct { NamedGroup group; opaque key_exchange<1..2^16-1>; }
    return u16(group) + vec16(share)


def hello_body(random, suites, extensions):
    # client_version, random, session_id (empty), cookie (empty: the first flight),
    # cipher_suites, compression_methods = [null], extensions.
    return (
        u16(0xFEFD)
        + random
        + vec8(b"")
        + vec8(b"")
        + vec16(u16_list(suites))
        + vec8(b"\x00")
        + vec16(b"".join(extensions))
    )


# RFC 8701 §2: the sixteen GREASE values 0x0A0A, 0x1A1A, ..., 0xFAFA.
GREASE = [0x0A0A + 0x1010 * i for i in range(16)]

# Code points (IANA TLS registries; ML-DSA from draft-ietf-tls-mldsa, X25519MLKEM768
# from draft-ietf-tls-ecdhe-mlkem).
EXT = {
    "supported_groups": 0x000A,
    "ec_point_formats": 0x000B,
    "signature_algorithms": 0x000D,
    "use_srtp": 0x000E,
    "padding": 0x0015,
    "extended_master_secret": 0x0017,
    "record_size_limit": 0x001C,
    "supported_versions": 0x002B,
    "psk_key_exchange_modes": 0x002D,
    "key_share": 0x0033,
    "renegotiation_info": 0xFF01,
}
DTLS_1_3, DTLS_1_2 = 0xFEFC, 0xFEFD
X25519, P256, P384, P521, FFDHE2048, FFDHE3072 = 0x001D, 0x0017, 0x0018, 0x0019, 0x0100, 0x0101
X25519MLKEM768 = 0x11EC
ML_KEM_768_ENCAPSULATION_KEY = 1184
X25519_SHARE = 32


# ---------------------------------------------------------------------------------------
# Chrome (BoringSSL in libwebrtc), 2026 shape.


def chrome():
    rng = Stream("dtls-engine vectors/hellos chrome-2026")
    random = rng.take(32)
    g_cipher, g_group, g_version, g_sigalg = (GREASE[rng.below(16)] for _ in range(4))
    g_ext1 = GREASE[rng.below(16)]
    g_ext2 = GREASE[rng.below(15)]
    if g_ext2 >= g_ext1:  # BoringSSL never sends the same GREASE extension twice
        g_ext2 += 0x1010
    suites = [
        g_cipher,
        0x1301,  # TLS_AES_128_GCM_SHA256
        0x1302,  # TLS_AES_256_GCM_SHA384
        0x1303,  # TLS_CHACHA20_POLY1305_SHA256
        0xC02B,  # ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
        0xC02F,  # ECDHE_RSA_WITH_AES_128_GCM_SHA256
        0xC02C,  # ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
        0xC030,  # ECDHE_RSA_WITH_AES_256_GCM_SHA384
        0xCCA9,  # ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
        0xCCA8,  # ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
        0xC009,  # ECDHE_ECDSA_WITH_AES_128_CBC_SHA
        0xC013,  # ECDHE_RSA_WITH_AES_128_CBC_SHA
        0xC00A,  # ECDHE_ECDSA_WITH_AES_256_CBC_SHA
        0xC014,  # ECDHE_RSA_WITH_AES_256_CBC_SHA
    ]
    sigalgs = [
        g_sigalg,
        0x0403,  # ecdsa_secp256r1_sha256
        0x0804,  # rsa_pss_rsae_sha256
        0x0401,  # rsa_pkcs1_sha256
        0x0503,  # ecdsa_secp384r1_sha384
        0x0805,  # rsa_pss_rsae_sha384
        0x0501,  # rsa_pkcs1_sha384
        0x0806,  # rsa_pss_rsae_sha512
        0x0601,  # rsa_pkcs1_sha512
        0x0904,  # mldsa44
        0x0905,  # mldsa65
        0x0906,  # mldsa87
    ]
    body_exts = [
        ext(EXT["extended_master_secret"], b""),
        ext(EXT["renegotiation_info"], vec8(b"")),
        ext(EXT["supported_groups"], vec16(u16_list([g_group, X25519, P256, P384]))),
        ext(EXT["ec_point_formats"], vec8(b"\x00")),
        ext(EXT["signature_algorithms"], vec16(u16_list(sigalgs))),
        # RFC 5764 §4.1.1: AEAD_AES_128_GCM, AEAD_AES_256_GCM, AES128_CM_HMAC_SHA1_80,
        # AES128_CM_HMAC_SHA1_32; empty MKI.
        ext(EXT["use_srtp"], vec16(u16_list([0x0007, 0x0008, 0x0001, 0x0002])) + vec8(b"")),
        ext(EXT["supported_versions"], vec8(u16_list([g_version, DTLS_1_3, DTLS_1_2]))),
        # BoringSSL's GREASE key share is one zero byte, listed before the real share.
        ext(
            EXT["key_share"],
            vec16(key_share_entry(g_group, b"\x00") + key_share_entry(X25519, rng.take(X25519_SHARE))),
        ),
        ext(EXT["psk_key_exchange_modes"], vec8(b"\x01")),  # psk_dhe_ke
    ]
    # BoringSSL's permute_extensions: a fresh order per connection, the two GREASE
    # extensions pinned first (empty) and last (one zero byte).
    exts = [ext(g_ext1, b"")] + rng.shuffled(body_exts) + [ext(g_ext2, b"\x00")]
    # RFC 7685 padding, 40 zero bytes, after everything else (see README.md: ours, so that
    # the hello spans two 256-byte datagrams even before the cookie is added).
    exts.append(ext(EXT["padding"], bytes(40)))
    return hello_body(random, suites, exts)


# ---------------------------------------------------------------------------------------
# Firefox (NSS), 148 shape.


def firefox():
    rng = Stream("dtls-engine vectors/hellos firefox-148")
    random = rng.take(32)
    suites = [
        0x1301,  # TLS_AES_128_GCM_SHA256
        0x1303,  # TLS_CHACHA20_POLY1305_SHA256
        0x1302,  # TLS_AES_256_GCM_SHA384
        0xC02B,  # ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
        0xC02F,  # ECDHE_RSA_WITH_AES_128_GCM_SHA256
        0xCCA9,  # ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
        0xCCA8,  # ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
        0xC02C,  # ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
        0xC030,  # ECDHE_RSA_WITH_AES_256_GCM_SHA384
        0xC00A,  # ECDHE_ECDSA_WITH_AES_256_CBC_SHA
        0xC009,  # ECDHE_ECDSA_WITH_AES_128_CBC_SHA
        0xC013,  # ECDHE_RSA_WITH_AES_128_CBC_SHA
        0xC014,  # ECDHE_RSA_WITH_AES_256_CBC_SHA
    ]
    sigalgs = [
        0x0403,  # ecdsa_secp256r1_sha256
        0x0503,  # ecdsa_secp384r1_sha384
        0x0603,  # ecdsa_secp521r1_sha512
        0x0804,  # rsa_pss_rsae_sha256
        0x0805,  # rsa_pss_rsae_sha384
        0x0806,  # rsa_pss_rsae_sha512
        0x0401,  # rsa_pkcs1_sha256
        0x0501,  # rsa_pkcs1_sha384
        0x0601,  # rsa_pkcs1_sha512
        0x0203,  # ecdsa_sha1
        0x0201,  # rsa_pkcs1_sha1
    ]
    # draft-ietf-tls-ecdhe-mlkem: the X25519MLKEM768 client share is the ML-KEM-768
    # encapsulation key (1184 bytes) followed by the X25519 share (32 bytes).
    hybrid = rng.take(ML_KEM_768_ENCAPSULATION_KEY) + rng.take(X25519_SHARE)
    # NSS writes its extensions in the fixed order of its handler table.
    exts = [
        ext(EXT["extended_master_secret"], b""),
        ext(EXT["renegotiation_info"], vec8(b"")),
        ext(
            EXT["supported_groups"],
            vec16(u16_list([X25519MLKEM768, X25519, P256, P384, P521, FFDHE2048, FFDHE3072])),
        ),
        ext(EXT["ec_point_formats"], vec8(b"\x00")),
        ext(
            EXT["key_share"],
            vec16(key_share_entry(X25519MLKEM768, hybrid) + key_share_entry(X25519, rng.take(X25519_SHARE))),
        ),
        ext(EXT["supported_versions"], vec8(u16_list([DTLS_1_3, DTLS_1_2]))),
        ext(EXT["signature_algorithms"], vec16(u16_list(sigalgs))),
        ext(EXT["psk_key_exchange_modes"], vec8(b"\x01")),
        ext(EXT["record_size_limit"], u16(0x4001)),
        ext(EXT["use_srtp"], vec16(u16_list([0x0007, 0x0008, 0x0001, 0x0002])) + vec8(b"")),
    ]
    return hello_body(random, suites, exts)


# ---------------------------------------------------------------------------------------

OUTPUTS = {"chrome-2026.hex": chrome, "firefox-148.hex": firefox}


def main():
    check = "--check" in sys.argv[1:]
    stale = []
    for name, make in OUTPUTS.items():
        body = make()
        header = (
            f"# {name}: one DTLS ClientHello body ({len(body)} bytes, no handshake header), written by\n"
            "# vectors/hellos/generate.py. Proves nothing alone: tests/hello_shapes.rs sends it through a\n"
            "# server Endpoint. What it models and where its structure comes from: README.md.\n"
        )
        text = header + body.hex() + "\n"
        path = HERE / name
        if check:
            if not path.exists() or path.read_text() != text:
                stale.append(name)
        else:
            path.write_text(text)
        print(f"{name}: {len(body)} bytes")
    if stale:
        sys.exit(f"out of date: {', '.join(stale)} (run vectors/hellos/generate.py)")


if __name__ == "__main__":
    main()
