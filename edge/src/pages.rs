//! The HTML pages a person uses: the event list with a search box, search results and an
//! event page with its live seat map, and the waiting room. Plain server-rendered HTML
//! that works on any phone and from any cache; the seat map and the queue position are
//! drawn by the pages' script (`assets/onsale.js`). Pages carry no inline script or style:
//! their look is the served stylesheet (`assets/onsale.css`), so the Content-Security-Policy
//! can allow the site's own files only.

use std::fmt::Write;

use onsale_indexer::Snapshot;
use onsale_model::display::{escape, local_start, price};
use onsale_model::{ApiError, ErrorCode, Event, Page};

use crate::http::EdgeResponse;

use onsale_indexer::layout::EVERY_REGION;
use onsale_indexer::{SearchOrder, SearchQuery};

use crate::assets;

/// When an event starts, in its venue's local time with the zone's abbreviation:
/// `Sat 1 May 2027, 19:30 CEST` (the event document keeps both, so no time zone
/// database is needed here).
fn when(event: &Event) -> String {
    local_start(event.starts_at, &event.time_zone_abbreviation)
}

/// A whole page: the header (the site's name, "My tickets", and the signed-in buyer's
/// notifications, which the pages' script fills in), `body`, the stylesheet and the
/// script.
fn layout(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{} · onsale</title><link rel=\"icon\" href=\"{}\" type=\"image/svg+xml\">\
         <link rel=\"stylesheet\" href=\"{}\"><script src=\"{}\" defer></script></head>\
         <body><header><a href=\"/\" class=\"brand\">onsale</a><nav aria-label=\"Account\">\
         <a href=\"/me/tickets\">My tickets</a><span id=\"header-account\"></span></nav></header>\
         <main>{body}</main></body></html>",
        escape(title),
        assets::favicon_path(),
        assets::stylesheet_path(),
        assets::script_path(),
    )
}

/// The search box: free text, the category (one of `categories`, the catalogue's), a
/// city or venue, a labelled date range and the order, filled in from `query`.
fn search_form(query: &SearchQuery, categories: &[String], region: Option<&str>) -> String {
    let value = |v: &Option<String>| escape(v.as_deref().unwrap_or_default());
    let chosen = query.category.as_deref().unwrap_or_default();
    let mut options = String::from("<option value=\"\">Any category</option>");
    for category in categories {
        let _ = write!(
            options,
            "<option value=\"{0}\"{1}>{2}</option>",
            escape(category),
            if category.eq_ignore_ascii_case(chosen) {
                " selected"
            } else {
                ""
            },
            escape(&capitalized(category)),
        );
    }
    let by_relevance = query.sort == Some(SearchOrder::Relevance);
    format!(
        "<form class=\"search\" action=\"/search\" method=\"get\" role=\"search\">\
         <input name=\"q\" placeholder=\"Search events, artists, venues\" aria-label=\"Search\" value=\"{}\">\
         <select name=\"category\" aria-label=\"Category\">{options}</select>\
         <input name=\"location\" placeholder=\"City or venue\" aria-label=\"City or venue\" value=\"{}\">\
         <label>From <input name=\"from\" type=\"date\" value=\"{}\"></label>\
         <label>To <input name=\"to\" type=\"date\" value=\"{}\"></label>\
         <label>Sort <select name=\"sort\"><option value=\"date\">Soonest first</option>\
         <option value=\"relevance\"{}>Best match</option></select></label>\
         {}<button type=\"submit\">Search</button></form>",
        value(&query.q),
        value(&query.location),
        value(&query.from),
        value(&query.to),
        if by_relevance { " selected" } else { "" },
        region.map_or_else(String::new, |region| format!(
            "<input type=\"hidden\" name=\"region\" value=\"{}\">",
            escape(region)
        )),
    )
}

/// The region a page shows, for its links and its form: `None` where the catalogue has
/// no regions (the parameter would mean nothing).
fn shown_region(snapshot: &Snapshot) -> Option<&str> {
    if snapshot.regions().is_empty() {
        return None;
    }
    Some(snapshot.region().unwrap_or(EVERY_REGION))
}

/// The regions to choose between (every event, then each region), the one shown marked;
/// `link` makes a choice's address from its `region` value. Nothing without regions.
fn regions_nav(snapshot: &Snapshot, link: impl Fn(&str) -> String) -> String {
    let Some(shown) = shown_region(snapshot) else {
        return String::new();
    };
    let choices = std::iter::once((EVERY_REGION, "Everywhere".to_string())).chain(
        snapshot
            .regions()
            .iter()
            .map(|region| (region.as_str(), capitalized(region))),
    );
    let mut html = String::from("<nav class=\"regions\" aria-label=\"Regions\">");
    for (value, label) in choices {
        if value == shown {
            let _ = write!(
                html,
                "<span aria-current=\"page\">{}</span>",
                escape(&label)
            );
        } else {
            let _ = write!(
                html,
                "<a href=\"{}\">{}</a>",
                escape(&link(value)),
                escape(&label)
            );
        }
    }
    html.push_str("</nav>");
    html
}

/// `concert` as a person reads it in a list: `Concert`.
fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

/// What to try when a search finds nothing: its words as the catalogue spells them
/// (`spelling`, if some were not), the same search without each filter, in every region
/// (if it was `in_region`), and the catalogue's other cities.
fn no_results(
    query: &SearchQuery,
    cities: &[String],
    in_region: bool,
    spelling: Option<&str>,
) -> String {
    let link = |changed: SearchQuery| format!("/search?{}", search_link(&changed, 1));
    let did_you_mean = spelling.map_or_else(String::new, |words| {
        let href = link(SearchQuery {
            q: Some(words.to_string()),
            ..query.clone()
        });
        format!(
            "<p class=\"did-you-mean\">Did you mean <a href=\"{}\">{}</a>?</p>",
            escape(&href),
            escape(words)
        )
    });
    let mut tries = Vec::new();
    if query.from.is_some() || query.to.is_some() {
        tries.push((
            link(SearchQuery {
                from: None,
                to: None,
                ..query.clone()
            }),
            "Any date".to_string(),
        ));
    }
    if query.category.is_some() {
        tries.push((
            link(SearchQuery {
                category: None,
                ..query.clone()
            }),
            "Any category".to_string(),
        ));
    }
    if query.location.is_some() {
        tries.push((
            link(SearchQuery {
                location: None,
                ..query.clone()
            }),
            "Anywhere".to_string(),
        ));
    }
    if in_region {
        tries.push((
            link(SearchQuery {
                region: Some(EVERY_REGION.to_string()),
                ..query.clone()
            }),
            "Every region".to_string(),
        ));
    }
    if query.q.is_some() {
        tries.push((
            link(SearchQuery {
                q: None,
                ..query.clone()
            }),
            "Without the search words".to_string(),
        ));
    }
    let mut html = format!(
        "<div class=\"no-results\"><p>No events match this search.</p>{did_you_mean}<p>Try:</p><ul>"
    );
    for (href, words) in tries {
        let _ = write!(
            html,
            "<li><a href=\"{}\">{}</a></li>",
            escape(&href),
            escape(&words)
        );
    }
    html.push_str("</ul>");
    if !cities.is_empty() {
        html.push_str("<p>Events in other cities: ");
        let links: Vec<String> = cities
            .iter()
            .map(|city| {
                let href = link(SearchQuery {
                    location: Some(city.clone()),
                    from: None,
                    to: None,
                    ..query.clone()
                });
                format!("<a href=\"{}\">{}</a>", escape(&href), escape(city))
            })
            .collect();
        html.push_str(&links.join(" · "));
        html.push_str("</p>");
    }
    html.push_str("</div>");
    html
}

fn event_list(events: &Page<Event>) -> String {
    if events.items.is_empty() {
        return String::new();
    }
    let mut html = String::from("<ul class=\"events\">");
    for event in &events.items {
        let _ = write!(
            html,
            "<li><a href=\"/events/{}\">{}</a><div class=\"meta\">{} · {}, {}</div>\
             <div class=\"meta\">{}</div><div class=\"price\">from {}</div></li>",
            event.id,
            escape(&event.name),
            escape(&event.category),
            escape(&event.venue),
            escape(&event.city),
            escape(&when(event)),
            escape(&price(event.price_min, &event.currency)),
        );
    }
    html.push_str("</ul>");
    html
}

fn pagination(events: &Page<Event>, link: impl Fn(u32) -> String) -> String {
    let pages = events.total.div_ceil(u64::from(events.page_size.max(1)));
    let mut html = String::from("<nav class=\"pages\" aria-label=\"Pages\">");
    if events.page > 1 {
        let _ = write!(
            html,
            "<a href=\"{}\" rel=\"prev\">← Previous</a>",
            escape(&link(events.page - 1))
        );
    }
    let _ = write!(
        html,
        "<span>Page {} of {}</span>",
        events.page,
        pages.max(1)
    );
    if u64::from(events.page) < pages {
        let _ = write!(
            html,
            "<a href=\"{}\" rel=\"next\">Next →</a>",
            escape(&link(events.page + 1))
        );
    }
    html.push_str("</nav>");
    html
}

/// `/`: upcoming events with the search box.
pub(crate) fn home(snapshot: &Snapshot, events: &Page<Event>) -> String {
    let region = shown_region(snapshot);
    let in_region = region.map_or_else(String::new, |region| format!("&region={region}"));
    let title = match snapshot.region() {
        Some(region) => format!("Upcoming events in {}", capitalized(region)),
        None => "Upcoming events".to_string(),
    };
    let body = format!(
        "<h1>{}</h1>{}{}<p class=\"meta\">{} events</p>{}{}",
        escape(&title),
        regions_nav(snapshot, |region| format!("/?region={region}")),
        search_form(&SearchQuery::default(), snapshot.categories(), region),
        events.total,
        event_list(events),
        pagination(events, |p| format!(
            "/?page={p}&page_size={}{in_region}",
            events.page_size
        )),
    );
    layout(&title, &body)
}

/// `/search`: the results of a search, with the form filled in, or what to try instead.
pub(crate) fn search(snapshot: &Snapshot, query: &SearchQuery, results: &Page<Event>) -> String {
    let found = if results.total == 0 {
        let spelling = query
            .q
            .as_deref()
            .and_then(|q| snapshot.spelling_suggestion(q).ok().flatten());
        let in_region = snapshot.region().is_some();
        no_results(query, snapshot.cities(), in_region, spelling.as_deref())
    } else {
        event_list(results)
    };
    let in_region = |region: &str| {
        let changed = SearchQuery {
            region: Some(region.to_string()),
            ..query.clone()
        };
        format!("/search?{}", search_link(&changed, 1))
    };
    let body = format!(
        "<h1>Search</h1>{}{}<p class=\"meta\">{} results</p>{found}{}",
        regions_nav(snapshot, in_region),
        search_form(query, snapshot.categories(), shown_region(snapshot)),
        results.total,
        pagination(results, |p| format!("/search?{}", search_link(query, p))),
    );
    layout("Search", &body)
}

/// `/events/{id}`: details, venue, date, prices, and the live seat map (drawn by the
/// pages' script from the seat list; `live` is where it opens the seat feed).
pub(crate) fn event(event: &Event, live: Option<&str>) -> String {
    let performers = event
        .performers
        .iter()
        .map(|p| escape(p))
        .collect::<Vec<_>>()
        .join(", ");
    let prices = if event.price_min == event.price_max {
        price(event.price_min, &event.currency)
    } else {
        format!(
            "{} – {}",
            price(event.price_min, &event.currency),
            price(event.price_max, &event.currency)
        )
    };
    let image = if event.image_url.is_empty() {
        String::new()
    } else {
        format!(
            "<img src=\"{}\" alt=\"\" width=\"640\" height=\"240\">",
            escape(&event.image_url)
        )
    };
    let queue = if event.waiting_room {
        format!(
            "<p class=\"notice\">Demand is high: a waiting room is on for this event. \
             <a href=\"/events/{}/queue\">Take your place in the queue</a> to pick seats.</p>",
            event.id
        )
    } else {
        String::new()
    };
    let body = format!(
        "<article>{image}<h1>{name}</h1>\
         <p class=\"meta\">{category} · {performers}</p>\
         <p><strong>When:</strong> {when}<br><strong>Where:</strong> {venue}, {city}<br>\
         <strong>Prices:</strong> {prices} · {seats} seats</p>\
         <p id=\"availability\" class=\"availability\" aria-live=\"polite\">Checking availability…</p>\
         {queue}<p class=\"meta\">You can hold up to {limit} seats for this event.</p>\
         <section id=\"seatmap\" class=\"seats\" aria-label=\"Seats\" data-event=\"{id}\" \
         data-currency=\"{currency}\" data-live=\"{live}\" data-max-seats=\"{limit}\">\
         <noscript>Picking seats needs JavaScript.</noscript></section>\
         <p>{description}</p></article>",
        name = escape(&event.name),
        category = escape(&event.category),
        when = escape(&when(event)),
        venue = escape(&event.venue),
        city = escape(&event.city),
        seats = event.seat_count,
        limit = event.max_seats_per_account,
        id = event.id,
        currency = escape(&event.currency),
        live = escape(live.unwrap_or_default()),
        description = escape(&event.description),
    );
    layout(&event.name, &body)
}

/// `/events/{id}/queue`: the waiting room, where a signed-in person takes a place and
/// sees their position and likely wait, live; admitted, they go back to the seat map.
pub(crate) fn queue(event: &Event, live: Option<&str>) -> String {
    let body = format!(
        "<h1>Waiting room</h1><p><a href=\"/events/{id}\">{name}</a> · {when}</p>\
         <section id=\"queue\" class=\"seats\" aria-label=\"Your place in the queue\" \
         data-event=\"{id}\" data-live=\"{live}\">\
         <noscript>The waiting room needs JavaScript.</noscript></section>\
         <p class=\"meta\">Places are first come, first served. Keep this page open: when it \
         is your turn, it takes you to the seats, and you have a limited time to pick them.</p>",
        id = event.id,
        name = escape(&event.name),
        when = escape(&when(event)),
        live = escape(live.unwrap_or_default()),
    );
    layout("Waiting room", &body)
}

/// `/bookings/{id}`: a booking's status and, once paid, its tickets, drawn by the pages'
/// script for the signed-in buyer (the payment page sends them back here). Needs no
/// snapshot; holds nothing personal, so any cache may keep it.
pub(crate) fn booking_response(id: &str) -> EdgeResponse {
    let valid = !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid {
        let error = ApiError::new(ErrorCode::NotFound, "no such booking");
        return EdgeResponse::html(404, error_page(&error));
    }
    let body = format!(
        "<h1>Your booking</h1><section id=\"booking\" class=\"seats\" data-booking=\"{id}\" \
         aria-live=\"polite\"><noscript>Your booking needs JavaScript to show.</noscript></section>"
    );
    let mut response = EdgeResponse::html(200, layout("Your booking", &body));
    response
        .headers
        .push(("cache-control".into(), "public, no-cache".into()));
    response
}

/// `/me/tickets`: the signed-in buyer's bookings, newest first, drawn by the pages'
/// script from `GET /v1/me/bookings` (with a sign-in form for a buyer who is not).
/// Holds nothing personal, so any cache may keep it.
pub(crate) fn my_tickets_response() -> EdgeResponse {
    let body = "<h1>My tickets</h1><section id=\"my-tickets\" class=\"seats\" aria-live=\"polite\">\
                <noscript>Your tickets need JavaScript to show.</noscript></section>";
    let mut response = EdgeResponse::html(200, layout("My tickets", body));
    response
        .headers
        .push(("cache-control".into(), "public, no-cache".into()));
    response
}

/// A page for an error, with the search box to go on from.
pub(crate) fn error_page(error: &ApiError) -> String {
    let body = format!(
        "<h1>{}</h1><p>{}</p>{}",
        if error.status() == 404 {
            "Not found"
        } else {
            "Something went wrong"
        },
        escape(&error.message),
        search_form(&SearchQuery::default(), &[], None),
    );
    layout("Error", &body)
}

/// A picture for the demo catalogue: the category's name on its own colour.
pub(crate) fn demo_image(category: &str) -> String {
    let hue = category
        .bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)))
        % 360;
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"640\" height=\"240\" viewBox=\"0 0 640 240\">\
         <rect width=\"640\" height=\"240\" fill=\"hsl({hue},55%,35%)\"/>\
         <text x=\"320\" y=\"135\" font-family=\"sans-serif\" font-size=\"40\" fill=\"#fff\" text-anchor=\"middle\">{}</text></svg>",
        escape(category)
    )
}

/// The query string that asks for `page` of the same search.
fn search_link(query: &SearchQuery, page: u32) -> String {
    let mut next = query.clone();
    next.page = page;
    serde_urlencoded::to_string(&next).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_the_start_in_the_venues_local_time() {
        let event = Event {
            id: 1,
            name: "Night".into(),
            category: "concert".into(),
            description: String::new(),
            performers: Vec::new(),
            venue: "Tempodrom".into(),
            city: "Berlin".into(),
            starts_at: time::macros::datetime!(2027-05-01 19:30 +02:00),
            time_zone: "Europe/Berlin".into(),
            time_zone_abbreviation: "CEST".into(),
            image_url: String::new(),
            currency: "EUR".into(),
            price_min: 100,
            price_max: 100,
            seat_count: 1,
            waiting_room: false,
            max_seats_per_account: 8,
            published: true,
        };
        assert_eq!(when(&event), "Sat 1 May 2027, 19:30 CEST");
    }

    #[test]
    fn the_search_form_labels_its_dates_and_lists_the_categories() {
        let query = SearchQuery {
            category: Some("Concert".into()),
            ..SearchQuery::default()
        };
        let form = search_form(&query, &["comedy".into(), "concert".into()], None);
        assert!(form.contains("<label>From <input name=\"from\" type=\"date\""));
        assert!(form.contains("<label>To <input name=\"to\" type=\"date\""));
        assert!(form.contains("<option value=\"comedy\">Comedy</option>"));
        assert!(
            form.contains("<option value=\"concert\" selected>Concert</option>"),
            "the chosen category in any case: {form}"
        );
        assert!(form.contains("<option value=\"relevance\">Best match"));
    }

    #[test]
    fn an_empty_search_offers_ways_on() {
        let query = SearchQuery {
            q: Some("jazz".into()),
            location: Some("Oslo".into()),
            from: Some("2027-01-01".into()),
            ..SearchQuery::default()
        };
        let html = no_results(
            &query,
            &["Berlin".into(), "Oslo".into()],
            false,
            Some("jazz"),
        );
        assert!(html.contains("No events match"));
        assert!(html.contains(
            "Did you mean <a href=\"/search?q=jazz&amp;location=Oslo&amp;from=2027-01-01&amp;page=1&amp;page_size=20\">jazz</a>?"
        ));
        assert!(html.contains(
            "href=\"/search?q=jazz&amp;location=Oslo&amp;page=1&amp;page_size=20\">Any date"
        ));
        assert!(html.contains(
            "href=\"/search?q=jazz&amp;from=2027-01-01&amp;page=1&amp;page_size=20\">Anywhere"
        ));
        assert!(html.contains(
            "href=\"/search?q=jazz&amp;location=Berlin&amp;page=1&amp;page_size=20\">Berlin"
        ));
        assert!(!html.contains("Any category"), "no category to drop");
        assert!(!html.contains("Every region"), "no region to leave");
        let in_region = no_results(&query, &[], true, None);
        assert!(in_region.contains(
            "href=\"/search?q=jazz&amp;location=Oslo&amp;from=2027-01-01&amp;region=all&amp;page=1&amp;page_size=20\">Every region"
        ));
    }

    #[test]
    fn search_links_keep_the_search_and_change_the_page() {
        let query = SearchQuery {
            q: Some("jazz night".into()),
            page: 3,
            ..SearchQuery::default()
        };
        assert_eq!(search_link(&query, 4), "q=jazz+night&page=4&page_size=20");
    }
}
