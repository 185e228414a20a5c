//! The connection pool and the embedded schemas: SQLite by default, PostgreSQL for replicas.
//!
//! Both go through `sqlx::Any`, so every query is written once (`$1` placeholders, integer
//! flags and Unix-second timestamps, see `migrations/README.md`).

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Executor};

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
