//! The coordinator's error: either the client's fault (an [`ApiError`] with its code) or
//! an internal failure, which clients see only as a generic `internal` error.

use onsale_model::{ApiError, ErrorCode};

use onsale_store::{StoreError, TxError};

/// Result alias of the coordinator.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the coordinator.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request cannot be served as asked; the client can act on the code.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// The store failed (conflicts are retried before they get here).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A JSON document (a live-feed message) could not be encoded.
    #[error("JSON encoding: {0}")]
    Corrupt(#[from] serde_json::Error),
    /// Any other internal failure: what was being done, and the error that stopped it
    /// (if another error did).
    #[error("{context}")]
    Internal {
        /// What was being done, or what was found wrong.
        context: String,
        /// The error underneath, kept for the logs.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

impl Error {
    /// An internal failure with nothing underneath: an invariant that did not hold.
    pub fn internal(context: impl Into<String>) -> Self {
        Error::Internal {
            context: context.into(),
            source: None,
        }
    }

    /// An internal failure caused by `source` while doing `context`.
    pub fn internal_from(
        context: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Error::Internal {
            context: context.into(),
            source: Some(source.into()),
        }
    }

    /// Shorthand for an [`ApiError`] with the code's default message.
    pub fn code(code: ErrorCode) -> Self {
        Error::Api(ApiError::code(code))
    }

    /// What the client is told.
    pub fn to_api(&self) -> ApiError {
        match self {
            Error::Api(api) => api.clone(),
            Error::Store(StoreError::RetriesExhausted { .. }) => {
                ApiError::code(ErrorCode::StoreBusy)
            }
            Error::Store(StoreError::Disconnected { .. }) => ApiError::code(ErrorCode::Unavailable),
            Error::Store(_) | Error::Corrupt(_) | Error::Internal { .. } => {
                ApiError::code(ErrorCode::Internal)
            }
        }
    }
}

impl From<onsale_media::MediaError> for Error {
    /// A refused image is the operator's to fix (`413`, `415`, `422`, naming why); a media
    /// store that failed is `503`, logged.
    fn from(error: onsale_media::MediaError) -> Self {
        use onsale_media::MediaError;
        let code = match &error {
            MediaError::TooLarge { .. } => ErrorCode::ImageTooLarge,
            MediaError::UnsupportedFormat { .. } => ErrorCode::UnsupportedImage,
            MediaError::Undecodable(_) => ErrorCode::ImageUnreadable,
            MediaError::Store(_) => {
                tracing::warn!(%error, "the media store failed");
                return Error::Api(ApiError::code(ErrorCode::Unavailable));
            }
            _ => return Error::internal_from("storing an image", error),
        };
        Error::Api(ApiError::new(code, error.to_string()).at("image"))
    }
}

impl TxError for Error {
    fn store_error(&self) -> Option<&StoreError> {
        match self {
            Error::Store(err) => Some(err),
            _ => None,
        }
    }
}
