//! Entries of the coordinator's change log: what consumers (live seat maps, the
//! indexer, notifications) learn about every committed state change.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::event::SeatStatus;

/// Where an entry sits in the change log: FoundationDB's layout of a 10-byte commit
/// versionstamp (8-byte commit version, 2-byte order within the commit batch) and a 2-byte
/// index of the entry within its transaction. Other backends use a per-commit sequence as
/// the version. Positions order like the commits that wrote them. On the wire (and in
/// `?after=`) a position is its 24 lower-case hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LogPosition(pub [u8; 12]);

impl LogPosition {
    /// The position of entry `index` of the transaction committed as `version`.
    pub fn new(version: u64, index: u16) -> Self {
        let mut bytes = [0u8; 12];
        bytes[..8].copy_from_slice(&version.to_be_bytes());
        bytes[10..].copy_from_slice(&index.to_be_bytes());
        LogPosition(bytes)
    }

    /// The commit version part: it grows with every commit, on every backend.
    pub fn version(&self) -> u64 {
        let mut be = [0u8; 8];
        be.copy_from_slice(&self.0[..8]);
        u64::from_be_bytes(be)
    }
}

/// A text that is not 24 hex digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a log position is 24 hex digits, as returned in `position`")]
pub struct BadLogPosition;

impl FromStr for LogPosition {
    type Err = BadLogPosition;

    fn from_str(text: &str) -> Result<Self, BadLogPosition> {
        if text.len() != 24 {
            return Err(BadLogPosition);
        }
        let mut bytes = [0u8; 12];
        for (i, byte) in bytes.iter_mut().enumerate() {
            let pair = text.get(2 * i..2 * i + 2).ok_or(BadLogPosition)?;
            *byte = u8::from_str_radix(pair, 16).map_err(|_| BadLogPosition)?;
        }
        Ok(LogPosition(bytes))
    }
}

impl fmt::Display for LogPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl Serialize for LogPosition {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for LogPosition {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for LogPosition {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some(LOG_POSITION_PATTERN))
            .description(Some(
                "A change-log position: 24 hex digits, ordered like the log",
            ))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for LogPosition {}

/// The pattern of a [`LogPosition`]'s text, for API documents.
pub const LOG_POSITION_PATTERN: &str = "^[0-9a-fA-F]{24}$";

/// One committed state change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Change {
    /// An event was created.
    EventCreated {
        /// The event.
        event_id: u64,
    },
    /// An event's details changed.
    EventUpdated {
        /// The event.
        event_id: u64,
    },
    /// A seat changed state.
    Seat {
        /// The event.
        event_id: u64,
        /// The seat.
        seat_id: String,
        /// Its new state.
        state: SeatStatus,
    },
    /// A hold was placed.
    HoldPlaced {
        /// The hold.
        hold_id: String,
        /// The event.
        event_id: u64,
        /// Its seats.
        seats: Vec<String>,
    },
    /// A hold ended without a sale.
    HoldReleased {
        /// The hold.
        hold_id: String,
        /// The event.
        event_id: u64,
        /// Why: `released` by its owner or `expired`.
        reason: ReleaseReason,
    },
    /// A hold was checked out into a pending booking.
    BookingCreated {
        /// The booking.
        booking_id: String,
        /// Its buyer.
        user_id: String,
        /// The event.
        event_id: u64,
    },
    /// A booking was paid; its seats are sold.
    BookingCompleted {
        /// The booking.
        booking_id: String,
        /// Its buyer.
        user_id: String,
        /// The event.
        event_id: u64,
    },
    /// A booking ended without a sale.
    BookingCancelled {
        /// The booking.
        booking_id: String,
        /// Its buyer.
        user_id: String,
        /// Why, for a person.
        reason: String,
    },
    /// The organiser cancelled a completed booking: its seats are back on sale, its
    /// tickets admit nobody, and its charge is being refunded.
    BookingRevoked {
        /// The booking.
        booking_id: String,
        /// Its buyer.
        user_id: String,
        /// The event.
        event_id: u64,
        /// Why, for a person.
        reason: String,
    },
    /// A ticket was admitted at the door.
    CheckedIn {
        /// The event.
        event_id: u64,
        /// The booking.
        booking_id: String,
        /// The seat whose ticket it was.
        seat_id: String,
    },
    /// The provider confirmed the refund of a cancelled booking's charge.
    BookingRefunded {
        /// The booking.
        booking_id: String,
        /// Its buyer.
        user_id: String,
    },
    /// A user signed up.
    UserCreated {
        /// The user.
        user_id: String,
    },
}

/// Why a hold ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReleaseReason {
    /// Its owner released it.
    Released,
    /// Its time ran out.
    Expired,
}

/// `GET /v1/operator/catalogue`: every event, and the change-log position they are
/// current at; reading the log after that position gives every later change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Catalogue {
    /// Position of the newest change-log entry included (absent for an empty log).
    pub position: Option<LogPosition>,
    /// Every event, in id order.
    pub events: Vec<crate::event::Event>,
}

/// One entry of `GET /v1/changes`: a change and its position in the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogEntry {
    /// Ordered position; pass it back as `after` to read on.
    pub position: LogPosition,
    /// The change.
    #[serde(flatten)]
    pub change: Change,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_read_back_as_written_and_order_like_commits() {
        let p = LogPosition::new(42, 3);
        assert_eq!(p.to_string(), "000000000000002a00000003");
        assert_eq!(p.to_string().parse(), Ok(p));
        assert_eq!(p.version(), 42);
        assert!(LogPosition::new(42, 3) < LogPosition::new(43, 0));
        assert_eq!("zz".parse::<LogPosition>(), Err(BadLogPosition));
        assert_eq!(
            "00000000000000000000000g".parse::<LogPosition>(),
            Err(BadLogPosition)
        );
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(json, "\"000000000000002a00000003\"");
        assert_eq!(serde_json::from_str::<LogPosition>(&json).unwrap(), p);
        assert!(serde_json::from_str::<LogPosition>("\"x\"").is_err());
    }
}
