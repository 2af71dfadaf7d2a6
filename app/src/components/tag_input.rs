//! The "Filter by stages and services" field: typing `Stage:dev` (or `Project:…`, `Service:…`)
//! and pressing Enter adds a removable tag; suggestions (the categories and values seen in
//! events) show in a listbox while typing (the ARIA combobox pattern), and Enter takes the
//! first one shown when what is typed is not a whole tag yet.

use leptos::html::Input;
use leptos::prelude::*;

use crate::components::field::FieldError;
use crate::model::SubscriptionFilter;

/// How many suggestions show at most.
const MAX_SUGGESTIONS: usize = 10;

/// What a filter tag restricts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Category {
    Project,
    Stage,
    Service,
}

impl Category {
    /// In the order the field suggests them.
    pub const ALL: [Category; 3] = [Category::Project, Category::Stage, Category::Service];

    /// `Project`, `Stage` or `Service`.
    pub fn name(self) -> &'static str {
        match self {
            Category::Project => "Project",
            Category::Stage => "Stage",
            Category::Service => "Service",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|category| category.name().eq_ignore_ascii_case(text.trim()))
    }
}

/// One tag of the filter field, e.g. `Stage: dev`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FilterTag {
    pub category: Category,
    pub value: String,
}

impl FilterTag {
    pub fn new(category: Category, value: impl Into<String>) -> Self {
        Self {
            category,
            value: value.into(),
        }
    }

    /// Reads what the user typed: `Stage:dev`, `stage: dev`; the message says what is missing.
    pub fn parse(text: &str) -> Result<Self, String> {
        let Some((category, value)) = text.split_once(':') else {
            return Err(category_hint());
        };
        let Some(category) = Category::parse(category) else {
            return Err(category_hint());
        };
        let value = value.trim();
        if value.is_empty() {
            return Err(format!("Add a name after {}:", category.name()));
        }
        Ok(Self::new(category, value))
    }

    /// As the tag shows it: `Stage: dev`.
    pub fn label(&self) -> String {
        format!("{}: {}", self.category.name(), self.value)
    }

    /// As it is typed and suggested: `Stage:dev`.
    pub fn entry(&self) -> String {
        format!("{}:{}", self.category.name(), self.value)
    }
}

fn category_hint() -> String {
    "Start with Project:, Stage: or Service:, e.g. Stage:dev".to_string()
}

/// The tags of a subscription's filter (projects, then stages, then services).
pub fn tags_from_filter(filter: &SubscriptionFilter) -> Vec<FilterTag> {
    let with = |category: Category, values: &[String]| {
        values
            .iter()
            .map(move |value| FilterTag::new(category, value.clone()))
            .collect::<Vec<_>>()
    };
    [
        with(Category::Project, &filter.projects),
        with(Category::Stage, &filter.stages),
        with(Category::Service, &filter.services),
    ]
    .concat()
}

/// The filter the tags make (each list in the order the tags were added).
pub fn filter_from_tags(tags: &[FilterTag]) -> SubscriptionFilter {
    let values = |category: Category| {
        tags.iter()
            .filter(|tag| tag.category == category)
            .map(|tag| tag.value.clone())
            .collect()
    };
    SubscriptionFilter {
        projects: values(Category::Project),
        stages: values(Category::Stage),
        services: values(Category::Service),
    }
}

/// The suggestions for what is typed: the categories (`Stage:`) while no category is typed,
/// and the known entries (`Stage:dev`) that start with the text or whose value does, minus
/// the tags already added.
pub fn suggestions(typed: &str, known: &[String], tags: &[FilterTag]) -> Vec<String> {
    let typed = typed.trim().to_lowercase();
    let mut found: Vec<String> = Vec::new();
    if !typed.contains(':') {
        found.extend(
            Category::ALL
                .into_iter()
                .map(|category| format!("{}:", category.name()))
                .filter(|entry| entry.to_lowercase().starts_with(&typed)),
        );
    }
    let taken: Vec<String> = tags.iter().map(FilterTag::entry).collect();
    for entry in known {
        let lower = entry.to_lowercase();
        let value_matches = !typed.contains(':')
            && lower
                .split_once(':')
                .is_some_and(|(_, value)| value.starts_with(&typed));
        if (lower.starts_with(&typed) || value_matches)
            && !taken.contains(entry)
            && !found.contains(entry)
        {
            found.push(entry.clone());
        }
    }
    found.truncate(MAX_SUGGESTIONS);
    found
}

/// What Enter takes: the highlighted suggestion; else what is typed when it is a whole tag
/// (`Stage:dev`); else the first suggestion shown (`staging` takes `Stage:staging`, `st`
/// takes `Stage:`); `None` leaves the typed text to [`FilterTag::parse`] and its hint.
pub fn enter_picks<'a>(
    typed: &str,
    highlighted: Option<usize>,
    shown: &'a [String],
) -> Option<&'a str> {
    if let Some(entry) = highlighted.and_then(|index| shown.get(index)) {
        return Some(entry);
    }
    if FilterTag::parse(typed).is_ok() {
        return None;
    }
    shown.first().map(String::as_str)
}

/// The tag field. `known` holds `Category:value` entries to suggest; `error` is shown below
/// the field (and makes it invalid).
#[component]
pub fn TagInput(
    /// The input's id (its label points at it).
    #[prop(into)]
    id: String,
    /// The visible label, also the input's accessible name.
    #[prop(into)]
    label: String,
    tags: RwSignal<Vec<FilterTag>>,
    #[prop(into)] known: Signal<Vec<String>>,
    #[prop(into)] error: Signal<Option<String>>,
) -> impl IntoView {
    let input = NodeRef::<Input>::new();
    let text = RwSignal::new(String::new());
    let open = RwSignal::new(false);
    let active = RwSignal::new(None::<usize>);
    let hint = RwSignal::new(None::<String>);
    let options = Memo::new(move |_| {
        if open.get() {
            known.with(|known| tags.with(|tags| suggestions(&text.get(), known, tags)))
        } else {
            Vec::new()
        }
    });
    let ids = StoredValue::new(id.clone());
    let list_id = move || format!("{}-suggestions", ids.get_value());
    let option_id = move |index: usize| format!("{}-suggestion-{index}", ids.get_value());
    let hint_id = move || format!("{}-hint", ids.get_value());
    let error_id = move || format!("{}-error", ids.get_value());

    let close = move || {
        open.set(false);
        active.set(None);
    };
    let add = move |entry: &str| match FilterTag::parse(entry) {
        Ok(tag) => {
            tags.update(|tags| {
                if !tags.contains(&tag) {
                    tags.push(tag);
                }
            });
            text.set(String::new());
            hint.set(None);
            close();
        }
        Err(message) => {
            // The list would cover the hint, and it has nothing that fits anyway.
            hint.set(Some(message));
            close();
        }
    };
    let choose = move |entry: String| {
        if entry.ends_with(':') {
            // A category: keep typing its value.
            text.set(entry);
            active.set(None);
            hint.set(None);
            if let Some(element) = input.get_untracked() {
                let _ = element.focus();
            }
        } else {
            add(&entry);
        }
    };
    let focus_input = move || {
        if let Some(element) = input.get_untracked() {
            let _ = element.focus();
        }
    };
    let on_keydown = move |event: leptos::ev::KeyboardEvent| {
        let count = options.with_untracked(Vec::len);
        match event.key().as_str() {
            "Enter" => {
                // Never submits the form.
                event.prevent_default();
                let typed = text.get_untracked();
                let highlighted = active.get_untracked();
                let picked = options.with_untracked(|shown| {
                    enter_picks(&typed, highlighted, shown).map(str::to_string)
                });
                match picked {
                    Some(entry) => choose(entry),
                    None if !typed.trim().is_empty() => add(&typed),
                    None => {}
                }
            }
            "ArrowDown" | "ArrowUp" => {
                event.prevent_default();
                if !open.get_untracked() {
                    open.set(true);
                    return;
                }
                if count == 0 {
                    return;
                }
                let down = event.key() == "ArrowDown";
                active.set(Some(match active.get_untracked() {
                    None if down => 0,
                    None => count - 1,
                    Some(index) if down => (index + 1) % count,
                    Some(index) => (index + count - 1) % count,
                }));
            }
            "Escape" if open.get_untracked() => {
                event.prevent_default();
                close();
            }
            "Backspace" if text.with_untracked(String::is_empty) => {
                tags.update(|tags| {
                    tags.pop();
                });
            }
            _ => {}
        }
    };

    let chip = move |tag: FilterTag| {
        let label = tag.label();
        let remove_label = format!("Remove {label}");
        let title = remove_label.clone();
        view! {
            <li class="tag">
                <span class="tag-label">{label}</span>
                <button
                    type="button"
                    class="tag-remove"
                    title=title
                    on:click=move |_| {
                        tags.update(|tags| tags.retain(|other| *other != tag));
                        focus_input();
                    }
                >
                    <span aria-hidden="true">"×"</span>
                    <span class="visually-hidden">{remove_label}</span>
                </button>
            </li>
        }
    };
    let listbox = move || {
        let entries = options.get();
        (!entries.is_empty()).then(|| {
            view! {
                <ul class="suggestions" role="listbox" id=list_id() aria-label="Suggestions">
                    {entries
                        .into_iter()
                        .enumerate()
                        .map(|(index, entry)| {
                            let shown = entry.clone();
                            view! {
                                <li
                                    role="option"
                                    id=option_id(index)
                                    class:active=move || active.get() == Some(index)
                                    aria-selected=move || (active.get() == Some(index)).to_string()
                                    on:mousedown=|event| event.prevent_default()
                                    on:click=move |_| choose(entry.clone())
                                >
                                    {shown}
                                </li>
                            }
                        })
                        .collect_view()}
                </ul>
            }
        })
    };
    let described_by = move || {
        let ids: Vec<String> = [
            hint.with(Option::is_some).then(hint_id),
            error.with(Option::is_some).then(error_id),
        ]
        .into_iter()
        .flatten()
        .collect();
        (!ids.is_empty()).then(|| ids.join(" "))
    };

    view! {
        <div class="field tag-field">
            <label for=id.clone()>{label}</label>
            <div class="tag-input" class:invalid=move || error.with(Option::is_some)>
                {move || {
                    (!tags.with(Vec::is_empty))
                        .then(|| {
                            view! {
                                <ul class="tags" aria-label="Filters">
                                    <For each=move || tags.get() key=FilterTag::entry children=chip />
                                </ul>
                            }
                        })
                }}
                <div class="tag-entry">
                    <input
                        id=id
                        node_ref=input
                        type="text"
                        role="combobox"
                        autocomplete="off"
                        placeholder="e.g. Stage:dev"
                        aria-autocomplete="list"
                        aria-expanded=move || (!options.with(Vec::is_empty)).to_string()
                        aria-controls=list_id
                        aria-activedescendant=move || active.get().map(option_id)
                        aria-invalid=move || error.with(Option::is_some).to_string()
                        aria-describedby=described_by
                        prop:value=move || text.get()
                        on:input=move |event| {
                            text.set(event_target_value(&event));
                            open.set(true);
                            active.set(None);
                            hint.set(None);
                        }
                        on:keydown=on_keydown
                        on:blur=move |_| close()
                    />
                    {listbox}
                </div>
                <button
                    type="button"
                    class="secondary clear-all"
                    disabled=move || tags.with(Vec::is_empty)
                    on:click=move |_| {
                        tags.set(Vec::new());
                        focus_input();
                    }
                >
                    "Clear all"
                </button>
            </div>
            {move || {
                hint.get().map(|message| view! { <p class="field-hint" id=hint_id()>{message}</p> })
            }}
            <FieldError id=error_id() message=error />
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enter_takes_the_suggestion_the_user_sees() {
        let shown = vec!["Stage:staging".to_string(), "Stage:dev".to_string()];
        assert_eq!(enter_picks("staging", None, &shown), Some("Stage:staging"));
        assert_eq!(enter_picks("staging", Some(1), &shown), Some("Stage:dev"));
        // A whole tag is taken as typed, even when a suggestion shows.
        assert_eq!(enter_picks("Stage:stag", None, &shown), None);
        assert_eq!(enter_picks("nothing", None, &[]), None);
        let categories = vec!["Stage:".to_string(), "Service:".to_string()];
        assert_eq!(enter_picks("s", None, &categories), Some("Stage:"));
    }

    #[test]
    fn parses_what_the_user_types() {
        assert_eq!(
            FilterTag::parse("Stage:dev"),
            Ok(FilterTag::new(Category::Stage, "dev"))
        );
        assert_eq!(
            FilterTag::parse(" service : carts "),
            Ok(FilterTag::new(Category::Service, "carts"))
        );
        assert_eq!(
            FilterTag::parse("Project:sockshop").map(|tag| tag.label()),
            Ok("Project: sockshop".to_string())
        );
        assert!(FilterTag::parse("dev").is_err());
        assert!(FilterTag::parse("Color:red").is_err());
        assert_eq!(
            FilterTag::parse("Stage: "),
            Err("Add a name after Stage:".to_string())
        );
    }

    #[test]
    fn filter_round_trip_keeps_order() {
        let tags = vec![
            FilterTag::new(Category::Stage, "dev"),
            FilterTag::new(Category::Service, "carts"),
            FilterTag::new(Category::Stage, "staging"),
        ];
        let filter = filter_from_tags(&tags);
        assert_eq!(filter.stages, ["dev", "staging"]);
        assert_eq!(filter.services, ["carts"]);
        assert!(filter.projects.is_empty());
        assert_eq!(filter_from_tags(&tags_from_filter(&filter)), filter);
    }

    #[test]
    fn suggests_categories_then_known_values() {
        let known = vec!["Stage:dev".to_string(), "Stage:staging".to_string()];
        assert_eq!(
            suggestions("", &known, &[]),
            [
                "Project:",
                "Stage:",
                "Service:",
                "Stage:dev",
                "Stage:staging"
            ]
        );
        assert_eq!(
            suggestions("s", &known, &[]),
            ["Stage:", "Service:", "Stage:dev", "Stage:staging"]
        );
        assert_eq!(suggestions("stage:d", &known, &[]), ["Stage:dev"]);
        assert_eq!(suggestions("dev", &known, &[]), ["Stage:dev"]);
        let taken = [FilterTag::new(Category::Stage, "dev")];
        assert_eq!(suggestions("Stage:", &known, &taken), ["Stage:staging"]);
    }
}
