//! PostgreSQL from Debian's `postgresql-15`, started by Tidewatch: a scratch server for tests
//! ([`PgServer::start`]), or the kept one `tidewatch deploy` runs ([`PgServer::open`]).
//! `initdb` and `postgres` run as the `postgres` user when started by root (PostgreSQL refuses
//! to run as root), on loopback, in a directory of their own.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// Where Debian keeps PostgreSQL 15's programs.
pub const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

/// A PostgreSQL server started here, stopped on drop and by a watchdog if this process dies
/// first: a scratch server is SIGKILLed and its directory removed, a kept one shut down
/// (fast shutdown: its data stays consistent) and its directory kept.
#[derive(Debug)]
pub struct PgServer {
    dir: PathBuf,
    port: u16,
    durable: bool,
    scratch: bool,
    child: Option<Child>,
}

fn is_root() -> bool {
    // The effective user of this process, without libc: /proc/self's owner.
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

/// `program args…`, as the `postgres` user when we are root.
fn as_postgres(program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

impl PgServer {
    /// Make a cluster in `dir` (created; must not hold one) and start it on loopback at
    /// `port`, trusting local connections (a scratch server: nothing else reaches it),
    /// with `fsync` off unless `durable`.
    pub fn start(dir: &Path, port: u16, durable: bool) -> Result<PgServer> {
        let mut server = PgServer {
            dir: dir.to_owned(),
            port,
            durable,
            scratch: true,
            child: None,
        };
        server.init()?;
        server.spawn()?;
        Ok(server)
    }

    /// Start the kept server in `dir` on loopback at `port`, making it first if `dir` holds
    /// none: durable, trusting local connections (loopback only: nothing else reaches it).
    pub fn open(dir: &Path, port: u16) -> Result<PgServer> {
        let mut server = PgServer {
            dir: dir.to_owned(),
            port,
            durable: true,
            scratch: false,
            child: None,
        };
        if !dir.join("data").join("PG_VERSION").exists() {
            server.init()?;
        } else {
            // A server that was killed leaves its lock files: it is gone (its port is
            // checked free by the caller).
            server.remove_stale_locks();
        }
        server.spawn()?;
        Ok(server)
    }

    fn init(&self) -> Result<()> {
        let (dir, initdb) = (&self.dir, Path::new(PG_BIN).join("initdb"));
        if !initdb.exists() {
            bail!(
                "{} is missing: install Debian's postgresql-15 (tests/install-deps.sh does)",
                initdb.display()
            );
        }
        std::fs::create_dir_all(dir).with_context(|| format!("{}", dir.display()))?;
        let data = dir.join("data");
        if is_root() {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir)
                .status()
                .context("chown")?;
            if !status.success() {
                bail!("cannot give {} to the postgres user", dir.display());
            }
        }
        let out = as_postgres(&initdb)
            .arg("-D")
            .arg(&data)
            .args(["-U", "tidewatch", "-A", "trust", "-E", "UTF8"])
            .args(self.scratch.then_some("--no-sync"))
            .stdin(Stdio::null())
            .output()
            .context("initdb")?;
        if !out.status.success() {
            bail!("initdb failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(())
    }

    fn remove_stale_locks(&self) {
        // The killed server's lock file names its PID, which may linger as a zombie no
        // one reaps (a container's init may not): PostgreSQL would take it for a live
        // server. It is dead: its whole process group was killed and its port is free.
        let _ = std::fs::remove_file(self.dir.join("data").join("postmaster.pid"));
        let _ = std::fs::remove_file(self.dir.join(format!(".s.PGSQL.{}.lock", self.port)));
    }

    fn spawn(&mut self) -> Result<()> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("postgres.log"))
            .context("postgres.log")?;
        let mut c = as_postgres(&Path::new(PG_BIN).join("postgres"));
        c.arg("-D")
            .arg(self.dir.join("data"))
            .args(["-p", &self.port.to_string()])
            .args(["-c", "listen_addresses=127.0.0.1"])
            .arg("-c")
            .arg(format!("unix_socket_directories={}", self.dir.display()))
            .args(["-c", "max_connections=200"]);
        if !self.durable {
            c.args(["-c", "fsync=off", "-c", "synchronous_commit=off"]);
        }
        // A group of its own: a stop takes its backends too (orphans would keep the shared
        // memory, and a restarted server would refuse to start).
        use std::os::unix::process::CommandExt;
        let child = c
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("start postgres")?;
        // If this process dies without dropping the server, a watchdog stops it. (`sh` is
        // dash on Debian, whose `kill` takes no `--`: with one it killed nothing, and every
        // test server outlived its tests.)
        let _ = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "while kill -0 {me} 2>/dev/null; do sleep 1; done; kill -{sig} -{pg} 2>/dev/null",
                me = std::process::id(),
                pg = child.id(),
                sig = if self.scratch { "KILL" } else { "INT" },
            ))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err()
            || crate::console::db::Pg::connect(&self.url("postgres"), None).is_err()
        {
            if Instant::now() > deadline {
                bail!(
                    "postgres did not start within 60 s: see {}",
                    self.dir.join("postgres.log").display()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(())
    }

    /// SIGKILL the server (as a failed machine would stop it) and start it again on its
    /// data.
    pub fn restart(&mut self) -> Result<()> {
        self.stop(true);
        self.remove_stale_locks();
        self.spawn()
    }

    /// Stop the server: SIGKILL to it and its backends (`kill`), or a fast shutdown.
    fn stop(&mut self, kill: bool) {
        if let Some(mut c) = self.child.take() {
            // To the process group: the server and every backend (through `runuser`).
            // SIGINT: a fast shutdown, backends ended, data checkpointed.
            super::signal(&c, if kill { "KILL" } else { "INT" }, true);
            super::reap(&mut c, Instant::now() + Duration::from_secs(30));
            // Its port is free again once its processes are gone.
            let deadline = Instant::now() + Duration::from_secs(20);
            while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok()
                && Instant::now() < deadline
            {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }

    /// The URL of database `name` on this server.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://tidewatch@127.0.0.1:{}/{name}", self.port)
    }

    /// `psql` on the server's `postgres` database: `sql` run with `flags`, stopping at an error.
    fn psql(&self, flags: &str, sql: &str) -> Result<std::process::Output> {
        Command::new(Path::new(PG_BIN).join("psql"))
            .arg(self.url("postgres"))
            .args(["-v", "ON_ERROR_STOP=1", flags, sql])
            .output()
            .context("psql")
    }

    /// Create database `name` unless it exists; its URL.
    pub fn ensure_database(&self, name: &str) -> Result<String> {
        let out = self.psql(
            "-tAc",
            &format!("SELECT 1 FROM pg_database WHERE datname = '{name}'"),
        )?;
        if out.status.success() && String::from_utf8_lossy(&out.stdout).trim() == "1" {
            return Ok(self.url(name));
        }
        self.create_database(name)
    }

    /// Create database `name`; its URL.
    pub fn create_database(&self, name: &str) -> Result<String> {
        let out = self.psql("-qc", &format!("CREATE DATABASE \"{name}\""))?;
        if !out.status.success() {
            bail!(
                "CREATE DATABASE {name}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(self.url(name))
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        self.stop(self.scratch);
        if self.scratch {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
