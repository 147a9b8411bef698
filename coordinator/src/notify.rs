//! Notifications, driven by the change log: when a booking completes, is cancelled or is
//! refunded, its buyer gets an email (SMTP) and an in-app notification
//! (`GET /v1/me/notifications`, live at `/v1/me/notifications/live`).
//!
//! The notifier keeps its place in the log in the store. Each entry is handled in turn:
//! the email is sent first, then the notification and the new place are written in one
//! transaction. A crash in between sends that one email again (at least once); the
//! in-app notification, keyed by the entry's position, is written exactly once.

use std::sync::Arc;
use std::time::Duration;

use lettre::message::{Mailbox, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use onsale_model::{Change, LogEntry, Notification};

use crate::accounts::Accounts;
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
}

/// Where emails go out.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
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
        Ok(Mailer { transport, from })
    }

    async fn send(&self, to: &str, subject: &str, body: String) -> Result<()> {
        let to: Mailbox = to
            .parse()
            .map_err(|e| Error::internal_from("a recipient address", e))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body)
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
                "Your booking {booking_id} for event {event_id} is paid and confirmed. \
                 Your tickets are at /v1/bookings/{booking_id}."
            ),
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
    ) -> Self {
        Notifications {
            store,
            clock,
            changelog,
            accounts,
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
        for entry in entries {
            self.notify_one(mailer, &entry).await?;
            handled += 1;
        }
        Ok(handled)
    }

    async fn notify_one(&self, mailer: Option<&Mailer>, entry: &LogEntry) -> Result<()> {
        let notice = notice_for(&entry.change);
        if let (Some(notice), Some(mailer)) = (&notice, mailer)
            && let Some(email) = self.accounts.user_email(&notice.user_id).await?
        {
            mailer
                .send(&email, &notice.subject, notice.message.clone())
                .await?;
            metrics::counter!("onsale_emails_sent_total", "kind" => notice.kind).increment(1);
        }
        let now = self.clock.now();
        let position = entry.position.to_string();
        self.store
            .transact(|tx| {
                let (notice, position) = (&notice, &position);
                async move {
                    if let Some(notice) = notice {
                        let record = Notification {
                            id: position.clone(),
                            kind: notice.kind.to_string(),
                            message: notice.message.clone(),
                            booking_id: notice.booking_id.clone(),
                            created_at: to_datetime(now),
                        };
                        let key = (&notice.user_id, now, position);
                        NOTIFICATIONS.set(&tx, &key, &record)?;
                    }
                    NOTIFIER_POSITION.set(&tx, position)?;
                    Ok::<_, Error>(())
                }
            })
            .await
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
