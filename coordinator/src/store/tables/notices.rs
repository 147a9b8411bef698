//! In-app notifications.

use onsale_model::Notification;
use onsale_store::Table;

use crate::clock::Millis;
use crate::store::keys::prefix;

/// `(user id, created_at, change-log position)` → a notification, so a user's are read
/// in time order.
pub(crate) const NOTIFICATIONS: Table<(String, Millis, String), Notification> =
    Table::new(prefix::NOTIFICATION);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tables::key_bytes::int;

    #[test]
    fn keys_keep_their_bytes() {
        assert_eq!(
            NOTIFICATIONS.key(&("u", -1, "0a")),
            [&[0x60][..], b"u\0", &int(-1), b"0a\0"].concat()
        );
        let of_user = NOTIFICATIONS.starting_with::<String, _>("u");
        assert_eq!(
            (of_user.begin, of_user.end),
            (vec![0x60, b'u', 0], vec![0x60, b'u', 1])
        );
    }
}
