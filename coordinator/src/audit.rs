//! The audit trail: every operator action is written in the transaction that does it
//! (who, what, to what, when), so the trail has an entry exactly when the action
//! committed; read back newest first.

use std::sync::atomic::{AtomicU64, Ordering};

use onsale_model::{Actor, ApiError, AuditEntry};
use onsale_store::{StoreError, StoreExt, Tx};
use uuid::Uuid;

use crate::clock::{Millis, to_datetime};
use crate::error::{Error, Result};
use crate::services::Coordinator;
use crate::store::records::AuditRecord;
use crate::store::tables::AUDIT;

/// Entries read at most per page.
pub const MAX_PAGE: usize = 200;

/// Orders the entries this process writes within one millisecond (a test's clock, or a
/// burst of check-ins); entries of other coordinators in the same millisecond keep an
/// arbitrary order among them.
static SEQUENCE: AtomicU64 = AtomicU64::new(0);

/// Writes one action by `actor` at `at` into the trail of `tx`.
pub fn record(
    tx: &dyn Tx,
    at: Millis,
    actor: &Actor,
    action: &str,
    target: impl Into<String>,
    detail: Option<String>,
) -> Result<(), StoreError> {
    let record = AuditRecord {
        actor: actor.clone(),
        action: action.to_string(),
        target: target.into(),
        detail,
    };
    let sequence = SEQUENCE.fetch_add(1, Ordering::Relaxed);
    AUDIT.set(
        tx,
        &(at, sequence, Uuid::new_v4().simple().to_string()),
        &record,
    )
}

/// An entry's id: its key as text, so that a page can start before it.
fn entry_id(at: Millis, sequence: u64, id: &str) -> String {
    format!("{at}-{sequence}-{id}")
}

fn parse_entry_id(text: &str) -> Option<(Millis, u64, String)> {
    let mut parts = text.splitn(3, '-');
    Some((
        parts.next()?.parse().ok()?,
        parts.next()?.parse().ok()?,
        parts.next()?.to_string(),
    ))
}

impl Coordinator {
    /// Up to `limit` entries of the audit trail, newest first, older than the entry
    /// `before` when given.
    pub async fn audit_trail(&self, before: Option<&str>, limit: usize) -> Result<Vec<AuditEntry>> {
        let before = match before {
            None => None,
            Some(text) => Some(parse_entry_id(text).ok_or_else(|| {
                Error::Api(ApiError::invalid("before must be an audit entry's id").at("before"))
            })?),
        };
        let limit = limit.clamp(1, MAX_PAGE);
        let rows = self
            .store()
            .transact(|tx| {
                let before = before.clone();
                async move {
                    let range = match &before {
                        Some(key) => AUDIT.before(key),
                        None => AUDIT.all(),
                    };
                    AUDIT.range(&tx, range.reverse().limit(limit)).await
                }
            })
            .await?;
        Ok(rows
            .into_iter()
            .map(|((at, sequence, id), record)| AuditEntry {
                id: entry_id(at, sequence, &id),
                at: to_datetime(at),
                actor: record.actor,
                action: record.action,
                target: record.target,
                detail: record.detail,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_ids_round_trip() {
        let id = entry_id(1_700_000_000_123, 7, "abc");
        assert_eq!(
            parse_entry_id(&id),
            Some((1_700_000_000_123, 7, "abc".into()))
        );
        assert_eq!(parse_entry_id("nope"), None);
    }
}
