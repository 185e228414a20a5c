use secrecy::{ExposeSecret, SecretString};

/// An instance's OAuth client secret. Deliberately neither `Serialize` nor `Debug`-printable
/// with its value, so it cannot reach a response body or a log line by accident.
#[derive(Clone)]
pub struct ClientSecret(SecretString);

impl ClientSecret {
    pub fn new(raw: String) -> Result<Self, super::InvalidValue> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(super::InvalidValue("the client secret is empty".to_owned()));
        }
        Ok(Self(SecretString::from(trimmed.to_owned())))
    }

    /// Only for the code exchange and for sealing.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// What may be shown of a secret: that it is set, and its last four characters when it is
    /// long enough (Okta's are 40+) for that to give nothing useful away.
    pub fn hint(&self) -> String {
        let chars: Vec<char> = self.0.expose_secret().chars().collect();
        if chars.len() < 16 {
            return "set".to_owned();
        }
        let tail: String = chars[chars.len() - 4..].iter().collect();
        format!("set, ends in …{tail}")
    }
}

impl std::fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientSecret([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::ClientSecret;

    #[test]
    fn debug_output_never_shows_the_secret() {
        let secret = ClientSecret::new("s3cr3t-value".to_owned()).unwrap();
        assert!(!format!("{secret:?}").contains("s3cr3t"));
    }

    #[test]
    fn the_hint_shows_only_the_last_four_characters_of_a_long_secret() {
        let long =
            ClientSecret::new("abcdefghijklmnopqrstuvwxyz0123456789WXYZ".to_owned()).unwrap();
        assert_eq!(long.hint(), "set, ends in …WXYZ");
        let short = ClientSecret::new("short-secret".to_owned()).unwrap();
        assert_eq!(short.hint(), "set");
    }

    #[test]
    fn an_empty_secret_is_refused() {
        assert!(ClientSecret::new("  ".to_owned()).is_err());
    }
}
