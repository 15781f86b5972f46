//! Security on a private nats-server: TLS with a certificate authority of the test's own, and
//! user/password, token or credentials-file (JWT and NKey) authentication from the environment. Secrets never reach the logs, the
//! `parameters` table or an error message.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use common::services::{PrivateNats, PrivatePostgres};
use common::*;
use data_encoding::BASE64URL_NOPAD;
use nexus_sinks::postgres::testing::TestDatabase;
use nkeys::KeyPair;
use serde_json::json;

const PASSWORD: &str = "hunter2-never-logged";
const TOKEN: &str = "s3cret-token-never-logged";

/// A certificate authority and a server certificate for 127.0.0.1 it signed, in `dir`.
fn certificates(dir: &Path) {
    let run = |args: &[&str]| {
        let out = Command::new("openssl").args(args).current_dir(dir).output().expect("openssl runs");
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    run(&["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "1"]
        .into_iter()
        .chain(["-subj", "/CN=nexus-test-ca", "-addext", "basicConstraints=critical,CA:TRUE"])
        .chain(["-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        .collect::<Vec<_>>());
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    std::fs::write(dir.join("san.ext"), "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n").unwrap();
    run(&["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial"]
        .into_iter()
        .chain(["-out", "server.pem", "-days", "1", "-extfile", "san.ext"])
        .collect::<Vec<_>>());
}

/// `nexus <args> --config config` with `env`, to completion: (success, stdout, stderr).
fn nexus_with(args: &[&str], config: &Path, env: &[(&str, &str)]) -> (bool, String, String) {
    let mut command = nexus();
    command.args(args).arg("--config").arg(config).env("RUST_LOG", "debug");
    for (name, value) in env {
        command.env(name, value);
    }
    let out = command.output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_and_user_password_from_the_environment_work_and_are_never_logged() {
    let dir = tempfile::tempdir().unwrap();
    certificates(dir.path());
    let cert = dir.path().join("server.pem");
    let key = dir.path().join("server.key");
    let ca = dir.path().join("ca.pem");
    let nats = PrivateNats::start_with(&[
        "--tls",
        "--tlscert",
        cert.to_str().unwrap(),
        "--tlskey",
        key.to_str().unwrap(),
        "--user",
        "svc",
        "--pass",
        PASSWORD,
    ]);
    let db = TestDatabase::create(true).await.expect("postgres reachable");
    let (config, prefix) = write_config_on(dir.path(), &nats.url(), &db.url, true, "");
    let text = std::fs::read_to_string(&config).unwrap().replacen(
        "[nats]\n",
        &format!("[nats]\ntls = true\ntls_ca_file = \"{}\"\n", ca.display()),
        1,
    );
    std::fs::write(&config, text).unwrap();
    let secrets = [("NATS_USER", "svc"), ("NATS_PASSWORD", PASSWORD)];

    // Without credentials the server refuses, and the error says where.
    let (ok, _, stderr) = nexus_with(&["validate"], &config, &[]);
    assert!(!ok, "validate without credentials must fail");
    let (_, stdout, _) = nexus_with(&["validate"], &config, &[]);
    assert!(stdout.contains("FAIL  nats: cannot connect"), "{stdout} {stderr}");
    // With them: connected over TLS.
    let (ok, stdout, stderr) = nexus_with(&["validate"], &config, &secrets);
    assert!(ok, "validate: {stdout} {stderr}");
    assert!(stdout.contains("TLS"), "{stdout}");

    // A whole run: publish, process, stop; the password appears nowhere.
    let mut worker = nexus()
        .args(["run", "--workers", "1", "--config"])
        .arg(&config)
        .envs(secrets)
        .env("RUST_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Drained as the worker writes: a full pipe would block its debug logging.
    let drain = |stream: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut stream) = stream {
                let _ = stream.read_to_string(&mut text);
            }
            text
        })
    };
    let out_log = drain(worker.stdout.take().map(|s| Box::new(s) as Box<dyn std::io::Read + Send>));
    let err_log = drain(worker.stderr.take().map(|s| Box::new(s) as Box<dyn std::io::Read + Send>));
    let recording = dir.path().join("small.jsonl");
    std::fs::copy(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mixed_venues.jsonl"), &recording).unwrap();
    let (ok, stdout, stderr) = nexus_with(&["publish", "--input", recording.to_str().unwrap()], &config, &secrets);
    assert!(ok, "publish over TLS with credentials: {stdout} {stderr}");
    let pool = db.pool().await.unwrap();
    wait_for_frontier(&pool, last_time(&recording) + 1).await;
    assert!(Command::new("kill").args(["-TERM", &worker.id().to_string()]).status().unwrap().success());
    let status = worker.wait().unwrap();
    let logs = out_log.join().unwrap() + &err_log.join().unwrap();
    assert!(status.success(), "{logs}");
    assert!(logs.contains("nexus run connected"), "debug logs were captured: {logs}");
    assert!(!logs.contains(PASSWORD), "the password leaked into the logs");
    let parameters: Vec<String> =
        sqlx::query_scalar("SELECT key || '=' || value::text FROM parameters").fetch_all(&pool).await.unwrap();
    assert!(!parameters.is_empty());
    assert!(parameters.iter().all(|p| !p.starts_with("nats.") && !p.starts_with("postgres.") && !p.contains(PASSWORD)));
    let client = async_nats::ConnectOptions::with_user_and_password("svc".into(), PASSWORD.into())
        .add_root_certificates(ca.clone())
        .require_tls(true)
        .connect(nats.url())
        .await
        .unwrap();
    delete_streams(&client, &prefix).await;
    pool.close().await;
    db.drop_database().await.unwrap();
}

#[test]
fn a_token_from_the_environment_authenticates_and_is_never_logged() {
    let dir = tempfile::tempdir().unwrap();
    let nats = PrivateNats::start_with(&["--auth", TOKEN]);
    let (config, _) = write_config_on(dir.path(), &nats.url(), "postgres://postgres@127.0.0.1:5432/test", true, "");
    let (ok, stdout, stderr) = nexus_with(&["validate"], &config, &[("NATS_TOKEN", TOKEN)]);
    assert!(stdout.contains("ok    nats: connected"), "{ok} {stdout} {stderr}");
    assert!(!stdout.contains(TOKEN) && !stderr.contains(TOKEN), "the token leaked: {stdout} {stderr}");
    let (_, stdout, stderr) = nexus_with(&["validate"], &config, &[("NATS_TOKEN", "wrong")]);
    assert!(stdout.contains("FAIL  nats:"), "a wrong token must be refused: {stdout} {stderr}");
    // Two ways to authenticate at once is a configuration error that names the variables.
    let both = [("NATS_TOKEN", TOKEN), ("NATS_USER", "u"), ("NATS_PASSWORD", "p")];
    let (ok, stdout, _) = nexus_with(&["validate"], &config, &both);
    assert!(!ok && stdout.contains("FAIL  nats: set only one of"), "{stdout}");
}

#[test]
fn postgres_over_tls_only_with_the_server_certificate_verified() {
    let dir = tempfile::tempdir().unwrap();
    certificates(dir.path());
    let postgres = PrivatePostgres::start_tls_only(&dir.path().join("server.pem"), &dir.path().join("server.key"));
    let ca = dir.path().join("ca.pem");
    let url = |mode: &str| {
        format!("postgres://postgres@127.0.0.1:{}/postgres?sslmode={mode}&sslrootcert={}", postgres.port, ca.display())
    };
    let config_for = |name: &str, database_url: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, format!("[postgres]\nurl = \"{database_url}\"\n")).unwrap();
        path
    };
    // Plain connections are refused by the server: TLS is really in use below.
    let (ok, stdout, stderr) = nexus_with(&["migrate"], &config_for("plain.toml", &url("disable")), &[]);
    assert!(!ok, "a plain connection must be refused: {stdout} {stderr}");
    let verified = config_for("tls.toml", &url("verify-full"));
    let (ok, stdout, stderr) = nexus_with(&["migrate"], &verified, &[]);
    assert!(ok, "migrate over TLS: {stdout} {stderr}");
    let (_, stdout, _) = nexus_with(&["validate"], &verified, &[]);
    assert!(stdout.contains("ok    postgres: connected") && stdout.contains("ok    migrations"), "{stdout}");
}

/// A JWT as nats-server reads it: header and claims signed with the issuer's NKey.
fn jwt(issuer: &KeyPair, subject: &str, name: &str, nats: serde_json::Value) -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let header = BASE64URL_NOPAD.encode(br#"{"typ":"JWT","alg":"ed25519-nkey"}"#);
    let claims = json!({"jti": format!("{name}{now}"), "iat": now, "iss": issuer.public_key(), "name": name,
        "sub": subject, "nats": nats});
    let unsigned = format!("{header}.{}", BASE64URL_NOPAD.encode(claims.to_string().as_bytes()));
    let signature = issuer.sign(unsigned.as_bytes()).unwrap();
    format!("{unsigned}.{}", BASE64URL_NOPAD.encode(&signature))
}

/// A user signed by `account` as a `.creds` file in `dir`: its path and the user's seed.
fn creds_file(dir: &Path, file: &str, account: &KeyPair) -> (std::path::PathBuf, String) {
    let user = KeyPair::new_user();
    let claims = json!({"pub": {}, "sub": {}, "subs": -1, "data": -1, "payload": -1, "type": "user", "version": 2});
    let user_jwt = jwt(account, &user.public_key(), "nexus-user", claims);
    let seed = user.seed().unwrap();
    let text = format!(
        "-----BEGIN NATS USER JWT-----\n{user_jwt}\n------END NATS USER JWT------\n\n\
         -----BEGIN USER NKEY SEED-----\n{seed}\n------END USER NKEY SEED------\n"
    );
    let path = dir.join(file);
    std::fs::write(&path, text).unwrap();
    (path, seed)
}

#[test]
fn a_credentials_file_from_the_environment_authenticates_and_its_seed_is_never_logged() {
    let dir = tempfile::tempdir().unwrap();
    // An operator of the test's own that trusts one account (and the system account JetStream
    // needs); the server knows nothing else.
    let operator = KeyPair::new_operator();
    let (account, system) = (KeyPair::new_account(), KeyPair::new_account());
    let operator_jwt = jwt(&operator, &operator.public_key(), "nexus-op", json!({"type": "operator", "version": 2}));
    let limits = json!({"subs": -1, "data": -1, "payload": -1, "imports": -1, "exports": -1, "wildcards": true,
        "conn": -1, "leaf": -1});
    let account_jwt = |key: &KeyPair, name: &str| {
        jwt(&operator, &key.public_key(), name, json!({"limits": limits, "type": "account", "version": 2}))
    };
    std::fs::write(dir.path().join("operator.jwt"), operator_jwt).unwrap();
    let server_config = dir.path().join("server.conf");
    std::fs::write(
        &server_config,
        format!(
            "operator: \"{}\"\nsystem_account: {}\nresolver: MEMORY\nresolver_preload: {{\n  {}: \"{}\"\n  {}: \"{}\"\n}}\n",
            dir.path().join("operator.jwt").display(),
            system.public_key(),
            account.public_key(),
            account_jwt(&account, "nexus-account"),
            system.public_key(),
            account_jwt(&system, "SYS"),
        ),
    )
    .unwrap();
    let nats = PrivateNats::start_with(&["-c", server_config.to_str().unwrap()]);
    let (config, _) = write_config_on(dir.path(), &nats.url(), "postgres://postgres@127.0.0.1:5432/test", false, "");

    let (good, seed) = creds_file(dir.path(), "good.creds", &account);
    let good = good.to_str().unwrap();
    let (ok, stdout, stderr) = nexus_with(&["validate"], &config, &[("NATS_CREDS", good)]);
    assert!(stdout.contains("ok    nats: connected"), "{ok} {stdout} {stderr}");
    assert!(!stdout.contains(&seed) && !stderr.contains(&seed), "the seed leaked: {stdout} {stderr}");

    // Without credentials, and with a user signed by an account the operator never trusted: refused.
    let (_, stdout, stderr) = nexus_with(&["validate"], &config, &[]);
    assert!(stdout.contains("FAIL  nats:"), "no credentials must be refused: {stdout} {stderr}");
    let stranger = KeyPair::new_account();
    let (forged, _) = creds_file(dir.path(), "forged.creds", &stranger);
    let (_, stdout, stderr) = nexus_with(&["validate"], &config, &[("NATS_CREDS", forged.to_str().unwrap())]);
    assert!(stdout.contains("FAIL  nats:"), "an untrusted user must be refused: {stdout} {stderr}");
    // A file that is not there is named in the failure.
    let missing = dir.path().join("missing.creds");
    let (ok, stdout, _) = nexus_with(&["validate"], &config, &[("NATS_CREDS", missing.to_str().unwrap())]);
    assert!(!ok && stdout.contains("FAIL  nats:"), "{stdout}");
}
