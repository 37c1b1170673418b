//! The worker layout: which worker a record's CID names, each worker's configuration, and
//! the cookie secrets every worker shares.

use super::*;

fn layout(workers: usize, prefix: &[u8]) -> Layout {
    Layout { workers, prefix: Some(prefix.to_vec()) }
}

fn tls12_cid_record(cid: &[u8]) -> Vec<u8> {
    let mut d = vec![TLS12_CID, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 7];
    d.extend_from_slice(cid);
    d.extend_from_slice(&[0, 32]);
    d.extend_from_slice(&[0xaa; 32]);
    d
}

#[test]
fn a_tls12_cid_record_names_its_worker_after_the_prefix() {
    let l = layout(4, &[0xa1, 0xb2]);
    assert_eq!(l.owner(&tls12_cid_record(&[0xa1, 0xb2, 2, 9, 9, 9, 9])), Some(2));
    assert_eq!(l.owner(&tls12_cid_record(&[0xa1, 0xb2, 0, 9, 9, 9, 9])), Some(0));
    // Another server's prefix, or a worker that does not exist: nobody's.
    assert_eq!(l.owner(&tls12_cid_record(&[0xa1, 0xb3, 2, 9, 9, 9, 9])), None);
    assert_eq!(l.owner(&tls12_cid_record(&[0xa1, 0xb2, 4, 9, 9, 9, 9])), None);
    // Cut short before the worker byte.
    assert_eq!(l.owner(&tls12_cid_record(&[0xa1, 0xb2])[..13]), None);
}

#[test]
fn a_dtls13_unified_header_with_a_cid_names_its_worker() {
    let l = layout(2, &[0x5e]);
    // 001CSLEE: C set, 16-bit sequence, length present, epoch 3.
    assert_eq!(l.owner(&[0b0011_1111, 0x5e, 1, 7, 7, 7, 7, 0, 0, 0, 20]), Some(1));
    // C clear: no CID, whatever follows.
    assert_eq!(l.owner(&[0b0010_1111, 0x5e, 1, 7, 7, 7, 7, 0, 0, 0, 20]), None);
    // Not a unified header (application_data, handshake).
    assert_eq!(l.owner(&[23, 0x5e, 1, 7]), None);
    assert_eq!(l.owner(&[22, 0xfe, 0xfd]), None);
}

#[test]
fn without_connection_ids_nothing_has_an_owner() {
    let l = Layout { workers: 2, prefix: None };
    assert_eq!(l.owner(&tls12_cid_record(&[1, 2, 3, 4, 5])), None);
    // An empty prefix puts the worker byte first.
    assert_eq!(layout(2, &[]).owner(&tls12_cid_record(&[1, 2, 3, 4, 5])), Some(1));
}

fn server_config() -> Arc<ServerConfig> {
    let c = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    ServerConfig::builder()
        .certificate_pem(c.cert.pem().as_bytes(), c.signing_key.serialize_pem().as_bytes())
        .unwrap()
        .connection_ids(8)
        .connection_id_prefix(&[0xa1, 0xb2])
        .build()
        .unwrap()
}

fn client_config(server: &Arc<ServerConfig>) -> Arc<crate::ClientConfig> {
    let der = server.identity.chain[0].to_vec();
    crate::ClientConfig::builder()
        .root_certificates(vec![der.into()])
        .unwrap()
        .server_name("localhost")
        .max_version(crate::ProtocolVersion::Dtls12)
        .connection_ids(4)
        .build()
        .unwrap()
}

#[test]
fn each_worker_extends_the_prefix_by_its_byte_and_all_share_one_cookie_seed() {
    let server = server_config();
    let options = EndpointOptions { workers: 3, ..EndpointOptions::default() };
    let (layout, configs) = plan(Some(&server), &options).unwrap();
    assert_eq!(layout.workers(), 3);
    assert_eq!(layout.prefix.as_deref(), Some(&[0xa1, 0xb2][..]));
    let seed = configs[0].rng_seed;
    assert!(seed.is_some());
    for (i, c) in configs.iter().enumerate() {
        assert_eq!(c.rng_seed, seed);
        let policy = c.server.as_ref().unwrap().common.connection_ids.clone().unwrap();
        assert_eq!((policy.len, policy.prefix), (8, vec![0xa1, 0xb2, i as u8]));
    }
    // One worker: the options as they are.
    let (one, configs) = plan(Some(&server), &EndpointOptions::default()).unwrap();
    assert_eq!((one.workers(), configs.len(), configs[0].rng_seed), (1, 1, None));
}

/// The client's first ClientHello goes to worker 0, its second (with the cookie) to worker
/// 1: the cookie verifies there, because both drew their secrets from one seed. Two
/// endpoints of one configuration without that seed do not agree.
#[test]
fn a_cookie_issued_by_one_worker_verifies_on_another() {
    let server = server_config();
    let options = EndpointOptions { workers: 2, ..EndpointOptions::default() };
    let (_, configs) = plan(Some(&server), &options).unwrap();
    let unshared = vec![options.endpoint_config(Some(server.clone())), options.endpoint_config(Some(server.clone()))];
    let (client_addr, server_addr): (SocketAddr, SocketAddr) =
        ("192.0.2.1:5000".parse().unwrap(), "192.0.2.2:4433".parse().unwrap());
    for (configs, shared) in [(configs, true), (unshared, false)] {
        let now = std::time::Instant::now();
        let mut workers: Vec<_> = configs.into_iter().map(|c| crate::endpoint::Endpoint::new(now, c)).collect();
        let mut client = crate::Session::client(now, client_config(&server), server_addr);
        let hello = client.poll_transmit().unwrap();
        workers[0].handle(now, client_addr, &hello.contents);
        let verify_request = workers[0].poll_transmit().unwrap();
        client.handle(now, &verify_request.contents).unwrap();
        let second = client.poll_transmit().unwrap();
        workers[1].handle(now, client_addr, &second.contents);
        assert_eq!(workers[1].stats().server_sessions, u64::from(shared), "shared seed: {shared}");
        assert_eq!(workers[0].stats().server_sessions, 0);
    }
}

/// Workers put their number after the prefix of every CID: CIDs of an application's
/// generator cannot carry it, so such a configuration is refused with a reason, not served
/// with CIDs that would reach the wrong worker.
#[test]
fn workers_refuse_cids_from_a_generator() {
    #[derive(Debug)]
    struct Zeros;
    impl crate::ConnectionIdGenerator for Zeros {
        fn cid_len(&self) -> usize {
            8
        }
        fn generate(&self, _random: &[u8], cid: &mut [u8]) {
            cid.fill(0);
        }
    }
    let c = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let server = ServerConfig::builder()
        .certificate_pem(c.cert.pem().as_bytes(), c.signing_key.serialize_pem().as_bytes())
        .unwrap()
        .connection_id_generator(Arc::new(Zeros))
        .build()
        .unwrap();
    let options = EndpointOptions { workers: 2, ..EndpointOptions::default() };
    let Err(e) = plan(Some(&server), &options) else { panic!("two workers with a CID generator were planned") };
    assert!(e.to_string().contains("ConnectionIdGenerator"), "{e}");
    // One worker needs no worker byte.
    assert!(plan(Some(&server), &EndpointOptions::default()).is_ok());
}

/// A worker's queue that records what it is handed.
#[derive(Default)]
struct Queue(std::cell::RefCell<Vec<SocketAddr>>);

impl HandOff for std::rc::Rc<Queue> {
    fn try_hand_off(&self, from: SocketAddr, _datagram: Vec<u8>) -> Result<(), Vec<u8>> {
        self.0.borrow_mut().push(from);
        Ok(())
    }
}

/// The peers of `connect`ed sessions go to worker 0 from every other worker, before any CID
/// is looked at, for as long as a session to them lives (counted per session).
#[test]
fn a_connected_peers_datagrams_go_to_the_connecting_worker() {
    let layout = Arc::new(layout(2, &[0xa1]));
    let outgoing = Arc::new(Outgoing::default());
    let spares = Arc::new(Spares::default());
    let queues: Vec<_> = (0..2).map(|_| std::rc::Rc::new(Queue::default())).collect();
    let mut first = Router::new(0, layout.clone(), outgoing.clone(), spares.clone(), queues.clone());
    let mut second = Router::new(1, layout, outgoing, spares, queues.clone());
    let upstream: SocketAddr = "192.0.2.7:4433".parse().unwrap();
    // A record whose (client) CID happens to look like worker 1's.
    let record = tls12_cid_record(&[0xa1, 1, 5, 5, 5, 5]);
    assert!(!second.divert(upstream, &record[..3]), "nothing connected: a datagram without our CID stays");
    first.connected(upstream);
    first.connected(upstream);
    assert!(second.divert(upstream, &record), "the second worker hands it over");
    assert!(!first.divert(upstream, &record), "the first keeps it, whatever the CID says");
    assert_eq!(*queues[0].0.borrow(), [upstream]);
    first.disconnected(upstream);
    assert!(second.divert(upstream, &[22, 0xfe, 0xfd]), "one session to it is still there");
    first.disconnected(upstream);
    assert!(!second.divert(upstream, &[22, 0xfe, 0xfd]), "none left");
    assert_eq!(second.counts.sent, 2);
}

/// A `connect` on workers gets CIDs that name worker 0 when its configuration's CIDs leave
/// room for the prefix, the worker byte and `MIN_RANDOM_CID_BYTES`; otherwise (too short,
/// an application's generator, none, or workers without CIDs) its configuration as given.
#[test]
fn a_connects_cids_name_the_connecting_worker_when_they_have_room() {
    #[derive(Debug)]
    struct Mine;
    impl crate::ConnectionIdGenerator for Mine {
        fn cid_len(&self) -> usize {
            12
        }
        fn generate(&self, random: &[u8], cid: &mut [u8]) {
            cid.copy_from_slice(random);
        }
    }
    let client = |cids: Option<usize>| {
        let b = ClientConfig::builder().dangerous_accept_any_server_certificate();
        match cids {
            Some(n) => b.connection_ids(n),
            None => b,
        }
        .build()
        .unwrap()
    };
    let l = layout(2, &[0xa1, 0xb2]);
    let mut rng = rand_core::OsRng;
    let long = client(Some(7));
    let derived = l.connecting(long.clone());
    assert!(!Arc::ptr_eq(&derived, &long));
    let cid = derived.common.connection_ids.as_ref().unwrap().generate(&mut rng);
    assert_eq!((cid.len(), &cid[..3]), (7, &[0xa1, 0xb2, CONNECT_WORKER as u8][..]));
    for kept in [client(Some(6)), client(None)] {
        assert!(Arc::ptr_eq(&l.connecting(kept.clone()), &kept));
    }
    let generated = ClientConfig::builder()
        .dangerous_accept_any_server_certificate()
        .connection_id_generator(Arc::new(Mine))
        .build()
        .unwrap();
    assert!(Arc::ptr_eq(&l.connecting(generated.clone()), &generated));
    let plain = Layout { workers: 2, prefix: None };
    assert!(Arc::ptr_eq(&plain.connecting(long.clone()), &long));
}

/// A hand-off's buffer comes back once handled and carries the next one; a few are kept.
#[test]
fn hand_off_buffers_are_reused_and_bounded() {
    let spares = Spares::default();
    let first = spares.filled(&[1; 100]);
    let ptr = first.as_ptr();
    spares.give(first);
    let second = spares.filled(&[2; 60]);
    assert_eq!((second.as_ptr(), second.len()), (ptr, 60), "the same allocation, refilled");
    for _ in 0..Spares::MAX + 10 {
        spares.give(vec![0; 8]);
    }
    spares.give(Vec::new());
    assert_eq!(spares.lock().len(), Spares::MAX);
}
