//! A throwaway PostgreSQL cluster from the local PostgreSQL binaries, for tests and benchmarks
//! (here, in `zhiliang`'s tests, and in the kill -9 test): `initdb` + `pg_ctl` in a fresh
//! temporary directory, listening on 127.0.0.1 on a free port, with its unix socket in that
//! directory. `fsync` and `synchronous_commit` keep their durable defaults.
//!
//! When the process runs as root, PostgreSQL (which refuses to run as root) is run as the
//! `postgres` user through `runuser`. The cluster is stopped (`pg_ctl stop -m immediate`) and its
//! directory removed when the [`TempCluster`] is dropped, and also by a small watcher process
//! when the process that started it exits without dropping it (a `static` in a test binary).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Where the PostgreSQL server binaries are: `$ZL_PG_BIN` if set, else the newest
/// `/usr/lib/postgresql/<version>/bin` with an `initdb`, else the directory of an `initdb` on
/// `PATH`.
pub fn find_pg_bin() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("ZL_PG_BIN") {
        let p = PathBuf::from(dir);
        return p.join("initdb").is_file().then_some(p);
    }
    let mut best: Option<(u32, PathBuf)> = None;
    if let Ok(rd) = std::fs::read_dir("/usr/lib/postgresql") {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            let Ok(v) = name.split('.').next().unwrap_or("").parse::<u32>() else {
                continue;
            };
            let bin = e.path().join("bin");
            if bin.join("initdb").is_file() && best.as_ref().is_none_or(|(b, _)| v > *b) {
                best = Some((v, bin));
            }
        }
    }
    if let Some((_, p)) = best {
        return Some(p);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .find(|d| d.join("initdb").is_file() && d.join("pg_ctl").is_file())
    })
}

fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

fn free_port() -> Result<u16, String> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    l.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

/// A running throwaway cluster.
pub struct TempCluster {
    bin: PathBuf,
    root: PathBuf,
    port: u16,
    as_postgres: bool,
    databases: AtomicUsize,
}

impl TempCluster {
    /// Create and start a cluster. The error says why PostgreSQL is not available.
    pub fn start() -> Result<TempCluster, String> {
        let bin = find_pg_bin().ok_or_else(|| {
            "no PostgreSQL server binaries (initdb) under /usr/lib/postgresql/*/bin, on PATH or in \
             $ZL_PG_BIN; on Debian: apt-get install postgresql"
                .to_string()
        })?;
        let as_postgres = running_as_root();
        static N: AtomicUsize = AtomicUsize::new(0);
        // The postgres user must be able to reach the directory: under root, use /tmp itself
        // rather than a TMPDIR that may sit in root's home.
        let base = if as_postgres {
            PathBuf::from("/tmp")
        } else {
            std::env::temp_dir()
        };
        let root = base.join(format!(
            "zl-pg-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root)
            .map_err(|e| format!("cannot create {}: {e}", root.display()))?;
        if as_postgres {
            let ok = Command::new("chown")
                .arg("postgres:postgres")
                .arg(&root)
                .status()
                .map_err(|e| format!("chown: {e}"))?;
            if !ok.success() {
                return Err(
                    "cannot chown the cluster directory to the postgres user (no such user?)"
                        .into(),
                );
            }
        }
        let port = free_port()?;
        let cluster = TempCluster {
            bin,
            root,
            port,
            as_postgres,
            databases: AtomicUsize::new(0),
        };
        let data = cluster.data_dir();
        let out = cluster
            .pg_command("initdb")
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C"])
            .output()
            .map_err(|e| format!("cannot run initdb: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "initdb failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        cluster.spawn_watcher();
        cluster.start_server()?;
        Ok(cluster)
    }

    fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }

    fn pg_command(&self, tool: &str) -> Command {
        let exe = self.bin.join(tool);
        let mut c = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        };
        c.stdin(Stdio::null()).current_dir(&self.root);
        c
    }

    /// Stop the cluster and remove its directory when this process has exited, however it
    /// exits (a cluster held in a `static` is never dropped).
    fn spawn_watcher(&self) {
        let stop = format!(
            "{}{} -D '{}' stop -m immediate",
            if self.as_postgres {
                "runuser -u postgres -- "
            } else {
                ""
            },
            self.bin.join("pg_ctl").display(),
            self.data_dir().display()
        );
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {stop} >/dev/null 2>&1; rm -rf '{root}'",
            pid = std::process::id(),
            root = self.root.display()
        );
        let _ = Command::new("sh")
            .arg("-c")
            .arg(script)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
    }

    /// Start (or restart after [`TempCluster::crash`]) the server and wait until it accepts
    /// connections.
    pub fn start_server(&self) -> Result<(), String> {
        let opts = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories='{}' -c max_connections=300 \
             -c shared_buffers=128MB",
            self.port,
            self.root.display()
        );
        let out = self
            .pg_command("pg_ctl")
            .arg("-D")
            .arg(self.data_dir())
            .arg("-l")
            .arg(self.root.join("server.log"))
            .args(["-w", "-t", "60", "-o", &opts, "start"])
            .output()
            .map_err(|e| format!("cannot run pg_ctl: {e}"))?;
        if !out.status.success() {
            let log = std::fs::read_to_string(self.root.join("server.log")).unwrap_or_default();
            return Err(format!(
                "pg_ctl start failed: {}{}\n{log}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(())
    }

    /// Crash the server: `pg_ctl stop -m immediate` (no shutdown checkpoint; recovery replays
    /// the WAL on the next start).
    pub fn crash(&self) -> Result<(), String> {
        let out = self
            .pg_command("pg_ctl")
            .arg("-D")
            .arg(self.data_dir())
            .args(["stop", "-m", "immediate"])
            .output()
            .map_err(|e| format!("cannot run pg_ctl: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "pg_ctl stop failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(())
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// URL of a database of this cluster.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Run SQL on the `postgres` database as the superuser.
    pub fn admin(&self, sql: &str) -> Result<(), String> {
        let mut c = postgres::Client::connect(&self.url("postgres"), postgres::NoTls)
            .map_err(|e| format!("cannot connect to the test cluster: {e}"))?;
        c.batch_execute(sql).map_err(|e| format!("{sql}: {e}"))
    }

    /// Create a fresh database and return its URL.
    pub fn create_database(&self, tag: &str) -> Result<String, String> {
        let n = self.databases.fetch_add(1, Ordering::SeqCst);
        let tag: String = tag
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(40)
            .collect::<String>()
            .to_ascii_lowercase();
        let name = format!("zl_{tag}_{n}");
        self.admin(&format!("CREATE DATABASE {name}"))?;
        Ok(self.url(&name))
    }
}

impl Drop for TempCluster {
    fn drop(&mut self) {
        let _ = self.crash();
        let _ = std::fs::remove_dir_all(&self.root);
    }
}
