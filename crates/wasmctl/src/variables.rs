//! The values of an app's `[variables]`, resolved once, before anything is served:
//! highest first, `--variable NAME=VALUE` (or `NAME=@FILE`), the environment
//! (`WASMCTL_VARIABLE_NAME`, then Spin's `SPIN_VARIABLE_NAME`), the same names in a `.env`
//! file in the app directory, the manifest's `default`. A required variable without a
//! value is an error naming every one missing.
//!
//! Values are data ([`Resolved`]) handed to whoever serves the app; a secret one is never
//! put into a message, and [`Resolved`]'s `Debug` shows names only. The manifest keeps
//! declarations only, so nothing resolved here is ever packed into an artifact.
//!
//! `deploy --kube` resolves the same way with [`resolve_public`], but the non-secret
//! variables only: a secret's value is for the cluster's Secret, never for wasmctl.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::environment::{SPIN_VARIABLE_PREFIX, VARIABLE_PREFIX};
use crate::hint::Hint;
use crate::limits::{self, ReadError};
use crate::manifest::{self, App, Component, check_variable_name};

/// The file of `NAME=VALUE` lines in the app directory that is read for values.
pub const DOTENV_FILE: &str = ".env";

/// A value given on the command line: `NAME=VALUE`, or `NAME=@FILE` for a file's text.
#[derive(Clone, PartialEq, Eq)]
pub enum Given {
    /// The value itself.
    Text(String),
    /// A file whose text is the value (read with [`limits::TEXT_FILE`]'s limit).
    File(PathBuf),
}

// The value may be a secret: never shown, not even in a debug print.
impl std::fmt::Debug for Given {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Given::Text(_) => f.write_str("Text(..)"),
            Given::File(path) => f.debug_tuple("File").field(path).finish(),
        }
    }
}

/// Parses `NAME=VALUE` or `NAME=@FILE` (the rule of `up --variable`): the name by the
/// manifest's rule ([`check_variable_name`]). Errors never quote the value.
pub fn parse_given(text: &str) -> Result<(String, Given), String> {
    let Some((name, value)) = text.split_once('=') else {
        return Err("write NAME=VALUE, or NAME=@FILE to read the value from a file".to_string());
    };
    check_variable_name(name)?;
    let given = match value.strip_prefix('@') {
        Some("") => return Err(format!("`{name}=@` names no file; write {name}=@FILE")),
        Some(file) => Given::File(PathBuf::from(file)),
        None => Given::Text(value.to_string()),
    };
    Ok((name.to_string(), given))
}

/// The environment variables that set app variable `name`, in the order they win.
pub fn environment_names(name: &str) -> [String; 2] {
    let upper = name.to_ascii_uppercase();
    [
        format!("{VARIABLE_PREFIX}{upper}"),
        format!("{SPIN_VARIABLE_PREFIX}{upper}"),
    ]
}

/// One variable's value.
#[derive(Clone, PartialEq, Eq)]
struct Value {
    text: String,
    secret: bool,
}

/// Every app variable's value, by name.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Resolved {
    values: BTreeMap<String, Value>,
}

// Values may be secrets: a debug print shows names, and which of them are secret.
impl std::fmt::Debug for Resolved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(
                self.values
                    .iter()
                    .map(|(name, value)| (name, if value.secret { "<secret>" } else { "<set>" })),
            )
            .finish()
    }
}

impl Resolved {
    /// The values of the non-secret variables, by name: what may be written down.
    pub fn public(&self) -> impl Iterator<Item = (&str, &str)> {
        self.values
            .iter()
            .filter(|(_, value)| !value.secret)
            .map(|(name, value)| (name.as_str(), value.text.as_str()))
    }

    /// What `component` may read, by key: each of its `[component.ID.variables]`
    /// templates rendered with the app's values; nothing when it has no such table.
    pub fn for_component(&self, component: &Component) -> Vec<(String, String)> {
        component
            .variables
            .iter()
            .map(|(key, template)| {
                let value = template.render(|name| {
                    // The manifest declares every variable a template names, and each
                    // declared one was resolved (or `resolve` failed).
                    self.values
                        .get(name)
                        .map_or("", |value| value.text.as_str())
                });
                (key.clone(), value)
            })
            .collect()
    }
}

/// Why an app's variables could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum VariableError {
    /// `--variable NAME=...` for a name the manifest does not declare.
    #[error("`--variable {name}=...`: the app declares no variable `{name}`")]
    Unknown {
        /// The name given.
        name: String,
        /// What the manifest declares.
        declared: Vec<String>,
    },
    /// `--variable NAME=@FILE` whose file cannot be read (or is not UTF-8 text).
    #[error("reading the value of variable `{name}` from `{}`", file.display())]
    File {
        /// The variable.
        name: String,
        /// The file named.
        file: PathBuf,
        /// Why reading failed.
        #[source]
        source: Box<ReadError>,
    },
    /// The app's `.env` file cannot be read or parsed.
    #[error(
        "reading variables from {}{}",
        file.display(),
        line.map_or(String::new(), |line| format!(":{line}"))
    )]
    DotEnv {
        /// The `.env` file.
        file: PathBuf,
        /// The line that does not parse (its text is not shown: it may hold a secret).
        line: Option<usize>,
        /// Why.
        #[source]
        source: DotEnvProblem,
    },
    /// `--variable NAME=...` of `deploy` for a secret variable: its value would have to
    /// be written where `deploy` writes nothing secret.
    #[error(
        "`--variable {name}=...`: `{name}` is a secret variable, and `deploy` writes no secret value anywhere"
    )]
    SecretGiven {
        /// The secret variable.
        name: String,
    },
    /// An environment variable that would give a value is set, but not to UTF-8 text.
    #[error("the environment variable `{key}` is set, but its value is not UTF-8 text")]
    EnvironmentNotUnicode {
        /// The environment variable.
        key: String,
    },
    /// Required variables that got no value from anywhere.
    #[error(
        "the app needs a value for {} {}",
        if names.len() == 1 { "required variable" } else { "required variables" },
        names.iter().map(|name| format!("`{name}`")).collect::<Vec<_>>().join(", ")
    )]
    Missing {
        /// Every one missing, in name order.
        names: Vec<String>,
        /// The `.env` file that was looked in.
        dotenv: PathBuf,
        /// The command that was resolving (`up`, `deploy`), for the hint's example.
        command: &'static str,
    },
}

/// What is wrong with a `.env` file; its text is never shown.
#[derive(Debug, thiserror::Error)]
pub enum DotEnvProblem {
    /// Not readable (a directory, a device, too large, not UTF-8...).
    #[error(transparent)]
    Read(Box<ReadError>),
    /// A line that is not `NAME=VALUE`.
    #[error("this line is not `NAME=VALUE`")]
    Line,
}

impl VariableError {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<Hint> {
        match self {
            VariableError::Unknown { name, declared } => Some(
                crate::diagnostic::suggestion(
                    name,
                    declared.iter().map(String::as_str),
                    "the app's variables",
                )
                .then(format!(
                    "declare it in `[variables]` of {}",
                    manifest::MANIFEST_FILE
                )),
            ),
            VariableError::File { source, .. } => source.hint(),
            VariableError::DotEnv { source, .. } => Some(match source {
                DotEnvProblem::Read(read) => read
                    .hint()
                    .unwrap_or_else(|| Hint::new("make it a readable text file, or remove it")),
                DotEnvProblem::Line => Hint::new(format!(
                    "write each line as NAME=VALUE, e.g. {VARIABLE_PREFIX}GREETING=hello; quote a value with spaces, and start a comment with #"
                )),
            }),
            VariableError::EnvironmentNotUnicode { key } => Some(Hint::new(format!(
                "set `{key}` to UTF-8 text, or unset it (`unset {key}`) to use the next source"
            ))),
            VariableError::SecretGiven { .. } => Some(Hint::new(
                "leave it out: on Kubernetes a secret comes from a Secret, which `deploy --kube` prints the `kubectl create secret` command for",
            )),
            VariableError::Missing {
                names,
                dotenv,
                command,
            } => {
                let example = &names[0];
                let [environment, spin] = environment_names(example);
                Some(Hint::new(format!(
                    "give each a value in one of three ways: `wasmctl {command} --variable {example}=VALUE` (or `{example}=@FILE`); the environment variable `{environment}` (or `{spin}`); a line `{environment}=VALUE` in `{}`",
                    dotenv.display()
                )))
            }
        }
    }
}

/// Resolves `app`'s variables from `given` (the command line), the process environment,
/// `APP_DIR/.env` and the manifest's defaults.
pub fn resolve(app: &App, given: &[(String, Given)]) -> Result<Resolved, VariableError> {
    check_environment_is_text(app)?;
    resolve_with(app, given, Scope::Serve, &|name| std::env::var(name).ok())
}

/// [`resolve`] for `deploy`: the non-secret variables only. A secret one is neither read
/// nor required (its value goes into the cluster's Secret, not through wasmctl), and
/// giving one on the command line is [`VariableError::SecretGiven`].
pub fn resolve_public(app: &App, given: &[(String, Given)]) -> Result<Resolved, VariableError> {
    check_environment_is_text(app)?;
    resolve_with(app, given, Scope::Deploy, &|name| std::env::var(name).ok())
}

/// Refuses an environment variable of `app`'s variables that is set to bytes that are not
/// UTF-8: skipping it would silently serve the next source's value (or the default).
fn check_environment_is_text(app: &App) -> Result<(), VariableError> {
    for name in app.variables.keys() {
        for key in environment_names(name) {
            if std::env::var_os(&key).is_some_and(|value| value.to_str().is_none()) {
                return Err(VariableError::EnvironmentNotUnicode { key });
            }
        }
    }
    Ok(())
}

/// Which variables are resolved, and for which command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// All of them, to serve the app (`up`).
    Serve,
    /// The non-secret ones, to write them into Kubernetes objects (`deploy`).
    Deploy,
}

/// [`resolve`] or [`resolve_public`] with `environment` standing in for the process
/// environment.
fn resolve_with(
    app: &App,
    given: &[(String, Given)],
    scope: Scope,
    environment: &dyn Fn(&str) -> Option<String>,
) -> Result<Resolved, VariableError> {
    let mut flags: BTreeMap<&str, &Given> = BTreeMap::new();
    for (name, value) in given {
        let Some(variable) = app.variables.get(name) else {
            return Err(VariableError::Unknown {
                name: name.clone(),
                declared: app.variables.keys().cloned().collect(),
            });
        };
        if scope == Scope::Deploy && variable.secret {
            return Err(VariableError::SecretGiven { name: name.clone() });
        }
        // The last of repeated flags wins, as with any repeated option.
        flags.insert(name, value);
    }
    let dotenv_file = app.dir.join(DOTENV_FILE);
    let dotenv = if app.variables.is_empty() {
        BTreeMap::new()
    } else {
        read_dotenv(&dotenv_file)?
    };
    let mut values = BTreeMap::new();
    let mut missing = Vec::new();
    let included = app
        .variables
        .iter()
        .filter(|(_, variable)| scope == Scope::Serve || !variable.secret);
    for (name, variable) in included {
        let text = match flags.get(name.as_str()) {
            Some(given) => Some(given_value(name, given)?),
            None => {
                let keys = environment_names(name);
                keys.iter()
                    .find_map(|key| environment(key))
                    .or_else(|| keys.iter().find_map(|key| dotenv.get(key).cloned()))
                    .or_else(|| variable.default.clone())
            }
        };
        match text {
            Some(text) => {
                let secret = variable.secret;
                values.insert(name.clone(), Value { text, secret });
            }
            None => missing.push(name.clone()),
        }
    }
    if !missing.is_empty() {
        return Err(VariableError::Missing {
            names: missing,
            dotenv: dotenv_file,
            command: match scope {
                Scope::Serve => "up",
                Scope::Deploy => "deploy",
            },
        });
    }
    Ok(Resolved { values })
}

fn given_value(name: &str, given: &Given) -> Result<String, VariableError> {
    match given {
        Given::Text(text) => Ok(text.clone()),
        Given::File(file) => {
            limits::read_text(file, limits::TEXT_FILE).map_err(|source| VariableError::File {
                name: name.to_string(),
                file: file.clone(),
                source: Box::new(source),
            })
        }
    }
}

/// The `NAME=VALUE` pairs of a `.env` file (dotenv syntax: quotes, comments, `export`);
/// none when there is no such file.
fn read_dotenv(file: &Path) -> Result<BTreeMap<String, String>, VariableError> {
    let problem = |line, source| VariableError::DotEnv {
        file: file.to_path_buf(),
        line,
        source,
    };
    let text = match limits::read_text(file, limits::TEXT_FILE) {
        Ok(text) => text,
        Err(ReadError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            return Ok(BTreeMap::new());
        }
        Err(error) => return Err(problem(None, DotEnvProblem::Read(Box::new(error)))),
    };
    let mut pairs = BTreeMap::new();
    for item in dotenvy::from_read_iter(text.as_bytes()) {
        match item {
            Ok((name, value)) => {
                pairs.insert(name, value);
            }
            Err(dotenvy::Error::LineParse(line, _)) => {
                // Said by number: the line itself may hold a secret.
                let number = text
                    .lines()
                    .position(|candidate| candidate.trim_end() == line.trim_end())
                    .map(|index| index + 1);
                return Err(problem(number, DotEnvProblem::Line));
            }
            Err(_) => return Err(problem(None, DotEnvProblem::Line)),
        }
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(dir: &Path, manifest: &str) -> App {
        let path = dir.join(manifest::MANIFEST_FILE);
        std::fs::write(
            &path,
            format!(
                "manifest_version = 1\n[application]\nname = \"app\"\n[[trigger.http]]\nroute = \"/...\"\ncomponent = \"svc\"\n[component.svc]\nsource = \"svc.wasm\"\n{manifest}"
            ),
        )
        .unwrap();
        manifest::load(&path).unwrap()
    }

    const DECLARED: &str = "[component.svc.variables]\ngreeting = \"{{ greeting }}, world\"\ntoken = \"{{ api_token }}\"\n[variables]\ngreeting = { default = \"hello\" }\napi_token = { required = true, secret = true }\nother = { required = true }\n";

    fn read(resolved: &Resolved, app: &App) -> BTreeMap<String, String> {
        resolved
            .for_component(&app.components["svc"])
            .into_iter()
            .collect()
    }

    #[test]
    fn each_source_wins_over_the_next() {
        let dir = tempfile::tempdir().unwrap();
        let app = app(dir.path(), DECLARED);
        let environment: BTreeMap<&str, &str> = [
            ("WASMCTL_VARIABLE_API_TOKEN", "from-env"),
            ("SPIN_VARIABLE_API_TOKEN", "from-spin-env"),
            ("SPIN_VARIABLE_OTHER", "spin"),
        ]
        .into();
        let lookup = |name: &str| environment.get(name).map(|v| v.to_string());
        std::fs::write(
            dir.path().join(".env"),
            "# comment\nWASMCTL_VARIABLE_GREETING='from dotenv'\n",
        )
        .unwrap();
        let resolved = resolve_with(&app, &[], Scope::Serve, &lookup).unwrap();
        let values = read(&resolved, &app);
        assert_eq!(values["greeting"], "from dotenv, world");
        assert_eq!(values["token"], "from-env");

        let flag = [("greeting".to_string(), Given::Text("flag".into()))];
        let values = read(
            &resolve_with(&app, &flag, Scope::Serve, &lookup).unwrap(),
            &app,
        );
        assert_eq!(values["greeting"], "flag, world");

        std::fs::remove_file(dir.path().join(".env")).unwrap();
        let values = read(
            &resolve_with(&app, &[], Scope::Serve, &lookup).unwrap(),
            &app,
        );
        assert_eq!(values["greeting"], "hello, world");
        // Secrets stay out of debug prints.
        let printed = format!(
            "{:?}",
            resolve_with(&app, &[], Scope::Serve, &lookup).unwrap()
        );
        assert!(!printed.contains("from-env"), "{printed}");
    }

    #[test]
    fn every_missing_name_is_listed_with_the_ways_to_set_it() {
        let dir = tempfile::tempdir().unwrap();
        let app = app(dir.path(), DECLARED);
        let error = resolve_with(&app, &[], Scope::Serve, &|_| None).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the app needs a value for required variables `api_token`, `other`"
        );
        let hint = error.hint().unwrap().to_string();
        for way in [
            "--variable api_token=VALUE",
            "WASMCTL_VARIABLE_API_TOKEN",
            "SPIN_VARIABLE_API_TOKEN",
            ".env",
        ] {
            assert!(hint.contains(way), "{hint}");
        }
    }

    #[test]
    fn flags_name_declared_variables_and_files_are_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let app = app(dir.path(), DECLARED);
        let unknown = [("greting".to_string(), Given::Text("x".into()))];
        let error = resolve_with(&app, &unknown, Scope::Serve, &|_| None).unwrap_err();
        assert!(
            error
                .hint()
                .unwrap()
                .to_string()
                .contains("did you mean `greeting`?"),
            "{error}"
        );

        std::fs::write(dir.path().join("token"), "s3cret").unwrap();
        let given = [
            (
                "api_token".to_string(),
                Given::File(dir.path().join("token")),
            ),
            ("other".to_string(), Given::Text("o".into())),
        ];
        let values = read(
            &resolve_with(&app, &given, Scope::Serve, &|_| None).unwrap(),
            &app,
        );
        assert_eq!(values["token"], "s3cret");

        let missing = [(
            "api_token".to_string(),
            Given::File(dir.path().join("absent")),
        )];
        let error = resolve_with(&app, &missing, Scope::Serve, &|_| None).unwrap_err();
        assert!(matches!(error, VariableError::File { .. }), "{error}");
    }

    #[test]
    fn a_broken_dotenv_line_is_named_by_number_never_quoted() {
        let dir = tempfile::tempdir().unwrap();
        let app = app(dir.path(), DECLARED);
        std::fs::write(
            dir.path().join(".env"),
            "A=1\nWASMCTL_VARIABLE_API_TOKEN 'hunter2\n",
        )
        .unwrap();
        let error = resolve_with(&app, &[], Scope::Serve, &|_| None).unwrap_err();
        let shown = format!("{error}: {}", std::error::Error::source(&error).unwrap());
        assert!(
            shown.ends_with(".env:2: this line is not `NAME=VALUE`"),
            "{shown}"
        );
        assert!(!shown.contains("hunter2"));
    }

    #[test]
    fn deploy_resolves_the_public_variables_and_never_a_secret() {
        let dir = tempfile::tempdir().unwrap();
        let app = app(dir.path(), DECLARED);
        let environment =
            |name: &str| (name == "WASMCTL_VARIABLE_API_TOKEN").then(|| "hunter2".to_string());
        // The secret is required, yet not missing: deploy never needs its value.
        let error = resolve_with(&app, &[], Scope::Deploy, &environment).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the app needs a value for required variable `other`"
        );
        assert!(
            error
                .hint()
                .unwrap()
                .to_string()
                .contains("`wasmctl deploy --variable other=VALUE`"),
            "{error}"
        );
        let given = [("other".to_string(), Given::Text("o".into()))];
        let resolved = resolve_with(&app, &given, Scope::Deploy, &environment).unwrap();
        let public: Vec<_> = resolved.public().collect();
        assert_eq!(public, [("greeting", "hello"), ("other", "o")]);

        let secret = [("api_token".to_string(), Given::Text("hunter2".into()))];
        let error = resolve_with(&app, &secret, Scope::Deploy, &environment).unwrap_err();
        assert!(
            matches!(error, VariableError::SecretGiven { .. }),
            "{error}"
        );
        assert!(!error.to_string().contains("hunter2"));
        // `up` takes it, and its public values leave the secret out.
        let served = resolve_with(&app, &secret, Scope::Serve, &|_| Some("x".into())).unwrap();
        assert!(served.public().all(|(name, _)| name != "api_token"));
    }

    #[test]
    fn given_values_parse_by_the_manifest_rule() {
        assert_eq!(
            parse_given("a_b=x=y").unwrap(),
            ("a_b".to_string(), Given::Text("x=y".into()))
        );
        assert_eq!(
            parse_given("a=@f.txt").unwrap(),
            ("a".to_string(), Given::File("f.txt".into()))
        );
        assert!(parse_given("A=secret").unwrap_err().contains("`A`"));
        assert!(!parse_given("A=secret").unwrap_err().contains("secret"));
        assert!(parse_given("novalue").is_err());
        assert!(parse_given("a=@").is_err());
    }
}
