//! Configuration of the PostgreSQL sink.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use super::sink::{PostgresError, PostgresSink};

/// Plans every statement for the arrays it is given and the tables as they are at that moment.
///
/// The sink runs the same prepared statements for the whole life of a worker, starting on empty
/// tables. PostgreSQL's default keeps the generic plan it makes at the sixth run, and the one made
/// on an empty `decisions` table scans the whole table on every batch (and once more per retracted
/// decision) long after it holds hundreds of thousands of rows (21 million rows read in a 200 s
/// soak). Planning each run adds one planning pass per statement, small next to its writes.
const PLAN_EVERY_TIME: (&str, &str) = ("plan_cache_mode", "force_custom_plan");

/// How to reach PostgreSQL and under which name to record progress.
#[derive(Clone, Debug)]
pub struct PostgresSinkConfig {
    /// Connection URL (`postgres.url`, or `DATABASE_URL`).
    pub url: String,
    /// Name of this sink's row in `sink_progress`; default `postgres`.
    pub name: String,
    /// How long to wait for a connection before giving up; default 5 s.
    pub connect_timeout: Duration,
}

impl PostgresSinkConfig {
    /// A configuration with the defaults for everything but the URL.
    pub fn new(url: impl Into<String>) -> PostgresSinkConfig {
        PostgresSinkConfig { url: url.into(), name: "postgres".to_string(), connect_timeout: Duration::from_secs(5) }
    }

    /// Connects and checks that the schema is migrated.
    pub async fn build(&self) -> Result<PostgresSink, PostgresError> {
        let options = PgConnectOptions::from_str(&self.url).map_err(PostgresError::Connect)?.options([PLAN_EVERY_TIME]);
        let pool = PgPoolOptions::new()
            .max_connections(2)
            .acquire_timeout(self.connect_timeout)
            .connect_with(options)
            .await
            .map_err(PostgresError::Connect)?;
        PostgresSink::new(pool, self.name.clone()).await
    }
}
