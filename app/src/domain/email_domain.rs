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
}
