//! The agents an explanation lists, packed.
//!
//! Every conversation keeps the explanation of its last decision for as long
//! as it lives, and a decision lists up to [`super::EXPLAIN_TIE_LIMIT`] agents
//! in a large shop and every agent in a small one. As a `Vec<Considered>`
//! that was 48 bytes an agent (an id handle, four counts, a weight and two
//! verdicts), 384 of a conversation's ~2,000 bytes in a node at 200 agents
//! (issue 9). Packed, an agent is its id's text and a few bytes: a byte for
//! the status and verdict, each count as a LEB128 varint, the weight as a
//! varint when it is whole (no busy penalty) and as its eight bytes when not.
//!
//! The packing is the memory form only. `Listed` serializes as the sequence of
//! [`Considered`] it was made from, field for field, so the stored records and
//! the API are unchanged; reading one back packs it again.

use std::fmt;

use serde::ser::SerializeSeq;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{Considered, Verdict};
use crate::agent::AgentStatus;
use crate::ids::AgentId;

/// The agents an explanation lists, in the order they were listed.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Listed(Vec<u8>);

/// Bytes an agent with a short id takes, for reserving.
const TYPICAL_ENTRY: usize = 16;

/// In the status-and-verdict byte: the weight is whole (a varint follows).
const WHOLE_WEIGHT: u8 = 0x80;

impl Listed {
    /// Room for `n` agents with short ids.
    pub fn with_capacity(n: usize) -> Self {
        Self(Vec::with_capacity(n * TYPICAL_ENTRY))
    }

    /// Lists one more agent.
    pub fn push(&mut self, c: &Considered) {
        let id = c.agent_id.as_str();
        // Ids are 1 to 64 characters (`AgentId::parse`).
        self.0.push(id.len() as u8);
        self.0.extend_from_slice(id.as_bytes());
        let w = c.effective_weight;
        let whole = w.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&w);
        let flags = if whole { WHOLE_WEIGHT } else { 0 };
        self.0
            .push(flags | status_code(c.status) << 4 | verdict_code(c.verdict));
        for n in [c.load, c.max_load, c.assigned_today, c.online_secs_today] {
            put_varint(&mut self.0, n);
        }
        if whole {
            put_varint(&mut self.0, w as u32);
        } else {
            self.0.extend_from_slice(&w.to_le_bytes());
        }
    }

    /// Gives back the room reserved and not used (a decision's list is kept
    /// as long as its conversation).
    pub fn shrink_to_fit(&mut self) {
        self.0.shrink_to_fit();
    }

    /// The agents listed.
    pub fn iter(&self) -> impl Iterator<Item = Considered> + '_ {
        self.entries().map(Entry::into_considered)
    }

    /// How many agents are listed.
    pub fn len(&self) -> usize {
        self.entries().count()
    }

    /// Whether no agent is listed.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Bytes the list holds (for memory figures and tests).
    pub fn packed_len(&self) -> usize {
        self.0.len()
    }

    fn entries(&self) -> Entries<'_> {
        Entries(&self.0)
    }
}

impl FromIterator<Considered> for Listed {
    fn from_iter<I: IntoIterator<Item = Considered>>(iter: I) -> Self {
        let mut listed = Self::default();
        for c in iter {
            listed.push(&c);
        }
        listed.shrink_to_fit();
        listed
    }
}

impl From<Vec<Considered>> for Listed {
    fn from(agents: Vec<Considered>) -> Self {
        agents.into_iter().collect()
    }
}

impl fmt::Debug for Listed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Serialize for Listed {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Counted first: MessagePack and bincode write a sequence's length
        // before its items.
        let mut seq = s.serialize_seq(Some(self.len()))?;
        for entry in self.entries() {
            seq.serialize_element(&entry)?;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for Listed {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Vec::<Considered>::deserialize(d).map(Self::from)
    }
}

/// One listed agent, borrowed from the packed bytes. Serializes exactly as
/// [`Considered`] does (its name, fields and their order), with the id as
/// text, so a record holds the same bytes whichever was written.
#[derive(Serialize)]
#[serde(rename = "Considered")]
struct Entry<'a> {
    agent_id: &'a str,
    status: AgentStatus,
    load: u32,
    max_load: u32,
    assigned_today: u32,
    effective_weight: f64,
    verdict: Verdict,
    online_secs_today: u32,
}

impl Entry<'_> {
    fn into_considered(self) -> Considered {
        Considered {
            agent_id: AgentId::parse(self.agent_id).expect("packed from an agent id"),
            status: self.status,
            load: self.load,
            max_load: self.max_load,
            assigned_today: self.assigned_today,
            effective_weight: self.effective_weight,
            verdict: self.verdict,
            online_secs_today: self.online_secs_today,
        }
    }
}

/// Reads the packed entries in order. The bytes were written by
/// [`Listed::push`] and are never changed in place, so reading them cannot
/// fail.
struct Entries<'a>(&'a [u8]);

impl<'a> Iterator for Entries<'a> {
    type Item = Entry<'a>;

    fn next(&mut self) -> Option<Entry<'a>> {
        let (&len, rest) = self.0.split_first()?;
        let (id, rest) = rest.split_at(usize::from(len));
        let (&codes, mut rest) = rest.split_first().expect("packed entry");
        let mut next = || take_varint(&mut rest);
        let (load, max_load, assigned_today, online_secs_today) = (next(), next(), next(), next());
        let effective_weight = if codes & WHOLE_WEIGHT != 0 {
            f64::from(take_varint(&mut rest))
        } else {
            let (bits, after) = rest.split_at(8);
            rest = after;
            f64::from_le_bytes(bits.try_into().expect("eight bytes"))
        };
        self.0 = rest;
        Some(Entry {
            agent_id: std::str::from_utf8(id).expect("packed from an agent id"),
            status: status_of(codes >> 4 & 0x7),
            load,
            max_load,
            assigned_today,
            effective_weight,
            verdict: verdict_of(codes & 0xf),
            online_secs_today,
        })
    }
}

fn put_varint(out: &mut Vec<u8>, mut n: u32) {
    while n >= 0x80 {
        out.push(n as u8 | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn take_varint(bytes: &mut &[u8]) -> u32 {
    let mut n = 0u32;
    for shift in (0..35).step_by(7) {
        let (&b, rest) = bytes.split_first().expect("packed varint");
        *bytes = rest;
        n |= u32::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            break;
        }
    }
    n
}

fn status_code(status: AgentStatus) -> u8 {
    match status {
        AgentStatus::Online => 0,
        AgentStatus::Busy => 1,
        AgentStatus::Offline => 2,
    }
}

fn status_of(code: u8) -> AgentStatus {
    match code {
        0 => AgentStatus::Online,
        1 => AgentStatus::Busy,
        _ => AgentStatus::Offline,
    }
}

const VERDICTS: [Verdict; 8] = [
    Verdict::Picked,
    Verdict::Eligible,
    Verdict::NotInTarget,
    Verdict::Offline,
    Verdict::Busy,
    Verdict::Saturated,
    Verdict::MoreLoaded,
    Verdict::Declined,
];

fn verdict_code(verdict: Verdict) -> u8 {
    VERDICTS
        .iter()
        .position(|v| *v == verdict)
        .expect("every verdict is in VERDICTS") as u8
}

fn verdict_of(code: u8) -> Verdict {
    VERDICTS[usize::from(code)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn considered(id: &str, weight: f64, verdict: Verdict, status: AgentStatus) -> Considered {
        Considered {
            agent_id: AgentId::parse(id).unwrap(),
            status,
            load: 49,
            max_load: 50,
            assigned_today: 300,
            effective_weight: weight,
            verdict,
            online_secs_today: 86_399,
        }
    }

    fn every_kind() -> Vec<Considered> {
        let long = "a".repeat(64);
        let mut all = Vec::new();
        for (i, v) in VERDICTS.iter().enumerate() {
            for s in [AgentStatus::Online, AgentStatus::Busy, AgentStatus::Offline] {
                all.push(considered(&format!("a{i}"), 3.0, *v, s));
            }
        }
        all.push(considered(
            &long,
            12.0 / 7.0,
            Verdict::Eligible,
            AgentStatus::Busy,
        ));
        all.push(considered("w0", 0.0, Verdict::Busy, AgentStatus::Busy));
        all.push(considered(
            "big",
            f64::from(u32::MAX),
            Verdict::Picked,
            AgentStatus::Online,
        ));
        let mut max = considered("max", 5e9, Verdict::Picked, AgentStatus::Online);
        (
            max.load,
            max.max_load,
            max.assigned_today,
            max.online_secs_today,
        ) = (u32::MAX, 1, u32::MAX - 1, 0);
        all.push(max);
        all
    }

    #[test]
    fn a_packed_list_gives_back_every_agent_as_it_was_listed() {
        let all = every_kind();
        let listed: Listed = all.iter().cloned().collect();
        assert_eq!(listed.iter().collect::<Vec<_>>(), all);
        assert_eq!(listed.len(), all.len());
        assert!(Listed::default().is_empty() && !listed.is_empty());
    }

    #[test]
    fn a_packed_list_serializes_as_the_agents_it_holds() {
        let all = every_kind();
        let listed = Listed::from(all.clone());
        assert_eq!(
            serde_json::to_string(&listed).unwrap(),
            serde_json::to_string(&all).unwrap()
        );
        assert_eq!(
            bincode::serde::encode_to_vec(&listed, bincode::config::standard()).unwrap(),
            bincode::serde::encode_to_vec(&all, bincode::config::standard()).unwrap()
        );
        let back: Listed = serde_json::from_str(&serde_json::to_string(&all).unwrap()).unwrap();
        assert_eq!(back, listed);
    }

    #[test]
    fn an_agent_with_a_short_id_packs_into_a_third_of_its_unpacked_size() {
        let eight: Listed = (0..8)
            .map(|i| {
                considered(
                    &format!("a{i}"),
                    1.0,
                    Verdict::Eligible,
                    AgentStatus::Online,
                )
            })
            .collect();
        let unpacked = 8 * std::mem::size_of::<Considered>();
        assert!(
            eight.packed_len() * 3 <= unpacked,
            "{} bytes packed against {unpacked}",
            eight.packed_len()
        );
    }
}
