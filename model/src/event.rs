//! Events and their seat maps.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::ApiError;

/// Most seats one event may have.
pub const MAX_SEATS_PER_EVENT: usize = 200_000;

/// Seats one account may have of an event (in live holds and in pending and completed
/// bookings together) unless the operator sets another limit.
pub const DEFAULT_MAX_SEATS_PER_ACCOUNT: u32 = 8;

/// The highest per-account limit an operator may set.
pub const MAX_SEATS_PER_ACCOUNT_LIMIT: u32 = 100;

fn default_max_seats_per_account() -> u32 {
    DEFAULT_MAX_SEATS_PER_ACCOUNT
}

/// The time zone of events that name none.
pub const DEFAULT_TIME_ZONE: &str = "UTC";

fn default_time_zone() -> String {
    DEFAULT_TIME_ZONE.to_string()
}

/// An event as listed and shown. Prices are in minor units (cents) of `currency`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Event {
    /// Stable numeric id.
    pub id: u64,
    /// Title, e.g. "Aurora Nights Tour".
    pub name: String,
    /// Kind of event: concert, theatre, sports, comedy, ...
    pub category: String,
    /// Free text shown on the event page.
    pub description: String,
    /// Who performs.
    pub performers: Vec<String>,
    /// Where: the venue's name.
    pub venue: String,
    /// Where: the city.
    pub city: String,
    /// When the event starts (RFC 3339), in the venue's offset at that moment
    /// (`2027-05-01T19:30:00+02:00` for an evening in Berlin).
    #[serde(with = "time::serde::rfc3339")]
    pub starts_at: OffsetDateTime,
    /// The venue's time zone, an IANA name such as `Europe/Berlin`. Documents written
    /// before events had time zones read as `UTC`.
    #[serde(default = "default_time_zone")]
    pub time_zone: String,
    /// The zone's abbreviation at the start (`CEST`, `GMT`, `+04`), as pages show it
    /// after the local time; the coordinator derives it from `time_zone`.
    #[serde(default = "default_time_zone")]
    pub time_zone_abbreviation: String,
    /// A picture for the event page.
    pub image_url: String,
    /// ISO 4217 currency of every price of the event.
    pub currency: String,
    /// Cheapest seat, in minor units.
    pub price_min: u64,
    /// Dearest seat, in minor units.
    pub price_max: u64,
    /// How many seats the seat map has.
    pub seat_count: u32,
    /// Whether the event's waiting room is on: holds then need a queue pass
    /// (`X-Queue-Pass`), which the edge checks from this flag without asking the
    /// coordinator.
    #[serde(default)]
    pub waiting_room: bool,
    /// The most seats one account may have of this event: live holds plus pending and
    /// completed bookings. Documents written before the limit existed read as the
    /// default, [`DEFAULT_MAX_SEATS_PER_ACCOUNT`].
    #[serde(default = "default_max_seats_per_account")]
    pub max_seats_per_account: u32,
    /// Whether buyers see the event. A draft (`false`) is the operators' alone: it is
    /// left out of the catalogue's snapshot and the public list, its public reads answer
    /// 404 and it takes no holds. Documents written before drafts existed read as
    /// published.
    #[serde(default = "published")]
    pub published: bool,
}

fn published() -> bool {
    true
}

/// The details of an event that an operator sets (everything but the id and the
/// figures derived from the seat map).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventDetails {
    /// Title.
    #[cfg_attr(feature = "openapi", schema(max_length = 200, pattern = r"\S"))]
    pub name: String,
    /// Kind of event.
    #[cfg_attr(feature = "openapi", schema(max_length = 50, pattern = r"\S"))]
    pub category: String,
    /// Free text.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 10000))]
    pub description: String,
    /// Who performs.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_items = 50))]
    pub performers: Vec<String>,
    /// Venue name.
    #[cfg_attr(feature = "openapi", schema(max_length = 200, pattern = r"\S"))]
    pub venue: String,
    /// City.
    #[cfg_attr(feature = "openapi", schema(max_length = 100, pattern = r"\S"))]
    pub city: String,
    /// Start time (RFC 3339, any offset: it is kept as an instant and shown in
    /// `time_zone`).
    #[serde(with = "time::serde::rfc3339")]
    pub starts_at: OffsetDateTime,
    /// The venue's time zone, an IANA name such as `Europe/Berlin`, that pages show the
    /// time in. Left out, a new event is in `UTC` and an edited one keeps its zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(max_length = 64, example = "Europe/Berlin")
    )]
    pub time_zone: Option<String>,
    /// Picture URL.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 2000))]
    pub image_url: String,
    /// ISO 4217 currency code, e.g. "EUR".
    #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Z]{3}$"))]
    pub currency: String,
    /// The most seats one account may have of the event, 1 to
    /// [`MAX_SEATS_PER_ACCOUNT_LIMIT`]. Left out, a new event gets
    /// [`DEFAULT_MAX_SEATS_PER_ACCOUNT`] and an edited one keeps its limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 100))]
    pub max_seats_per_account: Option<u32>,
    /// Whether buyers see the event (`false`: a draft, see [`Event::published`]). Left
    /// out, a new event is published at once and an edited one keeps its state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<bool>,
}

/// `POST /v1/operator/events`: an event and its seat map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewEvent {
    /// The event's details.
    #[serde(flatten)]
    pub details: EventDetails,
    /// Sections, rows and seats with their prices.
    pub seat_map: SeatMapSpec,
}

/// A seat map as an operator writes it: sections of rows of numbered seats.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SeatMapSpec {
    /// The sections, in display order.
    #[cfg_attr(feature = "openapi", schema(min_items = 1))]
    pub sections: Vec<SectionSpec>,
}

/// One section: a price tier with rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SectionSpec {
    /// Short code used in seat ids: letters and digits, e.g. "FLR".
    #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Za-z0-9]{1,16}$"))]
    pub id: String,
    /// Display name, e.g. "Floor".
    #[cfg_attr(feature = "openapi", schema(max_length = 100, pattern = r"\S"))]
    pub name: String,
    /// Price of every seat in the section unless a row says otherwise, in minor units.
    pub price: u64,
    /// The rows, front to back.
    #[cfg_attr(feature = "openapi", schema(min_items = 1))]
    pub rows: Vec<RowSpec>,
    /// Where the section sits on the venue's plan. Unless every section of the map has
    /// one, the seat map places all sections itself (rows of up to three, front to back
    /// in the map's order).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<SectionPosition>,
}

/// A rectangle on a venue's plan of 100 × 100, the stage along its top edge: `x` and
/// `y` from the top left, all in hundredths of the plan's width and height.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SectionPosition {
    /// Left edge, 0 to 99.
    #[cfg_attr(feature = "openapi", schema(maximum = 99))]
    pub x: u8,
    /// Top edge, 0 to 99 (the stage is at 0).
    #[cfg_attr(feature = "openapi", schema(maximum = 99))]
    pub y: u8,
    /// Width, 1 to 100 - x.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 100))]
    pub width: u8,
    /// Height, 1 to 100 - y.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 100))]
    pub height: u8,
}

/// A section as a seat map draws it: its id, its name and its place on the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SectionPlace {
    /// The section's code, e.g. `FLR`.
    pub id: String,
    /// Its name, e.g. `Floor`.
    pub name: String,
    /// Where it sits.
    pub position: SectionPosition,
}

/// Where sections go when the operator placed not all of them: rows of up to three
/// below the stage, in the map's order (the front first).
fn default_positions(count: usize) -> Vec<SectionPosition> {
    let columns = count.clamp(1, 3);
    let rows = count.div_ceil(columns).max(1);
    let (width, height) = (100 / columns, 88 / rows);
    (0..count)
        .map(|i| SectionPosition {
            x: ((i % columns) * width + 1) as u8,
            y: (12 + (i / columns) * height + 1) as u8,
            width: width.saturating_sub(2).max(1) as u8,
            height: height.saturating_sub(2).max(1) as u8,
        })
        .collect()
}

/// One row: seats numbered 1..=seats.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RowSpec {
    /// Row label used in seat ids: letters and digits, e.g. "A" or "12".
    #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Za-z0-9]{1,8}$"))]
    pub name: String,
    /// Number of seats.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 200000))]
    pub seats: u32,
    /// Price override for this row, in minor units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<u64>,
}

/// One seat of a seat map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Seat {
    /// `SECTION-ROW-NUMBER`, e.g. "FLR-A-12".
    pub seat_id: String,
    /// Section display name.
    pub section: String,
    /// Row label.
    pub row: String,
    /// Seat number in the row.
    pub number: u32,
    /// Price in minor units.
    pub price: u64,
}

/// A seat map compiled for lookups: every seat by ordinal and by id, and each section's
/// ordinals.
#[derive(Debug, Clone)]
pub struct SeatMap {
    seats: Vec<Seat>,
    by_id: HashMap<String, u32>,
    /// `(id, name, first ordinal, last ordinal)` of every section with seats.
    sections: Vec<(String, String, u32, u32)>,
    /// Every section's place on the plan.
    places: Vec<SectionPlace>,
}

impl SeatMap {
    /// Compiles a validated spec.
    pub fn compile(spec: &SeatMapSpec) -> Result<SeatMap, ApiError> {
        validate_seat_map(spec)?;
        let mut seats = Vec::new();
        let mut sections = Vec::new();
        for section in &spec.sections {
            let first = seats.len() as u32;
            for row in &section.rows {
                let price = row.price.unwrap_or(section.price);
                for number in 1..=row.seats {
                    seats.push(Seat {
                        seat_id: format!("{}-{}-{}", section.id, row.name, number),
                        section: section.name.clone(),
                        row: row.name.clone(),
                        number,
                        price,
                    });
                }
            }
            if seats.len() as u32 > first {
                sections.push((
                    section.id.clone(),
                    section.name.clone(),
                    first,
                    seats.len() as u32 - 1,
                ));
            }
        }
        let by_id = seats
            .iter()
            .enumerate()
            .map(|(i, seat)| (seat.seat_id.clone(), i as u32))
            .collect();
        let placed: Option<Vec<SectionPosition>> = spec
            .sections
            .iter()
            .map(|section| section.position)
            .collect();
        let positions = placed.unwrap_or_else(|| default_positions(spec.sections.len()));
        let places = spec
            .sections
            .iter()
            .zip(positions)
            .map(|(section, position)| SectionPlace {
                id: section.id.clone(),
                name: section.name.clone(),
                position,
            })
            .collect();
        Ok(SeatMap {
            seats,
            by_id,
            sections,
            places,
        })
    }

    /// The first and last ordinal of a section, found by its id or (ignoring case) its
    /// name; `None` for no such section, or one without seats.
    pub fn section(&self, id_or_name: &str) -> Option<(u32, u32)> {
        let wanted = id_or_name.trim();
        self.sections
            .iter()
            .find(|(id, name, _, _)| id == wanted || name.eq_ignore_ascii_case(wanted))
            .map(|&(_, _, first, last)| (first, last))
    }

    /// Every section with its place on the venue's plan, in the map's order.
    pub fn places(&self) -> &[SectionPlace] {
        &self.places
    }

    /// Every seat, in display order; a seat's index is its ordinal.
    pub fn seats(&self) -> &[Seat] {
        &self.seats
    }

    /// The ordinal of a seat id.
    pub fn ordinal(&self, seat_id: &str) -> Option<u32> {
        self.by_id.get(seat_id).copied()
    }

    /// The seat at an ordinal.
    pub fn seat(&self, ordinal: u32) -> Option<&Seat> {
        self.seats.get(ordinal as usize)
    }

    /// Cheapest and dearest price (0, 0 for an empty map).
    pub fn price_range(&self) -> (u64, u64) {
        let min = self.seats.iter().map(|s| s.price).min().unwrap_or(0);
        let max = self.seats.iter().map(|s| s.price).max().unwrap_or(0);
        (min, max)
    }
}

/// Whether a seat can be bought.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SeatStatus {
    /// Free to hold.
    Available,
    /// Held by someone until their hold expires.
    Held,
    /// Sold.
    Sold,
}

/// A seat with its current state, as `GET /v1/events/{id}/seats` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SeatView {
    /// The seat.
    #[serde(flatten)]
    pub seat: Seat,
    /// Its state now.
    pub state: SeatStatus,
}

/// `GET /v1/events/{id}/seats`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SeatsResponse {
    /// The event.
    pub event_id: u64,
    /// Every seat, in display order.
    pub seats: Vec<SeatView>,
    /// The sections with their places on the venue's plan, in the map's order.
    #[serde(default)]
    pub sections: Vec<SectionPlace>,
}

/// `GET /v1/events/{id}/availability`: how many seats are in each state now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Availability {
    /// The event.
    pub event_id: u64,
    /// Seats in the seat map.
    pub total: u32,
    /// Seats free to hold.
    pub available: u32,
    /// Seats held by buyers now.
    pub held: u32,
    /// Seats sold.
    pub sold: u32,
}

fn is_code(text: &str, max: usize) -> bool {
    !text.is_empty() && text.len() <= max && text.chars().all(|c| c.is_ascii_alphanumeric())
}

fn check_text(field: &str, value: &str, max: usize, required: bool) -> Result<(), ApiError> {
    if required && value.trim().is_empty() {
        return Err(ApiError::invalid(format!("{field} must not be empty")).at(field));
    }
    if value.chars().count() > max {
        return Err(
            ApiError::invalid(format!("{field} must be at most {max} characters")).at(field),
        );
    }
    Ok(())
}

/// The first year an event may start in.
pub const EARLIEST_YEAR: i32 = 1970;
/// The last year an event may start in (catalogue snapshots keep starts as 64-bit
/// nanoseconds, which end in 2262).
pub const LATEST_YEAR: i32 = 2200;

impl EventDetails {
    /// Checks lengths, formats and the start's year; the message names the field at fault.
    pub fn validate(&self) -> Result<(), ApiError> {
        check_text("name", &self.name, 200, true)?;
        check_text("category", &self.category, 50, true)?;
        check_text("description", &self.description, 10_000, false)?;
        check_text("venue", &self.venue, 200, true)?;
        check_text("city", &self.city, 100, true)?;
        check_text("image_url", &self.image_url, 2_000, false)?;
        let year = self.starts_at.year();
        if !(EARLIEST_YEAR..=LATEST_YEAR).contains(&year) {
            return Err(ApiError::invalid(format!(
                "starts_at must be in the years {EARLIEST_YEAR} to {LATEST_YEAR}"
            ))
            .at("starts_at"));
        }
        if self.performers.len() > 50 {
            return Err(ApiError::invalid("at most 50 performers").at("performers"));
        }
        for (i, performer) in self.performers.iter().enumerate() {
            check_text(&format!("performers[{i}]"), performer, 200, true)?;
        }
        if self.currency.len() != 3 || !self.currency.chars().all(|c| c.is_ascii_uppercase()) {
            return Err(
                ApiError::invalid("currency must be an ISO 4217 code such as EUR").at("currency"),
            );
        }
        if let Some(limit) = self.max_seats_per_account
            && !(1..=MAX_SEATS_PER_ACCOUNT_LIMIT).contains(&limit)
        {
            return Err(ApiError::invalid(format!(
                "max_seats_per_account must be 1 to {MAX_SEATS_PER_ACCOUNT_LIMIT}"
            ))
            .at("max_seats_per_account"));
        }
        Ok(())
    }
}

fn validate_seat_map(spec: &SeatMapSpec) -> Result<(), ApiError> {
    if spec.sections.is_empty() {
        return Err(
            ApiError::invalid("seat_map needs at least one section").at("seat_map.sections")
        );
    }
    let mut section_ids = std::collections::HashSet::new();
    let mut total: usize = 0;
    for (i, section) in spec.sections.iter().enumerate() {
        let at = |field: &str| format!("seat_map.sections[{i}].{field}");
        if !is_code(&section.id, 16) {
            return Err(ApiError::invalid(format!(
                "section id {:?} must be 1-16 letters or digits",
                section.id
            ))
            .at(at("id")));
        }
        if !section_ids.insert(section.id.as_str()) {
            return Err(
                ApiError::invalid(format!("section id {:?} is used twice", section.id))
                    .at(at("id")),
            );
        }
        check_text("section name", &section.name, 100, true).map_err(|e| e.at(at("name")))?;
        if let Some(p) = section.position
            && (p.width == 0
                || p.height == 0
                || u16::from(p.x) + u16::from(p.width) > 100
                || u16::from(p.y) + u16::from(p.height) > 100)
        {
            return Err(ApiError::invalid(format!(
                "section {}'s position must fit the 100 x 100 plan, with a width and a height",
                section.id
            ))
            .at(at("position")));
        }
        let mut row_names = std::collections::HashSet::new();
        for (j, row) in section.rows.iter().enumerate() {
            let at = |field: &str| at(&format!("rows[{j}].{field}"));
            if !is_code(&row.name, 8) {
                return Err(ApiError::invalid(format!(
                    "row name {:?} in section {} must be 1-8 letters or digits",
                    row.name, section.id
                ))
                .at(at("name")));
            }
            if !row_names.insert(row.name.as_str()) {
                return Err(ApiError::invalid(format!(
                    "row {:?} is used twice in section {}",
                    row.name, section.id
                ))
                .at(at("name")));
            }
            if row.seats == 0 {
                return Err(ApiError::invalid(format!(
                    "row {} in section {} has no seats",
                    row.name, section.id
                ))
                .at(at("seats")));
            }
            total = total.saturating_add(row.seats as usize);
            if total > MAX_SEATS_PER_EVENT {
                return Err(ApiError::invalid(format!(
                    "an event has at most {MAX_SEATS_PER_EVENT} seats"
                ))
                .at(at("seats")));
            }
        }
    }
    if total == 0 {
        return Err(ApiError::invalid("seat_map has no seats").at("seat_map.sections"));
    }
    Ok(())
}

impl NewEvent {
    /// Validates the details and compiles the seat map.
    pub fn validate(&self) -> Result<SeatMap, ApiError> {
        self.details.validate()?;
        SeatMap::compile(&self.seat_map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> SeatMapSpec {
        SeatMapSpec {
            sections: vec![
                SectionSpec {
                    id: "FLR".into(),
                    name: "Floor".into(),
                    price: 9000,
                    rows: vec![
                        RowSpec {
                            name: "A".into(),
                            seats: 3,
                            price: Some(12000),
                        },
                        RowSpec {
                            name: "B".into(),
                            seats: 2,
                            price: None,
                        },
                    ],
                    position: None,
                },
                SectionSpec {
                    id: "BAL".into(),
                    name: "Balcony".into(),
                    price: 4000,
                    rows: vec![RowSpec {
                        name: "1".into(),
                        seats: 2,
                        price: None,
                    }],
                    position: None,
                },
            ],
        }
    }

    #[test]
    fn sections_are_placed_by_the_operator_or_in_rows_below_the_stage() {
        let map = SeatMap::compile(&spec()).unwrap();
        let places: Vec<_> = map.places().iter().map(|p| p.position).collect();
        assert_eq!(
            places,
            [
                SectionPosition {
                    x: 1,
                    y: 13,
                    width: 48,
                    height: 86
                },
                SectionPosition {
                    x: 51,
                    y: 13,
                    width: 48,
                    height: 86
                },
            ]
        );
        let mut placed = spec();
        let spot = SectionPosition {
            x: 30,
            y: 10,
            width: 40,
            height: 30,
        };
        placed.sections[0].position = Some(spot);
        assert_eq!(
            SeatMap::compile(&placed).unwrap().places()[0].position.x,
            1,
            "one section without a place: every section placed by default"
        );
        placed.sections[1].position = Some(SectionPosition { y: 50, ..spot });
        let map = SeatMap::compile(&placed).unwrap();
        assert_eq!(map.places()[0].position, spot);
        assert_eq!(map.places()[1].name, "Balcony");
        placed.sections[1].position = Some(SectionPosition {
            x: 70,
            width: 40,
            ..spot
        });
        assert!(SeatMap::compile(&placed).is_err(), "off the plan");
        placed.sections[1].position = Some(SectionPosition { width: 0, ..spot });
        assert!(SeatMap::compile(&placed).is_err(), "no width");
        let rows: Vec<u8> = default_positions(8).iter().map(|p| p.y).collect();
        assert_eq!(rows, [13, 13, 13, 42, 42, 42, 71, 71]);
    }

    #[test]
    fn compiles_ids_ordinals_and_prices() {
        let map = SeatMap::compile(&spec()).unwrap();
        assert_eq!(map.seats().len(), 7);
        assert_eq!(map.ordinal("FLR-B-2"), Some(4));
        assert_eq!(map.seat(5).unwrap().seat_id, "BAL-1-1");
        assert_eq!(map.seat(0).unwrap().price, 12000);
        assert_eq!(map.price_range(), (4000, 12000));
        assert_eq!(map.ordinal("FLR-C-1"), None);
        assert_eq!(map.section("FLR"), Some((0, 4)));
        assert_eq!(map.section("balcony"), Some((5, 6)));
        assert_eq!(map.section("Stalls"), None);
    }

    #[test]
    fn documents_without_a_seat_limit_read_as_the_default() {
        let old = serde_json::json!({
            "id": 1, "name": "Old", "category": "concert", "description": "",
            "performers": [], "venue": "Hall", "city": "Oslo",
            "starts_at": "2027-01-01T20:00:00Z", "image_url": "", "currency": "EUR",
            "price_min": 1, "price_max": 2, "seat_count": 3,
        });
        let event: Event = serde_json::from_value(old).unwrap();
        assert_eq!(event.max_seats_per_account, DEFAULT_MAX_SEATS_PER_ACCOUNT);
        assert!(event.published, "events from before drafts are published");
        let details: EventDetails = serde_json::from_value(serde_json::json!({
            "name": "New", "category": "concert", "venue": "Hall", "city": "Oslo",
            "starts_at": "2027-01-01T20:00:00Z", "currency": "EUR",
        }))
        .unwrap();
        assert_eq!(details.max_seats_per_account, None);
        assert!(details.validate().is_ok());
        for (limit, valid) in [(0, false), (1, true), (100, true), (101, false)] {
            let details = EventDetails {
                time_zone: None,
                max_seats_per_account: Some(limit),
                ..details.clone()
            };
            assert_eq!(details.validate().is_ok(), valid, "{limit}");
        }
        for (starts_at, valid) in [
            (time::macros::datetime!(1969-12-31 23:00 UTC), false),
            (time::macros::datetime!(1970-01-01 00:00 UTC), true),
            (time::macros::datetime!(2200-12-31 23:00 UTC), true),
            (time::macros::datetime!(2300-01-01 20:00 UTC), false),
        ] {
            let details = EventDetails {
                starts_at,
                ..details.clone()
            };
            let checked = details.validate();
            assert_eq!(checked.is_ok(), valid, "{starts_at}");
            if let Err(error) = checked {
                assert_eq!(error.field.as_deref(), Some("starts_at"));
            }
        }
    }

    #[test]
    fn rejects_bad_maps() {
        let mut dup = spec();
        dup.sections[1].id = "FLR".into();
        assert!(SeatMap::compile(&dup).is_err());
        let mut bad_id = spec();
        bad_id.sections[0].id = "F-L".into();
        assert!(SeatMap::compile(&bad_id).is_err());
        let mut empty_row = spec();
        empty_row.sections[0].rows[0].seats = 0;
        assert!(SeatMap::compile(&empty_row).is_err());
        let huge = SeatMapSpec {
            sections: vec![SectionSpec {
                id: "X".into(),
                name: "X".into(),
                price: 1,
                rows: vec![RowSpec {
                    name: "A".into(),
                    seats: u32::MAX,
                    price: None,
                }],
                position: None,
            }],
        };
        assert!(SeatMap::compile(&huge).is_err());
    }
}
