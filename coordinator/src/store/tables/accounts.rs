//! Users, the index that keeps usernames, emails and phones unique, token generations and
//! failed log-ins. Keys never hold personal data: the index and failed log-ins are keyed
//! by a keyed hash computed by the caller.

use onsale_store::{Counter, Raw, Table, Text};

use crate::clock::Millis;
use crate::login_lock::FailedLogins;
use crate::store::keys::prefix;
use crate::store::records::UserRecord;

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
    use crate::store::tables::key_bytes::{int, text};

    #[test]
    fn keys_keep_their_bytes() {
        assert_eq!(USERS.key("u\0id"), [&[0x30][..], b"u\0\xffid\0"].concat());
        assert_eq!(
            USER_INDEX.key(&("email", &[0u8, 1, 0xff][..])),
            [&[0x31][..], b"email\0", &[0, 0xff, 1, 0xff, 0]].concat()
        );
        assert_eq!(
            TOKEN_GENERATIONS.key(&u128::MAX),
            [&[0x32][..], &[0xff; 16]].concat()
        );
        let failures = [0x38, 9, 0, 0xff, 0].to_vec();
        assert_eq!(LOGIN_FAILURES.key(&[9u8, 0][..]), failures);
        assert_eq!(
            LOGIN_FAILURES_EXPIRY.key(&(-4, &failures)),
            [&[0x39][..], &int(-4), &text(&failures)].concat()
        );
        assert_eq!(
            LOGIN_FAILURES_EXPIRY.before(&10i64).end,
            [&[0x39][..], &int(10)].concat()
        );
    }
}
