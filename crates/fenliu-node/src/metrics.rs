//! The node's Prometheus metrics.

use prometheus::{
    Encoder, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

/// Every metric of a node. Cheap to clone: the handles share their values.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    /// Inquiries by outcome (`active`, `queued`, `existing`) and reason.
    pub inquiries: IntCounterVec,
    /// Time to decide and persist one command, by command.
    pub decision_seconds: prometheus::HistogramVec,
    /// Time spent in the core alone for one routing decision.
    pub routing_seconds: Histogram,
    /// Time from inquiry to assignment of each assigned conversation.
    pub queue_wait_seconds: Histogram,
    /// Queued conversations per shop.
    pub queue_length: IntGaugeVec,
    /// Active conversations per shop.
    pub active_conversations: IntGaugeVec,
    /// Agents per shop and status.
    pub agents: IntGaugeVec,
    /// Shop actors alive on this node.
    pub shop_actors: IntGauge,
    /// Store operations that failed, by operation.
    pub store_errors: IntCounterVec,
    /// Commands refused by the core, by command.
    pub refused: IntCounterVec,
    /// Timer ticks that changed something.
    pub timer_ticks: IntCounter,
    /// HTTP requests by method, matched route and status.
    pub http_requests: IntCounterVec,
    /// Round trips to the store made by shop actors, by kind (`write`,
    /// `load`, `wakeup`): with group commit, far fewer writes than commands.
    pub store_round_trips: IntCounterVec,
    /// Commands (and reads waiting on a write) answered by one shop write.
    pub write_commands: Histogram,
    /// Bytes of records and events sent to the store by shop writes.
    pub store_bytes_written: IntCounter,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry with every metric registered.
    pub fn new() -> Self {
        let registry = Registry::new();
        let latency_buckets = vec![
            0.000_01, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025,
            0.05, 0.1, 0.25, 0.5, 1.0,
        ];
        let batch_buckets = vec![
            1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0,
        ];
        let m = Self {
            store_round_trips: IntCounterVec::new(
                Opts::new(
                    "fenliu_store_round_trips_total",
                    "Round trips to the store made by shop actors, by kind",
                ),
                &["kind"],
            )
            .expect("metric"),
            write_commands: Histogram::with_opts(
                HistogramOpts::new(
                    "fenliu_write_batch_commands",
                    "Commands answered by one shop write (group commit)",
                )
                .buckets(batch_buckets),
            )
            .expect("metric"),
            store_bytes_written: IntCounter::new(
                "fenliu_store_written_bytes_total",
                "Bytes of records and events written by shop actors",
            )
            .expect("metric"),
            inquiries: IntCounterVec::new(
                Opts::new("fenliu_inquiries_total", "Inquiries by outcome and reason"),
                &["outcome", "reason"],
            )
            .expect("metric"),
            decision_seconds: prometheus::HistogramVec::new(
                HistogramOpts::new(
                    "fenliu_command_seconds",
                    "Time to decide and persist one command",
                )
                .buckets(latency_buckets.clone()),
                &["command"],
            )
            .expect("metric"),
            routing_seconds: Histogram::with_opts(
                HistogramOpts::new(
                    "fenliu_decision_seconds",
                    "Time the core takes for one routing decision (inquiry)",
                )
                .buckets(latency_buckets),
            )
            .expect("metric"),
            queue_wait_seconds: Histogram::with_opts(
                HistogramOpts::new(
                    "fenliu_queue_wait_seconds",
                    "Time from inquiry to assignment of each conversation assigned (0 when at once)",
                )
                .buckets(vec![
                    0.5, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0,
                ]),
            )
            .expect("metric"),
            queue_length: IntGaugeVec::new(
                Opts::new("fenliu_queue_length", "Queued conversations per shop"),
                &["shop"],
            )
            .expect("metric"),
            active_conversations: IntGaugeVec::new(
                Opts::new(
                    "fenliu_active_conversations",
                    "Active conversations per shop",
                ),
                &["shop"],
            )
            .expect("metric"),
            agents: IntGaugeVec::new(
                Opts::new("fenliu_agents", "Agents per shop and status"),
                &["shop", "status"],
            )
            .expect("metric"),
            shop_actors: IntGauge::new("fenliu_shop_actors", "Shop actors alive on this node")
                .expect("metric"),
            store_errors: IntCounterVec::new(
                Opts::new("fenliu_store_errors_total", "Failed store operations"),
                &["op"],
            )
            .expect("metric"),
            refused: IntCounterVec::new(
                Opts::new(
                    "fenliu_refused_commands_total",
                    "Commands refused by the core",
                ),
                &["command", "kind"],
            )
            .expect("metric"),
            timer_ticks: IntCounter::new(
                "fenliu_timer_ticks_total",
                "Timer ticks that changed a shop",
            )
            .expect("metric"),
            http_requests: IntCounterVec::new(
                Opts::new("fenliu_http_requests_total", "HTTP requests"),
                &["method", "route", "status"],
            )
            .expect("metric"),
            registry,
        };
        let r = &m.registry;
        r.register(Box::new(m.inquiries.clone())).expect("register");
        r.register(Box::new(m.decision_seconds.clone()))
            .expect("register");
        r.register(Box::new(m.routing_seconds.clone()))
            .expect("register");
        r.register(Box::new(m.queue_wait_seconds.clone()))
            .expect("register");
        r.register(Box::new(m.queue_length.clone()))
            .expect("register");
        r.register(Box::new(m.active_conversations.clone()))
            .expect("register");
        r.register(Box::new(m.agents.clone())).expect("register");
        r.register(Box::new(m.shop_actors.clone()))
            .expect("register");
        r.register(Box::new(m.store_errors.clone()))
            .expect("register");
        r.register(Box::new(m.refused.clone())).expect("register");
        r.register(Box::new(m.timer_ticks.clone()))
            .expect("register");
        r.register(Box::new(m.http_requests.clone()))
            .expect("register");
        r.register(Box::new(m.store_round_trips.clone()))
            .expect("register");
        r.register(Box::new(m.write_commands.clone()))
            .expect("register");
        r.register(Box::new(m.store_bytes_written.clone()))
            .expect("register");
        m
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buf)
            .expect("text encoding");
        String::from_utf8(buf).expect("utf-8 metrics")
    }
}
