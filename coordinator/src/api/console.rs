//! The operator console: server-rendered pages under `/operator` (the layout, the
//! navigation and every form, each field with the place its error is shown) that the
//! console's script (`onsale-site`'s `console.js`) signs in, fills with the operator API's
//! data and submits; and the site's files under `/static/`. The seat-map preview is drawn
//! by the buyer site's own script, loaded on the event pages.
//!
//! Pages carry no inline script or style, so their policy allows the coordinator's own
//! files only.

use std::fmt::Write;

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use onsale_model::display::escape;
use onsale_model::{ApiError, ErrorCode};

use super::api_error_response;
use crate::services::Coordinator;

/// The console pages' `Content-Security-Policy`: the coordinator's own script, stylesheet
/// and API; images from anywhere over HTTPS, the media store and uploads being chosen
/// (`blob:`).
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data: blob: https:; media-src 'self' blob:; connect-src 'self'; \
     form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// A console page: `nav` marks the current section of the navigation. It loads the buyer
/// site's script first (its helpers and seat map), then the console's.
fn layout(title: &str, nav: &str, page: &str, body: &str) -> Response {
    let links = [
        ("events", "/operator", "Events"),
        ("checkin", "/operator/checkin", "Check-in"),
        ("team", "/operator/team", "Team"),
        ("audit", "/operator/audit", "Audit trail"),
    ];
    let mut menu = String::new();
    for (key, href, text) in links {
        let current = if key == nav {
            " aria-current=\"page\""
        } else {
            ""
        };
        let _ = write!(menu, "<a href=\"{href}\"{current}>{text}</a>");
    }
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{title} · onsale console</title>\
         <link rel=\"icon\" href=\"{favicon}\" type=\"image/svg+xml\">\
         <link rel=\"stylesheet\" href=\"{stylesheet}\">\
         <script src=\"{buyer}\" defer></script><script src=\"{console}\" defer></script></head>\
         <body class=\"console\"><header><a href=\"/operator\" class=\"brand\">onsale \
         <small>console</small></a><nav aria-label=\"Console\">{menu}\
         <span id=\"console-operator\"></span></nav></header>\
         <main id=\"console\" data-page=\"{page}\">{body}</main></body></html>",
        title = escape(title),
        favicon = onsale_site::favicon_path(),
        stylesheet = onsale_site::stylesheet_path(),
        buyer = onsale_site::script_path(),
        console = onsale_site::console_script_path(),
    );
    let mut response = (StatusCode::OK, html).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(POLICY),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// A labelled field with the paragraph its error is shown in (`data-error-for` names the
/// API's field path).
fn field(name: &str, label: &str, input: &str, hint: &str) -> String {
    let hint = if hint.is_empty() {
        String::new()
    } else {
        format!("<small class=\"hint\">{hint}</small>")
    };
    format!(
        "<div class=\"field\"><label for=\"f-{name}\">{label}</label>{input}{hint}\
         <p class=\"field-error\" data-error-for=\"{name}\" role=\"alert\" hidden></p></div>"
    )
}

/// A one-line input for the field `name`.
fn input(name: &str, kind: &str, extra: &str) -> String {
    format!("<input id=\"f-{name}\" name=\"{name}\" type=\"{kind}\"{extra}>")
}

/// The form-level message area of a form.
const FORM_MESSAGE: &str = "<p class=\"notice\" data-form-message role=\"alert\" hidden></p>";

/// `GET /operator`: the events, drafts first.
pub async fn events_page() -> Response {
    layout(
        "Events",
        "events",
        "events",
        "<div class=\"page-head\"><h1>Events</h1>\
         <a class=\"button\" href=\"/operator/events/new\">New event</a></div>\
         <div id=\"event-list\" aria-live=\"polite\"><p>Loading…</p></div>",
    )
}

/// `GET /operator/sign-in`: the sign-in form, and the new-password form that a one-time
/// password leads to.
pub async fn sign_in_page() -> Response {
    let sign_in = format!(
        "<form novalidate id=\"sign-in\" class=\"card narrow\"><h1>Sign in</h1>{}{}{}\
         <button type=\"submit\">Sign in</button></form>",
        field(
            "name",
            "Name",
            &input("name", "text", " autocomplete=\"username\" required"),
            ""
        ),
        field(
            "password",
            "Password",
            &input(
                "password",
                "password",
                " autocomplete=\"current-password\" required"
            ),
            ""
        ),
        FORM_MESSAGE,
    );
    let change = format!(
        "<form novalidate id=\"password-change\" class=\"card narrow\" hidden><h1>Choose your password</h1>\
         <p>Your password was a one-time password: choose your own to go on.</p>{}{}\
         <button type=\"submit\">Save and go on</button></form>",
        field(
            "new_password",
            "New password",
            &input(
                "new_password",
                "password",
                " autocomplete=\"new-password\" minlength=\"10\" required"
            ),
            "At least 10 characters, not easy to guess."
        ),
        FORM_MESSAGE,
    );
    layout("Sign in", "", "sign-in", &(sign_in + &change))
}

/// The form of an event's details, for both a new event and an edited one.
fn details_form(new: bool) -> String {
    let mut fields = String::new();
    for (name, label, control, hint) in [
        (
            "name",
            "Name",
            input("name", "text", " maxlength=\"200\" required"),
            "",
        ),
        (
            "category",
            "Category",
            input(
                "category",
                "text",
                " list=\"categories\" maxlength=\"50\" required",
            ),
            "",
        ),
        (
            "description",
            "Description",
            "<textarea id=\"f-description\" name=\"description\" rows=\"4\" maxlength=\"10000\"></textarea>"
                .to_string(),
            "",
        ),
        (
            "performers",
            "Performers",
            input("performers", "text", ""),
            "Separated by commas.",
        ),
        (
            "venue",
            "Venue",
            input("venue", "text", " maxlength=\"200\" required"),
            "",
        ),
        (
            "city",
            "City",
            input("city", "text", " maxlength=\"100\" required"),
            "",
        ),
        (
            "starts_at",
            "Starts at",
            input("starts_at", "datetime-local", " required"),
            "In the venue's time zone.",
        ),
        (
            "time_zone",
            "Time zone",
            input("time_zone", "text", " list=\"time-zones\" placeholder=\"Europe/London\""),
            "The venue's, such as Europe/Berlin.",
        ),
        (
            "currency",
            "Currency",
            input(
                "currency",
                "text",
                " list=\"currencies\" maxlength=\"3\" required placeholder=\"EUR\"",
            ),
            if new {
                "Prices are in it; it cannot change later."
            } else {
                "Fixed: the prices are in it."
            },
        ),
        (
            "max_seats_per_account",
            "Seats per buyer",
            input(
                "max_seats_per_account",
                "number",
                " min=\"1\" max=\"100\" placeholder=\"8\"",
            ),
            "The most seats one account may hold and buy.",
        ),
    ] {
        fields.push_str(&field(name, label, &control, hint));
    }
    let seat_map = if new {
        "<fieldset id=\"seat-map-editor\"><legend>Seat map</legend>\
         <p class=\"hint\">One block per section; rows one per line: <code>A 20</code> (row A, \
         20 seats) or <code>A 20 45.00</code> (with its own price).</p>\
         <div id=\"sections\"></div>\
         <p class=\"field-error\" data-error-for=\"seat_map.sections\" role=\"alert\" hidden></p>\
         <div class=\"row-of-buttons\"><button type=\"button\" id=\"add-section\">Add a section</button>\
         <label class=\"button secondary\">Import CSV<input type=\"file\" id=\"seat-csv\" \
         accept=\".csv,text/csv\" hidden></label></div>\
         <p class=\"hint\">CSV: one line per seat, <code>section,row,seat,price</code>.</p>\
         <p class=\"field-error\" data-error-for=\"csv\" role=\"alert\" hidden></p>\
         <h3>Preview</h3><div id=\"seatmap-preview\" class=\"seatmap-preview\"></div></fieldset>"
    } else {
        ""
    };
    let submit = if new { "Create as draft" } else { "Save" };
    format!(
        "<form novalidate id=\"event-form\" class=\"card\">{fields}{seat_map}{FORM_MESSAGE}\
         <button type=\"submit\">{submit}</button></form>\
         <datalist id=\"categories\"><option value=\"concert\"><option value=\"theatre\">\
         <option value=\"sports\"><option value=\"comedy\"><option value=\"festival\">\
         <option value=\"family\"></datalist>\
         <datalist id=\"currencies\"><option value=\"EUR\"><option value=\"GBP\">\
         <option value=\"USD\"><option value=\"JPY\"><option value=\"CHF\"></datalist>\
         <datalist id=\"time-zones\"></datalist>"
    )
}

/// `GET /operator/events/new`: the event form with the seat-map editor.
pub async fn new_event_page() -> Response {
    layout(
        "New event",
        "events",
        "new-event",
        &format!("<h1>New event</h1>{}", details_form(true)),
    )
}

/// `GET /operator/events/{id}`: an event's details, publishing, picture, waiting room
/// and seat map.
pub async fn event_page(
    State(coordinator): State<Coordinator>,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = id.parse::<u64>() else {
        return not_found();
    };
    // Where buyers see the event, when the site's address is known (`--site-url`).
    let on_site = coordinator
        .settings()
        .site_url
        .as_deref()
        .map_or_else(String::new, |site| {
            format!(
                "<a id=\"on-site\" class=\"button secondary\" href=\"{}/events/{id}\">On the site</a>",
                escape(site.trim_end_matches('/'))
            )
        });
    let image = format!(
        "<form novalidate id=\"image-form\" class=\"card\"><h2>Picture</h2>\
         <img id=\"event-image\" alt=\"The event's picture\" hidden>{}{}\
         <button type=\"submit\">Upload</button></form>",
        field(
            "image",
            "Image file",
            "<input id=\"f-image\" name=\"image\" type=\"file\" accept=\"image/jpeg,image/png,image/webp\" required>",
            "JPEG, PNG or WebP, up to 10 MB; stored with 320, 640 and 1280 px wide copies."
        ),
        FORM_MESSAGE,
    );
    let waiting_room = format!(
        "<form novalidate id=\"waiting-room-form\" class=\"card\"><h2>Waiting room</h2>\
         <div class=\"field check\"><label><input type=\"checkbox\" name=\"enabled\" id=\"f-enabled\"> \
         On: buyers queue and come in with a pass</label></div>{}{}{}{}{}\
         <p id=\"waiting-room-state\" class=\"hint\"></p>{}\
         <button type=\"submit\">Save the waiting room</button></form>",
        field(
            "total_active_users",
            "Buyers in at once",
            &input("total_active_users", "number", " min=\"1\""),
            ""
        ),
        field(
            "new_users_per_minute",
            "Let in per minute",
            &input("new_users_per_minute", "number", " min=\"1\""),
            ""
        ),
        field(
            "session_duration_seconds",
            "Pass lasts (seconds)",
            &input("session_duration_seconds", "number", " min=\"60\""),
            ""
        ),
        field(
            "shuffle_before",
            "Shuffle who queued before",
            &input("shuffle_before", "datetime-local", ""),
            "Everyone who joins before this time gets a random place (your browser's time)."
        ),
        field(
            "auto_threshold",
            "Turn on by itself above (buyers per minute)",
            &input("auto_threshold", "number", " min=\"1\""),
            "Empty: never by itself."
        ),
        FORM_MESSAGE,
    );
    let body = format!(
        "<div class=\"page-head\"><h1 id=\"event-title\">Event {id}</h1>\
         <span id=\"event-state\" class=\"badge\"></span>\
         <button type=\"button\" id=\"publish\" hidden></button>\
         <a class=\"button secondary\" href=\"/operator/events/{id}/sales\">Sales and orders</a>{on_site}</div>\
         <div class=\"columns\"><section><h2>Details</h2>{details}</section>\
         <section>{image}{waiting_room}\
         <div class=\"card\"><h2>Seat map</h2><div id=\"seatmap-preview\" class=\"seatmap-preview\"></div></div>\
         </section></div>",
        details = details_form(false),
    );
    layout(&format!("Event {id}"), "events", "event", &body)
}

/// `GET /operator/events/{id}/sales`: sales, the chart, check-ins, orders and refunds.
pub async fn sales_page(Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<u64>() else {
        return not_found();
    };
    let body = format!(
        "<div class=\"page-head\"><h1 id=\"event-title\">Sales</h1>\
         <a class=\"button secondary\" href=\"/operator/events/{id}\">Edit the event</a>\
         <button type=\"button\" id=\"attendees\" class=\"secondary\">Attendees (CSV)</button></div>\
         <p class=\"live-status\" id=\"sales-live\" aria-live=\"polite\"></p>\
         <dl id=\"sales-figures\" class=\"figures\"></dl>\
         <section class=\"card\"><h2>Seats sold per minute</h2><div id=\"sales-chart\"></div></section>\
         <section class=\"card\"><h2>By price</h2><table id=\"tiers\"><thead><tr><th>Price</th>\
         <th>Sections</th><th>Seats</th><th>Sold</th><th>Revenue</th></tr></thead><tbody></tbody></table></section>\
         <section class=\"card\"><h2>Orders</h2><form novalidate id=\"order-search\" role=\"search\">\
         <input name=\"q\" aria-label=\"Order code, email or name\" placeholder=\"Order code, email or name\">\
         <button type=\"submit\">Search</button></form>\
         <table id=\"orders\"><thead><tr><th>Order</th><th>Buyer</th><th>Seats</th><th>Total</th>\
         <th>Status</th><th>When</th></tr></thead><tbody></tbody></table>\
         <nav id=\"orders-pages\" class=\"pages\" aria-label=\"Pages\"></nav></section>\
         <section id=\"order-detail\" class=\"card\" hidden aria-live=\"polite\"></section>"
    );
    layout("Sales", "events", "sales", &body)
}

/// `GET /operator/checkin`: the door: the camera reads tickets' QR codes where the
/// browser can, and short codes are typed.
pub async fn checkin_page() -> Response {
    let body = format!(
        "<h1>Check-in</h1><form novalidate id=\"checkin-form\" class=\"card narrow\">{}{}\
         <div class=\"camera\"><video id=\"camera\" playsinline muted hidden></video>\
         <button type=\"button\" id=\"scan\" class=\"secondary\" hidden>Scan with the camera</button></div>{}\
         <button type=\"submit\">Check in</button></form>\
         <div id=\"checkin-result\" class=\"checkin-result\" role=\"status\" aria-live=\"assertive\" hidden></div>\
         <p id=\"checkin-count\" class=\"hint\"></p>",
        field(
            "event_id",
            "Event",
            "<select id=\"f-event_id\" name=\"event_id\"><option value=\"\">Any event</option></select>",
            "Tickets for other events are refused when one is chosen."
        ),
        field(
            "code",
            "Ticket",
            &input(
                "code",
                "text",
                " autocomplete=\"off\" autocapitalize=\"characters\" required placeholder=\"Short code or scanned ticket\""
            ),
            ""
        ),
        FORM_MESSAGE,
    );
    layout("Check-in", "checkin", "checkin", &body)
}

/// `GET /operator/team`: operators and API keys.
pub async fn team_page() -> Response {
    let role = |name: &str| {
        format!(
            "<select id=\"f-{name}\" name=\"role\"><option value=\"staff\">Staff: check-in, \
             read-only sales</option><option value=\"admin\">Admin: everything</option></select>"
        )
    };
    let body = format!(
        "<h1>Team</h1><section class=\"card\"><h2>Operators</h2>\
         <table id=\"operators\"><thead><tr><th>Name</th><th>Role</th><th>Since</th><th></th></tr>\
         </thead><tbody></tbody></table>\
         <form novalidate id=\"operator-form\"><h3>Add an operator</h3>{}{}{FORM_MESSAGE}\
         <button type=\"submit\">Add</button></form></section>\
         <section class=\"card\"><h2>API keys</h2>\
         <table id=\"keys\"><thead><tr><th>Name</th><th>Role</th><th>Made</th><th>State</th><th></th></tr>\
         </thead><tbody></tbody></table>\
         <form novalidate id=\"key-form\"><h3>Make a key</h3>{}{}{FORM_MESSAGE}\
         <button type=\"submit\">Make</button></form></section>",
        field(
            "name",
            "Name",
            &input("name", "text", " required maxlength=\"64\""),
            ""
        ),
        field("role", "Role", &role("role"), ""),
        field(
            "key-name",
            "Name",
            "<input id=\"f-key-name\" name=\"name\" type=\"text\" required maxlength=\"64\">",
            ""
        ),
        field("key-role", "Role", &role("key-role"), ""),
    );
    layout("Team", "team", "team", &body)
}

/// `GET /operator/audit`: the audit trail, newest first.
pub async fn audit_page() -> Response {
    layout(
        "Audit trail",
        "audit",
        "audit",
        "<h1>Audit trail</h1><table id=\"audit\"><thead><tr><th>When</th><th>Who</th>\
         <th>What</th><th>To what</th><th>Detail</th></tr></thead><tbody></tbody></table>\
         <button type=\"button\" id=\"audit-more\" class=\"secondary\" hidden>Older</button>",
    )
}

/// `GET /static/{file}`: the site's files under their hashed names, kept for a year.
pub async fn static_file(Path(file): Path<String>) -> Response {
    let Some(asset) = onsale_site::asset(&format!("/static/{file}")) else {
        return not_found();
    };
    super::media::immutable(asset.content_type, asset.body)
}

fn not_found() -> Response {
    api_error_response(&ApiError::new(ErrorCode::NotFound, "no such page"))
}
