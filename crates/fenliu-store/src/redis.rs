//! The Redis store of cluster mode.
//!
//! # Key layout
//!
//! Every key of a shop carries the hash tag `{shop}` so that the Lua scripts
//! touch a single slot of a Redis Cluster:
//!
//! | key | type | holds |
//! |---|---|---|
//! | `fenliu:{S}:state` | hash | records without expiry, field = record name |
//! | `fenliu:{S}:x:<name>` | string, `PX` | records with an expiry (recent contacts, orders) |
//! | `fenliu:{S}:xkeys` | set | names of the expiring records |
//! | `fenliu:{S}:lease` | string, `PX` | `<node id>\n<epoch>` of the owner |
//! | `fenliu:{S}:epoch` | counter | the last epoch handed out; only grows |
//! | `fenliu:{S}:events` | stream | published events, trimmed to ~10,000 |
//! | `fenliu:node:<id>` | string, `PX` | advertised URL of a live node |
//! | `fenliu:wakeups` | sorted set | shop → next timer (a hint for takeover) |
//!
//! Every write is one Lua script that first compares the lease with the
//! writer's fence, so a node that lost its lease cannot write.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use fenliu_core::{Millis, ShopId};
use redis::aio::{ConnectionManager, ConnectionManagerConfig, MultiplexedConnection};
use redis::{AsyncCommands, Client, Script, Value};

use crate::{Acquired, Batch, EventId, Fence, Put, ShopStore, StoreError, StreamBounds};

/// Upper bound of any single store call, so a Redis outage answers 503
/// within seconds instead of hanging.
const CALL_TIMEOUT: Duration = Duration::from_secs(3);

/// Events kept per shop stream (approximate trimming).
const STREAM_LEN: usize = 10_000;

/// Most events one stream read returns.
const READ_COUNT: usize = 500;

/// The Redis store. Cheap to clone: one multiplexed connection per node.
#[derive(Clone)]
pub struct RedisStore {
    client: Client,
    conn: ConnectionManager,
    /// Dedicated connections for blocking stream reads, reused.
    /// A `std::sync::Mutex`: held only to push or pop, never across an await.
    blocking: Arc<Mutex<Vec<MultiplexedConnection>>>,
    scripts: Arc<Scripts>,
}

struct Scripts {
    write: Script,
    load: Script,
    acquire: Script,
    renew: Script,
    release: Script,
    bounds: Script,
}

fn key(shop: &ShopId, what: &str) -> String {
    format!("fenliu:{{{shop}}}:{what}")
}

fn fence_value(f: &Fence) -> String {
    format!("{}\n{}", f.node_id, f.epoch)
}

fn parse_fence(raw: &str) -> Option<Fence> {
    let (node, epoch) = raw.rsplit_once('\n')?;
    Some(Fence {
        node_id: node.to_owned(),
        epoch: epoch.parse().ok()?,
    })
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

async fn timed<T>(
    fut: impl std::future::Future<Output = redis::RedisResult<T>>,
) -> Result<T, StoreError> {
    match tokio::time::timeout(CALL_TIMEOUT, fut).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) if e.to_string().contains("FENCED") => Err(StoreError::Fenced(e.to_string())),
        Ok(Err(e)) => Err(unavailable(e)),
        Err(_) => Err(StoreError::Unavailable(
            "redis did not answer in time".into(),
        )),
    }
}

/// The fenced write of one batch. Records without expiry go to the state
/// hash in one `HSET` per 500, unpacked straight from the arguments, where
/// they come first as name, value pairs (no Lua table is built for them); a
/// kind of record either always expires or never does, so an expiring put
/// need not clear a hash field.
const WRITE_LUA: &str = r#"
local holder = redis.call('GET', KEYS[3])
if holder ~= ARGV[1] then
  return redis.error_reply('FENCED lease is ' .. tostring(holder))
end
local prefix = ARGV[2]
local now = tonumber(ARGV[3])
local i = 4
local nplain = tonumber(ARGV[i]); i = i + 1
local last = i + 2 * nplain - 1
for from = i, last, 1000 do
  redis.call('HSET', KEYS[1], unpack(ARGV, from, math.min(from + 999, last)))
end
i = last + 1
local nexpiring = tonumber(ARGV[i]); i = i + 1
for _ = 1, nexpiring do
  local name, value, exp = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  i = i + 3
  local ttl = tonumber(exp) - now
  if ttl > 0 then
    redis.call('SET', prefix .. name, value, 'PX', ttl)
    redis.call('SADD', KEYS[2], name)
  else
    redis.call('DEL', prefix .. name)
    redis.call('SREM', KEYS[2], name)
  end
end
local ndels = tonumber(ARGV[i]); i = i + 1
for _ = 1, ndels do
  local name = ARGV[i]
  i = i + 1
  redis.call('HDEL', KEYS[1], name)
  redis.call('DEL', prefix .. name)
  redis.call('SREM', KEYS[2], name)
end
local nevents = tonumber(ARGV[i]); i = i + 1
for _ = 1, nevents do
  redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[#ARGV], '*', 'e', ARGV[i])
  i = i + 1
end
local nlists = tonumber(ARGV[i]); i = i + 1
for _ = 1, nlists do
  local list, expiry, nitems = prefix .. ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
  i = i + 3
  for from = i, i + nitems - 1, 1000 do
    redis.call('RPUSH', list, unpack(ARGV, from, math.min(from + 999, i + nitems - 1)))
  end
  i = i + nitems
  redis.call('PEXPIREAT', list, expiry)
end
return 1
"#;

const LOAD_LUA: &str = r#"
local out = redis.call('HGETALL', KEYS[1])
local names = redis.call('SMEMBERS', KEYS[2])
for _, name in ipairs(names) do
  local v = redis.call('GET', ARGV[1] .. name)
  if v then
    table.insert(out, name)
    table.insert(out, v)
  end
end
return out
"#;

const ACQUIRE_LUA: &str = r#"
local cur = redis.call('GET', KEYS[1])
if cur then
  local node = string.match(cur, '^(.*)\n')
  if node ~= ARGV[1] then
    return {0, cur}
  end
end
local epoch = redis.call('INCR', KEYS[2])
local val = ARGV[1] .. '\n' .. epoch
redis.call('SET', KEYS[1], val, 'PX', ARGV[2])
return {1, val}
"#;

const RENEW_LUA: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"#;

const RELEASE_LUA: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
"#;

/// The stream's newest id, how many entries it ever took (`entries-added`,
/// Redis 7.0 on; `''` before), its length and its oldest kept id (`''` when
/// empty), or nothing for a stream never written. A script, because `XINFO`
/// fails on a missing key.
const BOUNDS_LUA: &str = r#"
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {}
end
local info = redis.call('XINFO', 'STREAM', KEYS[1])
local last, added, len, first = '0-0', '', 0, ''
for i = 1, #info, 2 do
  local k, v = info[i], info[i + 1]
  if k == 'last-generated-id' then
    last = v
  elseif k == 'entries-added' then
    added = tostring(v)
  elseif k == 'length' then
    len = v
  elseif k == 'first-entry' and v then
    first = v[1]
  end
end
return {last, added, len, first}
"#;

impl RedisStore {
    /// Connects to Redis at `url` (`redis://host:port/db`).
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let client = Client::open(url).map_err(unavailable)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(Some(Duration::from_secs(2)))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(500));
        let conn = timed(ConnectionManager::new_with_config(client.clone(), config)).await?;
        Ok(Self {
            client,
            conn,
            blocking: Arc::new(Mutex::new(Vec::new())),
            scripts: Arc::new(Scripts {
                write: Script::new(WRITE_LUA),
                load: Script::new(LOAD_LUA),
                acquire: Script::new(ACQUIRE_LUA),
                renew: Script::new(RENEW_LUA),
                release: Script::new(RELEASE_LUA),
                bounds: Script::new(BOUNDS_LUA),
            }),
        })
    }

    async fn blocking_conn(&self) -> Result<MultiplexedConnection, StoreError> {
        let pooled = self.blocking.lock().expect("pool lock").pop();
        match pooled {
            Some(c) => Ok(c),
            None => {
                // Blocking reads outlast the default response timeout; the
                // caller bounds each read itself.
                let config = redis::AsyncConnectionConfig::new()
                    .set_connection_timeout(Some(Duration::from_secs(1)))
                    .set_response_timeout(None);
                timed(
                    self.client
                        .get_multiplexed_async_connection_with_config(&config),
                )
                .await
            }
        }
    }
}

#[async_trait]
impl ShopStore for RedisStore {
    async fn load(
        &self,
        shop: &ShopId,
        _now: Millis,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let mut conn = self.conn.clone();
        let mut inv = self.scripts.load.prepare_invoke();
        inv.key(key(shop, "state"))
            .key(key(shop, "xkeys"))
            .arg(key(shop, "x:"));
        let flat: Vec<Vec<u8>> = timed(inv.invoke_async(&mut conn)).await?;
        Ok(flat
            .chunks_exact(2)
            .map(|kv| (String::from_utf8_lossy(&kv[0]).into_owned(), kv[1].clone()))
            .collect())
    }

    async fn write(
        &self,
        shop: &ShopId,
        fence: &Fence,
        batch: Batch,
        now: Millis,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        let mut inv = self.scripts.write.prepare_invoke();
        inv.key(key(shop, "state"))
            .key(key(shop, "xkeys"))
            .key(key(shop, "lease"))
            .key(key(shop, "events"))
            .arg(fence_value(fence))
            .arg(key(shop, "x:"))
            .arg(now);
        let (plain, expiring): (Vec<&Put>, Vec<&Put>) =
            batch.puts.iter().partition(|p| p.expires_at.is_none());
        inv.arg(plain.len());
        for put in plain {
            inv.arg(&put.key).arg(&put.value[..]);
        }
        inv.arg(expiring.len());
        for put in expiring {
            // `Some` here: an `Option` argument is its value.
            inv.arg(&put.key).arg(&put.value[..]).arg(put.expires_at);
        }
        inv.arg(batch.deletes.len());
        for d in &batch.deletes {
            inv.arg(d);
        }
        inv.arg(batch.events.len());
        for e in &batch.events {
            inv.arg(&e[..]);
        }
        inv.arg(batch.appends.len());
        for a in &batch.appends {
            inv.arg(format!("list:{}", a.list))
                .arg(a.expires_at)
                .arg(a.items.len());
            for item in &a.items {
                inv.arg(&item[..]);
            }
        }
        inv.arg(STREAM_LEN);
        let _: i64 = timed(inv.invoke_async(&mut conn)).await?;
        Ok(())
    }

    async fn read_list(
        &self,
        shop: &ShopId,
        list: &str,
        _now: Millis,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        let mut conn = self.conn.clone();
        let name = key(shop, &format!("x:list:{list}"));
        timed(
            redis::cmd("LRANGE")
                .arg(name)
                .arg(0)
                .arg(-1)
                .query_async(&mut conn),
        )
        .await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        let _: String = timed(redis::cmd("PING").query_async(&mut conn)).await?;
        Ok(())
    }

    fn kind(&self) -> &'static str {
        "redis"
    }

    fn is_shared(&self) -> bool {
        true
    }

    async fn acquire(
        &self,
        shop: &ShopId,
        node_id: &str,
        ttl_ms: u64,
    ) -> Result<Acquired, StoreError> {
        let mut conn = self.conn.clone();
        let mut inv = self.scripts.acquire.prepare_invoke();
        inv.key(key(shop, "lease"))
            .key(key(shop, "epoch"))
            .arg(node_id)
            .arg(ttl_ms);
        let (mine, value): (i64, String) = timed(inv.invoke_async(&mut conn)).await?;
        let fence = parse_fence(&value).ok_or_else(|| StoreError::Corrupt {
            key: key(shop, "lease"),
            reason: format!("unreadable lease {value:?}"),
        })?;
        Ok(if mine == 1 {
            Acquired::Mine(fence)
        } else {
            Acquired::HeldBy(fence)
        })
    }

    async fn renew(&self, shop: &ShopId, fence: &Fence, ttl_ms: u64) -> Result<bool, StoreError> {
        let mut conn = self.conn.clone();
        let mut inv = self.scripts.renew.prepare_invoke();
        inv.key(key(shop, "lease"))
            .arg(fence_value(fence))
            .arg(ttl_ms);
        let ok: i64 = timed(inv.invoke_async(&mut conn)).await?;
        Ok(ok == 1)
    }

    async fn release(&self, shop: &ShopId, fence: &Fence) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        let mut inv = self.scripts.release.prepare_invoke();
        inv.key(key(shop, "lease")).arg(fence_value(fence));
        let _: i64 = timed(inv.invoke_async(&mut conn)).await?;
        Ok(())
    }

    async fn owner(&self, shop: &ShopId) -> Result<Option<Fence>, StoreError> {
        let mut conn = self.conn.clone();
        let raw: Option<String> = timed(conn.get(key(shop, "lease"))).await?;
        Ok(raw.as_deref().and_then(parse_fence))
    }

    async fn epoch(&self, shop: &ShopId) -> Result<u64, StoreError> {
        let mut conn = self.conn.clone();
        let raw: Option<u64> = timed(conn.get(key(shop, "epoch"))).await?;
        Ok(raw.unwrap_or(0))
    }

    async fn register_node(&self, node_id: &str, url: &str, ttl_ms: u64) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        let _: () = timed(conn.pset_ex(format!("fenliu:node:{node_id}"), url, ttl_ms)).await?;
        Ok(())
    }

    async fn node_url(&self, node_id: &str) -> Result<Option<String>, StoreError> {
        let mut conn = self.conn.clone();
        timed(conn.get(format!("fenliu:node:{node_id}"))).await
    }

    async fn set_wakeup(&self, shop: &ShopId, at: Option<Millis>) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        let _: i64 = match at {
            Some(at) => timed(conn.zadd("fenliu:wakeups", shop.as_str(), at)).await?,
            None => timed(conn.zrem("fenliu:wakeups", shop.as_str())).await?,
        };
        Ok(())
    }

    async fn due_wakeups(
        &self,
        now: Millis,
        skip: usize,
        limit: usize,
    ) -> Result<Vec<ShopId>, StoreError> {
        let mut conn = self.conn.clone();
        let raw: Vec<String> = timed(
            redis::cmd("ZRANGEBYSCORE")
                .arg("fenliu:wakeups")
                .arg("-inf")
                .arg(now)
                .arg("LIMIT")
                .arg(skip)
                .arg(limit)
                .query_async(&mut conn),
        )
        .await?;
        Ok(raw.iter().filter_map(|s| ShopId::parse(s).ok()).collect())
    }

    async fn last_event_id(&self, shop: &ShopId) -> Result<String, StoreError> {
        let mut conn = self.conn.clone();
        let newest: Value = timed(
            redis::cmd("XREVRANGE")
                .arg(key(shop, "events"))
                .arg("+")
                .arg("-")
                .arg("COUNT")
                .arg(1)
                .query_async(&mut conn),
        )
        .await?;
        let id = match newest {
            Value::Array(entries) => entries.into_iter().next().and_then(|e| match e {
                Value::Array(mut kv) if !kv.is_empty() => match kv.swap_remove(0) {
                    Value::BulkString(id) => Some(String::from_utf8_lossy(&id).into_owned()),
                    _ => None,
                },
                _ => None,
            }),
            _ => None,
        };
        Ok(id.unwrap_or_else(|| "0-0".into()))
    }

    async fn read_events(
        &self,
        shop: &ShopId,
        after: &str,
        block_ms: u64,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        if block_ms == 0 {
            // `BLOCK 0` would wait for ever: a read that must answer at once
            // leaves it out, on the shared connection.
            let mut conn = self.conn.clone();
            let value: Value = timed(
                redis::cmd("XREAD")
                    .arg("COUNT")
                    .arg(READ_COUNT)
                    .arg("STREAMS")
                    .arg(key(shop, "events"))
                    .arg(after)
                    .query_async(&mut conn),
            )
            .await?;
            return Ok(parse_xread(value));
        }
        let mut conn = self.blocking_conn().await?;
        let read = tokio::time::timeout(
            CALL_TIMEOUT + Duration::from_millis(block_ms),
            redis::cmd("XREAD")
                .arg("COUNT")
                .arg(READ_COUNT)
                .arg("BLOCK")
                .arg(block_ms)
                .arg("STREAMS")
                .arg(key(shop, "events"))
                .arg(after)
                .query_async::<Value>(&mut conn),
        )
        .await;
        let value = match read {
            Ok(Ok(v)) => v,
            Ok(Err(e)) => return Err(unavailable(e)),
            Err(_) => {
                return Err(StoreError::Unavailable(
                    "redis did not answer in time".into(),
                ))
            }
        };
        self.blocking.lock().expect("pool lock").push(conn);
        Ok(parse_xread(value))
    }

    async fn event_bounds(&self, shop: &ShopId) -> Result<StreamBounds, StoreError> {
        let mut conn = self.conn.clone();
        let mut inv = self.scripts.bounds.prepare_invoke();
        inv.key(key(shop, "events"));
        let info: Vec<Value> = timed(inv.invoke_async(&mut conn)).await?;
        let text = |i: usize| match info.get(i) {
            Some(Value::BulkString(b)) => String::from_utf8_lossy(b).into_owned(),
            Some(Value::SimpleString(s)) => s.clone(),
            _ => String::new(),
        };
        let id = |i: usize| {
            let raw = text(i);
            EventId::parse(&raw).ok_or_else(|| StoreError::Corrupt {
                key: key(shop, "events"),
                reason: format!("unreadable stream id {raw:?}"),
            })
        };
        if info.is_empty() {
            return Ok(StreamBounds::default());
        }
        let last = id(0)?;
        let len = match info.get(2) {
            Some(Value::Int(n)) => *n,
            _ => 0,
        };
        // Only trimming removes entries (nothing runs XDEL), so the stream
        // dropped some when it took more than it holds. Before Redis 7.0
        // nothing counts what it took: a stream that reached its length may
        // have dropped some, which errs towards telling a reader.
        let trimmed = match text(1).parse::<i64>() {
            Ok(added) => added > len,
            Err(_) => len >= STREAM_LEN as i64,
        };
        let kept_from = match text(3) {
            first if trimmed && !first.is_empty() => Some(id(3)?),
            _ => None,
        };
        Ok(StreamBounds { last, kept_from })
    }
}

/// Flattens an XREAD reply of one stream into (id, payload) pairs.
fn parse_xread(value: Value) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let streams = match value {
        Value::Array(s) => s,
        Value::Map(m) => m
            .into_iter()
            .map(|(k, v)| Value::Array(vec![k, v]))
            .collect(),
        _ => return out,
    };
    for stream in streams {
        let Value::Array(parts) = stream else {
            continue;
        };
        let Some(Value::Array(entries)) = parts.into_iter().nth(1) else {
            continue;
        };
        for entry in entries {
            let Value::Array(mut kv) = entry else {
                continue;
            };
            if kv.len() != 2 {
                continue;
            }
            let fields = kv.pop();
            let id = kv.pop();
            let (Some(Value::BulkString(id)), Some(Value::Array(fields))) = (id, fields) else {
                continue;
            };
            if let Some(Value::BulkString(payload)) = fields.into_iter().nth(1) {
                out.push((String::from_utf8_lossy(&id).into_owned(), payload));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::RedisSandbox;

    crate::store_contract_tests!(async {
        let sandbox = RedisSandbox::start();
        let store = RedisStore::connect(&sandbox.url()).await.expect("connects");
        (store, sandbox)
    });
}
