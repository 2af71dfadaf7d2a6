//! Moving the focus into something that opens (a dialog, a popup) and giving it back when it
//! closes: [`focus_on_mount`] focuses an element once it is in the page and remembers what had
//! the focus before ([`Opener`]); [`Opener::restore_on_cleanup`] returns the focus there.

use leptos::html::ElementType;
use leptos::prelude::*;
use leptos::wasm_bindgen::JsCast;

/// The element that had the focus before [`focus_on_mount`] moved it (browser only; `None`
/// on the server and when nothing had the focus).
#[derive(Clone, Copy)]
pub struct Opener(StoredValue<Option<web_sys::HtmlElement>, LocalStorage>);

/// Focuses `target` as soon as it is mounted, and remembers the element that had the focus
/// until then.
pub fn focus_on_mount<E>(target: NodeRef<E>) -> Opener
where
    E: ElementType + 'static,
    E::Output: JsCast + Clone + AsRef<web_sys::HtmlElement> + 'static,
{
    let opener = StoredValue::new_local(None::<web_sys::HtmlElement>);
    Effect::new(move |_| {
        if let Some(element) = target.get() {
            let focused = document()
                .active_element()
                .and_then(|element| element.dyn_into::<web_sys::HtmlElement>().ok());
            opener.set_value(focused);
            let element: &web_sys::HtmlElement = element.as_ref();
            let _ = element.focus();
        }
    });
    Opener(opener)
}

impl Opener {
    /// Gives the focus back to the opener when the current reactive owner (the dialog) is
    /// cleaned up, if the opener is still in the page.
    pub fn restore_on_cleanup(self) {
        on_cleanup(move || {
            if let Some(Some(element)) = self.0.try_get_value() {
                if element.is_connected() {
                    let _ = element.focus();
                }
            }
        });
    }
}
