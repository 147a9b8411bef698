//! Door check-in: a ticket's signed code (its QR code) or its short code is admitted
//! once, in a serializable transaction, so that the same ticket shown at two doors at
//! once gets in at one of them; the other is told when and by whom it was admitted.
//! Refunded and cancelled bookings' tickets admit nobody; a forged code is refused.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use onsale_model::{
    Actor, ApiError, BookingStatus, Change, CheckIn, CheckInCount, CheckInRequest, ErrorCode,
};
use onsale_store::{StoreExt, Tx};

use super::Bookings;
use super::checkout::read_booking;
use super::tickets::{booked_seats, order_code, seat_words};
use crate::audit;
use crate::changelog;
use crate::clock::to_datetime;
use crate::error::{Error, Result};
use crate::events::read_event;
use crate::store::records::{BookingRecord, CheckInRecord};
use crate::store::tables::{CHECK_IN_COUNTS, CHECK_INS, TICKET_CODES, USERS};

/// What a shown code names: a booking's seat (and the event, when the code is signed).
enum Shown {
    /// A signed code: its event, booking and seat, checked against the ticket key.
    Signed {
        event_id: u64,
        booking_id: String,
        seat_id: String,
    },
    /// A short code, normalized, to be looked up.
    Short(String),
}

impl Bookings {
    /// Admits the ticket `request.code` once; `409 already_checked_in` after that, with
    /// the first admission. The audit trail names `by`.
    pub async fn check_in(&self, request: CheckInRequest, by: &Actor) -> Result<CheckIn> {
        let shown = self.read_code(&request.code)?;
        let now = self.clock.now();
        let outcome = self
            .store
            .transact(|tx| {
                let shown = &shown;
                async move {
                    let (booking_id, seat_id) = match shown {
                        Shown::Signed {
                            booking_id,
                            seat_id,
                            ..
                        } => (booking_id.clone(), seat_id.clone()),
                        Shown::Short(code) => TICKET_CODES
                            .get(&tx, code)
                            .await?
                            .ok_or_else(|| Error::code(ErrorCode::TicketInvalid))?,
                    };
                    let booking = read_booking(&*tx, &booking_id)
                        .await?
                        .filter(|b| b.seats.contains(&seat_id))
                        .filter(|b| match shown {
                            Shown::Signed { event_id, .. } => b.event_id == *event_id,
                            Shown::Short(_) => true,
                        })
                        .ok_or_else(|| Error::code(ErrorCode::TicketInvalid))?;
                    if booking.status != BookingStatus::Completed || booking.refund.is_some() {
                        return Err(Error::code(ErrorCode::TicketVoid));
                    }
                    if let Some(door) = request.event_id.filter(|&id| id != booking.event_id) {
                        return Err(Error::Api(ApiError::new(
                            ErrorCode::TicketWrongEvent,
                            format!(
                                "this ticket is for event {}, not event {door}",
                                booking.event_id
                            ),
                        )));
                    }
                    let key = (booking_id.clone(), seat_id.clone());
                    if let Some(earlier) = CHECK_INS.get(&tx, &key).await? {
                        let view = self
                            .admission_view(&*tx, &booking, &seat_id, &earlier)
                            .await?;
                        return Ok(Err(view));
                    }
                    let record = CheckInRecord {
                        event_id: booking.event_id,
                        at: now,
                        by: by.clone(),
                    };
                    CHECK_INS.set(&tx, &key, &record)?;
                    CHECK_IN_COUNTS.add(&tx, &booking.event_id, 1).await?;
                    changelog::append(
                        &*tx,
                        &Change::CheckedIn {
                            event_id: booking.event_id,
                            booking_id: booking_id.clone(),
                            seat_id: seat_id.clone(),
                        },
                    )?;
                    audit::record(
                        &*tx,
                        now,
                        by,
                        "checkin",
                        format!("booking {booking_id}"),
                        Some(format!("seat {seat_id}")),
                    )?;
                    Ok::<_, Error>(Ok(self
                        .admission_view(&*tx, &booking, &seat_id, &record)
                        .await?))
                }
            })
            .await?;
        match outcome {
            Ok(admitted) => {
                metrics::counter!("onsale_checkins_total", "outcome" => "admitted").increment(1);
                Ok(admitted)
            }
            Err(earlier) => {
                metrics::counter!("onsale_checkins_total", "outcome" => "again").increment(1);
                Err(Error::Api(ApiError::already_checked_in(earlier)))
            }
        }
    }

    /// How many of an event's tickets were admitted, and how many were sold.
    pub async fn check_in_count(&self, event_id: u64) -> Result<CheckInCount> {
        let sold = self.events.availability(event_id).await?.sold;
        let checked_in = self
            .store
            .transact(|tx| async move { CHECK_IN_COUNTS.get(&tx, &event_id).await })
            .await?
            .unwrap_or(0);
        Ok(CheckInCount {
            event_id,
            checked_in: checked_in.max(0) as u64,
            sold: u64::from(sold),
        })
    }

    /// A shown code as what it names; a signed code must verify with the ticket key.
    fn read_code(&self, code: &str) -> Result<Shown> {
        let code = code.trim();
        let invalid = || Error::code(ErrorCode::TicketInvalid);
        let Some((payload, signature)) = code.split_once('.') else {
            let short: String = code
                .chars()
                .filter(|c| c.is_ascii_alphanumeric())
                .map(|c| c.to_ascii_uppercase())
                .collect();
            if short.len() != 10 {
                return Err(invalid());
            }
            return Ok(Shown::Short(format!("{}-{}", &short[..5], &short[5..])));
        };
        let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| invalid())?;
        let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| invalid())?;
        if !self.secrets.verify_ticket(&payload, &signature) {
            return Err(invalid());
        }
        let payload = String::from_utf8(payload).map_err(|_| invalid())?;
        let mut parts = payload.splitn(5, ':');
        let (Some("onsale-ticket"), Some("v1"), Some(event), Some(booking), Some(seat)) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(invalid());
        };
        Ok(Shown::Signed {
            event_id: event.parse().map_err(|_| invalid())?,
            booking_id: booking.to_string(),
            seat_id: seat.to_string(),
        })
    }

    /// A ticket's admission as the door sees it.
    async fn admission_view(
        &self,
        tx: &dyn Tx,
        booking: &BookingRecord,
        seat_id: &str,
        admission: &CheckInRecord,
    ) -> Result<CheckIn> {
        let event = read_event(tx, booking.event_id).await?;
        let seat_map = self.events.seat_map(tx, booking.event_id).await?;
        let seat_label = booked_seats(&seat_map, booking)
            .iter()
            .find(|seat| seat.seat_id == seat_id)
            .map(seat_words)
            .unwrap_or_else(|| format!("Seat {seat_id}"));
        let holder = USERS
            .get(tx, &booking.user_id)
            .await?
            .map(|user| user.username)
            .unwrap_or_default();
        Ok(CheckIn {
            event_id: booking.event_id,
            event_name: event.name,
            booking_id: booking.booking_id.clone(),
            order_code: order_code(&booking.booking_id),
            seat_id: seat_id.to_string(),
            seat_label,
            holder,
            checked_in_at: to_datetime(admission.at),
            checked_in_by: admission.by.clone(),
        })
    }
}
