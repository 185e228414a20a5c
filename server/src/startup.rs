//! Building the application: state, router, listener.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use app::backend::settings::Settings;
use app::backend::sso::ProviderDirectory;
use app::backend::{AppState, db};
use app::{App, shell};
use axum::Router;
use leptos::config::LeptosOptions;
use leptos_axum::{LeptosRoutes, generate_route_list};
use tokio::net::TcpListener;

use crate::config::{ServeArgs, StorageArgs};
use crate::http;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("cannot open the database at {path}: {source}")]
    Database { path: String, source: sqlx::Error },
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// A server bound to its port, not yet serving.
pub struct Application {
    listener: TcpListener,
    router: Router,
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
        let settings = serve
            .settings(bound)
            .map_err(|e| StartupError::Config(e.0))?;
        let db = open_database(storage).await?;
        let providers = ProviderDirectory::new(Duration::from_secs(serve.idp_timeout_secs))
            .map_err(|e| StartupError::Config(format!("HTTP client: {e}")))?;
        let state = AppState {
            leptos_options,
            db,
            settings: Arc::new(settings),
            providers: Arc::new(providers),
        };
        Ok(Self {
            listener,
            router: router(state.clone()),
            state,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub fn settings(&self) -> &Settings {
        &self.state.settings
    }

    /// Serves until Ctrl-C or SIGTERM.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown_signal())
            .await
    }
}

pub async fn open_database(storage: &StorageArgs) -> Result<db::Db, StartupError> {
    let path = storage.sqlite_path();
    let display = path.display().to_string();
    if let Err(source) = std::fs::create_dir_all(&storage.data_dir) {
        return Err(StartupError::Database {
            path: display,
            source: sqlx::Error::Io(source),
        });
    }
    db::open_sqlite(&path)
        .await
        .map_err(|source| StartupError::Database {
            path: display,
            source,
        })
}

/// Every route: the SSO endpoints, the session API, server functions and the SPA's pages.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let leptos_options = state.leptos_options.clone();
    let router = Router::new()
        .merge(http::routes())
        .leptos_routes_with_context(&state, routes, || (), move || shell(leptos_options.clone()))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell));
    http::middleware::wrap(router).with_state(state)
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
