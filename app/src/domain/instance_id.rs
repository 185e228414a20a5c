use std::fmt;

use serde::{Deserialize, Serialize};

use super::InvalidValue;

/// The public identifier of one instance of the integration in one customer org. It appears in
/// the instance's own URLs (`/sso/{id}/login`, `/sso/{id}/callback`), which is how Okta tells
/// two instances of the same org apart: they share the org's issuer.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct InstanceId(String);

impl InstanceId {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let valid_chars = raw
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !(3..=64).contains(&raw.len())
            || !valid_chars
            || raw.starts_with('-')
            || raw.ends_with('-')
        {
            return Err(InvalidValue(format!(
                "'{raw}' is not a valid instance id: use 3 to 64 lowercase letters, digits or \
                 inner hyphens"
            )));
        }
        Ok(Self(raw.to_owned()))
    }

    /// A fresh random id (80 bits, lowercase base32) for an instance added without one.
    #[cfg(feature = "ssr")]
    pub fn generate() -> Self {
        const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
        let bytes: [u8; 16] = rand::random();
        let id = bytes
            .iter()
            .map(|b| char::from(ALPHABET[usize::from(b % 32)]))
            .collect();
        Self(id)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for InstanceId {
    type Error = InvalidValue;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<InstanceId> for String {
    fn from(id: InstanceId) -> Self {
        id.0
    }
}

impl fmt::Display for InstanceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::InstanceId;

    #[test]
    fn readable_ids_are_accepted() {
        assert_eq!(
            InstanceId::parse("acme-okta").unwrap().as_str(),
            "acme-okta"
        );
    }

    #[test]
    fn ids_that_could_break_a_url_path_are_refused() {
        for bad in [
            "", "ab", "a/b/c", "../x", "ACME", "a b c", "-abc", "abc-", "a%2fb",
        ] {
            assert!(InstanceId::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn generated_ids_are_valid_and_distinct() {
        let a = InstanceId::generate();
        let b = InstanceId::generate();
        assert!(InstanceId::parse(a.as_str()).is_ok());
        assert_ne!(a, b);
    }

    mod properties {
        use proptest::prelude::*;

        use super::super::InstanceId;

        fn raw_id() -> impl Strategy<Value = String> {
            prop_oneof![
                any::<String>(),
                "(?s).{0,66}",
                "[a-zA-Z0-9 _/%.ü-]{0,66}",
                "[a-z0-9-]{0,66}",
            ]
        }

        proptest! {
            #[test]
            fn arbitrary_text_never_panics_and_an_accepted_id_is_safe_in_a_url_path(
                raw in raw_id(),
            ) {
                if let Ok(id) = InstanceId::parse(&raw) {
                    let text = id.as_str();
                    prop_assert_eq!(text, raw.as_str());
                    prop_assert!((3..=64).contains(&text.len()), "{:?}", text);
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
            fn every_id_of_the_rule_is_accepted_and_parses_again_to_itself(
                raw in "[a-z0-9][a-z0-9-]{1,62}[a-z0-9]",
            ) {
                let id = InstanceId::parse(&raw).expect("an id of the rule");
                prop_assert_eq!(id.as_str(), raw.as_str());
                prop_assert_eq!(&InstanceId::parse(id.as_str()), &Ok(id.clone()));
                #[cfg(feature = "ssr")]
                {
                    let json = serde_json::to_string(&id).expect("a string serializes");
                    prop_assert_eq!(&serde_json::from_str::<InstanceId>(&json).unwrap(), &id);
                }
            }
        }
    }
}
