//! A throwaway PostgreSQL cluster owned by the test process.
//!
//! Invariant: the postmaster runs with a parent-death signal tied to a thread
//! that lives as long as the process, so it stops when the test process exits
//! however it exits; data directories of dead test processes are removed by
//! the next one.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A running cluster.
#[derive(Debug)]
pub struct Cluster {
    port: u16,
    /// The postmaster's process id.
    pub pid: u32,
    /// Its data directory (for tests that restart or inspect it).
    pub data_dir: PathBuf,
    /// Directory of the server binaries.
    pub bin_dir: PathBuf,
}

pub(crate) const INSTALL_HINT: &str = "PostgreSQL server binaries (initdb, postgres) were not found on PATH \
or under /usr/lib/postgresql/*/bin. Install them with `apt-get install postgresql` \
(or run ./scripts/test.sh, which does), or set DATABASE_URL to a server the tests may create databases on.";

impl Cluster {
    /// The cluster of this test process, started on first use.
    pub fn shared() -> &'static Cluster {
        static CLUSTER: OnceLock<Cluster> = OnceLock::new();
        CLUSTER.get_or_init(|| Cluster::start().unwrap_or_else(|e| panic!("{e}")))
    }

    /// Its port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// URL of database `db` on this cluster.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    fn start() -> Result<Cluster, String> {
        let bin_dir = find_bin_dir().ok_or_else(|| INSTALL_HINT.to_owned())?;
        let root = std::env::temp_dir().join("oncely-test-pg");
        std::fs::create_dir_all(&root).map_err(|e| format!("creating {}: {e}", root.display()))?;
        remove_stale(&root);
        let data_dir = root.join(format!("{}-{}", std::process::id(), fastrand_suffix()));
        std::fs::create_dir_all(&data_dir)
            .map_err(|e| format!("creating {}: {e}", data_dir.display()))?;
        let run_as = RunAs::detect()?;
        run_as.own(&root)?;
        run_as.own(&data_dir)?;
        initdb(&run_as, &bin_dir, &data_dir)?;
        for _ in 0..5 {
            let port = free_port()?;
            if let Some(cluster) = start_postmaster(&run_as, &bin_dir, &data_dir, port, &[])? {
                return Ok(cluster);
            }
        }
        Err("PostgreSQL did not start on any of 5 free ports".into())
    }

    /// Restarts the server in immediate mode (a crash), for fault tests.
    pub fn restart_immediate(&self) -> Result<(), String> {
        let run_as = RunAs::detect()?;
        let output = run_as
            .command(&self.bin_dir.join("pg_ctl"), None)
            .args(["restart", "-m", "immediate", "-w", "-D"])
            .arg(&self.data_dir)
            .output()
            .map_err(|e| format!("pg_ctl: {e}"))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&output.stderr).into_owned())
        }
    }
}

/// Creates a cluster in `data_dir` (trust authentication, user postgres).
pub(crate) fn initdb(run_as: &RunAs, bin_dir: &Path, data_dir: &Path) -> Result<(), String> {
    let status = run_as
        .command(&bin_dir.join("initdb"), None)
        .args(["-D"])
        .arg(data_dir)
        .args([
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
            "--no-instructions",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("running initdb: {e}"))?;
    if !status.status.success() {
        return Err(format!(
            "initdb failed: {}",
            String::from_utf8_lossy(&status.stderr)
        ));
    }
    Ok(())
}

/// Starts a postmaster on `data_dir` at `port`, with `extra` settings after
/// the test defaults (later ones win). `None`: it exited (port taken).
pub(crate) fn start_postmaster(
    run_as: &RunAs,
    bin_dir: &Path,
    data_dir: &Path,
    port: u16,
    extra: &[&str],
) -> Result<Option<Cluster>, String> {
    let mut command = run_as.command(&bin_dir.join("postgres"), Some("INT"));
    command
        .arg("-D")
        .arg(data_dir)
        .args(["-p", &port.to_string(), "-k"])
        .arg(data_dir)
        .args([
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
            "-c",
            "max_connections=300",
            "-c",
            "shared_buffers=64MB",
        ])
        .args(extra.iter().flat_map(|setting| ["-c", setting]))
        .stdout(Stdio::null())
        .stderr(server_log(data_dir));
    let mut child = spawn_for_life(command)?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return Ok(None);
        }
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() && pg_isready(bin_dir, port) {
            return Ok(Some(Cluster {
                port,
                pid: child.id(),
                data_dir: data_dir.to_owned(),
                bin_dir: bin_dir.to_owned(),
            }));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err("PostgreSQL did not become ready within 30 s".into())
}

/// Spawns `command` from a thread that lives as long as the process: a
/// parent-death signal set on it (`RunAs::command`) fires when that thread
/// ends, i.e. at process exit, not when the calling test's thread ends.
pub(crate) fn spawn_for_life(mut command: Command) -> Result<std::process::Child, String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("oncely-test-server".into())
        .spawn(move || {
            let child = command.spawn();
            let ok = child.is_ok();
            let _ = tx.send(child.map_err(|e| e.to_string()));
            if ok {
                loop {
                    std::thread::park();
                }
            }
        })
        .map_err(|e| e.to_string())?;
    rx.recv()
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("starting a server process: {e}"))
}

/// The server's log, `server.log` in its data directory (read it when a
/// test's server misbehaves); nowhere if it cannot be created.
fn server_log(data_dir: &Path) -> Stdio {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(data_dir.join("server.log"))
        .map_or_else(|_| Stdio::null(), Stdio::from)
}

fn pg_isready(bin_dir: &Path, port: u16) -> bool {
    Command::new(bin_dir.join("pg_isready"))
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-q"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// How to run the server binaries: as ourselves, or as `postgres` when root.
pub(crate) struct RunAs {
    user: Option<(u32, u32)>,
}

impl RunAs {
    pub(crate) fn detect() -> Result<RunAs, String> {
        let uid = std::fs::metadata("/proc/self")
            .map(|m| std::os::unix::fs::MetadataExt::uid(&m))
            .unwrap_or(0);
        if uid != 0 {
            return Ok(RunAs { user: None });
        }
        let passwd = std::fs::read_to_string("/etc/passwd").map_err(|e| e.to_string())?;
        let entry = passwd
            .lines()
            .find(|l| l.starts_with("postgres:"))
            .ok_or("running as root and no `postgres` user exists: install the Debian package `postgresql`, or run the tests as an unprivileged user")?;
        let fields: Vec<&str> = entry.split(':').collect();
        let parse = |i: usize| fields.get(i).and_then(|v| v.parse::<u32>().ok());
        match (parse(2), parse(3)) {
            (Some(uid), Some(gid)) => Ok(RunAs {
                user: Some((uid, gid)),
            }),
            _ => Err(format!("cannot read the postgres user from {entry:?}")),
        }
    }

    pub(crate) fn own(&self, path: &Path) -> Result<(), String> {
        if let Some((uid, gid)) = self.user {
            std::os::unix::fs::chown(path, Some(uid), Some(gid))
                .map_err(|e| format!("chown {}: {e}", path.display()))?;
        }
        Ok(())
    }

    /// `program` run through setpriv: as postgres when root, and with a
    /// parent-death signal when asked.
    pub(crate) fn command(&self, program: &Path, death_signal: Option<&str>) -> Command {
        let mut command = Command::new("setpriv");
        if let Some((uid, gid)) = self.user {
            command.args([
                format!("--reuid={uid}"),
                format!("--regid={gid}"),
                "--clear-groups".into(),
            ]);
        }
        if let Some(signal) = death_signal {
            command.arg(format!("--pdeathsig={signal}"));
        }
        command.arg(program);
        command.current_dir(std::env::temp_dir());
        command
    }
}

pub(crate) fn find_bin_dir() -> Option<PathBuf> {
    let has_server = |dir: &Path| dir.join("initdb").exists() && dir.join("postgres").exists();
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|p| has_server(p))
        .collect();
    versions.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    if let Some(best) = versions.pop() {
        return Some(best);
    }
    std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).find(|dir| has_server(dir)))
}

pub(crate) fn free_port() -> Result<u16, String> {
    TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("finding a free port: {e}"))
}

pub(crate) fn fastrand_suffix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{nanos:08x}")
}

/// Removes data directories of test processes that no longer run.
pub(crate) fn remove_stale(root: &Path) {
    for entry in std::fs::read_dir(root).into_iter().flatten().flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.split('-').next()) else {
            continue;
        };
        if pid.parse::<u32>().is_ok() && !Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}
