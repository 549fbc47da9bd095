//! The time series' columns beyond the core's: each part registers the ones it produces,
//! so a model's `timeseries.csv` and timeline carry the columns of the parts it uses,
//! each declared once here with its label and how a bucket holds it.

/// How a column's value belongs to a bucket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Aggregate {
    /// A count of things that happened in the bucket (shown per second on timelines).
    Sum,
    /// A level: the last value set in the bucket, carried forward while nothing changes.
    Last,
    /// A level like `Last`, whose timeline shows its peak over the buckets a point merges.
    Peak,
}

/// A time-series column a part registers with the recorder.
#[derive(Debug, PartialEq)]
pub struct SeriesColumn {
    /// The `timeseries.csv` header.
    pub key: &'static str,
    /// What a timeline panel calls it (a count is drawn per second).
    pub label: &'static str,
    pub aggregate: Aggregate,
    /// Decimals in `timeseries.csv` (0: an integer).
    pub decimals: usize,
}

impl SeriesColumn {
    /// The timeline panel's title: a count per second, a level as it is.
    pub fn panel_title(&self) -> String {
        match self.aggregate {
            Aggregate::Sum => format!("{} per s", self.label),
            Aggregate::Last | Aggregate::Peak => self.label.to_string(),
        }
    }
}

const fn column(key: &'static str, label: &'static str, aggregate: Aggregate, decimals: usize) -> SeriesColumn {
    SeriesColumn { key, label, aggregate, decimals }
}

/// Users forced to log in again because their still valid session was lost: its state
/// was lost (sessions; expiries and revocations are not counted here).
pub static LOGOUTS_STATE_LOST: SeriesColumn = column("logouts_state_lost", "logouts, state lost", Aggregate::Sum, 0);
/// Jobs waiting in the job queue at the end of the bucket (long jobs, queued).
pub static JOBS_QUEUED: SeriesColumn = column("jobs_queued", "jobs queued", Aggregate::Peak, 0);
/// Requests of the abusive client the rate limit let through (rate limits).
pub static ABUSER_ALLOWED: SeriesColumn = column("abuser_allowed", "abuser allowed", Aggregate::Sum, 0);
/// What the running fleet costs per hour at the end of the bucket (the fleet).
pub static COST_PER_HOUR: SeriesColumn = column("cost_per_hour", "cost per hour ($)", Aggregate::Last, 4);
/// WebSocket messages sent in the bucket, those of them delivered, and reconnects.
pub static WS_SENT: SeriesColumn = column("ws_sent", "messages sent", Aggregate::Sum, 0);
pub static WS_DELIVERED: SeriesColumn = column("ws_delivered", "messages delivered", Aggregate::Sum, 0);
pub static WS_RECONNECTS: SeriesColumn = column("ws_reconnects", "reconnects", Aggregate::Sum, 0);

/// Chat messages sent and delivered, and the chat's HTTP requests (long polling).
pub static LP_SENT: SeriesColumn = column("lp_sent", "chat messages sent", Aggregate::Sum, 0);
pub static LP_DELIVERED: SeriesColumn = column("lp_delivered", "chat messages delivered", Aggregate::Sum, 0);
pub static LP_REQUESTS: SeriesColumn = column("lp_requests", "chat HTTP requests", Aggregate::Sum, 0);

/// The worst 99th percentile latency of ordinary requests (no upload, no job) in the
/// bucket, where uploads or jobs share the servers and the all-request p99 is theirs.
pub static PAGE_LATENCY_P99: SeriesColumn = column("page_latency_p99_ms", "page latency p99 (ms)", Aggregate::Peak, 3);
/// Server-memory carts found empty in the bucket (carts).
pub static CARTS_LOST: SeriesColumn = column("carts_lost", "carts lost", Aggregate::Sum, 0);
/// Reads of a file that is on another server's disk, or on one that restarted (uploads).
pub static FILES_NOT_FOUND: SeriesColumn = column("files_not_found_404", "404 not found", Aggregate::Sum, 0);

/// Requests that ended ok after any retries (goodput), and retries sent (client retries).
pub static RETRY_GOODPUT: SeriesColumn = column("goodput", "goodput", Aggregate::Sum, 0);
pub static RETRY_RETRIES: SeriesColumn = column("retries", "retries sent", Aggregate::Sum, 0);

/// Every part's column, in the order `timeseries.csv` writes them.
pub static PART_COLUMNS: [&SeriesColumn; 15] = [
    &LOGOUTS_STATE_LOST,
    &JOBS_QUEUED,
    &ABUSER_ALLOWED,
    &COST_PER_HOUR,
    &WS_SENT,
    &WS_DELIVERED,
    &WS_RECONNECTS,
    &PAGE_LATENCY_P99,
    &CARTS_LOST,
    &FILES_NOT_FOUND,
    &RETRY_GOODPUT,
    &RETRY_RETRIES,
    &LP_SENT,
    &LP_DELIVERED,
    &LP_REQUESTS,
];

/// A registered column's place in a run's rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ColumnId(pub usize);
