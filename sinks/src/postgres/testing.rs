//! A throw-away database for integration tests: created on the server named by `DATABASE_URL`
//! (default `postgres://postgres@127.0.0.1:5432/test`), migrated, and dropped when the guard is.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgConnection, PgPool};

use super::MIGRATOR;

/// The server the tests use when `DATABASE_URL` is not set.
pub const DEFAULT_TEST_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A database that exists for the lifetime of the value.
pub struct TestDatabase {
    /// URL of the new database.
    pub url: String,
    /// The server's maintenance URL, used to drop the database.
    admin_url: String,
    /// The database name.
    pub name: String,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

impl TestDatabase {
    /// Creates an empty database; `migrate` applies the schema.
    pub async fn create(migrate: bool) -> Result<TestDatabase, sqlx::Error> {
        let admin_url = std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_TEST_URL.to_string());
        TestDatabase::create_on(&admin_url, migrate).await
    }

    /// Creates an empty database on the server behind `admin_url`; `migrate` applies the schema.
    pub async fn create_on(admin_url: &str, migrate: bool) -> Result<TestDatabase, sqlx::Error> {
        let admin_url = admin_url.to_string();
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default();
        let name = format!(
            "nexus_test_{}_{}_{}",
            std::process::id(),
            nanos % 1_000_000_000,
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let mut admin = PgConnection::connect(&admin_url).await?;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut admin).await?;
        let base = admin_url.rsplit_once('/').map_or(admin_url.as_str(), |(base, _)| base);
        let url = format!("{base}/{name}");
        if migrate {
            let pool = PgPoolOptions::new().max_connections(1).connect(&url).await?;
            MIGRATOR.run(&pool).await?;
            pool.close().await;
        }
        Ok(TestDatabase { url, admin_url, name })
    }

    /// A pool on the test database.
    pub async fn pool(&self) -> Result<PgPool, sqlx::Error> {
        PgPoolOptions::new().max_connections(2).connect(&self.url).await
    }

    /// Drops the database (also attempted on drop, best effort).
    pub async fn drop_database(&self) -> Result<(), sqlx::Error> {
        let mut admin = PgConnection::connect(&self.admin_url).await?;
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)))
            .execute(&mut admin)
            .await?;
        Ok(())
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Dropping from a fresh runtime on a helper thread works whether or not a runtime is active.
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
            runtime.block_on(async move {
                if let Ok(mut admin) = PgConnection::connect(&admin_url).await {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
                        .execute(&mut admin)
                        .await;
                }
            });
        })
        .join();
    }
}
