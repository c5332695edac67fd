//! What requests read beyond the core's own types: optional fields that may
//! be left out but never be `null`, and bounded numbers of queries and
//! bodies, each refused with a 400 when it is read.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer};

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

    #[test]
    fn bounded_numbers_refuse_values_out_of_range() {
        assert_eq!(serde_json::from_value::<Stars>(json!(5)).unwrap().get(), 5);
        for bad in [json!(0), json!(6), json!(-1), json!(2.5), json!("3")] {
            assert!(serde_json::from_value::<Stars>(bad).is_err());
        }
        assert!(serde_json::from_value::<PageLimit>(json!(1001)).is_err());
    }
}
