//! What an integration is: its `component` and operation name, and the switch that turns it
//! off (`DD_TRACE_<INTEGRATION>_ENABLED`).

/// Names what an integration instruments: the `component` tag and the span's operation name.
///
/// ```
/// use ddtrace_core::Integration;
///
/// const AXUM: Integration = Integration::new("axum", "axum.request");
/// assert_eq!(AXUM.component(), "axum");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Integration {
    component: &'static str,
    operation_name: &'static str,
    grpc: bool,
}

impl Integration {
    /// `component` is the framework's name; `operation_name` is `<component>.request`.
    pub const fn new(component: &'static str, operation_name: &'static str) -> Self {
        Integration {
            component,
            operation_name,
            grpc: false,
        }
    }

    /// A gRPC server (`component` the library, `tonic`): its spans are named `grpc.server`,
    /// typed `grpc`, and named after the call's full method, with the gRPC tags and statuses
    /// of [`crate::grpc`] in place of the HTTP ones.
    ///
    /// ```
    /// use ddtrace_core::Integration;
    ///
    /// const TONIC: Integration = Integration::grpc_server("tonic");
    /// assert_eq!(TONIC.operation_name(), "grpc.server");
    /// assert!(TONIC.is_grpc());
    /// ```
    pub const fn grpc_server(component: &'static str) -> Self {
        Integration {
            component,
            operation_name: "grpc.server",
            grpc: true,
        }
    }

    /// Whether this integration serves gRPC ([`Integration::grpc_server`]).
    pub const fn is_grpc(&self) -> bool {
        self.grpc
    }

    /// The span type: `grpc` for a gRPC server, `web` otherwise.
    pub(crate) const fn span_type(&self) -> &'static str {
        if self.grpc {
            "grpc"
        } else {
            "web"
        }
    }

    /// The `component` tag.
    pub const fn component(&self) -> &'static str {
        self.component
    }

    /// The span's operation name.
    pub const fn operation_name(&self) -> &'static str {
        self.operation_name
    }
}

/// `DD_TRACE_<INTEGRATION>_ENABLED` (and Java's `DD_INTEGRATION_<INTEGRATION>_ENABLED`), the
/// name upper-cased with `-` and `.` as `_` (`DD_TRACE_ACTIX_WEB_ENABLED`) or dropped
/// (`DD_TRACE_ACTIXWEB_ENABLED`). Only `false` (or `0`) switches off; anything unreadable is
/// reported and ignored.
pub(super) fn integration_enabled(
    component: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> bool {
    let underscored: String = component
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    let joined: String = underscored.chars().filter(|c| *c != '_').collect();
    let names = [
        format!("DD_TRACE_{underscored}_ENABLED"),
        format!("DD_INTEGRATION_{underscored}_ENABLED"),
        format!("DD_TRACE_{joined}_ENABLED"),
    ];
    // The first spelling that is set decides; unreadable, it keeps tracing on.
    names
        .iter()
        .find(|name| lookup(name).is_some())
        .is_none_or(|name| crate::config::lookup_flag(&lookup, name, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_integration_switch_reads_datadogs_spellings() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert!(integration_enabled("actix-web", env(&[])));
        assert!(!integration_enabled(
            "actix-web",
            env(&[("DD_TRACE_ACTIX_WEB_ENABLED", "false")])
        ));
        assert!(!integration_enabled(
            "actix-web",
            env(&[("DD_TRACE_ACTIXWEB_ENABLED", "0")])
        ));
        assert!(!integration_enabled(
            "axum",
            env(&[("DD_INTEGRATION_AXUM_ENABLED", "false")])
        ));
        assert!(integration_enabled(
            "axum",
            env(&[("DD_TRACE_AXUM_ENABLED", "nope")])
        ));
        assert!(integration_enabled(
            "axum",
            env(&[("DD_TRACE_AXUM_ENABLED", "true")])
        ));
    }
}
