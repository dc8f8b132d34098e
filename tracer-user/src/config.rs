//! Settings from three places, in this order of precedence: command-line
//! flags, then `TRACER_…` environment variables (clap's `env`), then the
//! TOML file named by `--config` / `TRACER_CONFIG`.
//!
//! The file's keys are the long flag names (`rotate-size` or `rotate_size`);
//! values are strings, integers, booleans (for switches, and `syslog = true`
//! for the default /dev/log) or arrays (for repeatable flags):
//!
//! ```toml
//! syscalls = "clone,clone3,wait4"
//! output = ["/var/log/tracer/events.jsonl"]
//! rotate-size = "100M"
//! rotate-keep = 10
//! stats-interval = "10s"
//! metrics = "127.0.0.1:9464"
//! ```
//!
//! How: parse once; for each file key whose flag was neither given nor set
//! by the environment, add `--flag=value` to the arguments and parse again.
//! The file's values thus go through the same validation as flags, and
//! every flag (including ones added later) is settable without a list here.

use std::ffi::OsString;
use std::path::Path;

use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches};

use crate::cli::Cli;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Usage errors, `--help`, `--version`: clap prints them itself.
    #[error(transparent)]
    Clap(#[from] clap::Error),
    #[error("config {path}: {msg}")]
    File { path: String, msg: String },
}

/// Parses the process's arguments with environment and config file applied.
pub fn parse() -> Result<Cli, ConfigError> {
    parse_from(std::env::args_os())
}

pub fn parse_from<I, T>(args: I) -> Result<Cli, ConfigError>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let matches = Cli::command().try_get_matches_from(&args)?;
    let Some(path) = matches.get_one::<std::path::PathBuf>("config").cloned() else {
        return Ok(Cli::from_arg_matches(&matches)?);
    };
    let extra = file_args(&path, &matches)?;
    let mut merged = Vec::with_capacity(args.len() + extra.len());
    // After argv[0], so a subcommand or `-- CMD` later on the line stays last.
    merged.extend(args.first().cloned());
    merged.extend(extra);
    merged.extend(args.iter().skip(1).cloned());
    let matches = Cli::command().try_get_matches_from(&merged)?;
    Ok(Cli::from_arg_matches(&matches)?)
}

fn file_err(path: &Path, msg: impl Into<String>) -> ConfigError {
    ConfigError::File { path: path.display().to_string(), msg: msg.into() }
}

/// `--flag=value` arguments for the file's settings that flags and the
/// environment left alone.
fn file_args(path: &Path, matches: &clap::ArgMatches) -> Result<Vec<OsString>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| file_err(path, e.to_string()))?;
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| file_err(path, e.message().to_owned()))?;
    let cmd = Cli::command();
    let mut out = Vec::new();
    for (key, value) in &table {
        let long = key.replace('_', "-");
        let arg = cmd
            .get_arguments()
            .find(|a| a.get_long() == Some(long.as_str()) && long != "config" && long != "help" && long != "version")
            .ok_or_else(|| file_err(path, format!("unknown setting '{key}'")))?;
        if matches!(matches.value_source(arg.get_id().as_str()), Some(ValueSource::CommandLine | ValueSource::EnvVariable)) {
            continue;
        }
        let takes_value = arg.get_num_args().is_none_or(|n| n.takes_values());
        let optional_value = arg.get_num_args().is_some_and(|n| n.min_values() == 0);
        let values: Vec<&toml::Value> = match value {
            toml::Value::Array(a) => a.iter().collect(),
            v => vec![v],
        };
        for v in values {
            let text = match v {
                toml::Value::String(s) => s.clone(),
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Float(f) => f.to_string(),
                toml::Value::Boolean(b) if !takes_value || optional_value => {
                    if *b {
                        out.push(format!("--{long}").into());
                    }
                    continue;
                }
                other => return Err(file_err(path, format!("'{key}': unsupported value {other}"))),
            };
            if !takes_value {
                return Err(file_err(path, format!("'{key}' is a switch: use true or false")));
            }
            let mut a = OsString::from(format!("--{long}="));
            a.push(text);
            out.push(a);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_config(tag: &str, text: &str) -> std::path::PathBuf {
        let p = std::env::temp_dir().join(format!("tracer-unit-config-{tag}-{}.toml", std::process::id()));
        std::fs::write(&p, text).unwrap();
        p
    }

    /// The only test that touches the environment: it sets TRACER_ROTATE_KEEP,
    /// which no other test reads.
    #[test]
    fn flags_win_over_env_over_file() {
        let p = write_config(
            "precedence",
            "rotate-keep = 3\nrotate_size = \"1M\"\nstats-interval = \"2s\"\noutput = [\"/tmp/a\", \"/tmp/b\"]\nsyslog = true\n",
        );
        let args = |extra: &[&str]| {
            let mut v = vec!["tracer".to_owned(), "--config".to_owned(), p.display().to_string()];
            v.extend(extra.iter().map(|s| s.to_string()));
            v
        };
        // SAFETY: see the doc comment; nothing else reads this variable.
        unsafe { std::env::remove_var("TRACER_ROTATE_KEEP") };
        let c = parse_from(args(&[])).unwrap();
        assert_eq!(c.daemon.rotate_keep, 3, "file");
        assert_eq!(c.daemon.rotate_size, Some(1 << 20));
        assert_eq!(c.daemon.stats_interval, Some(std::time::Duration::from_secs(2)));
        assert_eq!(c.daemon.output, vec![std::path::PathBuf::from("/tmp/a"), "/tmp/b".into()]);
        assert!(c.daemon.syslog.is_some());

        unsafe { std::env::set_var("TRACER_ROTATE_KEEP", "7") };
        let c = parse_from(args(&[])).unwrap();
        assert_eq!(c.daemon.rotate_keep, 7, "env over file");
        let c = parse_from(args(&["--rotate-keep", "9", "--stats-interval=5s"])).unwrap();
        assert_eq!(c.daemon.rotate_keep, 9, "flag over env");
        assert_eq!(c.daemon.stats_interval, Some(std::time::Duration::from_secs(5)), "flag over file");
        unsafe { std::env::remove_var("TRACER_ROTATE_KEEP") };

        // Without --config, the file plays no part.
        let c = parse_from(["tracer"]).unwrap();
        assert_eq!(c.daemon.rotate_keep, crate::cli::DEFAULT_ROTATE_KEEP);
        let _ = std::fs::remove_file(&p);
    }

    #[test]
    fn file_values_are_validated_like_flags() {
        let p = write_config("bad-key", "rotate-everything = 1\n");
        let e = parse_from(["tracer".into(), "--config".into(), p.display().to_string()]).unwrap_err();
        assert!(e.to_string().contains("unknown setting 'rotate-everything'"), "{e}");
        let p2 = write_config("bad-value", "queue-size = \"12\"\n");
        let e = parse_from(["tracer".into(), "--config".into(), p2.display().to_string()]).unwrap_err();
        assert!(matches!(e, ConfigError::Clap(_)), "{e}");
        let p3 = write_config("bad-toml", "queue-size = \n");
        let e = parse_from(["tracer".into(), "--config".into(), p3.display().to_string()]).unwrap_err();
        assert!(matches!(e, ConfigError::File { .. }), "{e}");
        let e = parse_from(["tracer", "--config", "/nonexistent/tracer.toml"]).unwrap_err();
        assert!(e.to_string().starts_with("config /nonexistent/tracer.toml:"), "{e}");
        for p in [p, p2, p3] {
            let _ = std::fs::remove_file(p);
        }
    }
}
