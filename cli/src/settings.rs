//! Connection settings: KAFKA_BOOTSTRAP, a profile of the config file, a properties file, -X and
//! -b, merged into the core's property names and checked against the clients a command uses.
//!
//! The config file (`$POLYKAFKA_CONFIG`, else `$XDG_CONFIG_HOME/polykafka/config.toml`, else
//! `~/.config/polykafka/config.toml`):
//!
//! ```toml
//! default = "local"
//! [profiles.local]
//! "bootstrap.servers" = "127.0.0.1:9092"
//! [profiles.prod]
//! "bootstrap.servers" = "kafka-1.example:9094"
//! "security.protocol" = "SASL_SSL"
//! "sasl.mechanism" = "SCRAM-SHA-512"
//! "sasl.username" = "me"
//! "sasl.password" = "..."
//! "schema.registry.url" = "https://registry.example"
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use polykafka::config::{self, Role};
use polykafka::{AdminConfig, ConsumerConfig, ProducerConfig};

use crate::args::{Connection, OutputArgs, OutputFormat};
use crate::output::{self, Failure};

/// Keys the CLI itself reads (not client properties).
const CLI_KEYS: &[&str] = &["schema.registry.url"];

/// Where a setting came from, for `settings` and for error messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    Environment,
    Profile(String),
    File(PathBuf),
    Flag,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Environment => write!(f, "KAFKA_BOOTSTRAP"),
            Source::Profile(p) => write!(f, "profile '{p}'"),
            Source::File(p) => write!(f, "{}", p.display()),
            Source::Flag => write!(f, "command line"),
        }
    }
}

/// The merged settings.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    /// Key (core name) -> (value, source).
    values: BTreeMap<String, (String, Source)>,
}

/// True for keys whose values are never printed.
pub fn is_secret(key: &str) -> bool {
    key.contains("password") || key.contains("jaas") || key.contains("token") || key.ends_with(".pem") && key.contains("key") || key.contains("secret")
}

impl Settings {
    /// Reads every source of `conn`.
    pub fn load(conn: &Connection) -> Result<Settings, Failure> {
        let mut s = Settings::default();
        if let Ok(b) = std::env::var("KAFKA_BOOTSTRAP") {
            if !b.trim().is_empty() {
                s.values.insert("bootstrap.servers".into(), (b, Source::Environment));
            }
        }
        if let Some((name, props)) = load_profile(conn.profile.as_deref())? {
            for (k, v) in props {
                s.put(&k, v, Source::Profile(name.clone()))?;
            }
        }
        if let Some(path) = &conn.properties_file {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Failure::Usage(format!("cannot read the properties file {}: {e}", path.display())))?;
            for (k, v) in parse_properties(&text) {
                s.put(&k, v, Source::File(path.clone()))?;
            }
        }
        for kv in &conn.properties {
            let (k, v) = kv
                .split_once('=')
                .ok_or_else(|| Failure::Usage(format!("-X {kv}: expected KEY=VALUE")))?;
            s.put(k.trim(), v.to_string(), Source::Flag)?;
        }
        if let Some(b) = &conn.brokers {
            s.values.insert("bootstrap.servers".into(), (b.clone(), Source::Flag));
        }
        Ok(s)
    }

    /// Adds a key under the core's name (librdkafka's names are translated). An unknown key is
    /// an error wherever it comes from (a typo in a profile would otherwise be silent).
    fn put(&mut self, key: &str, value: String, source: Source) -> Result<(), Failure> {
        let name = config::from_librdkafka(key).unwrap_or(key);
        let known = CLI_KEYS.contains(&name) || config::keys().iter().any(|(k, _)| *k == name);
        if !known {
            return Err(Failure::Usage(format!("unknown setting '{key}' (from {source}): not a property of the polykafka core")));
        }
        self.values.insert(name.to_string(), (value, source));
        Ok(())
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(|(v, _)| v.as_str())
    }

    pub fn bootstrap(&self) -> Result<&str, Failure> {
        self.get("bootstrap.servers").ok_or_else(|| {
            Failure::Usage(
                "no brokers: give -b HOST:PORT, set KAFKA_BOOTSTRAP, or name a profile with bootstrap.servers".into(),
            )
        })
    }

    /// Properties for a client of `role` (Common keys and that role's), plus `extra` (the
    /// command's own settings, which win). Keys explicitly given (-X, -F) that belong only to
    /// other roles are refused, so no setting is ignored silently; a profile's are skipped, as a
    /// profile serves every command.
    fn props(&self, roles: &[Role], extra: &[(&str, String)], command: &str) -> Result<Vec<(String, String)>, Failure> {
        self.bootstrap()?;
        let mut out: BTreeMap<String, String> = BTreeMap::new();
        for (k, (v, source)) in &self.values {
            if CLI_KEYS.contains(&k.as_str()) {
                continue;
            }
            let role = config::keys().iter().find(|(n, _)| n == k).map(|(_, r)| *r).unwrap_or(Role::Common);
            if role == Role::Common || roles.contains(&role) {
                out.insert(k.clone(), v.clone());
            } else if matches!(source, Source::Flag | Source::File(_)) {
                return Err(Failure::Usage(format!(
                    "setting '{k}' (from {source}) is a {} property: `{command}` does not use it",
                    if role == Role::Producer { "producer" } else { "consumer" }
                )));
            }
        }
        for (k, v) in extra {
            out.insert(k.to_string(), v.clone());
        }
        Ok(out.into_iter().collect())
    }

    pub fn admin(&self, command: &str) -> Result<AdminConfig, Failure> {
        AdminConfig::from_properties(self.props(&[], &[], command)?).map_err(Failure::Config)
    }

    /// Admin settings for a command that also runs a consumer or producer: their keys are
    /// allowed, and the admin client gets only the common ones.
    pub fn admin_beside(&self, roles: &[Role], command: &str) -> Result<AdminConfig, Failure> {
        self.props(roles, &[], command)?;
        let common: Vec<(String, String)> = self
            .values
            .iter()
            .filter(|(k, _)| config::keys().iter().any(|(n, r)| n == k && *r == Role::Common))
            .map(|(k, (v, _))| (k.clone(), v.clone()))
            .collect();
        AdminConfig::from_properties(common).map_err(Failure::Config)
    }

    pub fn producer(&self, extra: &[(&str, String)], command: &str) -> Result<ProducerConfig, Failure> {
        ProducerConfig::from_properties(self.props(&[Role::Producer], extra, command)?).map_err(Failure::Config)
    }

    pub fn consumer(&self, extra: &[(&str, String)], command: &str) -> Result<ConsumerConfig, Failure> {
        ConsumerConfig::from_properties(self.props(&[Role::Consumer], extra, command)?).map_err(Failure::Config)
    }

    /// The schema registry URL of the profile or -X, if any.
    pub fn registry_url(&self) -> Option<&str> {
        self.get("schema.registry.url")
    }

    /// Every setting with its source; secrets replaced.
    pub fn shown(&self) -> Vec<(String, String, String)> {
        self.values
            .iter()
            .map(|(k, (v, s))| (k.clone(), if is_secret(k) { "********".to_string() } else { v.clone() }, s.to_string()))
            .collect()
    }
}

/// The config file's path.
fn config_path() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("POLYKAFKA_CONFIG") {
        return Some(PathBuf::from(p));
    }
    if let Ok(x) = std::env::var("XDG_CONFIG_HOME") {
        if !x.is_empty() {
            return Some(Path::new(&x).join("polykafka/config.toml"));
        }
    }
    std::env::var("HOME").ok().map(|h| Path::new(&h).join(".config/polykafka/config.toml"))
}

/// The chosen profile's name and properties: `--profile`, else `$POLYKAFKA_PROFILE`, else the
/// file's `default`. A named profile that does not exist is an error; no file and no name is fine.
fn load_profile(flag: Option<&str>) -> Result<Option<(String, Vec<(String, String)>)>, Failure> {
    let env = std::env::var("POLYKAFKA_PROFILE").ok().filter(|s| !s.is_empty());
    let named = flag.map(str::to_string).or(env);
    let Some(path) = config_path() else {
        return match named {
            Some(n) => Err(Failure::Usage(format!("profile '{n}': no config file (set POLYKAFKA_CONFIG or HOME)"))),
            None => Ok(None),
        };
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && named.is_none() => return Ok(None),
        Err(e) => return Err(Failure::Usage(format!("cannot read the config file {}: {e}", path.display()))),
    };
    let doc: toml::Table =
        toml::from_str(&text).map_err(|e| Failure::Usage(format!("config file {}: {e}", path.display())))?;
    for key in doc.keys() {
        if key != "default" && key != "profiles" {
            return Err(Failure::Usage(format!("config file {}: unknown key '{key}' (expected `default` and [profiles.NAME])", path.display())));
        }
    }
    let default = match doc.get("default") {
        None => None,
        Some(toml::Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(Failure::Usage(format!("config file {}: `default` must be a profile name", path.display()))),
    };
    let Some(name) = named.or(default) else { return Ok(None) };
    let profile = doc
        .get("profiles")
        .and_then(|p| p.as_table())
        .and_then(|p| p.get(&name))
        .ok_or_else(|| Failure::Usage(format!("no profile '{name}' in {}", path.display())))?;
    let table = profile
        .as_table()
        .ok_or_else(|| Failure::Usage(format!("profile '{name}' in {} is not a table", path.display())))?;
    let mut props = Vec::new();
    for (k, v) in table {
        let v = match v {
            toml::Value::String(s) => s.clone(),
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            toml::Value::Float(f) => f.to_string(),
            _ => return Err(Failure::Usage(format!("profile '{name}': '{k}' must be a string, number or boolean"))),
        };
        props.push((k.clone(), v));
    }
    Ok(Some((name, props)))
}

/// Java properties: `key=value` or `key: value` lines, `#`/`!` comments, blank lines.
pub fn parse_properties(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        let cut = line.find(['=', ':']).unwrap_or(line.len());
        let (k, v) = line.split_at(cut);
        let v = v.get(1..).unwrap_or("");
        out.push((k.trim().to_string(), v.trim().to_string()));
    }
    out
}

/// `polykafka settings`.
pub fn show(conn: &Connection, out: OutputArgs) -> Result<(), Failure> {
    let s = Settings::load(conn)?;
    let rows = s.shown();
    match out.output {
        OutputFormat::Json => {
            let obj: serde_json::Map<String, serde_json::Value> =
                rows.into_iter().map(|(k, v, _)| (k, serde_json::Value::String(v))).collect();
            output::print_json(&serde_json::Value::Object(obj))
        }
        OutputFormat::Table => {
            let rows: Vec<Vec<String>> = rows.into_iter().map(|(k, v, s)| vec![k, v, s]).collect();
            output::print_table(&["KEY", "VALUE", "FROM"], rows, &[])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_files_parse_as_java_does() {
        let p = parse_properties("# c\n! c\nbootstrap.servers = a:1\nsasl.mechanism: PLAIN\n\nacks=all\nsasl.jaas.config=x y=\"z\";\n");
        assert_eq!(
            p,
            vec![
                ("bootstrap.servers".into(), "a:1".into()),
                ("sasl.mechanism".into(), "PLAIN".into()),
                ("acks".into(), "all".into()),
                ("sasl.jaas.config".into(), "x y=\"z\";".into()),
            ]
        );
    }

    #[test]
    fn secrets_are_recognised() {
        assert!(is_secret("sasl.password"));
        assert!(is_secret("sasl.jaas.config"));
        assert!(is_secret("sasl.oauthbearer.token"));
        assert!(is_secret("ssl.key.pem"));
        assert!(!is_secret("sasl.username"));
        assert!(!is_secret("bootstrap.servers"));
    }
}
