//! RabbitMQ from Debian's `rabbitmq-server` (3.10), the clustered bus (DESIGN.md "Beyond one
//! machine"): nodes on loopback with the MQTT plugin, persistent sessions on quorum queues
//! (kept on a majority of nodes, so a session outlives the node it was on). One node's
//! configuration is written by [`write_node`] and started by [`node_command`], for `tidewatch
//! deploy` ([`RabbitCluster`]) and the bus tests alike.
//!
//! Nodes run the server script itself, not Debian's wrapper (which switches to the rabbitmq
//! user, who cannot write in the caller's directory), with an Erlang cookie of the cluster's
//! own in a home of its own.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::wait_mqtt;
use anyhow::{Context, Result, bail};

/// Debian's server script.
pub const RABBITMQ_SERVER: &str = "/usr/lib/rabbitmq/bin/rabbitmq-server";
/// Debian's control program.
pub const RABBITMQCTL: &str = "/usr/lib/rabbitmq/bin/rabbitmqctl";

/// Fail with what to install when RabbitMQ is missing.
pub fn require() -> Result<()> {
    if !Path::new(RABBITMQ_SERVER).exists() {
        bail!(
            "{RABBITMQ_SERVER} is missing: install Debian's rabbitmq-server (tests/install-deps.sh does)"
        );
    }
    Ok(())
}

/// One node's name and ports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RabbitNode {
    /// Erlang node name before `@localhost`.
    pub name: String,
    /// Its MQTT listener.
    pub mqtt: u16,
    /// Its AMQP listener (unused by Tidewatch, but a node has one).
    pub amqp: u16,
    /// Its Erlang distribution port (how nodes talk to each other).
    pub dist: u16,
}

impl RabbitNode {
    /// `name@localhost`.
    pub fn node(&self) -> String {
        format!("{}@localhost", self.name)
    }
}

/// Write the cluster's Erlang cookie in `home` unless there is one.
pub fn write_cookie(home: &Path, cookie: &str) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let path = home.join(".erlang.cookie");
    if path.exists() {
        return Ok(());
    }
    std::fs::create_dir_all(home).with_context(|| home.display().to_string())?;
    std::fs::write(&path, cookie).context("Erlang cookie")?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400))
        .context("Erlang cookie permissions")
}

/// Write node `n`'s configuration in `node_dir`: MQTT and AMQP on loopback, persistent
/// sessions on quorum queues. A client without an account logs in as `anonymous` (user name,
/// password: an account [`set_accounts`] makes, with the anonymous rules), or, without it, as
/// RabbitMQ's `guest` with every right (the bus tests' nodes).
pub fn write_node(node_dir: &Path, n: &RabbitNode, anonymous: Option<(&str, &str)>) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::create_dir_all(node_dir).with_context(|| node_dir.display().to_string())?;
    let mut conf = format!(
        "listeners.tcp.default = 127.0.0.1:{amqp}\n\
         mqtt.listeners.tcp.default = 127.0.0.1:{mqtt}\n\
         mqtt.durable_queue_type = quorum\n\
         mqtt.allow_anonymous = true\n\
         loopback_users = none\n",
        amqp = n.amqp,
        mqtt = n.mqtt,
    );
    if let Some((user, password)) = anonymous {
        conf.push_str(&format!(
            "mqtt.default_user = {user}\nmqtt.default_pass = {password}\n"
        ));
    }
    // It may hold a password: the node's owner only.
    let path = node_dir.join("rabbitmq.conf");
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| path.display().to_string())?;
    std::io::Write::write_all(&mut f, conf.as_bytes()).context("rabbitmq.conf")?;
    std::fs::write(node_dir.join("enabled_plugins"), "[rabbitmq_mqtt].\n")
        .context("enabled_plugins")
}

/// The command that starts node `n` from `node_dir` ([`write_node`]), with `home` holding the
/// cookie, in a process group of its own (so it can be stopped, or killed, whole).
pub fn node_command(home: &Path, node_dir: &Path, n: &RabbitNode) -> Command {
    let mut c = Command::new(RABBITMQ_SERVER);
    let d = |f: &str| node_dir.join(f);
    c.env("HOME", home)
        .env("RABBITMQ_NODENAME", n.node())
        .env("RABBITMQ_NODE_PORT", n.amqp.to_string())
        .env("RABBITMQ_DIST_PORT", n.dist.to_string())
        .env("RABBITMQ_CONFIG_FILE", d("rabbitmq"))
        .env("RABBITMQ_ENABLED_PLUGINS_FILE", d("enabled_plugins"))
        .env("RABBITMQ_MNESIA_BASE", d("mnesia"))
        .env("RABBITMQ_LOG_BASE", d("log"))
        .env("RABBITMQ_FEATURE_FLAGS_FILE", d("feature_flags"))
        .env("RABBITMQ_PLUGINS_EXPAND_DIR", d("plugins-expand"))
        .env("RABBITMQ_PID_FILE", d("pid"));
    use std::os::unix::process::CommandExt;
    c.process_group(0).stdin(Stdio::null());
    c
}

/// `rabbitmqctl -n NODE ARGS…` with the cookie in `home`.
pub fn rabbitmqctl(home: &Path, node: &str, args: &[&str]) -> Result<()> {
    rabbitmqctl_hiding(home, node, args, None)
}

/// [`rabbitmqctl`] with a secret among `args` (a password: RabbitMQ 3.10 takes it on the
/// command line only): a failure names the command and its first argument, and what
/// rabbitmqctl said with the secret blotted out (it echoes the arguments it was given).
fn rabbitmqctl_hiding(home: &Path, node: &str, args: &[&str], secret: Option<&str>) -> Result<()> {
    let (ok, said) = run(home, node, args)?;
    if !ok {
        let said = match secret {
            Some(s) if !s.is_empty() => said.replace(s, "********"),
            _ => said,
        };
        bail!(
            "rabbitmqctl -n {node} {}: {said}",
            args.iter().take(2).copied().collect::<Vec<_>>().join(" ")
        );
    }
    Ok(())
}

/// Run rabbitmqctl: whether it succeeded, and what it printed (standard output, then error).
fn run(home: &Path, node: &str, args: &[&str]) -> Result<(bool, String)> {
    let out = Command::new(RABBITMQCTL)
        .env("HOME", home)
        .arg("-n")
        .arg(node)
        .args(args)
        .output()
        .context("rabbitmqctl")?;
    Ok((
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    ))
}

/// Remove the account `name` from the cluster through `node` (its connections are closed);
/// one already absent is not an error (rabbitmqctl's own words say so, not ours).
pub fn remove_account(home: &Path, node: &str, name: &str) -> Result<()> {
    delete(
        home,
        node,
        &["delete_user", name],
        &["no_such_user", "does not exist"],
    )
}

/// Run a deletion (`args`); what it deletes already absent (rabbitmqctl said one of
/// `absent`) is not an error.
fn delete(home: &Path, node: &str, args: &[&str], absent: &[&str]) -> Result<()> {
    let (ok, said) = run(home, node, args)?;
    if ok || absent.iter().any(|w| said.contains(w)) {
        return Ok(());
    }
    bail!("rabbitmqctl -n {node} {}: {said}", args.join(" "))
}

/// Delete the MQTT session of client id `client_id` (RabbitMQ keeps it, its subscriptions and
/// what waits for it, after its account is gone, and no other account may delete it), then
/// check that none of its queues is left. A session that never was is not an error.
pub fn remove_session(home: &Path, node: &str, client_id: &str) -> Result<()> {
    let queues = tidewatch_broker::rabbitmq::session_queues(client_id);
    for q in &queues {
        delete(
            home,
            node,
            &["delete_queue", q],
            &["not_found", "not found"],
        )?;
    }
    let (ok, said) = run(
        home,
        node,
        &["list_queues", "--quiet", "--no-table-headers", "name"],
    )?;
    if !ok {
        bail!("rabbitmqctl -n {node} list_queues: {said}");
    }
    if let Some(left) = said
        .lines()
        .map(str::trim)
        .find(|l| queues.iter().any(|q| q == l))
    {
        bail!("the queue {left} is still on the bus after its deletion");
    }
    Ok(())
}

/// An account on the cluster: its name, password, the queues it may use and its topic
/// permissions on `amq.topic`.
#[derive(Debug, Clone)]
pub struct Account {
    /// User name.
    pub name: String,
    /// Password.
    pub password: String,
    /// The session queues it may use (its own client ids'), and `amq.topic`.
    pub resources: tidewatch_broker::rabbitmq::ResourcePermissions,
    /// Where it may publish and subscribe.
    pub topics: tidewatch_broker::rabbitmq::TopicPermissions,
}

/// Make (or bring up to date) `accounts` on the cluster through `node`, and remove RabbitMQ's
/// `guest` (every right, a known password). Each account may use the session queues of its
/// own client ids only ([`tidewatch_broker::rabbitmq::resource_permissions`]); its topic
/// permissions say where it may publish and subscribe.
pub fn set_accounts(home: &Path, node: &str, accounts: &[Account]) -> Result<()> {
    for a in accounts {
        let secret = Some(a.password.as_str());
        if rabbitmqctl_hiding(home, node, &["add_user", &a.name, &a.password], secret).is_err() {
            // It exists (a later start): its password is the one given now.
            rabbitmqctl_hiding(
                home,
                node,
                &["change_password", &a.name, &a.password],
                secret,
            )?;
        }
        rabbitmqctl(
            home,
            node,
            &[
                "set_permissions",
                "-p",
                "/",
                &a.name,
                &a.resources.configure,
                &a.resources.write,
                &a.resources.read,
            ],
        )?;
        rabbitmqctl(
            home,
            node,
            &[
                "set_topic_permissions",
                "-p",
                "/",
                &a.name,
                "amq.topic",
                &a.topics.write,
                &a.topics.read,
            ],
        )?;
    }
    // Absent after the first start.
    let _ = rabbitmqctl(home, node, &["delete_user", "guest"]);
    Ok(())
}

/// Join every node after the first to the first's cluster.
pub fn join(home: &Path, nodes: &[RabbitNode]) -> Result<()> {
    let Some((first, rest)) = nodes.split_first() else {
        return Ok(());
    };
    for n in rest {
        for args in [
            vec!["stop_app"],
            vec!["join_cluster", first.node().as_str()],
            vec!["start_app"],
        ] {
            rabbitmqctl(home, &n.node(), &args)?;
        }
    }
    Ok(())
}

/// How long a node may take to serve MQTT.
pub const READY_WITHIN: Duration = Duration::from_secs(120);

/// A cluster `tidewatch deploy` runs, kept in a directory across runs: its nodes are stopped
/// (SIGTERM: a clean stop) on drop.
#[derive(Debug)]
pub struct RabbitCluster {
    dir: PathBuf,
    nodes: Vec<RabbitNode>,
    children: Vec<Option<Child>>,
}

impl RabbitCluster {
    /// Start `nodes` in `dir` (made, and clustered, at the first start; started again on
    /// their data after) and wait until each serves MQTT.
    pub fn start(
        dir: &Path,
        nodes: Vec<RabbitNode>,
        cookie: &str,
        anonymous: Option<(&str, &str)>,
    ) -> Result<RabbitCluster> {
        require()?;
        write_cookie(dir, cookie)?;
        let mut c = RabbitCluster {
            dir: dir.to_owned(),
            children: nodes.iter().map(|_| None).collect(),
            nodes,
        };
        for i in 0..c.nodes.len() {
            c.spawn(i, anonymous)?;
        }
        for i in 0..c.nodes.len() {
            c.wait(i)?;
        }
        let joined = dir.join("clustered");
        if !joined.exists() {
            join(dir, &c.nodes)?;
            for i in 0..c.nodes.len() {
                c.wait(i)?;
            }
            std::fs::write(&joined, "").context("clustered")?;
        }
        Ok(c)
    }

    fn node_dir(&self, i: usize) -> PathBuf {
        self.dir.join(&self.nodes[i].name)
    }

    fn spawn(&mut self, i: usize, anonymous: Option<(&str, &str)>) -> Result<()> {
        let node_dir = self.node_dir(i);
        write_node(&node_dir, &self.nodes[i], anonymous)?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(node_dir.join("out.log"))
            .context("node log")?;
        let child = node_command(&self.dir, &node_dir, &self.nodes[i])
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("start a RabbitMQ node")?;
        self.children[i] = Some(child);
        Ok(())
    }

    fn wait(&self, i: usize) -> Result<()> {
        if !wait_mqtt(self.nodes[i].mqtt, READY_WITHIN) {
            bail!(
                "RabbitMQ node {} did not serve MQTT within {READY_WITHIN:?}: see {}",
                self.nodes[i].name,
                self.node_dir(i).join("out.log").display()
            );
        }
        Ok(())
    }

    /// The nodes.
    pub fn nodes(&self) -> &[RabbitNode] {
        &self.nodes
    }

    /// The directory holding the cluster's cookie (`rabbitmqctl`'s home).
    pub fn home(&self) -> &Path {
        &self.dir
    }
}

impl Drop for RabbitCluster {
    fn drop(&mut self) {
        // The last node to stop is the first to start next time (RabbitMQ waits for it):
        // stop them all at once, then wait.
        for c in self.children.iter().flatten() {
            super::signal(c, "TERM", false);
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        for mut c in self.children.drain(..).flatten() {
            super::reap(&mut c, deadline);
        }
    }
}
