//! A cookie-keeping HTTP client that follows redirects by hand, so every hop can be inspected,
//! and the assertions about what it was shown.

use std::sync::Arc;
use std::time::Duration;

use axum_extra::extract::cookie::Cookie;
use reqwest::cookie::{CookieStore, Jar};
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use reqwest::{StatusCode, Url, redirect};
use serde_json::Value;

use super::SESSION_COOKIE;

/// One HTTP response, read in full.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub url: Url,
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Recorded {
    async fn read(url: Url, response: reqwest::Response) -> Self {
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.text().await.unwrap_or_default();
        Self {
            url,
            status,
            headers,
            body,
        }
    }

    pub fn is_redirect(&self) -> bool {
        self.status.is_redirection() && self.headers.contains_key(LOCATION)
    }

    /// The `Location` header exactly as sent.
    pub fn location(&self) -> Option<&str> {
        self.headers
            .get(LOCATION)
            .map(|v| v.to_str().expect("non-ASCII Location"))
    }

    /// The `Location` header resolved against the request URL.
    pub fn next_url(&self) -> Option<Url> {
        self.location().map(|location| {
            self.url
                .join(location)
                .unwrap_or_else(|e| panic!("bad Location {location:?}: {e}"))
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn set_cookies(&self) -> Vec<Cookie<'static>> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .map(|value| {
                let raw = value.to_str().expect("non-ASCII Set-Cookie").to_owned();
                Cookie::parse(raw.clone()).unwrap_or_else(|e| panic!("bad Set-Cookie {raw}: {e}"))
            })
            .collect()
    }

    pub fn set_cookie(&self, name: &str) -> Option<Cookie<'static>> {
        self.set_cookies()
            .into_iter()
            .find(|cookie| cookie.name() == name)
    }

    /// Every header value and the body, for "does this leak X" checks.
    pub fn everything(&self) -> String {
        let mut all = String::new();
        for (name, value) in &self.headers {
            all.push_str(&format!(
                "{name}: {}\n",
                String::from_utf8_lossy(value.as_bytes())
            ));
        }
        all.push_str(&self.body);
        all
    }
}

/// How a sign-in attempt ended.
#[derive(Debug)]
pub struct SignInOutcome {
    /// Every response on the way, in order.
    pub hops: Vec<Recorded>,
    /// The app's answer at `/sso/{instance}/callback`, if the flow got that far.
    pub callback: Option<Recorded>,
}

impl SignInOutcome {
    /// The last response received.
    pub fn last(&self) -> &Recorded {
        self.hops.last().expect("no response at all")
    }

    pub fn callback(&self) -> &Recorded {
        self.callback.as_ref().unwrap_or_else(|| {
            panic!(
                "the flow never reached the callback; last response: {:#?}",
                self.last()
            )
        })
    }

    /// Where the callback sends the browser (its raw `Location`); panics unless it redirected.
    pub fn landing(&self) -> &str {
        let callback = self.callback();
        assert_eq!(
            callback.status,
            StatusCode::SEE_OTHER,
            "callback did not redirect: {callback:#?}"
        );
        callback.location().unwrap()
    }
}

pub struct Browser {
    pub client: reqwest::Client,
    jar: Arc<Jar>,
    base_url: Url,
    public_origin: String,
}

impl Browser {
    /// A browser for the app at `base_url` whose redirect URIs use `public_origin`.
    pub fn new(base_url: Url, public_origin: String) -> Self {
        let jar = Arc::new(Jar::default());
        let client = reqwest::Client::builder()
            .cookie_provider(Arc::clone(&jar))
            .redirect(redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        Self {
            client,
            jar,
            base_url,
            public_origin,
        }
    }

    /// The same browser (its cookies) talking to the server at `base_url`, e.g. a replica.
    pub fn on(&self, base_url: &Url) -> Self {
        Self {
            client: self.client.clone(),
            jar: Arc::clone(&self.jar),
            base_url: base_url.clone(),
            public_origin: self.public_origin.clone(),
        }
    }

    fn is_app_callback(&self, url: &Url) -> bool {
        let segments: Vec<&str> = url.path().trim_start_matches('/').split('/').collect();
        url.origin().ascii_serialization() == self.public_origin
            && segments.len() == 3
            && segments[0] == "sso"
            && segments[2] == "callback"
    }

    pub async fn get(&self, url: impl AsRef<str>) -> Recorded {
        let url = Url::parse(url.as_ref())
            .or_else(|_| self.base_url.join(url.as_ref()))
            .unwrap_or_else(|e| panic!("bad URL {}: {e}", url.as_ref()));
        let response = self
            .client
            .get(url.clone())
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e}"));
        Recorded::read(url, response).await
    }

    /// `GET /sso/{instance}/login` with optional `return_to` and `login_hint`.
    pub async fn login(
        &self,
        instance: &str,
        return_to: Option<&str>,
        login_hint: Option<&str>,
    ) -> Recorded {
        let mut url = self
            .base_url
            .join(&format!("/sso/{instance}/login"))
            .unwrap();
        {
            let mut query = url.query_pairs_mut();
            if let Some(return_to) = return_to {
                query.append_pair("return_to", return_to);
            }
            if let Some(login_hint) = login_hint {
                query.append_pair("login_hint", login_hint);
            }
        }
        if url.query() == Some("") {
            url.set_query(None);
        }
        self.get(url).await
    }

    /// Starts a sign-in and returns the authorization URL at the simulator, not yet visited.
    pub async fn start(&self, instance: &str) -> Url {
        let response = self.login(instance, None, None).await;
        assert_eq!(
            response.status,
            StatusCode::FOUND,
            "login did not redirect: {response:#?}"
        );
        response.next_url().unwrap()
    }

    /// Follows redirects from `url` until the next one targets the app's callback; returns that
    /// callback URL without requesting it.
    pub async fn follow_until_callback(&self, url: Url) -> Url {
        let mut url = url;
        for _ in 0..20 {
            if self.is_app_callback(&url) {
                return url;
            }
            let response = self.get(url.clone()).await;
            url = response.next_url().unwrap_or_else(|| {
                panic!("expected a redirect towards the callback, got {response:#?}")
            });
        }
        panic!("too many redirects before reaching the callback")
    }

    /// Follows redirects from `url` (both app and simulator) and stops after the app's callback
    /// answered, or at the first response that is not a redirect.
    pub async fn follow(&self, url: Url) -> SignInOutcome {
        let mut hops = Vec::new();
        let mut url = url;
        for _ in 0..20 {
            let is_callback = self.is_app_callback(&url);
            let response = self.get(url.clone()).await;
            let next = response.is_redirect().then(|| response.next_url().unwrap());
            hops.push(response);
            if is_callback {
                let callback = hops.last().cloned();
                return SignInOutcome { hops, callback };
            }
            match next {
                Some(next) => url = next,
                None => {
                    return SignInOutcome {
                        hops,
                        callback: None,
                    };
                }
            }
        }
        panic!("too many redirects: {hops:#?}")
    }

    /// A whole sign-in, as a user clicking "Sign in with Okta" would do it.
    pub async fn sign_in(
        &self,
        instance: &str,
        return_to: Option<&str>,
        login_hint: Option<&str>,
    ) -> SignInOutcome {
        let login = self.login(instance, return_to, login_hint).await;
        let Some(next) = login.is_redirect().then(|| login.next_url().unwrap()) else {
            return SignInOutcome {
                hops: vec![login],
                callback: None,
            };
        };
        let mut outcome = self.follow(next).await;
        outcome.hops.insert(0, login);
        outcome
    }

    /// Signs in and checks that it worked (303 from the callback with a session cookie).
    pub async fn sign_in_ok(&self, instance: &str) -> SignInOutcome {
        let outcome = self.sign_in(instance, None, None).await;
        let callback = outcome.callback();
        assert_eq!(
            callback.status,
            StatusCode::SEE_OTHER,
            "sign-in failed: {callback:#?}"
        );
        assert!(
            callback.set_cookie(SESSION_COOKIE).is_some(),
            "no session cookie: {callback:#?}"
        );
        outcome
    }

    /// `GET /api/session`: the status and the JSON body.
    pub async fn session(&self) -> (StatusCode, Value) {
        let response = self.get(self.base_url.join("/api/session").unwrap()).await;
        let json = serde_json::from_str(&response.body).unwrap_or(Value::Null);
        (response.status, json)
    }

    /// `POST /logout` from the app's own page.
    pub async fn logout(&self) -> Recorded {
        self.post_form("/logout", &[]).await
    }

    /// `POST` a form body to a path of the app from one of its own pages, as a browser does:
    /// `Origin` and `Sec-Fetch-Site: same-origin` (server functions use this encoding too).
    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> Recorded {
        let origin = self.public_origin.clone();
        self.post_form_with(
            path,
            form,
            &[("origin", &origin), ("sec-fetch-site", "same-origin")],
        )
        .await
    }

    /// `POST` a form body with exactly these request headers (and no others a browser adds),
    /// e.g. a form on another site.
    pub async fn post_form_with(
        &self,
        path: &str,
        form: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Recorded {
        let url = self.base_url.join(path).unwrap();
        let mut request = self.client.post(url.clone()).form(form);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        Recorded::read(url, response).await
    }

    /// The value of a cookie this browser would send to the app.
    pub fn cookie(&self, name: &str) -> Option<String> {
        let header = self.jar.cookies(&self.base_url)?;
        header.to_str().unwrap().split("; ").find_map(|pair| {
            let (key, value) = pair.split_once('=')?;
            (key == name).then(|| value.to_owned())
        })
    }

    /// Stores a cookie for the app's host, as someone able to write cookies there would (a
    /// sibling subdomain, a script on an insecure page): e.g. a session token planted before
    /// sign-in.
    pub fn plant_cookie(&self, name: &str, value: &str) {
        self.jar
            .add_cookie_str(&format!("{name}={value}; Path=/"), &self.base_url);
    }

    /// What the script of an auto-submitting page does (Okta's sign-out confirmation): POSTs
    /// the page's form, hidden inputs included, to its action, with this browser's cookies.
    pub async fn submit_form(&self, page: &Recorded) -> Recorded {
        let (action, fields) =
            html_form(&page.body).unwrap_or_else(|| panic!("no form on the page: {page:#?}"));
        let url = page
            .url
            .join(&action)
            .unwrap_or_else(|e| panic!("bad form action {action:?}: {e}"));
        let response = self
            .client
            .post(url.clone())
            .form(&fields)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {url}: {e}"));
        Recorded::read(url, response).await
    }
}

/// The action and the named inputs of the first form in `html`: enough for the pages
/// oidc-provider renders, not a general HTML parser.
fn html_form(html: &str) -> Option<(String, Vec<(String, String)>)> {
    let start = html.find("<form")?;
    let form = &html[start
        ..html[start..]
            .find("</form>")
            .map_or(html.len(), |end| start + end)];
    let action = attribute(&form[..form.find('>')?], "action").unwrap_or_default();
    let fields = form
        .split("<input")
        .skip(1)
        .filter_map(|input| {
            let tag = &input[..input.find('>')?];
            Some((
                attribute(tag, "name")?,
                attribute(tag, "value").unwrap_or_default(),
            ))
        })
        .collect();
    Some((action, fields))
}

/// The value of the first `name="…"` attribute in `tag`, entities decoded.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let needle = format!(" {name}=\"");
    let start = tag.find(&needle)? + needle.len();
    let value = &tag[start..start + tag[start..].find('"')?];
    Some(
        value
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

/// Replaces (or adds) one query parameter of `url`.
/// `GET /api/session` on the server at `base` with only this session cookie, from a client
/// that is not the browser.
pub async fn session_status_with(base: &Url, token: &str) -> StatusCode {
    reqwest::Client::new()
        .get(base.join("/api/session").unwrap())
        .header("cookie", format!("{SESSION_COOKIE}={token}"))
        .send()
        .await
        .unwrap()
        .status()
}

pub fn with_query_param(url: &Url, name: &str, value: &str) -> Url {
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(key, _)| key != name)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut url = url.clone();
    url.query_pairs_mut()
        .clear()
        .extend_pairs(&pairs)
        .append_pair(name, value);
    url
}

pub fn query_param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(key, _)| key == name)
        .map(|(_, v)| v.into_owned())
}

/// A refused sign-in: the given 4xx status, the error page with `reason`, and no session cookie.
pub fn assert_refused(response: &Recorded, status: StatusCode, reason: &str) {
    assert_eq!(
        response.status, status,
        "unexpected response: {response:#?}"
    );
    assert!(
        response.body.contains(r#"data-testid="sign-in-error""#) && response.body.contains(reason),
        "the error page does not say {reason:?}: {}",
        response.body
    );
    assert!(
        response.set_cookie(SESSION_COOKIE).is_none(),
        "a refused sign-in set the session cookie: {response:#?}"
    );
}

/// `assert_refused` plus: this browser is not signed in.
pub async fn assert_refused_and_signed_out(
    browser: &Browser,
    response: &Recorded,
    status: StatusCode,
    reason: &str,
) {
    assert_refused(response, status, reason);
    let (session_status, body) = browser.session().await;
    assert_eq!(
        session_status,
        StatusCode::UNAUTHORIZED,
        "unexpected session: {body}"
    );
}

/// Fragments of the short reasons the error page shows (as they appear in the HTML).
pub mod reason {
    pub const EXPIRED_OR_USED: &str = "This sign-in attempt has expired or was already used.";
    pub const OTHER_BROWSER: &str =
        "This sign-in was started in a different browser or for a different organization.";
    pub const BAD_ID_TOKEN: &str = "identity token could not be verified.";
    pub const WRONG_ISSUER: &str =
        "The sign-in response came from an unexpected identity provider.";
    pub const UNUSABLE_ANSWER: &str = "answer could not be used to sign you in.";
    pub const UNKNOWN_INSTANCE: &str = "This sign-in link does not match any active organization.";
}
