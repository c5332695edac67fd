//! What a buyer asks with (进线): the inquiry and where the chat started.
//!
//! The routing rules match these fields, and a conversation keeps the inquiry
//! that created it, so that a queued one can be decided again.

use serde::{Deserialize, Serialize};

use crate::ids::{BuyerId, Tag};

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
}
