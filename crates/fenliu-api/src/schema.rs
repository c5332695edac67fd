//! How the core's types look in the OpenAPI document.
//!
//! The core knows nothing of HTTP (nor of utoipa), so the document describes
//! its ids and enums with the schema-only types here, named by the API's
//! structs through `#[schema(value_type = ...)]`. Each mirror is tied to the
//! type it describes: an enum mirror converts from the core enum with an
//! exhaustive `match` (a variant added to the core does not compile until it
//! is described here) and the tests check that both serialize alike; each id
//! pattern is checked against the parser it describes.

use std::borrow::Cow;

use serde::Serialize;
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaFormat, SchemaType, Type};
use utoipa::openapi::{KnownFormat, RefOr};
use utoipa::{PartialSchema, ToSchema};

/// Mirrors a unit enum of the core as a string enum of the document.
macro_rules! mirror_enum {
    (
        $(#[$meta:meta])*
        $name:ident = $core:ty {
            $($(#[$vmeta:meta])* $variant:ident),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl From<$core> for $name {
            fn from(value: $core) -> Self {
                type Core = $core;
                match value {
                    $(Core::$variant => Self::$variant),+
                }
            }
        }

        #[cfg(test)]
        impl $name {
            /// Every variant of the core enum.
            const CORE: &'static [$core] = &[$(<$core>::$variant),+];
        }
    };
}

mirror_enum!(
    /// Where the buyer started the chat (咨询入口).
    Entry = fenliu_core::Entry {
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
);

mirror_enum!(
    /// An agent's presence; new agents are `offline`.
    AgentStatus = fenliu_core::AgentStatus {
        /// 在线: takes new conversations.
        Online,
        /// 忙碌: keeps its conversations, takes no new ones.
        Busy,
        /// 离线.
        Offline,
    }
);

mirror_enum!(
    /// Where a conversation is in its life.
    ConversationStatus = fenliu_core::ConversationStatus {
        /// Waiting in the queue.
        Queued,
        /// Assigned to one agent.
        Active,
        /// Over.
        Ended,
        /// The buyer left the queue.
        Cancelled,
        /// Offered to one agent, who holds a slot for it until they accept
        /// or reject it or the offer lapses.
        Offered,
    }
);

mirror_enum!(
    /// Why a conversation went where it went.
    Reason = fenliu_core::Reason {
        /// The buyer already had this open conversation.
        Existing,
        /// The buyer's recent agent (最近联系客服优先).
        RecentContact,
        /// A rule matched.
        Rule,
        /// No rule matched; picked among every agent.
        Default,
        /// Nobody of the target set was online; picked among every online agent.
        Overflow,
        /// Nobody was online or busy; given to an offline-routing agent.
        Offline,
        /// Everybody was saturated in no-queue mode; assigned beyond max load.
        NoQueue,
        /// Waiting in the queue.
        Queued,
        /// Opened by an agent (主动发起会话).
        Proactive,
        /// Moved by a transfer.
        Transfer,
        /// Placed through an escalation step of its rule.
        Escalated,
        /// Waiting because the shop is closed (business hours).
        Closed,
        /// Moved because its agent did not reply in time (reply or reassign).
        Reassigned,
    }
);

mirror_enum!(
    /// Why a conversation ended.
    EndReason = fenliu_core::EndReason {
        /// Ended by its agent.
        Agent,
        /// Ended by an internal service.
        Service,
        /// The buyer was silent for `auto_end_secs` after the agent's reply.
        AutoEnd,
    }
);

mirror_enum!(
    /// How an agent is picked among the available agents of the target set.
    Strategy = fenliu_core::settings::Strategy {
        /// Lowest saturation first; ties at random.
        LeastSaturation,
        /// Fewest conversations assigned today first.
        Even,
        /// Random, proportional to weight, penalised when busy.
        Weighted,
        /// Fewest conversations assigned today per hour online today first.
        Fair,
    }
);

mirror_enum!(
    /// Which queued conversation is served first.
    QueueOrder = fenliu_core::settings::QueueOrder {
        /// 先排队先接入.
        Fifo,
        /// 后排队先接入.
        Lifo,
    }
);

mirror_enum!(
    /// What happens when no agent of the target set is online.
    Overflow = fenliu_core::settings::Overflow {
        /// The target set becomes every online agent of the shop.
        AnyOnline,
        /// Stay with the target set (and queue).
        None,
    }
);

mirror_enum!(
    /// What the ranking orders by.
    Metric = fenliu_core::Metric {
        /// Distinct buyers received today.
        Receptions,
        /// Conversations received today.
        Sessions,
        /// On-time replies / conversations whose reply clock ran.
        #[serde(rename = "reply_rate_3m")]
        ReplyRate3m,
        /// Satisfied ratings / ratings.
        SatisfactionRate,
    }
);

mirror_enum!(
    /// Ascending or descending.
    SortOrder = fenliu_core::SortOrder {
        /// Lowest first.
        Asc,
        /// Highest first.
        Desc,
    }
);

mirror_enum!(
    /// Who wrote a message.
    Party = fenliu_core::Party {
        /// The buyer.
        Buyer,
        /// The agent.
        Agent,
    }
);

mirror_enum!(
    /// What the routing thought of one agent.
    Verdict = fenliu_core::Verdict {
        /// Chosen.
        Picked,
        /// Could have taken it; another agent was preferred.
        Eligible,
        /// Not in the target set.
        NotInTarget,
        /// Status offline.
        Offline,
        /// Status busy.
        Busy,
        /// Online but at max load.
        Saturated,
        /// An offline-routing agent that was not the least loaded.
        MoreLoaded,
        /// Declined the conversation, let its offer lapse or missed it.
        Declined,
    }
);

mirror_enum!(
    /// How a decision that picks an agent gives them the conversation.
    AssignmentMode = fenliu_core::settings::AssignmentMode {
        /// The conversation is the agent's at once.
        Direct,
        /// The conversation is offered; the agent accepts or rejects it.
        Offer,
    }
);

/// Characters Rust's `char::is_control` refuses (Unicode `Cc`), as a
/// regular expression class body.
const CONTROL: &str = r"\u0000-\u001F\u007F-\u009F";

/// A regular expression (without anchors) for the decimal numbers 0 to
/// `max`, written without leading zeros.
pub fn decimal_up_to(max: u64) -> String {
    let digits: Vec<u8> = max.to_string().bytes().map(|b| b - b'0').collect();
    let n = digits.len();
    let mut alternatives = vec!["0".to_owned()];
    if n > 1 {
        alternatives.push(format!("[1-9][0-9]{{0,{}}}", n - 2));
    }
    // As many digits as `max`: a prefix of `max`, a smaller digit, then any.
    for i in 0..n {
        let lowest = u8::from(i == 0);
        if digits[i] <= lowest {
            continue;
        }
        let prefix: String = digits[..i].iter().map(|d| char::from(b'0' + d)).collect();
        let highest = digits[i] - 1;
        let class = if lowest == highest {
            highest.to_string()
        } else {
            format!("[{lowest}-{highest}]")
        };
        let rest = n - i - 1;
        let tail = if rest > 0 {
            format!("[0-9]{{{rest}}}")
        } else {
            String::new()
        };
        alternatives.push(format!("{prefix}{class}{tail}"));
    }
    if max != 0 {
        alternatives.push(max.to_string());
    }
    format!("(?:{})", alternatives.join("|"))
}

fn string(description: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(SchemaType::Type(Type::String))
        .description(Some(description))
}

/// Declares a schema-only type with a hand-built schema.
macro_rules! schema_type {
    ($(#[$meta:meta])* $name:ident, $schema:expr) => {
        $(#[$meta])*
        pub struct $name;

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                let built: ObjectBuilder = $schema;
                built.into()
            }
        }

        impl ToSchema for $name {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
            }
        }
    };
}

/// The pattern of shop, agent and group ids.
pub const ID_PATTERN: &str = "^[A-Za-z0-9_.-]{1,64}$";

fn id(what: &str) -> ObjectBuilder {
    string(&format!("{what}: 1 to 64 letters, digits, `_`, `.` or `-`"))
        .min_length(Some(1))
        .max_length(Some(64))
        .pattern(Some(ID_PATTERN))
        .examples(["a1"])
}

schema_type!(
    /// A shop id.
    ShopId,
    id("a shop (店铺)")
);
schema_type!(
    /// An agent id.
    AgentId,
    id("an agent (客服)")
);
schema_type!(
    /// A group id.
    GroupId,
    id("a routing group (分组)")
);

/// The pattern of buyer ids.
pub fn buyer_id_pattern() -> String {
    format!("^[^{CONTROL}]{{1,128}}$")
}

schema_type!(
    /// A buyer id.
    BuyerId,
    string(
        "a buyer (买家): 1 to 128 bytes of UTF-8 without control characters \
         (the limit counts bytes; `maxLength` counts characters)"
    )
    .min_length(Some(1))
    .max_length(Some(128))
    .pattern(Some(buyer_id_pattern()))
    .examples(["b1"])
);

schema_type!(
    /// A tag: question, order state, product, intent or order id.
    Tag,
    string(
        "a value chosen by the platform, matched exactly: 1 to 200 bytes of UTF-8 \
         (the limit counts bytes; `maxLength` counts characters)"
    )
    .min_length(Some(1))
    .max_length(Some(200))
);

/// The pattern of display names.
pub fn display_name_pattern() -> String {
    format!("^[^{CONTROL}]{{1,100}}$")
}

schema_type!(
    /// An agent's display name.
    DisplayName,
    string("the name shown to the admin: 1 to 100 characters without control characters")
        .min_length(Some(1))
        .max_length(Some(100))
        .pattern(Some(display_name_pattern()))
);

/// The pattern of conversation ids.
pub fn conversation_id_pattern() -> String {
    format!("^c-{}$", decimal_up_to(u64::MAX))
}

schema_type!(
    /// A conversation id.
    ConversationId,
    string("a conversation (会话), numbered per shop: `c-<number>`")
        .pattern(Some(conversation_id_pattern()))
        .examples(["c-1"])
);

/// The pattern of event ids: `<n>` or `<n>-<m>`, each within 64 bits
/// (leading zeros allowed), or empty for no event.
pub fn event_id_pattern() -> String {
    let part = format!("0*{}", decimal_up_to(u64::MAX));
    format!("^(?:{part}(?:-{part})?)?$")
}

schema_type!(
    /// The `id:` of an event.
    EventId,
    string(
        "the `id:` of an event of the shop's stream: digits, or digits `-` digits, \
         each within 64 bits; empty names no event"
    )
    .pattern(Some(event_id_pattern()))
    .examples(["42"])
);

/// The pattern of time zone offsets: `Z` or `±HH:MM` within ±14:00.
pub const TIMEZONE_PATTERN: &str = "^(?:Z|[+-](?:0[0-9]|1[0-3]):[0-5][0-9]|[+-]14:00)$";

schema_type!(
    /// A fixed UTC offset.
    TzOffset,
    string("the shop's day boundary: `Z` or an offset `±HH:MM` within ±14:00")
        .pattern(Some(TIMEZONE_PATTERN))
        .examples(["+08:00"])
);

schema_type!(
    /// An instant.
    Timestamp,
    string("RFC 3339 in UTC with milliseconds")
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
        .examples(["2026-11-23T20:47:23.362Z"])
);

schema_type!(
    /// A shop day.
    Date,
    string("the shop's day, `YYYY-MM-DD`, in the shop's timezone")
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)))
);

#[cfg(test)]
mod tests {
    use super::*;
    use regex::Regex;

    fn same_json<C: Serialize, M: Serialize>(core: &C, mirror: &M) {
        assert_eq!(
            serde_json::to_value(core).unwrap(),
            serde_json::to_value(mirror).unwrap()
        );
    }

    #[test]
    fn every_enum_mirror_serializes_like_the_core_enum() {
        macro_rules! check {
            ($($m:ident),+) => {$(
                for c in $m::CORE {
                    same_json(c, &$m::from(*c));
                }
            )+};
        }
        check!(
            Entry,
            AgentStatus,
            ConversationStatus,
            Reason,
            EndReason,
            Strategy,
            QueueOrder,
            Overflow,
            Metric,
            SortOrder,
            Party,
            Verdict,
            AssignmentMode
        );
    }

    fn re(pattern: &str) -> Regex {
        Regex::new(pattern).expect("a valid pattern")
    }

    #[test]
    fn decimals_up_to_a_bound_match_exactly_those_numbers() {
        for max in [0, 1, 9, 10, 42, 100, 999, 1000, 4_294_967_295, u64::MAX] {
            let r = re(&format!("^{}$", decimal_up_to(max)));
            let mut probes = vec![0, 1, 9, 10, 11, 99, 100, 101, 999, 1000, 1001];
            probes.extend([max.saturating_sub(1), max, max / 2, max / 10]);
            for n in probes {
                assert_eq!(r.is_match(&n.to_string()), n <= max, "{n} against {max}");
            }
            let above = u128::from(max) + 1;
            assert!(!r.is_match(&above.to_string()), "{above} against {max}");
            assert!(!r.is_match(&format!("0{max}")) || max == 0);
        }
    }

    #[test]
    fn the_id_patterns_accept_what_the_parsers_accept() {
        let (id, conv, event, tz) = (
            re(ID_PATTERN),
            re(&conversation_id_pattern()),
            re(&event_id_pattern()),
            re(TIMEZONE_PATTERN),
        );
        for raw in [
            "a1",
            "A_b.c-9",
            "",
            "a b",
            "小王",
            &"a".repeat(64),
            &"a".repeat(65),
        ] {
            assert_eq!(
                id.is_match(raw),
                fenliu_core::AgentId::parse(raw).is_ok(),
                "{raw}"
            );
        }
        let huge = format!("c-{}", u128::from(u64::MAX) + 1);
        let max = format!("c-{}", u64::MAX);
        for raw in [
            "c-0", "c-1", "c-42", "c-01", "c-+1", "c-", "42", "c-x", &huge, &max,
        ] {
            assert_eq!(
                conv.is_match(raw),
                fenliu_core::ConversationId::parse(raw).is_ok(),
                "{raw}"
            );
        }
        let long = format!("{}-1", u64::MAX);
        let over = format!("{}0", u64::MAX);
        for raw in [
            "1", "42-0", "007", "1-2-3", "-1", "1-", "x", "+5", &long, &over,
        ] {
            assert_eq!(
                event.is_match(raw),
                fenliu_store::EventId::parse(raw).is_some(),
                "{raw}"
            );
        }
        assert!(event.is_match(""), "empty names no event");
        for raw in [
            "Z", "+08:00", "-14:00", "+14:00", "+14:01", "+15:00", "08:00", "+8:00",
        ] {
            assert_eq!(
                tz.is_match(raw),
                fenliu_core::TzOffset::parse(raw).is_ok(),
                "{raw}"
            );
        }
    }

    #[test]
    fn the_text_patterns_refuse_control_characters_like_the_parsers() {
        let (buyer, name) = (re(&buyer_id_pattern()), re(&display_name_pattern()));
        for raw in ["b1", "买家-01", "a\nb", "\u{7}", "\u{85}x", "", "tab\there"] {
            assert_eq!(
                buyer.is_match(raw),
                fenliu_core::BuyerId::parse(raw).is_ok(),
                "{raw:?}"
            );
        }
        assert!(name.is_match(&"名".repeat(100)));
        assert!(!name.is_match(&"名".repeat(101)));
        assert!(!name.is_match("a\u{1b}b"));
    }
}
