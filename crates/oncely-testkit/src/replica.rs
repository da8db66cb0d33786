//! A primary and a streaming standby from the machine's PostgreSQL binaries,
//! for failover tests: kill -9 the primary, promote the standby, and connect
//! through a URL that names both (`postgres://…@h1,h2/db`).
//!
//! Invariant: both postmasters stop when the test process exits (the same
//! parent-death rule as [`crate::Cluster`]); their data directories are
//! removed by a later test process.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::cluster::{
    fastrand_suffix, find_bin_dir, free_port, initdb, remove_stale, start_postmaster, RunAs,
    INSTALL_HINT,
};
use crate::Cluster;

/// How the standby acknowledges commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replication {
    /// Every commit waits until the standby has flushed it
    /// (`synchronous_standby_names`): a promotion loses nothing acknowledged.
    Synchronous,
    /// Commits return before the standby has them: a promotion can lose the
    /// primary's last commits.
    Asynchronous,
}

/// A running primary and standby.
#[derive(Debug)]
pub struct ReplicatedPair {
    /// The server that accepts writes at the start.
    pub primary: Cluster,
    /// The streaming standby (read-only until promoted).
    pub standby: Cluster,
    /// How commits are replicated.
    pub replication: Replication,
}

impl ReplicatedPair {
    /// Starts a primary, takes a base backup into a standby and starts it
    /// streaming; returns once the standby is connected.
    pub fn start(replication: Replication) -> Result<ReplicatedPair, String> {
        let bin_dir = find_bin_dir().ok_or_else(|| INSTALL_HINT.to_owned())?;
        let run_as = RunAs::detect()?;
        let root = std::env::temp_dir().join("oncely-test-pg");
        std::fs::create_dir_all(&root).map_err(|e| format!("creating {}: {e}", root.display()))?;
        remove_stale(&root);
        run_as.own(&root)?;
        let base = format!("{}-{}", std::process::id(), fastrand_suffix());
        let primary_dir = root.join(format!("{base}-primary"));
        let standby_dir = root.join(format!("{base}-standby"));
        for dir in [&primary_dir, &standby_dir] {
            std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
            run_as.own(dir)?;
            set_mode_700(dir)?;
        }
        initdb(&run_as, &bin_dir, &primary_dir)?;
        let mut settings = vec![
            "wal_level=replica",
            "max_wal_senders=10",
            "wal_keep_size=256MB",
            "hot_standby=on",
            "wal_sender_timeout=5s",
        ];
        if replication == Replication::Synchronous {
            settings.extend([
                "synchronous_standby_names=standby1",
                "synchronous_commit=on",
            ]);
        }
        let primary = start_on_free_port(&run_as, &bin_dir, &primary_dir, &settings)?;
        let standby = standby_of(&run_as, &primary, &standby_dir, None, replication)?;
        let pair = ReplicatedPair {
            primary,
            standby,
            replication,
        };
        pair.wait_streaming()?;
        Ok(pair)
    }

    /// After [`ReplicatedPair::fail_over`]: a new standby of the promoted
    /// server, built with `pg_basebackup` on the dead primary's port (so the
    /// URL from [`ReplicatedPair::url`] names both again), and the roles
    /// swapped. With synchronous replication the new primary waits for it
    /// again (`synchronous_standby_names`); until then it was alone.
    pub fn rebuild_standby(&mut self) -> Result<(), String> {
        let run_as = RunAs::detect()?;
        let port = self.primary.port();
        let old_dir = self.primary.data_dir.clone();
        let dir = old_dir.with_file_name(format!("{}-r{}", std::process::id(), fastrand_suffix()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        run_as.own(&dir)?;
        set_mode_700(&dir)?;
        let standby = standby_of(&run_as, &self.standby, &dir, Some(port), self.replication)?;
        let promoted = std::mem::replace(&mut self.standby, standby);
        self.primary = promoted;
        let _ = std::fs::remove_dir_all(&old_dir);
        if self.replication == Replication::Synchronous {
            self.psql(
                self.primary.port(),
                "ALTER SYSTEM SET synchronous_standby_names = 'standby1'",
            )?;
            self.psql(self.primary.port(), "SELECT pg_reload_conf()")?;
        }
        self.wait_streaming()
    }

    /// A URL naming both servers, primary first.
    pub fn url(&self, db: &str) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{},127.0.0.1:{}/{db}?target_session_attrs=read-write",
            self.primary.port(),
            self.standby.port()
        )
    }

    fn psql(&self, port: u16, sql: &str) -> Result<String, String> {
        let out = Command::new(self.primary.bin_dir.join("psql"))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "-U",
                "postgres",
                "-d",
                "postgres",
            ])
            .args(["-XAtqc", sql])
            .output()
            .map_err(|e| format!("psql: {e}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    fn wait_streaming(&self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            let streaming = self.psql(
                self.primary.port(),
                "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'",
            );
            if streaming.as_deref() == Ok("1") {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err("the standby did not start streaming within 30 s".into())
    }

    /// Waits until the standby has replayed everything the primary wrote so far.
    pub fn wait_caught_up(&self) -> Result<(), String> {
        let target = self.psql(self.primary.port(), "SELECT pg_current_wal_lsn()")?;
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            let behind = self.psql(
                self.standby.port(),
                &format!("SELECT pg_last_wal_replay_lsn() < '{target}'::pg_lsn"),
            )?;
            if behind == "f" {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err("the standby did not catch up within 30 s".into())
    }

    /// Lets the standby catch up, then cuts its replication connection: its
    /// receiver reconnects only after `wal_retrieve_retry_interval` (5 s by
    /// default), so what the primary commits meanwhile never reaches it.
    pub fn cut_standby_off(&self) -> Result<(), String> {
        self.wait_caught_up()?;
        self.psql(
            self.primary.port(),
            "SELECT pg_terminate_backend(pid) FROM pg_stat_replication",
        )
        .map(|_| ())
    }

    /// kill -9 of the primary, then promotion of the standby.
    pub fn fail_over(&self) -> Result<(), String> {
        self.kill_primary()?;
        self.promote_standby()
    }

    /// kill -9 of the primary's postmaster (its backends exit with it).
    pub fn kill_primary(&self) -> Result<(), String> {
        let status = Command::new("kill")
            .args(["-KILL", &self.primary.pid.to_string()])
            .status()
            .map_err(|e| format!("kill: {e}"))?;
        if !status.success() {
            return Err(format!("kill -9 {} failed", self.primary.pid));
        }
        // Wait until nothing answers on its port any more.
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", self.primary.port())).is_err() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err("the primary still answers after kill -9".into())
    }

    /// `pg_ctl promote` of the standby; returns once it accepts writes.
    pub fn promote_standby(&self) -> Result<(), String> {
        let run_as = RunAs::detect()?;
        let out = run_as
            .command(&self.standby.bin_dir.join("pg_ctl"), None)
            .args(["promote", "-w", "-t", "30", "-D"])
            .arg(&self.standby.data_dir)
            .output()
            .map_err(|e| format!("pg_ctl promote: {e}"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned());
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if self
                .psql(self.standby.port(), "SELECT pg_is_in_recovery()")
                .as_deref()
                == Ok("f")
            {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err("the standby did not leave recovery within 30 s".into())
    }
}

/// A standby of `primary` in `dir` (empty, owned by the server's user):
/// base backup, `primary_conninfo` as `standby1`, started on `port` (or a
/// free one).
fn standby_of(
    run_as: &RunAs,
    primary: &Cluster,
    dir: &Path,
    port: Option<u16>,
    replication: Replication,
) -> Result<Cluster, String> {
    let backup = run_as
        .command(&primary.bin_dir.join("pg_basebackup"), None)
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &primary.port().to_string(),
            "-U",
            "postgres",
        ])
        .arg("-D")
        .arg(dir)
        // A fast checkpoint: a spread one waits minutes on a busy primary.
        .args(["-X", "stream", "-R", "--no-sync", "--checkpoint=fast"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("running pg_basebackup: {e}"))?;
    if !backup.status.success() {
        return Err(format!(
            "pg_basebackup failed: {}",
            String::from_utf8_lossy(&backup.stderr)
        ));
    }
    // The servers keep their sockets in their data directories: the copy
    // holds the source's socket lock file, which would stop a server on
    // that port; and the source's log.
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(".s.PGSQL.") || name == "server.log" {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    let conninfo = format!(
        "\nprimary_conninfo = 'host=127.0.0.1 port={} user=postgres application_name=standby1'\n",
        primary.port()
    );
    append(&dir.join("postgresql.auto.conf"), &conninfo)?;
    // Once promoted it is a primary whose commits must wait for its own
    // standby in the synchronous case (the test defaults turn that off).
    let mut settings = vec!["hot_standby=on", "wal_receiver_status_interval=1s"];
    if replication == Replication::Synchronous {
        settings.push("synchronous_commit=on");
    }
    match port {
        None => start_on_free_port(run_as, &primary.bin_dir, dir, &settings),
        Some(port) => start_postmaster(run_as, &primary.bin_dir, dir, port, &settings)?
            .ok_or_else(|| format!("the new standby could not start on port {port} (taken?)")),
    }
}

fn start_on_free_port(
    run_as: &RunAs,
    bin_dir: &Path,
    dir: &Path,
    settings: &[&str],
) -> Result<Cluster, String> {
    for _ in 0..5 {
        let port = free_port()?;
        if let Some(cluster) = start_postmaster(run_as, bin_dir, dir, port, settings)? {
            return Ok(cluster);
        }
    }
    Err("PostgreSQL did not start on any of 5 free ports".into())
}

fn append(path: &Path, text: &str) -> Result<(), String> {
    use std::io::Write as _;
    std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|e| format!("writing {}: {e}", path.display()))
}

fn set_mode_700(dir: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .map_err(|e| format!("chmod {}: {e}", dir.display()))
}
