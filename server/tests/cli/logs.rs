//! `orgpass serve` with `ORGPASS_LOG_FORMAT=json`: one JSON object per line, and each
//! request's id on its lines and in its `X-Request-Id` answer; an incoming id is kept only from
//! a trusted proxy.

use crate::support::{Cli, Server};

/// `GET /healthz`, with this `X-Request-Id` if any; the id the answer names.
async fn get(server: &Server, incoming_id: Option<&str>) -> String {
    let mut request = reqwest::Client::new().get(format!("{}/healthz", server.base_url));
    if let Some(id) = incoming_id {
        request = request.header("x-request-id", id);
    }
    let answer = request.send().await.expect("the server answers");
    answer
        .headers()
        .get("x-request-id")
        .and_then(|id| id.to_str().ok())
        .expect("an X-Request-Id answer header")
        .to_owned()
}

#[tokio::test]
async fn every_request_gets_an_id_that_its_json_log_lines_carry() {
    let cli = Cli::new().await;
    let server = Server::start(&cli, &[]);

    let id = get(&server, None).await;

    assert_eq!(id.len(), 36, "a UUID: {id}");
    let line = server.line_where(|line| line["span"]["request_id"] == id.as_str());
    assert_eq!(line["span"]["route"], "/healthz");
    assert_ne!(get(&server, None).await, id, "two requests shared an id");
}

#[tokio::test]
async fn an_incoming_request_id_is_kept_from_a_trusted_proxy_only() {
    let cli = Cli::new().await;
    let direct = Server::start(&cli, &[]);
    let replaced = get(&direct, Some("forged-by-a-client")).await;
    assert_ne!(replaced, "forged-by-a-client");
    drop(direct);

    let behind_a_proxy =
        Server::start(&cli, &[("ORGPASS_TRUSTED_PROXIES", "10.0.0.0/8,127.0.0.1")]);
    let kept = get(&behind_a_proxy, Some("lb-7f3a")).await;

    assert_eq!(kept, "lb-7f3a");
    behind_a_proxy.line_where(|line| line["span"]["request_id"] == "lb-7f3a");
}

#[tokio::test]
async fn a_trusted_proxy_that_is_not_an_address_is_refused_with_what_to_write() {
    let cli = Cli::new().await;

    let output = cli.run_with(
        &["serve"],
        None,
        &[("ORGPASS_TRUSTED_PROXIES", Some("10.0.0.0/33"))],
    );

    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("is not an IP address or network such as 10.0.0.0/8"),
        "{stderr}"
    );
}
