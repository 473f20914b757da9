//! Errors of the harness (never a student's mistake, which is an outcome)
//! and the documented exit codes they map to.

use std::fmt;

/// Exit codes, as documented in the README.
pub mod exit_code {
    /// Every exercise passed.
    pub const ALL_PASSED: u8 = 0;
    /// Some exercise did not pass.
    pub const NOT_ALL_PASSED: u8 = 1;
    /// Bad usage or a bad input file (flags, exercise file, manifest, folder).
    pub const BAD_INPUT: u8 = 2;
    /// A fault inside sockgrade.
    pub const INTERNAL: u8 = 3;
    /// Stopped by Ctrl-C or SIGTERM (128 + SIGINT, as shells report it).
    pub const INTERRUPTED: u8 = 130;
}

/// Whose fault an error is, which decides the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The user gave something unusable: fix it and run again.
    BadInput,
    /// sockgrade itself failed.
    Internal,
}

/// A failure of the run as a whole.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl Error {
    /// Bad input: `message` names the thing and says what to do.
    pub fn bad_input(message: impl Into<String>) -> Error {
        Error {
            kind: ErrorKind::BadInput,
            message: message.into(),
            source: None,
        }
    }

    /// An internal fault.
    pub fn internal(message: impl Into<String>) -> Error {
        Error {
            kind: ErrorKind::Internal,
            message: message.into(),
            source: None,
        }
    }

    /// Attaches the underlying cause.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Error {
        self.source = Some(Box::new(source));
        self
    }

    /// Whose fault it is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self.kind {
            ErrorKind::BadInput => exit_code::BAD_INPUT,
            ErrorKind::Internal => exit_code::INTERNAL,
        }
    }
}

impl Error {
    /// What to tell the user, a line each: the message, then each cause
    /// in the chain that it does not already say (a message often quotes
    /// its cause; printed again, the user reads the same words twice).
    pub fn lines(&self) -> Vec<String> {
        let mut lines = vec![self.message.clone()];
        let mut source = std::error::Error::source(self);
        while let Some(cause) = source {
            let text = cause.to_string();
            if !lines.iter().any(|said| said.contains(&text)) {
                lines.push(text);
            }
            source = cause.source();
        }
        lines
    }
}

impl From<crate::exercise::UnknownExercise> for Error {
    fn from(unknown: crate::exercise::UnknownExercise) -> Error {
        Error::bad_input(unknown.to_string())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cause_the_message_already_quotes_is_not_said_again() {
        let cause = std::io::Error::from_raw_os_error(2);
        let quoted = Error::bad_input(format!("cannot write out.json: {cause}; check its folder"))
            .with_source(std::io::Error::from_raw_os_error(2));
        assert_eq!(quoted.lines().len(), 1, "{:?}", quoted.lines());
        let unquoted = Error::internal("cannot start the async runtime")
            .with_source(std::io::Error::from_raw_os_error(24));
        assert_eq!(
            unquoted.lines(),
            [
                "cannot start the async runtime".to_string(),
                std::io::Error::from_raw_os_error(24).to_string()
            ]
        );
    }
}
