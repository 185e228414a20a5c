use std::fmt;

use serde::{Deserialize, Serialize};

use super::InvalidValue;

/// The URL-safe name of a customer org in Orgpass (`acme`, `globex-eu`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TenantSlug(String);

impl TenantSlug {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let valid_chars = raw
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !(2..=40).contains(&raw.len())
            || !valid_chars
            || raw.starts_with('-')
            || raw.ends_with('-')
        {
            return Err(InvalidValue(format!(
                "'{raw}' is not a valid organization name: use 2 to 40 lowercase letters, digits \
                 or inner hyphens, such as 'acme' or 'globex-eu'"
            )));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for TenantSlug {
    type Error = InvalidValue;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<TenantSlug> for String {
    fn from(slug: TenantSlug) -> Self {
        slug.0
    }
}

impl fmt::Display for TenantSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::TenantSlug;

    #[test]
    fn lowercase_words_with_inner_hyphens_are_accepted() {
        for ok in ["acme", "globex-eu", "a1", "x-2-y"] {
            assert_eq!(TenantSlug::parse(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn spaces_uppercase_and_edge_hyphens_are_refused() {
        for bad in [
            "",
            "a",
            "Acme",
            "ac me",
            "-acme",
            "acme-",
            "acme_co",
            "ac/me",
            &"a".repeat(41),
        ] {
            assert!(TenantSlug::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    mod properties {
        use proptest::prelude::*;

        use super::super::TenantSlug;

        fn raw_slug() -> impl Strategy<Value = String> {
            prop_oneof![
                any::<String>(),
                "(?s).{0,42}",
                "[a-zA-Z0-9 _/ü-]{0,42}",
                "[a-z0-9-]{0,42}",
            ]
        }

        proptest! {
            #[test]
            fn arbitrary_text_never_panics_and_an_accepted_slug_follows_the_rule(
                raw in raw_slug(),
            ) {
                if let Ok(slug) = TenantSlug::parse(&raw) {
                    let text = slug.as_str();
                    prop_assert_eq!(text, raw.as_str());
                    prop_assert!((2..=40).contains(&text.len()), "{:?}", text);
                    prop_assert!(
                        text.bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                        "{:?}",
                        text
                    );
                    prop_assert!(!text.starts_with('-') && !text.ends_with('-'), "{:?}", text);
                }
            }

            #[test]
            fn every_slug_of_the_rule_is_accepted_and_parses_again_to_itself(
                raw in "[a-z0-9][a-z0-9-]{0,38}[a-z0-9]",
            ) {
                let slug = TenantSlug::parse(&raw).expect("a slug of the rule");
                prop_assert_eq!(slug.as_str(), raw.as_str());
                prop_assert_eq!(&TenantSlug::parse(slug.as_str()), &Ok(slug.clone()));
                #[cfg(feature = "ssr")]
                {
                    let json = serde_json::to_string(&slug).expect("a string serializes");
                    prop_assert_eq!(&serde_json::from_str::<TenantSlug>(&json).unwrap(), &slug);
                }
            }
        }
    }
}
