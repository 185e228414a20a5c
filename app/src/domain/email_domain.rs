use std::fmt;

use serde::{Deserialize, Serialize};

use super::InvalidValue;

/// Mail providers anyone can sign up with: such a domain says nothing about which org a person
/// belongs to, so it can never route a sign-in.
const FREE_MAIL: [&str; 36] = [
    "gmail.com",
    "googlemail.com",
    "yahoo.com",
    "yahoo.co.uk",
    "yahoo.fr",
    "ymail.com",
    "outlook.com",
    "hotmail.com",
    "hotmail.co.uk",
    "live.com",
    "msn.com",
    "aol.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "proton.me",
    "protonmail.com",
    "pm.me",
    "gmx.com",
    "gmx.de",
    "gmx.net",
    "web.de",
    "mail.com",
    "mail.ru",
    "yandex.com",
    "yandex.ru",
    "zoho.com",
    "qq.com",
    "163.com",
    "126.com",
    "fastmail.com",
    "hey.com",
    "tutanota.com",
    "tuta.io",
    "rediffmail.com",
    "naver.com",
];

/// A work-email domain that routes sign-ins to one org (`acme.com`). Lower-case, without the `@`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailDomain(String);

impl EmailDomain {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let domain = raw.trim().trim_start_matches('@').to_ascii_lowercase();
        let labels_ok = domain.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
        if domain.len() > 253 || !domain.contains('.') || !labels_ok {
            return Err(InvalidValue(format!(
                "'{raw}' is not an email domain such as 'acme.com'"
            )));
        }
        if FREE_MAIL.contains(&domain.as_str()) {
            return Err(InvalidValue(format!(
                "'{domain}' is a free mail provider: anyone can have an address there, so it \
                 cannot identify an organization"
            )));
        }
        Ok(Self(domain))
    }

    /// The domain of a work email address, e.g. `ada@Acme.com` → `acme.com`.
    pub fn of_email(email: &str) -> Result<Self, InvalidValue> {
        match email.trim().rsplit_once('@') {
            Some((local, domain)) if !local.is_empty() => Self::parse(domain),
            _ => Err(InvalidValue(format!(
                "'{email}' is not an email address such as 'ada@acme.com'"
            ))),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for EmailDomain {
    type Error = InvalidValue;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<EmailDomain> for String {
    fn from(domain: EmailDomain) -> Self {
        domain.0
    }
}

impl fmt::Display for EmailDomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::EmailDomain;

    #[test]
    fn a_work_domain_is_lower_cased_and_loses_its_at_sign() {
        assert_eq!(
            EmailDomain::parse("@Acme.COM").unwrap().as_str(),
            "acme.com"
        );
    }

    #[test]
    fn free_mail_domains_are_refused_with_the_reason() {
        let error = EmailDomain::parse("GMail.com").unwrap_err();
        assert!(error.0.contains("free mail"), "{error}");
    }

    #[test]
    fn malformed_domains_are_refused() {
        for bad in [
            "",
            "acme",
            "acme..com",
            "-acme.com",
            "ac me.com",
            "acme.com/x",
            "ü.com",
        ] {
            assert!(EmailDomain::parse(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn the_domain_of_an_email_address_is_found() {
        assert_eq!(
            EmailDomain::of_email("Ada.Lovelace@Eng.Acme.com")
                .unwrap()
                .as_str(),
            "eng.acme.com"
        );
        assert!(EmailDomain::of_email("@acme.com").is_err());
        assert!(EmailDomain::of_email("ada@gmail.com").is_err());
    }

    mod properties {
        use proptest::prelude::*;

        use super::super::EmailDomain;

        /// Domain-shaped text: labels of letters (either case), digits, hyphens and a few
        /// characters that must be refused, around dots, with an `@`, spaces or free mail.
        fn domain_like() -> impl Strategy<Value = String> {
            prop_oneof![
                "[ @]{0,2}([a-zA-Z0-9-]{0,5}\\.){0,4}[a-zA-Z0-9-]{0,5}[ ]{0,2}",
                "([a-z0-9_ü.@/-]{0,8}\\.){1,3}[a-z]{1,4}",
                "[a-z]{1,63}\\.[a-z]{1,63}\\.[a-z]{1,63}\\.[a-z]{1,63}",
                prop::sample::select(&["GMail.com", "yahoo.co.uk", "@proton.me", " qq.com "][..])
                    .prop_map(str::to_owned),
            ]
        }

        fn raw_domain() -> impl Strategy<Value = String> {
            prop_oneof![any::<String>(), "(?s).{0,40}", domain_like()]
        }

        proptest! {
            #[test]
            fn arbitrary_text_never_panics_and_an_accepted_domain_is_lowercase_dotted_ascii(
                raw in raw_domain(),
            ) {
                if let Ok(domain) = EmailDomain::parse(&raw) {
                    let text = domain.as_str();
                    prop_assert!(text.len() <= 253 && text.contains('.'), "{:?}", text);
                    prop_assert!(
                        text.bytes().all(|b| {
                            b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.'
                        }),
                        "{:?}",
                        text
                    );
                    prop_assert!(
                        text.split('.').all(|label| !label.is_empty() && label.len() <= 63
                            && !label.starts_with('-') && !label.ends_with('-')),
                        "{:?}",
                        text
                    );
                }
            }

            #[test]
            fn an_accepted_domain_parses_again_to_itself_also_through_serde(raw in raw_domain()) {
                if let Ok(domain) = EmailDomain::parse(&raw) {
                    prop_assert_eq!(&EmailDomain::parse(domain.as_str()), &Ok(domain.clone()));
                    prop_assert_eq!(
                        &EmailDomain::try_from(String::from(domain.clone())),
                        &Ok(domain.clone())
                    );
                    #[cfg(feature = "ssr")]
                    {
                        let json = serde_json::to_string(&domain).expect("a string serializes");
                        let back: EmailDomain = serde_json::from_str(&json).unwrap();
                        prop_assert_eq!(&back, &domain);
                    }
                }
                #[cfg(feature = "ssr")]
                {
                    // What a client sends is judged as parsing judges it.
                    let sent = serde_json::to_string(&raw).expect("a string serializes");
                    prop_assert_eq!(
                        serde_json::from_str::<EmailDomain>(&sent).ok(),
                        EmailDomain::parse(&raw).ok()
                    );
                }
            }

            #[test]
            fn the_domain_of_an_address_is_the_domain_after_its_last_at_sign(
                local in prop_oneof!["[a-zA-Z0-9.+_-]{1,10}", any::<String>()],
                domain in raw_domain(),
            ) {
                let email = format!("{local}@{domain}");
                let found = EmailDomain::of_email(&email);
                if !domain.contains('@') && !local.trim_start().is_empty() {
                    prop_assert_eq!(found.ok(), EmailDomain::parse(&domain).ok());
                }
            }

            #[test]
            fn arbitrary_text_as_an_email_never_panics(raw in raw_domain()) {
                let _ = EmailDomain::of_email(&raw);
            }
        }
    }
}
