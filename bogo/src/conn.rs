//! One DTLS connection of a test, driven by what the runner sends.
//!
//! The engine is sans-IO, so the runner's simulated clock maps onto it exactly: the shim keeps
//! a virtual `Instant` that only a `'T'` message moves forward, and never reads the real clock
//! after the start. After every input the shim sends every datagram the session queued, then
//! acts on its events, as the engine's run loop prescribes.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use dtls_engine::{ClientSessionStore, Event, ServerConfig, Session};

use crate::flags::Opts;
use crate::transport::{Incoming, Transport};
use crate::{Failure, checks, configs};

/// What `-shim-writes-first` sends (`shimInitialWrite` in the runner).
const INITIAL_WRITE: &[u8] = b"hello";

/// Any address: the runner is the only peer, and transmits go to it whatever they say.
fn runner_addr() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 1))
}

/// What the connections of one test share.
pub enum Shared {
    /// The client's session store: each connection gets a configuration of its own.
    Client(Arc<ClientSessionStore>),
    /// The server's one configuration (its session cache and ticket keys) and the switch of
    /// its certificate verifier.
    Server(Arc<ServerConfig>, Arc<AtomicBool>),
}

struct Conn<'a> {
    o: &'a Opts,
    transport: Transport,
    session: Session,
    now: Instant,
    is_resume: bool,
}

/// Run one connection to completion. `Ok` means the test's expectations held.
pub fn run(o: &Opts, shared: &Shared, is_resume: bool) -> Result<(), Failure> {
    // Configure first: a refused configuration is a feature we lack, whatever the runner does.
    let client = match shared {
        Shared::Client(store) => Some(configs::client(o, store)?),
        Shared::Server(_, verify_fail) => {
            verify_fail.store(o.verify_fail, Ordering::Relaxed);
            None
        }
    };
    let transport = Transport::connect(o.port).map_err(|e| Failure::Failed(format!("connect to runner: {e}")))?;
    let now = Instant::now();
    let session = match (client, shared) {
        (Some(config), _) => Session::client(now, config, runner_addr()),
        (None, Shared::Server(config, _)) => Session::server(now, config.clone(), runner_addr()),
        (None, Shared::Client(_)) => unreachable!("a client always has a configuration"),
    };
    let mut conn = Conn { o, transport, session, now, is_resume };
    let result = conn.drive();
    // Whatever happened, the alert (if any) is queued: get it out before hanging up.
    let _ = conn.flush();
    conn.transport.finish();
    result
}

impl Conn<'_> {
    fn drive(&mut self) -> Result<(), Failure> {
        self.flush()?;
        loop {
            let incoming = self.transport.read().map_err(|e| Failure::Failed(format!("runner transport: {e}")))?;
            let result = match incoming {
                Incoming::Packet(datagram) => self.session.handle(self.now, &datagram),
                Incoming::Timeout(d) => {
                    // Acknowledge first: what we sent before the ACK is what the runner drops.
                    self.transport.ack_timeout().map_err(io_failure)?;
                    self.now += d;
                    self.session.handle_timeout(self.now)
                }
                Incoming::Closed => {
                    return if self.session.is_connected() {
                        // An unclean shutdown after the handshake ends the test as a clean one.
                        Ok(())
                    } else {
                        Err(Failure::Failed("the runner closed the connection during the handshake".into()))
                    };
                }
            };
            if let Err(e) = result {
                return Err(Failure::Engine(e));
            }
            self.flush()?;
            while let Some(event) = self.session.poll_event() {
                if self.on_event(event)? {
                    return Ok(());
                }
            }
        }
    }

    /// Act on one event of the session. Returns true when the connection is over.
    fn on_event(&mut self, event: Event) -> Result<bool, Failure> {
        match event {
            Event::Connected => self.on_connected(),
            // BoringSSL's shim reads and echoes until the peer's close_notify, except when it
            // shuts down itself.
            Event::ApplicationData(data) if !self.o.shim_shuts_down => {
                let echo: Vec<u8> = data.iter().map(|b| b ^ 0xff).collect();
                self.send(&echo)?;
                Ok(false)
            }
            Event::Closed => Ok(true),
            _ => Ok(false),
        }
    }

    /// After the handshake: check expectations, then write what the test asks for first.
    /// Returns true when the connection is over.
    fn on_connected(&mut self) -> Result<bool, Failure> {
        checks::after_handshake(self.o, &self.session, self.is_resume)?;
        if self.o.export_keying_material > 0 {
            let mut out = vec![0u8; self.o.export_keying_material];
            let context = self.o.use_export_context.then_some(self.o.export_context.as_bytes());
            self.session
                .export_keying_material(&mut out, self.o.export_label.as_bytes(), context)
                .map_err(Failure::Engine)?;
            self.send(&out)?;
        }
        if self.o.shim_writes_first {
            self.send(INITIAL_WRITE)?;
        }
        if self.o.shim_shuts_down {
            self.session.close(self.now);
            self.flush()?;
            if !self.o.check_close_notify {
                return Ok(true);
            }
            // Wait for the peer's close_notify (Event::Closed).
        }
        Ok(false)
    }

    fn send(&mut self, data: &[u8]) -> Result<(), Failure> {
        self.session.send(data).map_err(Failure::Engine)?;
        self.flush()
    }

    fn flush(&mut self) -> Result<(), Failure> {
        while let Some(t) = self.session.poll_transmit() {
            self.transport.send(&t.contents).map_err(io_failure)?;
        }
        Ok(())
    }
}

fn io_failure(e: std::io::Error) -> Failure {
    Failure::Failed(format!("runner transport: {e}"))
}
