//! A throw-away PKI made with the `openssl` CLI, once per test binary.
//!
//! The keys come in the forms users hand us: PKCS#8 (`genpkey`), SEC1 (`ecparam -genkey`,
//! `EC PRIVATE KEY`) and PKCS#1 (`genrsa -traditional`, `RSA PRIVATE KEY`).
//!
//! This module never touches the network; it needs `openssl` on the `PATH` (or in the
//! `OPENSSL` environment variable) and panics with a clear message when it is missing,
//! so the tests fail instead of silently skipping.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A certificate (PEM, possibly a chain) and its private key (PEM), as files.
#[derive(Debug, Clone)]
pub struct CertKey {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl CertKey {
    pub fn cert_pem(&self) -> Vec<u8> {
        read(&self.cert)
    }

    pub fn key_pem(&self) -> Vec<u8> {
        read(&self.key)
    }
}

/// Every certificate the interop tests use. All leaf certificates carry
/// `subjectAltName=DNS:localhost,IP:127.0.0.1` unless noted.
#[derive(Debug)]
pub struct TestPki {
    /// The directory holding all files (left behind for post-mortems).
    pub dir: PathBuf,
    /// The CA (P-256, PKCS#8 key) that signed every leaf below.
    pub ca: CertKey,
    /// An unrelated CA (P-256) that signed nothing we use: the "CA does not match" case.
    pub other_ca: CertKey,
    /// ECDSA P-256 server leaf; SEC1 key (`EC PRIVATE KEY`).
    pub server_p256: CertKey,
    /// The same leaf followed by the CA certificate, in one PEM file; same key.
    pub server_p256_chain: CertKey,
    /// ECDSA P-384 server leaf; PKCS#8 key.
    pub server_p384: CertKey,
    /// RSA-2048 server leaf; PKCS#1 key (`RSA PRIVATE KEY`).
    pub server_rsa: CertKey,
    /// ECDSA P-256 client leaf (extendedKeyUsage=clientAuth, SAN DNS:client.localhost);
    /// PKCS#8 key.
    pub client: CertKey,
    /// A self-signed P-256 certificate with `CA:TRUE` (what `openssl req -x509` makes by
    /// default), used both as the server certificate and as the CA file.
    pub self_signed: CertKey,
}

/// The PKI of this test binary, generated on first use.
pub fn pki() -> &'static TestPki {
    static PKI: OnceLock<TestPki> = OnceLock::new();
    PKI.get_or_init(generate)
}

/// The `openssl` binary to run: `$OPENSSL`, or `openssl` from the `PATH`. Panics when it
/// cannot be run, naming what was tried.
pub fn openssl_bin() -> &'static str {
    static BIN: OnceLock<String> = OnceLock::new();
    BIN.get_or_init(|| {
        let bin = std::env::var("OPENSSL").unwrap_or_else(|_| "openssl".to_owned());
        match Command::new(&bin).arg("version").output() {
            Ok(out) if out.status.success() => bin,
            Ok(out) => panic!(
                "`{bin} version` failed ({}): {}. The interop tests need a working OpenSSL 3 \
                 command-line tool (apt-get install openssl, or set OPENSSL=/path/to/openssl).",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ),
            Err(e) => panic!(
                "cannot run `{bin}`: {e}. The interop tests need the OpenSSL 3 command-line \
                 tool (apt-get install openssl, or set OPENSSL=/path/to/openssl)."
            ),
        }
    })
}

/// A fresh directory under the system temp dir, unique to this process and call.
pub fn fresh_temp_dir(prefix: &str) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("{prefix}-{}-{nanos}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    dir
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Runs `openssl ARGS` in `dir` and panics with its output when it fails.
fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new(openssl_bin())
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run openssl {args:?}: {e}"));
    assert!(
        out.status.success(),
        "openssl {args:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Distinct serial numbers, so no two certificates of one run share issuer+serial.
fn next_serial() -> String {
    static SERIAL: AtomicU64 = AtomicU64::new(0x1000);
    SERIAL.fetch_add(1, Ordering::Relaxed).to_string()
}

/// How a key is generated, which decides its PEM form.
#[derive(Clone, Copy)]
enum KeyForm {
    /// `genpkey -algorithm EC`: PKCS#8 `PRIVATE KEY`.
    EcPkcs8(&'static str),
    /// `ecparam -genkey -noout`: SEC1 `EC PRIVATE KEY`.
    EcSec1(&'static str),
    /// `genrsa -traditional 2048`: PKCS#1 `RSA PRIVATE KEY`.
    RsaPkcs1,
}

fn gen_key(dir: &Path, name: &str, form: KeyForm) -> PathBuf {
    let file = format!("{name}.key");
    match form {
        KeyForm::EcPkcs8(curve) => openssl(
            dir,
            &["genpkey", "-algorithm", "EC", "-pkeyopt", &format!("ec_paramgen_curve:{curve}"), "-out", &file],
        ),
        KeyForm::EcSec1(curve) => openssl(dir, &["ecparam", "-genkey", "-noout", "-name", curve, "-out", &file]),
        KeyForm::RsaPkcs1 => openssl(dir, &["genrsa", "-traditional", "-out", &file, "2048"]),
    }
    dir.join(file)
}

/// A self-signed CA certificate with `CA:TRUE`.
fn gen_ca(dir: &Path, name: &str, cn: &str) -> CertKey {
    let key = gen_key(dir, name, KeyForm::EcPkcs8("P-256"));
    let cert = format!("{name}.pem");
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-new",
            "-key",
            &format!("{name}.key"),
            "-subj",
            &format!("/CN={cn}"),
            "-days",
            "30",
            "-set_serial",
            &next_serial(),
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            "-out",
            &cert,
        ],
    );
    CertKey { cert: dir.join(cert), key }
}

/// A leaf signed by `ca`, with only the extensions written here (`x509 -req -extfile`
/// copies none from the request and adds no `CA:TRUE`).
fn gen_leaf(dir: &Path, ca: &CertKey, name: &str, form: KeyForm, cn: &str, ext: &str) -> CertKey {
    let key = gen_key(dir, name, form);
    let csr = format!("{name}.csr");
    let ext_file = format!("{name}.ext");
    let cert = format!("{name}.pem");
    openssl(dir, &["req", "-new", "-key", &format!("{name}.key"), "-subj", &format!("/CN={cn}"), "-out", &csr]);
    std::fs::write(dir.join(&ext_file), ext).expect("write extension file");
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            ca.cert.to_str().expect("utf-8 path"),
            "-CAkey",
            ca.key.to_str().expect("utf-8 path"),
            "-set_serial",
            &next_serial(),
            "-days",
            "30",
            "-extfile",
            &ext_file,
            "-out",
            &cert,
        ],
    );
    CertKey { cert: dir.join(cert), key }
}

const SERVER_EXT: &str = "basicConstraints=critical,CA:FALSE\n\
keyUsage=critical,digitalSignature,keyEncipherment\n\
extendedKeyUsage=serverAuth\n\
subjectAltName=DNS:localhost,IP:127.0.0.1\n";

const CLIENT_EXT: &str = "basicConstraints=critical,CA:FALSE\n\
keyUsage=critical,digitalSignature\n\
extendedKeyUsage=clientAuth\n\
subjectAltName=DNS:client.localhost\n";

fn generate() -> TestPki {
    let dir = fresh_temp_dir("dtls-engine-pki");

    let ca = gen_ca(&dir, "ca", "dtls-engine test CA");
    let other_ca = gen_ca(&dir, "other-ca", "dtls-engine unrelated CA");

    let server_p256 = gen_leaf(&dir, &ca, "server-p256", KeyForm::EcSec1("prime256v1"), "localhost", SERVER_EXT);
    let server_p384 = gen_leaf(&dir, &ca, "server-p384", KeyForm::EcPkcs8("P-384"), "localhost", SERVER_EXT);
    let server_rsa = gen_leaf(&dir, &ca, "server-rsa", KeyForm::RsaPkcs1, "localhost", SERVER_EXT);
    let client = gen_leaf(&dir, &ca, "client", KeyForm::EcPkcs8("P-256"), "client.localhost", CLIENT_EXT);

    let chain_path = dir.join("server-p256-chain.pem");
    let mut chain = read(&server_p256.cert);
    chain.extend_from_slice(&read(&ca.cert));
    std::fs::write(&chain_path, chain).expect("write chain file");
    let server_p256_chain = CertKey { cert: chain_path, key: server_p256.key.clone() };

    // INTEROP_NOTES: this is what users get from the one-liner; it has CA:TRUE.
    openssl(
        &dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "30",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout",
            "self-signed.key",
            "-out",
            "self-signed.pem",
        ],
    );
    let self_signed = CertKey { cert: dir.join("self-signed.pem"), key: dir.join("self-signed.key") };

    TestPki { dir, ca, other_ca, server_p256, server_p256_chain, server_p384, server_rsa, client, self_signed }
}

/// A self-signed P-256 certificate (`CN=name`, `subjectAltName=DNS:name`, `CA:TRUE` as
/// `req -x509` makes it) and its PKCS#8 key, in a fresh directory: a second identity for
/// SNI tests, which is also its own trust anchor.
pub fn self_signed_for(name: &str) -> CertKey {
    let dir = fresh_temp_dir("dtls-engine-sni");
    openssl(
        &dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "30",
            "-subj",
            &format!("/CN={name}"),
            "-addext",
            &format!("subjectAltName=DNS:{name}"),
            "-keyout",
            "cert.key",
            "-out",
            "cert.pem",
        ],
    );
    CertKey { cert: dir.join("cert.pem"), key: dir.join("cert.key") }
}

/// The SHA-256 fingerprint of the (first) certificate in `cert`, as
/// `openssl x509 -noout -fingerprint -sha256` prints it after `sha256 Fingerprint=`:
/// upper-case hex pairs joined by `:`.
pub fn x509_sha256_fingerprint(cert: &Path) -> String {
    let out = Command::new(openssl_bin())
        .args(["x509", "-noout", "-fingerprint", "-sha256", "-in"])
        .arg(cert)
        .output()
        .unwrap_or_else(|e| panic!("cannot run openssl x509: {e}"));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "openssl x509 -fingerprint failed: {text}{}", String::from_utf8_lossy(&out.stderr));
    let line = text.lines().next().unwrap_or_default().trim();
    line.strip_prefix("sha256 Fingerprint=")
        .unwrap_or_else(|| panic!("unexpected `openssl x509 -fingerprint` output {line:?}"))
        .to_owned()
}

/// `openssl ciphers -stdname NAME`: the IANA name OpenSSL gives the suite `openssl_name`.
pub fn iana_name_of(openssl_name: &str) -> String {
    let out = Command::new(openssl_bin())
        .args(["ciphers", "-stdname", openssl_name])
        .output()
        .unwrap_or_else(|e| panic!("cannot run openssl ciphers: {e}"));
    let text = String::from_utf8_lossy(&out.stdout);
    // Lines are `IANA_NAME - OPENSSL_NAME VERSION Kx=...`; TLS 1.3 suites come first.
    text.lines()
        .find_map(|l| {
            let mut words = l.split_whitespace();
            let (iana, dash, name) = (words.next()?, words.next()?, words.next()?);
            (dash == "-" && name == openssl_name).then(|| iana.to_owned())
        })
        .unwrap_or_else(|| panic!("`openssl ciphers -stdname {openssl_name}` does not list it:\n{text}"))
}
