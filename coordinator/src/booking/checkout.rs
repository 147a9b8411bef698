//! Checkout and payment outcomes: a hold becomes a pending booking, the provider's signed
//! webhook is recorded once and queued, and a task worker settles the booking in one
//! transaction: seats sold, or booking cancelled (seats released, any charge refunded).
//!
//! Every step is idempotent: checkout by its `Idempotency-Key` (and one booking per hold),
//! webhooks by the provider's event id, outcomes by the booking's status, refunds by the
//! booking's refund state and the provider's idempotency key.

use onsale_model::{
    ApiError, BookingStatus, Change, CheckoutResponse, ErrorCode, PayWith, RefundStatus, SeatStatus,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::Bookings;
use super::holds::{end_hold, hold_not_found, read_hold, validate_idempotency_key};
use crate::auth::Secrets;
use crate::changelog::{self, Topic};
use crate::clock::{Clock, Millis};
use crate::error::{Error, Result};
use crate::payments::{Money, Payment, PaymentOutcome, PaymentProvider, PaymentRequest};
use crate::store::records::{
    BookingRecord, HoldRecord, IdempotencyRecord, SeatRecord, Task, TaskRecord,
};
use crate::store::tables::{
    ACCOUNT_BOOKINGS, BOOKINGS, EVENT_BOOKINGS, HOLD_EXPIRY, HOLDS, IDEMPOTENCY,
    IDEMPOTENCY_EXPIRY, SEATS, TASKS, TICKET_CODES, WEBHOOKS,
};
use onsale_store::{StoreExt, Tx};

/// How long a claimed task is hidden from other workers before it is tried again (a
/// worker that died mid-task is replaced after this).
const TASK_LEASE_MS: Millis = 30_000;

/// Where a task is queued: `(due_at, task id)`.
type TaskKey = (Millis, String);

impl Bookings {
    /// Turns a live hold of `user_id` into a pending booking with its payment, paid as
    /// `pay_with` says: what to do is read first (no write, so no commit to wait for),
    /// then the provider's call (never inside a transaction), then the booking and its
    /// payment written in one transaction that checks the hold again.
    ///
    /// A hold's booking has an id derived from the hold's, which is also the provider's
    /// idempotency key: checkouts of one hold that race, or a retry after a failure
    /// anywhere, get the one payment and the one booking.
    pub async fn checkout(
        &self,
        user_id: Uuid,
        hold_id: &str,
        idempotency_key: &str,
        pay_with: PayWith,
    ) -> Result<CheckoutResponse> {
        validate_idempotency_key(idempotency_key)?;
        let provider = self.payments.clone().ok_or_else(|| {
            Error::Api(ApiError::new(
                ErrorCode::PaymentUnavailable,
                "this deployment has no payment provider configured",
            ))
        })?;
        let user_id = user_id.to_string();
        let idem_key = (user_id.as_str(), "checkout", idempotency_key);
        let planned = self
            .store
            .transact(|tx| {
                let idem_key = &idem_key;
                async move { plan_checkout(&*tx, idem_key, hold_id, self.clock.now()).await }
            })
            .await?;
        let (booking, pay_by) = match planned {
            Planned::Exists(booking)
                if booking.status != BookingStatus::Pending || booking.payment_id.is_some() =>
            {
                return Ok(checkout_view(&booking));
            }
            Planned::Exists(booking) => (booking, None),
            Planned::Live(hold) => (
                new_booking(
                    &hold,
                    booking_id_of(hold_id, idempotency_key),
                    self.clock.now(),
                ),
                Some(hold.expires_at / 1000),
            ),
        };
        let payment = provider
            .create_payment(&self.payment_request(&booking, pay_by, pay_with))
            .await
            .map_err(|err| {
                tracing::warn!(booking_id = %booking.booking_id, error = %err, "creating a payment failed");
                metrics::counter!("onsale_payment_errors_total", "call" => "create").increment(1);
                ApiError::from(err)
            })?;
        let opened = self
            .store
            .transact(|tx| {
                let (idem_key, payment) = (&idem_key, &payment);
                let booking_id = booking.booking_id.as_str();
                async move {
                    let now = self.clock.now();
                    let booking =
                        open_booking(&*tx, idem_key, hold_id, booking_id, payment, now).await?;
                    attach_payment(&*tx, booking, payment)
                }
            })
            .await;
        match opened {
            Ok(booking) => {
                if booking.payment_id.as_deref() != Some(payment.id.as_str()) {
                    // Another checkout of the hold, with another key, opened its booking
                    // first: this payment is nobody's.
                    self.cancel_unused(provider.as_ref(), &payment).await;
                }
                metrics::counter!("onsale_checkouts_total").increment(1);
                Ok(checkout_view(&booking))
            }
            Err(Error::Api(error))
                if matches!(error.code, ErrorCode::HoldExpired | ErrorCode::NotFound) =>
            {
                // The hold ended during the provider's call and no booking has this
                // payment: nobody may pay it.
                self.cancel_unused(provider.as_ref(), &payment).await;
                Err(Error::Api(error))
            }
            Err(error) => Err(error),
        }
    }

    /// Ends a payment that no booking has (a webhook for it would find none to settle).
    async fn cancel_unused(&self, provider: &dyn PaymentProvider, payment: &Payment) {
        match provider.cancel(&payment.id).await {
            Ok(()) => tracing::info!(payment_id = %payment.id, "unused payment cancelled"),
            Err(err) => {
                metrics::counter!("onsale_payment_errors_total", "call" => "cancel").increment(1);
                tracing::warn!(payment_id = %payment.id, error = %err, "cancelling an unused payment failed");
            }
        }
    }

    /// Verifies a provider webhook, records its event once and queues its outcome;
    /// returns `false` for a replay that was already recorded.
    pub async fn receive_webhook(&self, signature: Option<&str>, body: &[u8]) -> Result<bool> {
        let provider = self
            .payments
            .clone()
            .ok_or_else(|| Error::code(ErrorCode::NotFound))?;
        // Transport time, not business time: the tolerance window is about when the
        // provider sent this delivery, whatever clock the booking logic runs on.
        let now_secs = crate::clock::SystemClock.now() / 1000;
        let event = provider
            .verify_webhook(signature, body, now_secs)
            .map_err(|err| {
                metrics::counter!("onsale_webhooks_total", "outcome" => "refused").increment(1);
                ApiError::from(err)
            })?;
        let provider_name = provider.name();
        let task_id = Uuid::new_v4().to_string();
        let fresh = self
            .store
            .transact(|tx| {
                let (event, task_id) = (&event, &task_id);
                async move {
                    let key = (provider_name, event.id.as_str());
                    if WEBHOOKS.get(&tx, &key).await?.is_some() {
                        return Ok(false);
                    }
                    let now = self.clock.now();
                    WEBHOOKS.set(&tx, &key, &now)?;
                    let task = match &event.outcome {
                        PaymentOutcome::Succeeded {
                            payment_id,
                            booking_id,
                            paid,
                        } => Some(Task::PaymentOutcome {
                            booking_id: booking_id.clone(),
                            payment_id: payment_id.clone(),
                            succeeded: true,
                            paid: paid.clone(),
                        }),
                        PaymentOutcome::Failed {
                            payment_id,
                            booking_id,
                        } => Some(Task::PaymentOutcome {
                            booking_id: booking_id.clone(),
                            payment_id: payment_id.clone(),
                            succeeded: false,
                            paid: None,
                        }),
                        PaymentOutcome::Ignored => None,
                    };
                    if let Some(task) = task {
                        enqueue(&*tx, task_id, task, now)?;
                    }
                    Ok::<_, Error>(true)
                }
            })
            .await?;
        let outcome = if fresh { "recorded" } else { "replayed" };
        metrics::counter!("onsale_webhooks_total", "outcome" => outcome).increment(1);
        if fresh {
            self.changelog.committed(Topic::Tasks);
        }
        Ok(fresh)
    }

    /// How many tasks are queued, due or not, claimed by a worker or not (at most
    /// `limit` are counted): a task leaves the queue when it has run.
    pub async fn queued_tasks(&self, limit: usize) -> Result<usize> {
        let queued = self
            .store
            .transact(|tx| async move { TASKS.range(&tx, TASKS.all().limit(limit)).await })
            .await?;
        Ok(queued.len())
    }

    /// Claims up to `limit` due tasks and runs them; returns how many ran to completion.
    /// A task that fails is put back with a backoff; one whose worker dies reappears when
    /// its lease ends.
    pub async fn run_due_tasks(&self, limit: usize) -> Result<usize> {
        let now = self.clock.now();
        let claimed = self
            .store
            .transact(|tx| async move {
                let due = TASKS
                    .range(&tx, TASKS.before(&(now + 1)).limit(limit))
                    .await?;
                let mut claimed = Vec::with_capacity(due.len());
                for (key, mut record) in due {
                    record.attempts += 1;
                    TASKS.clear(&tx, &key);
                    let leased: TaskKey = (now + TASK_LEASE_MS, record.task_id.clone());
                    TASKS.set(&tx, &leased, &record)?;
                    claimed.push((leased, record));
                }
                Ok::<_, Error>(claimed)
            })
            .await?;
        let mut done = 0;
        for (leased_key, record) in claimed {
            match self.run_task(&leased_key, &record).await {
                Ok(()) => done += 1,
                Err(err) => {
                    let delay = 1_000 * (1i64 << record.attempts.min(8));
                    tracing::warn!(task = %record.task_id, attempts = record.attempts, error = %err, "task failed; retrying later");
                    metrics::counter!("onsale_task_failures_total").increment(1);
                    let retry_at = self.clock.now() + delay;
                    self.store
                        .transact(|tx| {
                            let (leased_key, record) = (&leased_key, &record);
                            async move {
                                if TASKS.get(&tx, leased_key).await?.is_some() {
                                    TASKS.clear(&tx, leased_key);
                                    TASKS.set(&tx, &(retry_at, &record.task_id), record)?;
                                }
                                Ok::<_, Error>(())
                            }
                        })
                        .await?;
                }
            }
        }
        Ok(done)
    }

    async fn run_task(&self, leased_key: &TaskKey, record: &TaskRecord) -> Result<()> {
        match &record.task {
            Task::PaymentOutcome {
                booking_id,
                payment_id,
                succeeded,
                paid,
            } => {
                let outcome = match (succeeded, paid) {
                    (false, _) => Outcome::Failed,
                    (true, paid) => Outcome::Paid(paid.as_ref()),
                };
                self.apply_payment_outcome(leased_key, booking_id, payment_id, outcome)
                    .await
            }
            Task::Refund { booking_id } => self.refund(leased_key, booking_id).await,
            Task::CancelPayment {
                booking_id,
                payment_id,
            } => {
                self.cancel_payment(leased_key, booking_id, payment_id)
                    .await
            }
        }
    }

    /// Asks the provider to end an unpaid booking's payment, then removes the task. A
    /// payment made before the provider heard is refunded by its webhook's outcome.
    async fn cancel_payment(
        &self,
        leased_key: &TaskKey,
        booking_id: &str,
        payment_id: &str,
    ) -> Result<()> {
        let provider = self
            .payments
            .clone()
            .ok_or_else(|| Error::internal("a payment to cancel without a payment provider"))?;
        provider.cancel(payment_id).await.map_err(|e| {
            Error::internal_from(format!("cancelling the payment of booking {booking_id}"), e)
        })?;
        tracing::info!(booking_id, payment_id, "unpaid booking's payment cancelled");
        self.store
            .transact(|tx| async move {
                TASKS.clear(&tx, leased_key);
                Ok::<_, Error>(())
            })
            .await
    }

    /// Settles a booking with its payment's outcome, and removes the task, in one
    /// transaction. A payment sells the seats only when it paid the booking's total in
    /// its currency; any other amount cancels the booking and is refunded.
    async fn apply_payment_outcome(
        &self,
        leased_key: &TaskKey,
        booking_id: &str,
        payment_id: &str,
        outcome: Outcome<'_>,
    ) -> Result<()> {
        let refund_task = Uuid::new_v4().to_string();
        let settled = self
            .store
            .transact(|tx| {
                let refund_task = refund_task.as_str();
                async move {
                    if TASKS.get(&tx, leased_key).await?.is_none() {
                        return Ok(Settled::Unchanged);
                    }
                    TASKS.clear(&tx, leased_key);
                    let payment = PaymentNews {
                        payment_id,
                        outcome,
                        refund_task,
                    };
                    settle(&*tx, booking_id, &payment, &self.secrets, self.clock.now()).await
                }
            })
            .await?;
        settled.count();
        for topic in [Topic::Tasks, Topic::Seats, Topic::Bookings] {
            self.changelog.committed(topic);
        }
        Ok(())
    }

    /// Asks the provider for a refund (idempotent there by booking), then records it and
    /// removes the task.
    async fn refund(&self, leased_key: &TaskKey, booking_id: &str) -> Result<()> {
        let booking = self
            .store
            .transact(|tx| async move { read_booking(&*tx, booking_id).await })
            .await?
            .ok_or_else(|| Error::internal(format!("refund of unknown booking {booking_id}")))?;
        let provider = self
            .payments
            .clone()
            .ok_or_else(|| Error::internal("a refund without a payment provider"))?;
        if booking.refund == Some(RefundStatus::Requested)
            && let Some(payment_id) = &booking.payment_id
        {
            provider
                .refund(payment_id, booking_id)
                .await
                .map_err(|e| Error::internal_from(format!("refunding booking {booking_id}"), e))?;
        }
        let refunded = self
            .store
            .transact(|tx| async move {
                if TASKS.get(&tx, leased_key).await?.is_none() {
                    return Ok(false);
                }
                TASKS.clear(&tx, leased_key);
                if let Some(mut booking) = read_booking(&*tx, booking_id).await?
                    && booking.refund == Some(RefundStatus::Requested)
                {
                    booking.refund = Some(RefundStatus::Refunded);
                    write_booking(&*tx, &booking)?;
                    changelog::append(
                        &*tx,
                        &Change::BookingRefunded {
                            booking_id: booking.booking_id.clone(),
                            user_id: booking.user_id.clone(),
                        },
                    )?;
                    return Ok::<_, Error>(true);
                }
                Ok(false)
            })
            .await?;
        if refunded {
            metrics::counter!("onsale_refunds_total").increment(1);
        }
        self.changelog.committed(Topic::Bookings);
        Ok(())
    }
}

/// What a payment's webhook said, as the task worker applies it.
#[derive(Debug, Clone, Copy)]
enum Outcome<'a> {
    /// Paid, this much as far as the webhook said.
    Paid(Option<&'a Money>),
    /// Failed or cancelled: nothing was charged.
    Failed,
}

/// The checkout step, in `tx` at `now`: the booking kept under the idempotency key, or
/// the hold's booking if it has one, or a new pending booking of the caller's live hold.
/// What a checkout finds.
enum Planned {
    /// The key or the hold has its booking already.
    Exists(BookingRecord),
    /// A live hold with no booking yet.
    Live(HoldRecord),
}

/// The booking a checkout by `idem_key` of `hold_id` answers with, or the live hold it
/// opens one for; checks the key, the hold's owner and that it is live.
async fn plan_checkout(
    tx: &dyn Tx,
    idem_key: &(&str, &str, &str),
    hold_id: &str,
    now: Millis,
) -> Result<Planned> {
    if let Some(booking) = replayed_checkout(tx, idem_key, hold_id).await? {
        return Ok(Planned::Exists(booking));
    }
    let hold = owned_hold(tx, idem_key.0, hold_id).await?;
    if let Some(existing) = &hold.booking_id {
        return Ok(Planned::Exists(existing_booking(tx, existing).await?));
    }
    if hold.expires_at <= now {
        return Err(Error::code(ErrorCode::HoldExpired));
    }
    Ok(Planned::Live(hold))
}

/// The booking of an earlier checkout with the same key, which must be of the same hold.
async fn replayed_checkout(
    tx: &dyn Tx,
    idem_key: &(&str, &str, &str),
    hold_id: &str,
) -> Result<Option<BookingRecord>> {
    let Some(record) = IDEMPOTENCY.get(tx, idem_key).await? else {
        return Ok(None);
    };
    if record.fingerprint != hold_id {
        return Err(Error::code(ErrorCode::IdempotencyKeyReused));
    }
    Ok(Some(existing_booking(tx, &record.resource_id).await?))
}

async fn existing_booking(tx: &dyn Tx, booking_id: &str) -> Result<BookingRecord> {
    read_booking(tx, booking_id)
        .await?
        .ok_or_else(|| Error::internal("a checked-out booking vanished"))
}

/// `hold_id` if it is `user_id`'s.
async fn owned_hold(tx: &dyn Tx, user_id: &str, hold_id: &str) -> Result<HoldRecord> {
    match read_hold(tx, hold_id).await? {
        Some(hold) if hold.user_id == user_id => Ok(hold),
        _ => Err(hold_not_found(hold_id)),
    }
}

/// The id of the booking that a checkout of `hold_id` with `idempotency_key` opens:
/// derived from both, so that every try of one checkout names the same booking (and the
/// same payment at the provider), while paying again after a decline, with a new key,
/// opens a new one.
fn booking_id_of(hold_id: &str, idempotency_key: &str) -> String {
    let digest = Sha256::new()
        .chain_update(b"onsale booking of hold\x00")
        .chain_update(hold_id.as_bytes())
        .chain_update([0])
        .chain_update(idempotency_key.as_bytes())
        .finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

/// The pending booking `booking_id` of `hold`, as a checkout at `now` opens it.
fn new_booking(hold: &HoldRecord, booking_id: String, now: Millis) -> BookingRecord {
    BookingRecord {
        booking_id,
        user_id: hold.user_id.clone(),
        event_id: hold.event_id,
        hold_id: hold.hold_id.clone(),
        seats: hold.seats.clone(),
        ordinals: hold.ordinals.clone(),
        total: hold.total,
        currency: hold.currency.clone(),
        status: BookingStatus::Pending,
        created_at: now,
        payment_id: None,
        payment_url: None,
        client_secret: None,
        cancel_reason: None,
        refund: None,
        completed_at: None,
    }
}

/// Opens the pending booking `booking_id` of a live hold with `payment`, or answers with
/// the booking the key or the hold has already; runs [`plan_checkout`] again, as what it
/// found may have changed since.
async fn open_booking(
    tx: &dyn Tx,
    idem_key: &(&str, &str, &str),
    hold_id: &str,
    booking_id: &str,
    payment: &Payment,
    now: Millis,
) -> Result<BookingRecord> {
    let user_id = idem_key.0;
    let hold = match plan_checkout(tx, idem_key, hold_id, now).await {
        Ok(Planned::Exists(booking)) => return Ok(booking),
        Ok(Planned::Live(hold)) => hold,
        // Booked and settled by another checkout meanwhile (the hold is gone then).
        Err(Error::Api(error)) if error.code == ErrorCode::NotFound => {
            return read_booking(tx, booking_id).await?.ok_or(Error::Api(error));
        }
        Err(error) => return Err(error),
    };
    let mut booking = new_booking(&hold, booking_id.to_string(), now);
    booking.payment_id = Some(payment.id.clone());
    booking.payment_url = payment.url.clone();
    booking.client_secret = payment.client_secret.clone();
    let mut hold = hold;
    hold.booking_id = Some(booking.booking_id.clone());
    HOLDS.set(tx, &hold.hold_id, &hold)?;
    write_booking(tx, &booking)?;
    ACCOUNT_BOOKINGS.set(tx, &(user_id, now, &booking.booking_id), &())?;
    EVENT_BOOKINGS.set(tx, &(booking.event_id, now, &booking.booking_id), &())?;
    let record_key = IDEMPOTENCY.key(idem_key);
    IDEMPOTENCY_EXPIRY.set(tx, &(now, &record_key), &record_key)?;
    let answer = IdempotencyRecord {
        fingerprint: hold_id.to_string(),
        resource_id: booking.booking_id.clone(),
        created_at: now,
    };
    IDEMPOTENCY.set(tx, idem_key, &answer)?;
    changelog::append(
        tx,
        &Change::BookingCreated {
            booking_id: booking.booking_id.clone(),
            user_id: booking.user_id.clone(),
            event_id: booking.event_id,
        },
    )?;
    Ok(booking)
}

impl Bookings {
    /// What the provider is asked to charge for `booking`: on its hosted page, which
    /// sends the buyer back to the booking's page on the site, when the site's address
    /// is known and the client did not ask for the SDK's way.
    fn payment_request(
        &self,
        booking: &BookingRecord,
        pay_by: Option<i64>,
        pay_with: PayWith,
    ) -> PaymentRequest {
        let return_url = match (pay_with, &self.settings.site_url) {
            (PayWith::HostedPage, Some(site)) => Some(format!(
                "{}/bookings/{}",
                site.trim_end_matches('/'),
                booking.booking_id
            )),
            _ => None,
        };
        PaymentRequest {
            booking_id: booking.booking_id.clone(),
            amount: booking.total,
            currency: booking.currency.clone(),
            description: format!(
                "onsale booking {} ({} seat{})",
                booking.booking_id,
                booking.seats.len(),
                if booking.seats.len() == 1 { "" } else { "s" }
            ),
            pay_by,
            return_url,
        }
    }
}

/// Records the provider's payment on a booking opened without one (by a version before
/// bookings were opened with their payment), once; a booking that has one keeps it.
fn attach_payment(
    tx: &dyn Tx,
    mut booking: BookingRecord,
    payment: &Payment,
) -> Result<BookingRecord> {
    if booking.payment_id.is_none() && booking.status == BookingStatus::Pending {
        booking.payment_id = Some(payment.id.clone());
        booking.payment_url = payment.url.clone();
        booking.client_secret = payment.client_secret.clone();
        write_booking(tx, &booking)?;
    }
    Ok(booking)
}

/// A payment's outcome as the task worker applies it to its booking.
struct PaymentNews<'a> {
    payment_id: &'a str,
    outcome: Outcome<'a>,
    /// The id a refund task gets, if one is needed.
    refund_task: &'a str,
}

/// What applying a payment outcome did to its booking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Settled {
    /// Nothing: a replay, another payment's news, or an unknown booking.
    Unchanged,
    /// Paid in full while the seats were still held: sold.
    Completed,
    /// The payment came after the hold had ended (and is refunded).
    Cancelled,
    /// The payment was declined: the booking is cancelled, its seats stay held.
    Declined,
    /// Paid, but not the booking's total: cancelled and refunded.
    Mismatched,
    /// Paid after the booking had ended: refunded.
    Refunded,
}

impl Settled {
    /// Counts what was done, once it is committed.
    fn count(self) {
        match self {
            Settled::Completed => {
                metrics::counter!("onsale_bookings_total", "outcome" => "completed").increment(1);
            }
            Settled::Cancelled => {
                metrics::counter!("onsale_bookings_total", "outcome" => "cancelled").increment(1);
            }
            Settled::Declined => {
                metrics::counter!("onsale_bookings_total", "outcome" => "declined").increment(1);
            }
            Settled::Mismatched => {
                metrics::counter!("onsale_payment_mismatches_total").increment(1);
                metrics::counter!("onsale_bookings_total", "outcome" => "cancelled").increment(1);
            }
            Settled::Refunded | Settled::Unchanged => {}
        }
    }
}

/// The settle step, in `tx` at `now`: applies a payment's outcome to its booking (a sale
/// indexes its tickets' short codes, signed with `secrets`).
async fn settle(
    tx: &dyn Tx,
    booking_id: &str,
    payment: &PaymentNews<'_>,
    secrets: &Secrets,
    now: Millis,
) -> Result<Settled> {
    let Some(mut booking) = read_booking(tx, booking_id).await? else {
        tracing::warn!(booking_id, "payment outcome for an unknown booking ignored");
        return Ok(Settled::Unchanged);
    };
    let payment_id = payment.payment_id;
    let ours = booking
        .payment_id
        .as_deref()
        .is_none_or(|p| p == payment_id);
    let in_full =
        |paid: Option<&Money>| paid.is_some_and(|paid| paid.is(booking.total, &booking.currency));
    let settled = match (booking.status, payment.outcome) {
        (BookingStatus::Pending, Outcome::Paid(paid)) if ours && !in_full(paid) => {
            cancel_mismatched(tx, &mut booking, payment, paid, now).await?;
            Settled::Mismatched
        }
        (BookingStatus::Pending, Outcome::Paid(_)) if ours => {
            booking.payment_id = Some(payment_id.to_string());
            let hold = read_hold(tx, &booking.hold_id).await?;
            if let Some(hold) = hold.filter(|h| h.expires_at > now)
                && seats_still_held(tx, &hold).await?
            {
                complete(tx, &hold, &mut booking, secrets, now).await?;
                Settled::Completed
            } else {
                cancel(
                    tx,
                    &mut booking,
                    "the hold expired before the payment arrived; the charge is refunded",
                )
                .await?;
                request_refund(tx, &mut booking, payment.refund_task, now)?;
                Settled::Cancelled
            }
        }
        (BookingStatus::Pending, Outcome::Failed) if ours => {
            decline(tx, &mut booking, now).await?;
            Settled::Declined
        }
        (BookingStatus::Cancelled, Outcome::Paid(_)) if booking.refund.is_none() => {
            // Paid after the booking had ended: give the money back.
            booking.payment_id = Some(payment_id.to_string());
            request_refund(tx, &mut booking, payment.refund_task, now)?;
            Settled::Refunded
        }
        _ => Settled::Unchanged,
    };
    Ok(settled)
}

/// Sells a paid booking's seats, marks it completed and indexes its tickets' short codes
/// for the door.
async fn complete(
    tx: &dyn Tx,
    hold: &HoldRecord,
    booking: &mut BookingRecord,
    secrets: &Secrets,
    now: Millis,
) -> Result<()> {
    sell(tx, hold, booking).await?;
    booking.status = BookingStatus::Completed;
    booking.completed_at = Some(now);
    write_booking(tx, booking)?;
    for seat_id in &booking.seats {
        TICKET_CODES.set(
            tx,
            &super::tickets::ticket_short_code(
                secrets,
                booking.event_id,
                &booking.booking_id,
                seat_id,
            ),
            &(booking.booking_id.clone(), seat_id.clone()),
        )?;
    }
    changelog::append(
        tx,
        &Change::BookingCompleted {
            booking_id: booking.booking_id.clone(),
            user_id: booking.user_id.clone(),
            event_id: booking.event_id,
        },
    )?;
    Ok(())
}

/// Cancels a booking still waiting for its payment when its hold ended (in the
/// sweeper's transaction at `now`), and queues the end of its payment at the provider;
/// returns whether it was one.
pub(super) async fn cancel_pending(
    tx: &dyn Tx,
    booking_id: &str,
    reason: &str,
    now: Millis,
) -> Result<bool> {
    let Some(mut booking) = read_booking(tx, booking_id).await? else {
        return Ok(false);
    };
    if booking.status != BookingStatus::Pending {
        return Ok(false);
    }
    mark_cancelled(tx, &mut booking, reason)?;
    if let Some(payment_id) = booking.payment_id.clone() {
        let task = Task::CancelPayment {
            booking_id: booking.booking_id.clone(),
            payment_id,
        };
        enqueue(tx, &Uuid::new_v4().to_string(), task, now)?;
    }
    Ok(true)
}

/// Ends a pending booking whose payment was not its total (`paid`, or an unknown amount):
/// seats back on sale, the payment refunded, the case logged and counted.
async fn cancel_mismatched(
    tx: &dyn Tx,
    booking: &mut BookingRecord,
    payment: &PaymentNews<'_>,
    paid: Option<&Money>,
    now: Millis,
) -> Result<()> {
    let paid = paid.map_or_else(
        || "an unknown amount".to_string(),
        |paid| format!("{} {}", paid.amount, paid.currency),
    );
    tracing::warn!(
        booking_id = %booking.booking_id,
        payment_id = payment.payment_id,
        paid = %paid,
        total = booking.total,
        currency = %booking.currency,
        "a payment that is not the booking's total: booking cancelled, payment refunded"
    );
    booking.payment_id = Some(payment.payment_id.to_string());
    cancel(
        tx,
        booking,
        "the payment was not the booking's total; it is refunded",
    )
    .await?;
    request_refund(tx, booking, payment.refund_task, now)
}

/// Why a booking whose payment was declined ended.
pub(crate) const DECLINED: &str =
    "the payment was declined; your seats stay held until the hold ends, so you can pay again";

/// Ends a pending booking whose payment was declined, but not its hold: the seats stay
/// held for the buyer until the hold ends, and checking the hold out again makes a new
/// booking (as Ticketmaster and pretix let a buyer try another card).
async fn decline(tx: &dyn Tx, booking: &mut BookingRecord, now: Millis) -> Result<()> {
    if let Some(mut hold) = read_hold(tx, &booking.hold_id).await?
        && hold.booking_id.as_deref() == Some(booking.booking_id.as_str())
        && hold.expires_at > now
    {
        hold.booking_id = None;
        HOLDS.set(tx, &hold.hold_id, &hold)?;
    }
    mark_cancelled(tx, booking, DECLINED)
}

/// Ends a pending booking: its hold's seats go back on sale.
async fn cancel(tx: &dyn Tx, booking: &mut BookingRecord, reason: &str) -> Result<()> {
    if let Some(hold) = read_hold(tx, &booking.hold_id).await? {
        end_hold(tx, &hold, onsale_model::ReleaseReason::Released).await?;
    }
    mark_cancelled(tx, booking, reason)
}

/// Marks `booking` cancelled for `reason` and logs it (for its buyer's notice).
pub(super) fn mark_cancelled(tx: &dyn Tx, booking: &mut BookingRecord, reason: &str) -> Result<()> {
    booking.status = BookingStatus::Cancelled;
    booking.cancel_reason = Some(reason.to_string());
    write_booking(tx, booking)?;
    changelog::append(
        tx,
        &Change::BookingCancelled {
            booking_id: booking.booking_id.clone(),
            user_id: booking.user_id.clone(),
            reason: reason.to_string(),
        },
    )?;
    Ok(())
}

pub(super) fn request_refund(
    tx: &dyn Tx,
    booking: &mut BookingRecord,
    task_id: &str,
    now: Millis,
) -> Result<()> {
    booking.refund = Some(RefundStatus::Requested);
    write_booking(tx, booking)?;
    enqueue(
        tx,
        task_id,
        Task::Refund {
            booking_id: booking.booking_id.clone(),
        },
        now,
    )
}

async fn seats_still_held(tx: &dyn Tx, hold: &HoldRecord) -> Result<bool> {
    for &ordinal in &hold.ordinals {
        let Some(record) = SEATS.get(tx, &(hold.event_id, ordinal)).await? else {
            return Ok(false);
        };
        match record {
            SeatRecord::Held { hold_id, .. } if hold_id == hold.hold_id => {}
            _ => return Ok(false),
        }
    }
    Ok(true)
}

/// Marks the hold's seats sold to the booking and removes the hold; the seats count
/// towards the account's limit for good.
async fn sell(tx: &dyn Tx, hold: &HoldRecord, booking: &BookingRecord) -> Result<()> {
    let sold = SeatRecord::Sold {
        booking_id: booking.booking_id.clone(),
    };
    for (seat_id, &ordinal) in hold.seats.iter().zip(&hold.ordinals) {
        SEATS.set(tx, &(hold.event_id, ordinal), &sold)?;
        changelog::append(
            tx,
            &Change::Seat {
                event_id: hold.event_id,
                seat_id: seat_id.clone(),
                state: SeatStatus::Sold,
            },
        )?;
    }
    HOLDS.clear(tx, &hold.hold_id);
    HOLD_EXPIRY.clear(tx, &(hold.expires_at, &hold.hold_id));
    super::limits::book(tx, hold).await
}

fn enqueue(tx: &dyn Tx, task_id: &str, task: Task, due_at: Millis) -> Result<()> {
    let record = TaskRecord {
        task_id: task_id.to_string(),
        task,
        attempts: 0,
    };
    Ok(TASKS.set(tx, &(due_at, task_id), &record)?)
}

pub(crate) async fn read_booking(tx: &dyn Tx, booking_id: &str) -> Result<Option<BookingRecord>> {
    Ok(BOOKINGS.get(tx, booking_id).await?)
}

pub(super) fn write_booking(tx: &dyn Tx, booking: &BookingRecord) -> Result<()> {
    Ok(BOOKINGS.set(tx, &booking.booking_id, booking)?)
}

fn checkout_view(booking: &BookingRecord) -> CheckoutResponse {
    CheckoutResponse {
        booking_id: booking.booking_id.clone(),
        status: booking.status,
        total: booking.total,
        currency: booking.currency.clone(),
        payment_url: booking.payment_url.clone(),
        client_secret: booking.client_secret.clone(),
    }
}
