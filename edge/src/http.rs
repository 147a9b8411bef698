//! Requests and responses as the core sees them: plain data every adapter can build.

use bytes::Bytes;
use onsale_model::ApiError;
use serde::Serialize;

/// Headers that describe one connection, not the message: never forwarded.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
];

/// Whether `name` (lower case) is a header of one connection, never passed on to the
/// other side of the edge.
pub fn is_hop_by_hop(name: &str) -> bool {
    HOP_BY_HOP.contains(&name)
}

/// An HTTP request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EdgeRequest {
    /// Upper-case method, e.g. `GET`.
    pub method: String,
    /// The path, e.g. `/v1/events/7`.
    pub path: String,
    /// The raw query string without `?` (empty when none).
    pub query: String,
    /// Header names in lower case, with their values.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Bytes,
}

impl EdgeRequest {
    /// A `GET` of `path_and_query` with no headers.
    pub fn get(path_and_query: &str) -> Self {
        let (path, query) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        EdgeRequest {
            method: "GET".into(),
            path: path.into(),
            query: query.into(),
            ..EdgeRequest::default()
        }
    }

    /// The first value of a header (name in lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// `path?query`, as sent upstream.
    pub fn path_and_query(&self) -> String {
        if self.query.is_empty() {
            self.path.clone()
        } else {
            format!("{}?{}", self.path, self.query)
        }
    }

    /// The headers worth forwarding (end-to-end ones only).
    pub fn forwarded_headers(&self) -> impl Iterator<Item = &(String, String)> {
        self.headers
            .iter()
            .filter(|(name, _)| !HOP_BY_HOP.contains(&name.as_str()))
    }

    /// The core's view of an `http` request (as hyper, axum and Spin hand it over); header
    /// values that are not text are dropped.
    pub fn from_http(parts: &http::request::Parts, body: Bytes) -> Self {
        EdgeRequest {
            method: parts.method.as_str().to_string(),
            path: parts.uri.path().to_string(),
            query: parts.uri.query().unwrap_or_default().to_string(),
            headers: text_headers(&parts.headers),
            body,
        }
    }

    /// The request without the headers only an edge may send (`x-onsale-*`: the client's
    /// address and the edge's secret, which the coordinator's limits believe): for
    /// platforms that pass on whatever a client sent.
    pub fn without_client_claims(mut self) -> Self {
        self.headers
            .retain(|(name, _)| !name.starts_with(EDGE_HEADER_PREFIX));
        self
    }
}

/// The prefix of the headers the edge adds for the coordinator; a client's own are dropped.
const EDGE_HEADER_PREFIX: &str = "x-onsale-";

/// Header names (lower case, as `http` keeps them) with their values; values that are
/// not text are dropped.
fn text_headers(headers: &http::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .filter_map(|(name, value)| {
            Some((name.as_str().to_string(), value.to_str().ok()?.to_string()))
        })
        .collect()
}

/// An HTTP response.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EdgeResponse {
    /// Status code.
    pub status: u16,
    /// Header names in lower case, with their values.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Bytes,
}

impl EdgeResponse {
    /// A response with a body and its content type.
    pub fn new(status: u16, content_type: &str, body: impl Into<Bytes>) -> Self {
        EdgeResponse {
            status,
            headers: vec![("content-type".into(), content_type.into())],
            body: body.into(),
        }
    }

    /// The coordinator's answer as the edge passes it on: its status, its end-to-end
    /// headers (those of the connection and the length are the platform's to set) and
    /// its body.
    pub fn from_upstream<N, V>(
        status: u16,
        headers: impl IntoIterator<Item = (N, V)>,
        body: Bytes,
    ) -> Self
    where
        N: Into<String>,
        V: Into<String>,
    {
        let headers = headers
            .into_iter()
            .map(|(name, value)| (name.into().to_ascii_lowercase(), value.into()))
            .filter(|(name, _)| !HOP_BY_HOP.contains(&name.as_str()))
            .collect();
        EdgeResponse {
            status,
            headers,
            body,
        }
    }

    /// [`EdgeResponse::from_upstream`] with the headers as an `http` map (as reqwest
    /// hands them over).
    pub fn from_upstream_map(status: u16, headers: &http::HeaderMap, body: Bytes) -> Self {
        EdgeResponse::from_upstream(status, text_headers(headers), body)
    }

    /// As an `http` response for the platform's server; a status or header `http` refuses
    /// makes it a `500` that says so.
    pub fn into_http(self) -> http::Response<Bytes> {
        let mut builder = http::Response::builder().status(self.status);
        for (name, value) in &self.headers {
            builder = builder.header(name, value);
        }
        builder.body(self.body).unwrap_or_else(|e| {
            let error = ApiError::new(
                onsale_model::ErrorCode::Internal,
                format!("bad response from the edge core: {e}"),
            );
            let fallback = EdgeResponse::json_error(&error);
            let mut answer = http::Response::new(fallback.body);
            *answer.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
            answer
        })
    }

    /// A JSON response.
    pub fn json<T: Serialize>(status: u16, value: &T) -> Self {
        match serde_json::to_vec(value) {
            Ok(body) => EdgeResponse::new(status, "application/json", body),
            Err(_) => EdgeResponse::text(500, "could not encode the response\n"),
        }
    }

    /// An API error as `{"error": {"code", "message"}}`, with `Retry-After` when the
    /// error asks for a wait (every `503` does: [`ApiError::wait_seconds`]).
    pub fn json_error(error: &ApiError) -> Self {
        let mut response = EdgeResponse::json(error.status(), &error.body());
        if let Some(seconds) = error.wait_seconds() {
            response
                .headers
                .push(("retry-after".into(), seconds.to_string()));
        }
        response
    }

    /// An HTML page.
    pub fn html(status: u16, page: String) -> Self {
        EdgeResponse::new(status, "text/html; charset=utf-8", page)
    }

    /// Plain text.
    pub fn text(status: u16, text: impl Into<String>) -> Self {
        EdgeResponse::new(status, "text/plain; charset=utf-8", text.into())
    }

    /// The first value of a header (name in lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Marks a response built from snapshot `version`: a strong `ETag` over the version
    /// and the body, `Cache-Control: public, no-cache` (keep, but revalidate), and the
    /// version itself.
    pub fn from_snapshot(mut self, version: u64) -> Self {
        let etag = format!("\"v{version}-{:016x}\"", onsale_site::fnv1a(&self.body));
        self.headers.push(("etag".into(), etag));
        self.headers
            .push(("cache-control".into(), "public, no-cache".into()));
        self.headers
            .push(("x-snapshot-version".into(), version.to_string()));
        self
    }

    /// The response with its body's length in `content-length`, so that a `HEAD` answers
    /// the length `GET` would on every platform (workerd and wasmtime send no length for
    /// a body they are not given); `204` and `304` carry none.
    pub fn with_length(mut self) -> Self {
        self.headers.retain(|(name, _)| name != "content-length");
        if !matches!(self.status, 204 | 304) {
            self.headers
                .push(("content-length".into(), self.body.len().to_string()));
        }
        self
    }

    /// `304 Not Modified` when `if_none_match` names this response's `ETag`.
    pub fn conditional(self, if_none_match: Option<&str>) -> Self {
        let (Some(wanted), Some(etag)) = (if_none_match, self.header("etag")) else {
            return self;
        };
        let matches = wanted == "*"
            || wanted
                .split(',')
                .any(|tag| tag.trim().trim_start_matches("W/") == etag);
        if !matches {
            return self;
        }
        EdgeResponse {
            status: 304,
            headers: self
                .headers
                .into_iter()
                .filter(|(name, _)| name != "content-type")
                .collect(),
            body: Bytes::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_follow_version_and_body_and_answer_304() {
        let a = EdgeResponse::text(200, "same").from_snapshot(1);
        let b = EdgeResponse::text(200, "same").from_snapshot(2);
        let c = EdgeResponse::text(200, "other").from_snapshot(1);
        let tag = a.header("etag").unwrap().to_string();
        assert_ne!(Some(tag.as_str()), b.header("etag"));
        assert_ne!(Some(tag.as_str()), c.header("etag"));
        let hit = a.clone().conditional(Some(&format!("\"x\", {tag}")));
        assert_eq!(hit.status, 304);
        assert!(hit.body.is_empty());
        assert_eq!(hit.header("etag"), Some(tag.as_str()));
        assert_eq!(a.clone().conditional(Some("\"nope\"")).status, 200);
        assert_eq!(a.conditional(None).status, 200);
    }

    #[test]
    fn hop_by_hop_headers_are_not_forwarded() {
        let request = EdgeRequest {
            headers: vec![
                ("connection".into(), "keep-alive".into()),
                ("authorization".into(), "Bearer t".into()),
                ("host".into(), "edge".into()),
            ],
            ..EdgeRequest::get("/v1/holds/1?x=1")
        };
        let kept: Vec<_> = request
            .forwarded_headers()
            .map(|(n, _)| n.as_str())
            .collect();
        assert_eq!(kept, ["authorization"]);
        assert_eq!(request.path_and_query(), "/v1/holds/1?x=1");
    }
}
