//! What a content write carries: the entity tag it was based on (`If-Match`; refused
//! unless it is a tag of the resource as it is now) and the token that makes it.
//! Also the one meaning of an entity tag, which reads and writes share.

use uuid::Uuid;

use crate::error::AppError;

/// One state of a versioned resource: what every entity tag of it stands for. For
/// an article the state includes its status as readers see it now, since a
/// scheduled article turns published without a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntityState {
    pub id: Uuid,
    pub version: i32,
    /// The status as seen now (`""` for resources without one).
    pub phase: &'static str,
    /// What else the representations show that has no version of its own (0 for
    /// most resources; pending changes show their live article's version).
    pub context: u64,
}

/// Changes every tag when the representations may have changed shape (a release).
const REPRESENTATION_REVISION: &str = env!("CARGO_PKG_VERSION");

impl EntityState {
    /// The strong entity tag of one representation (`variant`: which parts, for
    /// whom) of this state: `"v<version>-<variant hash><state hash>"`, the state
    /// hash covering the variant hash too. Derived from the state, not the bytes,
    /// so that a write can tell whether a tag it is given names the current state
    /// (and a read can answer 304 without building the body).
    pub fn entity_tag(&self, variant: &str) -> String {
        let variant_hash =
            xxhash_rust::xxh3::xxh3_64(format!("{REPRESENTATION_REVISION}\n{variant}").as_bytes())
                as u32;
        format!(
            "\"v{}-{variant_hash:08x}{:016x}\"",
            self.version,
            self.state_hash(variant_hash)
        )
    }

    fn state_hash(&self, variant_hash: u32) -> u64 {
        xxhash_rust::xxh3::xxh3_64(
            format!(
                "{}\n{}\n{}\n{}\n{variant_hash}",
                self.id, self.version, self.phase, self.context
            )
            .as_bytes(),
        )
    }

    /// Whether `tag` (with its quotes) is a tag this state gave out, of any variant.
    fn named_by(&self, tag: &str) -> bool {
        let prefix = format!("\"v{}-", self.version);
        let Some(hashes) = tag
            .strip_prefix(&prefix)
            .and_then(|rest| rest.strip_suffix('"'))
            .filter(|hashes| {
                hashes.len() == 24
                    && hashes
                        .bytes()
                        .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
            })
        else {
            return false;
        };
        let (variant_hash, state_hash) = hashes.split_at(8);
        match (
            u32::from_str_radix(variant_hash, 16),
            u64::from_str_radix(state_hash, 16),
        ) {
            (Ok(variant_hash), Ok(state_hash)) => self.state_hash(variant_hash) == state_hash,
            _ => false,
        }
    }
}

/// What `If-Match` asks of a write. No header: nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Precondition {
    #[default]
    None,
    /// `If-Match: *`: the resource must exist, in any state.
    Exists,
    /// The resource must be in the state one of these strong tags names. Weak or
    /// malformed tags are left out, so they never match (RFC 9110 §13.1.1).
    Tags(Vec<String>),
}

impl Precondition {
    /// Checks the precondition against the stored state: the whole tag is compared,
    /// so a tag that was not given out for this state (one made up with the right
    /// version number, or altered) fails. Not a secret: anyone who can read the
    /// resource can have its tag; the point is that a stale one never passes.
    pub fn check(&self, current: &EntityState) -> Result<(), AppError> {
        match self {
            Precondition::Tags(tags) if !tags.iter().any(|tag| current.named_by(tag)) => {
                Err(AppError::PreconditionFailed(format!(
                    "The resource is at version {}, and If-Match names none of its current \
                     tags (send the ETag you read, as it was given); read it again and \
                     reapply your change.",
                    current.version
                )))
            }
            _ => Ok(()),
        }
    }
}

/// What every content write carries: the state it was based on and who makes it.
#[derive(Debug, Clone, Default)]
pub struct Write {
    pub precondition: Precondition,
    /// The token making the change (`None` only for writes outside the API).
    pub actor: Option<Uuid>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_tags_of_the_current_state_match() {
        let state = EntityState {
            id: Uuid::nil(),
            version: 3,
            phase: "draft",
            context: 0,
        };
        let tag = state.entity_tag("whole");
        let check = |tag: &str| Precondition::Tags(vec![tag.to_string()]).check(&state);
        assert!(check(&tag).is_ok());
        assert!(check(&state.entity_tag("citations")).is_ok(), "any variant");
        assert_ne!(tag, state.entity_tag("citations"), "variants differ");
        assert!(check("\"v3-0000000000000000000000000\"").is_err());
        let published = EntityState {
            phase: "published",
            ..state
        };
        assert!(check(&published.entity_tag("whole")).is_err());
        let other = EntityState {
            id: Uuid::max(),
            ..state
        };
        assert!(check(&other.entity_tag("whole")).is_err());
        assert!(check(&format!("{}0\"", &tag[..tag.len() - 1])).is_err());
        assert!(check(&tag.to_uppercase().replace('V', "v")).is_err());
        let in_another_context = EntityState {
            context: 7,
            ..state
        };
        assert!(check(&in_another_context.entity_tag("whole")).is_err());
    }
}
