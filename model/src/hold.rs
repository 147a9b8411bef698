//! Seat holds.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::ApiError;

/// Most seats one hold may take.
pub const MAX_SEATS_PER_HOLD: usize = 10;

/// `POST /v1/events/{id}/holds`: the seats by id, or the best seats available in a section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HoldRequest {
    /// Seat ids to hold, all or none (leave empty with `best_available`).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_items = 10))]
    pub seats: Vec<String>,
    /// Instead of `seats`: let the coordinator choose the best seats available now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub best_available: Option<BestAvailable>,
}

/// The best `count` seats available in `section`: side by side in the frontmost row
/// that has that many together (nearest the row's middle), else the frontmost single seats.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BestAvailable {
    /// The section's id (the first part of its seat ids, e.g. "FLR") or its name.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, pattern = r"\S"))]
    pub section: String,
    /// How many seats, 1 to [`MAX_SEATS_PER_HOLD`].
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 10))]
    pub count: u32,
}

impl HoldRequest {
    /// Holds these seats.
    pub fn seats(seats: Vec<String>) -> Self {
        HoldRequest {
            seats,
            best_available: None,
        }
    }

    /// Checks the request: either 1 to [`MAX_SEATS_PER_HOLD`] seat ids without repeats,
    /// or a best-available section and count in that range.
    pub fn validate(&self) -> Result<(), ApiError> {
        if let Some(best) = &self.best_available {
            if !self.seats.is_empty() {
                return Err(ApiError::invalid(
                    "send either seats or best_available, not both",
                ));
            }
            if best.section.trim().is_empty() {
                return Err(ApiError::invalid(
                    "best_available.section must name a section",
                ));
            }
            if best.count == 0 || best.count as usize > MAX_SEATS_PER_HOLD {
                return Err(ApiError::invalid(format!(
                    "best_available.count must be 1 to {MAX_SEATS_PER_HOLD}"
                )));
            }
            return Ok(());
        }
        if self.seats.is_empty() {
            return Err(ApiError::invalid(
                "seats must list at least one seat id (or ask for best_available)",
            ));
        }
        if self.seats.len() > MAX_SEATS_PER_HOLD {
            return Err(ApiError::invalid(format!(
                "at most {MAX_SEATS_PER_HOLD} seats per hold"
            )));
        }
        let mut seen = std::collections::HashSet::new();
        for seat in &self.seats {
            if !seen.insert(seat.as_str()) {
                return Err(ApiError::invalid(format!("seat {seat} is listed twice")));
            }
        }
        Ok(())
    }
}

/// A hold: seats kept for one user until `expires_at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Hold {
    /// The hold's id.
    pub hold_id: String,
    /// The event.
    pub event_id: u64,
    /// The held seat ids, in the order requested.
    pub seats: Vec<String>,
    /// When the seats go back on sale unless checked out (RFC 3339).
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// Sum of the seat prices, in minor units.
    pub total: u64,
    /// Currency of `total`.
    pub currency: String,
    /// The pending booking this hold is being paid through, once checked out.
    #[serde(default)]
    pub booking_id: Option<String>,
}
