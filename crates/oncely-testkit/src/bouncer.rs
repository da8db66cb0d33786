//! A PgBouncer in front of a test cluster, from the Debian package
//! `pgbouncer` (installed by `scripts/test.sh`): every database of the
//! cluster, trust authentication, a small server pool so that client
//! connections share server connections as in production.
//!
//! Invariant: the pgbouncer process stops when the test process exits (the
//! same parent-death rule as [`crate::Cluster`]); its files live in a
//! directory removed with the value.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::cluster::{free_port, spawn_for_life, RunAs};

/// How PgBouncer hands server connections to clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolMode {
    /// A server connection per client transaction.
    Transaction,
    /// A server connection per client connection.
    Session,
}

/// A running PgBouncer.
#[derive(Debug)]
pub struct Bouncer {
    port: u16,
    target_port: u16,
    _dir: tempfile::TempDir,
    child: std::process::Child,
}

const INSTALL_HINT: &str = "pgbouncer was not found at /usr/sbin/pgbouncer or on PATH: \
install it with `apt-get install pgbouncer` (or run ./scripts/test.sh, which does)";

impl Bouncer {
    /// Starts PgBouncer in `mode` in front of the PostgreSQL at
    /// 127.0.0.1:`target_port`, with at most `server_connections` server
    /// connections per database.
    pub fn start(
        target_port: u16,
        mode: PoolMode,
        server_connections: u32,
    ) -> Result<Bouncer, String> {
        let program = find_pgbouncer().ok_or_else(|| INSTALL_HINT.to_owned())?;
        let run_as = RunAs::detect()?;
        let dir = tempfile::Builder::new()
            .prefix("oncely-pgbouncer-")
            .tempdir()
            .map_err(|e| format!("creating a directory for pgbouncer: {e}"))?;
        run_as.own(dir.path())?;
        for _ in 0..5 {
            let port = free_port()?;
            let ini = dir.path().join("pgbouncer.ini");
            let users = dir.path().join("users.txt");
            std::fs::write(&users, "\"postgres\" \"\"\n")
                .map_err(|e| format!("writing {}: {e}", users.display()))?;
            let config = format!(
                "[databases]\n* = host=127.0.0.1 port={target_port}\n\n[pgbouncer]\n\
                 listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n\
                 auth_type = trust\nauth_file = {users}\n\
                 pool_mode = {mode}\ndefault_pool_size = {server_connections}\n\
                 max_client_conn = 2000\nmax_db_connections = {server_connections}\n\
                 ignore_startup_parameters = extra_float_digits,options,search_path\n\
                 logfile = {log}\nserver_reset_query =\nserver_idle_timeout = 10\n",
                users = users.display(),
                mode = match mode {
                    PoolMode::Transaction => "transaction",
                    PoolMode::Session => "session",
                },
                log = dir.path().join("pgbouncer.log").display(),
            );
            std::fs::write(&ini, config).map_err(|e| format!("writing {}: {e}", ini.display()))?;
            for file in [&ini, &users] {
                run_as.own(file)?;
            }
            let mut child = spawn_with_parent_death(&run_as, &program, &ini)?;
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break; // port taken, or a bad config: try again / report
                }
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Ok(Bouncer {
                        port,
                        target_port,
                        _dir: dir,
                        child,
                    });
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        let log = std::fs::read_to_string(dir.path().join("pgbouncer.log")).unwrap_or_default();
        Err(format!("pgbouncer did not start: {log}"))
    }

    /// Its port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// URL of database `db` through this PgBouncer, with the parameter that
    /// tells oncely how it pools (and, in transaction mode, where LISTEN may
    /// go directly when `listen_direct`).
    pub fn url(&self, db: &str, listen_direct: bool) -> String {
        let mut url = format!("postgres://postgres@127.0.0.1:{}/{db}", self.port);
        if listen_direct {
            url.push_str(&format!(
                "?pooler=transaction&listen=127.0.0.1:{}",
                self.target_port
            ));
        } else {
            url.push_str("?pooler=transaction");
        }
        url
    }
}

impl Drop for Bouncer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find_pgbouncer() -> Option<PathBuf> {
    let fixed = PathBuf::from("/usr/sbin/pgbouncer");
    if fixed.exists() {
        return Some(fixed);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("pgbouncer"))
            .find(|p| p.exists())
    })
}

/// Spawns pgbouncer, stopped by a parent-death signal at process exit.
fn spawn_with_parent_death(
    run_as: &RunAs,
    program: &std::path::Path,
    ini: &std::path::Path,
) -> Result<std::process::Child, String> {
    let mut command = run_as.command(program, Some("TERM"));
    command
        .arg(ini)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    spawn_for_life(command).map_err(|e| format!("pgbouncer: {e}"))
}
