//! A throwaway PostgreSQL server for tests and for trying the multi-console layout on one
//! machine: `initdb` and `postgres` from Debian's `postgresql-15`, run as the `postgres`
//! user when started by root (PostgreSQL refuses to run as root), on loopback, in a
//! directory of its own. And [`TestDb`]: a store for a test on whichever engine
//! `TIDEWATCH_TEST_STORE` names (`sqlite`, the default, or `postgres`), so the same tests
//! run on both.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::console::store::Store;

/// Where Debian keeps PostgreSQL 15's programs.
pub const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

/// A PostgreSQL server started here; stopped (SIGKILL: it is a scratch server) on drop, and
/// by a watchdog if this process dies first.
#[derive(Debug)]
pub struct PgServer {
    dir: PathBuf,
    port: u16,
    durable: bool,
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
        let initdb = Path::new(PG_BIN).join("initdb");
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
            .args(["-U", "tidewatch", "-A", "trust", "-E", "UTF8", "--no-sync"])
            .stdin(Stdio::null())
            .output()
            .context("initdb")?;
        if !out.status.success() {
            bail!("initdb failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        let mut server = PgServer {
            dir: dir.to_owned(),
            port,
            durable,
            child: None,
        };
        server.spawn()?;
        Ok(server)
    }

    fn spawn(&mut self) -> Result<()> {
        let log = std::fs::File::create(self.dir.join("postgres.log")).context("postgres.log")?;
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
        // If this process dies without dropping the server, a watchdog stops it.
        let _ = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "while kill -0 {me} 2>/dev/null; do sleep 1; done; kill -9 -- -{pg} 2>/dev/null",
                me = std::process::id(),
                pg = child.id(),
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
        self.stop();
        // The killed server's lock file names its PID, which may linger as a zombie no
        // one reaps (a container's init may not): PostgreSQL would take it for a live
        // server. It is dead: its whole process group was killed and its port is free.
        let _ = std::fs::remove_file(self.dir.join("data").join("postmaster.pid"));
        let _ = std::fs::remove_file(self.dir.join(format!(".s.PGSQL.{}.lock", self.port)));
        self.spawn()
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // The server and every backend: its process group.
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", c.id())])
                .status();
            let _ = c.kill();
            let _ = c.wait();
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

    /// Create database `name`; its URL.
    pub fn create_database(&self, name: &str) -> Result<String> {
        let out = Command::new(Path::new(PG_BIN).join("psql"))
            .arg(self.url("postgres"))
            .args(["-v", "ON_ERROR_STOP=1", "-qc"])
            .arg(format!("CREATE DATABASE \"{name}\""))
            .output()
            .context("psql")?;
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
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One scratch server for this test process, started at first use.
pub fn shared_server() -> &'static PgServer {
    static SERVER: OnceLock<PgServer> = OnceLock::new();
    SERVER.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("tw-postgres-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        PgServer::start(&dir, port, false).unwrap_or_else(|e| panic!("PostgreSQL: {e:#}"))
    })
}

/// A test's store, on the engine `TIDEWATCH_TEST_STORE` names: SQLite in a directory of its
/// own (the default), or a fresh database on [`shared_server`]. [`TestDb::open`] opens it
/// again, as a restarted console would.
#[derive(Debug)]
pub struct TestDb {
    sqlite: Option<PathBuf>,
    postgres: Option<String>,
}

/// Is this test process on PostgreSQL (`TIDEWATCH_TEST_STORE=postgres`)?
pub fn on_postgres() -> bool {
    match std::env::var("TIDEWATCH_TEST_STORE").as_deref() {
        Ok("postgres") => true,
        Ok("sqlite") | Err(_) => false,
        Ok(other) => panic!("TIDEWATCH_TEST_STORE={other:?}: sqlite or postgres"),
    }
}

impl TestDb {
    /// A new, empty store's place.
    pub fn new() -> TestDb {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let name = format!("tw-test-{}-{n}", std::process::id());
        if on_postgres() {
            let url = shared_server()
                .create_database(&name)
                .unwrap_or_else(|e| panic!("{e:#}"));
            TestDb {
                sqlite: None,
                postgres: Some(url),
            }
        } else {
            let dir = std::env::temp_dir().join(name);
            let _ = std::fs::remove_dir_all(&dir);
            TestDb {
                sqlite: Some(dir),
                postgres: None,
            }
        }
    }

    /// Open the store (again).
    pub fn open(&self) -> Store {
        match (&self.sqlite, &self.postgres) {
            (_, Some(url)) => Store::connect_postgres(url),
            (Some(dir), _) => Store::open(dir),
            _ => unreachable!("a test store is on one engine"),
        }
        .unwrap_or_else(|e| panic!("the test store: {e}"))
    }

    /// Its directory (SQLite) or URL (PostgreSQL), for `--data`/`--database`.
    pub fn place(&self) -> String {
        match (&self.sqlite, &self.postgres) {
            (_, Some(url)) => url.clone(),
            (Some(dir), _) => dir.display().to_string(),
            _ => unreachable!("a test store is on one engine"),
        }
    }
}

/// A fresh, empty store for a test on the engine `TIDEWATCH_TEST_STORE` names (SQLite in
/// memory by default).
pub fn store() -> Store {
    if on_postgres() {
        TestDb::new().open()
    } else {
        Store::in_memory().unwrap_or_else(|e| panic!("an in-memory store: {e}"))
    }
}

impl Default for TestDb {
    fn default() -> Self {
        TestDb::new()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(d) = &self.sqlite {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}
