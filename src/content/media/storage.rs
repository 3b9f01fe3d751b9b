//! Where media files live: a folder (by default `<CMS_DATA_DIR>/media`) or an
//! S3-compatible bucket, both through `object_store`. Each file is named by its
//! content's hash (`ab/abcdef…/<name>`), so it is written once and never changes.

use std::path::PathBuf;
use std::sync::Arc;

use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, PutPayload};

use crate::error::AppError;

/// Where an S3-compatible bucket is. Credentials come from the usual
/// environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    pub bucket: String,
    /// An endpoint other than AWS's (MinIO, R2, a local test server).
    pub endpoint: Option<String>,
    pub region: String,
    /// Keys given here rather than in the environment.
    pub keys: Option<(String, String)>,
}

/// The media files of this service.
#[derive(Debug, Clone)]
pub struct MediaStore {
    store: Arc<dyn ObjectStore>,
}

fn failed(what: &str) -> impl FnOnce(object_store::Error) -> AppError + '_ {
    move |error| AppError::Internal(format!("media storage: {what}: {error}"))
}

impl MediaStore {
    /// The store in the folder `root` (created when missing).
    pub fn on_disk(root: impl Into<PathBuf>) -> std::io::Result<MediaStore> {
        let root = root.into();
        std::fs::create_dir_all(&root)?;
        let store = LocalFileSystem::new_with_prefix(&root).map_err(std::io::Error::other)?;
        Ok(MediaStore {
            store: Arc::new(store),
        })
    }

    /// The store in an S3-compatible bucket.
    pub fn in_bucket(location: &S3Location) -> std::io::Result<MediaStore> {
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(&location.bucket)
            .with_region(&location.region);
        if let Some((id, secret)) = &location.keys {
            builder = builder
                .with_access_key_id(id)
                .with_secret_access_key(secret);
        }
        if let Some(endpoint) = &location.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"))
                .with_virtual_hosted_style_request(false);
        }
        let store = builder.build().map_err(std::io::Error::other)?;
        Ok(MediaStore {
            store: Arc::new(store),
        })
    }

    fn path(sha256: &str, name: &str) -> Path {
        Path::from(format!("{}/{sha256}/{name}", &sha256[..2]))
    }

    /// Stores `bytes` as `name` of the file `sha256`. Stores write whole objects
    /// (the folder through a temporary file it renames), so a reader never sees
    /// half a file, and two writers of the same file write the same bytes.
    pub async fn put(&self, sha256: &str, name: &str, bytes: &[u8]) -> Result<(), AppError> {
        let path = Self::path(sha256, name);
        if self.store.head(&path).await.is_ok() {
            return Ok(());
        }
        self.store
            .put(&path, PutPayload::from(bytes.to_vec()))
            .await
            .map_err(failed("write a file"))?;
        Ok(())
    }

    /// The bytes of `name` of the file `sha256`, if stored.
    pub async fn get(&self, sha256: &str, name: &str) -> Result<Option<Vec<u8>>, AppError> {
        match self.store.get(&Self::path(sha256, name)).await {
            Ok(found) => Ok(Some(
                found.bytes().await.map_err(failed("read a file"))?.to_vec(),
            )),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(error) => Err(failed("read a file")(error)),
        }
    }
}
