//! Drives `openssl s_server` / `openssl s_client` (DTLS 1.2) as test peers.
//!
//! What the tools need (as observed with OpenSSL 3.0):
//! - stdin stays open for the life of the process (EOF ends `s_server`, and `s_client`);
//!   each line written to stdin is sent as one application-data record;
//! - `-nbio`, or a late handshake record leaves them stuck in `SSL_read`;
//! - nothing may be written to stdin before the handshake is done: `s_server -nbio` then
//!   spins printing `Write BLOCK` (megabytes per second), which is why the captured output
//!   is capped. Wait for [`handshake_done`](OpensslPeer::handshake_done) first.
//!
//! Only loopback addresses are used. A peer is killed when dropped, so a failing test
//! never leaks a process.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::UdpSocket;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::certs::{CertKey, openssl_bin};

/// Captured output per stream is capped here; the rest is read and discarded so the
/// child never blocks on a full pipe.
const OUTPUT_CAP: usize = 256 * 1024;

/// What `s_server` prints once its socket is bound.
pub const SERVER_READY: &str = "ACCEPT";
/// What `s_server` prints when a handshake has completed (followed by the suite name).
pub const SERVER_HANDSHAKE_DONE: &str = "CIPHER is ";
/// What `s_client` prints when a handshake has completed (followed by the suite name).
/// A failed handshake prints `Cipher is (NONE)` instead.
pub const CLIENT_HANDSHAKE_DONE: &str = "Cipher is ECDHE-";
/// What `s_server` prints when the connection ended, after a close_notify from the peer
/// (preceded by `DONE` and `shutting down SSL`).
pub const SERVER_CONNECTION_CLOSED: &str = "CONNECTION CLOSED";

/// What both tools print (stdout) with `-keymatexport LABEL -keymatexportlen N`, followed
/// by the material in upper-case hex and a newline. `s_server` prints it right after its
/// `CIPHER is` / SRTP lines, `s_client` at the end of its session summary (after
/// `Verify return code`). A refused label (`master secret`, ...) prints `    Error`
/// on the line after `Length: N bytes` instead.
pub const KEYING_MATERIAL: &str = "Keying material: ";
/// What both tools print when `-use_srtp` negotiated a profile (followed by its name).
/// Nothing at all is printed when the lists do not overlap: the handshake goes on
/// without SRTP.
pub const SRTP_NEGOTIATED: &str = "SRTP Extension negotiated, profile=";
/// What `s_client -alpn` prints when ALPN was negotiated (followed by the protocol);
/// otherwise it prints `No ALPN negotiated`.
pub const CLIENT_ALPN: &str = "ALPN protocol: ";
/// What `s_client` prints (after `---`) for a session it resumed, followed by the suite
/// name; a full handshake prints [`CLIENT_NEW_SESSION`] instead. (OpenSSL 3.0 names the
/// cipher's version, `TLSv1.2`, for DTLS 1.2 too.)
pub const CLIENT_REUSED_SESSION: &str = "Reused, TLSv1.2, Cipher is ";
/// What `s_client` prints for a session from a full handshake, followed by the suite name.
pub const CLIENT_NEW_SESSION: &str = "New, TLSv1.2, Cipher is ";
/// What `s_server` prints (on a line of its own, after `CIPHER is ...`) for a resumed
/// session, by session ID and by ticket alike.
pub const SERVER_REUSED_SESSION: &str = "Reused session-id";
/// What `s_server -tlsextdebug` prints for the client's session_ticket extension,
/// followed by its length (`len=0`: a request for a ticket, more: a ticket offered).
pub const SERVER_TICKET_EXTENSION: &str = "TLS client extension \"session ticket\" (id=35), len=";
/// What `s_server` prints in its statistics as it exits, preceded by the count right
/// aligned (`   1 items in the session cache`).
pub const SERVER_CACHE_ITEMS: &str = " items in the session cache";

/// What `s_server -alpn` prints: the client's list (`webrtc, h2`), then its choice.
pub const SERVER_ALPN_OFFERED: &str = "ALPN protocols advertised by the client: ";
pub const SERVER_ALPN_SELECTED: &str = "ALPN protocols selected: ";

/// A loopback UDP port that was free a moment ago (bound to 127.0.0.1:0, then released).
pub fn pick_free_port() -> u16 {
    let sock = UdpSocket::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    sock.local_addr().expect("local_addr").port()
}

#[derive(Default)]
struct Captured {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    /// Reader threads that have reached EOF (0, 1 or 2).
    eof: u8,
}

struct Shared {
    captured: Mutex<Captured>,
    changed: Condvar,
}

/// A running `openssl s_server` or `s_client`.
pub struct OpensslPeer {
    label: String,
    /// The UDP port the server listens on (for `s_client`: the port it connects to).
    pub port: u16,
    child: Child,
    stdin: Option<ChildStdin>,
    shared: Arc<Shared>,
    readers: Vec<JoinHandle<()>>,
    exit: Option<ExitStatus>,
}

impl OpensslPeer {
    /// Spawns `openssl` with `args`, stdin piped and held open, stdout/stderr captured.
    pub fn spawn(label: impl Into<String>, port: u16, args: &[String]) -> Self {
        let mut command = Command::new(openssl_bin());
        command.args(args);
        Self::spawn_command(label, port, command)
    }

    /// Like [`spawn`](Self::spawn) for another program (the `dtls` tool, say), so it can
    /// be watched the same way.
    pub fn spawn_program(program: &str, label: impl Into<String>, port: u16, args: &[String]) -> Self {
        let mut command = Command::new(program);
        command.args(args);
        Self::spawn_command(label, port, command)
    }

    /// Spawns any prepared command (program, arguments, environment) the same way:
    /// stdin piped and held open, stdout/stderr captured, killed when dropped. The GnuTLS
    /// tools use this; only [`handshake_done`](Self::handshake_done) is OpenSSL-specific.
    pub fn spawn_command(label: impl Into<String>, port: u16, mut command: Command) -> Self {
        let label = label.into();
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot spawn {command:?}: {e}"));
        let shared = Arc::new(Shared { captured: Mutex::new(Captured::default()), changed: Condvar::new() });
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        let readers =
            vec![spawn_reader(stdout, Arc::clone(&shared), false), spawn_reader(stderr, Arc::clone(&shared), true)];
        let stdin = child.stdin.take();
        Self { label, port, child, stdin, shared, readers, exit: None }
    }

    /// Waits until `needle` appears on stdout or stderr. False on timeout, or as soon as
    /// the process has closed both streams without printing it.
    pub fn wait_for_output(&self, needle: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut cap = self.shared.captured.lock().expect("output lock");
        loop {
            if contains(&cap.stdout, needle) || contains(&cap.stderr, needle) {
                return true;
            }
            let now = Instant::now();
            if cap.eof == 2 || now >= deadline {
                return false;
            }
            cap = self.shared.changed.wait_timeout(cap, deadline - now).expect("output lock").0;
        }
    }

    /// Like [`wait_for_output`](Self::wait_for_output) but panics with the transcript.
    pub fn expect_output(&self, needle: &str, timeout: Duration) {
        assert!(
            self.wait_for_output(needle, timeout),
            "{} did not print {needle:?} within {timeout:?}\n{}",
            self.label,
            self.transcript()
        );
    }

    /// True if `needle` has been printed so far.
    pub fn has_output(&self, needle: &str) -> bool {
        let cap = self.shared.captured.lock().expect("output lock");
        contains(&cap.stdout, needle) || contains(&cap.stderr, needle)
    }

    pub fn stdout(&self) -> String {
        let cap = self.shared.captured.lock().expect("output lock");
        String::from_utf8_lossy(&cap.stdout).into_owned()
    }

    pub fn stderr(&self) -> String {
        let cap = self.shared.captured.lock().expect("output lock");
        String::from_utf8_lossy(&cap.stderr).into_owned()
    }

    /// Both streams, labelled, for assertion messages.
    pub fn transcript(&self) -> String {
        format!(
            "----- {} stdout -----\n{}\n----- {} stderr -----\n{}\n-----",
            self.label,
            self.stdout(),
            self.label,
            self.stderr()
        )
    }

    /// Waits until `marker` has been printed (stdout or stderr) followed by the end of its
    /// line, and returns the rest of that line (without `\r\n`). `None` on timeout or if
    /// the process closed its streams first.
    pub fn line_after(&self, marker: &str, timeout: Duration) -> Option<String> {
        let deadline = Instant::now() + timeout;
        let mut cap = self.shared.captured.lock().expect("output lock");
        loop {
            for stream in [&cap.stdout, &cap.stderr] {
                if let Some(rest) = rest_of_line(stream, marker) {
                    return Some(rest);
                }
            }
            let now = Instant::now();
            if cap.eof == 2 || now >= deadline {
                return None;
            }
            cap = self.shared.changed.wait_timeout(cap, deadline - now).expect("output lock").0;
        }
    }

    /// Like [`line_after`](Self::line_after) but panics with the transcript.
    pub fn expect_line_after(&self, marker: &str, timeout: Duration) -> String {
        self.line_after(marker, timeout).unwrap_or_else(|| {
            panic!("{} did not print a line with {marker:?} within {timeout:?}\n{}", self.label, self.transcript())
        })
    }

    /// The keying material printed by `-keymatexport` (see [`KEYING_MATERIAL`]), decoded.
    pub fn keying_material(&self, timeout: Duration) -> Vec<u8> {
        let hex = self.expect_line_after(KEYING_MATERIAL, timeout);
        hex_decode(hex.trim()).unwrap_or_else(|| panic!("{}: bad keying material {hex:?}", self.label))
    }

    /// Waits for the handshake-complete line of this tool (`s_server` or `s_client`).
    /// Write to stdin only after this returned true.
    pub fn handshake_done(&self, timeout: Duration) -> bool {
        let needle = if self.label.starts_with("s_server") { SERVER_HANDSHAKE_DONE } else { CLIENT_HANDSHAKE_DONE };
        self.wait_for_output(needle, timeout)
    }

    /// Sends `line` (plus `\n`) as one application-data record.
    pub fn write_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin already closed");
        let res = stdin.write_all(format!("{line}\n").as_bytes()).and_then(|()| stdin.flush());
        if let Err(e) = res {
            panic!("cannot write to {} stdin: {e}\n{}", self.label, self.transcript());
        }
    }

    /// Closes stdin: `s_server` and `s_client` then shut down.
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Waits for the process to exit on its own.
    /// Once it has exited, waits (up to 2 s more) for the reader threads to capture the
    /// rest of its output, so what it printed last is there to be checked.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.exit {
                return Some(status);
            }
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    self.exit = Some(status);
                    self.wait_for_eof(Duration::from_secs(2));
                    return Some(status);
                }
                Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
                Ok(None) => return None,
                Err(e) => panic!("try_wait on {}: {e}", self.label),
            }
        }
    }

    /// Waits until both output streams have reached end of file, or `timeout` passed.
    fn wait_for_eof(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let mut cap = self.shared.captured.lock().expect("output lock");
        while cap.eof < 2 {
            let now = Instant::now();
            if now >= deadline {
                return;
            }
            cap = self.shared.changed.wait_timeout(cap, deadline - now).expect("output lock").0;
        }
    }

    /// Kills the process (if still running) and reaps it. Idempotent.
    pub fn kill(&mut self) {
        self.stdin = None;
        if self.exit.is_none() {
            if let Ok(None) = self.child.try_wait() {
                // Our own child, by handle: never a broad kill.
                let _ = self.child.kill();
            }
            if let Ok(status) = self.child.wait() {
                self.exit = Some(status);
            }
        }
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
    }

    pub fn label(&self) -> &str {
        &self.label
    }
}

impl Drop for OpensslPeer {
    fn drop(&mut self) {
        self.kill();
    }
}

fn spawn_reader(mut pipe: impl Read + Send + 'static, shared: Arc<Shared>, is_stderr: bool) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        loop {
            let n = match pipe.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let mut cap = shared.captured.lock().expect("output lock");
            let sink = if is_stderr { &mut cap.stderr } else { &mut cap.stdout };
            let room = OUTPUT_CAP.saturating_sub(sink.len());
            sink.extend_from_slice(&buf[..n.min(room)]);
            drop(cap);
            shared.changed.notify_all();
        }
        shared.captured.lock().expect("output lock").eof += 1;
        shared.changed.notify_all();
    })
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    let needle = needle.as_bytes();
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

/// The rest of the first line of `haystack` that contains `marker`, once that line is
/// complete (ends in `\n`).
fn rest_of_line(haystack: &[u8], marker: &str) -> Option<String> {
    let m = marker.as_bytes();
    let start = haystack.windows(m.len()).position(|w| w == m)? + m.len();
    let len = haystack[start..].iter().position(|&b| b == b'\n')?;
    let line = String::from_utf8_lossy(&haystack[start..start + len]);
    Some(line.trim_end_matches('\r').to_owned())
}

/// Decodes hex (either case, no separators); `None` if malformed.
pub fn hex_decode(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok()).collect()
}

/// Lower-case hex, as in key log files.
pub fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The lines of an NSS key log file written by `-keylogfile`, without the comment header
/// (`# SSL/TLS secrets log file, generated by OpenSSL`) and blank lines, once it holds at
/// least one `CLIENT_RANDOM` line (OpenSSL writes it when the master secret is known).
/// An empty list on timeout.
///
/// Note: `s_server -servername NAME -cert2 ...` switches a matching connection to a second
/// `SSL_CTX` that has no key log callback: such a connection is not logged at all.
pub fn read_key_log(path: &Path, timeout: Duration) -> Vec<String> {
    let deadline = Instant::now() + timeout;
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let lines: Vec<String> =
            text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(str::to_owned).collect();
        if lines.iter().any(|l| l.starts_with("CLIENT_RANDOM ")) || Instant::now() >= deadline {
            return lines;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn path_arg(p: &Path) -> String {
    p.to_str().expect("utf-8 path").to_owned()
}

/// Options both tools share.
#[derive(Default, Clone)]
struct Common {
    extra: Vec<String>,
}

impl Common {
    fn push(&mut self, args: &[&str]) {
        self.extra.extend(args.iter().map(|s| (*s).to_owned()));
    }

    fn use_srtp(&mut self, profiles: &[&str]) {
        self.push(&["-use_srtp", &profiles.join(":")]);
    }

    fn alpn(&mut self, protocols: &[&str]) {
        self.push(&["-alpn", &protocols.join(",")]);
    }

    fn keymatexport(&mut self, label: &str, len: usize) {
        self.push(&["-keymatexport", label, "-keymatexportlen", &len.to_string()]);
    }

    fn keylogfile(&mut self, path: &Path) {
        self.push(&["-keylogfile", &path_arg(path)]);
    }
}

/// Adds the extension options both builders share.
macro_rules! extension_options {
    () => {
        /// `-use_srtp P1:P2` (OpenSSL profile names, `SRTP_AES128_CM_SHA1_80`,
        /// `SRTP_AEAD_AES_128_GCM`, ...). `s_server` picks by its own order.
        pub fn use_srtp(mut self, profiles: &[&str]) -> Self {
            self.common.use_srtp(profiles);
            self
        }

        /// `-alpn a,b`. `s_server` picks by its own order and sends a fatal
        /// `no_application_protocol` alert when nothing overlaps.
        pub fn alpn(mut self, protocols: &[&str]) -> Self {
            self.common.alpn(protocols);
            self
        }

        /// `-keymatexport LABEL -keymatexportlen N` (no context); read the result with
        /// [`OpensslPeer::keying_material`].
        pub fn keymatexport(mut self, label: &str, len: usize) -> Self {
            self.common.keymatexport(label, len);
            self
        }

        /// `-keylogfile FILE` (NSS key log format); read it with [`read_key_log`].
        pub fn keylogfile(mut self, path: &Path) -> Self {
            self.common.keylogfile(path);
            self
        }
    };
}

/// Builds an `openssl s_server -dtls1_2 -nbio -naccept 1 -accept 127.0.0.1:PORT ...`.
#[derive(Default, Clone)]
pub struct ServerBuilder {
    common: Common,
}

/// Starts building an `s_server`.
pub fn s_server() -> ServerBuilder {
    ServerBuilder::default()
}

impl ServerBuilder {
    /// `-cert FILE -key FILE`.
    pub fn cert(mut self, ck: &CertKey) -> Self {
        self.common.push(&["-cert", &path_arg(&ck.cert), "-key", &path_arg(&ck.key)]);
        self
    }

    /// `-cipher LIST` (OpenSSL names).
    pub fn cipher(mut self, list: &str) -> Self {
        self.common.push(&["-cipher", list]);
        self
    }

    /// `-groups LIST` (`X25519`, `P-256`, `P-384`).
    pub fn groups(mut self, list: &str) -> Self {
        self.common.push(&["-groups", list]);
        self
    }

    /// `-mtu N` (OpenSSL's minimum is 256).
    pub fn mtu(mut self, mtu: u16) -> Self {
        self.common.push(&["-mtu", &mtu.to_string()]);
        self
    }

    /// Mutual auth: `-Verify 1 -verifyCAfile CA -verify_return_error`.
    pub fn require_client_cert(mut self, ca: &Path) -> Self {
        self.common.push(&["-Verify", "1", "-verifyCAfile", &path_arg(ca), "-verify_return_error"]);
        self
    }

    extension_options!();

    /// SNI: `-servername NAME -cert2 FILE -key2 FILE`: a client asking for `name` gets
    /// `ck`, any other client the default `-cert`. (`s_server` needs both; a client
    /// sending another name gets warning alerts and fails.)
    pub fn sni_cert(mut self, name: &str, ck: &CertKey) -> Self {
        self.common.push(&["-servername", name, "-cert2", &path_arg(&ck.cert), "-key2", &path_arg(&ck.key)]);
        self
    }

    /// `-listen`: the stateless cookie exchange (`DTLSv1_listen`).
    pub fn listen(mut self) -> Self {
        self.common.push(&["-listen"]);
        self
    }

    /// `-naccept N`: serve `n` connections one after the other, then exit (printing its
    /// statistics). It overrides the `-naccept 1` that [`spawn`](Self::spawn) passes (the
    /// last one given wins).
    pub fn naccept(mut self, n: u32) -> Self {
        self.common.push(&["-naccept", &n.to_string()]);
        self
    }

    /// `-no_ticket`: issue no RFC 5077 session tickets (resumption by session ID only).
    pub fn no_ticket(mut self) -> Self {
        self.common.push(&["-no_ticket"]);
        self
    }

    /// `-tlsextdebug`: print each ClientHello extension with its length (see
    /// [`SERVER_TICKET_EXTENSION`]).
    pub fn tlsextdebug(mut self) -> Self {
        self.common.push(&["-tlsextdebug"]);
        self
    }

    /// Any other argument(s).
    pub fn args(mut self, args: &[&str]) -> Self {
        self.common.push(args);
        self
    }

    /// Spawns on a free loopback port and waits until it is bound (`ACCEPT`). Retries on
    /// another port if the one picked was taken in the meantime.
    pub fn spawn(self) -> OpensslPeer {
        let mut last = String::new();
        for _attempt in 0..5 {
            let port = pick_free_port();
            let mut args: Vec<String> =
                ["s_server", "-dtls1_2", "-nbio", "-naccept", "1", "-accept", &format!("127.0.0.1:{port}")]
                    .iter()
                    .map(|s| (*s).to_owned())
                    .collect();
            args.extend(self.common.extra.iter().cloned());
            let mut peer = OpensslPeer::spawn(format!("s_server :{port}"), port, &args);
            if peer.wait_for_output(SERVER_READY, Duration::from_secs(10)) {
                return peer;
            }
            peer.kill();
            last = peer.transcript();
            if !(last.contains("in use") || last.contains("bind")) {
                break;
            }
        }
        panic!("openssl s_server did not start\n{last}");
    }
}

/// Builds an `openssl s_client -dtls1_2 -nbio -connect 127.0.0.1:PORT ...`.
#[derive(Clone)]
pub struct ClientBuilder {
    port: u16,
    common: Common,
}

/// Starts building an `s_client` that connects to `127.0.0.1:port`.
pub fn s_client(port: u16) -> ClientBuilder {
    ClientBuilder { port, common: Common::default() }
}

impl ClientBuilder {
    /// Verify the server: `-CAfile CA -verify_return_error`.
    pub fn ca_file(mut self, ca: &Path) -> Self {
        self.common.push(&["-CAfile", &path_arg(ca), "-verify_return_error"]);
        self
    }

    /// Client certificate: `-cert FILE -key FILE`.
    pub fn cert(mut self, ck: &CertKey) -> Self {
        self.common.push(&["-cert", &path_arg(&ck.cert), "-key", &path_arg(&ck.key)]);
        self
    }

    pub fn cipher(mut self, list: &str) -> Self {
        self.common.push(&["-cipher", list]);
        self
    }

    pub fn groups(mut self, list: &str) -> Self {
        self.common.push(&["-groups", list]);
        self
    }

    pub fn mtu(mut self, mtu: u16) -> Self {
        self.common.push(&["-mtu", &mtu.to_string()]);
        self
    }

    extension_options!();

    /// `-servername NAME` (SNI). Without it `s_client` sends no SNI to `127.0.0.1`.
    pub fn servername(mut self, name: &str) -> Self {
        self.common.push(&["-servername", name]);
        self
    }

    /// `-sess_out FILE`: write the session (PEM) once the handshake established it.
    pub fn sess_out(mut self, path: &Path) -> Self {
        self.common.push(&["-sess_out", &path_arg(path)]);
        self
    }

    /// `-sess_in FILE`: offer the session read from `path` (by its session ID, or its
    /// ticket if it has one).
    pub fn sess_in(mut self, path: &Path) -> Self {
        self.common.push(&["-sess_in", &path_arg(path)]);
        self
    }

    /// `-reconnect`: after the first handshake, drop the connection and resume its session
    /// five times, each from a new socket (so a new source port), printing a session
    /// summary ([`CLIENT_NEW_SESSION`] / [`CLIENT_REUSED_SESSION`]) for each.
    pub fn reconnect(mut self) -> Self {
        self.common.push(&["-reconnect"]);
        self
    }

    pub fn args(mut self, args: &[&str]) -> Self {
        self.common.push(args);
        self
    }

    /// Spawns it. The server must already be listening: `s_client` uses a connected UDP
    /// socket and gives up (`write:errno=111`) on an ICMP port-unreachable.
    pub fn spawn(self) -> OpensslPeer {
        let mut args: Vec<String> = ["s_client", "-dtls1_2", "-nbio", "-connect", &format!("127.0.0.1:{}", self.port)]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        args.extend(self.common.extra);
        OpensslPeer::spawn(format!("s_client ->:{}", self.port), self.port, &args)
    }
}
