//! Application variables (`[variables]`) and the templates a component reads them
//! through (`[component.ID.variables]`), as Spin's v2 manifest writes them.
//!
//! Only declarations live here: where values come from (flags, the environment, `.env`)
//! is decided by whoever serves the app, so a manifest never holds a resolved value.

/// One `[variables]` entry: a default, or a value that must be given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variable {
    /// `default = "..."`; `None` when the variable is `required = true` (a manifest
    /// has exactly one of the two).
    pub default: Option<String>,
    /// `secret = true`: its value is never shown (output, logs, errors, artifacts).
    pub secret: bool,
    /// `description`, free text; `None` when absent.
    pub description: Option<String>,
}

impl Variable {
    /// Whether a value must be given when the app is served (`required = true`).
    pub fn required(&self) -> bool {
        self.default.is_none()
    }
}

/// A component variable's value: text with `{{ name }}` expressions naming app variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<TemplatePart>,
}

/// A piece of a [`Template`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplatePart {
    /// Text taken as written.
    Text(String),
    /// `{{ name }}`: the value of app variable `name`.
    Variable(String),
}

/// A `{{ name }}` of a template: the name, and where it is in the template's text.
pub(super) type Reference = (String, std::ops::Range<usize>);

/// Why a template does not parse: what is wrong, and where in its text (a byte range).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct TemplateError {
    pub message: String,
    pub at: std::ops::Range<usize>,
}

impl Template {
    /// Parses `text` as Spin does: `{{`, an expression, `}}`; the expression, trimmed,
    /// must be a variable name ([`check_variable_name`]). Each variable reference comes
    /// with its byte range in `text`, for located errors.
    pub(super) fn parse(text: &str) -> Result<(Template, Vec<Reference>), TemplateError> {
        let mut parts = Vec::new();
        let mut references = Vec::new();
        let mut rest = 0;
        while rest < text.len() {
            let Some(open) = text[rest..].find("{{").map(|at| rest + at) else {
                parts.push(TemplatePart::Text(text[rest..].to_string()));
                break;
            };
            if open > rest {
                parts.push(TemplatePart::Text(text[rest..open].to_string()));
            }
            let inner_start = open + 2;
            let Some(close) = text[inner_start..].find("}}").map(|at| inner_start + at) else {
                return Err(TemplateError {
                    message: "`{{` is not closed by `}}`".to_string(),
                    at: open..text.len(),
                });
            };
            let inner = &text[inner_start..close];
            let name = inner.trim();
            let name_start = inner_start + (inner.len() - inner.trim_start().len());
            let at = name_start..name_start + name.len();
            if name.is_empty() {
                return Err(TemplateError {
                    message: "`{{ }}` names no variable; write `{{ name }}`".to_string(),
                    at: open..close + 2,
                });
            }
            if let Err(problem) = check_variable_name(name) {
                return Err(TemplateError {
                    message: format!("in `{{{{ {name} }}}}`: {problem}"),
                    at,
                });
            }
            parts.push(TemplatePart::Variable(name.to_string()));
            references.push((name.to_string(), at));
            rest = close + 2;
        }
        Ok((Template { parts }, references))
    }

    /// Its pieces, in order.
    pub fn parts(&self) -> &[TemplatePart] {
        &self.parts
    }

    /// The text with each `{{ name }}` replaced by `value(name)`.
    pub fn render<'a>(&self, value: impl Fn(&str) -> &'a str) -> String {
        self.parts
            .iter()
            .map(|part| match part {
                TemplatePart::Text(text) => text.as_str(),
                TemplatePart::Variable(name) => value(name),
            })
            .collect()
    }

    /// The template as Spin writes it: its text, each variable as `{{ name }}`.
    pub fn text(&self) -> String {
        self.parts
            .iter()
            .map(|part| match part {
                TemplatePart::Text(text) => text.clone(),
                TemplatePart::Variable(name) => format!("{{{{ {name} }}}}"),
            })
            .collect()
    }

    /// The app variables it reads.
    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|part| match part {
            TemplatePart::Variable(name) => Some(name.as_str()),
            TemplatePart::Text(_) => None,
        })
    }
}

/// Spin's rule for variable names, app and component alike: words of lowercase ASCII
/// letters and digits, each starting with a letter, joined by single `_` (`api_token`,
/// `db2_url`). It makes `WASMCTL_VARIABLE_<NAME>` a valid environment variable name.
pub fn check_variable_name(name: &str) -> Result<(), String> {
    let rule =
        "use lowercase letters, digits and `_`, each `_`-separated word starting with a letter";
    let valid = |name: &str| {
        !name.is_empty()
            && name.split('_').all(|word| {
                word.starts_with(|c: char| c.is_ascii_lowercase())
                    && word
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            })
    };
    if valid(name) {
        return Ok(());
    }
    if name.is_empty() {
        return Err(format!("variable name is empty; {rule}"));
    }
    let example: String = name
        .to_ascii_lowercase()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|word| !word.is_empty())
        .collect::<Vec<_>>()
        .join("_");
    let example = if valid(&example) {
        format!(", e.g. `{example}`")
    } else {
        String::new()
    };
    Err(format!(
        "variable name `{name}` is not valid; {rule}{example}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_spins_rule() {
        for good in ["a", "api_token", "db2_url", "x1"] {
            assert_eq!(check_variable_name(good), Ok(()), "{good}");
        }
        for bad in ["", "Api", "api-token", "_x", "x_", "a__b", "1a", "a_1", "é"] {
            assert!(check_variable_name(bad).is_err(), "{bad}");
        }
        assert!(
            check_variable_name("API-Token")
                .unwrap_err()
                .ends_with("e.g. `api_token`")
        );
    }

    #[test]
    fn a_template_reads_back_as_text_that_parses_to_it() {
        let (template, _) = Template::parse("Bearer {{api_token}} for {{ region }}").unwrap();
        assert_eq!(template.text(), "Bearer {{ api_token }} for {{ region }}");
        assert_eq!(Template::parse(&template.text()).unwrap().0, template);
    }

    #[test]
    fn templates_parse_as_spin_does() {
        let (template, references) = Template::parse("{{ greeting }}, {{name}}!").unwrap();
        assert_eq!(
            template.parts(),
            [
                TemplatePart::Variable("greeting".into()),
                TemplatePart::Text(", ".into()),
                TemplatePart::Variable("name".into()),
                TemplatePart::Text("!".into()),
            ]
        );
        assert_eq!(references[1], ("name".to_string(), 18..22));
        assert_eq!(
            template.render(|name| if name == "greeting" { "hi" } else { "you" }),
            "hi, you!"
        );
        assert_eq!(Template::parse("plain").unwrap().0.variables().count(), 0);
        assert!(Template::parse("").unwrap().0.parts().is_empty());

        let open = Template::parse("a {{ b").unwrap_err();
        assert_eq!(open.at, 2..6);
        assert!(
            Template::parse("{{ }}")
                .unwrap_err()
                .message
                .contains("names no")
        );
        assert!(
            Template::parse("{{ Bad }}")
                .unwrap_err()
                .message
                .contains("`Bad`")
        );
        // A lone `}}` is text, as in Spin.
        assert!(Template::parse("a }} b").is_ok());
    }
}
