//! Spin's `-v KEY=VALUE` for `--value KEY=VALUE`, although `-v` is wasmctl's global
//! `--verbose`: clap cannot give one short flag two meanings, so the arguments are
//! rewritten before clap sees them.
//!
//! The rule, all of it: when the subcommand (the first argument that is neither an
//! option nor the value of `--color`) is one of [`VALUE_COMMANDS`], then after it and
//! before any `--`,
//! - `-v` directly followed by an argument containing `=` becomes `--value`;
//! - `-vKEY=VALUE` (and `-v=KEY=VALUE`) becomes `--value=KEY=VALUE`.
//!
//! Nothing else changes: `-v` and `-vv` stay verbose everywhere, `wasmctl new -v
//! http-rust svc` included (a template name never contains `=`).

use std::ffi::OsString;

/// The subcommands with a `--value KEY=VALUE` option (template parameters).
pub(super) const VALUE_COMMANDS: [&str; 2] = ["new", "add"];

/// `args` (with the program name first) with the shorthand spelled out.
pub(crate) fn expand_value_shorthand(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    let mut args: Vec<OsString> = args.into_iter().collect();
    let Some(start) = subcommand_at(&args)
        .filter(|&at| VALUE_COMMANDS.iter().any(|command| args[at] == *command))
        .map(|at| at + 1)
    else {
        return args;
    };
    let end = args[start..]
        .iter()
        .position(|arg| arg == "--")
        .map_or(args.len(), |at| start + at);
    for at in start..end {
        // Only UTF-8 arguments can be `-v` or hold a `=` worth rewriting.
        let Some(arg) = args[at].to_str() else {
            continue;
        };
        if arg == "-v" {
            let next_is_pair = args
                .get(at + 1)
                .filter(|_| at + 1 < end)
                .and_then(|next| next.to_str())
                .is_some_and(|next| next.contains('='));
            if next_is_pair {
                args[at] = "--value".into();
            }
        } else if let Some(pair) = arg.strip_prefix("-v").filter(|rest| rest.contains('=')) {
            let pair = pair.strip_prefix('=').unwrap_or(pair);
            args[at] = format!("--value={pair}").into();
        }
    }
    args
}

/// Where the subcommand is: the first argument after the program name that is not an
/// option (the global options before it are flags, except `--color WHEN`).
fn subcommand_at(args: &[OsString]) -> Option<usize> {
    let mut at = 1;
    while let Some(arg) = args.get(at) {
        if arg == "--color" {
            at += 2;
        } else if arg.to_str().is_some_and(|arg| arg.starts_with('-')) {
            at += 1;
        } else {
            return Some(at);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::commands::{Cli, Command};

    fn expand(line: &str) -> String {
        let args = line.split(' ').map(OsString::from);
        expand_value_shorthand(args)
            .iter()
            .map(|arg| arg.to_str().unwrap())
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn dash_v_before_a_pair_is_value_for_new_and_add() {
        assert_eq!(
            expand("wasmctl new http-rust svc -v http_route=/api/..."),
            "wasmctl new http-rust svc --value http_route=/api/..."
        );
        assert_eq!(
            expand("wasmctl new -v a=1 http-rust svc -v b=2"),
            "wasmctl new --value a=1 http-rust svc --value b=2"
        );
        assert_eq!(
            expand("wasmctl -q --color never add -v a=1 x"),
            "wasmctl -q --color never add --value a=1 x"
        );
        assert_eq!(
            expand("wasmctl new x y -va=1 -v=b=2"),
            "wasmctl new x y --value=a=1 --value=b=2"
        );
    }

    #[test]
    fn verbose_stays_verbose() {
        for line in [
            "wasmctl new -v http-rust svc",
            "wasmctl new http-rust svc -v",
            "wasmctl new -vv http-rust svc",
            "wasmctl new http-rust svc -v -- -v a=1",
            "wasmctl -v new http-rust svc",
            // Only `new` and `add` have `--value`.
            "wasmctl up -v a=1",
            "wasmctl deploy --kube-env -v a=1",
            // The template happens to be called `new`: the subcommand is `templates`.
            "wasmctl templates uninstall new -v a=1",
            "wasmctl --color always",
        ] {
            assert_eq!(expand(line), line);
        }
    }

    #[test]
    fn clap_reads_the_rewritten_arguments() {
        let parse = |line: &str| {
            Cli::try_parse_from(expand_value_shorthand(line.split(' ').map(OsString::from)))
                .unwrap()
        };
        let cli = parse("wasmctl new -v http-rust svc -v a=1 -v b=c=d");
        assert_eq!(cli.global.verbose, 1);
        let Command::New(new) = cli.command else {
            panic!("not `new`")
        };
        assert_eq!(new.template.as_deref(), Some("http-rust"));
        assert_eq!(
            new.values.values,
            [("a".into(), "1".into()), ("b".into(), "c=d".into())]
        );
        assert_eq!(parse("wasmctl new -vv http-rust svc").global.verbose, 2);
    }
}
