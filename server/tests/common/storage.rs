//! Where a test's data lives. By default a fresh SQLite directory; in the PostgreSQL pass
//! (`ORGPASS_TEST_STORAGE=postgres`, run by `make test` when `ORGPASS_TEST_DATABASE_URL` is set)
//! a fresh database on that server, dropped when the test ends.

use std::path::Path;

use app::backend::vault::Vault;
use secrecy::SecretString;
use server::config::StorageArgs;
use sqlx::{Connection, Executor, PgConnection};
use tempfile::TempDir;

pub struct TestStorage {
    dir: TempDir,
    postgres: Option<TestDatabase>,
}

/// A database of its own on the test PostgreSQL server.
struct TestDatabase {
    admin_url: String,
    name: String,
    url: String,
    master_key: String,
}

/// Whether this run stores data in PostgreSQL.
pub fn postgres_pass() -> bool {
    std::env::var("ORGPASS_TEST_STORAGE").is_ok_and(|value| value == "postgres")
}

impl TestStorage {
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().expect("cannot create a temporary data directory");
        let postgres = if postgres_pass() {
            Some(TestDatabase::create().await)
        } else {
            None
        };
        Self { dir, postgres }
    }

    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// Arguments for an in-process server or registry.
    pub fn args(&self) -> StorageArgs {
        let mut args = StorageArgs::embedded(self.dir.path().to_path_buf());
        if let Some(database) = &self.postgres {
            args.database_url = Some(SecretString::from(database.url.clone()));
            args.master_key = Some(SecretString::from(database.master_key.clone()));
        }
        args
    }

    /// The master key entry the PostgreSQL pass configures (`None`: the SQLite key file).
    pub fn master_key(&self) -> Option<&str> {
        self.postgres.as_ref().map(|db| db.master_key.as_str())
    }

    /// Environment for the `orgpass` binary.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        let mut env = vec![("ORGPASS_DATA_DIR", self.dir.path().display().to_string())];
        if let Some(database) = &self.postgres {
            env.push(("DATABASE_URL", database.url.clone()));
            env.push(("ORGPASS_MASTER_KEY", database.master_key.clone()));
        }
        env
    }
}

impl TestDatabase {
    async fn create() -> Self {
        let admin_url = std::env::var("ORGPASS_TEST_DATABASE_URL").expect(
            "the PostgreSQL pass needs ORGPASS_TEST_DATABASE_URL, e.g. \
             postgres://postgres@127.0.0.1:5432/test",
        );
        let name = format!("orgpass_test_{:016x}", rand::random::<u64>());
        let mut admin = PgConnection::connect(&admin_url)
            .await
            .expect("cannot reach the test PostgreSQL server");
        admin
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .expect("cannot create a test database");
        let mut url = url::Url::parse(&admin_url).expect("ORGPASS_TEST_DATABASE_URL is not a URL");
        url.set_path(&name);
        Self {
            admin_url,
            name,
            url: url.to_string(),
            master_key: Vault::generate_env_entry(1),
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop runs outside any async context here; a thread with its own runtime does the
        // clean-up, and FORCE ends the connections a test's server pool still holds.
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("cannot build a runtime");
            runtime.block_on(async {
                if let Ok(mut admin) = PgConnection::connect(&admin_url).await {
                    let _ = admin
                        .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                        .await;
                }
            });
        });
        let _ = cleanup.join();
    }
}
