//! A load generator for `dtls server`: starts the server (`--workers N`, connection IDs on)
//! as a child process on loopback, runs K client threads that each repeat, until the time is
//! up, a fresh handshake on a fresh socket followed by R echoed records, and prints a
//! progress line every second and a summary: handshakes/s, records/s, and the server's CPU
//! time per handshake (from `/proc/<pid>/stat`, Linux).
//!
//! ```sh
//! cargo build --release --features cli --bin dtls --example load
//! target/release/examples/load target/release/dtls --workers 1 --clients 4 --seconds 10 --records 10
//! target/release/examples/load target/release/dtls --workers 2 --clients 4 --seconds 10 --records 10
//! ```
//!
//! The clients run on the same machine and cost about as much CPU per handshake as the
//! server (ECDHE and a signature check against ECDHE and a signature), so on a machine with
//! few cores the clients, not the server, may be what limits the throughput: read the
//! server's CPU per handshake beside the rates.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, UdpSocket};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use dtls_engine::{ClientConfig, Event, ProtocolVersion, Session};

struct Args {
    dtls: String,
    workers: usize,
    clients: usize,
    seconds: u64,
    records: usize,
    version: ProtocolVersion,
}

fn args() -> Args {
    let mut a = std::env::args().skip(1);
    let dtls = a.next().expect(
        "usage: load PATH/TO/dtls [--workers N] [--clients K] [--seconds S] [--records R] [--max-version 1.2|1.3]",
    );
    let mut out = Args { dtls, workers: 1, clients: 4, seconds: 10, records: 10, version: ProtocolVersion::Dtls12 };
    while let Some(flag) = a.next() {
        let value = a.next().expect("a value after each flag");
        match flag.as_str() {
            "--workers" => out.workers = value.parse().expect("--workers N"),
            "--clients" => out.clients = value.parse().expect("--clients K"),
            "--seconds" => out.seconds = value.parse().expect("--seconds S"),
            "--records" => out.records = value.parse().expect("--records R"),
            "--max-version" => out.version = ProtocolVersion::from_name(&value).expect("--max-version 1.2|1.3"),
            other => panic!("unknown flag {other}"),
        }
    }
    out
}

/// utime + stime of `pid`, in clock ticks (1/100 s on Linux).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state); utime and stime are fields 14 and 15.
    let field = |n: usize| f.get(n - 3).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    field(14) + field(15)
}

/// One handshake and `records` echoes on a fresh socket; false if anything failed.
fn one_session(config: &Arc<ClientConfig>, server: SocketAddr, records: usize, done_records: &AtomicU64) -> bool {
    let Ok(sock) = UdpSocket::bind("127.0.0.1:0") else { return false };
    let _ = sock.connect(server);
    let _ = sock.set_read_timeout(Some(Duration::from_millis(20)));
    let start = Instant::now();
    let mut s = Session::client(start, config.clone(), server);
    let mut buf = vec![0u8; 2048];
    let payload = [0x5au8; 100];
    let mut sent = 0;
    let mut echoed = 0;
    while start.elapsed() < Duration::from_secs(5) {
        while let Some(t) = s.poll_transmit() {
            let _ = sock.send(&t.contents);
        }
        if s.is_connected() && echoed == records {
            s.close(Instant::now());
            while let Some(t) = s.poll_transmit() {
                let _ = sock.send(&t.contents);
            }
            return true;
        }
        if s.is_connected() && sent == echoed {
            if s.send(&payload).is_err() {
                return false;
            }
            sent += 1;
            continue;
        }
        match sock.recv(&mut buf) {
            Ok(n) => {
                if s.handle(Instant::now(), &buf[..n]).is_err() {
                    return false;
                }
            }
            Err(_) => {
                let now = Instant::now();
                if s.poll_timeout().is_some_and(|t| t <= now) && s.handle_timeout(now).is_err() {
                    return false;
                }
            }
        }
        while let Some(e) = s.poll_event() {
            if let Event::ApplicationData(_) = e {
                echoed += 1;
                done_records.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    false
}

fn main() {
    let a = args();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("rcgen");
    let dir = std::env::temp_dir().join(format!("dtls-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).expect("cert");
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).expect("key");
    let mut child = Command::new(&a.dtls)
        .args(["server", "--listen", "127.0.0.1:0", "--echo", "--cid-len", "8", "--server-id", "a1"])
        .args(["--workers", &a.workers.to_string()])
        .arg("--cert")
        .arg(&cert_path)
        .arg("--key")
        .arg(&key_path)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start dtls server");
    let pid = child.id();
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let server: SocketAddr = loop {
        let line = lines.next().expect("the server's status lines").expect("stderr");
        if let Some(addr) = line.strip_prefix("listening ") {
            break addr.trim().parse().expect("listening ADDR");
        }
    };
    // Keep draining the server's status lines so it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines.by_ref() {});
    let config = ClientConfig::builder()
        .root_certificates_pem(cert.cert.pem().as_bytes())
        .expect("root")
        .server_name("localhost")
        .max_version(a.version)
        .connection_ids(4)
        .build()
        .expect("client config");
    let (handshakes, failures, records) =
        (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let stop = Arc::new(AtomicBool::new(false));
    let cpu_start = cpu_ticks(pid);
    let started = Instant::now();
    let threads: Vec<_> = (0..a.clients)
        .map(|_| {
            let (config, handshakes, failures, records, stop) =
                (config.clone(), handshakes.clone(), failures.clone(), records.clone(), stop.clone());
            let n = a.records;
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let counter = if one_session(&config, server, n, &records) { &handshakes } else { &failures };
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for second in 1..=a.seconds {
        std::thread::sleep(Duration::from_secs(1));
        println!(
            "t={second}s handshakes={} records={} failures={} server_cpu={:.2}s",
            handshakes.load(Ordering::Relaxed),
            records.load(Ordering::Relaxed),
            failures.load(Ordering::Relaxed),
            (cpu_ticks(pid) - cpu_start) as f64 / 100.0
        );
    }
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        let _ = t.join();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = (cpu_ticks(pid) - cpu_start) as f64 / 100.0;
    let h = handshakes.load(Ordering::Relaxed) as f64;
    println!(
        "workers={} clients={} version={} records/session={}: {:.0} handshakes/s, {:.0} records/s, server CPU {:.2} s \
         ({:.0} µs per session), {} failures",
        a.workers,
        a.clients,
        a.version.name(),
        a.records,
        h / elapsed,
        records.load(Ordering::Relaxed) as f64 / elapsed,
        cpu,
        if h > 0.0 { cpu * 1e6 / h } else { 0.0 },
        failures.load(Ordering::Relaxed)
    );
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
}
