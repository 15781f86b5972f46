//! `nexus migrate` and `nexus validate`: schema setup and a pre-flight check that names the part
//! that fails.

use std::time::Duration;

use nexus_model::config::Config;
use nexus_sinks::postgres::{MIGRATOR, pending_migrations};
use nexus_sources::nats::NatsConnection;
use nexus_sources::nats::connection::redact_url;
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgConnection};

/// How long each connectivity check waits.
const CHECK_TIMEOUT: Duration = Duration::from_secs(3);

/// Why migrating failed.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// PostgreSQL could not be reached.
    #[error("cannot connect to postgresql at {url}")]
    Connect {
        /// The URL, without credentials.
        url: String,
        /// The cause.
        #[source]
        source: sqlx::Error,
    },
    /// A migration failed.
    #[error("migration failed")]
    Migrate(#[source] sqlx::migrate::MigrateError),
}

/// Applies every pending migration; returns how many the database now has.
pub async fn migrate(url: &str) -> Result<usize, MigrateError> {
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(CHECK_TIMEOUT)
        .connect(url)
        .await
        .map_err(|source| MigrateError::Connect { url: redact_url(url), source })?;
    MIGRATOR.run(&pool).await.map_err(MigrateError::Migrate)?;
    pool.close().await;
    Ok(MIGRATOR.iter().count())
}

/// The outcome of one validation check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// What was checked: `config`, `nats`, `postgres`, `migrations`.
    pub part: &'static str,
    /// `Ok(detail)` or `Err(what is wrong and what to do)`.
    pub outcome: Result<String, String>,
}

/// Connects to NATS as `nexus run` would (credentials from the environment, TLS from the config).
async fn check_nats(config: &Config) -> Result<String, String> {
    let connection = NatsConnection::from_config(&config.nats).map_err(|e| e.to_string())?;
    let connection = NatsConnection { connect_timeout: CHECK_TIMEOUT, ..connection.named("nexus-validate") };
    let url = connection.redacted_url();
    match tokio::time::timeout(CHECK_TIMEOUT, connection.connect()).await {
        Ok(Ok(client)) => {
            let version = client.server_info().version;
            let tls = if config.nats.tls { ", TLS" } else { "" };
            Ok(format!("connected to {url} (nats-server {version}{tls}; credentials: {:?})", connection.auth))
        }
        Ok(Err(error)) => Err(format!("cannot connect to {url}: {error}")),
        Err(_) => Err(format!("cannot connect to {url}: timed out after {CHECK_TIMEOUT:?}")),
    }
}

/// Checks NATS and PostgreSQL for a loaded configuration (the config itself was checked by loading).
pub async fn validate(config: &Config) -> Vec<Check> {
    let mut checks = Vec::new();
    checks.push(Check { part: "nats", outcome: check_nats(config).await });
    let url = redact_url(&config.postgres.url);
    let connected = tokio::time::timeout(CHECK_TIMEOUT, PgConnection::connect(&config.postgres.url)).await;
    match connected {
        Err(_) | Ok(Err(_)) => {
            let problem = match connected {
                Ok(Err(error)) => error.to_string(),
                _ => format!("timed out after {CHECK_TIMEOUT:?}"),
            };
            checks.push(Check { part: "postgres", outcome: Err(format!("cannot connect to {url}: {problem}")) });
            checks.push(Check { part: "migrations", outcome: Err("not checked: postgres is unreachable".to_string()) });
        }
        Ok(Ok(connection)) => {
            let _ = connection.close().await;
            let Ok(pool) = PgPoolOptions::new().max_connections(1).connect(&config.postgres.url).await else {
                checks.push(Check { part: "postgres", outcome: Err(format!("{url} went away during the check")) });
                return checks;
            };
            checks.push(Check { part: "postgres", outcome: Ok(format!("connected to {url}")) });
            let outcome = match pending_migrations(&pool).await {
                Ok(0) => Ok(format!("all {} applied", MIGRATOR.iter().count())),
                Ok(pending) => Err(format!("{pending} migration(s) pending: run `nexus migrate`")),
                Err(error) => Err(format!("cannot read the migration table: {error}")),
            };
            checks.push(Check { part: "migrations", outcome });
            pool.close().await;
        }
    }
    checks
}
