//! Users, the index that keeps usernames, emails and phones unique, token generations and
//! failed log-ins. Keys never hold personal data: the index and failed log-ins are keyed
//! by a keyed hash computed by the caller.

use onsale_store::{Counter, Raw, Table, Text};

use crate::booking::records::UserRecord;
use crate::clock::Millis;
use crate::login_lock::FailedLogins;
use crate::store::keys::prefix;

/// `user id` → the user.
pub(crate) const USERS: Table<String, UserRecord> = Table::new(prefix::USER);

/// `(field, keyed hash)` → the id of the user whose `username`, `email` or `phone` it is.
pub(crate) const USER_INDEX: Table<(String, Vec<u8>), String, Text> =
    Table::new(prefix::USER_INDEX);

/// `user id` → the account's token generation; tokens of an older one are refused.
pub(crate) const TOKEN_GENERATIONS: Table<u128, i64, Counter> =
    Table::new(prefix::TOKEN_GENERATION);

/// `keyed hash of a username` → its recent failed log-ins.
pub(crate) const LOGIN_FAILURES: Table<Vec<u8>, FailedLogins> = Table::new(prefix::LOGIN_FAILURES);

/// `(forget_at, failed-log-ins key)` → that key: what the sweeper forgets.
pub(crate) const LOGIN_FAILURES_EXPIRY: Table<(Millis, Vec<u8>), Vec<u8>, Raw> =
    Table::new(prefix::LOGIN_FAILURES_EXPIRY);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::keys;

    #[test]
    fn keys_are_those_of_the_key_builders() {
        assert_eq!(USERS.key("u\0id"), keys::user("u\0id"));
        assert_eq!(
            USER_INDEX.key(&("email", &[0u8, 1, 0xff][..])),
            keys::user_index("email", &[0, 1, 0xff])
        );
        assert_eq!(
            TOKEN_GENERATIONS.key(&u128::MAX),
            keys::token_generation(u128::MAX)
        );
        let failures = keys::login_failures(&[9, 0]);
        assert_eq!(LOGIN_FAILURES.key(&[9u8, 0][..]), failures);
        assert_eq!(
            LOGIN_FAILURES_EXPIRY.key(&(-4, &failures)),
            keys::login_failures_expiry(-4, &failures)
        );
        assert_eq!(
            LOGIN_FAILURES_EXPIRY.before(&10i64).end,
            keys::login_failures_forgotten_before(10).end
        );
    }
}
