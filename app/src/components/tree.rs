//! The tree in the pickers' popups (the secrets and their keys, the example event's fields):
//! [`TreeNode`]s drawn by [`Tree`] as nested lists of buttons — a branch opens and closes
//! (`aria-expanded`), a leaf picks its reference — and [`tree_keys`], the arrow keys that move
//! through it as in a file tree.

use leptos::prelude::*;

/// One entry of a [`Tree`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TreeNode {
    /// Opens to show its children (closed at first).
    Branch {
        /// The button's text.
        label: String,
        /// The entries below it.
        children: Vec<TreeNode>,
    },
    /// Picks `reference` (also its tooltip).
    Leaf {
        /// The button's text.
        label: String,
        /// Shown after the label, e.g. the full path where two leaves share a name.
        detail: Option<String>,
        /// What picking the leaf inserts.
        reference: String,
    },
}

/// The tree (`<ul class="tree">`); a picked leaf's reference goes to `on_pick`.
#[component]
pub fn Tree(
    /// The top-level entries.
    nodes: Vec<TreeNode>,
    /// Receives the reference to insert.
    on_pick: Callback<String>,
) -> impl IntoView {
    view! {
        <ul class="tree">{nodes.into_iter().map(|node| node_view(node, on_pick)).collect_view()}</ul>
    }
}

/// One entry and, for an open branch, the entries below it.
fn node_view(node: TreeNode, on_pick: Callback<String>) -> AnyView {
    match node {
        TreeNode::Leaf {
            label,
            detail,
            reference,
        } => view! {
            <li>
                <button
                    type="button"
                    class="tree-leaf"
                    title=reference.clone()
                    on:click=move |_| on_pick.run(reference.clone())
                >
                    {label}
                    {detail.map(|detail| view! { " " <span class="tree-path">{detail}</span> })}
                </button>
            </li>
        }
        .into_any(),
        TreeNode::Branch { label, children } => {
            let expanded = RwSignal::new(false);
            view! {
                <li>
                    <button
                        type="button"
                        class="tree-branch"
                        aria-expanded=move || expanded.get().to_string()
                        on:click=move |_| expanded.update(|open| *open = !*open)
                    >
                        {label}
                    </button>
                    {move || {
                        expanded
                            .get()
                            .then(|| {
                                view! {
                                    <ul>
                                        {children
                                            .clone()
                                            .into_iter()
                                            .map(|child| node_view(child, on_pick))
                                            .collect_view()}
                                    </ul>
                                }
                            })
                    }}
                </li>
            }
            .into_any()
        }
    }
}

/// The arrow keys in the [`Tree`]s inside `container`, as in a file tree: Down and Up move between the visible
/// entries, Home and End to the first and last; Right opens a closed branch or steps into an
/// open one; Left closes an open branch or steps out to its parent. Returns whether the key was
/// one of these (the caller then keeps the browser from scrolling).
pub fn tree_keys(event: &leptos::ev::KeyboardEvent, container: &web_sys::Element) -> bool {
    use leptos::wasm_bindgen::JsCast;
    let key = event.key();
    if !matches!(
        key.as_str(),
        "ArrowDown" | "ArrowUp" | "ArrowRight" | "ArrowLeft" | "Home" | "End"
    ) {
        return false;
    }
    let Ok(list) = container.query_selector_all("button.tree-branch, button.tree-leaf") else {
        return false;
    };
    let entries: Vec<web_sys::HtmlElement> = (0..list.length())
        .filter_map(|index| list.item(index))
        .filter_map(|node| node.dyn_into().ok())
        .collect();
    let Some(last) = entries.len().checked_sub(1) else {
        return false;
    };
    let focused = document().active_element();
    let current = focused.as_ref().and_then(|focused| {
        entries
            .iter()
            .position(|entry| entry.is_same_node(Some(focused.as_ref())))
    });
    let is_branch = |entry: &web_sys::HtmlElement| entry.class_list().contains("tree-branch");
    let is_open = |entry: &web_sys::HtmlElement| {
        entry.get_attribute("aria-expanded").as_deref() == Some("true")
    };
    let next = match (key.as_str(), current) {
        ("Home", _) | ("ArrowDown", None) => Some(0),
        ("End", _) | ("ArrowUp", None) => Some(last),
        ("ArrowDown", Some(at)) => Some((at + 1).min(last)),
        ("ArrowUp", Some(at)) => Some(at.saturating_sub(1)),
        ("ArrowRight", Some(at)) if is_branch(&entries[at]) => {
            if is_open(&entries[at]) {
                Some((at + 1).min(last))
            } else {
                entries[at].click();
                None
            }
        }
        ("ArrowLeft", Some(at)) if is_branch(&entries[at]) && is_open(&entries[at]) => {
            entries[at].click();
            None
        }
        // Out to the branch whose list holds this entry: button < li < ul < li > button.
        ("ArrowLeft", Some(at)) => entries[at]
            .parent_element()
            .and_then(|item| item.parent_element())
            .and_then(|list| list.parent_element())
            .and_then(|item| item.first_element_child())
            .and_then(|parent| {
                entries
                    .iter()
                    .position(|entry| entry.is_same_node(Some(parent.as_ref())))
            }),
        _ => None,
    };
    if let Some(next) = next {
        let _ = entries[next].focus();
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branches_start_closed_and_leaves_show_their_detail() {
        let owner = Owner::new();
        owner.set();
        let nodes = vec![
            TreeNode::Branch {
                label: "data".to_string(),
                children: vec![TreeNode::Leaf {
                    label: "project".to_string(),
                    detail: Some(".data.project".to_string()),
                    reference: "{{.data.project}}".to_string(),
                }],
            },
            TreeNode::Leaf {
                label: "id".to_string(),
                detail: Some(".id".to_string()),
                reference: "{{.id}}".to_string(),
            },
            TreeNode::Leaf {
                label: "token".to_string(),
                detail: None,
                reference: "{{.secret.s.token}}".to_string(),
            },
        ];
        let html = view! { <Tree nodes on_pick=Callback::new(|_: String| {}) /> }
            .to_html()
            .replace("<!>", "");
        assert!(html.contains(">data</button>"), "{html}");
        assert!(html.contains("aria-expanded=\"false\""), "{html}");
        assert!(!html.contains("project"), "{html}");
        assert!(
            html.contains(">id <span class=\"tree-path\">.id</span></button>"),
            "{html}"
        );
        assert!(html.contains(">token</button>"), "{html}");
    }
}
