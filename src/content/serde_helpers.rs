//! Small serde helpers for request bodies.

use serde::{Deserialize, Deserializer};

/// Tells a field given as `null` (`Some(None)`) from a field left out (`None`).
pub fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// An optional whole number, also when written `3.0`: JSON Schema calls that an
/// integer, so clients generated from the spec may send it.
pub fn whole_number<'de, D>(deserializer: D) -> Result<Option<i32>, D::Error>
where
    D: Deserializer<'de>,
{
    let Some(number) = Option::<serde_json::Number>::deserialize(deserializer)? else {
        return Ok(None);
    };
    let whole = if let Some(n) = number.as_i64() {
        Some(n)
    } else {
        number
            .as_f64()
            .filter(|f| f.fract() == 0.0 && f.abs() < 1e15)
            .map(|f| f as i64)
    };
    match whole.and_then(|n| i32::try_from(n).ok()) {
        Some(n) => Ok(Some(n)),
        None => Err(serde::de::Error::custom(format!(
            "expected a whole number from {} to {}, got {number}",
            i32::MIN,
            i32::MAX
        ))),
    }
}
