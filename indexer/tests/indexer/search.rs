//! Search: relevance, typo tolerance, filters, paging; cross-checked against a brute-force
//! scan of the events where the answer is exact.

use std::collections::HashSet;

use onsale_indexer::{Error, Snapshot};
use onsale_model::{ErrorCode, Event};

use crate::common::{day, event, every_result, ids, in_list_order, open, query, search, words};
use onsale_indexer::synthetic as catalogue;

/// A small catalogue where the right answers are known by heart.
fn fixture() -> Vec<Event> {
    let concert = |id, name: &str, performer: &str, city: &str, venue: &str, at| Event {
        performers: vec![performer.to_string()],
        city: city.to_string(),
        venue: venue.to_string(),
        starts_at: day(at),
        ..event(id, name)
    };
    vec![
        concert(1, "Weekends with Adele", "Adele", "London", "The O2", 10),
        Event {
            category: "Concert".into(),
            ..concert(2, "Adele Live 2027", "Adele", "Berlin", "Uber Arena", 3)
        },
        concert(
            3,
            "Adele Tribute Night",
            "The Skyfall Band",
            "London",
            "Roundhouse",
            1,
        ),
        Event {
            description: "Songs of Adele, Amy and Aretha".into(),
            ..concert(
                4,
                "Soul Evening",
                "Mara Quinn",
                "Springfield",
                "Town Hall",
                2,
            )
        },
        Event {
            category: "dance".into(),
            ..concert(
                5,
                "Flamenco Garden",
                "Adela Ruiz",
                "Madrid",
                "Teatro Real",
                4,
            )
        },
        Event {
            category: "CONCERT".into(),
            ..concert(
                6,
                "Metallica: M72 World Tour",
                "Metallica",
                "Oslo",
                "Spektrum",
                5,
            )
        },
        Event {
            category: "classical".into(),
            ..concert(
                7,
                "Beethoven Symphony Night",
                "Royal Philharmonic",
                "London",
                "Royal Albert Hall",
                6,
            )
        },
        Event {
            category: "comedy".into(),
            ..concert(
                8,
                "Seinfeld Live",
                "Jerry Seinfeld",
                "New York",
                "Beacon Theatre",
                7,
            )
        },
        Event {
            category: "Sports".into(),
            performers: vec!["Los Angeles Lakers".into(), "Boston Celtics".into()],
            ..concert(
                9,
                "Lakers vs Celtics",
                "",
                "Los Angeles",
                "Crypto.com Arena",
                8,
            )
        },
        concert(
            10,
            "Chanson Night",
            "Ada Lovelace Quartet",
            "Paris",
            "Le London Club",
            9,
        ),
        Event {
            category: "Stand-up Comedy".into(),
            ..concert(
                11,
                "Late Laughs",
                "Ali Wong",
                "New York",
                "Comedy Cellar",
                11,
            )
        },
    ]
}

#[test]
fn a_performer_query_ranks_that_performers_events_first() {
    let snapshot = open(&fixture());
    let found = search(&snapshot, "q=adele");
    let order = ids(&found);
    assert_eq!(
        order[..2].iter().collect::<HashSet<_>>(),
        HashSet::from([&1, &2])
    );
    // Then the event named after her, then the one that mentions her. Adela Ruiz is a typo
    // away, but "adele" is a word the catalogue has: no typo, no near misses.
    assert_eq!(order[2..], [3, 4]);
    assert_eq!(found.total, 4);
    assert_eq!(ids(&search(&snapshot, "q=Adela")), [5]);
    // A word no event has is a typo: near misses, performers first.
    let near = ids(&search(&snapshot, "q=adel"));
    assert_eq!(
        near[..2].iter().collect::<HashSet<_>>(),
        HashSet::from([&1, &2])
    );
    assert_eq!(near[2..], [5, 3]); // performer Adela Ruiz, then the name Adele Tribute Night
    // Any case, accents and punctuation.
    assert_eq!(ids(&search(&snapshot, "q=METALLICA")), [6]);
}

#[test]
fn a_one_letter_typo_still_finds_performers_and_names() {
    let snapshot = open(&fixture());
    for (typo, expected) in [
        ("q=adle", vec![1, 2]),            // a letter missing (4 letters: one edit)
        ("q=Metalica", vec![6]),           // a letter missing (9 letters: up to two edits)
        ("q=Seinfield", vec![8]),          // a letter too many
        ("q=Flamenko", vec![5]),           // a letter wrong, in an event name
        ("q=Beethoven+Symphnoy", vec![7]), // two letters swapped count as one edit
        ("q=Lakres", vec![9]),
    ] {
        let found = ids(&search(&snapshot, typo));
        assert_eq!(
            found[..expected.len()].iter().collect::<HashSet<_>>(),
            expected.iter().collect::<HashSet<_>>(),
            "{typo}: {found:?}"
        );
    }
    // Three letters leave no room for a typo.
    assert_eq!(search(&snapshot, "q=zzz").total, 0);
}

#[test]
fn a_misspelt_city_or_venue_in_the_main_box_still_finds_its_events() {
    let snapshot = open(&fixture());
    assert_eq!(
        ids(&search(&snapshot, "q=Berln")),
        [2],
        "a city a letter off"
    );
    assert_eq!(
        ids(&search(&snapshot, "q=Madird")),
        [5],
        "two letters swapped"
    );
    assert_eq!(
        ids(&search(&snapshot, "q=Spektrun")),
        [6],
        "a venue a letter off"
    );
}

#[test]
fn sort_by_date_lists_the_same_matches_soonest_first() {
    let events = fixture();
    let snapshot = open(&events);
    for words in ["q=adele", "q=london", "q=adel", "q=night"] {
        let by_score = ids(&search(&snapshot, words));
        let by_date = search(&snapshot, &format!("{words}&sort=date"));
        assert_eq!(by_date.total as usize, by_score.len(), "{words}");
        let expected = in_list_order(events.iter().filter(|e| by_score.contains(&e.id)));
        assert_eq!(ids(&by_date), expected, "{words}");
    }
    // Paged, the pages follow one another.
    let first = ids(&search(&snapshot, "q=adele&sort=date&page_size=3"));
    let second = ids(&search(&snapshot, "q=adele&sort=date&page_size=3&page=2"));
    let all = ids(&search(&snapshot, "q=adele&sort=date"));
    assert_eq!([first, second].concat(), all);
    assert_eq!(
        ids(&search(&snapshot, "q=adele&sort=relevance")),
        ids(&search(&snapshot, "q=adele"))
    );
    assert!(
        serde_urlencoded::from_str::<onsale_indexer::SearchQuery>("sort=newest").is_err(),
        "an unknown order is refused"
    );
}

#[test]
fn every_word_must_match_unless_no_event_has_them_all() {
    let snapshot = open(&fixture());
    assert_eq!(ids(&search(&snapshot, "q=adele+berlin")), [2]);
    assert_eq!(ids(&search(&snapshot, "q=london+royal")), [7]);
    // Nothing has both words: events with either, best first.
    let found = search(&snapshot, "q=metallica+paris");
    assert_eq!(ids(&found), [6, 10]);
    // The start date's year, month and weekday are words too.
    assert_eq!(ids(&search(&snapshot, "q=seinfeld+june+2027")), [8]);
}

#[test]
fn filters_narrow_and_combine() {
    let snapshot = open(&fixture());
    let cases = [
        // Category: the whole category, any case.
        ("category=concert", vec![3, 4, 2, 6, 10, 1]),
        ("type=CONCERT", vec![3, 4, 2, 6, 10, 1]),
        ("category=stand+up+comedy", vec![11]),
        ("category=comedy", vec![8]),
        ("category=opera", vec![]),
        // Location: every word in the city or the venue.
        ("location=London", vec![3, 7, 10, 1]),
        ("city=new+york", vec![8, 11]),
        ("location=Royal+Albert+Hall+London", vec![7]),
        ("location=york+paris", vec![]),
        // Performer and name: every word in that field; a word no event has is a typo.
        ("performer=adele", vec![2, 1]),
        ("performerName=Adelle", vec![2, 1]),
        ("performer=celtics", vec![9]),
        ("name=live", vec![2, 8]),
        ("eventName=Symphnoy+night", vec![7]),
        // Start time, inclusive; a date alone is the whole day (UTC).
        ("from=2027-06-04&to=2027-06-06", vec![2, 5, 6]),
        (
            "from=2027-06-04T20:00:00Z&to=2027-06-05T20:00:00Z",
            vec![2, 5],
        ),
        ("from=2027-06-04T20:00:01Z&to=2027-06-05T19:59:59Z", vec![]),
        ("to=2027-06-02", vec![3]),
        ("from=2027-06-11", vec![1, 11]),
        // Together: all of them.
        (
            "category=concert&location=london&from=2027-06-05",
            vec![10, 1],
        ),
        ("performer=adele&to=2027-06-05", vec![2]),
        ("q=night&location=london", vec![3, 7, 10]), // 10 is at Le London Club
        ("q=adele&category=concert&location=berlin", vec![2]),
    ];
    for (pairs, expected) in cases {
        let found = search(&snapshot, pairs);
        if pairs.starts_with("q=") {
            assert_eq!(
                ids(&found).iter().collect::<HashSet<_>>(),
                expected.iter().collect::<HashSet<_>>(),
                "{pairs}"
            );
        } else {
            // Without q, matches come in list order (start time, then id).
            assert_eq!(ids(&found), expected, "{pairs}");
        }
        assert_eq!(found.total, expected.len() as u64, "{pairs}");
    }
}

#[test]
fn invalid_searches_are_invalid_request_errors() {
    let snapshot = open(&fixture());
    for pairs in [
        "page=0",
        "page_size=101",
        "from=next+week",
        "from=2027-06-10&to=2027-06-01",
        "performer=%3F%3F",
    ] {
        match snapshot.search(&query(pairs)) {
            Err(Error::Invalid(error)) => assert_eq!(error.code, ErrorCode::InvalidRequest),
            other => panic!("{pairs}: {other:?}"),
        }
    }
}

#[test]
fn no_criteria_is_the_list_and_far_pages_are_empty() {
    let snapshot = open(&fixture());
    let all = search(&snapshot, "page_size=100");
    assert_eq!(ids(&all), in_list_order(&fixture()));
    let far = search(&snapshot, "q=adele&page=4294967295&page_size=100");
    assert!(far.items.is_empty());
    assert_eq!(far.total, 4);
}

/// Brute force: the events a filter-only search must return, in list order.
fn oracle(events: &[Event], keep: impl Fn(&Event) -> bool) -> Vec<u64> {
    in_list_order(events.iter().filter(|event| keep(event)))
}

fn has_every_word(haystack: &[String], needle: &str) -> bool {
    words(needle).iter().all(|word| haystack.contains(word))
}

#[test]
fn filters_agree_with_a_scan_of_a_generated_catalogue() {
    let events = catalogue::generate(3_000);
    let snapshot = open(&events);
    let performer = events[17].performers[0].clone();
    let name_words = events[99]
        .name
        .split(' ')
        .rev()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ");
    let from = events[5].starts_at;
    let to = from + time::Duration::days(60);
    let rfc3339 = |at: time::OffsetDateTime| {
        at.format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    let place = |event: &Event| [words(&event.city), words(&event.venue)].concat();

    let cases: Vec<(String, Vec<u64>)> = vec![
        (
            "category=THEATRE".into(),
            oracle(&events, |e| e.category == "theatre"),
        ),
        (
            "location=new+york".into(),
            oracle(&events, |e| has_every_word(&place(e), "new york")),
        ),
        (
            "location=hall".into(),
            oracle(&events, |e| has_every_word(&place(e), "hall")),
        ),
        (
            format!("performer={performer}"),
            oracle(&events, |e| {
                has_every_word(&words(&e.performers.join(" / ")), &performer)
            }),
        ),
        (
            format!("name={name_words}"),
            oracle(&events, |e| has_every_word(&words(&e.name), &name_words)),
        ),
        (
            format!("from={}&to={}", rfc3339(from), rfc3339(to)),
            oracle(&events, |e| from <= e.starts_at && e.starts_at <= to),
        ),
        (
            format!(
                "category=concert&location=berlin&from={}&to={}",
                rfc3339(from),
                rfc3339(to + time::Duration::days(200))
            ),
            oracle(&events, |e| {
                e.category == "concert"
                    && e.city == "Berlin"
                    && from <= e.starts_at
                    && e.starts_at <= to + time::Duration::days(200)
            }),
        ),
    ];
    for (pairs, expected) in cases {
        assert!(!expected.is_empty(), "{pairs}: the case tests nothing");
        assert_eq!(every_result(&snapshot, &pairs, 7), expected, "{pairs}");
    }
}

#[test]
fn one_word_totals_agree_with_a_scan_of_a_generated_catalogue() {
    let events = catalogue::generate(3_000);
    let snapshot = open(&events);
    let every_word = |event: &Event| -> Vec<String> {
        let at = event.starts_at;
        let date = format!("{} {} {}", at.year(), at.month(), at.weekday());
        [
            &event.name,
            &event.category,
            &event.description,
            &event.venue,
            &event.city,
            &date,
            &event.performers.join(" / "),
        ]
        .iter()
        .flat_map(|text| words(text))
        .collect()
    };
    let description_word = words(&events[42].description)
        .into_iter()
        .max_by_key(String::len)
        .expect("a description with words");
    let performer_word = words(&events[7].performers[0]).remove(0);
    for word in [
        "berlin".to_string(),
        "concert".to_string(),
        "march".to_string(),
        "2027".to_string(),
        "the".to_string(),
        description_word,
        performer_word,
        "zzq".to_string(),
    ] {
        let mut expected = oracle(&events, |e| every_word(e).contains(&word));
        let found = search(&snapshot, &format!("q={word}"));
        assert_eq!(found.total, expected.len() as u64, "{word}");
        let mut results = every_result(&snapshot, &format!("q={word}"), 100);
        results.sort_unstable();
        expected.sort_unstable();
        assert_eq!(results, expected, "{word}");
    }
}

#[test]
fn paging_through_a_ranked_search_visits_each_result_once_in_one_order() {
    let events = catalogue::generate(3_000);
    let snapshot = open(&events);
    for pairs in [
        "q=nights",
        "q=golden+tour",
        "q=the&location=london",
        "q=gallager",
    ] {
        let small_pages = every_result(&snapshot, pairs, 9);
        let big_pages = every_result(&snapshot, pairs, 100);
        assert!(small_pages.len() > 9, "{pairs}: too few results to page");
        assert_eq!(
            small_pages, big_pages,
            "{pairs}: pages disagree on the order"
        );
    }
}

#[test]
fn a_performers_events_come_first_in_a_generated_catalogue() {
    let events = catalogue::generate(3_000);
    let snapshot: Snapshot = open(&events);
    // Some performers share a first or last name with others: their events match every
    // word too, but must come after the named performer's own.
    for at in [0, 17, 123, 999, 2_500] {
        let performer = &events[at].performers[0];
        let theirs: HashSet<u64> = events
            .iter()
            .filter(|event| event.performers.contains(performer))
            .map(|event| event.id)
            .collect();
        let found = every_result(&snapshot, &format!("q={performer}"), 100);
        let first: HashSet<u64> = found[..theirs.len()].iter().copied().collect();
        assert_eq!(first, theirs, "q={performer}");
    }
}

#[test]
fn a_search_that_finds_nothing_suggests_the_catalogues_spelling() {
    let snapshot = open(&fixture());
    // Two edits from "flamenco": further than a search forgives a 7-letter word.
    assert_eq!(search(&snapshot, "q=Flamnko").total, 0);
    let suggest = |text: &str| snapshot.spelling_suggestion(text).unwrap();
    assert_eq!(suggest("Flamnko"), Some("flamenco".to_string()));
    assert_eq!(
        suggest("Flamnko in London"),
        Some("flamenco in london".to_string()),
        "known words stay as they are"
    );
    let suggested = suggest("Flamnko").unwrap();
    assert!(search(&snapshot, &format!("q={suggested}")).total > 0);
    assert_eq!(suggest("Adele London"), None, "nothing to correct");
    assert_eq!(suggest("zzzzzzzz"), None, "nothing near enough");
}
