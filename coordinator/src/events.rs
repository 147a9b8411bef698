//! Events: creation by the operator, listing, details and seat states, and the compiled
//! seat maps that holds are checked against.
//!
//! [`Events`] is its own service: it owns the cache of compiled seat maps (which never
//! change after their event is created) and shares only the store and the clock.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use onsale_model::{
    Actor, ApiError, Availability, Catalogue, Change, DEFAULT_MAX_SEATS_PER_ACCOUNT,
    DEFAULT_TIME_ZONE, ErrorCode, Event, EventDetails, LogPosition, NewEvent, Page, PageQuery,
    SeatMap, SeatStatus, SeatView, SeatsResponse,
};

use crate::audit;
use crate::changelog;
use crate::clock::{Clock, Millis, to_millis};
use crate::error::{Error, Result};
use crate::store::records::{PricedSeatMap, SeatRecord, StoredSeatMap};
use crate::store::tables::{
    CHANGES, EVENT_COUNT, EVENT_DRAFTS, EVENT_ORDER, EVENT_SEQ, EVENTS, SEAT_MAPS, SEATS,
};
use crate::time_zone;
use onsale_store::{Store, StoreExt, Tx};

/// Seat maps never change after their event is created, so they are cached without
/// invalidation. Bounded by a crude clear-all, which only costs a re-read.
const SEAT_MAP_CACHE_LIMIT: usize = 256;

/// The events service; cheap to clone.
#[derive(Clone)]
pub struct Events {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    /// Compiled seat maps by event id; a std mutex, never held across `.await`.
    seat_maps: Arc<Mutex<HashMap<u64, Arc<PricedSeatMap>>>>,
}

impl Events {
    /// The events of `store`.
    pub(crate) fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Events {
            store,
            clock,
            seat_maps: Arc::default(),
        }
    }

    /// Creates an event with its seat map; every seat starts available. The audit trail
    /// names `by`.
    pub async fn create_event(&self, new: NewEvent, by: &Actor) -> Result<Event> {
        let seat_map = new.validate()?;
        let zone = new
            .details
            .time_zone
            .as_deref()
            .unwrap_or(DEFAULT_TIME_ZONE);
        let local = time_zone::localize(new.details.starts_at, zone)?;
        let (price_min, price_max) = seat_map.price_range();
        let seat_count = seat_map.seats().len() as u32;
        let stored = StoredSeatMap {
            currency: new.details.currency.clone(),
            spec: new.seat_map.clone(),
        };
        let now = self.clock.now();
        let event = self
            .store
            .transact(|tx| {
                let details = new.details.clone();
                let (stored, local, zone) = (&stored, &local, zone);
                async move {
                    let id = EVENT_SEQ.get(&tx).await?.unwrap_or(0) as u64 + 1;
                    EVENT_SEQ.set(&tx, &(id as i64))?;
                    let event = Event {
                        id,
                        name: details.name,
                        category: details.category,
                        description: details.description,
                        performers: details.performers,
                        venue: details.venue,
                        city: details.city,
                        starts_at: local.starts_at,
                        time_zone: zone.to_string(),
                        time_zone_abbreviation: local.abbreviation.clone(),
                        image_url: details.image_url,
                        currency: details.currency,
                        price_min,
                        price_max,
                        seat_count,
                        waiting_room: false,
                        max_seats_per_account: details
                            .max_seats_per_account
                            .unwrap_or(DEFAULT_MAX_SEATS_PER_ACCOUNT),
                        published: details.published.unwrap_or(true),
                    };
                    EVENTS.set(&tx, &id, &event)?;
                    list(&*tx, &event).await?;
                    SEAT_MAPS.set(&tx, &id, stored)?;
                    changelog::append(&*tx, &Change::EventCreated { event_id: id })?;
                    audit::record(
                        &*tx,
                        now,
                        by,
                        "event.create",
                        format!("event {id}"),
                        Some(format!("{} ({seat_count} seats)", event.name)),
                    )?;
                    Ok::<_, Error>(event)
                }
            })
            .await?;
        let currency = event.currency.clone();
        self.cache_seat_map(
            event.id,
            Arc::new(PricedSeatMap {
                map: seat_map,
                currency,
            }),
        );
        tracing::debug!(event_id = event.id, seats = seat_count, "event created");
        Ok(event)
    }

    /// Changes an event's details (not its seat map, and not its currency, which prices
    /// are in). A new seat limit per account applies to the next hold; seats an account
    /// already has are kept even when they are now over the limit.
    pub async fn update_event(&self, id: u64, details: EventDetails, by: &Actor) -> Result<Event> {
        details.validate()?;
        let now = self.clock.now();
        let event = self
            .store
            .transact(|tx| {
                let details = details.clone();
                async move {
                    let old = read_event(&*tx, id).await?;
                    if old.currency != details.currency {
                        return Err(Error::Api(ApiError::invalid(format!(
                            "currency is {} for good: seat prices are in it",
                            old.currency
                        ))));
                    }
                    let zone = details.time_zone.unwrap_or_else(|| old.time_zone.clone());
                    let local = time_zone::localize(details.starts_at, &zone)?;
                    let event = Event {
                        name: details.name,
                        category: details.category,
                        description: details.description,
                        performers: details.performers,
                        venue: details.venue,
                        city: details.city,
                        starts_at: local.starts_at,
                        time_zone: zone,
                        time_zone_abbreviation: local.abbreviation,
                        image_url: details.image_url,
                        max_seats_per_account: details
                            .max_seats_per_account
                            .unwrap_or(old.max_seats_per_account),
                        published: details.published.unwrap_or(old.published),
                        ..old.clone()
                    };
                    if (old.published, old.starts_at) != (event.published, event.starts_at) {
                        unlist(&*tx, &old).await?;
                        list(&*tx, &event).await?;
                    }
                    EVENTS.set(&tx, &id, &event)?;
                    changelog::append(&*tx, &Change::EventUpdated { event_id: id })?;
                    let action = match (old.published, event.published) {
                        (false, true) => "event.publish",
                        (true, false) => "event.unpublish",
                        _ => "event.update",
                    };
                    audit::record(
                        &*tx,
                        now,
                        by,
                        action,
                        format!("event {id}"),
                        Some(event.name.clone()),
                    )?;
                    Ok::<_, Error>(event)
                }
            })
            .await?;
        tracing::info!(event_id = id, "event updated");
        Ok(event)
    }

    /// Points an event's picture at `image_url` (an image just stored in the media store).
    pub async fn set_image(&self, id: u64, image_url: &str, by: &Actor) -> Result<Event> {
        let now = self.clock.now();
        let event = self
            .store
            .transact(|tx| async move {
                let mut event = read_event(&*tx, id).await?;
                event.image_url = image_url.to_string();
                EVENTS.set(&tx, &id, &event)?;
                changelog::append(&*tx, &Change::EventUpdated { event_id: id })?;
                audit::record(
                    &*tx,
                    now,
                    by,
                    "event.image",
                    format!("event {id}"),
                    Some(image_url.to_string()),
                )?;
                Ok::<_, Error>(event)
            })
            .await?;
        tracing::info!(event_id = id, image_url, "event image set");
        Ok(event)
    }

    /// Every published event and the change-log position they are current at, read in
    /// one transaction, for the indexer to build a snapshot from (drafts stay out).
    pub async fn catalogue(&self) -> Result<Catalogue> {
        self.store
            .transact(|tx| async move {
                let position = CHANGES.end(&tx).await?;
                let mut events = EVENTS.values(&tx, EVENTS.all()).await?;
                events.retain(|event| event.published);
                Ok::<_, Error>(Catalogue { position, events })
            })
            .await
    }

    /// One event, draft or published (the operators' view).
    pub async fn event(&self, id: u64) -> Result<Event> {
        self.store
            .transact(|tx| async move { read_event(&*tx, id).await })
            .await
    }

    /// One published event (the buyers' view): a draft is not found.
    pub async fn published_event(&self, id: u64) -> Result<Event> {
        let event = self.event(id).await?;
        if !event.published {
            return Err(event_not_found(id));
        }
        Ok(event)
    }

    /// A page of every event for the operators: the drafts first (oldest first), then
    /// the published events in start-time order; `total` counts both.
    pub async fn operator_events(&self, query: PageQuery) -> Result<Page<Event>> {
        query.validate()?;
        self.store
            .transact(|tx| async move {
                let drafts = EVENT_DRAFTS.range(&tx, EVENT_DRAFTS.all()).await?;
                let published = EVENT_COUNT.get(&tx).await?.unwrap_or(0).max(0) as usize;
                let wanted = query.offset()..query.offset() + query.page_size as usize;
                let mut ids: Vec<u64> = drafts
                    .iter()
                    .map(|(id, ())| *id)
                    .skip(wanted.start)
                    .take(wanted.len())
                    .collect();
                if ids.len() < wanted.len() {
                    let skip = wanted.start.saturating_sub(drafts.len());
                    let order = EVENT_ORDER
                        .range(
                            &tx,
                            EVENT_ORDER.all().limit(skip + wanted.len() - ids.len()),
                        )
                        .await?;
                    ids.extend(order.into_iter().skip(skip).map(|((_, id), ())| id));
                }
                let mut items = Vec::with_capacity(ids.len());
                for id in ids {
                    items.push(read_event(&*tx, id).await?);
                }
                Ok::<_, Error>(Page {
                    items,
                    page: query.page,
                    page_size: query.page_size,
                    total: (drafts.len() + published) as u64,
                })
            })
            .await
    }

    /// A page of published events in start-time order (then id), with their count.
    pub async fn list_events(&self, query: PageQuery) -> Result<Page<Event>> {
        query.validate()?;
        self.store
            .transact(|tx| async move {
                let total = EVENT_COUNT.get(&tx).await?.unwrap_or(0).max(0);
                let order = EVENT_ORDER
                    .range(
                        &tx,
                        EVENT_ORDER
                            .all()
                            .limit(query.offset() + query.page_size as usize),
                    )
                    .await?;
                let mut items = Vec::with_capacity(query.page_size as usize);
                for ((_, id), ()) in order.into_iter().skip(query.offset()) {
                    items.push(read_event(&*tx, id).await?);
                }
                Ok::<_, Error>(Page {
                    items,
                    page: query.page,
                    page_size: query.page_size,
                    total: total as u64,
                })
            })
            .await
    }

    /// How many seats of an event are available, held and sold now.
    pub async fn availability(&self, event_id: u64) -> Result<Availability> {
        let now = self.clock.now();
        let (total, records) = self
            .store
            .transact(|tx| async move {
                let seat_map = self.seat_map(&*tx, event_id).await?;
                let records = SEATS.values(&tx, SEATS.starting_with(&event_id)).await?;
                Ok::<_, Error>((seat_map.map.seats().len() as u32, records))
            })
            .await?;
        let (mut held, mut sold) = (0, 0);
        for record in records {
            match seat_status(&record, now) {
                SeatStatus::Held => held += 1,
                SeatStatus::Sold => sold += 1,
                SeatStatus::Available => {}
            }
        }
        Ok(Availability {
            event_id,
            total,
            available: total - held - sold,
            held,
            sold,
        })
    }

    /// Every seat of an event with its state now; expired holds count as available.
    pub async fn seats(&self, event_id: u64) -> Result<SeatsResponse> {
        Ok(self.seats_with_position(event_id).await?.0)
    }

    /// [`Coordinator::seats`], with the change-log position it is current at (read in the
    /// same transaction): every later change of these seats is in the log after it.
    pub async fn seats_with_position(
        &self,
        event_id: u64,
    ) -> Result<(SeatsResponse, Option<LogPosition>)> {
        let now = self.clock.now();
        let (seat_map, records, position) = self
            .store
            .transact(|tx| async move {
                let seat_map = self.seat_map(&*tx, event_id).await?;
                let records = SEATS.range(&tx, SEATS.starting_with(&event_id)).await?;
                let position = CHANGES.end(&tx).await?;
                Ok::<_, Error>((seat_map, records, position))
            })
            .await?;
        let mut states = vec![SeatStatus::Available; seat_map.map.seats().len()];
        for ((_, ordinal), record) in records {
            if let Some(state) = states.get_mut(ordinal as usize) {
                *state = seat_status(&record, now);
            }
        }
        let seats = SeatsResponse {
            event_id,
            seats: seat_map
                .map
                .seats()
                .iter()
                .zip(states)
                .map(|(seat, state)| SeatView {
                    seat: seat.clone(),
                    state,
                })
                .collect(),
            sections: seat_map.map.places().to_vec(),
        };
        Ok((seats, position))
    }

    /// The seat id that a seed-API `seatNumber` names: a seat id as is, or a 1-based
    /// position in the seat map's order.
    pub async fn resolve_seat(&self, event_id: u64, seat_number: &str) -> Result<String> {
        let Ok(position) = seat_number.parse::<u32>() else {
            return Ok(seat_number.to_string());
        };
        let seat_map = self
            .store
            .transact(|tx| async move { self.seat_map(&*tx, event_id).await })
            .await?;
        position
            .checked_sub(1)
            .and_then(|ordinal| seat_map.map.seat(ordinal))
            .map(|seat| seat.seat_id.clone())
            .ok_or_else(|| {
                Error::Api(ApiError::invalid(format!(
                    "event {event_id} has seats 1 to {}",
                    seat_map.map.seats().len()
                )))
            })
    }

    /// The compiled seat map of an event, from the cache or read in a transaction of its
    /// own (seat maps never change, so it may be read before a booking step's).
    pub(crate) async fn compiled_seat_map(&self, event_id: u64) -> Result<Arc<PricedSeatMap>> {
        if let Some(map) = self.cached_seat_map(event_id) {
            return Ok(map);
        }
        self.store
            .transact(|tx| async move { self.seat_map(&*tx, event_id).await })
            .await
    }

    /// The compiled seat map of an event, from the cache or read through `tx`.
    pub(crate) async fn seat_map(&self, tx: &dyn Tx, event_id: u64) -> Result<Arc<PricedSeatMap>> {
        if let Some(map) = self.cached_seat_map(event_id) {
            return Ok(map);
        }
        let stored = SEAT_MAPS
            .get(tx, &event_id)
            .await?
            .ok_or_else(|| event_not_found(event_id))?;
        let map = Arc::new(PricedSeatMap {
            map: SeatMap::compile(&stored.spec)?,
            currency: stored.currency,
        });
        self.cache_seat_map(event_id, map.clone());
        Ok(map)
    }

    fn cached_seat_map(&self, event_id: u64) -> Option<Arc<PricedSeatMap>> {
        let cache = self.seat_maps.lock().unwrap_or_else(|p| p.into_inner());
        cache.get(&event_id).cloned()
    }

    fn cache_seat_map(&self, event_id: u64, map: Arc<PricedSeatMap>) {
        let mut cache = self.seat_maps.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= SEAT_MAP_CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(event_id, map);
    }
}

/// What a seat record means at `now`.
pub(crate) fn seat_status(record: &SeatRecord, now: Millis) -> SeatStatus {
    match record {
        SeatRecord::Held { expires_at, .. } if *expires_at > now => SeatStatus::Held,
        SeatRecord::Held { .. } => SeatStatus::Available,
        SeatRecord::Sold { .. } => SeatStatus::Sold,
    }
}

/// Records in an event's document whether its waiting room is on, so that the catalogue
/// (and through it the edge) knows; logs `EventUpdated` when that changes, for the
/// indexer to publish it.
pub(crate) async fn set_waiting_room_flag(tx: &dyn Tx, id: u64, on: bool) -> Result<()> {
    let mut event = read_event(tx, id).await?;
    if event.waiting_room == on {
        return Ok(());
    }
    event.waiting_room = on;
    EVENTS.set(tx, &id, &event)?;
    changelog::append(tx, &Change::EventUpdated { event_id: id })?;
    Ok(())
}

pub(crate) fn event_not_found(id: u64) -> Error {
    Error::Api(ApiError::new(ErrorCode::NotFound, format!("no event {id}")))
}

/// Puts `event` in the listing order (and the count) if it is published, or among the
/// drafts.
async fn list(tx: &dyn Tx, event: &Event) -> Result<()> {
    if event.published {
        EVENT_ORDER.set(tx, &(to_millis(event.starts_at), event.id), &())?;
        EVENT_COUNT.add(tx, 1).await?;
    } else {
        EVENT_DRAFTS.set(tx, &event.id, &())?;
    }
    Ok(())
}

/// Takes `event` out of where [`list`] put it.
async fn unlist(tx: &dyn Tx, event: &Event) -> Result<()> {
    if event.published {
        EVENT_ORDER.clear(tx, &(to_millis(event.starts_at), event.id));
        EVENT_COUNT.add(tx, -1).await?;
    } else {
        EVENT_DRAFTS.clear(tx, &event.id);
    }
    Ok(())
}

pub(crate) async fn read_event(tx: &dyn Tx, id: u64) -> Result<Event> {
    EVENTS
        .get(tx, &id)
        .await?
        .ok_or_else(|| event_not_found(id))
}
