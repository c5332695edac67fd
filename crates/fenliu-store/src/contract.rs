//! The contract every [`ShopStore`](crate::ShopStore) implementation passes.
//!
//! Modelled on quickwit's metastore test suite: each test is a plain async
//! function over a store, and [`store_contract_tests!`](crate::store_contract_tests)
//! instantiates all of them for one implementation. [`RedisSandbox`] starts
//! a private `redis-server` for the Redis instantiation and for the cluster
//! suites.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fenliu_core::{Millis, ShopId};

use crate::{Acquired, Batch, EventId, Fence, Put, ShopStore, StoreError, StreamBounds};

fn shop(name: &str) -> ShopId {
    ShopId::parse(name).expect("valid shop id")
}

fn put(key: &str, value: &[u8], expires_at: Option<Millis>) -> Put {
    Put {
        key: key.into(),
        value: value.to_vec(),
        expires_at,
    }
}

fn batch(puts: Vec<Put>, deletes: Vec<&str>) -> Batch {
    Batch {
        puts,
        deletes: deletes.into_iter().map(String::from).collect(),
        events: vec![],
        appends: vec![],
    }
}

async fn hold(store: &impl ShopStore, s: &ShopId, node: &str) -> Fence {
    match store.acquire(s, node, 30_000).await.unwrap() {
        Acquired::Mine(f) => f,
        Acquired::HeldBy(f) => panic!("lease of {s} held by {f:?}"),
    }
}

fn now() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as Millis
}

/// A shop never written loads as empty.
pub async fn unknown_shop_loads_empty(store: impl ShopStore) {
    assert!(store.load(&shop("never"), now()).await.unwrap().is_empty());
}

/// What one batch puts, a later load returns.
pub async fn written_records_load_back(store: impl ShopStore) {
    let s = shop("contract-a");
    let f = hold(&store, &s, "n1").await;
    let b = batch(
        vec![put("meta", b"1", None), put("agent:a1", b"2", None)],
        vec![],
    );
    store.write(&s, &f, b, now()).await.unwrap();
    let mut got = store.load(&s, now()).await.unwrap();
    got.sort();
    assert_eq!(
        got,
        vec![
            ("agent:a1".to_string(), b"2".to_vec()),
            ("meta".to_string(), b"1".to_vec())
        ]
    );
}

/// Deletes remove records and puts overwrite them.
pub async fn deletes_and_overwrites_apply(store: impl ShopStore) {
    let s = shop("contract-b");
    let f = hold(&store, &s, "n1").await;
    let first = batch(vec![put("a", b"1", None), put("b", b"1", None)], vec![]);
    store.write(&s, &f, first, now()).await.unwrap();
    let second = batch(vec![put("b", b"2", None)], vec!["a"]);
    store.write(&s, &f, second, now()).await.unwrap();
    assert_eq!(
        store.load(&s, now()).await.unwrap(),
        vec![("b".to_string(), b"2".to_vec())]
    );
}

/// Records with an expiry are gone once it passes.
pub async fn expired_records_are_not_loaded(store: impl ShopStore) {
    let s = shop("contract-c");
    let f = hold(&store, &s, "n1").await;
    let b = batch(
        vec![
            put("recent:b1", b"x", Some(now() + 300)),
            put("keep", b"y", None),
        ],
        vec![],
    );
    store.write(&s, &f, b, now()).await.unwrap();
    assert_eq!(store.load(&s, now()).await.unwrap().len(), 2);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let later = store.load(&s, now()).await.unwrap();
    assert_eq!(later, vec![("keep".to_string(), b"y".to_vec())]);
}

/// Shops do not see each other's records.
pub async fn shops_are_isolated(store: impl ShopStore) {
    let s = shop("contract-d");
    let f = hold(&store, &s, "n1").await;
    store
        .write(&s, &f, batch(vec![put("meta", b"1", None)], vec![]), now())
        .await
        .unwrap();
    assert!(store
        .load(&shop("contract-e"), now())
        .await
        .unwrap()
        .is_empty());
}

/// The store answers a ping.
pub async fn ping_answers(store: impl ShopStore) {
    store.ping().await.unwrap();
}

/// A lease is held by one node at a time; the epoch only grows.
pub async fn a_lease_has_one_holder_and_growing_epochs(store: impl ShopStore) {
    let s = shop("contract-lease");
    let first = hold(&store, &s, "n1").await;
    match store.acquire(&s, "n2", 30_000).await.unwrap() {
        Acquired::HeldBy(f) => assert_eq!(f, first),
        Acquired::Mine(f) => panic!("second node took a held lease: {f:?}"),
    }
    store.release(&s, &first).await.unwrap();
    let second = hold(&store, &s, "n2").await;
    assert!(second.epoch > first.epoch);
    assert_eq!(store.owner(&s).await.unwrap(), Some(second.clone()));
    assert_eq!(store.epoch(&s).await.unwrap(), second.epoch);
}

/// A write under a fence that no longer holds the lease changes nothing.
pub async fn a_stale_fence_cannot_write(store: impl ShopStore) {
    let s = shop("contract-fence");
    let old = match store.acquire(&s, "n1", 200).await.unwrap() {
        Acquired::Mine(f) => f,
        other => panic!("{other:?}"),
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let new = hold(&store, &s, "n2").await;
    assert!(!store.renew(&s, &old, 10_000).await.unwrap());
    let refused = store
        .write(
            &s,
            &old,
            batch(vec![put("meta", b"stale", None)], vec![]),
            now(),
        )
        .await;
    assert!(matches!(refused, Err(StoreError::Fenced(_))), "{refused:?}");
    store
        .write(
            &s,
            &new,
            batch(vec![put("meta", b"fresh", None)], vec![]),
            now(),
        )
        .await
        .unwrap();
    assert_eq!(
        store.load(&s, now()).await.unwrap(),
        vec![("meta".to_string(), b"fresh".to_vec())]
    );
}

/// A write without any lease is refused.
pub async fn a_write_needs_a_lease(store: impl ShopStore) {
    let s = shop("contract-nolease");
    let f = Fence {
        node_id: "n1".into(),
        epoch: 1,
    };
    let refused = store
        .write(&s, &f, batch(vec![put("meta", b"x", None)], vec![]), now())
        .await;
    assert!(matches!(refused, Err(StoreError::Fenced(_))), "{refused:?}");
    assert!(store.load(&s, now()).await.unwrap().is_empty());
}

/// Many nodes racing for an expired lease: exactly one wins, every time.
pub async fn a_lease_race_has_exactly_one_winner(store: impl ShopStore + Clone) {
    for round in 0..1_000 {
        let s = shop(&format!("race-{round}"));
        // A previous holder whose lease has just run out.
        assert!(matches!(
            store.acquire(&s, "gone", 1).await.unwrap(),
            Acquired::Mine(_)
        ));
        tokio::time::sleep(Duration::from_millis(2)).await;
        let attempts = (0..8).map(|n| {
            let (store, s) = (store.clone(), s.clone());
            async move { store.acquire(&s, &format!("n{n}"), 30_000).await.unwrap() }
        });
        let results = futures_join_all(attempts).await;
        let winners = results
            .iter()
            .filter(|r| matches!(r, Acquired::Mine(_)))
            .count();
        assert_eq!(winners, 1, "round {round}: {results:?}");
    }
}

/// Renewal keeps a lease past its first time to live.
pub async fn renewal_keeps_the_lease(store: impl ShopStore) {
    let s = shop("contract-renew");
    let f = match store.acquire(&s, "n1", 300).await.unwrap() {
        Acquired::Mine(f) => f,
        other => panic!("{other:?}"),
    };
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(store.renew(&s, &f, 300).await.unwrap());
    }
    assert_eq!(store.owner(&s).await.unwrap(), Some(f));
}

/// Nodes are known while they heartbeat.
pub async fn the_node_registry_forgets_silent_nodes(store: impl ShopStore) {
    store
        .register_node("reg-1", "http://127.0.0.1:1", 200)
        .await
        .unwrap();
    assert_eq!(
        store.node_url("reg-1").await.unwrap().as_deref(),
        Some("http://127.0.0.1:1")
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(store.node_url("reg-1").await.unwrap(), None);
}

/// Wake-ups come due in time order, page by page, and can be cleared.
pub async fn wakeups_come_due(store: impl ShopStore) {
    let (a, b) = (shop("wake-a"), shop("wake-b"));
    store.set_wakeup(&a, Some(1_000)).await.unwrap();
    store.set_wakeup(&b, Some(5_000)).await.unwrap();
    let due = store.due_wakeups(2_000, 0, 10).await.unwrap();
    assert!(due.contains(&a) && !due.contains(&b), "{due:?}");
    store.set_wakeup(&a, None).await.unwrap();
    assert!(!store.due_wakeups(2_000, 0, 10).await.unwrap().contains(&a));

    let paged: Vec<ShopId> = (0..5).map(|i| shop(&format!("wake-page-{i}"))).collect();
    for (i, s) in paged.iter().enumerate() {
        store.set_wakeup(s, Some(100 + i as Millis)).await.unwrap();
    }
    assert_eq!(store.due_wakeups(200, 0, 2).await.unwrap(), paged[..2]);
    assert_eq!(store.due_wakeups(200, 2, 2).await.unwrap(), paged[2..4]);
    assert_eq!(store.due_wakeups(200, 4, 2).await.unwrap(), paged[4..]);
    for s in &paged {
        store.set_wakeup(s, None).await.unwrap();
    }
}

/// A blocking read that finds nothing waits, then answers empty (no error).
pub async fn an_idle_event_read_waits_and_answers_empty(store: impl ShopStore) {
    let s = shop("contract-idle");
    let from = store.last_event_id(&s).await.unwrap();
    let started = std::time::Instant::now();
    let got = store.read_events(&s, &from, 1_200).await.unwrap();
    assert!(got.is_empty());
    assert!(started.elapsed() >= Duration::from_millis(1_000));
}

/// Events written with a batch can be read back in order.
pub async fn events_are_appended_with_the_write(store: impl ShopStore) {
    let s = shop("contract-events");
    let f = hold(&store, &s, "n1").await;
    let mut b = batch(vec![put("meta", b"1", None)], vec![]);
    b.events = vec![b"one".to_vec(), b"two".to_vec()];
    store.write(&s, &f, b, now()).await.unwrap();
    let got = store.read_events(&s, "0", 100).await.unwrap();
    let payloads: Vec<&[u8]> = got.iter().map(|(_, p)| p.as_slice()).collect();
    assert_eq!(payloads, vec![&b"one"[..], &b"two"[..]]);
    let after = store.read_events(&s, &got[1].0, 50).await.unwrap();
    assert!(after.is_empty());
    assert_eq!(store.last_event_id(&s).await.unwrap(), got[1].0);
    // Reading from the newest id sees exactly what is written later.
    let mut b = batch(vec![], vec![]);
    b.events = vec![b"three".to_vec()];
    store.write(&s, &f, b, now()).await.unwrap();
    let later = store.read_events(&s, &got[1].0, 100).await.unwrap();
    assert_eq!(later.len(), 1);
    assert_eq!(later[0].1, b"three".to_vec());
}

/// Lists grow by what each write appends, in order, shop by shop, and are
/// gone once they expire; a fenced-off write appends nothing.
pub async fn appended_lists_read_back_in_order(store: impl ShopStore) {
    let s = shop("contract-lists");
    let other = shop("contract-lists-other");
    let f = hold(&store, &s, "n1").await;
    let g = hold(&store, &other, "n1").await;
    let t = now();
    let mut b = batch(vec![put("meta", b"1", None)], vec![]);
    b.append(
        "log:a".into(),
        vec![b"one".to_vec(), b"two".to_vec()],
        t + 60_000,
    );
    b.append("log:a".into(), vec![b"three".to_vec()], t + 60_000);
    b.append("log:short".into(), vec![b"x".to_vec()], t + 300);
    assert_eq!(b.appends.len(), 2, "one entry per list");
    store.write(&s, &f, b, t).await.unwrap();
    let mut b = batch(vec![], vec![]);
    b.append("log:a".into(), vec![b"four".to_vec()], t + 60_000);
    store.write(&s, &f, b, t).await.unwrap();
    let mut b = batch(vec![], vec![]);
    b.append("log:a".into(), vec![b"elsewhere".to_vec()], t + 60_000);
    store.write(&other, &g, b, t).await.unwrap();
    let items = store.read_list(&s, "log:a", now()).await.unwrap();
    assert_eq!(
        items,
        [&b"one"[..], b"two", b"three", b"four"].map(<[u8]>::to_vec)
    );
    assert_eq!(
        store.read_list(&other, "log:a", now()).await.unwrap().len(),
        1
    );
    assert!(store
        .read_list(&s, "log:none", now())
        .await
        .unwrap()
        .is_empty());

    // A write under a stale fence appends nothing.
    let newer = hold(&store, &s, "n1").await;
    let mut b = batch(vec![], vec![]);
    b.append("log:a".into(), vec![b"stale".to_vec()], t + 60_000);
    assert!(store.write(&s, &f, b, now()).await.is_err());
    assert_eq!(store.read_list(&s, "log:a", now()).await.unwrap().len(), 4);
    drop(newer);

    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    assert!(store
        .read_list(&s, "log:short", now())
        .await
        .unwrap()
        .is_empty());
}

/// A read asked not to wait answers at once, with what is there.
pub async fn an_event_read_that_may_not_wait_answers_at_once(store: impl ShopStore) {
    let s = shop("contract-nowait");
    let started = std::time::Instant::now();
    assert!(store.read_events(&s, "0", 0).await.unwrap().is_empty());
    let f = hold(&store, &s, "n1").await;
    let mut b = batch(vec![], vec![]);
    b.events = vec![b"one".to_vec(), b"two".to_vec()];
    store.write(&s, &f, b, now()).await.unwrap();
    let got = store.read_events(&s, "0", 0).await.unwrap();
    assert_eq!(got.len(), 2);
    let first = EventId::parse(&got[0].0).expect("an event id");
    let rest = store.read_events(&s, &first.to_string(), 0).await.unwrap();
    assert_eq!(rest, got[1..].to_vec(), "read after an id in either form");
    assert!(started.elapsed() < Duration::from_millis(900));
}

/// A waiting read answers as soon as an event is appended.
pub async fn a_waiting_event_read_wakes_on_an_append(store: impl ShopStore + Clone) {
    let s = shop("contract-wake");
    let f = hold(&store, &s, "n1").await;
    let from = store.last_event_id(&s).await.unwrap();
    let started = std::time::Instant::now();
    let (read, ()) = tokio::join!(store.read_events(&s, &from, 5_000), async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut b = batch(vec![], vec![]);
        b.events = vec![b"ping".to_vec()];
        store.write(&s, &f, b, now()).await.unwrap();
    });
    assert_eq!(read.unwrap().len(), 1);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

/// The bounds name the newest id and, once the stream outgrew its length,
/// the oldest one it still keeps.
pub async fn event_bounds_name_the_newest_and_the_oldest_kept_ids(store: impl ShopStore) {
    let s = shop("contract-bounds");
    assert_eq!(
        store.event_bounds(&s).await.unwrap(),
        StreamBounds::default()
    );
    let f = hold(&store, &s, "n1").await;
    let mut b = batch(vec![], vec![]);
    b.events = vec![b"one".to_vec(), b"two".to_vec()];
    store.write(&s, &f, b, now()).await.unwrap();
    let newest = EventId::parse(&store.last_event_id(&s).await.unwrap()).unwrap();
    let bounds = store.event_bounds(&s).await.unwrap();
    assert_eq!(bounds.last, newest);
    assert_eq!(bounds.kept_from, None, "nothing trimmed yet");

    // Both stores keep about 10,000 events per shop.
    for _ in 0..11 {
        let mut b = batch(vec![], vec![]);
        b.events = vec![b"e".to_vec(); 1_000];
        store.write(&s, &f, b, now()).await.unwrap();
    }
    let bounds = store.event_bounds(&s).await.unwrap();
    let newest = EventId::parse(&store.last_event_id(&s).await.unwrap()).unwrap();
    assert_eq!(bounds.last, newest);
    let kept = store.read_events(&s, "0", 0).await.unwrap();
    let oldest = EventId::parse(&kept[0].0).unwrap();
    assert_eq!(bounds.kept_from, Some(oldest), "the stream was trimmed");
    assert!(oldest < newest);
}

async fn futures_join_all<F: std::future::Future>(futs: impl Iterator<Item = F>) -> Vec<F::Output> {
    let handles: Vec<_> = futs.collect();
    let mut out = Vec::with_capacity(handles.len());
    // Poll them together: a simple join on a local set of futures.
    let mut pinned: Vec<_> = handles.into_iter().map(Box::pin).collect();
    let mut done: Vec<Option<F::Output>> = (0..pinned.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in pinned.iter_mut().enumerate() {
            if done[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => done[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.extend(done.into_iter().map(|v| v.expect("done")));
    out
}

/// Instantiates the contract suite for a store built by `$make` (an async block).
#[macro_export]
macro_rules! store_contract_tests {
    ($make:expr) => {
        $crate::store_contract_tests!(@tests $make;
            unknown_shop_loads_empty,
            written_records_load_back,
            deletes_and_overwrites_apply,
            expired_records_are_not_loaded,
            shops_are_isolated,
            ping_answers,
            a_lease_has_one_holder_and_growing_epochs,
            a_stale_fence_cannot_write,
            a_write_needs_a_lease,
            a_lease_race_has_exactly_one_winner,
            renewal_keeps_the_lease,
            the_node_registry_forgets_silent_nodes,
            wakeups_come_due,
            events_are_appended_with_the_write,
            an_idle_event_read_waits_and_answers_empty,
            an_event_read_that_may_not_wait_answers_at_once,
            a_waiting_event_read_wakes_on_an_append,
            event_bounds_name_the_newest_and_the_oldest_kept_ids,
            appended_lists_read_back_in_order,
        );
    };
    (@tests $make:expr; $($name:ident,)*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let (store, _guard) = $make.await;
                $crate::contract::$name(store).await;
            }
        )*
    };
}

/// A private `redis-server` on a free loopback port, with AOF, in a temp dir.
/// Killed when dropped.
pub struct RedisSandbox {
    child: Option<Child>,
    /// The port.
    pub port: u16,
    /// Its data directory.
    pub dir: PathBuf,
}

impl RedisSandbox {
    /// Starts one and waits until it answers.
    pub fn start() -> Self {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("fenliu-redis-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let mut sandbox = Self {
            child: None,
            port,
            dir,
        };
        sandbox.spawn();
        sandbox
    }

    /// `redis://127.0.0.1:<port>/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    fn spawn(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--dir", self.dir.to_str().expect("utf-8 path")])
            .args([
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server is installed (apt-get install redis-server)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("redis-server did not start on port {}", self.port);
    }

    /// Kills the server (SIGKILL), keeping its data directory.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same port and data (AOF replays).
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }
}

impl Drop for RedisSandbox {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A free TCP port on loopback.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}
