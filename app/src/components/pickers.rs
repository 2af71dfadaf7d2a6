//! The two buttons beside a webhook field — "Add payload variable" and the lock "Add secret" —
//! and the popup each opens ("Select payload variable", "Select secret"). The field's caret
//! position is remembered when a popup opens; what is picked replaces that selection.
//! One popup is open at a time in a form; Escape, "Close", or moving the focus away closes it.
//! In the popup's tree the arrow keys move as in a file tree ([`tree_keys`]).

use leptos::html::{Button, Div};
use leptos::prelude::*;

use crate::components::caret::{insert_at, CaretField};
use crate::components::focus::focus_on_mount;
use crate::components::secret_picker::SecretTree;
use crate::components::tree::tree_keys;
use crate::components::variable_picker::{VariableNode, VariableTree};
use crate::error::AppError;
use crate::model::SecretInfo;

/// Which popup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PickerKind {
    Variable,
    Secret,
}

impl PickerKind {
    fn title(self) -> &'static str {
        match self {
            PickerKind::Variable => "Select payload variable",
            PickerKind::Secret => "Select secret",
        }
    }
}

/// What the pickers of one form share.
#[derive(Clone, Copy)]
pub struct PickerData {
    /// The open popup: the field id it belongs to and its kind.
    pub active: RwSignal<Option<(String, PickerKind)>>,
    /// The secrets of scope keptn-webhook-service; `None` while loading.
    pub secrets: Signal<Option<Result<Vec<SecretInfo>, AppError>>>,
    /// Loads the secrets again (when a secret popup opens).
    pub refresh_secrets: Callback<()>,
    /// The example event's fields; `None` until a task and a suffix are chosen.
    pub variables: Signal<Option<Vec<VariableNode>>>,
}

/// The picker buttons (and the open popup) for the field `field_id`.
#[component]
pub fn PickerButtons(
    /// The id of the field the buttons fill.
    #[prop(into)]
    field_id: String,
    target: CaretField,
    value: RwSignal<String>,
    data: PickerData,
    /// Runs after a pick changed the value.
    on_insert: Callback<()>,
) -> impl IntoView {
    let field_id = StoredValue::new(field_id);
    let selection = StoredValue::new(None::<(u32, u32)>);
    let popup = NodeRef::<Div>::new();
    let variable_button = NodeRef::<Button>::new();
    let secret_button = NodeRef::<Button>::new();

    // `try_`: focus events still fire while the form is being taken down.
    let open_kind = move || {
        data.active
            .try_with(|active| {
                active
                    .as_ref()
                    .filter(|(field, _)| field_id.try_with_value(|id| id == field) == Some(true))
                    .map(|(_, kind)| *kind)
            })
            .flatten()
    };
    let close = move || {
        if open_kind().is_some() {
            data.active.set(None);
        }
    };
    let toggle = move |kind: PickerKind| {
        if open_kind() == Some(kind) {
            data.active.set(None);
            return;
        }
        selection.set_value(target.selection());
        if kind == PickerKind::Secret {
            data.refresh_secrets.run(());
        }
        data.active.set(Some((field_id.get_value(), kind)));
    };
    let pick = Callback::new(move |text: String| {
        let (new_value, caret) =
            value.with_untracked(|old| insert_at(old, selection.get_value(), &text));
        value.set(new_value);
        data.active.set(None);
        on_insert.run(());
        request_animation_frame(move || target.focus_at(caret));
    });

    // The popup takes the focus when it opens.
    focus_on_mount(popup);

    let on_focusout = move |event: leptos::ev::FocusEvent| {
        use leptos::wasm_bindgen::JsCast;
        let inside = event
            .related_target()
            .and_then(|target| target.dyn_into::<web_sys::Node>().ok())
            .zip(
                event
                    .current_target()
                    .and_then(|wrapper| wrapper.dyn_into::<web_sys::Node>().ok()),
            )
            .is_some_and(|(node, wrapper)| wrapper.contains(Some(&node)));
        if !inside {
            close();
        }
    };
    let on_keydown = move |event: leptos::ev::KeyboardEvent| {
        if let Some(element) = popup.get_untracked() {
            if tree_keys(&event, &element) {
                event.prevent_default();
                return;
            }
        }
        if event.key() == "Escape" {
            if let Some(kind) = open_kind() {
                event.prevent_default();
                event.stop_propagation();
                data.active.set(None);
                let button = match kind {
                    PickerKind::Variable => variable_button,
                    PickerKind::Secret => secret_button,
                };
                if let Some(button) = button.get_untracked() {
                    let _ = button.focus();
                }
            }
        }
    };
    let popup_id = move || format!("{}-picker", field_id.get_value());
    let title_id = move || format!("{}-picker-title", field_id.get_value());
    let popup_view = move || {
        open_kind().map(|kind| {
            let body = match kind {
                PickerKind::Secret => {
                    view! { <SecretTree secrets=data.secrets on_pick=pick /> }.into_any()
                }
                PickerKind::Variable => {
                    let nodes = data.variables.get_untracked().unwrap_or_default();
                    view! { <VariableTree nodes on_pick=pick /> }.into_any()
                }
            };
            view! {
                <div
                    class="picker-popup"
                    role="dialog"
                    id=popup_id()
                    aria-labelledby=title_id()
                    tabindex="-1"
                    node_ref=popup
                >
                    <div class="picker-header">
                        <h3 id=title_id()>{kind.title()}</h3>
                        <button type="button" class="icon" on:click=move |_| close()>
                            <span aria-hidden="true">"×"</span>
                            <span class="visually-hidden">"Close"</span>
                        </button>
                    </div>
                    {body}
                </div>
            }
        })
    };

    view! {
        <div class="picker-buttons" on:focusout=on_focusout on:keydown=on_keydown>
            <button
                type="button"
                class="icon tool"
                title=move || {
                    if data.variables.with(Option::is_none) {
                        "Add payload variable (choose a task and its event first)"
                    } else {
                        "Add payload variable"
                    }
                }
                node_ref=variable_button
                aria-expanded=move || (open_kind() == Some(PickerKind::Variable)).to_string()
                aria-controls=popup_id
                disabled=move || data.variables.with(Option::is_none)
                on:click=move |_| toggle(PickerKind::Variable)
            >
                <svg class="tool-icon" viewBox="0 0 16 16" aria-hidden="true" focusable="false">
                    <path d="M5.5 3.5 1.5 8l4 4.5M10.5 3.5l4 4.5-4 4.5" />
                </svg>
                <span class="visually-hidden">"Add payload variable"</span>
            </button>
            <button
                type="button"
                class="icon tool"
                title="Add secret"
                node_ref=secret_button
                aria-expanded=move || (open_kind() == Some(PickerKind::Secret)).to_string()
                aria-controls=popup_id
                on:click=move |_| toggle(PickerKind::Secret)
            >
                <svg class="tool-icon" viewBox="0 0 16 16" aria-hidden="true" focusable="false">
                    <rect x="3" y="7" width="10" height="7.5" rx="1" />
                    <path d="M5.25 7V5a2.75 2.75 0 0 1 5.5 0v2" />
                </svg>
                <span class="visually-hidden">"Add secret"</span>
            </button>
            {popup_view}
        </div>
    }
}
