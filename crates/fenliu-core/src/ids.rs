//! Validated identifiers and free-form tags.
//!
//! Every value that crosses the API boundary is parsed once here; inside the
//! core an invalid id cannot exist.
//!
//! The text is held in an `Arc<str>`: ids are immutable and copied into many
//! places (indexes, per-buyer maps, record keys, events, and every agent line
//! of an explanation), so a clone is a reference-count increment rather than
//! an allocation. Profiling showed `String` clones of ids as the largest cost
//! of a routing decision. Order and the serialized form are those of the text,
//! exactly as with `String`.
//!
//! Agent, buyer, group and shop ids and tags also carry the hash of their text, taken
//! once when they are parsed, with SipHash under a key drawn at random once per
//! process (the hash `std`'s maps use, so maps keyed by ids the public chooses
//! keep their protection against chosen collisions). A new inquiry looks its
//! buyer up in half a dozen maps; hashing the text each time was a tenth of the
//! cost of a decision. [`IdMap`] and [`IdSet`] use the carried hash as it is.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher, RandomState};
use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::InvalidInput;

fn is_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

fn parse_id(kind: &'static str, raw: &str) -> Result<HashedText, InvalidInput> {
    if raw.is_empty() || raw.len() > 64 {
        return Err(InvalidInput::new(format!(
            "{kind} must be 1 to 64 characters"
        )));
    }
    if !raw.chars().all(is_id_char) {
        return Err(InvalidInput::new(format!(
            "{kind} may only contain letters, digits, '_', '.' and '-'"
        )));
    }
    Ok(HashedText::new(raw))
}

/// The hash an id carries: SipHash of its text under the process's key.
fn text_hash(text: &str) -> u64 {
    static KEY: OnceLock<RandomState> = OnceLock::new();
    KEY.get_or_init(RandomState::new).hash_one(text)
}

/// Hashes a key by the hash an id carries ([`Hash`] of an id writes exactly
/// that one `u64`, already spread by SipHash).
#[derive(Clone, Copy, Debug, Default)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used by ids; this keeps the hasher total.
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 ^= n;
    }
}

/// A map keyed by an id, hashed by the hash the id carries.
pub type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

/// A set of ids, hashed by the hash each carries.
pub type IdSet<K> = HashSet<K, BuildHasherDefault<IdHasher>>;

/// The text of an id and its hash, in one shared allocation: the hash's
/// eight bytes, then the text. A handle is the size of an `Arc<str>`, which
/// matters because ids are copied into every conversation, explanation line,
/// record key and event: carrying the hash beside the pointer made every
/// stored conversation of a 50-agent shop 13 % larger. Equality compares the
/// hashes first, so two different ids rarely compare their text; order is the
/// order of the text.
#[derive(Clone)]
struct HashedText(Arc<[u8]>);

/// Bytes in front of the text.
const HASH_BYTES: usize = std::mem::size_of::<u64>();

impl HashedText {
    fn new(text: &str) -> Self {
        let mut bytes = Vec::with_capacity(HASH_BYTES + text.len());
        bytes.extend_from_slice(&text_hash(text).to_ne_bytes());
        bytes.extend_from_slice(text.as_bytes());
        Self(Arc::from(bytes))
    }

    fn hash(&self) -> u64 {
        let mut head = [0u8; HASH_BYTES];
        head.copy_from_slice(&self.0[..HASH_BYTES]);
        u64::from_ne_bytes(head)
    }

    fn text(&self) -> &str {
        // SAFETY: the bytes after the hash were copied from a `&str` in
        // `new` and are never changed (the `Arc` is shared, not mutable), so
        // they are valid UTF-8. Checking again on every read would make each
        // comparison of ids linear in their length once more.
        unsafe { std::str::from_utf8_unchecked(&self.0[HASH_BYTES..]) }
    }
}

impl PartialEq for HashedText {
    fn eq(&self, other: &Self) -> bool {
        // The hash is compared with the text: they share the allocation.
        self.0 == other.0
    }
}

impl Eq for HashedText {}

impl PartialOrd for HashedText {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for HashedText {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.text().cmp(other.text())
    }
}

impl Hash for HashedText {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(HashedText::hash(self));
    }
}

impl fmt::Debug for HashedText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.text(), f)
    }
}

/// Serializes as the text, like a `String` (serde's own `Arc` support needs its
/// `rc` feature and would serialize the same way).
fn serialize_text<S: Serializer>(text: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(text)
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(HashedText);

        impl $name {
            /// Parses an id matching `[A-Za-z0-9_.-]{1,64}`.
            pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
                parse_id($kind, raw).map(Self)
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                self.0.text()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.0.text())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                serialize_text(self.0.text(), s)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(d)?;
                Self::parse(&raw).map_err(serde::de::Error::custom)
            }
        }
    };
}

id_type!(
    /// A shop (店铺), the tenant every other object belongs to.
    ShopId,
    "shop id"
);
id_type!(
    /// An agent (客服 / 子账号) of a shop.
    AgentId,
    "agent id"
);
id_type!(
    /// A routing group (分组 / 分流组) of a shop.
    GroupId,
    "group id"
);

/// A buyer (买家): 1..=128 bytes of UTF-8 without control characters.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BuyerId(HashedText);

impl BuyerId {
    /// Parses a buyer id.
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        if raw.is_empty() || raw.len() > 128 {
            return Err(InvalidInput::new("buyer_id must be 1 to 128 bytes"));
        }
        if raw.chars().any(char::is_control) {
            return Err(InvalidInput::new(
                "buyer_id must not contain control characters",
            ));
        }
        Ok(Self(HashedText::new(raw)))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        self.0.text()
    }
}

impl fmt::Display for BuyerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.text())
    }
}

impl Serialize for BuyerId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_text(self.0.text(), s)
    }
}

impl<'de> Deserialize<'de> for BuyerId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// A free string chosen by the platform (question, order state, product,
/// intent, order id): 1..=200 bytes, matched exactly.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tag(HashedText);

impl Tag {
    /// Parses a tag.
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        if raw.is_empty() || raw.len() > 200 {
            return Err(InvalidInput::new("value must be 1 to 200 bytes"));
        }
        Ok(Self(HashedText::new(raw)))
    }

    /// The tag as text.
    pub fn as_str(&self) -> &str {
        self.0.text()
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.text())
    }
}

impl Serialize for Tag {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_text(self.0.text(), s)
    }
}

impl<'de> Deserialize<'de> for Tag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// A conversation (会话), numbered per shop; written `c-<n>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConversationId(pub u64);

impl ConversationId {
    /// Parses `c-<n>`, written as [`Display`](fmt::Display) writes it: only
    /// the canonical form, so `c-01` and `c-+1` are not other names of `c-1`.
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        raw.strip_prefix("c-")
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
            .filter(|n| *n == "0" || !n.starts_with('0'))
            .and_then(|n| n.parse::<u64>().ok())
            .map(Self)
            .ok_or_else(|| InvalidInput::new("conversation id must look like c-<number>"))
    }
}

impl fmt::Display for ConversationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "c-{}", self.0)
    }
}

impl Serialize for ConversationId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.collect_str(self)
        } else {
            s.serialize_u64(self.0)
        }
    }
}

impl<'de> Deserialize<'de> for ConversationId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            let raw = String::deserialize(d)?;
            Self::parse(&raw).map_err(serde::de::Error::custom)
        } else {
            u64::deserialize(d).map(Self)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_accept_the_documented_alphabet_only() {
        assert!(ShopId::parse("shop_1.a-b").is_ok());
        assert!(ShopId::parse("").is_err());
        assert!(ShopId::parse(&"a".repeat(65)).is_err());
        assert!(AgentId::parse("小王").is_err());
        assert!(GroupId::parse("a b").is_err());
    }

    #[test]
    fn buyer_ids_are_utf8_without_control_characters() {
        assert!(BuyerId::parse("买家-01").is_ok());
        assert!(BuyerId::parse("a\nb").is_err());
        assert!(BuyerId::parse(&"x".repeat(129)).is_err());
    }

    #[test]
    fn ids_parsed_apart_are_equal_hash_alike_and_sort_as_text() {
        use std::hash::BuildHasher;
        let hash = |b: &BuyerId| BuildHasherDefault::<IdHasher>::default().hash_one(b);
        let (one, again) = (
            BuyerId::parse("买家-1").unwrap(),
            BuyerId::parse("买家-1").unwrap(),
        );
        assert_eq!(one, again);
        assert_eq!(hash(&one), hash(&again));
        assert_ne!(one, BuyerId::parse("买家-2").unwrap());
        let mut ids: Vec<AgentId> = ["b", "a10", "a9", "a"]
            .iter()
            .map(|s| AgentId::parse(s).unwrap())
            .collect();
        ids.sort();
        let sorted: Vec<&str> = ids.iter().map(AgentId::as_str).collect();
        assert_eq!(sorted, ["a", "a10", "a9", "b"]);
        assert_eq!(format!("{:?}", ids[0]), r#"AgentId("a")"#);
    }

    #[test]
    fn conversation_ids_round_trip_as_text() {
        let id = ConversationId(42);
        assert_eq!(id.to_string(), "c-42");
        assert_eq!(ConversationId::parse("c-42").unwrap(), id);
        assert!(ConversationId::parse("42").is_err());
        for other_spelling in ["c-042", "c-+42", "c-", "c-4 2", "c-٤٢"] {
            assert!(
                ConversationId::parse(other_spelling).is_err(),
                "{other_spelling}"
            );
        }
    }
}
