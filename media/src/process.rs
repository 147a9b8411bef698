//! The CPU side: what the bytes are, whether they decode within limits, and the resized
//! variants. Everything here is synchronous; the store runs it on tokio's blocking pool.

use std::io::Cursor;

use bytes::Bytes;
use fast_image_resize::{FilterType, ResizeAlg, ResizeOptions, Resizer};
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::{CompressionType, FilterType as PngFilter, PngEncoder};
use image::{
    DynamicImage, ImageDecoder, ImageEncoder, ImageError, ImageFormat, ImageReader, Limits,
    metadata::Orientation,
};

use crate::{MediaError, Result};

/// The largest accepted upload, in bytes (10 MiB).
pub const MAX_IMAGE_BYTES: usize = 10 * 1024 * 1024;

/// The largest accepted width or height, in pixels.
pub const MAX_IMAGE_SIDE: u32 = 12_000;

/// The most memory a decoded image may take: 256 MiB is 8,000 × 8,000 RGB pixels (or
/// 6,900 × 6,900 with alpha), and it bounds what one upload costs the server.
const MAX_DECODED_BYTES: u64 = 256 * 1024 * 1024;

/// The widths of the resized variants, smallest first. A width at or above the
/// original's is skipped: images are never enlarged.
pub const VARIANT_WIDTHS: [u32; 3] = [320, 640, 1280];

/// JPEG quality of the variants: visually clean photos at about a tenth of the pixels' size.
const JPEG_QUALITY: u8 = 82;

/// A format this crate stores: the accepted uploads, and the variants' encodings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Jpeg,
    Png,
    WebP,
}

impl Kind {
    /// The file extension used in object names.
    pub(crate) fn extension(self) -> &'static str {
        match self {
            Kind::Jpeg => "jpg",
            Kind::Png => "png",
            Kind::WebP => "webp",
        }
    }

    /// The kind an object name's extension stands for.
    pub(crate) fn from_extension(extension: &str) -> Option<Kind> {
        [Kind::Jpeg, Kind::Png, Kind::WebP]
            .into_iter()
            .find(|kind| kind.extension() == extension)
    }

    /// The HTTP Content-Type.
    pub(crate) fn content_type(self) -> &'static str {
        match self {
            Kind::Jpeg => "image/jpeg",
            Kind::Png => "image/png",
            Kind::WebP => "image/webp",
        }
    }

    fn format(self) -> ImageFormat {
        match self {
            Kind::Jpeg => ImageFormat::Jpeg,
            Kind::Png => ImageFormat::Png,
            Kind::WebP => ImageFormat::WebP,
        }
    }
}

/// The format the first bytes announce. Accepted formats are checked strictly (their full
/// signature); a few others that operators are likely to send are named in the error.
pub(crate) fn sniff(bytes: &[u8]) -> Result<Kind> {
    let at = |range: std::ops::Range<usize>| bytes.get(range).unwrap_or_default();
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Ok(Kind::Jpeg);
    }
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Ok(Kind::Png);
    }
    if at(0..4) == b"RIFF" && at(8..12) == b"WEBP" {
        return Ok(Kind::WebP);
    }
    let text = bytes
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(bytes)
        .trim_ascii_start();
    let found = if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("GIF")
    } else if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
        Some("TIFF")
    } else if bytes.starts_with(b"BM") && at(6..10) == [0; 4] {
        Some("BMP")
    } else if at(4..8) == b"ftyp" && matches!(at(8..12), b"avif" | b"avis") {
        Some("AVIF")
    } else if at(4..8) == b"ftyp" && matches!(at(8..12), b"heic" | b"heix" | b"mif1" | b"msf1") {
        Some("HEIC")
    } else if bytes.starts_with(b"%PDF-") {
        Some("PDF")
    } else if text.starts_with(b"<svg")
        || (text.starts_with(b"<?xml")
            && text[..text.len().min(1024)]
                .windows(4)
                .any(|w| w == b"<svg"))
    {
        Some("SVG")
    } else {
        None
    };
    Err(MediaError::UnsupportedFormat { found })
}

/// The size the image is shown at (after its EXIF orientation), once its header has
/// passed the limits. Reads the header only: cheap even for a large file.
pub(crate) fn inspect(bytes: &[u8], kind: Kind) -> Result<(u32, u32)> {
    let mut decoder = decoder(bytes, kind)?;
    let orientation = orientation(&mut decoder);
    Ok(oriented(decoder.dimensions(), orientation))
}

/// One resized variant, encoded.
pub(crate) struct Encoded {
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) kind: Kind,
    pub(crate) bytes: Bytes,
}

/// Decodes the image and encodes its variants, smallest first. Each variant is resized
/// from the next larger one (1280 from the original, 640 from 1280, ...): with a
/// Lanczos3 filter that looks the same as resizing from the original, at a fraction of
/// the work for large photos.
pub(crate) fn render(bytes: &[u8], kind: Kind) -> Result<Vec<Encoded>> {
    let mut decoder = decoder(bytes, kind)?;
    let orientation = orientation(&mut decoder);
    // A profile is kept only if it describes RGB: the variants are always RGB(A).
    let icc =
        (decoder.icc_profile().ok().flatten()).filter(|icc| icc.get(16..20) == Some(&b"RGB "[..]));
    let mut image = DynamicImage::from_decoder(decoder).map_err(unreadable)?;
    image.apply_orientation(orientation);
    let (image, out) = eight_bit(image);

    let sizes: Vec<(u32, u32)> = variant_sizes(image.width(), image.height()).collect();
    let mut resizer = Resizer::new();
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3));
    let mut variants = Vec::with_capacity(sizes.len());
    let mut source = image;
    for &(width, height) in sizes.iter().rev() {
        let mut resized = DynamicImage::new(width, height, source.color());
        resizer
            .resize(&source, &mut resized, &options)
            .map_err(|e| MediaError::Processing(e.into()))?;
        variants.push(Encoded {
            width,
            height,
            kind: out,
            bytes: encode(&resized, out, icc.as_deref())?,
        });
        source = resized;
    }
    variants.reverse();
    Ok(variants)
}

/// The sizes of the variants of a `width` × `height` image, smallest first: each of
/// [`VARIANT_WIDTHS`] below `width`, with the height that keeps the aspect ratio.
pub(crate) fn variant_sizes(width: u32, height: u32) -> impl Iterator<Item = (u32, u32)> {
    VARIANT_WIDTHS
        .into_iter()
        .filter(move |&w| w < width)
        .map(move |w| {
            let h = (u64::from(height) * u64::from(w) + u64::from(width) / 2) / u64::from(width);
            (w, u32::try_from(h).unwrap_or(u32::MAX).max(1))
        })
}

/// A decoder whose header has passed the limits: no side above [`MAX_IMAGE_SIDE`], no more
/// than [`MAX_DECODED_BYTES`] of pixels.
fn decoder(bytes: &[u8], kind: Kind) -> Result<impl ImageDecoder + '_> {
    if kind == Kind::Jpeg && !jpeg_is_complete(bytes) {
        return Err(MediaError::Undecodable(
            "the JPEG file is cut short (it has no end marker); send the complete file".into(),
        ));
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), kind.format());
    // The sides are checked below, with a message giving the sizes; the allocation limit
    // also bounds the decoders' own buffers.
    let mut limits = Limits::default();
    limits.max_alloc = Some(MAX_DECODED_BYTES);
    reader.limits(limits);
    let decoder = reader.into_decoder().map_err(unreadable)?;
    let (width, height) = decoder.dimensions();
    if width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE {
        return Err(MediaError::Undecodable(format!(
            "it is {width} × {height} pixels; at most {MAX_IMAGE_SIDE} pixels per side are accepted"
        )));
    }
    if decoder.total_bytes() > MAX_DECODED_BYTES {
        return Err(MediaError::Undecodable(format!(
            "its {width} × {height} pixels need {} MB of memory; the limit is {} MB",
            decoder.total_bytes().div_ceil(1 << 20),
            MAX_DECODED_BYTES >> 20
        )));
    }
    Ok(decoder)
}

/// Whether a JPEG's first scan is followed by an end-of-image marker. The JPEG decoder
/// paints a file cut short grey where its data stops (as browsers do) instead of failing,
/// but an upload must be complete. Inside scan data, a 0xFF byte is always followed by 0x00
/// or a marker, so FF D9 there can only be the end marker.
fn jpeg_is_complete(bytes: &[u8]) -> bool {
    let mut at = 2; // after the start-of-image marker
    while let Some(&[0xFF, marker, high, low, ..]) = bytes.get(at..) {
        match marker {
            0xFF => at += 1, // a fill byte before a marker
            0xDA => {
                return bytes[at..]
                    .windows(2)
                    .rev()
                    .any(|pair| pair == [0xFF, 0xD9]);
            }
            _ => at += 2 + usize::from(u16::from_be_bytes([high, low])),
        }
    }
    false
}

/// The EXIF orientation; unreadable metadata is ignored rather than refused.
fn orientation(decoder: &mut impl ImageDecoder) -> Orientation {
    decoder.orientation().unwrap_or(Orientation::NoTransforms)
}

fn oriented((width, height): (u32, u32), orientation: Orientation) -> (u32, u32) {
    match orientation {
        Orientation::Rotate90
        | Orientation::Rotate270
        | Orientation::Rotate90FlipH
        | Orientation::Rotate270FlipH => (height, width),
        _ => (width, height),
    }
}

/// The image as 8-bit RGB, encoded as JPEG; or as 8-bit RGBA, encoded as PNG, when some
/// pixel is transparent (an alpha channel that is opaque everywhere is dropped).
fn eight_bit(image: DynamicImage) -> (DynamicImage, Kind) {
    if image.color().has_alpha() {
        let rgba = image.into_rgba8();
        if rgba.pixels().any(|pixel| pixel[3] < u8::MAX) {
            return (DynamicImage::ImageRgba8(rgba), Kind::Png);
        }
        return (
            DynamicImage::ImageRgba8(rgba).into_rgb8().into(),
            Kind::Jpeg,
        );
    }
    (image.into_rgb8().into(), Kind::Jpeg)
}

fn encode(image: &DynamicImage, kind: Kind, icc: Option<&[u8]>) -> Result<Bytes> {
    fn with_icc<E: ImageEncoder>(mut encoder: E, icc: Option<&[u8]>) -> E {
        if let Some(icc) = icc {
            // Both encoders used here support profiles; without one, colours are sRGB.
            let _ = encoder.set_icc_profile(icc.to_vec());
        }
        encoder
    }
    let mut out = Vec::new();
    let written = match kind {
        Kind::Png => image.write_with_encoder(with_icc(
            PngEncoder::new_with_quality(&mut out, CompressionType::Default, PngFilter::Adaptive),
            icc,
        )),
        _ => image.write_with_encoder(with_icc(
            JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY),
            icc,
        )),
    };
    written.map_err(|e| MediaError::Processing(e.into()))?;
    Ok(out.into())
}

/// An image error as the operator's problem: which limit, or that the file is damaged.
fn unreadable(error: ImageError) -> MediaError {
    MediaError::Undecodable(match error {
        ImageError::Limits(e) => format!("it is too large to decode ({e})"),
        ImageError::Unsupported(e) => format!("it uses a feature that cannot be read ({e})"),
        e => format!("the file is damaged or cut short ({e})"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(bytes: &[u8]) -> Option<&'static str> {
        match sniff(bytes) {
            Err(MediaError::UnsupportedFormat { found }) => found,
            other => panic!("expected UnsupportedFormat, got {other:?}"),
        }
    }

    #[test]
    fn sniffs_accepted_formats_from_magic_bytes() {
        assert_eq!(sniff(b"\xFF\xD8\xFF\xE0\0\x10JFIF").ok(), Some(Kind::Jpeg));
        assert_eq!(
            sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR").ok(),
            Some(Kind::Png)
        );
        assert_eq!(sniff(b"RIFF\x24\0\0\0WEBPVP8L").ok(), Some(Kind::WebP));
    }

    #[test]
    fn names_other_formats_and_refuses_non_images() {
        assert_eq!(found(b"GIF89a\x01\0\x01\0"), Some("GIF"));
        assert_eq!(found(b"\0\0\0\x18ftypheic\0\0\0\0"), Some("HEIC"));
        assert_eq!(found(b"\0\0\0\x1cftypavif\0\0\0\0"), Some("AVIF"));
        assert_eq!(found(b"II*\0\x08\0\0\0"), Some("TIFF"));
        assert_eq!(found(b"BM\x36\x10\0\0\0\0\0\0"), Some("BMP"));
        assert_eq!(found(b"%PDF-1.7\n"), Some("PDF"));
        assert_eq!(
            found(b"\xEF\xBB\xBF  <svg xmlns='http://www.w3.org/2000/svg'/>"),
            Some("SVG")
        );
        assert_eq!(found(b"<?xml version='1.0'?>\n<svg/>"), Some("SVG"));
        assert_eq!(found(b"BMW owners club\n"), None);
        assert_eq!(found(b"RIFF\x24\0\0\0WAVEfmt "), None);
        assert_eq!(found(b"\x89PN"), None);
        assert_eq!(found(b""), None);
    }

    #[test]
    fn jpeg_completeness_is_read_from_its_segments() {
        let complete = b"\xFF\xD8\xFF\xE0\0\x04ab\xFF\xFF\xDA\0\x02\x12\xFF\0\x34\xFF\xD9";
        assert!(jpeg_is_complete(complete));
        assert!(!jpeg_is_complete(&complete[..complete.len() - 1]));
        // An end marker before the scan (an EXIF thumbnail's) does not count.
        assert!(!jpeg_is_complete(
            b"\xFF\xD8\xFF\xE1\0\x04\xFF\xD9\xFF\xDA\0\x02\x12\x34"
        ));
        assert!(!jpeg_is_complete(b"\xFF\xD8\xFF\xE0\x10\x00"));
    }

    #[test]
    fn variants_keep_the_aspect_ratio_and_never_enlarge() {
        let sizes: Vec<_> = variant_sizes(2000, 1000).collect();
        assert_eq!(sizes, [(320, 160), (640, 320), (1280, 640)]);
        let sizes: Vec<_> = variant_sizes(640, 480).collect();
        assert_eq!(sizes, [(320, 240)]);
        assert_eq!(variant_sizes(320, 320).count(), 0);
        assert_eq!(variant_sizes(12_000, 1).collect::<Vec<_>>()[0], (320, 1));
    }
}
