use std::fmt;

use serde::{Deserialize, Serialize};

/// Where to send the browser after sign-in or sign-out: always a path on this site (RFC 9700
/// §4.11, open redirects). Anything that a browser could read as another origin is replaced by
/// the default page rather than rejected, so a tampered link still signs the user in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub struct ReturnPath(String);

impl ReturnPath {
    const MAX_LEN: usize = 2048;

    /// Keeps `raw` if it is a same-origin relative path, else falls back to `/`.
    pub fn parse_or_default(raw: Option<&str>) -> Self {
        raw.filter(|candidate| Self::is_local_path(candidate))
            .map(|path| Self(path.to_owned()))
            .unwrap_or_default()
    }

    /// `target_link_uri` of Okta's tile: an absolute URL on this site's exact `origin` (e.g.
    /// `https://orgpass.example.com`) keeps its path, query and fragment; a path is judged as
    /// [`Self::parse_or_default`] does; anything else means the home page.
    pub fn from_target_link(raw: Option<&str>, origin: &str) -> Self {
        let Some(raw) = raw else {
            return Self::default();
        };
        match raw.strip_prefix(origin) {
            // The origin must end there: `https://site.example.evil` and `https://site@evil`
            // start with it too.
            Some("") => Self::default(),
            Some(rest) if rest.starts_with(['?', '#']) => {
                Self::parse_or_default(Some(&format!("/{rest}")))
            }
            Some(rest) => Self::parse_or_default(Some(rest)),
            None => Self::parse_or_default(Some(raw)),
        }
    }

    fn is_local_path(raw: &str) -> bool {
        raw.len() <= Self::MAX_LEN
            && !raw.chars().any(char::is_whitespace)
            && Self::is_plain_absolute_path(raw)
            && Self::is_plain_absolute_path(&percent_decode(raw))
    }

    /// One leading slash, then no second slash or backslash (`//evil`, `/\evil` are
    /// protocol-relative to browsers), no backslash at all, and no control characters, which
    /// URL parsers strip (`/%09/evil` becomes `//evil`).
    fn is_plain_absolute_path(path: &str) -> bool {
        let mut chars = path.chars();
        chars.next() == Some('/')
            && !matches!(chars.next(), Some('/' | '\\'))
            && !path.contains('\\')
            && !path.chars().any(char::is_control)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for ReturnPath {
    fn default() -> Self {
        Self("/".to_owned())
    }
}

impl From<String> for ReturnPath {
    fn from(raw: String) -> Self {
        Self::parse_or_default(Some(&raw))
    }
}

impl From<ReturnPath> for String {
    fn from(path: ReturnPath) -> Self {
        path.0
    }
}

impl fmt::Display for ReturnPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Decodes `%XX` escapes (repeatedly, so double encoding cannot hide a `//`); invalid escapes
/// are kept as they are.
fn percent_decode(raw: &str) -> String {
    let mut current = raw.to_owned();
    for _ in 0..3 {
        let bytes = current.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            let escaped = (bytes[i] == b'%')
                .then(|| bytes.get(i + 1..i + 3))
                .flatten()
                .and_then(|hex| std::str::from_utf8(hex).ok())
                .and_then(|hex| u8::from_str_radix(hex, 16).ok());
            match escaped {
                Some(byte) => {
                    out.push(byte);
                    i += 3;
                }
                None => {
                    out.push(bytes[i]);
                    i += 1;
                }
            }
        }
        let decoded = String::from_utf8_lossy(&out).into_owned();
        if decoded == current {
            break;
        }
        current = decoded;
    }
    current
}

#[cfg(test)]
mod tests {
    use super::ReturnPath;

    #[test]
    fn local_paths_with_query_and_fragment_are_kept() {
        for ok in ["/", "/settings", "/o/acme?tab=users#top", "/a%20b"] {
            assert_eq!(ReturnPath::parse_or_default(Some(ok)).as_str(), ok);
        }
    }

    #[test]
    fn every_open_redirect_trick_falls_back_to_the_home_page() {
        for evil in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "https:evil.example",
            "%2F%2Fevil.example",
            "/%2F/evil.example",
            "/%252F/evil.example",
            "\\\\evil.example",
            "/%09/evil.example",
            "/%5Cevil.example",
            "javascript:alert(1)",
            " /settings",
            "settings",
            "",
        ] {
            assert_eq!(
                ReturnPath::parse_or_default(Some(evil)).as_str(),
                "/",
                "{evil:?}"
            );
        }
    }

    const ORIGIN: &str = "https://orgpass.example.com";

    #[test]
    fn a_target_link_on_this_site_keeps_its_path_query_and_fragment() {
        for (link, path) in [
            (
                "https://orgpass.example.com/o/acme?tab=1#top",
                "/o/acme?tab=1#top",
            ),
            ("https://orgpass.example.com", "/"),
            ("https://orgpass.example.com?x=1", "/?x=1"),
            ("/o/acme", "/o/acme"),
        ] {
            assert_eq!(
                ReturnPath::from_target_link(Some(link), ORIGIN).as_str(),
                path,
                "{link:?}"
            );
        }
    }

    #[test]
    fn a_target_link_anywhere_else_means_the_home_page() {
        for evil in [
            "https://evil.example/o/acme",
            "https://orgpass.example.com.evil.example/o/acme",
            "https://orgpass.example.com@evil.example/",
            "https://orgpass.example.com:8443/o/acme",
            "http://orgpass.example.com/o/acme",
            "https://orgpass.example.com//evil.example",
            "https://orgpass.example.com/\\evil.example",
            "https://orgpass.example.com/%2F%2Fevil.example",
            "//evil.example",
            "/\\evil.example",
            "https:evil.example",
            "%2F%2Fevil.example",
            "/%09/evil.example",
            "javascript:alert(1)",
            "",
        ] {
            assert_eq!(
                ReturnPath::from_target_link(Some(evil), ORIGIN).as_str(),
                "/",
                "{evil:?}"
            );
        }
        assert_eq!(ReturnPath::from_target_link(None, ORIGIN).as_str(), "/");
    }

    #[test]
    fn a_missing_return_path_means_the_home_page() {
        assert_eq!(ReturnPath::parse_or_default(None).as_str(), "/");
    }

    mod properties {
        use proptest::prelude::*;
        use proptest::test_runner::TestCaseError;

        use super::super::ReturnPath;
        use super::ORIGIN;

        /// Text made mostly of what matters to a browser reading a path: slashes, backslashes,
        /// percent escapes (of `/`, `\`, `%`, a tab), whitespace, schemes; and any character.
        fn path_like() -> impl Strategy<Value = String> {
            let piece = prop_oneof![
                Just("/".to_owned()),
                Just("//".to_owned()),
                Just("\\".to_owned()),
                Just("%".to_owned()),
                Just("%2F".to_owned()),
                Just("%2f".to_owned()),
                Just("%5C".to_owned()),
                Just("%25".to_owned()),
                Just("%09".to_owned()),
                Just("%0a".to_owned()),
                Just("%+F".to_owned()),
                Just("%E2%80%A8".to_owned()),
                Just(" ".to_owned()),
                Just(":".to_owned()),
                Just("@".to_owned()),
                Just("?".to_owned()),
                Just("#".to_owned()),
                Just(".".to_owned()),
                Just("https:".to_owned()),
                Just("javascript:".to_owned()),
                Just("evil.example".to_owned()),
                "[a-z0-9]{1,4}",
                any::<char>().prop_map(String::from),
            ];
            prop::collection::vec(piece, 0..12).prop_map(|pieces| pieces.concat())
        }

        /// A path of the characters a URL's path, query and fragment may hold, which is
        /// usually acceptable.
        fn plain_path() -> impl Strategy<Value = String> {
            "/[a-zA-Z0-9._~!$&'()*+,;=:@%/?#-]{0,24}"
        }

        /// Any text at all, or text shaped like a path.
        fn raw_text() -> impl Strategy<Value = String> {
            prop_oneof![any::<String>(), "(?s).{0,40}", path_like(), plain_path()]
        }

        /// What a browser treats as a path on the current site, checked without the parser's
        /// own helpers.
        fn is_on_this_site(path: &str) -> Result<(), TestCaseError> {
            let mut chars = path.chars();
            prop_assert_eq!(chars.next(), Some('/'), "{:?}", path);
            prop_assert!(!matches!(chars.next(), Some('/' | '\\')), "{:?}", path);
            prop_assert!(!path.contains('\\'), "{:?}", path);
            prop_assert!(
                !path.chars().any(|c| c.is_whitespace() || c.is_control()),
                "{:?}",
                path
            );
            // The browser's own reading (WHATWG URL, which the url crate implements): a
            // redirect to it stays on this origin.
            #[cfg(feature = "ssr")]
            {
                let base = url::Url::parse("https://orgpass.example.com/o/acme/settings")
                    .expect("a valid base");
                let target = base.join(path).expect("a relative path resolves");
                prop_assert_eq!(target.origin(), base.origin(), "{:?}", path);
            }
            Ok(())
        }

        proptest! {
            #[test]
            fn arbitrary_text_never_panics_and_a_parsed_path_stays_on_this_site(
                raw in raw_text(),
            ) {
                let path = ReturnPath::parse_or_default(Some(&raw));
                is_on_this_site(path.as_str())?;
                prop_assert!(path.as_str() == raw || path.as_str() == "/", "{:?}", raw);
            }

            #[test]
            fn a_parsed_path_parses_again_to_itself_also_through_serde(raw in raw_text()) {
                let path = ReturnPath::parse_or_default(Some(&raw));
                prop_assert_eq!(&ReturnPath::parse_or_default(Some(path.as_str())), &path);
                prop_assert_eq!(&ReturnPath::from(raw.clone()), &path);
                #[cfg(feature = "ssr")]
                {
                    let json = serde_json::to_string(&path).expect("a string serializes");
                    prop_assert_eq!(&serde_json::from_str::<ReturnPath>(&json).unwrap(), &path);
                    // Deserializing what a client sent judges it as parsing does.
                    let sent = serde_json::to_string(&raw).expect("a string serializes");
                    prop_assert_eq!(&serde_json::from_str::<ReturnPath>(&sent).unwrap(), &path);
                }
            }

            #[test]
            fn an_arbitrary_target_link_never_panics_and_stays_on_this_site(
                raw in prop_oneof![
                    raw_text(),
                    path_like().prop_map(|rest| format!("{ORIGIN}{rest}")),
                    plain_path().prop_map(|rest| format!("{ORIGIN}{rest}")),
                    path_like().prop_map(|rest| format!("https://orgpass.example.co{rest}")),
                    path_like().prop_map(|rest| format!("http://orgpass.example.com{rest}")),
                ],
            ) {
                let path = ReturnPath::from_target_link(Some(&raw), ORIGIN);
                is_on_this_site(path.as_str())?;
            }

            #[test]
            fn a_target_link_on_this_site_keeps_what_the_bare_path_would(
                rest in prop_oneof![path_like(), plain_path()],
            ) {
                let path = format!("/{}", rest.trim_start_matches('/'));
                let link = format!("{ORIGIN}{path}");
                prop_assert_eq!(
                    ReturnPath::from_target_link(Some(&link), ORIGIN),
                    ReturnPath::parse_or_default(Some(&path))
                );
            }
        }
    }
}
