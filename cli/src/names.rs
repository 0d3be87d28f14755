//! The naming rule shared by app names, component ids and template names.

/// Checks a name: a letter first, then letters, digits, `-` or `_`.
///
/// `what` names the thing in the error, e.g. "app name" or "component id".
pub fn check_name(what: &str, name: &str) -> Result<(), String> {
    let rule = "a letter first, then letters, digits, `-` or `_`";
    let mut chars = name.chars();
    match chars.next() {
        None => Err(format!("{what} is empty; use {rule}")),
        Some(first) if !first.is_ascii_alphabetic() => Err(format!(
            "{what} `{name}` must start with a letter; use {rule}"
        )),
        Some(_) => match chars.find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_')) {
            Some(bad) => Err(format!(
                "{what} `{name}` contains `{}`; use {rule}",
                bad.escape_debug()
            )),
            None => Ok(()),
        },
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
}
