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
use smallvec::SmallVec;
use span_data::Root;
#[cfg(test)]
use span_data::{Tag, Tags};
use std::borrow::Cow;

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
/// Held inline: deciding allocates nothing for the rates every trace repeats.
#[derive(Debug)]
pub(crate) struct Decision {
    pub priority: i32,
    pub mechanism: u8,
    /// `_dd.p.ksr`, the kept rate, propagated with the trace.
    pub ksr: Option<Cow<'static, str>>,
    pub metrics: SmallVec<[(&'static str, f64); 2]>,
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
        let mut decision = Decision {
            priority: i32::from(result.get_priority().into_i8()),
            mechanism: 0,
            ksr: None,
            metrics: SmallVec::new(),
        };
        let Some(info) = result.get_trace_root_sampling_info() else {
            return decision;
        };
        // The tags libdatadog's `to_dd_sampling_tags` lists, without its list and strings.
        decision.mechanism = info.mechanism().into_u8();
        if let Some(limit) = info.rl_effective_rate() {
            decision.metrics.push(("_dd.limit_psr", limit));
        }
        let rate_tag = match decision.mechanism {
            AGENT_RATE => Some("_dd.agent_psr"),
            LOCAL_RULE | REMOTE_USER_RULE | REMOTE_DYNAMIC_RULE => Some("_dd.rule_psr"),
            _ => None,
        };
        if let Some(tag) = rate_tag {
            decision.metrics.push((tag, info.rate()));
            decision.ksr = kept_rate(info.rate());
        }
        decision
    }
}

/// Mechanisms whose rate is tagged (`libdd_sampling::mechanism`).
const AGENT_RATE: u8 = 1;
const LOCAL_RULE: u8 = 3;
const REMOTE_USER_RULE: u8 = 11;
const REMOTE_DYNAMIC_RULE: u8 = 12;

/// `_dd.p.ksr`: the rate with at most six decimals and no trailing zeros. Every trace sampled
/// by the agent's rate or a rule carries it, so it is static text: written out for 1 and 0 (the
/// rates most traces carry), and for any other rate formatted once per thread while the rate
/// lasts (the agent's rates change every few seconds at most; a thread remembers the last few,
/// as traces of several services, or rules, can take turns) and kept for the process.
fn kept_rate(rate: f64) -> Option<Cow<'static, str>> {
    if rate.is_nan() || !(0.0..=1.0).contains(&rate) {
        return None;
    }
    if rate == 1.0 {
        return Some(Cow::Borrowed("1"));
    }
    if rate == 0.0 {
        return Some(Cow::Borrowed("0"));
    }
    const REMEMBERED: usize = 4;
    type Recent = [Option<(u64, &'static str)>; REMEMBERED];
    thread_local! {
        static RECENT: std::cell::Cell<(Recent, usize)> =
            const { std::cell::Cell::new(([None; REMEMBERED], 0)) };
    }
    let bits = rate.to_bits();
    let recent = RECENT.try_with(std::cell::Cell::get).ok();
    if let Some((rates, _)) = recent {
        if let Some((_, text)) = rates.iter().flatten().find(|(b, _)| *b == bits) {
            return Some(Cow::Borrowed(text));
        }
    }
    let formatted = format!("{rate:.6}");
    let text = formatted.trim_end_matches('0').trim_end_matches('.');
    Some(match crate::native::kept_str(text) {
        Some(kept) => {
            if let Some((mut rates, next)) = recent {
                rates[next % REMEMBERED] = Some((bits, kept));
                let _ = RECENT.try_with(|r| r.set((rates, next + 1)));
            }
            Cow::Borrowed(kept)
        }
        None => Cow::Owned(text.to_string()),
    })
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
        assert!(d.ksr.is_none() && d.metrics.is_empty(), "{d:?}");
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

    /// The decision's tags are the ones libdatadog's own `to_dd_sampling_tags` lists.
    #[test]
    fn the_tags_are_libdatadogs() {
        let cases: [&[(&str, &str)]; 6] = [
            &[],
            &[("DD_TRACE_SAMPLING_RULES", r#"[{"sample_rate":0}]"#)],
            &[("DD_TRACE_SAMPLING_RULES", r#"[{"sample_rate":1}]"#)],
            &[("DD_TRACE_SAMPLE_RATE", "0.25")],
            &[("DD_TRACE_SAMPLE_RATE", "0.1234567")],
            &[("DD_TRACE_SAMPLE_RATE", "1"), ("DD_TRACE_RATE_LIMIT", "0")],
        ];
        let agent = [None, Some(1.0), Some(0.5), Some(0.0)];
        for (pairs, agent) in cases
            .iter()
            .flat_map(|c| agent.iter().map(move |a| (*c, *a)))
        {
            let owned: Vec<(String, String)> = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            let s = Sampler::from_lookup(|n| {
                owned.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone())
            });
            if let Some(rate) = agent {
                s.agent_rates(&format!(
                    r#"{{"rate_by_service":{{"service:,env:":{rate}}}}}"#
                ));
            }
            let span = root("shop");
            let ours = s.sample(&span);
            // A fresh sampler with the same settings decides the same way.
            let reference = Sampler::from_lookup(|n| {
                owned.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone())
            });
            if let Some(rate) = agent {
                reference.agent_rates(&format!(
                    r#"{{"rate_by_service":{{"service:,env:":{rate}}}}}"#
                ));
            }
            let result = reference.inner.sample(&Root(&span));
            let mut meta = Vec::new();
            let mut metrics = Vec::new();
            for tag in result.to_dd_sampling_tags(&Tags).unwrap_or_default() {
                match tag {
                    Tag::Meta("_dd.p.dm", dm) => assert_eq!(dm, format!("-{}", ours.mechanism)),
                    Tag::Metric("_sampling_priority_v1", p) => {
                        assert_eq!(p, f64::from(ours.priority))
                    }
                    Tag::Meta(key, value) => meta.push((key, value)),
                    Tag::Metric(key, value) => metrics.push((key, value)),
                }
            }
            let case = format!("{pairs:?} agent {agent:?}");
            assert_eq!(ours.metrics.to_vec(), metrics, "{case}");
            let ksr: Vec<(&str, String)> = ours
                .ksr
                .iter()
                .map(|k| ("_dd.p.ksr", k.to_string()))
                .collect();
            assert_eq!(ksr, meta, "{case}");
        }
    }

    #[test]
    fn the_kept_rate_is_static_text_formatted_as_datadogs_tracers_do() {
        let cases = [
            (1.0, "1"),
            (0.0, "0"),
            (0.5, "0.5"),
            (0.1234567, "0.123457"),
            (0.0000001, "0"),
            (0.00000051, "0.000001"),
        ];
        for (rate, text) in cases {
            for _ in 0..2 {
                // Twice: the second time from the rates the thread remembers.
                match kept_rate(rate) {
                    Some(Cow::Borrowed(kept)) => assert_eq!(kept, text, "{rate}"),
                    other => panic!("{rate}: {other:?}"),
                }
            }
        }
        // Rates that take turns, more of them than a thread remembers, are each the right
        // text, and the same kept text each time.
        let turns = [0.25, 0.5, 0.75, 0.125, 0.0625, 0.25, 0.5];
        let texts = ["0.25", "0.5", "0.75", "0.125", "0.0625", "0.25", "0.5"];
        for (rate, text) in turns.iter().zip(texts) {
            assert_eq!(kept_rate(*rate).as_deref(), Some(text));
        }
        let first = kept_rate(0.75).map(|t| t.as_ptr());
        assert_eq!(kept_rate(0.75).map(|t| t.as_ptr()), first);
        assert_eq!(kept_rate(1.5), None);
        assert_eq!(kept_rate(f64::NAN), None);
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
