//! A read-only tantivy [`Directory`] over the index files inside a snapshot blob.
//!
//! Every file is a slice of the one buffer the blob arrived in, so opening a snapshot copies
//! no index bytes. Writes fail; locks and watches are no-ops, because nothing can change.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::{fmt, io};

use tantivy::directory::error::{DeleteError, LockError, OpenReadError, OpenWriteError};
use tantivy::directory::{
    Directory, DirectoryLock, FileHandle, Lock, OwnedBytes, WatchCallback, WatchHandle, WritePtr,
};

/// The files of one snapshot's index, by name.
#[derive(Clone)]
pub(crate) struct SnapshotDirectory {
    files: Arc<HashMap<PathBuf, OwnedBytes>>,
}

impl SnapshotDirectory {
    /// A directory holding exactly these files.
    pub fn new(files: HashMap<PathBuf, OwnedBytes>) -> Self {
        SnapshotDirectory {
            files: Arc::new(files),
        }
    }

    fn read_only(path: &Path) -> io::Error {
        io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!("{}: a snapshot is read-only", path.display()),
        )
    }
}

impl fmt::Debug for SnapshotDirectory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.files.iter().map(|(path, bytes)| (path, bytes.len())))
            .finish()
    }
}

impl Directory for SnapshotDirectory {
    fn get_file_handle(&self, path: &Path) -> Result<Arc<dyn FileHandle>, OpenReadError> {
        match self.files.get(path) {
            Some(bytes) => Ok(Arc::new(bytes.clone())),
            None => Err(OpenReadError::FileDoesNotExist(path.to_path_buf())),
        }
    }

    fn delete(&self, path: &Path) -> Result<(), DeleteError> {
        Err(DeleteError::IoError {
            io_error: Arc::new(Self::read_only(path)),
            filepath: path.to_path_buf(),
        })
    }

    fn exists(&self, path: &Path) -> Result<bool, OpenReadError> {
        Ok(self.files.contains_key(path))
    }

    fn open_write(&self, path: &Path) -> Result<WritePtr, OpenWriteError> {
        Err(OpenWriteError::IoError {
            io_error: Arc::new(Self::read_only(path)),
            filepath: path.to_path_buf(),
        })
    }

    fn atomic_read(&self, path: &Path) -> Result<Vec<u8>, OpenReadError> {
        match self.files.get(path) {
            Some(bytes) => Ok(bytes.as_slice().to_vec()),
            None => Err(OpenReadError::FileDoesNotExist(path.to_path_buf())),
        }
    }

    fn atomic_write(&self, path: &Path, _data: &[u8]) -> io::Result<()> {
        Err(Self::read_only(path))
    }

    fn sync_directory(&self) -> io::Result<()> {
        Ok(())
    }

    /// Nothing writes, so readers need no lock (and wasm32 could not wait for one).
    fn acquire_lock(&self, _lock: &Lock) -> Result<DirectoryLock, LockError> {
        Ok(DirectoryLock::from(Box::new(())))
    }

    /// Nothing changes, so there is nothing to watch.
    fn watch(&self, _watch_callback: WatchCallback) -> tantivy::Result<WatchHandle> {
        Ok(WatchHandle::empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serves_its_files_and_refuses_writes() {
        let directory = SnapshotDirectory::new(HashMap::from([(
            PathBuf::from("meta.json"),
            OwnedBytes::new(b"{}".to_vec()),
        )]));
        let meta = Path::new("meta.json");
        let other = Path::new("other");
        assert_eq!(directory.atomic_read(meta).unwrap(), b"{}");
        assert_eq!(
            directory
                .open_read(meta)
                .unwrap()
                .read_bytes()
                .unwrap()
                .as_slice(),
            b"{}"
        );
        assert!(directory.exists(meta).unwrap());
        assert!(!directory.exists(other).unwrap());
        assert!(matches!(
            directory.atomic_read(other),
            Err(OpenReadError::FileDoesNotExist(_))
        ));
        assert!(directory.open_write(other).is_err());
        assert!(directory.atomic_write(other, b"x").is_err());
        assert!(directory.delete(meta).is_err());
        assert!(directory.exists(meta).unwrap());
    }
}
