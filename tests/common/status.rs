//! Reading what the peer programs print: their `connected key=value ...` status lines, their
//! `listening ADDR:PORT` line, and both transcripts for a failure message.

use std::time::Duration;

use super::openssl::OpensslPeer;

/// Both peers' transcripts, for a failure message.
pub fn both(a: &OpensslPeer, b: &OpensslPeer) -> String {
    format!("{}\n{}", a.transcript(), b.transcript())
}

/// Wait up to `wait` for `peer` to exit, and require success.
pub fn assert_exit_ok(peer: &mut OpensslPeer, other: &OpensslPeer, wait: Duration) {
    let status = peer.wait_exit(wait).unwrap_or_else(|| panic!("{} did not exit\n{}", peer.label(), both(peer, other)));
    assert!(status.success(), "{} failed: {status}\n{}", peer.label(), both(peer, other));
}

/// `key=value` from a `connected ...` line.
pub fn field<'a>(line: &'a str, key: &str) -> &'a str {
    line.split(' ')
        .find_map(|w| w.strip_prefix(key).and_then(|w| w.strip_prefix('=')))
        .unwrap_or_else(|| panic!("no {key}= in `{line}`"))
}

/// The port of a server's `listening ADDR:PORT` line, waited for up to `wait`.
pub fn listening_port(server: &OpensslPeer, wait: Duration) -> u16 {
    let addr = server.expect_line_after("listening ", wait);
    addr.trim().rsplit_once(':').and_then(|(_, p)| p.parse().ok()).expect("listening <addr>:<port>")
}

/// The path of an out-of-tree peer program named by environment variable `var` (set by
/// `scripts/test`); panics with `hint` when it is unset or not a file: a missing peer fails
/// the test, never skips it.
pub fn peer_binary(var: &str, hint: &str) -> String {
    match std::env::var_os(var) {
        None => panic!("{var} is not set. {hint}"),
        Some(p) if std::path::Path::new(&p).is_file() => std::path::PathBuf::from(p).display().to_string(),
        Some(p) => panic!("{var}={} is not a file. {hint}", std::path::Path::new(&p).display()),
    }
}
