//! Building the application: state, router, listener.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use app::backend::clock::Clock;
use app::backend::registry::{self, RegistryError, domains};
use app::backend::sessions::{self, SessionPolicy, Sessions, invalidation};
use app::backend::settings::Settings;
use app::backend::sso::{FlowStore, ProviderDirectory, revocation};
use app::backend::vault::{Vault, VaultError};
use app::backend::{AppState, db};
use app::{App, shell};
use axum::Router;
use axum::routing::get;
use axum::serve::{ListenerExt, TapIo};
use leptos::config::LeptosOptions;
use leptos::nonce::provide_nonce;
use leptos_axum::{LeptosRoutes, generate_route_list};
use secrecy::ExposeSecret;
use tokio::net::{TcpListener, TcpStream};

use crate::config::{ServeArgs, StorageArgs};
use crate::http;
use crate::http::rate_limit::ClientLimits;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// A setting is wrong; the operator fixes it (CLI exit 2).
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The database cannot be opened or migrated (CLI exit 1).
    #[error("cannot open the database at {location}: {source}")]
    Database {
        location: String,
        source: sqlx::Error,
    },
    /// The master keys do not fit the stored secrets (CLI exit 2). Nothing was written.
    #[error("master key: {0}")]
    MasterKey(String),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// The database and the keys that open its secrets.
pub struct Storage {
    pub db: db::Db,
    pub vault: Arc<Vault>,
}

/// A server bound to its port, not yet serving.
pub struct Application {
    listener: TcpListener,
    router: Router,
    /// `ORGPASS_METRICS_LISTEN`: `/metrics` is served here, not on the main listener.
    metrics_listener: Option<TcpListener>,
    limits: Arc<ClientLimits>,
    pub state: AppState,
}

impl Application {
    pub async fn build(
        storage: &StorageArgs,
        serve: &ServeArgs,
        leptos_options: LeptosOptions,
    ) -> Result<Self, StartupError> {
        let listener =
            TcpListener::bind(serve.listen)
                .await
                .map_err(|source| StartupError::Listen {
                    addr: serve.listen,
                    source,
                })?;
        let bound = listener
            .local_addr()
            .map_err(|source| StartupError::Listen {
                addr: serve.listen,
                source,
            })?;
        let metrics_listener = match serve.metrics_listen {
            Some(addr) => Some(
                TcpListener::bind(addr)
                    .await
                    .map_err(|source| StartupError::Listen { addr, source })?,
            ),
            None => None,
        };
        // Installed before anything is counted: a count made earlier would be lost.
        http::metrics::handle();
        let settings = serve
            .settings(bound)
            .map_err(|e| StartupError::Config(e.0))?;
        let Storage { db, vault } = open_storage(storage).await?;
        let providers = ProviderDirectory::new(
            Duration::from_secs(serve.idp_timeout_secs),
            serve.issuer_policy(),
        )
        .map_err(|e| StartupError::Config(format!("HTTP client: {e}")))?;
        let location = storage
            .location()
            .map_err(|e| StartupError::Config(e.0))?
            .describe();
        let database_error = |source| StartupError::Database {
            location: location.clone(),
            source,
        };
        let sign_in_db = db::SignInDb::open(&db).await.map_err(database_error)?;
        let flows = FlowStore::open(&db).await.map_err(database_error)?;
        let policy = SessionPolicy {
            absolute_ttl: settings.session_ttl,
            idle_timeout: settings.session_idle,
            clock: Clock::default(),
        };
        let sessions = Sessions::new(policy, serve.session_cache_entries);
        let state = AppState {
            leptos_options,
            db,
            vault,
            settings: Arc::new(settings),
            providers: Arc::new(providers),
            sign_in_db,
            flows: Arc::new(flows),
            sessions,
            revocation_limiter: Arc::new(revocation::limiter()),
        };
        let limits = Arc::new(ClientLimits::new(
            serve.rate_limit_per_minute,
            state.settings.trusted_proxies.clone(),
        ));
        Ok(Self {
            listener,
            router: router(
                state.clone(),
                metrics_listener.is_none(),
                Arc::clone(&limits),
            ),
            metrics_listener,
            limits,
            state,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Where `/metrics` is served when it has a listener of its own.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|listener| listener.local_addr().ok())
    }

    pub fn settings(&self) -> &Settings {
        &self.state.settings
    }

    /// Serves until Ctrl-C or SIGTERM.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `stop` completes, then lets the requests in progress finish and saves the
    /// sign-ins waiting for their callback, for the next start to take back.
    pub async fn run_until(
        self,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let sweeper = tokio::spawn(sweep_periodically(self.state.clone()));
        let domain_checks = tokio::spawn(check_domains_periodically(self.state.clone()));
        let invalidations = tokio::spawn(invalidation::follow(
            self.state.db.clone(),
            self.state.sessions.cache(),
        ));
        let upkeep = tokio::spawn(http::metrics::upkeep_periodically());
        let limits = Arc::clone(&self.limits);
        let forget_clients = tokio::spawn(async move {
            let mut every_minute = tokio::time::interval(Duration::from_secs(60));
            loop {
                every_minute.tick().await;
                limits.forget_idle();
            }
        });
        let metrics = self.metrics_listener.map(|listener| {
            let router = Router::new()
                .route("/metrics", get(http::metrics::scrape))
                .with_state(self.state.clone());
            tokio::spawn(async move {
                if let Err(error) = axum::serve(with_nodelay(listener), router).await {
                    tracing::error!(%error, "the metrics listener failed");
                }
            })
        });
        let listener = with_nodelay(self.listener);
        // The peer address decides whether a request's X-Request-Id is kept.
        let served = axum::serve(
            listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(stop)
        .await;
        sweeper.abort();
        domain_checks.abort();
        invalidations.abort();
        upkeep.abort();
        forget_clients.abort();
        if let Some(metrics) = metrics {
            metrics.abort();
        }
        match self.state.flows.save(&self.state.db).await {
            Ok(0) => {}
            Ok(saved) => tracing::info!(saved, "saved the sign-ins in progress for the next start"),
            Err(error) => tracing::error!(%error, "cannot save the sign-ins in progress"),
        }
        served
    }
}

/// Opens the database, then the master keys, and proves the keys open the stored secrets.
pub async fn open_storage(storage: &StorageArgs) -> Result<Storage, StartupError> {
    let location = storage.location().map_err(|e| StartupError::Config(e.0))?;
    let database_error = |source| StartupError::Database {
        location: location.describe(),
        source,
    };
    if let db::Location::Sqlite(_) = location {
        std::fs::create_dir_all(&storage.data_dir)
            .map_err(|source| database_error(sqlx::Error::Io(source)))?;
    }
    let db = db::open(&location).await.map_err(database_error)?;
    let vault = open_vault(storage, &location, &db).await?;
    registry::check_master_keys(&db, &vault)
        .await
        .map_err(|error| match error {
            RegistryError::Database(source) => database_error(source),
            other => StartupError::MasterKey(format!(
                "{other}. The stored client secrets cannot be opened with the configured keys; \
                 check ORGPASS_MASTER_KEY (or the key file {}). Nothing was changed.",
                storage.key_file().display()
            )),
        })?;
    Ok(Storage {
        db,
        vault: Arc::new(vault),
    })
}

async fn open_vault(
    storage: &StorageArgs,
    location: &db::Location,
    db: &db::Db,
) -> Result<Vault, StartupError> {
    let key_error = |error: VaultError| StartupError::MasterKey(error.to_string());
    if let Some(value) = &storage.master_key {
        return Vault::from_env_value(value.expose_secret()).map_err(key_error);
    }
    if let db::Location::Postgres(_) = location {
        return Err(StartupError::Config(format!(
            "with PostgreSQL, every replica needs the same master key: set ORGPASS_MASTER_KEY \
             (generate one with `orgpass keys generate`), e.g. ORGPASS_MASTER_KEY='{}'",
            "1:<base64 of 32 random bytes>"
        )));
    }
    let path = storage.key_file();
    if !path.exists() {
        let sealed = registry::sealed_secret_count(db)
            .await
            .map_err(|_| StartupError::MasterKey("cannot count the stored secrets".to_owned()))?;
        if sealed > 0 {
            return Err(StartupError::MasterKey(format!(
                "the key file {} is missing but {sealed} client secret(s) are sealed with it: \
                 restore the file or set ORGPASS_MASTER_KEY. Nothing was changed.",
                path.display()
            )));
        }
    }
    Vault::from_key_file(&path, true).map_err(key_error)
}

/// Once a minute, off the request path: abandoned sign-in flows, ended sessions, the used
/// Universal Logout token ids past their expiry and old session invalidations are deleted.
async fn sweep_periodically(state: AppState) {
    let mut every_minute = tokio::time::interval(Duration::from_secs(60));
    loop {
        every_minute.tick().await;
        if let Err(error) = state.flows.sweep_expired(&state.db).await {
            tracing::warn!(%error, "cannot sweep expired sign-in flows");
        }
        if let Err(error) = sessions::sweep_ended(&state.db, &state.sessions.policy).await {
            tracing::warn!(%error, "cannot sweep ended sessions");
        }
        if let Err(error) = invalidation::sweep(&state.db).await {
            tracing::warn!(%error, "cannot sweep old session invalidations");
        }
        if let Err(error) = revocation::sweep_used_token_ids(&state.db).await {
            tracing::warn!(%error, "cannot sweep used Universal Logout token ids");
        }
    }
}

/// Once a minute, the pending domain claims that are due are looked up (see
/// `registry::domains`): a slow DNS delays only this loop.
async fn check_domains_periodically(state: AppState) {
    let dns = domains::DnsChecker::new(state.settings.dns_server);
    let mut every_minute = tokio::time::interval(Duration::from_secs(60));
    loop {
        every_minute.tick().await;
        match domains::check_due_claims(&state.db, &dns, 100).await {
            Ok(0) => {}
            Ok(proved) => tracing::info!(proved, "domain claims proved by their TXT record"),
            Err(error) => tracing::warn!(%error, "cannot check pending domain claims"),
        }
    }
}

/// Without TCP_NODELAY a response written in two parts (headers, then a body) waits for the
/// client's delayed ACK: about 40 ms for every page and static file on a keep-alive
/// connection (Nagle's algorithm).
fn with_nodelay(listener: TcpListener) -> TapIo<TcpListener, fn(&mut TcpStream)> {
    listener.tap_io(set_nodelay)
}

fn set_nodelay(tcp: &mut TcpStream) {
    if let Err(error) = tcp.set_nodelay(true) {
        tracing::warn!(%error, "cannot set TCP_NODELAY on an accepted connection");
    }
}

/// Every route: the SSO endpoints, the session API, server functions and the SPA's pages, and
/// `/metrics` unless it has a listener of its own.
pub fn router(state: AppState, with_metrics: bool, limits: Arc<ClientLimits>) -> Router {
    let routes = generate_route_list(App);
    let leptos_options = state.leptos_options.clone();
    let mut http_routes = http::routes();
    if with_metrics {
        http_routes = http_routes.route("/metrics", get(http::metrics::scrape));
    }
    let router = Router::new()
        .merge(http_routes)
        .leptos_routes_with_context(&state, routes, provide_nonce, move || {
            shell(leptos_options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(provide_nonce, shell));
    http::middleware::wrap(router, &state, limits).with_state(state)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
