//! Runs one handshake workload of `benches/handshake.rs` N times, for instruction counts
//! under callgrind (repeatable where wall-clock timings on a shared machine are not):
//!
//! ```sh
//! cargo build --release --example handshake_profile
//! valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.out \
//!     target/release/examples/handshake_profile engine mutual 11
//! ```
//!
//! Workloads: `engine` (CA-validated chains), `fingerprint` (pinned fingerprints, no chain
//! validation), `floor` and `floor-no-pki` (the ring public-key operations alone), and the
//! DTLS 1.3 crypto floors `floor13` (X25519) and `floor13-pq` (X25519MLKEM768, with
//! libcrux-ml-kem): the public-key operations plus the symmetric cryptography the protocol
//! requires (`benches/common/schedule13.rs`), and `floor13-pk` / `floor13-pq-pk`, the
//! public-key operations alone;
//! the DTLS 1.3 handshakes measured against them: `engine13` (X25519) and `engine13-pq`
//! (X25519MLKEM768), same certificates (CA-validated chains), suite TLS_AES_128_GCM_SHA256,
//! one key share offered (the client names only that group), and the server's
//! HelloRetryRequest cookie round off (`ServerConfig::cookie(false)`), so the handshake has
//! the floor's messages and public-key operations. Modes:
//! `server` (server-auth) or `mutual`. The configurations and the PKI are made before the
//! runs; subtract the counts of two run lengths (e.g. 11 and 1, divided by 10) to get the
//! cost of one handshake without the setup.
//!
//! A fourth argument `time` prints the fastest of N batches of 10 handshakes instead (per
//! handshake): on a shared machine the minimum is the least disturbed by other work.

#[path = "../benches/common/mod.rs"]
mod common;

use common::{
    Floor, client_config, client_config_pinned, client_config13, handshake, handshake13, server_config,
    server_config_pinned, server_config13,
};
use dtls_engine::{CipherSuite, NamedGroup};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: handshake_profile engine|fingerprint|engine13|engine13-pq|floor|floor-no-pki|floor13|floor13-pq|floor13-pk|floor13-pq-pk server|mutual N";
    let (Some(workload), Some(mode), Some(n)) = (args.get(1), args.get(2), args.get(3)) else {
        eprintln!("{usage}");
        std::process::exit(2);
    };
    let client_auth = match mode.as_str() {
        "server" => false,
        "mutual" => true,
        _ => {
            eprintln!("{usage}");
            std::process::exit(2);
        }
    };
    let n: usize = n.parse().expect("N");
    let timed = args.get(4).is_some_and(|a| a == "time");
    let suite = CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256;
    let mut wire = Vec::with_capacity(2048);
    let mut run: Box<dyn FnMut()> = match workload.as_str() {
        "engine" | "fingerprint" => {
            let (ccfg, scfg) = if workload == "engine" {
                (client_config(suite, client_auth), server_config(suite, client_auth))
            } else {
                (client_config_pinned(suite, client_auth), server_config_pinned(suite, client_auth))
            };
            Box::new(move || {
                std::hint::black_box(handshake(&ccfg, &scfg, &mut wire));
            })
        }
        "engine13" | "engine13-pq" => {
            let group = if workload == "engine13" { NamedGroup::X25519 } else { NamedGroup::X25519MLKEM768 };
            let suite13 = CipherSuite::TLS_AES_128_GCM_SHA256;
            let ccfg = client_config13(suite13, group, client_auth);
            let scfg = server_config13(suite13, client_auth, false);
            Box::new(move || {
                std::hint::black_box(handshake13(&ccfg, &scfg, &mut wire));
            })
        }
        "floor" => {
            let floor = Floor::new();
            Box::new(move || floor.run(client_auth))
        }
        "floor-no-pki" => {
            let floor = Floor::new();
            Box::new(move || floor.run_no_pki(client_auth))
        }
        "floor13" | "floor13-pq" => {
            let floor = Floor::new();
            let hybrid = workload == "floor13-pq";
            Box::new(move || floor.run13(client_auth, hybrid))
        }
        "floor13-pk" | "floor13-pq-pk" => {
            let floor = Floor::new();
            let hybrid = workload == "floor13-pq-pk";
            Box::new(move || {
                std::hint::black_box(floor.run13_public_key(client_auth, hybrid));
            })
        }
        _ => {
            eprintln!("{usage}");
            std::process::exit(2);
        }
    };
    if !timed {
        (0..n).for_each(|_| run());
        return;
    }
    let best = (0..n)
        .map(|_| {
            let start = std::time::Instant::now();
            (0..10).for_each(|_| run());
            start.elapsed() / 10
        })
        .min()
        .unwrap_or_default();
    println!("{workload} {mode}: {best:?} per handshake (fastest of {n} batches of 10)");
}
