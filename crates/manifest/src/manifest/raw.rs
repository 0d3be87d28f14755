//! The manifest exactly as written: serde shapes with spans, before validation.
//!
//! Every table denies unknown keys so a typo is an error, not a silently ignored setting.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

pub(super) type S<T> = Spanned<T>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawManifest {
    pub manifest_version: S<i64>,
    pub application: S<RawApplication>,
    #[serde(default)]
    pub variables: BTreeMap<S<String>, S<RawVariable>>,
    #[serde(default)]
    pub trigger: Option<S<RawTriggers>>,
    #[serde(default)]
    pub component: BTreeMap<S<String>, S<RawComponent>>,
    pub deploy: Option<S<RawDeploy>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawApplication {
    pub name: S<String>,
    pub version: Option<S<String>>,
    pub description: Option<S<String>>,
    #[serde(default)]
    pub authors: Vec<S<String>>,
}

/// A `[variables]` entry, Spin's keys.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawVariable {
    pub default: Option<S<String>>,
    pub required: Option<S<bool>>,
    #[serde(default)]
    pub secret: bool,
    pub description: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTriggers {
    #[serde(default, deserialize_with = "http_routes")]
    pub http: Vec<S<RawHttpTrigger>>,
}

/// `[[trigger.http]]` entries (wasmctl's or Spin's). A single `[trigger.http]` table is the
/// likely slip of one bracket pair, and says so instead of "expected a sequence, found a map".
pub(super) fn http_routes<'de, D, T>(deserializer: D) -> Result<Vec<S<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct Routes<T>(std::marker::PhantomData<T>);
    impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for Routes<T> {
        type Value = Vec<S<T>>;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an array of `[[trigger.http]]` tables")
        }

        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            Vec::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))
        }

        fn visit_map<A: serde::de::MapAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
            Err(serde::de::Error::custom(
                "`trigger.http` is a single table, but it holds a list of routes: write `[[trigger.http]]`, with two brackets, above each route",
            ))
        }
    }
    deserializer.deserialize_any(Routes(std::marker::PhantomData))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHttpTrigger {
    pub route: S<String>,
    pub component: S<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawComponent {
    pub source: S<String>,
    pub description: Option<S<String>>,
    #[serde(default)]
    pub environment: BTreeMap<S<String>, S<String>>,
    #[serde(default)]
    pub files: Vec<S<RawFile>>,
    #[serde(default)]
    pub allowed_outbound_hosts: Vec<S<String>>,
    /// Component variable → template over app variables.
    #[serde(default)]
    pub variables: BTreeMap<S<String>, S<String>>,
    #[serde(default)]
    pub key_value_stores: Vec<S<String>>,
    pub limits: Option<S<RawLimits>>,
    pub build: Option<S<RawBuild>>,
}

/// A `files` entry: wasmctl's `{ source, destination }` table, or a plain string as Spin
/// writes it (a path or glob), which validation refuses with the table to write instead.
#[derive(Debug)]
pub(super) enum RawFile {
    Mount(RawFileMount),
    Pattern(String),
}

impl<'de> Deserialize<'de> for RawFile {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entry;
        impl<'de> serde::de::Visitor<'de> for Entry {
            type Value = RawFile;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a table `{ source = \"dir\", destination = \"/guest/path\" }`")
            }

            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<RawFile, E> {
                Ok(RawFile::Pattern(text.to_string()))
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<RawFile, A::Error> {
                RawFileMount::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(RawFile::Mount)
            }
        }
        deserializer.deserialize_any(Entry)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFileMount {
    pub source: S<String>,
    pub destination: S<String>,
    /// Made from Spin's string entries and `exclude_files`; never written in a table.
    #[serde(skip)]
    pub selection: Option<super::FileSelection>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLimits {
    pub timeout: Option<S<String>>,
    pub memory: Option<S<String>>,
    pub instance_reuse: Option<S<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBuild {
    pub cargo: Option<S<RawCargoBuild>>,
    pub command: Option<S<String>>,
    pub workdir: Option<S<String>>,
    /// Absent means the defaults of the build kind; `[]` watches nothing.
    pub watch: Option<Vec<S<String>>>,
    #[serde(default)]
    pub requires: Vec<S<String>>,
    pub dependencies: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCargoBuild {
    pub package: Option<S<String>>,
    pub target: Option<S<String>>,
    #[serde(default)]
    pub features: Vec<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDeploy {
    pub registry: Option<S<String>>,
    #[serde(default)]
    pub insecure: bool,
    pub kubernetes: Option<S<RawKubernetes>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawKubernetes {
    pub namespace: Option<S<String>>,
    pub replicas: Option<S<i64>>,
    pub cpu: Option<S<String>>,
    pub memory: Option<S<String>>,
    pub runtime_class: Option<S<String>>,
    #[serde(default)]
    pub environment: BTreeMap<S<String>, S<String>>,
}

/// The most parts a key may have (`a.b.c` has 3). The manifest's deepest is 4
/// (`component.ID.build.cargo`); the toml crate gives up at 80 without saying where, so a
/// deeper key is found here first, with its place in the file.
pub(super) const MAX_KEY_PARTS: usize = 64;

/// The first key of `text` (in a header or before `=`) with more than [`MAX_KEY_PARTS`]
/// parts: how many it has and where it is. Read with toml's own event parser, which
/// does not recurse.
pub(crate) fn too_deep_key(text: &str) -> Option<(usize, std::ops::Range<usize>)> {
    use toml_parser::Span;
    use toml_parser::parser::EventReceiver;

    #[derive(Default)]
    struct KeyParts {
        parts: usize,
        start: usize,
        end: usize,
        found: Option<(usize, std::ops::Range<usize>)>,
    }
    impl KeyParts {
        fn key_ended(&mut self) {
            if self.found.is_none() && self.parts > MAX_KEY_PARTS {
                self.found = Some((self.parts, self.start..self.end));
            }
            self.parts = 0;
        }
    }
    impl EventReceiver for KeyParts {
        fn simple_key(
            &mut self,
            span: Span,
            _: Option<toml_parser::decoder::Encoding>,
            _: &mut dyn toml_parser::ErrorSink,
        ) {
            if self.parts == 0 {
                self.start = span.start();
            }
            self.parts += 1;
            self.end = span.end();
        }
        fn key_val_sep(&mut self, _: Span, _: &mut dyn toml_parser::ErrorSink) {
            self.key_ended();
        }
        fn std_table_close(&mut self, _: Span, _: &mut dyn toml_parser::ErrorSink) {
            self.key_ended();
        }
        fn array_table_close(&mut self, _: Span, _: &mut dyn toml_parser::ErrorSink) {
            self.key_ended();
        }
    }

    let tokens = toml_parser::Source::new(text).lex().into_vec();
    let mut receiver = KeyParts::default();
    toml_parser::parser::parse_document(&tokens, &mut receiver, &mut ());
    receiver.key_ended();
    receiver.found
}
