//! What can go wrong, split into the operator's mistakes and the store's failures.

use std::path::PathBuf;

use crate::process::MAX_IMAGE_BYTES;

const MIB: usize = 1024 * 1024;

/// An error from [`MediaStore`](crate::MediaStore). [`MediaError::is_client_error`] tells
/// whose fault it is; the Display of a client error is meant for the operator.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// The body is larger than [`MAX_IMAGE_BYTES`]; `bytes` is its size.
    #[error("the image is {} MB; the limit is {} MB", megabytes(*bytes), MAX_IMAGE_BYTES / MIB)]
    TooLarge {
        /// The size of the refused body, in bytes.
        bytes: usize,
    },
    /// The body is not a JPEG, PNG or WebP image.
    #[error("{}; send a JPEG, PNG or WebP image", match found {
        Some(format) => format!("the image is in {format} format"),
        None => "this file is not an image".to_owned(),
    })]
    UnsupportedFormat {
        /// The format the magic bytes name ("GIF", "HEIC", ...), or `None` when they name
        /// no image format this crate knows.
        found: Option<&'static str>,
    },
    /// The body starts like a JPEG, PNG or WebP but cannot be used: it is truncated or
    /// corrupt, or its dimensions are beyond the limits; the reason says which.
    #[error("the image cannot be used: {0}")]
    Undecodable(String),
    /// The location string given to [`MediaStore::open`](crate::MediaStore::open) is not
    /// a folder path, a `file://` URL or an `s3://` URL, or has a bad option.
    #[error("media location `{location}`: {reason}")]
    Location {
        /// The location as given.
        location: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The folder of a local store could not be created or opened.
    #[error("cannot use the media folder {}: {source}", path.display())]
    Folder {
        /// The folder.
        path: PathBuf,
        /// The file system's error.
        source: std::io::Error,
    },
    /// The object store failed (unreachable, denied, out of space, ...).
    #[error("the image store failed: {0}")]
    Store(#[from] object_store::Error),
    /// Processing failed where no upload should make it fail: the blocking task panicked,
    /// or resizing or encoding a decoded image failed.
    #[error("image processing failed: {0}")]
    Processing(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl MediaError {
    /// Whether the upload itself is at fault (too large, not an accepted format, unreadable):
    /// an HTTP layer answers 4xx with the Display as message. Otherwise the server or its
    /// store failed: answer 5xx and log the error.
    pub fn is_client_error(&self) -> bool {
        matches!(
            self,
            Self::TooLarge { .. } | Self::UnsupportedFormat { .. } | Self::Undecodable(_)
        )
    }
}

/// Megabytes (MiB) rounded up to one decimal, so a body just over the limit never reads as
/// equal to it.
fn megabytes(bytes: usize) -> String {
    let tenths = (bytes.saturating_mul(10)).div_ceil(MIB);
    format!("{}.{}", tenths / 10, tenths % 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_tell_the_operator_what_to_send() {
        let too_large = MediaError::TooLarge { bytes: 12_900_000 };
        assert_eq!(
            too_large.to_string(),
            "the image is 12.4 MB; the limit is 10 MB"
        );
        let just_over = MediaError::TooLarge {
            bytes: MAX_IMAGE_BYTES + 1,
        };
        assert_eq!(
            just_over.to_string(),
            "the image is 10.1 MB; the limit is 10 MB"
        );
        let gif = MediaError::UnsupportedFormat { found: Some("GIF") };
        assert_eq!(
            gif.to_string(),
            "the image is in GIF format; send a JPEG, PNG or WebP image"
        );
        let text = MediaError::UnsupportedFormat { found: None };
        assert_eq!(
            text.to_string(),
            "this file is not an image; send a JPEG, PNG or WebP image"
        );
        assert!(gif.is_client_error());
        let store = MediaError::Store(object_store::Error::NotImplemented {
            operation: "test".into(),
            implementer: "test".into(),
        });
        assert!(!store.is_client_error());
    }
}
