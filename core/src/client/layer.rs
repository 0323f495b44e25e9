//! A tower layer that gives every request an `http` 1 client sends a client span: for
//! hyper-util's client and any `Service<http::Request<B>>`.

use super::{ClientConfig, ClientSpan};
use crate::ErrorInfo;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// Wraps an `http` 1 client service: each request gets a client span, a child of the span
/// current when it is sent, with the trace context injected from it.
///
/// ```
/// use ddtrace_core::ClientLayer;
/// use tower_layer::Layer;
///
/// # #[derive(Clone)]
/// # struct Client;
/// # impl tower_service::Service<http::Request<String>> for Client {
/// #     type Response = http::Response<String>;
/// #     type Error = std::io::Error;
/// #     type Future = std::future::Ready<Result<http::Response<String>, std::io::Error>>;
/// #     fn poll_ready(&mut self, _: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Self::Error>> {
/// #         std::task::Poll::Ready(Ok(()))
/// #     }
/// #     fn call(&mut self, _: http::Request<String>) -> Self::Future {
/// #         std::future::ready(Ok(http::Response::new(String::new())))
/// #     }
/// # }
/// // `Client`: hyper-util's legacy client, or any `http` 1 client service.
/// let traced = ClientLayer::new("hyper", "hyper.request").layer(Client);
/// # let _ = traced;
/// ```
#[derive(Clone, Debug)]
pub struct ClientLayer {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    config: ClientConfig,
    component: &'static str,
    operation_name: &'static str,
}

impl ClientLayer {
    /// Spans named `operation_name` (`<component>.request`), `component` the client library
    /// (`hyper`), configured from the environment ([`ClientConfig::from_env`]).
    pub fn new(component: &'static str, operation_name: &'static str) -> Self {
        ClientLayer::with_config(component, operation_name, ClientConfig::from_env())
    }

    /// With a configuration built in code.
    pub fn with_config(
        component: &'static str,
        operation_name: &'static str,
        config: ClientConfig,
    ) -> Self {
        ClientLayer {
            shared: Arc::new(Shared {
                config,
                component,
                operation_name,
            }),
        }
    }
}

impl<S> tower_layer::Layer<S> for ClientLayer {
    type Service = ClientService<S>;

    fn layer(&self, inner: S) -> ClientService<S> {
        ClientService {
            inner,
            shared: self.shared.clone(),
        }
    }
}

/// The service [`ClientLayer`] makes.
#[derive(Clone, Debug)]
pub struct ClientService<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S, B, R> tower_service::Service<http::Request<B>> for ClientService<S>
where
    S: tower_service::Service<http::Request<B>, Response = http::Response<R>>,
    S::Error: std::fmt::Display,
{
    type Response = http::Response<R>;
    type Error = S::Error;
    type Future = ClientFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<B>) -> Self::Future {
        let shared = &self.shared;
        let uri = req.uri().to_string();
        let mut span = ClientSpan::start_with(
            &shared.config,
            shared.component,
            shared.operation_name,
            req.method().as_str(),
            &uri,
        );
        span.inject(req.headers_mut());
        ClientFuture {
            inner: self.inner.call(req),
            span: Some(span),
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`ClientService`]: the span ends with the response's head, or
    /// with the error.
    pub struct ClientFuture<F> {
        #[pin]
        inner: F,
        span: Option<ClientSpan>,
    }
}

impl<F, R, E> Future for ClientFuture<F>
where
    F: Future<Output = Result<http::Response<R>, E>>,
    E: std::fmt::Display,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let polled = this.inner.poll(cx);
        if let Poll::Ready(result) = &polled {
            if let Some(mut span) = this.span.take() {
                match result {
                    Ok(response) => span.record_status(response.status().as_u16()),
                    Err(error) => span.record_error(ErrorInfo::display(error)),
                }
                span.finish();
            }
        }
        polled
    }
}
