//! The load generator of `examples/load.rs` (and so `benches/scale.sh`) against the real
//! `dtls server`, for a second in each of its modes and topologies: every run completes
//! operations, and none fails. The example is compiled into this test as a module, so what
//! runs here is the code the benchmark runs.

#[allow(dead_code)]
#[path = "../examples/load.rs"]
mod load;

/// Runs the load generator with `args` (after the path of `dtls`); returns the summary line.
fn run(args: &[&str]) -> String {
    let list = std::iter::once(env!("CARGO_BIN_EXE_dtls")).chain(args.iter().copied()).map(str::to_owned);
    load::run(&load::parse_args(list))
}

/// The number before `unit` in a summary line (`123 handshakes/s`).
fn number_before(summary: &str, unit: &str) -> f64 {
    let head = summary.split(unit).next().unwrap_or_default();
    head.rsplit(' ').find(|w| !w.is_empty()).and_then(|w| w.parse().ok()).unwrap_or(-1.0)
}

fn assert_done(summary: &str, unit: &str) {
    assert!(summary.ends_with(" 0 failures"), "{summary}");
    assert!(number_before(summary, unit) > 0.0, "no {unit}: {summary}");
}

#[test]
fn handshakes_with_one_and_two_workers() {
    for workers in ["1", "2"] {
        let summary = run(&["--workers", workers, "--clients", "4", "--seconds", "1"]);
        assert!(summary.starts_with(&format!("workers={workers} clients=4 version=DTLSv1.2 key=ecdsa-p256")));
        assert_done(&summary, " handshakes/s");
    }
}

#[test]
fn dtls13_handshakes_with_an_rsa_server_key() {
    let summary = run(&["--key", "rsa2048", "--max-version", "1.3", "--clients", "2", "--seconds", "1"]);
    assert!(summary.contains("version=DTLSv1.3 key=rsa2048"), "{summary}");
    assert_done(&summary, " handshakes/s");
}

#[test]
fn echoed_records() {
    let args = ["--mode", "records", "--clients", "2", "--prepared", "20000", "--seconds", "1"];
    let summary = run(&args);
    assert_done(&summary, " records/s");
}

#[test]
fn handshakes_through_nginx_to_two_backends() {
    let summary = run(&["--nginx", "2", "--clients", "4", "--seconds", "1"]);
    assert!(summary.starts_with("nginx+2 backends"), "{summary}");
    assert!(summary.contains("nginx CPU"), "{summary}");
    assert_done(&summary, " handshakes/s");
}

#[test]
fn in_memory_reference() {
    let summary = run(&["--mode", "in-memory", "--seconds", "1"]);
    assert!(summary.contains("datagrams per handshake: 4.0 to the server, 4.0 from it"), "{summary}");
    assert!(number_before(&summary, " handshakes,") > 0.0, "{summary}");
}

/// `--server ADDR --fingerprint FP`: a `dtls server` started by someone else (here, this test)
/// is loaded as it is, authenticated by the fingerprint it printed.
#[test]
fn a_server_running_elsewhere() {
    use std::io::{BufRead, BufReader};
    let mut server = std::process::Command::new(env!("CARGO_BIN_EXE_dtls"))
        .args(["server", "--listen", "127.0.0.1:0", "--echo", "--quiet"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stderr.take().unwrap()).lines();
    let fingerprint = lines.next().unwrap().unwrap().strip_prefix("fingerprint ").unwrap().to_owned();
    let addr = lines.next().unwrap().unwrap().strip_prefix("listening ").unwrap().to_owned();
    std::thread::spawn(move || lines.for_each(drop));
    let summary = run(&["--server", &addr, "--fingerprint", &fingerprint, "--clients", "4", "--seconds", "1"]);
    let _ = server.kill();
    let _ = server.wait();
    assert!(summary.starts_with(&format!("server={addr} ")), "{summary}");
    assert!(summary.contains("(- per handshake, - per record)"), "not measured: {summary}");
    assert_done(&summary, " handshakes/s");
}
