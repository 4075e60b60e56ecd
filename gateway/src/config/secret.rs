//! Secrets in the configuration: readable where they are used, hidden everywhere else.

use std::fmt;

use serde::Deserialize;

/// A value that never appears in logs or `Debug` output.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// The secret itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    #[test]
    fn secrets_never_show_in_debug_output() {
        let shown = format!("{:?}", Config::default());

        assert!(!shown.contains("dev-only"), "{shown}");
        assert!(shown.contains("[redacted]"));
    }
}
