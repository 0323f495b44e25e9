//! What the engine extracts and injects, from `DD_TRACE_PROPAGATION_*`, `DD_TRACE_BAGGAGE_*`
//! and `DD_TRACE_128_BIT_TRACEID_GENERATION_ENABLED`.

use crate::config::{parse_bool, warn_env};

/// One propagation format.
///
/// ```
/// use ddtrace_core::propagation::Style;
///
/// assert_eq!(Style::parse(" B3Multi "), Some(Style::B3Multi));
/// assert_eq!(Style::TraceContext.name(), "tracecontext");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Style {
    /// `x-datadog-trace-id`, `x-datadog-parent-id`, `x-datadog-sampling-priority`,
    /// `x-datadog-origin` and `x-datadog-tags`.
    Datadog,
    /// W3C Trace Context: `traceparent` and `tracestate`.
    TraceContext,
    /// B3 multiple headers: `x-b3-traceid`, `x-b3-spanid`, `x-b3-sampled`, `x-b3-flags`.
    B3Multi,
    /// B3 single header: `b3`.
    B3,
    /// W3C Baggage: `baggage`.
    Baggage,
}

impl Style {
    /// The style's name as `DD_TRACE_PROPAGATION_STYLE` spells it (any case, surrounding
    /// whitespace ignored); `None` for an unknown name and for `none`.
    pub fn parse(name: &str) -> Option<Style> {
        let name = name.trim();
        [
            Style::Datadog,
            Style::TraceContext,
            Style::B3Multi,
            Style::B3,
            Style::Baggage,
        ]
        .into_iter()
        .find(|s| s.name().eq_ignore_ascii_case(name))
    }

    /// The lower-case name, as span links' `context_headers` attribute carries it.
    pub const fn name(self) -> &'static str {
        match self {
            Style::Datadog => "datadog",
            Style::TraceContext => "tracecontext",
            Style::B3Multi => "b3multi",
            Style::B3 => "b3",
            Style::Baggage => "baggage",
        }
    }
}

/// What to do with an incoming trace context (`DD_TRACE_PROPAGATION_BEHAVIOR_EXTRACT`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ExtractBehavior {
    /// Continue the incoming trace (the default).
    #[default]
    Continue,
    /// Start a new trace with a span link to the incoming one; baggage is kept.
    Restart,
    /// Start a new trace; the incoming context and baggage are ignored.
    Ignore,
}

/// The propagation engine's configuration.
///
/// ```
/// use ddtrace_core::propagation::{PropagationConfig, Style};
///
/// let config = PropagationConfig::from_lookup(|name| match name {
///     "DD_TRACE_PROPAGATION_STYLE" => Some("tracecontext,datadog".into()),
///     _ => None,
/// });
/// assert_eq!(config.extract_styles(), [Style::TraceContext, Style::Datadog]);
/// assert!(!config.extracts_baggage());
/// ```
#[derive(Clone, Debug)]
pub struct PropagationConfig {
    pub(crate) extract: Vec<Style>,
    pub(crate) inject: Vec<Style>,
    pub(crate) extract_first: bool,
    pub(crate) behavior: ExtractBehavior,
    pub(crate) x_datadog_tags_max_length: usize,
    pub(crate) generate_128_bit: bool,
    pub(crate) baggage_max_items: usize,
    pub(crate) baggage_max_bytes: usize,
    pub(crate) baggage_tag_keys: BaggageTagKeys,
}

/// Which extracted baggage keys become `baggage.<key>` tags on the local root span.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum BaggageTagKeys {
    All,
    Only(Vec<Box<str>>),
}

impl BaggageTagKeys {
    fn parse(value: &str) -> Self {
        let keys: Vec<Box<str>> = value
            .split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(Box::from)
            .collect();
        if keys.iter().any(|k| &**k == "*") {
            BaggageTagKeys::All
        } else {
            BaggageTagKeys::Only(keys)
        }
    }

    pub(crate) fn contains(&self, key: &str) -> bool {
        match self {
            BaggageTagKeys::All => true,
            BaggageTagKeys::Only(keys) => keys.iter().any(|k| &**k == key),
        }
    }
}

const DEFAULT_STYLES: [Style; 3] = [Style::Datadog, Style::TraceContext, Style::Baggage];

impl Default for PropagationConfig {
    fn default() -> Self {
        PropagationConfig {
            extract: DEFAULT_STYLES.to_vec(),
            inject: DEFAULT_STYLES.to_vec(),
            extract_first: false,
            behavior: ExtractBehavior::Continue,
            x_datadog_tags_max_length: 512,
            generate_128_bit: true,
            baggage_max_items: 64,
            baggage_max_bytes: 8192,
            baggage_tag_keys: BaggageTagKeys::parse("user.id,account.id,session.id"),
        }
    }
}

impl PropagationConfig {
    /// Reads the process environment; see [`PropagationConfig::from_lookup`].
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup` (a variable's value, or `None` when unset).
    ///
    /// - `DD_TRACE_PROPAGATION_STYLE` (default `datadog,tracecontext,baggage`), overridden for
    ///   one direction by `DD_TRACE_PROPAGATION_STYLE_EXTRACT` / `_INJECT`: comma-separated,
    ///   any case; `none` and empty items are skipped, unknown names are skipped with a
    ///   warning, an empty value means no style;
    /// - `DD_TRACE_PROPAGATION_EXTRACT_FIRST` (default `false`): stop at the first configured
    ///   style instead of merging every style's context;
    /// - `DD_TRACE_PROPAGATION_BEHAVIOR_EXTRACT`: `continue` (default), `restart`, `ignore`;
    /// - `DD_TRACE_X_DATADOG_TAGS_MAX_LENGTH` (default 512; 0 disables `x-datadog-tags`);
    /// - `DD_TRACE_128_BIT_TRACEID_GENERATION_ENABLED` (default `true`);
    /// - `DD_TRACE_BAGGAGE_MAX_ITEMS` (64), `DD_TRACE_BAGGAGE_MAX_BYTES` (8192);
    /// - `DD_TRACE_BAGGAGE_TAG_KEYS` (default `user.id,account.id,session.id`; `*` for all).
    ///
    /// A malformed value is reported once, as a `ddtrace` warning, and its default is used.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let mut config = PropagationConfig::default();
        let both =
            lookup("DD_TRACE_PROPAGATION_STYLE").map(|v| styles("DD_TRACE_PROPAGATION_STYLE", &v));
        let one = |name: &str| lookup(name).map(|v| styles(name, &v));
        if let Some(extract) = one("DD_TRACE_PROPAGATION_STYLE_EXTRACT").or_else(|| both.clone()) {
            config.extract = extract;
        }
        if let Some(inject) = one("DD_TRACE_PROPAGATION_STYLE_INJECT").or(both) {
            config.inject = inject;
        }
        if let Some(v) = lookup("DD_TRACE_PROPAGATION_EXTRACT_FIRST") {
            match parse_bool(&v) {
                Some(b) => config.extract_first = b,
                None => warn_env(
                    "DD_TRACE_PROPAGATION_EXTRACT_FIRST",
                    &v,
                    "not a boolean; using false",
                ),
            }
        }
        if let Some(v) = lookup("DD_TRACE_PROPAGATION_BEHAVIOR_EXTRACT") {
            match v.trim().to_ascii_lowercase().as_str() {
                "continue" | "" => config.behavior = ExtractBehavior::Continue,
                "restart" => config.behavior = ExtractBehavior::Restart,
                "ignore" => config.behavior = ExtractBehavior::Ignore,
                _ => warn_env(
                    "DD_TRACE_PROPAGATION_BEHAVIOR_EXTRACT",
                    &v,
                    "expected continue, restart or ignore; using continue",
                ),
            }
        }
        if let Some(v) = lookup("DD_TRACE_X_DATADOG_TAGS_MAX_LENGTH") {
            match v.trim().parse::<i64>() {
                // Negative lengths disable the header, as in Datadog's tracers.
                Ok(n) => config.x_datadog_tags_max_length = n.clamp(0, 1 << 20) as usize,
                Err(_) => warn_env(
                    "DD_TRACE_X_DATADOG_TAGS_MAX_LENGTH",
                    &v,
                    "not an integer; using 512",
                ),
            }
        }
        if let Some(v) = lookup("DD_TRACE_128_BIT_TRACEID_GENERATION_ENABLED") {
            match parse_bool(&v) {
                Some(b) => config.generate_128_bit = b,
                None => warn_env(
                    "DD_TRACE_128_BIT_TRACEID_GENERATION_ENABLED",
                    &v,
                    "not a boolean; using true",
                ),
            }
        }
        for (name, slot, default) in [
            (
                "DD_TRACE_BAGGAGE_MAX_ITEMS",
                &mut config.baggage_max_items,
                64,
            ),
            (
                "DD_TRACE_BAGGAGE_MAX_BYTES",
                &mut config.baggage_max_bytes,
                8192,
            ),
        ] {
            if let Some(v) = lookup(name) {
                match v.trim().parse::<usize>() {
                    Ok(n) => *slot = n,
                    Err(_) => warn_env(name, &v, &format!("not a count; using {default}")),
                }
            }
        }
        if let Some(v) = lookup("DD_TRACE_BAGGAGE_TAG_KEYS") {
            config.baggage_tag_keys = BaggageTagKeys::parse(&v);
        }
        config
    }

    /// The styles read from incoming requests, in the order they are tried.
    pub fn extract_styles(&self) -> &[Style] {
        &self.extract
    }

    /// The styles written into outgoing requests.
    pub fn inject_styles(&self) -> &[Style] {
        &self.inject
    }

    /// Whether incoming `baggage` is read.
    pub fn extracts_baggage(&self) -> bool {
        self.extract.contains(&Style::Baggage)
    }

    /// What is done with an incoming trace context.
    pub fn extract_behavior(&self) -> ExtractBehavior {
        self.behavior
    }

    /// Whether new trace ids are 128-bit.
    pub fn generates_128_bit_trace_ids(&self) -> bool {
        self.generate_128_bit
    }

    /// Sets the styles used in both directions.
    pub fn with_styles(mut self, styles: &[Style]) -> Self {
        self.extract = styles.to_vec();
        self.inject = styles.to_vec();
        self
    }

    /// Sets what is done with an incoming trace context.
    pub fn with_extract_behavior(mut self, behavior: ExtractBehavior) -> Self {
        self.behavior = behavior;
        self
    }

    pub(crate) fn injects(&self, style: Style) -> bool {
        self.inject.contains(&style)
    }
}

/// Parses a style list: case-insensitive names, `none` and empty items skipped, unknown names
/// skipped with one warning, duplicates kept once.
fn styles(name: &str, value: &str) -> Vec<Style> {
    let mut out = Vec::new();
    for item in value.split(',').map(str::trim) {
        if item.is_empty() || item.eq_ignore_ascii_case("none") {
            continue;
        }
        match Style::parse(item) {
            Some(style) if !out.contains(&style) => out.push(style),
            Some(_) => {}
            None => warn_env(
                name,
                value,
                "unknown style skipped (known: datadog, tracecontext, b3multi, b3, baggage, none)",
            ),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn styles_follow_datadog_parsing() {
        let c = PropagationConfig::from_lookup(lookup(&[(
            "DD_TRACE_PROPAGATION_STYLE",
            "none, Datadog,,B3MULTI,bogus",
        )]));
        assert_eq!(c.extract, [Style::Datadog, Style::B3Multi]);
        assert_eq!(c.inject, [Style::Datadog, Style::B3Multi]);
        let c = PropagationConfig::from_lookup(lookup(&[("DD_TRACE_PROPAGATION_STYLE", "")]));
        assert!(c.extract.is_empty() && c.inject.is_empty());
        let c = PropagationConfig::from_lookup(lookup(&[
            ("DD_TRACE_PROPAGATION_STYLE", "datadog"),
            ("DD_TRACE_PROPAGATION_STYLE_INJECT", "tracecontext"),
        ]));
        assert_eq!(
            (c.extract.as_slice(), c.inject.as_slice()),
            (&[Style::Datadog][..], &[Style::TraceContext][..])
        );
    }

    #[test]
    fn malformed_values_keep_their_defaults() {
        let c = PropagationConfig::from_lookup(lookup(&[
            ("DD_TRACE_PROPAGATION_BEHAVIOR_EXTRACT", "sometimes"),
            ("DD_TRACE_X_DATADOG_TAGS_MAX_LENGTH", "lots"),
            ("DD_TRACE_128_BIT_TRACEID_GENERATION_ENABLED", "maybe"),
            ("DD_TRACE_BAGGAGE_MAX_ITEMS", "-3"),
        ]));
        assert_eq!(c.behavior, ExtractBehavior::Continue);
        assert_eq!(c.x_datadog_tags_max_length, 512);
        assert!(c.generate_128_bit);
        assert_eq!(c.baggage_max_items, 64);
        let c =
            PropagationConfig::from_lookup(lookup(&[("DD_TRACE_X_DATADOG_TAGS_MAX_LENGTH", "-5")]));
        assert_eq!(c.x_datadog_tags_max_length, 0);
    }

    #[test]
    fn baggage_tag_keys() {
        assert!(BaggageTagKeys::parse("*").contains("anything"));
        let keys = BaggageTagKeys::parse("account.id,,feature*flag");
        assert!(keys.contains("account.id") && keys.contains("feature*flag"));
        assert!(!keys.contains("user.id") && !keys.contains(""));
        assert!(!BaggageTagKeys::parse("").contains("user.id"));
    }
}
