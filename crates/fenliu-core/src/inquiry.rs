//! What a buyer asks with (进线): the inquiry and where the chat started.
//!
//! The routing rules match these fields, and a conversation keeps the inquiry
//! that created it, so that a queued one can be decided again.

use serde::{Deserialize, Deserializer, Serialize};

use crate::error::InvalidInput;
use crate::ids::{BuyerId, Tag};

/// A conversation's priority (VIP, order value): 0 (the default) to 9. The
/// queue serves higher priority first; priority never lets an agent exceed
/// its max load.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Priority(u8);

impl Priority {
    /// The highest priority.
    pub const MAX: Priority = Priority(9);

    /// Parses a priority in 0..=9.
    pub fn new(value: u32) -> Result<Self, InvalidInput> {
        match u8::try_from(value) {
            Ok(v) if v <= Self::MAX.0 => Ok(Self(v)),
            _ => Err(InvalidInput::new("priority must be between 0 and 9")),
        }
    }

    /// The value.
    pub const fn get(self) -> u8 {
        self.0
    }

    /// This priority raised by `steps`, at most [`Priority::MAX`].
    pub fn raised(self, steps: u64) -> Priority {
        Priority(self.0.saturating_add(steps.min(9) as u8).min(Self::MAX.0))
    }
}

impl<'de> Deserialize<'de> for Priority {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = u32::deserialize(d)?;
        Self::new(raw).map_err(serde::de::Error::custom)
    }
}

/// Where the buyer started the chat (咨询入口).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Entry {
    /// 商品详情页.
    ProductDetail,
    /// 订单详情页.
    OrderDetail,
    /// 消息私信.
    DirectMessage,
    /// 直播.
    Live,
    /// 其他.
    Other,
}

/// What an inquiry (进线) carries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inquiry {
    /// The buyer.
    pub buyer_id: BuyerId,
    /// Where the chat started.
    pub entry: Entry,
    /// Question picked by the buyer.
    pub question: Option<Tag>,
    /// Order state.
    pub order_state: Option<Tag>,
    /// Product.
    pub product_id: Option<Tag>,
    /// Intent.
    pub intent: Option<Tag>,
    /// The buyer's priority (0 when absent); a matching rule may raise it.
    #[serde(default)]
    pub priority: Priority,
}
