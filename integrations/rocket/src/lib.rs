//! # ddtrace-rocket
//!
//! Datadog APM tracing for [rocket](https://rocket.rs) 0.5: attach one fairing and every
//! request becomes a Datadog trace like those of Datadog's own tracers: operation
//! `rocket.request`, type `web`, resource `GET /users/<id>` from the matched route (mount base
//! included), the standard HTTP tags, errors, and the distributed context continued from the
//! caller.
//!
//! ```no_run
//! use ddtrace_rocket::{traced, DatadogFairing};
//! use rocket::{get, routes};
//!
//! #[get("/hello")]
//! fn hello() -> &'static str {
//!     "hello"
//! }
//!
//! #[rocket::main]
//! async fn main() -> Result<(), rocket::Error> {
//!     // Installs the Datadog pipeline from DD_* variables.
//!     let guard = ddtrace_core::init();
//!     let _ = rocket::build()
//!         .attach(DatadogFairing::new())
//!         .mount("/", traced(routes![hello]))
//!         .launch()
//!         .await?;
//!     guard.shutdown(); // flush every span
//!     Ok(())
//! }
//! ```
//!
//! ## Two pieces, and why
//!
//! * [`DatadogFairing`] starts the request span when the request arrives and ends it when the
//!   last byte of the response body has been sent (or the client went away). It alone gives
//!   every request its span, including those answered by catchers: `<METHOD> 404` when no
//!   route matched.
//! * A fairing cannot run code around a handler, so spans opened inside handlers would not
//!   know their parent. Mount routes through [`traced`] and each handler runs inside the
//!   request span's context: `#[instrument]` and OpenTelemetry spans become its children, and
//!   a handler panic is recorded (`error.type` `panic`, `error.message`) before rocket's
//!   catcher answers 500, exactly as it would without tracing.
//! * A handler error that rocket turns into a status: call [`ddtrace_core::record_error`] in
//!   your error type's `Responder` to put its type and message on the span.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod body;
mod fairing;
mod handler;
mod headers;
mod state;

pub use fairing::{DatadogFairing, DatadogFairingBuilder};
pub use handler::traced;
