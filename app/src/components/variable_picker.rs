//! The content of the "Select payload variable" popup: the fields of an example event of the
//! chosen task and suffix (shaped like Keptn's events) as a tree; picking a leaf yields
//! `{{.data.project}}` etc.

use leptos::prelude::*;

/// A field of the example event: a leaf (no children) can be inserted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VariableNode {
    pub name: String,
    /// `.data.project`
    pub path: String,
    pub children: Vec<VariableNode>,
}

impl VariableNode {
    fn leaf(parent: &str, name: &str) -> Self {
        Self {
            name: name.to_string(),
            path: format!("{parent}.{name}"),
            children: Vec::new(),
        }
    }

    fn branch(parent: &str, name: &str, children: &[&str]) -> Self {
        let path = format!("{parent}.{name}");
        Self {
            children: children
                .iter()
                .map(|child| Self::leaf(&path, child))
                .collect(),
            name: name.to_string(),
            path,
        }
    }
}

/// The template that prints `path`.
pub fn variable_reference(path: &str) -> String {
    format!("{{{{{path}}}}}")
}

/// The fields of an example `sh.keptn.event.<task>.<suffix>` event (`>` as triggered).
pub fn example_event_tree(task: &str, suffix: &str) -> Vec<VariableNode> {
    let mut data = VariableNode::branch(
        "",
        "data",
        &[
            "project", "stage", "service", "result", "status", "message", "labels",
        ],
    );
    match (task, suffix) {
        ("evaluation", "finished") => data.children.push(VariableNode::branch(
            ".data",
            "evaluation",
            &["result", "score", "timeStart", "timeEnd"],
        )),
        ("evaluation", "triggered" | ">") => data.children.push(VariableNode::branch(
            ".data",
            "evaluation",
            &["start", "end", "timeframe"],
        )),
        _ => {}
    }
    let mut tree = vec![data];
    tree.extend(
        ["id", "shkeptncontext", "source", "time", "type"]
            .into_iter()
            .map(|name| VariableNode::leaf("", name)),
    );
    tree
}

/// The tree of variables.
#[component]
pub fn VariableTree(
    nodes: Vec<VariableNode>,
    /// Receives the reference to insert.
    on_pick: Callback<String>,
) -> impl IntoView {
    view! {
        <p class="picker-note">"Fields of an example event of the chosen task."</p>
        <ul class="tree">{nodes.into_iter().map(|node| node_view(node, on_pick)).collect_view()}</ul>
    }
}

fn node_view(node: VariableNode, on_pick: Callback<String>) -> AnyView {
    let VariableNode {
        name,
        path,
        children,
    } = node;
    if children.is_empty() {
        let reference = variable_reference(&path);
        return view! {
            <li>
                <button
                    type="button"
                    class="tree-leaf"
                    title=reference.clone()
                    on:click=move |_| on_pick.run(reference.clone())
                >
                    {name}
                </button>
            </li>
        }
        .into_any();
    }
    let expanded = RwSignal::new(false);
    view! {
        <li>
            <button
                type="button"
                class="tree-branch"
                aria-expanded=move || expanded.get().to_string()
                on:click=move |_| expanded.update(|open| *open = !*open)
            >
                {name}
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

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(nodes: &[VariableNode]) -> Vec<String> {
        nodes
            .iter()
            .flat_map(|node| {
                if node.children.is_empty() {
                    vec![variable_reference(&node.path)]
                } else {
                    leaves(&node.children)
                }
            })
            .collect()
    }

    #[test]
    fn evaluation_finished_has_the_score() {
        let all = leaves(&example_event_tree("evaluation", "finished"));
        for expected in [
            "{{.data.project}}",
            "{{.data.stage}}",
            "{{.data.service}}",
            "{{.data.result}}",
            "{{.data.status}}",
            "{{.data.message}}",
            "{{.data.labels}}",
            "{{.data.evaluation.result}}",
            "{{.data.evaluation.score}}",
            "{{.data.evaluation.timeStart}}",
            "{{.data.evaluation.timeEnd}}",
            "{{.id}}",
            "{{.shkeptncontext}}",
            "{{.type}}",
            "{{.source}}",
            "{{.time}}",
        ] {
            assert!(all.contains(&expected.to_string()), "{expected}");
        }
    }

    #[test]
    fn other_tasks_have_the_common_fields_only() {
        let all = leaves(&example_event_tree("deployment", "finished"));
        assert!(all.contains(&"{{.data.stage}}".to_string()));
        assert!(!all.iter().any(|leaf| leaf.contains("evaluation")));
    }
}
