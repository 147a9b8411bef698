//! Everything the edge answers from the snapshot: the JSON API, the seed API's aliases and
//! the HTML pages.

use onsale_indexer::{MissingBlock, SearchOrder, SearchQuery, Snapshot};
use onsale_model::{ApiError, ErrorCode, Event, Page, PageQuery};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::http::{EdgeRequest, EdgeResponse};
use crate::pages;

/// A read the snapshot can answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ReadKind {
    /// `GET /v1/events`.
    ApiList,
    /// `GET /v1/events/{id}`.
    ApiEvent(String),
    /// `GET /v1/search`.
    ApiSearch,
    /// `GET /viewEvent?pageNumber=&maxResultSize=` (pageNumber counts from 0).
    SeedView,
    /// `GET /getEvent?eventId=`.
    SeedGet,
    /// `GET /searchEvent?type=&location=&performerName=&eventName=` (the search query
    /// takes the seed's names as aliases).
    SeedSearch,
    /// `GET /`: the event list with a search box.
    HomePage,
    /// `GET /search`: search results.
    SearchPage,
    /// `GET /events/{id}`: one event, with its live seat map.
    EventPage(String),
    /// `GET /events/{id}/queue`: the event's waiting room.
    QueuePage(String),
    /// `GET /static/demo/{category}.svg`: the demo catalogue's pictures.
    DemoImage(String),
}

impl ReadKind {
    fn is_html(&self) -> bool {
        matches!(
            self,
            ReadKind::HomePage
                | ReadKind::SearchPage
                | ReadKind::EventPage(_)
                | ReadKind::QueuePage(_)
        )
    }

    /// An error in the form this read answers in: an HTML page or JSON.
    pub(crate) fn error(&self, error: &ApiError) -> EdgeResponse {
        if self.is_html() {
            EdgeResponse::html(error.status(), pages::error_page(error))
        } else {
            EdgeResponse::json_error(error)
        }
    }
}

/// Which read a path is, or `None` for a request to forward.
pub(crate) fn classify(path: &str) -> Option<ReadKind> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        ["v1", "events"] => Some(ReadKind::ApiList),
        ["v1", "events", id] => Some(ReadKind::ApiEvent((*id).to_string())),
        ["v1", "search"] => Some(ReadKind::ApiSearch),
        ["viewEvent"] => Some(ReadKind::SeedView),
        ["getEvent"] => Some(ReadKind::SeedGet),
        ["searchEvent"] => Some(ReadKind::SeedSearch),
        [""] => Some(ReadKind::HomePage),
        ["search"] => Some(ReadKind::SearchPage),
        ["events", id] => Some(ReadKind::EventPage((*id).to_string())),
        ["events", id, "queue"] => Some(ReadKind::QueuePage((*id).to_string())),
        ["static", "demo", file] => file
            .strip_suffix(".svg")
            .map(|category| ReadKind::DemoImage(category.to_string())),
        _ => None,
    }
}

/// The route part of a cache key (after the snapshot version): the read and the query
/// parameters it knows, parsed and written back in one order (unknown ones dropped, the
/// seed API's aliases under their own names), so URLs that mean the same answer share an
/// entry and made-up parameters make no new ones. `None` where the answer is not worth a
/// cache entry: a query that does not parse, an id not written as a plain number.
pub(crate) fn cache_key(kind: &ReadKind, query: &str) -> Option<String> {
    let canonical = |route: &str, query: Option<String>| Some(format!("{route}?{}", query?));
    match kind {
        ReadKind::ApiList => canonical("/v1/events", known::<PageQuery>(query)),
        ReadKind::HomePage => canonical("/", known::<PageQuery>(query)),
        ReadKind::ApiSearch => canonical("/v1/search", known::<SearchQuery>(query)),
        ReadKind::SeedSearch => canonical("/searchEvent", known::<SearchQuery>(query)),
        ReadKind::SearchPage => canonical("/search", known::<SearchQuery>(query)),
        ReadKind::SeedView => canonical("/viewEvent", known::<SeedView>(query)),
        ReadKind::SeedGet => canonical("/getEvent", known::<SeedGet>(query)),
        ReadKind::ApiEvent(id) => Some(format!("/v1/events/{}", plain_id(id)?)),
        ReadKind::EventPage(id) => Some(format!("/events/{}", plain_id(id)?)),
        ReadKind::QueuePage(id) => Some(format!("/events/{}/queue", plain_id(id)?)),
        ReadKind::DemoImage(category) => Some(format!("/static/demo/{category}.svg")),
    }
}

/// `query` as `T` reads it, written back: the known parameters in `T`'s order.
fn known<T: DeserializeOwned + Serialize>(query: &str) -> Option<String> {
    let parsed: T = serde_urlencoded::from_str(query).ok()?;
    serde_urlencoded::to_string(&parsed).ok()
}

/// An event id written the one way (`7`, not `07` or `+7`).
fn plain_id(id: &str) -> Option<u64> {
    let number: u64 = id.parse().ok()?;
    (number.to_string() == id).then_some(number)
}

/// Renders a read; successful answers carry the snapshot's caching headers. Pages tell
/// browsers to open live feeds at `live` (the coordinator's public URL), if given. An
/// answer that needs document blocks the snapshot has not fetched yet names them instead.
pub(crate) fn render(
    kind: &ReadKind,
    request: &EdgeRequest,
    snapshot: &Snapshot,
    live: Option<&str>,
) -> Result<EdgeResponse, Vec<MissingBlock>> {
    match answer(kind, request, snapshot, live) {
        Ok(response) => Ok(response.from_snapshot(snapshot.version())),
        Err(ReadError::Api(error)) => Ok(kind.error(&error)),
        Err(ReadError::Missing(blocks)) => Err(blocks),
    }
}

/// Why a read has no answer yet.
enum ReadError {
    /// The answer is this error.
    Api(ApiError),
    /// The answer needs these blocks first.
    Missing(Vec<MissingBlock>),
}

impl From<ApiError> for ReadError {
    fn from(error: ApiError) -> Self {
        ReadError::Api(error)
    }
}

impl From<onsale_indexer::Error> for ReadError {
    fn from(error: onsale_indexer::Error) -> Self {
        match error {
            onsale_indexer::Error::MissingBlocks(blocks) => ReadError::Missing(blocks),
            other => ReadError::Api(other.into()),
        }
    }
}

fn answer(
    kind: &ReadKind,
    request: &EdgeRequest,
    snapshot: &Snapshot,
    live: Option<&str>,
) -> Result<EdgeResponse, ReadError> {
    let query = request.query.as_str();
    Ok(match kind {
        ReadKind::ApiList => EdgeResponse::json(200, &list(snapshot, parse(query)?)?),
        ReadKind::ApiEvent(id) => EdgeResponse::json(200, &event(snapshot, id)?),
        ReadKind::ApiSearch | ReadKind::SeedSearch => {
            let search_query: SearchQuery = parse(query)?;
            EdgeResponse::json(200, &search(snapshot, &search_query)?)
        }
        ReadKind::SeedView => {
            let seed: SeedView = parse(query)?;
            let page = PageQuery {
                page: seed.page_number.unwrap_or(0).saturating_add(1),
                page_size: seed.max_result_size.unwrap_or(20),
            };
            EdgeResponse::json(200, &list(snapshot, page)?)
        }
        ReadKind::SeedGet => {
            let seed: SeedGet = parse(query)?;
            EdgeResponse::json(200, &event(snapshot, &seed.event_id)?)
        }
        ReadKind::HomePage => {
            let page: PageQuery = parse(query)?;
            let events = list(snapshot, page)?;
            EdgeResponse::html(200, pages::home(snapshot, &events))
        }
        ReadKind::SearchPage => {
            // A person's search lists soonest first unless they ask for the best match.
            let mut search_query: SearchQuery = parse(query)?;
            search_query.sort.get_or_insert(SearchOrder::Date);
            let results = search(snapshot, &search_query)?;
            EdgeResponse::html(200, pages::search(snapshot, &search_query, &results))
        }
        ReadKind::EventPage(id) => {
            EdgeResponse::html(200, pages::event(&event(snapshot, id)?, live))
        }
        ReadKind::QueuePage(id) => {
            EdgeResponse::html(200, pages::queue(&event(snapshot, id)?, live))
        }
        ReadKind::DemoImage(category) => {
            // Demo pictures are named by category: only the snapshot's categories have one.
            if snapshot.categories().binary_search(category).is_err() {
                return Err(ApiError::new(ErrorCode::NotFound, "no such picture").into());
            }
            EdgeResponse::new(200, "image/svg+xml", pages::demo_image(category))
        }
    })
}

fn parse<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    serde_urlencoded::from_str(query)
        .map_err(|e| ApiError::invalid(format!("bad query string: {e}")))
}

fn list(snapshot: &Snapshot, page: PageQuery) -> Result<Page<Event>, ReadError> {
    page.validate()?;
    Ok(snapshot.list(page)?)
}

fn event(snapshot: &Snapshot, id: &str) -> Result<Event, ReadError> {
    let found = match id.parse::<u64>() {
        Ok(number) => snapshot.get(number)?,
        Err(_) => None,
    };
    let missing = || ApiError::new(ErrorCode::NotFound, format!("no event {id}"));
    Ok(found.ok_or_else(missing)?)
}

fn search(snapshot: &Snapshot, query: &SearchQuery) -> Result<Page<Event>, ReadError> {
    Ok(snapshot.search(query)?)
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
struct SeedView {
    page_number: Option<u32>,
    max_result_size: Option<u32>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
struct SeedGet {
    event_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_reads_and_leaves_the_rest_to_forward() {
        assert_eq!(classify("/v1/events"), Some(ReadKind::ApiList));
        assert_eq!(
            classify("/v1/events/7"),
            Some(ReadKind::ApiEvent("7".into()))
        );
        assert_eq!(classify("/"), Some(ReadKind::HomePage));
        assert_eq!(classify("/events/3"), Some(ReadKind::EventPage("3".into())));
        assert_eq!(
            classify("/events/3/queue"),
            Some(ReadKind::QueuePage("3".into()))
        );
        assert_eq!(
            classify("/static/demo/opera.svg"),
            Some(ReadKind::DemoImage("opera".into()))
        );
        assert_eq!(classify("/v1/events/7/seats"), None);
        assert_eq!(classify("/v1/holds/abc"), None);
        assert_eq!(classify("/bookEvent"), None);
    }

    #[test]
    fn cache_keys_know_each_routes_parameters() {
        let key = |path: &str| {
            let (path, query) = path.split_once('?').unwrap_or((path, ""));
            cache_key(&classify(path).expect("a read"), query)
        };
        assert_eq!(
            key("/v1/events?page_size=100&cb=1"),
            key("/v1/events?page=1&page_size=100&cb=2")
        );
        assert_eq!(
            key("/v1/events?page_size=100&page=2").as_deref(),
            Some("/v1/events?page=2&page_size=100")
        );
        assert_eq!(
            key("/searchEvent?type=opera&eventName=x&zzz=1"),
            key("/searchEvent?name=x&category=opera")
        );
        assert_ne!(key("/search?q=a"), key("/v1/search?q=a"));
        assert_eq!(key("/?x=1"), key("/"));
        assert_eq!(key("/events/7?utm=1").as_deref(), Some("/events/7"));
        assert_eq!(key("/events/07"), None);
        assert_eq!(key("/v1/events?page=x"), None);
        assert_eq!(key("/v1/events?page=1&page=2"), None);
    }
}
