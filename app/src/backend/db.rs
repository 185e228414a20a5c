//! The connection pool and the embedded schemas: SQLite by default, PostgreSQL for replicas.
//!
//! Both go through `sqlx::Any`, so every query is written once (`$1` placeholders, integer
//! flags and Unix-second timestamps, see `migrations/README.md`).

use std::ops::{Deref, DerefMut};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::migrate::Migrator;
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Executor};
use tokio::sync::{Mutex, MutexGuard};

pub type Db = AnyPool;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/postgres");

/// Where the data lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// The embedded default: one file, created on first use.
    Sqlite(PathBuf),
    /// A `postgres://` URL (it may carry a password: never print it, see [`Location::describe`]).
    Postgres(String),
}

impl Location {
    /// For messages and logs: the file, or the PostgreSQL host and database without credentials.
    pub fn describe(&self) -> String {
        match self {
            Self::Sqlite(path) => path.display().to_string(),
            Self::Postgres(url) => match url::Url::parse(url) {
                Ok(parsed) => format!(
                    "postgres://{}{}",
                    parsed.host_str().unwrap_or("localhost"),
                    parsed.path()
                ),
                Err(_) => "a malformed PostgreSQL URL".to_owned(),
            },
        }
    }
}

/// Opens the database (creating an SQLite file if needed) and brings its schema up to date.
pub async fn open(location: &Location) -> Result<Db, sqlx::Error> {
    install_default_drivers();
    match location {
        Location::Sqlite(path) => {
            let url = format!("sqlite://{}?mode=rwc", path.display());
            // sqlx enables foreign keys and a 5 s busy timeout on every SQLite connection.
            let pool = AnyPoolOptions::new()
                // One connection: SQLite runs one writer at a time and every sign-in writes, so
                // more connections would only queue on its lock, and each commit of one would
                // empty the page cache of the others (measured: 40 % more CPU per sign-in with 8).
                .max_connections(1)
                // A connection to a local file does not go stale; pinging it before each query
                // would double the hops to its worker thread.
                .test_before_acquire(false)
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        // With WAL, NORMAL syncs at checkpoints instead of every commit: the
                        // file cannot corrupt, and only a power cut can undo the last commits.
                        // Memory-mapped reads spare a system call per page when the CLI's
                        // changes empty the connection's cache.
                        conn.execute("PRAGMA synchronous = NORMAL; PRAGMA mmap_size = 268435456")
                            .await?;
                        Ok(())
                    })
                })
                .connect(&url)
                .await?;
            // WAL is a property of the file: set once, it holds for every connection.
            pool.execute("PRAGMA journal_mode = WAL").await?;
            SQLITE_MIGRATIONS.run(&pool).await?;
            Ok(pool)
        }
        Location::Postgres(url) => {
            let pool = AnyPoolOptions::new()
                .max_connections(16)
                .connect(url)
                .await?;
            POSTGRES_MIGRATIONS.run(&pool).await?;
            Ok(pool)
        }
    }
}

/// The database of the sign-in path (login start and callback), the busiest requests.
///
/// On SQLite it is one connection of its own, held outside the pool: sqlx pings a pooled
/// connection every time it goes back to the pool, a round trip to the connection's worker
/// thread plus a spawned task, and on this path that cost more than the queries themselves
/// (see BENCHMARKS.md). On PostgreSQL it is the pool, which replicas and a networked database
/// need.
#[derive(Clone)]
pub enum SignInDb {
    Dedicated(Arc<Mutex<AnyConnection>>),
    Pooled(Db),
}

impl SignInDb {
    /// On SQLite, takes a connection out of `db` for good (the pool opens another for the
    /// rest of the server), so it keeps the pragmas of every pooled connection.
    pub async fn open(db: &Db) -> Result<Self, sqlx::Error> {
        if is_sqlite(db) {
            let connection = db.acquire().await?.detach();
            Ok(Self::Dedicated(Arc::new(Mutex::new(connection))))
        } else {
            Ok(Self::Pooled(db.clone()))
        }
    }

    /// Waits for the connection. Never hold it across a call to an identity provider: on
    /// SQLite, every other sign-in waits for it.
    pub async fn acquire(&self) -> Result<SignInConnection<'_>, sqlx::Error> {
        Ok(match self {
            Self::Dedicated(connection) => SignInConnection::Dedicated(connection.lock().await),
            Self::Pooled(pool) => SignInConnection::Pooled(pool.acquire().await?),
        })
    }
}

/// A connection of [`SignInDb`]; `&mut *connection` is an executor.
pub enum SignInConnection<'a> {
    Dedicated(MutexGuard<'a, AnyConnection>),
    Pooled(PoolConnection<Any>),
}

impl Deref for SignInConnection<'_> {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        match self {
            Self::Dedicated(guard) => guard,
            Self::Pooled(connection) => connection,
        }
    }
}

impl DerefMut for SignInConnection<'_> {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match self {
            Self::Dedicated(guard) => &mut *guard,
            Self::Pooled(connection) => &mut *connection,
        }
    }
}

/// Whether `db` is the embedded SQLite database (one node) rather than PostgreSQL.
pub fn is_sqlite(db: &Db) -> bool {
    db.connect_options().database_url.scheme() == "sqlite"
}

/// Unix seconds: the unit of every timestamp column.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
        })
}

/// Whether the error is a broken UNIQUE (or PRIMARY KEY) constraint, on either backend.
pub fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.is_unique_violation())
}
