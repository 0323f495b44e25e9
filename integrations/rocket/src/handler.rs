use crate::state::SpanState;
use futures_util::FutureExt;
use rocket::route::{Handler, Outcome};
use rocket::{Data, Request, Route};
use std::panic::{resume_unwind, AssertUnwindSafe};

/// Wraps each route's handler so it runs inside the request span's context: spans the handler
/// opens (`#[instrument]`, `tracing::info_span!`, the OpenTelemetry API) become children of
/// the request span, and a panic is recorded on it before rocket turns it into a 500.
///
/// Fairings cannot wrap a handler's future; wrapping the routes when mounting them is the
/// smallest change that can, and it changes nothing else about the routes.
///
/// ```
/// use ddtrace_rocket::traced;
/// use rocket::{get, routes};
///
/// #[get("/")]
/// fn index() -> &'static str {
///     "hello"
/// }
///
/// let routes = traced(routes![index]);
/// assert_eq!(routes[0].uri.as_str(), "/");
/// ```
pub fn traced(routes: Vec<Route>) -> Vec<Route> {
    routes
        .into_iter()
        .map(|mut route| {
            route.handler = Box::new(TracedHandler(route.handler));
            route
        })
        .collect()
}

#[derive(Clone)]
struct TracedHandler(Box<dyn Handler>);

#[rocket::async_trait]
impl Handler for TracedHandler {
    async fn handle<'r>(&self, req: &'r Request<'_>, data: Data<'r>) -> Outcome<'r> {
        let state = SpanState::of(req);
        let handled = AssertUnwindSafe(state.handle.wrap(self.0.handle(req, data)))
            .catch_unwind()
            .await;
        match handled {
            Ok(outcome) => outcome,
            Err(payload) => {
                // rocket catches this panic and answers 500; the fairing then ends the span.
                state.with_span(|span| span.record_panic(&*payload));
                resume_unwind(payload)
            }
        }
    }
}
