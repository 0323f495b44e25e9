//! Errors and panics recorded on the request span.

use opentelemetry::trace::{Status, TraceContextExt};
use opentelemetry::{Context, KeyValue};
use std::any::Any;
use std::borrow::Cow;

/// An error to put on the request span as `error.type` and `error.message`.
///
/// ```
/// use ddtrace_core::ErrorInfo;
///
/// let err = std::io::Error::other("disk full");
/// let info = ErrorInfo::from_error(&err);
/// assert_eq!(info.error_type(), "std::io::error::Error");
/// assert_eq!(info.message(), "disk full");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorInfo {
    pub(crate) error_type: Cow<'static, str>,
    pub(crate) message: String,
}

/// An error message is cut to this many bytes.
pub(crate) const MAX_MESSAGE_LEN: usize = 4096;

impl ErrorInfo {
    /// An error with an explicit type name and message.
    pub fn new(error_type: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        let mut message = message.into();
        crate::header_tags::truncate(&mut message, MAX_MESSAGE_LEN);
        ErrorInfo {
            error_type: error_type.into(),
            message,
        }
    }

    /// Takes the type name of `E` and its `Display` text.
    pub fn from_error<E: std::error::Error + ?Sized>(error: &E) -> Self {
        Self::display(error)
    }

    /// The same for any value with a `Display` text: a service's or a body's error type need
    /// not be a `std::error::Error` (tower's `Infallible` or a boxed error).
    pub(crate) fn display<E: std::fmt::Display + ?Sized>(error: &E) -> Self {
        Self::new(std::any::type_name::<E>(), error.to_string())
    }

    /// Describes a panic payload (`&str` or `String` messages; anything else is unnamed).
    pub fn from_panic(payload: &(dyn Any + Send)) -> Self {
        let message = if let Some(s) = payload.downcast_ref::<&'static str>() {
            (*s).to_string()
        } else if let Some(s) = payload.downcast_ref::<String>() {
            s.clone()
        } else {
            "Box<dyn Any>".to_string()
        };
        Self::new("panic", message)
    }

    /// The `error.type` tag.
    pub fn error_type(&self) -> &str {
        &self.error_type
    }

    /// The `error.message` tag.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// The span attributes the Datadog pipeline maps to `error.type` / `error.message`.
pub(crate) fn error_attributes(info: ErrorInfo) -> [KeyValue; 3] {
    [
        KeyValue::new("datadog.error", 1_i64),
        KeyValue::new("datadog.error.type", info.error_type),
        KeyValue::new("datadog.error.msg", info.message),
    ]
}

/// Records `error` on the span of the request being handled, from anywhere inside its handler
/// (including an `IntoResponse` or `Responder` impl). Returns false outside a traced span.
///
/// It goes on the current span: the request span, or a child span the handler made current
/// with the OpenTelemetry API (then the error is where it happened). `error.type` and
/// `error.message` are set; whether the request span counts as an error then follows the
/// response status, as in Datadog's tracers: the Datadog pipeline marks a server span as an
/// error exactly when its status is in `DD_TRACE_HTTP_SERVER_ERROR_STATUSES` (default
/// `500-599`) and drops the error tags otherwise, so an error answered with a 404 is not an
/// error. A panic always is.
///
/// ```
/// // Outside a traced request there is nothing to record on.
/// assert!(!ddtrace_core::record_error(&std::fmt::Error));
/// ```
pub fn record_error<E: std::error::Error + ?Sized>(error: &E) -> bool {
    record_error_info(ErrorInfo::from_error(error))
}

/// Like [`record_error`], with an explicit [`ErrorInfo`].
pub fn record_error_info(info: ErrorInfo) -> bool {
    if let Some(current) = crate::native::Current::get() {
        current.trace.record_error(current.span_id, info);
        return true;
    }
    Context::map_current(|cx| {
        let span = cx.span();
        if !span.span_context().is_valid() {
            return false;
        }
        let description = info.message.clone();
        span.set_attributes(error_attributes(info));
        span.set_status(Status::error(description));
        true
    })
}
