//! Notifications, driven by the change log: when a booking completes, is cancelled or is
//! refunded, its buyer gets an email (SMTP; plain text and HTML, with the event, its local
//! time, the venue, the seats by name, the order and ticket codes and a link to the
//! booking) and an in-app notification (`GET /v1/me/notifications`, live at
//! `/v1/me/notifications/live`).
//!
//! The notifier keeps its place in the log in the store. Each entry is handled in turn:
//! the email is sent first, then the notification and the new place are written in one
//! transaction. A crash in between sends that one email again (at least once); the
//! in-app notification, keyed by the entry's position, is written exactly once.

use std::sync::Arc;
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use onsale_model::display::{escape, local_start, price};
use onsale_model::{Booking, Change, LogEntry, Notification};
use uuid::Uuid;

use crate::accounts::Accounts;
use crate::booking::Bookings;
use crate::booking::tickets::seat_words;
use crate::changelog::{ChangeLog, Topic};
use crate::clock::{Clock, to_datetime};
use crate::error::{Error, Result};
use crate::store::tables::{NOTIFICATIONS, NOTIFIER_POSITION};
use crate::worker::Worker;
use onsale_model::LogPosition;
use onsale_store::{Store, StoreExt};

/// The notifications service; cheap to clone. It follows the change log from its own
/// place, kept in the store, and asks the accounts service where emails go.
#[derive(Clone)]
pub struct Notifications {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    changelog: Arc<ChangeLog>,
    accounts: Accounts,
    /// Where the booking a notice is about is read from.
    bookings: Bookings,
}

/// Where emails go out.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// The site's address (the edge's), that emails link bookings on.
    site_url: Option<String>,
}

impl Mailer {
    /// A mailer for an SMTP URL (`smtp://host:port` in the clear, `smtps://user:pass@host`
    /// or `smtp://host?tls=required` with TLS), sending from `from`.
    pub fn new(url: &str, from: &str) -> Result<Self> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| Error::internal_from(format!("the SMTP URL {url:?}"), e))?
            .timeout(Some(Duration::from_secs(10)))
            .build();
        let from = from
            .parse()
            .map_err(|e| Error::internal_from(format!("the sender address {from:?}"), e))?;
        Ok(Mailer {
            transport,
            from,
            site_url: None,
        })
    }

    /// Links bookings at `site_url` (`https://tickets.example.com`), the site buyers use.
    pub fn with_site_url(mut self, site_url: &str) -> Self {
        self.site_url = Some(site_url.trim_end_matches('/').to_string());
        self
    }

    async fn send(&self, to: &str, notice: &Notice) -> Result<()> {
        let to: Mailbox = to
            .parse()
            .map_err(|e| Error::internal_from("a recipient address", e))?;
        let link = format!(
            "{}/bookings/{}",
            self.site_url.as_deref().unwrap_or_default(),
            notice.booking_id
        );
        let (text, html) = email_bodies(notice, &link);
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(notice.subject.clone())
            .multipart(MultiPart::alternative_plain_html(text, html))
            .map_err(|e| Error::internal_from("building an email", e))?;
        self.transport
            .send(message)
            .await
            .map_err(|e| Error::internal_from("sending an email", e))?;
        Ok(())
    }
}

/// What one log entry means for its buyer, if anything.
struct Notice {
    user_id: String,
    booking_id: String,
    kind: &'static str,
    subject: String,
    message: String,
    /// The booking as its buyer reads it, when it could be read.
    booking: Option<Booking>,
}

impl Notice {
    /// Tells of the event by name and the order by its code, once the booking is known.
    fn about(mut self, booking: Booking, reason: Option<&str>) -> Notice {
        let name = &booking.event.name;
        let when = local_start(
            booking.event.starts_at,
            &booking.event.time_zone_abbreviation,
        );
        let code = &booking.order_code;
        let total = price(booking.total, &booking.currency);
        (self.subject, self.message) = match self.kind {
            "booking_completed" => (
                format!("Your tickets for {name}"),
                format!(
                    "Paid and confirmed: {} for {name}, {when}. Order {code}.",
                    seats_count(booking.items.len())
                ),
            ),
            "booking_cancelled" => (
                format!("Your booking for {name} did not go through"),
                format!(
                    "Your order {code} for {name} was cancelled: {}.",
                    reason.unwrap_or("it ended")
                ),
            ),
            "booking_revoked" => (
                format!("{name}: the organiser cancelled your booking"),
                format!(
                    "The organiser cancelled your order {code} for {name}, {when}: {}. Your \
                     tickets no longer admit anyone; {total} is being refunded in full.",
                    reason.unwrap_or("no reason given")
                ),
            ),
            _ => (
                format!("Your payment for {name} was refunded"),
                format!("The payment for order {code} ({name}), {total}, was refunded in full."),
            ),
        };
        self.booking = Some(booking);
        self
    }
}

fn seats_count(count: usize) -> String {
    if count == 1 {
        "1 seat".into()
    } else {
        format!("{count} seats")
    }
}

/// The plain-text and HTML bodies of a notice's email, linking the booking at `link`.
fn email_bodies(notice: &Notice, link: &str) -> (String, String) {
    let mut text = format!("{}\n", notice.message);
    let mut html = format!(
        "<!doctype html><html><body style=\"font-family:sans-serif;color:#1d1d1f\">\
         <p>{}</p>",
        escape(&notice.message)
    );
    if let Some(booking) = &notice.booking {
        let event = &booking.event;
        let when = local_start(event.starts_at, &event.time_zone_abbreviation);
        let codes: std::collections::HashMap<&str, &str> = booking
            .tickets
            .iter()
            .map(|t| (t.seat_id.as_str(), t.short_code.as_str()))
            .collect();
        let seats: Vec<String> = booking
            .items
            .iter()
            .map(|item| {
                let mut line = format!(
                    "{} · {}",
                    seat_words(item),
                    price(item.price, &booking.currency)
                );
                if let Some(code) = codes.get(item.seat_id.as_str()) {
                    line.push_str(&format!(" · ticket {code}"));
                }
                line
            })
            .collect();
        let total = price(booking.total, &booking.currency);
        text.push_str(&format!(
            "\n{}\n{when}\n{}, {}\n\n{}\n\nOrder {} · total {total}\n",
            event.name,
            event.venue,
            event.city,
            seats.join("\n"),
            booking.order_code,
        ));
        html.push_str(&format!(
            "<h2 style=\"margin:16px 0 4px\">{}</h2><p style=\"margin:0\"><strong>{}</strong><br>{}, {}</p>\
             <ul>{}</ul><p>Order <strong>{}</strong> · total {}</p>",
            escape(&event.name),
            escape(&when),
            escape(&event.venue),
            escape(&event.city),
            seats
                .iter()
                .map(|s| format!("<li>{}</li>", escape(s)))
                .collect::<String>(),
            escape(&booking.order_code),
            escape(&total),
        ));
    }
    text.push_str(&format!("\nYour booking and tickets: {link}\n"));
    html.push_str(&format!(
        "<p><a href=\"{0}\">Your booking and tickets</a></p></body></html>",
        escape(link)
    ));
    (text, html)
}

fn notice_for(change: &Change) -> Option<Notice> {
    match change {
        Change::BookingCompleted {
            booking_id,
            user_id,
            event_id,
        } => Some(Notice {
            user_id: user_id.clone(),
            booking_id: booking_id.clone(),
            kind: "booking_completed",
            subject: "Your tickets are confirmed".into(),
            message: format!(
                "Your booking {booking_id} for event {event_id} is paid and confirmed."
            ),
            booking: None,
        }),
        Change::BookingCancelled {
            booking_id,
            user_id,
            reason,
        } => Some(Notice {
            user_id: user_id.clone(),
            booking_id: booking_id.clone(),
            kind: "booking_cancelled",
            subject: "Your booking did not go through".into(),
            message: format!("Your booking {booking_id} was cancelled: {reason}."),
            booking: None,
        }),
        Change::BookingRevoked {
            booking_id,
            user_id,
            reason,
            ..
        } => Some(Notice {
            user_id: user_id.clone(),
            booking_id: booking_id.clone(),
            kind: "booking_revoked",
            subject: "The organiser cancelled your booking".into(),
            message: format!(
                "The organiser cancelled your booking {booking_id}: {reason}. Your tickets no \
                 longer admit anyone, and your payment is being refunded in full."
            ),
            booking: None,
        }),
        Change::BookingRefunded {
            booking_id,
            user_id,
        } => Some(Notice {
            user_id: user_id.clone(),
            booking_id: booking_id.clone(),
            kind: "booking_refunded",
            subject: "Your payment was refunded".into(),
            message: format!("The payment for booking {booking_id} has been refunded in full."),
            booking: None,
        }),
        _ => None,
    }
}

impl Notifications {
    /// The notifications of `store`.
    pub(crate) fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        changelog: Arc<ChangeLog>,
        accounts: Accounts,
        bookings: Bookings,
    ) -> Self {
        Notifications {
            store,
            clock,
            changelog,
            accounts,
            bookings,
        }
    }

    /// Handles change-log entries the notifier has not seen yet (at most `limit`);
    /// returns how many it handled. Stops at the first entry whose email fails.
    pub async fn notify_pending(&self, mailer: Option<&Mailer>, limit: usize) -> Result<usize> {
        let place = self
            .store
            .transact(|tx| async move { NOTIFIER_POSITION.get(&tx).await })
            .await?
            .and_then(|text| text.parse::<LogPosition>().ok());
        let entries = self.changelog.read_after(place, limit).await?;
        let mut handled = 0;
        // Entries that tell nobody anything (seat changes, most of the log) only move the
        // position, once for a run of them, not in a transaction each.
        let mut quiet_until = None;
        for entry in entries {
            handled += 1;
            let Some(notice) = notice_for(&entry.change) else {
                quiet_until = Some(entry.position);
                continue;
            };
            self.notify_one(mailer, &entry, notice).await?;
            quiet_until = None;
        }
        if let Some(position) = quiet_until {
            let position = position.to_string();
            self.store
                .transact(|tx| {
                    let position = &position;
                    async move { Ok::<_, Error>(NOTIFIER_POSITION.set(&tx, position)?) }
                })
                .await?;
        }
        Ok(handled)
    }

    /// Sends `notice` of `entry` (by email where there is a mailer), keeps it in the
    /// buyer's notifications and moves the position past the entry, in one transaction.
    async fn notify_one(
        &self,
        mailer: Option<&Mailer>,
        entry: &LogEntry,
        notice: Notice,
    ) -> Result<()> {
        let notice = self.describe(notice, &entry.change).await;
        if let Some(mailer) = mailer
            && let Some(email) = self.accounts.user_email(&notice.user_id).await?
        {
            mailer.send(&email, &notice).await?;
            metrics::counter!("onsale_emails_sent_total", "kind" => notice.kind).increment(1);
        }
        let now = self.clock.now();
        let position = entry.position.to_string();
        self.store
            .transact(|tx| {
                let (notice, position) = (&notice, &position);
                async move {
                    let record = Notification {
                        id: position.clone(),
                        kind: notice.kind.to_string(),
                        message: notice.message.clone(),
                        booking_id: notice.booking_id.clone(),
                        created_at: to_datetime(now),
                    };
                    let key = (&notice.user_id, now, position);
                    NOTIFICATIONS.set(&tx, &key, &record)?;
                    NOTIFIER_POSITION.set(&tx, position)?;
                    Ok::<_, Error>(())
                }
            })
            .await
    }

    /// `notice` told with its booking's event, seats and codes; as it is when the booking
    /// cannot be read (its event gone, a store error: the notice still goes out).
    async fn describe(&self, notice: Notice, change: &Change) -> Notice {
        let Ok(user) = Uuid::parse_str(&notice.user_id) else {
            return notice;
        };
        match self.bookings.booking(user, &notice.booking_id).await {
            Ok(booking) => {
                let reason = match change {
                    Change::BookingCancelled { reason, .. }
                    | Change::BookingRevoked { reason, .. } => Some(reason.as_str()),
                    _ => None,
                };
                notice.about(booking, reason)
            }
            Err(err) => {
                tracing::warn!(booking_id = %notice.booking_id, error = %err, "a notice without its booking's details");
                notice
            }
        }
    }

    /// A user's notifications, newest first (at most `limit`).
    pub async fn list(&self, user_id: &str, limit: usize) -> Result<Vec<Notification>> {
        let newest = NOTIFICATIONS
            .starting_with::<String, _>(user_id)
            .reverse()
            .limit(limit);
        let notifications = self
            .store
            .transact(|tx| {
                let newest = newest.clone();
                async move { NOTIFICATIONS.values(&tx, newest).await }
            })
            .await?;
        Ok(notifications)
    }
}

/// Runs the notifier when a booking changes here, and otherwise every `interval` (for
/// changes committed elsewhere and emails to retry); `mailer` `None` keeps in-app
/// notifications only.
pub fn spawn(notifications: Notifications, mailer: Option<Mailer>, interval: Duration) -> Worker {
    Worker::spawn("notifier", move |stop| async move {
        let mut commits = notifications.changelog.follow(Topic::Bookings);
        while !stop.is_cancelled() {
            match notifications.notify_pending(mailer.as_ref(), 100).await {
                Ok(100) => continue,
                Ok(_) => {}
                Err(err) => tracing::warn!(error = %err, "notifications: will retry"),
            }
            stop.run_until_cancelled(commits.wait(interval)).await;
        }
    })
}
