//! The manifest exactly as written: serde shapes with spans, before validation.
//!
//! Every table denies unknown keys so a typo is an error, not a silently ignored setting.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

pub type S<T> = Spanned<T>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawManifest {
    pub manifest_version: S<i64>,
    pub application: S<RawApplication>,
    #[serde(default)]
    pub trigger: Option<S<RawTriggers>>,
    #[serde(default)]
    pub component: BTreeMap<S<String>, S<RawComponent>>,
    pub deploy: Option<S<RawDeploy>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawApplication {
    pub name: S<String>,
    pub version: Option<S<String>>,
    pub description: Option<S<String>>,
    #[serde(default)]
    pub authors: Vec<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTriggers {
    #[serde(default)]
    pub http: Vec<S<RawHttpTrigger>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHttpTrigger {
    pub route: S<String>,
    pub component: S<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawComponent {
    pub source: S<String>,
    pub description: Option<S<String>>,
    #[serde(default)]
    pub environment: BTreeMap<S<String>, S<String>>,
    #[serde(default)]
    pub files: Vec<S<RawFile>>,
    #[serde(default)]
    pub allowed_outbound_hosts: Vec<S<String>>,
    pub limits: Option<S<RawLimits>>,
    pub build: Option<S<RawBuild>>,
}

/// A `files` entry: wasmctl's `{ source, destination }` table, or a plain string as Spin
/// writes it (a path or glob), which validation refuses with the table to write instead.
#[derive(Debug)]
pub enum RawFile {
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
pub struct RawFileMount {
    pub source: S<String>,
    pub destination: S<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    pub timeout: Option<S<String>>,
    pub memory: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBuild {
    pub cargo: Option<S<RawCargoBuild>>,
    pub command: Option<S<String>>,
    pub workdir: Option<S<String>>,
    /// Absent means the defaults of the build kind; `[]` watches nothing.
    pub watch: Option<Vec<S<String>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCargoBuild {
    pub package: Option<S<String>>,
    pub target: Option<S<String>>,
    #[serde(default)]
    pub features: Vec<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDeploy {
    pub registry: Option<S<String>>,
    #[serde(default)]
    pub insecure: bool,
    pub kubernetes: Option<S<RawKubernetes>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawKubernetes {
    pub namespace: Option<S<String>>,
    pub replicas: Option<S<i64>>,
    pub cpu: Option<S<String>>,
    pub memory: Option<S<String>>,
    pub runtime_class: Option<S<String>>,
    #[serde(default)]
    pub environment: BTreeMap<S<String>, S<String>>,
}
