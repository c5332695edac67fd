//! The wake-up scanner: shops whose timers are due and that nobody serves
//! (after a takeover or a passivation) are started here to fire them.

use std::time::Duration;

use super::{Node, WAKE_BATCH};
use crate::shop_actor::Tick;

impl Node {
    /// Wakes shops whose timers are due and that nobody serves (after a
    /// takeover or a passivation).
    ///
    /// Due shops are read [`WAKE_BATCH`] at a time, earliest first; when a
    /// page comes back full the next pass reads the page after it, so that
    /// due shops this node cannot wake (served by a node that is slow to
    /// tick them) do not hide the ones behind them forever.
    pub(super) async fn wake_due_shops(self) {
        let mut every = tokio::time::interval(Duration::from_millis(500));
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut skip = 0;
        loop {
            every.tick().await;
            if self.is_draining() {
                continue;
            }
            let Ok(due) = self.store.due_wakeups(self.now(), skip, WAKE_BATCH).await else {
                continue;
            };
            skip = if due.len() == WAKE_BATCH {
                skip + WAKE_BATCH
            } else {
                0
            };
            for shop in due {
                // Shops another node serves are that node's to wake.
                if let Ok(addr) = self.local_actor(&shop).await {
                    addr.do_send(Tick);
                }
            }
        }
    }
}
