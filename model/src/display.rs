//! Values as a person reads them, the same on every page and in every email: prices
//! (`€45.00`), an event's start in its venue's local time (`Sat 1 May 2027, 19:30 CEST`),
//! and text made safe for HTML.

use time::OffsetDateTime;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;

const LOCAL_START: &[BorrowedFormatItem<'static>] = format_description!(
    "[weekday repr:short] [day padding:none] [month repr:short] [year], [hour]:[minute]"
);

/// HTML-escapes text for element content and attribute values.
pub fn escape(text: &str) -> String {
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

/// A price in minor units as a person reads it: `€45.00`, `¥8000`, `CHF19.99`.
pub fn price(minor: u64, currency: &str) -> String {
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

/// A start as its venue reads it: `starts_at` (already in the venue's offset, as event
/// documents keep it) and the zone's abbreviation, e.g. `Sat 1 May 2027, 19:30 CEST`.
pub fn local_start(starts_at: OffsetDateTime, abbreviation: &str) -> String {
    let local = starts_at
        .format(LOCAL_START)
        .unwrap_or_else(|_| starts_at.to_string());
    format!("{local} {abbreviation}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

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

    #[test]
    fn shows_a_start_in_its_own_offset() {
        assert_eq!(
            local_start(datetime!(2027-05-01 19:30 +02:00), "CEST"),
            "Sat 1 May 2027, 19:30 CEST"
        );
    }
}
