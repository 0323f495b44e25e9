//! What the native pipeline reads from the environment, with Datadog's defaults.

use super::kept_text;
use crate::export::{Exporter, ExporterConfig};
use crate::propagation::PropagationConfig;
use crate::sampling::Sampler;
use crate::trace::TraceSettings;
use std::sync::Arc;

/// `DD_SERVICE` when unset, as dd-trace-rs names an unnamed service.
pub(crate) const DEFAULT_SERVICE: &str = "unnamed-rust-service";

pub(super) struct Env {
    service: String,
    env: Option<String>,
    version: Option<String>,
    tags: Vec<(String, String)>,
    url: String,
    stats: bool,
    propagation: PropagationConfig,
}

impl Env {
    pub(super) fn read(lookup: impl Fn(&str) -> Option<String>) -> Env {
        let non_empty = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let mut tags =
            non_empty("DD_TAGS").map_or_else(Vec::new, |t| crate::tags::parse_dd_tags(&t));
        let env = non_empty("DD_ENV").or_else(|| take_tag(&mut tags, "env"));
        let version = non_empty("DD_VERSION").or_else(|| take_tag(&mut tags, "version"));
        tags.retain(|(k, _)| k != "env" && k != "version");
        let url = non_empty("DD_TRACE_AGENT_URL").unwrap_or_else(|| {
            let host = non_empty("DD_AGENT_HOST").unwrap_or_else(|| "localhost".to_string());
            let port = non_empty("DD_TRACE_AGENT_PORT")
                .and_then(|p| p.parse::<u16>().ok())
                .unwrap_or(8126);
            // An IPv6 literal needs brackets in a URL.
            if host.contains(':') && !host.starts_with('[') {
                format!("http://[{host}]:{port}")
            } else {
                format!("http://{host}:{port}")
            }
        });
        let stats = non_empty("DD_TRACE_STATS_COMPUTATION_ENABLED")
            .and_then(|v| crate::config::parse_bool(&v))
            .unwrap_or(false);
        Env {
            service: non_empty("DD_SERVICE").unwrap_or_else(|| DEFAULT_SERVICE.to_string()),
            env,
            version,
            tags,
            url,
            stats,
            propagation: PropagationConfig::from_lookup(lookup),
        }
    }

    #[cfg(feature = "tracing-bridge")]
    pub(super) fn url(&self) -> &str {
        &self.url
    }

    pub(super) fn exporter_config(&self) -> ExporterConfig {
        ExporterConfig {
            url: self.url.clone(),
            service: self.service.clone(),
            env: self.env.clone(),
            version: self.version.clone(),
            stats: self.stats,
            ..ExporterConfig::default()
        }
    }

    pub(super) fn trace_settings(
        self,
        sampler: Arc<Sampler>,
        exporter: Arc<Exporter>,
    ) -> TraceSettings {
        TraceSettings {
            service: kept_text(&self.service),
            env: self.env.as_deref().map(kept_text),
            version: self.version.as_deref().map(kept_text),
            tags: self
                .tags
                .iter()
                .map(|(k, v)| (kept_text(k), kept_text(v)))
                .collect(),
            runtime_id: kept_text(&crate::ids::runtime_id()),
            propagation: self.propagation,
            sampler,
            sink: exporter,
        }
    }
}

fn take_tag(tags: &mut [(String, String)], key: &str) -> Option<String> {
    tags.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(pairs: &'static [(&'static str, &'static str)]) -> Env {
        Env::read(|n| {
            pairs
                .iter()
                .find(|(k, _)| *k == n)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn the_agent_url_and_its_parts() {
        assert_eq!(read(&[]).url, "http://localhost:8126");
        assert_eq!(
            read(&[("DD_AGENT_HOST", "agent"), ("DD_TRACE_AGENT_PORT", "9000")]).url,
            "http://agent:9000"
        );
        assert_eq!(read(&[("DD_AGENT_HOST", "::1")]).url, "http://[::1]:8126");
        assert_eq!(
            read(&[
                ("DD_TRACE_AGENT_URL", "unix:///var/run/datadog/apm.socket"),
                ("DD_AGENT_HOST", "x")
            ])
            .url,
            "unix:///var/run/datadog/apm.socket"
        );
        assert_eq!(
            read(&[("DD_TRACE_AGENT_PORT", "lots")]).url,
            "http://localhost:8126"
        );
    }

    #[test]
    fn service_env_version_and_tags() {
        let e = read(&[]);
        assert_eq!(
            (e.service.as_str(), e.env, e.version),
            (DEFAULT_SERVICE, None, None)
        );
        let e = read(&[
            ("DD_SERVICE", "shop"),
            ("DD_TAGS", "env:prod,team:core,version:3"),
            ("DD_VERSION", "4"),
        ]);
        assert_eq!(e.service, "shop");
        assert_eq!(
            (e.env.as_deref(), e.version.as_deref()),
            (Some("prod"), Some("4"))
        );
        assert_eq!(e.tags, [("team".to_string(), "core".to_string())]);
    }
}
