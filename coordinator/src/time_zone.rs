//! Venue time zones: an event's start shown in its venue's local time, with the zone's
//! abbreviation, from the IANA time zone database bundled into the coordinator (so every
//! machine answers the same, whatever its own copy of the database).
//!
//! The coordinator does the conversion once, when an event is written: the event
//! document keeps its start in the venue's offset and the abbreviation beside it, so the
//! edge and the browser show local times without a time zone database of their own.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use onsale_model::ApiError;
use time::{OffsetDateTime, UtcOffset};

use crate::error::{Error, Result};

/// An instant as it reads in a time zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LocalStart {
    /// The instant, in the zone's offset at that moment.
    pub starts_at: OffsetDateTime,
    /// The zone's abbreviation at that moment: `CEST`, `GMT`, `+04`.
    pub abbreviation: String,
}

/// `starts_at` in the IANA zone `name`; an unknown zone is a `400 invalid_request` that
/// names it.
pub(crate) fn localize(starts_at: OffsetDateTime, name: &str) -> Result<LocalStart> {
    let unknown = || {
        Error::Api(ApiError::invalid(format!(
            "time_zone {name:?} is not an IANA time zone name such as Europe/Berlin"
        )))
    };
    if name.is_empty() || name.len() > 64 {
        return Err(unknown());
    }
    let zone = TimeZone::get(name).map_err(|_| unknown())?;
    let instant = Timestamp::from_second(starts_at.unix_timestamp())
        .map_err(|e| Error::internal_from("an event start out of range", e))?;
    let info = zone.to_offset_info(instant);
    let offset = UtcOffset::from_whole_seconds(info.offset().seconds())
        .map_err(|e| Error::internal_from("a time zone offset out of range", e))?;
    Ok(LocalStart {
        starts_at: starts_at.to_offset(offset),
        abbreviation: info.abbreviation().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn an_evening_in_berlin_reads_as_local_summer_time() {
        let local = localize(datetime!(2027-05-01 17:30 UTC), "Europe/Berlin").unwrap();
        assert_eq!(local.starts_at, datetime!(2027-05-01 19:30 +02:00));
        assert_eq!(local.starts_at.offset(), time::macros::offset!(+02:00));
        assert_eq!(local.abbreviation, "CEST");
        let winter = localize(datetime!(2027-01-15 20:00 +01:00), "Europe/Berlin").unwrap();
        assert_eq!(winter.abbreviation, "CET");
        assert_eq!(winter.starts_at.hour(), 20);
    }

    #[test]
    fn zones_without_a_letter_abbreviation_show_their_offset() {
        let local = localize(datetime!(2027-03-01 16:00 UTC), "Asia/Dubai").unwrap();
        assert_eq!(local.abbreviation, "+04");
        assert_eq!(local.starts_at.hour(), 20);
        let utc = localize(datetime!(2027-03-01 16:00 +02:00), "UTC").unwrap();
        assert_eq!(
            (utc.starts_at.hour(), utc.abbreviation.as_str()),
            (14, "UTC")
        );
    }

    #[test]
    fn unknown_zones_are_refused_with_their_name() {
        for name in ["Mars/Olympus", "", "../etc/passwd", &"A".repeat(65)] {
            let Err(Error::Api(error)) = localize(datetime!(2027-03-01 16:00 UTC), name) else {
                panic!("{name:?} was accepted");
            };
            assert_eq!(error.status(), 400);
        }
    }
}
