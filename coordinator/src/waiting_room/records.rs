//! What the waiting room stores. Per queued user there are two small binary records (a
//! place and an entry, about 70 bytes with their keys), so a million people in one queue
//! take tens of megabytes; the per-room records are JSON.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use onsale_model::WaitingRoomSettings;

use crate::clock::Millis;
use crate::error::{Error, Result};
use crate::store::keys::{self, RoomPart};
use onsale_store::Tx;

/// A user's place in a queue (`QUEUE_ENTRY`), 9 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Entry {
    /// Waiting for the on-sale shuffle in this random slot of the lobby.
    Lobby(u64),
    /// Holding this sequence number: position = seq − admitted count.
    Seq(u64),
}

impl Entry {
    pub(super) fn encode(self) -> [u8; 9] {
        let (tag, value) = match self {
            Entry::Lobby(slot) => (0, slot),
            Entry::Seq(seq) => (1, seq),
        };
        let mut bytes = [0u8; 9];
        bytes[0] = tag;
        bytes[1..].copy_from_slice(&value.to_be_bytes());
        bytes
    }

    pub(super) fn decode(bytes: &[u8]) -> Result<Entry> {
        let value = bytes
            .get(1..9)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_be_bytes);
        match (bytes.len(), bytes.first(), value) {
            (9, Some(0), Some(slot)) => Ok(Entry::Lobby(slot)),
            (9, Some(1), Some(seq)) => Ok(Entry::Seq(seq)),
            _ => Err(Error::Internal("malformed queue entry".into())),
        }
    }
}

/// Who holds a sequence number (`QUEUE_ORDER`): 16 bytes, 24 once admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Place {
    /// The user.
    pub user: u128,
    /// When their pass expires, once admitted.
    pub expires_at: Option<Millis>,
}

impl Place {
    pub(super) fn encode(self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(24);
        bytes.extend_from_slice(&self.user.to_be_bytes());
        if let Some(expires_at) = self.expires_at {
            bytes.extend_from_slice(&expires_at.to_be_bytes());
        }
        bytes
    }

    pub(super) fn decode(bytes: &[u8]) -> Result<Place> {
        let malformed = || Error::Internal("malformed queue place".into());
        let user = u128::from_be_bytes(
            bytes
                .get(..16)
                .and_then(|b| b.try_into().ok())
                .ok_or_else(malformed)?,
        );
        let expires_at = match bytes.len() {
            16 => None,
            24 => Some(Millis::from_be_bytes(
                bytes[16..].try_into().map_err(|_| malformed())?,
            )),
            _ => return Err(malformed()),
        };
        Ok(Place { user, expires_at })
    }
}

/// What joins keep per room ([`RoomPart::Joins`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct JoinCounters {
    /// The last sequence number handed out (places are `1..=tail`).
    pub tail: u64,
    /// People in the lobby, waiting for the shuffle.
    pub lobby: u64,
    /// Whether the on-sale shuffle happened: the lobby is closed for good.
    pub shuffled: bool,
}

/// What admission keeps per room ([`RoomPart::Admission`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct AdmissionState {
    /// Places `1..=admitted` were admitted, in order.
    pub admitted: u64,
    /// Places `1..=ended` were admitted and their sessions ended (and were forgotten), so
    /// `admitted − ended` is the number of active users (or more, never fewer).
    pub ended: u64,
    /// The token bucket that spreads admissions over the minute.
    pub tokens: f64,
    /// When the bucket was last filled.
    pub refilled_at: Millis,
    /// Admissions per second (`unix second`, count) over the last minute, so that no
    /// 60 seconds ever admit more than `new_users_per_minute`.
    pub window: Vec<(i64, u64)>,
    /// The shuffled lobby's places: `[lobby_next, lobby_end)` are reserved for it and
    /// not handed out yet.
    pub lobby_next: u64,
    /// End (exclusive) of the lobby's reserved places.
    pub lobby_end: u64,
}

async fn read_json<T: DeserializeOwned>(tx: &dyn Tx, key: &[u8]) -> Result<Option<T>> {
    match tx.get(key).await? {
        Some(bytes) => Ok(Some(serde_json::from_slice(&bytes)?)),
        None => Ok(None),
    }
}

pub(super) async fn read_settings(
    tx: &dyn Tx,
    event_id: u64,
) -> Result<Option<WaitingRoomSettings>> {
    read_json(tx, &keys::waiting_room(event_id, RoomPart::Settings)).await
}

pub(super) async fn read_joins(tx: &dyn Tx, event_id: u64) -> Result<JoinCounters> {
    Ok(
        read_json(tx, &keys::waiting_room(event_id, RoomPart::Joins))
            .await?
            .unwrap_or_default(),
    )
}

pub(super) fn write_joins(tx: &dyn Tx, event_id: u64, joins: &JoinCounters) -> Result<()> {
    tx.set(
        &keys::waiting_room(event_id, RoomPart::Joins),
        &serde_json::to_vec(joins)?,
    );
    Ok(())
}

pub(super) async fn read_admission(tx: &dyn Tx, event_id: u64) -> Result<AdmissionState> {
    Ok(
        read_json(tx, &keys::waiting_room(event_id, RoomPart::Admission))
            .await?
            .unwrap_or_default(),
    )
}

pub(super) fn write_admission(tx: &dyn Tx, event_id: u64, state: &AdmissionState) -> Result<()> {
    tx.set(
        &keys::waiting_room(event_id, RoomPart::Admission),
        &serde_json::to_vec(state)?,
    );
    Ok(())
}

pub(super) async fn read_entry(tx: &dyn Tx, event_id: u64, user: u128) -> Result<Option<Entry>> {
    tx.get(&keys::queue_entry(event_id, user))
        .await?
        .map(|bytes| Entry::decode(&bytes))
        .transpose()
}

pub(super) async fn read_place(tx: &dyn Tx, event_id: u64, seq: u64) -> Result<Option<Place>> {
    tx.get(&keys::queue_order(event_id, seq))
        .await?
        .map(|bytes| Place::decode(&bytes))
        .transpose()
}

/// Closes the lobby at the on-sale time: its people get the next `lobby` places, handed
/// out in the lobby's random order by admission ([`AdmissionState::lobby_next`]); later
/// joins queue behind them.
pub(super) async fn reserve_for_lobby(
    tx: &dyn Tx,
    event_id: u64,
    joins: &mut JoinCounters,
) -> Result<()> {
    let mut admission = read_admission(tx, event_id).await?;
    admission.lobby_next = joins.tail + 1;
    admission.lobby_end = admission.lobby_next + joins.lobby;
    joins.tail += joins.lobby;
    joins.lobby = 0;
    joins.shuffled = true;
    write_admission(tx, event_id, &admission)?;
    write_joins(tx, event_id, joins)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_and_places_round_trip_compactly() {
        for entry in [Entry::Lobby(u64::MAX), Entry::Seq(1)] {
            assert_eq!(Entry::decode(&entry.encode()).unwrap(), entry);
        }
        assert!(Entry::decode(&[2; 9]).is_err());
        assert!(Entry::decode(&[1; 3]).is_err());
        for place in [
            Place {
                user: 7,
                expires_at: None,
            },
            Place {
                user: u128::MAX,
                expires_at: Some(-5),
            },
        ] {
            let bytes = place.encode();
            assert!(bytes.len() <= 24);
            assert_eq!(Place::decode(&bytes).unwrap(), place);
        }
        assert!(Place::decode(&[0; 20]).is_err());
    }
}
