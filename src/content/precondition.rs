//! What a content write carries: the version it was based on (`If-Match`; refused
//! when the stored version has moved on) and the token that makes it.

use uuid::Uuid;

use crate::error::AppError;

/// The versions a write may apply to, from `If-Match`. No header: any version.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Precondition {
    #[default]
    None,
    /// `If-Match: *`: the resource must exist, at any version.
    Exists,
    /// The current version must be one of these.
    Versions(Vec<i32>),
}

impl Precondition {
    /// Checks the precondition against the stored version.
    pub fn check(&self, current: i32) -> Result<(), AppError> {
        match self {
            Precondition::Versions(versions) if !versions.contains(&current) => {
                Err(AppError::PreconditionFailed(format!(
                    "The resource is at version {current}, which If-Match does not name \
                     (send the ETag you read, as it was given); read it again and reapply \
                     your change."
                )))
            }
            _ => Ok(()),
        }
    }
}

/// What every content write carries: the version it was based on and who makes it.
#[derive(Debug, Clone, Default)]
pub struct Write {
    pub precondition: Precondition,
    /// The token making the change (`None` only for writes outside the API).
    pub actor: Option<Uuid>,
}
