//! The shop actor's protocol: what callers send it, as data. A [`Decide`]
//! carries a core `Command` with a `Guard` and a `Follow`, an [`Ask`] a core
//! `Query`; the actor turns each into an operation on its shop and answers
//! owned data (see `fenliu_core::query`).

use actix::prelude::*;
use fenliu_core::query::{Decided, Follow, Guard, NotAssigned, Query};
use fenliu_core::{Command, Effects, Millis, Reason, Reply, Shop};
use rand::rngs::SmallRng;

use super::{Op, ShopActor};
use crate::error::NodeError;
use crate::metrics::Metrics;

/// Asks the shop a question (after its due timers fired); answered at once
/// unless a change decided earlier still waits to be stored.
pub struct Ask<Q>(pub Q);

impl<Q: Query> Message for Ask<Q> {
    type Result = Result<Q::Answer, NodeError>;
}

/// Decides a command, if `guard` lets it run, and answers its reply with what
/// `follow` computes from the shop right after; answered once the change is
/// stored.
pub struct Decide<F> {
    /// Checked in the same step as the command.
    pub guard: Guard,
    /// The command.
    pub cmd: Command,
    /// What the caller learns besides the reply.
    pub follow: F,
}

/// What a [`Decide`] answers: the decision, or the guard's refusal.
pub type Decision<A> = Result<Result<Decided<A>, NotAssigned>, NodeError>;

impl<F: Follow> Message for Decide<F> {
    type Result = Decision<F::Answer>;
}

/// Runs an arbitrary operation: only for tests that make the core fail.
#[cfg(feature = "test-hooks")]
pub struct Run<T>(pub Op<T>);

#[cfg(feature = "test-hooks")]
impl<T: Send + 'static> Message for Run<T> {
    type Result = Result<T, NodeError>;
}

impl<Q: Query> Handler<Ask<Q>> for ShopActor {
    type Result = ResponseFuture<Result<Q::Answer, NodeError>>;

    fn handle(&mut self, Ask(q): Ask<Q>, ctx: &mut Self::Context) -> Self::Result {
        let op: Op<Q::Answer> = Box::new(move |shop, now, rng| {
            let fx = shop.tick(now, rng);
            (Ok(q.ask(shop, now)), fx)
        });
        self.answer(op, false, ctx)
    }
}

impl<F: Follow> Handler<Decide<F>> for ShopActor {
    type Result = ResponseFuture<Decision<F::Answer>>;

    fn handle(&mut self, d: Decide<F>, ctx: &mut Self::Context) -> Self::Result {
        let metrics = self.env.metrics.clone();
        let op: Op<_> = Box::new(move |shop, now, rng| decide(shop, d, now, rng, &metrics));
        self.answer(op, false, ctx)
    }
}

#[cfg(feature = "test-hooks")]
impl<T: Send + 'static> Handler<Run<T>> for ShopActor {
    type Result = ResponseFuture<Result<T, NodeError>>;

    fn handle(&mut self, Run(op): Run<T>, ctx: &mut Self::Context) -> Self::Result {
        self.answer(op, false, ctx)
    }
}

/// Fires the due timers, then checks the guard, applies the command and
/// follows it up; counts it in the metrics.
fn decide<F: Follow>(
    shop: &mut Shop,
    Decide { guard, cmd, follow }: Decide<F>,
    now: Millis,
    rng: &mut SmallRng,
    metrics: &Metrics,
) -> (Decision<F::Answer>, Effects) {
    let mut fx = shop.tick(now, rng);
    if let Err(refused) = guard.check(shop) {
        return (Ok(Err(refused)), fx);
    }
    let name = cmd.name();
    let inquiry = matches!(cmd, Command::Inquire(_));
    let t = std::time::Instant::now();
    let handled = shop.handle(cmd, now, rng);
    if inquiry {
        metrics.routing_seconds.observe(t.elapsed().as_secs_f64());
    }
    match handled {
        Ok((reply, more)) => {
            if fx.is_empty() {
                fx = more;
            } else {
                fx.events.extend(more.events);
                fx.changed.extend(more.changed);
                fx.facts.extend(more.facts);
            }
            if inquiry {
                count_inquiry(metrics, shop, &reply);
            }
            let answer = follow.follow(shop, &reply, now);
            (Ok(Ok(Decided { reply, answer })), fx)
        }
        Err(e) => {
            metrics.refused.with_label_values(&[name, e.kind()]).inc();
            (Err(e.into()), fx)
        }
    }
}

/// Counts an inquiry by outcome and reason.
fn count_inquiry(metrics: &Metrics, shop: &Shop, reply: &Reply) {
    if let Reply::Conversation { id, reason, .. } = reply {
        let outcome = match reason {
            Reason::Existing => "existing",
            Reason::Queued => "queued",
            _ => match shop.conversation(*id).map(|c| c.status) {
                Some(fenliu_core::ConversationStatus::Queued) => "queued",
                _ => "active",
            },
        };
        metrics
            .inquiries
            .with_label_values(&[outcome, reason.as_str()])
            .inc();
    }
}
