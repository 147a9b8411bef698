//! Refuses passwords that are easy to guess, with zxcvbn (Dropbox's estimator, with its
//! lists of common passwords, names and words), telling the person why.

use onsale_model::{ApiError, ErrorCode};
use zxcvbn::Score;

/// The weakest score accepted: "somewhat guessable", more than 10^8 guesses, which the
/// log-in lock puts far out of an online attacker's reach.
const MIN_SCORE: Score = Score::Two;

/// Checks `password` for a sign-up with these other fields (a password made of them is
/// weak): a weak one is `400 weak_password` with the reason.
pub fn check(password: &str, other_fields: &[&str]) -> Result<(), ApiError> {
    if password.trim().is_empty() {
        return Err(weak("the password must not be blank"));
    }
    let estimate = zxcvbn::zxcvbn(password, other_fields);
    if estimate.score() >= MIN_SCORE {
        return Ok(());
    }
    let feedback = estimate.feedback();
    let warning = feedback.and_then(|f| f.warning()).map(|w| w.to_string());
    let suggestion = feedback
        .and_then(|f| f.suggestions().first())
        .map(|s| s.to_string());
    let why = match (warning, suggestion) {
        (Some(warning), Some(suggestion)) => format!("{warning} {suggestion}"),
        (Some(text), None) | (None, Some(text)) => text,
        (None, None) => "Add another word or two.".to_string(),
    };
    Err(weak(&format!("the password is too easy to guess: {why}")))
}

fn weak(message: &str) -> ApiError {
    ApiError::new(ErrorCode::WeakPassword, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_and_blank_passwords_are_refused_with_a_reason() {
        for weak in [
            "password",
            "12345678",
            "        ",
            "qwertyuiop",
            "ada_l1234",
        ] {
            let error = check(weak, &["ada_l", "ada@example.com"]).unwrap_err();
            assert_eq!(error.code, ErrorCode::WeakPassword, "{weak:?}");
            assert!(error.message.len() > 20, "{weak:?}: {}", error.message);
        }
        assert!(
            check("password", &[])
                .unwrap_err()
                .message
                .contains("common"),
            "says it is a common password"
        );
    }

    #[test]
    fn passphrases_pass() {
        for good in [
            "correct horse",
            "loadgen-password",
            "apollo guidance",
            "tr0ub4dor&3x",
        ] {
            assert_eq!(check(good, &["someone"]), Ok(()), "{good:?}");
        }
    }
}
