//! Seat holds.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::ApiError;

/// Most seats one hold may take.
pub const MAX_SEATS_PER_HOLD: usize = 10;

/// `POST /v1/events/{id}/holds`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HoldRequest {
    /// Seat ids to hold, all or none.
    pub seats: Vec<String>,
}

impl HoldRequest {
    /// Checks the seat list: 1 to [`MAX_SEATS_PER_HOLD`] seats, no repeats.
    pub fn validate(&self) -> Result<(), ApiError> {
        if self.seats.is_empty() {
            return Err(ApiError::invalid("seats must list at least one seat id"));
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
}
