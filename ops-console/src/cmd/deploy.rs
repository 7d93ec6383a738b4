//! `tidewatch deploy`: the multi-node layout of DESIGN.md "Beyond one machine" on one
//! machine, for trying it: three RabbitMQ nodes, PostgreSQL, two ingest instances sharing the
//! sources' slots, two fusion replicas, two consoles on the shared store, each its own process
//! on loopback, laid out as an operator would on several machines.
//!
//! ```text
//!  DIR/bus/            RabbitMQ nodes (MQTT BASE+1..3), clustered at the first start
//!  DIR/postgres/       PostgreSQL (BASE+30), database `tidewatch`
//!  DIR/ingest-a|b/     ingest instances a, b (metrics BASE+91, 92)
//!  DIR/fusion-a|b/     fusion replicas (metrics BASE+93, 94)
//!  DIR/console-1|2/    consoles (http BASE+81, 82)
//!  DIR/secrets/        the bus accounts' passwords (0600): ingest, fusion, console, anonymous,
//!                      and units/ID.password for each patrol unit given (`--unit ID`)
//!  DIR/commands.txt    each process's command line: what each machine would run
//!  DIR/logs/NAME.log   each process's output;  DIR/run/NAME.pid its process id
//! ```
//!
//! The bus has an account per service role, each with the topics the embedded broker's rules
//! give it ([`tidewatch_broker::rabbitmq`]), and RabbitMQ's `guest` is removed; a client without
//! an account (a receiver) gets the anonymous rules: raw AIS feeds only. A patrol unit added
//! with `--unit ID` has an account named by its id with the unit's rules (its own reports and
//! NMEA, its own taskings), kept at every later start until `--remove-unit ID` (which removes
//! its session too). An account holds the sessions of its own client ids only (a unit's
//! `tidewatch-patrol-ID`; a service's its command's default, alone or followed by `.` or `-`
//! and anything), never another's.
//!
//! Everything is kept in DIR: running it again starts the same system on its data. A process
//! that dies is reported, not restarted (kill one to watch the others carry on); Ctrl-C stops
//! the processes, then the bus and the database, cleanly.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::engines::rabbitmq::{self, RabbitCluster, RabbitNode};
use crate::engines::{self, postgres::PgServer};

/// Arguments of `deploy`.
#[derive(Debug, clap::Args)]
pub struct DeployArgs {
    /// Where everything is kept (made at the first run, used again after).
    #[arg(long, value_name = "DIR", default_value = "tidewatch-deploy")]
    pub dir: PathBuf,
    /// Ports: MQTT BASE+1..3, AMQP BASE+11..13, Erlang distribution BASE+21..23,
    /// PostgreSQL BASE+30, consoles BASE+81..82, metrics BASE+91..94.
    #[arg(long, value_name = "PORT", default_value_t = 21000,
        value_parser = clap::value_parser!(u16).range(1024..=65_000))]
    pub base_port: u16,
    /// Start everything, print the layout, and stop (for checking a machine can run it).
    #[arg(long)]
    pub check: bool,
    /// Add a patrol unit to the bus, repeatable: an account named by its id with the unit's
    /// rules only, its password made in `DIR/secrets/units/ID.password` (readable by you only)
    /// to carry to the vessel. Units added once are kept at every later start.
    #[arg(long = "unit", value_name = "ID")]
    pub units: Vec<String>,
    /// Remove a patrol unit from the bus (its connections are closed), and its password file.
    #[arg(long = "remove-unit", value_name = "ID")]
    pub remove_units: Vec<String>,
}

/// The ingest slots of the layout: receivers by region, patrol units together, the rest.
pub const SLOTS: [&str; 3] = [
    "north=raw/ais/north/#",
    "south=raw/ais/south/#",
    "units=patrol/+/nmea,patrol/+/report",
];

/// One process of the layout.
struct Service {
    name: String,
    args: Vec<String>,
    child: Option<Child>,
}

/// The layout's processes, given the MQTT node list, the database URL and the ports' base.
fn services(dir: &Path, brokers: &[String], database: &str, base: u16) -> Vec<Service> {
    let d = |n: &str| dir.join(n).display().to_string();
    // Logging in to the bus as `role`.
    let login = |role: &str| -> [String; 4] {
        [
            "--user".into(),
            role.into(),
            "--password-file".into(),
            d(&format!("secrets/{role}.password")),
        ]
    };
    // Each process lists the nodes starting from a different one, so the clients spread.
    let nodes_from = |k: usize| {
        (0..brokers.len())
            .map(|i| brokers[(k + i) % brokers.len()].clone())
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut out = Vec::new();
    for (k, name) in ["a", "b"].iter().enumerate() {
        let mut args = vec![
            "ingest".into(),
            "--broker".into(),
            nodes_from(k),
            "--instance".into(),
            format!("ingest-{name}"),
            "--data".into(),
            d(&format!("ingest-{name}")),
            "--metrics".into(),
            format!("127.0.0.1:{}", base + 91 + k as u16),
        ];
        args.extend(login("ingest"));
        for s in SLOTS {
            args.extend(["--slot".into(), s.into()]);
        }
        out.push(Service {
            name: format!("ingest-{name}"),
            args,
            child: None,
        });
    }
    for (k, name) in ["a", "b"].iter().enumerate() {
        out.push(Service {
            name: format!("fusion-{name}"),
            args: [
                "fusion".into(),
                "--broker".into(),
                nodes_from(k + 1),
                "--client-id".into(),
                format!("tidewatch-fusion-{name}"),
                "--data".into(),
                d(&format!("fusion-{name}")),
                "--metrics".into(),
                format!("127.0.0.1:{}", base + 93 + k as u16),
                // The replicas agree revision for revision only on the data's clock: on the
                // carried clock each numbers its revisions by its own wall clock, and the
                // console, keeping the first copy of each (id, revision), would mix them.
                "--data-clock".into(),
            ]
            .into_iter()
            .chain(login("fusion"))
            .collect(),
            child: None,
        });
    }
    for k in 1..=2u16 {
        out.push(Service {
            name: format!("console-{k}"),
            args: [
                "console".into(),
                "--broker".into(),
                nodes_from(k as usize + 1),
                "--client-id".into(),
                format!("tidewatch-console-{k}"),
                "--http".into(),
                format!("127.0.0.1:{}", base + 80 + k),
                "--data".into(),
                d(&format!("console-{k}")),
                "--database".into(),
                database.to_owned(),
            ]
            .into_iter()
            .chain(login("console"))
            .collect(),
            child: None,
        });
    }
    out
}

/// Refuse to start on ports something else holds.
fn check_free(ports: &[u16]) -> Result<()> {
    for p in ports {
        if std::net::TcpListener::bind(("127.0.0.1", *p)).is_err() {
            bail!("port {p} is taken on 127.0.0.1: stop what holds it, or give --base-port");
        }
    }
    Ok(())
}

/// `tidewatch deploy`.
pub fn run(args: &DeployArgs) -> Result<()> {
    rabbitmq::require()?;
    let base = args.base_port;
    let dir = std::path::absolute(&args.dir).context("--dir")?;
    for sub in ["logs", "run", "bus", "secrets", "secrets/units"] {
        std::fs::create_dir_all(dir.join(sub))
            .with_context(|| dir.join(sub).display().to_string())?;
    }
    let nodes: Vec<RabbitNode> = (1..=3u16)
        .map(|i| RabbitNode {
            name: format!("tw{base}n{i}"),
            mqtt: base + i,
            amqp: base + 10 + i,
            dist: base + 20 + i,
        })
        .collect();
    let mut ports: Vec<u16> = nodes
        .iter()
        .flat_map(|n| [n.mqtt, n.amqp, n.dist])
        .collect();
    ports.extend([
        base + 30,
        base + 81,
        base + 82,
        base + 91,
        base + 92,
        base + 93,
        base + 94,
    ]);
    check_free(&ports)?;

    eprintln!(
        "tidewatch deploy: PostgreSQL on 127.0.0.1:{} ...",
        base + 30
    );
    let pg = PgServer::open(&dir.join("postgres"), base + 30)?;
    let database = pg.ensure_database("tidewatch")?;
    eprintln!("tidewatch deploy: three RabbitMQ nodes (the first start clusters them) ...");
    let cookie = format!("TIDEWATCH{}", std::process::id());
    let units_dir = dir.join("secrets/units");
    let units = units_of(&units_dir, &args.units, &args.remove_units)?;
    let accounts = bus_accounts(&dir.join("secrets"), &units)?;
    let anonymous = accounts
        .iter()
        .find(|a| a.name == ANONYMOUS)
        .map(|a| (a.name.as_str(), a.password.as_str()));
    let bus = RabbitCluster::start(&dir.join("bus"), nodes, &cookie, anonymous)?;
    rabbitmq::set_accounts(bus.home(), &bus.nodes()[0].node(), &accounts)?;
    for id in &args.remove_units {
        // The account before the file: a unit is never left able to log in without a record
        // of it.
        rabbitmq::remove_account(bus.home(), &bus.nodes()[0].node(), id)?;
        // Its session would keep collecting its taskings, for no one (or for a unit given
        // the id later).
        let session = tidewatch_broker::rabbitmq::unit_client_id(id);
        rabbitmq::remove_session(bus.home(), &bus.nodes()[0].node(), &session)?;
        let file = units_dir.join(format!("{id}.password"));
        if file.exists() {
            std::fs::remove_file(&file).with_context(|| file.display().to_string())?;
        }
        eprintln!("tidewatch deploy: unit {id} removed from the bus, with its session {session}");
    }
    let brokers: Vec<String> = bus
        .nodes()
        .iter()
        .map(|n| format!("127.0.0.1:{}", n.mqtt))
        .collect();
    let exe = std::env::current_exe().context("the tidewatch program")?;

    // The first run makes an administrator, its one-time password kept for the operator.
    let admin = dir.join("admin-password.txt");
    if !admin.exists() {
        let out = Command::new(&exe)
            .args([
                "user",
                "--database",
                &database,
                "add",
                "admin",
                "--role",
                "admin",
            ])
            .output()
            .context("tidewatch user add")?;
        if !out.status.success() {
            bail!(
                "creating the administrator: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        write_private(&admin, &out.stdout)?;
    }

    let mut services = services(&dir, &brokers, &database, base);
    let mut commands = String::from(
        "# Each line is one process of the layout: on several machines, each runs on its own.\n",
    );
    for s in &services {
        commands.push_str(&format!("tidewatch {}\n", s.args.join(" ")));
    }
    std::fs::write(dir.join("commands.txt"), commands).context("commands.txt")?;
    for s in &mut services {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("logs").join(format!("{}.log", s.name)))
            .context("log")?;
        use std::os::unix::process::CommandExt;
        let child = Command::new(&exe)
            .args(&s.args)
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("start {}", s.name))?;
        std::fs::write(
            dir.join("run").join(format!("{}.pid", s.name)),
            child.id().to_string(),
        )
        .context("pid file")?;
        s.child = Some(child);
    }
    let ready = wait_consoles(base, &mut services);
    print_layout(&dir, &brokers, &database, base, &admin, &units);
    if let Err(e) = ready {
        stop(&mut services);
        return Err(e);
    }
    println!("tidewatch deploy: ready");
    if !args.check {
        watch(&mut services)?;
    }
    stop(&mut services);
    drop(bus);
    drop(pg);
    eprintln!("tidewatch deploy: stopped");
    Ok(())
}

/// The bus account of clients that give none (receivers): the anonymous rules.
const ANONYMOUS: &str = "anonymous";

/// Names a unit may not take: the services' accounts, and RabbitMQ's own.
const RESERVED: [&str; 5] = ["ingest", "fusion", "console", ANONYMOUS, "guest"];

/// The bus accounts, a password for each kept in `secrets/NAME.password` (made at the first
/// start, read after): the services', the anonymous clients', and one per unit in `units`
/// (`secrets/units/ID.password`).
fn bus_accounts(secrets: &Path, units: &[String]) -> Result<Vec<rabbitmq::Account>> {
    use tidewatch_broker::Role;
    use tidewatch_broker::rabbitmq::{
        anonymous_permissions, anonymous_resource_permissions, resource_permissions,
        topic_permissions,
    };
    let mut accounts = Vec::new();
    for (name, role) in [
        ("ingest", Role::Ingest),
        ("fusion", Role::Fusion),
        ("console", Role::Console),
    ] {
        accounts.push(rabbitmq::Account {
            name: name.to_owned(),
            password: password_in(&secrets.join(format!("{name}.password")))?,
            resources: resource_permissions(role, name),
            topics: topic_permissions(role, name),
        });
    }
    accounts.push(rabbitmq::Account {
        name: ANONYMOUS.to_owned(),
        password: password_in(&secrets.join(format!("{ANONYMOUS}.password")))?,
        resources: anonymous_resource_permissions(),
        topics: anonymous_permissions(),
    });
    for id in units {
        accounts.push(rabbitmq::Account {
            name: id.clone(),
            password: password_in(&secrets.join("units").join(format!("{id}.password")))?,
            resources: resource_permissions(Role::Unit, id),
            topics: topic_permissions(Role::Unit, id),
        });
    }
    Ok(accounts)
}

/// A unit id the bus can take as an account name: a [`ingest::wire::UnitId`], not one of the
/// bus's own accounts, not read by rabbitmqctl as an option (a leading `-`).
fn bus_unit(id: &str) -> Result<String> {
    let id = ingest::wire::UnitId::new(id).map_err(|e| anyhow::anyhow!("unit: {e}"))?;
    if RESERVED.contains(&id.as_str()) || id.as_str().starts_with('-') {
        bail!("unit {id}: a name the bus cannot give a unit (its own accounts', or an option's)");
    }
    Ok(id.to_string())
}

/// The units on the bus from this start: those added before (a password file in `dir`) and
/// those in `add`, less those in `remove`, each checked ([`bus_unit`]).
fn units_of(dir: &Path, add: &[String], remove: &[String]) -> Result<Vec<String>> {
    let mut units = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(dir).with_context(|| dir.display().to_string())? {
        let path = entry?.path();
        if let Some(id) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".password"))
        {
            match bus_unit(id) {
                Ok(id) => {
                    units.insert(id);
                }
                Err(e) => eprintln!(
                    "tidewatch deploy: {}: not a unit's file ({e})",
                    path.display()
                ),
            }
        }
    }
    for id in add {
        units.insert(bus_unit(id)?);
    }
    for id in remove {
        let id = bus_unit(id)?;
        if add.contains(&id) {
            bail!("unit {id} both added and removed");
        }
        units.remove(&id);
    }
    Ok(units.into_iter().collect())
}

/// The password kept in `path`, made (random, written readable by the owner only) if there
/// is none yet.
fn password_in(path: &Path) -> Result<String> {
    if !path.exists() {
        let mut secret = [0u8; 24];
        getrandom::fill(&mut secret).context("random password")?;
        let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
        write_private(path, hex.as_bytes())?;
    }
    Ok(std::fs::read_to_string(path)
        .with_context(|| path.display().to_string())?
        .trim()
        .to_owned())
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .create_new(true)
        .write(true)
        .mode(0o600)
        .open(path)
        .with_context(|| path.display().to_string())?;
    f.write_all(bytes)?;
    Ok(())
}

/// Wait until both consoles answer (they are the last to be ready: the store, the bus).
fn wait_consoles(base: u16, services: &mut [Service]) -> Result<()> {
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    for port in [base + 81, base + 82] {
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            for s in services.iter_mut() {
                if let Some(c) = &mut s.child
                    && !matches!(c.try_wait(), Ok(None))
                {
                    bail!("{} stopped while starting: see its log", s.name);
                }
            }
            if std::time::Instant::now() > deadline {
                bail!("the console on port {port} did not answer within 120 s: see its log");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    Ok(())
}

fn print_layout(
    dir: &Path,
    brokers: &[String],
    database: &str,
    base: u16,
    admin: &Path,
    units: &[String],
) {
    println!("tidewatch deploy: {}", dir.display());
    println!("  bus (RabbitMQ, MQTT)   {}", brokers.join(", "));
    println!("  database (PostgreSQL)  {database}");
    println!(
        "  ingest a, b            metrics http://127.0.0.1:{}/metrics, :{}  (slots {}, rest)",
        base + 91,
        base + 92,
        SLOTS.map(|s| s.split('=').next().unwrap_or(s)).join(", ")
    );
    println!(
        "  fusion a, b            metrics http://127.0.0.1:{}/metrics, :{}",
        base + 93,
        base + 94
    );
    println!(
        "  consoles               http://127.0.0.1:{}/  http://127.0.0.1:{}/",
        base + 81,
        base + 82
    );
    println!("  administrator          {}", admin.display());
    for unit in units {
        println!(
            "  unit {unit:<17} user {unit}, password in {}",
            dir.join("secrets/units")
                .join(format!("{unit}.password"))
                .display()
        );
    }
    println!(
        "  each process           {}  (logs/, run/*.pid)",
        dir.join("commands.txt").display()
    );
}

/// Report processes that end, until Ctrl-C or SIGTERM.
fn watch(services: &mut [Service]) -> Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("runtime")?;
    rt.block_on(async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .context("SIGTERM")?;
        let ctrl_c = tokio::signal::ctrl_c();
        tokio::pin!(ctrl_c);
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        loop {
            tokio::select! {
                _ = &mut ctrl_c => break,
                _ = term.recv() => break,
                _ = tick.tick() => {
                    for s in services.iter_mut() {
                        if let Some(c) = &mut s.child
                            && let Ok(Some(status)) = c.try_wait()
                        {
                            eprintln!("tidewatch deploy: {} ended ({status}); the others carry on, it is not restarted", s.name);
                            s.child = None;
                        }
                    }
                }
            }
        }
        Ok(())
    })
}

/// Stop the processes: SIGINT (they stop cleanly), SIGKILL after 20 s.
fn stop(services: &mut [Service]) {
    for s in services.iter().rev() {
        if let Some(c) = &s.child {
            engines::signal(c, "INT", false);
        }
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    for s in services.iter_mut() {
        if let Some(mut c) = s.child.take() {
            engines::reap(&mut c, deadline);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Review 23: both fusion replicas run on the data's clock, so their revisions agree and
    /// the console's keeping the first copy of each (id, revision) mixes nothing.
    #[test]
    fn the_fusion_replicas_run_on_the_datas_clock() {
        let brokers = vec!["127.0.0.1:1".to_owned(), "127.0.0.1:2".to_owned()];
        let all = services(Path::new("/srv/tw"), &brokers, "postgres://x", 20000);
        let fusion: Vec<&Service> = all
            .iter()
            .filter(|s| s.name.starts_with("fusion-"))
            .collect();
        assert_eq!(fusion.len(), 2);
        for s in fusion {
            assert!(
                s.args.iter().any(|a| a == "--data-clock"),
                "{}: {:?}",
                s.name,
                s.args
            );
        }
    }
}
