//! The Content-Security-Policy of every page: nothing from the network,
//! styles inline, and at most the one script the page carries, allowed by
//! its SHA-256 hash (so no other script can run, even if one got in).

use base64::Engine;
use sha2::{Digest, Sha256};

/// The policy for a page whose only script is `script`, if it has one.
pub(super) fn policy(script: Option<&str>) -> String {
    let scripts = match script {
        Some(script) => format!("'sha256-{}'", hash(script)),
        None => "'none'".to_string(),
    };
    format!(
        "default-src 'none'; style-src 'unsafe-inline'; script-src {scripts}; \
         base-uri 'none'; form-action 'none'"
    )
}

/// A script's hash as a policy names it: SHA-256 in standard base64.
fn hash(script: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(script.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_a_script_as_the_csp_specification_does() {
        // The example of CSP Level 3, "Hash usage for script elements".
        assert_eq!(
            hash("alert('Hello, world.');"),
            "qznLcsROx4GACP2dm0UCKCzCG+HiZ1guq6ZZDob/Tng="
        );
    }

    #[test]
    fn a_page_without_a_script_allows_none() {
        let policy = policy(None);
        assert!(policy.starts_with("default-src 'none';"));
        assert!(policy.contains("script-src 'none'"));
        assert!(super::policy(Some("x()")).contains("script-src 'sha256-"));
    }
}
