//! A deterministic synthetic catalogue: varied cities, venues, categories, thousands of
//! performers and event names, start times over two years. For the tests, the search
//! benchmark and `onsale loadgen catalogue` (a catalogue of any size for the edge's
//! benchmarks).

use onsale_model::Event;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const CITIES: &[(&str, &[&str])] = &[
    (
        "Berlin",
        &["Uber Arena", "Tempodrom", "Columbiahalle", "Waldbuhne"],
    ),
    (
        "Paris",
        &["Accor Arena", "Olympia", "Zenith Paris", "La Cigale"],
    ),
    (
        "London",
        &[
            "The O2",
            "Royal Albert Hall",
            "Wembley Stadium",
            "Roundhouse",
        ],
    ),
    (
        "Amsterdam",
        &["Ziggo Dome", "Paradiso", "Melkweg", "Concertgebouw"],
    ),
    (
        "New York",
        &[
            "Madison Square Garden",
            "Radio City Music Hall",
            "Beacon Theatre",
        ],
    ),
    (
        "Los Angeles",
        &["Hollywood Bowl", "The Forum", "Greek Theatre"],
    ),
    ("Tokyo", &["Budokan", "Tokyo Dome", "Zepp Haneda"]),
    (
        "Sydney",
        &["Opera House", "Qudos Bank Arena", "Enmore Theatre"],
    ),
    ("Madrid", &["WiZink Center", "Teatro Real", "La Riviera"]),
    (
        "Rome",
        &["Palazzo dello Sport", "Auditorium Parco della Musica"],
    ),
    ("Oslo", &["Spektrum", "Sentrum Scene", "Operahuset"]),
    ("Toronto", &["Scotiabank Arena", "Massey Hall", "History"]),
];

const CATEGORIES: &[&str] = &[
    "concert", "theatre", "sports", "comedy", "opera", "festival", "family", "dance",
];

const FIRST: &[&str] = &[
    "Ada",
    "Bruno",
    "Clara",
    "Dario",
    "Elena",
    "Felix",
    "Greta",
    "Hugo",
    "Ines",
    "Jonas",
    "Kira",
    "Lars",
    "Mira",
    "Nico",
    "Olga",
    "Pablo",
    "Quinn",
    "Rosa",
    "Sven",
    "Tara",
    "Umberto",
    "Vera",
    "Wanda",
    "Xavier",
    "Yara",
    "Zoltan",
    "Amara",
    "Bastian",
    "Celine",
    "Dmitri",
    "Esther",
    "Fabio",
    "Gloria",
    "Henrik",
    "Isolde",
    "Jasper",
    "Katja",
    "Lorenzo",
    "Magnus",
    "Nadia",
    "Oskar",
    "Priya",
    "Rafael",
    "Selma",
    "Tobias",
    "Ulla",
    "Viktor",
    "Wilhelmina",
    "Yusuf",
    "Zelda",
];

const LAST: &[&str] = &[
    "Andersen",
    "Bellucci",
    "Castellano",
    "Dubois",
    "Eriksen",
    "Fontaine",
    "Gallagher",
    "Hartmann",
    "Ivanova",
    "Jablonski",
    "Kowalczyk",
    "Lindqvist",
    "Moreau",
    "Nakamura",
    "Okafor",
    "Petrov",
    "Quintero",
    "Rasmussen",
    "Schneider",
    "Takahashi",
    "Urquhart",
    "Valentini",
    "Whitfield",
    "Yamamoto",
    "Zielinski",
    "Abernathy",
    "Blackwood",
    "Carmichael",
    "Delacroix",
    "Everhart",
    "Fitzgerald",
    "Greenberg",
    "Holloway",
    "Iglesias",
    "Jorgensen",
    "Kensington",
    "Lombardi",
    "Montgomery",
    "Novak",
    "Ostrowski",
    "Pemberton",
    "Rossetti",
    "Sinclair",
    "Thornbury",
    "Vasquez",
    "Wainwright",
    "Xenakis",
    "Youngblood",
    "Zamora",
    "Ashcroft",
    "Brannigan",
    "Cavendish",
    "Donovan",
    "Ellington",
    "Falconer",
    "Gainsborough",
    "Hawthorne",
    "Ingram",
    "Kilpatrick",
    "Llewellyn",
];

const ADJECTIVES: &[&str] = &[
    "Aurora", "Velvet", "Electric", "Golden", "Midnight", "Silver", "Crimson", "Wild", "Neon",
    "Northern", "Hidden", "Burning", "Silent", "Endless", "Frozen", "Broken", "Lucky", "Savage",
    "Gentle", "Cosmic", "Royal", "Lonely", "Restless", "Scarlet", "Painted", "Fading", "Rising",
    "Hollow", "Brave", "Emerald", "Sapphire", "Thunder", "Paper", "Iron", "Crystal", "Secret",
    "Summer", "Winter", "Autumn", "Spring",
];

const NOUNS: &[&str] = &[
    "Nights",
    "Hearts",
    "Dreams",
    "Rivers",
    "Echoes",
    "Horizons",
    "Shadows",
    "Lights",
    "Voices",
    "Wolves",
    "Tides",
    "Mountains",
    "Gardens",
    "Stories",
    "Storms",
    "Mirrors",
    "Roads",
    "Skies",
    "Flames",
    "Bridges",
    "Oceans",
    "Forests",
    "Machines",
    "Rebels",
    "Angels",
    "Giants",
    "Ghosts",
    "Lanterns",
    "Pilots",
    "Kings",
    "Queens",
    "Strangers",
    "Sparrows",
    "Comets",
    "Harbours",
    "Islands",
    "Engines",
    "Whispers",
    "Thrones",
    "Waves",
];

const KINDS: &[&str] = &[
    "Tour",
    "Live",
    "Festival",
    "Gala",
    "Showcase",
    "Revue",
    "Experience",
    "Sessions",
    "Spectacular",
    "Weekend",
    "Matinee",
    "Encore",
];

const FILLER: &[&str] = &[
    "An evening to remember.",
    "Doors open one hour before the show.",
    "Special guests to be announced.",
    "Suitable for all ages.",
    "Limited seating, book early.",
    "Featuring songs from the new album.",
    "A night of laughter and surprises.",
    "Back by popular demand.",
];

/// SplitMix64: small, fast and the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// `count` events with ids 1 to `count`, the same on every call.
pub fn generate(count: usize) -> Vec<Event> {
    let mut rng = Rng(0x0115_a1e5);
    // Performers: solo artists and bands; a few thousand, some far more popular than others.
    let performers: Vec<String> = (0..6000)
        .map(|i| {
            if i % 4 == 3 {
                format!("The {} {}", rng.pick(ADJECTIVES), rng.pick(NOUNS))
            } else {
                format!("{} {}", rng.pick(FIRST), rng.pick(LAST))
            }
        })
        .collect();
    let start: OffsetDateTime = datetime!(2027-01-01 00:00 UTC);
    (1..=count as u64)
        .map(|id| {
            let (city, venues) = CITIES[rng.below(CITIES.len())];
            let venue = rng.pick(venues);
            let category = rng.pick(CATEGORIES);
            // Squaring skews the choice towards the first performers: popular ones.
            let popular = |rng: &mut Rng| {
                let r = rng.below(performers.len() * performers.len());
                performers[performers.len() - 1 - r.isqrt()].clone()
            };
            let lineup: Vec<String> = (0..1 + rng.below(3)).map(|_| popular(&mut rng)).collect();
            let name = if rng.below(3) == 0 {
                format!(
                    "{}: {} {} {}",
                    lineup[0],
                    rng.pick(ADJECTIVES),
                    rng.pick(NOUNS),
                    rng.pick(KINDS)
                )
            } else {
                format!(
                    "{} {} {}",
                    rng.pick(ADJECTIVES),
                    rng.pick(NOUNS),
                    rng.pick(KINDS)
                )
            };
            let description = format!(
                "{} brings {} {} to {} in {}. {}",
                lineup.join(" and "),
                rng.pick(ADJECTIVES).to_lowercase(),
                rng.pick(NOUNS).to_lowercase(),
                venue,
                city,
                rng.pick(FILLER),
            );
            // Two years of start times on the quarter hour; some share a minute.
            let minutes = rng.below(2 * 365 * 24 * 4) as i64 * 15;
            let price_min = 1500 + rng.below(60) as u64 * 100;
            Event {
                id,
                name,
                category: category.to_string(),
                description,
                performers: lineup,
                venue: venue.to_string(),
                city: city.to_string(),
                starts_at: start + Duration::minutes(minutes),
                image_url: format!("https://img.example/events/{id}.jpg"),
                currency: "EUR".to_string(),
                price_min,
                price_max: price_min * 3,
                seat_count: 500 + rng.below(20_000) as u32,
                waiting_room: false,
                time_zone: "UTC".into(),
                time_zone_abbreviation: "UTC".into(),
                max_seats_per_account: 8,
                published: true,
            }
        })
        .collect()
}
