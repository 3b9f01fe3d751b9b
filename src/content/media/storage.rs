//! Where media files live: a folder (by default `<CMS_DATA_DIR>/media`), each file
//! named by its content's hash, so a file is written once and never changes.

use std::path::{Path, PathBuf};

use crate::error::AppError;

/// The media files of this service.
#[derive(Debug, Clone)]
pub struct MediaStore {
    root: PathBuf,
}

fn failed(what: &str) -> impl FnOnce(std::io::Error) -> AppError + '_ {
    move |error| AppError::Internal(format!("media storage: {what}: {error}"))
}

impl MediaStore {
    /// The store in `root` (created when missing).
    pub fn on_disk(root: impl Into<PathBuf>) -> MediaStore {
        MediaStore { root: root.into() }
    }

    /// `ab/abcdef…/<name>`: two levels, so no folder holds millions of entries.
    fn path(&self, sha256: &str, name: &str) -> PathBuf {
        self.root.join(&sha256[..2]).join(sha256).join(name)
    }

    /// Stores `bytes` as `name` of the file `sha256`, unless it is there already.
    /// Written to a temporary file then renamed, so a reader never sees half a file
    /// and two writers of the same file both succeed.
    pub async fn put(&self, sha256: &str, name: &str, bytes: &[u8]) -> Result<(), AppError> {
        let path = self.path(sha256, name);
        if tokio::fs::try_exists(&path).await.unwrap_or(false) {
            return Ok(());
        }
        let folder = path.parent().unwrap_or(Path::new("."));
        tokio::fs::create_dir_all(folder)
            .await
            .map_err(failed("create a folder"))?;
        let temporary = folder.join(format!(".{name}.{}", uuid::Uuid::new_v4().simple()));
        tokio::fs::write(&temporary, bytes)
            .await
            .map_err(failed("write a file"))?;
        tokio::fs::rename(&temporary, &path)
            .await
            .map_err(failed("move a file in place"))
    }

    /// The bytes of `name` of the file `sha256`, if stored.
    pub async fn get(&self, sha256: &str, name: &str) -> Result<Option<Vec<u8>>, AppError> {
        match tokio::fs::read(self.path(sha256, name)).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(failed("read a file")(error)),
        }
    }
}
