//! Waiting rooms and their queues. A room is three records under one prefix, told apart
//! by their last key byte ([`RoomPart`]), so that joins and admission, which both run all
//! the time, never conflict; per queued user there are two small binary records.

use onsale_model::WaitingRoomSettings;
use onsale_store::tuple::{Pack, Unpack};
use onsale_store::{Empty, Table};

use crate::store::keys::prefix;
use crate::waiting_room::records::{AdmissionState, Compact, Entry, JoinCounters, Place};

/// Which part of a waiting room a record is: the byte `N` after the event id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RoomPart<const N: u8>;

/// The operator's settings; read by joins, holds and admission.
pub(crate) const SETTINGS: RoomPart<0> = RoomPart;
/// The join counters; written by every batch of joins.
pub(crate) const JOINS: RoomPart<1> = RoomPart;
/// The admission state; written by every admission round.
pub(crate) const ADMISSION: RoomPart<2> = RoomPart;

impl<const N: u8> Pack<RoomPart<N>> for RoomPart<N> {
    fn pack(&self, out: &mut Vec<u8>) {
        out.push(N);
    }
}

impl<const N: u8> Unpack for RoomPart<N> {
    fn unpack(input: &mut &[u8]) -> Option<Self> {
        let (&part, rest) = input.split_first()?;
        *input = rest;
        (part == N).then_some(RoomPart)
    }
}

/// `(event id, SETTINGS)` → the room's settings.
pub(crate) const ROOM_SETTINGS: Table<(u64, RoomPart<0>), WaitingRoomSettings> =
    Table::new(prefix::WAITING_ROOM);

/// `(event id, JOINS)` → the room's join counters.
pub(crate) const ROOM_JOINS: Table<(u64, RoomPart<1>), JoinCounters> =
    Table::new(prefix::WAITING_ROOM);

/// `(event id, ADMISSION)` → the room's admission state.
pub(crate) const ROOM_ADMISSION: Table<(u64, RoomPart<2>), AdmissionState> =
    Table::new(prefix::WAITING_ROOM);

/// `(event id, user id)` → the user's place in the event's queue.
pub(crate) const QUEUE_ENTRIES: Table<(u64, u128), Entry, Compact> =
    Table::new(prefix::QUEUE_ENTRY);

/// `(event id, sequence number)` → who holds that place; admission reads it in order.
pub(crate) const QUEUE_ORDER: Table<(u64, u64), Place, Compact> = Table::new(prefix::QUEUE_ORDER);

/// `(event id, random slot, user id)` → nothing: who joined before the on-sale shuffle,
/// in the random order the shuffle places them in.
pub(crate) const QUEUE_LOBBY: Table<(u64, u64, u128), (), Empty> = Table::new(prefix::QUEUE_LOBBY);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_keep_their_bytes() {
        let event = 7u64.to_be_bytes();
        let room = |part: u8| [&[0x70][..], &event, &[part]].concat();
        assert_eq!(ROOM_SETTINGS.key(&(7, SETTINGS)), room(0));
        assert_eq!(ROOM_JOINS.key(&(7, JOINS)), room(1));
        assert_eq!(ROOM_ADMISSION.key(&(7, ADMISSION)), room(2));
        let rooms = ROOM_SETTINGS.all();
        assert_eq!((rooms.begin, rooms.end), (vec![0x70], vec![0x71]));
        assert_eq!(
            QUEUE_ENTRIES.key(&(7, 1)),
            [&[0x71][..], &event, &1u128.to_be_bytes()].concat()
        );
        assert_eq!(
            QUEUE_ORDER.key(&(7, 300)),
            [&[0x72][..], &event, &300u64.to_be_bytes()].concat()
        );
        let from = QUEUE_ORDER.from_within(&(7u64, 10u64), &7u64);
        assert_eq!(from.begin, QUEUE_ORDER.key(&(7, 10)));
        assert_eq!(from.end, [&[0x72][..], &8u64.to_be_bytes()].concat());
        assert_eq!(
            QUEUE_LOBBY.key(&(7, 5, u128::MAX - 1)),
            [
                &[0x73][..],
                &event,
                &5u64.to_be_bytes(),
                &(u128::MAX - 1).to_be_bytes()
            ]
            .concat()
        );
        let lobby = QUEUE_LOBBY.starting_with::<u64, _>(&7u64);
        assert_eq!(lobby.end, [&[0x73][..], &8u64.to_be_bytes()].concat());
    }

    #[test]
    fn room_parts_tell_the_records_apart() {
        let settings = ROOM_SETTINGS.key(&(7, SETTINGS));
        assert_eq!(ROOM_SETTINGS.unpack_key(&settings), Some((7, SETTINGS)));
        assert_eq!(ROOM_SETTINGS.unpack_key(&ROOM_JOINS.key(&(7, JOINS))), None);
        assert_eq!(
            QUEUE_ORDER.unpack_key(&QUEUE_ORDER.key(&(7, 300))),
            Some((7, 300))
        );
        assert!(QUEUE_ORDER.key(&(7, 255)) < QUEUE_ORDER.key(&(7, 256)));
        assert_eq!(
            QUEUE_LOBBY.unpack_key(&QUEUE_LOBBY.key(&(7, 5, 9))),
            Some((7, 5, 9))
        );
        assert!(QUEUE_LOBBY.key(&(7, 5, 1)) < QUEUE_LOBBY.key(&(7, 6, 0)));
    }
}
