//! Private service instances for fault tests: a nats-server and a PostgreSQL cluster of their
//! own, on free ports, that a test may stop and restart. The machine's shared services are never
//! touched.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Waits (at most 30 s) until something accepts connections on `port`.
fn wait_for_port(port: u16) {
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed() < Duration::from_secs(30), "nothing listens on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A nats-server with JetStream whose store survives its restarts.
pub struct PrivateNats {
    child: Option<Child>,
    /// The client port.
    pub port: u16,
    store: tempfile::TempDir,
    options: Vec<String>,
}

impl PrivateNats {
    /// Starts a server on a free port.
    pub fn start() -> PrivateNats {
        PrivateNats::start_with(&[])
    }

    /// Starts a server on a free port with further command-line `options` (TLS, authentication).
    pub fn start_with(options: &[&str]) -> PrivateNats {
        let options = options.iter().map(|o| o.to_string()).collect();
        let mut nats = PrivateNats { child: None, port: free_port(), store: tempfile::tempdir().unwrap(), options };
        nats.resume();
        nats
    }

    /// `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Stops the server (SIGTERM, as an operator's restart would).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port and store.
    pub fn resume(&mut self) {
        let binary = if Path::new("/usr/sbin/nats-server").exists() { "/usr/sbin/nats-server" } else { "nats-server" };
        let child = Command::new(binary)
            .args(["-a", "127.0.0.1", "-p", &self.port.to_string(), "-js", "-sd"])
            .arg(self.store.path())
            .args(&self.options)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("nats-server starts (apt-get install nats-server): {e}"));
        self.child = Some(child);
        wait_for_port(self.port);
    }
}

impl Drop for PrivateNats {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A PostgreSQL cluster from `initdb`, trust authentication, user `postgres`.
pub struct PrivatePostgres {
    /// The server port.
    pub port: u16,
    data: PathBuf,
    _dir: tempfile::TempDir,
    bin: PathBuf,
    running: bool,
}

/// The directory of `initdb` and `pg_ctl` (Debian keeps them out of PATH).
fn postgres_bin() -> PathBuf {
    let versions =
        std::fs::read_dir("/usr/lib/postgresql").expect("PostgreSQL server binaries (apt-get install postgresql)");
    let mut bins: Vec<PathBuf> =
        versions.flatten().map(|v| v.path().join("bin")).filter(|b| b.join("initdb").exists()).collect();
    bins.sort();
    bins.pop().expect("initdb under /usr/lib/postgresql/*/bin")
}

/// Runs a PostgreSQL tool as the `postgres` user when we are root (PostgreSQL refuses root).
fn as_postgres(bin: &Path, tool: &str) -> Command {
    let program = bin.join(tool);
    if running_as_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn running_as_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0").unwrap_or(false)
}

impl PrivatePostgres {
    /// Creates a cluster in a temporary directory and starts it on a free port.
    pub fn start() -> PrivatePostgres {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        if running_as_root() {
            let chown = Command::new("chown").args(["-R", "postgres:postgres"]).arg(dir.path()).status().unwrap();
            assert!(chown.success());
        }
        let bin = postgres_bin();
        let init = as_postgres(&bin, "initdb")
            .args(["-U", "postgres", "--auth=trust", "-D"])
            .arg(&data)
            .stdout(Stdio::null())
            .output()
            .unwrap();
        assert!(init.status.success(), "initdb: {}", String::from_utf8_lossy(&init.stderr));
        let mut postgres = PrivatePostgres { port: free_port(), data, _dir: dir, bin, running: false };
        postgres.resume();
        postgres
    }

    /// The admin URL (database `postgres`).
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops the server at once (`pg_ctl stop -m fast`: sessions are cut).
    pub fn stop(&mut self) {
        if self.running {
            let stopped = as_postgres(&self.bin, "pg_ctl")
                .args(["stop", "-m", "fast", "-w", "-D"])
                .arg(&self.data)
                .output()
                .unwrap();
            assert!(stopped.status.success(), "pg_ctl stop: {}", String::from_utf8_lossy(&stopped.stderr));
            self.running = false;
        }
    }

    /// Creates a cluster that accepts TCP connections only over TLS, with `cert` and `key` (PEM)
    /// as the server's certificate, and starts it.
    pub fn start_tls_only(cert: &Path, key: &Path) -> PrivatePostgres {
        let mut postgres = PrivatePostgres::start();
        postgres.stop();
        for (from, to) in [(cert, "server.crt"), (key, "server.key")] {
            std::fs::copy(from, postgres.data.join(to)).unwrap();
        }
        std::fs::write(
            postgres.data.join("pg_hba.conf"),
            "local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostnossl all all 127.0.0.1/32 reject\n",
        )
        .unwrap();
        let conf = postgres.data.join("postgresql.conf");
        let mut text = std::fs::read_to_string(&conf).unwrap();
        text.push_str("\nssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n");
        std::fs::write(&conf, text).unwrap();
        if running_as_root() {
            let chown = Command::new("chown").args(["-R", "postgres:postgres"]).arg(&postgres.data).status().unwrap();
            assert!(chown.success());
        }
        let chmod = Command::new("chmod").arg("600").arg(postgres.data.join("server.key")).status().unwrap();
        assert!(chmod.success());
        postgres.resume();
        postgres
    }

    /// Starts it again.
    pub fn resume(&mut self) {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories={}",
            self.port,
            self.data.display()
        );
        let started = as_postgres(&self.bin, "pg_ctl")
            .args(["start", "-w", "-l"])
            .arg(self.data.join("log"))
            .args(["-o", &options, "-D"])
            .arg(&self.data)
            .stdout(Stdio::null())
            .output()
            .unwrap();
        assert!(started.status.success(), "pg_ctl start: {}", String::from_utf8_lossy(&started.stderr));
        self.running = true;
        wait_for_port(self.port);
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        self.stop();
    }
}
