//! Configuration from environment variables, validated at start-up.

use std::str::FromStr;

/// A missing or malformed environment variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The variable is not set (or empty).
    #[error("environment variable {0} is required and not set")]
    Missing(&'static str),
    /// The variable does not parse.
    #[error("environment variable {name} is `{value}`; expected {expected}")]
    Invalid {
        /// Variable name.
        name: &'static str,
        /// Its value.
        value: String,
        /// What was expected.
        expected: &'static str,
    },
}

/// A required variable.
pub fn required(name: &'static str) -> Result<String, ConfigError> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => Ok(v),
        _ => Err(ConfigError::Missing(name)),
    }
}

/// An optional variable: `None` when unset or empty (an empty value in a
/// template or a shell means "not configured").
pub fn optional(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// An optional variable parsed as `T`, or `default` when unset.
pub fn parsed_or<T: FromStr>(
    name: &'static str,
    default: T,
    expected: &'static str,
) -> Result<T, ConfigError> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v.trim().parse().map_err(|_| ConfigError::Invalid {
            name,
            value: v,
            expected,
        }),
        _ => Ok(default),
    }
}

/// An optional variable parsed as `T`: `None` when unset or empty.
pub fn parsed_optional<T: FromStr>(
    name: &'static str,
    expected: &'static str,
) -> Result<Option<T>, ConfigError> {
    match optional(name) {
        Some(v) => v
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| ConfigError::Invalid {
                name,
                value: v,
                expected,
            }),
        None => Ok(None),
    }
}

/// What `DEFAULT_PAUSE_WINDOW` must be (both functions read it).
pub const DEFAULT_PAUSE_WINDOW_EXPECTED: &str =
    "empty, or a yearly window MM-DD..MM-DD of real days, both included (e.g. 06-15..08-10)";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_and_invalid_variables_are_named() {
        let missing = required("CLOUD_TEST_SURELY_UNSET").unwrap_err();
        assert!(missing.to_string().contains("CLOUD_TEST_SURELY_UNSET"));
        assert_eq!(
            parsed_or("CLOUD_TEST_SURELY_UNSET", 7u32, "a number").unwrap(),
            7
        );
        assert_eq!(optional("CLOUD_TEST_SURELY_UNSET"), None);
        assert_eq!(
            parsed_optional::<u32>("CLOUD_TEST_SURELY_UNSET", "a number").unwrap(),
            None
        );
    }
}
