//! The naming rule shared by app names, component ids and template names.

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
    use super::check_name;

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
}
