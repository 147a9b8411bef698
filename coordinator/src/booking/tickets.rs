//! What a buyer gets back: a booking as a person reads it (the event's name, place and
//! local start, "Section Floor, Row A, Seat 1", a short order code), the account's
//! bookings page by page, a signed ticket per seat with a short code for the door, and a
//! calendar entry (iCalendar, RFC 5545) per booking.

use onsale_model::{
    ApiError, BookedEvent, BookedSeat, Booking, BookingStatus, ErrorCode, Event, Hold, Page,
    PageQuery, Ticket,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::Bookings;
use super::checkout::read_booking;
use super::holds::{hold_view, read_hold};
use crate::clock::to_datetime;
use crate::error::{Error, Result};
use crate::events::read_event;
use crate::store::records::{BookingRecord, HoldRecord, PricedSeatMap};
use crate::store::tables::{ACCOUNT_BOOKINGS, ACCOUNT_SEATS};
use onsale_store::{StoreExt, Tx};

impl Bookings {
    /// A booking of `user_id`, with a signed ticket per seat once completed; someone
    /// else's booking is not found.
    pub async fn booking(&self, user_id: Uuid, booking_id: &str) -> Result<Booking> {
        let user_id = user_id.to_string();
        let (record, view) = self
            .store
            .transact(|tx| {
                let user_id = &user_id;
                async move {
                    let Some(record) = read_booking(&*tx, booking_id)
                        .await?
                        .filter(|b| b.user_id == *user_id)
                    else {
                        return Err(Error::Api(ApiError::new(
                            ErrorCode::NotFound,
                            format!("no booking {booking_id} of yours"),
                        )));
                    };
                    let view = self.view(&*tx, &record).await?;
                    Ok((record, view))
                }
            })
            .await?;
        let tickets = if record.status == BookingStatus::Completed {
            record
                .seats
                .iter()
                .map(|seat| self.ticket(&record, seat))
                .collect::<Result<Vec<_>>>()?
        } else {
            Vec::new()
        };
        Ok(Booking { tickets, ..view })
    }

    /// The bookings of `user_id`, newest first, without their tickets.
    pub async fn bookings_of(&self, user_id: Uuid, query: PageQuery) -> Result<Page<Booking>> {
        query.validate()?;
        let user_id = user_id.to_string();
        self.store
            .transact(|tx| {
                let user_id = &user_id;
                async move {
                    let mine = ACCOUNT_BOOKINGS.starting_with::<String, _>(user_id.as_str());
                    let keys = ACCOUNT_BOOKINGS.range(&tx, mine.reverse()).await?;
                    let mut items = Vec::with_capacity(query.page_size as usize);
                    for ((_, _, booking_id), ()) in keys
                        .iter()
                        .skip(query.offset())
                        .take(query.page_size as usize)
                    {
                        let record = read_booking(&*tx, booking_id)
                            .await?
                            .ok_or_else(|| Error::internal("an indexed booking vanished"))?;
                        items.push(self.view(&*tx, &record).await?);
                    }
                    Ok::<_, Error>(Page {
                        items,
                        page: query.page,
                        page_size: query.page_size,
                        total: keys.len() as u64,
                    })
                }
            })
            .await
    }

    /// The live holds of `user_id` for an event (those being paid for name their
    /// booking), so that any tab or device shows them.
    pub async fn holds_of(&self, user_id: Uuid, event_id: u64) -> Result<Vec<Hold>> {
        let user_id = user_id.to_string();
        let now = self.clock.now();
        self.store
            .transact(|tx| {
                let user_id = &user_id;
                async move {
                    read_event(&*tx, event_id).await?;
                    let Some(seats) = ACCOUNT_SEATS.get(&tx, &(event_id, user_id)).await? else {
                        return Ok(Vec::new());
                    };
                    let mut holds = Vec::new();
                    for hold_id in seats.live_holds(now) {
                        if let Some(hold) = read_hold(&*tx, hold_id).await? {
                            holds.push(hold_view(&hold));
                        }
                    }
                    Ok::<_, Error>(holds)
                }
            })
            .await
    }

    /// A booking of `user_id` as an iCalendar file with one event.
    pub async fn calendar(&self, user_id: Uuid, booking_id: &str) -> Result<String> {
        let booking = self.booking(user_id, booking_id).await?;
        Ok(calendar(&booking, to_datetime(self.clock.now())))
    }

    /// `record` as its owner reads it, without tickets.
    async fn view(&self, tx: &dyn Tx, record: &BookingRecord) -> Result<Booking> {
        let event = read_event(tx, record.event_id).await?;
        let seat_map = self.events.seat_map(tx, record.event_id).await?;
        let pending = record.status == BookingStatus::Pending;
        let hold = read_hold(tx, &record.hold_id).await?;
        let payable = |hold: &HoldRecord| match record.status {
            BookingStatus::Pending => true,
            BookingStatus::Cancelled => {
                hold.booking_id.is_none() && hold.expires_at > self.clock.now()
            }
            BookingStatus::Completed => false,
        };
        let pay_by = hold
            .filter(payable)
            .map(|hold| to_datetime(hold.expires_at));
        Ok(Booking {
            booking_id: record.booking_id.clone(),
            order_code: order_code(&record.booking_id),
            hold_id: record.hold_id.clone(),
            status: record.status,
            event_id: record.event_id,
            event: booked_event(event),
            seats: record.seats.clone(),
            items: booked_seats(&seat_map, record),
            total: record.total,
            currency: record.currency.clone(),
            created_at: to_datetime(record.created_at),
            cancel_reason: record.cancel_reason.clone(),
            refund: record.refund,
            pay_by,
            payment_url: record.payment_url.clone().filter(|_| pending),
            tickets: Vec::new(),
        })
    }

    fn ticket(&self, booking: &BookingRecord, seat_id: &str) -> Result<Ticket> {
        let code = self
            .secrets
            .sign_ticket(booking.event_id, &booking.booking_id, seat_id);
        let qr = qrcode::QrCode::new(code.as_bytes())
            .map_err(|e| Error::internal_from("drawing a QR code", e))?;
        let qr_svg = qr
            .render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(200, 200)
            .build();
        Ok(Ticket {
            seat_id: seat_id.to_string(),
            short_code: short_code(&code),
            code,
            qr_svg,
        })
    }
}

fn booked_event(event: Event) -> BookedEvent {
    BookedEvent {
        name: event.name,
        venue: event.venue,
        city: event.city,
        starts_at: event.starts_at,
        time_zone: event.time_zone,
        time_zone_abbreviation: event.time_zone_abbreviation,
    }
}

pub(super) fn booked_seats(seat_map: &PricedSeatMap, record: &BookingRecord) -> Vec<BookedSeat> {
    record
        .seats
        .iter()
        .zip(&record.ordinals)
        .map(|(seat_id, &ordinal)| match seat_map.map.seat(ordinal) {
            Some(seat) => BookedSeat {
                seat_id: seat_id.clone(),
                section: seat.section.clone(),
                row: seat.row.clone(),
                number: seat.number,
                price: seat.price,
            },
            None => BookedSeat {
                seat_id: seat_id.clone(),
                section: String::new(),
                row: String::new(),
                number: 0,
                price: 0,
            },
        })
        .collect()
}

/// Crockford's base32 alphabet: no I, L, O or U, so that a code read aloud or typed
/// from paper has no look-alikes.
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// The first `groups * group` characters of `digest` in Crockford's base32, in groups
/// joined by `-`.
fn grouped_code(digest: &[u8], groups: usize, group: usize) -> String {
    let mut bits = 0u32;
    let mut held = 0u32;
    let mut chars = Vec::with_capacity(groups * group);
    for &byte in digest {
        bits = (bits << 8) | u32::from(byte);
        held += 8;
        while held >= 5 && chars.len() < groups * group {
            held -= 5;
            chars.push(CROCKFORD[((bits >> held) & 31) as usize] as char);
        }
        bits &= (1 << held) - 1;
        if chars.len() == groups * group {
            break;
        }
    }
    chars
        .chunks(group)
        .map(|chunk| chunk.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// A booking's short order code, e.g. `7KQ2-M9XD` (40 bits of a digest of its id).
pub(crate) fn order_code(booking_id: &str) -> String {
    grouped_code(&Sha256::digest(format!("onsale-order:{booking_id}")), 2, 4)
}

/// The short code of the ticket for `seat_id` of a booking, signed with `secrets`.
pub(crate) fn ticket_short_code(
    secrets: &crate::auth::Secrets,
    event_id: u64,
    booking_id: &str,
    seat_id: &str,
) -> String {
    short_code(&secrets.sign_ticket(event_id, booking_id, seat_id))
}

/// A ticket's short code, e.g. `K7Q2M-9XDA4` (50 bits of a digest of its signed code).
fn short_code(code: &str) -> String {
    grouped_code(&Sha256::digest(code.as_bytes()), 2, 5)
}

/// Escapes text for an iCalendar property value (RFC 5545, 3.3.11).
fn ics_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Folds a content line at 75 octets (RFC 5545, 3.1), never inside a character.
fn ics_line(out: &mut String, line: &str) {
    let mut width = 0;
    for c in line.chars() {
        if width + c.len_utf8() > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += c.len_utf8();
    }
    out.push_str("\r\n");
}

fn ics_time(at: time::OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

/// "Section Floor, Row A, Seat 1".
pub(crate) fn seat_words(seat: &BookedSeat) -> String {
    if seat.section.is_empty() {
        return format!("Seat {}", seat.seat_id);
    }
    format!(
        "Section {}, Row {}, Seat {}",
        seat.section, seat.row, seat.number
    )
}

/// A booking as an iCalendar file with one event, stamped `now`.
pub(crate) fn calendar(booking: &Booking, now: time::OffsetDateTime) -> String {
    let status = match booking.status {
        BookingStatus::Completed => "CONFIRMED",
        BookingStatus::Pending => "TENTATIVE",
        BookingStatus::Cancelled => "CANCELLED",
    };
    let seats = booking
        .items
        .iter()
        .map(seat_words)
        .collect::<Vec<_>>()
        .join("\n");
    let description = format!("Order {}\n{seats}", booking.order_code);
    let mut out = String::new();
    for line in [
        "BEGIN:VCALENDAR".to_string(),
        "VERSION:2.0".to_string(),
        "PRODID:-//onsale//tickets//EN".to_string(),
        "CALSCALE:GREGORIAN".to_string(),
        "METHOD:PUBLISH".to_string(),
        "BEGIN:VEVENT".to_string(),
        format!("UID:{}@onsale", booking.booking_id),
        format!("DTSTAMP:{}", ics_time(now)),
        format!("DTSTART:{}", ics_time(booking.event.starts_at)),
        format!("SUMMARY:{}", ics_text(&booking.event.name)),
        format!(
            "LOCATION:{}",
            ics_text(&format!("{}, {}", booking.event.venue, booking.event.city))
        ),
        format!("DESCRIPTION:{}", ics_text(&description)),
        format!("STATUS:{status}"),
        "END:VEVENT".to_string(),
        "END:VCALENDAR".to_string(),
    ] {
        ics_line(&mut out, &line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use onsale_model::BookingStatus;
    use time::macros::datetime;

    fn booking() -> Booking {
        Booking {
            booking_id: "b-1".into(),
            order_code: order_code("b-1"),
            hold_id: "h-1".into(),
            status: BookingStatus::Completed,
            event_id: 1,
            event: BookedEvent {
                name: "Aurora; Nights, Live".into(),
                venue: "Tempodrom".into(),
                city: "Berlin".into(),
                starts_at: datetime!(2027-05-01 19:30 +02:00),
                time_zone: "Europe/Berlin".into(),
                time_zone_abbreviation: "CEST".into(),
            },
            seats: vec!["FLR-A-1".into()],
            items: vec![BookedSeat {
                seat_id: "FLR-A-1".into(),
                section: "Floor".into(),
                row: "A".into(),
                number: 1,
                price: 4500,
            }],
            total: 4500,
            currency: "EUR".into(),
            created_at: datetime!(2027-04-01 10:00 UTC),
            cancel_reason: None,
            refund: None,
            pay_by: None,
            payment_url: None,
            tickets: Vec::new(),
        }
    }

    #[test]
    fn codes_are_short_readable_and_stable() {
        let code = order_code("0b7c1f9e-2d7a-4c47-9a39-1f1f5d3c2a10");
        assert_eq!(code.len(), 9);
        assert_eq!(code.as_bytes()[4], b'-');
        assert!(
            code.chars()
                .all(|c| c == '-' || CROCKFORD.contains(&(c as u8)))
        );
        assert_eq!(code, order_code("0b7c1f9e-2d7a-4c47-9a39-1f1f5d3c2a10"));
        assert_ne!(code, order_code("0b7c1f9e-2d7a-4c47-9a39-1f1f5d3c2a11"));
        let ticket = short_code("payload.signature");
        assert_eq!((ticket.len(), ticket.as_bytes()[5]), (11, b'-'));
        assert_eq!(
            grouped_code(&[0xff, 0xff, 0xff, 0xff, 0xff], 2, 4),
            "ZZZZ-ZZZZ"
        );
        assert_eq!(grouped_code(&[0, 0, 0, 0, 0x21], 2, 4), "0000-0011");
    }

    #[test]
    fn the_calendar_entry_is_valid_icalendar() {
        let ics = calendar(&booking(), datetime!(2027-04-02 08:00 UTC));
        assert!(ics.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"));
        assert!(ics.ends_with("END:VEVENT\r\nEND:VCALENDAR\r\n"));
        assert!(ics.contains("\r\nDTSTART:20270501T173000Z\r\n"), "{ics}");
        assert!(ics.contains("\r\nDTSTAMP:20270402T080000Z\r\n"));
        assert!(ics.contains("\r\nSUMMARY:Aurora\\; Nights\\, Live\r\n"));
        assert!(ics.contains("\r\nLOCATION:Tempodrom\\, Berlin\r\n"));
        assert!(ics.contains("Section Floor\\, Row A\\, Seat 1"));
        assert!(ics.contains("\r\nSTATUS:CONFIRMED\r\n"));
        for line in ics.split("\r\n") {
            assert!(line.len() <= 75, "{line:?} is longer than 75 octets");
        }
    }

    #[test]
    fn long_lines_fold_without_splitting_characters() {
        let mut out = String::new();
        ics_line(&mut out, &format!("SUMMARY:{}", "é".repeat(60)));
        let lines: Vec<&str> = out.trim_end().split("\r\n").collect();
        assert!(lines.len() > 1);
        assert!(lines.iter().all(|l| l.len() <= 75));
        assert!(lines[1..].iter().all(|l| l.starts_with(' ')));
        let unfolded: String = out.trim_end().replace("\r\n ", "");
        assert_eq!(unfolded, format!("SUMMARY:{}", "é".repeat(60)));
    }
}
