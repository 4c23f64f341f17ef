//! Parse, don't validate: an [`Email`] or [`NewPassword`] that exists is valid.

use super::AuthError;

/// A syntactically valid email address in one normal form, so that two
/// spellings of one address are one account: trimmed, Unicode NFKC and case
/// folded (`Kate@`, `kate@` and `kate` with a combining accent written either
/// way compare as they read). A label that mixes scripts (`kаte` with a
/// Cyrillic `а` among Latin letters) is refused: it exists to look like
/// another address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

/// NFKC, case folding, NFKC again (Unicode's NFKC_Casefold, as identifiers are compared).
pub(super) fn fold(raw: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let folded = caseless::default_case_fold_str(&raw.nfkc().collect::<String>());
    folded.nfkc().collect()
}

impl Email {
    pub fn parse(raw: &str) -> Result<Self, AuthError> {
        use unicode_security::MixedScript;
        let email = fold(raw.trim());
        let invalid = || AuthError::InvalidInput("`email` is not a valid email address".into());
        let mixed_label = email.split(['@', '.']).find(|label| !label.is_single_script());
        if let Some(label) = mixed_label {
            return Err(AuthError::InvalidInput(format!(
                "`email` mixes scripts within `{label}` (letters that look alike from different alphabets)"
            )));
        }
        if email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid());
        }
        let (local, domain) = email.rsplit_once('@').ok_or_else(invalid)?;
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.contains('@')
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..");
        let domain_ok = domain.len() <= 253
            && domain.contains('.')
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_alphanumeric() || c == '-')
            });
        if local_ok && domain_ok {
            Ok(Email(email))
        } else {
            Err(invalid())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// How accounts made before this normal form stored the address (trimmed
    /// and lower-cased), where that differs: such an account is still found
    /// under it, and a new one cannot take it.
    pub fn legacy_form(raw: &str) -> Option<String> {
        let legacy = raw.trim().to_lowercase();
        let differs = Email::parse(raw).map_or(true, |normal| normal.0 != legacy);
        (differs && !legacy.is_empty() && legacy.len() <= 254).then_some(legacy)
    }
}

/// A password that meets the policy: at least 8 characters, and at most
/// 1024 bytes so that hashing cannot be turned into a denial of service.
pub struct NewPassword(String);

pub(super) const MIN_PASSWORD_CHARS: usize = 8;
pub(super) const MAX_PASSWORD_BYTES: usize = 1024;

impl NewPassword {
    pub fn parse(raw: String) -> Result<Self, AuthError> {
        if raw.len() > MAX_PASSWORD_BYTES {
            return Err(AuthError::InvalidInput(format!("`password` must be at most {MAX_PASSWORD_BYTES} bytes")));
        }
        if raw.chars().count() < MIN_PASSWORD_CHARS {
            return Err(AuthError::InvalidInput(format!(
                "`password` must be at least {MIN_PASSWORD_CHARS} characters"
            )));
        }
        Ok(NewPassword(raw))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Never printed.
impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The document's bounds on a password are literals (utoipa's attributes
    /// take no constants): they must be the limits checked here.
    #[test]
    fn the_documents_password_bounds_are_the_codes() {
        let api = serde_json::to_value(crate::rest::openapi()).expect("a document");
        let password = &api["components"]["schemas"]["RegisterInput"]["properties"]["password"];
        let bound = |key: &str| password[key].as_u64().and_then(|n| usize::try_from(n).ok());
        assert_eq!((bound("minLength"), bound("maxLength")), (Some(MIN_PASSWORD_CHARS), Some(MAX_PASSWORD_BYTES)));
    }

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(Email::parse("  User@Example.COM ").unwrap().as_str(), "user@example.com");
        for bad in [
            "",
            "user",
            "@example.com",
            "user@",
            "user@example",
            "a b@example.com",
            "user@exa mple.com",
            "user@-x.com",
            "user..x@example.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn spellings_of_one_address_are_one_and_lookalikes_are_refused() {
        let kate = Email::parse("kate@example.com").unwrap();
        assert_eq!(Email::parse("KATE@Example.com").unwrap(), kate);
        assert_eq!(Email::parse("ｋａｔｅ@example.com").unwrap(), kate, "fullwidth letters fold to ASCII");
        let composed = Email::parse("kat\u{e9}@example.com").unwrap();
        assert_eq!(Email::parse("kate\u{301}@example.com").unwrap(), composed, "one é, however written");
        assert_eq!(Email::parse("STRASSE@example.com").unwrap(), Email::parse("straße@example.com").unwrap());
        for lookalike in ["k\u{430}te@example.com", "kate@ex\u{430}mple.com", "p\u{430}ypal@example.com"] {
            let refused = Email::parse(lookalike).unwrap_err().to_string();
            assert!(refused.contains("mixes scripts"), "{lookalike}: {refused}");
        }
        // One script per label is fine, whichever it is.
        assert!(Email::parse("\u{43a}\u{430}\u{442}\u{44f}@example.com").is_ok());
        assert!(Email::parse("user@\u{43f}\u{440}\u{438}\u{43c}\u{435}\u{440}.com").is_ok());
    }

    #[test]
    fn password_policy() {
        assert!(NewPassword::parse("securepass".into()).is_ok());
        assert!(NewPassword::parse("short".into()).is_err());
        assert!(NewPassword::parse("x".repeat(1025)).is_err());
        assert_eq!(format!("{:?}", NewPassword::parse("securepass".into()).unwrap()), "NewPassword(***)");
    }
}
