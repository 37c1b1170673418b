//! Refuse to build a peer whose wolfSSL lacks what it is for: DTLS 1.3, ML-KEM with the
//! hybrid groups, ALPN, the keying-material exporter, the TLS 1.3 secret callback (key log) and
//! DTLS-SRTP, Connection IDs. wolfssl-sys (`links = "wolfssl"`)
//! tells us where its wolfSSL is installed; configure records every option in options.h.

fn main() {
    let include = std::env::var("DEP_WOLFSSL_INCLUDE").expect("wolfssl-sys sets DEP_WOLFSSL_INCLUDE");
    let path = std::path::Path::new(&include).join("wolfssl").join("options.h");
    println!("cargo::rerun-if-changed={}", path.display());
    let options = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let missing: Vec<&str> = [
        "WOLFSSL_DTLS13",
        "WOLFSSL_HAVE_MLKEM",
        "WOLFSSL_PQC_HYBRIDS",
        "WOLFSSL_SEND_HRR_COOKIE",
        "HAVE_ALPN",
        "HAVE_KEYING_MATERIAL",
        "HAVE_SECRET_CALLBACK",
        "WOLFSSL_SRTP",
        "WOLFSSL_DTLS_CID",
    ]
    .into_iter()
    .filter(|d| !options.lines().any(|l| l.trim() == format!("#define {d}")))
    .collect();
    if !missing.is_empty() {
        panic!(
            "wolfSSL was built without {} ({}). HAVE_KEYING_MATERIAL, HAVE_SECRET_CALLBACK, WOLFSSL_SRTP and WOLFSSL_DTLS_CID come from \
             interop/wolfssl/.cargo/config.toml (CFLAGS), which cargo reads only when run from \
             interop/wolfssl, and wolfssl-sys does not rebuild when CFLAGS change: \
             `cd interop/wolfssl && cargo clean -p wolfssl-sys && cargo build --release --locked` \
             (scripts/test builds from there).",
            missing.join(", "),
            path.display()
        );
    }
}
