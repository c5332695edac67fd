//! How requests are read: JSON bodies ([`Body`]) read strictly, optional
//! fields that may be left out but never be `null` ([`present`]), and
//! bounded numbers of queries and bodies; each refused with a 400 as it is
//! read.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::web::Bytes;
use actix_web::{FromRequest, HttpRequest};
use serde::de::{self, DeserializeOwned, DeserializeSeed, Error as _, IntoDeserializer, Visitor};
use serde::{forward_to_deserialize_any, Deserialize, Deserializer};
use serde_json::{Map, Number, Value};

use crate::error::{ApiError, Code};

/// A JSON body of type `T`, read strictly: an object only where `T` has a
/// struct (serde alone would also take an array of its fields in order),
/// and an integer written `5.0` is the integer 5 (JSON Schema counts it as
/// one) while `5.5` is refused. Any body, whatever its `Content-Type`,
/// within the payload limit (64 KiB, else 413).
#[derive(Debug)]
pub struct Body<T>(pub T);

impl<T> Body<T> {
    /// The body.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Body<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Body<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let bytes = Bytes::from_request(req, payload);
        Box::pin(async move {
            let bytes = bytes.await.map_err(|e| {
                if e.as_response_error().status_code() == Code::PayloadTooLarge.status() {
                    ApiError::too_large()
                } else {
                    ApiError::invalid(format!("cannot read the body: {e}"))
                }
            })?;
            read(&bytes).map(Body).map_err(|e| e.into())
        })
    }
}

/// Reads a JSON body strictly (see [`Body`]).
pub fn read<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::invalid(format!("invalid JSON body: {e}")))?;
    T::deserialize(Strict(value)).map_err(|e| ApiError::invalid(format!("invalid JSON body: {e}")))
}

/// A JSON value that yields structs only from objects, and integral numbers
/// as integers, all the way down.
struct Strict(Value);

/// An integral `f64` as an integer, if it is one.
fn whole(n: &Number) -> Option<Value> {
    let f = n.as_f64().filter(|_| !n.is_i64() && !n.is_u64())?;
    if f.fract() != 0.0 {
        return None;
    }
    // 2^64 and -2^63 are exact in f64; the casts below are exact inside them.
    if (0.0..18_446_744_073_709_551_616.0).contains(&f) {
        Some(Value::from(f as u64))
    } else if (-9_223_372_036_854_775_808.0..0.0).contains(&f) {
        Some(Value::from(f as i64))
    } else {
        None
    }
}

impl<'de> Deserializer<'de> for Strict {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::Array(items) => visitor.visit_seq(Seq(items.into_iter())),
            Value::Object(map) => visitor.visit_map(Fields::new(map)),
            Value::Number(n) => match whole(&n) {
                Some(integer) => integer.deserialize_any(visitor),
                None => Value::Number(n).deserialize_any(visitor),
            },
            other => other.deserialize_any(visitor),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::Object(map) => visitor.visit_map(Fields::new(map)),
            other => Err(de::Error::invalid_type(unexpected(&other), &"an object")),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            other => visitor.visit_some(Strict(other)),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        // The API's enums are strings (unit variants).
        self.0.deserialize_enum(name, variants, visitor)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map identifier ignored_any
    }
}

fn unexpected(value: &Value) -> de::Unexpected<'_> {
    match value {
        Value::Null => de::Unexpected::Unit,
        Value::Bool(b) => de::Unexpected::Bool(*b),
        Value::Number(_) => de::Unexpected::Other("a number"),
        Value::String(s) => de::Unexpected::Str(s),
        Value::Array(_) => de::Unexpected::Seq,
        Value::Object(_) => de::Unexpected::Map,
    }
}

struct Seq(std::vec::IntoIter<Value>);

impl<'de> de::SeqAccess<'de> for Seq {
    type Error = serde_json::Error;

    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, Self::Error> {
        self.0
            .next()
            .map(|v| seed.deserialize(Strict(v)))
            .transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

struct Fields {
    entries: serde_json::map::IntoIter,
    value: Option<Value>,
}

impl Fields {
    fn new(map: Map<String, Value>) -> Self {
        Self {
            entries: map.into_iter(),
            value: None,
        }
    }
}

impl<'de> de::MapAccess<'de> for Fields {
    type Error = serde_json::Error;

    fn next_key_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, Self::Error> {
        match self.entries.next() {
            Some((key, value)) => {
                self.value = Some(value);
                let key: de::value::StringDeserializer<serde_json::Error> = key.into_deserializer();
                seed.deserialize(key).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<S::Value, Self::Error> {
        let value = self
            .value
            .take()
            .ok_or_else(|| serde_json::Error::custom("a value without a key"))?;
        seed.deserialize(Strict(value))
    }
}

/// Reads an optional field that may be left out but not be `null` (an
/// explicit `null` is a 400, never taken for "absent"). Use with
/// `#[serde(default, deserialize_with = "crate::input::present")]`.
pub fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d)?
        .map(Some)
        .ok_or_else(|| D::Error::custom("null is not a value here: leave the field out"))
}

/// Declares a `u32` newtype that refuses values outside `$lo..=$hi`.
macro_rules! bounded {
    ($(#[$doc:meta])* $name:ident, $lo:literal, $hi:expr, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub struct $name(u32);

        impl $name {
            /// The value.
            pub fn get(self) -> u32 {
                self.0
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = u32::deserialize(d)?;
                if ($lo..=$hi).contains(&raw) {
                    Ok(Self(raw))
                } else {
                    Err(D::Error::custom(format!(
                        concat!($what, " must be between {} and {}"),
                        $lo, $hi
                    )))
                }
            }
        }
    };
}

/// Most entries one page of a list answers.
pub const MAX_PAGE: u32 = 1_000;

bounded!(
    /// How many entries a page lists: 1 to [`MAX_PAGE`].
    PageLimit,
    1,
    MAX_PAGE,
    "limit"
);

bounded!(
    /// A rating: 1 to 5 stars.
    Stars,
    1,
    5,
    "stars"
);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    struct Body {
        #[serde(default, deserialize_with = "present")]
        name: Option<String>,
    }

    #[test]
    fn an_optional_field_may_be_left_out_but_not_be_null() {
        let absent: Body = serde_json::from_value(json!({})).unwrap();
        let given: Body = serde_json::from_value(json!({"name": "x"})).unwrap();
        let null = serde_json::from_value::<Body>(json!({"name": null})).unwrap_err();

        assert_eq!(absent.name, None);
        assert_eq!(given.name.as_deref(), Some("x"));
        assert!(null.to_string().contains("null"), "{null}");
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Nested {
        #[serde(default)]
        inner: Option<Inner>,
        #[serde(default)]
        n: u32,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Inner {
        a: Option<String>,
    }

    #[test]
    fn a_struct_is_read_from_an_object_only_at_every_level() {
        assert!(read::<Nested>(br#"{"inner": {"a": "x"}}"#).is_ok());
        assert!(read::<Nested>(br#"[null, 1]"#).is_err());
        assert!(read::<Nested>(br#"{"inner": [null]}"#).is_err());
        assert!(read::<Nested>(br#"{"inner": {"a": "x"}, "b": 1}"#).is_err());
    }

    #[test]
    fn an_integer_may_be_written_with_a_zero_fraction_but_not_with_another() {
        assert_eq!(read::<Nested>(br#"{"n": 5.0}"#).unwrap().n, 5);
        assert_eq!(read::<Nested>(br#"{"n": 5e0}"#).unwrap().n, 5);
        assert!(read::<Nested>(br#"{"n": 5.5}"#).is_err());
        assert!(read::<Nested>(br#"{"n": -1.0}"#).is_err());
        assert!(read::<Nested>(br#"{"n": "5"}"#).is_err());
        assert!(read::<Nested>(br#"{"n": 4294967296.0}"#).is_err());
    }

    #[test]
    fn bounded_numbers_refuse_values_out_of_range() {
        assert_eq!(serde_json::from_value::<Stars>(json!(5)).unwrap().get(), 5);
        for bad in [json!(0), json!(6), json!(-1), json!(2.5), json!("3")] {
            assert!(serde_json::from_value::<Stars>(bad).is_err());
        }
        assert!(serde_json::from_value::<PageLimit>(json!(1001)).is_err());
    }
}
