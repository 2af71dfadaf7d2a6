//! The subscription form's "Preview" pane: the unsaved webhook rendered against an example
//! event of the chosen task and suffix (editable JSON), re-rendered shortly after each change:
//! the request as it would be sent (secret values `***`), whether the body is JSON, a template
//! or JSON problem with its line and column, and the `text` field as Slack would show it.
//! "Send test" sends the request once through the real sender and shows the answer inline.

use std::time::Duration;

use leptos::prelude::*;

use crate::components::mrkdwn::Mrkdwn;
use crate::components::variable_picker::example_event_json;
use crate::error::AppError;
use crate::model::{
    Preview, PreviewOutcome, RenderProblem, SentRequest, TestSend, TestSendOutcome, Webhook,
};
use crate::server_fns::deliveries::{preview_webhook, test_send};
use crate::server_fns::insight::get_event;

/// How long the pane waits after the last change before rendering again.
pub const DEBOUNCE: Duration = Duration::from_millis(300);

/// Where a problem is and what it is: `webhook.payload, line 2, column 14: …`.
pub fn problem_text(problem: &RenderProblem) -> String {
    let RenderProblem {
        field,
        line,
        column,
        message,
    } = problem;
    match (line, column) {
        (Some(line), Some(column)) => format!("{field}, line {line}, column {column}: {message}"),
        (Some(line), None) => format!("{field}, line {line}: {message}"),
        _ => format!("{field}: {message}"),
    }
}

/// The preview pane beside the subscription form.
#[component]
pub fn PreviewPane(
    /// The webhook as the form stands (unsaved).
    webhook: Signal<Webhook>,
    /// The chosen task (as typed).
    task: Signal<String>,
    /// The chosen task suffix (`>` for `*`).
    suffix: Signal<String>,
    /// A received event to render instead of the example (from an event's page).
    #[prop(default = None)]
    event_id: Option<String>,
) -> impl IntoView {
    let parts = move || {
        let task = task.get().trim().to_string();
        let suffix = suffix.get();
        (!task.is_empty() && !suffix.is_empty()).then_some((task, suffix))
    };
    let example = move |(task, suffix): &(String, String)| example_event_json(task, suffix);
    let event_json = RwSignal::new(untrack(parts).as_ref().map(example).unwrap_or_default());
    // Another task or suffix: another example event.
    Effect::new(move |previous: Option<Option<(String, String)>>| {
        let now = parts();
        if let (Some(previous), Some(current)) = (previous, &now) {
            if previous.as_ref() != Some(current) {
                event_json.set(example(current));
            }
        }
        now
    });

    // A received event replaces the example once it has loaded.
    let from_event = event_id.is_some();
    if let Some(id) = event_id {
        let received = Resource::new(move || id.clone(), get_event);
        Effect::new(move |_| {
            if let Some(Ok(detail)) = received.get() {
                event_json.set(detail.body);
            }
        });
    }

    let preview = Action::new(|(webhook, event): &(Webhook, String)| {
        preview_webhook(webhook.clone(), event.clone())
    });
    // Only the answer to the latest request counts.
    let in_flight = StoredValue::new(None::<leptos::reactive::actions::ActionAbortHandle>);
    let render = move |input: (Webhook, String)| {
        if let Some(Some(handle)) = in_flight.try_update_value(Option::take) {
            handle.abort();
        }
        let handle = preview.dispatch(input);
        in_flight.try_set_value(Some(handle));
    };
    let input = move || parts().is_some().then(|| (webhook.get(), event_json.get()));
    debounce(input, render);

    let send = Action::new(|(webhook, event): &(Webhook, String)| {
        test_send(webhook.clone(), event.clone())
    });
    // A result is about the request that was sent: once the form (or the event) changes, the
    // old answer goes rather than stand beside a request that differs from it.
    Effect::watch(
        input,
        move |_, _, _| {
            if send.value().with_untracked(Option::is_some) {
                send.value().set(None);
            }
        },
        false,
    );
    let send_test = move |_| {
        if let Some(input) = untrack(input) {
            send.dispatch(input);
        }
    };

    let output = move || {
        if parts().is_none() {
            return view! {
                <p class="preview-hint">"Choose a task and a task suffix to see the preview."</p>
            }
            .into_any();
        }
        match preview.value().get() {
            None => view! { <p class="preview-hint">"Rendering ..."</p> }.into_any(),
            Some(Ok(PreviewOutcome::Rendered(preview))) => rendered_view(preview).into_any(),
            Some(Ok(PreviewOutcome::Problem(problem))) => view! {
                <p class="preview-problem">{problem_text(&problem)}</p>
            }
            .into_any(),
            Some(Err(error)) => {
                view! { <p class="preview-problem">{error.to_string()}</p> }.into_any()
            }
        }
    };

    // Opened, the pane may sit below the form, out of sight: bring it into view and move the
    // focus to its heading, so the button visibly did something.
    let heading = NodeRef::<leptos::html::H2>::new();
    Effect::new(move |_| {
        if let Some(heading) = heading.get() {
            heading.scroll_into_view();
            let _ = heading.focus();
        }
    });

    view! {
        <section class="preview-pane" aria-labelledby="preview-heading">
            <h2 id="preview-heading" tabindex="-1" node_ref=heading>
                "Preview"
            </h2>
            <p class="field-hint">
                {if from_event {
                    "The form as it stands (unsaved), rendered for the received event below; secret values show as ***. Changing the task or the task suffix replaces it with an example event."
                } else {
                    "The form as it stands (unsaved), rendered for the example event below; secret values show as ***. Changing the task or the task suffix resets the example event."
                }}
            </p>
            <div class="field">
                <label for="preview-event">
                    {if from_event { "Received event" } else { "Example event" }}
                </label>
                <textarea
                    id="preview-event"
                    class="code"
                    rows="14"
                    spellcheck="false"
                    prop:value=move || event_json.get()
                    on:input=move |event| event_json.set(event_target_value(&event))
                ></textarea>
                <button
                    type="button"
                    class="secondary small"
                    disabled=move || parts().is_none()
                    on:click=move |_| {
                        if let Some(parts) = untrack(parts) {
                            event_json.set(example(&parts));
                        }
                    }
                >
                    "Reset example event"
                </button>
            </div>
            <div class="preview-output" aria-busy=move || preview.pending().get().to_string()>
                {output}
            </div>
            <div class="test-send">
                <button
                    type="button"
                    disabled=move || send.pending().get() || parts().is_none()
                    on:click=send_test
                >
                    {move || if send.pending().get() { "Sending ..." } else { "Send test" }}
                </button>
                <p class="field-hint">"Sends this request once, now (no retries)."</p>
                <div class="test-send-result" role="region" aria-label="Test send result" aria-live="polite">
                    {move || send.value().get().map(test_send_view)}
                </div>
            </div>
        </section>
    }
}

/// The rendered request, the JSON indicator and the Slack message.
fn rendered_view(
    Preview {
        request,
        valid_json,
        slack_text,
    }: Preview,
) -> impl IntoView {
    let has_body = request.body.is_some();
    view! {
        {request_view(request)}
        {has_body
            .then(|| {
                if valid_json {
                    view! { <p class="json-indicator valid">"Valid JSON"</p> }
                } else {
                    view! { <p class="json-indicator invalid">"Not valid JSON"</p> }
                }
            })}
        <section class="slack-message" aria-labelledby="slack-message-heading">
            <h3 id="slack-message-heading">"Slack message"</h3>
            {match slack_text {
                Some(text) => view! { <Mrkdwn text /> }.into_any(),
                None => {
                    view! {
                        <p class="preview-hint">
                            "The body has no \"text\" field that Slack would show."
                        </p>
                    }
                        .into_any()
                }
            }}
        </section>
    }
}

/// Method and URL, headers, body.
fn request_view(
    SentRequest {
        method,
        url,
        headers,
        body,
    }: SentRequest,
) -> impl IntoView {
    let headers = headers
        .into_iter()
        .map(|header| format!("{}: {}", header.key, header.value))
        .collect::<Vec<_>>()
        .join("\n");
    view! {
        <section class="preview-request" aria-labelledby="preview-request-heading">
            <h3 id="preview-request-heading">"Request"</h3>
            <pre class="request-line" aria-label="Method and URL">{format!("{method} {url}")}</pre>
            {(!headers.is_empty())
                .then(|| view! { <pre class="request-headers" aria-label="Headers">{headers}</pre> })}
            {match body {
                Some(body) => view! { <pre class="request-body" aria-label="Body">{body}</pre> }.into_any(),
                None => view! { <p class="preview-hint">"No body."</p> }.into_any(),
            }}
        </section>
    }
}

/// What a test send got back.
fn test_send_view(result: Result<TestSendOutcome, AppError>) -> AnyView {
    match result {
        Ok(TestSendOutcome::Sent(TestSend {
            request,
            response,
            duration_ms,
            error,
        })) => {
            let target = format!("{} {}", request.method, request.url);
            let answer = match (response, error) {
                (Some(response), _) => {
                    let accepted = (200..300).contains(&response.status);
                    let (class, verdict) = if accepted {
                        ("test-status ok", "the receiver accepted it")
                    } else {
                        (
                            "test-status failed",
                            "the receiver refused it: a delivery like this would not arrive",
                        )
                    };
                    view! {
                        <p class=class>
                            <strong>{format!("HTTP {}", response.status)}</strong>
                            {format!(" in {duration_ms} ms: {verdict}.")}
                        </p>
                        <pre class="test-response" aria-label="Response body">{response.body}</pre>
                    }
                    .into_any()
                }
                (None, error) => view! {
                    <p class="test-status failed">
                        {format!(
                            "No answer after {duration_ms} ms: {}",
                            error.unwrap_or_else(|| "unknown error".to_string()),
                        )}
                    </p>
                }
                .into_any(),
            };
            view! {
                <p class="field-hint">"Sent " <code>{target}</code></p>
                {answer}
            }
            .into_any()
        }
        Ok(TestSendOutcome::Problem(problem)) => view! {
            <p class="test-status failed">{format!("Not sent: {}", problem_text(&problem))}</p>
        }
        .into_any(),
        Err(error) => view! {
            <p class="test-status failed">{format!("Not sent: {error}")}</p>
        }
        .into_any(),
    }
}

/// Runs `run` with `input()` [`DEBOUNCE`] after `input()` last changed (at once the first
/// time); nothing while it is `None`. Browser only: the server renders no previews.
#[cfg(not(feature = "hydrate"))]
fn debounce<T: 'static>(_input: impl Fn() -> Option<T> + 'static, _run: impl Fn(T) + 'static) {}

/// See above.
#[cfg(feature = "hydrate")]
fn debounce<T: 'static>(input: impl Fn() -> Option<T> + 'static, run: impl Fn(T) + Copy + 'static) {
    let timer = StoredValue::new(None::<TimeoutHandle>);
    let clear = move || {
        if let Some(Some(handle)) = timer.try_update_value(Option::take) {
            handle.clear();
        }
    };
    Effect::new(move |ran: Option<()>| {
        let value = input();
        clear();
        let Some(value) = value else {
            return;
        };
        let delay = if ran.is_none() {
            Duration::ZERO
        } else {
            DEBOUNCE
        };
        if let Ok(handle) = set_timeout_with_handle(move || run(value), delay) {
            timer.set_value(Some(handle));
        }
    });
    on_cleanup(clear);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_say_where() {
        let problem = |line, column| RenderProblem {
            field: "webhook.payload".to_string(),
            line,
            column,
            message: "unclosed expression".to_string(),
        };
        assert_eq!(
            problem_text(&problem(Some(2), Some(14))),
            "webhook.payload, line 2, column 14: unclosed expression"
        );
        assert_eq!(
            problem_text(&problem(Some(2), None)),
            "webhook.payload, line 2: unclosed expression"
        );
        assert_eq!(
            problem_text(&problem(None, None)),
            "webhook.payload: unclosed expression"
        );
    }
}
