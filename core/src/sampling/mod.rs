//! Sampling the traces that start here, with libdatadog's `DatadogSampler`: the rules of
//! `DD_TRACE_SAMPLING_RULES` (and `DD_TRACE_SAMPLE_RATE` as a catch-all rule after them)
//! limited by `DD_TRACE_RATE_LIMIT`, then the agent's per-service rates, else keep.
//!
//! A trace continued from upstream keeps its decision: only a local root without one is
//! sampled.

mod span_data;

use crate::config::warn_env;
use libdd_sampling::{DatadogSampler, SamplingRule, SamplingRuleConfig};
use libdd_trace_utils::span::v04::SpanBytes;
use span_data::{Root, Tag, Tags};

/// The default `DD_TRACE_RATE_LIMIT`: traces per second kept by a matching rule.
const DEFAULT_RATE_LIMIT: i32 = 100;

/// The local sampler; cheap to share.
pub(crate) struct Sampler {
    inner: DatadogSampler,
    on_agent_rates: Box<dyn for<'a> Fn(&'a str) + Send + Sync>,
}

impl std::fmt::Debug for Sampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sampler").finish()
    }
}

/// The decision for one trace: its priority and the decision maker, and the tags of the
/// decision for the local root (`_dd.agent_psr`, `_dd.rule_psr`, `_dd.limit_psr`, `_dd.p.ksr`).
#[derive(Debug)]
pub(crate) struct Decision {
    pub priority: i32,
    pub mechanism: u8,
    pub meta: Vec<(&'static str, String)>,
    pub metrics: Vec<(&'static str, f64)>,
}

impl Sampler {
    /// Reads `DD_TRACE_SAMPLING_RULES`, `DD_TRACE_SAMPLE_RATE` and `DD_TRACE_RATE_LIMIT`
    /// through `lookup`; a malformed value is reported once and ignored.
    pub(crate) fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Sampler {
        let mut configs: Vec<SamplingRuleConfig> = Vec::new();
        if let Some(v) = lookup("DD_TRACE_SAMPLING_RULES").filter(|v| !v.trim().is_empty()) {
            match serde_json::from_str::<Vec<SamplingRuleConfig>>(&v) {
                Ok(rules) => configs.extend(rules),
                Err(e) => warn_env(
                    "DD_TRACE_SAMPLING_RULES",
                    &v,
                    &format!("not a JSON list of rules ({e}); sampling without rules"),
                ),
            }
        }
        if let Some(v) = lookup("DD_TRACE_SAMPLE_RATE").filter(|v| !v.trim().is_empty()) {
            match v.trim().parse::<f64>() {
                Ok(rate) if (0.0..=1.0).contains(&rate) => configs.push(SamplingRuleConfig {
                    sample_rate: rate,
                    ..SamplingRuleConfig::default()
                }),
                _ => warn_env(
                    "DD_TRACE_SAMPLE_RATE",
                    &v,
                    "expected a rate between 0 and 1; ignored",
                ),
            }
        }
        let mut limit = DEFAULT_RATE_LIMIT;
        if let Some(v) = lookup("DD_TRACE_RATE_LIMIT") {
            match v.trim().parse::<i32>() {
                Ok(n) if n >= 0 => limit = n,
                _ => warn_env(
                    "DD_TRACE_RATE_LIMIT",
                    &v,
                    "expected a count per second; using 100",
                ),
            }
        }
        let inner = DatadogSampler::new(SamplingRule::from_configs(configs), limit);
        let on_agent_rates = inner.on_agent_response();
        Sampler {
            inner,
            on_agent_rates,
        }
    }

    /// The agent's answer to a send (`{"rate_by_service": {...}}`): its rates apply to the
    /// traces sampled from now on.
    pub(crate) fn agent_rates(&self, body: &str) {
        (self.on_agent_rates)(body)
    }

    /// Samples the local root `root` of a trace that has no decision yet.
    pub(crate) fn sample(&self, root: &SpanBytes) -> Decision {
        let result = self.inner.sample(&Root(root));
        let priority = i32::from(result.get_priority().into_i8());
        let mechanism = result
            .get_trace_root_sampling_info()
            .as_ref()
            .map_or(0, |info| info.mechanism().into_u8());
        let mut decision = Decision {
            priority,
            mechanism,
            meta: Vec::new(),
            metrics: Vec::new(),
        };
        for tag in result.to_dd_sampling_tags(&Tags).unwrap_or_default() {
            match tag {
                // The decision maker and the priority are the trace's, set by the caller.
                Tag::Meta("_dd.p.dm", _) | Tag::Metric("_sampling_priority_v1", _) => {}
                Tag::Meta(key, value) => decision.meta.push((key, value)),
                Tag::Metric(key, value) => decision.metrics.push((key, value)),
            }
        }
        decision
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &'static str) -> libdd_tinybytes::BytesString {
        libdd_tinybytes::BytesString::from_static(s)
    }

    fn root(service: &'static str) -> SpanBytes {
        SpanBytes {
            service: text(service),
            name: text("axum.request"),
            resource: text("GET /"),
            trace_id: 0x1234_5678_9abc_def0,
            span_id: 1,
            ..Default::default()
        }
    }

    fn sampler(pairs: &'static [(&'static str, &'static str)]) -> Sampler {
        Sampler::from_lookup(|n| {
            pairs
                .iter()
                .find(|(k, _)| *k == n)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn no_rule_no_agent_rate_keeps_with_the_default_mechanism() {
        let d = sampler(&[]).sample(&root("shop"));
        assert_eq!((d.priority, d.mechanism), (1, 0));
        assert!(d.meta.is_empty() && d.metrics.is_empty(), "{d:?}");
    }

    #[test]
    fn rules_decide_with_mechanism_3_and_their_rate_tags() {
        let d =
            sampler(&[("DD_TRACE_SAMPLING_RULES", r#"[{"sample_rate":0}]"#)]).sample(&root("shop"));
        assert_eq!((d.priority, d.mechanism), (-1, 3));
        assert!(d.metrics.contains(&("_dd.rule_psr", 0.0)), "{d:?}");
        let d = sampler(&[(
            "DD_TRACE_SAMPLING_RULES",
            r#"[{"sample_rate":1,"service":"shop"}]"#,
        )])
        .sample(&root("shop"));
        assert_eq!((d.priority, d.mechanism), (2, 3));
        assert!(d.metrics.contains(&("_dd.limit_psr", 1.0)), "{d:?}");
        let d = sampler(&[(
            "DD_TRACE_SAMPLING_RULES",
            r#"[{"sample_rate":0,"service":"other"}]"#,
        )])
        .sample(&root("shop"));
        assert_eq!((d.priority, d.mechanism), (1, 0));
    }

    #[test]
    fn sample_rate_is_a_catch_all_rule_after_the_rules() {
        let s = sampler(&[
            (
                "DD_TRACE_SAMPLING_RULES",
                r#"[{"sample_rate":1,"service":"shop"}]"#,
            ),
            ("DD_TRACE_SAMPLE_RATE", "0"),
        ]);
        assert_eq!(s.sample(&root("shop")).priority, 2);
        assert_eq!(s.sample(&root("other")).priority, -1);
    }

    #[test]
    fn agent_rates_apply_to_later_traces() {
        let s = sampler(&[]);
        s.agent_rates(r#"{"rate_by_service":{"service:shop,env:":0.0,"service:,env:":1.0}}"#);
        let d = s.sample(&root("shop"));
        assert_eq!((d.priority, d.mechanism), (0, 1));
        assert!(d.metrics.contains(&("_dd.agent_psr", 0.0)), "{d:?}");
    }

    #[test]
    fn malformed_settings_are_ignored() {
        let s = sampler(&[
            ("DD_TRACE_SAMPLING_RULES", "[{"),
            ("DD_TRACE_SAMPLE_RATE", "2"),
            ("DD_TRACE_RATE_LIMIT", "lots"),
        ]);
        assert_eq!(s.sample(&root("shop")).priority, 1);
    }
}
