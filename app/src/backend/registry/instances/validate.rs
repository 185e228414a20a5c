//! The checks on an instance's client id and redirect URIs (its issuer and secret are checked by
//! their domain types, `IssuerUrl` and `ClientSecret`).

use url::{Host, Url};

use crate::domain::InvalidValue;

pub(in crate::backend::registry) fn client_id(raw: &str) -> Result<String, InvalidValue> {
    let raw = raw.trim();
    let valid = !raw.is_empty() && raw.len() <= 128 && raw.bytes().all(|b| b.is_ascii_graphic());
    if !valid {
        return Err(InvalidValue(format!(
            "client id '{raw}' must be 1 to 128 visible ASCII characters"
        )));
    }
    Ok(raw.to_owned())
}

/// A redirect URI an admin registers in Okta: https, or http on a loopback address (local
/// development); no credentials and no fragment (RFC 6749 §3.1.2).
pub(super) fn redirect_uri(raw: &str) -> Result<String, InvalidValue> {
    let refuse = |why: &str| InvalidValue(format!("redirect URI '{raw}' refused: {why}"));
    let url = Url::parse(raw.trim()).map_err(|_| refuse("not an absolute URL"))?;
    let loopback = match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => return Err(refuse("it has no host")),
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => return Err(refuse("it must use https")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(refuse("it must not contain credentials"));
    }
    if url.fragment().is_some() {
        return Err(refuse("it must not have a fragment"));
    }
    Ok(url.to_string())
}

pub(super) fn redirect_uris(raw: &[String]) -> Result<Vec<String>, InvalidValue> {
    let mut uris = Vec::with_capacity(raw.len());
    for uri in raw {
        let uri = redirect_uri(uri)?;
        if !uris.contains(&uri) {
            uris.push(uri);
        }
    }
    Ok(uris)
}
