//! Everything `orgpass serve` logs at debug level through a sign-in, a refused one, a client
//! secret rotation and a Universal Logout holds none of the client secrets, authorization
//! codes, ID tokens, session tokens or the logout token.

use std::sync::Arc;

use app::backend::db;
use reqwest::cookie::{CookieStore, Jar};
use reqwest::{StatusCode, Url};
use serde_json::json;

use crate::support::{Cli, SIMULATOR_SERVE_ENV, acme_on_the_simulator, secret, serve_acme};

const CLIENT_ID: &str = "0oa1logscan";

/// A browser that follows redirects by hand, so the test sees the authorization code.
struct Browser {
    http: reqwest::Client,
    jar: Arc<Jar>,
}

impl Browser {
    fn new() -> Self {
        let jar = Arc::new(Jar::default());
        let http = reqwest::Client::builder()
            .cookie_provider(Arc::clone(&jar))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self { http, jar }
    }

    /// Follows the sign-in until the app's callback; returns the callback URL, not visited.
    async fn to_callback(&self, base_url: &str) -> Url {
        let mut url = Url::parse(&format!("{base_url}/sso/acme-okta/login")).unwrap();
        for _ in 0..20 {
            if url.path().ends_with("/callback") && url.as_str().starts_with(base_url) {
                return url;
            }
            let answer = self.http.get(url.clone()).send().await.unwrap();
            let location = answer.headers()["location"].to_str().unwrap().to_owned();
            url = url.join(&location).unwrap();
        }
        panic!("no callback")
    }

    async fn get(&self, url: Url) -> StatusCode {
        self.http.get(url).send().await.unwrap().status()
    }

    fn cookies(&self, base_url: &str) -> String {
        self.jar
            .cookies(&Url::parse(base_url).unwrap())
            .map(|header| header.to_str().unwrap().to_owned())
            .unwrap_or_default()
    }
}

fn param(url: &Url, name: &str) -> String {
    url.query_pairs()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
        .unwrap_or_else(|| panic!("no {name} in {url}"))
}

/// The values of the cookies in a `Cookie` header.
fn cookie_values(header: &str) -> Vec<String> {
    header
        .split("; ")
        .filter_map(|pair| pair.split_once('=').map(|(_, value)| value.to_owned()))
        .collect()
}

#[tokio::test]
async fn nothing_secret_is_logged_through_sign_ins_a_refusal_a_rotation_and_a_universal_logout() {
    let cli = Cli::new().await;
    let first_secret = secret("ONE1");
    let second_secret = secret("TWO2");
    let simulator = acme_on_the_simulator(&cli, CLIENT_ID, &first_secret).await;
    let logging = [
        SIMULATOR_SERVE_ENV[0],
        SIMULATOR_SERVE_ENV[1],
        ("RUST_LOG", "debug"),
        ("ORGPASS_TRUSTED_PROXIES", "127.0.0.1"),
    ];
    let server = serve_acme(&cli, &simulator, CLIENT_ID, &logging).await;
    let base = server.base_url.clone();
    let loopback = [("ORGPASS_DEV_LOOPBACK_ISSUERS", Some("true"))];
    let mut secrets = vec![first_secret.clone(), second_secret.clone()];

    // A sign-in, then the same callback again: refused, the code and state already used.
    let browser = Browser::new();
    let callback = browser.to_callback(&base).await;
    secrets.extend([param(&callback, "code"), param(&callback, "state")]);
    assert_eq!(browser.get(callback.clone()).await, StatusCode::SEE_OTHER);
    assert_eq!(browser.get(callback).await, StatusCode::BAD_REQUEST);
    secrets.extend(cookie_values(&browser.cookies(&base)));

    // A rotation: Okta's new secret staged, Okta switched to it, a sign-in, the secret promoted.
    cli.ok_with(
        &["instance", "update", "acme-okta", "--secret", "next"],
        Some(&second_secret),
        &loopback,
    );
    let body = json!({ "client_id": CLIENT_ID, "client_secret": second_secret });
    reqwest::Client::new()
        .post(format!("{}/__sim/clients/update", simulator.issuer("acme")))
        .json(&body)
        .send()
        .await
        .unwrap();
    let rotated = Browser::new();
    let callback = rotated.to_callback(&base).await;
    secrets.extend([param(&callback, "code"), param(&callback, "state")]);
    assert_eq!(rotated.get(callback).await, StatusCode::SEE_OTHER);
    secrets.extend(cookie_values(&rotated.cookies(&base)));
    cli.ok_with(
        &["instance", "update", "acme-okta", "--promote-next-secret"],
        None,
        &loopback,
    );
    let location = cli.storage.args().location().unwrap();
    let database = db::open(&location).await.unwrap();
    let id_tokens: Vec<String> = sqlx::query_scalar("SELECT id_token FROM sessions")
        .fetch_all(&database)
        .await
        .unwrap();
    database.close().await;
    assert_eq!(id_tokens.len(), 2, "the two sessions keep their ID tokens");
    secrets.extend(id_tokens);

    // Universal Logout of Ada.
    let logout = simulator
        .universal_logout(
            "acme",
            json!({
                "client_id": CLIENT_ID,
                "url": format!("{base}/sso/acme-okta/global-token-revocation"),
                "sub_id": { "format": "email", "email": "ada@acme.example" },
            }),
        )
        .await;
    assert_eq!(logout["status"], 204, "{logout}");
    secrets.push(logout["token"].as_str().unwrap().to_owned());

    let logged = server
        .lines_until_request("end-of-the-scan")
        .await
        .join("\n");
    assert!(
        logged.contains("/sso/{instance}/callback"),
        "the log was not read"
    );
    for secret in &secrets {
        assert!(secret.len() >= 16, "too short to look for: {secret}");
        assert!(!logged.contains(secret.as_str()), "logged: {secret}");
    }
}
