//! What became of a send, in the terms the rest of the core acts on.

use libdd_data_pipeline::trace_exporter::agent_response::AgentResponse;
use libdd_data_pipeline::trace_exporter::error::TraceExporterError;

/// The outcome of one send to the agent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The agent took the payload; its sampling rates did not change.
    Delivered,
    /// The agent took the payload and sent new per-service sampling rates (its JSON body).
    Rates(String),
    /// The payload did not reach the agent, with the reason in plain words.
    Failed(String),
}

impl Outcome {
    pub(crate) fn from_result(result: &Result<AgentResponse, TraceExporterError>) -> Outcome {
        match result {
            Ok(AgentResponse::Changed { body }) => Outcome::Rates(body.clone()),
            Ok(AgentResponse::Unchanged) => Outcome::Delivered,
            Err(e) => Outcome::Failed(e.to_string()),
        }
    }
}
