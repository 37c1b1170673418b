//! Heap held by one established, idle client+server pair, for each stack: glibc's count of
//! bytes in use (`mallinfo2()`: `uordblks + hblkhd`, which sees Rust's and OpenSSL's allocations alike,
//! malloc's own per-chunk overhead included) before and after establishing 100 pairs,
//! divided by 100. glibc's thread cache and fast bins are switched off (they would count
//! freed chunks as in use), by re-running the process with `GLIBC_TUNABLES` set. Configurations and contexts are
//! built first, and one pair is made and dropped first so lazy global state is not counted.
//! For dtls-engine, also without the peer certificates each side keeps.
//!
//! Then the same for DTLS 1.3 (`common::handshake13`: X25519 and X25519MLKEM768, no
//! HelloRetryRequest cookie round): dtls-engine, dimpl 0.9 (X25519) and, with `--features
//! wolfssl`, wolfSSL.
//!
//! Prints tables and writes `target/criterion/heap.json` for `benches/chart.py`.

use std::time::Instant;

use dtls_engine::{CipherSuite, NamedGroup};
use dtls_engine_peer_benches::common::{
    RECORD_LEN, client_config, client_config13, handshake, handshake13, one_record, server_config, server_config13,
};
use dtls_engine_peer_benches::{dimpl_peer, openssl_peer};

const PAIRS: usize = 100;

fn in_use() -> i64 {
    // SAFETY: mallinfo2 only reads allocator statistics.
    let m = unsafe { libc::mallinfo2() };
    // Chunks from the heap plus blocks malloc mapped separately (large allocations).
    (m.uordblks + m.hblkhd) as i64
}

/// Bytes per pair held by what `make` returns, after `touch` ran once on each pair (one
/// application record each way, so buffers that appear with traffic are counted).
fn per_pair<T>(mut make: impl FnMut() -> T, mut touch: impl FnMut(&mut T)) -> i64 {
    drop(make());
    let before = in_use();
    let mut pairs: Vec<T> = Vec::with_capacity(PAIRS);
    let vec_bytes = (PAIRS * std::mem::size_of::<T>()) as i64;
    for _ in 0..PAIRS {
        let mut p = make();
        touch(&mut p);
        pairs.push(p);
    }
    let after = in_use();
    let bytes = (after - before - vec_bytes) / PAIRS as i64 + std::mem::size_of::<T>() as i64;
    drop(pairs);
    bytes
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    const TUNABLES: &str = "glibc.malloc.tcache_count=0:glibc.malloc.mxfast=0";
    if std::env::var("GLIBC_TUNABLES").as_deref() != Ok(TUNABLES) {
        let me = std::env::current_exe().expect("current exe");
        let status = std::process::Command::new(me)
            .args(std::env::args().skip(1))
            .env("GLIBC_TUNABLES", TUNABLES)
            .status()
            .expect("re-run");
        std::process::exit(status.code().unwrap_or(1));
    }
    let suite = CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256;
    let (ccfg, scfg) = (client_config(suite, false), server_config(suite, false));
    let payload = [0x5au8; RECORD_LEN];
    let mut wire = Vec::with_capacity(2048);
    let now = Instant::now();

    let mut cert_bytes = 0i64;
    let held = |x: &dtls_engine::Session| -> i64 {
        x.peer_certificates()
            .map_or(0, |chain| chain.iter().map(|c| c.len() as i64 + std::mem::size_of_val(c) as i64).sum())
    };
    let ours_idle = per_pair(|| handshake(&ccfg, &scfg, &mut Vec::new()), |_| {});
    let ours = per_pair(
        || handshake(&ccfg, &scfg, &mut Vec::new()),
        |(c, s)| {
            one_record(c, s, &payload, &mut wire, now);
            one_record(s, c, &payload, &mut wire, now);
            cert_bytes = held(c) + held(s);
        },
    );
    let dimpl_cfg = dimpl_peer::configs(false, false);
    let dimpl_idle = per_pair(|| dimpl_peer::handshake(&dimpl_cfg), |_| {});
    let dimpl = per_pair(|| dimpl_peer::handshake(&dimpl_cfg), |p| p.record(&payload));
    let ossl_ctx = openssl_peer::contexts(false);
    let ossl_idle = per_pair(|| openssl_peer::handshake(&ossl_ctx), |_| {});
    let ossl = per_pair(|| openssl_peer::handshake(&ossl_ctx), |p| p.record(&payload));

    println!("heap per established client+server pair (server-auth), bytes:");
    println!("                        idle after handshake   after one 1200-byte record each way");
    println!("  dtls-engine           {ours_idle:>8}               {ours:>8}");
    println!("    without peer certs  {:>8}               {:>8}", ours_idle - cert_bytes, ours - cert_bytes);
    println!("  dimpl 0.9             {dimpl_idle:>8}               {dimpl:>8}");
    println!("  openssl               {ossl_idle:>8}               {ossl:>8}");
    println!("  (peer certificates held by dtls-engine: {cert_bytes} B)");
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("../criterion");
    let dir =
        std::env::var_os("CARGO_TARGET_DIR").map(|d| std::path::PathBuf::from(d).join("criterion")).unwrap_or(dir);
    let _ = std::fs::create_dir_all(&dir);
    let json = format!(
        "{{\"idle\": {{\"dtls-engine\": {ours_idle}, \"dtls-engine without peer certs\": {}, \"dimpl\": {dimpl_idle}, \"openssl\": {ossl_idle}}},\n \"after traffic\": {{\"dtls-engine\": {ours}, \"dtls-engine without peer certs\": {}, \"dimpl\": {dimpl}, \"openssl\": {ossl}}}}}\n",
        ours_idle - cert_bytes,
        ours - cert_bytes
    );
    let _ = std::fs::write(dir.join("heap.json"), json);
    dtls13(&payload);
}

/// The DTLS 1.3 table: idle after the handshake, and after one record each way (dimpl and
/// wolfSSL: one record client -> server).
fn dtls13(payload: &[u8]) {
    let suite = CipherSuite::TLS_AES_128_GCM_SHA256;
    let now = Instant::now();
    let mut wire = Vec::with_capacity(2048);
    let held = |x: &dtls_engine::Session| -> i64 {
        x.peer_certificates()
            .map_or(0, |chain| chain.iter().map(|c| c.len() as i64 + std::mem::size_of_val(c) as i64).sum())
    };
    println!();
    println!("DTLS 1.3, heap per established client+server pair (server-auth, TLS_AES_128_GCM_SHA256), bytes:");
    println!("                                    idle after handshake   after one 1200-byte record");
    for (name, group) in [("X25519", NamedGroup::X25519), ("X25519MLKEM768", NamedGroup::X25519MLKEM768)] {
        let (ccfg, scfg) = (client_config13(suite, group, false), server_config13(suite, false, false));
        let mut certs = 0i64;
        let idle = per_pair(|| handshake13(&ccfg, &scfg, &mut Vec::new()), |(c, s)| certs = held(c) + held(s));
        let used = per_pair(
            || handshake13(&ccfg, &scfg, &mut Vec::new()),
            |(c, s)| {
                one_record(c, s, payload, &mut wire, now);
                one_record(s, c, payload, &mut wire, now);
            },
        );
        println!("  dtls-engine {name:<15}        {idle:>8}               {used:>8}");
        println!("    without peer certs ({certs} B)    {:>8}               {:>8}", idle - certs, used - certs);
    }
    let dimpl_cfg = dimpl_peer::configs13(false, false);
    let dimpl_idle = per_pair(|| dimpl_peer::handshake(&dimpl_cfg), |_| {});
    let dimpl = per_pair(|| dimpl_peer::handshake(&dimpl_cfg), |p| p.record(payload));
    println!("  dimpl 0.9 X25519                  {dimpl_idle:>8}               {dimpl:>8}");
    #[cfg(feature = "wolfssl")]
    {
        use dtls_engine_peer_benches::wolfssl_peer;
        for (name, group) in [("X25519", wolfssl_peer::X25519), ("X25519MLKEM768", wolfssl_peer::X25519MLKEM768)] {
            let ctx = wolfssl_peer::contexts(group, false);
            let idle = per_pair(|| wolfssl_peer::handshake(&ctx), |_| {});
            let used = per_pair(|| wolfssl_peer::handshake(&ctx), |p| p.record(payload));
            println!("  wolfSSL {name:<15}            {idle:>8}               {used:>8}");
        }
    }
}
