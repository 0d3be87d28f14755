//! Spin's runtime configuration file (`runtime-config.toml`, `up --runtime-config FILE`):
//! which backend serves each key-value store, kept out of the manifest because it differs
//! per machine (a laptop's SQLite file, a cluster's Redis) while the app does not.
//!
//! wasmctl reads the part of Spin's format that it serves, so that the same file works
//! with `spin up` and on SpinKube:
//!
//! ```toml
//! [key_value_store.default]
//! type = "redis"                      # or "spin": SQLite, with an optional `path`
//! url = "redis://cache.internal:6379"
//! ```
//!
//! Everything else Spin knows (other store types, `[sqlite_database.X]`, `[llm_compute]`,
//! variables providers, ...) is refused with its place in the file, rather than ignored:
//! an app that relies on it would otherwise run against something other than what the
//! file says. A Redis URL may hold a password: [`RedisUrl`] shows it redacted, and no
//! error of this module prints it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::diagnostic::{Diagnostic, Diagnostics, suggestion};

/// The top-level tables and keys of Spin's runtime config that wasmctl does not serve,
/// each with what it configures (for the error that refuses it).
const UNSERVED_SECTIONS: [(&str, &str); 8] = [
    ("sqlite_database", "SQLite databases (`spin:sqlite`)"),
    ("llm_compute", "LLM inferencing (`fermyon:spin/llm`)"),
    (
        "variables_provider",
        "variables providers (Vault, Azure Key Vault, ...)",
    ),
    (
        "config_provider",
        "variables providers (Vault, Azure Key Vault, ...)",
    ),
    ("client_tls", "client TLS settings of outbound requests"),
    ("outbound_networking", "outbound networking settings"),
    ("state_dir", "Spin's state directory"),
    ("log_dir", "Spin's log directory"),
];

/// The key-value store types Spin knows and wasmctl does not serve.
const UNSERVED_STORE_TYPES: [&str; 2] = ["azure_cosmos", "aws_dynamo"];

/// The keys of a `[key_value_store.LABEL]` table, by its `type`.
const REDIS_KEYS: [&str; 2] = ["type", "url"];
const SPIN_KEYS: [&str; 2] = ["type", "path"];

/// A runtime config file, read and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeConfig {
    /// The file, absolute.
    pub path: PathBuf,
    /// `[key_value_store.LABEL]` tables, by label.
    pub key_value_stores: BTreeMap<String, StoreBackend>,
}

/// What serves one key-value store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreBackend {
    /// `type = "redis"`: a Redis server, keys as they are (as Spin stores them).
    Redis(RedisUrl),
    /// `type = "spin"`: SQLite; `path` made absolute against the runtime config file's
    /// directory, `None` for the store's usual file in the state directory.
    Spin {
        /// The database file.
        path: Option<PathBuf>,
    },
}

/// A `redis://` or `rediss://` URL. `Display` and `Debug` show it with its password
/// replaced by `***`; only [`RedisUrl::expose`] gives the URL itself, to connect with.
#[derive(Clone, PartialEq, Eq)]
pub struct RedisUrl(String);

impl RedisUrl {
    /// Accepts a URL of scheme `redis` or `rediss` with a host; the error says what is
    /// wrong without repeating the URL.
    pub fn parse(url: &str) -> Result<RedisUrl, String> {
        let Some((scheme, rest)) = url.split_once("://") else {
            return Err(
                "not a URL: write `redis://HOST[:PORT][/DB]` (or `rediss://` for TLS)".to_string(),
            );
        };
        if scheme != "redis" && scheme != "rediss" {
            return Err(format!(
                "scheme `{scheme}` is not Redis's: wasmctl connects to `redis://` (or `rediss://`, with TLS) URLs"
            ));
        }
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let host = authority
            .rsplit_once('@')
            .map_or(authority, |(_, host)| host);
        if host.is_empty() || host.starts_with(':') {
            return Err(format!(
                "the URL names no host: write `{scheme}://HOST[:PORT]`"
            ));
        }
        Ok(RedisUrl(url.to_string()))
    }

    /// The URL as written, password included: for connecting only, never for a message.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for RedisUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&redact(&self.0))
    }
}

impl std::fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RedisUrl({self})")
    }
}

/// `url` with the password of its user information (`user:PASSWORD@` or `:PASSWORD@`)
/// replaced by `***`.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return url.to_string();
    };
    let user = match userinfo.split_once(':') {
        Some((user, _password)) => format!("{user}:***"),
        None => userinfo.to_string(),
    };
    format!("{scheme}://{user}@{host}{tail}")
}

/// `text` with the password of every `SCHEME://USER:PASSWORD@` in it replaced by as many
/// `*`, so byte offsets into it stay valid.
fn mask_passwords(text: &str) -> String {
    let mut masked = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (before, after) = rest.split_at(at + 3);
        masked.push_str(before);
        let end = after
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '/' | '?' | '#'))
            .unwrap_or(after.len());
        let authority = &after[..end];
        match (authority.find(':'), authority.rfind('@')) {
            (Some(colon), Some(at)) if colon < at => {
                masked.push_str(&authority[..=colon]);
                masked.extend(std::iter::repeat_n('*', at - colon - 1));
                masked.push_str(&authority[at..]);
            }
            _ => masked.push_str(authority),
        }
        rest = &after[end..];
    }
    masked.push_str(rest);
    masked
}

/// Reads and checks the runtime config at `path` (at most [`crate::limits::TEXT_FILE`]).
/// The error is [`Diagnostics`] locating every problem in the file, or says it cannot be
/// read over a [`crate::limits::ReadError`] (missing, too large, not a file, not UTF-8).
pub fn load(path: &Path) -> anyhow::Result<RuntimeConfig> {
    use anyhow::Context as _;
    let path = std::path::absolute(path)?;
    let text = crate::limits::read_text(&path, crate::limits::TEXT_FILE)
        .context("cannot read the runtime config")?;
    Ok(parse(&path, text)?)
}

/// Checks the text of the runtime config at `path`; relative store paths are resolved
/// against `path`'s directory.
pub fn parse(path: &Path, text: String) -> Result<RuntimeConfig, Diagnostics> {
    // Snippets quote the file's lines: a password in a URL is masked in the copy they
    // quote (same length, so every span still points where it did).
    let invalid = |items: Vec<Diagnostic>, source: String| Diagnostics {
        path: path.to_path_buf(),
        source: mask_passwords(&source),
        items,
    };
    if let Some((parts, span)) = crate::manifest::too_deep_key(&text) {
        let diagnostic = Diagnostic::new(
            format!("this key is nested {parts} levels deep, deeper than a runtime config has"),
            Some(span.start..span.start + 1),
        )
        .help("a runtime config's keys look like `key_value_store.LABEL.url`; see docs/state.md");
        return Err(invalid(vec![diagnostic], text));
    }
    let dir = path.parent().unwrap_or(Path::new("/"));
    let checked = match DeTable::parse(&text) {
        Ok(table) => check(table.into_inner(), dir),
        Err(error) => Err(vec![syntax_error(&error)]),
    };
    match checked {
        Ok(key_value_stores) => Ok(RuntimeConfig {
            path: path.to_path_buf(),
            key_value_stores,
        }),
        Err(items) => Err(invalid(items, text)),
    }
}

/// A TOML syntax error, located.
fn syntax_error(error: &toml::de::Error) -> Diagnostic {
    Diagnostic::new(
        format!("invalid TOML: {}", error.message().trim()),
        error.span(),
    )
    .help("fix the syntax where the caret points; the format is Spin's runtime-config.toml (docs/state.md)")
}

type Key<'i> = Spanned<toml::de::DeString<'i>>;
type Value<'i> = Spanned<DeValue<'i>>;

/// The stores of a parsed file, or every problem found in it.
fn check(
    table: DeTable<'_>,
    dir: &Path,
) -> Result<BTreeMap<String, StoreBackend>, Vec<Diagnostic>> {
    let mut problems = Vec::new();
    let mut stores = BTreeMap::new();
    for (key, value) in table {
        let name = key.get_ref().as_ref();
        if name == "key_value_store" {
            let Some(tables) = as_table(&value, "`key_value_store`", &mut problems) else {
                continue;
            };
            for (label, store) in tables {
                if let Some(backend) = check_store(label, store, dir, &mut problems) {
                    stores.insert(label.get_ref().to_string(), backend);
                }
            }
        } else if let Some((_, what)) = UNSERVED_SECTIONS.iter().find(|(known, _)| *known == name) {
            problems.push(
                Diagnostic::new(
                    format!("wasmctl does not serve `{name}`: {what}"),
                    Some(key.span()),
                )
                .label("Spin reads this; wasmctl does not")
                .help(format!(
                    "remove `{name}` from the runtime config for wasmctl; the only section wasmctl serves is `[key_value_store.LABEL]`"
                )),
            );
        } else {
            let known = std::iter::once("key_value_store")
                .chain(UNSERVED_SECTIONS.iter().map(|(known, _)| *known));
            problems.push(
                Diagnostic::new(format!("unknown key `{name}`"), Some(key.span()))
                    .label("not a runtime config key")
                    .help(suggestion(name, known, "Spin's runtime config keys")),
            );
        }
    }
    if problems.is_empty() {
        Ok(stores)
    } else {
        // In file order (the table is read in key order).
        problems.sort_by_key(|problem| problem.span.as_ref().map(|span| span.start));
        Err(problems)
    }
}

/// `value` as a table, or a problem naming `what` it should be.
fn as_table<'a, 'i>(
    value: &'a Value<'i>,
    what: &str,
    problems: &mut Vec<Diagnostic>,
) -> Option<&'a DeTable<'i>> {
    match value.get_ref() {
        DeValue::Table(table) => Some(table),
        _ => {
            problems.push(
                Diagnostic::new(format!("{what} must be a table"), Some(value.span()))
                    .help("write it as a table header, e.g. `[key_value_store.default]`"),
            );
            None
        }
    }
}

/// `value` as a string, or a problem.
fn as_string<'a>(
    key: &str,
    value: &'a Value<'_>,
    problems: &mut Vec<Diagnostic>,
) -> Option<&'a str> {
    match value.get_ref() {
        DeValue::String(text) => Some(text.as_ref()),
        _ => {
            problems.push(
                Diagnostic::new(
                    format!("wrong type: `{key}` must be a string, in quotes"),
                    Some(value.span()),
                )
                .help("put the value in quotes"),
            );
            None
        }
    }
}

/// One `[key_value_store.LABEL]` table.
fn check_store(
    label: &Key<'_>,
    store: &Value<'_>,
    dir: &Path,
    problems: &mut Vec<Diagnostic>,
) -> Option<StoreBackend> {
    let name = label.get_ref().as_ref();
    let table = as_table(store, &format!("`key_value_store.{name}`"), problems)?;
    let field = |key: &str| table.iter().find(|(k, _)| k.get_ref().as_ref() == key);
    let Some((_, kind_value)) = field("type") else {
        problems.push(
            Diagnostic::new(
                format!("key-value store `{name}` has no `type`"),
                Some(label.span()),
            )
            .help("add `type = \"redis\"` (with `url`) or `type = \"spin\"` (SQLite, optional `path`)"),
        );
        return None;
    };
    let kind = as_string("type", kind_value, problems)?;
    let keys: &[&str] = match kind {
        "redis" => &REDIS_KEYS,
        "spin" => &SPIN_KEYS,
        other => {
            let (message, help) = if UNSERVED_STORE_TYPES.contains(&other) {
                (
                    format!("wasmctl does not serve key-value stores of type `{other}`"),
                    "wasmctl serves `redis` and `spin` (SQLite); point this store at a Redis server, or serve the app with Spin".to_string(),
                )
            } else {
                (
                    format!("unknown key-value store type `{other}`"),
                    suggestion(other, ["redis", "spin"], "the types wasmctl serves")
                        .text()
                        .to_string(),
                )
            };
            problems.push(Diagnostic::new(message, Some(kind_value.span())).help(help));
            return None;
        }
    };
    let before = problems.len();
    for key in table.keys() {
        let key_name = key.get_ref().as_ref();
        if !keys.contains(&key_name) {
            problems.push(
                Diagnostic::new(format!("unknown key `{key_name}`"), Some(key.span()))
                    .label(format!("not a key of a `{kind}` store"))
                    .help(suggestion(
                        key_name,
                        keys.iter().copied(),
                        "valid keys here",
                    )),
            );
        }
    }
    if problems.len() > before {
        // A misspelled key is likely the missing one: say that once.
        return None;
    }
    match kind {
        "redis" => {
            let Some((_, url)) = field("url") else {
                problems.push(
                    Diagnostic::new(
                        format!("Redis store `{name}` has no `url`"),
                        Some(label.span()),
                    )
                    .help("add `url = \"redis://HOST:PORT\"`"),
                );
                return None;
            };
            let text = as_string("url", url, problems)?;
            match RedisUrl::parse(text) {
                Ok(url) => Some(StoreBackend::Redis(url)),
                Err(problem) => {
                    problems.push(
                        Diagnostic::new(format!("bad Redis URL: {problem}"), Some(url.span()))
                            .help("e.g. `url = \"redis://127.0.0.1:6379\"`; a password goes in as `redis://:PASSWORD@HOST`"),
                    );
                    None
                }
            }
        }
        _ => match field("path") {
            None => Some(StoreBackend::Spin { path: None }),
            Some((_, path)) => {
                let text = as_string("path", path, problems)?;
                if text.is_empty() {
                    problems.push(
                        Diagnostic::new("`path` is empty", Some(path.span()))
                            .help("name the database file, e.g. `path = \"data/default.db\"`, or leave `path` out for the usual file"),
                    );
                    return None;
                }
                Some(StoreBackend::Spin {
                    path: Some(dir.join(text)),
                })
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Result<RuntimeConfig, String> {
        parse(Path::new("/srv/app/runtime-config.toml"), text.to_string())
            .map_err(|diagnostics| diagnostics.to_string())
    }

    #[test]
    fn spins_format_for_redis_and_sqlite() {
        let config = parsed(
            r#"
[key_value_store.default]
type = "redis"
url = "redis://:s3cret@127.0.0.1:6379/0"

[key_value_store.cache]
type = "spin"
path = "data/cache.db"

[key_value_store.local]
type = "spin"
"#,
        )
        .unwrap();
        let StoreBackend::Redis(url) = &config.key_value_stores["default"] else {
            panic!("{config:?}");
        };
        assert_eq!(url.expose(), "redis://:s3cret@127.0.0.1:6379/0");
        assert_eq!(url.to_string(), "redis://:***@127.0.0.1:6379/0");
        assert!(!format!("{config:?}").contains("s3cret"));
        assert_eq!(
            config.key_value_stores["cache"],
            StoreBackend::Spin {
                path: Some(PathBuf::from("/srv/app/data/cache.db"))
            }
        );
        assert_eq!(
            config.key_value_stores["local"],
            StoreBackend::Spin { path: None }
        );
    }

    #[test]
    fn passwords_are_redacted_wherever_they_are() {
        for (url, shown) in [
            ("redis://ada:pw@host:1/2", "redis://ada:***@host:1/2"),
            ("rediss://:pw@host", "rediss://:***@host"),
            ("redis://ada@host", "redis://ada@host"),
            ("redis://host:6379", "redis://host:6379"),
            ("redis://u:p@ss@host/0", "redis://u:***@host/0"),
        ] {
            assert_eq!(redact(url), shown, "{url}");
        }
    }

    #[test]
    fn snippets_mask_passwords_in_place() {
        let text = "url = \"redis://ada:pä@host/0\" # x://a:b@c";
        let masked = mask_passwords(text);
        assert_eq!(masked, "url = \"redis://ada:***@host/0\" # x://a:*@c");
        assert_eq!(masked.len(), text.len());
    }

    #[test]
    fn bad_input_is_located_and_named() {
        let cases = [
            ("[key_value_store.default\ntype = \"redis\"", "invalid TOML"),
            (
                "[key_value_store.default]\ntype = \"azure_cosmos\"\naccount = \"a\"",
                "wasmctl does not serve key-value stores of type `azure_cosmos`",
            ),
            (
                "[key_value_store.default]\ntype = \"rediss\"",
                "did you mean `redis`?",
            ),
            (
                "[key_value_store.default]\ntype = \"redis\"\nurl = \"http://:pw@host\"",
                "scheme `http` is not Redis's",
            ),
            (
                "[key_value_store.default]\ntype = \"redis\"\nurl = \"redis://x\"\nuri = \"y\"",
                "did you mean `url`?",
            ),
            (
                "[key_value_store.default]\ntype = \"redis\"",
                "has no `url`",
            ),
            (
                "[sqlite_database.default]\ntype = \"spin\"",
                "wasmctl does not serve `sqlite_database`",
            ),
            (
                "[[config_provider]]\ntype = \"vault\"",
                "wasmctl does not serve `config_provider`",
            ),
            (
                "[key_value_stores.default]\ntype = \"spin\"",
                "did you mean `key_value_store`?",
            ),
            ("key_value_store = 1", "must be a table"),
            ("[key_value_store.default]\ntype = 1", "must be a string"),
        ];
        for (text, expected) in cases {
            let error = parsed(text).unwrap_err();
            assert!(error.contains(expected), "{text}:\n{error}");
            assert!(error.contains("runtime-config.toml:"), "{error}");
            assert!(!error.contains("pw@"), "{error}");
        }
    }

    #[test]
    fn syntax_errors_say_line_and_column() {
        let error = parse(
            Path::new("/x/rc.toml"),
            "[key_value_store.default]\ntype = \"redis\nurl = 1\n".to_string(),
        )
        .unwrap_err();
        let span = error.items[0].span.clone().unwrap();
        assert_eq!(
            crate::diagnostic::line_column(&error.source, span.start).0,
            2
        );
    }
}
