//! Publishing snapshots to a folder laid out as in [`crate::layout`] (feature `build`).
//!
//! Every file appears whole or not at all: it is written under a temporary name, flushed to
//! disk, then linked or renamed into place, and the folder is flushed after. A version's blob
//! is never replaced (caches keep it forever), and `latest` never moves backwards, so a
//! reader that follows `latest` always finds a complete blob of the newest version.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};
use crate::layout;
use crate::{Snapshot, format};

/// Distinguishes the temporary files of concurrent publishes within one process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A folder of published snapshots: `snapshots/{version}.snap` and `latest` (and, where
/// the operator names regions, a folder like it per region: [`crate::Regions`]).
#[derive(Debug, Clone)]
pub struct SnapshotFolder {
    root: PathBuf,
}

impl SnapshotFolder {
    /// The folder at `root` (created on first publish).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        SnapshotFolder { root: root.into() }
    }

    /// The folder's root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The path of a version's blob.
    pub fn path_of(&self, version: u64) -> PathBuf {
        self.root.join(layout::snapshot_path(version))
    }

    /// Publishes a blob under the version written inside it, with its head beside it
    /// ([`layout::head_path`]), then points `latest` at it; returns the version.
    ///
    /// The blob is checked first (a damaged one is refused). Publishing the same blob again
    /// is a no-op; a different blob under a published version is
    /// [`Error::VersionConflict`]; a version older than `latest` is [`Error::Stale`].
    pub fn publish(&self, blob: &[u8]) -> Result<u64> {
        let version = self.store(blob)?;
        self.point_latest(version)?;
        Ok(version)
    }

    /// Writes a blob and its head as [`SnapshotFolder::publish`] does, without pointing
    /// `latest` at it yet ([`SnapshotFolder::point_latest`]); returns its version.
    pub fn store(&self, blob: &[u8]) -> Result<u64> {
        let parts = format::parse(blob, format::Have::Whole)?;
        format::check_blocks(blob, &parts.blocks)?;
        let version = parts.version;
        let latest = self.latest()?;
        if let Some(latest) = latest
            && latest > version
        {
            return Err(Error::Stale { version, latest });
        }

        let folder = self.root.join(layout::SNAPSHOTS);
        fs::create_dir_all(&folder).map_err(io_error(&folder))?;
        let path = self.path_of(version);
        if path.exists() {
            self.check_same(version, blob)?;
        } else {
            let temp = write_temp(&folder, blob)?;
            // A hard link, unlike a rename, never replaces: if another publisher got there
            // first, its blob stays and must be the same as ours.
            let linked = fs::hard_link(&temp, &path);
            let removed = fs::remove_file(&temp);
            match linked {
                Ok(()) => {}
                Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {
                    self.check_same(version, blob)?;
                }
                Err(error) => return Err(io_error(&path)(error)),
            }
            removed.map_err(io_error(&temp))?;
            sync_folder(&folder)?;
        }
        // The head alone, for readers that fetch blocks as they need them; it is the
        // blob's first bytes, so writing it again (after a crash, or by a second
        // publisher) writes the same bytes.
        let head = self.root.join(layout::head_path(version));
        if !head.exists() {
            let temp = write_temp(&folder, &blob[..parts.head_len])?;
            fs::rename(&temp, &head).map_err(io_error(&head))?;
            sync_folder(&folder)?;
        }

        Ok(version)
    }

    /// Points `latest` at a stored version, unless it names it already; a version older
    /// than `latest` is [`Error::Stale`].
    pub fn point_latest(&self, version: u64) -> Result<()> {
        match self.latest()? {
            Some(latest) if latest == version => return Ok(()),
            Some(latest) if latest > version => return Err(Error::Stale { version, latest }),
            _ => {}
        }
        let head = self.root.join(layout::head_path(version));
        if !head.exists() {
            let absent = io::Error::new(io::ErrorKind::NotFound, "that version is not stored");
            return Err(io_error(&head)(absent));
        }
        let temp = write_temp(&self.root, layout::latest_contents(version).as_bytes())?;
        let pointer = self.root.join(layout::LATEST);
        fs::rename(&temp, &pointer).map_err(io_error(&pointer))?;
        sync_folder(&self.root)
    }

    /// The version `latest` points at, or `None` before the first publish.
    pub fn latest(&self) -> Result<Option<u64>> {
        let pointer = self.root.join(layout::LATEST);
        match fs::read(&pointer) {
            Ok(contents) => layout::parse_latest(&contents).map(Some),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(io_error(&pointer)(error)),
        }
    }

    /// The blob of a published version.
    pub fn read(&self, version: u64) -> Result<Vec<u8>> {
        let path = self.path_of(version);
        fs::read(&path).map_err(io_error(&path))
    }

    /// Opens a published version.
    pub fn open(&self, version: u64) -> Result<Snapshot> {
        Snapshot::from_bytes(self.read(version)?)
    }

    /// Opens the version `latest` points at, or `None` before the first publish.
    pub fn open_latest(&self) -> Result<Option<Snapshot>> {
        self.latest()?.map(|version| self.open(version)).transpose()
    }

    /// Succeeds if the published blob of `version` is `blob`.
    fn check_same(&self, version: u64, blob: &[u8]) -> Result<()> {
        if self.read(version)? == blob {
            Ok(())
        } else {
            Err(Error::VersionConflict(version))
        }
    }
}

/// Writes `contents` to a new temporary file in `folder` and flushes it to disk.
fn write_temp(folder: &Path, contents: &[u8]) -> Result<PathBuf> {
    let serial = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    let path = folder.join(format!(".tmp-{}-{serial}", std::process::id()));
    let write = || -> io::Result<()> {
        let mut file = File::create_new(&path)?;
        file.write_all(contents)?;
        file.sync_all()
    };
    match write() {
        Ok(()) => Ok(path),
        Err(error) => {
            // Best effort: the write already failed, and that is the error to report.
            let _ = fs::remove_file(&path);
            Err(io_error(&path)(error))
        }
    }
}

/// Flushes a folder's entries (new names) to disk.
fn sync_folder(folder: &Path) -> Result<()> {
    File::open(folder)
        .and_then(|folder| folder.sync_all())
        .map_err(io_error(folder))
}

/// Attaches a path to an I/O error.
fn io_error(path: &Path) -> impl FnOnce(io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}
