//! The object store side: opening a location, writing an upload's files, reading them back.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use futures::{TryStreamExt, future::try_join_all};
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{Attribute, Attributes, ObjectStore, ObjectStoreExt, PutOptions};
use tokio::sync::Semaphore;
use tracing::debug;

use crate::process::{self, Kind, MAX_IMAGE_BYTES};
use crate::{MediaError, Result, names};

/// The `Cache-Control` to serve stored files with: a name's content never changes.
pub const CACHE_CONTROL: &str = "public, max-age=31536000, immutable";

/// Uploads decoded at the same time by one [`MediaStore`] (and its clones). Each may hold up
/// to 256 MiB of pixels, and the work is CPU-bound: more would only queue for the cores.
const CONCURRENT_RENDERS: usize = 2;

/// Event images in an object store: a local folder or an S3 bucket, under a prefix.
/// Cloning is cheap and clones share the store and the limit on concurrent decodes.
#[derive(Clone, Debug)]
pub struct MediaStore {
    store: Arc<dyn ObjectStore>,
    /// Put before every name; empty for a folder (the folder is the store's root).
    prefix: Path,
    /// Where the files are, for logs.
    description: String,
    /// Whether objects get a Content-Type and Cache-Control: S3 keeps and serves them, a
    /// local folder refuses them.
    attributes: bool,
    /// Bounds the memory and CPU that decoding takes; see [`CONCURRENT_RENDERS`].
    renders: Arc<Semaphore>,
}

/// One stored file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredFile {
    /// Its name for [`MediaStore::get`], relative to the store's prefix, e.g.
    /// `images/0f3a…/640.jpg`.
    pub name: String,
    /// Width in pixels, as shown (after the EXIF orientation).
    pub width: u32,
    /// Height in pixels, as shown.
    pub height: u32,
    /// The HTTP Content-Type: `image/jpeg`, `image/png` or `image/webp`.
    pub content_type: &'static str,
    /// Size in bytes.
    pub bytes: u64,
}

/// An upload as stored: the original as sent, and its resized variants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredImage {
    /// The content address shared by all its names: 32 hex digits of the SHA-256 of the
    /// original's bytes.
    pub hash: String,
    /// The bytes as uploaded.
    pub original: StoredFile,
    /// One file per width of [`VARIANT_WIDTHS`](crate::VARIANT_WIDTHS) narrower than the
    /// original, smallest first; JPEG, or PNG when the image has transparent pixels.
    pub variants: Vec<StoredFile>,
}

impl StoredImage {
    /// The file to show as the event's main image: the largest variant, 1280 px wide for any
    /// wider original; the original only when it is too narrow (≤ 320 px) to have variants.
    /// A variant is preferred to a larger original because its weight is bounded (a 1280 px
    /// JPEG is a few hundred KB) while an original may weigh 10 MB.
    pub fn main(&self) -> &StoredFile {
        self.variants.last().unwrap_or(&self.original)
    }

    /// The smallest variant at least `width` pixels wide (for a thumbnail or a `srcset`), or
    /// [`Self::main`] when none is that wide.
    pub fn for_width(&self, width: u32) -> &StoredFile {
        (self.variants.iter())
            .find(|file| file.width >= width)
            .unwrap_or_else(|| self.main())
    }
}

/// A stored file read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaFile {
    /// Its content.
    pub bytes: Bytes,
    /// The HTTP Content-Type, from the name's extension.
    pub content_type: &'static str,
}

impl MediaStore {
    /// Opens the store at `location`:
    /// - a folder path or a `file:///abs/path` URL: a folder, created if missing;
    /// - `s3://bucket` or `s3://bucket/prefix`: an S3 bucket, configured from the usual
    ///   `AWS_*` variables (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION` or
    ///   `AWS_DEFAULT_REGION`, `AWS_ENDPOINT_URL` for S3-compatible stores, `AWS_ALLOW_HTTP`
    ///   for an `http://` endpoint).
    pub fn open(location: &str) -> Result<MediaStore> {
        MediaStore::open_with(location, [] as [(&str, &str); 0])
    }

    /// Like [`Self::open`], with S3 options that override the environment: keys as
    /// `object_store` names them, which are the variables' names in lower case
    /// (`aws_access_key_id`, `aws_endpoint`, `aws_allow_http`, ...). Options are refused
    /// for a folder.
    pub fn open_with<K, V>(
        location: &str,
        options: impl IntoIterator<Item = (K, V)>,
    ) -> Result<MediaStore>
    where
        K: AsRef<str>,
        V: Into<String>,
    {
        let refuse = |reason: &str| MediaError::Location {
            location: location.to_owned(),
            reason: reason.to_owned(),
        };
        if let Some(rest) = location.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(refuse("no bucket name; write s3://bucket/prefix"));
            }
            let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
            for (key, value) in options {
                let key = key.as_ref();
                let config: AmazonS3ConfigKey =
                    (key.parse()).map_err(|_| refuse(&format!("`{key}` is not an S3 option")))?;
                builder = builder.with_config(config, value);
            }
            let prefix = Path::from(prefix);
            let description = match prefix.as_ref() {
                "" => format!("s3://{bucket}"),
                prefix => format!("s3://{bucket}/{prefix}"),
            };
            return Ok(MediaStore::build(
                Arc::new(builder.build()?),
                prefix,
                description,
                true,
            ));
        }
        if options.into_iter().next().is_some() {
            return Err(refuse("options apply only to s3:// locations"));
        }
        let folder = if location.starts_with("file:") {
            (url::Url::parse(location).ok())
                .and_then(|url| url.to_file_path().ok())
                .ok_or_else(|| refuse("not a file URL of an absolute path (file:///path)"))?
        } else if location.contains("://") || location.is_empty() {
            return Err(refuse(
                "use a folder path, file:///path or s3://bucket/prefix",
            ));
        } else {
            PathBuf::from(location)
        };
        let folder = std::fs::create_dir_all(&folder)
            .and_then(|()| folder.canonicalize())
            .map_err(|source| MediaError::Folder {
                path: folder,
                source,
            })?;
        let store = LocalFileSystem::new_with_prefix(&folder)?;
        let description = format!("folder {}", folder.display());
        Ok(MediaStore::build(
            Arc::new(store),
            Path::default(),
            description,
            false,
        ))
    }

    /// A store on any `object_store` backend, with names under `prefix` (may be empty).
    /// Objects get no attributes (Content-Type, Cache-Control): not every backend keeps them.
    pub fn new(store: Arc<dyn ObjectStore>, prefix: &str) -> MediaStore {
        let prefix = Path::from(prefix);
        let description = format!("{store} under `{prefix}`");
        MediaStore::build(store, prefix, description, false)
    }

    fn build(
        store: Arc<dyn ObjectStore>,
        prefix: Path,
        description: String,
        attributes: bool,
    ) -> MediaStore {
        MediaStore {
            store,
            prefix,
            description,
            attributes,
            renders: Arc::new(Semaphore::new(CONCURRENT_RENDERS)),
        }
    }

    /// Where the files are, for logs: `folder /var/lib/onsale/media`,
    /// `s3://bucket/prefix`.
    pub fn describe(&self) -> String {
        self.description.clone()
    }

    /// Checks an uploaded image and stores it with its variants (see [`StoredImage`]).
    ///
    /// The bytes must be a JPEG, PNG or WebP (from their content, whatever the name or
    /// Content-Type said) of at most [`MAX_IMAGE_BYTES`] that decodes within the limits.
    /// Nothing is written unless every check and every variant succeeded. Variants are
    /// written before the original, so after an error (a store failure half-way) no
    /// original names a missing variant; the caller must simply not use the result.
    /// Storing the same bytes again returns the same names and, when the files are all
    /// there, only lists them. Decoding and encoding run on tokio's blocking pool.
    pub async fn put_image(&self, bytes: Bytes) -> Result<StoredImage> {
        if bytes.len() > MAX_IMAGE_BYTES {
            return Err(MediaError::TooLarge { bytes: bytes.len() });
        }
        let kind = process::sniff(&bytes)?;
        let (hash, (width, height)) = blocking({
            let bytes = bytes.clone();
            move || Ok((names::hash(&bytes), process::inspect(&bytes, kind)?))
        })
        .await?;
        let original = StoredFile {
            name: names::original(&hash, kind),
            width,
            height,
            content_type: kind.content_type(),
            bytes: bytes.len() as u64,
        };
        if let Some(variants) = self.stored_variants(&hash, &original).await? {
            debug!(store = %self.description, name = original.name, "image already stored");
            return Ok(StoredImage {
                hash,
                original,
                variants,
            });
        }

        let encoded = {
            let _permit = (self.renders.acquire().await)
                .map_err(|closed| MediaError::Processing(closed.into()))?;
            let bytes = bytes.clone();
            blocking(move || process::render(&bytes, kind)).await?
        };
        let variants: Vec<StoredFile> = (encoded.iter())
            .map(|variant| StoredFile {
                name: names::variant(&hash, variant.width, variant.kind),
                width: variant.width,
                height: variant.height,
                content_type: variant.kind.content_type(),
                bytes: variant.bytes.len() as u64,
            })
            .collect();
        try_join_all(
            (encoded.into_iter().zip(&variants))
                .map(|(variant, file)| self.write(file, variant.bytes)),
        )
        .await?;
        self.write(&original, bytes).await?;
        Ok(StoredImage {
            hash,
            original,
            variants,
        })
    }

    /// Reads a stored file by the name [`StoredFile::name`] gave. Only names this crate
    /// writes are looked up: any other (`../x`, another folder, a folder itself) is
    /// `Ok(None)`, as is a missing file.
    pub async fn get(&self, name: &str) -> Result<Option<MediaFile>> {
        let Some(kind) = names::parse(name) else {
            return Ok(None);
        };
        match self.store.get(&self.path(name)).await {
            Ok(found) => Ok(Some(MediaFile {
                bytes: found.bytes().await?,
                content_type: kind.content_type(),
            })),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(error) => Err(error.into()),
        }
    }

    /// The variants of an upload already stored in full (original included), from one
    /// listing of its folder; `None` if anything is missing.
    async fn stored_variants(
        &self,
        hash: &str,
        original: &StoredFile,
    ) -> Result<Option<Vec<StoredFile>>> {
        let folder = names::folder(hash);
        let sizes: HashMap<String, u64> = (self.store.list(Some(&self.path(&folder))))
            .map_ok(|meta| {
                let file = meta.location.filename().unwrap_or_default();
                (format!("{folder}/{file}"), meta.size)
            })
            .try_collect()
            .await?;
        if !sizes.contains_key(&original.name) {
            return Ok(None);
        }
        let variant = |(width, height)| {
            [Kind::Jpeg, Kind::Png].into_iter().find_map(|kind| {
                let name = names::variant(hash, width, kind);
                let bytes = *sizes.get(&name)?;
                let content_type = kind.content_type();
                Some(StoredFile {
                    name,
                    width,
                    height,
                    content_type,
                    bytes,
                })
            })
        };
        Ok(process::variant_sizes(original.width, original.height)
            .map(variant)
            .collect())
    }

    async fn write(&self, file: &StoredFile, bytes: Bytes) -> Result<()> {
        let options = match self.attributes {
            true => PutOptions::from(Attributes::from_iter([
                (Attribute::ContentType, file.content_type),
                (Attribute::CacheControl, CACHE_CONTROL),
            ])),
            false => PutOptions::default(),
        };
        self.store
            .put_opts(&self.path(&file.name), bytes.into(), options)
            .await?;
        debug!(store = %self.description, name = file.name, bytes = file.bytes, "stored");
        Ok(())
    }

    /// The object path of a name: the prefix, then the name's segments.
    fn path(&self, name: &str) -> Path {
        let name = Path::from(name);
        self.prefix.parts().chain(name.parts()).collect()
    }
}

/// Runs CPU-bound work on tokio's blocking pool.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|failed| MediaError::Processing(failed.into()))?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(width: u32) -> StoredFile {
        StoredFile {
            name: format!("images/x/{width}.jpg"),
            width,
            height: width / 2,
            content_type: "image/jpeg",
            bytes: 1,
        }
    }

    #[test]
    fn main_is_the_largest_variant_or_a_narrow_original() {
        let image = StoredImage {
            hash: "x".into(),
            original: file(4000),
            variants: vec![file(320), file(640), file(1280)],
        };
        assert_eq!(image.main().width, 1280);
        assert_eq!(image.for_width(300).width, 320);
        assert_eq!(image.for_width(641).width, 1280);
        assert_eq!(image.for_width(3000).width, 1280);
        let narrow = StoredImage {
            variants: vec![],
            original: file(300),
            ..image
        };
        assert_eq!(narrow.main().width, 300);
        assert_eq!(narrow.for_width(1000).width, 300);
    }

    #[test]
    fn locations_are_checked() {
        for bad in [
            "",
            "gs://bucket",
            "s3://",
            "s3:///prefix",
            "file://remote-host/x",
        ] {
            let error = MediaStore::open(bad).expect_err(bad);
            assert!(
                matches!(error, MediaError::Location { .. }),
                "{bad}: {error}"
            );
        }
        let error = MediaStore::open_with("s3://bucket", [("aws_no_such_option", "x")]);
        assert!(matches!(error, Err(MediaError::Location { .. })));
        let error = MediaStore::open_with("/tmp/x", [("aws_region", "eu-west-1")]);
        assert!(matches!(error, Err(MediaError::Location { .. })));
    }

    #[test]
    fn s3_locations_keep_their_prefix() {
        let options = [
            ("aws_region", "eu-west-1"),
            ("aws_access_key_id", "k"),
            ("aws_secret_access_key", "s"),
        ];
        let store = MediaStore::open_with("s3://bucket/event/images/", options).unwrap();
        assert_eq!(store.describe(), "s3://bucket/event/images");
        assert_eq!(
            store.path("images/ab/640.jpg").as_ref(),
            "event/images/images/ab/640.jpg"
        );
        let store = MediaStore::open_with("s3://bucket", options).unwrap();
        assert_eq!(store.describe(), "s3://bucket");
        assert_eq!(
            store.path("images/ab/640.jpg").as_ref(),
            "images/ab/640.jpg"
        );
    }
}
