//! `nexus migrate` and `nexus validate`: schema setup and a pre-flight check that names the part
//! that fails.

use std::time::Duration;

use nexus_model::config::Config;
use nexus_sinks::postgres::{MIGRATOR, pending_migrations};
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
        .map_err(|source| MigrateError::Connect { url: redact(url), source })?;
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

/// Checks NATS and PostgreSQL for a loaded configuration (the config itself was checked by loading).
pub async fn validate(config: &Config) -> Vec<Check> {
    let mut checks = Vec::new();
    let nats = tokio::time::timeout(
        CHECK_TIMEOUT,
        async_nats::ConnectOptions::new().connection_timeout(CHECK_TIMEOUT).connect(config.nats.url.as_str()),
    )
    .await;
    checks.push(Check {
        part: "nats",
        outcome: match nats {
            Ok(Ok(client)) => {
                let version = client.server_info().version;
                Ok(format!("connected to {} (nats-server {version})", config.nats.url))
            }
            Ok(Err(error)) => Err(format!("cannot connect to {}: {error}", config.nats.url)),
            Err(_) => Err(format!("cannot connect to {}: timed out after {CHECK_TIMEOUT:?}", config.nats.url)),
        },
    });
    let url = redact(&config.postgres.url);
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

/// The URL without a password, for messages and logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(redact("postgres://u:secret@host:5432/db"), "postgres://u:***@host:5432/db");
        assert_eq!(redact("postgres://u@host/db"), "postgres://u@host/db");
        assert_eq!(redact("nats://127.0.0.1:4222"), "nats://127.0.0.1:4222");
    }
}
