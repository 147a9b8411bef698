//! Writes (and every other request the snapshot cannot answer) forwarded to the
//! coordinator with the Workers `fetch`, and live feeds passed through as streams.

use onsale_edge::{EdgeRequest, EdgeResponse, Upstream, UpstreamError};
use worker::js_sys::Uint8Array;
use worker::{Fetch, Headers, Request, Response, web_sys};

/// The coordinator at a base URL, reached with `fetch`.
pub struct FetchUpstream {
    base: String,
}

impl FetchUpstream {
    /// Forwards to the coordinator at `base` (`https://host[:port]`).
    pub fn new(base: &str) -> Self {
        FetchUpstream {
            base: base.trim_end_matches('/').to_string(),
        }
    }

    /// The Workers request for `request`: the same method, path, query, end-to-end
    /// headers and body, sent to the coordinator.
    ///
    /// It asks for the answer as it is (`Accept-Encoding: identity`), as the worker's own
    /// answers are: Cloudflare's network compresses on the way out, by what the client
    /// accepts. (The platform rewrites a client's `Accept-Encoding` to `br, gzip` before
    /// the worker sees it; passed on, the coordinator would compress, `fetch` would
    /// decode but keep the `Content-Encoding`, and the runtime would encode again for a
    /// client that may never have asked.)
    fn outgoing(&self, request: &EdgeRequest) -> worker::Result<Request> {
        let headers = Headers::new();
        for (name, value) in request.forwarded_headers() {
            headers.append(name, value)?;
        }
        headers.set("accept-encoding", "identity")?;
        let init = web_sys::RequestInit::new();
        init.set_method(&request.method);
        init.set_headers(headers.as_ref());
        if !request.body.is_empty() {
            init.set_body(&Uint8Array::from(&request.body[..]));
        }
        let url = format!("{}{}", self.base, request.path_and_query());
        Ok(web_sys::Request::new_with_str_and_init(&url, &init)?.into())
    }
}

impl FetchUpstream {
    /// Passes a live feed (server-sent events or a WebSocket upgrade) to the coordinator
    /// and returns its answer as it is: a streamed body goes on as it comes, and a `101`
    /// carries the coordinator's socket, which the runtime joins to the client's.
    pub async fn stream(&self, request: &Request) -> worker::Result<Response> {
        let url = request.url()?;
        let headers = Headers::new();
        for (name, value) in request.headers().entries() {
            // The client's own claims about its address are never passed on.
            if !name.starts_with("x-onsale-") && name != "host" {
                headers.append(&name, &value)?;
            }
        }
        headers.set("accept-encoding", "identity")?;
        let init = web_sys::RequestInit::new();
        init.set_method("GET");
        init.set_headers(headers.as_ref());
        let target = format!(
            "{}{}{}",
            self.base,
            url.path(),
            url.query().map(|q| format!("?{q}")).unwrap_or_default()
        );
        let outgoing = web_sys::Request::new_with_str_and_init(&target, &init)?;
        Fetch::Request(outgoing.into()).send().await
    }
}

impl Upstream for FetchUpstream {
    async fn forward(&self, request: EdgeRequest) -> Result<EdgeResponse, UpstreamError> {
        let failed = |e: worker::Error| UpstreamError::Unreachable(e.to_string());
        let outgoing = self.outgoing(&request).map_err(failed)?;
        let mut response = Fetch::Request(outgoing).send().await.map_err(failed)?;
        let headers: Vec<(String, String)> = response.headers().entries().collect();
        // workerd fails a body that ends before its content-length: an error, never an
        // answer passed on cut short.
        let body = response
            .bytes()
            .await
            .map_err(|e| UpstreamError::BadAnswer(e.to_string()))?;
        Ok(EdgeResponse::from_upstream(
            response.status_code(),
            headers,
            body.into(),
        ))
    }
}
