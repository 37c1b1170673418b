//! nginx as the UDP load balancer in front of DTLS backends, on loopback: the config that
//! `deploy/nginx/nginx-conf.sh` generates, with `deploy/nginx/dtls_cid.js`, run as a
//! foreground child (`daemon off`) from a fresh temp dir (config, pid file, error and access
//! logs), and stopped (SIGTERM to its master, which stops its workers) when dropped; the temp
//! dir is removed then, unless the test failed.
//!
//! - [`Nginx::start`]: generate the config for some backends (server id and address each),
//!   start nginx on a free loopback port, wait until its workers run.
//! - [`Nginx::assert_healthy`]: still running, and nothing in the error log at `error` or
//!   worse, no njs exception, no warning from dtls_cid.js.
//! - [`Recorder`]: a plain UDP socket standing in for a backend, that records every datagram
//!   (and nginx's address it came from) and echoes it back.
//!
//! nginx comes from the `PATH` (or `/usr/sbin/nginx`), the modules from Debian's
//! `libnginx-mod-stream` and `libnginx-mod-stream-js`; without them the tests fail and say to
//! run `scripts/test`, which installs them. Only 127.0.0.1 is used.

#![allow(dead_code)]

use std::fs::File;
use std::net::{SocketAddr, UdpSocket};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::certs::fresh_temp_dir;
use super::openssl::pick_free_port;

/// The config generator (bash) and the njs module beside it.
pub const CONF_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/nginx/nginx-conf.sh");
pub const NJS_MODULE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/nginx/dtls_cid.js");
/// Where Debian's `libnginx-mod-stream` and `libnginx-mod-stream-js` put their modules.
pub const MODULES_DIR: &str = "/usr/lib/nginx/modules";
const MODULES: [&str; 2] = ["ngx_stream_module.so", "ngx_stream_js_module.so"];

const INSTALL_HINT: &str = "These tests run nginx as the UDP load balancer. Run the README's test \
                            command, scripts/test (as root), which installs nginx, \
                            libnginx-mod-stream and libnginx-mod-stream-js (or: apt-get install -y \
                            nginx libnginx-mod-stream libnginx-mod-stream-js).";

/// How long nginx may take to start or stop.
const STARTUP: Duration = Duration::from_secs(15);

/// A backend as the config names it: its server id (hex, `server_id_len` bytes) and address.
#[derive(Debug, Clone)]
pub struct Backend {
    pub server_id: String,
    pub addr: SocketAddr,
}

/// The generator's knobs that the tests vary.
#[derive(Debug, Clone)]
pub struct Options {
    pub cid_len: usize,
    pub server_id_len: usize,
    /// nginx's `proxy_timeout`: an idle UDP session ends after this (`30s`, `1s`).
    pub proxy_timeout: String,
    pub workers: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self { cid_len: 8, server_id_len: 1, proxy_timeout: "30s".to_owned(), workers: 2 }
    }
}

/// The nginx binary: `$DTLS_NGINX`, `nginx` on the `PATH`, or `/usr/sbin/nginx` (root's `PATH`
/// has `/usr/sbin`, other users' may not). Panics, saying to run `scripts/test`, when none runs
/// or the stream modules are missing.
pub fn nginx_bin() -> String {
    let candidates: Vec<String> = match std::env::var("DTLS_NGINX") {
        Ok(bin) => vec![bin],
        Err(_) => vec!["nginx".to_owned(), "/usr/sbin/nginx".to_owned()],
    };
    let bin = candidates
        .iter()
        .find(|bin| Command::new(bin).arg("-v").stdin(Stdio::null()).output().is_ok_and(|o| o.status.success()))
        .unwrap_or_else(|| panic!("nginx is not installed (tried {candidates:?}). {INSTALL_HINT}"))
        .clone();
    for module in MODULES {
        let path = Path::new(MODULES_DIR).join(module);
        assert!(path.is_file(), "{} is missing. {INSTALL_HINT}", path.display());
    }
    bin
}

/// `deploy/nginx/nginx-conf.sh ARGS`: its output, or its exit status and stderr.
pub fn run_conf_script(args: &[String]) -> Result<String, (i32, String)> {
    let out = Command::new("bash")
        .arg(CONF_SCRIPT)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run bash {CONF_SCRIPT}: {e}"));
    if out.status.success() {
        Ok(String::from_utf8(out.stdout).expect("the config is UTF-8"))
    } else {
        Err((out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned()))
    }
}

/// A running nginx (master and workers) with a generated config.
pub struct Nginx {
    child: Child,
    /// The UDP port nginx listens on, at 127.0.0.1.
    pub port: u16,
    /// The temp dir holding nginx.conf, nginx.pid, error.log, access.log, stdout, stderr.
    pub dir: PathBuf,
    /// The backends the config names.
    pub backends: Vec<Backend>,
    stopped: bool,
}

impl Nginx {
    /// Generates the config for `backends` (`--foreground --log-level info`, loopback
    /// `--listen` on a free port) and starts nginx, retrying on another port if that one was
    /// taken meanwhile. Returns once every worker has started.
    pub fn start(backends: &[Backend], options: &Options) -> Self {
        let bin = nginx_bin();
        let mut last = String::new();
        for _attempt in 0..5 {
            let port = pick_free_port();
            let dir = fresh_temp_dir("nginx-lb");
            let mut args = vec![
                "--listen".to_owned(),
                format!("127.0.0.1:{port}"),
                "--cid-len".to_owned(),
                options.cid_len.to_string(),
                "--server-id-len".to_owned(),
                options.server_id_len.to_string(),
                "--runtime-dir".to_owned(),
                dir.display().to_string(),
                "--workers".to_owned(),
                options.workers.to_string(),
                "--proxy-timeout".to_owned(),
                options.proxy_timeout.clone(),
                "--log-level".to_owned(),
                "info".to_owned(),
                "--foreground".to_owned(),
            ];
            for b in backends {
                args.push("--backend".to_owned());
                args.push(format!("{}={}", b.server_id, b.addr));
            }
            let conf =
                run_conf_script(&args).unwrap_or_else(|(code, err)| panic!("nginx-conf.sh failed ({code}): {err}"));
            let conf_path = dir.join("nginx.conf");
            std::fs::write(&conf_path, &conf).unwrap_or_else(|e| panic!("write {}: {e}", conf_path.display()));
            let file = |name: &str| File::create(dir.join(name)).unwrap_or_else(|e| panic!("create {name}: {e}"));
            let mut command = Command::new(&bin);
            command
                .arg("-p")
                .arg(&dir)
                .arg("-c")
                .arg(&conf_path)
                .arg("-e")
                .arg(dir.join("error.log"))
                .stdin(Stdio::null())
                .stdout(file("stdout"))
                .stderr(file("stderr"))
                // Its own process group, so that a master that does not stop in time can be
                // killed together with its workers.
                .process_group(0);
            let child = command.spawn().unwrap_or_else(|e| panic!("cannot spawn {command:?}: {e}"));
            let mut nginx = Self { child, port, dir, backends: backends.to_vec(), stopped: false };
            match nginx.wait_started(options.workers) {
                Ok(()) => return nginx,
                Err(why) => {
                    nginx.stop();
                    last = format!("{why}\n{}", nginx.logs());
                    if !last.contains("Address already in use") {
                        break;
                    }
                }
            }
        }
        panic!("nginx did not start\n{last}");
    }

    /// Waits until the error log shows `workers` started worker processes.
    fn wait_started(&mut self, workers: usize) -> Result<(), String> {
        let deadline = Instant::now() + STARTUP;
        loop {
            if self.error_log().matches("start worker process ").count() >= workers {
                return Ok(());
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                self.stopped = true;
                return Err(format!("nginx exited at startup: {status}"));
            }
            if Instant::now() >= deadline {
                return Err(format!("nginx did not start {workers} workers within {STARTUP:?}"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The address of the backend with `server_id`.
    pub fn backend(&self, server_id: &str) -> SocketAddr {
        self.backends
            .iter()
            .find(|b| b.server_id.eq_ignore_ascii_case(server_id))
            .unwrap_or_else(|| panic!("no backend with server id {server_id}"))
            .addr
    }

    /// The address clients send to.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join(name)).unwrap_or_default()
    }

    pub fn error_log(&self) -> String {
        self.read("error.log")
    }

    /// One line per ended UDP session: `ADDR:PORT sid=HEX -> UPSTREAM STATUS ...`.
    pub fn access_log(&self) -> String {
        self.read("access.log")
    }

    /// The generated config and every log, for a failure message.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        for name in ["nginx.conf", "stdout", "stderr", "error.log", "access.log"] {
            out.push_str(&format!("----- nginx {name} ({}) -----\n{}\n", self.dir.display(), self.read(name)));
        }
        out
    }

    /// Waits until the access log has a line for the client at `client` (its session ended,
    /// after `proxy_timeout` without traffic), and returns that line.
    pub fn wait_session_logged(&self, client: SocketAddr, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        let prefix = format!("{client} ");
        loop {
            if let Some(line) = self.access_log().lines().find(|l| l.starts_with(&prefix)) {
                return line.to_owned();
            }
            assert!(Instant::now() < deadline, "no access log line for {client} within {timeout:?}\n{}", self.logs());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Like [`wait_session_logged`](Self::wait_session_logged), for the `n`th (from 1) session
    /// of `client`.
    pub fn wait_sessions_logged(&self, client: SocketAddr, n: usize, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let prefix = format!("{client} ");
        while self.access_log().lines().filter(|l| l.starts_with(&prefix)).count() < n {
            assert!(
                Instant::now() < deadline,
                "no {n} access log lines for {client} within {timeout:?}\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// nginx still runs, and its error log has no line at `error` level or worse, no njs
    /// exception and no warning from dtls_cid.js.
    pub fn assert_healthy(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            self.stopped = true;
            panic!("nginx exited: {status}\n{}", self.logs());
        }
        let log = self.error_log();
        for bad in ["[error]", "[crit]", "[alert]", "[emerg]", "js exception", "dtls_cid:"] {
            assert!(!log.contains(bad), "nginx's error log has {bad:?}\n{}", self.logs());
        }
    }

    /// Stops nginx: SIGTERM to the master (a fast shutdown: it stops its workers, then
    /// exits); if it has not exited within a few seconds, SIGKILL to its process group (the
    /// master and its workers: our own child's group, by id). Idempotent.
    pub fn stop(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        let pid = self.child.id();
        if let Ok(None) = self.child.try_wait() {
            signal("TERM", &pid.to_string());
            let deadline = Instant::now() + STARTUP;
            while let Ok(None) = self.child.try_wait() {
                if Instant::now() >= deadline {
                    signal("KILL", &format!("-{pid}"));
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let _ = self.child.wait();
    }
}

impl Drop for Nginx {
    /// Stops nginx; its temp dir stays behind only when the test failed, for a post-mortem.
    fn drop(&mut self) {
        self.stop();
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// `kill -s SIG TARGET` (the shell's builtin): TARGET is our nginx master's pid, or the
/// negated pid for its process group.
fn signal(sig: &str, target: &str) {
    let _ = Command::new("sh")
        .args(["-c", "kill -s \"$0\" -- \"$1\"", sig, target])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// One datagram a [`Recorder`] received.
#[derive(Debug, Clone)]
pub struct Received {
    pub data: Vec<u8>,
    /// nginx's upstream socket it came from (one per nginx UDP session).
    pub from: SocketAddr,
}

/// A plain UDP socket on 127.0.0.1 standing in for a backend: it records every datagram and
/// sends it back to where it came from (through nginx, to the client).
pub struct Recorder {
    pub name: &'static str,
    pub addr: SocketAddr,
    pub log: Arc<Mutex<Vec<Received>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Recorder {
    pub fn start(name: &'static str) -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        socket.set_read_timeout(Some(Duration::from_millis(50))).expect("read timeout");
        let addr = socket.local_addr().expect("local_addr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (log, stop) = (Arc::clone(&log), Arc::clone(&stop));
            std::thread::spawn(move || {
                let mut buf = vec![0u8; 65536];
                while !stop.load(Ordering::Relaxed) {
                    let Ok((n, from)) = socket.recv_from(&mut buf) else { continue };
                    log.lock().expect("recorder log").push(Received { data: buf[..n].to_vec(), from });
                    let _ = socket.send_to(&buf[..n], from);
                }
            })
        };
        Self { name, addr, log, stop, thread: Some(thread) }
    }

    pub fn received(&self) -> Vec<Received> {
        self.log.lock().expect("recorder log").clone()
    }

    pub fn len(&self) -> usize {
        self.log.lock().expect("recorder log").len()
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A NAT in front of a client, on loopback: the client sends to [`Nat::addr`], the NAT
/// forwards to `target` from its outside socket, and forwards what comes back to the
/// client. [`Nat::rebind`] replaces the outside socket with one on a new port, as a NAT
/// does when it drops an idle mapping: from then on the target sees the client from the new
/// port, and replies to the old one are dropped.
pub struct Nat {
    pub addr: SocketAddr,
    outside: Arc<Mutex<Arc<UdpSocket>>>,
    client: Arc<Mutex<Option<SocketAddr>>>,
    inside: Arc<UdpSocket>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl Nat {
    pub fn start(target: SocketAddr) -> Self {
        let inside = Arc::new(UdpSocket::bind("127.0.0.1:0").expect("bind 127.0.0.1:0"));
        inside.set_read_timeout(Some(Duration::from_millis(50))).expect("read timeout");
        let addr = inside.local_addr().expect("local_addr");
        let outside = Arc::new(Mutex::new(Self::outside_socket(target)));
        let client = Arc::new(Mutex::new(None));
        let stop = Arc::new(AtomicBool::new(false));
        let forward = {
            let (inside, outside, client, stop) =
                (Arc::clone(&inside), Arc::clone(&outside), Arc::clone(&client), Arc::clone(&stop));
            std::thread::spawn(move || {
                let mut buf = vec![0u8; 65536];
                while !stop.load(Ordering::Relaxed) {
                    let Ok((n, from)) = inside.recv_from(&mut buf) else { continue };
                    *client.lock().expect("nat client") = Some(from);
                    let socket = Arc::clone(&outside.lock().expect("nat outside"));
                    let _ = socket.send(&buf[..n]);
                }
            })
        };
        let mut nat = Self { addr, outside, client, inside, stop, threads: vec![forward] };
        nat.spawn_replies();
        nat
    }

    fn outside_socket(target: SocketAddr) -> Arc<UdpSocket> {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        socket.set_read_timeout(Some(Duration::from_millis(50))).expect("read timeout");
        socket.connect(target).expect("connect");
        Arc::new(socket)
    }

    /// Forwards replies that reach the current outside socket, while it is the current one.
    fn spawn_replies(&mut self) {
        let mine = Arc::clone(&self.outside.lock().expect("nat outside"));
        let (inside, outside, client, stop) =
            (Arc::clone(&self.inside), Arc::clone(&self.outside), Arc::clone(&self.client), Arc::clone(&self.stop));
        self.threads.push(std::thread::spawn(move || {
            let mut buf = vec![0u8; 65536];
            while !stop.load(Ordering::Relaxed) && Arc::ptr_eq(&mine, &outside.lock().expect("nat outside")) {
                let Ok(n) = mine.recv(&mut buf) else { continue };
                if !Arc::ptr_eq(&mine, &outside.lock().expect("nat outside")) {
                    break;
                }
                if let Some(to) = *client.lock().expect("nat client") {
                    let _ = inside.send_to(&buf[..n], to);
                }
            }
        }));
    }

    /// The address the target sees the client at now.
    pub fn outside_addr(&self) -> SocketAddr {
        self.outside.lock().expect("nat outside").local_addr().expect("local_addr")
    }

    /// Moves the client to a new outside port; returns it.
    pub fn rebind(&mut self) -> SocketAddr {
        let target = self.outside.lock().expect("nat outside").peer_addr().expect("peer_addr");
        *self.outside.lock().expect("nat outside") = Self::outside_socket(target);
        self.spawn_replies();
        self.outside_addr()
    }
}

impl Drop for Nat {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}
