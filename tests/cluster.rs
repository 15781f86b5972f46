//! Several processes through timely's cluster mode: 2 processes x 1 worker and 1 process x 2
//! workers leave in PostgreSQL exactly what 1 process x 1 worker leaves, on the same recording.

mod common;

use std::net::TcpListener;
use std::path::Path;

use common::*;
use nexus_sinks::postgres::testing::TestDatabase;

/// `count` free local ports (bound, then released for the processes to take).
fn free_ports(count: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..count).map(|_| TcpListener::bind("127.0.0.1:0").unwrap()).collect();
    listeners.iter().map(|l| l.local_addr().unwrap().port()).collect()
}

/// Runs the recording through `processes` x `workers` on a database and prefix of their own and
/// returns every table.
async fn tables_after(
    dir: &Path,
    recording: &Path,
    processes: usize,
    workers: usize,
) -> std::collections::BTreeMap<String, Vec<String>> {
    let client = async_nats::connect(nats_url()).await.unwrap();
    let db = TestDatabase::create(true).await.expect("postgres reachable");
    let pool = db.pool().await.unwrap();
    let run_dir = dir.join(format!("{processes}x{workers}"));
    std::fs::create_dir_all(&run_dir).unwrap();
    let (config, prefix) = write_config(&run_dir, &db.url, true, "[var]\nbar_ms = 1000\n");
    publish(recording, &config);
    let hosts = run_dir.join("hosts");
    let ports = free_ports(processes);
    std::fs::write(&hosts, ports.iter().map(|p| format!("127.0.0.1:{p}\n")).collect::<String>()).unwrap();
    let workers_arg = workers.to_string();
    let processes_arg = processes.to_string();
    let running: Vec<Running> = (0..processes)
        .map(|process| {
            let process = process.to_string();
            let mut args = vec!["run", "--workers", &workers_arg];
            if processes > 1 {
                args.extend(["--processes", &processes_arg, "--process", &process, "--hosts"]);
                args.push(hosts.to_str().unwrap());
            }
            start_ready(&args, &config)
        })
        .collect();
    wait_for_frontier(&pool, last_time(recording) + 1).await;
    let pids: Vec<String> = running.iter().map(|r| r.0.id().to_string()).collect();
    for pid in &pids {
        assert!(std::process::Command::new("kill").args(["-TERM", pid]).status().unwrap().success());
    }
    for mut process in running {
        let status = process.0.wait().unwrap();
        assert!(status.success(), "{processes}x{workers}: exit {status}");
    }
    let tables = dump_tables(&pool).await;
    pool.close().await;
    db.drop_database().await.unwrap();
    delete_streams(&client, &prefix).await;
    tables
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_and_two_workers_give_what_one_worker_gives() {
    let dir = tempfile::tempdir().unwrap();
    let (recording, _) = recording_with_halt(dir.path(), 60, 40);
    let single = tables_after(dir.path(), &recording, 1, 1).await;
    assert!(single.values().filter(|rows| !rows.is_empty()).count() >= 8, "tables: {:?}", single.keys());
    let threads = tables_after(dir.path(), &recording, 1, 2).await;
    let processes = tables_after(dir.path(), &recording, 2, 1).await;
    for (table, rows) in &single {
        assert_eq!(threads.get(table), Some(rows), "1x2 table {table}");
        assert_eq!(processes.get(table), Some(rows), "2x1 table {table}");
    }
}
