//! What a build table says it needs from the machine: `requires` (tools and the lowest
//! versions it builds with) and `dependencies` (the package install wasmctl runs before
//! the build command). The rules live here; checking a machine is the `wasmctl`
//! library's (`build::toolchain`).

/// A program a build can require. Closed on purpose: for each one wasmctl knows how to
/// read its version and how to install it, so a missing tool is explained, not guessed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tool {
    /// Node.js, `node`.
    Node,
    /// npm, Node's package manager.
    Npm,
    /// Python 3, `python3`.
    Python3,
}

impl Tool {
    /// Every tool, in the order `doctor` reports them.
    pub const ALL: [Tool; 3] = [Tool::Node, Tool::Npm, Tool::Python3];

    /// The program's name, as `requires` writes it and as it is run.
    pub fn name(self) -> &'static str {
        match self {
            Tool::Node => "node",
            Tool::Npm => "npm",
            Tool::Python3 => "python3",
        }
    }

    fn from_name(name: &str) -> Option<Tool> {
        Tool::ALL.into_iter().find(|tool| tool.name() == name)
    }
}

impl std::fmt::Display for Tool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One entry of `requires`: a tool and, optionally, the lowest version that will do
/// (`"node >= 20"`, `"python3 >= 3.10"`, or just `"npm"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    /// The program.
    pub tool: Tool,
    /// The lowest version accepted, as numbers (`[3, 10]` for `3.10`); `None` accepts any.
    pub minimum: Option<Version>,
}

impl std::fmt::Display for Requirement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.minimum {
            Some(minimum) => write!(f, "{} >= {minimum}", self.tool),
            None => write!(f, "{}", self.tool),
        }
    }
}

/// A dotted version of one to three numbers. Compared part by part, a missing part
/// counting as 0, so `3.10` < `3.10.1` < `3.11`.
#[derive(Debug, Clone)]
pub struct Version(Vec<u64>);

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for Version {}

impl Version {
    /// Reads `3.10` or `20.20.2` exactly (the syntax `requires` accepts).
    pub fn parse(text: &str) -> Option<Version> {
        let parts = text
            .split('.')
            .map(|part| {
                (!part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
                    .then(|| part.parse::<u64>().ok())
                    .flatten()
            })
            .collect::<Option<Vec<_>>>()?;
        (1..=3).contains(&parts.len()).then_some(Version(parts))
    }

    /// The first version in a program's `--version` output: `v20.20.2`, `Python 3.11.7`,
    /// `3.13.0rc1` (read as 3.13.0). `None` when there is no number in it.
    pub fn find_in(output: &str) -> Option<Version> {
        let start = output.find(|c: char| c.is_ascii_digit())?;
        let parts: Vec<u64> = output[start..]
            .split('.')
            .take(3)
            .map_while(|part| {
                let digits = part.bytes().take_while(u8::is_ascii_digit).count();
                part[..digits].parse().ok()
            })
            .collect();
        (!parts.is_empty()).then_some(Version(parts))
    }

    fn part(&self, index: usize) -> u64 {
        self.0.get(index).copied().unwrap_or(0)
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (0..3)
            .map(|i| self.part(i).cmp(&other.part(i)))
            .find(|ordering| ordering.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal)
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self.0.iter().map(u64::to_string).collect();
        f.write_str(&parts.join("."))
    }
}

/// Parses one `requires` entry; the error is the end of a sentence about it.
pub(super) fn parse_requirement(text: &str) -> Result<Requirement, String> {
    let text = text.trim();
    let (name, minimum) = match text.split_once(">=") {
        Some((name, version)) => (name.trim(), Some(version.trim())),
        None => (text, None),
    };
    if name.contains(char::is_whitespace) || name.contains(['<', '>', '=', '^', '~']) {
        return Err(format!(
            "`{text}` is not a requirement: write a tool, optionally followed by `>= VERSION` (e.g. `node >= 20`)"
        ));
    }
    let tool = Tool::from_name(name).ok_or_else(|| {
        let known: Vec<&str> = Tool::ALL.iter().map(|t| t.name()).collect();
        format!(
            "wasmctl cannot check for `{name}`; the tools it knows are {}",
            known.join(", ")
        )
    })?;
    let minimum = match minimum {
        Some(version) => Some(Version::parse(version).ok_or_else(|| {
            format!("`{version}` is not a version: write one to three numbers, e.g. `20` or `3.10`")
        })?),
        None => None,
    };
    Ok(Requirement { tool, minimum })
}

/// The package install wasmctl runs in the build's `workdir` before its command, only when
/// the packages are missing or older than the file that lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dependencies {
    /// `npm install`, when `node_modules/` is missing or older than `package.json` or
    /// `package-lock.json`.
    Npm,
    /// A virtual environment `.venv/` made with `python3 -m venv` and filled with
    /// `pip install -r requirements.txt` (again when that file changes); `.venv/bin` comes
    /// first on the command's PATH.
    Pip,
}

impl Dependencies {
    /// As the manifest writes it.
    pub fn name(self) -> &'static str {
        match self {
            Dependencies::Npm => "npm",
            Dependencies::Pip => "pip",
        }
    }

    /// The tool the install itself runs.
    pub fn tool(self) -> Tool {
        match self {
            Dependencies::Npm => Tool::Npm,
            Dependencies::Pip => Tool::Python3,
        }
    }
}

/// Parses `dependencies`; the error is the end of a sentence about it.
pub(super) fn parse_dependencies(text: &str) -> Result<Dependencies, String> {
    match text {
        "npm" => Ok(Dependencies::Npm),
        "pip" => Ok(Dependencies::Pip),
        other => Err(format!(
            "unknown `dependencies` kind `{other}`; use \"npm\" (npm install from package.json) or \"pip\" (a .venv from requirements.txt)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requirements_parse_with_and_without_a_minimum() {
        let node = parse_requirement(" node >= 20 ").unwrap();
        assert_eq!(node.tool, Tool::Node);
        assert_eq!(node.to_string(), "node >= 20");
        assert_eq!(parse_requirement("npm").unwrap().minimum, None);
        assert_eq!(
            parse_requirement("python3>=3.10").unwrap().to_string(),
            "python3 >= 3.10"
        );
    }

    #[test]
    fn bad_requirements_say_what_is_wrong() {
        for (text, expected) in [
            ("go >= 1.22", "cannot check for `go`"),
            ("node > 20", "is not a requirement"),
            ("node ^20", "is not a requirement"),
            ("node >= 20.x", "`20.x` is not a version"),
            ("node >= 1.2.3.4", "is not a version"),
            ("node >=", "`` is not a version"),
            ("", "cannot check for ``"),
        ] {
            let error = parse_requirement(text).unwrap_err();
            assert!(error.contains(expected), "{text}: {error}");
        }
    }

    #[test]
    fn versions_compare_part_by_part() {
        let v = |text| Version::parse(text).unwrap();
        assert!(v("3.10") > v("3.9"));
        assert!(v("3.10") < v("3.10.1"));
        assert_eq!(v("20"), v("20.0.0"));
        assert!(v("20.20.2") >= v("20"));
    }

    #[test]
    fn versions_are_found_in_what_programs_print() {
        let found = |text| Version::find_in(text).map(|v| v.to_string());
        assert_eq!(found("v20.20.2\n").as_deref(), Some("20.20.2"));
        assert_eq!(found("Python 3.11.7").as_deref(), Some("3.11.7"));
        assert_eq!(found("Python 3.13.0rc1").as_deref(), Some("3.13.0"));
        assert_eq!(found("11.19.1").as_deref(), Some("11.19.1"));
        assert_eq!(found("no digits"), None);
        assert_eq!(found("99999999999999999999999"), None);
    }
}
