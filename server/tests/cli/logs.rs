//! `orgpass serve` with `ORGPASS_LOG_FORMAT=json`: one JSON object per line, and each
//! request's id on its lines and in its `X-Request-Id` answer; an incoming id is kept only from
//! a trusted proxy.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

use serde_json::Value;

use crate::support::Cli;

/// `orgpass serve` on a free port, its log read line by line; killed when dropped.
struct Server {
    child: Child,
    lines: Receiver<String>,
    base_url: String,
}

impl Server {
    fn start(cli: &Cli, env: &[(&str, &str)]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_orgpass"))
            .arg("serve")
            .envs(cli.storage.env())
            .env_remove("ORGPASS_TRUSTED_PROXIES")
            .env("ORGPASS_LISTEN", "127.0.0.1:0")
            .env("ORGPASS_LOG_FORMAT", "json")
            .env("RUST_LOG", "info,tower_http=debug")
            .env("LEPTOS_OUTPUT_NAME", "orgpass")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("orgpass serve starts");
        let stderr = child.stderr.take().expect("its stderr");
        let (send, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        let mut server = Self {
            child,
            lines,
            base_url: String::new(),
        };
        let listening =
            server.line_where(|line| line["fields"]["message"] == "orgpass is listening");
        let addr = listening["fields"]["addr"]
            .as_str()
            .expect("an address")
            .to_owned();
        server.base_url = format!("http://{addr}");
        server
    }

    /// The first log line from now on that `wanted` accepts; every line must be JSON.
    fn line_where(&self, wanted: impl Fn(&Value) -> bool) -> Value {
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(20))
                .expect("the wanted log line within 20 s");
            let parsed: Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("a log line that is not JSON ({e}): {line}"));
            if wanted(&parsed) {
                return parsed;
            }
        }
    }

    async fn get(&self, incoming_id: Option<&str>) -> String {
        let mut request = reqwest::Client::new().get(format!("{}/healthz", self.base_url));
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
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn every_request_gets_an_id_that_its_json_log_lines_carry() {
    let cli = Cli::new().await;
    let server = Server::start(&cli, &[]);

    let id = server.get(None).await;

    assert_eq!(id.len(), 36, "a UUID: {id}");
    let line = server.line_where(|line| line["span"]["request_id"] == id.as_str());
    assert_eq!(line["span"]["route"], "/healthz");
    assert_ne!(server.get(None).await, id, "two requests shared an id");
}

#[tokio::test]
async fn an_incoming_request_id_is_kept_from_a_trusted_proxy_only() {
    let cli = Cli::new().await;
    let direct = Server::start(&cli, &[]);
    let replaced = direct.get(Some("forged-by-a-client")).await;
    assert_ne!(replaced, "forged-by-a-client");
    drop(direct);

    let behind_a_proxy =
        Server::start(&cli, &[("ORGPASS_TRUSTED_PROXIES", "10.0.0.0/8,127.0.0.1")]);
    let kept = behind_a_proxy.get(Some("lb-7f3a")).await;

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
