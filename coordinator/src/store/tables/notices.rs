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
    use crate::store::keys;

    #[test]
    fn keys_are_those_of_the_key_builders() {
        assert_eq!(
            NOTIFICATIONS.key(&("u", -1, "0a")),
            keys::notification("u", -1, "0a")
        );
        assert_eq!(
            NOTIFICATIONS.starting_with::<String, _>("u").begin,
            keys::notifications_of("u").begin
        );
        assert_eq!(
            NOTIFICATIONS.starting_with::<String, _>("u").end,
            keys::notifications_of("u").end
        );
    }
}
