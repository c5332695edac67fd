//! Reading an export: JSON lines, each a [`Fact`], the first a `start`.
//! Every refusal names the line and why; a later `start` line (a node that
//! reloaded the shop mid-day) is dropped, the first one holds.

use std::path::Path;

use fenliu_core::daylog::{Fact, Start, What};
use fenliu_core::Millis;

use super::ReplayError;

/// Most lines an export may have (a busy shop's day is a few million).
pub const MAX_LINES: usize = 20_000_000;

/// An export, read and checked.
#[derive(Clone, Debug)]
pub struct Export {
    /// The file it was read from, as given.
    pub file: String,
    /// When the log began (the first `start` line's time).
    pub start_at: Millis,
    /// The shop as it stood then.
    pub start: Start,
    /// Every other line, with its line number (from 1), in the file's order.
    pub facts: Vec<(usize, Fact)>,
    /// Later `start` lines, ignored.
    pub ignored_starts: usize,
}

impl Export {
    /// Reads the export at `path`.
    pub fn load(path: &Path) -> Result<Self, ReplayError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|error| ReplayError::Read {
            file: file.clone(),
            error,
        })?;
        Self::parse(&file, &text)
    }

    /// Reads an export from its text; `file` names it in messages. Blank
    /// lines are skipped.
    pub fn parse(file: &str, text: &str) -> Result<Self, ReplayError> {
        let at_line = |line: usize, message: String| ReplayError::Line {
            file: file.to_owned(),
            line,
            message,
        };
        let mut start: Option<(Millis, Start)> = None;
        let mut facts = Vec::new();
        let mut ignored_starts = 0;
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            if line > MAX_LINES {
                return Err(at_line(line, format!("more than {MAX_LINES} lines")));
            }
            if raw.trim().is_empty() {
                continue;
            }
            let fact: Fact = serde_json::from_str(raw).map_err(|e| at_line(line, e.to_string()))?;
            match (fact.what, &start) {
                (What::Start(s), None) => start = Some((fact.at, *s)),
                (What::Start(_), Some(_)) => ignored_starts += 1,
                (what, None) => {
                    let kind = serde_json::to_value(Fact { at: fact.at, what })
                        .ok()
                        .and_then(|v| v["kind"].as_str().map(str::to_owned))
                        .unwrap_or_default();
                    return Err(at_line(
                        line,
                        format!("an export begins with a start line, not {kind}"),
                    ));
                }
                (what, Some(_)) => facts.push((line, Fact { at: fact.at, what })),
            }
        }
        let Some((start_at, start)) = start else {
            return Err(ReplayError::Export {
                file: file.to_owned(),
                message: "no start line: an export begins with the shop as it stood".into(),
            });
        };
        Ok(Self {
            file: file.to_owned(),
            start_at,
            start,
            facts,
            ignored_starts,
        })
    }
}
