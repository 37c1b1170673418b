//! Runs one test case inside a private network namespace, for peers that bind every
//! interface (`gnutls-serv` has no option to bind loopback only).
//!
//! A test process cannot move itself into a new namespace, so the *outer* test re-executes
//! this very test binary under `unshare --net --pid`, asking libtest for one *inner* test by its
//! exact name and naming the case in [`CASE_VAR`]:
//!
//! ```text
//! unshare --net --pid --fork --kill-child -- <this test binary> --exact <inner test> --nocapture --test-threads=1
//! ```
//!
//! The new PID namespace makes the re-executed binary its init process: when it exits, or
//! is killed (`--kill-child` forwards the outer test killing `unshare` on timeout), the
//! kernel kills every process left in the namespace, so a peer can never outlive its test.
//!
//! The inner test ([`inner_case`]) does nothing unless [`CASE_VAR`] is set, so a plain
//! `cargo test` lists it as passed; inside the namespace it brings `lo` up, checks that
//! `lo` is the only interface ([`enter_private_loopback`]) and runs the case. The outer test
//! fails when `unshare` or `ip` is missing, the namespace cannot be created (it needs root
//! or `CAP_SYS_ADMIN`), or the inner run fails, times out, or does not report that the case
//! ran.
//!
//! Nothing here sends a packet; a namespace made by `unshare --net` has no route anywhere
//! but its own loopback, and it disappears with the last process in it.

#![allow(dead_code)]

use std::fs::File;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::certs::fresh_temp_dir;

/// Names the case the inner test must run; set only on the re-executed test binary.
pub const CASE_VAR: &str = "DTLS_ENGINE_NETNS_CASE";

/// The outer test's network namespace (`net:[inode]`), so the inner run can check that it
/// is somewhere else.
const OUTER_NETNS_VAR: &str = "DTLS_ENGINE_NETNS_OUTER";

/// This process's network namespace, as `/proc/self/ns/net` names it (`net:[4026531833]`).
fn current_netns() -> String {
    let link = std::fs::read_link("/proc/self/ns/net").unwrap_or_else(|e| panic!("/proc/self/ns/net: {e}"));
    link.to_string_lossy().into_owned()
}

/// What the inner test prints once its case passed, so the outer test knows it really ran
/// (and was not, say, filtered out by a misspelled test name).
pub fn passed_marker(case: &str) -> String {
    format!("netns case `{case}` passed")
}

/// Panics with an install hint unless `program version_arg` runs successfully.
pub fn require_tool(program: &str, version_arg: &str, package: &str) {
    match Command::new(program).arg(version_arg).stdin(Stdio::null()).output() {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!(
            "`{program} {version_arg}` failed ({}): {}{}\nThis test needs `{program}` \
             (Debian/Ubuntu: apt-get install -y {package}).",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => {
            panic!("cannot run `{program}`: {e}. This test needs it (Debian/Ubuntu: apt-get install -y {package}).")
        }
    }
}

/// The outer half: runs `inner_test` (its full libtest name) of this test binary in a new
/// network namespace with [`CASE_VAR`] = `case`, and panics with the inner run's output
/// unless it passed and printed [`passed_marker`] within `timeout`.
pub fn run_in_private_netns(inner_test: &str, case: &str, timeout: Duration) {
    require_tool("unshare", "--version", "util-linux");
    require_tool("ip", "-V", "iproute2");
    let exe = std::env::current_exe().expect("current_exe");
    let dir = fresh_temp_dir("dtls-engine-netns");
    let (out_path, err_path) = (dir.join("stdout"), dir.join("stderr"));
    let mut child = Command::new("unshare")
        .args(["--net", "--pid", "--fork", "--kill-child", "--"])
        .arg(&exe)
        .args(["--exact", inner_test, "--nocapture", "--test-threads=1"])
        .env(CASE_VAR, case)
        .env(OUTER_NETNS_VAR, current_netns())
        .stdin(Stdio::null())
        .stdout(File::create(&out_path).expect("create stdout file"))
        .stderr(File::create(&err_path).expect("create stderr file"))
        .spawn()
        .unwrap_or_else(|e| panic!("cannot spawn `unshare`: {e} (apt-get install -y util-linux)"));

    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait().expect("try_wait on unshare") {
            Some(status) => break Some(status),
            None if Instant::now() >= deadline => {
                // Our own child, by handle.
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    let (stdout, stderr) = (read(&out_path), read(&err_path));
    let transcript = format!(
        "----- inner run stdout -----\n{}\n----- inner run stderr -----\n{}\n-----",
        indent(&stdout),
        indent(&stderr)
    );
    let Some(status) = status else {
        panic!("case `{case}` in a private network namespace did not finish within {timeout:?}\n{transcript}");
    };
    // unshare(1) reports its own failures as `unshare: ...` before running anything.
    if !status.success() && stderr.trim_start().starts_with("unshare:") {
        panic!(
            "`unshare --net --pid` could not create its namespaces ({status}); these tests need root or \
             CAP_SYS_ADMIN\n{transcript}"
        );
    }
    assert!(status.success(), "case `{case}` failed in its private network namespace ({status})\n{transcript}");
    assert!(
        stdout.contains(&passed_marker(case)),
        "the inner run for case `{case}` exited 0 but did not report that the case ran \
         (was `{inner_test}` renamed?)\n{transcript}"
    );
}

/// The inner half: the case to run, or `None` when this is not the re-executed binary
/// (a plain `cargo test`), in which case the inner test must return at once.
pub fn inner_case() -> Option<String> {
    std::env::var(CASE_VAR).ok().filter(|c| !c.is_empty())
}

/// Inside the namespace: panics unless this process is in another network namespace than
/// the outer test, brings `lo` up, and panics unless it is the only interface, so a peer
/// that binds every interface can never be reached from outside this machine.
pub fn enter_private_loopback() {
    let outer = std::env::var(OUTER_NETNS_VAR).unwrap_or_default();
    let ours = current_netns();
    assert!(
        !outer.is_empty() && outer != ours,
        "refusing to go on: not in a network namespace of our own (ours {ours}, the outer test's {outer:?}); \
         the inner test must only run under `unshare --net`"
    );
    run_ip(&["link", "set", "lo", "up"]);
    let links = run_ip(&["-o", "link", "show"]);
    let names: Vec<&str> =
        links.lines().filter_map(|l| l.split(':').nth(1)).map(|n| n.trim().split('@').next().unwrap_or("")).collect();
    assert_eq!(
        names,
        ["lo"],
        "refusing to go on: this network namespace has interfaces other than lo:\n{links}\n\
         (the inner test must only run under `unshare --net`)"
    );
}

fn run_ip(args: &[&str]) -> String {
    let out = Command::new("ip")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run `ip {args:?}`: {e} (apt-get install -y iproute2)"));
    assert!(out.status.success(), "`ip {args:?}` failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Prefixes every line, so the inner run's libtest summary lines cannot be mistaken for
/// the outer run's.
fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  | {l}")).collect::<Vec<_>>().join("\n")
}
