//! A throwaway MariaDB server owned by the test process, from the Debian
//! package `mariadb-server` (installed by `scripts/test.sh`):
//! `mariadb-install-db` into a fresh data directory, then `mariadbd` on a
//! free loopback port with its own socket, `root` without a password from
//! 127.0.0.1 only.
//!
//! Invariants: the server runs with a parent-death signal tied to a thread
//! that lives as long as the process (as [`crate::Cluster`]), so it stops
//! when the test process exits however it exits; data directories of dead
//! test processes are removed by the next one. Like the PostgreSQL test
//! cluster it trades durability for speed (`innodb_flush_log_at_trx_commit=2`,
//! no binary log): tests never survive a power loss.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::cluster::{fastrand_suffix, free_port, remove_stale, spawn_for_life};

/// A running MariaDB server.
#[derive(Debug)]
pub struct MariaDb {
    port: u16,
    /// The server's process id.
    pub pid: u32,
    /// Its data directory (`server.log` is its error log).
    pub data_dir: PathBuf,
}

const INSTALL_HINT: &str = "MariaDB server binaries (mariadbd, mariadb-install-db) were not found \
on PATH or in /usr/sbin, /usr/bin. Install them with `apt-get install mariadb-server` \
(or run ./scripts/test.sh, which does).";

impl MariaDb {
    /// The server of this test process, started on first use.
    pub fn shared() -> &'static MariaDb {
        static SERVER: OnceLock<MariaDb> = OnceLock::new();
        SERVER.get_or_init(|| MariaDb::start().unwrap_or_else(|e| panic!("{e}")))
    }

    /// Its port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// URL of database `db` on this server.
    pub fn url(&self, db: &str) -> String {
        format!("mysql://root@127.0.0.1:{}/{db}", self.port)
    }

    /// URL of a fresh, empty database (not migrated) on the server at
    /// `MARIADB_URL` when set (e.g. a durable one for benchmarks), else on
    /// the shared throwaway server.
    pub async fn fresh_database() -> String {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let admin_url = match std::env::var("MARIADB_URL") {
            Ok(url) if !url.is_empty() => url,
            _ => tokio::task::spawn_blocking(|| MariaDb::shared().url("mysql"))
                .await
                .expect("starting MariaDB"),
        };
        let name = format!(
            "oncely_test_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        let mut admin = <sqlx::MySqlConnection as sqlx::Connection>::connect(&admin_url)
            .await
            .unwrap_or_else(|e| panic!("connecting to the test MariaDB: {e}"));
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
        )))
        .execute(&mut admin)
        .await
        .expect("creating the test database");
        let _ = sqlx::Connection::close(admin).await;
        with_database(&admin_url, &name)
    }

    fn start() -> Result<MariaDb, String> {
        let server = find("mariadbd").ok_or_else(|| INSTALL_HINT.to_owned())?;
        let install = find("mariadb-install-db").ok_or_else(|| INSTALL_HINT.to_owned())?;
        let root = std::env::temp_dir().join("oncely-test-mariadb");
        std::fs::create_dir_all(&root).map_err(|e| format!("creating {}: {e}", root.display()))?;
        remove_stale(&root);
        let data_dir = root.join(format!("{}-{}", std::process::id(), fastrand_suffix()));
        std::fs::create_dir_all(&data_dir)
            .map_err(|e| format!("creating {}: {e}", data_dir.display()))?;
        let user = current_user();
        // Its own temporary directory: servers bootstrapping at once in
        // other test processes never share files.
        let tmp = data_dir.join("tmp");
        std::fs::create_dir_all(&tmp).map_err(|e| format!("creating {}: {e}", tmp.display()))?;
        let mut out = None;
        for _ in 0..2 {
            let _ = std::fs::remove_dir_all(data_dir.join("data"));
            let ran = Command::new(&install)
                .arg("--no-defaults")
                .arg(format!("--datadir={}", data_dir.join("data").display()))
                .arg(format!("--tmpdir={}", tmp.display()))
                .arg(format!("--user={user}"))
                .args(["--auth-root-authentication-method=normal", "--skip-test-db"])
                .stdin(Stdio::null())
                .output()
                .map_err(|e| format!("running {}: {e}", install.display()))?;
            let ok = ran.status.success();
            out = Some(ran);
            if ok {
                break;
            }
        }
        let out = out.ok_or("mariadb-install-db did not run")?;
        if !out.status.success() {
            return Err(format!(
                "mariadb-install-db failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        for _ in 0..5 {
            let port = free_port()?;
            let mut command = Command::new("setpriv");
            command
                .arg("--pdeathsig=TERM")
                .arg(&server)
                .arg("--no-defaults")
                .arg(format!("--datadir={}", data_dir.join("data").display()))
                .arg(format!("--user={user}"))
                .arg(format!("--port={port}"))
                .arg("--bind-address=127.0.0.1")
                .arg(format!(
                    "--socket={}",
                    data_dir.join("mysqld.sock").display()
                ))
                .arg(format!("--tmpdir={}", tmp.display()))
                .arg(format!(
                    "--pid-file={}",
                    data_dir.join("mysqld.pid").display()
                ))
                .arg(format!(
                    "--log-error={}",
                    data_dir.join("server.log").display()
                ))
                .args([
                    "--skip-name-resolve",
                    "--skip-log-bin",
                    "--innodb-flush-log-at-trx-commit=2",
                    "--innodb-buffer-pool-size=128M",
                    "--max-connections=500",
                    "--character-set-server=utf8mb4",
                    "--collation-server=utf8mb4_bin",
                ])
                .current_dir(std::env::temp_dir())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            let mut child = spawn_for_life(command)?;
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break; // port taken: try another
                }
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() && ready(port) {
                    return Ok(MariaDb {
                        port,
                        pid: child.id(),
                        data_dir,
                    });
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        let log = std::fs::read_to_string(data_dir.join("server.log")).unwrap_or_default();
        Err(format!("MariaDB did not start: {log}"))
    }
}

/// `url` naming database `name` instead of its own.
fn with_database(url: &str, name: &str) -> String {
    let start = url.find("://").map_or(0, |i| i + 3);
    match url[start..].find('/') {
        Some(slash) => format!("{}/{name}", &url[..start + slash]),
        None => format!("{url}/{name}"),
    }
}

/// Whether the server answers a query (it accepts connections a moment
/// before it has finished starting).
fn ready(port: u16) -> bool {
    let Some(client) = find("mariadb") else {
        return true;
    };
    Command::new(client)
        .args(["--no-defaults", "-h", "127.0.0.1", "-u", "root"])
        .arg(format!("-P{port}"))
        .args(["-e", "SELECT 1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The user the server runs as: this process's (root is allowed with
/// `--user=root`; the server never writes outside its data directory).
fn current_user() -> String {
    let uid = std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m))
        .unwrap_or(0);
    std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|passwd| {
            passwd.lines().find_map(|line| {
                let fields: Vec<&str> = line.split(':').collect();
                (fields.get(2) == Some(&uid.to_string().as_str())).then(|| fields[0].to_owned())
            })
        })
        .unwrap_or_else(|| "root".into())
}

fn find(program: &str) -> Option<PathBuf> {
    let from_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|p| p.is_file())
    });
    from_path.or_else(|| {
        ["/usr/sbin", "/usr/bin"]
            .iter()
            .map(|dir| Path::new(dir).join(program))
            .find(|p| p.is_file())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::{Connection, MySqlConnection};

    #[test]
    fn a_url_names_another_database() {
        assert_eq!(
            with_database("mysql://root@h:1/mysql", "x"),
            "mysql://root@h:1/x"
        );
        assert_eq!(with_database("mysql://root@h:1", "x"), "mysql://root@h:1/x");
    }

    #[tokio::test]
    async fn a_throwaway_server_answers_and_keeps_its_files_to_itself() {
        let server = MariaDb::shared();
        let mut conn = MySqlConnection::connect(&server.url("mysql"))
            .await
            .expect("connect");
        let version: String = sqlx::query_scalar("SELECT VERSION()")
            .fetch_one(&mut conn)
            .await
            .expect("version");
        assert!(version.contains("MariaDB"), "{version}");
        let datadir: String = sqlx::query_scalar("SELECT @@datadir")
            .fetch_one(&mut conn)
            .await
            .expect("datadir");
        assert!(
            Path::new(&datadir).starts_with(&server.data_dir),
            "{datadir} outside {}",
            server.data_dir.display()
        );
        assert!(server.data_dir.join("server.log").exists());
    }
}
