//! The runner's DTLS transport: one TCP connection per DTLS connection, carrying datagrams
//! as `'P'` + u32 big-endian length + bytes in both directions, and, from the runner only,
//! simulated timeouts as `'T'` + u64 big-endian nanoseconds, which the shim acknowledges with
//! `'t'` before acting on them (`ssl/test/runner/packet_adapter.go`).

use std::io::{self, BufReader, Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpStream};
use std::time::Duration;

const OP_PACKET: u8 = b'P';
const OP_TIMEOUT: u8 = b'T';
const OP_TIMEOUT_ACK: u8 = b't';

/// Largest datagram we accept from the runner.
const MAX_PACKET: usize = 1 << 20;

/// What the runner sent.
#[derive(Debug)]
pub enum Incoming {
    Packet(Vec<u8>),
    Timeout(Duration),
    /// The runner closed its end.
    Closed,
}

pub struct Transport {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Transport {
    /// Connect to the runner on loopback (IPv6 first, as the runner listens there if it can).
    pub fn connect(port: u16) -> io::Result<Self> {
        let v6 = SocketAddr::from((Ipv6Addr::LOCALHOST, port));
        let v4 = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let stream = TcpStream::connect(v6).or_else(|_| TcpStream::connect(v4))?;
        stream.set_nodelay(true)?;
        let writer = stream.try_clone()?;
        Ok(Self { reader: BufReader::new(stream), writer })
    }

    /// The next message from the runner.
    pub fn read(&mut self) -> io::Result<Incoming> {
        let mut op = [0u8; 1];
        match self.reader.read(&mut op) {
            Ok(0) => return Ok(Incoming::Closed),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => return Ok(Incoming::Closed),
            Err(e) => return Err(e),
        }
        match op[0] {
            OP_PACKET => {
                let mut len = [0u8; 4];
                self.reader.read_exact(&mut len)?;
                let len = u32::from_be_bytes(len) as usize;
                if len > MAX_PACKET {
                    return Err(io::Error::new(io::ErrorKind::InvalidData, format!("packet of {len} bytes")));
                }
                let mut packet = vec![0u8; len];
                self.reader.read_exact(&mut packet)?;
                Ok(Incoming::Packet(packet))
            }
            OP_TIMEOUT => {
                let mut nanos = [0u8; 8];
                self.reader.read_exact(&mut nanos)?;
                Ok(Incoming::Timeout(Duration::from_nanos(u64::from_be_bytes(nanos))))
            }
            other => Err(io::Error::new(io::ErrorKind::InvalidData, format!("unknown opcode {other:#04x}"))),
        }
    }

    /// Send one datagram to the runner.
    pub fn send(&mut self, datagram: &[u8]) -> io::Result<()> {
        let len = u32::try_from(datagram.len()).map_err(|_| io::Error::other("datagram too large"))?;
        let mut frame = Vec::with_capacity(5 + datagram.len());
        frame.push(OP_PACKET);
        frame.extend_from_slice(&len.to_be_bytes());
        frame.extend_from_slice(datagram);
        self.writer.write_all(&frame)
    }

    /// Acknowledge a simulated timeout. Everything sent before the acknowledgement is what
    /// the runner treats as lost; what follows it is the retransmission.
    pub fn ack_timeout(&mut self) -> io::Result<()> {
        self.writer.write_all(&[OP_TIMEOUT_ACK])
    }

    /// Half-close, then wait for the runner to close its end, so that nothing we sent is
    /// lost to a reset (as BoringSSL's shim does).
    pub fn finish(mut self) {
        let _ = self.writer.shutdown(Shutdown::Write);
        let _ = self.reader.get_ref().set_read_timeout(Some(Duration::from_secs(30)));
        let mut sink = [0u8; 4096];
        while matches!(self.reader.read(&mut sink), Ok(n) if n > 0) {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// The runner's side of the framing, against ours over loopback.
    #[test]
    fn packets_timeouts_and_acks() {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let runner = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            s.write_all(&[b'P', 0, 0, 0, 3, 1, 2, 3]).unwrap();
            s.write_all(&[b'T', 0, 0, 0, 0, 0x3b, 0x9a, 0xca, 0x00]).unwrap();
            let mut got = [0u8; 8];
            s.read_exact(&mut got).unwrap();
            drop(s);
            got
        });
        let mut t = Transport::connect(port).unwrap();
        assert!(matches!(t.read().unwrap(), Incoming::Packet(p) if p == [1, 2, 3]));
        assert!(matches!(t.read().unwrap(), Incoming::Timeout(d) if d == Duration::from_secs(1)));
        t.ack_timeout().unwrap();
        t.send(&[9, 8]).unwrap();
        assert_eq!(runner.join().unwrap(), [b't', b'P', 0, 0, 0, 2, 9, 8]);
        assert!(matches!(t.read().unwrap(), Incoming::Closed));
    }
}
