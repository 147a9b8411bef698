//! Compressed answers: brotli or gzip, whichever the client accepts (brotli first), for
//! the text the edge sends (pages, JSON, the script and the stylesheet). Answers the
//! cache keeps are compressed once per encoding, not once per request: the encoding is
//! part of their cache key. Every compressible answer says `Vary: Accept-Encoding`, so
//! that no cache in between hands one encoding to a client that asked for another.
//!
//! Without the `compression` feature (the Cloudflare adapter, whose network compresses on
//! the way out) every answer goes out as it is.

use bytes::Bytes;

use crate::http::EdgeResponse;

/// Bodies smaller than this gain too little to be worth compressing.
const MIN_BYTES: usize = 1024;

/// Brotli's quality for answers (0-11): 5 compresses a page in about a millisecond to
/// near what 11 reaches, which costs a hundred times as long.
#[cfg(feature = "compression")]
const BROTLI_QUALITY: u32 = 5;

/// How an answer's body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    /// As it is.
    Identity,
    /// gzip (RFC 1952).
    Gzip,
    /// Brotli (RFC 7932).
    Brotli,
}

impl Encoding {
    /// The best encoding a request's `Accept-Encoding` allows: brotli, then gzip, else
    /// none; an encoding with `q=0` is refused.
    pub(crate) fn preferred(accept_encoding: Option<&str>) -> Encoding {
        if !cfg!(feature = "compression") {
            return Encoding::Identity;
        }
        let Some(accepted) = accept_encoding else {
            return Encoding::Identity;
        };
        let allows = |wanted: &str| {
            accepted.split(',').any(|item| {
                let mut parts = item.split(';').map(str::trim);
                let name = parts.next().unwrap_or_default();
                let refused = parts.any(|p| {
                    p.strip_prefix("q=")
                        .and_then(|q| q.parse::<f32>().ok())
                        .is_some_and(|q| q <= 0.0)
                });
                name.eq_ignore_ascii_case(wanted) && !refused
            })
        };
        if allows("br") {
            Encoding::Brotli
        } else if allows("gzip") {
            Encoding::Gzip
        } else {
            Encoding::Identity
        }
    }

    /// Its name in a cache key and in `Content-Encoding`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Encoding::Identity => "identity",
            Encoding::Gzip => "gzip",
            Encoding::Brotli => "br",
        }
    }
}

/// Whether an answer of this type is text worth compressing.
fn compressible(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|t| {
        t.starts_with("text/")
            || t.starts_with("application/json")
            || t.starts_with("image/svg+xml")
            || t.starts_with("application/javascript")
    })
}

/// `response` with its body in `encoding`, where that is worth it: a successful answer of
/// text, at least [`MIN_BYTES`], not encoded already. Its `ETag` names the encoding, so
/// a validator never stands for two different bodies.
pub(crate) fn encode(mut response: EdgeResponse, encoding: Encoding) -> EdgeResponse {
    if response.status != 200
        || !compressible(response.header("content-type"))
        || response.header("content-encoding").is_some()
    {
        return response;
    }
    response
        .headers
        .push(("vary".into(), "accept-encoding".into()));
    if encoding == Encoding::Identity || response.body.len() < MIN_BYTES {
        return response;
    }
    let Some(body) = compressed(&response.body, encoding) else {
        return response;
    };
    response.body = body;
    response
        .headers
        .push(("content-encoding".into(), encoding.name().into()));
    for (name, value) in &mut response.headers {
        if name == "etag" && value.ends_with('"') {
            value.insert_str(value.len() - 1, &format!("-{}", encoding.name()));
        }
    }
    response
}

#[cfg(feature = "compression")]
fn compressed(body: &[u8], encoding: Encoding) -> Option<Bytes> {
    use std::io::Write;
    let mut out = Vec::with_capacity(body.len() / 4);
    match encoding {
        Encoding::Identity => return None,
        Encoding::Gzip => {
            let mut encoder = flate2::write::GzEncoder::new(&mut out, flate2::Compression::new(6));
            encoder.write_all(body).ok()?;
            encoder.finish().ok()?;
        }
        Encoding::Brotli => {
            let mut encoder = brotli::CompressorWriter::new(&mut out, 4096, BROTLI_QUALITY, 22);
            encoder.write_all(body).ok()?;
            encoder.flush().ok()?;
        }
    }
    Some(Bytes::from(out))
}

#[cfg(not(feature = "compression"))]
fn compressed(_body: &[u8], _encoding: Encoding) -> Option<Bytes> {
    None
}

#[cfg(all(test, feature = "compression"))]
mod tests {
    use super::*;
    use std::io::Read;

    fn page() -> EdgeResponse {
        let mut response = EdgeResponse::html(200, "<p>an event</p>".repeat(400));
        response.headers.push(("etag".into(), "\"v1-abc\"".into()));
        response
    }

    #[test]
    fn picks_brotli_then_gzip_and_honours_refusals() {
        assert_eq!(
            Encoding::preferred(Some("gzip, deflate, br, zstd")),
            Encoding::Brotli
        );
        assert_eq!(Encoding::preferred(Some("gzip")), Encoding::Gzip);
        assert_eq!(
            Encoding::preferred(Some("br;q=0, gzip;q=0.5")),
            Encoding::Gzip
        );
        assert_eq!(Encoding::preferred(Some("deflate")), Encoding::Identity);
        assert_eq!(Encoding::preferred(None), Encoding::Identity);
    }

    #[test]
    fn compressed_bodies_decode_to_the_original() {
        let original = page().body;
        let br = encode(page(), Encoding::Brotli);
        assert_eq!(br.header("content-encoding"), Some("br"));
        assert_eq!(br.header("etag"), Some("\"v1-abc-br\""));
        assert!(br.body.len() * 10 < original.len(), "{}", br.body.len());
        let mut decoded = Vec::new();
        brotli::Decompressor::new(&br.body[..], 4096)
            .read_to_end(&mut decoded)
            .unwrap();
        assert_eq!(decoded, original);

        let gz = encode(page(), Encoding::Gzip);
        assert_eq!(gz.header("content-encoding"), Some("gzip"));
        let mut decoded = Vec::new();
        flate2::read::GzDecoder::new(&gz.body[..])
            .read_to_end(&mut decoded)
            .unwrap();
        assert_eq!(decoded, original);
        assert_eq!(gz.header("vary"), Some("accept-encoding"));
    }

    #[test]
    fn small_errors_and_binary_answers_stay_as_they_are() {
        let small = encode(
            EdgeResponse::html(200, "<p>hi</p>".into()),
            Encoding::Brotli,
        );
        assert_eq!(small.header("content-encoding"), None);
        assert_eq!(small.header("vary"), Some("accept-encoding"));
        let mut missing = page();
        missing.status = 404;
        assert_eq!(
            encode(missing, Encoding::Brotli).header("content-encoding"),
            None
        );
        let png = EdgeResponse::new(200, "image/png", vec![0u8; 4096]);
        let png = encode(png, Encoding::Gzip);
        assert_eq!(
            (png.header("content-encoding"), png.header("vary")),
            (None, None)
        );
    }
}
