//! The organiser's view of what sold: an event's sales (seats, revenue by price, seats
//! sold per minute), its orders with search, a booking with its tickets' admissions, the
//! attendee list as CSV, and refunds by the organiser, which put the seats back on sale,
//! void the tickets, tell the buyer and give the money back.
//!
//! These read every booking of an event through the index of the event's bookings; a
//! Ticketmaster-sized event (tens of thousands of bookings) costs one range read and a
//! read per booking, which is an operator's occasional call, not a buyer's.

use std::collections::{BTreeMap, HashMap};

use onsale_model::{
    Actor, ApiError, BookingCounts, BookingStatus, Change, ErrorCode, MinuteSales, Order,
    OrderDetail, Page, PageQuery, RefundRequest, Sales, SeatStatus, TicketAdmission, TierSales,
};
use onsale_store::{RangeRead, StoreExt, Tx};
use uuid::Uuid;

use super::Bookings;
use super::checkout::{read_booking, request_refund, write_booking};
use super::tickets::{booked_seats, order_code, seat_words, ticket_short_code};
use crate::audit;
use crate::changelog::{self, Topic};
use crate::clock::{Millis, to_datetime};
use crate::error::{Error, Result};
use crate::events::read_event;
use crate::store::records::{BookingRecord, PricedSeatMap, SeatRecord, UserRecord};
use crate::store::tables::{
    BOOKINGS, CHANGES, CHECK_IN_COUNTS, CHECK_INS, EVENT_BOOKINGS, EVENT_BOOKINGS_INDEXED, SEATS,
    USERS,
};

/// The longest window of `per_minute`: a day.
pub const MAX_SALES_MINUTES: u32 = 24 * 60;

/// Bookings indexed per transaction when the index of events' bookings is first built.
const INDEX_BATCH: usize = 500;

impl Bookings {
    /// An event's sales now, with seats sold per minute over the last `minutes`.
    pub async fn sales(&self, event_id: u64, minutes: u32) -> Result<Sales> {
        if !(1..=MAX_SALES_MINUTES).contains(&minutes) {
            return Err(Error::Api(
                ApiError::invalid(format!("minutes must be 1-{MAX_SALES_MINUTES}")).at("minutes"),
            ));
        }
        let now = self.clock.now();
        let (event, seat_map, bookings, checked_in, position) = self
            .store
            .transact(|tx| async move {
                let position = CHANGES.end(&tx).await?;
                let event = read_event(&*tx, event_id).await?;
                let seat_map = self.events.seat_map(&*tx, event_id).await?;
                let bookings = event_bookings(&*tx, event_id).await?;
                let checked_in = CHECK_IN_COUNTS.get(&tx, &event_id).await?.unwrap_or(0);
                Ok::<_, Error>((event, seat_map, bookings, checked_in, position))
            })
            .await?;
        // Read after `position`, so these counts are at least as new as it.
        let availability = self.events.availability(event_id).await?;
        let mut counts = BookingCounts::default();
        let (mut revenue, mut refunded) = (0, 0);
        let mut tiers: BTreeMap<u64, TierSales> = BTreeMap::new();
        for seat in seat_map.map.seats() {
            let tier = tiers.entry(seat.price).or_insert_with(|| TierSales {
                price: seat.price,
                sections: Vec::new(),
                seats: 0,
                sold: 0,
                revenue: 0,
            });
            tier.seats += 1;
            if !tier.sections.contains(&seat.section) {
                tier.sections.push(seat.section.clone());
            }
        }
        let this_minute = now - now.rem_euclid(60_000);
        let first_minute = this_minute - i64::from(minutes - 1) * 60_000;
        let mut per_minute: Vec<MinuteSales> = (0..minutes)
            .map(|i| MinuteSales {
                minute: to_datetime(first_minute + i64::from(i) * 60_000),
                seats: 0,
                revenue: 0,
            })
            .collect();
        for booking in &bookings {
            match booking.status {
                BookingStatus::Completed => counts.completed += 1,
                BookingStatus::Pending => counts.pending += 1,
                BookingStatus::Cancelled => counts.cancelled += 1,
            }
            if booking.status == BookingStatus::Cancelled && booking.completed_at.is_some() {
                refunded += booking.total;
            }
            if booking.status != BookingStatus::Completed {
                continue;
            }
            revenue += booking.total;
            for &ordinal in &booking.ordinals {
                if let Some(seat) = seat_map.map.seat(ordinal)
                    && let Some(tier) = tiers.get_mut(&seat.price)
                {
                    tier.sold += 1;
                    tier.revenue += seat.price;
                }
            }
            let paid_at = booking.completed_at.unwrap_or(booking.created_at);
            if paid_at >= first_minute {
                let slot = ((paid_at - first_minute) / 60_000) as usize;
                if let Some(minute) = per_minute.get_mut(slot) {
                    minute.seats += booking.seats.len() as u32;
                    minute.revenue += booking.total;
                }
            }
        }
        Ok(Sales {
            event_id,
            currency: event.currency,
            total: availability.total,
            sold: availability.sold,
            held: availability.held,
            available: availability.available,
            revenue,
            refunded,
            bookings: counts,
            checked_in: checked_in.max(0) as u64,
            by_tier: tiers.into_values().collect(),
            per_minute,
            position,
        })
    }

    /// A page of an event's orders, newest first; with `search`, only those whose order
    /// code, booking id, buyer's username or email matches it.
    pub async fn orders(
        &self,
        event_id: u64,
        search: Option<&str>,
        query: PageQuery,
    ) -> Result<Page<Order>> {
        query.validate()?;
        let search = search.map(str::trim).filter(|s| !s.is_empty());
        self.store
            .transact(|tx| async move {
                read_event(&*tx, event_id).await?;
                let seat_map = self.events.seat_map(&*tx, event_id).await?;
                let mut bookings = event_bookings(&*tx, event_id).await?;
                bookings.reverse();
                let mut buyers = HashMap::new();
                let mut matching = Vec::new();
                for booking in bookings {
                    let buyer = buyer(&*tx, &mut buyers, &booking.user_id).await?;
                    if search.is_none_or(|text| matches(text, &booking, &buyer)) {
                        matching.push(order(&booking, &buyer, &seat_map));
                    }
                }
                let total = matching.len() as u64;
                let items = matching
                    .into_iter()
                    .skip(query.offset())
                    .take(query.page_size as usize)
                    .collect();
                Ok::<_, Error>(Page {
                    items,
                    page: query.page,
                    page_size: query.page_size,
                    total,
                })
            })
            .await
    }

    /// One booking as the organiser sees it, with each ticket's admission.
    pub async fn order_detail(&self, booking_id: &str) -> Result<OrderDetail> {
        self.store
            .transact(|tx| async move {
                let booking = read_booking(&*tx, booking_id)
                    .await?
                    .ok_or_else(|| no_booking(booking_id))?;
                let seat_map = self.events.seat_map(&*tx, booking.event_id).await?;
                let buyer = USERS.get(&tx, &booking.user_id).await?;
                let order = order(&booking, &buyer, &seat_map);
                let mut tickets = Vec::new();
                if booking.status == BookingStatus::Completed || booking.completed_at.is_some() {
                    for (seat_id, label) in booking.seats.iter().zip(&order.seats) {
                        let admission = CHECK_INS
                            .get(&tx, &(booking.booking_id.as_str(), seat_id.as_str()))
                            .await?;
                        tickets.push(TicketAdmission {
                            seat_id: seat_id.clone(),
                            seat_label: label.clone(),
                            short_code: ticket_short_code(
                                &self.secrets,
                                booking.event_id,
                                &booking.booking_id,
                                seat_id,
                            ),
                            checked_in_at: admission.as_ref().map(|a| to_datetime(a.at)),
                            checked_in_by: admission.map(|a| a.by),
                        });
                    }
                }
                Ok::<_, Error>(OrderDetail {
                    order,
                    payment_id: booking.payment_id.clone(),
                    tickets,
                })
            })
            .await
    }

    /// The attendees of an event as CSV: one line per seat of each paid booking.
    pub async fn attendees_csv(&self, event_id: u64) -> Result<String> {
        let rows = self
            .store
            .transact(|tx| async move {
                read_event(&*tx, event_id).await?;
                let seat_map = self.events.seat_map(&*tx, event_id).await?;
                let mut buyers = HashMap::new();
                let mut rows = Vec::new();
                for booking in event_bookings(&*tx, event_id).await? {
                    if booking.status != BookingStatus::Completed {
                        continue;
                    }
                    let buyer = buyer(&*tx, &mut buyers, &booking.user_id).await?;
                    for seat in booked_seats(&seat_map, &booking) {
                        let admission = CHECK_INS
                            .get(&tx, &(booking.booking_id.as_str(), seat.seat_id.as_str()))
                            .await?;
                        rows.push(vec![
                            order_code(&booking.booking_id),
                            booking.booking_id.clone(),
                            buyer
                                .as_ref()
                                .map(|u| u.username.clone())
                                .unwrap_or_default(),
                            buyer.as_ref().map(|u| u.email.clone()).unwrap_or_default(),
                            seat.section.clone(),
                            seat.row.clone(),
                            seat.number.to_string(),
                            seat.seat_id.clone(),
                            seat.price.to_string(),
                            booking.currency.clone(),
                            ticket_short_code(
                                &self.secrets,
                                event_id,
                                &booking.booking_id,
                                &seat.seat_id,
                            ),
                            admission.map(|a| rfc3339(a.at)).unwrap_or_default(),
                        ]);
                    }
                }
                Ok::<_, Error>(rows)
            })
            .await?;
        let mut csv = String::from(
            "order_code,booking_id,name,email,section,row,seat,seat_id,price,currency,ticket_code,checked_in_at\r\n",
        );
        for row in rows {
            let cells: Vec<String> = row.iter().map(|cell| csv_cell(cell)).collect();
            csv.push_str(&cells.join(","));
            csv.push_str("\r\n");
        }
        Ok(csv)
    }

    /// Cancels a paid booking for the organiser and refunds it: its seats go back on sale,
    /// its tickets admit nobody, its buyer is told why, and the provider is asked for the
    /// money back (through the task queue). Refunding it again changes nothing.
    pub async fn refund_by_operator(
        &self,
        booking_id: &str,
        request: RefundRequest,
        by: &Actor,
    ) -> Result<OrderDetail> {
        let reason = request.validate()?;
        let now = self.clock.now();
        let task_id = Uuid::new_v4().to_string();
        let changed = self
            .store
            .transact(|tx| {
                let (reason, task_id) = (&reason, &task_id);
                async move {
                    let mut booking = read_booking(&*tx, booking_id)
                        .await?
                        .ok_or_else(|| no_booking(booking_id))?;
                    match (booking.status, booking.refund) {
                        (BookingStatus::Completed, _) => {}
                        (BookingStatus::Cancelled, Some(_)) if booking.completed_at.is_some() => {
                            return Ok(false);
                        }
                        (BookingStatus::Pending, _) => {
                            return Err(Error::Api(ApiError::new(
                                ErrorCode::CheckoutInProgress,
                                "this booking is not paid yet: it ends with its payment or its hold",
                            )));
                        }
                        (BookingStatus::Cancelled, _) => {
                            return Err(Error::Api(ApiError::new(
                                ErrorCode::NotRefundable,
                                "this booking was never paid: there is nothing to refund",
                            )));
                        }
                    }
                    take_back_seats(&*tx, &booking).await?;
                    booking.completed_at.get_or_insert(booking.created_at);
                    booking.status = BookingStatus::Cancelled;
                    booking.cancel_reason = Some(reason.clone());
                    write_booking(&*tx, &booking)?;
                    request_refund(&*tx, &mut booking, task_id, now)?;
                    changelog::append(
                        &*tx,
                        &Change::BookingRevoked {
                            booking_id: booking.booking_id.clone(),
                            user_id: booking.user_id.clone(),
                            event_id: booking.event_id,
                            reason: reason.clone(),
                        },
                    )?;
                    audit::record(
                        &*tx,
                        now,
                        by,
                        "booking.refund",
                        format!("booking {booking_id}"),
                        Some(reason.clone()),
                    )?;
                    Ok::<_, Error>(true)
                }
            })
            .await?;
        if changed {
            metrics::counter!("onsale_operator_refunds_total").increment(1);
            for topic in [Topic::Seats, Topic::Bookings, Topic::Tasks] {
                self.changelog.committed(topic);
            }
        }
        self.order_detail(booking_id).await
    }

    /// Adds every booking to the index of its event's bookings, once per store (bookings
    /// made before the index existed); returns how many were indexed.
    pub(crate) async fn index_event_bookings(&self) -> Result<usize> {
        let done = self
            .store
            .transact(|tx| async move { EVENT_BOOKINGS_INDEXED.get(&tx).await })
            .await?;
        if done.is_some() {
            return Ok(0);
        }
        let mut indexed = 0;
        let mut after: Option<String> = None;
        loop {
            let batch = self
                .store
                .transact(|tx| {
                    let after = after.clone();
                    async move {
                        let range = match &after {
                            Some(last) => {
                                let mut begin = BOOKINGS.key(last.as_str());
                                begin.push(0);
                                RangeRead::new(begin, BOOKINGS.all().end)
                            }
                            None => BOOKINGS.all(),
                        };
                        let batch = BOOKINGS.values(&tx, range.limit(INDEX_BATCH)).await?;
                        for booking in &batch {
                            EVENT_BOOKINGS.set(
                                &tx,
                                &(booking.event_id, booking.created_at, &booking.booking_id),
                                &(),
                            )?;
                        }
                        if batch.len() < INDEX_BATCH {
                            EVENT_BOOKINGS_INDEXED.set(&tx, &"yes".to_string())?;
                        }
                        Ok::<_, Error>(batch)
                    }
                })
                .await?;
            indexed += batch.len();
            if batch.len() < INDEX_BATCH {
                break;
            }
            after = batch.last().map(|b| b.booking_id.clone());
        }
        if indexed > 0 {
            tracing::info!(indexed, "bookings added to their events' index");
        }
        Ok(indexed)
    }
}

/// Every booking of an event, oldest first.
async fn event_bookings(tx: &dyn Tx, event_id: u64) -> Result<Vec<BookingRecord>> {
    let keys = EVENT_BOOKINGS
        .range(tx, EVENT_BOOKINGS.starting_with(&event_id))
        .await?;
    let mut bookings = Vec::with_capacity(keys.len());
    for ((_, _, booking_id), ()) in keys {
        if let Some(booking) = read_booking(tx, &booking_id).await? {
            bookings.push(booking);
        }
    }
    Ok(bookings)
}

/// A booking's buyer, read once per listing.
async fn buyer(
    tx: &dyn Tx,
    known: &mut HashMap<String, Option<UserRecord>>,
    user_id: &str,
) -> Result<Option<UserRecord>> {
    if let Some(user) = known.get(user_id) {
        return Ok(user.clone());
    }
    let user = USERS.get(tx, user_id).await?;
    known.insert(user_id.to_string(), user.clone());
    Ok(user)
}

/// Frees a paid booking's seats (those still sold to it) and stops counting them for
/// its account.
async fn take_back_seats(tx: &dyn Tx, booking: &BookingRecord) -> Result<()> {
    for (seat_id, &ordinal) in booking.seats.iter().zip(&booking.ordinals) {
        let key = (booking.event_id, ordinal);
        if matches!(
            SEATS.get(tx, &key).await?,
            Some(SeatRecord::Sold { booking_id }) if booking_id == booking.booking_id
        ) {
            SEATS.clear(tx, &key);
            changelog::append(
                tx,
                &Change::Seat {
                    event_id: booking.event_id,
                    seat_id: seat_id.clone(),
                    state: SeatStatus::Available,
                },
            )?;
        }
    }
    super::limits::unbook(
        tx,
        booking.event_id,
        &booking.user_id,
        booking.seats.len() as u32,
    )
    .await
}

fn order(booking: &BookingRecord, buyer: &Option<UserRecord>, seat_map: &PricedSeatMap) -> Order {
    Order {
        booking_id: booking.booking_id.clone(),
        order_code: order_code(&booking.booking_id),
        event_id: booking.event_id,
        status: booking.status,
        refund: booking.refund,
        cancel_reason: booking.cancel_reason.clone(),
        buyer: buyer
            .as_ref()
            .map(|u| u.username.clone())
            .unwrap_or_default(),
        email: buyer.as_ref().map(|u| u.email.clone()).unwrap_or_default(),
        seats: booked_seats(seat_map, booking)
            .iter()
            .map(seat_words)
            .collect(),
        total: booking.total,
        currency: booking.currency.clone(),
        created_at: to_datetime(booking.created_at),
    }
}

/// Whether `text` finds the booking: its order code (any case, with or without the
/// dash), the start of its id, or part of its buyer's username or email.
fn matches(text: &str, booking: &BookingRecord, buyer: &Option<UserRecord>) -> bool {
    let compact = |s: &str| {
        s.chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_uppercase())
            .collect::<String>()
    };
    let lower = text.to_lowercase();
    compact(&order_code(&booking.booking_id)) == compact(text)
        || booking.booking_id.starts_with(text)
        || buyer.as_ref().is_some_and(|user| {
            user.username.to_lowercase().contains(&lower)
                || user.email.to_lowercase().contains(&lower)
        })
}

fn no_booking(booking_id: &str) -> Error {
    Error::Api(ApiError::new(
        ErrorCode::NotFound,
        format!("no booking {booking_id}"),
    ))
}

fn rfc3339(at: Millis) -> String {
    to_datetime(at)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// A CSV cell (RFC 4180): quoted when it holds a comma, a quote or a line break; a cell
/// a spreadsheet would run as a formula (`=`, `+`, `-`, `@` first) is prefixed with `'`.
fn csv_cell(cell: &str) -> String {
    let cell = if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell.to_string()
    };
    if cell.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", cell.replace('"', "\"\""))
    } else {
        cell
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_never_formulas() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("-1"), "'-1");
    }
}
