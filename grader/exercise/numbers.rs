//! The numbers of an exercise file (points and timeouts), checked as they
//! are read: finite, not negative, and within a sane maximum, so that no
//! sum of them overflows and no deadline is too large to wait for. Reading
//! them here, rather than after, lets the error carry the file's line.

use serde::de::{Deserialize, Deserializer, Error};

/// The longest timeout of any phase, in seconds: an hour (and at most
/// `--timeout-scale 100` times that, which every clock can wait for).
pub const MAX_TIMEOUT_SECONDS: f64 = 3600.0;

/// The most points one exercise may be worth; any number of exercises
/// then adds up to a finite total.
pub const MAX_POINTS: f64 = 1e6;

/// `points`: from 0 to [`MAX_POINTS`].
pub fn points<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    bounded(deserializer, "points", MAX_POINTS, "")
}

/// `timeouts.start`.
pub fn start<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    seconds(deserializer, "timeouts.start")
}

/// `timeouts.step`.
pub fn step<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    seconds(deserializer, "timeouts.step")
}

/// `timeouts.total`.
pub fn total<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    seconds(deserializer, "timeouts.total")
}

/// `timeouts.exit-grace`.
pub fn exit_grace<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    seconds(deserializer, "timeouts.exit-grace")
}

/// `timeouts.quiet`.
pub fn quiet<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    seconds(deserializer, "timeouts.quiet")
}

fn seconds<'de, D: Deserializer<'de>>(deserializer: D, field: &str) -> Result<f64, D::Error> {
    bounded(deserializer, field, MAX_TIMEOUT_SECONDS, " seconds")
}

/// A number from 0 to `max`, or an error naming `field`.
fn bounded<'de, D: Deserializer<'de>>(
    deserializer: D,
    field: &str,
    max: f64,
    unit: &str,
) -> Result<f64, D::Error> {
    let value = f64::deserialize(deserializer)?;
    if value.is_finite() && (0.0..=max).contains(&value) {
        Ok(value)
    } else {
        // Debug, not Display: 1e300 as `1e300`, not three hundred digits.
        Err(D::Error::custom(format!(
            "`{field}` is {value:?}; use a number from 0 to {max}{unit}"
        )))
    }
}
