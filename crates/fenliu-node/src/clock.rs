//! Where `now` comes from. The core never reads a clock; the node does, here.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use fenliu_core::Millis;

/// A source of wall-clock time in milliseconds since the epoch.
pub trait Clock: Send + Sync + 'static {
    /// Now.
    fn now(&self) -> Millis;
}

/// The system clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Millis {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as Millis)
            .unwrap_or(0)
    }
}

/// A shared clock.
pub type SharedClock = Arc<dyn Clock>;
