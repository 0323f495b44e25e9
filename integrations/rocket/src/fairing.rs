use crate::body::TracedReader;
use crate::headers::RocketHeaders;
use crate::state::SpanState;
use ddtrace_core::{Config, ConfigBuilder, Integration, RequestInfo, RequestTracer};
use rocket::fairing::{Fairing, Info, Kind};
use rocket::{Data, Request, Response};
use std::sync::Mutex;

/// The integration's name in `component` and its operation name.
pub(crate) const ROCKET: Integration = Integration::new("rocket", "rocket.request");

/// Builds a [`DatadogFairing`]: the same options as every integration, each overriding its
/// `DD_*` variable; `build()` reports the first invalid value.
#[doc = ddtrace_core::builder_options_doc!()]
pub type DatadogFairingBuilder = ConfigBuilder<DatadogFairing>;

/// A fairing that traces every request to Datadog.
///
/// Attach it, and mount routes through [`traced`](crate::traced) so handlers run inside the
/// request span (their `#[instrument]` spans become its children, and panics are recorded):
///
/// ```no_run
/// use ddtrace_rocket::{traced, DatadogFairing};
/// use rocket::{get, routes};
///
/// #[get("/users/<id>")]
/// fn user(id: u32) -> String {
///     format!("user {id}")
/// }
///
/// #[rocket::main]
/// async fn main() -> Result<(), rocket::Error> {
///     let guard = ddtrace_core::init();
///     let _ = rocket::build()
///         .attach(DatadogFairing::new())
///         .mount("/", traced(routes![user]))
///         .launch()
///         .await?;
///     guard.shutdown();
///     Ok(())
/// }
/// ```
#[derive(Debug)]
pub struct DatadogFairing {
    tracer: RequestTracer,
}

impl DatadogFairing {
    /// A fairing configured from the `DD_*` environment.
    pub fn new() -> Self {
        Self::with_config(Config::from_env())
    }

    /// A fairing with a configuration built elsewhere.
    pub fn with_config(config: Config) -> Self {
        DatadogFairing {
            tracer: RequestTracer::new(ROCKET, config),
        }
    }

    /// Starts a builder from the environment, to override settings in code.
    ///
    /// ```
    /// use ddtrace_rocket::DatadogFairing;
    ///
    /// let fairing = DatadogFairing::builder()
    ///     .service("shop-api")
    ///     .tags("env:staging, app:shop")
    ///     .build()
    ///     .unwrap();
    /// # let _ = fairing;
    /// assert!(DatadogFairing::builder().tags("no-colon").build().is_err());
    /// ```
    pub fn builder() -> DatadogFairingBuilder {
        Config::builder().map(DatadogFairing::with_config)
    }
}

impl Default for DatadogFairing {
    fn default() -> Self {
        Self::new()
    }
}

#[rocket::async_trait]
impl Fairing for DatadogFairing {
    fn info(&self) -> Info {
        Info {
            name: "Datadog tracing",
            kind: Kind::Request | Kind::Response,
        }
    }

    async fn on_request(&self, req: &mut Request<'_>, _: &mut Data<'_>) {
        let uri = req.uri();
        let headers = RocketHeaders(req.headers());
        let info = RequestInfo::new(
            req.method().as_str(),
            uri.path().as_str(),
            uri.query().map(|q| q.as_str()),
            &headers,
        )
        .peer_ip(req.remote().map(|a| a.ip()));
        let span = self.tracer.start(info);
        let handle = span.handle();
        req.local_cache(move || SpanState {
            span: Mutex::new(Some(span)),
            handle,
        });
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        let Some(mut span) = SpanState::of(req).take() else {
            return;
        };
        if let Some(route) = req.route() {
            // The route's full URI (mount base included), without its query part.
            let uri = route.uri.as_str();
            span.set_route(uri.split('?').next().unwrap_or(uri));
        }
        span.record_status(res.status().code, &RocketHeaders(res.headers()));
        if res.body().is_none() {
            span.finish();
            return;
        }
        // Sized bodies stay sized (same content-length); the span ends with the last byte.
        let size = res.body_mut().size().await;
        let max_chunk = res.body().max_chunk_size();
        let body = res.body_mut().take();
        match size {
            Some(size) => res.set_sized_body(size, TracedReader::new(body, span)),
            None => res.set_streamed_body(TracedReader::new(body, span)),
        }
        res.set_max_chunk_size(max_chunk);
    }
}
