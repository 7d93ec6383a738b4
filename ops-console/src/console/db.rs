//! The SQL under the console's store, on either engine: SQLite (one file, the embedded
//! default) or PostgreSQL (several consoles sharing one database). The store's logic is
//! written once against [`Sql`]; this module is the only place that knows which engine
//! runs it.
//!
//! The store writes SQL both engines read the same: numbered parameters (`?1`, turned into
//! `$1` for PostgreSQL), `ON CONFLICT … DO NOTHING`, `octet_length`, a `rowid` column for
//! arrival order (SQLite's own; an identity column in PostgreSQL), `"user"` quoted (a
//! reserved word in PostgreSQL). The schemas differ only in types (`BIGINT`, `BYTEA`) and in
//! how the append-only tables refuse changes (triggers in each engine's language).
//!
//! Every transaction writes, and takes the write lock when it begins: SQLite's `BEGIN
//! IMMEDIATE`, and on PostgreSQL a transaction-scoped advisory lock all consoles share.
//! So one writer at a time, across every console, as on one machine: an incident's log
//! is read and extended by one writer, never two (and its `(incident, seq)` key refuses a
//! fork even if two tried).

use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Wake};

use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};

use super::store::StoreError;

/// A value bound to, or read from, a statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// NULL.
    Null,
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Real(f64),
    /// Text.
    Text(String),
    /// Bytes.
    Blob(Vec<u8>),
}

/// What can be bound as a parameter.
pub trait ToValue {
    /// As a [`Value`].
    fn to_value(&self) -> Value;
}

impl<T: ToValue + ?Sized> ToValue for &T {
    fn to_value(&self) -> Value {
        (**self).to_value()
    }
}
impl ToValue for str {
    fn to_value(&self) -> Value {
        Value::Text(self.to_owned())
    }
}
impl ToValue for String {
    fn to_value(&self) -> Value {
        Value::Text(self.clone())
    }
}
impl ToValue for [u8] {
    fn to_value(&self) -> Value {
        Value::Blob(self.to_vec())
    }
}
impl ToValue for Vec<u8> {
    fn to_value(&self) -> Value {
        Value::Blob(self.clone())
    }
}
impl ToValue for bool {
    fn to_value(&self) -> Value {
        Value::Int(i64::from(*self))
    }
}
impl ToValue for f64 {
    fn to_value(&self) -> Value {
        Value::Real(*self)
    }
}
macro_rules! int_value {
    ($($t:ty),*) => {$(
        impl ToValue for $t {
            fn to_value(&self) -> Value {
                Value::Int(*self as i64)
            }
        }
    )*};
}
int_value!(i64, i32, u32, u16, u8);
impl<T: ToValue> ToValue for Option<T> {
    fn to_value(&self) -> Value {
        self.as_ref().map_or(Value::Null, ToValue::to_value)
    }
}

/// The parameters of a statement: `params![a, b]`.
macro_rules! params {
    () => {
        &[] as &[$crate::console::db::Value]
    };
    ($($x:expr),+ $(,)?) => {
        &[$($crate::console::db::ToValue::to_value(&$x)),+][..]
    };
}
pub(crate) use params;

/// What can be read from a column.
pub trait FromValue: Sized {
    /// From the column's value.
    fn from_value(v: &Value) -> Result<Self, StoreError>;
}

fn wrong(v: &Value, want: &str) -> StoreError {
    StoreError::Corrupt(format!("expected {want}, found {v:?}"))
}

impl FromValue for i64 {
    fn from_value(v: &Value) -> Result<Self, StoreError> {
        match v {
            Value::Int(i) => Ok(*i),
            _ => Err(wrong(v, "an integer")),
        }
    }
}
macro_rules! int_from {
    ($($t:ty),*) => {$(
        impl FromValue for $t {
            fn from_value(v: &Value) -> Result<Self, StoreError> {
                <$t>::try_from(i64::from_value(v)?).map_err(|e| StoreError::Corrupt(e.to_string()))
            }
        }
    )*};
}
int_from!(i32, u32, u64, u16, u8, usize);
impl FromValue for bool {
    fn from_value(v: &Value) -> Result<Self, StoreError> {
        Ok(i64::from_value(v)? != 0)
    }
}
impl FromValue for f64 {
    fn from_value(v: &Value) -> Result<Self, StoreError> {
        match v {
            Value::Real(f) => Ok(*f),
            Value::Int(i) => Ok(*i as f64),
            _ => Err(wrong(v, "a number")),
        }
    }
}
impl FromValue for String {
    fn from_value(v: &Value) -> Result<Self, StoreError> {
        match v {
            Value::Text(s) => Ok(s.clone()),
            _ => Err(wrong(v, "text")),
        }
    }
}
impl FromValue for Vec<u8> {
    fn from_value(v: &Value) -> Result<Self, StoreError> {
        match v {
            Value::Blob(b) => Ok(b.clone()),
            _ => Err(wrong(v, "bytes")),
        }
    }
}
impl<T: FromValue> FromValue for Option<T> {
    fn from_value(v: &Value) -> Result<Self, StoreError> {
        match v {
            Value::Null => Ok(None),
            v => T::from_value(v).map(Some),
        }
    }
}

/// A row read.
#[derive(Debug, Clone)]
pub struct Row(Vec<Value>);

impl Row {
    /// Column `i` (from 0).
    pub fn get<T: FromValue>(&self, i: usize) -> Result<T, StoreError> {
        T::from_value(self.0.get(i).unwrap_or(&Value::Null))
    }
}

/// `Ok(None)` for a query that found no row.
pub trait Optional<T> {
    /// The row's value, or `None` when there was no row.
    fn optional(self) -> Result<Option<T>, StoreError>;
}

impl<T> Optional<T> for Result<T, StoreError> {
    fn optional(self) -> Result<Option<T>, StoreError> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(StoreError::NoRows) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// Statements on a connection or inside a transaction, whichever engine.
pub trait Sql {
    /// Run a statement; the rows it changed.
    fn execute(&self, sql: &str, params: &[Value]) -> Result<usize, StoreError>;
    /// Run a query; every row.
    fn rows(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError>;
    /// Run statements separated by `;`, without parameters.
    fn execute_batch(&self, sql: &str) -> Result<(), StoreError>;

    /// The first row through `f`; [`StoreError::NoRows`] when there is none.
    fn query_row<T>(
        &self,
        sql: &str,
        params: &[Value],
        f: impl FnOnce(&Row) -> Result<T, StoreError>,
    ) -> Result<T, StoreError>
    where
        Self: Sized,
    {
        match self.rows(sql, params)?.first() {
            Some(r) => f(r),
            None => Err(StoreError::NoRows),
        }
    }

    /// A statement to run (the engines cache what they prepare).
    fn prepare<'a>(&'a self, sql: &'a str) -> Result<Stmt<'a, Self>, StoreError>
    where
        Self: Sized,
    {
        Ok(Stmt { on: self, sql })
    }
}

/// A statement ([`Sql::prepare`]).
pub struct Stmt<'a, S> {
    on: &'a S,
    sql: &'a str,
}

impl<S: Sql> Stmt<'_, S> {
    /// Run it; the rows it changed.
    pub fn execute(&mut self, params: &[Value]) -> Result<usize, StoreError> {
        self.on.execute(self.sql, params)
    }

    /// Every row through `f`.
    pub fn query_map<T>(
        &mut self,
        params: &[Value],
        f: impl FnMut(&Row) -> Result<T, StoreError>,
    ) -> Result<std::vec::IntoIter<Result<T, StoreError>>, StoreError> {
        let rows = self.on.rows(self.sql, params)?;
        Ok(rows.iter().map(f).collect::<Vec<_>>().into_iter())
    }

    /// The rows, one at a time.
    pub fn query(&mut self, params: &[Value]) -> Result<Rows, StoreError> {
        Ok(Rows {
            rows: self.on.rows(self.sql, params)?.into_iter(),
            current: None,
        })
    }
}

/// Rows of [`Stmt::query`].
pub struct Rows {
    rows: std::vec::IntoIter<Row>,
    current: Option<Row>,
}

impl Rows {
    /// The next row, if any.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Option<&Row>, StoreError> {
        self.current = self.rows.next();
        Ok(self.current.as_ref())
    }
}

/// A connection to either engine.
#[derive(Debug)]
pub enum Conn {
    /// SQLite.
    Sqlite(rusqlite::Connection),
    /// PostgreSQL.
    Pg(Box<Pg>),
}

impl Conn {
    /// Begin a (writing) transaction: it holds the write lock until it commits or drops.
    pub fn transaction(&mut self) -> Result<Tx<'_>, StoreError> {
        match self {
            Conn::Sqlite(c) => Ok(Tx {
                sqlite: Some(c.transaction()?),
                pg: None,
            }),
            Conn::Pg(p) => {
                let p: &Pg = p;
                p.batch("BEGIN")?;
                let tx = Tx {
                    sqlite: None,
                    pg: Some(p),
                };
                p.execute(
                    "SELECT pg_advisory_xact_lock($1)",
                    &[Value::Int(WRITE_LOCK)],
                )?;
                Ok(tx)
            }
        }
    }

    /// A PostgreSQL connection that was lost (the server restarted, the network dropped)
    /// is made again before the next statement; what was in flight failed with it (and
    /// was rolled back by the server). Nothing to do on SQLite.
    pub fn reconnect_if_lost(&mut self) {
        if let Conn::Pg(p) = self
            && p.client.is_closed()
        {
            match Pg::connect_config(p.config.clone()) {
                Ok(again) => {
                    tracing::info!("PostgreSQL connection made again");
                    **p = again;
                }
                Err(e) => tracing::warn!(error = %e, "PostgreSQL connection lost; not back yet"),
            }
        }
    }

    /// Which engine, for messages.
    pub fn engine(&self) -> &'static str {
        match self {
            Conn::Sqlite(_) => "SQLite",
            Conn::Pg(_) => "PostgreSQL",
        }
    }
}

impl Sql for Conn {
    fn execute(&self, sql: &str, params: &[Value]) -> Result<usize, StoreError> {
        match self {
            Conn::Sqlite(c) => sqlite_execute(c, sql, params),
            Conn::Pg(p) => p.execute(sql, params),
        }
    }
    fn rows(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError> {
        match self {
            Conn::Sqlite(c) => sqlite_rows(c, sql, params),
            Conn::Pg(p) => p.rows(sql, params),
        }
    }
    fn execute_batch(&self, sql: &str) -> Result<(), StoreError> {
        match self {
            Conn::Sqlite(c) => Ok(c.execute_batch(sql)?),
            Conn::Pg(p) => p.batch(sql),
        }
    }
}

/// A transaction; rolled back if dropped before [`Tx::commit`].
pub struct Tx<'a> {
    sqlite: Option<rusqlite::Transaction<'a>>,
    pg: Option<&'a Pg>,
}

impl Tx<'_> {
    /// Commit.
    pub fn commit(mut self) -> Result<(), StoreError> {
        if let Some(t) = self.sqlite.take() {
            t.commit()?;
        }
        if let Some(p) = self.pg.take() {
            p.batch("COMMIT")?;
        }
        Ok(())
    }
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        if let Some(p) = self.pg.take() {
            // A connection that cannot roll back is broken; the next statement says so.
            let _ = p.batch("ROLLBACK");
        }
    }
}

/// The channel on which consoles sharing a PostgreSQL store tell each other what changed.
pub const CHANGES: &str = "tidewatch_changes";

impl Tx<'_> {
    /// Tell the other consoles sharing the store that `what` changed (`incident:ID`,
    /// `triage:ALERT`), when this transaction commits (PostgreSQL delivers a notification
    /// only then, and never one of a transaction rolled back). Nothing to tell on SQLite.
    pub fn notify(&self, what: &str) -> Result<(), StoreError> {
        if let Some(p) = self.pg {
            p.execute(
                "SELECT pg_notify($1, $2)",
                &[Value::Text(CHANGES.into()), Value::Text(what.into())],
            )?;
        }
        Ok(())
    }
}

impl Sql for Tx<'_> {
    fn execute(&self, sql: &str, params: &[Value]) -> Result<usize, StoreError> {
        match (&self.sqlite, self.pg) {
            (Some(t), _) => sqlite_execute(t, sql, params),
            (_, Some(p)) => p.execute(sql, params),
            _ => Err(StoreError::Corrupt("a finished transaction".into())),
        }
    }
    fn rows(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError> {
        match (&self.sqlite, self.pg) {
            (Some(t), _) => sqlite_rows(t, sql, params),
            (_, Some(p)) => p.rows(sql, params),
            _ => Err(StoreError::Corrupt("a finished transaction".into())),
        }
    }
    fn execute_batch(&self, sql: &str) -> Result<(), StoreError> {
        match (&self.sqlite, self.pg) {
            (Some(t), _) => Ok(t.execute_batch(sql)?),
            (_, Some(p)) => p.batch(sql),
            _ => Err(StoreError::Corrupt("a finished transaction".into())),
        }
    }
}

// ---- SQLite

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(ToSqlOutput::Borrowed(match self {
            Value::Null => ValueRef::Null,
            Value::Int(i) => ValueRef::Integer(*i),
            Value::Real(f) => ValueRef::Real(*f),
            Value::Text(s) => ValueRef::Text(s.as_bytes()),
            Value::Blob(b) => ValueRef::Blob(b),
        }))
    }
}

fn sqlite_execute(
    c: &rusqlite::Connection,
    sql: &str,
    params: &[Value],
) -> Result<usize, StoreError> {
    Ok(c.prepare_cached(sql)?
        .execute(rusqlite::params_from_iter(params))?)
}

fn sqlite_rows(
    c: &rusqlite::Connection,
    sql: &str,
    params: &[Value],
) -> Result<Vec<Row>, StoreError> {
    use rusqlite::types::ValueRef;
    let mut st = c.prepare_cached(sql)?;
    let n = st.column_count();
    let mut rows = st.query(rusqlite::params_from_iter(params))?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let mut v = Vec::with_capacity(n);
        for i in 0..n {
            v.push(match r.get_ref(i)? {
                ValueRef::Null => Value::Null,
                ValueRef::Integer(i) => Value::Int(i),
                ValueRef::Real(f) => Value::Real(f),
                ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
                ValueRef::Blob(b) => Value::Blob(b.to_vec()),
            });
        }
        out.push(Row(v));
    }
    Ok(out)
}

// ---- PostgreSQL

/// The advisory lock every writing transaction takes (any number; the same in every
/// console).
const WRITE_LOCK: i64 = 0x7469_6465_7761_7463; // "tidewatc"

/// A PostgreSQL connection: its client, with the connection itself driven on a thread of
/// its own, so the store's calls block the caller as SQLite's do (from async code too).
#[derive(Debug)]
pub struct Pg {
    client: tokio_postgres::Client,
    /// How it connected, for the listening connection ([`Pg::listen`]).
    config: tokio_postgres::Config,
}

impl Pg {
    /// Connect to `url` (`postgres://user@host:port/database`, or the key=value form),
    /// with `password` if given.
    pub fn connect(url: &str, password: Option<&str>) -> Result<Pg, StoreError> {
        let mut config: tokio_postgres::Config = url.parse()?;
        if let Some(p) = password {
            config.password(p);
        }
        Self::connect_config(config)
    }

    fn connect_config(config: tokio_postgres::Config) -> Result<Pg, StoreError> {
        let kept = config.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("postgres".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = tx.send(Err(StoreError::Io(e)));
                        return;
                    }
                };
                rt.block_on(async move {
                    match config.connect(tokio_postgres::NoTls).await {
                        Ok((client, connection)) => {
                            let _ = tx.send(Ok(client));
                            if let Err(e) = connection.await {
                                tracing::error!(error = %e, "PostgreSQL connection lost");
                            }
                        }
                        Err(e) => {
                            let _ = tx.send(Err(StoreError::Postgres(e)));
                        }
                    }
                });
            })
            .map_err(StoreError::Io)?;
        let client = rx
            .recv()
            .map_err(|_| StoreError::Corrupt("the PostgreSQL thread ended".into()))??;
        Ok(Pg {
            client,
            config: kept,
        })
    }

    /// Listen, on a connection of its own, for what other consoles (and this one) say
    /// changed ([`Tx::notify`]); each is handed to `on_change`, on that connection's thread,
    /// until it returns false. Reconnects (after a pause) when the connection is lost;
    /// `on_change("")` then says notifications may have been missed meanwhile.
    pub fn listen(
        &self,
        on_change: impl FnMut(&str) -> bool + Send + 'static,
    ) -> Result<(), StoreError> {
        let config = self.config.clone();
        std::thread::Builder::new()
            .name("postgres-listen".into())
            .spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    tracing::error!("cannot start the PostgreSQL listener's runtime");
                    return;
                };
                rt.block_on(listen_loop(config, on_change));
            })
            .map_err(StoreError::Io)?;
        Ok(())
    }

    fn execute(&self, sql: &str, params: &[Value]) -> Result<usize, StoreError> {
        let sql = numbered_params(sql);
        let p: Vec<&(dyn ToSql + Sync)> = params.iter().map(|v| v as _).collect();
        Ok(block_on(self.client.execute(sql.as_str(), &p))? as usize)
    }

    fn rows(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError> {
        let sql = numbered_params(sql);
        let p: Vec<&(dyn ToSql + Sync)> = params.iter().map(|v| v as _).collect();
        block_on(self.client.query(sql.as_str(), &p))?
            .iter()
            .map(pg_row)
            .collect()
    }

    fn batch(&self, sql: &str) -> Result<(), StoreError> {
        Ok(block_on(self.client.batch_execute(sql))?)
    }
}

async fn listen_loop(config: tokio_postgres::Config, mut on_change: impl FnMut(&str) -> bool) {
    use futures_util::StreamExt;
    use tokio_postgres::AsyncMessage;
    let mut first = true;
    loop {
        match config.connect(tokio_postgres::NoTls).await {
            Ok((client, mut connection)) => {
                let mut messages =
                    futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
                let statement = format!("LISTEN {CHANGES}");
                // The LISTEN goes out while the connection is driven.
                let listening = {
                    let listen = client.batch_execute(&statement);
                    tokio::pin!(listen);
                    loop {
                        tokio::select! {
                            r = &mut listen => break r.is_ok(),
                            m = messages.next() => if m.is_none() { break false },
                        }
                    }
                };
                if listening {
                    if !first && !on_change("") {
                        return;
                    }
                    first = false;
                    while let Some(m) = messages.next().await {
                        match m {
                            Ok(AsyncMessage::Notification(n)) => {
                                if !on_change(n.payload()) {
                                    return;
                                }
                            }
                            Ok(_) => {}
                            Err(e) => {
                                tracing::warn!(error = %e, "PostgreSQL listener lost its connection");
                                break;
                            }
                        }
                    }
                }
                drop(client);
            }
            Err(e) => tracing::warn!(error = %e, "PostgreSQL listener cannot connect"),
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}

fn pg_row(r: &tokio_postgres::Row) -> Result<Row, StoreError> {
    let mut v = Vec::with_capacity(r.len());
    for (i, c) in r.columns().iter().enumerate() {
        let t = c.type_();
        let value = if *t == Type::INT8 {
            r.try_get::<_, Option<i64>>(i)?.map(Value::Int)
        } else if *t == Type::INT4 {
            r.try_get::<_, Option<i32>>(i)?
                .map(|n| Value::Int(n.into()))
        } else if *t == Type::INT2 {
            r.try_get::<_, Option<i16>>(i)?
                .map(|n| Value::Int(n.into()))
        } else if *t == Type::BOOL {
            r.try_get::<_, Option<bool>>(i)?
                .map(|b| Value::Int(b.into()))
        } else if *t == Type::FLOAT8 {
            r.try_get::<_, Option<f64>>(i)?.map(Value::Real)
        } else if *t == Type::FLOAT4 {
            r.try_get::<_, Option<f32>>(i)?
                .map(|f| Value::Real(f.into()))
        } else if *t == Type::BYTEA {
            r.try_get::<_, Option<Vec<u8>>>(i)?.map(Value::Blob)
        } else if *t == Type::VOID {
            None
        } else {
            r.try_get::<_, Option<String>>(i)?.map(Value::Text)
        };
        v.push(value.unwrap_or(Value::Null));
    }
    Ok(Row(v))
}

impl ToSql for Value {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut tokio_postgres::types::private::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(i) => {
                if *ty == Type::INT4 {
                    i32::try_from(*i)?.to_sql(ty, out)
                } else if *ty == Type::INT2 {
                    i16::try_from(*i)?.to_sql(ty, out)
                } else if *ty == Type::FLOAT8 {
                    (*i as f64).to_sql(ty, out)
                } else if *ty == Type::BOOL {
                    (*i != 0).to_sql(ty, out)
                } else {
                    i.to_sql(ty, out)
                }
            }
            Value::Real(f) => {
                if *ty == Type::FLOAT4 {
                    (*f as f32).to_sql(ty, out)
                } else {
                    f.to_sql(ty, out)
                }
            }
            Value::Text(s) => s.as_str().to_sql(ty, out),
            Value::Blob(b) => b.as_slice().to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// `?1` → `$1`, outside quoted text.
fn numbered_params(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut quote: Option<char> = None;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quote = Some(c),
            None if c == '?' && chars.peek().is_some_and(char::is_ascii_digit) => {
                out.push('$');
                continue;
            }
            None => {}
        }
        out.push(c);
    }
    out
}

/// Run `f` to completion on this thread. The client's futures only wait on channels to
/// the connection's own thread, so any thread may wait on them, a runtime's included.
fn block_on<F: Future>(f: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Arc::new(Unpark(std::thread::current())).into();
    let mut cx = Context::from_waker(&waker);
    let mut f = std::pin::pin!(f);
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_parameters_become_dollars_outside_quotes_only() {
        assert_eq!(
            numbered_params("SELECT a FROM t WHERE b = ?1 AND c = '?2' AND \"?3\" = ?12"),
            "SELECT a FROM t WHERE b = $1 AND c = '?2' AND \"?3\" = $12"
        );
    }
}
