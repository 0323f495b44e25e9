//! Errors and panics recorded on the request span.

use opentelemetry::Context;
use std::any::Any;
use std::borrow::Cow;
use std::sync::{Arc, Mutex};

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
const MAX_MESSAGE_LEN: usize = 4096;

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

/// Where a handler's error reaches the request span through the context it runs in.
#[derive(Clone, Debug, Default)]
pub(crate) struct ErrorSlot(Arc<Mutex<Option<ErrorInfo>>>);

impl ErrorSlot {
    pub(crate) fn take(&self) -> Option<ErrorInfo> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    fn set(&self, info: ErrorInfo) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_or_insert(info);
    }
}

/// Records `error` on the server span of the request being handled, from anywhere inside its
/// handler (including an `IntoResponse` impl). Returns false outside a traced request.
///
/// The first error recorded for a request is kept as `error.type` and `error.message` on the
/// server span. Whether the span counts as an error then follows the response status, as in
/// Datadog's tracers: the Datadog pipeline marks a server span as an error exactly when its
/// status is in `DD_TRACE_HTTP_SERVER_ERROR_STATUSES` (default `500-599`) and drops the error
/// tags otherwise, so an error answered with a 404 is not an error. A panic always is.
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
    Context::map_current(|cx| match cx.get::<ErrorSlot>() {
        Some(slot) => {
            slot.set(info);
            true
        }
        None => false,
    })
}
