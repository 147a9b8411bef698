//! The HTML pages a person uses: the event list with a search box, search results and an
//! event page. Plain server-rendered HTML with one small script (live availability), so
//! the pages work on any phone and from any cache.

use std::fmt::Write;

use onsale_indexer::Snapshot;
use onsale_model::{ApiError, Event, Page};
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;

use onsale_indexer::SearchQuery;

use crate::reads::search_link;

const DATE: &[BorrowedFormatItem<'static>] = format_description!(
    "[weekday repr:short] [day padding:none] [month repr:short] [year], [hour]:[minute] UTC"
);

const STYLE: &str = "
*{box-sizing:border-box}body{margin:0;font:16px/1.5 system-ui,sans-serif;color:#1d1d1f;background:#f6f6f8}
header{background:#14213d;color:#fff;padding:12px 16px}header a{color:#fff;text-decoration:none;font-weight:700;font-size:1.3em}
main{max-width:960px;margin:0 auto;padding:16px}
form.search{display:flex;flex-wrap:wrap;gap:8px;margin:12px 0}
form.search input{flex:1 1 140px;padding:8px;border:1px solid #bbb;border-radius:6px;font-size:1em}
form.search button{padding:8px 16px;border:0;border-radius:6px;background:#fca311;font-weight:700;font-size:1em}
ul.events{list-style:none;padding:0;display:grid;grid-template-columns:repeat(auto-fill,minmax(260px,1fr));gap:12px}
ul.events li{background:#fff;border-radius:10px;padding:12px;box-shadow:0 1px 3px #0002}
ul.events a{color:#14213d;font-weight:700;text-decoration:none}
.meta{color:#555;font-size:.92em}.price{font-weight:700}
nav.pages{display:flex;gap:12px;justify-content:center;margin:16px 0}
article img{max-width:100%;border-radius:10px}
.availability{padding:8px 12px;background:#fff;border-left:4px solid #fca311}
";

/// HTML-escapes text for element content and attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A price in minor units as a person reads it: `€45.00`, `¥8000`.
pub(crate) fn price(minor: u64, currency: &str) -> String {
    let (symbol, decimals) = match currency {
        "EUR" => ("€", 2),
        "GBP" => ("£", 2),
        "USD" => ("$", 2),
        "JPY" => ("¥", 0),
        other => (other, 2),
    };
    if decimals == 0 {
        format!("{symbol}{minor}")
    } else {
        format!("{symbol}{}.{:02}", minor / 100, minor % 100)
    }
}

fn when(event: &Event) -> String {
    event
        .starts_at
        .to_offset(time::UtcOffset::UTC)
        .format(DATE)
        .unwrap_or_else(|_| event.starts_at.to_string())
}

fn layout(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{} · onsale</title><style>{STYLE}</style></head>\
         <body><header><a href=\"/\">onsale</a></header><main>{body}</main></body></html>",
        escape(title)
    )
}

fn search_form(query: &SearchQuery) -> String {
    let value = |v: &Option<String>| escape(v.as_deref().unwrap_or_default());
    format!(
        "<form class=\"search\" action=\"/search\" method=\"get\" role=\"search\">\
         <input name=\"q\" placeholder=\"Search events, artists, venues\" aria-label=\"Search\" value=\"{}\">\
         <input name=\"category\" placeholder=\"Category\" aria-label=\"Category\" value=\"{}\">\
         <input name=\"location\" placeholder=\"City or venue\" aria-label=\"City or venue\" value=\"{}\">\
         <input name=\"from\" type=\"date\" aria-label=\"From\" value=\"{}\">\
         <input name=\"to\" type=\"date\" aria-label=\"To\" value=\"{}\">\
         <button type=\"submit\">Search</button></form>",
        value(&query.q),
        value(&query.category),
        value(&query.location),
        value(&query.from),
        value(&query.to),
    )
}

fn event_list(events: &Page<Event>) -> String {
    if events.items.is_empty() {
        return "<p>No events found.</p>".into();
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
    let body = format!(
        "<h1>Upcoming events</h1>{}<p class=\"meta\">{} events · catalogue version {}</p>{}{}",
        search_form(&SearchQuery::default()),
        events.total,
        snapshot.version(),
        event_list(events),
        pagination(events, |p| format!(
            "/?page={p}&page_size={}",
            events.page_size
        )),
    );
    layout("Upcoming events", &body)
}

/// `/search`: the results of a search, with the form filled in.
pub(crate) fn search(query: &SearchQuery, results: &Page<Event>) -> String {
    let body = format!(
        "<h1>Search</h1>{}<p class=\"meta\">{} results</p>{}{}",
        search_form(query),
        results.total,
        event_list(results),
        pagination(results, |p| format!("/search?{}", search_link(query, p))),
    );
    layout("Search", &body)
}

/// `/events/{id}`: details, venue, date, prices, and live availability.
pub(crate) fn event(event: &Event) -> String {
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
    let body = format!(
        "<article>{image}<h1>{name}</h1>\
         <p class=\"meta\">{category} · {performers}</p>\
         <p><strong>When:</strong> {when}<br><strong>Where:</strong> {venue}, {city}<br>\
         <strong>Prices:</strong> {prices} · {seats} seats</p>\
         <p id=\"availability\" class=\"availability\" data-event=\"{id}\" aria-live=\"polite\">Checking availability…</p>\
         <p>{description}</p></article>\
         <script>(function(){{var el=document.getElementById('availability');\
         fetch('/v1/events/{id}/availability').then(function(r){{if(!r.ok)throw r;return r.json()}})\
         .then(function(a){{el.textContent=a.available+' of '+a.total+' seats available'+(a.held?' ('+a.held+' held by buyers right now)':'');}})\
         .catch(function(){{el.textContent='Live availability cannot be shown right now; the details above are current.';}});}})();</script>",
        name = escape(&event.name),
        category = escape(&event.category),
        when = escape(&when(event)),
        venue = escape(&event.venue),
        city = escape(&event.city),
        seats = event.seat_count,
        id = event.id,
        description = escape(&event.description),
    );
    layout(&event.name, &body)
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
        search_form(&SearchQuery::default()),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn formats_prices() {
        assert_eq!(price(4500, "EUR"), "€45.00");
        assert_eq!(price(5, "GBP"), "£0.05");
        assert_eq!(price(800_000, "JPY"), "¥800000");
        assert_eq!(price(1999, "CHF"), "CHF19.99");
    }
}
