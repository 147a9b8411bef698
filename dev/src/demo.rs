//! The demo catalogue `onsale dev` loads: a few hundred events over several cities and
//! categories, most with small seat maps and a few arenas with thousands of seats. It is
//! generated from a fixed seed, so every developer sees the same catalogue.

use onsale_model::{EventDetails, NewEvent, RowSpec, SeatMapSpec, SectionPosition, SectionSpec};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use time::OffsetDateTime;

/// `(city, venues, currency, time zone)`.
const CITIES: &[(&str, &[&str], &str, &str)] = &[
    (
        "Berlin",
        &["Uber Arena", "Tempodrom", "Philharmonie"],
        "EUR",
        "Europe/Berlin",
    ),
    (
        "London",
        &["The O2", "Royal Albert Hall", "Wembley Stadium"],
        "GBP",
        "Europe/London",
    ),
    (
        "Paris",
        &["Accor Arena", "L'Olympia", "Palais Garnier"],
        "EUR",
        "Europe/Paris",
    ),
    (
        "New York",
        &["Madison Square Garden", "Carnegie Hall", "Barclays Center"],
        "USD",
        "America/New_York",
    ),
    (
        "Tokyo",
        &["Nippon Budokan", "Tokyo Dome"],
        "JPY",
        "Asia/Tokyo",
    ),
    (
        "Madrid",
        &["WiZink Center", "Teatro Real"],
        "EUR",
        "Europe/Madrid",
    ),
    (
        "Amsterdam",
        &["Ziggo Dome", "Concertgebouw", "Paradiso"],
        "EUR",
        "Europe/Amsterdam",
    ),
    (
        "Chicago",
        &["United Center", "Chicago Theatre"],
        "USD",
        "America/Chicago",
    ),
];

const CATEGORIES: &[(&str, &[&str])] = &[
    (
        "concert",
        &["World Tour", "Live", "Unplugged", "Farewell Tour"],
    ),
    ("theatre", &["Premiere", "Gala Night", "Matinee"]),
    ("sports", &["Final", "Derby", "Championship Round"]),
    ("comedy", &["Stand-up Special", "Late Show"]),
    ("opera", &["Opening Night", "Season Gala"]),
    ("festival", &["Weekend", "Day Pass Night"]),
    ("family", &["Holiday Show", "Sunday Special"]),
];

const FIRST: &[&str] = &[
    "Aurora", "Velvet", "Neon", "Silver", "Midnight", "Crimson", "Golden", "Electric", "Paper",
    "Wild", "Northern", "Lunar", "Echo", "Atlas", "Coral", "Iron",
];

const SECOND: &[&str] = &[
    "Foxes",
    "Lights",
    "Harbour",
    "Orchestra",
    "Collective",
    "Riders",
    "Tides",
    "Sparrows",
    "Kings",
    "Quartet",
    "Engines",
    "Dreamers",
    "Lanterns",
    "Wolves",
    "Circus",
    "Choir",
];

/// The demo catalogue: `count` events, the same every time.
pub fn catalogue(count: usize) -> Vec<NewEvent> {
    let mut rng = StdRng::seed_from_u64(0x6f6e_7361_6c65);
    (0..count).map(|i| demo_event(i, &mut rng)).collect()
}

/// `days` after 8 January 2027 at 19:30 plus `half_hours`, local time in `zone`.
fn local_evening(zone: &str, days: i64, half_hours: i64) -> OffsetDateTime {
    let civil = jiff::civil::date(2027, 1, 8)
        .at(19, 30, 0, 0)
        .checked_add(jiff::Span::new().days(days).minutes(30 * half_hours))
        .expect("demo dates are in range");
    let instant = civil
        .in_tz(zone)
        .expect("demo time zones exist")
        .timestamp();
    OffsetDateTime::from_unix_timestamp(instant.as_second()).expect("demo dates are in range")
}

fn demo_event(i: usize, rng: &mut StdRng) -> NewEvent {
    let (city, venues, currency, zone) = CITIES[i % CITIES.len()];
    let venue = venues[rng.random_range(0..venues.len())];
    let (category, suffixes) = CATEGORIES[rng.random_range(0..CATEGORIES.len())];
    let performer = format!(
        "{} {}",
        FIRST[rng.random_range(0..FIRST.len())],
        SECOND[rng.random_range(0..SECOND.len())]
    );
    let mut performers = vec![performer.clone()];
    if rng.random_bool(0.3) {
        performers.push(format!(
            "{} {}",
            FIRST[rng.random_range(0..FIRST.len())],
            SECOND[rng.random_range(0..SECOND.len())]
        ));
    }
    let suffix = suffixes[rng.random_range(0..suffixes.len())];
    let starts_at = local_evening(zone, rng.random_range(0..365), rng.random_range(0..6));
    let arena = i.is_multiple_of(60);
    // Yen have no minor unit: 4,000 yen is about what 25 euros are in cents.
    let base_price: u64 = if currency == "JPY" { 4_000 } else { 2_500 };
    NewEvent {
        details: EventDetails {
            name: format!("{performer}: {suffix}"),
            category: category.to_string(),
            description: format!(
                "{performer} bring their {} to {venue}, {city}. Doors open an hour before \
                 the show; every ticket is a reserved seat.",
                suffix.to_lowercase()
            ),
            performers,
            venue: venue.to_string(),
            city: city.to_string(),
            starts_at,
            time_zone: Some(zone.to_string()),
            image_url: format!("/static/demo/{}.svg", category),
            currency: currency.to_string(),
            max_seats_per_account: None,
            published: None,
        },
        seat_map: if arena {
            arena_map(base_price)
        } else {
            hall_map(base_price, rng)
        },
    }
}

/// Eight sections of 25 rows of 40 seats: 8,000 seats.
fn arena_map(base: u64) -> SeatMapSpec {
    // (id, name, place on the plan: x, y, width, height), the stage at the top.
    let sections = [
        ("FLR", "Floor", (30, 10, 40, 32)),
        ("L1A", "Lower Tier Left", (2, 10, 26, 42)),
        ("L1B", "Lower Tier Centre", (30, 44, 40, 18)),
        ("L1C", "Lower Tier Right", (72, 10, 26, 42)),
        ("L2A", "Upper Tier Left", (2, 54, 26, 30)),
        ("L2B", "Upper Tier Centre", (30, 64, 40, 20)),
        ("L2C", "Upper Tier Right", (72, 54, 26, 30)),
        ("TOP", "Gallery", (10, 86, 80, 13)),
    ];
    SeatMapSpec {
        sections: sections
            .iter()
            .enumerate()
            .map(|(i, (id, name, (x, y, width, height)))| SectionSpec {
                id: id.to_string(),
                name: name.to_string(),
                price: base * (8 - i as u64),
                rows: rows(25, 40),
                position: Some(SectionPosition {
                    x: *x,
                    y: *y,
                    width: *width,
                    height: *height,
                }),
            })
            .collect(),
    }
}

/// Stalls and balcony: a hundred to a few hundred seats.
fn hall_map(base: u64, rng: &mut StdRng) -> SeatMapSpec {
    SeatMapSpec {
        sections: vec![
            SectionSpec {
                id: "STL".into(),
                name: "Stalls".into(),
                price: base * 3,
                rows: rows(rng.random_range(4..10), rng.random_range(10..20)),
                position: None,
            },
            SectionSpec {
                id: "BAL".into(),
                name: "Balcony".into(),
                price: base * 2,
                rows: rows(rng.random_range(2..6), rng.random_range(10..16)),
                position: None,
            },
        ],
    }
}

fn rows(count: u32, seats: u32) -> Vec<RowSpec> {
    (0..count)
        .map(|r| RowSpec {
            name: row_name(r),
            seats,
            price: None,
        })
        .collect()
}

/// A, B, ..., Z, AA, AB, ...
fn row_name(index: u32) -> String {
    let mut n = index + 1;
    let mut name = Vec::new();
    while n > 0 {
        let rem = (n - 1) % 26;
        name.push(b'A' + rem as u8);
        n = (n - 1) / 26;
    }
    name.reverse();
    String::from_utf8(name).expect("ASCII")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_is_valid_and_varied() {
        let events = catalogue(300);
        assert_eq!(events.len(), 300);
        let mut seats = Vec::new();
        for event in &events {
            seats.push(event.validate().expect("valid demo event").seats().len());
        }
        assert!(seats.iter().filter(|&&n| n >= 8_000).count() >= 5);
        let cities: std::collections::HashSet<_> =
            events.iter().map(|e| e.details.city.as_str()).collect();
        assert_eq!(cities.len(), CITIES.len());
        assert_eq!(row_name(0), "A");
        assert_eq!(row_name(26), "AA");
        assert_eq!(catalogue(3), catalogue(3), "deterministic");
    }
}
