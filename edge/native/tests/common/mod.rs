//! What the edge's tests share.

use onsale_model::Event;

/// A catalogue event numbered `id`, starting `id` hours after the epoch.
pub fn event(id: u64) -> Event {
    Event {
        id,
        name: format!("Event number {id}"),
        category: "concert".into(),
        description: "An evening of music with a description long enough to weigh something."
            .into(),
        performers: vec![format!("Performer {id}")],
        venue: "Hall".into(),
        city: "Town".into(),
        starts_at: time::OffsetDateTime::UNIX_EPOCH + time::Duration::hours(id as i64),
        image_url: "/static/demo/concert.svg".into(),
        currency: "EUR".into(),
        price_min: 100,
        price_max: 200,
        seat_count: 10,
        waiting_room: false,
        time_zone: "UTC".into(),
        time_zone_abbreviation: "UTC".into(),
        max_seats_per_account: onsale_model::DEFAULT_MAX_SEATS_PER_ACCOUNT,
        published: true,
    }
}
