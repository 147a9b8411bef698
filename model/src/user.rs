//! Users and sessions.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::ApiError;

/// `POST /v1/users`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignUp {
    /// 3-32 letters, digits, `_`, `.` or `-`; unique regardless of case.
    #[cfg_attr(feature = "openapi", schema(pattern = r"^[A-Za-z0-9_.-]{3,32}$"))]
    pub username: String,
    /// Email address; unique.
    #[cfg_attr(
        feature = "openapi",
        schema(
            max_length = 254,
            pattern = r"^[^@\s]+@[^@\s.][^@\s]*\.[^@\s]*[^@\s.]$"
        )
    )]
    pub email: String,
    /// Phone number, digits with an optional leading `+`; unique.
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = r"^\+?[ ()-]*([0-9][ ()-]*){7,15}$")
    )]
    pub phone: String,
    /// 8-128 characters.
    #[cfg_attr(feature = "openapi", schema(min_length = 8, max_length = 128))]
    pub password: String,
}

/// A sign-up after validation, with the unique fields in their canonical form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidSignUp {
    /// As typed (case kept for display).
    pub username: String,
    /// Lower-cased username, the form that must be unique.
    pub username_key: String,
    /// Lower-cased, trimmed email.
    pub email: String,
    /// `+` and digits only.
    pub phone: String,
}

impl SignUp {
    /// Validates every field; the message names the first field at fault.
    pub fn validate(&self) -> Result<ValidSignUp, ApiError> {
        for (field, value) in [
            ("username", &self.username),
            ("email", &self.email),
            ("phone", &self.phone),
        ] {
            if value.chars().any(is_invisible_control) {
                return Err(ApiError::invalid(format!(
                    "{field} must not contain control characters or text-direction overrides"
                )));
            }
        }
        let username = self.username.trim();
        if !(3..=32).contains(&username.chars().count())
            || !username
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        {
            return Err(ApiError::invalid(
                "username must be 3-32 letters, digits, '_', '.' or '-'",
            ));
        }
        let email = normalize_email(&self.email)
            .ok_or_else(|| ApiError::invalid("email must be an address like name@example.com"))?;
        let phone = normalize_phone(&self.phone).ok_or_else(|| {
            ApiError::invalid("phone must be 7-15 digits, optionally with a leading +")
        })?;
        let length = self.password.chars().count();
        if !(8..=128).contains(&length) {
            return Err(ApiError::invalid("password must be 8-128 characters"));
        }
        Ok(ValidSignUp {
            username: username.to_string(),
            username_key: username.to_ascii_lowercase(),
            email,
            phone,
        })
    }
}

/// Whether `c` is a control character (NUL, escapes, line breaks) or a bidirectional
/// override or isolate (U+202A-U+202E, U+2066-U+2069), which can make a name or an
/// address display as something else.
pub fn is_invisible_control(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// The canonical form of an email address, or `None` if it is not one.
pub fn normalize_email(email: &str) -> Option<String> {
    let email = email.trim().to_lowercase();
    let (local, domain) = email.split_once('@')?;
    let valid = !local.is_empty()
        && email.len() <= 254
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !email.chars().any(char::is_whitespace);
    valid.then_some(email)
}

/// The canonical form of a phone number (`+` and digits), or `None` if it is not one.
pub fn normalize_phone(phone: &str) -> Option<String> {
    let phone = phone.trim();
    let (plus, rest) = match phone.strip_prefix('+') {
        Some(rest) => ("+", rest),
        None => ("", phone),
    };
    if rest
        .chars()
        .any(|c| !(c.is_ascii_digit() || matches!(c, ' ' | '-' | '(' | ')')))
    {
        return None;
    }
    let digits: String = rest.chars().filter(char::is_ascii_digit).collect();
    (7..=15)
        .contains(&digits.len())
        .then(|| format!("{plus}{digits}"))
}

/// `201` answer to a sign-up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserCreated {
    /// The new user's id.
    pub id: String,
    /// The username as registered.
    pub username: String,
}

/// `POST /v1/sessions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Login {
    /// Username (any case).
    pub username: String,
    /// Password.
    pub password: String,
}

/// A bearer token and when it stops working.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Session {
    /// Send as `Authorization: Bearer TOKEN`.
    pub token: String,
    /// Expiry (RFC 3339).
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign_up() -> SignUp {
        SignUp {
            username: "Ada_L".into(),
            email: " Ada@Example.COM ".into(),
            phone: "+44 (20) 7946-0958".into(),
            password: "correct horse".into(),
        }
    }

    #[test]
    fn normalises_unique_fields() {
        let valid = sign_up().validate().unwrap();
        assert_eq!(valid.username, "Ada_L");
        assert_eq!(valid.username_key, "ada_l");
        assert_eq!(valid.email, "ada@example.com");
        assert_eq!(valid.phone, "+442079460958");
    }

    #[test]
    fn rejects_bad_fields() {
        for change in [
            |s: &mut SignUp| s.username = "ab".into(),
            |s: &mut SignUp| s.username = "has space".into(),
            |s: &mut SignUp| s.email = "nobody".into(),
            |s: &mut SignUp| s.email = "a@b".into(),
            |s: &mut SignUp| s.phone = "12ab567".into(),
            |s: &mut SignUp| s.phone = "123".into(),
            |s: &mut SignUp| s.password = "short".into(),
            |s: &mut SignUp| s.email = "ada\u{0}@example.com".into(),
            |s: &mut SignUp| s.email = "ada\u{202E}moc.elpmaxe@x.com".into(),
            |s: &mut SignUp| s.phone = "+1555\u{2066}1234567".into(),
            |s: &mut SignUp| s.username = "ada\u{202D}".into(),
        ] {
            let mut s = sign_up();
            change(&mut s);
            assert!(s.validate().is_err(), "{s:?}");
        }
    }
}
