//! `dtls`: a DTLS 1.2 test peer in the spirit of `openssl s_client` / `s_server`, built on
//! the tokio adapter (feature `cli`). It owns argument parsing and printing only: every
//! protocol decision is the engine's.
//!
//! Stable output (stderr), one line each, for scripts and tests:
//! `listening <addr>`, `fingerprint sha-256 AB:..`, `connected <peer> protocol=DTLSv1.2
//! cipher=<IANA name> alpn=<name|-> srtp=<profile|->`, `keying-material <hex>`,
//! `srtp-keying-material <hex>`, `closed <peer> reason=<close_notify|timeout|error: ...>`,
//! `error: <what went wrong>`. Application data goes to stdout, one datagram per line.

use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

#[path = "dtls/demo.rs"]
mod demo;
#[path = "dtls/options.rs"]
mod options;
#[path = "dtls/peer.rs"]
mod peer;

const AFTER_HELP: &str = "\
Status lines go to stderr with stable prefixes:
  listening <addr>                       (server) the socket is bound
  fingerprint sha-256 AB:CD:...          (server) the generated certificate, when --cert is absent
  connected <peer> protocol=DTLSv1.2|DTLSv1.3 cipher=<IANA name> alpn=<name|-> srtp=<profile|-> group=<name|-> cid=<ours hex>/<peer's hex>|-
  keying-material <hex>                  with --export-label (RFC 5705 exporter output)
  srtp-keying-material <hex>             whenever an SRTP profile was agreed: the 2*(key+salt)
                                         bytes of EXTRACTOR-dtls_srtp (client key, server key,
                                         client salt, server salt), as OpenSSL's -keymatexport
  closed <peer> reason=<close_notify|timeout|error: ...>
  error: <what went wrong, naming the TLS alert sent or received>
Application data: each stdin line is one datagram (newline stripped); each datagram
received is written to stdout followed by a newline.
Exit status: 0 when the handshake succeeded (and, for the client, every expected datagram
arrived); 1 otherwise.";

/// A DTLS 1.2 test peer (like `openssl s_client` / `s_server`).
#[derive(Debug, Parser)]
#[command(name = "dtls", version, about, after_help = AFTER_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Accept DTLS sessions.
    Server(ServerArgs),
    /// Connect to a DTLS server.
    Client(ClientArgs),
    /// Run a server and a client in this process on loopback (fresh certificates, no
    /// files): handshake, messages both ways, SRTP keys, then both sides' statistics (all
    /// printed on stdout).
    Demo,
}

/// Settings both roles share.
#[derive(Debug, Args)]
struct CommonArgs {
    /// Certificate chain (PEM, leaf first); with --key.
    #[arg(long, value_name = "PEM", requires = "key")]
    cert: Option<std::path::PathBuf>,
    /// Private key (PEM: PKCS#8, SEC1 or PKCS#1); with --cert.
    #[arg(long, value_name = "PEM", requires = "cert")]
    key: Option<std::path::PathBuf>,
    /// ALPN protocols, comma separated, in preference order.
    #[arg(long, value_name = "P1,P2")]
    alpn: Option<String>,
    /// DTLS-SRTP profiles, colon separated: SRTP_AES128_CM_SHA1_80, SRTP_AES128_CM_SHA1_32,
    /// SRTP_AEAD_AES_128_GCM, SRTP_AEAD_AES_256_GCM.
    #[arg(long, value_name = "PROFILE:PROFILE")]
    srtp: Option<String>,
    /// Cipher suites, colon separated, IANA or OpenSSL names.
    #[arg(long, value_name = "SUITE:SUITE")]
    cipher: Option<String>,
    /// Key exchange groups, colon separated, in preference order: X25519MLKEM768 (DTLS
    /// 1.3 only), X25519, P-256, P-384.
    #[arg(long, value_name = "G1:G2")]
    groups: Option<String>,
    /// Lowest protocol version to negotiate: 1.2 or 1.3.
    #[arg(long, value_name = "1.2|1.3")]
    min_version: Option<String>,
    /// Highest protocol version to negotiate: 1.2 or 1.3.
    #[arg(long, value_name = "1.2|1.3")]
    max_version: Option<String>,
    /// Use connection IDs (RFC 9146 in DTLS 1.2, RFC 9147 §9 in DTLS 1.3): ask the peer for a
    /// CID of N bytes (0..=20; 0: send CIDs, receive none), with the return routability check
    /// (RFC 9853) when the peer offers it too.
    #[arg(long, value_name = "N")]
    cid_len: Option<usize>,
    /// Start our connection IDs with this server id (hex), for load balancers; the rest is
    /// random. Implies --cid-len of at least its length.
    #[arg(long, value_name = "HEX")]
    server_id: Option<String>,
    /// DTLS 1.3: update our sending key (KeyUpdate) after this many records.
    #[arg(long, value_name = "N")]
    key_update_after: Option<u64>,
    /// Largest datagram to send (256..=65535, default 1200).
    #[arg(long, value_name = "N")]
    mtu: Option<usize>,
    /// Append NSS key log lines (SSLKEYLOGFILE format) to FILE. Reveals the session keys.
    #[arg(long, value_name = "FILE")]
    keylog: Option<std::path::PathBuf>,
    /// Export keying material (RFC 5705) with this label; printed as `keying-material`.
    #[arg(long, value_name = "L", requires = "export_len")]
    export_label: Option<String>,
    /// Bytes of keying material to export.
    #[arg(long, value_name = "N", requires = "export_label")]
    export_len: Option<usize>,
    /// Exporter context, hex (without it, no context is used).
    #[arg(long, value_name = "HEX", requires = "export_label")]
    export_context: Option<String>,
}

/// `dtls server`.
#[derive(Debug, Args)]
#[command(after_help = AFTER_HELP)]
struct ServerArgs {
    /// Address and port to listen on, e.g. 127.0.0.1:4433.
    #[arg(long, value_name = "ADDR:PORT")]
    listen: String,
    /// CA certificates (PEM) for client certificates; clients may send one.
    #[arg(long, value_name = "PEM")]
    ca_file: Option<std::path::PathBuf>,
    /// Refuse clients without a certificate (with --ca-file: one issued by those CAs;
    /// without: any certificate, WebRTC style).
    #[arg(long)]
    require_client_cert: bool,
    /// Send every datagram received back to its sender.
    #[arg(long)]
    echo: bool,
    /// No status line per session (`connected …`, `closed …` after a clean end): for servers
    /// taking many sessions a second. Errors and failed handshakes are still printed.
    #[arg(long)]
    quiet: bool,
    /// Derive the cookie secrets from this 32-byte secret (64 hex digits), shared with other
    /// servers behind the same load balancer: each accepts the cookies the others issue.
    #[arg(long, value_name = "HEX")]
    cookie_secret: Option<String>,
    /// Derive the session ticket keys from this 32-byte secret (64 hex digits): clients
    /// resume at any server that has it.
    #[arg(long, value_name = "HEX")]
    ticket_secret: Option<String>,
    /// Exit once N sessions have ended (failed handshakes count); status 0 when all of
    /// them completed their handshake.
    #[arg(long, value_name = "N")]
    sessions: Option<usize>,
    /// Serve with N sockets on the --listen address (SO_REUSEPORT, Linux), each with its
    /// own endpoint, on a runtime of N threads; the kernel spreads clients over them by
    /// address. With --cid-len, each worker's connection IDs are --server-id (if any), then
    /// the worker's number as one byte, then random bytes: --cid-len must be at least the
    /// --server-id length + 5, and a client whose address changes is handed to the worker
    /// of its CID. Without --cid-len the workers serve without hand-off (a client whose
    /// address changes is a stranger).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=256))]
    workers: u16,
    #[command(flatten)]
    common: CommonArgs,
}

/// `dtls client`.
#[derive(Debug, Args)]
#[command(after_help = AFTER_HELP)]
#[command(group(clap::ArgGroup::new("verify").required(true).args(["ca_file", "insecure", "fingerprint"])))]
struct ClientArgs {
    /// Server address and port, e.g. localhost:4433.
    #[arg(long, value_name = "HOST:PORT")]
    connect: String,
    /// Trust these CA certificates (PEM) for the server's chain.
    #[arg(long, value_name = "PEM")]
    ca_file: Option<std::path::PathBuf>,
    /// Accept any server certificate (no authentication at all).
    #[arg(long)]
    insecure: bool,
    /// Accept exactly the server certificate with this fingerprint (`sha-256:AB:CD:..`
    /// or `sha-256 AB:CD:..`, as the server prints it).
    #[arg(long, value_name = "sha-256:HEX")]
    fingerprint: Option<String>,
    /// Name the server certificate must match, also sent as SNI when it is a DNS name
    /// (default: the host of --connect when it is a DNS name or an IP address; checked with
    /// --ca-file only, where a name is required).
    #[arg(long, value_name = "NAME")]
    server_name: Option<String>,
    /// After stdin ends, wait for this many datagrams before closing.
    #[arg(long, value_name = "N", default_value_t = 0)]
    expect: u64,
    /// Seconds to wait for the handshake, and for --expect after stdin ends.
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    timeout: f64,
    #[command(flatten)]
    common: CommonArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Several workers get a thread each; everything else runs on this one.
    let runtime = match &cli.command {
        Command::Server(args) if args.workers > 1 => {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            b.worker_threads(usize::from(args.workers));
            b
        }
        _ => tokio::runtime::Builder::new_current_thread(),
    }
    .enable_all()
    .build();
    let runtime = match runtime {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let ok = runtime.block_on(async {
        match cli.command {
            Command::Server(args) => peer::server(args).await,
            Command::Client(args) => peer::client(args).await,
            Command::Demo => demo::run().await,
        }
    });
    // The stdin reader thread may still be blocked in read(2): leave without joining it.
    peer::flush_stdout();
    std::process::exit(if ok { 0 } else { 1 })
}
