//! Writes (and every other request the snapshot cannot answer) forwarded to the
//! coordinator with the Workers `fetch`.

use onsale_edge::{EdgeRequest, EdgeResponse, Upstream, UpstreamError};
use worker::js_sys::Uint8Array;
use worker::{Fetch, Headers, Request, web_sys};

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
    fn outgoing(&self, request: &EdgeRequest) -> worker::Result<Request> {
        let headers = Headers::new();
        for (name, value) in request.forwarded_headers() {
            headers.append(name, value)?;
        }
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
