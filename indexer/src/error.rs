//! The crate's error type: a bad request (the caller's fault, with an API error to send
//! back), bytes that are not a usable snapshot, and internal failures.

use onsale_model::{ApiError, ErrorCode};

/// The crate-wide result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong building, publishing, opening or searching a snapshot.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is not valid; the message names the field. Answer it with 400.
    #[error(transparent)]
    Invalid(#[from] ApiError),
    /// The bytes do not start like a snapshot.
    #[error("not an onsale catalogue snapshot")]
    NotASnapshot,
    /// The snapshot was written in a container format this build cannot read.
    #[error("snapshot format {found} is not supported (this build reads format {supported})")]
    UnsupportedFormat {
        /// The blob's format version.
        found: u32,
        /// The one this build reads.
        supported: u32,
    },
    /// The snapshot is truncated, damaged or inconsistent; the text says what was found.
    #[error("corrupt snapshot: {0}")]
    Corrupt(&'static str),
    /// The event documents inside the snapshot could not be encoded or decoded.
    #[error("event documents are not valid JSON of the expected shape")]
    Documents(#[source] serde_json::Error),
    /// The answer needs event documents from blocks this reader has not fetched yet (it
    /// opened a head alone): fetch them, give them to [`crate::Snapshot::insert_block`] and
    /// ask again.
    #[error("{} document blocks are not fetched yet", .0.len())]
    MissingBlocks(Vec<crate::MissingBlock>),
    /// The search index failed.
    #[error("search index error")]
    Index(#[from] tantivy::TantivyError),
    /// An event given to the builder starts before 1678 or after 2262 (a snapshot keeps
    /// starts as 64-bit nanoseconds).
    #[cfg(feature = "build")]
    #[error("event {0} starts outside the years a snapshot can hold (1678 to 2262)")]
    StartOutOfRange(u64),
    /// The operator's regions cannot be published together; the text says why.
    #[cfg(feature = "build")]
    #[error("regions: {0}")]
    Regions(String),
    /// Two events given to the builder have the same id.
    #[cfg(feature = "build")]
    #[error("event id {0} appears more than once")]
    DuplicateEvent(u64),
    /// A snapshot with this version was already published with different content; a version
    /// is cached forever, so it can never change.
    #[cfg(feature = "build")]
    #[error("snapshot version {0} is already published with different content")]
    VersionConflict(u64),
    /// Publishing this version would move `latest` backwards.
    #[cfg(feature = "build")]
    #[error("snapshot version {version} is older than the latest published version {latest}")]
    Stale {
        /// The version being published.
        version: u64,
        /// The version `latest` points at.
        latest: u64,
    },
    /// Reading or writing a snapshot folder failed.
    #[cfg(feature = "build")]
    #[error("{}", path.display())]
    Io {
        /// The file or folder concerned.
        path: std::path::PathBuf,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// Whether the caller is at fault (the request was invalid) rather than the snapshot or
    /// the server.
    pub fn is_invalid_request(&self) -> bool {
        matches!(self, Error::Invalid(_))
    }
}

/// The error a client sees: invalid requests keep their message, everything else is an
/// internal error whose detail stays in the server's log.
impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        match error {
            Error::Invalid(api) => api,
            _ => ApiError::code(ErrorCode::Internal),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_requests_keep_their_message_and_the_rest_is_internal() {
        let invalid = Error::Invalid(ApiError::invalid("page starts at 1"));
        assert!(invalid.is_invalid_request());
        let api = ApiError::from(invalid);
        assert_eq!(api.code, ErrorCode::InvalidRequest);
        assert_eq!(api.message, "page starts at 1");

        let corrupt = Error::Corrupt("checksum mismatch");
        assert!(!corrupt.is_invalid_request());
        assert_eq!(ApiError::from(corrupt).code, ErrorCode::Internal);
    }
}
