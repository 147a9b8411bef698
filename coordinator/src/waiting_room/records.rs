//! What the waiting room stores. Per queued user there are two small binary records (a
//! place and an entry, about 70 bytes with their keys), so a million people in one queue
//! take tens of megabytes; the per-room records are JSON.

use serde::{Deserialize, Serialize};

use onsale_model::WaitingRoomSettings;
use onsale_store::{Codec, CodecError, Tx};

use crate::clock::Millis;
use crate::error::{Error, Result};
use crate::store::tables::{
    ADMISSION, JOINS, QUEUE_ENTRIES, QUEUE_ORDER, ROOM_ADMISSION, ROOM_JOINS, ROOM_SETTINGS,
    SETTINGS,
};

/// A user's place in a queue (`QUEUE_ENTRY`), 9 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Entry {
    /// Waiting for the on-sale shuffle in this random slot of the lobby.
    Lobby(u64),
    /// Holding this sequence number: position = seq − admitted count.
    Seq(u64),
}

impl Entry {
    fn encode(self) -> [u8; 9] {
        let (tag, value) = match self {
            Entry::Lobby(slot) => (0, slot),
            Entry::Seq(seq) => (1, seq),
        };
        let mut bytes = [0u8; 9];
        bytes[0] = tag;
        bytes[1..].copy_from_slice(&value.to_be_bytes());
        bytes
    }

    fn decode(bytes: &[u8]) -> Result<Entry> {
        let value = bytes
            .get(1..9)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_be_bytes);
        match (bytes.len(), bytes.first(), value) {
            (9, Some(0), Some(slot)) => Ok(Entry::Lobby(slot)),
            (9, Some(1), Some(seq)) => Ok(Entry::Seq(seq)),
            _ => Err(Error::internal("a malformed queue entry")),
        }
    }
}

/// Who holds a sequence number (`QUEUE_ORDER`): 16 bytes, 24 once admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Place {
    /// The user.
    pub user: u128,
    /// When their pass expires, once admitted.
    pub expires_at: Option<Millis>,
}

impl Place {
    fn encode(self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(24);
        bytes.extend_from_slice(&self.user.to_be_bytes());
        if let Some(expires_at) = self.expires_at {
            bytes.extend_from_slice(&expires_at.to_be_bytes());
        }
        bytes
    }

    fn decode(bytes: &[u8]) -> Result<Place> {
        let malformed = || Error::internal("a malformed queue place");
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

/// What joins keep per room.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct JoinCounters {
    /// The last sequence number handed out (places are `1..=tail`).
    pub tail: u64,
    /// People in the lobby, waiting for the shuffle.
    pub lobby: u64,
    /// Whether the on-sale shuffle happened: the lobby is closed for good.
    pub shuffled: bool,
}

/// What admission keeps per room.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct AdmissionState {
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

/// The compact binary form of the queue's per-user records, [`Entry`] and [`Place`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Compact;

impl Codec<Entry> for Compact {
    fn encode(value: &Entry) -> std::result::Result<Vec<u8>, CodecError> {
        Ok(value.encode().to_vec())
    }

    fn decode(bytes: &[u8]) -> std::result::Result<Entry, CodecError> {
        Ok(Entry::decode(bytes)?)
    }
}

impl Codec<Place> for Compact {
    fn encode(value: &Place) -> std::result::Result<Vec<u8>, CodecError> {
        Ok(value.encode())
    }

    fn decode(bytes: &[u8]) -> std::result::Result<Place, CodecError> {
        Ok(Place::decode(bytes)?)
    }
}

/// The room's settings, if the event has a room.
pub(super) async fn read_settings(
    tx: &dyn Tx,
    event_id: u64,
) -> Result<Option<WaitingRoomSettings>> {
    Ok(ROOM_SETTINGS.get(tx, &(event_id, SETTINGS)).await?)
}

/// Writes the room's settings.
pub(super) fn write_settings(
    tx: &dyn Tx,
    event_id: u64,
    settings: &WaitingRoomSettings,
) -> Result<()> {
    Ok(ROOM_SETTINGS.set(tx, &(event_id, SETTINGS), settings)?)
}

/// The room's join counters (all zero before the first join).
pub(super) async fn read_joins(tx: &dyn Tx, event_id: u64) -> Result<JoinCounters> {
    let joins = ROOM_JOINS.get(tx, &(event_id, JOINS)).await?;
    Ok(joins.unwrap_or_default())
}

/// Writes the room's join counters.
pub(super) fn write_joins(tx: &dyn Tx, event_id: u64, joins: &JoinCounters) -> Result<()> {
    Ok(ROOM_JOINS.set(tx, &(event_id, JOINS), joins)?)
}

/// The room's admission state (all zero before the first round).
pub(super) async fn read_admission(tx: &dyn Tx, event_id: u64) -> Result<AdmissionState> {
    let state = ROOM_ADMISSION.get(tx, &(event_id, ADMISSION)).await?;
    Ok(state.unwrap_or_default())
}

/// Writes the room's admission state.
pub(super) fn write_admission(tx: &dyn Tx, event_id: u64, state: &AdmissionState) -> Result<()> {
    Ok(ROOM_ADMISSION.set(tx, &(event_id, ADMISSION), state)?)
}

/// `user`'s place in the event's queue, if queued.
pub(super) async fn read_entry(tx: &dyn Tx, event_id: u64, user: u128) -> Result<Option<Entry>> {
    Ok(QUEUE_ENTRIES.get(tx, &(event_id, user)).await?)
}

/// Who holds place `seq` of the event's queue.
pub(super) async fn read_place(tx: &dyn Tx, event_id: u64, seq: u64) -> Result<Option<Place>> {
    Ok(QUEUE_ORDER.get(tx, &(event_id, seq)).await?)
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
