//! Finding the first rule that matches an inquiry (访客分流规则) without trying
//! every rule.
//!
//! A shop may bind hundreds of products, questions or intents to groups, one
//! rule each, and trying the rules in order made every decision linear in
//! them. A rule that names a product, a question, an intent or an order state
//! can only match an inquiry carrying that exact value, so each such rule is
//! filed under the first of those it names; a rule naming none of them (only
//! an entry, or nothing) is filed with the rules every inquiry must try. An
//! inquiry then tries those, and the rules filed under each of its own
//! values, each list in rule order, and the lowest matching rule wins:
//! exactly the rule that trying every rule in order finds.

use crate::ids::{IdMap, Tag};
use crate::settings::{Inquiry, Rule, When};

/// The tag fields a rule can be filed under, most selective first.
const FIELDS: usize = 4;

fn tags_of_when(w: &When) -> [Option<&Tag>; FIELDS] {
    [
        w.product_id.as_ref(),
        w.question.as_ref(),
        w.intent.as_ref(),
        w.order_state.as_ref(),
    ]
}

fn tags_of_inquiry(q: &Inquiry) -> [Option<&Tag>; FIELDS] {
    [
        q.product_id.as_ref(),
        q.question.as_ref(),
        q.intent.as_ref(),
        q.order_state.as_ref(),
    ]
}

/// The rules of a shop, filed for matching.
#[derive(Clone, Debug, Default)]
pub(crate) struct RuleIndex {
    /// Rules naming none of the tag fields, in order.
    unfiled: Vec<usize>,
    /// By field, then value: the rules filed there, in order.
    filed: [IdMap<Tag, Vec<usize>>; FIELDS],
}

impl RuleIndex {
    /// Files `rules`.
    pub(crate) fn new(rules: &[Rule]) -> Self {
        let mut index = Self::default();
        for (i, rule) in rules.iter().enumerate() {
            let first = tags_of_when(&rule.when)
                .into_iter()
                .enumerate()
                .find_map(|(field, tag)| tag.map(|t| (field, t)));
            match first {
                Some((field, tag)) => index.filed[field].entry(tag.clone()).or_default().push(i),
                None => index.unfiled.push(i),
            }
        }
        index
    }

    /// The first of `rules` (the ones this index was built from) whose
    /// condition the inquiry meets.
    pub(crate) fn first_match(&self, rules: &[Rule], q: &Inquiry) -> Option<usize> {
        if rules.is_empty() {
            return None;
        }
        let mut best: Option<usize> = None;
        let lists = tags_of_inquiry(q)
            .into_iter()
            .enumerate()
            .filter_map(|(field, tag)| self.filed[field].get(tag?))
            .chain(std::iter::once(&self.unfiled));
        for list in lists {
            // A list is in rule order: only rules before the best so far can
            // win, and the first of them that matches is the list's best.
            let found = list
                .iter()
                .copied()
                .take_while(|&i| best.is_none_or(|b| i < b))
                .find(|&i| rules[i].when.matches(q));
            best = found.or(best);
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};

    use super::*;
    use crate::ids::BuyerId;
    use crate::inquiry::Entry;
    use crate::settings::{RoutingSettings, Target};

    const ENTRIES: [Entry; 5] = [
        Entry::ProductDetail,
        Entry::OrderDetail,
        Entry::DirectMessage,
        Entry::Live,
        Entry::Other,
    ];

    fn maybe_tag(rng: &mut SmallRng, kind: &str, odds: f64) -> Option<Tag> {
        rng.random_bool(odds)
            .then(|| Tag::parse(&format!("{kind}-{}", rng.random_range(0..4))).unwrap())
    }

    /// Random rule sets and inquiries: the index finds the rule that trying
    /// every rule in order finds.
    #[test]
    fn the_index_finds_the_first_matching_rule_as_trying_every_rule_does() {
        let mut rng = SmallRng::seed_from_u64(5);
        for _ in 0..300 {
            let rules: Vec<Rule> = (0..rng.random_range(0..40))
                .map(|_| Rule {
                    when: When {
                        entry: rng
                            .random_bool(0.4)
                            .then(|| ENTRIES[rng.random_range(0..ENTRIES.len())]),
                        question: maybe_tag(&mut rng, "q", 0.3),
                        order_state: maybe_tag(&mut rng, "o", 0.2),
                        product_id: maybe_tag(&mut rng, "p", 0.3),
                        intent: maybe_tag(&mut rng, "i", 0.2),
                    },
                    to: Target::default(),
                })
                .collect();
            let settings = RoutingSettings {
                rules,
                ..RoutingSettings::default()
            };
            let index = RuleIndex::new(&settings.rules);
            for _ in 0..50 {
                let q = Inquiry {
                    buyer_id: BuyerId::parse("b").unwrap(),
                    entry: ENTRIES[rng.random_range(0..ENTRIES.len())],
                    question: maybe_tag(&mut rng, "q", 0.6),
                    order_state: maybe_tag(&mut rng, "o", 0.6),
                    product_id: maybe_tag(&mut rng, "p", 0.6),
                    intent: maybe_tag(&mut rng, "i", 0.6),
                    priority: Default::default(),
                };
                assert_eq!(
                    index.first_match(&settings.rules, &q),
                    settings.matching_rule(&q),
                    "{q:?} against {:?}",
                    settings.rules
                );
            }
        }
    }
}
