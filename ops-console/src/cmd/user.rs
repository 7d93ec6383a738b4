//! `tidewatch user add|passwd|list`: console accounts, straight in the console's database
//! (`DIR/console/console.db`), for the administrator at the machine.

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;

use anyhow::{Context, Result, bail};

use crate::console::auth::{self, Role};
use crate::console::store::{NewAudit, Store};
use crate::console::{api::check_user_name, console_dir, create_user};

/// Arguments of `user`.
#[derive(Debug, clap::Args)]
pub struct UserArgs {
    /// Data directory (the console's database is `DIR/console/console.db`).
    #[arg(
        long,
        value_name = "DIR",
        default_value = "tidewatch-data",
        global = true
    )]
    pub data: PathBuf,
    /// The consoles' store on PostgreSQL (`postgres://USER@HOST:PORT/DATABASE`), when they
    /// run with `--database`.
    #[arg(long, value_name = "URL", global = true)]
    pub database: Option<String>,
    /// File holding the PostgreSQL password.
    #[arg(long, value_name = "FILE", global = true)]
    pub database_password_file: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub action: UserAction,
}

/// `user` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum UserAction {
    /// Create an account. Without `--password-stdin` a one-time password is printed, to be
    /// changed at first login.
    Add {
        /// Login name (letters, digits, `.`, `_`, `-`).
        name: String,
        /// Role: watch_officer, sar_coordinator, boarding_officer, investigator,
        /// partner_liaison, auditor, admin, duty_officer, legal_adviser, protection_officer.
        #[arg(long)]
        #[arg(value_parser = |s: &str| s.parse::<Role>())]
        role: Role,
        /// The State the user acts for (ISO 3166 alpha-2): required for a partner's liaison
        /// officer, who sees only what is released to that State.
        #[arg(long, value_name = "XX")]
        state: Option<String>,
        /// Read the password from the first line of standard input (at least 12
        /// characters); it need not be changed at login.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a new password: read from stdin with `--password-stdin`, else a printed
    /// one-time password. The account's sessions end.
    Passwd {
        /// Login name.
        name: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Register an officer's key for case actions signed at sea: the public key that
    /// `tidewatch patrol --add-crew NAME` printed on board, for that unit only. Actions it
    /// signs are taken in this account's name and role.
    SeaKey {
        /// Login name (the account acts at sea as its role).
        name: String,
        /// The public key, hex (`ed25519:` may precede it).
        key: String,
        /// The unit the officer serves on.
        #[arg(long, value_name = "ID")]
        unit: String,
    },
    /// Revoke an officer's key for actions signed at sea (a phone or tablet lost): nothing it
    /// signs is taken from then on, even what was signed before and is still on its way.
    SeaKeyRevoke {
        /// The public key, hex.
        key: String,
    },
    /// List the accounts.
    List,
}

fn read_password() -> Result<String> {
    if std::io::stdin().is_terminal() {
        eprintln!("password (at least 12 characters), then Enter:");
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from stdin")?;
    let pw = line.trim_end_matches(['\r', '\n']).to_owned();
    auth::check_new_password(&pw).map_err(anyhow::Error::msg)?;
    Ok(pw)
}

/// `tidewatch user ...`.
pub fn run(args: &UserArgs) -> Result<()> {
    let dir = console_dir(&args.data);
    let store = match &args.database {
        Some(url) => {
            let password = match &args.database_password_file {
                Some(f) => Some(ingest::link::read_secret(f, "database password")?),
                None => None,
            };
            Store::connect_postgres_with(url, password.as_deref())
                .with_context(|| format!("--database {url}"))?
        }
        None => Store::open(&dir).with_context(|| format!("{}", dir.display()))?,
    };
    match &args.action {
        UserAction::Add {
            name,
            role,
            state,
            password_stdin,
        } => {
            check_user_name(name).map_err(anyhow::Error::msg)?;
            let state = state.as_deref().map(str::trim).filter(|s| !s.is_empty());
            if let Some(s) = state
                && !(s.len() == 2 && s.bytes().all(|b| b.is_ascii_alphabetic()))
            {
                bail!("--state {s:?}: an ISO 3166 alpha-2 code, e.g. MT");
            }
            if *role == Role::PartnerLiaison && state.is_none() {
                bail!("a partner_liaison acts for a State: give --state XX");
            }
            let (password, one_time) = if *password_stdin {
                (read_password()?, false)
            } else {
                (auth::one_time_password(), true)
            };
            let Some(password) =
                create_user(&store, name, *role, (!one_time).then_some(password), None)?
            else {
                bail!("user {name:?} exists (use `tidewatch user passwd {name}`)");
            };
            if let Some(s) = state {
                store.set_user_state(name, s)?;
            }
            if one_time {
                println!("{name} ({role}) created; one-time password: {password}");
            } else {
                println!("{name} ({role}) created");
            }
        }
        UserAction::Passwd {
            name,
            password_stdin,
        } => {
            let (password, one_time) = if *password_stdin {
                (read_password()?, false)
            } else {
                (auth::one_time_password(), true)
            };
            let phc = auth::hash_password(&password).map_err(anyhow::Error::msg)?;
            if !store.set_password(name, &phc, one_time)? {
                bail!("no user {name:?}");
            }
            let ended = store.delete_sessions_of(name)?;
            store.audit(NewAudit {
                user: None,
                role: None,
                action: "password_reset",
                target: Some(name),
                detail: &serde_json::json!({"by": "command line", "sessions_ended": ended.len(), "one_time_password": one_time}),
            })?;
            if one_time {
                println!("{name}: new one-time password: {password}");
            } else {
                println!("{name}: password changed");
            }
        }
        UserAction::SeaKey { name, key, unit } => {
            let key = ingest::wire::sea::parse_public_key(key).map_err(anyhow::Error::msg)?;
            let unit = ingest::wire::UnitId::new(unit)
                .map_err(|e| anyhow::anyhow!("--unit {unit:?}: {e}"))?;
            if store.user(name)?.is_none() {
                bail!("no user {name:?} (tidewatch user add {name} --role boarding_officer)");
            }
            if store.account_pending(name)? {
                bail!(
                    "{name:?} awaits a second person's approval: register the key once it is approved"
                );
            }
            if let Some((user, on)) = store.sea_key(&key)? {
                bail!("that key is registered already, to {user} on {on}");
            }
            store.add_sea_key(&key, name, unit.as_str())?;
            store.audit(NewAudit {
                user: None,
                role: None,
                action: "sea_key_added",
                target: Some(name),
                detail: &serde_json::json!({"by": "command line", "unit": unit.as_str(), "key": key}),
            })?;
            println!("{name}: key {key} registered for actions signed at sea on {unit}");
        }
        UserAction::SeaKeyRevoke { key } => {
            let key = ingest::wire::sea::parse_public_key(key).map_err(anyhow::Error::msg)?;
            let Some((user, unit)) = store.sea_key(&key)? else {
                bail!("no key {key} is registered");
            };
            if !store.revoke_sea_key(&key)? {
                bail!("the key {key} of {user} on {unit} is revoked already");
            }
            store.audit(NewAudit {
                user: None,
                role: None,
                action: "sea_key_revoked",
                target: Some(&user),
                detail: &serde_json::json!({"by": "command line", "unit": unit, "key": key}),
            })?;
            println!("{user}'s key {key} on {unit} revoked: nothing it signs is taken from now on");
        }
        UserAction::List => {
            println!("{:<24} {:<18} {:<22} STATE", "NAME", "ROLE", "CREATED UTC");
            for u in store.users()? {
                println!(
                    "{:<24} {:<18} {:<22} {}",
                    u.name,
                    u.role,
                    u.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                    if u.must_change {
                        "one-time password"
                    } else {
                        "active"
                    }
                );
            }
        }
    }
    Ok(())
}
