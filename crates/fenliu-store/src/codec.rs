//! Records to bytes and back: bincode 2 behind a version byte, so the format
//! can evolve without misreading old values.

use fenliu_core::records::Record;
use fenliu_core::{Effects, Shop};

use crate::{Batch, Put, StoreError};

/// The format of the bytes after the version byte.
pub const FORMAT_V1: u8 = 1;

/// Encodes a record.
pub fn encode(record: &Record) -> Vec<u8> {
    let mut out = vec![FORMAT_V1];
    let body = bincode::serde::encode_to_vec(record, bincode::config::standard())
        .expect("records always encode");
    out.extend(body);
    out
}

/// Decodes a record written by [`encode`].
pub fn decode(key: &str, bytes: &[u8]) -> Result<Record, StoreError> {
    let corrupt = |reason: String| StoreError::Corrupt {
        key: key.to_owned(),
        reason,
    };
    match bytes.split_first() {
        Some((&FORMAT_V1, body)) => {
            bincode::serde::decode_from_slice(body, bincode::config::standard())
                .map(|(r, _)| r)
                .map_err(|e| corrupt(e.to_string()))
        }
        Some((v, _)) => Err(corrupt(format!("unknown format version {v}"))),
        None => Err(corrupt("empty value".into())),
    }
}

/// The batch that persists a command's effects on `shop`.
pub fn batch_for(shop: &Shop, effects: &Effects) -> Batch {
    let mut batch = Batch::default();
    for key in &effects.changed {
        let name = key.name();
        match shop.record(key) {
            Some(record) => batch.puts.push(Put {
                key: name,
                expires_at: record.expires_at(shop),
                value: encode(&record),
            }),
            None => batch.deletes.push(name),
        }
    }
    batch
}

/// Every record of the shop as one batch (used to seed a store).
pub fn full_batch(shop: &Shop) -> Batch {
    Batch {
        puts: shop
            .snapshot()
            .into_iter()
            .map(|record| Put {
                key: record_name(&record),
                expires_at: record.expires_at(shop),
                value: encode(&record),
            })
            .collect(),
        deletes: Vec::new(),
        events: Vec::new(),
    }
}

fn record_name(record: &Record) -> String {
    use fenliu_core::records::RecordKey as K;
    let key = match record {
        Record::Meta(_) => K::Meta,
        Record::Settings(_) => K::Settings,
        Record::Agent(a) => K::Agent(a.id.clone()),
        Record::Group(g, _) => K::Group(g.clone()),
        Record::Conversation(c) => K::Conversation(c.id),
        Record::Recent(b, _) => K::Recent(b.clone()),
        Record::Order(o) => K::Order(o.order_id.clone()),
        Record::Stats(d, a, _) => K::Stats(*d, a.clone()),
    };
    key.name()
}

/// Rebuilds a shop from what the store holds.
pub fn restore(
    shop: fenliu_core::ShopId,
    stored: Vec<(String, Vec<u8>)>,
    now: fenliu_core::Millis,
) -> Result<Shop, StoreError> {
    let records = stored
        .iter()
        .map(|(k, v)| decode(k, v))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Shop::restore(shop, records, now))
}
