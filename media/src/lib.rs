//! Event images: an operator's upload is checked, resized and stored in an object store
//! (a local folder or S3) under content-addressed names, then read back for an HTTP layer
//! to serve with [`CACHE_CONTROL`] (the names never change content, so caches keep them
//! for a year).
//!
//! Layout:
//! - [`MediaStore`]: opens the store from a location string and puts and gets images.
//! - `process`: format sniffing from magic bytes, decoding with limits, resized variants.
//! - `names`: the object names (`images/{hash}/original.jpg`, `images/{hash}/640.jpg`)
//!   and their validation for reads.
//! - [`MediaError`]: what went wrong, with messages an operator can act on.
//!
//! Decisions:
//! - The format comes from the bytes alone, never from a file name or a Content-Type.
//! - A decode is bounded twice: [`MAX_IMAGE_BYTES`] of input, and at most
//!   [`MAX_IMAGE_SIDE`] pixels per side and 256 MiB of pixels, so a small file claiming
//!   huge dimensions (a decompression bomb) is refused before anything is allocated.
//! - Variants are written first and the original last: an original in the store means
//!   its variants are there too, so a second upload of the same bytes only lists the
//!   folder and returns.
//! - Variants are plain JPEG (or PNG when the image has transparent pixels): every
//!   browser reads them, and at these widths they stay small.

#![deny(missing_docs)]

mod error;
mod names;
mod process;
mod store;

pub use error::MediaError;
pub use process::{MAX_IMAGE_BYTES, MAX_IMAGE_SIDE, VARIANT_WIDTHS};
pub use store::{CACHE_CONTROL, MediaFile, MediaStore, StoredFile, StoredImage};

/// The result of this crate's operations.
pub type Result<T, E = MediaError> = std::result::Result<T, E>;
