//! Configuration of the PostgreSQL sink.

use std::time::Duration;

use sqlx::postgres::PgPoolOptions;

use super::sink::{PostgresError, PostgresSink};

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
        let pool = PgPoolOptions::new()
            .max_connections(2)
            .acquire_timeout(self.connect_timeout)
            .connect(&self.url)
            .await
            .map_err(PostgresError::Connect)?;
        PostgresSink::new(pool, self.name.clone()).await
    }
}
