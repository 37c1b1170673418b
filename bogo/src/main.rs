//! `bogo_shim`: dtls-engine under BoringSSL's test runner (BoGo, `ssl/test/runner`).
//!
//! The runner starts this program once per test with flags describing the test
//! (`ssl/test/test_config.cc`) and a `-port` to connect back to. The shim connects once per
//! DTLS connection of the test, drives a [`dtls_engine::Session`] with the datagrams and
//! simulated timeouts the runner sends over that TCP connection, echoes application data back
//! XORed with 0xff, and exits:
//!
//! - 0 when the test's expectations held;
//! - 1 after printing the error to stderr (the runner compares it, through the error map of
//!   `bogo/config.json`, with the error the test expects);
//! - 89 when the test needs a flag or feature we do not implement (reported as
//!   "unimplemented", not as a failure).
//!
//! Exit code 90 ("this test must fail whatever it expects") is never needed: every check the
//! shim makes fails with exit code 1, as BoringSSL's own shim does.

mod checks;
mod configs;
mod conn;
mod flags;
mod transport;

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use conn::Shared;
use dtls_engine::ClientSessionStore;
use flags::{Command, Opts, Refusal};

/// Why a test did not succeed.
#[derive(Debug)]
pub enum Failure {
    /// Needs something we do not implement (exit code 89).
    Unimplemented(String),
    /// The engine returned a fatal error.
    Engine(dtls_engine::Error),
    /// A check of the shim failed, or the runner misbehaved.
    Failed(String),
}

const EXIT_UNIMPLEMENTED: u8 = 89;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (initial, resume) = match flags::parse(&args) {
        Ok(Command::HandshakerQuery) => {
            // No split-handshake (handoff) support.
            println!("No");
            return ExitCode::SUCCESS;
        }
        Ok(Command::Run { initial, resume }) => (initial, resume),
        Err(Refusal::Unimplemented(why)) => return unimplemented(&why),
        Err(Refusal::Invalid(why)) => {
            eprintln!("bogo_shim: {why}");
            return ExitCode::FAILURE;
        }
    };
    if !initial.dtls {
        return unimplemented("TLS over TCP: dtls-engine is DTLS only");
    }
    let result = run_test(&initial, &resume);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Unimplemented(why)) => unimplemented(&why),
        Err(Failure::Engine(e)) => {
            // The Debug form names the variant; config.json maps BoringSSL's error names to it.
            eprintln!("bogo_shim: connection failed: {e:?} ({e})");
            ExitCode::FAILURE
        }
        Err(Failure::Failed(why)) => {
            eprintln!("bogo_shim: {why}");
            ExitCode::FAILURE
        }
    }
}

/// The initial connection, then `-resume-count` resumptions, each over a connection of its own.
fn run_test(initial: &Opts, resume: &Opts) -> Result<(), Failure> {
    let shared = if initial.server {
        if initial.resume_count > 0 && !configs::same_server_settings(initial, resume) {
            return Err(Failure::Unimplemented(
                "different server settings on resumption: the session cache and ticket keys live in one ServerConfig"
                    .into(),
            ));
        }
        let verify_fail = Arc::new(AtomicBool::new(initial.verify_fail));
        Shared::Server(configs::server(initial, &verify_fail)?, verify_fail)
    } else {
        Shared::Client(ClientSessionStore::new(4))
    };
    for i in 0..=initial.resume_count {
        let o = if i == 0 { initial } else { resume };
        conn::run(o, &shared, i > 0)?;
    }
    Ok(())
}

fn unimplemented(why: &str) -> ExitCode {
    eprintln!("bogo_shim: unimplemented: {why}");
    // The runner does not show why a test is unimplemented; `bogo/run` asks for a log of the
    // reasons to summarize them.
    if let Some(path) = std::env::var_os("BOGO_SHIM_UNIMPLEMENTED_LOG") {
        use std::io::Write;
        let line = format!("{why}\n");
        if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(path) {
            let _ = f.write_all(line.as_bytes());
        }
    }
    ExitCode::from(EXIT_UNIMPLEMENTED)
}
