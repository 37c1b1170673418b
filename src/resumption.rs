//! Session resumption for DTLS 1.2: what a session leaves behind for an abbreviated
//! handshake (RFC 5246 §7.3), the server's bounded session-ID cache, RFC 5077 session tickets
//! sealed under rotating keys, and the client's session store.
//!
//! This module only keeps and seals sessions; the handshake state machines decide when to
//! offer, accept and store them. Every secret is zeroized when dropped. Time comes from the
//! configuration's wall-clock source (seconds since the Unix epoch), as for certificates.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use rand_core::RngCore;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use rustls_pki_types::CertificateDer;
use zeroize::{Zeroize, Zeroizing};

use crate::codec::{LenPrefix, Put, Reader, put_prefixed};
use crate::crypto::rng::DetRng;
use crate::wire::CipherSuite;

/// What an abbreviated handshake needs from the session it resumes (crate-internal; `pub`
/// only because the handshake states that carry it are still public).
#[derive(Clone)]
pub struct StoredSession {
    pub suite: CipherSuite,
    pub master: Zeroizing<[u8; 48]>,
    /// The session used the extended master secret (RFC 7627 §5.3: resumption must agree).
    pub ems: bool,
    /// When the session was established, in seconds since the Unix epoch.
    pub issued: u64,
    /// How long it may be resumed, in seconds.
    pub lifetime: u32,
    /// The peer's certificate chain in the full handshake (empty if it sent none).
    pub peer_chain: Vec<CertificateDer<'static>>,
}

impl core::fmt::Debug for StoredSession {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("StoredSession")
            .field("suite", &self.suite)
            .field("issued", &self.issued)
            .finish_non_exhaustive()
    }
}

/// The layout version of a serialized session inside a ticket.
const STATE_VERSION: u8 = 1;

impl StoredSession {
    /// Whether the session may still be resumed at `now` (seconds since the epoch).
    pub fn is_fresh(&self, now: u64) -> bool {
        now >= self.issued && now - self.issued < u64::from(self.lifetime)
    }

    /// `version(1) suite(2) ems(1) issued(8) lifetime(4) master(48) chain<u24 list of u24>`.
    fn encode(&self, out: &mut Vec<u8>) {
        out.put_u8(STATE_VERSION);
        out.put_u16(u16::from(self.suite));
        out.put_u8(u8::from(self.ems));
        out.put_slice(&self.issued.to_be_bytes());
        out.put_u32(self.lifetime);
        out.put_slice(&self.master[..]);
        put_prefixed(out, LenPrefix::U24, |o| {
            for cert in &self.peer_chain {
                put_prefixed(o, LenPrefix::U24, |o| o.put_slice(cert.as_ref()));
            }
        });
    }

    fn decode(bytes: &[u8]) -> Option<Self> {
        let mut r = Reader::new(bytes);
        if r.u8().ok()? != STATE_VERSION {
            return None;
        }
        let suite = CipherSuite::from(r.u16().ok()?);
        let ems = match r.u8().ok()? {
            0 => false,
            1 => true,
            _ => return None,
        };
        let issued = u64::from_be_bytes(r.array().ok()?);
        let lifetime = r.u32().ok()?;
        let master = Zeroizing::new(r.array::<48>().ok()?);
        let mut list = r.sub_u24().ok()?;
        let mut peer_chain = Vec::new();
        while !list.is_empty() {
            peer_chain.push(CertificateDer::from(list.sub_u24().ok()?.take_rest().to_vec()));
        }
        r.is_empty().then_some(Self { suite, master, ems, issued, lifetime, peer_chain })
    }
}

/// A bounded map that forgets its oldest entries first.
#[derive(Debug)]
struct Bounded<K, V> {
    map: HashMap<K, V>,
    order: VecDeque<K>,
    capacity: usize,
}

impl<K: std::hash::Hash + Eq + Clone, V> Bounded<K, V> {
    fn new(capacity: usize) -> Self {
        Self { map: HashMap::new(), order: VecDeque::new(), capacity }
    }

    fn insert(&mut self, key: K, value: V) {
        if self.capacity == 0 {
            return;
        }
        if self.map.insert(key.clone(), value).is_none() {
            self.order.push_back(key);
        }
        while self.map.len() > self.capacity {
            let Some(old) = self.order.pop_front() else { break };
            self.map.remove(&old);
        }
        // Keys removed by `remove` linger in `order`; keep it from growing past twice the
        // live entries.
        if self.order.len() > 2 * self.capacity {
            let map = &self.map;
            self.order.retain(|k| map.contains_key(k));
        }
    }

    fn get(&self, key: &K) -> Option<&V> {
        self.map.get(key)
    }

    fn remove(&mut self, key: &K) {
        self.map.remove(key);
    }

    fn len(&self) -> usize {
        self.map.len()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// The server's session-ID cache (RFC 5246 §7.4.1.2): at most `capacity` sessions, oldest
/// forgotten first. Shared by every session of one server configuration.
#[derive(Debug)]
pub(crate) struct SessionCache {
    inner: Mutex<Bounded<[u8; 32], StoredSession>>,
}

impl SessionCache {
    pub fn new(capacity: usize) -> Self {
        Self { inner: Mutex::new(Bounded::new(capacity)) }
    }

    pub fn insert(&self, id: [u8; 32], session: StoredSession) {
        lock(&self.inner).insert(id, session);
    }

    /// The session with this ID, if it is cached and still fresh at `now`.
    pub fn get(&self, id: &[u8], now: u64) -> Option<StoredSession> {
        let id: [u8; 32] = id.try_into().ok()?;
        lock(&self.inner).get(&id).filter(|s| s.is_fresh(now)).cloned()
    }

    /// RFC 5246 §7.2.2: a session whose connection ended in a fatal alert is not resumed.
    pub fn remove(&self, id: &[u8]) {
        if let Ok(id) = <[u8; 32]>::try_from(id) {
            lock(&self.inner).remove(&id);
        }
    }
}

/// Bytes of a ticket's key name.
const KEY_NAME_LEN: usize = 16;

struct TicketKey {
    name: [u8; KEY_NAME_LEN],
    key: LessSafeKey,
}

impl TicketKey {
    fn generate(rng: &mut DetRng) -> Option<Self> {
        let mut name = [0u8; KEY_NAME_LEN];
        rng.fill_bytes(&mut name);
        let mut secret = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(&mut secret[..]);
        let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &secret[..]).ok()?);
        Some(Self { name, key })
    }
}

impl TicketKey {
    /// The key of rotation period `index`, derived from a secret shared by several servers
    /// (`ServerConfigBuilder::session_ticket_secret`): every server holding it derives the
    /// same key name and key for the same period, so a ticket one issued opens at another.
    fn derive(secret: &[u8; 32], index: u64) -> Option<Self> {
        let k = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret);
        let part = |label: &[u8]| ring::hmac::sign(&k, &[label, &index.to_be_bytes()].concat());
        let name_tag = part(b"dtls-engine ticket key name");
        let key_tag = part(b"dtls-engine ticket key");
        let name: [u8; KEY_NAME_LEN] = name_tag.as_ref().get(..KEY_NAME_LEN)?.try_into().ok()?;
        let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key_tag.as_ref()).ok()?);
        Some(Self { name, key })
    }
}

struct TicketKeyState {
    current: TicketKey,
    previous: Option<TicketKey>,
    /// When `current` is retired, in seconds since the epoch (0: on first use).
    next_rotation: u64,
    rng: DetRng,
    /// With a shared secret, keys come from it by rotation period (`now / period`), the same
    /// on every server; `index` is the period of `current`.
    shared: Option<(Zeroizing<[u8; 32]>, u64)>,
}

/// RFC 5077 §4's recommended ticket construction, with AES-256-GCM in place of
/// AES-CBC + HMAC: `key_name(16) nonce(12) AEAD(state)`, the key name as additional data.
/// Keys rotate every `period` seconds of wall-clock time; a ticket sealed under the
/// previous key still opens, so a ticket lives at most two periods (and never beyond its
/// session's lifetime).
pub(crate) struct TicketKeys {
    state: Mutex<TicketKeyState>,
    period: u64,
}

impl core::fmt::Debug for TicketKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TicketKeys").field("period", &self.period).finish_non_exhaustive()
    }
}

impl TicketKeys {
    /// Keys drawn from `rng`, rotated every `period` seconds (at least 1).
    pub fn new(mut rng: DetRng, period: u64) -> Option<Self> {
        let current = TicketKey::generate(&mut rng)?;
        let state = TicketKeyState { current, previous: None, next_rotation: 0, rng, shared: None };
        Some(Self { state: Mutex::new(state), period: period.max(1) })
    }

    /// Keys derived from `secret` by wall-clock rotation period (`period` seconds, at least
    /// 1): servers sharing the secret (and roughly the time) open each other's tickets.
    /// `rng` draws only the nonces.
    pub fn shared(secret: [u8; 32], rng: DetRng, period: u64) -> Option<Self> {
        let secret = Zeroizing::new(secret);
        let current = TicketKey::derive(&secret, 0)?;
        let state = TicketKeyState { current, previous: None, next_rotation: 0, rng, shared: Some((secret, 0)) };
        Some(Self { state: Mutex::new(state), period: period.max(1) })
    }

    fn rotate_if_due(&self, state: &mut TicketKeyState, now: u64) {
        if let Some((secret, index)) = state.shared.as_mut() {
            let due = now / self.period;
            if *index != due || state.next_rotation == 0 {
                let (Some(current), previous) =
                    (TicketKey::derive(secret, due), due.checked_sub(1).and_then(|i| TicketKey::derive(secret, i)))
                else {
                    return;
                };
                state.current = current;
                state.previous = previous;
                *index = due;
                state.next_rotation = 1;
            }
            return;
        }
        if state.next_rotation == 0 {
            state.next_rotation = now.saturating_add(self.period);
            return;
        }
        if now < state.next_rotation {
            return;
        }
        let Some(fresh) = TicketKey::generate(&mut state.rng) else { return };
        let old = core::mem::replace(&mut state.current, fresh);
        // A key retired more than one period ago is dropped with no grace period.
        let missed = now >= state.next_rotation.saturating_add(self.period);
        state.previous = (!missed).then_some(old);
        state.next_rotation = now.saturating_add(self.period);
    }

    /// Seal `session` into a ticket.
    pub fn seal(&self, session: &StoredSession, now: u64) -> Option<Vec<u8>> {
        let mut state = lock(&self.state);
        self.rotate_if_due(&mut state, now);
        let mut nonce = [0u8; NONCE_LEN];
        state.rng.fill_bytes(&mut nonce);
        let mut plain = Zeroizing::new(Vec::with_capacity(128));
        session.encode(&mut plain);
        let mut out = Vec::with_capacity(KEY_NAME_LEN + NONCE_LEN + plain.len() + 16);
        out.extend_from_slice(&state.current.name);
        out.extend_from_slice(&nonce);
        let start = out.len();
        out.extend_from_slice(&plain);
        let (head, body) = out.split_at_mut(start);
        let name = head.get(..KEY_NAME_LEN)?;
        let tag = state
            .current
            .key
            .seal_in_place_separate_tag(Nonce::assume_unique_for_key(nonce), Aad::from(name), body)
            .ok()?;
        out.extend_from_slice(tag.as_ref());
        Some(out)
    }

    /// Open a ticket sealed under the current or the previous key; `None` for anything
    /// else (another server's ticket, a forged or truncated one, an expired key).
    pub fn open(&self, ticket: &[u8], now: u64) -> Option<StoredSession> {
        let mut state = lock(&self.state);
        self.rotate_if_due(&mut state, now);
        let (name, rest) = ticket.split_at_checked(KEY_NAME_LEN)?;
        let (nonce, sealed) = rest.split_at_checked(NONCE_LEN)?;
        let key = [Some(&state.current), state.previous.as_ref()]
            .into_iter()
            .flatten()
            .find(|k| crate::crypto::ct_eq(&k.name, name))?;
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut buf = Zeroizing::new(sealed.to_vec());
        let plain = key.key.open_in_place(nonce, Aad::from(name), &mut buf[..]).ok()?;
        StoredSession::decode(plain)
    }
}

/// What the server keeps for resumption: an optional session-ID cache and optional ticket
/// keys, with the lifetime of what it issues.
#[derive(Debug)]
pub(crate) struct ServerResumption {
    pub cache: Option<Arc<SessionCache>>,
    pub tickets: Option<TicketKeys>,
    /// Seconds a session may be resumed after its full handshake.
    pub lifetime: u32,
}

/// One client-side entry: the session and how to name it to the server.
#[derive(Clone, Debug)]
pub struct ClientSession {
    pub session: StoredSession,
    /// The server's session ID (may be empty when a ticket names the session).
    pub session_id: Vec<u8>,
    pub ticket: Option<Vec<u8>>,
}

/// A client's store of resumable sessions, one per server (keyed by the configured server
/// name, or the server's address when there is none), oldest forgotten first.
///
/// Give one to [`ClientConfigBuilder::resumption`](crate::ClientConfigBuilder::resumption);
/// every session made with that configuration then offers the stored session of its
/// server (RFC 5246 §7.4.1.2 session ID, RFC 5077 ticket) and stores what its handshake
/// established. Share one store between configurations to share sessions.
pub struct ClientSessionStore {
    inner: Mutex<Bounded<String, ClientSession>>,
}

impl core::fmt::Debug for ClientSessionStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ClientSessionStore").field("len", &self.len()).finish()
    }
}

impl ClientSessionStore {
    /// A store for the sessions of at most `capacity` servers.
    pub fn new(capacity: usize) -> Arc<Self> {
        Arc::new(Self { inner: Mutex::new(Bounded::new(capacity)) })
    }

    /// How many servers have a stored session.
    pub fn len(&self) -> usize {
        lock(&self.inner).len()
    }

    /// Whether no session is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forget every stored session.
    pub fn clear(&self) {
        let mut inner = lock(&self.inner);
        let capacity = inner.capacity;
        *inner = Bounded::new(capacity);
    }

    pub(crate) fn get(&self, key: &str, now: u64) -> Option<ClientSession> {
        lock(&self.inner).get(&key.to_owned()).filter(|s| s.session.is_fresh(now)).cloned()
    }

    pub(crate) fn insert(&self, key: &str, session: ClientSession) {
        lock(&self.inner).insert(key.to_owned(), session);
    }

    pub(crate) fn remove(&self, key: &str) {
        lock(&self.inner).remove(&key.to_owned());
    }
}

/// What a session must forget if it ends in a fatal alert (RFC 5246 §7.2.2).
#[derive(Debug)]
pub enum Forget {
    Client(Arc<ClientSessionStore>, String),
    Server(Arc<SessionCache>, Vec<u8>),
}

impl Forget {
    pub fn forget(&self) {
        match self {
            Self::Client(store, key) => store.remove(key),
            Self::Server(cache, id) => cache.remove(id),
        }
    }
}

impl Drop for StoredSession {
    fn drop(&mut self) {
        self.master.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(issued: u64) -> StoredSession {
        StoredSession {
            suite: CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
            master: Zeroizing::new([7; 48]),
            ems: true,
            issued,
            lifetime: 100,
            peer_chain: vec![CertificateDer::from(vec![1, 2, 3]), CertificateDer::from(vec![4; 300])],
        }
    }

    #[test]
    fn tickets_open_only_under_live_keys_and_untampered() {
        let keys = TicketKeys::new(DetRng::from_seed([1; 32]), 60).unwrap();
        let t = keys.seal(&session(1000), 1000).unwrap();
        let back = keys.open(&t, 1001).unwrap();
        assert_eq!(back.suite, CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256);
        assert_eq!(*back.master, [7; 48]);
        assert!(back.ems);
        assert_eq!(back.peer_chain.len(), 2);
        for i in [0, KEY_NAME_LEN, KEY_NAME_LEN + NONCE_LEN + 3, t.len() - 1] {
            let mut bad = t.clone();
            bad[i] ^= 1;
            assert!(keys.open(&bad, 1001).is_none(), "byte {i}");
        }
        assert!(keys.open(&t[..t.len() - 1], 1001).is_none());
        assert!(keys.open(&[], 1001).is_none());
        // Another server's keys.
        let other = TicketKeys::new(DetRng::from_seed([2; 32]), 60).unwrap();
        assert!(other.open(&t, 1001).is_none());
        // One rotation later it still opens (previous key); two later it does not.
        assert!(keys.open(&t, 1061).is_some());
        assert!(keys.open(&t, 1122).is_none());
    }

    #[test]
    fn sessions_expire_and_caches_are_bounded() {
        assert!(session(1000).is_fresh(1099));
        assert!(!session(1000).is_fresh(1100));
        assert!(!session(1000).is_fresh(999));
        let cache = SessionCache::new(2);
        for i in 0..3u8 {
            cache.insert([i; 32], session(1000));
        }
        assert!(cache.get(&[0; 32], 1000).is_none(), "oldest evicted");
        assert!(cache.get(&[2; 32], 1000).is_some());
        assert!(cache.get(&[2; 32], 1100).is_none(), "expired");
        cache.remove(&[2; 32]);
        assert!(cache.get(&[2; 32], 1000).is_none());
        assert!(cache.get(&[1; 31], 1000).is_none());
        let store = ClientSessionStore::new(1);
        let entry = ClientSession { session: session(1000), session_id: vec![1; 32], ticket: None };
        store.insert("a", entry.clone());
        store.insert("b", entry);
        assert_eq!(store.len(), 1);
        assert!(store.get("a", 1000).is_none());
        assert!(store.get("b", 1000).is_some());
        store.clear();
        assert!(store.is_empty());
    }

    /// Shared-secret keys: two holders seal and open each other's tickets; a ticket opens
    /// in its own rotation period and the next, not after; another secret opens nothing.
    #[test]
    fn shared_ticket_keys_follow_the_clock() {
        let a = TicketKeys::shared([1; 32], DetRng::from_seed([1; 32]), 60).unwrap();
        let b = TicketKeys::shared([1; 32], DetRng::from_seed([2; 32]), 60).unwrap();
        let other = TicketKeys::shared([2; 32], DetRng::from_seed([1; 32]), 60).unwrap();
        let ticket = a.seal(&session(100), 100).unwrap();
        assert!(b.open(&ticket, 110).is_some());
        assert!(b.open(&ticket, 130).is_some(), "the next period still opens it");
        assert!(b.open(&ticket, 190).is_none(), "two periods later it does not");
        assert!(other.open(&ticket, 110).is_none());
    }
}
