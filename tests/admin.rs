//! `nexus migrate` and `nexus validate` against the real PostgreSQL and nats-server; `validate`
//! names the failing part when NATS is down, PostgreSQL is down, or migrations are missing.

use std::process::{Command, Output};

use nexus_sinks::postgres::testing::TestDatabase;

/// A port on which nothing listens: bound, then released.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).unwrap_or(1)
}

fn nexus(args: &[&str], nats: &str, database: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nexus"))
        .args(args)
        .env("NATS_URL", nats)
        .env("DATABASE_URL", database)
        .output()
        .unwrap()
}

fn nats_url() -> String {
    std::env::var("NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".to_string())
}

#[tokio::test]
async fn validate_names_the_failing_part_and_migrate_fixes_the_schema() {
    let db = TestDatabase::create(false).await.expect("postgres reachable");
    let nats = nats_url();

    let output = nexus(&["validate"], &nats, &db.url);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success());
    assert!(stdout.contains("ok    nats") && stdout.contains("ok    postgres"), "{stdout}");
    let pending = nexus_sinks::postgres::MIGRATOR.iter().count();
    assert!(
        stdout.contains(&format!("FAIL  migrations: {pending} migration(s) pending: run `nexus migrate`")),
        "{stdout}"
    );

    let output = nexus(&["migrate"], &nats, &db.url);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let output = nexus(&["validate"], &nats, &db.url);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stdout));

    let nats_down = format!("nats://127.0.0.1:{}", closed_port());
    let output = nexus(&["validate"], &nats_down, &db.url);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success());
    assert!(stdout.contains(&format!("FAIL  nats: cannot connect to {nats_down}")), "{stdout}");
    assert!(stdout.contains("ok    postgres"), "{stdout}");

    let postgres_down = format!("postgres://postgres:hunter2@127.0.0.1:{}/none", closed_port());
    let output = nexus(&["validate"], &nats, &postgres_down);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success());
    assert!(stdout.contains("FAIL  postgres: cannot connect to postgres://postgres:***@127.0.0.1"), "{stdout}");
    assert!(!stdout.contains("hunter2"), "the password must not be printed");
    assert!(stdout.contains("FAIL  migrations: not checked"), "{stdout}");

    let bad = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(bad.path(), "[nats]\nurll = \"x\"\n").unwrap();
    let output = nexus(&["validate", "--config", bad.path().to_str().unwrap()], &nats, &db.url);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success());
    assert!(stdout.contains("FAIL  config") && stdout.contains("nats.urll"), "{stdout}");

    db.drop_database().await.unwrap();
}

#[tokio::test]
async fn run_refuses_an_unmigrated_database_with_the_remedy() {
    let db = TestDatabase::create(false).await.expect("postgres reachable");
    let output = nexus(&["run"], &nats_url(), &db.url);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("nexus migrate"), "{stderr}");
    db.drop_database().await.unwrap();
}
