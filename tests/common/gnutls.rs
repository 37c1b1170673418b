//! Drives `gnutls-cli --udp` and `gnutls-serv --udp --echo` (GnuTLS 3.7, DTLS 1.2) as test
//! peers, through the same process wrapper as the OpenSSL tools ([`OpensslPeer`]: stdin
//! piped and held open, output captured, killed when dropped).
//!
//! What the tools do (the constants below record what they print, as observed with
//! GnuTLS 3.7.9):
//! - `gnutls-cli` sends each stdin line (with its `\n`) as one application-data record and
//!   prints what it receives on stdout. At stdin EOF it sends close_notify and exits 0; when
//!   the server closes first it prints [`CLI_PEER_CLOSED`] and exits 1.
//! - `gnutls-serv --echo` sends every record back (over UDP, at most its first 254 bytes)
//!   and prints no session details over UDP, so what was negotiated is checked on our
//!   side and through the key log. It prints each record it got ([`SERV_RECEIVED`]) and
//!   [`SERV_EOF`] for a close_notify, which it does not answer: its UDP loop drops the
//!   session without `gnutls_bye`. Its stdout is a pipe here, so it runs under
//!   `stdbuf -oL` to get those lines as they happen.
//! - **`gnutls-serv` binds every interface** (`0.0.0.0` and `::`) and has no option to bind
//!   loopback only: [`ServBuilder::spawn`] refuses to start it outside a private network
//!   namespace (see [`super::netns`], whose PID namespace also ends it with the test).
//! - Both write an NSS key log to the file named by `SSLKEYLOGFILE`.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::certs::CertKey;
use super::netns;
use super::openssl::OpensslPeer;

/// The process wrapper is shared with the OpenSSL tools.
pub type GnutlsPeer = OpensslPeer;

/// Debian/Ubuntu package with `gnutls-cli` and `gnutls-serv`.
pub const PACKAGE: &str = "gnutls-bin";

/// What `gnutls-cli` prints once the handshake completed.
pub const CLI_HANDSHAKE_DONE: &str = "- Handshake was completed";
/// Followed by `(DTLS1.2-X.509)-(ECDHE-SECP256R1)-(ECDSA-SHA256)-(AES-128-GCM)`:
/// version, key exchange and group, signature, cipher.
pub const CLI_DESCRIPTION: &str = "- Description: ";
/// Followed by the negotiated ALPN protocol; not printed without ALPN.
pub const CLI_ALPN: &str = "- Application protocol: ";
/// Followed by the GnuTLS profile name (`SRTP_AES128_CM_HMAC_SHA1_80`); not printed
/// without use_srtp.
pub const CLI_SRTP: &str = "- SRTP profile: ";
/// Followed by the exported bytes in hex, with `--keymatexport L --keymatexportsize N`.
pub const CLI_KEY_MATERIAL: &str = "- Key material: ";
/// The extensions line: `extended master secret, safe renegotiation,`.
pub const CLI_OPTIONS: &str = "- Options: ";
/// What `gnutls-cli` prints when the server's close_notify arrived.
pub const CLI_PEER_CLOSED: &str = "- Peer has closed the GnuTLS connection";
/// What `gnutls-cli --x509cafile ...` prints for a certificate it verified.
pub const CLI_TRUSTED: &str = "- Status: The certificate is trusted.";

/// What `gnutls-cli --resume` prints when it starts its second connection.
pub const CLI_RECONNECTING: &str = "- Connecting again- trying to resume previous session";
/// What `gnutls-cli --resume` prints once the second handshake completed (resumed or not).
pub const CLI_RESUME_HANDSHAKE_DONE: &str = "- Resume Handshake was completed";
/// What `gnutls-cli` prints after [`CLI_RESUME_HANDSHAKE_DONE`] when the server resumed the
/// session; GnuTLS 3.7 prints nothing in its place when it did not.
pub const CLI_RESUMED: &str = "*** This is a resumed session";

/// What `gnutls-serv --udp --echo -p PORT` prints once bound, followed by `PORT...done`.
pub const SERV_READY: &str = "UDP Echo Server listening on IPv4 0.0.0.0 port ";
/// What `gnutls-serv` prints for each application-data record, as
/// `received[<epoch and sequence number, 16 hex digits>]: <data>`.
pub const SERV_RECEIVED: &str = "received[";
/// What `gnutls-serv` prints (on a line of its own) when the client's close_notify arrived.
pub const SERV_EOF: &str = "\nEOF\n";

/// Panics with an install hint unless `gnutls-cli` and `gnutls-serv` run.
pub fn require_gnutls() {
    netns::require_tool("gnutls-cli", "--version", PACKAGE);
    netns::require_tool("gnutls-serv", "--version", PACKAGE);
}

fn path_arg(p: &Path) -> String {
    p.to_str().expect("utf-8 path").to_owned()
}

/// Options both tools share.
#[derive(Default, Clone)]
struct Common {
    args: Vec<String>,
    key_log: Option<PathBuf>,
}

impl Common {
    fn push(&mut self, args: &[&str]) {
        self.args.extend(args.iter().map(|s| (*s).to_owned()));
    }

    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command.args(&self.args);
        // Never inherit a key log file from the environment running the tests.
        command.env_remove("SSLKEYLOGFILE");
        if let Some(path) = &self.key_log {
            command.env("SSLKEYLOGFILE", path);
        }
        command
    }
}

macro_rules! common_options {
    () => {
        /// `--priority STRING`, e.g. `NORMAL:-VERS-ALL:+VERS-DTLS1.2:-CIPHER-ALL:+AES-128-GCM`.
        pub fn priority(mut self, priority: &str) -> Self {
            self.common.push(&["--priority", priority]);
            self
        }

        /// `--alpn P` once per protocol.
        pub fn alpn(mut self, protocols: &[&str]) -> Self {
            for p in protocols {
                self.common.push(&["--alpn", p]);
            }
            self
        }

        /// `--srtp-profiles P1:P2` (GnuTLS names: `SRTP_AES128_CM_HMAC_SHA1_80`,
        /// `SRTP_AES128_CM_HMAC_SHA1_32`; GnuTLS 3.7 has no AEAD profiles).
        pub fn srtp_profiles(mut self, profiles: &[&str]) -> Self {
            self.common.push(&["--srtp-profiles", &profiles.join(":")]);
            self
        }

        /// `SSLKEYLOGFILE=path`: an NSS key log; read it with
        /// [`read_key_log`](super::openssl::read_key_log).
        pub fn key_log(mut self, path: &Path) -> Self {
            self.common.key_log = Some(path.to_owned());
            self
        }

        /// Any other argument(s).
        pub fn args(mut self, args: &[&str]) -> Self {
            self.common.push(args);
            self
        }
    };
}

/// Builds a `gnutls-cli --udp -p PORT 127.0.0.1 ...`.
#[derive(Clone)]
pub struct CliBuilder {
    port: u16,
    common: Common,
}

/// Starts building a `gnutls-cli` that connects to `127.0.0.1:port`.
pub fn gnutls_cli(port: u16) -> CliBuilder {
    CliBuilder { port, common: Common::default() }
}

impl CliBuilder {
    /// Verify the server against `ca` for the name `localhost`.
    pub fn ca_file(mut self, ca: &Path) -> Self {
        self.common.push(&["--x509cafile", &path_arg(ca), "--verify-hostname", "localhost"]);
        self
    }

    /// Client certificate: `--x509certfile FILE --x509keyfile FILE`.
    pub fn cert(mut self, ck: &CertKey) -> Self {
        self.common.push(&["--x509certfile", &path_arg(&ck.cert), "--x509keyfile", &path_arg(&ck.key)]);
        self
    }

    common_options!();

    /// `--resume`: after the first handshake, disconnect and connect again from a new
    /// socket, offering that session (see [`CLI_RESUMED`]). Its stdin is read only on the
    /// second connection.
    pub fn resume(mut self) -> Self {
        self.common.push(&["--resume"]);
        self
    }

    /// `--keymatexport LABEL --keymatexportsize N`; printed after [`CLI_KEY_MATERIAL`].
    pub fn keymatexport(mut self, label: &str, len: usize) -> Self {
        self.common.push(&["--keymatexport", label, "--keymatexportsize", &len.to_string()]);
        self
    }

    /// Spawns it; the server must already be listening.
    pub fn spawn(self) -> GnutlsPeer {
        require_gnutls();
        let mut common = self.common;
        let port = self.port.to_string();
        let mut args: Vec<String> = ["--udp", "-p", &port].iter().map(|s| (*s).to_owned()).collect();
        args.append(&mut common.args);
        args.push("127.0.0.1".to_owned());
        common.args = args;
        GnutlsPeer::spawn_command(format!("gnutls-cli ->:{}", self.port), self.port, common.command("gnutls-cli"))
    }
}

/// Builds a `gnutls-serv --udp --echo -p PORT ...`, only ever inside a private network
/// namespace.
#[derive(Clone)]
pub struct ServBuilder {
    port: u16,
    common: Common,
}

/// Starts building a `gnutls-serv` on `port` (every interface of the namespace).
pub fn gnutls_serv(port: u16) -> ServBuilder {
    ServBuilder { port, common: Common::default() }
}

impl ServBuilder {
    /// `--x509certfile FILE --x509keyfile FILE`.
    pub fn cert(mut self, ck: &CertKey) -> Self {
        self.common.push(&["--x509certfile", &path_arg(&ck.cert), "--x509keyfile", &path_arg(&ck.key)]);
        self
    }

    /// `--require-client-cert --verify-client-cert --x509cafile CA`.
    pub fn require_client_cert(mut self, ca: &Path) -> Self {
        self.common.push(&["--require-client-cert", "--verify-client-cert", "--x509cafile", &path_arg(ca)]);
        self
    }

    /// `--noticket`: no RFC 5077 session tickets; sessions resume by session ID from its
    /// resumption database (on by default).
    pub fn no_ticket(mut self) -> Self {
        self.common.push(&["--noticket"]);
        self
    }

    /// `--disable-client-cert`: no CertificateRequest (by default `gnutls-serv` asks for an
    /// optional client certificate).
    pub fn no_client_cert_request(mut self) -> Self {
        self.common.push(&["--disable-client-cert"]);
        self
    }

    common_options!();

    /// Checks that this process runs in a private network namespace with `lo` only (and
    /// brings `lo` up), spawns `stdbuf -oL gnutls-serv ...` (`stdbuf` execs it: the
    /// process is `gnutls-serv` itself), and waits until it has bound its sockets.
    pub fn spawn(self) -> GnutlsPeer {
        require_gnutls();
        assert!(
            netns::inner_case().is_some(),
            "gnutls-serv binds every interface: start it only inside a private network namespace \
             (common::netns::run_in_private_netns)"
        );
        netns::enter_private_loopback();
        let mut common = self.common;
        let port = self.port.to_string();
        let mut args: Vec<String> =
            ["-oL", "gnutls-serv", "--udp", "--echo", "-p", &port].iter().map(|s| (*s).to_owned()).collect();
        args.append(&mut common.args);
        common.args = args;
        let peer =
            GnutlsPeer::spawn_command(format!("gnutls-serv :{}", self.port), self.port, common.command("stdbuf"));
        let ready = peer.expect_line_after(SERV_READY, Duration::from_secs(10));
        assert_eq!(ready, format!("{}...done", self.port), "gnutls-serv did not bind\n{}", peer.transcript());
        peer
    }
}
