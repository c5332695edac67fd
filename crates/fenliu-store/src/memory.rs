//! The embedded in-memory store: a single node's default.
//!
//! It implements the whole trait, leases included, so that the contract
//! suite holds it to the same rules as Redis. Its event streams number a
//! shop's events `1`, `2`, … from the start of the process.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use fenliu_core::{Millis, ShopId};
use hashbrown::{DefaultHashBuilder, HashTable};
use tokio::sync::Notify;

use crate::{Acquired, Batch, EventId, Fence, ShopStore, StoreError, StreamBounds};

/// A shop's records in one hash table of single allocations, with the
/// expiring ones also indexed by expiry so that forgetting them costs nothing
/// per write.
///
/// A record is one boxed slice holding its key, its expiry and its value
/// ([`Held`]), and the table holds only that pointer: a slot is 16 bytes, not
/// the 48 of a `HashMap<Box<str>, (Box<[u8]>, Option<Millis>)>`, and a
/// record is one allocation, not two. The index of expiries names a record by
/// the hash of its key, not by a copy of the key. A conversation writes three
/// records (itself, its reception pair, the buyer's recent contact), so this
/// was a seventh of a node's memory per conversation (issue 9).
#[derive(Debug, Default)]
struct Records {
    table: HashTable<Held>,
    hasher: DefaultHashBuilder,
    /// (expiry, hash of the key). Two keys of one hash expiring in the same
    /// millisecond share an entry, and purging it drops both.
    expiries: BTreeSet<(Millis, u64)>,
}

impl Records {
    fn remove(&mut self, key: &str) {
        let hash = self.hasher.hash_one(key);
        if let Ok(held) = self.table.find_entry(hash, |r| r.key() == key) {
            let (held, _) = held.remove();
            if let Some(t) = held.expires_at() {
                self.unindex(t, hash);
            }
        }
    }

    /// One look-up of the key whatever it held: the table holds every record
    /// of the shop, so a write pays per record it names, not per record kept.
    fn insert(&mut self, key: &str, value: &[u8], expires_at: Option<Millis>) {
        let Self { table, hasher, .. } = self;
        let hash = hasher.hash_one(key);
        let held = Held::new(key, value, expires_at);
        let was = match table.find_entry(hash, |r| r.key() == key) {
            Ok(mut old) => std::mem::replace(old.get_mut(), held).expires_at(),
            Err(_) => {
                table.insert_unique(hash, held, |r| hasher.hash_one(r.key()));
                None
            }
        };
        if was != expires_at {
            if let Some(t) = was {
                self.unindex(t, hash);
            }
            if let Some(t) = expires_at {
                self.expiries.insert((t, hash));
            }
        }
    }

    /// Drops the index entry (t, hash) unless another record of that hash
    /// still expires at t.
    fn unindex(&mut self, t: Millis, hash: u64) {
        let Self { table, hasher, .. } = self;
        let shared = table
            .find(hash, |r| {
                r.expires_at() == Some(t) && hasher.hash_one(r.key()) == hash
            })
            .is_some();
        if !shared {
            self.expiries.remove(&(t, hash));
        }
    }

    fn purge(&mut self, now: Millis) {
        let Self {
            table,
            hasher,
            expiries,
        } = self;
        while let Some(&(t, hash)) = expiries.first() {
            if t > now {
                break;
            }
            expiries.pop_first();
            let due = |r: &Held| r.expires_at() == Some(t) && hasher.hash_one(r.key()) == hash;
            while let Ok(held) = table.find_entry(hash, due) {
                held.remove();
            }
        }
    }

    /// The records that have not expired at `now`, as keys and values.
    fn live(&self, now: Millis) -> Vec<(String, Vec<u8>)> {
        self.table
            .iter()
            .filter(|r| r.expires_at().is_none_or(|t| t > now))
            .map(|r| (r.key().to_owned(), r.value().to_vec()))
            .collect()
    }
}

/// One record in one allocation: the key's length (two bytes), the expiry
/// (eight; `Millis::MIN` for none), the key, then the value.
#[derive(Debug)]
struct Held(Box<[u8]>);

/// Bytes in front of a record's key.
const HELD_HEAD: usize = 2 + 8;

/// Stands for "does not expire" in a record's expiry bytes.
const NEVER: Millis = Millis::MIN;

impl Held {
    fn new(key: &str, value: &[u8], expires_at: Option<Millis>) -> Self {
        let len = u16::try_from(key.len()).expect("a record key is a few dozen bytes");
        let mut bytes = Vec::with_capacity(HELD_HEAD + key.len() + value.len());
        bytes.extend_from_slice(&len.to_le_bytes());
        bytes.extend_from_slice(&expires_at.unwrap_or(NEVER).to_le_bytes());
        bytes.extend_from_slice(key.as_bytes());
        bytes.extend_from_slice(value);
        Self(bytes.into_boxed_slice())
    }

    fn key_len(&self) -> usize {
        usize::from(u16::from_le_bytes([self.0[0], self.0[1]]))
    }

    fn key(&self) -> &str {
        // Copied from a `&str` in `new` and never changed.
        std::str::from_utf8(&self.0[HELD_HEAD..HELD_HEAD + self.key_len()])
            .expect("a record key is text")
    }

    fn expires_at(&self) -> Option<Millis> {
        let t = Millis::from_le_bytes(self.0[2..HELD_HEAD].try_into().expect("eight bytes"));
        (t != NEVER).then_some(t)
    }

    fn value(&self) -> &[u8] {
        &self.0[HELD_HEAD + self.key_len()..]
    }
}

/// A shop's event stream.
#[derive(Debug, Default)]
struct Stream {
    /// The last id handed out.
    last: u64,
    /// The newest id dropped to stay within the length (0: none yet).
    trimmed: u64,
    /// The kept entries, oldest first (boxed: exactly their bytes, as for
    /// records).
    entries: VecDeque<(u64, Box<[u8]>)>,
    /// Wakes the readers waiting for an entry.
    appended: Arc<Notify>,
}

/// A shop's lists by name: their items and when the whole list expires.
type Lists = HashMap<String, (Vec<Box<[u8]>>, Millis)>;

/// Events kept per shop unless told otherwise (as in Redis).
const STREAM_LEN: usize = 10_000;

#[derive(Debug, Default)]
struct Inner {
    shops: HashMap<ShopId, Records>,
    leases: HashMap<ShopId, (Fence, Millis)>,
    epochs: HashMap<ShopId, u64>,
    nodes: HashMap<String, (String, Millis)>,
    wakeups: HashMap<ShopId, Millis>,
    streams: HashMap<ShopId, Stream>,
    /// Lists by shop, then name: their items and when they expire.
    lists: HashMap<ShopId, Lists>,
}

/// Shops kept in this process's memory. Cheap to clone: clones share the data.
///
/// A `std::sync::Mutex` is enough: every critical section is a few map
/// operations with no await inside, so contention stays short.
#[derive(Clone, Debug)]
pub struct MemoryStore {
    inner: Arc<Mutex<Inner>>,
    stream_len: usize,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::with_stream_len(STREAM_LEN)
    }
}

impl MemoryStore {
    /// An empty store keeping the newest 10,000 events of each shop.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store keeping the newest `stream_len` events of each shop
    /// (at least one), e.g. to see trimming in a test.
    pub fn with_stream_len(stream_len: usize) -> Self {
        Self {
            inner: Arc::default(),
            stream_len: stream_len.max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().expect("store lock")
    }
}

fn wall_now() -> Millis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as Millis)
}

impl Inner {
    fn live_lease(&self, shop: &ShopId) -> Option<&Fence> {
        self.leases
            .get(shop)
            .filter(|(_, until)| *until > wall_now())
            .map(|(f, _)| f)
    }
}

#[async_trait]
impl ShopStore for MemoryStore {
    async fn load(&self, shop: &ShopId, now: Millis) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        Ok(self
            .lock()
            .shops
            .get(shop)
            .map(|records| records.live(now))
            .unwrap_or_default())
    }

    async fn write(
        &self,
        shop: &ShopId,
        fence: &Fence,
        batch: Batch,
        now: Millis,
    ) -> Result<(), StoreError> {
        let mut inner = self.lock();
        match inner.live_lease(shop) {
            Some(holder) if holder == fence => {}
            holder => {
                return Err(StoreError::Fenced(format!(
                    "shop {shop}: the lease is {holder:?}, not {fence:?}"
                )))
            }
        }
        let records = inner.shops.entry(shop.clone()).or_default();
        for key in batch.deletes {
            records.remove(&key);
        }
        for put in batch.puts {
            records.insert(&put.key, &put.value, put.expires_at);
        }
        records.purge(now);
        if !batch.appends.is_empty() {
            let lists = inner.lists.entry(shop.clone()).or_default();
            lists.retain(|_, (_, until)| *until > now);
            for a in batch.appends {
                let (items, until) = lists.entry(a.list).or_default();
                items.extend(a.items.into_iter().map(Vec::into_boxed_slice));
                *until = (*until).max(a.expires_at);
            }
        }
        if !batch.events.is_empty() {
            let stream = inner.streams.entry(shop.clone()).or_default();
            for e in batch.events {
                stream.last += 1;
                stream
                    .entries
                    .push_back((stream.last, e.into_boxed_slice()));
            }
            while stream.entries.len() > self.stream_len {
                if let Some((id, _)) = stream.entries.pop_front() {
                    stream.trimmed = id;
                }
            }
            stream.appended.notify_waiters();
        }
        Ok(())
    }

    async fn read_list(
        &self,
        shop: &ShopId,
        list: &str,
        now: Millis,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        Ok(self
            .lock()
            .lists
            .get(shop)
            .and_then(|lists| lists.get(list))
            .filter(|(_, until)| *until > now)
            .map(|(items, _)| items.iter().map(|i| i.to_vec()).collect())
            .unwrap_or_default())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }

    fn kind(&self) -> &'static str {
        "memory"
    }

    fn is_shared(&self) -> bool {
        false
    }

    async fn acquire(
        &self,
        shop: &ShopId,
        node_id: &str,
        ttl_ms: u64,
    ) -> Result<Acquired, StoreError> {
        let mut inner = self.lock();
        if let Some(holder) = inner.live_lease(shop) {
            if holder.node_id != node_id {
                return Ok(Acquired::HeldBy(holder.clone()));
            }
        }
        let epoch = inner.epochs.entry(shop.clone()).or_default();
        *epoch += 1;
        let fence = Fence {
            node_id: node_id.into(),
            epoch: *epoch,
        };
        inner
            .leases
            .insert(shop.clone(), (fence.clone(), wall_now() + ttl_ms as Millis));
        Ok(Acquired::Mine(fence))
    }

    async fn renew(&self, shop: &ShopId, fence: &Fence, ttl_ms: u64) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        if inner.live_lease(shop) != Some(fence) {
            return Ok(false);
        }
        inner
            .leases
            .insert(shop.clone(), (fence.clone(), wall_now() + ttl_ms as Millis));
        Ok(true)
    }

    async fn release(&self, shop: &ShopId, fence: &Fence) -> Result<(), StoreError> {
        let mut inner = self.lock();
        if inner.live_lease(shop) == Some(fence) {
            inner.leases.remove(shop);
        }
        Ok(())
    }

    async fn owner(&self, shop: &ShopId) -> Result<Option<Fence>, StoreError> {
        Ok(self.lock().live_lease(shop).cloned())
    }

    async fn epoch(&self, shop: &ShopId) -> Result<u64, StoreError> {
        Ok(self.lock().epochs.get(shop).copied().unwrap_or(0))
    }

    async fn register_node(&self, node_id: &str, url: &str, ttl_ms: u64) -> Result<(), StoreError> {
        self.lock()
            .nodes
            .insert(node_id.into(), (url.into(), wall_now() + ttl_ms as Millis));
        Ok(())
    }

    async fn node_url(&self, node_id: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .lock()
            .nodes
            .get(node_id)
            .filter(|(_, until)| *until > wall_now())
            .map(|(u, _)| u.clone()))
    }

    async fn set_wakeup(&self, shop: &ShopId, at: Option<Millis>) -> Result<(), StoreError> {
        let mut inner = self.lock();
        match at {
            Some(at) => inner.wakeups.insert(shop.clone(), at),
            None => inner.wakeups.remove(shop),
        };
        Ok(())
    }

    async fn due_wakeups(
        &self,
        now: Millis,
        skip: usize,
        limit: usize,
    ) -> Result<Vec<ShopId>, StoreError> {
        let inner = self.lock();
        let mut due: Vec<(Millis, ShopId)> = inner
            .wakeups
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(s, at)| (*at, s.clone()))
            .collect();
        due.sort();
        Ok(due
            .into_iter()
            .skip(skip)
            .take(limit)
            .map(|(_, s)| s)
            .collect())
    }

    async fn last_event_id(&self, shop: &ShopId) -> Result<String, StoreError> {
        Ok(self
            .lock()
            .streams
            .get(shop)
            .map_or(0, |s| s.last)
            .to_string())
    }

    async fn read_events(
        &self,
        shop: &ShopId,
        after: &str,
        block_ms: u64,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let deadline = tokio::time::Instant::now() + Duration::from_millis(block_ms);
        let after: u64 = match after {
            "$" => self.lock().streams.get(shop).map_or(0, |s| s.last),
            id => {
                // Ids of this store are `<n>-0`: the events after `n-m` are
                // those after `n`, whatever `m`.
                let id = EventId::parse(id).ok_or_else(|| StoreError::Corrupt {
                    key: "stream id".into(),
                    reason: format!("bad stream id {id}"),
                })?;
                id.ms
            }
        };
        loop {
            let appended = self
                .lock()
                .streams
                .entry(shop.clone())
                .or_default()
                .appended
                .clone();
            // Registered before looking, so an append in between still wakes us.
            let woken = appended.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            let found: Vec<(String, Vec<u8>)> = self
                .lock()
                .streams
                .get(shop)
                .map(|s| {
                    s.entries
                        .iter()
                        .filter(|(id, _)| *id > after)
                        .map(|(id, e)| (id.to_string(), e.to_vec()))
                        .collect()
                })
                .unwrap_or_default();
            if !found.is_empty() || tokio::time::Instant::now() >= deadline {
                return Ok(found);
            }
            tokio::select! {
                () = &mut woken => {}
                () = tokio::time::sleep_until(deadline) => {}
            }
        }
    }

    async fn event_bounds(&self, shop: &ShopId) -> Result<StreamBounds, StoreError> {
        let inner = self.lock();
        let Some(s) = inner.streams.get(shop) else {
            return Ok(StreamBounds::default());
        };
        let id = |ms| EventId { ms, seq: 0 };
        Ok(StreamBounds {
            last: id(s.last),
            kept_from: (s.trimmed > 0).then(|| id(s.trimmed + 1)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::store_contract_tests!(async { (MemoryStore::new(), ()) });

    fn keys(records: &Records, now: Millis) -> Vec<String> {
        let mut keys: Vec<String> = records.live(now).into_iter().map(|(k, _)| k).collect();
        keys.sort();
        keys
    }

    #[test]
    fn a_record_holds_its_key_expiry_and_value_in_one_allocation() {
        let held = Held::new("conv:17", b"\x06bytes", Some(42));
        assert_eq!(held.key(), "conv:17");
        assert_eq!(held.expires_at(), Some(42));
        assert_eq!(held.value(), b"\x06bytes");
        assert_eq!(held.0.len(), HELD_HEAD + 7 + 6);
        assert_eq!(Held::new("meta", b"", None).expires_at(), None);
    }

    #[test]
    fn records_are_forgotten_at_their_latest_expiry_and_never_without_one() {
        let mut r = Records::default();
        r.insert("soon", b"1", Some(10));
        r.insert("later", b"1", Some(10));
        r.insert("later", b"2", Some(20)); // moved on
        r.insert("kept", b"1", Some(10));
        r.insert("kept", b"2", None); // no longer expires
        r.insert("gone", b"1", Some(10));
        r.remove("gone");
        r.purge(10);
        assert_eq!(keys(&r, 10), ["kept", "later"]);
        assert_eq!(
            r.live(10).iter().find(|(k, _)| k == "later").unwrap().1,
            b"2"
        );
        r.purge(20);
        assert_eq!(keys(&r, 20), ["kept"]);
        assert!(r.expiries.is_empty(), "{:?}", r.expiries);
        assert_eq!(r.table.len(), 1);
    }

    #[test]
    fn a_record_past_its_expiry_is_not_loaded_before_it_is_purged() {
        let mut r = Records::default();
        r.insert("recent:b1", b"1", Some(10));
        r.insert("conv:1", b"1", None);
        assert_eq!(keys(&r, 9), ["conv:1", "recent:b1"]);
        assert_eq!(keys(&r, 10), ["conv:1"]);
    }
}
