//! Search: [`SearchQuery`] (what `/v1/search` and the seed's `searchEvent` accept) and
//! its validation into the criteria that `query` runs against a
//! [`Snapshot`](crate::Snapshot).
//!
//! - **Free text** (`q`): every word must match some field; if no event has them all, any
//!   word may, best first. A word scores BM25 in each field, weighted performers 5, name 3,
//!   venue, city and category 2, description and date words (year, month, weekday) 1. Small
//!   words (`the`, `of`, ...) are left out when other words remain. A query that is exactly
//!   a performer's name (any case or punctuation) puts that performer's events first.
//! - **Typos**: a word that no event has in any field is taken for a typo and matches the
//!   words of performers, event names, cities and venues a typo away instead (one edit for
//!   4 to 7 letters, two from 8; a swap of two letters is one edit), performers first. A word the catalogue
//!   has is never expanded: `adele` finds Adele and not Adela, `adel` finds both, and a
//!   correctly typed word costs no Levenshtein automaton (the slow part of fuzzy matching).
//! - **Filters** narrow and never reorder: `category` is the whole category, any case;
//!   `location` is every word in the city or the venue (`Royal Albert Hall London`);
//!   `performer` and `name` are every word in that field, a word no event has there being
//!   matched a typo away; `from` and `to` bound the start time, inclusive.
//! - **Order**: by score, ties by `(starts_at, id)`; without `q`, or with `sort=date`, by
//!   `(starts_at, id)`. Either way the order is total, so pages never overlap or skip.

use onsale_model::ApiError;
use onsale_model::page::MAX_PAGE_SIZE;
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, Time};

use crate::{layout, schema};

/// Longest text a search field may have, in characters.
pub const MAX_TEXT_CHARS: usize = 200;
/// Most words a search field may have.
pub const MAX_WORDS: usize = 12;

/// Words too common to narrow a search: left out of `q` when other words remain.
const SMALL_WORDS: &[&str] = &[
    "a", "an", "and", "at", "by", "for", "from", "in", "of", "on", "or", "the", "to", "with",
];

/// A search, as it arrives in a query string: `?q=&category=&location=&performer=&name=
/// &from=&to=&page=&page_size=`. Every field is optional; empty ones are ignored.
///
/// The seed API's names are accepted as aliases: `type` for `category`, `performerName` for
/// `performer`, `eventName` for `name`; so is `city` (DESIGN's `/v1/search`) for `location`,
/// which matches the city or the venue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SearchQuery {
    /// Free text, matched against every field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    /// The category, matched whole and in any case ("Concert" finds "concert").
    #[serde(alias = "type", skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Words that must each be in the city or the venue.
    #[serde(alias = "city", skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Words that must all be in the performers.
    #[serde(alias = "performerName", skip_serializing_if = "Option::is_none")]
    pub performer: Option<String>,
    /// Words that must all be in the event's name.
    #[serde(alias = "eventName", skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Earliest start, inclusive: an RFC 3339 date-time, or a date (from its first instant,
    /// UTC).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Latest start, inclusive: an RFC 3339 date-time, or a date (to its last instant, UTC).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// The order of results: `relevance` (best first, the default) or `date` (soonest
    /// first). Without `q` both are date order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sort: Option<SearchOrder>,
    /// Whose events: a region's name, or `all` for every event. The edge answers from that
    /// region's snapshot; a snapshot searches the events it holds whatever this says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// 1-based page number (default 1).
    pub page: u32,
    /// Results per page, 1 to [`MAX_PAGE_SIZE`] (default 20).
    pub page_size: u32,
}

/// How search results are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SearchOrder {
    /// Best match first, ties by start.
    Relevance,
    /// Soonest first.
    Date,
}

impl Default for SearchQuery {
    fn default() -> Self {
        SearchQuery {
            q: None,
            category: None,
            location: None,
            performer: None,
            name: None,
            from: None,
            to: None,
            sort: None,
            region: None,
            page: 1,
            page_size: 20,
        }
    }
}

impl SearchQuery {
    /// Checks every field; the error names the first one at fault.
    pub fn validate(&self) -> Result<(), ApiError> {
        Criteria::parse(self).map(drop)
    }
}

/// A validated search: words analyzed, small words dropped, category as a phrase.
#[derive(Debug)]
pub(crate) struct Criteria {
    /// The words of `q` that count (may be empty).
    pub words: Vec<String>,
    /// All the words of `q` as a phrase, to recognise a performer's name.
    pub phrase: String,
    /// The category as a phrase.
    pub category: Option<String>,
    /// The words of `location`.
    pub location: Option<Vec<String>>,
    /// The words of `performer`.
    pub performer: Option<Vec<String>>,
    /// The words of `name`.
    pub name: Option<Vec<String>>,
    /// Earliest start, inclusive.
    pub from: Option<OffsetDateTime>,
    /// Latest start, inclusive.
    pub to: Option<OffsetDateTime>,
    /// Whether results come in date order whatever their score.
    pub by_date: bool,
    /// 1-based page number.
    pub page: u32,
    /// Results per page.
    pub page_size: u32,
}

impl Criteria {
    /// Validates `query`: the error names the first field at fault.
    pub(crate) fn parse(query: &SearchQuery) -> Result<Criteria, ApiError> {
        if query.page == 0 {
            return Err(ApiError::invalid("page starts at 1"));
        }
        if query.page_size == 0 || query.page_size > MAX_PAGE_SIZE {
            return Err(ApiError::invalid(format!(
                "page_size must be 1-{MAX_PAGE_SIZE}"
            )));
        }
        let mut analyzer = schema::text_analyzer();
        let mut words = |field: &str, text: &Option<String>| -> Result<_, ApiError> {
            let Some(text) = present(text) else {
                return Ok(None);
            };
            if text.chars().count() > MAX_TEXT_CHARS {
                return Err(ApiError::invalid(format!(
                    "{field} must be at most {MAX_TEXT_CHARS} characters"
                )));
            }
            let words = schema::terms(&mut analyzer, text);
            if words.len() > MAX_WORDS {
                return Err(ApiError::invalid(format!(
                    "{field} must have at most {MAX_WORDS} words"
                )));
            }
            Ok(Some(words))
        };
        if let Some(region) = present(&query.region)
            && region != layout::EVERY_REGION
            && !layout::is_region_name(region)
        {
            return Err(invalid_region());
        }
        let q = words("q", &query.q)?.unwrap_or_default();
        let phrase = q.join(" ");
        let mut big_words = q.clone();
        big_words.retain(|word| !SMALL_WORDS.contains(&word.as_str()));
        let category = words("category", &query.category)?;
        let location = words("location", &query.location)?;
        let performer = words("performer", &query.performer)?;
        let name = words("name", &query.name)?;
        for (field, words) in [
            ("category", &category),
            ("location", &location),
            ("performer", &performer),
            ("name", &name),
        ] {
            if words.as_ref().is_some_and(Vec::is_empty) {
                return Err(ApiError::invalid(format!(
                    "{field} must have letters or digits"
                )));
            }
        }
        let from = present(&query.from)
            .map(|text| instant("from", text, Time::MIDNIGHT))
            .transpose()?;
        let to = present(&query.to)
            .map(|text| instant("to", text, last_instant_of_day()))
            .transpose()?;
        if let (Some(from), Some(to)) = (from, to)
            && from > to
        {
            return Err(ApiError::invalid("from must not be after to"));
        }
        Ok(Criteria {
            words: if big_words.is_empty() { q } else { big_words },
            phrase,
            category: category.map(|words| words.join(" ")),
            location,
            performer,
            name,
            from,
            to,
            by_date: query.sort == Some(SearchOrder::Date),
            page: query.page,
            page_size: query.page_size,
        })
    }

    /// Whether anything narrows the list.
    pub fn has_filters(&self) -> bool {
        self.category.is_some()
            || self.location.is_some()
            || self.performer.is_some()
            || self.name.is_some()
            || self.has_window()
    }

    /// Whether a window of start times narrows the list.
    pub fn has_window(&self) -> bool {
        self.from.is_some() || self.to.is_some()
    }
}

/// The error for a `region` parameter that can name no region: the edge's, for every read
/// that takes one.
pub fn invalid_region() -> ApiError {
    ApiError::invalid(format!(
        "region must be a region's name (lowercase letters, digits and hyphens) or {:?}",
        layout::EVERY_REGION
    ))
}

/// A field's text unless it is missing or blank.
fn present(text: &Option<String>) -> Option<&str> {
    text.as_deref()
        .map(str::trim)
        .filter(|text| !text.is_empty())
}

/// 23:59:59.999999999.
fn last_instant_of_day() -> Time {
    Time::MIDNIGHT - time::Duration::NANOSECOND
}

/// Parses `from` or `to`: an RFC 3339 date-time, or a date at `time_of_day` UTC.
fn instant(field: &str, text: &str, time_of_day: Time) -> Result<OffsetDateTime, ApiError> {
    if let Ok(at) = OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(at);
    }
    // A `+` offset that came through a query string unencoded arrives as a space.
    if let Some((date_time, offset)) = text.rsplit_once(' ')
        && let Ok(at) = OffsetDateTime::parse(&format!("{date_time}+{offset}"), &Rfc3339)
    {
        return Ok(at);
    }
    if let Ok(date) = Date::parse(text, format_description!("[year]-[month]-[day]")) {
        return Ok(date.with_time(time_of_day).assume_utc());
    }
    Err(ApiError::invalid(format!(
        "{field} must be an RFC 3339 date-time such as 2027-03-14T20:00:00Z, or a date such as \
         2027-03-14"
    )))
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn query(pairs: &str) -> SearchQuery {
        serde_urlencoded::from_str(pairs).unwrap()
    }

    #[test]
    fn reads_a_query_string_with_the_seed_names() {
        let parsed = query(
            "q=Aurora+Nights&type=Concert&city=Berlin&performerName=Ada&eventName=Tour\
             &from=2027-03-01&to=2027-03-31T23:00:00Z&page=2&page_size=50",
        );
        assert_eq!(parsed.q.as_deref(), Some("Aurora Nights"));
        assert_eq!(parsed.category.as_deref(), Some("Concert"));
        assert_eq!(parsed.location.as_deref(), Some("Berlin"));
        assert_eq!(parsed.performer.as_deref(), Some("Ada"));
        assert_eq!(parsed.name.as_deref(), Some("Tour"));
        assert_eq!((parsed.page, parsed.page_size), (2, 50));
        assert_eq!(query(""), SearchQuery::default());
        assert_eq!(
            query("location=Paris&performer=X").location.as_deref(),
            Some("Paris")
        );
    }

    #[test]
    fn normalizes_words_categories_and_dates() {
        let criteria = Criteria::parse(&query(
            "q=Beyonc%C3%A9+LIVE&category=+Stand-Up++Comedy&from=2027-03-01&to=2027-03-01\
             &name=%20%20",
        ))
        .unwrap();
        assert_eq!(criteria.words, ["beyonce", "live"]);
        assert_eq!(criteria.phrase, "beyonce live");
        assert_eq!(criteria.category.as_deref(), Some("stand up comedy"));
        assert_eq!(criteria.name, None);
        assert_eq!(criteria.from, Some(datetime!(2027-03-01 0:00 UTC)));
        assert_eq!(
            criteria.to,
            Some(datetime!(2027-03-01 23:59:59.999_999_999 UTC))
        );
    }

    #[test]
    fn drops_small_words_unless_nothing_else_is_left() {
        let words = |q: &str| Criteria::parse(&query(q)).unwrap();
        let the_who = words("q=The+Who+at+the+Garden");
        assert_eq!(the_who.words, ["who", "garden"]);
        assert_eq!(the_who.phrase, "the who at the garden");
        assert_eq!(words("q=The+The").words, ["the", "the"]);
    }

    #[test]
    fn accepts_an_offset_whose_plus_became_a_space() {
        let criteria = Criteria::parse(&query("from=2027-03-01T20:00:00+01:00")).unwrap();
        assert_eq!(criteria.from, Some(datetime!(2027-03-01 19:00 UTC)));
    }

    #[test]
    fn rejects_bad_fields_naming_them() {
        let long = "a".repeat(MAX_TEXT_CHARS + 1);
        let many = "word ".repeat(MAX_WORDS + 1);
        for (pairs, field) in [
            ("page=0", "page"),
            ("page_size=0", "page_size"),
            ("page_size=101", "page_size"),
            ("from=yesterday", "from"),
            ("to=2027-13-01", "to"),
            ("from=2027-03-02&to=2027-03-01", "from"),
            ("performer=%21%21", "performer"),
            ("location=-", "location"),
            ("category=%2F", "category"),
            ("region=Europe", "region"),
            ("region=..%2Fx", "region"),
            (&format!("q={long}"), "q"),
            (&format!("category={long}"), "category"),
            (&format!("name={many}"), "name"),
        ] {
            let error = Criteria::parse(&query(pairs)).unwrap_err();
            assert_eq!(
                error.code,
                onsale_model::ErrorCode::InvalidRequest,
                "{pairs}"
            );
            assert!(
                error.message.starts_with(field),
                "{pairs}: {}",
                error.message
            );
        }
        assert!(query("page=2&page_size=100").validate().is_ok());
        assert!(query("region=all").validate().is_ok());
        assert!(query("region=us-east").validate().is_ok());
        assert!(
            query("q=%21%21").validate().is_ok(),
            "q without words is no q"
        );
    }
}
