//! Operator accounts and their unique names, API keys, the audit trail, and door
//! check-ins with the index of ticket short codes they are looked up by.

use onsale_store::{Counter, Table, Text};

use crate::clock::Millis;
use crate::store::keys::prefix;
use crate::store::records::{ApiKeyRecord, AuditRecord, CheckInRecord, OperatorRecord};

/// `operator id` → the account.
pub(crate) const OPERATORS: Table<String, OperatorRecord> = Table::new(prefix::OPERATOR);

/// `keyed hash of a name` → the id of the operator of that name.
pub(crate) const OPERATOR_NAMES: Table<Vec<u8>, String, Text> = Table::new(prefix::OPERATOR_NAME);

/// `key id` → the API key.
pub(crate) const API_KEYS: Table<String, ApiKeyRecord> = Table::new(prefix::API_KEY);

/// `(at, sequence, entry id)` → an operator action.
pub(crate) const AUDIT: Table<(Millis, u64, String), AuditRecord> = Table::new(prefix::AUDIT);

/// `(booking id, seat id)` → the ticket's admission.
pub(crate) const CHECK_INS: Table<(String, String), CheckInRecord> = Table::new(prefix::CHECK_IN);

/// `event id` → tickets admitted.
pub(crate) const CHECK_IN_COUNTS: Table<u64, i64, Counter> = Table::new(prefix::CHECK_IN_COUNT);

/// `ticket short code` → `(booking id, seat id)`.
pub(crate) const TICKET_CODES: Table<String, (String, String)> = Table::new(prefix::TICKET_CODE);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tables::key_bytes::{int, text};

    #[test]
    fn keys_keep_their_bytes() {
        assert_eq!(OPERATORS.key("o"), [&[0x80][..], &text(b"o")].concat());
        assert_eq!(
            OPERATOR_NAMES.key(&[1u8][..]),
            [&[0x81][..], &text([1])].concat()
        );
        assert_eq!(API_KEYS.key("k"), [&[0x82][..], &text(b"k")].concat());
        assert_eq!(
            AUDIT.key(&(5, 2u64, "e")),
            [&[0x83][..], &int(5), &2u64.to_be_bytes(), &text(b"e")].concat()
        );
        assert_eq!(
            CHECK_INS.key(&("b", "s")),
            [&[0x84][..], &text(b"b"), &text(b"s")].concat()
        );
        assert_eq!(
            CHECK_IN_COUNTS.key(&7u64),
            [&[0x85][..], &7u64.to_be_bytes()].concat()
        );
        assert_eq!(TICKET_CODES.key("K7"), [&[0x86][..], &text(b"K7")].concat());
    }
}
