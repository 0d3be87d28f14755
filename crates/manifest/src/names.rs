//! The naming rules: the one shared by app names, component ids and template names, and
//! Kubernetes' (RFC 1123 labels), which an app's name must also meet on a cluster.

use unicode_normalization::UnicodeNormalization;

/// What a name may hold, for messages.
const RULE: &str = "ASCII letters, digits, `-` and `_`, starting with a letter";

/// Checks a name: an ASCII letter first, then ASCII letters, digits, `-` or `_` (names
/// become directories, crate names, Kubernetes names and parts of URLs).
///
/// `what` names the thing in the error, e.g. "app name" or "component id".
pub fn check_name(what: &str, name: &str) -> Result<(), String> {
    let Some(first) = name.chars().next() else {
        return Err(format!("{what} is empty; use {RULE}"));
    };
    let bad = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'));
    let problem = match bad {
        Some(bad) if !bad.is_ascii() => format!(
            "contains `{}`, which is not an ASCII character",
            bad.escape_debug()
        ),
        Some(bad) => format!("contains `{}`", bad.escape_debug()),
        None if !first.is_ascii_alphabetic() => "must start with a letter".to_string(),
        None => return Ok(()),
    };
    let suggestion = match ascii_name(name) {
        Some(suggestion) if suggestion != name => format!(", e.g. `{suggestion}`"),
        _ => String::new(),
    };
    Err(format!("{what} `{name}` {problem}; use {RULE}{suggestion}"))
}

/// What keeps `text` from being an RFC 1123 label, the name Kubernetes gives namespaces,
/// services and most objects: 1 to 63 lowercase ASCII letters, digits and `-`, starting
/// and ending with a letter or digit.
pub fn dns_label_problem(text: &str) -> Result<(), String> {
    let rule =
        "(1 to 63 lowercase letters, digits and `-`, starting and ending with a letter or digit)";
    if text.is_empty() || text.len() > 63 {
        return Err(format!("must be 1 to 63 characters long {rule}"));
    }
    if let Some(bad) = text
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Err(format!("contains `{}` {rule}", bad.escape_debug()));
    }
    if text.starts_with('-') || text.ends_with('-') {
        return Err(format!("starts or ends with `-` {rule}"));
    }
    Ok(())
}

/// `text` lowercased, with `_`, ` ` and `.` as `-`: the RFC 1123 label someone writing
/// `My_Apps` most likely means (it may still break the rule, e.g. by its length).
pub fn as_dns_label(text: &str) -> String {
    text.to_ascii_lowercase().replace(['_', ' ', '.'], "-")
}

/// The Kubernetes name of an app ([`as_dns_label`] of its name), which must then be an
/// RFC 1123 label: an app name may be longer than 63 characters or end in `_`.
pub fn kubernetes_name(app_name: &str) -> Result<String, String> {
    let name = as_dns_label(app_name);
    dns_label_problem(&name).map_err(|problem| {
        format!("the app name `{app_name}` gives the Kubernetes name `{name}`, which {problem}")
    })?;
    Ok(name)
}

/// A name the rule accepts, made from `name`: accents dropped (`äpp` → `app`), other
/// characters the rule refuses as `-`, and `app-` before a first character that is not a
/// letter. `None` when nothing of `name` is left.
fn ascii_name(name: &str) -> Option<String> {
    let mut ascii = String::new();
    // Canonical decomposition splits `ä` into `a` and a combining mark; marks are dropped.
    for c in name
        .nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
    {
        match c {
            c if c.is_ascii_alphanumeric() || c == '_' => ascii.push(c),
            _ if !ascii.is_empty() && !ascii.ends_with('-') => ascii.push('-'),
            _ => {}
        }
    }
    let ascii = ascii.trim_end_matches('-');
    match ascii.chars().next() {
        None => None,
        Some(first) if first.is_ascii_alphabetic() => Some(ascii.to_string()),
        Some(_) => Some(format!("app-{ascii}")),
    }
}

#[cfg(test)]
mod tests {
    use super::{check_name, dns_label_problem, kubernetes_name};

    #[test]
    fn accepts_letters_digits_dash_underscore() {
        for name in ["svc", "my-app", "a_1", "Z9-x_y"] {
            assert_eq!(check_name("app name", name), Ok(()), "{name}");
        }
    }

    #[test]
    fn refuses_paths_empty_and_bad_first_chars() {
        for name in [
            "", "../x", "a/b", "1abc", "-x", "x y", "é", ".hidden", "a.b",
        ] {
            assert!(
                check_name("app name", name).is_err(),
                "{name} should be refused"
            );
        }
    }

    #[test]
    fn a_non_ascii_name_is_told_the_rule_and_an_ascii_name() {
        let message = check_name("app name", "äpp").unwrap_err();
        assert_eq!(
            message,
            "app name `äpp` contains `ä`, which is not an ASCII character; use ASCII letters, digits, `-` and `_`, starting with a letter, e.g. `app`"
        );
        let message = check_name("app name", "crème brûlée").unwrap_err();
        assert!(message.ends_with("e.g. `creme-brulee`"), "{message}");
        let message = check_name("app name", "1st").unwrap_err();
        assert!(message.contains("must start with a letter"), "{message}");
        assert!(message.ends_with("e.g. `app-1st`"), "{message}");
        // Nothing ASCII to keep: no suggestion rather than a poor one.
        let message = check_name("app name", "日本").unwrap_err();
        assert!(message.ends_with("starting with a letter"), "{message}");
    }

    #[test]
    fn an_app_name_becomes_a_kubernetes_name_or_says_why_not() {
        assert_eq!(kubernetes_name("My_App").unwrap(), "my-app");
        let error = kubernetes_name("app_").unwrap_err();
        assert!(error.contains("`app-`"), "{error}");
        assert!(kubernetes_name(&"a".repeat(64)).is_err());
    }

    #[test]
    fn dns_labels_are_lowercase_alphanumerics_and_inner_dashes() {
        for label in ["a", "apps-1", "0", &"a".repeat(63)] {
            assert_eq!(dns_label_problem(label), Ok(()), "{label}");
        }
        for label in ["", "Apps", "a_b", "a.b", "-a", "a-", &"a".repeat(64)] {
            assert!(dns_label_problem(label).is_err(), "{label}");
        }
    }
}
