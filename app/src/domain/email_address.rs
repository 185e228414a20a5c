use serde::{Deserialize, Serialize};

use super::InvalidValue;

/// An email address as people type it to name someone (an admin invitation): trimmed and
/// lower-cased, so `Ada@Acme.com` and `ada@acme.com` are one person. Any provider is allowed:
/// an org's Okta may vouch for an address at a free mail provider.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let email = raw.trim().to_lowercase();
        let well_formed = match email.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains('@')
            }
            None => false,
        };
        if !well_formed
            || email.len() > 254
            || email.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(InvalidValue(format!(
                "'{}' is not an email address such as 'ada@acme.com'",
                raw.trim().chars().take(80).collect::<String>()
            )));
        }
        Ok(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for EmailAddress {
    type Error = InvalidValue;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<EmailAddress> for String {
    fn from(email: EmailAddress) -> Self {
        email.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_trimmed_and_lower_cased() {
        let email = EmailAddress::parse("  Ada@Acme.COM ").unwrap();
        assert_eq!(email.as_str(), "ada@acme.com");
    }

    #[test]
    fn a_free_mail_address_is_a_valid_address() {
        assert!(EmailAddress::parse("ada@gmail.com").is_ok());
    }

    #[test]
    fn malformed_addresses_are_refused_with_an_example() {
        for raw in [
            "",
            "ada",
            "@acme.com",
            "ada@",
            "ada@acme",
            "ada@acme.com.",
            "ada@.acme.com",
            "a@b@acme.com",
            "ada lovelace@acme.com",
            "ada@acme\n.com",
        ] {
            let error = EmailAddress::parse(raw).expect_err(raw);
            assert!(error.0.contains("such as 'ada@acme.com'"), "{raw}: {error}");
        }
    }

    #[test]
    fn an_overlong_address_is_refused_and_not_echoed_in_full() {
        let raw = format!("{}@acme.com", "a".repeat(300));
        let error = EmailAddress::parse(&raw).unwrap_err();
        assert!(error.0.len() < 150, "{error}");
    }

    mod properties {
        use proptest::prelude::*;

        use super::super::EmailAddress;

        /// Address-shaped text: a local part and a domain of any case, with stray `@`, dots,
        /// spaces, controls and non-ASCII letters whose lower case is longer (`İ`).
        fn address_like() -> impl Strategy<Value = String> {
            prop_oneof![
                "[ ]{0,2}[a-zA-Z0-9.+_İẞΣ\t -]{0,10}@{0,2}[a-zA-Z0-9.İẞ@ \n-]{0,12}[ ]{0,2}",
                "[a-z]{1,200}@[a-z]{1,60}\\.com",
            ]
        }

        fn raw_address() -> impl Strategy<Value = String> {
            prop_oneof![any::<String>(), "(?s).{0,40}", address_like()]
        }

        proptest! {
            #[test]
            fn arbitrary_text_never_panics_and_an_accepted_address_is_one_lowercase_mailbox(
                raw in raw_address(),
            ) {
                if let Ok(email) = EmailAddress::parse(&raw) {
                    let text = email.as_str();
                    prop_assert!(text.len() <= 254, "{:?}", text);
                    prop_assert_eq!(text.matches('@').count(), 1, "{:?}", text);
                    let (local, domain) = text.split_once('@').unwrap();
                    prop_assert!(!local.is_empty() && domain.contains('.'), "{:?}", text);
                    prop_assert!(!domain.starts_with('.') && !domain.ends_with('.'), "{:?}", text);
                    prop_assert!(
                        !text.chars().any(|c| c.is_whitespace() || c.is_control()),
                        "{:?}",
                        text
                    );
                    prop_assert_eq!(text.to_lowercase(), text);
                }
            }

            #[test]
            fn an_accepted_address_parses_again_to_itself_also_through_serde(raw in raw_address()) {
                if let Ok(email) = EmailAddress::parse(&raw) {
                    prop_assert_eq!(&EmailAddress::parse(email.as_str()), &Ok(email.clone()));
                    prop_assert_eq!(
                        &EmailAddress::try_from(String::from(email.clone())),
                        &Ok(email.clone())
                    );
                    #[cfg(feature = "ssr")]
                    {
                        let json = serde_json::to_string(&email).expect("a string serializes");
                        let back: EmailAddress = serde_json::from_str(&json).unwrap();
                        prop_assert_eq!(&back, &email);
                    }
                }
            }

            #[test]
            fn a_refusal_never_echoes_more_than_eighty_characters_of_the_input(
                raw in raw_address(),
            ) {
                if let Err(error) = EmailAddress::parse(&raw) {
                    let echoed = error.0.chars().count();
                    let frame = "'' is not an email address such as 'ada@acme.com'".chars().count();
                    prop_assert!(echoed <= frame + 80, "{}", error);
                }
            }
        }
    }
}
