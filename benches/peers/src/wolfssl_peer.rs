//! wolfSSL (the C library that wolfssl-sys 5.3.0 builds: DTLS 1.3, ML-KEM, the hybrid groups,
//! its x86-64 assembly) speaking DTLS 1.3 over in-memory datagram queues, through its custom
//! I/O callbacks (`wolfSSL_CTX_SetIORecv` / `wolfSSL_CTX_SetIOSend`): each send callback is
//! one datagram, each receive callback returns one datagram or "want read".
//!
//! The workload of `common::handshake13`: the same CA, leaves and keys (DER buffers), only
//! TLS_AES_128_GCM_SHA256, the client offering one group with one key share, the server's
//! HelloRetryRequest cookie off (`wolfSSL_disable_hrr_cookie`), MTU 1500; the client checks
//! the chain against the CA and the name `localhost`, and with `client_auth` the server
//! requires and checks a client certificate.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::ffi::{CString, c_char, c_int, c_long, c_void};
use std::rc::Rc;
use std::sync::Once;

use wolfssl_sys as w;

use crate::common::pki;

/// IANA group code points.
pub const X25519: u16 = 29;
pub const X25519MLKEM768: u16 = 4588;

const SUCCESS: c_int = 1;
const FILETYPE_ASN1: c_int = 2;
const VERIFY_NONE: c_int = 0;
const VERIFY_PEER: c_int = 1;
const VERIFY_FAIL_IF_NO_PEER_CERT: c_int = 2;
/// `WOLFSSL_CBIO_ERR_WANT_READ`: no datagram waiting.
const CBIO_WANT_READ: c_int = -2;
/// `WOLFSSL_ERROR_WANT_READ` / `WOLFSSL_ERROR_WANT_WRITE` from `wolfSSL_get_error`.
const ERROR_WANT_READ: c_int = 2;
const ERROR_WANT_WRITE: c_int = 3;

type Queue = Rc<RefCell<VecDeque<Vec<u8>>>>;

/// One end of the in-memory link; its address is the I/O context wolfSSL hands back.
struct Io {
    inbox: Queue,
    outbox: Queue,
    spare: Vec<Vec<u8>>,
}

unsafe extern "C" fn io_recv(_ssl: *mut w::WOLFSSL, buf: *mut c_char, sz: c_int, ctx: *mut c_void) -> c_int {
    // SAFETY: ctx is the boxed `Io` of this WOLFSSL (set by `handshake`, alive as long as it);
    // wolfSSL calls back on this thread only.
    let io = unsafe { &mut *(ctx as *mut Io) };
    let Some(d) = io.inbox.borrow_mut().pop_front() else { return CBIO_WANT_READ };
    let n = d.len().min(sz.max(0) as usize);
    // SAFETY: buf holds `sz` writable bytes, n <= sz, and `d` does not overlap it.
    unsafe { std::ptr::copy_nonoverlapping(d.as_ptr(), buf.cast::<u8>(), n) };
    io.spare.push(d);
    n as c_int
}

unsafe extern "C" fn io_send(_ssl: *mut w::WOLFSSL, buf: *mut c_char, sz: c_int, ctx: *mut c_void) -> c_int {
    // SAFETY: as in `io_recv`; buf holds `sz` readable bytes.
    let (io, data) =
        unsafe { (&mut *(ctx as *mut Io), std::slice::from_raw_parts(buf as *const u8, sz.max(0) as usize)) };
    let mut d = io.spare.pop().unwrap_or_default();
    d.clear();
    d.extend_from_slice(data);
    io.outbox.borrow_mut().push_back(d);
    sz
}

fn check(what: &str, ret: c_int) {
    assert_eq!(ret, SUCCESS, "wolfSSL: {what} returned {ret}");
}

/// The two WOLFSSL_CTX, and the group the client offers.
pub struct Contexts {
    client: *mut w::WOLFSSL_CTX,
    server: *mut w::WOLFSSL_CTX,
    group: u16,
}

impl Drop for Contexts {
    fn drop(&mut self) {
        // SAFETY: made by wolfSSL_CTX_new, freed once, after every WOLFSSL made from them
        // (a `Pair` is dropped before its `Contexts` in every use here).
        unsafe {
            w::wolfSSL_CTX_free(self.client);
            w::wolfSSL_CTX_free(self.server);
        }
    }
}

/// Contexts for DTLS 1.3 on `group` ([`X25519`] or [`X25519MLKEM768`]).
pub fn contexts(group: u16, client_auth: bool) -> Contexts {
    static INIT: Once = Once::new();
    // SAFETY: library initialisation, once, before any other wolfSSL call.
    INIT.call_once(|| assert_eq!(unsafe { w::wolfSSL_Init() }, SUCCESS, "wolfSSL_Init"));
    let p = pki();
    let suites = CString::new("TLS13-AES128-GCM-SHA256").expect("cipher list");
    // SAFETY: plain FFI calls on contexts this function creates; the buffers outlive the
    // calls (wolfSSL copies what it keeps).
    unsafe {
        let client = w::wolfSSL_CTX_new(w::wolfDTLSv1_3_client_method());
        let server = w::wolfSSL_CTX_new(w::wolfDTLSv1_3_server_method());
        assert!(!client.is_null() && !server.is_null(), "wolfSSL_CTX_new");
        let buf = |ctx, der: &[u8], f: unsafe extern "C" fn(_, _, _, _) -> c_int, what| {
            check(what, f(ctx, der.as_ptr(), der.len() as c_long, FILETYPE_ASN1));
        };
        buf(client, &p.ca_der, w::wolfSSL_CTX_load_verify_buffer, "client CA");
        w::wolfSSL_CTX_set_verify(client, VERIFY_PEER, None);
        buf(server, &p.server_der, w::wolfSSL_CTX_use_certificate_buffer, "server certificate");
        buf(server, &p.server_key_der, w::wolfSSL_CTX_use_PrivateKey_buffer, "server key");
        if client_auth {
            buf(client, &p.client_der, w::wolfSSL_CTX_use_certificate_buffer, "client certificate");
            buf(client, &p.client_key_der, w::wolfSSL_CTX_use_PrivateKey_buffer, "client key");
            buf(server, &p.ca_der, w::wolfSSL_CTX_load_verify_buffer, "server CA");
            w::wolfSSL_CTX_set_verify(server, VERIFY_PEER | VERIFY_FAIL_IF_NO_PEER_CERT, None);
        } else {
            w::wolfSSL_CTX_set_verify(server, VERIFY_NONE, None);
        }
        for ctx in [client, server] {
            check("cipher list", w::wolfSSL_CTX_set_cipher_list(ctx, suites.as_ptr()));
            w::wolfSSL_CTX_SetIORecv(ctx, Some(io_recv));
            w::wolfSSL_CTX_SetIOSend(ctx, Some(io_send));
        }
        Contexts { client, server, group }
    }
}

/// An established client/server pair.
pub struct Pair {
    client: *mut w::WOLFSSL,
    server: *mut w::WOLFSSL,
    // The I/O contexts wolfSSL points at: boxed so their addresses do not move.
    _ios: (Box<Io>, Box<Io>),
    buf: Vec<u8>,
}

impl Drop for Pair {
    fn drop(&mut self) {
        // SAFETY: made by wolfSSL_new, freed once; the `Io`s are freed after them.
        unsafe {
            w::wolfSSL_free(self.client);
            w::wolfSSL_free(self.server);
        }
    }
}

/// One step of a non-blocking handshake: done, or waiting for a datagram.
fn step(ssl: *mut w::WOLFSSL, ret: c_int, who: &str) -> bool {
    if ret == SUCCESS {
        return true;
    }
    // SAFETY: ssl is live; ret is what the last call on it returned.
    let err = unsafe { w::wolfSSL_get_error(ssl, ret) };
    assert!(err == ERROR_WANT_READ || err == ERROR_WANT_WRITE, "wolfSSL {who} handshake: error {err}");
    false
}

/// One complete in-memory DTLS 1.3 handshake.
pub fn handshake(ctx: &Contexts) -> Pair {
    let a: Queue = Rc::default();
    let b: Queue = Rc::default();
    let mut cio = Box::new(Io { inbox: a.clone(), outbox: b.clone(), spare: Vec::new() });
    let mut sio = Box::new(Io { inbox: b, outbox: a, spare: Vec::new() });
    let host = c"localhost";
    // SAFETY: FFI on the objects made here; the I/O contexts are boxed and owned by the
    // returned `Pair`, which frees the WOLFSSLs first.
    unsafe {
        let client = w::wolfSSL_new(ctx.client);
        let server = w::wolfSSL_new(ctx.server);
        assert!(!client.is_null() && !server.is_null(), "wolfSSL_new");
        for (ssl, io) in [(client, &mut *cio as *mut Io), (server, &mut *sio as *mut Io)] {
            w::wolfSSL_SetIOReadCtx(ssl, io.cast());
            w::wolfSSL_SetIOWriteCtx(ssl, io.cast());
            w::wolfSSL_dtls_set_using_nonblock(ssl, 1);
            check("MTU", w::wolfSSL_dtls_set_mtu(ssl, 1500));
        }
        let mut one = [c_int::from(ctx.group)];
        check("client groups", w::wolfSSL_set_groups(client, one.as_mut_ptr(), 1));
        check("key share", w::wolfSSL_UseKeyShare(client, ctx.group));
        check("server name", w::wolfSSL_check_domain_name(client, host.as_ptr()));
        let mut both = [c_int::from(X25519MLKEM768), c_int::from(X25519)];
        check("server groups", w::wolfSSL_set_groups(server, both.as_mut_ptr(), 2));
        check("no HRR cookie", w::wolfSSL_disable_hrr_cookie(server));
        let (mut cd, mut sd) = (false, false);
        for _ in 0..20 {
            if !cd {
                cd = step(client, w::wolfSSL_connect(client), "client");
            }
            if !sd {
                sd = step(server, w::wolfSSL_accept(server), "server");
            }
            if cd && sd {
                break;
            }
        }
        assert!(cd && sd, "wolfSSL handshake did not complete");
        Pair { client, server, _ios: (cio, sio), buf: vec![0u8; 2048] }
    }
}

impl Pair {
    /// The group the client's side reports as negotiated (`wolfSSL_get_curve_name`).
    pub fn group(&self) -> String {
        // SAFETY: a live WOLFSSL; the name is a static NUL-terminated string or null.
        unsafe {
            let name = w::wolfSSL_get_curve_name(self.client);
            if name.is_null() { String::new() } else { std::ffi::CStr::from_ptr(name).to_string_lossy().into_owned() }
        }
    }

    /// One application record client -> server.
    pub fn record(&mut self, payload: &[u8]) {
        // SAFETY: live WOLFSSLs; the buffers hold the lengths passed.
        let n = unsafe {
            let sent = w::wolfSSL_write(self.client, payload.as_ptr().cast(), payload.len() as c_int);
            assert_eq!(sent, payload.len() as c_int, "wolfSSL_write");
            w::wolfSSL_read(self.server, self.buf.as_mut_ptr().cast(), self.buf.len() as c_int)
        };
        assert_eq!(n, payload.len() as c_int, "wolfSSL_read");
    }
}
