//! The virtual waiting room: an event's queue settings (Cloudflare Waiting Room's knobs),
//! a user's place in the queue, and the pass that admission hands out.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::ApiError;

/// Longest session an admitted user may get, in seconds (a day).
pub const MAX_SESSION_SECONDS: u32 = 86_400;
/// Shortest session, in seconds: a pass must outlive a hold request.
pub const MIN_SESSION_SECONDS: u32 = 10;

/// `PUT /v1/operator/events/{id}/waiting-room`: how an event's waiting room admits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WaitingRoomSettings {
    /// Whether the room is on: holds need a pass, and people queue for one.
    pub enabled: bool,
    /// Most users admitted at once (admitted users whose pass has not expired).
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub total_active_users: u32,
    /// Most users admitted in any 60 seconds; admission is spread evenly over the minute.
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub new_users_per_minute: u32,
    /// How long a pass is valid once a user is admitted, in seconds.
    #[cfg_attr(feature = "openapi", schema(minimum = 10, maximum = 86400))]
    pub session_duration_seconds: u32,
    /// The on-sale time: everyone who joins before it is shuffled into a random order
    /// at this time, ahead of everyone who joins after it (who queue first come, first
    /// served). Absent: first come, first served from the start.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub shuffle_before: Option<OffsetDateTime>,
    /// Switch the room on by itself when more than this many distinct users try to hold
    /// seats of the event within one minute. Absent: only the operator switches it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub auto_threshold: Option<u32>,
}

impl WaitingRoomSettings {
    /// Checks the ranges; the message names the field at fault.
    pub fn validate(&self) -> Result<(), ApiError> {
        if self.total_active_users == 0 {
            return Err(ApiError::invalid("total_active_users must be at least 1"));
        }
        if self.new_users_per_minute == 0 {
            return Err(ApiError::invalid("new_users_per_minute must be at least 1"));
        }
        if !(MIN_SESSION_SECONDS..=MAX_SESSION_SECONDS).contains(&self.session_duration_seconds) {
            return Err(ApiError::invalid(format!(
                "session_duration_seconds must be {MIN_SESSION_SECONDS} to {MAX_SESSION_SECONDS}"
            )));
        }
        if self.auto_threshold == Some(0) {
            return Err(ApiError::invalid(
                "auto_threshold must be at least 1 (leave it out to switch by hand only)",
            ));
        }
        Ok(())
    }

    /// Users admitted per minute in the long run: the configured rate, or less when the
    /// active cap only frees `total_active_users` places per session.
    pub fn admission_rate_per_minute(&self) -> f64 {
        let turnover = f64::from(self.total_active_users) * 60.0
            / f64::from(self.session_duration_seconds.max(1));
        f64::from(self.new_users_per_minute).min(turnover)
    }

    /// Seconds until someone at `position` (1 = next) is likely admitted.
    pub fn estimated_wait_seconds(&self, position: u64) -> u64 {
        let rate = self.admission_rate_per_minute().max(f64::MIN_POSITIVE);
        (position as f64 * 60.0 / rate).ceil() as u64
    }
}

/// `GET /v1/operator/events/{id}/waiting-room`: the settings and live counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WaitingRoom {
    /// The event.
    pub event_id: u64,
    /// The settings.
    #[serde(flatten)]
    pub settings: WaitingRoomSettings,
    /// People waiting (including those waiting for the on-sale shuffle).
    pub queued: u64,
    /// Admitted people whose pass has not expired.
    pub active: u64,
    /// People admitted since the room was set up.
    pub admitted_total: u64,
}

/// Where someone stands in a waiting room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum QueueState {
    /// Joined before the on-sale time: placed in random order with everyone else who
    /// did, at `shuffle_at`.
    Waiting,
    /// In the queue at `position`.
    Queued,
    /// Admitted: send `pass` as `X-Queue-Pass` on holds until `expires_at`.
    Admitted,
    /// The pass expired (or was never collected in time): join again to queue anew.
    Expired,
    /// The room is off: hold seats without a pass.
    Open,
}

/// `POST /v1/events/{id}/queue` and `GET /v1/events/{id}/queue?ticket=`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QueueStatus {
    /// The event.
    pub event_id: u64,
    /// Names this place in the queue: ask for it with `GET ...?ticket=` (no login
    /// needed), or follow it live at `/v1/events/{id}/queue/live?ticket=`.
    pub ticket: String,
    /// Where the holder stands.
    pub state: QueueState,
    /// True once admitted with a valid pass.
    pub admitted: bool,
    /// Place in the queue, 1 being next (`queued` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<u64>,
    /// Likely wait in seconds: until admission (`queued`), or until the on-sale shuffle
    /// places the holder (`waiting`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_wait_seconds: Option<u64>,
    /// The pass for hold requests (`admitted` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pass: Option<String>,
    /// When the pass expires (`admitted` only).
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub expires_at: Option<OffsetDateTime>,
    /// When the on-sale shuffle places everyone waiting (`waiting` only).
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub shuffle_at: Option<OffsetDateTime>,
}

/// `GET /v1/operator/queue-key`: the key edges check passes with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QueueKeyView {
    /// 32 bytes, base64url without padding: give it to `onsale edge --queue-key`.
    pub key: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> WaitingRoomSettings {
        WaitingRoomSettings {
            enabled: true,
            total_active_users: 100,
            new_users_per_minute: 60,
            session_duration_seconds: 600,
            shuffle_before: None,
            auto_threshold: None,
        }
    }

    #[test]
    fn validation_names_the_field() {
        assert!(settings().validate().is_ok());
        let zero_rate = WaitingRoomSettings {
            new_users_per_minute: 0,
            ..settings()
        };
        assert!(
            zero_rate
                .validate()
                .unwrap_err()
                .message
                .contains("new_users_per_minute")
        );
        let short = WaitingRoomSettings {
            session_duration_seconds: 1,
            ..settings()
        };
        assert!(short.validate().is_err());
        let auto_zero = WaitingRoomSettings {
            auto_threshold: Some(0),
            ..settings()
        };
        assert!(auto_zero.validate().is_err());
    }

    #[test]
    fn the_wait_follows_the_slower_of_rate_and_turnover() {
        // 100 places freed every 10 minutes = 10 per minute, slower than 60 per minute.
        assert_eq!(settings().admission_rate_per_minute(), 10.0);
        assert_eq!(settings().estimated_wait_seconds(10), 60);
        let fast_turnover = WaitingRoomSettings {
            session_duration_seconds: 60,
            ..settings()
        };
        assert_eq!(fast_turnover.estimated_wait_seconds(30), 30);
    }

    #[test]
    fn settings_read_without_the_optional_knobs() {
        let parsed: WaitingRoomSettings = serde_json::from_str(
            r#"{"enabled":true,"total_active_users":5,"new_users_per_minute":6,"session_duration_seconds":60}"#,
        )
        .unwrap();
        assert_eq!(parsed.shuffle_before, None);
        assert_eq!(parsed.auto_threshold, None);
        let with_time: WaitingRoomSettings = serde_json::from_str(
            r#"{"enabled":true,"total_active_users":5,"new_users_per_minute":6,"session_duration_seconds":60,"shuffle_before":"2027-03-01T10:00:00Z"}"#,
        )
        .unwrap();
        assert!(with_time.shuffle_before.is_some());
    }
}
