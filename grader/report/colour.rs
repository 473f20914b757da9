//! Whether to colour what goes to a terminal: `--color always|never`, or
//! `auto`, which follows the conventions other tools follow (no-color.org,
//! bixense.com/clicolors): `NO_COLOR` (non-empty) turns colour off,
//! `CLICOLOR_FORCE` (non-empty, not `0`) turns it on even into a pipe, and
//! `TERM=dumb` means a terminal that shows escape codes as text.

use std::ffi::OsString;

/// `--color`'s values (clap's own, so the flag reads as in other tools).
pub use clap::ColorChoice;

/// Whether to colour output going to a terminal (`to_terminal`) or not,
/// as asked by `choice`, with `env` reading a variable.
pub fn wanted(
    choice: ColorChoice,
    to_terminal: bool,
    env: impl Fn(&str) -> Option<OsString>,
) -> bool {
    let set = |name: &str| env(name).is_some_and(|value| !value.is_empty());
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            if set("NO_COLOR") {
                false
            } else if set("CLICOLOR_FORCE") && env("CLICOLOR_FORCE") != Some("0".into()) {
                true
            } else {
                to_terminal && env("TERM").is_none_or(|term| term != "dumb")
            }
        }
    }
}

/// [`wanted`] with the process's own environment.
pub fn wanted_here(choice: ColorChoice, to_terminal: bool) -> bool {
    wanted(choice, to_terminal, |name| std::env::var_os(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        move |name| vars.iter().find(|(n, _)| n == name).map(|(_, v)| v.into())
    }

    #[test]
    fn always_and_never_are_obeyed_whatever_the_environment() {
        assert!(wanted(
            ColorChoice::Always,
            false,
            with(&[("NO_COLOR", "1")])
        ));
        assert!(!wanted(
            ColorChoice::Never,
            true,
            with(&[("CLICOLOR_FORCE", "1")])
        ));
    }

    #[test]
    fn auto_follows_the_terminal_and_the_conventions() {
        assert!(wanted(ColorChoice::Auto, true, with(&[])));
        assert!(!wanted(ColorChoice::Auto, false, with(&[])));
        assert!(!wanted(ColorChoice::Auto, true, with(&[("NO_COLOR", "1")])));
        // An empty NO_COLOR is as good as none.
        assert!(wanted(ColorChoice::Auto, true, with(&[("NO_COLOR", "")])));
        assert!(wanted(
            ColorChoice::Auto,
            false,
            with(&[("CLICOLOR_FORCE", "1")])
        ));
        assert!(!wanted(
            ColorChoice::Auto,
            false,
            with(&[("CLICOLOR_FORCE", "0")])
        ));
        assert!(!wanted(ColorChoice::Auto, true, with(&[("TERM", "dumb")])));
        assert!(!wanted(
            ColorChoice::Auto,
            true,
            with(&[("NO_COLOR", "1"), ("CLICOLOR_FORCE", "1")])
        ));
    }
}
