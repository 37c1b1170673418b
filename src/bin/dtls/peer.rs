//! `dtls server` and `dtls client`: run sessions on the tokio adapter, move stdin lines
//! and received datagrams, and print the status lines.

use std::io::{BufRead, Write};
use std::sync::Arc;
use std::time::Duration;

use dtls_engine::adapter::tokio_udp::{UdpEndpoint, UdpSession, connect, listen};
use dtls_engine::adapter::{AdapterError, EndpointOptions};
use dtls_engine::internals::alert_name;
use dtls_engine::internals::profile_name;
use tokio::sync::{broadcast, mpsc};
use tokio::time::{Instant, sleep_until, timeout};

use crate::options::{self, Export, hex};
use crate::{ClientArgs, ServerArgs};

/// How long to wait for the peer's close_notify after sending ours (the endpoint's own
/// linger is 2 s; this only bounds the wait if the driver is gone).
const CLOSE_WAIT: Duration = Duration::from_secs(5);

/// Describe an engine error the way the status lines promise: what happened and the
/// alert sent or received, named as OpenSSL names it.
pub fn describe(e: &dtls_engine::Error) -> String {
    match (e, e.alert()) {
        (dtls_engine::Error::AlertReceived(_), _) => e.to_string(),
        (_, Some(alert)) => format!("{e} (sent alert {})", alert_name(alert)),
        (_, None) => e.to_string(),
    }
}

fn describe_adapter(e: &AdapterError) -> String {
    match e {
        AdapterError::Dtls(d) => describe(d),
        other => other.to_string(),
    }
}

/// Write one received datagram and a newline to stdout.
pub fn write_datagram(data: &[u8]) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(data).and_then(|()| out.write_all(b"\n")).and_then(|()| out.flush());
}

pub fn flush_stdout() {
    let _ = std::io::stdout().flush();
}

/// `alpn=<name|->` and friends.
pub fn connected_line(s: &UdpSession) -> String {
    let cipher = s.cipher().map_or("-", |c| c.standard_name);
    let alpn = s.alpn_protocol().map_or_else(|| "-".to_string(), |p| String::from_utf8_lossy(&p).into_owned());
    let srtp = s.srtp_profile().map_or("-", profile_name);
    let group = s.negotiated_group().and_then(|g| g.name()).unwrap_or("-");
    let cid = s.connection_ids().map_or_else(|| "-".to_string(), |(own, peer)| format!("{}/{}", hex(&own), hex(&peer)));
    format!(
        "connected {} protocol={} cipher={cipher} alpn={alpn} srtp={srtp} group={group} cid={cid}",
        s.remote_addr(),
        s.protocol()
    )
}

/// The `keying-material` and `srtp-keying-material` lines, or the error that stopped them.
pub async fn keying_lines(s: &UdpSession, export: Option<&Export>) -> Result<Vec<String>, String> {
    let mut lines = Vec::new();
    if let Some(x) = export {
        let mut out = vec![0u8; x.len];
        s.export_keying_material(&mut out, x.label.as_bytes(), x.context.as_deref())
            .await
            .map_err(|e| format!("keying material export for {:?}: {}", x.label, describe_adapter(&e)))?;
        lines.push(format!("keying-material {}", hex(&out)));
    }
    if let Some(km) = s.srtp_keying_material() {
        lines.push(format!("srtp-keying-material {}", hex(&km.to_bytes())));
    }
    Ok(lines)
}

/// Each stdin line (newline stripped) on a channel; the channel closes at EOF.
fn stdin_lines(mut deliver: impl FnMut(Vec<u8>) -> bool + Send + 'static) {
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        loop {
            let mut line = Vec::new();
            match stdin.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    if line.last() == Some(&b'\n') {
                        line.pop();
                        if line.last() == Some(&b'\r') {
                            line.pop();
                        }
                    }
                    if !deliver(line) {
                        break;
                    }
                }
            }
        }
    });
}

/// Send one datagram (`what`: "line" for stdin, "echo" for an echoed datagram). Data too
/// large for one record is a local mistake, not the session's end: it is reported on stderr
/// and skipped, and the session goes on. Any other failure ends the session.
async fn send_or_report(s: &UdpSession, data: &[u8], what: &str) -> Result<(), AdapterError> {
    match s.send(data).await {
        Err(AdapterError::Dtls(e @ dtls_engine::Error::MessageTooLarge { .. })) => {
            eprintln!("error: {what} of {} bytes not sent: {e}", data.len());
            Ok(())
        }
        other => other,
    }
}

/// Why a session's data loop stopped.
enum End {
    /// We decided to close (client: stdin done and every expected datagram arrived).
    Done,
    /// The client gave up waiting for expected datagrams.
    Timeout,
    /// The session ended from the peer's side (close_notify or error).
    Peer,
    /// Sending failed.
    SendFailed(AdapterError),
}

/// Close our side (if still open) and print the `closed` line (unless `quiet` and the end was
/// clean). True when it ended cleanly.
async fn finish(s: &UdpSession, end: End, quiet: bool) -> bool {
    if !matches!(end, End::Peer) {
        s.close();
    }
    let error = timeout(CLOSE_WAIT, s.closed()).await.unwrap_or(None);
    let peer = s.remote_addr();
    match (end, error) {
        (_, Some(e)) => {
            let what = describe(&e);
            eprintln!("error: {what}");
            eprintln!("closed {peer} reason=error: {what}");
            false
        }
        (End::SendFailed(e), None) => {
            let what = describe_adapter(&e);
            eprintln!("error: send failed: {what}");
            eprintln!("closed {peer} reason=error: send failed: {what}");
            false
        }
        (End::Timeout, None) => {
            if !quiet {
                eprintln!("closed {peer} reason=timeout");
            }
            true
        }
        (End::Done | End::Peer, None) => {
            if !quiet {
                eprintln!("closed {peer} reason=close_notify");
            }
            true
        }
    }
}

/// `dtls client`. True for exit status 0.
pub async fn client(args: ClientArgs) -> bool {
    let (config, export) = match options::client(&args) {
        Ok(c) => c,
        Err(problem) => {
            eprintln!("error: {problem}");
            return false;
        }
    };
    let wait =
        Duration::from_secs_f64(if args.timeout.is_finite() && args.timeout > 0.0 { args.timeout } else { 10.0 });
    let mut session = match timeout(wait + Duration::from_secs(1), connect(args.connect.as_str(), config)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            eprintln!("error: handshake with {} failed: {}", args.connect, describe_adapter(&e));
            return false;
        }
        Err(_) => {
            eprintln!("error: handshake with {} timed out", args.connect);
            return false;
        }
    };
    eprintln!("{}", connected_line(&session));
    match keying_lines(&session, export.as_ref()).await {
        Ok(lines) => lines.iter().for_each(|l| eprintln!("{l}")),
        Err(problem) => {
            eprintln!("error: {problem}");
            finish(&session, End::Done, false).await;
            return false;
        }
    }

    let (line_tx, mut lines) = mpsc::channel::<Vec<u8>>(64);
    stdin_lines(move |l| line_tx.blocking_send(l).is_ok());
    let mut received = 0u64;
    let mut stdin_open = true;
    let mut deadline = None;
    let end = loop {
        if !stdin_open && received >= args.expect {
            break End::Done;
        }
        let give_up = deadline.unwrap_or_else(Instant::now);
        tokio::select! {
            line = lines.recv(), if stdin_open => match line {
                Some(l) => {
                    if let Err(e) = send_or_report(&session, &l, "line").await {
                        break End::SendFailed(e);
                    }
                }
                None => {
                    stdin_open = false;
                    deadline = Some(Instant::now() + wait);
                }
            },
            d = session.recv() => match d {
                Some(d) => {
                    write_datagram(&d);
                    received += 1;
                    session.recycle(d);
                }
                None => break End::Peer,
            },
            () = sleep_until(give_up), if deadline.is_some() => break End::Timeout,
        }
    };
    let timed_out = matches!(end, End::Timeout);
    let clean = finish(&session, end, false).await;
    if received < args.expect {
        let why = if timed_out { "timed out" } else { "session ended" };
        eprintln!("error: {why} after {received} of {} expected datagrams", args.expect);
        return false;
    }
    clean
}

/// `dtls server`. True for exit status 0.
pub async fn server(args: ServerArgs) -> bool {
    let options::Server { config, generated_fingerprint: fingerprint, export } = match options::server(&args) {
        Ok(c) => c,
        Err(problem) => {
            eprintln!("error: {problem}");
            return false;
        }
    };
    let options = EndpointOptions { workers: usize::from(args.workers), ..EndpointOptions::default() };
    let endpoint = match listen(args.listen.as_str(), config, options).await {
        Ok(e) => Arc::new(e),
        Err(e) => {
            eprintln!("error: cannot listen on {}: {}", args.listen, describe_adapter(&e));
            return false;
        }
    };
    if let Some(fp) = fingerprint {
        eprintln!("fingerprint {fp}");
    }
    eprintln!("listening {}", endpoint.local_addr());

    // Stdin lines go to every live session. The server keeps running after stdin ends.
    let (lines, _) = broadcast::channel::<Arc<Vec<u8>>>(256);
    let to_sessions = lines.clone();
    stdin_lines(move |l| {
        let _ = to_sessions.send(Arc::new(l));
        true
    });

    let (ended_tx, mut ended) = mpsc::unbounded_channel::<bool>();
    let (mut finished, mut all_ok) = (0usize, true);
    loop {
        if args.sessions.is_some_and(|n| finished >= n) {
            break;
        }
        tokio::select! {
            s = endpoint.accept() => match s {
                Some(s) => {
                    let task = SessionTask {
                        echo: args.echo,
                        quiet: args.quiet,
                        export: export.clone(),
                        lines: lines.subscribe(),
                        ended: ended_tx.clone(),
                    };
                    tokio::spawn(task.run(s));
                }
                None => break,
            },
            f = endpoint.handshake_failure() => if let Some(f) = f {
                eprintln!("error: handshake with {} failed: {}", f.remote, describe(&f.error));
                finished += 1;
                all_ok = false;
            },
            ok = ended.recv() => if let Some(ok) = ok {
                finished += 1;
                all_ok &= ok;
            },
        }
    }
    close_endpoint(&endpoint).await;
    all_ok
}

async fn close_endpoint(endpoint: &UdpEndpoint) {
    endpoint.close();
    let _ = timeout(CLOSE_WAIT, endpoint.closed()).await;
}

/// One accepted server session.
struct SessionTask {
    echo: bool,
    /// No `connected` and clean `closed` lines.
    quiet: bool,
    export: Option<Export>,
    lines: broadcast::Receiver<Arc<Vec<u8>>>,
    ended: mpsc::UnboundedSender<bool>,
}

impl SessionTask {
    async fn run(mut self, mut s: UdpSession) {
        if !self.quiet {
            eprintln!("{}", connected_line(&s));
        }
        let ok = match keying_lines(&s, self.export.as_ref()).await {
            Ok(lines) => {
                lines.iter().for_each(|l| eprintln!("{l}"));
                let end = self.pump(&mut s).await;
                finish(&s, end, self.quiet).await
            }
            Err(problem) => {
                eprintln!("error: {problem}");
                finish(&s, End::Done, self.quiet).await;
                false
            }
        };
        let _ = self.ended.send(ok);
    }

    async fn pump(&mut self, s: &mut UdpSession) -> End {
        let mut stdin_open = true;
        loop {
            tokio::select! {
                d = s.recv() => match d {
                    Some(d) => {
                        write_datagram(&d);
                        if self.echo && let Err(e) = send_or_report(s, &d, "echo").await {
                            return End::SendFailed(e);
                        }
                        // Its buffer receives a later record: no allocation per record.
                        s.recycle(d);
                    }
                    None => return End::Peer,
                },
                l = self.lines.recv(), if stdin_open => match l {
                    Ok(l) => {
                        if let Err(e) = send_or_report(s, &l, "line").await {
                            return End::SendFailed(e);
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => stdin_open = false,
                },
            }
        }
    }
}
