//! Writes (and every other request the snapshot cannot answer) forwarded to the
//! coordinator over outbound HTTP (`wasi:http` 0.3), and the plain GETs of snapshots.
//!
//! Both go through [`exchange`], which speaks wasi:http itself rather than through
//! spin-sdk's `send`: that one converts the request with wasip3's `http_compat`, which
//! drops the request's transmission future as soon as the request is made, and a host
//! such as wasmtime then stops the outgoing connection after its first socket read, so a
//! response body longer than that read ends early as if it were complete. [`exchange`]
//! keeps the transmission future until the response body has been read to its end, and
//! checks the body against its `content-length`: a short body is an error, never a
//! truncated answer.

use std::ops::Range;

use bytes::Bytes;
use onsale_edge::{EdgeRequest, EdgeResponse, Upstream, UpstreamError};
use spin_sdk::wasip3::http::client;
use spin_sdk::wasip3::http::types::{ErrorCode, Fields, Method, Request, Response, Scheme};
use spin_sdk::wasip3::wit_bindgen::StreamResult;
use spin_sdk::wasip3::{spawn, wit_future, wit_stream};

/// Request headers the host sets itself (`host` is the URL's authority) and refuses
/// from a guest.
const HOST_SET_HEADERS: &[&str] = &[
    "host",
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
    "te",
];

/// How much of a response body one read asks for.
const READ_CHUNK: usize = 64 * 1024;

/// The coordinator at a base URL.
pub struct HttpUpstream {
    base: String,
}

impl HttpUpstream {
    /// Forwards to the coordinator at `base` (`https://host[:port]`).
    pub fn new(base: &str) -> Self {
        HttpUpstream {
            base: base.trim_end_matches('/').to_string(),
        }
    }
}

impl Upstream for HttpUpstream {
    async fn forward(&self, request: EdgeRequest) -> Result<EdgeResponse, UpstreamError> {
        let url = format!("{}{}", self.base, request.path_and_query());
        let headers: Vec<(String, String)> = request
            .forwarded_headers()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        let answer = exchange(&request.method, &url, &headers, request.body).await?;
        Ok(EdgeResponse::from_upstream(
            answer.status,
            answer.headers,
            answer.body,
        ))
    }
}

/// `GET url`, which must answer 200 with its whole body.
pub async fn get(url: &str) -> Result<Bytes, UpstreamError> {
    let answer = exchange("GET", url, &[], Bytes::new()).await?;
    if answer.status != 200 {
        return Err(UpstreamError::Unreachable(format!(
            "{url}: status {}",
            answer.status
        )));
    }
    Ok(answer.body)
}

/// `GET url` for the bytes in `range`, which must answer 206 with exactly those.
pub async fn get_range(url: &str, range: Range<u64>) -> Result<Bytes, UpstreamError> {
    let wanted = range.end.saturating_sub(range.start);
    let header = onsale_edge::range_header(&range);
    let answer = exchange("GET", url, &[("range".into(), header)], Bytes::new()).await?;
    if answer.status != 206 || answer.body.len() as u64 != wanted {
        return Err(UpstreamError::BadAnswer(format!(
            "{url}: status {} with {} bytes for a range of {wanted}",
            answer.status,
            answer.body.len()
        )));
    }
    Ok(answer.body)
}

/// A response read to its end.
struct Answer {
    status: u16,
    /// Header names in lower case with their values; values that are not text are dropped.
    headers: Vec<(String, String)>,
    body: Bytes,
}

/// Sends one request and reads its response whole.
///
/// Errors: [`UpstreamError::Unreachable`] when no response came (connection refused,
/// timeout, a request the host refuses); [`UpstreamError::BadAnswer`] when a response
/// came but its body failed or ended before its `content-length`.
async fn exchange(
    method: &str,
    url: &str,
    headers: &[(String, String)],
    body: Bytes,
) -> Result<Answer, UpstreamError> {
    let unreachable = |why: String| UpstreamError::Unreachable(format!("{method} {url}: {why}"));
    let uri: http::Uri = url.parse().map_err(|e| unreachable(format!("{e}")))?;
    let fields: Vec<(String, Vec<u8>)> = headers
        .iter()
        .filter(|(name, _)| !HOST_SET_HEADERS.contains(&name.to_ascii_lowercase().as_str()))
        .map(|(name, value)| (name.clone(), value.clone().into_bytes()))
        .collect();
    let fields = Fields::from_list(&fields).map_err(|e| unreachable(format!("headers: {e:?}")))?;

    // The body goes out through a stream that a task of its own fills, so a large body
    // and the response can move at the same time; `trailers` ends the body.
    let (trailers_writer, trailers) = wit_future::new(|| Ok(None));
    let contents = if body.is_empty() {
        drop(trailers_writer);
        None
    } else {
        let (mut writer, reader) = wit_stream::new();
        spawn(async move {
            let unwritten = writer.write_all(body.to_vec()).await;
            drop(writer);
            let outcome = if unwritten.is_empty() {
                Ok(None)
            } else {
                Err(ErrorCode::InternalError(Some(
                    "the request body was not taken whole".to_string(),
                )))
            };
            let _ = trailers_writer.write(outcome).await;
        });
        Some(reader)
    };
    // `transmitted` must live until the response body is read: dropping it tells the host
    // that the request is over, and it may then end the connection mid-body.
    let (request, transmitted) = Request::new(fields, contents, trailers, None);
    let method = match method {
        "GET" => Method::Get,
        "HEAD" => Method::Head,
        "POST" => Method::Post,
        "PUT" => Method::Put,
        "DELETE" => Method::Delete,
        "PATCH" => Method::Patch,
        "OPTIONS" => Method::Options,
        other => Method::Other(other.to_string()),
    };
    let scheme = match uri.scheme_str() {
        Some("https") => Scheme::Https,
        _ => Scheme::Http,
    };
    request
        .set_method(&method)
        .and_then(|()| request.set_scheme(Some(&scheme)))
        .and_then(|()| request.set_authority(uri.authority().map(|a| a.as_str())))
        .and_then(|()| request.set_path_with_query(uri.path_and_query().map(|p| p.as_str())))
        .map_err(|()| unreachable("the host refused the request line".to_string()))?;

    let response = client::send(request)
        .await
        .map_err(|e| unreachable(e.to_string()))?;
    let status = response.get_status_code();
    let headers: Vec<(String, String)> = response
        .get_headers()
        .copy_all()
        .into_iter()
        .filter_map(|(name, value)| {
            Some((name.to_ascii_lowercase(), String::from_utf8(value).ok()?))
        })
        .collect();
    let expected = headers
        .iter()
        .find(|(name, _)| name == "content-length")
        .and_then(|(_, value)| value.trim().parse::<usize>().ok());
    let bad = |why: String| UpstreamError::BadAnswer(format!("{url}: {why}"));

    let (handled, handled_reader) = wit_future::new(|| Ok(()));
    let (mut stream, body_end) = Response::consume_body(response, handled_reader);
    let mut body = Vec::with_capacity(expected.unwrap_or(READ_CHUNK));
    loop {
        body.reserve(READ_CHUNK);
        let (result, filled) = stream.read(body).await;
        body = filled;
        match result {
            StreamResult::Complete(_) => {}
            StreamResult::Dropped => break,
            StreamResult::Cancelled => return Err(bad("the body read was cancelled".into())),
        }
    }
    body_end
        .await
        .map_err(|e| bad(format!("the body failed after {} bytes: {e}", body.len())))?;
    drop(handled);
    // The exchange is over; its outcome only matters when the body did not already fail.
    let _ = transmitted.await;
    if let Some(length) = expected
        && length != body.len()
    {
        return Err(bad(format!(
            "the body ended after {} of {length} bytes",
            body.len()
        )));
    }
    Ok(Answer {
        status,
        headers,
        body: Bytes::from(body),
    })
}
