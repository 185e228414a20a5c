//! The probes a load balancer uses: `/healthz` (the process serves) and `/readyz` (it can
//! reach its database).

use reqwest::StatusCode;

use crate::helpers::{TestApp, spawn_app};

async fn probe(app: &TestApp, path: &str) -> (StatusCode, String) {
    let answer = app.browser().get(app.url(path)).await;
    assert_eq!(answer.header("cache-control"), Some("no-store"), "{path}");
    (answer.status, answer.body)
}

#[tokio::test]
async fn a_serving_process_with_its_database_is_healthy_and_ready() {
    let app = spawn_app().await;

    assert_eq!(
        probe(&app, "/healthz").await,
        (StatusCode::OK, "ok\n".into())
    );
    assert_eq!(
        probe(&app, "/readyz").await,
        (StatusCode::OK, "ready\n".into())
    );
}

#[tokio::test]
async fn without_its_database_the_process_is_healthy_but_not_ready() {
    let app = spawn_app().await;

    app.db.close().await;

    assert_eq!(
        probe(&app, "/healthz").await,
        (StatusCode::OK, "ok\n".into())
    );
    assert_eq!(
        probe(&app, "/readyz").await,
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "database unavailable\n".into()
        )
    );
}
